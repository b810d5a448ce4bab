//! The reference interpreter: evaluates IR ops on constant tensors.
//!
//! Written for clarity first: it is the ground truth that constant folding uses and that tests check
//! passes and backends against, and it must itself match TensorFlow on the fixtures. Nothing in it is
//! quadratic in tensor size or allocates per element: data movement works on raw bytes with strides, and
//! arithmetic on typed `Vec`s. Convolutions and matmuls are GEMMs (`gemm.rs`, threaded), because
//! `sgc verify` and calibration run whole generators: one 256 px StyleGAN sample takes ~2 s on 2 cores.
//!
//! - [`eval`] evaluates one node on its input values.
//! - [`run`] evaluates the part of a graph that some fetched values need, with TensorFlow 1.x control-flow
//!   dead-value semantics (`Switch` / `Merge`).

mod control;
mod conv;
mod elementwise;
mod gemm;
mod movement;
mod reduce;
mod resize;

#[cfg(test)]
mod tests;

pub use control::run;

use crate::attr::Attrs;
use crate::dtype::DType;
use crate::error::{IrError, Result};
use crate::graph::Node;
use crate::op::Op;
use crate::tensor::{Element, Tensor};

/// Whether evaluating an op at compile time would make the model larger: a broadcasting op whose
/// result has more elements than its constant operands together (StyleGAN's noise `[1,1,H,W]` times a
/// per-channel weight `[1,C,1,1]`, a `Tile`, a `Fill`). Reshaping, slicing, padding and transposing
/// weights is not growth in this sense. Constant folding, wherever it happens, keeps such ops as ops.
pub fn folding_would_grow(op: &Op, operand_elements: usize, result_elements: usize) -> bool {
    let broadcasts = op.is_binary_elementwise()
        || matches!(
            op,
            Op::Select
                | Op::SelectV2
                | Op::ClipByValue
                | Op::Tile
                | Op::BroadcastTo
                | Op::Fill
                | Op::AddN
        );
    broadcasts && result_elements > operand_elements
}

/// Evaluates one node on its input values, giving one tensor per output port.
///
/// `Switch` and `RefSwitch` are refused here: one of their outputs is dead, which only [`run`] can
/// express. `Merge` with all inputs given forwards its first input.
pub fn eval(node: &Node, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
    eval_inner(node, inputs).map_err(|reason| IrError::node(&node.name, reason))
}

/// The internal error type: a reason, turned into an [`IrError`] naming the node at the API boundary.
pub(crate) type Res<T> = std::result::Result<T, String>;

