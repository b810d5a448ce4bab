//! Import of a decoded [`tf::GraphDef`] into an [`sgc_ir::Graph`].
//!
//! - Nodes keep their TensorFlow names and op names ([`Op::from_name`]; unknown ops become [`Op::Other`]).
//!   The `device` field is dropped.
//! - Inputs are `"name"` (port 0), `"name:port"` or `"^name"` (a control edge); data inputs take slots in
//!   the order they are listed. Nodes may refer to nodes defined later in the file.
//! - A node gets as many outputs as its highest used port + 1, at least one (none for `NoOp` and
//!   `AssignVariableOp`, which have no outputs), and at least the known output
//!   count of its op (`Switch`/`Merge` 2, `Split` `num_split`, `Unpack` `num`, `IdentityN` one per input …)
//!   and the length of its `_output_shapes` attribute.
//! - Output infos are filled where the file states them: `Const` from its tensor, `Placeholder` (and
//!   `PlaceholderWithDefault`, `VariableV2`) from `dtype`/`shape`, and the shapes of any node with
//!   `_output_shapes`. Everything else is left to shape inference.
//! - Attributes convert one to one ([`convert_attr`]). Reference dtypes (`DT_FLOAT_REF` …) become their value
//!   type; dtypes the IR has no [`DType`] for are an error naming the node and attribute.
//! - Tensors ([`convert_tensor`]) keep `tensor_content` as the same [`bytes::Bytes`] (no copy); typed value
//!   fields follow TensorFlow's rule that fewer values than elements repeat the last value (none: zeros).
//!   `DT_HALF` stays [`DType::F16`] with its raw bits. String tensors are stored as, per element, its byte
//!   length as a little-endian `u32` followed by its bytes.
//! - The graph's inputs are its `Placeholder` nodes in file order; its outputs are left empty.

use std::collections::HashMap;

use bytes::Bytes;
use sgc_ir::{Attr, Attrs, DType, Graph, Node, NodeIndex, Op, Tensor, ValueInfo, ValueRef};

use crate::error::FrontendError;
use crate::tf;

/// The largest output count (and so input port) a node may have; more is taken as a corrupt file.
pub const MAX_OUTPUTS: usize = 1 << 16;

/// The largest size a tensor written as typed values (e.g. one splatted `float_val`) may expand to.
pub const MAX_EXPANDED_BYTES: usize = 1 << 30;

/// Imports a GraphDef. `file` names the source in error messages.
pub fn import(def: tf::GraphDef, file: &str) -> Result<Graph, FrontendError> {
    let producer = def.versions.as_ref().map_or(0, |v| v.producer);
    let n = def.node.len();

    // Pass 1: names.
    let mut by_name: HashMap<&str, usize> = HashMap::with_capacity(n);
    for (i, nd) in def.node.iter().enumerate() {
        if nd.name.is_empty() {
            return Err(FrontendError::Node {
                file: file.into(),
                node: format!("<node #{i}>"),
                reason: "the node has an empty name".into(),
            });
        }
        if by_name.insert(nd.name.as_str(), i).is_some() {
            return Err(FrontendError::DuplicateNode {
                file: file.into(),
                node: nd.name.clone(),
            });
        }
    }

    // Pass 2: edges, by position in the file.
    let mut edges: Vec<Vec<InputRef>> = Vec::with_capacity(n);
    let mut max_port: Vec<Option<usize>> = vec![None; n];
    for nd in &def.node {
        let mut ins = Vec::with_capacity(nd.input.len());
        for input in &nd.input {
            let bad = |reason: &str| FrontendError::BadInput {
                file: file.into(),
                node: nd.name.clone(),
                input: input.clone(),
                reason: reason.into(),
            };
            let (name, port) = parse_input(input).map_err(bad)?;
            let &src = by_name
                .get(name)
                .ok_or_else(|| FrontendError::MissingInput {
                    file: file.into(),
                    node: nd.name.clone(),
                    input: input.clone(),
                })?;
            match port {
                Some(port) => {
                    let m = &mut max_port[src];
                    *m = Some(m.map_or(port, |m| m.max(port)));
                    ins.push(InputRef::Data { src, port });
                }
                None => ins.push(InputRef::Control { src }),
            }
        }
        edges.push(ins);
    }
    drop(by_name);

    // Pass 3: nodes.
    let mut graph = Graph::new();
    let mut index: Vec<NodeIndex> = Vec::with_capacity(n);
    for (i, nd) in def.node.into_iter().enumerate() {
        let n_data = edges[i]
            .iter()
            .filter(|e| matches!(e, InputRef::Data { .. }))
            .count();
        let node = convert_node(nd, n_data, max_port[i], producer, file)?;
        let is_input = node.op == Op::Placeholder;
        let idx = graph.add(node);
        if is_input {
            graph.inputs.push(idx);
        }
        index.push(idx);
    }

    // Pass 4: edges.
    for (i, ins) in edges.into_iter().enumerate() {
        let mut slot = 0;
        for e in ins {
            match e {
                InputRef::Data { src, port } => {
                    graph.connect(ValueRef::new(index[src], port), index[i], slot);
                    slot += 1;
                }
                InputRef::Control { src } => graph.connect_control(index[src], index[i]),
            }
        }
    }
    Ok(graph)
}

