//! Convolutions and dense layers (CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV, FULLY_CONNECTED) and the
//! bias adds fused into them.

use std::collections::HashMap;

use sgc_ir::{fusion, ConvAttrs, ConvPadding, DType, Graph, NodeIndex, ValueRef};

use super::tensors::{HWIO_TO_OHWI, HWOI_TO_OHWI, SWAP_2D};
use super::weights::WeightLayout;
use super::Lowerer;
use crate::tflite::schema::{builtin, op_version, Activation, BuiltinOptions, Padding};
use crate::tflite::{BackendError, TensorData, TensorPlan};

/// The adds that lowering writes as the bias input of the convolution or matmul before them.
pub fn fused_bias_adds(g: &Graph) -> Vec<NodeIndex> {
    let mut adds: Vec<NodeIndex> = bias_adds(g).into_values().map(|(add, _)| add).collect();
    adds.sort();
    adds
}

/// The activations that lowering writes as the fused activation of the op before them.
pub fn fused_activations(g: &Graph) -> Vec<NodeIndex> {
    let mut acts: Vec<NodeIndex> = activations(g, &bias_adds(g))
        .into_values()
        .map(|(act, _)| act)
        .collect();
    acts.sort();
    acts
}

/// Adds of a per-channel constant right after a convolution or matmul, which TFLite computes for free as
/// the op's bias input (when, is [`sgc_ir::fusion`]'s to say). Producer → (add, constant operand).
pub(super) fn bias_adds(g: &Graph) -> HashMap<NodeIndex, (NodeIndex, ValueRef)> {
    let mut fused = HashMap::new();
    for add in g.node_indices() {
        let ins = g.inputs(add);
        if ins.len() != 2 {
            continue;
        }
        for &(v, b) in fusion::bias_add_operands(&g.node(add).op) {
            let (value, bias) = (ins[v], ins[b]);
            let producer = value.node;
            let readers = g.consumers(value).len();
            let is_output = g.outputs.iter().any(|o| o.value == value);
            if value.port != 0
                || fused.contains_key(&producer)
                || !fusion::readers_allow_fusion(readers, is_output)
            {
                continue;
            }
            let Some(t) = g.const_value(bias) else {
                continue;
            };
            let (Some(out), Some(sum)) = (
                g.info(value).static_shape(),
                g.info(add.into()).static_shape(),
            ) else {
                continue;
            };
            if fusion::is_bias_operand(&g.node(producer).op, &out, t) && out == sum {
                fused.insert(producer, (add, bias));
                break;
            }
        }
    }
    fused
}

/// Activations that lowering writes as the `fused_activation_function` of the convolution, matmul or
/// add before them (directly, or through a conv's fused bias add; when, is [`sgc_ir::fusion`]'s to say).
/// Producer → (activation node, activation).
pub(super) fn activations(
    g: &Graph,
    fused_bias: &HashMap<NodeIndex, (NodeIndex, ValueRef)>,
) -> HashMap<NodeIndex, (NodeIndex, Activation)> {
    let conv_of_add: HashMap<NodeIndex, NodeIndex> = fused_bias
        .iter()
        .map(|(&conv, &(add, _))| (add, conv))
        .collect();
    let mut fused = HashMap::new();
    for act in g.node_indices() {
        let inputs = g.inputs(act);
        let operands: Vec<_> = inputs.iter().map(|&v| g.const_value(v)).collect();
        let Some(kind) = fusion::fusable_activation(&g.node(act).op, &operands) else {
            continue;
        };
        let Some(&value) = inputs.first() else {
            continue;
        };
        let producer = conv_of_add.get(&value.node).copied().unwrap_or(value.node);
        let readers = g.consumers(value).len();
        let is_output = g.outputs.iter().any(|o| o.value == value);
        if value.port == 0
            && fusion::takes_activation(&g.node(producer).op)
            && fusion::readers_allow_fusion(readers, is_output)
            && g.info(value).dtype == Some(DType::F32)
            && !fused.contains_key(&producer)
        {
            let activation = match kind {
                fusion::FusedActivation::Relu => Activation::Relu,
                fusion::FusedActivation::Relu6 => Activation::Relu6,
                fusion::FusedActivation::ReluN1To1 => Activation::ReluN1To1,
            };
            fused.insert(producer, (act, activation));
        }
    }
    fused
}

