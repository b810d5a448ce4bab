//! The TensorFlow Lite backend: an [`sgc_ir::Graph`] in, `.tflite` flatbuffer bytes out.
//!
//! Two steps. [`lower`] walks the graph and produces a [`ModelPlan`]: TFLite tensors (with their constant
//! data, filters already in TFLite's layouts) and operators (builtin code, options, tensor indices), with
//! one `match` arm per IR op. [`serialize_to`] then writes the plan with flatbuffers' low-level builder
//! against the hand-written [`schema`] subset, streaming the constants' data to the output
//! ([`serialize`]: into memory). [`reader`] reads models back (tests and reports).

pub mod flexbuffer;
pub mod full_int8;
pub mod gptq;
pub mod lower;
pub mod quant;
pub mod reader;
pub mod schema;

#[cfg(test)]
mod custom_tests;
#[cfg(test)]
mod tests;

use bytes::Bytes;
use flatbuffers::{FlatBufferBuilder, Push, PushAlignment, WIPOffset};
use sgc_ir::{DType, Graph, NodeIndex};

use schema::BuiltinOptions;

/// Why a graph could not be written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BackendError {
    /// One node cannot be lowered: an op without a TFLite lowering, a missing static shape, an
    /// unsupported attribute …
    #[error("node '{node}' (op {op}): {reason}")]
    Node {
        node: String,
        op: String,
        reason: String,
    },
    /// The node's op has no TFLite lowering (and is not emitted as a custom op): an unsupported op, as
    /// opposed to a node that could be lowered but for its shapes or attributes.
    #[error("node '{node}' (op {op}): no TFLite lowering")]
    NoLowering { node: String, op: String },
    /// A problem with the graph as a whole (its inputs, outputs, size).
    #[error("{0}")]
    Graph(String),
}

/// The `min_runtime_version` written into every model: a fixed value, the LiteRT release in which all of
/// the builtins sgc emits exist (`RANDOM_STANDARD_NORMAL` is the newest of them).
pub const MIN_RUNTIME_VERSION: &str = "2.8.0";

/// Writes `graph` as a `.tflite` model. The same graph always gives the same bytes.
pub fn write_tflite(graph: &Graph) -> Result<Vec<u8>, BackendError> {
    write_tflite_with(graph, &BackendOptions::default())
}

/// [`write_tflite`] with options (which ops become custom ops, and how they are encoded).
pub fn write_tflite_with(graph: &Graph, options: &BackendOptions) -> Result<Vec<u8>, BackendError> {
    serialize(&plan_with(graph, options)?)
}

/// The model plan of `graph`, to serialise ([`serialize_to`] streams it to a file). A full-integer
/// model takes calibrated ranges: [`lower::lower_with`], then [`full_int8::full_integer`].
pub fn plan_with(graph: &Graph, options: &BackendOptions) -> Result<ModelPlan, BackendError> {
    if options.full_integer() {
        return Err(BackendError::Graph(
            "a full-integer model needs calibrated ranges: lower, calibrate and rewrite with full_int8"
                .into(),
        ));
    }
    lower::lower_with(graph, options)
}

/// Serialises the TensorFlow `NodeDef` of a node (the backend knows no TensorFlow format: the driver
/// passes the frontend's encoder in). Flex ops carry these bytes.
pub type NodeDefEncoder = fn(&Graph, NodeIndex) -> Vec<u8>;

/// How the backend writes ops without a builtin lowering.
///
/// Ops sgc does not know ([`sgc_ir::Op::Other`]) always become TFLite CUSTOM operators whose
/// `custom_code` is the TensorFlow op name and whose `custom_options` are the node's attributes as a
/// FlexBuffers map (attributes starting with `_`, such as `_output_shapes`, are left out). Known ops that
/// have no lowering (TF1 control flow, variables …) stay errors unless named in `custom_ops`.
#[derive(Debug, Clone, Default)]
pub struct BackendOptions {
    /// TensorFlow op names to emit as custom ops even when they have a builtin lowering.
    pub custom_ops: Vec<String>,
    /// Emit custom ops in the Flex encoding instead (`custom_code` "Flex" + op name, options a
    /// FlexBuffers vector `[op name, NodeDef bytes]`), with this NodeDef encoder.
    pub flex: Option<NodeDefEncoder>,
    /// How constant conv and dense weights are stored (`--quantize`).
    pub weights: quant::WeightMode,
    /// Conv and dense nodes (by name) whose weights take another mode than `weights`
    /// (`--quantize-layer`, `--quantize-keep-float`).
    pub layer_weights: std::collections::HashMap<String, quant::WeightMode>,
}

