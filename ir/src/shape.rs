//! Static shape and dtype inference.
//!
//! [`infer`] computes the [`ValueInfo`] of every output of one node from its inputs' infos and, where
//! the result depends on values (the shape operand of `Reshape`, `Tile` multiples, slice bounds …), from
//! the constant values of its inputs.

use crate::error::Result;
use crate::graph::{Node, ValueInfo};
use crate::tensor::Tensor;

/// The infos of `node`'s outputs. `inputs[i]` is the info of input slot `i`; `consts[i]` its value when
/// it is a constant.
pub fn infer(node: &Node, inputs: &[ValueInfo], consts: &[Option<&Tensor>]) -> Result<Vec<ValueInfo>> {
    let _ = (node, inputs, consts);
    todo!("shape inference")
}
