//! Data-driven rounding of integer weights (GPTQ: Frantar et al., "GPTQ: Accurate Post-Training
//! Quantization for Generative Pre-trained Transformers", 2022).
//!
//! Rounding each weight to its nearest step leaves an error per output channel `Δw` whose effect on
//! the layer's output over the inputs `x` it meets is `Δwᵀ H Δw`, `H = Σ x xᵀ` over every input
//! patch the weight multiplies. GPTQ rounds one input column at a time (largest `H` diagonal
//! first) and moves each column's rounding error onto the columns not yet rounded, in proportion
//! to their correlation (the Cholesky factor of `H⁻¹`): same scales, same storage, less output error.
//! On the 256 px StyleGAN generator, with 32 calibration latents, it raised SSIM against float32 from
//! 0.970 to 0.983 (int8 weights, float compute) and from 0.936 to 0.944 (int8 dynamic range).
//!
//! The patches are TFLite's: a weight's row is `[kh, kw, cin]` (CONV_2D, TRANSPOSE_CONV) or `[k]`
//! (FULLY_CONNECTED) with the output channel first, and [`Patches`] lists, for each output
//! position, the input values each weight element multiplies there.

use std::sync::Arc;

use super::quant::StoredAs;
use super::schema::{builtin, BuiltinOptions, Padding};
use super::{ModelPlan, TensorData};

/// Where the input values of one output position come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Patches {
    /// FULLY_CONNECTED: each row of `[.., k]` is one position.
    Dense { k: usize },
    /// CONV_2D (NHWC input `[1, h, w, c]`) or TRANSPOSE_CONV, with the output size and the padding
    /// TFLite computes.
    Conv(ConvGeometry),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConvGeometry {
    pub transposed: bool,
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: (usize, usize),
    pub dilation: (usize, usize),
    pub pad: (usize, usize),
    pub out: (usize, usize),
}

impl Patches {
    /// Elements of one weight row.
    pub fn d(&self) -> usize {
        match self {
            Patches::Dense { k } => *k,
            Patches::Conv(g) => g.kh * g.kw * g.c,
        }
    }

    /// Output positions of an input of `len` values.
    pub fn positions(&self, len: usize) -> usize {
        match self {
            Patches::Dense { k } => len / k,
            Patches::Conv(g) => g.out.0 * g.out.1,
        }
    }

    /// The values weight row elements multiply at output position `r` (0 where padding).
    fn row(&self, x: &[f32], r: usize, out: &mut [f32]) {
        match self {
            Patches::Dense { k } => out.copy_from_slice(&x[r * k..(r + 1) * k]),
            Patches::Conv(g) => {
                let (oy, ox) = ((r / g.out.1) as isize, (r % g.out.1) as isize);
                for ky in 0..g.kh {
                    for kx in 0..g.kw {
                        let at = &mut out[(ky * g.kw + kx) * g.c..(ky * g.kw + kx + 1) * g.c];
                        match g.source(oy, ox, ky, kx) {
                            Some(p) => at.copy_from_slice(&x[p * g.c..(p + 1) * g.c]),
                            None => at.fill(0.0),
                        }
                    }
                }
            }
        }
    }
}

impl ConvGeometry {
    /// The input pixel (`y · w + x`) that kernel tap `(ky, kx)` reads for output `(oy, ox)`.
    /// CONV_2D: `in = out · stride − pad + k · dilation`; TRANSPOSE_CONV scatters
    /// `out = in · stride − pad + k`, so `in = (out + pad − k) / stride` where that divides.
    fn source(&self, oy: isize, ox: isize, ky: usize, kx: usize) -> Option<usize> {
        let axis = |o: isize, k: usize, s: usize, d: usize, p: usize, n: usize| -> Option<usize> {
            let i = match self.transposed {
                false => o * s as isize - p as isize + (k * d) as isize,
                true => {
                    let t = o + p as isize - k as isize;
                    if t < 0 || t % s as isize != 0 {
                        return None;
                    }
                    t / s as isize
                }
            };
            (0..n as isize).contains(&i).then_some(i as usize)
        };
        let y = axis(oy, ky, self.stride.0, self.dilation.0, self.pad.0, self.h)?;
        let x = axis(ox, kx, self.stride.1, self.dilation.1, self.pad.1, self.w)?;
        Some(y * self.w + x)
    }
}

