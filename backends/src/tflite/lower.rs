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

use std::collections::{HashMap, HashSet};

use sgc_ir::{fusion, ConvAttrs, ConvPadding, DType, Graph, NodeIndex, Op, Tensor, ValueRef};

use super::flexbuffer::{self, Flex};
use super::schema::{builtin, op_version, BuiltinOptions, Padding};
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

/// A constant re-laid-out for TFLite, cached per source value so each is written once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Derived {
    /// Narrowed to int32 (shape, axis, index operands).
    Int32,
    /// Transposed by a permutation (filters).
    Transposed(&'static [usize]),
    /// Same bytes under another shape (the depthwise filter, a TF1 `Select` condition).
    Reshaped(Vec<usize>),
}

/// The adds that lowering writes as the bias input of the convolution or matmul before them.
pub fn fused_bias_adds(g: &Graph) -> Vec<NodeIndex> {
    let mut adds: Vec<NodeIndex> = bias_adds(g).into_values().map(|(add, _)| add).collect();
    adds.sort();
    adds
}

/// Adds of a per-channel constant right after a convolution or matmul, which TFLite computes for free as
/// the op's bias input (when, is [`sgc_ir::fusion`]'s to say). Producer → (add, constant operand).
fn bias_adds(g: &Graph) -> HashMap<NodeIndex, (NodeIndex, ValueRef)> {
    let mut fused = HashMap::new();
    for add in g.node_indices() {
        let op = &g.node(add).op;
        if !matches!(op, Op::Add | Op::AddV2 | Op::BiasAdd) {
            continue;
        }
        let ins = g.inputs(add);
        let [a, b] = ins[..] else { continue };
        let orders: &[(ValueRef, ValueRef)] = if *op == Op::BiasAdd {
            &[(a, b)]
        } else {
            &[(a, b), (b, a)]
        };
        for &(value, bias) in orders {
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

/// A convolution's attributes as TFLite options take them (see [`Lowerer::conv_attrs`]).
struct TfliteConv {
    padding: Padding,
    strides: (i32, i32),
    dilations: (i32, i32),
}

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
    options: BackendOptions,
}

/// TFLite's perm for TensorFlow's filter layouts (output axis i takes input axis perm[i]).
const HWIO_TO_OHWI: &[usize] = &[3, 0, 1, 2];
const HWOI_TO_OHWI: &[usize] = &[2, 0, 1, 3];
const SWAP_2D: &[usize] = &[1, 0];

impl<'g> Lowerer<'g> {
    fn new(g: &'g Graph) -> Self {
        Lowerer {
            g,
            plan: ModelPlan::default(),
            tensors: HashMap::new(),
            derived: HashMap::new(),
            zeros: HashMap::new(),
            fused_bias: HashMap::new(),
            options: BackendOptions::default(),
        }
    }

    fn with_options(mut self, options: &BackendOptions) -> Self {
        self.options = options.clone();
        // An add forced to be a custom op stays one.
        self.fused_bias = bias_adds(self.g)
            .into_iter()
            .filter(|(_, (add, _))| {
                let op = self.g.node(*add).op.name();
                !options.custom_ops.iter().any(|c| c == op)
            })
            .collect();
        self
    }

    fn is_fused_bias_add(&self, n: NodeIndex) -> bool {
        self.fused_into(n).is_some()
    }

    /// The conv or matmul a bias add is fused into.
    fn fused_into(&self, n: NodeIndex) -> Option<NodeIndex> {
        self.fused_bias
            .iter()
            .find_map(|(&producer, &(add, _))| (add == n).then_some(producer))
    }

    /// The bias input of a conv or matmul: the constant of a bias add fused into it, else zeros (or
    /// none, -1, where the op allows that).
    fn bias_input(&mut self, n: NodeIndex, dtype: DType, len: usize) -> Result<i32, BackendError> {
        match self.fused_bias.get(&n).copied() {
            Some((_, bias)) => self.reshaped(n, bias, &[len], "bias"),
            None => self.zeros(n, dtype, len),
        }
    }

    /// The output tensors of a conv or matmul: those of the bias add fused into it, if any.
    fn conv_outputs(&mut self, n: NodeIndex) -> Result<Vec<i32>, BackendError> {
        match self.fused_bias.get(&n).copied() {
            Some((add, _)) => {
                let out = self.outputs(add)?;
                self.tensors.insert(ValueRef::new(n, 0), out[0]);
                Ok(out)
            }
            None => self.outputs(n),
        }
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
    fn resolve(&self, mut v: ValueRef) -> ValueRef {
        loop {
            let node = self.g.node(v.node);
            let passes = node.op.is_identity_like()
                || (node.op == Op::PlaceholderWithDefault && !self.g.inputs.contains(&v.node));
            match self.g.inputs(v.node).first() {
                Some(&src) if passes && v.port == 0 => v = src,
                _ => return v,
            }
        }
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
        });
        self.tensors.insert(v, t);
        Ok(t)
    }

    fn const_tensor(
        &mut self,
        n: NodeIndex,
        name: String,
        value: &Tensor,
        data: TensorData,
    ) -> Result<i32, BackendError> {
        if tensor_type(value.dtype()).is_none() {
            return Err(self.err(n, format!("{} constants are not supported", value.dtype())));
        }
        let shape = self.shape_i32(n, value.shape())?;
        Ok(self.add_tensor(TensorPlan {
            name,
            dtype: value.dtype(),
            shape,
            data: Some(data),
        }))
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

    fn const_of(&self, v: ValueRef) -> Option<&'g Tensor> {
        self.g.const_value(self.resolve(v))
    }

    /// Integer values of a constant operand (axes, shapes, paddings …).
    fn const_ints(&self, n: NodeIndex, v: ValueRef, what: &str) -> Result<Vec<i64>, BackendError> {
        let t = self
            .const_of(v)
            .ok_or_else(|| self.err(n, format!("{what} must be a constant")))?;
        t.to_i64s().map_err(|e| self.err(n, format!("{what}: {e}")))
    }

    /// An integer operand as an int32 tensor, as TFLite wants shapes, axes and indices: constants are
    /// narrowed once, int64 values computed at run time go through a CAST.
    fn int32_operand(
        &mut self,
        n: NodeIndex,
        v: ValueRef,
        what: &str,
    ) -> Result<i32, BackendError> {
        let v = self.resolve(v);
        if let Some(c) = self.const_of(v) {
            if c.dtype() == DType::I32 {
                return self.value(v);
            }
            if let Some(&t) = self.derived.get(&(v, Derived::Int32)) {
                return Ok(t);
            }
            let vals = c
                .to_i64s()
                .map_err(|e| self.err(n, format!("{what}: {e}")))?;
            let narrowed = vals
                .iter()
                .map(|&x| i32::try_from(x))
                .collect::<Result<Vec<i32>, _>>()
                .map_err(|_| self.err(n, format!("{what} does not fit in int32")))?;
            let t32 = Tensor::from_vec(c.shape().to_vec(), narrowed);
            let data = TensorData::Shared(t32.bytes().clone());
            let t = self.const_tensor(n, format!("{}/int32", self.g.value_name(v)), &t32, data)?;
            self.derived.insert((v, Derived::Int32), t);
            return Ok(t);
        }
        let (dtype, shape) = self.info(v)?;
        match dtype {
            DType::I32 => self.value(v),
            DType::I64 => {
                let input = self.value(v)?;
                let name = format!("{}/int32", self.g.value_name(v));
                let out = self.new_tensor(n, name, DType::I32, &shape)?;
                self.emit(
                    builtin::CAST,
                    BuiltinOptions::Cast {
                        in_type: super::schema::tensor_type::INT64,
                        out_type: super::schema::tensor_type::INT32,
                    },
                    vec![input],
                    vec![out],
                );
                Ok(out)
            }
            d => Err(self.err(n, format!("{what} must be an integer tensor, got {d}"))),
        }
    }

    /// A new int32 constant (shapes written by the backend itself).
    fn i32_const(
        &mut self,
        n: NodeIndex,
        name: String,
        values: Vec<i32>,
    ) -> Result<i32, BackendError> {
        let t = Tensor::from_vec(vec![values.len()], values);
        let data = TensorData::Shared(t.bytes().clone());
        self.const_tensor(n, name, &t, data)
    }

    /// A new activation tensor (intermediate results of multi-op lowerings).
    fn new_tensor(
        &mut self,
        n: NodeIndex,
        name: String,
        dtype: DType,
        shape: &[usize],
    ) -> Result<i32, BackendError> {
        let shape = self.shape_i32(n, shape)?;
        Ok(self.add_tensor(TensorPlan {
            name,
            dtype,
            shape,
            data: None,
        }))
    }

    /// The axes of a `Mean` (keeping dimensions) over several axes, in the order to reduce them one at a
    /// time: innermost first. TFLite's MEAN accumulates in float32 along the reduced axes; over all of a
    /// 1024×1024 NHWC image (StyleGAN's instance norm) that is one running sum of a million terms per
    /// channel, whose rounding error is several 1e-4 of the result. A mean of row means is the same
    /// value (the rows have equal length) with sums of ~1000 terms each. `None`: one MEAN is fine.
    fn mean_steps(
        &self,
        n: NodeIndex,
        x: ValueRef,
        axes: ValueRef,
    ) -> Result<Option<Vec<usize>>, BackendError> {
        let (dtype, shape) = self.info(x)?;
        let Some(axes) = self.const_of(self.resolve(axes)) else {
            return Ok(None);
        };
        let rank = shape.len() as i64;
        let mut axes: Vec<usize> = axes
            .to_i64s()
            .map_err(|e| self.err(n, format!("reduction axes: {e}")))?
            .into_iter()
            .map(|a| if a < 0 { a + rank } else { a })
            .filter(|&a| (0..rank).contains(&a) && shape[a as usize] > 1)
            .map(|a| a as usize)
            .collect();
        axes.sort_unstable_by(|a, b| b.cmp(a));
        axes.dedup();
        let elements: usize = axes.iter().map(|&a| shape[a]).product();
        Ok((dtype == DType::F32 && axes.len() > 1 && elements > 4096).then_some(axes))
    }

    /// One MEAN per axis in `steps`, through intermediate tensors.
    fn lower_mean_in_steps(
        &mut self,
        n: NodeIndex,
        x: i32,
        steps: Vec<usize>,
    ) -> Result<(), BackendError> {
        let name = self.g.node(n).name.clone();
        let (dtype, mut shape) = self.info(self.g.inputs(n)[0])?;
        let mut current = x;
        for (i, &axis) in steps.iter().enumerate() {
            let axis_t = self.i32_const(n, format!("{name}/axis_{axis}"), vec![axis as i32])?;
            shape[axis] = 1;
            let out = if i + 1 == steps.len() {
                self.outputs(n)?
            } else {
                vec![self.new_tensor(n, format!("{name}/mean_axis_{axis}"), dtype, &shape)?]
            };
            let next = out[0];
            self.emit(
                builtin::MEAN,
                BuiltinOptions::Reducer { keep_dims: true },
                vec![current, axis_t],
                out,
            );
            current = next;
        }
        Ok(())
    }

    /// A zero vector (the bias TFLite's convs take).
    fn zeros(&mut self, n: NodeIndex, dtype: DType, len: usize) -> Result<i32, BackendError> {
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
        });
        self.zeros.insert((dtype, len), t);
        Ok(t)
    }

    fn emit(&mut self, code: i32, options: BuiltinOptions, inputs: Vec<i32>, outputs: Vec<i32>) {
        self.emit_version(code, op_version(code), options, inputs, outputs);
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

    /// A filter (or any operand) permuted: constants are transposed once; run-time values get a
    /// TRANSPOSE op.
    fn permuted(
        &mut self,
        n: NodeIndex,
        v: ValueRef,
        perm: &'static [usize],
        suffix: &str,
    ) -> Result<i32, BackendError> {
        let v = self.resolve(v);
        if let Some(&t) = self.derived.get(&(v, Derived::Transposed(perm))) {
            return Ok(t);
        }
        let (dtype, shape) = self.info(v)?;
        if shape.len() != perm.len() {
            return Err(self.err(
                n,
                format!("expected a rank-{} operand, got {shape:?}", perm.len()),
            ));
        }
        let new_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        let name = format!("{}/{suffix}", self.g.value_name(v));
        let t = if let Some(c) = self.const_of(v) {
            let size = dtype
                .size()
                .ok_or_else(|| self.err(n, format!("cannot transpose {dtype}")))?;
            let data = TensorData::Permuted {
                source: c.bytes().clone(),
                shape: shape.clone(),
                perm,
                elem: size,
            };
            let shape32 = self.shape_i32(n, &new_shape)?;
            self.add_tensor(TensorPlan {
                name,
                dtype,
                shape: shape32,
                data: Some(data),
            })
        } else {
            let input = self.value(v)?;
            let perm_t = self.i32_const(
                n,
                format!("{name}/perm"),
                perm.iter().map(|&p| p as i32).collect(),
            )?;
            let out = self.new_tensor(n, name, dtype, &new_shape)?;
            self.emit(
                builtin::TRANSPOSE,
                BuiltinOptions::None,
                vec![input, perm_t],
                vec![out],
            );
            out
        };
        self.derived.insert((v, Derived::Transposed(perm)), t);
        Ok(t)
    }

    /// An operand under another shape with the same element count: constants share their bytes;
    /// run-time values get a RESHAPE op.
    fn reshaped(
        &mut self,
        n: NodeIndex,
        v: ValueRef,
        new_shape: &[usize],
        suffix: &str,
    ) -> Result<i32, BackendError> {
        let v = self.resolve(v);
        let key = (v, Derived::Reshaped(new_shape.to_vec()));
        if let Some(&t) = self.derived.get(&key) {
            return Ok(t);
        }
        let (dtype, _) = self.info(v)?;
        let name = format!("{}/{suffix}", self.g.value_name(v));
        let t = if let Some(c) = self.const_of(v) {
            let r = c.reshaped(new_shape.to_vec()).map_err(|e| self.err(n, e))?;
            self.const_tensor(n, name, &r, TensorData::Shared(c.bytes().clone()))?
        } else {
            let input = self.value(v)?;
            let shape32 = self.shape_i32(n, new_shape)?;
            let shape_t = self.i32_const(n, format!("{name}/shape"), shape32.clone())?;
            let out = self.new_tensor(n, name, dtype, new_shape)?;
            self.emit(
                builtin::RESHAPE,
                BuiltinOptions::Reshape { new_shape: shape32 },
                vec![input, shape_t],
                vec![out],
            );
            out
        };
        self.derived.insert(key, t);
        Ok(t)
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

    /// A convolution's attributes in TFLite's terms: NHWC only, SAME or VALID padding, and strides and
    /// dilations as int32 `(h, w)` pairs.
    fn conv_attrs(&self, n: NodeIndex) -> Result<TfliteConv, BackendError> {
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

            Op::Conv2D => {
                let conv = self.conv_attrs(n)?;
                let ins = self.inputs(n, 2..=2)?;
                let (dtype, fshape) = self.info(ins[1])?;
                let x = self.value(ins[0])?;
                let w = self.permuted(n, ins[1], HWIO_TO_OHWI, "ohwi")?;
                let bias = self.bias_input(n, dtype, fshape[3])?;
                let ((stride_h, stride_w), (dilation_h, dilation_w)) =
                    (conv.strides, conv.dilations);
                let options = O::Conv2D {
                    padding: conv.padding,
                    stride_w,
                    stride_h,
                    dilation_w,
                    dilation_h,
                };
                let out = self.conv_outputs(n)?;
                self.emit(b::CONV_2D, options, vec![x, w, bias], out);
                Ok(())
            }
            Op::DepthwiseConv2dNative => {
                let conv = self.conv_attrs(n)?;
                let ins = self.inputs(n, 2..=2)?;
                let (dtype, f) = self.info(ins[1])?;
                if f.len() != 4 {
                    return Err(self.err(n, format!("filter shape {f:?} is not [H,W,C,M]")));
                }
                let x = self.value(ins[0])?;
                let w = self.reshaped(n, ins[1], &[1, f[0], f[1], f[2] * f[3]], "1hwc")?;
                let bias = self.bias_input(n, dtype, f[2] * f[3])?;
                let ((stride_h, stride_w), (dilation_h, dilation_w)) =
                    (conv.strides, conv.dilations);
                let options = O::DepthwiseConv2D {
                    padding: conv.padding,
                    stride_w,
                    stride_h,
                    depth_multiplier: f[3] as i32,
                    dilation_w,
                    dilation_h,
                };
                let out = self.conv_outputs(n)?;
                self.emit(b::DEPTHWISE_CONV_2D, options, vec![x, w, bias], out);
                Ok(())
            }
            Op::Conv2DBackpropInput => {
                let conv = self.conv_attrs(n)?;
                let ins = self.inputs(n, 3..=3)?;
                if conv.dilations != (1, 1) {
                    return Err(self.err(n, "TRANSPOSE_CONV has no dilation"));
                }
                let (_, out_shape) = self.info(ValueRef::new(n, 0))?;
                let out_shape = self.shape_i32(n, &out_shape)?;
                let shape_t =
                    self.i32_const(n, format!("{}/output_shape", node.name), out_shape)?;
                let w = self.permuted(n, ins[1], HWOI_TO_OHWI, "ohwi")?;
                let x = self.value(ins[2])?;
                let (stride_h, stride_w) = conv.strides;
                let options = O::TransposeConv {
                    padding: conv.padding,
                    stride_w,
                    stride_h,
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
            Op::MatMul => {
                let ins = self.inputs(n, 2..=2)?;
                let attrs = &node.attrs;
                let a = if attrs.bool("transpose_a").unwrap_or(false) {
                    self.permuted(n, ins[0], SWAP_2D, "transposed")?
                } else {
                    self.value(ins[0])?
                };
                // FULLY_CONNECTED wants weights [out, in], i.e. TensorFlow's b transposed.
                let w = if attrs.bool("transpose_b").unwrap_or(false) {
                    self.value(ins[1])?
                } else {
                    self.permuted(n, ins[1], SWAP_2D, "transposed")?
                };
                let bias = match self.fused_bias.get(&n).copied() {
                    Some(_) => {
                        let (dtype, shape) = self.info(ValueRef::new(n, 0))?;
                        self.bias_input(n, dtype, *shape.last().unwrap_or(&1))?
                    }
                    None => -1,
                };
                let out = self.conv_outputs(n)?;
                self.emit(
                    b::FULLY_CONNECTED,
                    O::FullyConnected {
                        keep_num_dims: false,
                    },
                    vec![a, w, bias],
                    out,
                );
                Ok(())
            }
            // A bias add fused into the conv or matmul before it writes no operator of its own.
            Op::BiasAdd | Op::Add | Op::AddV2 if self.is_fused_bias_add(n) => Ok(()),
            Op::BiasAdd => {
                self.check_nhwc(n)?;
                self.simple(n, 2..=2, b::ADD, O::Add)
            }
            Op::Add | Op::AddV2 => self.simple(n, 2..=2, b::ADD, O::Add),
            Op::Sub => self.simple(n, 2..=2, b::SUB, O::Sub),
            Op::Mul => self.simple(n, 2..=2, b::MUL, O::Mul),
            Op::RealDiv => self.simple(n, 2..=2, b::DIV, O::Div),
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
            Op::Square => self.simple(n, 1..=1, b::SQUARE, O::None),
            Op::Sqrt => self.simple(n, 1..=1, b::SQRT, O::None),
            Op::Rsqrt => self.simple(n, 1..=1, b::RSQRT, O::None),
            Op::Exp => self.simple(n, 1..=1, b::EXP, O::None),
            Op::Tanh => self.simple(n, 1..=1, b::TANH, O::None),
            Op::Sigmoid => self.simple(n, 1..=1, b::LOGISTIC, O::None),
            Op::Relu => self.simple(n, 1..=1, b::RELU, O::None),
            Op::LeakyRelu => {
                let alpha = node.attrs.float("alpha").unwrap_or(0.2);
                self.simple(n, 1..=1, b::LEAKY_RELU, O::LeakyRelu { alpha })
            }
            Op::ClipByValue => {
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
                    _ => b::REDUCE_PROD,
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
            Op::Tile => self.with_int32_operands(n, 2, &[1], b::TILE, O::None),
            Op::Transpose => self.with_int32_operands(n, 2, &[1], b::TRANSPOSE, O::None),
            Op::Slice => self.with_int32_operands(n, 3, &[1, 2], b::SLICE, O::None),
            Op::Pad => self.with_int32_operands(n, 2, &[1], b::PAD, O::None),
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
            // control flow with constant predicates folded, identities and no-ops dropped), and what
            // is left is refused by name.
            sgc_ir::variable_ops!()
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

    /// A CUSTOM operator: `custom_code` is the TensorFlow op name and the options are the node's attributes
    /// as a FlexBuffers map, as TensorFlow's converter writes them; or, with [`BackendOptions::flex`], the
    /// Flex encoding ("Flex" + op name; options the vector `[op name, NodeDef bytes]`). Inputs and outputs
    /// are the node's, unchanged.
    fn custom(&mut self, n: NodeIndex) -> Result<(), BackendError> {
        let node = self.g.node(n);
        if matches!(
            node.op,
            Op::Const | Op::Placeholder | Op::PlaceholderWithDefault
        ) || node.op.is_identity_like()
        {
            return Err(self.err(n, "sources and identities cannot be custom ops"));
        }
        let ins = self
            .g
            .inputs(n)
            .into_iter()
            .map(|v| self.value(v))
            .collect::<Result<Vec<_>, _>>()?;
        let out = self.outputs(n)?;
        let name = node.op.name();
        let (code, options) = match self.options.flex {
            Some(encode_node_def) => (
                format!("Flex{name}"),
                Flex::Vector(vec![Flex::str(name), Flex::Str(encode_node_def(self.g, n))]),
            ),
            None => (name.to_string(), attrs_to_flex(&node.attrs)),
        };
        self.plan.operators.push(OpPlan {
            code: OpCode {
                builtin: builtin::CUSTOM,
                custom: Some(code),
                version: 1,
            },
            options: BuiltinOptions::None,
            inputs: ins,
            outputs: out,
            custom_options: Some(flexbuffer::encode(&options)),
        });
        Ok(())
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

/// A node's attributes as the FlexBuffers map of its custom options. Internal attributes (`_output_shapes`,
/// `_class` …) are left out. Ints, floats, bools and strings map to their FlexBuffers kinds, lists to
/// vectors; a dtype is its name as sgc prints it (`f32`, `i32` …), a shape a vector of dims (-1 unknown;
/// null for an unknown rank), a tensor a blob of its little-endian bytes, a function its name.
pub fn attrs_to_flex(attrs: &sgc_ir::Attrs) -> Flex {
    use sgc_ir::Attr;
    fn shape(s: &Option<Vec<i64>>) -> Flex {
        match s {
            Some(d) => Flex::Vector(d.iter().map(|&x| Flex::Int(x)).collect()),
            None => Flex::Null,
        }
    }
    let entries = attrs
        .0
        .iter()
        .filter(|(k, _)| !k.starts_with('_') && !k.contains('\0'))
        .map(|(k, a)| {
            let v = match a {
                Attr::Int(i) => Flex::Int(*i),
                Attr::Float(f) => Flex::Float(*f as f64),
                Attr::Bool(b) => Flex::Bool(*b),
                Attr::Str(s) | Attr::Func(s) => Flex::str(s),
                Attr::Type(d) => Flex::str(d.name()),
                Attr::Shape(s) => shape(s),
                Attr::Tensor(t) => Flex::Blob(t.bytes().to_vec()),
                Attr::Ints(v) => Flex::Vector(v.iter().map(|&x| Flex::Int(x)).collect()),
                Attr::Floats(v) => Flex::Vector(v.iter().map(|&x| Flex::Float(x as f64)).collect()),
                Attr::Bools(v) => Flex::Vector(v.iter().map(|&x| Flex::Bool(x)).collect()),
                Attr::Strs(v) => Flex::Vector(v.iter().map(|x| Flex::str(x)).collect()),
                Attr::Types(v) => Flex::Vector(v.iter().map(|d| Flex::str(d.name())).collect()),
                Attr::Shapes(v) => Flex::Vector(v.iter().map(shape).collect()),
            };
            (k.clone(), v)
        })
        .collect();
    Flex::Map(entries)
}

/// Row-major transposition of raw elements: output axis `i` is input axis `perm[i]`.
pub fn transpose_bytes(data: &[u8], shape: &[usize], perm: &[usize], elem: usize) -> Vec<u8> {
    let rank = shape.len();
    let numel: usize = shape.iter().product();
    let mut in_strides = vec![1usize; rank];
    for i in (0..rank.saturating_sub(1)).rev() {
        in_strides[i] = in_strides[i + 1] * shape[i + 1];
    }
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    // Stride in the input of each output axis.
    let strides: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    let mut out = Vec::with_capacity(numel * elem);
    let mut idx = vec![0usize; rank];
    let mut src = 0usize;
    for _ in 0..numel {
        out.extend_from_slice(&data[src * elem..(src + 1) * elem]);
        // Advance the output index like an odometer, keeping `src` in step.
        for ax in (0..rank).rev() {
            idx[ax] += 1;
            src += strides[ax];
            if idx[ax] < out_shape[ax] {
                break;
            }
            src -= strides[ax] * out_shape[ax];
            idx[ax] = 0;
        }
    }
    out
}
