//! Writing TensorFlow NodeDefs: the StyleGAN builder emits the graph TF would have made, as a GraphDef,
//! and the GraphDef importer (the one owner of TF's op attributes) reads it like any frozen graph.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use sgc_ir::{DType, Tensor};

use crate::tf::{self, attr_value::Value, AttrValue, DataType, NodeDef};

/// A GraphDef under construction; every `add` returns the node's (unique) name.
#[derive(Default)]
pub struct Emitter {
    nodes: Vec<NodeDef>,
    names: HashSet<String>,
}

/// An attribute value.
pub fn ints(v: &[i64]) -> AttrValue {
    list(tf::attr_value::ListValue {
        i: v.to_vec(),
        ..Default::default()
    })
}

fn list(l: tf::attr_value::ListValue) -> AttrValue {
    AttrValue {
        value: Some(Value::List(l)),
    }
}

pub fn s(v: &str) -> AttrValue {
    AttrValue {
        value: Some(Value::S(Bytes::copy_from_slice(v.as_bytes()))),
    }
}

pub fn b(v: bool) -> AttrValue {
    AttrValue {
        value: Some(Value::B(v)),
    }
}

pub fn i(v: i64) -> AttrValue {
    AttrValue {
        value: Some(Value::I(v)),
    }
}

pub fn ty(d: DataType) -> AttrValue {
    AttrValue {
        value: Some(Value::Type(d as i32)),
    }
}

pub const F32: DataType = DataType::DtFloat;
pub const I32: DataType = DataType::DtInt32;

impl Emitter {
    /// Adds `op` named `name` (made unique with `_1`, `_2` … as TF does) over `inputs`.
    pub fn add(
        &mut self,
        name: &str,
        op: &str,
        inputs: &[&str],
        attrs: &[(&str, AttrValue)],
    ) -> String {
        let mut unique = name.to_string();
        let mut k = 0;
        while self.names.contains(&unique) {
            k += 1;
            unique = format!("{name}_{k}");
        }
        self.names.insert(unique.clone());
        self.nodes.push(NodeDef {
            name: unique.clone(),
            op: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            attr: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<HashMap<_, _>>(),
            ..Default::default()
        });
        unique
    }

    /// A float op with attribute `T`.
    pub fn op(&mut self, name: &str, op: &str, inputs: &[&str]) -> String {
        self.add(name, op, inputs, &[("T", ty(F32))])
    }

    /// A `Const` holding `t`'s bytes (shared, not copied).
    pub fn tensor(&mut self, name: &str, t: &Tensor) -> String {
        let dtype = match t.dtype() {
            DType::F32 => F32,
            DType::I32 => I32,
            DType::Bool => DataType::DtBool,
            other => unreachable!("the builder makes no {other} constants"),
        };
        let dims: Vec<i64> = t.shape().iter().map(|&d| d as i64).collect();
        let value = tf::TensorProto {
            dtype: dtype as i32,
            tensor_shape: Some(tf::shape_proto(&dims)),
            tensor_content: t.bytes().clone(),
            ..Default::default()
        };
        self.add(
            name,
            "Const",
            &[],
            &[
                ("dtype", ty(dtype)),
                (
                    "value",
                    AttrValue {
                        value: Some(Value::Tensor(value)),
                    },
                ),
            ],
        )
    }

    pub fn f32s(&mut self, name: &str, shape: Vec<usize>, v: Vec<f32>) -> String {
        self.tensor(name, &Tensor::from_vec(shape, v))
    }

    pub fn scalar(&mut self, name: &str, v: f32) -> String {
        self.f32s(name, vec![], vec![v])
    }

    pub fn i32s(&mut self, name: &str, v: &[i32]) -> String {
        self.tensor(name, &Tensor::from_vec(vec![v.len()], v.to_vec()))
    }

    /// A float placeholder of `dims` (-1: unknown).
    pub fn placeholder(&mut self, name: &str, dims: &[i64]) -> String {
        let shape = AttrValue {
            value: Some(Value::Shape(tf::shape_proto(dims))),
        };
        self.add(
            name,
            "Placeholder",
            &[],
            &[("dtype", ty(F32)), ("shape", shape)],
        )
    }

    pub fn finish(self) -> tf::GraphDef {
        tf::GraphDef {
            node: self.nodes,
            ..Default::default()
        }
    }
}