/// A convolution's attributes as TFLite options take them (see [`Lowerer::conv_attrs`]).
pub(super) struct TfliteConv {
    padding: Padding,
    strides: (i32, i32),
    dilations: (i32, i32),
}

impl<'g> Lowerer<'g> {
    /// `Conv2D` → CONV_2D with the filter transposed from HWIO to OHWI.
    pub(super) fn lower_conv2d(&mut self, n: NodeIndex) -> Result<(), BackendError> {
        use builtin as b;
        use BuiltinOptions as O;
        let conv = self.conv_attrs(n)?;
        let ins = self.inputs(n, 2..=2)?;
        let (dtype, fshape) = self.info(ins[1])?;
        let x = self.value(ins[0])?;
        let layout = WeightLayout {
            perm: Some(HWIO_TO_OHWI),
            reshape: None,
            view: &fshape,
            channels: 3,
            dimension: 0,
            op: builtin::CONV_2D,
        };
        let w = self.weight(n, ins[1], layout, "ohwi")?;
        let bias = self.bias_input(n, dtype, fshape[3])?;
        let ((stride_h, stride_w), (dilation_h, dilation_w)) = (conv.strides, conv.dilations);
        let options = O::Conv2D {
            padding: conv.padding,
            stride_w,
            stride_h,
            dilation_w,
            dilation_h,
            activation: self.activation_of(n),
        };
        let out = self.conv_outputs(n)?;
        self.emit(b::CONV_2D, options, vec![x, w, bias], out);
        Ok(())
    }

    /// `DepthwiseConv2dNative` → DEPTHWISE_CONV_2D with the filter reshaped to [1, H, W, C·M].
    pub(super) fn lower_depthwise(&mut self, n: NodeIndex) -> Result<(), BackendError> {
        use builtin as b;
        use BuiltinOptions as O;
        let conv = self.conv_attrs(n)?;
        let ins = self.inputs(n, 2..=2)?;
        let (dtype, f) = self.info(ins[1])?;
        if f.len() != 4 {
            return Err(self.err(n, format!("filter shape {f:?} is not [H,W,C,M]")));
        }
        let x = self.value(ins[0])?;
        let layout = WeightLayout {
            perm: None,
            reshape: Some(&[1, f[0], f[1], f[2] * f[3]]),
            view: &[f[0], f[1], f[2] * f[3]],
            channels: 2,
            dimension: 3,
            op: builtin::DEPTHWISE_CONV_2D,
        };
        let w = self.weight(n, ins[1], layout, "1hwc")?;
        let bias = self.bias_input(n, dtype, f[2] * f[3])?;
        let ((stride_h, stride_w), (dilation_h, dilation_w)) = (conv.strides, conv.dilations);
        let options = O::DepthwiseConv2D {
            padding: conv.padding,
            stride_w,
            stride_h,
            depth_multiplier: f[3] as i32,
            dilation_w,
            dilation_h,
            activation: self.activation_of(n),
        };
        let out = self.conv_outputs(n)?;
        self.emit(b::DEPTHWISE_CONV_2D, options, vec![x, w, bias], out);
        Ok(())
    }

    /// `Conv2DBackpropInput` → TRANSPOSE_CONV (its output shape as a constant, filter to OHWI).
    pub(super) fn lower_transpose_conv(&mut self, n: NodeIndex) -> Result<(), BackendError> {
        use builtin as b;
        use BuiltinOptions as O;
        let node = self.g.node(n);
        let conv = self.conv_attrs(n)?;
        let ins = self.inputs(n, 3..=3)?;
        if conv.dilations != (1, 1) {
            return Err(self.err(n, "TRANSPOSE_CONV has no dilation"));
        }
        let (_, out_shape) = self.info(ValueRef::new(n, 0))?;
        let out_shape = self.shape_i32(n, &out_shape)?;
        let shape_t = self.i32_const(n, format!("{}/output_shape", node.name), out_shape)?;
        let (_, f) = self.info(ins[1])?;
        let layout = WeightLayout {
            perm: Some(HWOI_TO_OHWI),
            reshape: None,
            view: &f,
            channels: 2,
            dimension: 0,
            op: builtin::TRANSPOSE_CONV,
        };
        let w = self.weight(n, ins[1], layout, "ohwi")?;
        let x = self.value(ins[2])?;
        let (stride_h, stride_w) = conv.strides;
        let options = O::TransposeConv {
            padding: conv.padding,
            stride_w,
            stride_h,
            activation: self.activation_of(n),
        };
        // The bias input is optional here (and needs version 3): only a fused bias adds it.
        let (inputs, version) = match self.fused_bias.get(&n).copied() {
            Some(_) => {
                let (dtype, shape) = self.info(ValueRef::new(n, 0))?;
                let bias = self.bias_input(n, dtype, *shape.last().unwrap_or(&1))?;
                (vec![shape_t, w, x, bias], 3)
            }
            None => (vec![shape_t, w, x], op_version(b::TRANSPOSE_CONV)),
        };
        let out = self.conv_outputs(n)?;
        self.emit_version(b::TRANSPOSE_CONV, version, options, inputs, out);
        Ok(())
    }

