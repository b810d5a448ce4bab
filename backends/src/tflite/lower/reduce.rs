//! Reductions: a MEAN over many elements in steps (see [`Lowerer::mean_steps`]).

use sgc_ir::{DType, NodeIndex, ValueRef};

use super::Lowerer;
use crate::tflite::schema::{builtin, BuiltinOptions};
use crate::tflite::BackendError;

impl<'g> Lowerer<'g> {
    /// The axes of a `Mean` (keeping dimensions) over several axes, in the order to reduce them one at a
    /// time: innermost first. TFLite's MEAN accumulates in float32 along the reduced axes; over all of a
    /// 1024×1024 NHWC image (StyleGAN's instance norm) that is one running sum of a million terms per
    /// channel, whose rounding error is several 1e-4 of the result. A mean of row means is the same
    /// value (the rows have equal length) with sums of ~1000 terms each. `None`: one MEAN is fine.
    pub(super) fn mean_steps(
        &self,
        n: NodeIndex,
        x: ValueRef,
        axes: ValueRef,
    ) -> Result<Option<Vec<usize>>, BackendError> {
        let (dtype, shape) = self.info(x)?;
        let Some(axes) = self.const_of(self.resolve(axes)) else {
            return Ok(None);
        };
        let rank = shape.len() as i64;
        let mut axes: Vec<usize> = axes
            .to_i64s()
            .map_err(|e| self.err(n, format!("reduction axes: {e}")))?
            .into_iter()
            .map(|a| if a < 0 { a + rank } else { a })
            .filter(|&a| (0..rank).contains(&a) && shape[a as usize] > 1)
            .map(|a| a as usize)
            .collect();
        axes.sort_unstable_by(|a, b| b.cmp(a));
        axes.dedup();
        let elements: usize = axes.iter().map(|&a| shape[a]).product();
        Ok((dtype == DType::F32 && axes.len() > 1 && elements > 4096).then_some(axes))
    }

    /// One MEAN per axis in `steps`, through intermediate tensors.
    pub(super) fn lower_mean_in_steps(
        &mut self,
        n: NodeIndex,
        x: i32,
        steps: Vec<usize>,
    ) -> Result<(), BackendError> {
        let name = self.g.node(n).name.clone();
        let (dtype, mut shape) = self.info(self.g.inputs(n)[0])?;
        let mut current = x;
        for (i, &axis) in steps.iter().enumerate() {
            let axis_t = self.i32_const(n, format!("{name}/axis_{axis}"), vec![axis as i32])?;
            shape[axis] = 1;
            let out = if i + 1 == steps.len() {
                self.outputs(n)?
            } else {
                vec![self.new_tensor(n, format!("{name}/mean_axis_{axis}"), dtype, &shape)?]
            };
            let next = out[0];
            self.emit(
                builtin::MEAN,
                BuiltinOptions::Reducer { keep_dims: true },
                vec![current, axis_t],
                out,
            );
            current = next;
        }
        Ok(())
    }
}
