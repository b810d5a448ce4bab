//! StyleGAN's fused upscale-and-convolve, with the weights it was trained with.
//!
//! From 128 px up, StyleGAN does "nearest 2× upscale, then 3×3 conv" as one stride-2 transposed
//! convolution whose 4×4 kernel is the 3×3 kernel `k` summed with itself shifted by one row, one column
//! and both (`K = k ⊛ box₂ₓ₂`). Stored that way the kernel has 16/9 the bytes of the weights it is made
//! of, and the convolution does 16 multiply-adds per input pixel and channel pair.
//!
//! Transposed convolution is linear in its kernel and a kernel convolved with a box is the convolution
//! followed by the box, so (1-D, output `o`, SAME padding puts one tap before the first input):
//!
//! ```text
//! y[o] = Σ_{2i + t − 1 = o} x[i] (k[t] + k[t−1])  =  w[o] + w[o+1],   w[m] = Σ_{2i + s = m} x[i] k[s]
//! ```
//!
//! where `w` is the stride-2 transposed conv with the 3×3 kernel and VALID padding (size 2H+1). In 2-D:
//! `Conv2DBackpropInput(K, SAME) = DepthwiseConv2dNative(Conv2DBackpropInput(k, VALID), ones 2×2, VALID)`:
//! the model stores `k` (plus 2×2 ones per channel), and does 9 + 4/Cin multiply-adds where it did 16.
//!
//! The rule works on the constant kernel, not on the `Pad`/`StridedSlice`/`AddN` that built it, so it
//! also applies to graphs whose kernels an earlier tool already folded. `k` is recovered from `K` by
//! running the box sum backwards and kept only if summing it again gives `K` back up to float32
//! rounding of the four-term sums.
//!
//! Below 128 px StyleGAN writes the same computation unfused: a nearest 2× upscale, then a 3×3 SAME
//! conv with kernel `c`. That is the same transposed convolution with `k` = `c` flipped in both
//! spatial axes (and its channel axes swapped, as transposed-conv filters are laid out), borders
//! included: in 1-D, `y[o] = Σ_t up(x)[o + t − 1] c[t] = Σ_i x[i] (c[2i + 1 − o] + c[2i + 2 − o])`, which
//! is `w[o] + w[o + 1]` above with `k[s] = c[2 − s]`. So the second rule writes it as the same 3×3
//! TRANSPOSE_CONV and box: 9/4 multiply-adds per output pixel and channel pair instead of 9, and no
//! upscaled copy of the input.

use egg::{Id, Subst};
use sgc_ir::{Attr, Attrs, ConvAttrs, ConvPadding, DType, Op, Tensor};

use crate::util::{
    add_const, add_i32s, add_op, bound, derived_const, ints, matched_attrs, rule, shape, value,
};
use crate::{ConvKernels, EGraph, Rewrite};

/// The fused upscale's split always; the unfused upscale's transposed-conv form only where that is
/// what runs fastest (integer weights: see [`ConvKernels`]).
pub fn rules(kernels: ConvKernels) -> Vec<Rewrite> {
    let mut rules = vec![rule(
        "fused-upscale-as-3x3-transpose-conv-and-box",
        "(Conv2DBackpropInput ?sizes ?kernel ?x)",
        split,
    )];
    if kernels == ConvKernels::IntegerWeights {
        rules.push(rule(
            "upscale-then-conv-as-3x3-transpose-conv-and-box",
            "(Conv2D ?up ?kernel)",
            upscale_then_conv,
        ));
    }
    rules
}

/// How far `box(k)` may be from `K`, relative to the largest `|K|`: float32 rounding of the sums that
/// made `K` (2⁻²⁴ each) carried through the back-substitution, which adds up to nine of them.
const TOLERANCE: f64 = 4e-6;