enum InputRef {
    Data { src: usize, port: usize },
    Control { src: usize },
}

/// Splits an input string into the producing node's name and the port (`None` for a control input).
fn parse_input(input: &str) -> Result<(&str, Option<usize>), &'static str> {
    if let Some(name) = input.strip_prefix('^') {
        if name.is_empty() {
            return Err("a control input needs a node name after '^'");
        }
        if name.contains(':') {
            return Err("a control input has no port");
        }
        return Ok((name, None));
    }
    let Some((name, port)) = input.rsplit_once(':') else {
        if input.is_empty() {
            return Err("the input is empty");
        }
        return Ok((input, Some(0)));
    };
    if name.is_empty() {
        return Err("no node name before ':'");
    }
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the port after ':' must be a non-negative integer");
    }
    match port.parse::<usize>() {
        Ok(p) if p < MAX_OUTPUTS => Ok((name, Some(p))),
        _ => Err("the port is out of range"),
    }
}

fn convert_node(
    nd: tf::NodeDef,
    n_data: usize,
    max_port: Option<usize>,
    producer: i32,
    file: &str,
) -> Result<Node, FrontendError> {
    let node_err = |reason: String| FrontendError::Node {
        file: file.into(),
        node: nd.name.clone(),
        reason,
    };
    let known = known_output_count(&nd.op, &nd.attr, n_data).map_err(node_err)?;

    let mut entries: Vec<(String, tf::AttrValue)> = nd.attr.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut attrs = Attrs::new();
    for (key, value) in entries {
        match convert_attr(value) {
            Ok(Some(a)) => attrs.set(key, a),
            Ok(None) => {}
            Err(AttrError::DType(dtype)) => {
                return Err(FrontendError::UnsupportedDType {
                    file: file.into(),
                    node: nd.name,
                    what: format!("attr '{key}'"),
                    dtype,
                })
            }
            Err(AttrError::Other(reason)) => {
                return Err(FrontendError::Node {
                    file: file.into(),
                    node: nd.name,
                    reason: format!("attr '{key}': {reason}"),
                })
            }
        }
    }

    let op = Op::from_name(&nd.op);
    let output_shapes: &[Option<Vec<i64>>] = match attrs.get("_output_shapes") {
        Some(Attr::Shapes(s)) => s,
        _ => &[],
    };
    // NoOp and AssignVariableOp have no outputs (only control edges leave them); other ops at least one.
    let least = usize::from(!matches!(op, Op::NoOp | Op::AssignVariableOp));
    let count = least
        .max(max_port.map_or(0, |p| p + 1))
        .max(known.unwrap_or(0))
        .max(output_shapes.len());
    if count > MAX_OUTPUTS {
        return Err(FrontendError::Node {
            file: file.into(),
            node: nd.name,
            reason: format!("{count} outputs is more than {MAX_OUTPUTS}"),
        });
    }
    let mut outputs = vec![ValueInfo::default(); count];
    for (info, shape) in outputs.iter_mut().zip(output_shapes) {
        info.shape = shape.clone();
    }

    match &op {
        Op::Const => {
            let Some(t) = attrs.tensor("value") else {
                return Err(FrontendError::Node {
                    file: file.into(),
                    node: nd.name,
                    reason: "a Const needs a tensor attr 'value'".into(),
                });
            };
            outputs[0] = ValueInfo::new(t.dtype(), t.shape().iter().map(|&d| d as i64).collect());
        }
        Op::Placeholder | Op::PlaceholderWithDefault | Op::VariableV2 | Op::Variable => {
            if let Some(d) = attrs.dtype("dtype") {
                outputs[0].dtype = Some(d);
            }
            if let Some(shape) = attrs.shape("shape") {
                // Graphs from before GraphDef version 21 wrote an unknown placeholder shape as a scalar.
                let legacy_unknown =
                    op == Op::Placeholder && producer < 21 && shape.as_deref() == Some(&[]);
                if !legacy_unknown {
                    outputs[0].shape = shape.clone();
                }
            }
        }
        _ => {}
    }

    Ok(Node {
        name: nd.name,
        op,
        attrs,
        outputs,
    })
}

