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

type Res<T> = std::result::Result<T, String>;

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
fn merge_shape(a: Option<&Vec<i64>>, b: Option<&Vec<i64>>) -> Res<Option<Vec<i64>>> {
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

        op if op.is_binary_elementwise() => {
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
        op if op.is_unary_elementwise() => {
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

        Op::Mean | Op::Sum | Op::Max | Op::Min | Op::Prod => {
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
        Op::ResizeNearestNeighbor => {
            cx.need(2)?;
            let x = cx.shape_of_rank(0, 4, "images")?;
            let size = cx.ints(1, "size")?.unwrap_or_else(|| vec![-1, -1]);
            one(info(cx.dtype(0), Some(resize_dims(&x, &size)?)))
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
        op => Err(format!("shape inference does not support op {op}")),
    }
}

fn nonneg_dims(d: &[i64], what: &str) -> Res<Vec<i64>> {
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

/// NumPy broadcasting of two shapes, aligned right.
pub(crate) fn broadcast_dims(a: &[i64], b: &[i64]) -> Res<Vec<i64>> {
    let r = a.len().max(b.len());
    let mut out = vec![0; r];
    for i in 0..r {
        let x = if i < r - a.len() {
            1
        } else {
            a[i - (r - a.len())]
        };
        let y = if i < r - b.len() {
            1
        } else {
            b[i - (r - b.len())]
        };
        out[i] = match (x, y) {
            (1, y) => y,
            (x, 1) => x,
            (-1, -1) => -1,
            (-1, y) | (y, -1) => y,
            (x, y) if x == y => x,
            _ => return Err(format!("shapes {a:?} and {b:?} cannot be broadcast")),
        };
    }
    Ok(out)
}

/// The shape `target` when `dims` broadcasts to it.
pub(crate) fn broadcast_to_dims(dims: &[i64], target: &[i64]) -> Res<Vec<i64>> {
    let t = nonneg_dims(target, "shape")?;
    if dims.len() > t.len() {
        return Err(format!("cannot broadcast {dims:?} to {t:?}"));
    }
    let lead = t.len() - dims.len();
    for (i, &d) in dims.iter().enumerate() {
        if d != 1 && d != -1 && d != t[lead + i] {
            return Err(format!("cannot broadcast {dims:?} to {t:?}"));
        }
    }
    Ok(t)
}

/// The result shape of `Reshape` of a tensor of shape `x` to `target` (with at most one -1).
pub(crate) fn reshape_dims(x: &[i64], target: &[i64]) -> Res<Vec<i64>> {
    let numel: Option<i64> = x
        .iter()
        .try_fold(1i64, |p, &d| if d >= 0 { p.checked_mul(d) } else { None });
    let mut unknown = None;
    let mut prod = 1i64;
    for (i, &d) in target.iter().enumerate() {
        if d == -1 {
            if unknown.is_some() {
                return Err(format!("shape {target:?} has more than one -1"));
            }
            unknown = Some(i);
        } else if d < 0 {
            return Err(format!("shape {target:?} has a negative dimension"));
        } else {
            prod = prod
                .checked_mul(d)
                .ok_or_else(|| format!("shape {target:?} is too large"))?;
        }
    }
    let mut out = target.to_vec();
    match (unknown, numel) {
        (Some(i), Some(n)) => {
            if prod == 0 {
                if n != 0 {
                    return Err(format!(
                        "cannot reshape {x:?} (with {n} elements) to {target:?}"
                    ));
                }
                out[i] = 0;
            } else if n % prod != 0 {
                return Err(format!(
                    "cannot reshape {x:?} (with {n} elements) to {target:?}"
                ));
            } else {
                out[i] = n / prod;
            }
        }
        (None, Some(n)) if n != prod => {
            return Err(format!(
                "cannot reshape {x:?} (with {n} elements) to {target:?}"
            ))
        }
        _ => {}
    }
    Ok(out)
}

/// The squeezed dims of attribute `squeeze_dims` (or all size-1 dims); `None` when unknown dims make
/// the result's rank unknown.
pub(crate) fn squeeze_dims_opt(a: &Attrs, s: &[i64]) -> Res<Option<Vec<i64>>> {
    let list = a.ints("squeeze_dims").or(a.ints("axis")).unwrap_or(&[]);
    if list.is_empty() {
        if s.contains(&-1) {
            return Ok(None);
        }
        return Ok(Some(s.iter().copied().filter(|&d| d != 1).collect()));
    }
    let mut drop = Vec::with_capacity(list.len());
    for &d in list {
        let ax = norm_axis(d, s.len())?;
        if s[ax] != 1 && s[ax] != -1 {
            return Err(format!(
                "cannot squeeze dimension {d} of size {} in {s:?}",
                s[ax]
            ));
        }
        drop.push(ax);
    }
    Ok(Some(
        s.iter()
            .enumerate()
            .filter(|(i, _)| !drop.contains(i))
            .map(|(_, &d)| d)
            .collect(),
    ))
}

/// Squeeze of fully known dims.
pub(crate) fn squeeze_dims(a: &Attrs, s: &[i64]) -> Res<Vec<i64>> {
    squeeze_dims_opt(a, s)?.ok_or_else(|| "squeeze of unknown dims".to_string())
}

/// A permutation of `0..rank`, checked.
pub(crate) fn check_perm(p: &[i64], rank: usize) -> Res<Vec<usize>> {
    if p.len() != rank {
        return Err(format!("perm {p:?} does not match rank {rank}"));
    }
    let mut seen = vec![false; rank];
    let mut out = Vec::with_capacity(rank);
    for &i in p {
        let ax = norm_axis(i, rank).map_err(|_| format!("perm {p:?} is not a permutation"))?;
        if seen[ax] {
            return Err(format!("perm {p:?} is not a permutation"));
        }
        seen[ax] = true;
        out.push(ax);
    }
    Ok(out)
}

fn reduce_dims(s: &[i64], axes: &[i64], keep: bool) -> Res<Vec<i64>> {
    let mut red = vec![false; s.len()];
    for &a in axes {
        red[norm_axis(a, s.len())?] = true;
    }
    Ok(s.iter()
        .zip(&red)
        .filter_map(|(&d, &r)| match (r, keep) {
            (true, true) => Some(1),
            (true, false) => None,
            (false, _) => Some(d),
        })
        .collect())
}

/// The masks of a `StridedSlice`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SliceMasks {
    pub begin: i64,
    pub end: i64,
    pub ellipsis: i64,
    pub new_axis: i64,
    pub shrink: i64,
}

impl SliceMasks {
    pub(crate) fn of(a: &Attrs) -> Self {
        let m = |n| a.int(n).unwrap_or(0);
        SliceMasks {
            begin: m("begin_mask"),
            end: m("end_mask"),
            ellipsis: m("ellipsis_mask"),
            new_axis: m("new_axis_mask"),
            shrink: m("shrink_axis_mask"),
        }
    }
}

/// How one input dimension is sliced: start, step and element count (-1 when unknown).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SliceDim {
    pub begin: i64,
    pub stride: i64,
    pub size: i64,
}

/// A `StridedSlice` resolved against an input shape.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StridedSpec {
    /// One entry per input dimension.
    pub dims: Vec<SliceDim>,
    /// The output shape (new axes added, shrunk axes removed).
    pub final_shape: Vec<i64>,
}

/// Resolves `StridedSlice` exactly as TensorFlow does: the sparse spec (with its ellipsis, explicit or
/// implied at the end, and new axes) is expanded to one entry per input dimension; begin and end are
/// made non-negative and clamped (or taken from the masks) according to the sign of the stride; a
/// shrunk dimension takes exactly one element and must be in range.
pub(crate) fn strided_slice_spec(
    shape: &[i64],
    begin: &[i64],
    end: &[i64],
    strides: &[i64],
    m: &SliceMasks,
) -> Res<StridedSpec> {
    let n = begin.len();
    if end.len() != n || strides.len() != n {
        return Err(format!(
            "begin, end and strides differ in length: {n}, {}, {}",
            end.len(),
            strides.len()
        ));
    }
    if n > 63 {
        return Err(format!("too many slice indices: {n}"));
    }
    let bit = |mask: i64, i: usize| (mask as u64 >> i) & 1 == 1;
    let mut ellipsis = m.ellipsis as u64 & ((1u64 << n) - 1);
    if ellipsis & ellipsis.wrapping_sub(1) != 0 {
        return Err("only one ellipsis is allowed".into());
    }
    let mut sparse_n = n;
    if ellipsis == 0 {
        ellipsis = 1 << n;
        sparse_n = n + 1;
    }
    let ell_pos = ellipsis.trailing_zeros() as usize;
    let new_after = (ell_pos + 1..n).filter(|&i| bit(m.new_axis, i)).count() as i64;
    let rank = shape.len();

    struct Dense {
        begin: i64,
        end: i64,
        stride: i64,
        bmask: bool,
        emask: bool,
        shrink: bool,
    }
    enum Fin {
        Dim(usize),
        New,
    }
    let mut dense: Vec<Dense> = Vec::with_capacity(rank);
    let mut fin: Vec<Fin> = Vec::new();
    for i in 0..sparse_n {
        if i == ell_pos {
            let next = (rank as i64 - (sparse_n - i) as i64 + 1 + new_after).min(rank as i64);
            while (dense.len() as i64) < next {
                fin.push(Fin::Dim(dense.len()));
                dense.push(Dense {
                    begin: 0,
                    end: 0,
                    stride: 1,
                    bmask: true,
                    emask: true,
                    shrink: false,
                });
            }
        } else if bit(m.new_axis, i) {
            fin.push(Fin::New);
        } else {
            if dense.len() >= rank {
                return Err(format!(
                    "slice index {i} is out of range for an input of rank {rank}"
                ));
            }
            fin.push(Fin::Dim(dense.len()));
            dense.push(Dense {
                begin: begin[i],
                end: end[i],
                stride: strides[i],
                bmask: bit(m.begin, i),
                emask: bit(m.end, i),
                shrink: bit(m.shrink, i),
            });
        }
    }
    if dense.len() < rank {
        // Only reachable with an explicit ellipsis that covered nothing; remaining dims are full.
        while dense.len() < rank {
            fin.push(Fin::Dim(dense.len()));
            dense.push(Dense {
                begin: 0,
                end: 0,
                stride: 1,
                bmask: true,
                emask: true,
                shrink: false,
            });
        }
    }

    let mut dims = Vec::with_capacity(rank);
    for (i, d) in dense.iter().enumerate() {
        let dim = shape[i];
        let s = d.stride;
        if s == 0 {
            return Err(format!("stride of dimension {i} is zero"));
        }
        if d.shrink && s <= 0 {
            return Err("only stride 1 is allowed on non-range indexing".into());
        }
        if dim < 0 {
            dims.push(SliceDim {
                begin: 0,
                stride: s,
                size: if d.shrink { 1 } else { -1 },
            });
            continue;
        }
        let (lo, hi) = if s > 0 { (0, dim) } else { (-1, dim - 1) };
        let canonical = |x: i64, masked: bool, is_end: bool| -> i64 {
            if masked {
                // begin masked: first element in stride order; end masked: one past the last.
                match (s > 0, is_end) {
                    (true, false) | (false, true) => lo,
                    (true, true) | (false, false) => hi,
                }
            } else {
                let f = if x < 0 { dim + x } else { x };
                f.clamp(lo, hi)
            }
        };
        let (b, size) = if d.shrink {
            let f = if d.begin < 0 { dim + d.begin } else { d.begin };
            if f < 0 || f >= dim {
                return Err(format!(
                    "slice index {} of dimension {i} is out of bounds (size {dim})",
                    d.begin
                ));
            }
            (f, 1)
        } else {
            let b = canonical(d.begin, d.bmask, false);
            let e = canonical(d.end, d.emask, true);
            let len = e - b;
            let size = if len == 0 || (len < 0) != (s < 0) {
                0
            } else {
                len / s + i64::from(len % s != 0)
            };
            (b, size)
        };
        dims.push(SliceDim {
            begin: b,
            stride: s,
            size,
        });
    }
    let mut final_shape = Vec::new();
    for f in fin {
        match f {
            Fin::New => final_shape.push(1),
            Fin::Dim(i) => {
                if !dense[i].shrink {
                    final_shape.push(dims[i].size);
                }
            }
        }
    }
    Ok(StridedSpec { dims, final_shape })
}

/// The result shape of `Slice` (a size of -1 means "to the end").
pub(crate) fn slice_dims(s: &[i64], begin: &[i64], size: &[i64]) -> Res<Vec<i64>> {
    if begin.len() != s.len() || size.len() != s.len() {
        return Err(format!(
            "begin {begin:?} and size {size:?} must have one entry per dimension of {s:?}"
        ));
    }
    let mut out = Vec::with_capacity(s.len());
    for i in 0..s.len() {
        let (d, b, z) = (s[i], begin[i], size[i]);
        if b < 0 || z < -1 {
            return Err(format!(
                "invalid slice begin {b} / size {z} in dimension {i}"
            ));
        }
        if d < 0 {
            out.push(if z >= 0 { z } else { -1 });
            continue;
        }
        let z = if z == -1 { d - b } else { z };
        if b > d || z < 0 || z > d - b {
            return Err(format!(
                "slice [{b}, {b}+{z}) is out of bounds for dimension {i} of size {d}"
            ));
        }
        out.push(z);
    }
    Ok(out)
}

/// The result shape of `Pad` with paddings of shape `pshape` and values `p` (row-major [rank, 2]).
pub(crate) fn pad_dims(s: &[i64], pshape: &[usize], p: &[i64]) -> Res<Vec<i64>> {
    if pshape != [s.len(), 2] {
        return Err(format!(
            "paddings must have shape [{}, 2], got {pshape:?}",
            s.len()
        ));
    }
    let mut out = Vec::with_capacity(s.len());
    for (i, &d) in s.iter().enumerate() {
        let (b, a) = (p[2 * i], p[2 * i + 1]);
        if b < 0 || a < 0 {
            return Err(format!("paddings must be non-negative, got {p:?}"));
        }
        out.push(if d < 0 {
            -1
        } else {
            d.checked_add(b)
                .and_then(|x| x.checked_add(a))
                .ok_or_else(|| format!("paddings {p:?} are too large"))?
        });
    }
    Ok(out)
}

/// The result shape of `Tile`.
pub(crate) fn tile_dims(s: &[i64], m: &[i64]) -> Res<Vec<i64>> {
    if m.len() != s.len() {
        return Err(format!(
            "multiples {m:?} must have one entry per dimension of {s:?}"
        ));
    }
    let mut out = Vec::with_capacity(s.len());
    for (&d, &k) in s.iter().zip(m) {
        if k < 0 {
            return Err(format!("multiples must be non-negative, got {m:?}"));
        }
        out.push(if k == 0 {
            0
        } else if d < 0 {
            -1
        } else {
            d.checked_mul(k)
                .ok_or_else(|| format!("multiples {m:?} are too large"))?
        });
    }
    Ok(out)
}

/// The result shape of `ConcatV2` of `shapes` (all of the same rank) along `axis`.
pub(crate) fn concat_dims(shapes: &[Vec<i64>], axis: i64) -> Res<Vec<i64>> {
    let first = shapes.first().ok_or("nothing to concatenate")?;
    let r = first.len();
    if r == 0 {
        return Err("cannot concatenate scalars".into());
    }
    let ax = norm_axis(axis, r)?;
    let mut out = first.clone();
    for s in &shapes[1..] {
        if s.len() != r {
            return Err(format!(
                "concatenated shapes {first:?} and {s:?} differ in rank"
            ));
        }
        for i in 0..r {
            if i == ax {
                out[i] = if out[i] < 0 || s[i] < 0 {
                    -1
                } else {
                    out[i] + s[i]
                };
            } else {
                out[i] = merge_dim(out[i], s[i]).map_err(|_| {
                    format!("concatenated shapes {first:?} and {s:?} differ in dimension {i}")
                })?;
            }
        }
    }
    Ok(out)
}

/// The shape of each piece of `Split` of `s` into `n` along `axis`.
pub(crate) fn split_dims(s: &[i64], axis: i64, n: i64) -> Res<Vec<i64>> {
    if n < 1 {
        return Err(format!("num_split must be positive, got {n}"));
    }
    let ax = norm_axis(axis, s.len())?;
    let mut out = s.to_vec();
    if s[ax] >= 0 {
        if s[ax] % n != 0 {
            return Err(format!(
                "dimension {ax} of size {} is not divisible by num_split {n}",
                s[ax]
            ));
        }
        out[ax] = s[ax] / n;
    }
    Ok(out)
}

/// The output shape of `ResizeNearestNeighbor` of NHWC `s` to `size` ([height, width]).
pub(crate) fn resize_dims(s: &[i64], size: &[i64]) -> Res<Vec<i64>> {
    if s.len() != 4 {
        return Err(format!("images must be 4-D, got {s:?}"));
    }
    if size.len() != 2 {
        return Err(format!("size must have 2 elements, got {size:?}"));
    }
    for &z in size {
        if z == 0 || z < -1 {
            return Err(format!("size must be positive, got {size:?}"));
        }
    }
    Ok(vec![s[0], size[0], size[1], s[3]])
}

/// Checks `BiasAdd` operands and gives the output shape (x's).
pub(crate) fn bias_add_check(a: &Attrs, x: &[i64], b: &[i64]) -> Res<Vec<i64>> {
    if b.len() != 1 {
        return Err(format!("bias must be 1-D, got {b:?}"));
    }
    if x.len() < 2 {
        return Err(format!("BiasAdd input must be at least 2-D, got {x:?}"));
    }
    let c = match a.data_format() {
        "NHWC" => x.len() - 1,
        "NCHW" => 1,
        f => return Err(format!("unknown data_format {f}")),
    };
    let mut out = x.to_vec();
    out[c] = merge_dim(x[c], b[0])
        .map_err(|_| format!("bias of size {} does not match channel dim of {x:?}", b[0]))?;
    Ok(out)
}

/// The output shape of `Select` (`v2` false: TF1 rules) and `SelectV2` (broadcasting).
pub(crate) fn select_dims(c: &[i64], x: &[i64], y: &[i64], v2: bool) -> Res<Vec<i64>> {
    if v2 {
        return broadcast_dims(&broadcast_dims(c, x)?, y);
    }
    let xy = merge_shape(Some(&x.to_vec()), Some(&y.to_vec()))?.expect("both known");
    if c.is_empty() {
        return Ok(xy);
    }
    if c.len() == 1 && xy.len() > 1 {
        merge_dim(c[0], xy[0]).map_err(|_| {
            format!(
                "rank-1 condition of size {} does not match the first dim of {xy:?}",
                c[0]
            )
        })?;
        return Ok(xy);
    }
    merge_shape(Some(&c.to_vec()), Some(&xy))
        .map_err(|_| format!("condition shape {c:?} does not match {xy:?}"))?;
    Ok(xy)
}

/// The length of an integer `Range`.
pub(crate) fn range_len_int(start: i64, limit: i64, delta: i64) -> Res<usize> {
    if delta == 0 {
        return Err("Range delta must not be zero".into());
    }
    if (delta > 0 && start > limit) || (delta < 0 && start < limit) {
        return Err(format!(
            "Range from {start} to {limit} never arrives with delta {delta}"
        ));
    }
    let span = (limit as i128 - start as i128).unsigned_abs();
    let d = delta.unsigned_abs() as u128;
    usize::try_from(span.div_ceil(d)).map_err(|_| "Range is too long".to_string())
}

/// The length of a float `Range`.
pub(crate) fn range_len_float(start: f64, limit: f64, delta: f64) -> Res<usize> {
    if delta == 0.0 {
        return Err("Range delta must not be zero".into());
    }
    if (delta > 0.0 && start > limit) || (delta < 0.0 && start < limit) {
        return Err(format!(
            "Range from {start} to {limit} never arrives with delta {delta}"
        ));
    }
    let n = ((limit - start) / delta).abs().ceil();
    if !n.is_finite() || n > 1e15 {
        return Err(format!(
            "Range from {start} to {limit} by {delta} is too long"
        ));
    }
    Ok(n as usize)
}

/// `MatMul` output shape.
pub(crate) fn matmul_dims(a: &[i64], b: &[i64], ta: bool, tb: bool) -> Res<Vec<i64>> {
    if a.len() != 2 || b.len() != 2 {
        return Err(format!("MatMul operands must be 2-D, got {a:?} and {b:?}"));
    }
    let (m, k1) = if ta { (a[1], a[0]) } else { (a[0], a[1]) };
    let (k2, n) = if tb { (b[1], b[0]) } else { (b[0], b[1]) };
    merge_dim(k1, k2)
        .map_err(|_| format!("inner dimensions differ: {k1} and {k2} (shapes {a:?} and {b:?})"))?;
    Ok(vec![m, n])
}

/// The padding of a convolution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Padding {
    Same,
    Valid,
    /// top, bottom, left, right
    Explicit([i64; 4]),
}