fn split(egraph: &mut EGraph, class: Id, subst: &Subst) -> Option<Id> {
    let (sizes, kernel, x) = (
        bound(subst, "?sizes"),
        bound(subst, "?kernel"),
        bound(subst, "?x"),
    );
    let operands = [sizes, kernel, x].map(|c| egraph.find(c));
    let attrs = matched_attrs(egraph, class, &Op::Conv2DBackpropInput, |args| {
        args == operands
    })?;
    let ca = ConvAttrs::parse(&attrs).ok()?;
    if ca.nchw || ca.padding != ConvPadding::Same || (ca.sh, ca.sw, ca.dh, ca.dw) != (2, 2, 1, 1) {
        return None;
    }
    let [n, h, w, _] = <[usize; 4]>::try_from(shape(egraph, x)?).ok()?;
    let big = value(egraph, kernel)?;
    let [4, 4, cout, _] = <[usize; 4]>::try_from(big.shape()).ok()? else {
        return None;
    };
    if big.dtype() != DType::F32
        || ints(egraph, sizes)? != [n as i64, 2 * h as i64, 2 * w as i64, cout as i64]
    {
        return None;
    }
    // Once per kernel, not per match and iteration (most 4×4 kernels, a DCGAN's, are no box sum).
    let small = derived_const(egraph, "unbox", &[kernel], |eg| {
        let big = value(eg, kernel)?;
        let small = unbox(big);
        if let Some(file) = &eg.analysis.backing {
            file.release_bytes(big.bytes()); // read once here; the writer reads it again if it stays
        }
        small
    })?;
    let mut valid = attrs.clone();
    valid.set("padding", Attr::Str("VALID".into()));
    Some(spread_and_box(egraph, x, small, valid, [n, h, w, cout]))
}

/// `Conv2D(ResizeNearestNeighbor(x, [2H, 2W]), c)`, 3×3 SAME, as `spread_and_box` of `x` with `c`
/// flipped (see the module doc).
fn upscale_then_conv(egraph: &mut EGraph, class: Id, subst: &Subst) -> Option<Id> {
    let (up, kernel) = (bound(subst, "?up"), bound(subst, "?kernel"));
    let operands = [up, kernel].map(|c| egraph.find(c));
    let attrs = matched_attrs(egraph, class, &Op::Conv2D, |args| args == operands)?;
    let ca = ConvAttrs::parse(&attrs).ok()?;
    if ca.nchw || ca.padding != ConvPadding::Same || (ca.sh, ca.sw, ca.dh, ca.dw) != (1, 1, 1, 1) {
        return None;
    }
    let c = value(egraph, kernel)?;
    let [3, 3, cin, cout] = <[usize; 4]>::try_from(c.shape()).ok()? else {
        return None;
    };
    if c.dtype() != DType::F32 {
        return None;
    }
    // The upscale: a nearest resize to exactly twice the size, TF1's default sampling.
    let (x, size, up_attrs) = egraph[up].nodes.iter().find_map(|node| match node {
        crate::lang::TfNode::Op {
            op: Op::ResizeNearestNeighbor,
            attrs,
            args,
        } if *attrs != crate::lang::AttrsId::ANY && args.len() == 2 => Some((
            egraph.find(args[0]),
            egraph.find(args[1]),
            egraph.analysis.attrs(*attrs).clone(),
        )),
        _ => None,
    })?;
    if spread_and_boxed(egraph, class, x) {
        return None; // applied in an earlier iteration: flipping the kernel again would cost time
    }
    let [n, h, w, xc] = <[usize; 4]>::try_from(shape(egraph, x)?).ok()?;
    if xc != cin
        || ints(egraph, size)? != [2 * h as i64, 2 * w as i64]
        || up_attrs.bool("align_corners").unwrap_or(false)
        || up_attrs.bool("half_pixel_centers").unwrap_or(false)
    {
        return None;
    }
    // k[a][b][o][i] = c[2 − a][2 − b][i][o].
    let cv = c.to_vec::<f32>().ok()?;
    let mut k = Vec::with_capacity(cv.len());
    for a in 0..3 {
        for b in 0..3 {
            for o in 0..cout {
                for i in 0..cin {
                    k.push(cv[(((2 - a) * 3 + (2 - b)) * cin + i) * cout + o]);
                }
            }
        }
    }
    let mut spread = Attrs::new();
    spread.set("T", Attr::Type(DType::F32));
    spread.set("strides", Attr::Ints(vec![1, 2, 2, 1]));
    spread.set("dilations", Attr::Ints(vec![1, 1, 1, 1]));
    spread.set("padding", Attr::Str("VALID".into()));
    spread.set("data_format", Attr::Str("NHWC".into()));
    let k = add_const(egraph, Tensor::from_vec(vec![3, 3, cout, cin], k));
    Some(spread_and_box(egraph, x, k, spread, [n, h, w, cout]))
}

