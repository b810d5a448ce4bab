//! Static shape and dtype inference.
//!
//! [`infer`] computes the [`ValueInfo`] of every output of one node from its inputs' infos and, where
//! the result depends on values (the shape operand of `Reshape`, `Tile` multiples, slice bounds …), from
//! the constant values of its inputs. Unknown dimensions (-1) and unknown ranks propagate where they
//! cannot be known; inconsistent shapes are errors.
//!
//! The shape arithmetic of each op (broadcasting, conv geometry, strided-slice masks …) lives here as
//! small functions over `i64` dims with -1 for unknown; the interpreter calls the same functions with
//! fully known dims, so inference and evaluation cannot disagree.

use crate::attr::Attrs;
use crate::dtype::DType;
use crate::error::{IrError, Result};
use crate::graph::{Node, ValueInfo};
use crate::op::Op;
use crate::tensor::Tensor;

mod broadcast;
mod conv;
mod movement;
mod slice;
#[cfg(test)]
mod tests;

pub(crate) use broadcast::*;
pub(crate) use conv::*;
pub use conv::{pool_window, ConvAttrs, ConvPadding};
pub(crate) use movement::*;
pub(crate) use slice::*;

pub(crate) type Res<T> = std::result::Result<T, String>;

/// The infos of `node`'s outputs. `inputs[i]` is the info of input slot `i`; `consts[i]` its value when
/// it is a constant.
pub fn infer(
    node: &Node,
    inputs: &[ValueInfo],
    consts: &[Option<&Tensor>],
) -> Result<Vec<ValueInfo>> {
    if let Op::Other(op) = &node.op {
        // An op sgc does not know (lowered as a TFLite custom op): its types come from the graph itself.
        return match other_op_outputs(node, inputs) {
            Some(r) => r.map_err(|reason| IrError::node(&node.name, reason)),
            None => Err(IrError::UnknownOp {
                node: node.name.clone(),
                op: op.clone(),
            }),
        };
    }
    let cx = Cx {
        a: &node.attrs,
        ins: inputs,
        consts,
    };
    infer_inner(&node.op, &cx).map_err(|reason| IrError::node(&node.name, reason))
}

/// Infers again the types of every node downstream of `changed` (the nodes whose outputs or inputs a
/// pass just changed: a rewired tail, a reshaped input), in topological order, so that the graph's
/// stored types stay true ([`crate::Graph::verify`]). A node whose inference fails now gets unknown
/// types (never a contradiction): the pass that made the change may not be done with it yet, and `fold`
/// reports the error if it stays.
pub fn reinfer_downstream(graph: &mut crate::Graph, changed: &[crate::NodeIndex]) -> Result<()> {
    let mut dirty: std::collections::HashSet<crate::NodeIndex> = changed.iter().copied().collect();
    for n in graph.topo_order()? {
        let inputs = graph.inputs(n);
        if dirty.contains(&n) || !inputs.iter().any(|v| dirty.contains(&v.node)) {
            continue;
        }
        let infos: Vec<ValueInfo> = inputs.iter().map(|&v| graph.info(v).clone()).collect();
        let consts: Vec<Option<&Tensor>> = inputs.iter().map(|&v| graph.const_value(v)).collect();
        let outputs = infer(graph.node(n), &infos, &consts)
            .unwrap_or_else(|_| vec![ValueInfo::default(); graph.node(n).outputs.len()]);
        if outputs != graph.node(n).outputs {
            graph.node_mut(n).outputs = outputs;
            dirty.insert(n);
        }
    }
    Ok(())
}

/// The outputs of an [`Op::Other`] node as the graph records them: shapes from its `_output_shapes`
/// attribute (TensorFlow writes it with `as_graph_def(add_shapes=True)`), dtypes from its dtype attribute
/// (`Tout`/`output_types` lists, else `out_type`, `dtype`, `T`, `output_type`) or else its first input's.
/// `None` when the node has no `_output_shapes`: nothing can know its types then.
pub fn other_op_outputs(
    node: &Node,
    inputs: &[ValueInfo],
) -> Option<std::result::Result<Vec<ValueInfo>, String>> {
    let Some(crate::Attr::Shapes(shapes)) = node.attrs.get("_output_shapes") else {
        return None;
    };
    let a = &node.attrs;
    let list = ["Tout", "output_types"]
        .iter()
        .find_map(|k| match a.get(k) {
            Some(crate::Attr::Types(t)) => Some(t.clone()),
            _ => None,
        });
    let single = ["out_type", "dtype", "T", "output_type"]
        .iter()
        .find_map(|k| a.dtype(k))
        .or_else(|| inputs.first().and_then(|i| i.dtype));
    let count = shapes.len().max(node.outputs.len());
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let dtype = match &list {
            Some(l) => l.get(i).copied(),
            None => single,
        };
        let Some(dtype) = dtype else {
            return Some(Err(format!(
                "op {} (unknown to sgc): cannot tell the dtype of output {i} (no Tout/out_type/dtype/T \
                 attribute and no typed input)",
                node.op
            )));
        };
        out.push(info(Some(dtype), shapes.get(i).cloned().flatten()));
    }
    Some(Ok(out))
}

