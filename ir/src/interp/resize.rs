//! Image resizes (NHWC): nearest neighbour and bilinear, with TensorFlow's `align_corners` and
//! `half_pixel_centers` coordinate rules.

use super::{check_numel, elem_size, f32s, flag, from_bytes, ints_of, tensor_of, Res};
use crate::attr::Attrs;
use crate::dtype::DType;
use crate::shape;
use crate::tensor::Tensor;

/// TensorFlow's source index for output index `x` of a nearest-neighbour resize.
fn nearest_index(x: usize, scale: f32, in_size: usize, align: bool, half: bool) -> usize {
    let xf = if half {
        (x as f32 + 0.5) * scale
    } else {
        x as f32 * scale
    };
    let i = if align { xf.round() } else { xf.floor() } as i64;
    i.clamp(0, in_size as i64 - 1) as usize
}

/// TensorFlow's resize scale: in/out, or (in-1)/(out-1) with aligned corners.
fn resize_scale(in_size: usize, out_size: usize, align: bool) -> f32 {
    if align && out_size > 1 {
        (in_size as f32 - 1.0) / (out_size as f32 - 1.0)
    } else {
        in_size as f32 / out_size as f32
    }
}

pub(crate) fn resize_nearest(a: &Attrs, t: &Tensor, size: &Tensor) -> Res<Tensor> {
    let out = resize_out(a, t, size)?;
    let (align, half) = (flag(a, "align_corners"), flag(a, "half_pixel_centers"));
    let (n, ih, iw, c) = (t.shape()[0], t.shape()[1], t.shape()[2], t.shape()[3]);
    let (oh, ow) = (out[1], out[2]);
    let es = elem_size(t)?;
    let hs = resize_scale(ih, oh, align);
    let ws = resize_scale(iw, ow, align);
    let xs: Vec<usize> = (0..ow)
        .map(|x| nearest_index(x, ws, iw, align, half))
        .collect();
    let row = c * es;
    let mut buf = Vec::with_capacity(n * oh * ow * row);
    let src = t.bytes();
    for b in 0..n {
        for y in 0..oh {
            let iy = nearest_index(y, hs, ih, align, half);
            for &ix in &xs {
                let p = ((b * ih + iy) * iw + ix) * row;
                buf.extend_from_slice(&src[p..p + row]);
            }
        }
    }
    from_bytes(t.dtype(), out, buf)
}

/// The output shape of a resize of `t` to `size`, with the attribute checks both resizes share.
fn resize_out(a: &Attrs, t: &Tensor, size: &Tensor) -> Res<Vec<usize>> {
    if flag(a, "align_corners") && flag(a, "half_pixel_centers") {
        return Err("align_corners and half_pixel_centers cannot both be true".into());
    }
    let sz = ints_of(size, "size")?;
    if sz.iter().any(|&z| z < 1) {
        return Err(format!("size must be positive, got {sz:?}"));
    }
    let dims: Vec<i64> = t.shape().iter().map(|&d| d as i64).collect();
    let out = shape::resize_dims(&dims, &sz)?;
    let out: Vec<usize> = out.into_iter().map(|d| d as usize).collect();
    check_numel(&out)?;
    if (t.shape()[1] == 0 || t.shape()[2] == 0) && out[1] * out[2] > 0 {
        return Err("cannot resize an empty image".into());
    }
    Ok(out)
}

/// One output coordinate of a bilinear resize: the two source indices and the weight of the upper.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Lerp {
    lo: usize,
    hi: usize,
    w: f32,
}

/// TensorFlow's bilinear source coordinates: `in = out·scale` (or `(out + ½)·scale − ½` with half-pixel
/// centers), the lower index clamped at 0 and the upper at the last pixel, the weight `in − ⌊in⌋`.
fn lerps(out_size: usize, in_size: usize, align: bool, half: bool) -> Vec<Lerp> {
    let scale = resize_scale(in_size, out_size, align);
    (0..out_size)
        .map(|x| {
            let v = if half {
                (x as f32 + 0.5) * scale - 0.5
            } else {
                x as f32 * scale
            };
            let f = v.floor();
            let last = in_size as i64 - 1;
            Lerp {
                lo: (f as i64).clamp(0, last) as usize,
                hi: (v.ceil() as i64).clamp(0, last) as usize,
                w: v - f,
            }
        })
        .collect()
}

/// `ResizeBilinear`: float32 output, computed as TensorFlow's kernel does (top and bottom rows
/// interpolated along x, then the two along y).
pub(crate) fn resize_bilinear(a: &Attrs, t: &Tensor, size: &Tensor) -> Res<Tensor> {
    let out = resize_out(a, t, size)?;
    let x = match t.dtype() {
        DType::F32 => f32s(t, "images")?,
        _ => super::elementwise::cast(t, DType::F32).and_then(|c| f32s(&c, "images"))?,
    };
    let (align, half) = (flag(a, "align_corners"), flag(a, "half_pixel_centers"));
    let (n, ih, iw, c) = (t.shape()[0], t.shape()[1], t.shape()[2], t.shape()[3]);
    let (oh, ow) = (out[1], out[2]);
    let ys = lerps(oh, ih, align, half);
    let xs = lerps(ow, iw, align, half);
    let at = |b: usize, y: usize, xx: usize, ch: usize| x[((b * ih + y) * iw + xx) * c + ch];
    let mut v = Vec::with_capacity(n * oh * ow * c);
    for b in 0..n {
        for ly in &ys {
            for lx in &xs {
                for ch in 0..c {
                    let tl = at(b, ly.lo, lx.lo, ch);
                    let tr = at(b, ly.lo, lx.hi, ch);
                    let bl = at(b, ly.hi, lx.lo, ch);
                    let br = at(b, ly.hi, lx.hi, ch);
                    let top = tl + (tr - tl) * lx.w;
                    let bottom = bl + (br - bl) * lx.w;
                    v.push(top + (bottom - top) * ly.w);
                }
            }
        }
    }
    tensor_of(out, v)
}