fn eval_inner(node: &Node, ins: &[Tensor]) -> Res<Vec<Tensor>> {
    let a = &node.attrs;
    let one = |t: Tensor| Ok(vec![t]);
    match &node.op {
        Op::Const => {
            arity(ins, 0)?;
            one(a
                .tensor("value")
                .cloned()
                .ok_or("Const has no tensor attribute 'value'")?)
        }
        Op::Placeholder => Err("Placeholder has no value: it must be fed".into()),
        Op::PlaceholderWithDefault => {
            arity(ins, 1)?;
            if let Some(d) = a.dtype("dtype") {
                if d != ins[0].dtype() {
                    return Err(format!("default value is {}, not {d}", ins[0].dtype()));
                }
            }
            if let Some(Some(s)) = a.shape("shape") {
                let d = ins[0].shape();
                if s.len() != d.len() || s.iter().zip(d).any(|(&p, &q)| p >= 0 && p as usize != q) {
                    return Err(format!(
                        "default value of shape {d:?} does not match shape attribute {s:?}"
                    ));
                }
            }
            one(ins[0].clone())
        }
        Op::Identity | Op::StopGradient | Op::Snapshot | Op::RefIdentity => {
            arity(ins, 1)?;
            one(ins[0].clone())
        }
        Op::IdentityN => Ok(ins.to_vec()),
        Op::NoOp => Ok(vec![]),
        Op::Switch | Op::RefSwitch => Err(format!(
            "{} has a dead output: evaluate it with interp::run",
            node.op
        )),
        Op::Merge => {
            if ins.is_empty() {
                return Err("Merge needs at least one input".into());
            }
            if let Some(t) = ins.iter().find(|t| t.dtype() != ins[0].dtype()) {
                return Err(format!(
                    "Merge inputs differ in dtype: {} and {}",
                    ins[0].dtype(),
                    t.dtype()
                ));
            }
            Ok(vec![ins[0].clone(), Tensor::scalar(0i32)])
        }
        Op::Assign => {
            arity(ins, 2)?;
            if ins[0].dtype() != ins[1].dtype() {
                return Err(format!(
                    "value is {}, the variable {}",
                    ins[1].dtype(),
                    ins[0].dtype()
                ));
            }
            if a.bool("validate_shape") != Some(false) && ins[0].shape() != ins[1].shape() {
                return Err(format!(
                    "value of shape {:?} does not match the variable's {:?}",
                    ins[1].shape(),
                    ins[0].shape()
                ));
            }
            one(ins[1].clone())
        }
        Op::AssignAdd | Op::AssignSub => {
            arity(ins, 2)?;
            let op = if node.op == Op::AssignAdd {
                Op::Add
            } else {
                Op::Sub
            };
            if ins[1].shape() != ins[0].shape() {
                return Err(format!(
                    "value of shape {:?} does not match the variable's {:?}",
                    ins[1].shape(),
                    ins[0].shape()
                ));
            }
            one(elementwise::binary(&op, &ins[0], &ins[1])?)
        }
        Op::RandomStandardNormal | Op::RandomUniform => Err("random op is not evaluated".into()),

        Op::Conv2D => {
            arity(ins, 2)?;
            one(conv::conv2d(a, &ins[0], &ins[1], false)?)
        }
        Op::DepthwiseConv2dNative => {
            arity(ins, 2)?;
            one(conv::conv2d(a, &ins[0], &ins[1], true)?)
        }
        Op::Conv2DBackpropInput => {
            arity(ins, 3)?;
            one(conv::conv2d_backprop_input(a, &ins[0], &ins[1], &ins[2])?)
        }
        Op::MatMul => {
            arity(ins, 2)?;
            one(conv::matmul(a, &ins[0], &ins[1])?)
        }
        crate::batch_norm_ops!() => {
            elementwise::batch_norm(a, ins, node.op == Op::FusedBatchNormV3)
        }
        Op::MaxPool | Op::AvgPool => {
            arity(ins, 1)?;
            one(conv::pool(a, &ins[0], node.op == Op::MaxPool)?)
        }
        Op::Softmax => {
            arity(ins, 1)?;
            one(reduce::softmax(&ins[0])?)
        }
        Op::LogSoftmax => {
            arity(ins, 1)?;
            one(reduce::log_softmax(&ins[0])?)
        }
        Op::ArgMax => {
            arity(ins, 2)?;
            one(reduce::arg_max(a, &ins[0], &ins[1])?)
        }
        Op::BiasAdd => {
            arity(ins, 2)?;
            one(elementwise::bias_add(a, &ins[0], &ins[1])?)
        }

        op @ crate::binary_elementwise_ops!() => {
            arity(ins, 2)?;
            one(elementwise::binary(op, &ins[0], &ins[1])?)
        }
        op @ crate::unary_elementwise_ops!() => {
            arity(ins, 1)?;
            one(elementwise::unary(op, a, &ins[0])?)
        }
        Op::AddN => one(elementwise::add_n(ins)?),
        Op::ClipByValue => {
            arity(ins, 3)?;
            one(elementwise::clip(&ins[0], &ins[1], &ins[2])?)
        }
        Op::Select => {
            arity(ins, 3)?;
            one(elementwise::select(&ins[0], &ins[1], &ins[2], false)?)
        }
        Op::SelectV2 => {
            arity(ins, 3)?;
            one(elementwise::select(&ins[0], &ins[1], &ins[2], true)?)
        }
        Op::Cast => {
            arity(ins, 1)?;
            let to = a.dtype("DstT").ok_or("Cast needs attribute DstT")?;
            one(elementwise::cast(&ins[0], to)?)
        }

        crate::reduction_ops!() => {
            arity(ins, 2)?;
            one(reduce::reduce(
                &node.op,
                &ins[0],
                &ins[1],
                a.bool("keep_dims").unwrap_or(false),
            )?)
        }

        Op::Shape => {
            arity(ins, 1)?;
            let dims: Vec<i64> = ins[0].shape().iter().map(|&d| d as i64).collect();
            one(int_tensor(a.dtype("out_type").unwrap_or(DType::I32), dims)?)
        }
        Op::Reshape => {
            arity(ins, 2)?;
            one(movement::reshape(&ins[0], &ins[1])?)
        }
        Op::ExpandDims => {
            arity(ins, 2)?;
            one(movement::expand_dims(&ins[0], &ins[1])?)
        }
        Op::Squeeze => {
            arity(ins, 1)?;
            one(movement::squeeze(a, &ins[0])?)
        }
        Op::Tile => {
            arity(ins, 2)?;
            one(movement::tile(&ins[0], &ins[1])?)
        }
        Op::Transpose => {
            arity(ins, 2)?;
            one(movement::transpose(&ins[0], &ins[1])?)
        }
        Op::StridedSlice => {
            arity(ins, 4)?;
            one(movement::strided_slice(
                a, &ins[0], &ins[1], &ins[2], &ins[3],
            )?)
        }
        Op::Slice => {
            arity(ins, 3)?;
            one(movement::slice(&ins[0], &ins[1], &ins[2])?)
        }
        Op::Pad => {
            arity(ins, 2)?;
            one(movement::pad(a, &ins[0], &ins[1])?)
        }
        Op::MirrorPad => {
            arity(ins, 2)?;
            one(movement::mirror_pad(a, &ins[0], &ins[1])?)
        }
        Op::Pack => one(movement::pack(a, ins)?),
        Op::Unpack => {
            arity(ins, 1)?;
            movement::unpack(a, &ins[0])
        }
        Op::ConcatV2 => {
            if ins.len() < 2 {
                return Err(format!(
                    "ConcatV2 needs values and an axis, got {} inputs",
                    ins.len()
                ));
            }
            let (axis, values) = ins.split_last().expect("checked");
            one(movement::concat(values, axis)?)
        }
        Op::Split => {
            arity(ins, 2)?;
            movement::split(a, &ins[0], &ins[1])
        }
        Op::SplitV => {
            arity(ins, 3)?;
            movement::split_v(a, &ins[0], &ins[1], &ins[2])
        }
        Op::Fill => {
            arity(ins, 2)?;
            one(movement::fill(&ins[0], &ins[1])?)
        }
        Op::BroadcastTo => {
            arity(ins, 2)?;
            one(movement::broadcast_to_op(&ins[0], &ins[1])?)
        }
        Op::ResizeNearestNeighbor => {
            arity(ins, 2)?;
            one(resize::resize_nearest(a, &ins[0], &ins[1])?)
        }
        Op::ResizeBilinear => {
            arity(ins, 2)?;
            one(resize::resize_bilinear(a, &ins[0], &ins[1])?)
        }
        Op::DepthToSpace => {
            arity(ins, 1)?;
            one(movement::depth_to_space(a, &ins[0])?)
        }
        Op::SpaceToDepth => {
            arity(ins, 1)?;
            one(movement::space_to_depth(a, &ins[0])?)
        }
        Op::Range => {
            arity(ins, 3)?;
            one(elementwise::range(&ins[0], &ins[1], &ins[2])?)
        }
        Op::VariableV2 | Op::Variable | Op::VarHandleOp | Op::ReadVariableOp => Err(format!(
            "{} has no value in the interpreter: freeze the graph first",
            node.op
        )),
        // Not evaluated: resource-variable updates and ops unknown to sgc.
        op @ (Op::AssignVariableOp | Op::Other(_)) => {
            Err(format!("the interpreter does not support op {op}"))
        }
    }
}