struct Cx<'a> {
    a: &'a Attrs,
    ins: &'a [ValueInfo],
    consts: &'a [Option<&'a Tensor>],
}

impl Cx<'_> {
    fn need(&self, n: usize) -> Res<()> {
        if self.ins.len() != n {
            return Err(format!("expected {n} inputs, got {}", self.ins.len()));
        }
        Ok(())
    }
    fn at_least(&self, n: usize) -> Res<()> {
        if self.ins.len() < n {
            return Err(format!(
                "expected at least {n} inputs, got {}",
                self.ins.len()
            ));
        }
        Ok(())
    }
    fn dtype(&self, i: usize) -> Option<DType> {
        self.ins[i].dtype
    }
    fn shape(&self, i: usize) -> Option<&Vec<i64>> {
        self.ins[i].shape.as_ref()
    }
    fn rank(&self, i: usize) -> Option<usize> {
        self.shape(i).map(Vec::len)
    }
    /// The known shape of input `i`, or `rank` unknown dims; an error when its rank is not `rank`.
    fn shape_of_rank(&self, i: usize, rank: usize, what: &str) -> Res<Vec<i64>> {
        match self.shape(i) {
            Some(s) if s.len() != rank => Err(format!("{what} must have rank {rank}, got {s:?}")),
            Some(s) => Ok(s.clone()),
            None => Ok(vec![-1; rank]),
        }
    }
    fn konst(&self, i: usize) -> Option<&Tensor> {
        self.consts.get(i).copied().flatten()
    }
    /// The constant integer values of input `i`, if it is constant.
    fn ints(&self, i: usize, what: &str) -> Res<Option<Vec<i64>>> {
        match self.konst(i) {
            Some(t) => t.to_i64s().map(Some).map_err(|e| format!("{what}: {e}")),
            None => Ok(None),
        }
    }
    /// The constant scalar integer value of input `i`, if it is constant.
    fn int(&self, i: usize, what: &str) -> Res<Option<i64>> {
        match self.ints(i, what)? {
            Some(v) if v.len() == 1 => Ok(Some(v[0])),
            Some(v) => Err(format!("{what} must be a scalar, got {} values", v.len())),
            None => Ok(None),
        }
    }
    /// Unknown dims for a 1-D operand's element count (the rank of the shape it describes).
    fn dims_from_vector(&self, i: usize) -> Option<Vec<i64>> {
        match self.shape(i)?.as_slice() {
            [k] if *k >= 0 => Some(vec![-1; *k as usize]),
            _ => None,
        }
    }
}

fn info(dtype: Option<DType>, shape: Option<Vec<i64>>) -> ValueInfo {
    ValueInfo { dtype, shape }
}

/// Two dtypes that must agree; `None` is unknown.
fn merge_dtype(a: Option<DType>, b: Option<DType>) -> Res<Option<DType>> {
    match (a, b) {
        (Some(x), Some(y)) if x != y => Err(format!("dtypes differ: {x} and {y}")),
        (Some(x), _) | (_, Some(x)) => Ok(Some(x)),
        _ => Ok(None),
    }
}

/// Two dims that must be equal; -1 is unknown.
pub(crate) fn merge_dim(a: i64, b: i64) -> Res<i64> {
    if a < 0 {
        Ok(b)
    } else if b < 0 || a == b {
        Ok(a)
    } else {
        Err(format!("dimensions {a} and {b} differ"))
    }
}

