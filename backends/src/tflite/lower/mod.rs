//! Lowering: IR nodes to TFLite operators, one `match` arm per op in [`Lowerer::lower_node`].
//!
//! The graph reaching the backend is fully typed (every value has a static shape and dtype) and in NHWC
//! form. TensorFlow's filter layouts are converted here by transposing the constant once (or, for a
//! filter computed at run time, by a TRANSPOSE/RESHAPE op in front of the conv):
//!
//! | TensorFlow | layout | TFLite | layout |
//! |---|---|---|---|
//! | Conv2D | HWIO | CONV_2D | OHWI |
//! | DepthwiseConv2dNative | [H,W,C,M] | DEPTHWISE_CONV_2D | [1,H,W,C·M] (a reshape, no data movement) |
//! | Conv2DBackpropInput | [H,W,out,in] | TRANSPOSE_CONV | OHWI = [out,H,W,in] |
//! | MatMul | [in,out] | FULLY_CONNECTED | [out,in] |
//!
//! Identity-like ops are aliases: their output is their input's tensor. Only nodes that a graph output
//! depends on are lowered.
//!
//! The dispatch table is here; the larger lowerings live by family: `conv.rs` (convolutions, dense and
//! the bias adds and activations fused into them), `activation.rs` (activations TFLite has no builtin
//! for, as several), `reduce.rs` (MEAN in steps), `custom.rs` (CUSTOM and Flex ops), and `tensors.rs`
//! (constants, int32 operands, filters in TFLite's layouts).

mod activation;
mod conv;
mod custom;
mod reduce;
mod tensors;
mod weights;

use std::collections::{HashMap, HashSet};

use sgc_ir::{DType, Graph, NodeIndex, Op, Tensor, ValueRef};

use super::schema::{builtin, options_version, BuiltinOptions};
use super::{
    tensor_type, BackendError, BackendOptions, ModelPlan, OpCode, OpPlan, TensorData, TensorPlan,
};

/// Lowers a whole graph to a model plan.
pub fn lower(graph: &Graph) -> Result<ModelPlan, BackendError> {
    lower_with(graph, &BackendOptions::default())
}

/// [`lower`] with options: which ops become custom ops, and in which encoding.
pub fn lower_with(graph: &Graph, options: &BackendOptions) -> Result<ModelPlan, BackendError> {
    let mut l = Lowerer::new(graph).with_options(options);
    for &input in &graph.inputs {
        let node = graph.node(input);
        if !matches!(node.op, Op::Placeholder | Op::PlaceholderWithDefault) {
            return Err(l.err(input, "graph inputs must be placeholders"));
        }
        let t = l.output(input, 0)?;
        l.plan.inputs.push(t);
        l.plan.signature_inputs.push((node.name.clone(), t));
    }
    let order = graph
        .topo_order()
        .map_err(|e| BackendError::Graph(e.to_string()))?;
    let live = l.live_nodes();
    for n in order {
        if live.contains(&n) {
            l.lower_node(n)?;
        }
    }
    for out in &graph.outputs {
        let t = l.value(out.value)?;
        l.plan.outputs.push(t);
        l.plan.signature_outputs.push((out.name.clone(), t));
    }
    Ok(l.plan)
}

/// What the lowering table makes of one node (see [`lower_each`]).
#[derive(Debug, Clone, PartialEq)]
pub enum NodeLowering {
    /// The operators the node became, in order (several for multi-op lowerings such as `ClipByValue`, a
    /// CAST or TRANSPOSE in front of the main one). A custom op has `OpCode::custom` set.
    Operators(Vec<OpCode>),
    /// No operator: a constant, a model input, an alias of its input, a statically known `Shape`.
    NoOperator,
    /// No operator of its own: a bias add that is the bias input of this conv or matmul.
    FusedInto(NodeIndex),
    /// No graph output depends on the node: it is not lowered at all.
    NotLive,
    /// Lowering the node fails with this error.
    Failed(BackendError),
}

/// Per-node lowering results of a whole graph, for reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Coverage {
    /// Every node of the graph, in topological order.
    pub nodes: Vec<(NodeIndex, NodeLowering)>,
    /// Errors about the graph as a whole (a cycle, an output that cannot be produced).
    pub graph_errors: Vec<BackendError>,
}

