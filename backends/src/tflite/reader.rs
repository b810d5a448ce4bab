//! A small `.tflite` reader for tests and reports: op histograms, tensors, buffers, signatures.
//!
//! [`read_model`] first runs flatbuffers' verifier over every table and vector it will touch (so that the
//! `Table` accessors below only read verified memory), then copies the model's structure into plain
//! structs. Buffer contents are not copied: [`ModelInfo::buffer_data`] slices them out of the file.
//! [`ModelInfo::check`] adds TFLite's own rules (sentinel buffer, indices in range, alignment).

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::ops::Range;

use flatbuffers::{
    EndianScalar, Follow, ForwardsUOffset, InvalidFlatbuffer, Table, VOffsetT, Vector, Verifiable,
    Verifier, VerifierOptions,
};

use super::schema::{self, *};

/// Why a file could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("not a readable .tflite model: {0}")]
pub struct ReadError(pub String);

impl From<InvalidFlatbuffer> for ReadError {
    fn from(e: InvalidFlatbuffer) -> Self {
        ReadError(e.to_string())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OperatorCodeInfo {
    pub deprecated_builtin_code: i8,
    pub builtin_code: i32,
    pub custom_code: Option<String>,
    pub version: i32,
}

impl OperatorCodeInfo {
    /// The effective builtin code: readers take the larger of the two fields.
    pub fn code(&self) -> i32 {
        self.builtin_code.max(self.deprecated_builtin_code as i32)
    }

    /// The builtin's schema name (`CONV_2D` …), the custom code for CUSTOM ops, `BUILTIN_<n>` otherwise.
    pub fn name(&self) -> String {
        let code = self.code();
        if code == builtin::CUSTOM {
            if let Some(c) = &self.custom_code {
                return format!("CUSTOM:{c}");
            }
        }
        builtin_name(code)
            .map(str::to_string)
            .unwrap_or_else(|| format!("BUILTIN_{code}"))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub tensor_type: i8,
    pub shape: Vec<i32>,
    pub buffer: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OperatorInfo {
    pub opcode_index: u32,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    pub options_type: u8,
    /// Position of the options table in the file (see [`ModelInfo::option`]).
    pub options_loc: Option<usize>,
    /// Where a custom operator's `custom_options` (FlexBuffers) lie in the file.
    pub custom_options: Option<Range<usize>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SubGraphInfo {
    pub name: Option<String>,
    pub tensors: Vec<TensorInfo>,
    pub operators: Vec<OperatorInfo>,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BufferInfo {
    /// Where the inline data lies in the file.
    pub data: Option<Range<usize>>,
    /// External data (models over 2 GB), relative to the start of the file.
    pub offset: u64,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SignatureInfo {
    pub key: Option<String>,
    pub subgraph_index: u32,
    pub inputs: Vec<(String, u32)>,
    pub outputs: Vec<(String, u32)>,
}

/// The structure of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub version: u32,
    pub description: Option<String>,
    pub operator_codes: Vec<OperatorCodeInfo>,
    pub subgraphs: Vec<SubGraphInfo>,
    pub buffers: Vec<BufferInfo>,
    /// `(name, buffer)` pairs.
    pub metadata: Vec<(String, u32)>,
    pub signatures: Vec<SignatureInfo>,
}

// Marker types: one per table, verifying it and following to a `Table`.
macro_rules! table {
    ($name:ident, |$tv:ident| $verify:expr) => {
        struct $name<'a>(PhantomData<&'a ()>);
        impl<'a> Follow<'a> for $name<'a> {
            type Inner = Table<'a>;
            unsafe fn follow(buf: &'a [u8], loc: usize) -> Table<'a> {
                // SAFETY: only reached through `root`, after the verifier accepted this table.
                unsafe { Table::new(buf, loc) }
            }
        }
        impl Verifiable for $name<'_> {
            fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
                let $tv = v.visit_table(pos)?;
                $verify.finish();
                Ok(())
            }
        }
    };
}

type Tables<'a, T> = ForwardsUOffset<Vector<'a, ForwardsUOffset<T>>>;
type Scalars<'a, T> = ForwardsUOffset<Vector<'a, T>>;
type Str<'a> = ForwardsUOffset<&'a str>;

table!(AnyTable, |t| t);
table!(OperatorCodeT, |t| t
    .visit_field::<i8>(
        "deprecated_builtin_code",
        operator_code::DEPRECATED_BUILTIN_CODE,
        false
    )?
    .visit_field::<Str>("custom_code", operator_code::CUSTOM_CODE, false)?
    .visit_field::<i32>("version", operator_code::VERSION, false)?
    .visit_field::<i32>(
        "builtin_code",
        operator_code::BUILTIN_CODE,
        false
    )?);
table!(TensorT, |t| t
    .visit_field::<Scalars<i32>>("shape", tensor::SHAPE, false)?
    .visit_field::<i8>("type", tensor::TYPE, false)?
    .visit_field::<u32>("buffer", tensor::BUFFER, false)?
    .visit_field::<Str>("name", tensor::NAME, false)?
    .visit_field::<Scalars<i32>>(
        "shape_signature",
        tensor::SHAPE_SIGNATURE,
        false
    )?);
table!(OperatorT, |t| t
    .visit_field::<u32>("opcode_index", operator::OPCODE_INDEX, false)?
    .visit_field::<Scalars<i32>>("inputs", operator::INPUTS, false)?
    .visit_field::<Scalars<i32>>("outputs", operator::OUTPUTS, false)?
    .visit_union::<u8, _>(
        "builtin_options_type",
        operator::BUILTIN_OPTIONS_TYPE,
        "builtin_options",
        operator::BUILTIN_OPTIONS,
        false,
        |_, v, pos| <ForwardsUOffset<AnyTable>>::run_verifier(v, pos),
    )?
    .visit_field::<Scalars<u8>>(
        "custom_options",
        operator::CUSTOM_OPTIONS,
        false
    )?);
table!(SubGraphT, |t| t
    .visit_field::<Tables<TensorT>>("tensors", subgraph::TENSORS, false)?
    .visit_field::<Scalars<i32>>("inputs", subgraph::INPUTS, false)?
    .visit_field::<Scalars<i32>>("outputs", subgraph::OUTPUTS, false)?
    .visit_field::<Tables<OperatorT>>("operators", subgraph::OPERATORS, false)?
    .visit_field::<Str>("name", subgraph::NAME, false)?);
table!(BufferT, |t| t
    .visit_field::<Scalars<u8>>("data", buffer::DATA, false)?
    .visit_field::<u64>("offset", buffer::OFFSET, false)?
    .visit_field::<u64>("size", buffer::SIZE, false)?);
table!(MetadataT, |t| t
    .visit_field::<Str>("name", metadata::NAME, false)?
    .visit_field::<u32>("buffer", metadata::BUFFER, false)?);
table!(TensorMapT, |t| t
    .visit_field::<Str>("name", tensor_map::NAME, false)?
    .visit_field::<u32>(
        "tensor_index",
        tensor_map::TENSOR_INDEX,
        false
    )?);
table!(SignatureDefT, |t| t
    .visit_field::<Tables<TensorMapT>>("inputs", signature_def::INPUTS, false)?
    .visit_field::<Tables<TensorMapT>>("outputs", signature_def::OUTPUTS, false)?
    .visit_field::<Str>("signature_key", signature_def::SIGNATURE_KEY, false)?
    .visit_field::<u32>(
        "subgraph_index",
        signature_def::SUBGRAPH_INDEX,
        false
    )?);
table!(ModelT, |t| t
    .visit_field::<u32>("version", model::VERSION, false)?
    .visit_field::<Tables<OperatorCodeT>>("operator_codes", model::OPERATOR_CODES, false)?
    .visit_field::<Tables<SubGraphT>>("subgraphs", model::SUBGRAPHS, false)?
    .visit_field::<Str>("description", model::DESCRIPTION, false)?
    .visit_field::<Tables<BufferT>>("buffers", model::BUFFERS, false)?
    .visit_field::<Tables<MetadataT>>("metadata", model::METADATA, false)?
    .visit_field::<Tables<SignatureDefT>>(
        "signature_defs",
        model::SIGNATURE_DEFS,
        false
    )?);

// Accessors over verified tables.
fn scalar<'a, T: Follow<'a, Inner = T> + Copy + 'a>(t: &Table<'a>, f: VOffsetT, default: T) -> T {
    // SAFETY: the verifier checked that field `f` of this table holds a `T`.
    unsafe { t.get::<T>(f, Some(default)).unwrap_or(default) }
}

fn string(t: &Table<'_>, f: VOffsetT) -> Option<String> {
    // SAFETY: verified as a string.
    unsafe { t.get::<Str>(f, None) }.map(str::to_string)
}

fn ints(t: &Table<'_>, f: VOffsetT) -> Vec<i32> {
    // SAFETY: verified as a vector of i32.
    unsafe { t.get::<Scalars<i32>>(f, None) }
        .map(|v| v.iter().collect())
        .unwrap_or_default()
}

fn tables<'a>(t: &Table<'a>, f: VOffsetT) -> Vec<Table<'a>> {
    // SAFETY: verified as a vector of tables.
    unsafe { t.get::<Tables<'a, AnyTable<'a>>>(f, None) }
        .map(|v| v.iter().collect())
        .unwrap_or_default()
}