/// The attributes of a 2-D convolution, spatial values extracted from the data format.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ConvAttrs {
    pub nchw: bool,
    pub sh: usize,
    pub sw: usize,
    pub dh: usize,
    pub dw: usize,
    pub padding: Padding,
}

pub(crate) fn conv_attrs(a: &Attrs) -> Res<ConvAttrs> {
    let nchw = match a.data_format() {
        "NHWC" => false,
        "NCHW" => true,
        f => return Err(format!("unsupported data_format {f}")),
    };
    let (hi, wi, ci) = if nchw { (2, 3, 1) } else { (1, 2, 3) };
    let four = |name: &str| -> Res<[usize; 2]> {
        let v = match a.ints(name) {
            Some(v) => v,
            None => return Ok([1, 1]),
        };
        if v.len() != 4 {
            return Err(format!("{name} must have 4 entries, got {v:?}"));
        }
        if v[0] != 1 || v[ci] != 1 {
            return Err(format!("{name} {v:?}: batch and channel entries must be 1"));
        }
        if v[hi] < 1 || v[wi] < 1 {
            return Err(format!("{name} {v:?} must be positive"));
        }
        Ok([v[hi] as usize, v[wi] as usize])
    };
    let [sh, sw] = four("strides")?;
    let [dh, dw] = four("dilations")?;
    let padding = match a.str("padding") {
        Some("SAME") => Padding::Same,
        Some("VALID") => Padding::Valid,
        Some("EXPLICIT") => {
            let p = a
                .ints("explicit_paddings")
                .ok_or("EXPLICIT padding needs explicit_paddings")?;
            if p.len() != 8 || p.iter().any(|&x| x < 0) {
                return Err(format!(
                    "explicit_paddings must be 8 non-negative values, got {p:?}"
                ));
            }
            Padding::Explicit([p[2 * hi], p[2 * hi + 1], p[2 * wi], p[2 * wi + 1]])
        }
        Some(p) => return Err(format!("unknown padding {p}")),
        None => return Err("convolution needs attribute padding".into()),
    };
    Ok(ConvAttrs {
        nchw,
        sh,
        sw,
        dh,
        dw,
        padding,
    })
}

