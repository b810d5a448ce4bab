//! A stride-2 transposed convolution as four small convolutions and a DEPTH_TO_SPACE ("sub-pixel").
//!
//! XNNPACK runs TRANSPOSE_CONV about 3× slower per multiply-add than CONV_2D (LiteRT 2.3, x86 AVX2,
//! 2 threads: the 3×3 VALID stride-2 transposed conv of the 256 px StyleGAN block, 1.2 G multiply-adds,
//! 54 ms; a 3×3 CONV_2D of 2.4 G, 33 ms). The same computation split by output phase runs at CONV_2D's
//! rate: with a 3×3 kernel `k` and VALID padding, in 1-D, `w[m] = Σ_{2i + s = m} x[i] k[s]` (`m` in
//! `0..=2H`) is, for even and odd `m`,
//!
//! ```text
//! w[2q]     = x[q − 1] k[2] + x[q] k[0]     (q in 0..=H: a 2-tap conv of x padded by 1 on both sides)
//! w[2q + 1] = x[q] k[1]                     (q in 0..H, and 0 at q = H: a 1-tap conv of x padded after)
//! ```
//!
//! In 2-D the four phase pairs are convolutions with 2×2, 2×1, 1×2 and 1×1 kernels (the 9 taps of `k`,
//! no more weights and no more multiply-adds than the transposed conv), each giving `[N, H+1, W+1,
//! Cout]`; concatenated along channels in phase order, DEPTH_TO_SPACE with block 2 interleaves them to
//! `[N, 2H+2, 2W+2, Cout]`, and a slice drops the last row and column. Measured on the blocks of the
//! 256 px generator (float32, with the 2×2 box that follows): 2.6–3× faster than TRANSPOSE_CONV.
//! The cost model weighs transposed convs by [`crate::cost::TRANSPOSE_CONV_FACTOR`] so the
//! extraction takes this form where it pays.

use egg::{Id, Subst};
use sgc_ir::{Attr, Attrs, ConvPadding, DType, Op, Tensor};

use crate::util::{add_const, add_i32s, add_op, ints, rule, shape, stride2_transpose_conv, value};
use crate::{EGraph, Rewrite};

pub fn rules() -> Vec<Rewrite> {
    vec![rule(
        "stride-2-transpose-conv-as-sub-pixel-convs",
        "(Conv2DBackpropInput ?sizes ?kernel ?x)",
        sub_pixel,
    )]
}

/// The taps of `k` (along one axis) that phase `p` of the output uses, first window position first.
const PHASE_TAPS: [&[usize]; 2] = [&[2, 0], &[1]];
/// The padding (before, after) of `x` along one axis for phase `p`.
const PHASE_PADS: [[i64; 2]; 2] = [[1, 1], [0, 1]];