    /// `MatMul` → FULLY_CONNECTED (weights [out, in]; a transposed `a` gets a TRANSPOSE first).
    pub(super) fn lower_matmul(&mut self, n: NodeIndex) -> Result<(), BackendError> {
        use builtin as b;
        use BuiltinOptions as O;
        let node = self.g.node(n);
        let ins = self.inputs(n, 2..=2)?;
        let attrs = &node.attrs;
        let a = if attrs.bool("transpose_a").unwrap_or(false) {
            self.permuted(n, ins[0], SWAP_2D, "transposed")?
        } else {
            self.value(ins[0])?
        };
        // FULLY_CONNECTED wants weights [out, in], i.e. TensorFlow's b transposed.
        let (_, wshape) = self.info(ins[1])?;
        let w = if attrs.bool("transpose_b").unwrap_or(false) {
            let layout = WeightLayout {
                perm: None,
                reshape: None,
                view: &wshape,
                channels: 0,
                dimension: 0,
                op: builtin::FULLY_CONNECTED,
            };
            self.weight(n, ins[1], layout, "weights")?
        } else {
            let layout = WeightLayout {
                perm: Some(SWAP_2D),
                reshape: None,
                view: &wshape,
                channels: 1,
                dimension: 0,
                op: builtin::FULLY_CONNECTED,
            };
            self.weight(n, ins[1], layout, "transposed")?
        };
        let bias = match self.fused_bias.get(&n).copied() {
            Some(_) => {
                let (dtype, shape) = self.info(ValueRef::new(n, 0))?;
                self.bias_input(n, dtype, *shape.last().unwrap_or(&1))?
            }
            None => -1,
        };
        let out = self.conv_outputs(n)?;
        // An integer weight read by the op itself: its dynamic-range kernel quantizes the input at run
        // time, and StyleGAN's dense inputs (leaky-ReLU outputs) are far from centred on 0.
        let dynamic = self.plan.tensors[w as usize].dtype == DType::I8;
        self.emit(
            b::FULLY_CONNECTED,
            O::FullyConnected {
                keep_num_dims: false,
                activation: self.activation_of(n),
                asymmetric_quantize_inputs: dynamic,
            },
            vec![a, w, bias],
            out,
        );
        Ok(())
    }
    pub(super) fn is_fused_bias_add(&self, n: NodeIndex) -> bool {
        self.fused_bias.values().any(|&(add, _)| add == n)
    }

    /// The conv or matmul a bias add or an activation is fused into.
    pub(super) fn fused_into(&self, n: NodeIndex) -> Option<NodeIndex> {
        let bias = self.fused_bias.iter().map(|(&p, &(add, _))| (p, add));
        let act = self.fused_act.iter().map(|(&p, &(act, _))| (p, act));
        bias.chain(act)
            .find_map(|(producer, fused)| (fused == n).then_some(producer))
    }

    /// ADD, with the activation fused into it if any (see [`activations`]).
    pub(super) fn lower_add(&mut self, n: NodeIndex) -> Result<(), BackendError> {
        let ins = self.inputs(n, 2..=2)?;
        let ins = vec![self.value(ins[0])?, self.value(ins[1])?];
        let out = self.conv_outputs(n)?;
        let activation = self.activation_of(n);
        self.emit(builtin::ADD, BuiltinOptions::Add { activation }, ins, out);
        Ok(())
    }

    /// The fused activation of a conv, matmul or add (NONE without one).
    fn activation_of(&self, n: NodeIndex) -> Activation {
        self.fused_act.get(&n).map_or(Activation::None, |&(_, a)| a)
    }