/// Output size and leading padding of one spatial dimension: input `x`, kernel `k`, stride `s`,
/// dilation `d`, explicit padding `(before, after)` when `EXPLICIT`. -1 when unknown.
fn conv_dim(
    x: i64,
    k: i64,
    s: usize,
    d: usize,
    pad: Padding,
    explicit: (i64, i64),
) -> Res<(i64, i64)> {
    let s = s as i64;
    if x < 0 || k < 0 {
        return Ok((
            match pad {
                Padding::Same if x >= 0 => (x + s - 1) / s,
                _ => -1,
            },
            -1,
        ));
    }
    let dk = (k - 1) * d as i64 + 1;
    match pad {
        Padding::Valid => {
            if x < dk {
                return Err(format!(
                    "input size {x} is smaller than the dilated kernel {dk} (VALID)"
                ));
            }
            Ok(((x - dk) / s + 1, 0))
        }
        Padding::Same => {
            let out = (x + s - 1) / s;
            let total = ((out - 1) * s + dk - x).max(0);
            Ok((out, total / 2))
        }
        Padding::Explicit(_) => {
            let (b, a) = explicit;
            if x + b + a < dk {
                return Err(format!(
                    "padded input size {} is smaller than the dilated kernel {dk}",
                    x + b + a
                ));
            }
            Ok(((x + b + a - dk) / s + 1, b))
        }
    }
}