impl BackendOptions {
    /// Some weights are [`quant::WeightMode::Int8`]: the model is full-integer, which takes
    /// calibrated ranges ([`full_int8`]).
    pub fn full_integer(&self) -> bool {
        let int8 = quant::WeightMode::Int8;
        self.weights == int8 || self.layer_weights.values().any(|&m| m == int8)
    }
}

/// Constant bytes of one tensor: shared with the IR when no layout change was needed.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    Shared(Bytes),
    Owned(Vec<u8>),
    /// `source` (of `shape`, elements of `elem` bytes) transposed by `perm`, computed only while the
    /// model is written, one tensor at a time: the permuted copies of all the conv filters (most of a
    /// model's bytes) never exist at once.
    Permuted {
        source: Bytes,
        shape: Vec<usize>,
        perm: &'static [usize],
        elem: usize,
    },
    /// Float32 weights `source` stored as int8 or float16 (per channel along `view`), then transposed
    /// by `perm` (of the source `shape`) if any: computed while the model is written, like `Permuted`.
    Quantized {
        source: Bytes,
        shape: Vec<usize>,
        view: quant::ChannelView,
        perm: Option<&'static [usize]>,
        to: quant::StoredAs,
        /// The integer values chosen by data ([`gptq`]), one byte each in TFLite's layout; `None`:
        /// each weight rounded to its nearest step.
        rounded: Option<std::sync::Arc<[u8]>>,
    },
}

impl TensorData {
    pub fn len(&self) -> usize {
        match self {
            TensorData::Shared(b) => b.len(),
            TensorData::Owned(v) => v.len(),
            TensorData::Permuted { source, .. } => source.len(),
            TensorData::Quantized { source, to, .. } => to.stored_len(source.len() / 4),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes to store (computed, for a permuted constant).
    pub fn bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        match self {
            TensorData::Shared(b) => std::borrow::Cow::Borrowed(b),
            TensorData::Owned(v) => std::borrow::Cow::Borrowed(v),
            TensorData::Permuted {
                source,
                shape,
                perm,
                elem,
            } => std::borrow::Cow::Owned(lower::transpose_bytes(source, shape, perm, *elem)),
            TensorData::Quantized {
                source,
                shape,
                view,
                perm,
                to,
                rounded,
            } => {
                let laid_out = match rounded {
                    Some(values) => values.to_vec(),
                    None => {
                        let stored = quant::encode(source, *view, to);
                        let elem = stored.len() / shape.iter().product::<usize>().max(1);
                        match perm {
                            Some(p) => lower::transpose_bytes(&stored, shape, p, elem),
                            None => stored,
                        }
                    }
                };
                std::borrow::Cow::Owned(match to {
                    quant::StoredAs::Int4(_) => quant::pack_int4(&laid_out),
                    _ => laid_out,
                })
            }
        }
    }
}

/// One TFLite tensor to write.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorPlan {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<i32>,
    /// Constant contents (row-major, little-endian); `None` for activations.
    pub data: Option<TensorData>,
    /// The scales of a quantized tensor.
    pub quantization: Option<quant::Quantization>,
}

impl TensorPlan {
    /// The TFLite TensorType: the dtype's, except for int4 weights (a type the IR has no use for).
    pub fn tflite_type(&self) -> Option<i8> {
        match &self.data {
            Some(TensorData::Quantized {
                to: quant::StoredAs::Int4(_),
                ..
            }) => Some(schema::tensor_type::INT4),
            _ => tensor_type(self.dtype),
        }
    }
}

