//! Ops TFLite has no builtin for: CUSTOM operators with the node's attributes as FlexBuffers options,
//! or the Flex encoding.

use sgc_ir::{NodeIndex, Op};

use super::Lowerer;
use crate::tflite::flexbuffer::{self, Flex};
use crate::tflite::schema::{builtin, BuiltinOptions};
use crate::tflite::{BackendError, OpCode, OpPlan};

impl<'g> Lowerer<'g> {
    /// A CUSTOM operator: `custom_code` is the TensorFlow op name and the options are the node's attributes
    /// as a FlexBuffers map, as TensorFlow's converter writes them; or, with [`BackendOptions::flex`], the
    /// Flex encoding ("Flex" + op name; options the vector `[op name, NodeDef bytes]`). Inputs and outputs
    /// are the node's, unchanged.
    pub(super) fn custom(&mut self, n: NodeIndex) -> Result<(), BackendError> {
        let node = self.g.node(n);
        if matches!(
            node.op,
            Op::Const | Op::Placeholder | Op::PlaceholderWithDefault
        ) || node.op.is_identity_like()
        {
            return Err(self.err(n, "sources and identities cannot be custom ops"));
        }
        let ins = self
            .g
            .inputs(n)
            .into_iter()
            .map(|v| self.value(v))
            .collect::<Result<Vec<_>, _>>()?;
        let out = self.outputs(n)?;
        let name = node.op.name();
        let (code, options) = match self.options.flex {
            Some(encode_node_def) => (
                format!("Flex{name}"),
                Flex::Vector(vec![Flex::str(name), Flex::Str(encode_node_def(self.g, n))]),
            ),
            None => (name.to_string(), attrs_to_flex(&node.attrs)),
        };
        self.plan.operators.push(OpPlan {
            code: OpCode {
                builtin: builtin::CUSTOM,
                custom: Some(code),
                version: 1,
            },
            options: BuiltinOptions::None,
            inputs: ins,
            outputs: out,
            custom_options: Some(flexbuffer::encode(&options)),
        });
        Ok(())
    }
}

/// A node's attributes as the FlexBuffers map of its custom options. Internal attributes (`_output_shapes`,
/// `_class` …) are left out. Ints, floats, bools and strings map to their FlexBuffers kinds, lists to
/// vectors; a dtype is its name as sgc prints it (`f32`, `i32` …), a shape a vector of dims (-1 unknown;
/// null for an unknown rank), a tensor a blob of its little-endian bytes, a function its name.
pub fn attrs_to_flex(attrs: &sgc_ir::Attrs) -> Flex {
    use sgc_ir::Attr;
    pub(super) fn shape(s: &Option<Vec<i64>>) -> Flex {
        match s {
            Some(d) => Flex::Vector(d.iter().map(|&x| Flex::Int(x)).collect()),
            None => Flex::Null,
        }
    }
    let entries = attrs
        .0
        .iter()
        .filter(|(k, _)| !k.starts_with('_') && !k.contains('\0'))
        .map(|(k, a)| {
            let v = match a {
                Attr::Int(i) => Flex::Int(*i),
                Attr::Float(f) => Flex::Float(*f as f64),
                Attr::Bool(b) => Flex::Bool(*b),
                Attr::Str(s) | Attr::Func(s) => Flex::str(s),
                Attr::Type(d) => Flex::str(d.name()),
                Attr::Shape(s) => shape(s),
                Attr::Tensor(t) => Flex::Blob(t.bytes().to_vec()),
                Attr::Ints(v) => Flex::Vector(v.iter().map(|&x| Flex::Int(x)).collect()),
                Attr::Floats(v) => Flex::Vector(v.iter().map(|&x| Flex::Float(x as f64)).collect()),
                Attr::Bools(v) => Flex::Vector(v.iter().map(|&x| Flex::Bool(x)).collect()),
                Attr::Strs(v) => Flex::Vector(v.iter().map(|x| Flex::str(x)).collect()),
                Attr::Types(v) => Flex::Vector(v.iter().map(|d| Flex::str(d.name())).collect()),
                Attr::Shapes(v) => Flex::Vector(v.iter().map(shape).collect()),
            };
            (k.clone(), v)
        })
        .collect();
    Flex::Map(entries)
}