fn explicit_hw(p: Padding) -> ((i64, i64), (i64, i64)) {
    match p {
        Padding::Explicit([t, b, l, r]) => ((t, b), (l, r)),
        _ => ((0, 0), (0, 0)),
    }
}

/// Leading (top, left) padding of a convolution with known sizes.
pub(crate) fn conv_pads_before(
    ca: &ConvAttrs,
    h: i64,
    w: i64,
    kh: i64,
    kw: i64,
) -> Res<(i64, i64)> {
    let (eh, ew) = explicit_hw(ca.padding);
    let (_, pt) = conv_dim(h, kh, ca.sh, ca.dh, ca.padding, eh)?;
    let (_, pl) = conv_dim(w, kw, ca.sw, ca.dw, ca.padding, ew)?;
    Ok((pt, pl))
}

/// (n, h, w, c) of a 4-D shape in the data format.
fn nhwc(ca: &ConvAttrs, s: &[i64]) -> (i64, i64, i64, i64) {
    if ca.nchw {
        (s[0], s[2], s[3], s[1])
    } else {
        (s[0], s[1], s[2], s[3])
    }
}

fn in_format(ca: &ConvAttrs, n: i64, h: i64, w: i64, c: i64) -> Vec<i64> {
    if ca.nchw {
        vec![n, c, h, w]
    } else {
        vec![n, h, w, c]
    }
}