/// The code of an operator: a builtin, or a custom op by name.
///
/// A custom op has `builtin` = `schema::builtin::CUSTOM` and `custom: Some(custom_code)`; its FlexBuffers
/// options are in [`OpPlan::custom_options`]. `version` is the operator version the op's inputs need
/// (TRANSPOSE_CONV with a bias input is version 3); ops of one code but different versions get one
/// operator code each, as TensorFlow's converter writes them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpCode {
    pub builtin: i32,
    pub custom: Option<String>,
    pub version: i32,
}

/// One TFLite operator to write.
#[derive(Debug, Clone, PartialEq)]
pub struct OpPlan {
    pub code: OpCode,
    pub options: BuiltinOptions,
    /// Tensor indices; -1 for an omitted optional input.
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    /// `custom_options` (FlexBuffers) of a CUSTOM operator.
    pub custom_options: Option<Vec<u8>>,
}

/// A lowered model, ready to serialise: one subgraph and its `serving_default` signature.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelPlan {
    pub tensors: Vec<TensorPlan>,
    pub operators: Vec<OpPlan>,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    /// `(name, tensor)` pairs of the signature's inputs and outputs.
    pub signature_inputs: Vec<(String, i32)>,
    pub signature_outputs: Vec<(String, i32)>,
    /// The weights stored for [`quant::WeightMode::Int8`]: their ops may compute in int8 when
    /// [`full_int8::full_integer`] rewrites the plan (the others keep their float compute). Not
    /// written to the model.
    pub full_int8_weights: std::collections::HashSet<i32>,
}

/// Flatbuffers (with 32-bit offsets) cannot exceed 2 GiB; beyond that TFLite stores buffers after the
/// flatbuffer (`Buffer.offset`/`size`), which sgc does not write yet.
const MAX_FLATBUFFER: usize = (1 << 31) - (1 << 20);

/// A zero-sized value whose only effect when pushed is to raise the builder's minimum alignment to 16,
/// so that `finish` pads the whole buffer to a multiple of 16: offsets counted from the end (which is
/// how the builder aligns) then equal offsets counted from the start of the file.
struct Align16;

impl Push for Align16 {
    type Output = ();
    unsafe fn push(&self, _dst: &mut [u8], _written_len: usize) {}
    fn size() -> usize {
        0
    }
    fn alignment() -> PushAlignment {
        PushAlignment::new(16)
    }
}

/// `N` bytes the builder counts as written but never touches: the constants' data region, which
/// [`serialize_to`] writes itself, straight to the output (the builder's buffer is zero-allocated, so
/// its pages there are never made resident).
struct Gap<const K: u32>;

impl<const K: u32> Push for Gap<K> {
    type Output = ();
    unsafe fn push(&self, _dst: &mut [u8], _written_len: usize) {}
    fn size() -> usize {
        1 << K
    }
    fn alignment() -> PushAlignment {
        PushAlignment::new(1)
    }
}

/// Pushes a [`Gap`] of `n` bytes (as powers of two).
fn push_gap(fbb: &mut FlatBufferBuilder<'_>, n: usize) {
    for _ in 0..n >> 20 {
        fbb.push(Gap::<20>);
    }
    macro_rules! bits {
        ($($k:literal)*) => {$(
            if n & (1 << $k) != 0 {
                fbb.push(Gap::<$k>);
            }
        )*};
    }
    bits!(19 18 17 16 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1 0);
}

/// Where one `[ubyte]` vector of constant data lies: `used` is the builder's used space after its
/// length prefix (its offset), `pad` the zeros after the data that make the data's first byte
/// 16-byte aligned in the finished file (`force_align: 16` of `Buffer.data`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DataVector {
    len: usize,
    pad: usize,
    used: usize,
}

/// The layout of the data vectors, created in order at the back of the buffer as the builder would
/// create them (it writes back to front): before each, zeros so that the builder's used space after
/// the data is a multiple of 16 (offsets counted from the end then equal offsets counted from the
/// start of a 16-aligned file), then the data, then its u32 length.
fn data_layout(lens: impl IntoIterator<Item = usize>) -> (Vec<DataVector>, usize) {
    let mut used = 0usize;
    let layout = lens
        .into_iter()
        .map(|len| {
            let pad = (16 - (used + len) % 16) % 16;
            used += pad + len + 4;
            DataVector { len, pad, used }
        })
        .collect();
    (layout, used)
}