/// Checks the number of inputs.
pub(crate) fn arity(ins: &[Tensor], n: usize) -> Res<()> {
    if ins.len() != n {
        return Err(format!("expected {n} inputs, got {}", ins.len()));
    }
    Ok(())
}

/// An integer tensor of dtype `dt` (i32 or i64) from i64 values.
pub(crate) fn int_tensor(dt: DType, v: Vec<i64>) -> Res<Tensor> {
    let n = v.len();
    match dt {
        DType::I32 => {
            let mut out = Vec::with_capacity(n);
            for x in v {
                out.push(i32::try_from(x).map_err(|_| format!("{x} does not fit in i32"))?);
            }
            Ok(Tensor::from_vec(vec![n], out))
        }
        DType::I64 => Ok(Tensor::from_vec(vec![n], v)),
        d => Err(format!("integer output type must be i32 or i64, got {d}")),
    }
}

/// The values of an index/shape/axis operand as i64, with the operand's role in errors.
pub(crate) fn ints_of(t: &Tensor, what: &str) -> Res<Vec<i64>> {
    t.to_i64s().map_err(|e| format!("{what}: {e}"))
}

/// Bytes per element, or an error for strings.
pub(crate) fn elem_size(t: &Tensor) -> Res<usize> {
    t.dtype()
        .size()
        .ok_or_else(|| format!("{} tensors are not supported", t.dtype()))
}

