//! Reductions: Mean, Sum, Max, Min, Prod over constant axes; ArgMax; Softmax and LogSoftmax.
//!
//! The reduced axes are moved last (one strided copy, skipped when they already are), then every
//! contiguous run is reduced. Float sums accumulate in f64, which stays closer to TensorFlow's tree
//! reductions than a sequential f32 sum does.

use super::elementwise::{axes_of, Num};
use super::movement::permute;
use super::{ints_of, tensor_of, Data, Res};
use crate::op::Op;
use crate::tensor::Tensor;

/// Softmax over the last axis: `exp(x − max) / Σ exp(x − max)`, one row at a time.
pub(crate) fn softmax(x: &Tensor) -> Res<Tensor> {
    need_rows(x)?;
    let mut v = super::f32s(x, "logits")?;
    let last = x.shape().last().copied().unwrap_or(1).max(1);
    for row in v.chunks_mut(last) {
        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0f32;
        for e in row.iter_mut() {
            *e = (*e - m).exp();
            sum += *e;
        }
        for e in row.iter_mut() {
            *e /= sum;
        }
    }
    tensor_of(x.shape().to_vec(), v)
}

/// Softmax and LogSoftmax need logits of rank 1 or more, as TensorFlow's kernels do.
fn need_rows(x: &Tensor) -> Res<()> {
    if x.rank() == 0 {
        return Err("logits must have rank 1 or more".into());
    }
    Ok(())
}

/// LogSoftmax over the last axis: `x − max − ln Σ exp(x − max)`, one row at a time.
pub(crate) fn log_softmax(x: &Tensor) -> Res<Tensor> {
    need_rows(x)?;
    let mut v = super::f32s(x, "logits")?;
    let last = x.shape().last().copied().unwrap_or(1).max(1);
    for row in v.chunks_mut(last) {
        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = row.iter().map(|e| (e - m).exp()).sum();
        let shift = m + sum.ln();
        for e in row.iter_mut() {
            *e -= shift;
        }
    }
    tensor_of(x.shape().to_vec(), v)
}

/// ArgMax along one axis: the index of the first largest value, as `output_type` (TF's default int64).
pub(crate) fn arg_max(a: &crate::Attrs, t: &Tensor, axis_t: &Tensor) -> Res<Tensor> {
    let axis = super::movement::scalar_int(axis_t, "dimension")?;
    let ax = crate::shape::norm_axis(axis, t.rank())?;
    let s = t.shape();
    if s[ax] == 0 {
        return Err(format!("ArgMax over axis {ax} of length 0"));
    }
    let (outer, len) = (s[..ax].iter().product::<usize>(), s[ax]);
    let inner: usize = s[ax + 1..].iter().product();
    // Compared in the element type itself: an int64 above 2^53 is not exact in f64.
    fn first_max<T: PartialOrd + Copy>(
        v: &[T],
        outer: usize,
        len: usize,
        inner: usize,
    ) -> Vec<i64> {
        let mut idx = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            for i in 0..inner {
                let at = |k: usize| v[(o * len + k) * inner + i];
                let best = (1..len).fold(0, |b, k| if at(k) > at(b) { k } else { b });
                idx.push(best as i64);
            }
        }
        idx
    }
    let idx = match Data::of(t)? {
        Data::F32(v) => first_max(&v, outer, len, inner),
        Data::F64(v) => first_max(&v, outer, len, inner),
        Data::I8(v) => first_max(&v, outer, len, inner),
        Data::I16(v) => first_max(&v, outer, len, inner),
        Data::I32(v) => first_max(&v, outer, len, inner),
        Data::I64(v) => first_max(&v, outer, len, inner),
        Data::U8(v) => first_max(&v, outer, len, inner),
        Data::Bool(_) => return Err("ArgMax is not defined on bool".into()),
    };
    let mut shape = s.to_vec();
    shape.remove(ax);
    let out = a.dtype("output_type").unwrap_or(crate::DType::I64);
    let flat = super::int_tensor(out, idx)?;
    Tensor::new(flat.dtype(), shape, flat.bytes().clone())
}