fn tensor_maps(t: &Table<'_>, f: VOffsetT) -> Vec<(String, u32)> {
    tables(t, f)
        .iter()
        .map(|m| {
            (
                string(m, tensor_map::NAME).unwrap_or_default(),
                scalar(m, tensor_map::TENSOR_INDEX, 0u32),
            )
        })
        .collect()
}

/// Reads and verifies the structure of a `.tflite` file.
pub fn read_model(bytes: &[u8]) -> Result<ModelInfo, ReadError> {
    if bytes.len() < 8 || &bytes[4..8] != FILE_IDENTIFIER.as_bytes() {
        return Err(ReadError(format!(
            "missing file identifier {FILE_IDENTIFIER}"
        )));
    }
    let opts = VerifierOptions {
        max_tables: usize::MAX,
        max_apparent_size: usize::MAX,
        ..Default::default()
    };
    let m = flatbuffers::root_with_opts::<ModelT>(&opts, bytes)?;
    let operator_codes = tables(&m, model::OPERATOR_CODES)
        .iter()
        .map(|c| OperatorCodeInfo {
            deprecated_builtin_code: scalar(c, operator_code::DEPRECATED_BUILTIN_CODE, 0i8),
            builtin_code: scalar(c, operator_code::BUILTIN_CODE, 0i32),
            custom_code: string(c, operator_code::CUSTOM_CODE),
            version: scalar(c, operator_code::VERSION, 1i32),
        })
        .collect();
    let subgraphs = tables(&m, model::SUBGRAPHS)
        .iter()
        .map(|s| SubGraphInfo {
            name: string(s, subgraph::NAME),
            tensors: tables(s, subgraph::TENSORS)
                .iter()
                .map(|t| TensorInfo {
                    name: string(t, tensor::NAME).unwrap_or_default(),
                    tensor_type: scalar(t, tensor::TYPE, 0i8),
                    shape: ints(t, tensor::SHAPE),
                    buffer: scalar(t, tensor::BUFFER, 0u32),
                })
                .collect(),
            operators: tables(s, subgraph::OPERATORS)
                .iter()
                .map(|o| OperatorInfo {
                    opcode_index: scalar(o, operator::OPCODE_INDEX, 0u32),
                    inputs: ints(o, operator::INPUTS),
                    outputs: ints(o, operator::OUTPUTS),
                    options_type: scalar(o, operator::BUILTIN_OPTIONS_TYPE, 0u8),
                    // SAFETY: verified as a table (union member).
                    options_loc: unsafe {
                        o.get::<ForwardsUOffset<Table>>(operator::BUILTIN_OPTIONS, None)
                    }
                    .map(|t| t.loc()),
                    // SAFETY: verified as a byte vector.
                    custom_options: unsafe { o.get::<Scalars<u8>>(operator::CUSTOM_OPTIONS, None) }
                        .map(|v| {
                            let start = v.bytes().as_ptr() as usize - bytes.as_ptr() as usize;
                            start..start + v.len()
                        }),
                })
                .collect(),
            inputs: ints(s, subgraph::INPUTS),
            outputs: ints(s, subgraph::OUTPUTS),
        })
        .collect();
    let buffers = tables(&m, model::BUFFERS)
        .iter()
        .map(|b| BufferInfo {
            // SAFETY: verified as a byte vector.
            data: unsafe { b.get::<Scalars<u8>>(buffer::DATA, None) }.map(|v| {
                let start = v.bytes().as_ptr() as usize - bytes.as_ptr() as usize;
                start..start + v.len()
            }),
            offset: scalar(b, buffer::OFFSET, 0u64),
            size: scalar(b, buffer::SIZE, 0u64),
        })
        .collect();
    let metadata = tables(&m, model::METADATA)
        .iter()
        .map(|t| {
            (
                string(t, schema::metadata::NAME).unwrap_or_default(),
                scalar(t, schema::metadata::BUFFER, 0u32),
            )
        })
        .collect();
    let signatures = tables(&m, model::SIGNATURE_DEFS)
        .iter()
        .map(|s| SignatureInfo {
            key: string(s, signature_def::SIGNATURE_KEY),
            subgraph_index: scalar(s, signature_def::SUBGRAPH_INDEX, 0u32),
            inputs: tensor_maps(s, signature_def::INPUTS),
            outputs: tensor_maps(s, signature_def::OUTPUTS),
        })
        .collect();
    Ok(ModelInfo {
        version: scalar(&m, model::VERSION, 0u32),
        description: string(&m, model::DESCRIPTION),
        operator_codes,
        subgraphs,
        buffers,
        metadata,
        signatures,
    })
}

