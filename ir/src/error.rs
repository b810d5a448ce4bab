//! Errors that name the node they are about.

/// An error about one node of the graph (or the graph as a whole), with the reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IrError {
    /// Something is wrong with one node: its inputs, attributes, shapes or values.
    #[error("node '{node}': {reason}")]
    Node { node: String, reason: String },
    /// The node's op is one sgc does not know ([`crate::Op::Other`]): nothing can infer its types or
    /// evaluate it. Kept apart from [`IrError::Node`] so that callers can tell an unsupported op (a
    /// limitation) from a broken graph.
    #[error(
        "node '{node}': op {op} is unknown to sgc (shape inference does not support it; to emit it as a \
         TFLite custom op, export the graph with its shapes: as_graph_def(add_shapes=True) writes \
         `_output_shapes`)"
    )]
    UnknownOp { node: String, op: String },
    /// A pass left the graph inconsistent ([`crate::Graph::verify`]): a bug in sgc, not in the input.
    #[error("the IR is inconsistent at node '{node}' (a bug in sgc, please report it): {reason}")]
    Invalid { node: String, reason: String },
    /// The graph has a cycle through the named node.
    #[error("graph has a cycle through node '{node}'")]
    Cycle { node: String },
}

impl IrError {
    pub fn node(node: impl Into<String>, reason: impl Into<String>) -> Self {
        IrError::Node {
            node: node.into(),
            reason: reason.into(),
        }
    }
}

pub type Result<T, E = IrError> = std::result::Result<T, E>;
