//! Convolutions (NHWC; NCHW is transposed in and out) and MatMul.
//!
//! Ungrouped convolutions are GEMMs over im2col patch matrices built a tile of output pixels at a time
//! (a whole 256×256 layer's patches would take hundreds of MB); grouped and depthwise ones stay direct
//! loops (their cost is small).

use super::elementwise::Num;
use super::gemm::{Gemm, View};
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
    let xv = f32s(&xn, "input")?;
    let fv = f32s(f, "filter")?;
    let mut out = vec![0f32; n * oh * ow * o];
    let geo = Geometry::new(&ca, (h, w, c), (kh, kw), (oh, ow))?;
    if groups == 1 {
        let k = kh * kw * c;
        let filter = View::rows(&fv, k, o);
        for b in 0..n {
            let x = &xv[b * h * w * c..(b + 1) * h * w * c];
            let y = &mut out[b * oh * ow * o..(b + 1) * oh * ow * o];
            if geo.is_pointwise() {
                f32::gemm(View::rows(x, oh * ow, c), filter, y, false);
                continue;
            }
            let mut patches = Vec::new();
            for (start, rows) in geo.tiles(k) {
                geo.im2col(x, start, rows, &mut patches);
                let y = &mut y[start * o..(start + rows) * o];
                f32::gemm(View::rows(&patches, rows, k), filter, y, false);
            }
        }
        let t = tensor_of(vec![n, oh, ow, o], out)?;
        return from_nhwc(t, &ca);
    }
    if fc == 1 && opg == 1 {
        // Depthwise with multiplier 1 (StyleGAN's blur): per-channel taps, vectorised over channels.
        for b in 0..n {
            let x = &xv[b * h * w * c..(b + 1) * h * w * c];
            for p in 0..oh * ow {
                let acc = &mut out[(b * oh * ow + p) * o..(b * oh * ow + p + 1) * o];
                for ky in 0..kh {
                    for kx in 0..kw {
                        if let Some(at) = geo.tap(p, ky, kx) {
                            let frow = &fv[(ky * kw + kx) * o..(ky * kw + kx + 1) * o];
                            for ((a, &xv), &fw) in acc.iter_mut().zip(&x[at..at + c]).zip(frow) {
                                *a += xv * fw;
                            }
                        }
                    }
                }
            }
        }
        let t = tensor_of(vec![n, oh, ow, o], out)?;
        return from_nhwc(t, &ca);
    }
    for b in 0..n {
        for oy in 0..oh {
            for ox in 0..ow {
                let obase = ((b * oh + oy) * ow + ox) * o;
                let acc = &mut out[obase..obase + o];
                for ky in 0..kh {
                    let iy = (oy * ca.sh + ky * ca.dh) as i64 - geo.pt;
                    if iy < 0 || iy >= h as i64 {
                        continue;
                    }
                    for kx in 0..kw {
                        let ix = (ox * ca.sw + kx * ca.dw) as i64 - geo.pl;
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

/// MaxPool (`max`) or AvgPool over each window; with SAME padding an average counts only the input
/// positions inside the window, as TensorFlow's (and TFLite's) does.
pub(crate) fn pool(a: &Attrs, x: &Tensor, max: bool) -> Res<Tensor> {
    check_f32(x, "input")?;
    let ca = shape::conv_attrs(a)?;
    let [kh, kw] = shape::pool_window(a, &ca)?;
    let out_df = shape::pool_dims(&ca, &dims(x), [kh, kw])?;
    let xn = to_nhwc(x, &ca)?;
    let [n, h, w, c]: [usize; 4] = xn
        .shape()
        .try_into()
        .map_err(|_| "pooling input must be 4-D")?;
    let (oh, ow) = if ca.nchw {
        (out_df[2] as usize, out_df[3] as usize)
    } else {
        (out_df[1] as usize, out_df[2] as usize)
    };
    let (pt, pl) = shape::conv_pads_before(&ca, h as i64, w as i64, kh as i64, kw as i64)?;
    let xv = f32s(&xn, "input")?;
    let mut out = vec![0f32; n * oh * ow * c];
    let mut acc = vec![0f32; c];
    for b in 0..n {
        for oy in 0..oh {
            for ox in 0..ow {
                acc.fill(if max { f32::NEG_INFINITY } else { 0.0 });
                let mut count = 0usize;
                for ky in 0..kh {
                    let y = (oy * ca.sh + ky) as i64 - pt;
                    for kx in 0..kw {
                        let xx = (ox * ca.sw + kx) as i64 - pl;
                        if y < 0 || xx < 0 || y >= h as i64 || xx >= w as i64 {
                            continue;
                        }
                        count += 1;
                        let at = ((b * h + y as usize) * w + xx as usize) * c;
                        for (a, &v) in acc.iter_mut().zip(&xv[at..at + c]) {
                            *a = if max { a.max(v) } else { *a + v };
                        }
                    }
                }
                let at = ((b * oh + oy) * ow + ox) * c;
                for (o, &a) in out[at..at + c].iter_mut().zip(&acc) {
                    *o = if max { a } else { a / count.max(1) as f32 };
                }
            }
        }
    }
    from_nhwc(tensor_of(vec![n, oh, ow, c], out)?, &ca)
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
    let (kh, kw, fc) = (f.shape()[0], f.shape()[1], f.shape()[2]);
    let dv = f32s(&dyn_, "out_backprop")?;
    let fv = f32s(f, "filter")?;
    // Grouped (shape inference checked the depths): group g maps out_backprop channels
    // [g·O/G, (g+1)·O/G) back to input channels [g·C/G, (g+1)·C/G), each an ungrouped problem.
    let groups = c.checked_div(fc).unwrap_or(1);
    let opg = o / groups;
    let geo = Geometry::new(&ca, (h, w, fc), (kh, kw), (oh, ow))?;
    let mut dx = vec![0f32; n * h * w * c];
    for g in 0..groups {
        let pick = |v: &[f32], width: usize| -> Vec<f32> {
            v.chunks(width)
                .flat_map(|row| row[g * opg..(g + 1) * opg].iter().copied())
                .collect()
        };
        let (dg, fg) = if groups == 1 {
            (dv.to_vec(), fv.to_vec())
        } else {
            (pick(&dv, o), pick(&fv, o))
        };
        let xg = backprop_group(&geo, &dg, &fg, n, opg);
        for (pos, px) in xg.chunks(fc).enumerate() {
            dx[pos * c + g * fc..pos * c + (g + 1) * fc].copy_from_slice(px);
        }
    }
    let t = tensor_of(vec![n, h, w, c], dx)?;
    from_nhwc(t, &ca)
}

/// One group of Conv2DBackpropInput in NHWC: `dy` `[n, oh, ow, o]`, the filter `[kh, kw, c, o]` (the
/// geometry's `c`), giving `dx` `[n, h, w, c]`.
fn backprop_group(geo: &Geometry, dv: &[f32], fv: &[f32], n: usize, o: usize) -> Vec<f32> {
    let (h, w, c) = (geo.h, geo.w, geo.c);
    let (oh, ow) = (geo.oh, geo.ow);
    let mut dx = vec![0f32; n * h * w * c];
    // The filter [kh,kw,C,O] as a K×O matrix; each tile of dy (rows × O) times its transpose gives the
    // patch columns (rows × K) that scatter back onto the input positions they came from.
    let k = geo.kh * geo.kw * c;
    let filter_t = View::rows(fv, k, o).t();
    let mut cols = Vec::new();
    for b in 0..n {
        let d = &dv[b * oh * ow * o..(b + 1) * oh * ow * o];
        let x = &mut dx[b * h * w * c..(b + 1) * h * w * c];
        for (start, rows) in geo.tiles(k) {
            cols.clear();
            cols.resize(rows * k, 0.0);
            let dtile = &d[start * o..(start + rows) * o];
            f32::gemm(View::rows(dtile, rows, o), filter_t, &mut cols, false);
            geo.col2im_add(&cols, start, rows, x);
        }
    }
    dx
}

/// The geometry of one convolution in NHWC, for moving between images and patch matrices.
struct Geometry<'a> {
    h: usize,
    w: usize,
    c: usize,
    kh: usize,
    kw: usize,
    oh: usize,
    ow: usize,
    pt: i64,
    pl: i64,
    ca: &'a ConvAttrs,
}

impl Geometry<'_> {
    /// The geometry of input `h × w × c`, kernel `kh × kw` and output `oh × ow` under `ca`'s padding.
    fn new<'a>(
        ca: &'a ConvAttrs,
        (h, w, c): (usize, usize, usize),
        (kh, kw): (usize, usize),
        (oh, ow): (usize, usize),
    ) -> Res<Geometry<'a>> {
        let (pt, pl) = shape::conv_pads_before(ca, h as i64, w as i64, kh as i64, kw as i64)?;
        Ok(Geometry {
            h,
            w,
            c,
            kh,
            kw,
            oh,
            ow,
            pt,
            pl,
            ca,
        })
    }

    /// A 1×1 kernel, stride 1, no padding: the input is already the patch matrix.
    fn is_pointwise(&self) -> bool {
        self.kh == 1
            && self.kw == 1
            && self.ca.sh == 1
            && self.ca.sw == 1
            && self.pt == 0
            && self.pl == 0
            && (self.oh, self.ow) == (self.h, self.w)
    }

    /// Output-pixel ranges `(first, count)` whose patch matrices hold about 8 MB of f32 each.
    fn tiles(&self, k: usize) -> impl Iterator<Item = (usize, usize)> {
        let total = self.oh * self.ow;
        let per = ((2usize << 20) / k.max(1)).max(1);
        (0..total)
            .step_by(per)
            .map(move |start| (start, per.min(total - start)))
    }

    /// The input position (row, column) that kernel tap (ky, kx) of output pixel `p` reads, if inside.
    fn tap(&self, p: usize, ky: usize, kx: usize) -> Option<usize> {
        let (oy, ox) = (p / self.ow, p % self.ow);
        let iy = (oy * self.ca.sh + ky * self.ca.dh) as i64 - self.pt;
        let ix = (ox * self.ca.sw + kx * self.ca.dw) as i64 - self.pl;
        if iy < 0 || iy >= self.h as i64 || ix < 0 || ix >= self.w as i64 {
            return None;
        }
        Some((iy as usize * self.w + ix as usize) * self.c)
    }

    /// Fills `patches` (rows × kh·kw·C, zero where a tap falls in the padding) for output pixels
    /// `start..start + rows` of image `x`.
    fn im2col(&self, x: &[f32], start: usize, rows: usize, patches: &mut Vec<f32>) {
        let c = self.c;
        patches.clear();
        patches.resize(rows * self.kh * self.kw * c, 0.0);
        let mut chunks = patches.chunks_exact_mut(c);
        for p in start..start + rows {
            for ky in 0..self.kh {
                for kx in 0..self.kw {
                    let dst = chunks.next().expect("patch rows");
                    if let Some(at) = self.tap(p, ky, kx) {
                        dst.copy_from_slice(&x[at..at + c]);
                    }
                }
            }
        }
    }

    /// The adjoint of [`Self::im2col`]: adds each patch column back onto the input position it reads.
    fn col2im_add(&self, cols: &[f32], start: usize, rows: usize, x: &mut [f32]) {
        let c = self.c;
        let mut chunks = cols.chunks_exact(c);
        for p in start..start + rows {
            for ky in 0..self.kh {
                for kx in 0..self.kw {
                    let src = chunks.next().expect("patch rows");
                    if let Some(at) = self.tap(p, ky, kx) {
                        for (d, &s) in x[at..at + c].iter_mut().zip(src) {
                            *d += s;
                        }
                    }
                }
            }
        }
    }
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
    let shape = vec![out[0] as usize, out[1] as usize];
    // Floats: the transposes are stride swaps of the GEMM's operands.
    fn view<'a, T>(v: &'a [T], t: &Tensor, transposed: bool) -> View<'a, T> {
        let m = View::rows(v, t.shape()[0], t.shape()[1]);
        if transposed {
            m.t()
        } else {
            m
        }
    }
    match (Data::of(x)?, Data::of(y)?) {
        (Data::F32(p), Data::F32(q)) => {
            let mut c = vec![0f32; shape[0] * shape[1]];
            f32::gemm(view(&p, x, ta), view(&q, y, tb), &mut c, false);
            return tensor_of(shape, c);
        }
        (Data::F64(p), Data::F64(q)) => {
            let mut c = vec![0f64; shape[0] * shape[1]];
            f64::gemm(view(&p, x, ta), view(&q, y, tb), &mut c, false);
            return tensor_of(shape, c);
        }
        _ => {}
    }
    let xm = if ta { permute(x, &[1, 0])? } else { x.clone() };
    let ym = if tb { permute(y, &[1, 0])? } else { y.clone() };
    let (m, k, n) = (xm.shape()[0], xm.shape()[1], ym.shape()[1]);
    match (Data::of(&xm)?, Data::of(&ym)?) {
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