/// Output shape (in the data format) of `Conv2D` or `DepthwiseConv2dNative`.
pub(crate) fn conv2d_dims(ca: &ConvAttrs, x: &[i64], f: &[i64], depthwise: bool) -> Res<Vec<i64>> {
    if x.len() != 4 || f.len() != 4 {
        return Err(format!(
            "convolution input and filter must be 4-D, got {x:?} and {f:?}"
        ));
    }
    let (n, h, w, c) = nhwc(ca, x);
    let (kh, kw, fc, fo) = (f[0], f[1], f[2], f[3]);
    let oc = if depthwise {
        merge_dim(c, fc)
            .map_err(|_| format!("input depth {c} does not match the depthwise filter's {fc}"))?;
        let cc = if c >= 0 { c } else { fc };
        if cc >= 0 && fo >= 0 {
            cc * fo
        } else {
            -1
        }
    } else {
        if c >= 0 && fc >= 0 {
            if fc == 0 || c % fc != 0 {
                return Err(format!(
                    "input depth {c} is not a multiple of the filter's input depth {fc}"
                ));
            }
            let groups = c / fc;
            if fo >= 0 && fo % groups != 0 {
                return Err(format!(
                    "filter output depth {fo} is not a multiple of the group count {groups}"
                ));
            }
        }
        fo
    };
    let (eh, ew) = explicit_hw(ca.padding);
    let (oh, _) = conv_dim(h, kh, ca.sh, ca.dh, ca.padding, eh)?;
    let (ow, _) = conv_dim(w, kw, ca.sw, ca.dw, ca.padding, ew)?;
    Ok(in_format(ca, n, oh, ow, oc))
}

