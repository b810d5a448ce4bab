//! The reference interpreter: evaluates IR ops on constant tensors.
//!
//! Written for clarity, not speed: it is the ground truth that constant folding uses and that tests check
//! passes and backends against, and it must itself match TensorFlow on the fixtures.

use crate::error::Result;
use crate::graph::Node;
use crate::tensor::Tensor;

/// Evaluates one node on its input values, giving one tensor per output port.
pub fn eval(node: &Node, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
    let _ = (node, inputs);
    todo!("interpreter")
}