/// Whether `class` already holds [`spread_and_box`] of `x`.
fn spread_and_boxed(egraph: &EGraph, class: Id, x: Id) -> bool {
    let holds = |id: Id, op: Op, pred: &dyn Fn(&[Id]) -> bool| {
        egraph[id].nodes.iter().any(|n| match n {
            crate::lang::TfNode::Op { op: o, args, .. } => *o == op && pred(args),
            _ => false,
        })
    };
    holds(class, Op::DepthwiseConv2dNative, &|args| {
        holds(egraph.find(args[0]), Op::Conv2DBackpropInput, &|a| {
            a.len() == 3 && egraph.find(a[2]) == x
        })
    })
}

/// `DepthwiseConv2dNative(Conv2DBackpropInput(x, k, VALID, stride 2), ones 2×2, VALID)`: the 3×3
/// transposed conv to `[N, 2H+1, 2W+1, Cout]` (`valid`: its attributes), then the 2×2 box back to
/// `[N, 2H, 2W, Cout]`.
fn spread_and_box(
    egraph: &mut EGraph,
    x: Id,
    small: Id,
    valid: Attrs,
    [n, h, w, cout]: [usize; 4],
) -> Id {
    let valid_sizes = add_i32s(
        egraph,
        &[n as i64, 2 * h as i64 + 1, 2 * w as i64 + 1, cout as i64],
    );
    let spread = add_op(
        egraph,
        Op::Conv2DBackpropInput,
        valid,
        vec![valid_sizes, small, x],
    );

    let box_kernel = add_const(egraph, Tensor::filled(vec![2, 2, cout, 1], 1f32));
    let mut box_attrs = Attrs::new();
    box_attrs.set("T", Attr::Type(DType::F32));
    box_attrs.set("strides", Attr::Ints(vec![1, 1, 1, 1]));
    box_attrs.set("dilations", Attr::Ints(vec![1, 1, 1, 1]));
    box_attrs.set("padding", Attr::Str("VALID".into()));
    box_attrs.set("data_format", Attr::Str("NHWC".into()));
    add_op(
        egraph,
        Op::DepthwiseConv2dNative,
        box_attrs,
        vec![spread, box_kernel],
    )
}