/// The input shape (in the data format) of `Conv2DBackpropInput`: from `input_sizes` when known (4
/// values in the data format, or 2 spatial values), checked against the filter and `out_backprop`.
pub(crate) fn conv2d_backprop_input_dims(
    ca: &ConvAttrs,
    sizes: Option<&[i64]>,
    f: &[i64],
    dy: &[i64],
) -> Res<Vec<i64>> {
    if f.len() != 4 || dy.len() != 4 {
        return Err(format!(
            "filter and out_backprop must be 4-D, got {f:?} and {dy:?}"
        ));
    }
    let (dn, dh, dw, dc) = nhwc(ca, dy);
    let (kh, kw, fc, fo) = (f[0], f[1], f[2], f[3]);
    merge_dim(dc, fo).map_err(|_| {
        format!("out_backprop depth {dc} does not match the filter's output depth {fo}")
    })?;
    let (n, h, w, c) = match sizes {
        Some(s) if s.len() == 4 => {
            let (n, h, w, c) = nhwc(ca, s);
            if s.iter().any(|&d| d < 0) {
                return Err(format!("input_sizes must be non-negative, got {s:?}"));
            }
            (n, h, w, c)
        }
        Some(s) if s.len() == 2 => {
            if s.iter().any(|&d| d < 0) {
                return Err(format!("input_sizes must be non-negative, got {s:?}"));
            }
            (dn, s[0], s[1], fc)
        }
        Some(s) => {
            return Err(format!(
                "input_sizes must have 4 (or 2 spatial) values, got {s:?}"
            ))
        }
        None => (dn, -1, -1, fc),
    };
    let n = merge_dim(n, dn)
        .map_err(|_| format!("input batch {n} does not match out_backprop's {dn}"))?;
    let c = merge_dim(c, fc)
        .map_err(|_| format!("input depth {c} does not match the filter's input depth {fc}"))?;
    let (eh, ew) = explicit_hw(ca.padding);
    let (oh, _) = conv_dim(h, kh, ca.sh, ca.dh, ca.padding, eh)?;
    let (ow, _) = conv_dim(w, kw, ca.sw, ca.dw, ca.padding, ew)?;
    if (oh >= 0 && dh >= 0 && oh != dh) || (ow >= 0 && dw >= 0 && ow != dw) {
        return Err(format!(
            "out_backprop spatial size {dh}x{dw} does not match the forward output {oh}x{ow} of input {h}x{w}"
        ));
    }
    Ok(in_format(ca, n, h, w, c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::Attr;

    fn n(op: Op, attrs: &[(&str, Attr)]) -> Node {
        let mut node = Node::new("n", op);
        for (k, v) in attrs {
            node.attrs.set(*k, v.clone());
        }
        node
    }

    fn vi(d: DType, s: &[i64]) -> ValueInfo {
        ValueInfo::new(d, s.to_vec())
    }

    fn f32i(s: &[i64]) -> ValueInfo {
        vi(DType::F32, s)
    }

    fn ints_t(v: &[i32]) -> Tensor {
        Tensor::from_vec(vec![v.len()], v.to_vec())
    }

    /// Infers with the given infos; inputs with a value are constants (their info is derived).
    fn inf(node: &Node, ins: &[(ValueInfo, Option<Tensor>)]) -> Result<Vec<ValueInfo>> {
        let infos: Vec<ValueInfo> = ins
            .iter()
            .map(|(i, t)| match t {
                Some(t) => ValueInfo::new(t.dtype(), t.shape().iter().map(|&d| d as i64).collect()),
                None => i.clone(),
            })
            .collect();
        let consts: Vec<Option<&Tensor>> = ins.iter().map(|(_, t)| t.as_ref()).collect();
        infer(node, &infos, &consts)
    }

    fn k(t: Tensor) -> (ValueInfo, Option<Tensor>) {
        (ValueInfo::default(), Some(t))
    }

    fn v(i: ValueInfo) -> (ValueInfo, Option<Tensor>) {
        (i, None)
    }

    fn one(node: &Node, ins: &[(ValueInfo, Option<Tensor>)]) -> ValueInfo {
        inf(node, ins).unwrap().remove(0)
    }

    fn conv(df: &str, s: i64, pad: &str) -> Node {
        let strides = if df == "NCHW" {
            vec![1, 1, s, s]
        } else {
            vec![1, s, s, 1]
        };
        n(
            Op::Conv2D,
            &[
                ("data_format", Attr::Str(df.into())),
                ("strides", Attr::Ints(strides)),
                ("padding", Attr::Str(pad.into())),
            ],
        )
    }

    #[test]
    fn conv_shapes_keep_unknown_batch() {
        let c = conv("NCHW", 2, "SAME");
        let out = one(&c, &[v(f32i(&[-1, 3, 32, 32])), v(f32i(&[3, 3, 3, 8]))]);
        assert_eq!(out, f32i(&[-1, 8, 16, 16]));
        let c = conv("NHWC", 2, "SAME");
        let out = one(&c, &[v(f32i(&[1, 7, 6, 3])), v(f32i(&[3, 3, 3, 8]))]);
        assert_eq!(out, f32i(&[1, 4, 3, 8]));
        let c = conv("NHWC", 2, "VALID");
        let out = one(&c, &[v(f32i(&[1, 7, -1, 3])), v(f32i(&[3, 3, 3, 8]))]);
        assert_eq!(out, f32i(&[1, 3, -1, 8]));
        // Unknown filter: only what the input says.
        let out = one(&c, &[v(f32i(&[2, 7, 7, 3])), v(ValueInfo::default())]);
        assert_eq!(out.shape, Some(vec![2, -1, -1, -1]));
        // Depth mismatch, bad ranks, bad attributes.
        assert!(inf(&c, &[v(f32i(&[1, 7, 7, 4])), v(f32i(&[3, 3, 3, 8]))]).is_err());
        assert!(inf(&c, &[v(f32i(&[7, 7, 3])), v(f32i(&[3, 3, 3, 8]))]).is_err());
        assert!(inf(&c, &[v(f32i(&[1, 2, 2, 3])), v(f32i(&[3, 3, 3, 8]))]).is_err());
        assert!(inf(
            &conv("NHWC", 2, "FULL"),
            &[v(f32i(&[1, 4, 4, 3])), v(f32i(&[1, 1, 3, 8]))]
        )
        .is_err());
        let bad_strides = n(
            Op::Conv2D,
            &[
                ("strides", Attr::Ints(vec![2, 1, 1, 1])),
                ("padding", Attr::Str("SAME".into())),
            ],
        );
        assert!(inf(
            &bad_strides,
            &[v(f32i(&[1, 4, 4, 3])), v(f32i(&[1, 1, 3, 8]))]
        )
        .is_err());
        assert!(inf(&c, &[v(f32i(&[1, 4, 4, 3]))]).is_err());
        // Depthwise: channels times multiplier.
        let mut d = conv("NHWC", 1, "SAME");
        d.op = Op::DepthwiseConv2dNative;
        assert_eq!(
            one(&d, &[v(f32i(&[1, 5, 5, 3])), v(f32i(&[3, 3, 3, 2]))]),
            f32i(&[1, 5, 5, 6])
        );
    }

    #[test]
    fn conv_backprop_input_shape() {
        let mut c = conv("NHWC", 2, "SAME");
        c.op = Op::Conv2DBackpropInput;
        let f = v(f32i(&[3, 3, 4, 8]));
        let dy = v(f32i(&[1, 4, 4, 8]));
        let out = one(&c, &[k(ints_t(&[1, 8, 8, 4])), f.clone(), dy.clone()]);
        assert_eq!(out, f32i(&[1, 8, 8, 4]));
        // 7 also gives a 4-wide SAME output at stride 2.
        let out = one(&c, &[k(ints_t(&[1, 7, 8, 4])), f.clone(), dy.clone()]);
        assert_eq!(out, f32i(&[1, 7, 8, 4]));
        let out = one(&c, &[v(vi(DType::I32, &[4])), f.clone(), dy.clone()]);
        assert_eq!(out, f32i(&[1, -1, -1, 4]));
        assert!(inf(&c, &[k(ints_t(&[1, 10, 8, 4])), f.clone(), dy.clone()]).is_err());
        assert!(inf(&c, &[k(ints_t(&[1, 8, 8, 5])), f, dy]).is_err());
    }

    #[test]
    fn matmul_and_broadcast() {
        let m = n(Op::MatMul, &[("transpose_b", Attr::Bool(true))]);
        assert_eq!(
            one(&m, &[v(f32i(&[-1, 4])), v(f32i(&[5, 4]))]),
            f32i(&[-1, 5])
        );
        assert!(inf(&m, &[v(f32i(&[2, 4])), v(f32i(&[4, 5]))]).is_err());
        let add = n(Op::AddV2, &[]);
        assert_eq!(
            one(&add, &[v(f32i(&[-1, 3])), v(f32i(&[4, 1]))]),
            f32i(&[4, 3])
        );
        assert_eq!(one(&add, &[v(f32i(&[-1])), v(f32i(&[-1]))]), f32i(&[-1]));
        assert_eq!(
            one(&add, &[v(f32i(&[2, 1, 5])), v(f32i(&[3, 1]))]),
            f32i(&[2, 3, 5])
        );
        assert!(inf(&add, &[v(f32i(&[2, 3])), v(f32i(&[4]))]).is_err());
        assert!(inf(&add, &[v(f32i(&[2])), v(vi(DType::I32, &[2]))]).is_err());
        assert!(inf(&add, &[v(f32i(&[2]))]).is_err());
        let unknown_rank = one(&add, &[v(f32i(&[2])), v(ValueInfo::default())]);
        assert_eq!(unknown_rank.dtype, Some(DType::F32));
        assert_eq!(unknown_rank.shape, None);
        let clip = n(Op::ClipByValue, &[]);
        let x = f32i(&[-1, 4, 3]);
        assert_eq!(
            one(&clip, &[v(x.clone()), v(f32i(&[])), v(f32i(&[4, 1]))]),
            x
        );
        assert_eq!(
            one(&clip, &[v(x.clone()), v(f32i(&[])), v(f32i(&[2, 4, 3]))]),
            x
        );
        assert!(inf(&clip, &[v(x.clone()), v(f32i(&[])), v(f32i(&[1, 2, 4, 3]))]).is_err());
        assert!(inf(&clip, &[v(x), v(f32i(&[])), v(f32i(&[5]))]).is_err());
        let lt = n(Op::Less, &[]);
        assert_eq!(
            one(&lt, &[v(f32i(&[2])), v(f32i(&[]))]),
            vi(DType::Bool, &[2])
        );
        let sel = n(Op::Select, &[]);
        let out = one(
            &sel,
            &[
                v(vi(DType::Bool, &[-1])),
                v(f32i(&[-1, 3])),
                v(f32i(&[4, -1])),
            ],
        );
        assert_eq!(out, f32i(&[4, 3]));
        assert!(inf(
            &sel,
            &[
                v(vi(DType::Bool, &[2, 3])),
                v(f32i(&[2, 4])),
                v(f32i(&[2, 4]))
            ]
        )
        .is_err());
    }

    #[test]
    fn value_dependent_shapes() {
        let r = n(Op::Reshape, &[]);
        assert_eq!(
            one(&r, &[v(f32i(&[-1, 4, 4])), k(ints_t(&[-1, 16]))]),
            f32i(&[-1, 16])
        );
        assert_eq!(
            one(&r, &[v(f32i(&[2, 4, 4])), k(ints_t(&[-1, 8]))]),
            f32i(&[4, 8])
        );
        assert_eq!(
            one(&r, &[v(f32i(&[2, 4])), v(vi(DType::I32, &[3]))]),
            f32i(&[-1, -1, -1])
        );
        assert!(inf(&r, &[v(f32i(&[2, 4])), k(ints_t(&[3, -1]))]).is_err());
        let t = n(Op::Tile, &[]);
        assert_eq!(
            one(&t, &[v(f32i(&[-1, 2])), k(ints_t(&[3, 2]))]),
            f32i(&[-1, 4])
        );
        let p = n(Op::Pad, &[]);
        let pads = Tensor::from_vec(vec![2, 2], vec![1i32, 1, 0, 2]);
        assert_eq!(one(&p, &[v(f32i(&[-1, 3])), k(pads)]), f32i(&[-1, 5]));
        let sl = n(Op::Slice, &[]);
        assert_eq!(
            one(
                &sl,
                &[v(f32i(&[-1, 5])), k(ints_t(&[0, 1])), k(ints_t(&[-1, 3]))]
            ),
            f32i(&[-1, 3])
        );
        let fill = n(Op::Fill, &[]);
        assert_eq!(
            one(&fill, &[k(ints_t(&[2, 3])), v(vi(DType::I32, &[]))]),
            vi(DType::I32, &[2, 3])
        );
        let ss = n(
            Op::StridedSlice,
            &[
                ("begin_mask", Attr::Int(1)),
                ("end_mask", Attr::Int(1)),
                ("shrink_axis_mask", Attr::Int(4)),
            ],
        );
        let out = one(
            &ss,
            &[
                v(f32i(&[-1, 5, -1])),
                k(ints_t(&[0, 1, 0])),
                k(ints_t(&[0, 3, 1])),
                k(ints_t(&[1, 1, 1])),
            ],
        );
        assert_eq!(out, f32i(&[-1, 2]));
        let tr = n(Op::Transpose, &[]);
        assert_eq!(
            one(&tr, &[v(f32i(&[-1, 2, 3])), k(ints_t(&[0, 2, 1]))]),
            f32i(&[-1, 3, 2])
        );
        assert!(inf(&tr, &[v(f32i(&[1, 2, 3])), k(ints_t(&[0, 1]))]).is_err());
        let cat = n(Op::ConcatV2, &[]);
        assert_eq!(
            one(
                &cat,
                &[
                    v(f32i(&[-1, 2])),
                    v(f32i(&[3, -1])),
                    k(Tensor::scalar(1i32))
                ]
            ),
            f32i(&[3, -1])
        );
        assert_eq!(
            one(
                &cat,
                &[v(f32i(&[2, 2])), v(f32i(&[3, 2])), k(Tensor::scalar(0i32))]
            ),
            f32i(&[5, 2])
        );
        assert!(inf(
            &cat,
            &[v(f32i(&[2, 2])), v(f32i(&[3, 3])), k(Tensor::scalar(0i32))]
        )
        .is_err());
        let mean = n(Op::Mean, &[("keep_dims", Attr::Bool(true))]);
        assert_eq!(
            one(&mean, &[v(f32i(&[-1, 8, 4, 4])), k(ints_t(&[2, 3]))]),
            f32i(&[-1, 8, 1, 1])
        );
        assert_eq!(
            one(&mean, &[v(f32i(&[2, 8])), v(vi(DType::I32, &[1]))]),
            f32i(&[-1, -1])
        );
        let rz = n(Op::ResizeNearestNeighbor, &[]);
        assert_eq!(
            one(&rz, &[v(f32i(&[-1, 4, 4, 3])), k(ints_t(&[8, 8]))]),
            f32i(&[-1, 8, 8, 3])
        );
        let rnd = n(
            Op::RandomStandardNormal,
            &[("dtype", Attr::Type(DType::F32))],
        );
        assert_eq!(one(&rnd, &[k(ints_t(&[2, 512]))]), f32i(&[2, 512]));
        let range = n(Op::Range, &[]);
        let out = one(
            &range,
            &[
                k(Tensor::scalar(0i32)),
                k(Tensor::scalar(10i32)),
                k(Tensor::scalar(3i32)),
            ],
        );
        assert_eq!(out, vi(DType::I32, &[4]));
    }

    #[test]
    fn control_flow_and_sources() {
        let ph = n(
            Op::Placeholder,
            &[
                ("dtype", Attr::Type(DType::F32)),
                ("shape", Attr::Shape(Some(vec![-1, 512]))),
            ],
        );
        assert_eq!(one(&ph, &[]), f32i(&[-1, 512]));
        let ph = n(
            Op::Placeholder,
            &[
                ("dtype", Attr::Type(DType::F32)),
                ("shape", Attr::Shape(None)),
            ],
        );
        assert_eq!(one(&ph, &[]).shape, None);
        let sw = n(Op::Switch, &[]);
        let outs = inf(&sw, &[v(f32i(&[2])), v(vi(DType::Bool, &[]))]).unwrap();
        assert_eq!(outs, vec![f32i(&[2]), f32i(&[2])]);
        assert!(inf(&sw, &[v(f32i(&[2])), v(vi(DType::F32, &[]))]).is_err());
        let m = n(Op::Merge, &[]);
        let outs = inf(&m, &[v(f32i(&[2, 3])), v(f32i(&[2, 4]))]).unwrap();
        assert_eq!(outs, vec![f32i(&[2, -1]), vi(DType::I32, &[])]);
        let idn = n(Op::IdentityN, &[]);
        assert_eq!(
            inf(&idn, &[v(f32i(&[1])), v(vi(DType::I32, &[]))])
                .unwrap()
                .len(),
            2
        );
        let sh = n(Op::Shape, &[]);
        assert_eq!(one(&sh, &[v(ValueInfo::default())]), vi(DType::I32, &[-1]));
        let sh = n(Op::Shape, &[("out_type", Attr::Type(DType::I64))]);
        assert_eq!(one(&sh, &[v(f32i(&[-1, 3]))]), vi(DType::I64, &[2]));
        let split = n(Op::Split, &[("num_split", Attr::Int(3))]);
        let outs = inf(&split, &[v(vi(DType::I32, &[])), v(f32i(&[6, 2]))]).unwrap();
        assert_eq!(outs, vec![f32i(&[-1, -1]); 3]);
        let outs = inf(&split, &[k(Tensor::scalar(0i32)), v(f32i(&[6, 2]))]).unwrap();
        assert_eq!(outs, vec![f32i(&[2, 2]); 3]);
        let unpack = n(Op::Unpack, &[("num", Attr::Int(2))]);
        assert_eq!(inf(&unpack, &[v(ValueInfo::default())]).unwrap().len(), 2);
        assert!(inf(&unpack, &[v(f32i(&[3, 2]))]).is_err());
        let cast = n(Op::Cast, &[("DstT", Attr::Type(DType::U8))]);
        assert_eq!(one(&cast, &[v(f32i(&[-1]))]), vi(DType::U8, &[-1]));
        assert!(inf(&n(Op::Cast, &[]), &[v(f32i(&[1]))]).is_err());
        assert!(matches!(
            inf(&n(Op::Other("Frob".into()), &[]), &[]),
            Err(IrError::UnknownOp { .. })
        ));
        let e = inf(&n(Op::Const, &[]), &[]).unwrap_err();
        assert!(e.to_string().contains("node 'n'"), "{e}");
    }

    #[test]
    fn unknown_ops_take_their_types_from_the_graph() {
        let shapes = Attr::Shapes(vec![Some(vec![1, 8]), None]);
        let frob = n(
            Op::Other("Frob".into()),
            &[("_output_shapes", shapes.clone())],
        );
        // No dtype attribute: the first input's dtype.
        let outs = inf(&frob, &[v(f32i(&[1, 8]))]).unwrap();
        assert_eq!(outs, vec![f32i(&[1, 8]), info(Some(DType::F32), None)]);
        let typed = n(
            Op::Other("Frob".into()),
            &[
                ("_output_shapes", shapes.clone()),
                ("Tout", Attr::Types(vec![DType::I32, DType::U8])),
            ],
        );
        let outs = inf(&typed, &[v(f32i(&[1, 8]))]).unwrap();
        assert_eq!(outs[0], vi(DType::I32, &[1, 8]));
        assert_eq!(outs[1].dtype, Some(DType::U8));
        let out_type = n(
            Op::Other("Frob".into()),
            &[
                ("_output_shapes", shapes),
                ("out_type", Attr::Type(DType::I64)),
            ],
        );
        assert_eq!(inf(&out_type, &[]).unwrap()[0], vi(DType::I64, &[1, 8]));
        // Shapes but no way to know the dtype; no shapes at all.
        let untyped = n(
            Op::Other("Frob".into()),
            &[("_output_shapes", Attr::Shapes(vec![Some(vec![2])]))],
        );
        let e = inf(&untyped, &[]).unwrap_err().to_string();
        assert!(e.contains("node 'n'") && e.contains("dtype"), "{e}");
        let e = inf(&n(Op::Other("Frob".into()), &[]), &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("node 'n'") && e.contains("add_shapes=True"),
            "{e}"
        );
    }

    #[test]
    fn strided_slice_spec_matches_tensorflow() {
        let m = SliceMasks {
            ellipsis: 1,
            shrink: 2,
            ..Default::default()
        };
        let s = strided_slice_spec(&[2, 3, 4], &[0, 1], &[0, 2], &[1, 1], &m).unwrap();
        assert_eq!(s.final_shape, vec![2, 3]);
        assert_eq!(
            s.dims[2],
            SliceDim {
                begin: 1,
                stride: 1,
                size: 1
            }
        );
        // A reversed full range starts at the last element.
        let m = SliceMasks {
            begin: 1,
            end: 1,
            ..Default::default()
        };
        let s = strided_slice_spec(&[5], &[0], &[0], &[-2], &m).unwrap();
        assert_eq!(
            s.dims[0],
            SliceDim {
                begin: 4,
                stride: -2,
                size: 3
            }
        );
        // Two ellipses are refused.
        let m = SliceMasks {
            ellipsis: 3,
            ..Default::default()
        };
        assert!(strided_slice_spec(&[5, 5], &[0, 0], &[1, 1], &[1, 1], &m).is_err());
    }
}