/// Runs the lowering table over every node like [`lower_with`] does, but does not stop at a failing node: it
/// records the error, gives the node's outputs stand-in tensors so that its consumers are lowered too,
/// and goes on. The first failure in the result is the error [`lower`] returns. The answer comes from the
/// table itself, so a report can never disagree with what `lower` emits.
pub fn lower_each(graph: &Graph, options: &BackendOptions) -> Coverage {
    let mut l = Lowerer::new(graph).with_options(options);
    let mut cov = Coverage::default();
    let mut failed_inputs = HashMap::new();
    for &input in &graph.inputs {
        let node = graph.node(input);
        let res = if matches!(node.op, Op::Placeholder | Op::PlaceholderWithDefault) {
            l.output(input, 0).map(|_| ())
        } else {
            Err(l.err(input, "graph inputs must be placeholders"))
        };
        if let Err(e) = res {
            l.stand_in(input);
            failed_inputs.insert(input, e);
        }
    }
    let order = match graph.topo_order() {
        Ok(order) => order,
        Err(e) => {
            cov.graph_errors.push(BackendError::Graph(e.to_string()));
            return cov;
        }
    };
    let live = l.live_nodes();
    for n in order {
        let result = if let Some(e) = failed_inputs.remove(&n) {
            NodeLowering::Failed(e)
        } else if !live.contains(&n) {
            NodeLowering::NotLive
        } else {
            let first = l.plan.operators.len();
            match l.lower_node(n) {
                Ok(()) if l.plan.operators.len() == first => match l.fused_into(n) {
                    Some(producer) => NodeLowering::FusedInto(producer),
                    None => NodeLowering::NoOperator,
                },
                Ok(()) => NodeLowering::Operators(
                    l.plan.operators[first..]
                        .iter()
                        .map(|o| o.code.clone())
                        .collect(),
                ),
                Err(e) => {
                    l.plan.operators.truncate(first);
                    l.stand_in(n);
                    NodeLowering::Failed(e)
                }
            }
        };
        cov.nodes.push((n, result));
    }
    for out in &graph.outputs {
        if let Err(e) = l.value(out.value) {
            cov.graph_errors.push(e);
        }
    }
    cov
}

/// The state of one lowering: the graph, the plan being built, and the tensors made so far.
struct Lowerer<'g> {
    g: &'g Graph,
    plan: ModelPlan,
    /// The tensor of each (alias-resolved) IR value.
    tensors: HashMap<ValueRef, i32>,
    derived: HashMap<(ValueRef, Derived), i32>,
    /// Zero bias tensors by (dtype, length).
    zeros: HashMap<(DType, usize), i32>,
    /// Bias adds that become the bias input of the conv or matmul before them (see [`bias_adds`]):
    /// producer → (the add, its constant operand).
    fused_bias: HashMap<NodeIndex, (NodeIndex, ValueRef)>,
    /// Activations that become the fused activation of the conv, matmul or add before them (see
    /// [`conv::activations`]): producer → (the activation, its TFLite code).
    fused_act: HashMap<NodeIndex, (NodeIndex, super::schema::Activation)>,
    options: BackendOptions,
}

use conv::bias_adds;
pub use conv::{fused_activations, fused_bias_adds};
pub use weights::{dynamic_kernel, quantizable_weights};

/// The value `v` stands for: through identity-like ops and the defaults of placeholders that are not
/// graph inputs (which the lowering writes as aliases, not ops).
fn resolve(g: &Graph, mut v: ValueRef) -> ValueRef {
    loop {
        let node = g.node(v.node);
        let passes = node.op.is_identity_like()
            || (node.op == Op::PlaceholderWithDefault && !g.inputs.contains(&v.node));
        match g.inputs(v.node).first() {
            Some(&src) if passes && v.port == 0 => v = src,
            _ => return v,
        }
    }
}
pub use custom::attrs_to_flex;
pub use tensors::transpose_bytes;
use tensors::Derived;

impl<'g> Lowerer<'g> {
    fn new(g: &'g Graph) -> Self {
        Lowerer {
            g,
            plan: ModelPlan::default(),
            tensors: HashMap::new(),
            derived: HashMap::new(),
            zeros: HashMap::new(),
            fused_bias: HashMap::new(),
            fused_act: HashMap::new(),
            options: BackendOptions::default(),
        }
    }