/// Two shapes that must be equal (unknown dims and ranks are compatible with anything).
pub(crate) fn merge_shape(a: Option<&Vec<i64>>, b: Option<&Vec<i64>>) -> Res<Option<Vec<i64>>> {
    match (a, b) {
        (Some(x), Some(y)) => {
            if x.len() != y.len() {
                return Err(format!("shapes {x:?} and {y:?} differ in rank"));
            }
            let mut out = Vec::with_capacity(x.len());
            for (&p, &q) in x.iter().zip(y) {
                out.push(merge_dim(p, q).map_err(|_| format!("shapes {x:?} and {y:?} differ"))?);
            }
            Ok(Some(out))
        }
        (Some(x), None) | (None, Some(x)) => Ok(Some(x.clone())),
        (None, None) => Ok(None),
    }
}

fn check_int_dtype(d: Option<DType>, what: &str) -> Res<()> {
    match d {
        Some(DType::I32 | DType::I64) | None => Ok(()),
        Some(d) => Err(format!("{what} must be int32 or int64, got {d}")),
    }
}

fn infer_inner(op: &Op, cx: &Cx) -> Res<Vec<ValueInfo>> {
    let a = cx.a;
    let one = |i: ValueInfo| Ok(vec![i]);
    match op {
        Op::Const => {
            let t = a
                .tensor("value")
                .ok_or("Const has no tensor attribute 'value'")?;
            one(ValueInfo::new(
                t.dtype(),
                t.shape().iter().map(|&d| d as i64).collect(),
            ))
        }
        Op::Placeholder | Op::VariableV2 | Op::Variable => {
            cx.need(0)?;
            one(info(a.dtype("dtype"), a.shape("shape").cloned().flatten()))
        }
        Op::VarHandleOp => one(ValueInfo::default()),
        Op::ReadVariableOp => {
            cx.need(1)?;
            one(info(a.dtype("dtype"), None))
        }
        Op::PlaceholderWithDefault => {
            cx.need(1)?;
            let dtype = merge_dtype(a.dtype("dtype"), cx.dtype(0))?;
            let shape = match a.shape("shape") {
                Some(Some(s)) => {
                    if let Some(x) = cx.shape(0) {
                        let compatible = x.len() == s.len()
                            && x.iter().zip(s).all(|(&p, &q)| q < 0 || p < 0 || p == q);
                        if !compatible {
                            return Err(format!(
                                "default value of shape {x:?} does not match shape attribute {s:?}"
                            ));
                        }
                    }
                    Some(s.clone())
                }
                _ => cx.shape(0).cloned(),
            };
            one(info(dtype, shape))
        }
        Op::Identity | Op::StopGradient | Op::Snapshot | Op::RefIdentity => {
            cx.need(1)?;
            one(cx.ins[0].clone())
        }
        Op::IdentityN => Ok(cx.ins.to_vec()),
        Op::NoOp => Ok(vec![]),
        Op::AssignVariableOp => {
            cx.need(2)?;
            Ok(vec![])
        }
        Op::Assign | Op::AssignAdd | Op::AssignSub => {
            cx.need(2)?;
            let dtype = merge_dtype(cx.dtype(0), cx.dtype(1))?;
            let shape = if *op == Op::Assign && a.bool("validate_shape") == Some(false) {
                cx.shape(1).cloned()
            } else {
                merge_shape(cx.shape(0), cx.shape(1))?
            };
            one(info(dtype, shape))
        }
        Op::Switch | Op::RefSwitch => {
            cx.need(2)?;
            if let Some(d) = cx.dtype(1) {
                if d != DType::Bool {
                    return Err(format!("predicate must be bool, got {d}"));
                }
            }
            if let Some(s) = cx.shape(1) {
                if !s.is_empty() {
                    return Err(format!("predicate must be a scalar, got shape {s:?}"));
                }
            }
            Ok(vec![cx.ins[0].clone(), cx.ins[0].clone()])
        }
        Op::Merge => {
            cx.at_least(1)?;
            let mut dtype = None;
            for i in 0..cx.ins.len() {
                dtype = merge_dtype(dtype, cx.dtype(i))?;
            }
            // The most specific shape all inputs share: differing dims (or ranks) become unknown.
            let mut shape = cx.shape(0).cloned();
            for i in 1..cx.ins.len() {
                shape = match (shape, cx.shape(i)) {
                    (Some(s), Some(t)) if s.len() == t.len() => Some(
                        s.iter()
                            .zip(t)
                            .map(|(&p, &q)| if p == q { p } else { -1 })
                            .collect(),
                    ),
                    _ => None,
                };
            }
            Ok(vec![info(dtype, shape), ValueInfo::new(DType::I32, vec![])])
        }
        Op::RandomStandardNormal | Op::RandomUniform => {
            cx.need(1)?;
            check_int_dtype(cx.dtype(0), "shape")?;
            let shape = match cx.ints(0, "shape")? {
                Some(d) => Some(nonneg_dims(&d, "shape")?),
                None => cx.dims_from_vector(0),
            };
            let dtype = a.dtype("dtype").or(Some(DType::F32));
            one(info(dtype, shape))
        }

        Op::Conv2D | Op::DepthwiseConv2dNative => {
            cx.need(2)?;
            let dtype = merge_dtype(cx.dtype(0), cx.dtype(1))?;
            let ca = conv_attrs(a)?;
            let x = cx.shape_of_rank(0, 4, "input")?;
            let f = cx.shape_of_rank(1, 4, "filter")?;
            let out = conv2d_dims(&ca, &x, &f, *op == Op::DepthwiseConv2dNative)?;
            one(info(dtype, Some(out)))
        }
        Op::Conv2DBackpropInput => {
            cx.need(3)?;
            check_int_dtype(cx.dtype(0), "input_sizes")?;
            let dtype = merge_dtype(cx.dtype(1), cx.dtype(2))?;
            let ca = conv_attrs(a)?;
            let sizes = cx.ints(0, "input_sizes")?;
            let f = cx.shape_of_rank(1, 4, "filter")?;
            let dy = cx.shape_of_rank(2, 4, "out_backprop")?;
            let out = conv2d_backprop_input_dims(&ca, sizes.as_deref(), &f, &dy)?;
            one(info(dtype, Some(out)))
        }
        crate::batch_norm_ops!() => {
            cx.need(5)?;
            let c = cx.shape(1).and_then(|s| s.first().copied()).unwrap_or(-1);
            let vec_c = info(Some(DType::F32), Some(vec![c]));
            let mut outs = vec![
                cx.ins[0].clone(),
                vec_c.clone(),
                vec_c.clone(),
                vec_c.clone(),
                vec_c,
            ];
            if *op == Op::FusedBatchNormV3 {
                outs.push(info(Some(DType::F32), Some(vec![0])));
            }
            Ok(outs)
        }
        Op::MaxPool | Op::AvgPool => {
            cx.need(1)?;
            let ca = conv_attrs(a)?;
            let k = pool_window(a, &ca)?;
            let x = cx.shape_of_rank(0, 4, "input")?;
            one(info(cx.dtype(0), Some(pool_dims(&ca, &x, k)?)))
        }
        Op::Softmax | Op::LogSoftmax => {
            cx.need(1)?;
            if cx.dtype(0).is_some_and(|d| !d.is_float()) {
                return Err(format!("{op} needs a float operand"));
            }
            if cx.shape(0).is_some_and(|s| s.is_empty()) {
                return Err(format!("{op} needs logits of rank 1 or more"));
            }
            one(cx.ins[0].clone())
        }
        Op::ArgMax => {
            cx.need(2)?;
            check_int_dtype(cx.dtype(1), "dimension")?;
            let out = a.dtype("output_type").unwrap_or(DType::I64);
            if !matches!(out, DType::I32 | DType::I64) {
                return Err(format!(
                    "ArgMax output_type must be int32 or int64, got {out}"
                ));
            }
            let shape = match (cx.shape(0), cx.int(1, "dimension")?) {
                (Some(s), Some(axis)) => {
                    let mut s = s.clone();
                    s.remove(norm_axis(axis, s.len())?);
                    Some(s)
                }
                (Some(s), None) if !s.is_empty() => Some(vec![-1; s.len() - 1]),
                _ => None,
            };
            one(info(Some(out), shape))
        }
        Op::MatMul => {
            cx.need(2)?;
            let dtype = merge_dtype(cx.dtype(0), cx.dtype(1))?;
            let x = cx.shape_of_rank(0, 2, "a")?;
            let y = cx.shape_of_rank(1, 2, "b")?;
            let out = matmul_dims(
                &x,
                &y,
                a.bool("transpose_a").unwrap_or(false),
                a.bool("transpose_b").unwrap_or(false),
            )?;
            one(info(dtype, Some(out)))
        }
        Op::BiasAdd => {
            cx.need(2)?;
            let dtype = merge_dtype(cx.dtype(0), cx.dtype(1))?;
            let mut shape = cx.shape(0).cloned();
            if let (Some(x), Some(b)) = (cx.shape(0), cx.shape(1)) {
                shape = Some(bias_add_check(a, x, b)?);
            } else if let Some(b) = cx.shape(1) {
                if b.len() != 1 {
                    return Err(format!("bias must be 1-D, got {b:?}"));
                }
            }
            one(info(dtype, shape))
        }

        crate::binary_elementwise_ops!() => {
            cx.need(2)?;
            let dtype = merge_dtype(cx.dtype(0), cx.dtype(1))?;
            let logical = matches!(op, Op::LogicalAnd | Op::LogicalOr);
            if logical && dtype.is_some_and(|d| d != DType::Bool) {
                return Err(format!("{op} needs bool operands"));
            }
            let out_dtype = if matches!(
                op,
                Op::Greater | Op::GreaterEqual | Op::Less | Op::LessEqual | Op::Equal
            ) || logical
            {
                Some(DType::Bool)
            } else {
                if dtype == Some(DType::Bool) {
                    return Err(format!("{op} is not defined on bool"));
                }
                dtype
            };
            let shape = match (cx.shape(0), cx.shape(1)) {
                (Some(x), Some(y)) => Some(broadcast_dims(x, y)?),
                _ => None,
            };
            one(info(out_dtype, shape))
        }
        crate::unary_elementwise_ops!() => {
            cx.need(1)?;
            let d = cx.dtype(0);
            if *op == Op::LogicalNot {
                if d.is_some_and(|d| d != DType::Bool) {
                    return Err("LogicalNot needs a bool operand".into());
                }
            } else if d == Some(DType::Bool) {
                return Err(format!("{op} is not defined on bool"));
            }
            one(cx.ins[0].clone())
        }
        Op::AddN => {
            cx.at_least(1)?;
            let mut dtype = None;
            let mut shape = None;
            for i in 0..cx.ins.len() {
                dtype = merge_dtype(dtype, cx.dtype(i))?;
                shape = merge_shape(shape.as_ref(), cx.shape(i))?;
            }
            one(info(dtype, shape))
        }
        Op::ClipByValue => {
            cx.need(3)?;
            let dtype = merge_dtype(merge_dtype(cx.dtype(0), cx.dtype(1))?, cx.dtype(2))?;
            if let Some(x) = cx.shape(0) {
                for i in 1..3 {
                    if let Some(b) = cx.shape(i) {
                        let fits = b.len() <= x.len()
                            && b.iter()
                                .rev()
                                .zip(x.iter().rev())
                                .all(|(&p, &q)| p == 1 || p == -1 || q == -1 || p == q);
                        if !fits {
                            return Err(format!(
                                "clip bound {i} of shape {b:?} does not broadcast to x's {x:?}"
                            ));
                        }
                    }
                }
            }
            one(info(dtype, cx.shape(0).cloned()))
        }
        Op::Select | Op::SelectV2 => {
            cx.need(3)?;
            if let Some(d) = cx.dtype(0) {
                if d != DType::Bool {
                    return Err(format!("condition must be bool, got {d}"));
                }
            }
            let dtype = merge_dtype(cx.dtype(1), cx.dtype(2))?;
            let shape = match (cx.shape(0), cx.shape(1), cx.shape(2)) {
                (Some(c), Some(x), Some(y)) => Some(select_dims(c, x, y, *op == Op::SelectV2)?),
                (_, x, y) if *op == Op::Select => merge_shape(x, y)?,
                _ => None,
            };
            one(info(dtype, shape))
        }
        Op::Cast => {
            cx.need(1)?;
            let to = a.dtype("DstT").ok_or("Cast needs attribute DstT")?;
            one(info(Some(to), cx.shape(0).cloned()))
        }

        crate::reduction_ops!() => {
            cx.need(2)?;
            check_int_dtype(cx.dtype(1), "reduction_indices")?;
            if cx.dtype(0) == Some(DType::Bool) {
                return Err(format!("{op} is not defined on bool"));
            }
            let keep = a.bool("keep_dims").unwrap_or(false);
            let shape = match (cx.shape(0), cx.ints(1, "reduction_indices")?) {
                (Some(s), Some(axes)) => Some(reduce_dims(s, &axes, keep)?),
                (Some(s), None) if keep => Some(vec![-1; s.len()]),
                _ => None,
            };
            one(info(cx.dtype(0), shape))
        }

        Op::Shape => {
            cx.need(1)?;
            let dt = a.dtype("out_type").unwrap_or(DType::I32);
            check_int_dtype(Some(dt), "out_type")?;
            let n = cx.rank(0).map_or(-1, |r| r as i64);
            one(ValueInfo::new(dt, vec![n]))
        }
        Op::Reshape => {
            cx.need(2)?;
            check_int_dtype(cx.dtype(1), "shape")?;
            let shape = match cx.ints(1, "shape")? {
                Some(target) => {
                    let x = cx.shape(0).cloned().unwrap_or_else(|| vec![-1]);
                    Some(reshape_dims(&x, &target)?)
                }
                None => cx.dims_from_vector(1),
            };
            one(info(cx.dtype(0), shape))
        }
        Op::ExpandDims => {
            cx.need(2)?;
            let shape = match (cx.shape(0), cx.int(1, "dim")?) {
                (Some(s), Some(d)) => {
                    let ax = norm_axis(d, s.len() + 1)?;
                    let mut s = s.clone();
                    s.insert(ax, 1);
                    Some(s)
                }
                (Some(s), None) => Some(vec![-1; s.len() + 1]),
                _ => None,
            };
            one(info(cx.dtype(0), shape))
        }
        Op::Squeeze => {
            cx.need(1)?;
            let shape = match cx.shape(0) {
                Some(s) => squeeze_dims_opt(a, s)?,
                None => None,
            };
            one(info(cx.dtype(0), shape))
        }
        Op::Tile => {
            cx.need(2)?;
            check_int_dtype(cx.dtype(1), "multiples")?;
            let shape = match (cx.shape(0), cx.ints(1, "multiples")?) {
                (Some(s), Some(m)) => Some(tile_dims(s, &m)?),
                (None, Some(m)) => Some(m.iter().map(|&k| if k == 0 { 0 } else { -1 }).collect()),
                (Some(s), None) => Some(vec![-1; s.len()]),
                (None, None) => cx.dims_from_vector(1),
            };
            one(info(cx.dtype(0), shape))
        }
        Op::Transpose => {
            cx.need(2)?;
            check_int_dtype(cx.dtype(1), "perm")?;
            let shape = match (cx.shape(0), cx.ints(1, "perm")?) {
                (Some(s), Some(p)) => {
                    let p = check_perm(&p, s.len())?;
                    Some(p.iter().map(|&i| s[i]).collect())
                }
                (Some(s), None) => Some(vec![-1; s.len()]),
                (None, Some(p)) => Some(vec![-1; p.len()]),
                (None, None) => cx.dims_from_vector(1),
            };
            one(info(cx.dtype(0), shape))
        }
        Op::StridedSlice => {
            cx.need(4)?;
            let shape = match (
                cx.shape(0),
                cx.ints(1, "begin")?,
                cx.ints(2, "end")?,
                cx.ints(3, "strides")?,
            ) {
                (Some(s), Some(b), Some(e), Some(st)) => {
                    Some(strided_slice_spec(s, &b, &e, &st, &SliceMasks::of(a))?.final_shape)
                }
                _ => None,
            };
            one(info(cx.dtype(0), shape))
        }
        Op::Slice => {
            cx.need(3)?;
            let shape = match (cx.shape(0), cx.ints(1, "begin")?, cx.ints(2, "size")?) {
                (Some(s), Some(b), Some(z)) => Some(slice_dims(s, &b, &z)?),
                (Some(s), None, Some(z)) => {
                    if z.len() != s.len() {
                        return Err(format!("size {z:?} does not match rank {}", s.len()));
                    }
                    Some(z.iter().map(|&k| if k >= 0 { k } else { -1 }).collect())
                }
                (Some(s), _, _) => Some(vec![-1; s.len()]),
                (None, _, Some(z)) => {
                    Some(z.iter().map(|&k| if k >= 0 { k } else { -1 }).collect())
                }
                _ => None,
            };
            one(info(cx.dtype(0), shape))
        }
        Op::Pad => {
            cx.need(2)?;
            if let Some(mode) = a.str("mode") {
                if mode != "CONSTANT" {
                    return Err(format!("Pad mode {mode} is not supported"));
                }
            }
            let shape = match (cx.shape(0), cx.konst(1)) {
                (Some(s), Some(p)) => {
                    let v = p.to_i64s().map_err(|e| format!("paddings: {e}"))?;
                    Some(pad_dims(s, p.shape(), &v)?)
                }
                (Some(s), None) => Some(vec![-1; s.len()]),
                _ => None,
            };
            one(info(cx.dtype(0), shape))
        }
        Op::MirrorPad => {
            cx.need(2)?;
            let mode = MirrorMode::of(a)?;
            let shape = match (cx.shape(0), cx.konst(1)) {
                (Some(s), Some(p)) => {
                    let v = p.to_i64s().map_err(|e| format!("paddings: {e}"))?;
                    mode.check(s, &v)?;
                    Some(pad_dims(s, p.shape(), &v)?)
                }
                (Some(s), None) => Some(vec![-1; s.len()]),
                _ => None,
            };
            one(info(cx.dtype(0), shape))
        }
        Op::Pack => {
            cx.at_least(1)?;
            let mut dtype = None;
            let mut shape = None;
            for i in 0..cx.ins.len() {
                dtype = merge_dtype(dtype, cx.dtype(i))?;
                shape = merge_shape(shape.as_ref(), cx.shape(i))?;
            }
            let shape = match shape {
                Some(mut s) => {
                    let ax = norm_axis(a.int("axis").unwrap_or(0), s.len() + 1)?;
                    s.insert(ax, cx.ins.len() as i64);
                    Some(s)
                }
                None => None,
            };
            one(info(dtype, shape))
        }
        Op::Unpack => {
            cx.need(1)?;
            let num = a.int("num");
            let Some(s) = cx.shape(0) else {
                let n = num.ok_or("Unpack needs attribute num when the input rank is unknown")?;
                return Ok(vec![info(cx.dtype(0), None); n.max(0) as usize]);
            };
            if s.is_empty() {
                return Err("cannot unpack a scalar".into());
            }
            let ax = norm_axis(a.int("axis").unwrap_or(0), s.len())?;
            let n = match num {
                Some(n) => merge_dim(s[ax], n)
                    .map_err(|_| format!("num={n} but dimension {ax} has size {}", s[ax]))?,
                None => s[ax],
            };
            if n < 0 {
                return Err("Unpack needs attribute num when the axis size is unknown".into());
            }
            let mut piece = s.clone();
            piece.remove(ax);
            Ok(vec![info(cx.dtype(0), Some(piece)); n as usize])
        }
        Op::ConcatV2 => {
            cx.at_least(2)?;
            let k = cx.ins.len() - 1;
            check_int_dtype(cx.dtype(k), "axis")?;
            let mut dtype = None;
            for i in 0..k {
                dtype = merge_dtype(dtype, cx.dtype(i))?;
            }
            let known: Vec<Vec<i64>> = (0..k).filter_map(|i| cx.shape(i).cloned()).collect();
            let rank = known.first().map(Vec::len);
            let shape = match (cx.int(k, "axis")?, rank) {
                (Some(axis), Some(r)) => {
                    // Inputs of unknown rank contribute unknown dims of the common rank.
                    let all: Vec<Vec<i64>> = (0..k)
                        .map(|i| cx.shape(i).cloned().unwrap_or_else(|| vec![-1; r]))
                        .collect();
                    Some(concat_dims(&all, axis)?)
                }
                (None, Some(r)) => Some(vec![-1; r]),
                _ => None,
            };
            one(info(dtype, shape))
        }
        Op::Split => {
            cx.need(2)?;
            let n = a
                .int("num_split")
                .ok_or("Split needs attribute num_split")?;
            if n < 1 {
                return Err(format!("num_split must be positive, got {n}"));
            }
            let shape = match (cx.shape(1), cx.int(0, "axis")?) {
                (Some(s), Some(axis)) => Some(split_dims(s, axis, n)?),
                (Some(s), None) => Some(vec![-1; s.len()]),
                _ => None,
            };
            Ok(vec![info(cx.dtype(1), shape); n as usize])
        }
        Op::SplitV => {
            cx.need(3)?;
            let n = a
                .int("num_split")
                .ok_or("SplitV needs attribute num_split")?;
            if n < 1 {
                return Err(format!("num_split must be positive, got {n}"));
            }
            check_int_dtype(cx.dtype(1), "size_splits")?;
            let shapes = match (cx.shape(0), cx.ints(1, "size_splits")?, cx.int(2, "axis")?) {
                (Some(s), Some(sizes), Some(axis)) => {
                    let ax = norm_axis(axis, s.len())?;
                    split_v_sizes(s[ax], &sizes, n)?
                        .into_iter()
                        .map(|k| {
                            let mut piece = s.clone();
                            piece[ax] = k;
                            Some(piece)
                        })
                        .collect()
                }
                (Some(s), _, _) => vec![Some(vec![-1; s.len()]); n as usize],
                _ => vec![None; n as usize],
            };
            Ok(shapes.into_iter().map(|s| info(cx.dtype(0), s)).collect())
        }
        Op::Fill => {
            cx.need(2)?;
            check_int_dtype(cx.dtype(0), "dims")?;
            if let Some(s) = cx.shape(1) {
                if !s.is_empty() {
                    return Err(format!("value must be a scalar, got shape {s:?}"));
                }
            }
            let shape = match cx.ints(0, "dims")? {
                Some(d) => Some(nonneg_dims(&d, "dims")?),
                None => cx.dims_from_vector(0),
            };
            one(info(cx.dtype(1), shape))
        }
        Op::BroadcastTo => {
            cx.need(2)?;
            check_int_dtype(cx.dtype(1), "shape")?;
            let shape = match (cx.shape(0), cx.ints(1, "shape")?) {
                (Some(s), Some(t)) => Some(broadcast_to_dims(s, &t)?),
                (None, Some(t)) => Some(nonneg_dims(&t, "shape")?),
                _ => cx.dims_from_vector(1),
            };
            one(info(cx.dtype(0), shape))
        }
        Op::ResizeNearestNeighbor | Op::ResizeBilinear => {
            cx.need(2)?;
            let x = cx.shape_of_rank(0, 4, "images")?;
            let size = cx.ints(1, "size")?.unwrap_or_else(|| vec![-1, -1]);
            if a.bool("align_corners") == Some(true) && a.bool("half_pixel_centers") == Some(true) {
                return Err("align_corners and half_pixel_centers cannot both be true".into());
            }
            // A bilinear resize computes in float whatever its input (TensorFlow's kernel).
            let dtype = if *op == Op::ResizeBilinear {
                Some(DType::F32)
            } else {
                cx.dtype(0)
            };
            one(info(dtype, Some(resize_dims(&x, &size)?)))
        }
        Op::DepthToSpace | Op::SpaceToDepth => {
            cx.need(1)?;
            let x = cx.shape_of_rank(0, 4, "input")?;
            let block = a
                .int("block_size")
                .ok_or(format!("{op} needs block_size"))?;
            let dims = if *op == Op::DepthToSpace {
                depth_to_space_dims(&x, block, a.data_format())?
            } else {
                space_to_depth_dims(&x, block, a.data_format())?
            };
            one(info(cx.dtype(0), Some(dims)))
        }
        Op::Range => {
            cx.need(3)?;
            let dtype = merge_dtype(merge_dtype(cx.dtype(0), cx.dtype(1))?, cx.dtype(2))?;
            let dtype = dtype.or(a.dtype("Tidx"));
            let vals: Vec<Option<&Tensor>> = (0..3).map(|i| cx.konst(i)).collect();
            let len = match (vals[0], vals[1], vals[2]) {
                (Some(s), Some(l), Some(d)) => {
                    if s.dtype().is_int() {
                        let g = |t: &Tensor| t.to_i64s().map(|v| v.first().copied().unwrap_or(0));
                        range_len_int(g(s)?, g(l)?, g(d)?)? as i64
                    } else {
                        let g = |t: &Tensor| t.scalar_f64().ok_or("Range operands must be scalars");
                        range_len_float(g(s)?, g(l)?, g(d)?)? as i64
                    }
                }
                _ => -1,
            };
            one(info(dtype, Some(vec![len])))
        }
        // Unknown ops: `infer` takes their types from the graph before dispatching.
        op @ Op::Other(_) => Err(format!("shape inference does not support op {op}")),
    }
}

pub(crate) fn nonneg_dims(d: &[i64], what: &str) -> Res<Vec<i64>> {
    if let Some(bad) = d.iter().find(|&&x| x < 0) {
        return Err(format!("{what} must be non-negative, got {bad} in {d:?}"));
    }
    Ok(d.to_vec())
}

/// `axis` in `[-rank, rank)` made non-negative.
pub(crate) fn norm_axis(axis: i64, rank: usize) -> Res<usize> {
    let r = rank as i64;
    if axis < -r || axis >= r {
        return Err(format!("axis {axis} is out of range for rank {rank}"));
    }
    Ok(if axis < 0 { axis + r } else { axis } as usize)
}
