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
    /// LiteRT's XNNPACK delegate runs the op with an int8 weight and float input (its dynamically
    /// quantized kernels: CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV). DEPTHWISE_CONV_2D has none: given
    /// an int8 weight it leaves the delegate for TFLite's generic hybrid kernel, which measured slower
    /// than float, so under `int8-dynamic` its int8 weight is dequantized instead (`int8-weights`).
    pub dynamic_kernel: bool,
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
        let mode = match mode {
            WeightMode::Int8Dynamic if !layout.dynamic_kernel => WeightMode::Int8Weights,
            m => m,
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
        let (dtype, to, quantization, tag) = match mode {
            WeightMode::Fp16 => (DType::F16, StoredAs::F16, None, "fp16"),
            _ => {
                let scales = quant::int8_scales(quant::f32_values(c.bytes()), view);
                let q = Quantization {
                    zero_point: vec![0; scales.len()],
                    scale: scales.clone(),
                    dimension: layout.dimension,
                };
                (DType::I8, StoredAs::Int8(scales.into()), Some(q), "int8")
            }
        };
        let name = format!("{}/{suffix}_{tag}", self.g.value_name(v));
        let data = TensorData::Quantized {
            source: c.bytes().clone(),
            shape: shape.clone(),
            view,
            perm: layout.perm,
            to,
        };
        let stored = self.add_tensor(TensorPlan {
            name: name.clone(),
            dtype,
            shape: self.shape_i32(n, &tflite_shape)?,
            data: Some(data),
            quantization,
        });
        if mode == WeightMode::Int8Dynamic {
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