impl ModelInfo {
    /// How often each operator occurs (over all subgraphs), by schema name.
    pub fn op_histogram(&self) -> BTreeMap<String, usize> {
        let mut h = BTreeMap::new();
        for sg in &self.subgraphs {
            for op in &sg.operators {
                let name = self
                    .operator_codes
                    .get(op.opcode_index as usize)
                    .map(|c| c.name())
                    .unwrap_or_else(|| format!("<bad opcode index {}>", op.opcode_index));
                *h.entry(name).or_default() += 1;
            }
        }
        h
    }

    /// The builtin code of an operator of subgraph 0.
    pub fn op_code(&self, op: usize) -> i32 {
        let index = self.subgraphs[0].operators[op].opcode_index as usize;
        self.operator_codes[index].code()
    }

    /// The inline bytes of buffer `i` (empty when it has none).
    pub fn buffer_data<'a>(&self, file: &'a [u8], i: usize) -> &'a [u8] {
        match self.buffers.get(i).and_then(|b| b.data.clone()) {
            Some(r) => &file[r],
            None => &[],
        }
    }

    /// The constant bytes of tensor `t` of subgraph 0.
    pub fn tensor_data<'a>(&self, file: &'a [u8], t: usize) -> &'a [u8] {
        self.buffer_data(file, self.subgraphs[0].tensors[t].buffer as usize)
    }

    /// The total size of inline buffer data.
    pub fn buffer_bytes(&self) -> usize {
        self.buffers
            .iter()
            .filter_map(|b| b.data.as_ref())
            .map(|r| r.len())
            .sum()
    }

    /// A scalar field of an operator's options table (subgraph 0), or `default` when absent.
    pub fn option<T>(&self, file: &[u8], op: usize, field: VOffsetT, default: T) -> T
    where
        T: EndianScalar + Verifiable + Copy + for<'a> Follow<'a, Inner = T>,
    {
        let Some(loc) = self.subgraphs[0].operators[op].options_loc else {
            return default;
        };
        // The options table itself was verified (vtable in bounds); check the field's extent here.
        let opts = VerifierOptions::default();
        let mut v = Verifier::new(&opts, file);
        let ok = v
            .visit_table(loc)
            .and_then(|t| t.visit_field::<T>("option", field, false).map(|_| ()))
            .is_ok();
        if !ok {
            return default;
        }
        // SAFETY: `loc` is a verified table and `field` was just checked to hold a `T`.
        let t = unsafe { Table::new(file, loc) };
        scalar(&t, field, default)
    }

    /// A vector-of-int field of an operator's options table (`ReshapeOptions.new_shape`).
    pub fn option_ints(&self, file: &[u8], op: usize, field: VOffsetT) -> Option<Vec<i32>> {
        let loc = self.subgraphs[0].operators[op].options_loc?;
        let opts = VerifierOptions::default();
        let mut v = Verifier::new(&opts, file);
        v.visit_table(loc)
            .and_then(|t| {
                t.visit_field::<Scalars<i32>>("option", field, false)
                    .map(|_| ())
            })
            .ok()?;
        // SAFETY: verified just above.
        let t = unsafe { Table::new(file, loc) };
        // SAFETY: verified as a vector of i32.
        unsafe { t.get::<Scalars<i32>>(field, None) }.map(|v| v.iter().collect())
    }

    /// TFLite's rules beyond the flatbuffer's structure; each problem found is one line.
    pub fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.version != SCHEMA_VERSION {
            problems.push(format!(
                "version {} (expected {SCHEMA_VERSION})",
                self.version
            ));
        }
        match self.buffers.first() {
            None => problems.push("no buffers (buffer 0 must be the empty sentinel)".into()),
            Some(b) if b.data.as_ref().is_some_and(|r| !r.is_empty()) => {
                problems.push("buffer 0 is not empty".into())
            }
            _ => {}
        }
        for (i, b) in self.buffers.iter().enumerate() {
            if let Some(r) = &b.data {
                if !r.is_empty() && r.start % 16 != 0 {
                    problems.push(format!(
                        "buffer {i} data at offset {} is not 16-byte aligned",
                        r.start
                    ));
                }
            }
        }
        for (i, c) in self.operator_codes.iter().enumerate() {
            if c.deprecated_builtin_code as i32 != c.builtin_code.min(127) {
                problems.push(format!(
                    "operator code {i}: deprecated_builtin_code {} does not match builtin_code {}",
                    c.deprecated_builtin_code, c.builtin_code
                ));
            }
        }
        for (s, sg) in self.subgraphs.iter().enumerate() {
            let nt = sg.tensors.len() as i32;
            for (i, t) in sg.tensors.iter().enumerate() {
                if t.buffer as usize >= self.buffers.len() {
                    problems.push(format!(
                        "subgraph {s} tensor {i} '{}': buffer {} out of range",
                        t.name, t.buffer
                    ));
                }
            }
            let in_range = |x: i32| (0..nt).contains(&x);
            for &x in sg.inputs.iter().chain(&sg.outputs) {
                if !in_range(x) {
                    problems.push(format!("subgraph {s}: io tensor {x} out of range"));
                }
            }
            for (o, op) in sg.operators.iter().enumerate() {
                if op.opcode_index as usize >= self.operator_codes.len() {
                    problems.push(format!(
                        "subgraph {s} op {o}: opcode index {} out of range",
                        op.opcode_index
                    ));
                }
                for &x in &op.inputs {
                    if x != -1 && !in_range(x) {
                        problems.push(format!(
                            "subgraph {s} op {o}: input tensor {x} out of range"
                        ));
                    }
                }
                for &x in &op.outputs {
                    if !in_range(x) {
                        problems.push(format!(
                            "subgraph {s} op {o}: output tensor {x} out of range"
                        ));
                    }
                }
            }
        }
        for sig in &self.signatures {
            let Some(sg) = self.subgraphs.get(sig.subgraph_index as usize) else {
                problems.push(format!("signature {:?}: subgraph out of range", sig.key));
                continue;
            };
            for (name, t) in sig.inputs.iter().chain(&sig.outputs) {
                if *t as usize >= sg.tensors.len() {
                    problems.push(format!(
                        "signature {:?}: '{name}' tensor {t} out of range",
                        sig.key
                    ));
                }
            }
        }
        for (name, b) in &self.metadata {
            if *b as usize >= self.buffers.len() {
                problems.push(format!("metadata '{name}': buffer {b} out of range"));
            }
        }
        problems
    }
}
