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
    Conv2D, DepthwiseConv2dNative, Conv2DBackpropInput, MatMul, BiasAdd, MaxPool, AvgPool,
    FusedBatchNorm, FusedBatchNormV2, FusedBatchNormV3,
    // elementwise arithmetic
    Add, AddV2, Sub, Mul, RealDiv, FloorDiv, Pow, Maximum, Minimum, SquaredDifference, AddN,
    Neg, Abs, Square, Sqrt, Rsqrt, Exp, Log, Tanh, Sigmoid, Relu, Relu6, LeakyRelu, Elu, Selu, Softplus,
    ClipByValue, Softmax, LogSoftmax,
    // comparisons and selection
    Greater, GreaterEqual, Less, LessEqual, Equal, LogicalAnd, LogicalOr, LogicalNot, Select, SelectV2,
    // reductions
    Mean, Sum, Max, Min, Prod, ArgMax,
    // shape and data movement
    Shape, Reshape, Tile, Transpose, StridedSlice, Slice, Pad, MirrorPad, Pack, Unpack, ConcatV2, Split,
    SplitV, ExpandDims, Squeeze, Fill, BroadcastTo, Cast, ResizeNearestNeighbor, ResizeBilinear,
    DepthToSpace, SpaceToDepth, Range,
    // random
    RandomStandardNormal, RandomUniform,
}

// Op families. Each is a pattern macro, so that a `match` names a family in one arm
// (`binary_elementwise_ops!() => …`) and stays exhaustive: adding a variant to `Op` without placing it
// makes the compiler list every dispatch that must handle it. The predicates below use the same
// macros, so each family is listed exactly once, here.

/// Ops that only pass their input through (at inference).
#[macro_export]
macro_rules! identity_like_ops {
    () => {
        $crate::Op::Identity
            | $crate::Op::StopGradient
            | $crate::Op::RefIdentity
            | $crate::Op::Snapshot
    };
}

/// Elementwise ops with NumPy-style broadcasting of two operands.
#[macro_export]
macro_rules! binary_elementwise_ops {
    () => {
        $crate::Op::Add
            | $crate::Op::AddV2
            | $crate::Op::Sub
            | $crate::Op::Mul
            | $crate::Op::RealDiv
            | $crate::Op::FloorDiv
            | $crate::Op::Pow
            | $crate::Op::Maximum
            | $crate::Op::Minimum
            | $crate::Op::SquaredDifference
            | $crate::Op::Greater
            | $crate::Op::GreaterEqual
            | $crate::Op::Less
            | $crate::Op::LessEqual
            | $crate::Op::Equal
            | $crate::Op::LogicalAnd
            | $crate::Op::LogicalOr
    };
}

/// Elementwise ops of one operand.
#[macro_export]
macro_rules! unary_elementwise_ops {
    () => {
        $crate::Op::Neg
            | $crate::Op::Abs
            | $crate::Op::Square
            | $crate::Op::Sqrt
            | $crate::Op::Rsqrt
            | $crate::Op::Exp
            | $crate::Op::Log
            | $crate::Op::Tanh
            | $crate::Op::Sigmoid
            | $crate::Op::Relu
            | $crate::Op::Relu6
            | $crate::Op::LeakyRelu
            | $crate::Op::Elu
            | $crate::Op::Selu
            | $crate::Op::Softplus
            | $crate::Op::LogicalNot
    };
}

/// Reductions over the axes given by their second operand (`keep_dims` attribute).
#[macro_export]
macro_rules! reduction_ops {
    () => {
        $crate::Op::Mean | $crate::Op::Sum | $crate::Op::Max | $crate::Op::Min | $crate::Op::Prod
    };
}

/// TensorFlow's fused batch norms (x, scale, offset, mean, variance → y and batch statistics).
#[macro_export]
macro_rules! batch_norm_ops {
    () => {
        $crate::Op::FusedBatchNorm | $crate::Op::FusedBatchNormV2 | $crate::Op::FusedBatchNormV3
    };
}

/// Convolutions and matmul: the ops whose TFLite form (CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV,
/// FULLY_CONNECTED) takes a bias input.
#[macro_export]
macro_rules! bias_taking_ops {
    () => {
        $crate::Op::Conv2D
            | $crate::Op::DepthwiseConv2dNative
            | $crate::Op::Conv2DBackpropInput
            | $crate::Op::MatMul
    };
}

/// Ops whose result differs from run to run.
#[macro_export]
macro_rules! random_ops {
    () => {
        $crate::Op::RandomStandardNormal | $crate::Op::RandomUniform
    };
}

/// Variables and their training-time updates: side effects, gone once a graph is frozen.
#[macro_export]
macro_rules! variable_ops {
    () => {
        $crate::Op::VariableV2
            | $crate::Op::Variable
            | $crate::Op::VarHandleOp
            | $crate::Op::Assign
            | $crate::Op::AssignAdd
            | $crate::Op::AssignSub
            | $crate::Op::AssignVariableOp
    };
}