    fn with_options(mut self, options: &BackendOptions) -> Self {
        self.options = options.clone();
        // An add, or a conv, forced to be a custom op stays one: nothing is fused into or out of it.
        let custom = |n: NodeIndex| {
            let op = self.g.node(n).op.name();
            options.custom_ops.iter().any(|c| c == op)
        };
        self.fused_bias = bias_adds(self.g)
            .into_iter()
            .filter(|&(producer, (add, _))| !custom(producer) && !custom(add))
            .collect();
        self.fused_act = conv::activations(self.g, &self.fused_bias)
            .into_iter()
            .filter(|&(producer, (act, _))| !custom(producer) && !custom(act))
            .collect();
        self
    }

    /// Tensors for the outputs of a node that failed to lower, so that its consumers can still be
    /// lowered ([`lower_each`]): typed ones where the outputs are typed, else scalar placeholders.
    fn stand_in(&mut self, n: NodeIndex) {
        for port in 0..self.g.node(n).outputs.len() {
            if self.output(n, port).is_err() {
                let t = self.add_tensor(TensorPlan {
                    name: format!("{}/stand_in", self.g.value_name(ValueRef::new(n, port))),
                    dtype: DType::F32,
                    shape: Vec::new(),
                    data: None,
                    quantization: None,
                });
                self.tensors.insert(ValueRef::new(n, port), t);
            }
        }
    }

    fn err(&self, n: NodeIndex, reason: impl Into<String>) -> BackendError {
        let node = self.g.node(n);
        BackendError::Node {
            node: node.name.clone(),
            op: node.op.name().to_string(),
            reason: reason.into(),
        }
    }

    /// Follows identity-like ops (and unfed `PlaceholderWithDefault`s) to the value they pass through.
    fn resolve(&self, v: ValueRef) -> ValueRef {
        resolve(self.g, v)
    }

    /// Nodes that some graph output depends on through data edges, aliases resolved.
    fn live_nodes(&self) -> HashSet<NodeIndex> {
        let mut live = HashSet::new();
        let mut stack: Vec<NodeIndex> = self
            .g
            .outputs
            .iter()
            .map(|o| self.resolve(o.value).node)
            .collect();
        while let Some(n) = stack.pop() {
            if !live.insert(n) {
                continue;
            }
            for v in self.g.inputs(n) {
                stack.push(self.resolve(v).node);
            }
        }
        live
    }

    fn add_tensor(&mut self, t: TensorPlan) -> i32 {
        self.plan.tensors.push(t);
        (self.plan.tensors.len() - 1) as i32
    }

    fn shape_i32(&self, n: NodeIndex, shape: &[usize]) -> Result<Vec<i32>, BackendError> {
        shape
            .iter()
            .map(|&d| i32::try_from(d).map_err(|_| self.err(n, format!("dimension {d} too large"))))
            .collect()
    }

    /// dtype and static shape of a value.
    fn info(&self, v: ValueRef) -> Result<(DType, Vec<usize>), BackendError> {
        let info = self.g.info(v);
        let name = self.g.value_name(v);
        let dtype = info
            .dtype
            .ok_or_else(|| self.err(v.node, format!("value '{name}' has no known dtype")))?;
        let shape = info.static_shape().ok_or_else(|| {
            self.err(
                v.node,
                format!("value '{name}' has no static shape ({info})"),
            )
        })?;
        Ok((dtype, shape))
    }

    /// Creates the tensor of output `port` of `n`.
    fn output(&mut self, n: NodeIndex, port: usize) -> Result<i32, BackendError> {
        let v = ValueRef::new(n, port);
        if let Some(&t) = self.tensors.get(&v) {
            return Ok(t);
        }
        let (dtype, shape) = self.info(v)?;
        if tensor_type(dtype).is_none() {
            return Err(self.err(n, format!("{dtype} tensors are not supported")));
        }
        let shape = self.shape_i32(n, &shape)?;
        let t = self.add_tensor(TensorPlan {
            name: self.g.value_name(v),
            dtype,
            shape,
            data: None,
            quantization: None,
        });
        self.tensors.insert(v, t);
        Ok(t)
    }

