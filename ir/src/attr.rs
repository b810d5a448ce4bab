//! Node attributes, typed as TensorFlow types them.

use std::collections::BTreeMap;
use std::fmt;

use crate::dtype::DType;
use crate::tensor::Tensor;

/// One attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    Int(i64),
    Float(f32),
    Bool(bool),
    /// Strings are bytes in TensorFlow; sgc keeps them as (lossy) UTF-8.
    Str(String),
    Type(DType),
    /// A shape; `None` for unknown rank, -1 for an unknown dimension.
    Shape(Option<Vec<i64>>),
    Tensor(Tensor),
    Ints(Vec<i64>),
    Floats(Vec<f32>),
    Bools(Vec<bool>),
    Strs(Vec<String>),
    Types(Vec<DType>),
    Shapes(Vec<Option<Vec<i64>>>),
    /// A function reference, by name (kept only to be reported).
    Func(String),
}

/// Attributes of a node, sorted by name so that dumps are stable.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attrs(pub BTreeMap<String, Attr>);

impl Attrs {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, name: &str) -> Option<&Attr> {
        self.0.get(name)
    }

    pub fn set(&mut self, name: impl Into<String>, value: Attr) {
        self.0.insert(name.into(), value);
    }

    pub fn remove(&mut self, name: &str) -> Option<Attr> {
        self.0.remove(name)
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        match self.get(name)? {
            Attr::Int(v) => Some(*v),
            _ => None,
        }
    }

    pub fn float(&self, name: &str) -> Option<f32> {
        match self.get(name)? {
            Attr::Float(v) => Some(*v),
            _ => None,
        }
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.get(name)? {
            Attr::Bool(v) => Some(*v),
            _ => None,
        }
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        match self.get(name)? {
            Attr::Str(v) => Some(v),
            _ => None,
        }
    }

    pub fn dtype(&self, name: &str) -> Option<DType> {
        match self.get(name)? {
            Attr::Type(v) => Some(*v),
            _ => None,
        }
    }

    pub fn ints(&self, name: &str) -> Option<&[i64]> {
        match self.get(name)? {
            Attr::Ints(v) => Some(v),
            _ => None,
        }
    }

    pub fn tensor(&self, name: &str) -> Option<&Tensor> {
        match self.get(name)? {
            Attr::Tensor(v) => Some(v),
            _ => None,
        }
    }

    pub fn shape(&self, name: &str) -> Option<&Option<Vec<i64>>> {
        match self.get(name)? {
            Attr::Shape(v) => Some(v),
            _ => None,
        }
    }

    /// `data_format` of a conv-like op; TensorFlow's default is NHWC.
    pub fn data_format(&self) -> &str {
        self.str("data_format").unwrap_or("NHWC")
    }
}

impl fmt::Display for Attr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, v: &[T]) -> fmt::Result {
            f.write_str("[")?;
            for (i, x) in v.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{x}")?;
            }
            f.write_str("]")
        }
        fn shape(f: &mut fmt::Formatter<'_>, s: &Option<Vec<i64>>) -> fmt::Result {
            match s {
                None => f.write_str("?"),
                Some(d) => list(f, d),
            }
        }
        match self {
            Attr::Int(v) => write!(f, "{v}"),
            Attr::Float(v) => write!(f, "{v:?}"),
            Attr::Bool(v) => write!(f, "{v}"),
            Attr::Str(v) => write!(f, "{v:?}"),
            Attr::Type(v) => write!(f, "{v}"),
            Attr::Shape(v) => shape(f, v),
            Attr::Tensor(t) => write!(f, "tensor<{}{:?}>", t.dtype(), t.shape()),
            Attr::Ints(v) => list(f, v),
            Attr::Floats(v) => list(f, &v.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>()),
            Attr::Bools(v) => list(f, v),
            Attr::Strs(v) => list(f, &v.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>()),
            Attr::Types(v) => list(f, v),
            Attr::Shapes(v) => {
                f.write_str("[")?;
                for (i, s) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    shape(f, s)?;
                }
                f.write_str("]")
            }
            Attr::Func(v) => write!(f, "func {v}"),
        }
    }
}