pub(crate) fn reduce(op: &Op, t: &Tensor, axes_t: &Tensor, keep_dims: bool) -> Res<Tensor> {
    if axes_t.rank() > 1 {
        return Err(format!(
            "reduction axes must be a scalar or vector, got {:?}",
            axes_t.shape()
        ));
    }
    let r = t.rank();
    let axes = axes_of(&ints_of(axes_t, "reduction_indices")?, r)?;
    let s = t.shape();
    let kept: Vec<usize> = (0..r).filter(|a| !axes.contains(a)).collect();
    let perm: Vec<usize> = kept.iter().chain(axes.iter()).copied().collect();
    let moved = permute(t, &perm)?;
    let count: usize = axes.iter().map(|&a| s[a]).product();
    let out_shape: Vec<usize> = if keep_dims {
        (0..r)
            .map(|a| if axes.contains(&a) { 1 } else { s[a] })
            .collect()
    } else {
        kept.iter().map(|&a| s[a]).collect()
    };
    match Data::of(&moved)? {
        Data::F32(v) => float_reduce(op, &v, count, out_shape),
        Data::F64(v) => float_reduce(op, &v, count, out_shape),
        Data::I8(v) => int_reduce(op, &v, count, out_shape),
        Data::I16(v) => int_reduce(op, &v, count, out_shape),
        Data::I32(v) => int_reduce(op, &v, count, out_shape),
        Data::I64(v) => int_reduce(op, &v, count, out_shape),
        Data::U8(v) => int_reduce(op, &v, count, out_shape),
        Data::Bool(_) => Err(format!("{op} is not defined on bool")),
    }
}

/// The number of output values when `count` values are reduced into each (count may be 0).
fn outputs(shape: &[usize]) -> usize {
    shape.iter().product()
}

fn float_reduce<T: Num>(op: &Op, v: &[T], count: usize, shape: Vec<usize>) -> Res<Tensor> {
    let n = outputs(&shape);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let run = &v[i * count..(i + 1) * count];
        let x = match op {
            Op::Sum => T::from_f64(run.iter().map(|x| x.to_f64()).sum::<f64>()),
            Op::Mean => T::from_f64(run.iter().map(|x| x.to_f64()).sum::<f64>() / count as f64),
            Op::Prod => T::from_f64(run.iter().map(|x| x.to_f64()).product::<f64>()),
            Op::Max => run.iter().fold(T::lowest(), |m, &x| {
                if x > m || x.to_f64().is_nan() {
                    x
                } else {
                    m
                }
            }),
            Op::Min => run.iter().fold(T::highest(), |m, &x| {
                if x < m || x.to_f64().is_nan() {
                    x
                } else {
                    m
                }
            }),
            _ => return Err(format!("{op} is not a reduction")),
        };
        out.push(x);
    }
    tensor_of(shape, out)
}

fn int_reduce<T: Num>(op: &Op, v: &[T], count: usize, shape: Vec<usize>) -> Res<Tensor> {
    let n = outputs(&shape);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let run = &v[i * count..(i + 1) * count];
        let sum = || run.iter().fold(T::zero(), |a, &x| a.add(x));
        let x = match op {
            Op::Sum => sum(),
            // Integer mean divides with truncation; an empty mean is 0 (TensorFlow divides by zero).
            Op::Mean => sum().div(T::from_usize(count)).unwrap_or_else(T::zero),
            Op::Prod => run.iter().fold(T::one(), |a, &x| a.mul(x)),
            Op::Max => run
                .iter()
                .fold(T::lowest(), |m, &x| if x > m { x } else { m }),
            Op::Min => run
                .iter()
                .fold(T::highest(), |m, &x| if x < m { x } else { m }),
            _ => return Err(format!("{op} is not a reduction")),
        };
        out.push(x);
    }
    tensor_of(shape, out)
}
