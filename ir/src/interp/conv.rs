//! Convolutions (direct loops over NHWC; NCHW is transposed in and out) and MatMul.

use super::elementwise::Num;
use super::movement::permute;
use super::{f32s, flag, ints_of, tensor_of, Data, Res};
use crate::attr::Attrs;
use crate::dtype::DType;
use crate::shape::{self, ConvAttrs};
use crate::tensor::Tensor;

fn check_f32(t: &Tensor, what: &str) -> Res<()> {
    if t.dtype() != DType::F32 {
        return Err(format!("{what} must be f32, got {}", t.dtype()));
    }
    Ok(())
}

fn dims(t: &Tensor) -> Vec<i64> {
    t.shape().iter().map(|&d| d as i64).collect()
}

fn to_nhwc(t: &Tensor, ca: &ConvAttrs) -> Res<Tensor> {
    if ca.nchw {
        permute(t, &[0, 2, 3, 1])
    } else {
        Ok(t.clone())
    }
}

fn from_nhwc(t: Tensor, ca: &ConvAttrs) -> Res<Tensor> {
    if ca.nchw {
        permute(&t, &[0, 3, 1, 2])
    } else {
        Ok(t)
    }
}

/// Conv2D (grouped when the filter's input depth divides the input's) and DepthwiseConv2dNative.
pub(crate) fn conv2d(a: &Attrs, x: &Tensor, f: &Tensor, depthwise: bool) -> Res<Tensor> {
    check_f32(x, "input")?;
    check_f32(f, "filter")?;
    let ca = shape::conv_attrs(a)?;
    // Validates ranks, depths and geometry, and gives the output shape in the data format.
    let out_df = shape::conv2d_dims(&ca, &dims(x), &dims(f), depthwise)?;
    let xn = to_nhwc(x, &ca)?;
    let (n, h, w, c) = (xn.shape()[0], xn.shape()[1], xn.shape()[2], xn.shape()[3]);
    let (kh, kw) = (f.shape()[0], f.shape()[1]);
    // A depthwise filter [kh,kw,C,M] is a grouped filter [kh,kw,1,C*M] with C groups.
    let (fc, o) = if depthwise {
        (1, f.shape()[2] * f.shape()[3])
    } else {
        (f.shape()[2], f.shape()[3])
    };
    let (oh, ow) = if ca.nchw {
        (out_df[2] as usize, out_df[3] as usize)
    } else {
        (out_df[1] as usize, out_df[2] as usize)
    };
    if c == 0 || n * oh * ow * o == 0 {
        let t = tensor_of(vec![n, oh, ow, o], vec![0f32; n * oh * ow * o])?;
        return from_nhwc(t, &ca);
    }
    let groups = c / fc;
    let opg = o / groups;
    let (pt, pl) = shape::conv_pads_before(&ca, h as i64, w as i64, kh as i64, kw as i64)?;
    let xv = f32s(&xn, "input")?;
    let fv = f32s(f, "filter")?;
    let mut out = vec![0f32; n * oh * ow * o];
    for b in 0..n {
        for oy in 0..oh {
            for ox in 0..ow {
                let obase = ((b * oh + oy) * ow + ox) * o;
                let acc = &mut out[obase..obase + o];
                for ky in 0..kh {
                    let iy = (oy * ca.sh + ky * ca.dh) as i64 - pt;
                    if iy < 0 || iy >= h as i64 {
                        continue;
                    }
                    for kx in 0..kw {
                        let ix = (ox * ca.sw + kx * ca.dw) as i64 - pl;
                        if ix < 0 || ix >= w as i64 {
                            continue;
                        }
                        let xbase = ((b * h + iy as usize) * w + ix as usize) * c;
                        let xrow = &xv[xbase..xbase + c];
                        let fbase = (ky * kw + kx) * fc * o;
                        for (ic, &xval) in xrow.iter().enumerate() {
                            let g = ic / fc;
                            let j = ic % fc;
                            let fo = fbase + j * o + g * opg;
                            let frow = &fv[fo..fo + opg];
                            let arow = &mut acc[g * opg..(g + 1) * opg];
                            for (a, &fw) in arow.iter_mut().zip(frow) {
                                *a += xval * fw;
                            }
                        }
                    }
                }
            }
        }
    }
    let t = tensor_of(vec![n, oh, ow, o], out)?;
    from_nhwc(t, &ca)
}

