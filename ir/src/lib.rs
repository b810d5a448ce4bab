//! The one graph type of sgc and everything that reasons about values in it.
//!
//! Data flows one way through the compiler: a frontend builds a [`Graph`], passes rewrite it, a backend
//! serialises it. This crate knows nothing about any file format: TensorFlow's enum values live in
//! `sgc-frontends`, TFLite's in `sgc-backends`.
//!
//! - [`graph`]: the dataflow graph (petgraph), nodes, data and control edges, multi-output values.
//! - [`op`]: the op kinds, named as TensorFlow names them.
//! - [`attr`]: node attributes.
//! - [`dtype`], [`tensor`]: element types and constant storage (shared, never copied needlessly).
//! - [`shape`]: static shape inference for every op sgc supports.
//! - [`fusion`]: when an add becomes the bias input of the convolution before it, and when an
//!   activation becomes its fused activation.
//! - [`interp`]: a reference interpreter, used for constant folding, pass validation and tests.

pub mod attr;
pub mod backing;
pub mod dtype;
pub mod error;
pub mod fusion;
pub mod graph;
pub mod interp;
pub mod op;
pub mod shape;
pub mod tensor;
#[doc(hidden)]
pub mod testing;
mod verify;

pub use attr::{Attr, Attrs};
pub use backing::Backing;
pub use dtype::DType;
pub use error::{IrError, Result};
pub use graph::{Edge, Graph, Node, NodeIndex, Output, ValueInfo, ValueRef};
pub use op::Op;
pub use shape::{ConvAttrs, ConvPadding};
pub use tensor::Tensor;
