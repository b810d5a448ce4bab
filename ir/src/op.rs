//! Op kinds.
//!
//! The IR speaks TensorFlow's op vocabulary (the ops' semantics are TensorFlow's, including their
//! `data_format` attributes), so an imported graph needs no translation and every op has one name across
//! frontend, passes and backend. Ops sgc does not know are kept as [`Op::Other`] so that a report can name
//! them and the backend can refuse them with a clear error.

use std::fmt;

macro_rules! ops {
    ($($variant:ident),* $(,)?) => {
        /// An op kind, named as TensorFlow names it.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Op {
            $($variant,)*
            /// An op sgc has no knowledge of, by its TensorFlow name.
            Other(String),
        }

        impl Op {
            /// The TensorFlow name of the op.
            pub fn name(&self) -> &str {
                match self {
                    $(Op::$variant => stringify!($variant),)*
                    Op::Other(name) => name,
                }
            }

            /// The op kind for a TensorFlow op name (unknown names become [`Op::Other`]).
            pub fn from_name(name: &str) -> Op {
                match name {
                    $(stringify!($variant) => Op::$variant,)*
                    other => Op::Other(other.to_string()),
                }
            }

            /// Every known op kind.
            pub const ALL: &'static [Op] = &[$(Op::$variant,)*];
        }
    };
}

ops! {
    // sources
    Const, Placeholder, PlaceholderWithDefault,
    // variables and their training-time updates (removed or folded by the freeze passes)
    VariableV2, Variable, VarHandleOp, ReadVariableOp, Assign, AssignAdd, AssignSub, AssignVariableOp,
    // pass-through and structure
    Identity, IdentityN, StopGradient, NoOp, RefIdentity, Snapshot,
    // TF1 control flow
    Switch, RefSwitch, Merge,
    // convolutions and dense
    Conv2D, DepthwiseConv2dNative, Conv2DBackpropInput, MatMul, BiasAdd,
    // elementwise arithmetic
    Add, AddV2, Sub, Mul, RealDiv, Maximum, Minimum, SquaredDifference, AddN,
    Neg, Square, Sqrt, Rsqrt, Exp, Tanh, Sigmoid, Relu, LeakyRelu, ClipByValue,
    // comparisons and selection
    Greater, GreaterEqual, Less, LessEqual, Equal, LogicalAnd, LogicalOr, LogicalNot, Select, SelectV2,
    // reductions
    Mean, Sum, Max, Min, Prod,
    // shape and data movement
    Shape, Reshape, Tile, Transpose, StridedSlice, Slice, Pad, Pack, Unpack, ConcatV2, Split,
    ExpandDims, Squeeze, Fill, BroadcastTo, Cast, ResizeNearestNeighbor, Range,
    // random
    RandomStandardNormal, RandomUniform,
}

impl Op {
    /// Ops that only pass their input through (at inference).
    pub fn is_identity_like(&self) -> bool {
        matches!(
            self,
            Op::Identity | Op::StopGradient | Op::RefIdentity | Op::Snapshot
        )
    }

    /// Elementwise ops with NumPy-style broadcasting of two operands.
    pub fn is_binary_elementwise(&self) -> bool {
        matches!(
            self,
            Op::Add
                | Op::AddV2
                | Op::Sub
                | Op::Mul
                | Op::RealDiv
                | Op::Maximum
                | Op::Minimum
                | Op::SquaredDifference
                | Op::Greater
                | Op::GreaterEqual
                | Op::Less
                | Op::LessEqual
                | Op::Equal
                | Op::LogicalAnd
                | Op::LogicalOr
        )
    }

    /// Elementwise ops of one operand.
    pub fn is_unary_elementwise(&self) -> bool {
        matches!(
            self,
            Op::Neg
                | Op::Square
                | Op::Sqrt
                | Op::Rsqrt
                | Op::Exp
                | Op::Tanh
                | Op::Sigmoid
                | Op::Relu
                | Op::LeakyRelu
                | Op::LogicalNot
        )
    }

    /// Ops whose result differs from run to run: never constant-folded.
    pub fn is_random(&self) -> bool {
        matches!(self, Op::RandomStandardNormal | Op::RandomUniform)
    }

    /// Ops with side effects on variables or that only exist for training.
    pub fn is_stateful(&self) -> bool {
        matches!(
            self,
            Op::VariableV2
                | Op::Variable
                | Op::VarHandleOp
                | Op::Assign
                | Op::AssignAdd
                | Op::AssignSub
                | Op::AssignVariableOp
        )
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for op in Op::ALL {
            assert_eq!(&Op::from_name(op.name()), op);
        }
        assert_eq!(Op::from_name("Frobnicate"), Op::Other("Frobnicate".into()));
        assert_eq!(Op::from_name("Frobnicate").name(), "Frobnicate");
    }
}
