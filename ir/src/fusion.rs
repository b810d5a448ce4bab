//! Bias and activation fusion: TFLite's CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV and FULLY_CONNECTED
//! add a bias vector for free, so an add of a per-channel constant right after one of them costs
//! nothing; the convs, dense layers and ADD also apply a ReLU, ReLU6 or clamp to [−1, 1] to their result for
//! free (`fused_activation_function`; its TANH is left out because XNNPACK does not run a conv with it,
//! which would cost far more than the op; see [`takes_activation`] for TRANSPOSE_CONV).
//! This is the one definition of when that holds: the e-graph cost model prices such an add or
//! activation as free, its rules move biases next to convolutions, and the TFLite backend fuses them,
//! all by these functions.

use crate::dtype::DType;
use crate::op::Op;
use crate::tensor::Tensor;

/// Whether adding `bias` to a value of static shape `value` made by `producer` can be the producer's
/// bias input, as far as the operands tell: the producer takes a bias ([`Op::takes_bias`]) and `bias`
/// is f32 with one value per output channel (shape `[C]` or `[1, …, 1, C]`, of rank at most the
/// value's), so that the add does not broadcast the value to a larger shape.
pub fn is_bias_operand(producer: &Op, value: &[usize], bias: &Tensor) -> bool {
    producer.takes_bias()
        && bias.dtype() == DType::F32
        && bias.numel() == *value.last().unwrap_or(&0)
        && bias.rank() <= value.len()
        && bias.shape().iter().rev().skip(1).all(|&d| d == 1)
}

/// The `(value, bias)` operand slots an add of `op` may fuse with: `BiasAdd`'s bias is its second
/// operand; `Add` and `AddV2` commute, so either operand may be the bias. Empty for other ops.
pub fn bias_add_operands(op: &Op) -> &'static [(usize, usize)] {
    match op {
        Op::BiasAdd => &[(0, 1)],
        Op::Add | Op::AddV2 => &[(0, 1), (1, 0)],
        _ => &[],
    }
}

/// The condition on the graph around the add: the producer's value is read by the add alone and is no
/// graph output (fusing changes the producer's own value, which other readers would see). The e-graph
/// cost model cannot know this before it has chosen the graph, so it assumes it; the backend checks it
/// on the chosen graph (`tests/bias_fusion.rs` shows the two agree on every fixture and pass case).
pub fn readers_allow_fusion(readers: usize, is_graph_output: bool) -> bool {
    readers == 1 && !is_graph_output
}

/// An activation a convolution or dense layer can apply to its own result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FusedActivation {
    Relu,
    Relu6,
    /// `min(max(x, −1), 1)`.
    ReluN1To1,
}

/// The activation an `op` node is, if a convolution or dense layer can apply it itself; `operands`
/// are the values of its constant inputs (a `ClipByValue` is one only between scalar bounds 0 and 6, or
/// −1 and 1).
pub fn fusable_activation(op: &Op, operands: &[Option<&Tensor>]) -> Option<FusedActivation> {
    match op {
        Op::Relu => Some(FusedActivation::Relu),
        Op::Relu6 => Some(FusedActivation::Relu6),
        Op::ClipByValue => match clip_bounds(operands)? {
            (0.0, 6.0) => Some(FusedActivation::Relu6),
            (-1.0, 1.0) => Some(FusedActivation::ReluN1To1),
            _ => None,
        },
        _ => None,
    }
}

/// The scalar float bounds of a `ClipByValue` (operands: x, lo, hi), when both are constants.
pub fn clip_bounds(operands: &[Option<&Tensor>]) -> Option<(f32, f32)> {
    let scalar = |t: Option<&Tensor>| -> Option<f32> {
        let t = t?;
        (t.numel() == 1 && t.dtype() == DType::F32)
            .then(|| t.to_vec::<f32>().ok()?.first().copied())?
    };
    Some((scalar(*operands.get(1)?)?, scalar(*operands.get(2)?)?))
}

/// Whether an activation read from `producer`'s output can be its fused activation: the producer
/// is a conv, depthwise conv or matmul or an add (TFLite's ADD fuses one too; an add that is a conv's
/// bias passes the activation on to the conv). Not a transposed conv: TRANSPOSE_CONV applies a fused
/// activation only from version 4 (LiteRT 2.13; older runtimes would ignore it), and XNNPACK fuses the
/// RELU after it at run time anyway. The readers of the value in between must allow it
/// ([`readers_allow_fusion`]).
pub fn takes_activation(producer: &Op) -> bool {
    matches!(
        producer,
        Op::Conv2D | Op::DepthwiseConv2dNative | Op::MatMul | Op::Add | Op::AddV2 | Op::BiasAdd
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_channel_constants_after_convs_only() {
        let c = |shape: &[usize]| Tensor::filled(shape.to_vec(), 1f32);
        let out = [1, 8, 8, 4];
        assert!(is_bias_operand(&Op::Conv2D, &out, &c(&[4])));
        assert!(is_bias_operand(&Op::MatMul, &[2, 4], &c(&[1, 4])));
        assert!(is_bias_operand(
            &Op::Conv2DBackpropInput,
            &out,
            &c(&[1, 1, 1, 4])
        ));
        assert!(!is_bias_operand(&Op::Mul, &out, &c(&[4])), "no bias input");
        assert!(
            !is_bias_operand(&Op::Conv2D, &out, &c(&[8, 1, 4])),
            "not per channel"
        );
        assert!(
            !is_bias_operand(&Op::Conv2D, &out, &c(&[1, 1, 1, 1, 4])),
            "broadcasts up"
        );
        assert!(!is_bias_operand(
            &Op::Conv2D,
            &out,
            &Tensor::filled(vec![4], 1i32)
        ));
        assert!(readers_allow_fusion(1, false));
        assert!(!readers_allow_fusion(2, false) && !readers_allow_fusion(1, true));
    }

    #[test]
    fn relu_relu6_and_unit_clamps_fuse_into_convs() {
        assert_eq!(
            fusable_activation(&Op::Relu6, &[None]),
            Some(FusedActivation::Relu6)
        );
        let tanh = fusable_activation(&Op::Tanh, &[None]);
        assert_eq!(tanh, None, "XNNPACK runs no conv with it");
        let leaky = fusable_activation(&Op::LeakyRelu, &[None]);
        assert_eq!(leaky, None, "no such fused activation");
        assert_eq!(fusable_activation(&Op::Sigmoid, &[None]), None);
        let clip = |lo: f32, hi: f32| {
            let (lo, hi) = (Tensor::scalar(lo), Tensor::scalar(hi));
            fusable_activation(&Op::ClipByValue, &[None, Some(&lo), Some(&hi)])
        };
        assert_eq!(clip(-1.0, 1.0), Some(FusedActivation::ReluN1To1));
        assert_eq!(clip(0.0, 6.0), Some(FusedActivation::Relu6));
        assert_eq!(clip(-0.5, 1.0), None);
        assert!(takes_activation(&Op::DepthwiseConv2dNative) && takes_activation(&Op::MatMul));
        assert!(
            !takes_activation(&Op::Conv2DBackpropInput),
            "TRANSPOSE_CONV v4 only"
        );
        assert!(takes_activation(&Op::AddV2) && !takes_activation(&Op::Mul));
        assert!(!takes_activation(&Op::AvgPool));
    }
}
