//! Conv and dense weights in TFLite's layout, stored as `BackendOptions::weights` says: float32, or
//! quantized per output channel (int8) or to float16 ([`crate::tflite::quant`]). Float-compute modes
//! put a DEQUANTIZE after the stored weight; `int8-dynamic` lets the op read the int8 weight itself
//! (TFLite's hybrid kernels).

use sgc_ir::{DType, NodeIndex, Op, ValueRef};

use super::Lowerer;
use crate::tflite::quant::{self, ChannelView, Quantization, StoredAs, WeightMode};
use crate::tflite::schema::{builtin, BuiltinOptions};
use crate::tflite::{BackendError, TensorData, TensorPlan};

/// How a weight operand becomes TFLite's: transposed by `perm` or, without one, reshaped to `reshape`
/// (or neither); `channels` is its output-channel axis in the source seen as `view` (a shape with the
/// source's bytes), `dimension` that axis in TFLite's layout.
pub(super) struct WeightLayout<'a> {
    pub perm: Option<&'static [usize]>,
    pub reshape: Option<&'a [usize]>,
    pub view: &'a [usize],
    pub channels: usize,
    pub dimension: i32,
    /// The builtin op that reads the weight (see [`dynamic_kernel`]).
    pub op: i32,
}

/// Whether LiteRT runs `op` well with a weight stored as a dynamic `mode` says and a float input (its
/// dynamic-range kernels); where not, the weight is dequantized and the op computes in float.
/// Measured with LiteRT 2.3.0: XNNPACK has such kernels for CONV_2D and FULLY_CONNECTED with int8 or
/// int4 weights; TRANSPOSE_CONV takes int8 weights only (its prepare rejects INT4); DEPTHWISE_CONV_2D
/// has none in XNNPACK: an int8 weight sends it to TFLite's generic hybrid kernel, which measured slower
/// than float, and splits the delegated graph.
pub fn dynamic_kernel(op: i32, mode: WeightMode) -> bool {
    match mode {
        WeightMode::Int8Dynamic => matches!(
            op,
            builtin::CONV_2D | builtin::FULLY_CONNECTED | builtin::TRANSPOSE_CONV
        ),
        WeightMode::Int4Dynamic => matches!(op, builtin::CONV_2D | builtin::FULLY_CONNECTED),
        // Full integer: every one of the four has an int8 kernel (FULLY_CONNECTED, with its float
        // input, the dynamic-range one).
        WeightMode::Int8 => true,
        WeightMode::Float
        | WeightMode::Fp16
        | WeightMode::Int8Weights
        | WeightMode::Int4Weights => false,
    }
}

/// The conv and dense nodes whose weight [`Lowerer::weight`] stores by `BackendOptions::weights` (the
/// weight is the second operand of these four ops, lowered in `conv.rs`), with the weight's element
/// count: a constant float32 one. What `--quantize auto` chooses a mode for.
pub fn quantizable_weights(graph: &sgc_ir::Graph) -> Vec<(String, usize)> {
    graph
        .node_indices()
        .filter(|&n| {
            matches!(
                graph.node(n).op,
                Op::Conv2D | Op::DepthwiseConv2dNative | Op::Conv2DBackpropInput | Op::MatMul
            )
        })
        .filter_map(|n| {
            let w = super::resolve(graph, *graph.inputs(n).get(1)?);
            let node = graph.node(w.node);
            let c = node
                .attrs
                .tensor("value")
                .filter(|_| node.op == Op::Const)?;
            (c.dtype() == DType::F32).then(|| (graph.node(n).name.clone(), c.numel()))
        })
        .collect()
}

impl<'g> Lowerer<'g> {
    /// The weight operand `v` of conv or matmul `n`, laid out and stored for TFLite.
    pub(super) fn weight(
        &mut self,
        n: NodeIndex,
        v: ValueRef,
        layout: WeightLayout<'_>,
        suffix: &str,
    ) -> Result<i32, BackendError> {
        let v = self.resolve(v);
        let name = &self.g.node(n).name;
        let mode = match self.options.layer_weights.get(name) {
            Some(&m) => m,
            None => self.options.weights,
        };
        let mode = match dynamic_kernel(layout.op, mode) {
            true => mode,
            false => mode.dequantized(),
        };
        let source = self.const_of(v).filter(|c| c.dtype() == DType::F32);
        let (Some(c), false) = (source, mode == WeightMode::Float) else {
            return match (layout.perm, layout.reshape) {
                (Some(p), _) => self.permuted(n, v, p, suffix),
                (None, Some(s)) => self.reshaped(n, v, s, suffix),
                (None, None) => self.value(v),
            };
        };
        let (_, shape) = self.info(v)?;
        let tflite_shape: Vec<usize> = match (layout.perm, layout.reshape) {
            (Some(p), _) => p.iter().map(|&i| shape[i]).collect(),
            (None, Some(s)) => s.to_vec(),
            (None, None) => shape.clone(),
        };
        if layout.view.iter().product::<usize>() != c.numel()
            || layout.channels >= layout.view.len()
        {
            return Err(self.err(
                n,
                format!("weight view {:?} does not fit {shape:?}", layout.view),
            ));
        }
        let view = ChannelView::new(layout.view, layout.channels);
        let (dtype, to, quantization, tag) = match mode.int_max() {
            None => (DType::F16, StoredAs::F16, None, "fp16"),
            Some(qmax) => {
                let scales = match qmax < 127.0 {
                    true => quant::mse_scales(c.bytes(), view, qmax),
                    false => quant::int8_scales(quant::f32_values(c.bytes()), view),
                };
                let q = Quantization {
                    zero_point: vec![0; scales.len()],
                    scale: scales.clone(),
                    dimension: layout.dimension,
                };
                // int4 has no IR dtype: its plan says I8, its data makes it INT4.
                match mode.dequantized() {
                    WeightMode::Int4Weights => {
                        (DType::I8, StoredAs::Int4(scales.into()), Some(q), "int4")
                    }
                    _ => (DType::I8, StoredAs::Int8(scales.into()), Some(q), "int8"),
                }
            }
        };
        let name = format!("{}/{suffix}_{tag}", self.g.value_name(v));
        let data = TensorData::Quantized {
            source: c.bytes().clone(),
            shape: shape.clone(),
            view,
            perm: layout.perm,
            to,
            rounded: None,
        };
        let stored = self.add_tensor(TensorPlan {
            name: name.clone(),
            dtype,
            shape: self.shape_i32(n, &tflite_shape)?,
            data: Some(data),
            quantization,
        });
        if mode == WeightMode::Int8 {
            self.plan.full_int8_weights.insert(stored);
        }
        if mode.is_dynamic() {
            return Ok(stored);
        }
        let out = self.new_tensor(n, format!("{name}/dequantized"), DType::F32, &tflite_shape)?;
        self.emit(
            builtin::DEQUANTIZE,
            BuiltinOptions::None,
            vec![stored],
            vec![out],
        );
        Ok(out)
    }
}