/// The number of outputs an op has by its definition, where that is more than one or depends on attrs.
fn known_output_count(
    op: &str,
    attrs: &HashMap<String, tf::AttrValue>,
    n_data: usize,
) -> Result<Option<usize>, String> {
    let int_attr = |name: &str| -> Result<usize, String> {
        match attrs.get(name).and_then(|a| a.value.as_ref()) {
            Some(tf::attr_value::Value::I(v)) => usize::try_from(*v)
                .ok()
                .filter(|&v| v <= MAX_OUTPUTS)
                .ok_or_else(|| format!("attr '{name}' = {v} is not a valid output count")),
            _ => Err(format!("{op} needs an int attr '{name}'")),
        }
    };
    Ok(Some(match op {
        "Switch" | "RefSwitch" | "Merge" | "RefMerge" => 2,
        "Split" | "SplitV" => int_attr("num_split")?,
        "Unpack" => int_attr("num")?,
        "IdentityN" => {
            let types = match attrs.get("T").and_then(|a| a.value.as_ref()) {
                Some(tf::attr_value::Value::List(l)) => l.r#type.len(),
                _ => 0,
            };
            n_data.max(types)
        }
        "FusedBatchNorm" | "FusedBatchNormV2" => 5,
        "FusedBatchNormV3" => 6,
        "TopKV2" | "Unique" | "BroadcastGradientArgs" => 2,
        _ => return Ok(None),
    }))
}

/// Why one attribute could not be converted.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrError {
    /// A dtype the IR cannot represent, by TensorFlow's name.
    DType(String),
    /// Anything else (a malformed tensor).
    Other(String),
}