    /// The bias input of a conv or matmul: the constant of a bias add fused into it, else zeros (or
    /// none, -1, where the op allows that).
    pub(super) fn bias_input(
        &mut self,
        n: NodeIndex,
        dtype: DType,
        len: usize,
    ) -> Result<i32, BackendError> {
        match self.fused_bias.get(&n).copied() {
            Some((_, bias)) => self.reshaped(n, bias, &[len], "bias"),
            None => self.zeros(n, dtype, len),
        }
    }

    /// The output tensors of a conv, matmul or add: those of the activation fused into it, else those
    /// of a conv's fused bias add, if any. The values in between (read by the fused op alone) share
    /// them.
    pub(super) fn conv_outputs(&mut self, n: NodeIndex) -> Result<Vec<i32>, BackendError> {
        let add = self.fused_bias.get(&n).map(|&(add, _)| add);
        let last = match (self.fused_act.get(&n), add) {
            (Some(&(act, _)), _) => act,
            (None, Some(add)) => add,
            (None, None) => return self.outputs(n),
        };
        let out = self.outputs(last)?;
        for fused in [Some(n), add].into_iter().flatten() {
            self.tensors.insert(ValueRef::new(fused, 0), out[0]);
        }
        Ok(out)
    }

    /// A zero vector (the bias TFLite's convs take).
    pub(super) fn zeros(
        &mut self,
        n: NodeIndex,
        dtype: DType,
        len: usize,
    ) -> Result<i32, BackendError> {
        if let Some(&t) = self.zeros.get(&(dtype, len)) {
            return Ok(t);
        }
        let size = dtype
            .size()
            .ok_or_else(|| self.err(n, format!("no zero bias of {dtype}")))?;
        let t = self.add_tensor(TensorPlan {
            name: format!("sgc/zero_bias_{}_{len}", dtype.name()),
            dtype,
            shape: vec![len as i32],
            data: Some(TensorData::Owned(vec![0; size * len])),
            quantization: None,
        });
        self.zeros.insert((dtype, len), t);
        Ok(t)
    }

    /// A convolution's attributes in TFLite's terms: NHWC only, SAME or VALID padding, and strides and
    /// dilations as int32 `(h, w)` pairs.
    /// MAX_POOL_2D / AVERAGE_POOL_2D (NHWC; the window from `ksize`).
    pub(super) fn lower_pool(&mut self, n: NodeIndex, code: i32) -> Result<(), BackendError> {
        let conv = self.conv_attrs(n)?;
        let ca = ConvAttrs::parse(&self.g.node(n).attrs).map_err(|e| self.err(n, e))?;
        let [kh, kw] =
            sgc_ir::shape::pool_window(&self.g.node(n).attrs, &ca).map_err(|e| self.err(n, e))?;
        let (filter_height, filter_width) = match (i32::try_from(kh), i32::try_from(kw)) {
            (Ok(h), Ok(w)) => (h, w),
            _ => return Err(self.err(n, format!("ksize ({kh}, {kw}) does not fit in int32"))),
        };
        let options = BuiltinOptions::Pool2D {
            padding: conv.padding,
            stride_w: conv.strides.1,
            stride_h: conv.strides.0,
            filter_width,
            filter_height,
        };
        let ins = self.inputs(n, 1..=1)?;
        let x = self.value(ins[0])?;
        let out = self.outputs(n)?;
        self.emit(code, options, vec![x], out);
        Ok(())
    }

    pub(super) fn conv_attrs(&self, n: NodeIndex) -> Result<TfliteConv, BackendError> {
        self.check_nhwc(n)?;
        let ca = ConvAttrs::parse(&self.g.node(n).attrs).map_err(|e| self.err(n, e))?;
        let padding = match ca.padding {
            ConvPadding::Same => Padding::Same,
            ConvPadding::Valid => Padding::Valid,
            ConvPadding::Explicit(p) => {
                return Err(self.err(
                    n,
                    format!("explicit padding {p:?} is not supported (SAME or VALID)"),
                ))
            }
        };
        let pair = |h: usize, w: usize, what: &str| -> Result<(i32, i32), BackendError> {
            match (i32::try_from(h), i32::try_from(w)) {
                (Ok(h), Ok(w)) => Ok((h, w)),
                _ => Err(self.err(n, format!("{what} ({h}, {w}) do not fit in int32"))),
            }
        };
        Ok(TfliteConv {
            padding,
            strides: pair(ca.sh, ca.sw, "strides")?,
            dilations: pair(ca.dh, ca.dw, "dilations")?,
        })
    }
}
