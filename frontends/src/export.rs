//! IR nodes back to TensorFlow `NodeDef`s: what a TFLite Flex op carries (the serialized NodeDef that the
//! Flex delegate runs with TensorFlow's kernel).
//!
//! The inverse of the import in [`crate::graphdef`]: name and op as imported, data inputs as `name` or
//! `name:port` in slot order, control inputs as `^name`, attributes converted back one to one (dtypes to
//! TensorFlow's `DataType` numbers, tensors with their bytes as `tensor_content`, string tensors as
//! `string_val`). Attributes are written in name order, so the bytes are the same on every run.

use prost::Message;
use sgc_ir::{Attr, DType, Graph, NodeIndex, Tensor};

use crate::tf;

/// The NodeDef of node `n`.
pub fn node_def(graph: &Graph, n: NodeIndex) -> tf::NodeDef {
    let node = graph.node(n);
    let mut input: Vec<String> = graph
        .inputs(n)
        .into_iter()
        .map(|v| graph.value_name(v))
        .collect();
    input.extend(
        graph
            .control_inputs(n)
            .into_iter()
            .map(|c| format!("^{}", graph.node(c).name)),
    );
    tf::NodeDef {
        name: node.name.clone(),
        op: node.op.name().to_string(),
        input,
        attr: node
            .attrs
            .0
            .iter()
            .map(|(k, a)| (k.clone(), attr_value(a)))
            .collect(),
        ..Default::default()
    }
}

/// The serialized NodeDef of node `n` (the shape of the TFLite backend's `NodeDefEncoder`). prost writes map
/// entries in the map's iteration order, so the attributes are encoded one by one in name order.
pub fn encode_node_def(graph: &Graph, n: NodeIndex) -> Vec<u8> {
    let mut def = node_def(graph, n);
    let attrs = std::mem::take(&mut def.attr);
    let mut out = def.encode_to_vec();
    let mut sorted: Vec<(String, tf::AttrValue)> = attrs.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, v) in sorted {
        // Field 5 (`attr`), one map entry: a message with key (1) and value (2).
        let entry = MapEntry {
            key: k,
            value: Some(v),
        };
        prost::encoding::message::encode(5, &entry, &mut out);
    }
    out
}

#[derive(Clone, PartialEq, prost::Message)]
struct MapEntry {
    #[prost(string, tag = "1")]
    key: String,
    #[prost(message, optional, tag = "2")]
    value: Option<tf::AttrValue>,
}

/// TensorFlow's `DataType` number of a dtype.
pub fn tf_dtype(d: DType) -> i32 {
    use tf::DataType as T;
    (match d {
        DType::F32 => T::DtFloat,
        DType::F16 => T::DtHalf,
        DType::F64 => T::DtDouble,
        DType::I8 => T::DtInt8,
        DType::I16 => T::DtInt16,
        DType::I32 => T::DtInt32,
        DType::I64 => T::DtInt64,
        DType::U8 => T::DtUint8,
        DType::Bool => T::DtBool,
        DType::String => T::DtString,
    }) as i32
}

fn shape_proto(s: &Option<Vec<i64>>) -> tf::TensorShapeProto {
    match s {
        None => tf::TensorShapeProto {
            unknown_rank: true,
            ..Default::default()
        },
        Some(dims) => tf::TensorShapeProto {
            dim: dims
                .iter()
                .map(|&size| tf::tensor_shape_proto::Dim {
                    size,
                    ..Default::default()
                })
                .collect(),
            unknown_rank: false,
        },
    }
}

fn tensor_proto(t: &Tensor) -> tf::TensorProto {
    let dims = Some(t.shape().iter().map(|&d| d as i64).collect());
    let mut p = tf::TensorProto {
        dtype: tf_dtype(t.dtype()),
        tensor_shape: Some(shape_proto(&dims)),
        ..Default::default()
    };
    if t.dtype() == DType::String {
        // The IR stores each string as a little-endian u32 length and its bytes.
        let mut b: &[u8] = t.bytes();
        while b.len() >= 4 {
            let len = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
            let end = (4 + len).min(b.len());
            p.string_val.push(bytes::Bytes::copy_from_slice(&b[4..end]));
            b = &b[end..];
        }
    } else {
        p.tensor_content = t.bytes().clone();
    }
    p
}