/// TFLite's padding before the first row or column: SAME centres the kernel's reach
/// (`((out − 1) · stride + reach − in) / 2`, `in` and `out` swapped for a transposed conv).
fn padding(p: Padding, input: usize, output: usize, reach: usize, stride: usize, t: bool) -> usize {
    let (from, to) = if t { (output, input) } else { (input, output) };
    match p {
        Padding::Valid => 0,
        Padding::Same => ((to.saturating_sub(1)) * stride + reach).saturating_sub(from) / 2,
    }
}

/// One integer weight to round by data: the tensor stored, the activation its op multiplies it with,
/// and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub weight: i32,
    pub input: i32,
    pub patches: Patches,
}

/// The integer weights of the plan's CONV_2D, TRANSPOSE_CONV and FULLY_CONNECTED ops (read directly
/// or through a DEQUANTIZE), with their ops' inputs. Depthwise weights (a few taps per channel) keep
/// round-to-nearest.
pub fn targets(plan: &ModelPlan) -> Vec<Target> {
    let dims = |t: i32| -> Vec<usize> {
        plan.tensors[t as usize]
            .shape
            .iter()
            .map(|&d| d.max(0) as usize)
            .collect()
    };
    let integer = |t: i32| {
        matches!(
            plan.tensors[t as usize].data,
            Some(TensorData::Quantized {
                to: StoredAs::Int8(_) | StoredAs::Int4(_),
                ..
            })
        )
    };
    // The stored weight behind a DEQUANTIZE output.
    let stored = |t: i32| -> Option<i32> {
        if integer(t) {
            return Some(t);
        }
        plan.operators
            .iter()
            .find(|o| o.code.builtin == builtin::DEQUANTIZE && o.outputs == [t])
            .map(|o| o.inputs[0])
            .filter(|&s| integer(s))
    };
    let mut out = Vec::new();
    for op in &plan.operators {
        let (x, w) = match op.code.builtin {
            builtin::CONV_2D | builtin::FULLY_CONNECTED => (op.inputs[0], op.inputs[1]),
            builtin::TRANSPOSE_CONV => (op.inputs[2], op.inputs[1]),
            _ => continue,
        };
        let Some(weight) = stored(w) else { continue };
        let (xs, ws, ys) = (dims(x), dims(weight), dims(op.outputs[0]));
        let patches = match (&op.options, xs.len(), ws.len(), ys.len()) {
            (BuiltinOptions::FullyConnected { .. }, _, 2, _) => Patches::Dense { k: ws[1] },
            (opts, 4, 4, 4) if xs[0] == 1 => {
                let (padding_kind, stride, dilation, transposed) = match *opts {
                    BuiltinOptions::Conv2D {
                        padding,
                        stride_w,
                        stride_h,
                        dilation_w,
                        dilation_h,
                        ..
                    } => (
                        padding,
                        (stride_h as usize, stride_w as usize),
                        (dilation_h as usize, dilation_w as usize),
                        false,
                    ),
                    BuiltinOptions::TransposeConv {
                        padding,
                        stride_w,
                        stride_h,
                        ..
                    } => (
                        padding,
                        (stride_h as usize, stride_w as usize),
                        (1, 1),
                        true,
                    ),
                    _ => continue,
                };
                let (kh, kw) = (ws[1], ws[2]);
                let reach = |k: usize, d: usize| (k - 1) * d + 1;
                let pad = (
                    padding(
                        padding_kind,
                        xs[1],
                        ys[1],
                        reach(kh, dilation.0),
                        stride.0,
                        transposed,
                    ),
                    padding(
                        padding_kind,
                        xs[2],
                        ys[2],
                        reach(kw, dilation.1),
                        stride.1,
                        transposed,
                    ),
                );
                Patches::Conv(ConvGeometry {
                    transposed,
                    h: xs[1],
                    w: xs[2],
                    c: xs[3],
                    kh,
                    kw,
                    stride,
                    dilation,
                    pad,
                    out: (ys[1], ys[2]),
                })
            }
            _ => continue,
        };
        if patches.d() == ws[1..].iter().product::<usize>() {
            out.push(Target {
                weight,
                input: x,
                patches,
            });
        }
    }
    out
}