/// Converts one attribute value; `None` for an attr with no value set (TensorFlow treats it as absent).
///
/// An empty list becomes `Attr::Ints(vec![])`: the wire format does not say which kind of list it was.
pub fn convert_attr(value: tf::AttrValue) -> Result<Option<Attr>, AttrError> {
    use tf::attr_value::Value;
    let Some(value) = value.value else {
        return Ok(None);
    };
    Ok(Some(match value {
        Value::S(s) => Attr::Str(lossy(&s)),
        Value::I(i) => Attr::Int(i),
        Value::F(f) => Attr::Float(f),
        Value::B(b) => Attr::Bool(b),
        Value::Type(t) => Attr::Type(convert_dtype(t).map_err(AttrError::DType)?),
        Value::Shape(s) => Attr::Shape(convert_shape(&s)),
        Value::Tensor(t) => Attr::Tensor(convert_tensor(t)?),
        Value::Placeholder(p) => Attr::Str(p),
        Value::Func(f) => Attr::Func(f.name),
        Value::List(l) => {
            if !l.s.is_empty() {
                Attr::Strs(l.s.iter().map(|s| lossy(s)).collect())
            } else if !l.i.is_empty() {
                Attr::Ints(l.i)
            } else if !l.f.is_empty() {
                Attr::Floats(l.f)
            } else if !l.b.is_empty() {
                Attr::Bools(l.b)
            } else if !l.r#type.is_empty() {
                Attr::Types(
                    l.r#type
                        .into_iter()
                        .map(convert_dtype)
                        .collect::<Result<_, _>>()
                        .map_err(AttrError::DType)?,
                )
            } else if !l.shape.is_empty() {
                Attr::Shapes(l.shape.iter().map(convert_shape).collect())
            } else if !l.tensor.is_empty() {
                return Err(AttrError::Other(
                    "list(tensor) attributes are not supported".into(),
                ));
            } else if !l.func.is_empty() {
                Attr::Strs(l.func.into_iter().map(|f| f.name).collect())
            } else {
                Attr::Ints(Vec::new())
            }
        }
    }))
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// TensorFlow's `DataType` enum value to a [`DType`]. Reference types map to their value type. The error
/// is TensorFlow's name of the dtype.
pub fn convert_dtype(value: i32) -> Result<DType, String> {
    use tf::DataType as T;
    let base = if value > 100 { value - 100 } else { value };
    Ok(match T::try_from(base) {
        Ok(T::DtFloat) => DType::F32,
        Ok(T::DtHalf) => DType::F16,
        Ok(T::DtDouble) => DType::F64,
        Ok(T::DtInt8) => DType::I8,
        Ok(T::DtInt16) => DType::I16,
        Ok(T::DtInt32) => DType::I32,
        Ok(T::DtInt64) => DType::I64,
        Ok(T::DtUint8) => DType::U8,
        Ok(T::DtBool) => DType::Bool,
        Ok(T::DtString) => DType::String,
        _ => {
            return Err(match T::try_from(value) {
                Ok(t) => t.as_str_name().to_string(),
                Err(_) => format!("<unknown DataType {value}>"),
            })
        }
    })
}

/// A shape; `None` for unknown rank. Dimensions below -1 are read as unknown (-1).
pub fn convert_shape(s: &tf::TensorShapeProto) -> Option<Vec<i64>> {
    if s.unknown_rank {
        return None;
    }
    Some(s.dim.iter().map(|d| d.size.max(-1)).collect())
}