/// Conv2DBackpropInput: the adjoint of Conv2D with respect to its input.
pub(crate) fn conv2d_backprop_input(
    a: &Attrs,
    sizes: &Tensor,
    f: &Tensor,
    dy: &Tensor,
) -> Res<Tensor> {
    check_f32(f, "filter")?;
    check_f32(dy, "out_backprop")?;
    let ca = shape::conv_attrs(a)?;
    let sz = ints_of(sizes, "input_sizes")?;
    let in_df = shape::conv2d_backprop_input_dims(&ca, Some(&sz), &dims(f), &dims(dy))?;
    let in_df: Vec<usize> = in_df.iter().map(|&d| d as usize).collect();
    let (n, h, w, c) = if ca.nchw {
        (in_df[0], in_df[2], in_df[3], in_df[1])
    } else {
        (in_df[0], in_df[1], in_df[2], in_df[3])
    };
    let dyn_ = to_nhwc(dy, &ca)?;
    let (oh, ow, o) = (dyn_.shape()[1], dyn_.shape()[2], dyn_.shape()[3]);
    let (kh, kw) = (f.shape()[0], f.shape()[1]);
    let (pt, pl) = shape::conv_pads_before(&ca, h as i64, w as i64, kh as i64, kw as i64)?;
    let dv = f32s(&dyn_, "out_backprop")?;
    let fv = f32s(f, "filter")?;
    let mut dx = vec![0f32; n * h * w * c];
    for b in 0..n {
        for oy in 0..oh {
            for ox in 0..ow {
                let dbase = ((b * oh + oy) * ow + ox) * o;
                let drow = &dv[dbase..dbase + o];
                for ky in 0..kh {
                    let iy = (oy * ca.sh + ky * ca.dh) as i64 - pt;
                    if iy < 0 || iy >= h as i64 {
                        continue;
                    }
                    for kx in 0..kw {
                        let ix = (ox * ca.sw + kx * ca.dw) as i64 - pl;
                        if ix < 0 || ix >= w as i64 {
                            continue;
                        }
                        let xbase = ((b * h + iy as usize) * w + ix as usize) * c;
                        let fbase = (ky * kw + kx) * c * o;
                        for (ic, g) in dx[xbase..xbase + c].iter_mut().enumerate() {
                            let frow = &fv[fbase + ic * o..fbase + (ic + 1) * o];
                            let dot: f32 = frow.iter().zip(drow).map(|(&p, &q)| p * q).sum();
                            *g += dot;
                        }
                    }
                }
            }
        }
    }
    let t = tensor_of(vec![n, h, w, c], dx)?;
    from_nhwc(t, &ca)
}

pub(crate) fn matmul(a: &Attrs, x: &Tensor, y: &Tensor) -> Res<Tensor> {
    if x.dtype() != y.dtype() {
        return Err(format!(
            "operands have different dtypes: {} and {}",
            x.dtype(),
            y.dtype()
        ));
    }
    let (ta, tb) = (flag(a, "transpose_a"), flag(a, "transpose_b"));
    let out = shape::matmul_dims(&dims(x), &dims(y), ta, tb)?;
    let xm = if ta { permute(x, &[1, 0])? } else { x.clone() };
    let ym = if tb { permute(y, &[1, 0])? } else { y.clone() };
    let (m, k, n) = (xm.shape()[0], xm.shape()[1], ym.shape()[1]);
    let shape = vec![out[0] as usize, out[1] as usize];
    match (Data::of(&xm)?, Data::of(&ym)?) {
        (Data::F32(p), Data::F32(q)) => tensor_of(shape, mm(&p, &q, m, k, n)),
        (Data::F64(p), Data::F64(q)) => tensor_of(shape, mm(&p, &q, m, k, n)),
        (Data::I32(p), Data::I32(q)) => tensor_of(shape, mm(&p, &q, m, k, n)),
        (Data::I64(p), Data::I64(q)) => tensor_of(shape, mm(&p, &q, m, k, n)),
        _ => Err(format!("MatMul is not defined on {}", x.dtype())),
    }
}

fn mm<T: Num>(p: &[T], q: &[T], m: usize, k: usize, n: usize) -> Vec<T> {
    let mut out = vec![T::zero(); m * n];
    for i in 0..m {
        let row = &mut out[i * n..(i + 1) * n];
        for kk in 0..k {
            let a = p[i * k + kk];
            for (o, &b) in row.iter_mut().zip(&q[kk * n..(kk + 1) * n]) {
                *o = o.add(a.mul(b));
            }
        }
    }
    out
}