/// The 3×3 kernel `k` with `box₂ₓ₂(k) = K` for a 4×4 kernel `K` (`[4, 4, …]`), if there is one.
///
/// `K[a][b] = k[a][b] + k[a−1][b] + k[a][b−1] + k[a−1][b−1]` (out-of-range taps are zero), so for
/// `a, b < 3` each `k[a][b]` follows from `K[a][b]` and the taps before it; row 3 and column 3 of `K`
/// are then the check.
pub fn unbox(big: &Tensor) -> Option<Tensor> {
    let [4, 4, ..] = big.shape() else {
        return None;
    };
    if big.dtype() != sgc_ir::DType::F32 {
        return None;
    }
    let inner: usize = big.shape()[2..].iter().product();
    // Read in place: a decoded copy of a transposed conv's kernel (32 MB for pix2pix's largest, twice
    // that in f64) was the peak of the whole conversion.
    let bytes = big.bytes();
    let value = |i: usize| {
        let b: [u8; 4] = bytes[4 * i..4 * i + 4].try_into().expect("4 bytes");
        f32::from_le_bytes(b) as f64
    };
    let at = |a: usize, b: usize, j: usize| value((a * 4 + b) * inner + j);
    let scale = (0..16 * inner).fold(0f64, |m, i| m.max(value(i).abs()));
    let mut small = vec![0f64; 9 * inner];
    for j in 0..inner {
        let mut k = [[0f64; 5]; 5]; // k[a + 1][b + 1], with a zero row and column before
        for a in 0..4 {
            for b in 0..4 {
                let rest = k[a][b + 1] + k[a + 1][b] + k[a][b];
                if a < 3 && b < 3 {
                    k[a + 1][b + 1] = at(a, b, j) - rest;
                    small[(a * 3 + b) * inner + j] = k[a + 1][b + 1];
                } else if (at(a, b, j) - rest).abs() > TOLERANCE * scale {
                    return None;
                }
            }
        }
    }
    let mut dims = big.shape().to_vec();
    dims[0] = 3;
    dims[1] = 3;
    Some(Tensor::from_vec(
        dims,
        small.into_iter().map(|v| v as f32).collect::<Vec<f32>>(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    /// `K = box(k)` summed as StyleGAN sums it, in float32.
    fn boxed(k: &Tensor) -> Tensor {
        let inner: usize = k.shape()[2..].iter().product();
        let v = k.to_vec::<f32>().unwrap();
        let at = |a: i64, b: i64, j: usize| -> f32 {
            if (0..3).contains(&a) && (0..3).contains(&b) {
                v[(a as usize * 3 + b as usize) * inner + j]
            } else {
                0.0
            }
        };
        let mut out = Vec::with_capacity(16 * inner);
        for a in 0..4i64 {
            for b in 0..4i64 {
                for j in 0..inner {
                    out.push(at(a, b, j) + at(a - 1, b, j) + at(a, b - 1, j) + at(a - 1, b - 1, j));
                }
            }
        }
        let mut dims = k.shape().to_vec();
        dims[0] = 4;
        dims[1] = 4;
        Tensor::from_vec(dims, out)
    }

    /// A stride-2 NHWC `Conv2DBackpropInput` of a [1, 3, 3, Cin] input (Cin from the kernel) to `out`.
    fn upscale_conv(kernel: Tensor, out: [i32; 4], padding: &str) -> sgc_ir::Graph {
        let mut b = Builder::new();
        let x = b.input("x", &[1, 3, 3, kernel.shape()[3]]);
        let sizes = b.ints("sizes", &out);
        let k = b.constant("kernel", kernel);
        let y = b.op(
            "up",
            Op::Conv2DBackpropInput,
            &[sizes, k, x],
            &[
                ("strides", Attr::Ints(vec![1, 2, 2, 1])),
                ("padding", Attr::Str(padding.into())),
                ("data_format", Attr::Str("NHWC".into())),
            ],
        );
        b.output(y)
    }

    fn kernel_shapes(g: &sgc_ir::Graph) -> Vec<Vec<usize>> {
        g.node_indices()
            .filter(|&n| g.node(n).op == Op::Conv2DBackpropInput)
            .map(|n| g.const_value(g.inputs(n)[1]).unwrap().shape().to_vec())
            .collect()
    }

    #[test]
    fn unbox_inverts_the_box_sum() {
        let k = random(&[3, 3, 3, 2], 7);
        let back = unbox(&boxed(&k)).expect("a box sum");
        let (p, q) = (k.to_vec::<f32>().unwrap(), back.to_vec::<f32>().unwrap());
        let err = p
            .iter()
            .zip(&q)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(err < 1e-6, "recovered kernel off by {err}");
    }

    /// With 16 input channels, 9 instead of 16 multiply-adds per input element pay for the box.
    #[test]
    fn a_box_summed_kernel_becomes_a_3x3_transpose_conv_and_a_box() {
        let g = upscale_conv(boxed(&random(&[3, 3, 8, 16], 3)), [1, 6, 6, 8], "SAME");
        let out = rewrite(&g, &rules(ConvKernels::IntegerWeights));
        assert_eq!(
            kernel_shapes(&out),
            vec![vec![3, 3, 8, 16]],
            "{}",
            out.dump()
        );
        assert_eq!(count(&out, &Op::DepthwiseConv2dNative), 1);
        assert_same_function(&g, &out);
    }

    #[test]
    fn any_other_4x4_kernel_stays() {
        let g = upscale_conv(random(&[4, 4, 8, 16], 3), [1, 6, 6, 8], "SAME");
        let out = rewrite(&g, &rules(ConvKernels::IntegerWeights));
        assert_eq!(kernel_shapes(&out), vec![vec![4, 4, 8, 16]]);
        assert_eq!(count(&out, &Op::DepthwiseConv2dNative), 0);
    }

    #[test]
    fn valid_padding_stays() {
        // VALID with a 4×4 kernel gives 8×8, not the 2H×2W this identity is about.
        let g = upscale_conv(boxed(&random(&[3, 3, 8, 16], 3)), [1, 8, 8, 8], "VALID");
        let out = rewrite(&g, &rules(ConvKernels::IntegerWeights));
        assert_eq!(kernel_shapes(&out), vec![vec![4, 4, 8, 16]]);
    }

    /// With 2 input channels the box's 4 multiply-adds per output cost more than the 7 per input saved.
    #[test]
    fn with_few_input_channels_the_fused_kernel_is_cheaper() {
        let g = upscale_conv(boxed(&random(&[3, 3, 8, 2], 3)), [1, 6, 6, 8], "SAME");
        let out = rewrite(&g, &rules(ConvKernels::IntegerWeights));
        assert_eq!(kernel_shapes(&out), vec![vec![4, 4, 8, 2]]);
    }

    /// `Conv2D(ResizeNearestNeighbor(x, scale·[H, W]), c)` on an NHWC `[1, 3, 5, Cin]` input.
    fn upscaled_conv(
        c: Tensor,
        scale: i32,
        padding: &str,
        half_pixel_centers: bool,
    ) -> sgc_ir::Graph {
        let mut b = Builder::new();
        let x = b.input("x", &[1, 3, 5, c.shape()[2]]);
        let size = b.ints("size", &[3 * scale, 5 * scale]);
        let up = b.op(
            "up",
            Op::ResizeNearestNeighbor,
            &[x, size],
            &[
                ("align_corners", Attr::Bool(false)),
                ("half_pixel_centers", Attr::Bool(half_pixel_centers)),
            ],
        );
        let k = b.constant("kernel", c);
        let y = b.op(
            "conv",
            Op::Conv2D,
            &[up, k],
            &[
                ("strides", Attr::Ints(vec![1, 1, 1, 1])),
                ("padding", Attr::Str(padding.into())),
                ("data_format", Attr::Str("NHWC".into())),
            ],
        );
        b.output(y)
    }

    /// Odd sizes and a kernel with no symmetry: the transposed conv with the flipped kernel and the
    /// box compute what the upscale and the conv do, at every border.
    #[test]
    fn an_upscale_then_3x3_conv_becomes_a_3x3_transpose_conv_and_a_box() {
        let g = upscaled_conv(random(&[3, 3, 4, 6], 5), 2, "SAME", false);
        let out = rewrite(&g, &rules(ConvKernels::IntegerWeights));
        assert_eq!(count(&out, &Op::Conv2D), 0, "{}", out.dump());
        assert_eq!(count(&out, &Op::ResizeNearestNeighbor), 0);
        assert_eq!(kernel_shapes(&out), vec![vec![3, 3, 6, 4]]);
        assert_eq!(count(&out, &Op::DepthwiseConv2dNative), 1);
        assert_same_function(&g, &out);
    }

    #[test]
    fn other_upscales_and_convs_stay() {
        for (c, scale, padding, half_pixel) in [
            (random(&[3, 3, 4, 6], 5), 3, "SAME", false),
            (random(&[3, 3, 4, 6], 5), 2, "VALID", false),
            (random(&[3, 3, 4, 6], 5), 2, "SAME", true),
            (random(&[1, 1, 4, 6], 5), 2, "SAME", false),
            (random(&[5, 5, 4, 6], 5), 2, "SAME", false),
        ] {
            let what = format!("{:?} ×{scale} {padding} half_pixel={half_pixel}", c.shape());
            let g = upscaled_conv(c, scale, padding, half_pixel);
            let out = rewrite(&g, &rules(ConvKernels::IntegerWeights));
            assert_eq!(count(&out, &Op::Conv2D), 1, "{what}");
            assert_eq!(count(&out, &Op::Conv2DBackpropInput), 0, "{what}");
        }
    }
}