    /// The tensor holding an (already produced) IR value; constants get theirs on first use.
    fn value(&mut self, v: ValueRef) -> Result<i32, BackendError> {
        let v = self.resolve(v);
        if let Some(&t) = self.tensors.get(&v) {
            return Ok(t);
        }
        let node = self.g.node(v.node);
        match node.op {
            Op::Const => {
                let value = self
                    .g
                    .const_value(v)
                    .ok_or_else(|| self.err(v.node, "Const without a value"))?;
                let t = self.const_tensor(
                    v.node,
                    self.g.value_name(v),
                    value,
                    TensorData::Shared(value.bytes().clone()),
                )?;
                self.tensors.insert(v, t);
                Ok(t)
            }
            Op::Placeholder | Op::PlaceholderWithDefault => {
                Err(self.err(v.node, "placeholder is not among the graph's inputs"))
            }
            _ => Err(self.err(
                v.node,
                format!(
                    "value '{}' used before it is produced",
                    self.g.value_name(v)
                ),
            )),
        }
    }

    fn emit(&mut self, code: i32, options: BuiltinOptions, inputs: Vec<i32>, outputs: Vec<i32>) {
        let version = options_version(code, &options);
        self.emit_version(code, version, options, inputs, outputs);
    }

    /// [`Self::emit`] for an op whose inputs need a version above the code's base version.
    fn emit_version(
        &mut self,
        code: i32,
        version: i32,
        options: BuiltinOptions,
        inputs: Vec<i32>,
        outputs: Vec<i32>,
    ) {
        self.plan.operators.push(OpPlan {
            code: OpCode {
                builtin: code,
                custom: None,
                version,
            },
            options,
            inputs,
            outputs,
            custom_options: None,
        });
    }

    fn check_nhwc(&self, n: NodeIndex) -> Result<(), BackendError> {
        let format = self.g.node(n).attrs.data_format();
        if format != "NHWC" {
            return Err(self.err(
                n,
                format!("data_format {format} is not supported: TFLite is NHWC-only (run the layout pass first)"),
            ));
        }
        Ok(())
    }

    fn inputs(
        &self,
        n: NodeIndex,
        count: std::ops::RangeInclusive<usize>,
    ) -> Result<Vec<ValueRef>, BackendError> {
        let ins = self.g.inputs(n);
        if !count.contains(&ins.len()) {
            return Err(self.err(n, format!("expected {count:?} inputs, got {}", ins.len())));
        }
        Ok(ins)
    }

    fn int_attr(&self, n: NodeIndex, name: &str, default: i64) -> Result<i32, BackendError> {
        let v = self.g.node(n).attrs.int(name).unwrap_or(default);
        i32::try_from(v).map_err(|_| self.err(n, format!("{name} = {v} does not fit in int32")))
    }

    /// A possibly negative axis of a rank-`rank` tensor, normalised.
    fn axis(&self, n: NodeIndex, axis: i64, rank: usize) -> Result<i32, BackendError> {
        let r = rank as i64;
        if axis < -r || axis >= r {
            return Err(self.err(n, format!("axis {axis} out of range for rank {rank}")));
        }
        Ok((if axis < 0 { axis + r } else { axis }) as i32)
    }

    fn outputs(&mut self, n: NodeIndex) -> Result<Vec<i32>, BackendError> {
        (0..self.g.node(n).outputs.len())
            .map(|p| self.output(n, p))
            .collect()
    }

