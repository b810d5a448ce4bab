//! Errors that name the node they are about.

/// An error about one node of the graph (or the graph as a whole), with the reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IrError {
    /// Something is wrong with one node: its inputs, attributes, shapes or values.
    #[error("node '{node}': {reason}")]
    Node { node: String, reason: String },
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