/// `Σ x xᵀ` over the patches a weight met (f32, summed per input in one matrix product: the
/// 3×3×512 convs of StyleGAN have 4608² entries).
#[derive(Debug, Clone)]
pub struct Hessian {
    pub d: usize,
    pub h: Vec<f32>,
    /// Patches summed.
    pub rows: usize,
}

impl Hessian {
    pub fn new(d: usize) -> Hessian {
        Hessian {
            d,
            h: vec![0.0; d * d],
            rows: 0,
        }
    }

    /// Adds the patches of one input (`x`, as the op reads it), at most `max_rows` evenly spaced
    /// output positions of it.
    pub fn add(&mut self, patches: &Patches, x: &[f32], max_rows: usize) {
        let (d, positions) = (self.d, patches.positions(x.len()));
        let n = positions.min(max_rows.max(1));
        if n == 0 {
            return;
        }
        let mut p = vec![0f32; n * d];
        for (i, row) in p.chunks_exact_mut(d).enumerate() {
            patches.row(x, i * positions / n, row);
        }
        // H += Pᵀ P
        unsafe {
            matrixmultiply::sgemm(
                d,
                n,
                d,
                1.0,
                p.as_ptr(),
                1,
                d as isize,
                p.as_ptr(),
                d as isize,
                1,
                1.0,
                self.h.as_mut_ptr(),
                d as isize,
                1,
            );
        }
        self.rows += n;
    }
}

/// Lower Cholesky factor of the symmetric `a` (`d`×`d`, row-major) in place (upper triangle zeroed),
/// blocked so that the bulk of the work is one matrix product per block. `None` if not positive
/// definite.
fn cholesky(a: &mut [f64], d: usize) -> Option<()> {
    const NB: usize = 64;
    for k0 in (0..d).step_by(NB) {
        let k1 = (k0 + NB).min(d);
        for j in k0..k1 {
            let s = a[j * d + j] - (k0..j).map(|p| a[j * d + p].powi(2)).sum::<f64>();
            if s <= 0.0 || !s.is_finite() {
                return None;
            }
            let l = s.sqrt();
            a[j * d + j] = l;
            for i in j + 1..d {
                let dot: f64 = (k0..j).map(|p| a[i * d + p] * a[j * d + p]).sum();
                a[i * d + j] = (a[i * d + j] - dot) / l;
            }
        }
        let n = d - k1;
        if n > 0 {
            // A22 -= L21 L21ᵀ
            let l21 = a[k1 * d + k0..].as_ptr();
            let c = a[k1 * d + k1..].as_mut_ptr();
            unsafe {
                matrixmultiply::dgemm(
                    n,
                    k1 - k0,
                    n,
                    -1.0,
                    l21,
                    d as isize,
                    1,
                    l21,
                    1,
                    d as isize,
                    1.0,
                    c,
                    d as isize,
                    1,
                );
            }
        }
    }
    for i in 0..d {
        a[i * d + i + 1..(i + 1) * d].fill(0.0);
    }
    Some(())
}