impl Op {
    /// Ops that only pass their input through (at inference).
    pub fn is_identity_like(&self) -> bool {
        matches!(self, identity_like_ops!())
    }

    /// Elementwise ops with NumPy-style broadcasting of two operands.
    pub fn is_binary_elementwise(&self) -> bool {
        matches!(self, binary_elementwise_ops!())
    }

    /// Elementwise ops of one operand.
    pub fn is_unary_elementwise(&self) -> bool {
        matches!(self, unary_elementwise_ops!())
    }

    /// Reductions (`Mean`, `Sum`, `Max`, `Min`, `Prod`).
    pub fn is_reduction(&self) -> bool {
        matches!(self, reduction_ops!())
    }

    /// Convolutions and matmul, whose TFLite form takes a bias input.
    pub fn takes_bias(&self) -> bool {
        matches!(self, bias_taking_ops!())
    }

    /// Ops whose result differs from run to run: never constant-folded.
    pub fn is_random(&self) -> bool {
        matches!(self, random_ops!())
    }

    /// Whether constant folding may evaluate the op: not random ones, not TF1 control flow (whose dead
    /// outputs only `interp::run` can express), not ops sgc does not know.
    pub fn is_foldable(&self) -> bool {
        !(self.is_random() || matches!(self, Op::Switch | Op::RefSwitch | Op::Merge | Op::Other(_)))
    }

    /// Ops with side effects on variables or that only exist for training.
    pub fn is_stateful(&self) -> bool {
        matches!(self, variable_ops!())
    }
}

/// A fused batch norm at inference as one scale and shift per channel: `a = scale / √(var + ε)`,
/// `b = offset − mean · a` (TensorFlow's `epsilon` default 1e-4). Errors for a training-mode node
/// (`is_training`, TensorFlow's default true: the batch's own statistics, not the stored ones) and for
/// parameters of different lengths. The one place the formula lives: the interpreter and the
/// `batch-norm` pass both use it.
pub fn batch_norm_affine(
    attrs: &crate::Attrs,
    [scale, offset, mean, var]: [&[f32]; 4],
) -> Result<(Vec<f32>, Vec<f32>), String> {
    if attrs.bool("is_training").unwrap_or(true) {
        return Err("a training-mode batch norm (is_training=true) normalises by the batch: export the graph for inference".into());
    }
    let c = scale.len();
    if [offset.len(), mean.len(), var.len()] != [c, c, c] {
        return Err(format!(
            "batch norm parameters of lengths {c}, {}, {}, {}",
            offset.len(),
            mean.len(),
            var.len()
        ));
    }
    let eps = attrs.float("epsilon").unwrap_or(1e-4);
    let a: Vec<f32> = (0..c).map(|i| scale[i] / (var[i] + eps).sqrt()).collect();
    let b = (0..c).map(|i| offset[i] - mean[i] * a[i]).collect();
    Ok((a, b))
}

/// A `LeakyRelu`'s `alpha`: its attribute, else TensorFlow's default 0.2.
pub fn leaky_relu_alpha(attrs: &crate::Attrs) -> f32 {
    attrs.float("alpha").unwrap_or(0.2)
}

/// `Selu`'s constants (Klambauer et al. 2017, as TensorFlow's kernel has them):
/// `selu(x) = SELU_SCALE · (x > 0 ? x : SELU_ALPHA · (exp(x) − 1))`.
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
pub const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inference scale and shift of a batch norm; training mode (TF's default) and mismatched
    /// parameter lengths are errors.
    #[test]
    fn batch_norm_affine_is_the_inference_formula() {
        let mut attrs = crate::Attrs::new();
        attrs.set("is_training", crate::Attr::Bool(false));
        attrs.set("epsilon", crate::Attr::Float(0.25));
        let (a, b) = batch_norm_affine(&attrs, [&[2.0], &[1.0], &[3.0], &[0.75]]).unwrap();
        assert_eq!((a, b), (vec![2.0], vec![1.0 - 3.0 * 2.0]));
        assert!(batch_norm_affine(&attrs, [&[1.0], &[1.0, 2.0], &[0.0], &[1.0]]).is_err());
        let training = crate::Attrs::new();
        let e = batch_norm_affine(&training, [&[1.0], &[0.0], &[0.0], &[1.0]]).unwrap_err();
        assert!(e.contains("is_training"), "{e}");
    }

    #[test]
    fn names_round_trip() {
        for op in Op::ALL {
            assert_eq!(&Op::from_name(op.name()), op);
        }
        assert_eq!(Op::from_name("Frobnicate"), Op::Other("Frobnicate".into()));
        assert_eq!(Op::from_name("Frobnicate").name(), "Frobnicate");
    }
}
