//! IR out: TensorFlow Lite flatbuffers.
//!
//! [`write_tflite`] turns a typed, NHWC [`sgc_ir::Graph`] into the bytes of a `.tflite` model that the
//! LiteRT interpreter runs; [`tflite::reader`] reads such files back for tests and reports. [`report`]
//! writes the op-coverage report of `sgc report` (what each op of a graph becomes, or what blocks it).

pub mod report;
pub mod stubs;
pub mod tflite;

pub use tflite::reader::{read_model, ModelInfo, ReadError};
pub use tflite::{write_tflite, write_tflite_with, BackendError, BackendOptions};