/// Converts a TensorProto. `tensor_content` is shared, not copied.
pub fn convert_tensor(t: tf::TensorProto) -> Result<Tensor, AttrError> {
    let other = |s: String| AttrError::Other(s);
    let dtype = convert_dtype(t.dtype).map_err(AttrError::DType)?;
    let shape_proto = t.tensor_shape.unwrap_or_default();
    if shape_proto.unknown_rank {
        return Err(other("a tensor value needs a known shape".into()));
    }
    let shape = shape_proto
        .dim
        .iter()
        .map(|d| usize::try_from(d.size))
        .collect::<Result<Vec<usize>, _>>()
        .map_err(|_| other("a tensor value needs a known shape".into()))?;
    let numel = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| other(format!("{dtype}{shape:?} has too many elements")))?;

    let Some(size) = dtype.size() else {
        if !t.tensor_content.is_empty() {
            return Err(other(
                "string tensors in tensor_content are not supported".into(),
            ));
        }
        let data = expand_strings(&t.string_val, numel).map_err(other)?;
        return Tensor::new(dtype, shape, data).map_err(other);
    };
    let nbytes = numel
        .checked_mul(size)
        .ok_or_else(|| other(format!("{dtype}{shape:?} has too many elements")))?;

    if !t.tensor_content.is_empty() {
        if t.tensor_content.len() != nbytes {
            return Err(other(format!(
                "tensor_content holds {} bytes, {dtype}{shape:?} needs {nbytes}",
                t.tensor_content.len()
            )));
        }
        return Tensor::new(dtype, shape, t.tensor_content).map_err(other);
    }
    if nbytes > MAX_EXPANDED_BYTES {
        return Err(other(format!(
            "{dtype}{shape:?} written as typed values would expand to {nbytes} bytes"
        )));
    }
    let data = match dtype {
        DType::F32 => expand(&t.float_val, numel, |v, o| o.extend(v.to_le_bytes())),
        DType::F64 => expand(&t.double_val, numel, |v, o| o.extend(v.to_le_bytes())),
        DType::I32 => expand(&t.int_val, numel, |v, o| o.extend(v.to_le_bytes())),
        DType::I16 => expand(&t.int_val, numel, |v, o| o.extend((v as i16).to_le_bytes())),
        DType::I8 => expand(&t.int_val, numel, |v, o| o.push(v as i8 as u8)),
        DType::U8 => expand(&t.int_val, numel, |v, o| o.push(v as u8)),
        DType::I64 => expand(&t.int64_val, numel, |v, o| o.extend(v.to_le_bytes())),
        DType::Bool => expand(&t.bool_val, numel, |v, o| o.push(v as u8)),
        DType::F16 => expand(&t.half_val, numel, |v, o| {
            o.extend((v as u16).to_le_bytes())
        }),
        DType::String => unreachable!("strings have no element size"),
    }
    .map_err(other)?;
    debug_assert_eq!(data.len(), nbytes);
    Tensor::new(dtype, shape, Bytes::from(data)).map_err(other)
}

/// Little-endian bytes of `numel` elements from `values`: the last value repeats to fill, none gives zeros.
fn expand<T: Copy + Default>(
    values: &[T],
    numel: usize,
    write: impl Fn(T, &mut Vec<u8>),
) -> Result<Vec<u8>, String> {
    if values.len() > numel {
        return Err(format!(
            "{} values for a tensor of {numel} elements",
            values.len()
        ));
    }
    let mut out = Vec::new();
    for &v in values {
        write(v, &mut out);
    }
    let last = values.last().copied().unwrap_or_default();
    let mut one = Vec::new();
    write(last, &mut one);
    let rest = numel - values.len();
    out.reserve(rest * one.len());
    for _ in 0..rest {
        out.extend_from_slice(&one);
    }
    Ok(out)
}