fn sub_pixel(egraph: &mut EGraph, class: Id, subst: &Subst) -> Option<Id> {
    let (operands, _) = stride2_transpose_conv(egraph, class, subst, ConvPadding::Valid)?;
    if already_split(egraph, class) {
        return None; // applied in an earlier iteration: the phase kernels would only be rebuilt
    }
    let [n, h, w, cin] = <[usize; 4]>::try_from(shape(egraph, operands[2])?).ok()?;
    let k = value(egraph, operands[1])?;
    let [3, 3, cout, kcin] = <[usize; 4]>::try_from(k.shape()).ok()? else {
        return None;
    };
    if k.dtype() != DType::F32
        || kcin != cin
        || ints(egraph, operands[0])? != [n as i64, 2 * h as i64 + 1, 2 * w as i64 + 1, cout as i64]
    {
        return None;
    }
    let kv = k.to_vec::<f32>().ok()?;
    let mut phases = Vec::with_capacity(4);
    for pa in 0..2 {
        for pb in 0..2 {
            let filter = phase_filter(&kv, cout, cin, PHASE_TAPS[pa], PHASE_TAPS[pb]);
            let pads = [[0, 0], PHASE_PADS[pa], PHASE_PADS[pb], [0, 0]].concat();
            let pads = add_const(
                egraph,
                Tensor::from_vec(vec![4, 2], pads.iter().map(|&v| v as i32).collect()),
            );
            let mut pad_attrs = Attrs::new();
            pad_attrs.set("T", Attr::Type(DType::F32));
            pad_attrs.set("Tpaddings", Attr::Type(DType::I32));
            let padded = add_op(egraph, Op::Pad, pad_attrs, vec![operands[2], pads]);
            let filter = add_const(egraph, filter);
            phases.push(add_op(
                egraph,
                Op::Conv2D,
                conv_attrs(),
                vec![padded, filter],
            ));
        }
    }
    let axis = add_const(egraph, Tensor::from_vec(vec![], vec![3i32]));
    let mut cat_attrs = Attrs::new();
    cat_attrs.set("T", Attr::Type(DType::F32));
    cat_attrs.set("N", Attr::Int(4));
    cat_attrs.set("Tidx", Attr::Type(DType::I32));
    phases.push(axis);
    let cat = add_op(egraph, Op::ConcatV2, cat_attrs, phases);
    let mut d2s_attrs = Attrs::new();
    d2s_attrs.set("T", Attr::Type(DType::F32));
    d2s_attrs.set("block_size", Attr::Int(2));
    d2s_attrs.set("data_format", Attr::Str("NHWC".into()));
    let spread = add_op(egraph, Op::DepthToSpace, d2s_attrs, vec![cat]);
    let begin = add_i32s(egraph, &[0, 0, 0, 0]);
    let end = add_i32s(
        egraph,
        &[n as i64, 2 * h as i64 + 1, 2 * w as i64 + 1, cout as i64],
    );
    let strides = add_i32s(egraph, &[1, 1, 1, 1]);
    let mut slice_attrs = Attrs::new();
    slice_attrs.set("T", Attr::Type(DType::F32));
    slice_attrs.set("Index", Attr::Type(DType::I32));
    Some(add_op(
        egraph,
        Op::StridedSlice,
        slice_attrs,
        vec![spread, begin, end, strides],
    ))
}

/// The HWIO filter of one phase: `f[a][b][i][o] = k[ta[a]][tb[b]][o][i]` (`k` is the transposed
/// conv's `[3, 3, Cout, Cin]`).
fn phase_filter(k: &[f32], cout: usize, cin: usize, ta: &[usize], tb: &[usize]) -> Tensor {
    let mut f = Vec::with_capacity(ta.len() * tb.len() * cin * cout);
    for &a in ta {
        for &b in tb {
            for i in 0..cin {
                for o in 0..cout {
                    f.push(k[((a * 3 + b) * cout + o) * cin + i]);
                }
            }
        }
    }
    Tensor::from_vec(vec![ta.len(), tb.len(), cin, cout], f)
}

fn conv_attrs() -> Attrs {
    let mut a = Attrs::new();
    a.set("T", Attr::Type(DType::F32));
    a.set("strides", Attr::Ints(vec![1, 1, 1, 1]));
    a.set("dilations", Attr::Ints(vec![1, 1, 1, 1]));
    a.set("padding", Attr::Str("VALID".into()));
    a.set("data_format", Attr::Str("NHWC".into()));
    a
}

/// Whether `class` already holds the slice of a DEPTH_TO_SPACE that [`sub_pixel`] adds.
fn already_split(egraph: &EGraph, class: Id) -> bool {
    egraph[class].nodes.iter().any(|node| match node {
        crate::lang::TfNode::Op {
            op: Op::StridedSlice,
            args,
            ..
        } => egraph[args[0]].nodes.iter().any(|m| {
            matches!(
                m,
                crate::lang::TfNode::Op {
                    op: Op::DepthToSpace,
                    ..
                }
            )
        }),
        _ => false,
    })
}