/// The inverse of lower-triangular `l`, by block rows (`L X = I`; one matrix product per block).
fn invert_lower(l: &[f64], d: usize) -> Vec<f64> {
    const NB: usize = 64;
    let mut x = vec![0f64; d * d];
    for i0 in (0..d).step_by(NB) {
        let i1 = (i0 + NB).min(d);
        // Rows i0..i1 of X: (I − L[i, ..i0] X[..i0, ..]) solved with the diagonal block. X is lower,
        // so only columns < i1 are non-zero.
        if i0 > 0 {
            let (done, rest) = x.split_at_mut(i0 * d);
            unsafe {
                matrixmultiply::dgemm(
                    i1 - i0,
                    i0,
                    i1,
                    -1.0,
                    l[i0 * d..].as_ptr(),
                    d as isize,
                    1,
                    done.as_ptr(),
                    d as isize,
                    1,
                    0.0,
                    rest.as_mut_ptr(),
                    d as isize,
                    1,
                );
            }
        }
        // Forward substitution within the block, row by row (rows of X are contiguous; X[p] is 0
        // beyond column p).
        for i in i0..i1 {
            x[i * d + i] += 1.0;
            let (above, row) = x.split_at_mut(i * d);
            let row = &mut row[..=i];
            for p in i0..i {
                let lip = l[i * d + p];
                for (v, &xp) in row.iter_mut().zip(&above[p * d..=p * d + p]) {
                    *v -= lip * xp;
                }
            }
            let lii = l[i * d + i];
            row.iter_mut().for_each(|v| *v /= lii);
        }
    }
    x
}

/// Upper-triangular `U` with `H⁻¹ = Uᵀ U`: with `J` the reversal, `J H J = L Lᵀ` gives `H = R Rᵀ`
/// for the upper `R = J L J`, so `U = R⁻¹ = J L⁻¹ J`.
fn inverse_upper_factor(h: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut m: Vec<f64> = (0..d * d)
        .map(|k| h[(d - 1 - k / d) * d + (d - 1 - k % d)])
        .collect();
    cholesky(&mut m, d)?;
    let x = invert_lower(&m, d);
    Some(
        (0..d * d)
            .map(|k| x[(d - 1 - k / d) * d + (d - 1 - k % d)])
            .collect(),
    )
}

/// GPTQ values of `w` (`[channels, d]` row-major, TFLite's layout) with the given per-channel
/// scales, in `[-qmax, qmax]`. `None` when `h` cannot be factored (then round to nearest).
pub fn round(w: &[f32], scales: &[f32], qmax: f32, h: &Hessian) -> Option<Vec<i8>> {
    let d = h.d;
    let channels = scales.len();
    assert_eq!(w.len(), channels * d, "weight and Hessian sizes");
    // Columns no patch reached carry nothing: any value does; the others go largest diagonal first.
    let mut hm: Vec<f64> = h.h.iter().map(|&v| f64::from(v)).collect();
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| hm[b * d + b].total_cmp(&hm[a * d + a]));
    let mean_diag = (0..d).map(|i| hm[i * d + i]).sum::<f64>() / d as f64;
    if mean_diag <= 0.0 {
        return None;
    }
    // Damping: GPTQ's 1 % of the mean diagonal, plus `d / rows` of it — with fewer patches than
    // inputs, H is rank-deficient and the error would be moved into directions no data reached
    // (measured: 1 dB worse than nearest on a 32 px synthesis network whose style layers saw 32
    // patches of 64 inputs). Heavy damping leaves U diagonal: round to nearest.
    let damp = (0.01 + d as f64 / h.rows.max(1) as f64) * mean_diag;
    for i in 0..d {
        if hm[i * d + i] == 0.0 {
            hm[i * d + i] = 1.0;
        }
        hm[i * d + i] += damp;
    }
    let hp: Vec<f64> = (0..d * d)
        .map(|k| hm[order[k / d] * d + order[k % d]])
        .collect();
    drop(hm);
    let u = inverse_upper_factor(&hp, d)?;
    drop(hp);
    let mut wp: Vec<f64> = (0..channels * d)
        .map(|k| f64::from(w[(k / d) * d + order[k % d]]))
        .collect();
    let mut q = vec![0i8; channels * d];
    const B: usize = 128;
    for b0 in (0..d).step_by(B) {
        let b1 = (b0 + B).min(d);
        let nb = b1 - b0;
        let mut err = vec![0f64; channels * nb];
        for j in b0..b1 {
            let ujj = u[j * d + j];
            for (o, &s) in scales.iter().enumerate() {
                let s = f64::from(s);
                let v = wp[o * d + j];
                // Half away from zero, as round-to-nearest stores it.
                let qv = ((v / s) as f32).round().clamp(-qmax, qmax);
                q[o * d + order[j]] = qv as i8;
                let e = (v - f64::from(qv) * s) / ujj;
                err[o * nb + (j - b0)] = e;
                for k in j + 1..b1 {
                    wp[o * d + k] -= e * u[j * d + k];
                }
            }
        }
        if b1 < d {
            // W[:, b1..] -= E · U[b0..b1, b1..]
            unsafe {
                matrixmultiply::dgemm(
                    channels,
                    nb,
                    d - b1,
                    -1.0,
                    err.as_ptr(),
                    nb as isize,
                    1,
                    u[b0 * d + b1..].as_ptr(),
                    d as isize,
                    1,
                    1.0,
                    wp[b1..].as_mut_ptr(),
                    d as isize,
                    1,
                );
            }
        }
    }
    Some(q)
}