/// An upper bound on the bytes of the constants' data, with their alignment padding.
fn data_bound(plan: &ModelPlan) -> usize {
    plan.tensors
        .iter()
        .filter_map(|t| t.data.as_ref())
        .map(|d| d.len() + 16)
        .sum()
}

/// An upper bound on the bytes of everything but the constants' data: tables, vectors and strings.
fn metadata_bound(plan: &ModelPlan) -> usize {
    const TABLE: usize = 128; // a table with its vtable, offsets and alignment padding
    let tensors: usize = plan
        .tensors
        .iter()
        .map(|t| {
            let q = t
                .quantization
                .as_ref()
                .map_or(0, |q| TABLE + 12 * q.scale.len() + 16);
            TABLE + t.name.len() + 4 * t.shape.len() + 16 + q
        })
        .sum();
    let operators: usize = plan
        .operators
        .iter()
        .map(|o| {
            2 * TABLE
                + 4 * (o.inputs.len() + o.outputs.len())
                + o.custom_options.as_ref().map_or(0, Vec::len)
                + o.code.custom.as_ref().map_or(0, String::len)
                + 16
        })
        .sum();
    let signature: usize = plan
        .signature_inputs
        .iter()
        .chain(&plan.signature_outputs)
        .map(|(name, _)| TABLE + name.len())
        .sum();
    // buffers (one table each), inputs/outputs, fixed strings and tables.
    let rest = TABLE * (plan.tensors.len() + 16) + 4 * (plan.inputs.len() + plan.outputs.len());
    tensors + operators + signature + rest + 4096
}

/// The TFLite TensorType of an IR dtype.
pub fn tensor_type(dtype: DType) -> Option<i8> {
    use schema::tensor_type as t;
    Some(match dtype {
        DType::F32 => t::FLOAT32,
        DType::F16 => t::FLOAT16,
        DType::F64 => t::FLOAT64,
        DType::I8 => t::INT8,
        DType::I16 => t::INT16,
        DType::I32 => t::INT32,
        DType::I64 => t::INT64,
        DType::U8 => t::UINT8,
        DType::Bool => t::BOOL,
        DType::String => return None,
    })
}

/// Serialises a plan into memory (see [`serialize_to`]).
pub fn serialize(plan: &ModelPlan) -> Result<Vec<u8>, BackendError> {
    let mut out = Vec::with_capacity(data_bound(plan) + metadata_bound(plan));
    match serialize_to(plan, &mut out) {
        Ok(_) => Ok(out),
        Err(WriteError::Backend(e)) => Err(e),
        // Writing to a Vec does not fail.
        Err(WriteError::Io(e)) => Err(BackendError::Graph(e.to_string())),
    }
}

/// Why a model could not be written to its output.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Writes a plan as a `.tflite` flatbuffer to `out`, returning the bytes written. The constants'
/// data lies at the end of the file, in the standard layout (inside the flatbuffer, each vector
/// 16-byte aligned); the flatbuffer's tables are built in memory over a gap the size of that data,
/// which is then streamed to `out` one tensor at a time (a permuted or quantized weight computed
/// just before it is written): the model is never whole in memory. Constants too large for a
/// flatbuffer (over 2 GB) take the layout TFLite specifies for them instead ([`serialize_external_to`]).
pub fn serialize_to(plan: &ModelPlan, out: &mut impl std::io::Write) -> Result<u64, WriteError> {
    if data_bound(plan) > MAX_FLATBUFFER {
        return serialize_external_to(plan, out);
    }
    let t = tables(plan, Placement::Inside)?;
    let finished = t.fbb.finished_data();
    let head = finished.len() - t.gap;
    out.write_all(&finished[..head])?;
    // The gap, back to front: the last vector created comes first in the file.
    let mut written = head as u64;
    for (k, v) in t.layout.iter().enumerate().rev() {
        let data = t.data(k);
        check_len(k, data.len(), v.len)?;
        out.write_all(&(v.len as u32).to_le_bytes())?;
        out.write_all(&data)?;
        out.write_all(&[0u8; 16][..v.pad])?;
        written += (4 + v.len + v.pad) as u64;
    }
    Ok(written)
}

