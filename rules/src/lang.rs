//! The e-graph language: IR ops as e-nodes.
//!
//! An op node is its [`Op`], an interned attribute set ([`AttrsId`], see [`crate::TfAnalysis`]) and its
//! input classes. Constants and graph inputs are leaves that index tables in the analysis. Ops with
//! several outputs are one e-node whose class stands for the tuple; a [`TfNode::Proj`] node picks one
//! output. In rule patterns (`"(Maximum ?x (Mul ?x ?a))"`) an op matches whatever its attributes are;
//! appliers that need them read them from the matched class.

use std::fmt;

use egg::{FromOp, Id, Language};
use sgc_ir::Op;

/// An interned attribute set. [`AttrsId::ANY`] appears only in rule patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttrsId(pub u32);

impl AttrsId {
    pub const ANY: AttrsId = AttrsId(u32::MAX);
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TfNode {
    /// An op of the IR applied to its inputs.
    Op {
        op: Op,
        attrs: AttrsId,
        args: Vec<Id>,
    },
    /// A constant, by its index in the analysis's constant table.
    Const(u32),
    /// A graph input, by its position in the graph's inputs.
    Input(u32),
    /// Output `port` of a multi-output op.
    Proj(u32, [Id; 1]),
}

/// What e-matching compares before children: the op without attributes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Head {
    Op(Op),
    Const(u32),
    Input(u32),
    Proj(u32),
}

impl TfNode {
    pub fn op(&self) -> Option<&Op> {
        match self {
            TfNode::Op { op, .. } => Some(op),
            _ => None,
        }
    }
}

impl Language for TfNode {
    type Discriminant = Head;

    fn discriminant(&self) -> Head {
        match self {
            TfNode::Op { op, .. } => Head::Op(op.clone()),
            TfNode::Const(c) => Head::Const(*c),
            TfNode::Input(i) => Head::Input(*i),
            TfNode::Proj(p, _) => Head::Proj(*p),
        }
    }

    fn matches(&self, other: &Self) -> bool {
        match (self, other) {
            (
                TfNode::Op { op, attrs, args },
                TfNode::Op {
                    op: op2,
                    attrs: attrs2,
                    args: args2,
                },
            ) => {
                op == op2
                    && args.len() == args2.len()
                    && (*attrs == AttrsId::ANY || *attrs2 == AttrsId::ANY || attrs == attrs2)
            }
            (TfNode::Const(a), TfNode::Const(b)) => a == b,
            (TfNode::Input(a), TfNode::Input(b)) => a == b,
            (TfNode::Proj(a, _), TfNode::Proj(b, _)) => a == b,
            _ => false,
        }
    }

    fn children(&self) -> &[Id] {
        match self {
            TfNode::Op { args, .. } => args,
            TfNode::Proj(_, c) => c,
            _ => &[],
        }
    }

    fn children_mut(&mut self) -> &mut [Id] {
        match self {
            TfNode::Op { args, .. } => args,
            TfNode::Proj(_, c) => c,
            _ => &mut [],
        }
    }
}

impl fmt::Display for TfNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TfNode::Op { op, .. } => write!(f, "{op}"),
            TfNode::Const(c) => write!(f, "const{c}"),
            TfNode::Input(i) => write!(f, "input{i}"),
            TfNode::Proj(p, _) => write!(f, "proj{p}"),
        }
    }
}

/// Parses rule patterns: an op name with any attributes.
impl FromOp for TfNode {
    type Error = String;

    fn from_op(op: &str, children: Vec<Id>) -> Result<Self, Self::Error> {
        match Op::from_name(op) {
            Op::Other(name) => Err(format!("unknown op '{name}' in a rule pattern")),
            op => Ok(TfNode::Op {
                op,
                attrs: AttrsId::ANY,
                args: children,
            }),
        }
    }
}