/// A tensor from bytes the interpreter built itself (their length is right by construction).
pub(crate) fn from_bytes(dtype: DType, shape: Vec<usize>, bytes: Vec<u8>) -> Res<Tensor> {
    Tensor::new(dtype, shape, bytes.into())
}

/// The most elements a tensor built by the interpreter may have (a guard against absurd shapes in bad
/// graphs, far above any real weight).
pub(crate) const MAX_ELEMENTS: usize = 1 << 31;

/// Fails when a shape has more than [`MAX_ELEMENTS`] elements.
pub(crate) fn check_numel(shape: &[usize]) -> Res<()> {
    let n = shape
        .iter()
        .try_fold(1usize, |p, &d| p.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMENTS);
    match n {
        Some(_) => Ok(()),
        None => Err(format!("shape {shape:?} has too many elements")),
    }
}

/// Row-major strides of a shape, in elements.
pub(crate) fn strides_of(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Typed element data of a tensor, one variant per supported dtype.
pub(crate) enum Data {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    Bool(Vec<bool>),
}

impl Data {
    pub(crate) fn of(t: &Tensor) -> Res<Data> {
        Ok(match t.dtype() {
            DType::F32 => Data::F32(t.to_vec()?),
            DType::F64 => Data::F64(t.to_vec()?),
            DType::I8 => Data::I8(t.to_vec()?),
            DType::I16 => Data::I16(t.to_vec()?),
            DType::I32 => Data::I32(t.to_vec()?),
            DType::I64 => Data::I64(t.to_vec()?),
            DType::U8 => Data::U8(t.to_vec()?),
            DType::Bool => Data::Bool(t.to_vec()?),
            d => return Err(format!("{d} tensors are not supported by the interpreter")),
        })
    }
}

/// The values of an f32 tensor, or an error naming the operand.
pub(crate) fn f32s(t: &Tensor, what: &str) -> Res<Vec<f32>> {
    t.to_vec::<f32>().map_err(|e| format!("{what}: {e}"))
}

/// A tensor from typed values with a checked element count.
pub(crate) fn tensor_of<T: Element>(shape: Vec<usize>, v: Vec<T>) -> Res<Tensor> {
    if shape.iter().product::<usize>() != v.len() {
        return Err(format!(
            "internal: shape {shape:?} does not match {} values",
            v.len()
        ));
    }
    Ok(Tensor::from_vec(shape, v))
}

/// The value of a boolean attribute, false when absent.
pub(crate) fn flag(a: &Attrs, name: &str) -> bool {
    a.bool(name).unwrap_or(false)
}