/// Writes a plan in TFLite's layout for models over 2 GB, whatever its size: the flatbuffer holds
/// no data, each `Buffer` gives the `offset` (from the start of the file) and `size` of its data,
/// which follows the flatbuffer, each piece 16-byte aligned. [`serialize_to`] uses it when the
/// constants do not fit a flatbuffer; tests use it on small models to run the same code path.
pub fn serialize_external_to(
    plan: &ModelPlan,
    out: &mut impl std::io::Write,
) -> Result<u64, WriteError> {
    // The tables' size does not depend on the offsets (always-present u64 fields): build once to
    // learn where the data starts, then with the real offsets.
    let probe = tables(plan, Placement::After { base: 0 })?;
    let base = probe.fbb.finished_data().len().next_multiple_of(16) as u64;
    let t = tables(plan, Placement::After { base })?;
    let finished = t.fbb.finished_data();
    if finished.len() as u64 > base {
        return Err(
            BackendError::Graph("external buffers: the tables grew between builds".into()).into(),
        );
    }
    out.write_all(finished)?;
    let mut written = finished.len() as u64;
    for (k, &(offset, len)) in t.external.iter().enumerate() {
        out.write_all(&[0u8; 16][..(offset - written) as usize])?;
        let data = t.data(k);
        check_len(k, data.len(), len)?;
        out.write_all(&data)?;
        written = offset + len as u64;
    }
    let end = written.next_multiple_of(16);
    out.write_all(&[0u8; 16][..(end - written) as usize])?;
    Ok(end)
}

fn check_len(k: usize, written: usize, planned: usize) -> Result<(), BackendError> {
    if written != planned {
        return Err(BackendError::Graph(format!(
            "constant {k}: {written} bytes written for the {planned} planned"
        )));
    }
    Ok(())
}

/// Where the constants' data goes.
#[derive(Clone, Copy)]
enum Placement {
    /// In the flatbuffer's buffers, over a gap streamed afterwards.
    Inside,
    /// After the flatbuffer, from byte `base` of the file.
    After { base: u64 },
}

/// The finished flatbuffer of a plan with a [`Gap`] where the constants' data goes, and what the gap
/// holds.
struct Tables<'p> {
    fbb: FlatBufferBuilder<'static>,
    gap: usize,
    layout: Vec<DataVector>,
    /// [`Placement::After`]: each constant's (file offset, length), then the version string's.
    external: Vec<(u64, usize)>,
    constants: Vec<&'p TensorData>,
    version: [u8; 16],
}

impl Tables<'_> {
    /// The bytes of data vector `k`: a constant, or (last) the version string.
    fn data(&self, k: usize) -> std::borrow::Cow<'_, [u8]> {
        match self.constants.get(k) {
            Some(d) => d.bytes(),
            None => std::borrow::Cow::Borrowed(&self.version[..]),
        }
    }
}

