//! Activations TFLite has no builtin for, written as several builtins that XNNPACK runs.

use sgc_ir::{NodeIndex, Tensor, ValueRef};

use super::Lowerer;
use crate::tflite::schema::{builtin as b, Activation, BuiltinOptions as O};
use crate::tflite::{BackendError, TensorData};

impl<'g> Lowerer<'g> {
    /// `Selu` = `λα·elu(x) + λ(1 − α)·relu(x)`: for x > 0 both terms are multiples of x summing to
    /// `λx`, for x ≤ 0 only the first is left, `λα(eˣ − 1)` (λ, α: [`sgc_ir::op::SELU_SCALE`], `SELU_ALPHA`).
    pub(super) fn lower_selu(&mut self, n: NodeIndex) -> Result<(), BackendError> {
        let (alpha, scale) = (sgc_ir::op::SELU_ALPHA, sgc_ir::op::SELU_SCALE);
        let x = self.activation_input(n)?;
        let elu = self.step(n, "elu", b::ELU, O::None, vec![x])?;
        let neg_scale = self.f32_scalar(n, "negative_scale", (scale * alpha) as f32)?;
        let neg = self.step(n, "negative", b::MUL, O::Mul, vec![elu, neg_scale])?;
        let relu = self.step(n, "relu", b::RELU, O::None, vec![x])?;
        let pos_scale = self.f32_scalar(n, "positive_scale", (scale * (1.0 - alpha)) as f32)?;
        let pos = self.step(n, "positive", b::MUL, O::Mul, vec![relu, pos_scale])?;
        let out = self.outputs(n)?;
        self.emit(
            b::ADD,
            O::Add {
                activation: Activation::None,
            },
            vec![neg, pos],
            out,
        );
        Ok(())
    }

    /// `Softplus` = `relu(x) + ln(1 + e^−|x|)`: the same as `ln(1 + eˣ)` without its overflow for
    /// large x (TFLite has no LOG1P; below x ≈ −16.6, `1 + eˣ` rounds to 1 in f32 and the log term to 0
    /// where TensorFlow gives eˣ, an absolute error below 6e-8).
    pub(super) fn lower_softplus(&mut self, n: NodeIndex) -> Result<(), BackendError> {
        let x = self.activation_input(n)?;
        let abs = self.step(n, "abs", b::ABS, O::None, vec![x])?;
        let neg = self.step(n, "neg_abs", b::NEG, O::None, vec![abs])?;
        let exp = self.step(n, "exp", b::EXP, O::None, vec![neg])?;
        let one = self.f32_scalar(n, "one", 1.0)?;
        let sum = self.step(
            n,
            "one_plus",
            b::ADD,
            O::Add {
                activation: Activation::None,
            },
            vec![exp, one],
        )?;
        let log = self.step(n, "log", b::LOG, O::None, vec![sum])?;
        let relu = self.step(n, "relu", b::RELU, O::None, vec![x])?;
        let out = self.outputs(n)?;
        self.emit(
            b::ADD,
            O::Add {
                activation: Activation::None,
            },
            vec![relu, log],
            out,
        );
        Ok(())
    }

    /// The float operand of a one-input activation.
    fn activation_input(&mut self, n: NodeIndex) -> Result<i32, BackendError> {
        let ins = self.inputs(n, 1..=1)?;
        if self.info(ins[0])?.0 != sgc_ir::DType::F32 {
            return Err(self.err(n, "only float32 is supported"));
        }
        self.value(ins[0])
    }

    /// One op of a multi-op lowering, writing a new tensor of the node's dtype and shape.
    fn step(
        &mut self,
        n: NodeIndex,
        what: &str,
        code: i32,
        options: O,
        inputs: Vec<i32>,
    ) -> Result<i32, BackendError> {
        let (dtype, shape) = self.info(ValueRef::new(n, 0))?;
        let name = format!("{}/{what}", self.g.node(n).name);
        let out = self.new_tensor(n, name, dtype, &shape)?;
        self.emit(code, options, inputs, vec![out]);
        Ok(out)
    }

    /// A new float32 scalar constant.
    fn f32_scalar(&mut self, n: NodeIndex, what: &str, v: f32) -> Result<i32, BackendError> {
        let t = Tensor::scalar(v);
        let name = format!("{}/{what}", self.g.node(n).name);
        let data = TensorData::Shared(t.bytes().clone());
        self.const_tensor(n, name, &t, data)
    }
}