/// Stores GPTQ values for `target`'s weight (its scales unchanged). Returns whether it did (`false`:
/// the weight keeps round-to-nearest).
pub fn apply(plan: &mut ModelPlan, target: &Target, h: &Hessian) -> bool {
    let t = &mut plan.tensors[target.weight as usize];
    let Some(TensorData::Quantized {
        source,
        shape,
        perm,
        to,
        rounded,
        ..
    }) = &mut t.data
    else {
        return false;
    };
    let (scales, qmax) = match to {
        StoredAs::Int8(s) => (s.clone(), 127.0),
        StoredAs::Int4(s) => (s.clone(), 7.0),
        StoredAs::F16 => return false,
    };
    // The float weight in TFLite's layout, output channel first.
    let laid_out = match perm {
        Some(p) => super::lower::transpose_bytes(source, shape, p, 4),
        None => source.to_vec(),
    };
    let w: Vec<f32> = super::quant::f32_values(&laid_out).collect();
    if w.len() != scales.len() * h.d {
        return false;
    }
    match round(&w, &scales, qmax, h) {
        Some(q) => {
            *rounded = Some(q.into_iter().map(|v| v as u8).collect::<Arc<[u8]>>());
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random stream in [-1, 1).
    fn noise(seed: u64, n: usize) -> Vec<f64> {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
            })
            .collect()
    }

    /// Correlated patches: each row a smoothed random walk (neighbouring inputs alike, as in images).
    fn hessian(d: usize, rows: usize) -> (Hessian, Vec<f32>) {
        let mut x = Vec::with_capacity(rows * d);
        for (r, chunk) in noise(7, rows * d).chunks(d).enumerate() {
            let mut acc = 0.0;
            for (i, v) in chunk.iter().enumerate() {
                acc = 0.8 * acc + v;
                x.push((acc + 0.1 * (r % 3) as f64 + 0.01 * i as f64) as f32);
            }
        }
        let mut h = Hessian::new(d);
        h.add(&Patches::Dense { k: d }, &x, rows);
        (h, x)
    }

    #[test]
    fn the_factor_inverts_h() {
        for d in [5, 64, 150] {
            let (h, _) = hessian(d, 3 * d);
            let mut hd: Vec<f64> = h.h.iter().map(|&v| f64::from(v)).collect();
            for i in 0..d {
                hd[i * d + i] += 1e-3;
            }
            let u = inverse_upper_factor(&hd, d).unwrap();
            for i in 0..d {
                for j in 0..i {
                    assert_eq!(u[i * d + j], 0.0, "upper triangular");
                }
            }
            // (Uᵀ U) H = I
            let mut worst = 0f64;
            for i in 0..d {
                for j in 0..d {
                    let v: f64 = (0..d)
                        .map(|k| {
                            let uu: f64 = (0..d).map(|p| u[p * d + i] * u[p * d + k]).sum();
                            uu * hd[k * d + j]
                        })
                        .sum();
                    worst = worst.max((v - if i == j { 1.0 } else { 0.0 }).abs());
                }
            }
            assert!(worst < 1e-6, "d {d}: |UᵀU H − I| = {worst}");
        }
    }

    #[test]
    fn gptq_has_less_output_error_than_nearest_and_keeps_the_grid() {
        let (d, channels) = (96, 8);
        let (h, x) = hessian(d, 400);
        let w: Vec<f32> = noise(3, channels * d).iter().map(|&v| v as f32).collect();
        for qmax in [127.0f32, 7.0] {
            let scales: Vec<f32> = w
                .chunks(d)
                .map(|r| r.iter().fold(0f32, |m, v| m.max(v.abs())) / qmax)
                .collect();
            let nearest: Vec<i8> = w
                .chunks(d)
                .zip(&scales)
                .flat_map(|(r, &s)| r.iter().map(move |v| (v / s).round() as i8))
                .collect();
            let q = round(&w, &scales, qmax, &h).unwrap();
            assert!(q.iter().all(|&v| f32::from(v).abs() <= qmax));
            // Squared output error over the same patches.
            let error = |q: &[i8]| -> f64 {
                x.chunks(d)
                    .map(|row| {
                        (0..channels)
                            .map(|o| {
                                let e: f64 = (0..d)
                                    .map(|i| {
                                        let wq = f64::from(q[o * d + i]) * f64::from(scales[o]);
                                        (f64::from(w[o * d + i]) - wq) * f64::from(row[i])
                                    })
                                    .sum();
                                e * e
                            })
                            .sum::<f64>()
                    })
                    .sum()
            };
            let (en, eg) = (error(&nearest), error(&q));
            assert!(eg < 0.7 * en, "qmax {qmax}: GPTQ {eg} vs nearest {en}");
        }
    }

    /// Conv patches are the values each weight element multiplies: the weight rows dotted with them
    /// give the convolution (checked against a direct loop, SAME padding, stride 2; and a transposed
    /// conv's scatter).
    #[test]
    fn conv_patches_are_what_each_weight_multiplies() {
        let (h, w, c, k) = (5, 4, 2, 3);
        let x: Vec<f32> = noise(1, h * w * c).iter().map(|&v| v as f32).collect();
        let wt: Vec<f64> = noise(2, k * k * c);
        for transposed in [false, true] {
            let (stride, out) = match transposed {
                false => (2, (3, 2)),
                true => (2, ((h - 1) * 2 + k, (w - 1) * 2 + k)),
            };
            let g = ConvGeometry {
                transposed,
                h,
                w,
                c,
                kh: k,
                kw: k,
                stride: (stride, stride),
                dilation: (1, 1),
                pad: match transposed {
                    false => (
                        padding(Padding::Same, h, out.0, k, stride, false),
                        padding(Padding::Same, w, out.1, k, stride, false),
                    ),
                    true => (0, 0),
                },
                out,
            };
            let p = Patches::Conv(g);
            let mut row = vec![0f32; p.d()];
            let mut direct = vec![0f64; out.0 * out.1];
            for iy in 0..h as isize {
                for ix in 0..w as isize {
                    for ky in 0..k as isize {
                        for kx in 0..k as isize {
                            let (oy, ox) = match transposed {
                                // out = in · s + k
                                true => (iy * 2 + ky, ix * 2 + kx),
                                // in = out · s − pad + k  ⇒  out = (in + pad − k) / s
                                false => {
                                    let (ty, tx) =
                                        (iy + g.pad.0 as isize - ky, ix + g.pad.1 as isize - kx);
                                    if ty % 2 != 0 || tx % 2 != 0 || ty < 0 || tx < 0 {
                                        continue;
                                    }
                                    (ty / 2, tx / 2)
                                }
                            };
                            if oy >= out.0 as isize || ox >= out.1 as isize {
                                continue;
                            }
                            for ch in 0..c {
                                let xv = f64::from(x[((iy * w as isize + ix) as usize) * c + ch]);
                                let wv = wt[((ky * k as isize + kx) as usize) * c + ch];
                                direct[oy as usize * out.1 + ox as usize] += xv * wv;
                            }
                        }
                    }
                }
            }
            for (r, want) in direct.iter().enumerate() {
                p.row(&x, r, &mut row);
                let got: f64 = row.iter().zip(&wt).map(|(&a, b)| f64::from(a) * b).sum();
                assert!(
                    (got - want).abs() < 1e-9,
                    "transposed {transposed}, {r}: {got} vs {want}"
                );
            }
        }
    }
}