/// An IR attribute as a TensorFlow `AttrValue`.
pub fn attr_value(a: &Attr) -> tf::AttrValue {
    use tf::attr_value::{ListValue, Value};
    let list = |l: ListValue| Value::List(l);
    let value = match a {
        Attr::Int(i) => Value::I(*i),
        Attr::Float(f) => Value::F(*f),
        Attr::Bool(b) => Value::B(*b),
        Attr::Str(s) => Value::S(bytes::Bytes::copy_from_slice(s.as_bytes())),
        Attr::Type(d) => Value::Type(tf_dtype(*d)),
        Attr::Shape(s) => Value::Shape(shape_proto(s)),
        Attr::Tensor(t) => Value::Tensor(tensor_proto(t)),
        Attr::Func(name) => Value::Func(tf::NameAttrList {
            name: name.clone(),
            ..Default::default()
        }),
        Attr::Ints(v) => list(ListValue {
            i: v.clone(),
            ..Default::default()
        }),
        Attr::Floats(v) => list(ListValue {
            f: v.clone(),
            ..Default::default()
        }),
        Attr::Bools(v) => list(ListValue {
            b: v.clone(),
            ..Default::default()
        }),
        Attr::Strs(v) => list(ListValue {
            s: v.iter()
                .map(|s| bytes::Bytes::copy_from_slice(s.as_bytes()))
                .collect(),
            ..Default::default()
        }),
        Attr::Types(v) => list(ListValue {
            r#type: v.iter().map(|&d| tf_dtype(d)).collect(),
            ..Default::default()
        }),
        Attr::Shapes(v) => list(ListValue {
            shape: v.iter().map(shape_proto).collect(),
            ..Default::default()
        }),
    };
    tf::AttrValue { value: Some(value) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph_from_pbtxt;

    #[test]
    fn node_defs_round_trip_through_the_import() {
        let text = r#"
node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
node { name: "c" op: "Const"
  attr { key: "dtype" value { type: DT_FLOAT } }
  attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape { dim { size: 2 } }
    tensor_content: "\000\000\200?\000\000\000@" } } } }
node { name: "y" op: "Frobnicate" input: "x" input: "c" input: "^c"
  attr { key: "T" value { type: DT_FLOAT } }
  attr { key: "ks" value { list { i: [1, 2] } } }
  attr { key: "mode" value { s: "fast" } }
  attr { key: "alpha" value { f: 0.5 } }
  attr { key: "_output_shapes" value { list { shape { dim { size: -1 } } shape { unknown_rank: true } } } } }
"#;
        let g = graph_from_pbtxt(text).unwrap();
        for name in ["y", "c"] {
            let n = g.find(name).unwrap();
            let bytes = encode_node_def(&g, n);
            assert_eq!(bytes, encode_node_def(&g, n), "deterministic");
            let def = tf::NodeDef::decode(bytes.as_slice()).unwrap();
            assert_eq!(def, node_def(&g, n));
            // Importing the re-encoded node gives the same node back.
            let mut again = tf::GraphDef {
                node: vec![def],
                ..Default::default()
            };
            for other in ["x", "c"] {
                if other != name {
                    again.node.push(node_def(&g, g.find(other).unwrap()));
                }
            }
            let g2 = crate::graph_from_graphdef(again).unwrap();
            let n2 = g2.find(name).unwrap();
            assert_eq!(g2.node(n2), g.node(n));
        }
        let y = node_def(&g, g.find("y").unwrap());
        assert_eq!(y.input, vec!["x", "c", "^c"]);
    }
}