fn tables(plan: &ModelPlan, placement: Placement) -> Result<Tables<'_>, BackendError> {
    use schema::*;

    let inside = matches!(placement, Placement::Inside);
    let data_bytes = if inside { data_bound(plan) } else { 0 };
    if data_bytes > MAX_FLATBUFFER || metadata_bound(plan) > MAX_FLATBUFFER {
        return Err(BackendError::Graph(format!(
            "the model's tables take {} bytes: more than a flatbuffer holds",
            data_bytes + metadata_bound(plan)
        )));
    }
    // Growing the builder's buffer would copy it, gap included (making its pages resident): reserve
    // all it will need up front.
    let mut fbb = FlatBufferBuilder::with_capacity(data_bytes + metadata_bound(plan));
    fbb.push(Align16);

    // Buffers: 0 is the empty sentinel, then one per constant tensor, then the metadata string.
    let mut version = [0u8; 16];
    version[..MIN_RUNTIME_VERSION.len()].copy_from_slice(MIN_RUNTIME_VERSION.as_bytes());
    let constants: Vec<&TensorData> = plan
        .tensors
        .iter()
        .filter_map(|t| t.data.as_ref())
        .collect();
    let lens = constants.iter().map(|d| d.len()).chain([version.len()]);
    let (layout, gap, external) = match placement {
        Placement::Inside => {
            let (layout, gap) = data_layout(lens);
            push_gap(&mut fbb, gap);
            (layout, gap, Vec::new())
        }
        Placement::After { base } => {
            let mut at = base;
            let external = lens
                .map(|len| {
                    let here = at;
                    at = (at + len as u64).next_multiple_of(16);
                    (here, len)
                })
                .collect();
            (Vec::new(), 0, external)
        }
    };
    let mut tensor_buffer = vec![0u32; plan.tensors.len()];
    let mut next = 1u32;
    for (i, t) in plan.tensors.iter().enumerate() {
        if t.data.is_some() {
            tensor_buffer[i] = next;
            next += 1;
        }
    }
    let version_buffer = next;
    let buffer_data: Vec<Option<WIPOffset<flatbuffers::Vector<'_, u8>>>> = layout
        .iter()
        .map(|v| Some(WIPOffset::new(v.used as u32)))
        .collect();

    let mut buffers = Vec::with_capacity(buffer_data.len() + external.len() + 1);
    buffers.push({
        let t = fbb.start_table();
        fbb.end_table(t)
    });
    for d in buffer_data.into_iter().flatten() {
        let t = fbb.start_table();
        fbb.push_slot_always(buffer::DATA, d);
        buffers.push(fbb.end_table(t));
    }
    for &(offset, len) in &external {
        let t = fbb.start_table();
        fbb.push_slot_always(buffer::OFFSET, offset);
        fbb.push_slot_always(buffer::SIZE, len as u64);
        buffers.push(fbb.end_table(t));
    }
    let buffers = fbb.create_vector(&buffers);

    let mut tensors = Vec::with_capacity(plan.tensors.len());
    for (i, t) in plan.tensors.iter().enumerate() {
        let ty = t.tflite_type().ok_or_else(|| {
            BackendError::Graph(format!(
                "tensor '{}': {} tensors are not supported",
                t.name, t.dtype
            ))
        })?;
        let shape = fbb.create_vector(&t.shape);
        let name = fbb.create_string(&t.name);
        let q = t.quantization.as_ref().map(|q| {
            let scale = fbb.create_vector(&q.scale);
            let zero_point = fbb.create_vector(&q.zero_point);
            let qt = fbb.start_table();
            fbb.push_slot_always(quantization::SCALE, scale);
            fbb.push_slot_always(quantization::ZERO_POINT, zero_point);
            fbb.push_slot_always(quantization::QUANTIZED_DIMENSION, q.dimension);
            fbb.end_table(qt)
        });
        let tt = fbb.start_table();
        fbb.push_slot_always(tensor::SHAPE, shape);
        fbb.push_slot_always(tensor::TYPE, ty);
        fbb.push_slot_always(tensor::BUFFER, tensor_buffer[i]);
        fbb.push_slot_always(tensor::NAME, name);
        if let Some(q) = q {
            fbb.push_slot_always(tensor::QUANTIZATION, q);
        }
        tensors.push(fbb.end_table(tt));
    }
    let tensors = fbb.create_vector(&tensors);

    // Operator codes in order of first use.
    let mut codes: Vec<&OpCode> = Vec::new();
    let mut operators = Vec::with_capacity(plan.operators.len());
    for op in &plan.operators {
        let index = match codes.iter().position(|c| **c == op.code) {
            Some(i) => i,
            None => {
                codes.push(&op.code);
                codes.len() - 1
            }
        };
        let inputs = fbb.create_vector(&op.inputs);
        let outputs = fbb.create_vector(&op.outputs);
        let options = op.options.write(&mut fbb);
        let custom_options = op.custom_options.as_deref().map(|o| fbb.create_vector(o));
        let t = fbb.start_table();
        fbb.push_slot_always(operator::OPCODE_INDEX, index as u32);
        fbb.push_slot_always(operator::INPUTS, inputs);
        fbb.push_slot_always(operator::OUTPUTS, outputs);
        if let Some(options) = options {
            fbb.push_slot_always(operator::BUILTIN_OPTIONS_TYPE, op.options.tag());
            fbb.push_slot_always(operator::BUILTIN_OPTIONS, options);
        }
        if let Some(custom_options) = custom_options {
            fbb.push_slot_always(operator::CUSTOM_OPTIONS, custom_options);
            fbb.push_slot_always(operator::CUSTOM_OPTIONS_FORMAT, CUSTOM_OPTIONS_FLEXBUFFERS);
        }
        operators.push(fbb.end_table(t));
    }
    let operators = fbb.create_vector(&operators);

    let mut operator_codes = Vec::with_capacity(codes.len());
    for code in codes {
        let custom = code.custom.as_deref().map(|c| fbb.create_string(c));
        let t = fbb.start_table();
        // Readers take the larger of the two codes; the byte saturates at 127 (PLACEHOLDER_FOR_GREATER_OP_CODES).
        fbb.push_slot_always(
            operator_code::DEPRECATED_BUILTIN_CODE,
            code.builtin.min(127) as i8,
        );
        if let Some(c) = custom {
            fbb.push_slot_always(operator_code::CUSTOM_CODE, c);
        }
        fbb.push_slot_always(operator_code::VERSION, code.version);
        fbb.push_slot_always(operator_code::BUILTIN_CODE, code.builtin);
        operator_codes.push(fbb.end_table(t));
    }
    let operator_codes = fbb.create_vector(&operator_codes);

    let sg_inputs = fbb.create_vector(&plan.inputs);
    let sg_outputs = fbb.create_vector(&plan.outputs);
    let sg_name = fbb.create_string("main");
    let t = fbb.start_table();
    fbb.push_slot_always(subgraph::TENSORS, tensors);
    fbb.push_slot_always(subgraph::INPUTS, sg_inputs);
    fbb.push_slot_always(subgraph::OUTPUTS, sg_outputs);
    fbb.push_slot_always(subgraph::OPERATORS, operators);
    fbb.push_slot_always(subgraph::NAME, sg_name);
    let sg = fbb.end_table(t);
    let subgraphs = fbb.create_vector(&[sg]);

    let meta_name = fbb.create_string("min_runtime_version");
    let t = fbb.start_table();
    fbb.push_slot_always(metadata::NAME, meta_name);
    fbb.push_slot_always(metadata::BUFFER, version_buffer);
    let meta = fbb.end_table(t);
    let metadata_vec = fbb.create_vector(&[meta]);

    let maps = |fbb: &mut FlatBufferBuilder, entries: &[(String, i32)]| {
        let mut out = Vec::with_capacity(entries.len());
        for (name, index) in entries {
            let name = fbb.create_string(name);
            let t = fbb.start_table();
            fbb.push_slot_always(tensor_map::NAME, name);
            fbb.push_slot_always(tensor_map::TENSOR_INDEX, *index as u32);
            out.push(fbb.end_table(t));
        }
        out
    };
    let sig_in = maps(&mut fbb, &plan.signature_inputs);
    let sig_in = fbb.create_vector(&sig_in);
    let sig_out = maps(&mut fbb, &plan.signature_outputs);
    let sig_out = fbb.create_vector(&sig_out);
    let key = fbb.create_string("serving_default");
    let t = fbb.start_table();
    fbb.push_slot_always(signature_def::INPUTS, sig_in);
    fbb.push_slot_always(signature_def::OUTPUTS, sig_out);
    fbb.push_slot_always(signature_def::SIGNATURE_KEY, key);
    fbb.push_slot_always(signature_def::SUBGRAPH_INDEX, 0u32);
    let sig = fbb.end_table(t);
    let signature_defs = fbb.create_vector(&[sig]);

    let description = fbb.create_string("sgc");
    let t = fbb.start_table();
    fbb.push_slot_always(model::VERSION, SCHEMA_VERSION);
    fbb.push_slot_always(model::OPERATOR_CODES, operator_codes);
    fbb.push_slot_always(model::SUBGRAPHS, subgraphs);
    fbb.push_slot_always(model::DESCRIPTION, description);
    fbb.push_slot_always(model::BUFFERS, buffers);
    fbb.push_slot_always(model::METADATA, metadata_vec);
    fbb.push_slot_always(model::SIGNATURE_DEFS, signature_defs);
    let root = fbb.end_table(t);
    fbb.finish(root, Some(FILE_IDENTIFIER));
    Ok(Tables {
        fbb,
        gap,
        layout,
        external,
        constants,
        version,
    })
}