    /// The lowering table: one arm per IR op.
    fn lower_node(&mut self, n: NodeIndex) -> Result<(), BackendError> {
        use builtin as b;
        use BuiltinOptions as O;
        let node = self.g.node(n);
        let op = node.op.clone();
        if self.options.custom_ops.iter().any(|c| c == op.name()) {
            return self.custom(n);
        }
        match op {
            // Sources and aliases: no operator.
            Op::Const | Op::Placeholder | Op::PlaceholderWithDefault => Ok(()),
            sgc_ir::identity_like_ops!() => Ok(()),
            Op::NoOp => Ok(()),

            Op::Conv2D => self.lower_conv2d(n),
            Op::DepthwiseConv2dNative => self.lower_depthwise(n),
            Op::Conv2DBackpropInput => self.lower_transpose_conv(n),
            Op::MatMul => self.lower_matmul(n),
            // A bias add fused into the conv or matmul before it writes no operator of its own.
            Op::BiasAdd | Op::Add | Op::AddV2 if self.is_fused_bias_add(n) => Ok(()),
            // So does an activation fused into the conv or matmul before it.
            Op::Relu | Op::Relu6 | Op::ClipByValue if self.fused_into(n).is_some() => Ok(()),
            Op::BiasAdd => {
                self.check_nhwc(n)?;
                self.lower_add(n)
            }
            Op::Add | Op::AddV2 => self.lower_add(n),
            Op::Sub => self.simple(n, 2..=2, b::SUB, O::Sub),
            Op::Mul => self.simple(n, 2..=2, b::MUL, O::Mul),
            Op::RealDiv => self.simple(n, 2..=2, b::DIV, O::Div),
            // FloorDivOptions has no fields: no options table.
            Op::FloorDiv => self.simple(n, 2..=2, b::FLOOR_DIV, O::None),
            Op::Pow => self.simple(n, 2..=2, b::POW, O::None),
            Op::Maximum => self.simple(n, 2..=2, b::MAXIMUM, O::None),
            Op::Minimum => self.simple(n, 2..=2, b::MINIMUM, O::None),
            Op::SquaredDifference => self.simple(n, 2..=2, b::SQUARED_DIFFERENCE, O::None),
            Op::Greater => self.simple(n, 2..=2, b::GREATER, O::None),
            Op::GreaterEqual => self.simple(n, 2..=2, b::GREATER_EQUAL, O::None),
            Op::Less => self.simple(n, 2..=2, b::LESS, O::None),
            Op::LessEqual => self.simple(n, 2..=2, b::LESS_EQUAL, O::None),
            Op::Equal => self.simple(n, 2..=2, b::EQUAL, O::None),
            Op::LogicalAnd => self.simple(n, 2..=2, b::LOGICAL_AND, O::None),
            Op::LogicalOr => self.simple(n, 2..=2, b::LOGICAL_OR, O::None),
            Op::LogicalNot => self.simple(n, 1..=1, b::LOGICAL_NOT, O::None),
            Op::AddN => self.simple(n, 1..=usize::MAX, b::ADD_N, O::None),
            Op::Neg => self.simple(n, 1..=1, b::NEG, O::None),
            Op::Abs => self.simple(n, 1..=1, b::ABS, O::None),
            Op::Log => self.simple(n, 1..=1, b::LOG, O::None),
            Op::Elu => self.simple(n, 1..=1, b::ELU, O::None),
            Op::Selu => self.lower_selu(n),
            Op::Softplus => self.lower_softplus(n),
            Op::LogSoftmax => self.simple(n, 1..=1, b::LOG_SOFTMAX, O::None),
            Op::Square => self.simple(n, 1..=1, b::SQUARE, O::None),
            Op::Sqrt => self.simple(n, 1..=1, b::SQRT, O::None),
            Op::Rsqrt => self.simple(n, 1..=1, b::RSQRT, O::None),
            Op::Exp => self.simple(n, 1..=1, b::EXP, O::None),
            Op::Tanh => self.simple(n, 1..=1, b::TANH, O::None),
            Op::Sigmoid => self.simple(n, 1..=1, b::LOGISTIC, O::None),
            Op::Relu => self.simple(n, 1..=1, b::RELU, O::None),
            Op::Relu6 => self.simple(n, 1..=1, b::RELU6, O::None),
            Op::Softmax => self.simple(n, 1..=1, b::SOFTMAX, O::Softmax { beta: 1.0 }),
            Op::MaxPool => self.lower_pool(n, b::MAX_POOL_2D),
            Op::AvgPool => self.lower_pool(n, b::AVERAGE_POOL_2D),
            Op::LeakyRelu => {
                let alpha = sgc_ir::op::leaky_relu_alpha(&node.attrs);
                self.simple(n, 1..=1, b::LEAKY_RELU, O::LeakyRelu { alpha })
            }
            Op::ClipByValue => {
                let operands: Vec<_> = self.g.inputs(n).iter().map(|&v| self.const_of(v)).collect();
                // Between 0 and 6, or −1 and 1, one op (as TF's converter writes them).
                match sgc_ir::fusion::fusable_activation(&op, &operands) {
                    Some(sgc_ir::fusion::FusedActivation::Relu6) => {
                        return self.simple_first(n, b::RELU6);
                    }
                    Some(sgc_ir::fusion::FusedActivation::ReluN1To1) => {
                        return self.simple_first(n, b::RELU_N1_TO_1);
                    }
                    _ => {}
                }
                // min(x, hi), then max(·, lo): two ops through an intermediate tensor.
                let ins = self.inputs(n, 3..=3)?;
                let (dtype, shape) = self.info(ValueRef::new(n, 0))?;
                let x = self.value(ins[0])?;
                let lo = self.value(ins[1])?;
                let hi = self.value(ins[2])?;
                let mid = self.new_tensor(n, format!("{}/clip_upper", node.name), dtype, &shape)?;
                self.emit(b::MINIMUM, O::None, vec![x, hi], vec![mid]);
                let out = self.outputs(n)?;
                self.emit(b::MAXIMUM, O::None, vec![mid, lo], out);
                Ok(())
            }
            sgc_ir::reduction_ops!() => {
                let code = match op {
                    Op::Mean => b::MEAN,
                    Op::Sum => b::SUM,
                    Op::Max => b::REDUCE_MAX,
                    Op::Min => b::REDUCE_MIN,
                    Op::Prod => b::REDUCE_PROD,
                    // A reduction added to the family without a TFLite code here.
                    _ => return Err(self.err(n, "reduction without a TFLite code")),
                };
                let ins = self.inputs(n, 2..=2)?;
                let keep_dims = node.attrs.bool("keep_dims").unwrap_or(false);
                let x = self.value(ins[0])?;
                if op == Op::Mean && keep_dims {
                    if let Some(steps) = self.mean_steps(n, ins[0], ins[1])? {
                        return self.lower_mean_in_steps(n, x, steps);
                    }
                }
                let axes = self.int32_operand(n, ins[1], "reduction axes")?;
                let out = self.outputs(n)?;
                self.emit(code, O::Reducer { keep_dims }, vec![x, axes], out);
                Ok(())
            }
            Op::Reshape | Op::ExpandDims | Op::Squeeze => {
                // The result shape is static: write it as both the option and the shape operand.
                let ins = self.inputs(n, 1..=2)?;
                let (_, shape) = self.info(ValueRef::new(n, 0))?;
                let new_shape = self.shape_i32(n, &shape)?;
                let x = self.value(ins[0])?;
                let shape_t =
                    self.i32_const(n, format!("{}/shape", node.name), new_shape.clone())?;
                let out = self.outputs(n)?;
                self.emit(b::RESHAPE, O::Reshape { new_shape }, vec![x, shape_t], out);
                Ok(())
            }
            Op::ArgMax => {
                let (out_dtype, _) = self.info(ValueRef::new(n, 0))?;
                let output_type = tensor_type(out_dtype)
                    .ok_or_else(|| self.err(n, format!("ArgMax to {out_dtype}")))?;
                self.with_int32_operands(n, 2, &[1], b::ARG_MAX, O::ArgMax { output_type })
            }
            Op::Tile => self.with_int32_operands(n, 2, &[1], b::TILE, O::None),
            Op::Transpose => self.with_int32_operands(n, 2, &[1], b::TRANSPOSE, O::None),
            Op::Slice => self.with_int32_operands(n, 3, &[1, 2], b::SLICE, O::None),
            Op::Pad => self.with_int32_operands(n, 2, &[1], b::PAD, O::None),
            Op::MirrorPad => {
                let mode = match node.attrs.str("mode") {
                    Some("REFLECT") => 0,
                    Some("SYMMETRIC") => 1,
                    m => return Err(self.err(n, format!("MirrorPad mode {m:?}"))),
                };
                self.with_int32_operands(n, 2, &[1], b::MIRROR_PAD, O::MirrorPad { mode })
            }
            Op::Fill => self.with_int32_operands(n, 2, &[0], b::FILL, O::None),
            Op::BroadcastTo => self.with_int32_operands(n, 2, &[1], b::BROADCAST_TO, O::None),
            Op::StridedSlice => {
                let a = &node.attrs;
                let mask = |name: &str| a.int(name).unwrap_or(0) as i32;
                let options = O::StridedSlice {
                    begin_mask: mask("begin_mask"),
                    end_mask: mask("end_mask"),
                    ellipsis_mask: mask("ellipsis_mask"),
                    new_axis_mask: mask("new_axis_mask"),
                    shrink_axis_mask: mask("shrink_axis_mask"),
                };
                self.with_int32_operands(n, 4, &[1, 2, 3], b::STRIDED_SLICE, options)
            }
            Op::ResizeNearestNeighbor => {
                let a = &node.attrs;
                let options = O::ResizeNearestNeighbor {
                    align_corners: a.bool("align_corners").unwrap_or(false),
                    half_pixel_centers: a.bool("half_pixel_centers").unwrap_or(false),
                };
                self.with_int32_operands(n, 2, &[1], b::RESIZE_NEAREST_NEIGHBOR, options)
            }
            Op::ResizeBilinear => {
                let a = &node.attrs;
                let ins = self.inputs(n, 2..=2)?;
                if self.info(ins[0])?.0 != DType::F32 {
                    return Err(self.err(n, "RESIZE_BILINEAR of a non-float image"));
                }
                let options = O::ResizeBilinear {
                    align_corners: a.bool("align_corners").unwrap_or(false),
                    half_pixel_centers: a.bool("half_pixel_centers").unwrap_or(false),
                };
                self.with_int32_operands(n, 2, &[1], b::RESIZE_BILINEAR, options)
            }
            Op::DepthToSpace => {
                // Shape inference has checked the NHWC layout and the block size.
                let block_size = node.attrs.int("block_size").unwrap_or(0) as i32;
                self.simple(n, 1..=1, b::DEPTH_TO_SPACE, O::DepthToSpace { block_size })
            }
            Op::SpaceToDepth => {
                // Shape inference has checked the NHWC layout and the block size.
                let block_size = node.attrs.int("block_size").unwrap_or(0) as i32;
                self.simple(n, 1..=1, b::SPACE_TO_DEPTH, O::SpaceToDepth { block_size })
            }
            Op::Select | Op::SelectV2 => {
                let ins = self.inputs(n, 3..=3)?;
                let (_, cshape) = self.info(ins[0])?;
                let (_, tshape) = self.info(ins[1])?;
                // TF1 `Select` with a vector condition and higher-rank operands picks whole rows:
                // as [n, 1, …, 1] the condition broadcasts to the same effect under SELECT_V2.
                let cond = if op == Op::Select && cshape.len() == 1 && tshape.len() > 1 {
                    let mut s = vec![1; tshape.len()];
                    s[0] = cshape[0];
                    self.reshaped(n, ins[0], &s, "rows")?
                } else {
                    self.value(ins[0])?
                };
                let t = self.value(ins[1])?;
                let e = self.value(ins[2])?;
                let out = self.outputs(n)?;
                self.emit(b::SELECT_V2, O::None, vec![cond, t, e], out);
                Ok(())
            }
            Op::Cast => {
                let ins = self.inputs(n, 1..=1)?;
                let (from, _) = self.info(ins[0])?;
                let (to, _) = self.info(ValueRef::new(n, 0))?;
                let (Some(in_type), Some(out_type)) = (tensor_type(from), tensor_type(to)) else {
                    return Err(self.err(n, format!("cannot cast {from} to {to}")));
                };
                self.simple(n, 1..=1, b::CAST, O::Cast { in_type, out_type })
            }
            Op::ConcatV2 => {
                let ins = self.inputs(n, 2..=usize::MAX)?;
                let (values, axis) = ins.split_at(ins.len() - 1);
                let (_, shape) = self.info(ValueRef::new(n, 0))?;
                let axis = self.const_ints(n, axis[0], "concat axis")?;
                let axis = self.axis(n, axis[0], shape.len())?;
                let values = values
                    .iter()
                    .map(|&v| self.value(v))
                    .collect::<Result<Vec<_>, _>>()?;
                let out = self.outputs(n)?;
                self.emit(b::CONCATENATION, O::Concatenation { axis }, values, out);
                Ok(())
            }
            Op::Pack => {
                let ins = self.inputs(n, 1..=usize::MAX)?;
                let (_, shape) = self.info(ValueRef::new(n, 0))?;
                let axis = self.axis(n, node.attrs.int("axis").unwrap_or(0), shape.len())?;
                let options = O::Pack {
                    values_count: ins.len() as i32,
                    axis,
                };
                self.simple(n, 1..=usize::MAX, b::PACK, options)
            }
            Op::Unpack => {
                let ins = self.inputs(n, 1..=1)?;
                let (_, shape) = self.info(ins[0])?;
                let axis = self.axis(n, node.attrs.int("axis").unwrap_or(0), shape.len())?;
                let num = node.outputs.len() as i32;
                self.simple(n, 1..=1, b::UNPACK, O::Unpack { num, axis })
            }
            Op::Split => {
                // TensorFlow's Split is (axis, value), as is TFLite's SPLIT.
                let ins = self.inputs(n, 2..=2)?;
                let axis = self.int32_operand(n, ins[0], "split axis")?;
                let x = self.value(ins[1])?;
                let num_splits = self.int_attr(n, "num_split", node.outputs.len() as i64)?;
                let out = self.outputs(n)?;
                self.emit(b::SPLIT, O::Split { num_splits }, vec![axis, x], out);
                Ok(())
            }
            Op::SplitV => {
                // TensorFlow's SplitV is (value, size_splits, axis), as is TFLite's SPLIT_V.
                let num_splits = self.int_attr(n, "num_split", node.outputs.len() as i64)?;
                self.with_int32_operands(n, 3, &[1, 2], b::SPLIT_V, O::SplitV { num_splits })
            }
            Op::Shape => {
                // Every shape is static by now: the result is a constant.
                let ins = self.inputs(n, 1..=1)?;
                let (_, shape) = self.info(ins[0])?;
                let (dtype, _) = self.info(ValueRef::new(n, 0))?;
                let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
                let value = match dtype {
                    DType::I64 => Tensor::from_vec(vec![dims.len()], dims),
                    _ => Tensor::from_vec(vec![dims.len()], self.shape_i32(n, &shape)?),
                };
                let data = TensorData::Shared(value.bytes().clone());
                let t = self.const_tensor(n, node.name.clone(), &value, data)?;
                self.tensors.insert(ValueRef::new(n, 0), t);
                Ok(())
            }
            Op::Range => self.simple(n, 3..=3, b::RANGE, O::None),
            Op::RandomStandardNormal | Op::RandomUniform => {
                let code = if op == Op::RandomUniform {
                    b::RANDOM_UNIFORM
                } else {
                    b::RANDOM_STANDARD_NORMAL
                };
                let options = O::Random {
                    seed: node.attrs.int("seed").unwrap_or(0),
                    seed2: node.attrs.int("seed2").unwrap_or(0),
                };
                self.with_int32_operands(n, 1, &[0], code, options)
            }

            // Ops sgc does not know: TFLite custom ops, named as TensorFlow names them.
            Op::Other(_) => self.custom(n),
            // No TFLite form: passes remove or resolve these before lowering (variables are frozen,
            // control flow with constant predicates folded, identities and no-ops dropped, batch norms
            // made a MUL and an ADD by the `batch-norm` pass), and what is left is refused by name.
            sgc_ir::variable_ops!()
            | sgc_ir::batch_norm_ops!()
            | Op::ReadVariableOp
            | Op::IdentityN
            | Op::Switch
            | Op::RefSwitch
            | Op::Merge => Err(BackendError::NoLowering {
                node: node.name.clone(),
                op: node.op.name().to_string(),
            }),
        }
    }

