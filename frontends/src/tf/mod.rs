//! TensorFlow's protobuf messages (the subset in `frontends/proto/tensorflow.proto`) as prost types, and
//! the descriptor set that text-format parsing needs.
//!
//! Both are generated and checked in: after editing the schema run `cargo run -p sgc-protogen` (the
//! generator crate's test fails while they are stale). Every protobuf `bytes` field is a [`bytes::Bytes`],
//! so decoding from a `Bytes` (e.g. over a memory-mapped file) slices `tensor_content` instead of copying it.

use std::sync::OnceLock;

use prost_reflect::DescriptorPool;

#[allow(clippy::all, clippy::pedantic, missing_docs)]
mod generated {
    include!("generated.rs");
}

pub use generated::*;

/// The serialized `FileDescriptorSet` of the schema (package `tensorflow`).
pub const DESCRIPTOR_SET: &[u8] = include_bytes!("descriptor.bin");

/// The schema's descriptors, decoded once.
pub fn descriptor_pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(DESCRIPTOR_SET).expect("the checked-in descriptor set decodes")
    })
}

/// A static shape (`-1` for an unknown dimension) as TensorFlow writes it.
pub fn shape_proto(dims: &[i64]) -> TensorShapeProto {
    TensorShapeProto {
        dim: dims
            .iter()
            .map(|&size| tensor_shape_proto::Dim {
                size,
                name: String::new(),
            })
            .collect(),
        unknown_rank: false,
    }
}