fn expand_strings(values: &[Bytes], numel: usize) -> Result<Bytes, String> {
    if values.len() > numel {
        return Err(format!(
            "{} values for a tensor of {numel} elements",
            values.len()
        ));
    }
    let empty = Bytes::new();
    let last = values.last().unwrap_or(&empty);
    let total = values
        .iter()
        .map(|v| v.len() + 4)
        .sum::<usize>()
        .checked_add((numel - values.len()).saturating_mul(last.len() + 4))
        .filter(|&t| t <= MAX_EXPANDED_BYTES)
        .ok_or_else(|| format!("a string tensor of {numel} elements is too large"))?;
    let mut out = Vec::with_capacity(total);
    for v in values
        .iter()
        .chain(std::iter::repeat_n(last, numel - values.len()))
    {
        let len = u32::try_from(v.len()).map_err(|_| "a string element is too long".to_string())?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(v);
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(dtype: tf::DataType, dims: &[i64]) -> tf::TensorProto {
        tf::TensorProto {
            dtype: dtype as i32,
            tensor_shape: Some(tf::shape_proto(dims)),
            ..Default::default()
        }
    }

    #[test]
    fn input_syntax() {
        assert_eq!(parse_input("a"), Ok(("a", Some(0))));
        assert_eq!(parse_input("a/b_1:0"), Ok(("a/b_1", Some(0))));
        assert_eq!(parse_input("a:12"), Ok(("a", Some(12))));
        assert_eq!(parse_input("^a/b"), Ok(("a/b", None)));
        for bad in [
            "",
            "^",
            ":0",
            "a:",
            "a:x",
            "a:-1",
            "a:+1",
            "a: 1",
            "^a:1",
            "a:99999999999999999999",
        ] {
            assert!(parse_input(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse_input(&format!("a:{MAX_OUTPUTS}")).is_err());
    }

    #[test]
    fn typed_values_repeat_the_last_one() {
        let mut t = tensor(tf::DataType::DtFloat, &[2, 3]);
        t.float_val = vec![1.5];
        let t = convert_tensor(t).unwrap();
        assert_eq!(t.shape(), &[2, 3]);
        assert_eq!(t.to_vec::<f32>().unwrap(), vec![1.5; 6]);

        let mut t = tensor(tf::DataType::DtInt32, &[4]);
        t.int_val = vec![1, 2];
        assert_eq!(
            convert_tensor(t).unwrap().to_vec::<i32>().unwrap(),
            vec![1, 2, 2, 2]
        );

        let t = tensor(tf::DataType::DtInt64, &[3]);
        assert_eq!(
            convert_tensor(t).unwrap().to_vec::<i64>().unwrap(),
            vec![0, 0, 0]
        );

        let mut t = tensor(tf::DataType::DtBool, &[1, 3]);
        t.bool_val = vec![true, false];
        assert_eq!(
            convert_tensor(t).unwrap().to_vec::<bool>().unwrap(),
            vec![true, false, false]
        );

        let mut t = tensor(tf::DataType::DtInt64, &[2]);
        t.int64_val = vec![-7, 1 << 40];
        assert_eq!(
            convert_tensor(t).unwrap().to_vec::<i64>().unwrap(),
            vec![-7, 1 << 40]
        );

        let mut t = tensor(tf::DataType::DtDouble, &[]);
        t.double_val = vec![0.25];
        assert_eq!(
            convert_tensor(t).unwrap().to_vec::<f64>().unwrap(),
            vec![0.25]
        );

        let mut t = tensor(tf::DataType::DtUint8, &[3]);
        t.int_val = vec![255, 7];
        assert_eq!(
            convert_tensor(t).unwrap().to_vec::<u8>().unwrap(),
            vec![255, 7, 7]
        );

        let mut t = tensor(tf::DataType::DtInt8, &[2]);
        t.int_val = vec![-3];
        assert_eq!(
            convert_tensor(t).unwrap().to_vec::<i8>().unwrap(),
            vec![-3, -3]
        );

        let mut t = tensor(tf::DataType::DtInt16, &[2]);
        t.int_val = vec![-300, 300];
        assert_eq!(
            convert_tensor(t).unwrap().to_vec::<i16>().unwrap(),
            vec![-300, 300]
        );
    }

    #[test]
    fn half_values_stay_f16_bits() {
        // 1.0 = 0x3c00, -2.0 = 0xc000 (sign-extended as TF writes it, or not).
        let mut t = tensor(tf::DataType::DtHalf, &[3]);
        t.half_val = vec![0x3c00, 0xc000u16 as i16 as i32];
        let t = convert_tensor(t).unwrap();
        assert_eq!(t.dtype(), DType::F16);
        assert_eq!(t.bytes().as_ref(), &[0x00, 0x3c, 0x00, 0xc0, 0x00, 0xc0]);
    }

    #[test]
    fn strings_are_length_prefixed() {
        let mut t = tensor(tf::DataType::DtString, &[3]);
        t.string_val = vec![Bytes::from_static(b"ab"), Bytes::from_static(b"")];
        let t = convert_tensor(t).unwrap();
        assert_eq!(t.dtype(), DType::String);
        assert_eq!(
            t.bytes().as_ref(),
            &[2, 0, 0, 0, b'a', b'b', 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn malformed_tensors_are_errors() {
        let mut t = tensor(tf::DataType::DtFloat, &[2]);
        t.float_val = vec![1.0, 2.0, 3.0];
        assert!(matches!(convert_tensor(t), Err(AttrError::Other(m)) if m.contains("3 values")));

        let mut t = tensor(tf::DataType::DtFloat, &[2]);
        t.tensor_content = Bytes::from_static(&[0; 7]);
        assert!(matches!(convert_tensor(t), Err(AttrError::Other(m)) if m.contains("7 bytes")));

        let t = tensor(tf::DataType::DtFloat, &[2, -1]);
        assert!(matches!(convert_tensor(t), Err(AttrError::Other(_))));

        let t = tensor(tf::DataType::DtFloat, &[1 << 40, 1 << 40]);
        assert!(matches!(convert_tensor(t), Err(AttrError::Other(_))));

        let mut t = tensor(tf::DataType::DtFloat, &[1 << 20, 1 << 20]);
        t.float_val = vec![0.0];
        assert!(matches!(convert_tensor(t), Err(AttrError::Other(m)) if m.contains("expand")));

        let t = tensor(tf::DataType::DtResource, &[]);
        assert_eq!(
            convert_tensor(t),
            Err(AttrError::DType("DT_RESOURCE".into()))
        );
    }

    #[test]
    fn dtypes_and_reference_types() {
        assert_eq!(convert_dtype(tf::DataType::DtFloat as i32), Ok(DType::F32));
        assert_eq!(
            convert_dtype(tf::DataType::DtFloatRef as i32),
            Ok(DType::F32)
        );
        assert_eq!(
            convert_dtype(tf::DataType::DtInt32Ref as i32),
            Ok(DType::I32)
        );
        assert_eq!(
            convert_dtype(tf::DataType::DtHalfRef as i32),
            Ok(DType::F16)
        );
        assert_eq!(
            convert_dtype(tf::DataType::DtBoolRef as i32),
            Ok(DType::Bool)
        );
        assert_eq!(convert_dtype(20), Err("DT_RESOURCE".into()));
        assert_eq!(convert_dtype(120), Err("DT_RESOURCE_REF".into()));
        assert_eq!(convert_dtype(0), Err("DT_INVALID".into()));
        assert_eq!(convert_dtype(-5), Err("<unknown DataType -5>".into()));
    }

    #[test]
    fn attrs_convert_one_to_one() {
        use tf::attr_value::{ListValue, Value};
        let attr = |v: Value| {
            convert_attr(tf::AttrValue { value: Some(v) })
                .unwrap()
                .unwrap()
        };
        assert_eq!(
            attr(Value::S(Bytes::from_static(b"NCHW"))),
            Attr::Str("NCHW".into())
        );
        assert_eq!(attr(Value::I(-3)), Attr::Int(-3));
        assert_eq!(attr(Value::F(0.5)), Attr::Float(0.5));
        assert_eq!(attr(Value::B(true)), Attr::Bool(true));
        assert_eq!(attr(Value::Type(101)), Attr::Type(DType::F32));
        let list = |l: ListValue| attr(Value::List(l));
        assert_eq!(
            list(ListValue {
                i: vec![1, 2, 2, 1],
                ..Default::default()
            }),
            Attr::Ints(vec![1, 2, 2, 1])
        );
        assert_eq!(list(ListValue::default()), Attr::Ints(vec![]));
        assert_eq!(
            list(ListValue {
                r#type: vec![1, 3],
                ..Default::default()
            }),
            Attr::Types(vec![DType::F32, DType::I32])
        );
        assert_eq!(
            list(ListValue {
                shape: vec![
                    tf::TensorShapeProto {
                        dim: vec![],
                        unknown_rank: true
                    },
                    tensor(tf::DataType::DtFloat, &[-1, 3])
                        .tensor_shape
                        .unwrap()
                ],
                ..Default::default()
            }),
            Attr::Shapes(vec![None, Some(vec![-1, 3])])
        );
        assert_eq!(convert_attr(tf::AttrValue { value: None }), Ok(None));
        assert_eq!(
            convert_attr(tf::AttrValue {
                value: Some(Value::Type(8))
            }),
            Err(AttrError::DType("DT_COMPLEX64".into()))
        );
    }
}