    /// An op whose TFLite inputs are the node's inputs, unchanged, and whose outputs are its outputs.
    fn simple(
        &mut self,
        n: NodeIndex,
        count: std::ops::RangeInclusive<usize>,
        code: i32,
        options: BuiltinOptions,
    ) -> Result<(), BackendError> {
        let ins = self.inputs(n, count)?;
        let ins = ins
            .into_iter()
            .map(|v| self.value(v))
            .collect::<Result<Vec<_>, _>>()?;
        let out = self.outputs(n)?;
        self.emit(code, options, ins, out);
        Ok(())
    }

    /// An op of the node's first input alone (its other inputs, constants, are the op's own).
    fn simple_first(&mut self, n: NodeIndex, code: i32) -> Result<(), BackendError> {
        let x = self.value(self.g.inputs(n)[0])?;
        let out = self.outputs(n)?;
        self.emit(code, BuiltinOptions::None, vec![x], out);
        Ok(())
    }

    /// Like [`Self::simple`], with the input slots in `int32_slots` (shapes, indices) made int32.
    fn with_int32_operands(
        &mut self,
        n: NodeIndex,
        count: usize,
        int32_slots: &[usize],
        code: i32,
        options: BuiltinOptions,
    ) -> Result<(), BackendError> {
        let ins = self.inputs(n, count..=count)?;
        let mut tensors = Vec::with_capacity(ins.len());
        for (slot, &v) in ins.iter().enumerate() {
            tensors.push(if int32_slots.contains(&slot) {
                self.int32_operand(n, v, "shape/index operand")?
            } else {
                self.value(v)?
            });
        }
        let out = self.outputs(n)?;
        self.emit(code, options, tensors, out);
        Ok(())
    }
}
