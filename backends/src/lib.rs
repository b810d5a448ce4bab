//! IR out: TensorFlow Lite flatbuffers.
