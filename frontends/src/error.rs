//! Frontend errors. Every message starts with the file (or `<bytes>` / `<text>` for in-memory input) and,
//! where one is involved, names the node.

use std::io;

/// Why a TensorFlow graph could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum FrontendError {
    /// The file is missing or unreadable.
    #[error("{file}: cannot read: {source}")]
    Read {
        file: String,
        #[source]
        source: io::Error,
    },
    /// The bytes are not a binary GraphDef (truncated, corrupt, or another format).
    #[error("{file}: not a valid binary GraphDef (truncated or corrupt protobuf): {source}")]
    Decode {
        file: String,
        #[source]
        source: prost::DecodeError,
    },
    /// The text is not a text-format GraphDef. `line` and `column` are 1-based; the column counts
    /// characters.
    #[error("{file}:{line}:{column}: bad GraphDef text format: {message}")]
    Text {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// Two nodes share a name.
    #[error("{file}: node '{node}' is defined more than once")]
    DuplicateNode { file: String, node: String },
    /// An input names a node that is not in the graph.
    #[error("{file}: node '{node}': input '{input}' does not exist")]
    MissingInput {
        file: String,
        node: String,
        input: String,
    },
    /// An input string is malformed (empty name, bad or out-of-range port).
    #[error("{file}: node '{node}': bad input '{input}': {reason}")]
    BadInput {
        file: String,
        node: String,
        input: String,
        reason: String,
    },
    /// A tensor or type attribute uses a dtype sgc cannot represent (e.g. `DT_RESOURCE`, `DT_COMPLEX64`).
    #[error("{file}: node '{node}': {what} has unsupported dtype {dtype}")]
    UnsupportedDType {
        file: String,
        node: String,
        /// What carries the dtype, e.g. `attr 'value'`.
        what: String,
        /// TensorFlow's name of the dtype, e.g. `DT_RESOURCE`.
        dtype: String,
    },
    /// Anything else wrong with one node: a malformed tensor, an empty name, an absurd output count.
    #[error("{file}: node '{node}': {reason}")]
    Node {
        file: String,
        node: String,
        reason: String,
    },
    /// A pickle that is refused (a global outside the format, a broken opcode stream: at `offset`)
    /// or that does not hold StyleGAN networks as the format has them (no offset).
    #[error("{file}: {}{what}", offset.map_or(String::new(), |o| format!("byte {o}: ")))]
    Pickle {
        file: String,
        offset: Option<usize>,
        what: String,
    },
}

impl FrontendError {
    /// The node the error is about, if any.
    pub fn node(&self) -> Option<&str> {
        match self {
            FrontendError::DuplicateNode { node, .. }
            | FrontendError::MissingInput { node, .. }
            | FrontendError::BadInput { node, .. }
            | FrontendError::UnsupportedDType { node, .. }
            | FrontendError::Node { node, .. } => Some(node),
            FrontendError::Read { .. }
            | FrontendError::Decode { .. }
            | FrontendError::Text { .. }
            | FrontendError::Pickle { .. } => None,
        }
    }
}
