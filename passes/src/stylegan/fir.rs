//! StyleGAN2's FIR filters (`upfirdn_2d`, reference path) as one depthwise or transposed conv
//! ("stylegan2-fir").
//!
//! StyleGAN2 blurs after every upsampling conv and upsamples the skip RGB image with a separable
//! [1, 3, 3, 1] FIR. Without its CUDA op, `upfirdn_2d` runs every channel of every image as one
//! single-channel image:
//!
//! ```text
//! Reshape(x [N, C, H, W] → [N·C, H, W, 1]) → Reshape [N·C, H, 1, W, 1, 1] → Pad (zero insertion, up)
//! → Reshape [N·C, H·up, W·up, 1] → Pad (p0, p1) → StridedSlice (crop) → Transpose → Conv2D (NCHW,
//! filter f [kh, kw, 1, 1]) → Transpose → StridedSlice (down) → Reshape [N, C, Ho, Wo]
//! ```
//!
//! which in TFLite is a dozen ops of reshapes and transposes around a conv with one channel. The same
//! value (checked op by op below; crops and downsampling only when they keep everything) is
//!
//! - `up = 1`: `DepthwiseConv2dNative(Pad(x, p0, p1), f tiled over C)` (VALID), NCHW;
//! - `up > 1`: a stride-`up` VALID `Conv2DBackpropInput` of `x` with the flipped `f` on the diagonal
//!   of a `[kh, kw, C, C]` filter, cut to the output: `out[m] = y[m + kh − 1 − p0]` (zero insertion,
//!   then a correlation with `f`, is a transposed conv with `f` flipped). TFLite's TRANSPOSE_CONV has no
//!   depthwise form, so this costs C× the multiply-adds of the FIR itself: taken for the few channels
//!   of an RGB image only ([`MAX_DENSE_CHANNELS`]).
//!
//! A pass before `nchw-to-nhwc`, like `stylegan2-modconv`: after it the layout pass sees ordinary NCHW
//! convs.

use sgc_ir::{Attr, Attrs, ConvAttrs, ConvPadding, DType, Graph, IrError, NodeIndex, Op};
use sgc_ir::{Tensor, ValueInfo, ValueRef};

use crate::{Pass, PassReport};

pub struct Fir;

/// The most channels an upsampling FIR is written for as a dense transposed conv.
pub const MAX_DENSE_CHANNELS: usize = 4;

impl Pass for Fir {
    fn name(&self) -> &'static str {
        "stylegan2-fir"
    }

    fn description(&self) -> &'static str {
        "StyleGAN2's upfirdn_2d FIR chains (reshape/pad/transpose/1-channel conv) as one depthwise or transposed conv"
    }

    fn run(&self, graph: &mut Graph) -> Result<PassReport, IrError> {
        crate::rewrite_each(graph, matched, rewrite)
    }
}

/// What [`matched`] found, at the chain's last Reshape (`[N, C, Ho, Wo]`).
struct Match {
    x: ValueRef,
    /// `[N, C, H, W]` of `x`.
    dims: [usize; 4],
    up: usize,
    /// Padding (before, after) of the zero-inserted image, rows then columns.
    pads: [[usize; 2]; 2],
    /// The correlation filter `[kh, kw]`, row-major.
    filter: Vec<f32>,
    k: [usize; 2],
    out: [usize; 4],
}

/// The only data input of `v`'s producer when it is `op`, and the producer's inputs.
fn through(graph: &Graph, v: ValueRef, op: Op) -> Option<(ValueRef, Vec<ValueRef>)> {
    if graph.node(v.node).op != op {
        return None;
    }
    let ins = graph.inputs(v.node);
    Some((*ins.first()?, ins))
}

fn shape(graph: &Graph, v: ValueRef) -> Option<Vec<usize>> {
    graph.info(v).static_shape()
}

fn ints(graph: &Graph, v: ValueRef) -> Option<Vec<i64>> {
    graph.const_value(v)?.to_i64s().ok()
}

/// Steps up through shape-keeping Reshapes and Identities.
fn skip_noop(graph: &Graph, mut v: ValueRef) -> ValueRef {
    loop {
        let op = &graph.node(v.node).op;
        if !matches!(op, Op::Reshape | Op::Identity) {
            return v;
        }
        let src = graph.inputs(v.node)[0];
        if shape(graph, src).is_none() || shape(graph, src) != shape(graph, v) {
            return v;
        }
        v = src;
    }
}

/// A StridedSlice that keeps its whole input (stride 1 everywhere, same shape), else `v` itself.
fn skip_full_slice(graph: &Graph, v: ValueRef) -> Option<ValueRef> {
    let Some((src, ins)) = through(graph, v, Op::StridedSlice) else {
        return Some(v);
    };
    let strides = ints(graph, *ins.get(3)?)?;
    let node = graph.node(v.node);
    let masks_ok = ["ellipsis_mask", "new_axis_mask", "shrink_axis_mask"]
        .iter()
        .all(|m| node.attrs.int(m).unwrap_or(0) == 0);
    (masks_ok && strides.iter().all(|&s| s == 1) && shape(graph, src)? == shape(graph, v)?)
        .then_some(src)
}

/// `[[0, 0], [a, b], [c, d], [0, 0]]` of a rank-4 Pad as `[[a, b], [c, d]]`.
fn spatial_pads(p: &[i64]) -> Option<[[usize; 2]; 2]> {
    let [0, 0, a, b, c, d, 0, 0] = <[i64; 8]>::try_from(p).ok()? else {
        return None;
    };
    let u = |v: i64| usize::try_from(v).ok();
    Some([[u(a)?, u(b)?], [u(c)?, u(d)?]])
}

fn matched(graph: &Graph, n: NodeIndex) -> Option<Match> {
    // The final Reshape back to [N, C, Ho, Wo], from [B, Ho, Wo, 1].
    if graph.node(n).op != Op::Reshape {
        return None;
    }
    let out: [usize; 4] = shape(graph, n.into())?.try_into().ok()?;
    let (v, _) = through(graph, n.into(), Op::Reshape)?;
    let v = skip_full_slice(graph, v)?;
    let (v, ins) = through(graph, v, Op::Transpose)?;
    if ints(graph, ins[1])? != [0, 2, 3, 1] {
        return None;
    }
    let v = skip_noop(graph, v);
    // The single-channel correlation.
    let (data, ins) = through(graph, v, Op::Conv2D)?;
    let ca = ConvAttrs::parse(&graph.node(v.node).attrs).ok()?;
    if !ca.nchw || ca.padding != ConvPadding::Valid || (ca.sh, ca.sw, ca.dh, ca.dw) != (1, 1, 1, 1)
    {
        return None;
    }
    let f = graph
        .const_value(ins[1])
        .filter(|t| t.dtype() == DType::F32)?;
    let [kh, kw, 1, 1] = <[usize; 4]>::try_from(f.shape()).ok()? else {
        return None;
    };
    let filter = f.to_vec::<f32>().ok()?;
    // Up to the padded image [B, Hp, Wp, 1].
    let v = skip_noop(graph, data);
    let (v, ins) = through(graph, v, Op::Transpose)?;
    if ints(graph, ins[1])? != [0, 3, 1, 2] {
        return None;
    }
    let v = skip_full_slice(graph, v)?;
    let (v, pads) = match through(graph, v, Op::Pad) {
        Some((src, ins)) => (src, spatial_pads(&ints(graph, ins[1])?)?),
        None => (v, [[0, 0], [0, 0]]),
    };
    // Zero insertion: [B, H, W, 1] → [B, H, 1, W, 1, 1] → Pad → [B, H·up, W·up, 1].
    let (v, _) = through(graph, v, Op::Reshape)?;
    let (v, up) = match through(graph, v, Op::Pad) {
        Some((src, ins)) => {
            let p = ints(graph, ins[1])?;
            let [0, 0, 0, 0, 0, u0, 0, 0, 0, u1, 0, 0] = <[i64; 12]>::try_from(p).ok()? else {
                return None;
            };
            if u0 != u1 {
                return None;
            }
            (src, usize::try_from(u0).ok()? + 1)
        }
        None => (v, 1),
    };
    let [b, h, 1, w, 1, 1] = <[usize; 6]>::try_from(shape(graph, v)?).ok()? else {
        return None;
    };
    let (v, _) = through(graph, v, Op::Reshape)?;
    if shape(graph, v)? != [b, h, w, 1] {
        return None;
    }
    let (x, _) = through(graph, v, Op::Reshape)?;
    let [nn, c, xh, xw] = <[usize; 4]>::try_from(shape(graph, x)?).ok()?;
    // The whole chain is per image of x: N·C single-channel images of x's size, back to [N, C, ..].
    let ho = h * up + pads[0][0] + pads[0][1] + 1;
    let wo = w * up + pads[1][0] + pads[1][1] + 1;
    if nn * c != b
        || (xh, xw) != (h, w)
        || ho < kh + 1
        || wo < kw + 1
        || out != [nn, c, ho - kh, wo - kw]
        || graph.info(x).dtype != Some(DType::F32)
    {
        return None;
    }
    // A batch folded into channels just before (StyleGAN2's fused modconv): the filter is per image
    // either way, so it runs on the unfolded value, which keeps the folding's reshapes next to each
    // other (where they cancel) and the channel count that of one image.
    let (x, dims) = match through(graph, x, Op::Reshape) {
        Some((src, _)) => match shape(graph, src).and_then(|s| <[usize; 4]>::try_from(s).ok()) {
            Some(d @ [a, b2, sh, sw]) if a * b2 == nn * c && (sh, sw) == (h, w) => (src, d),
            _ => (x, [nn, c, h, w]),
        },
        None => (x, [nn, c, h, w]),
    };
    let c = dims[1];
    // The transposed-conv form needs the output inside the transposed conv's (module doc).
    if up > 1
        && (c > MAX_DENSE_CHANNELS
            || pads[0][0] > kh - 1
            || pads[1][0] > kw - 1
            || pads[0][1] + up > kh
            || pads[1][1] + up > kw)
    {
        return None;
    }
    Some(Match {
        x,
        dims,
        up,
        pads,
        filter,
        k: [kh, kw],
        out,
    })
}

fn rewrite(graph: &mut Graph, n: NodeIndex, m: Match) -> Result<(), IrError> {
    let name = graph.node(n).name.clone();
    let [nn, c, h, w] = m.dims;
    let [kh, kw] = m.k;
    let f32_info = |d: &[usize]| ValueInfo::new(DType::F32, d.iter().map(|&v| v as i64).collect());
    let int_const = |graph: &mut Graph, suffix: &str, shape: Vec<usize>, v: Vec<i32>| -> ValueRef {
        graph
            .add_const(
                graph.unique_name(&format!("{name}/{suffix}")),
                Tensor::from_vec(shape, v),
            )
            .into()
    };
    let mut conv_attrs = Attrs::new();
    conv_attrs.set("T", Attr::Type(DType::F32));
    conv_attrs.set("data_format", Attr::Str("NCHW".into()));
    conv_attrs.set("padding", Attr::Str("VALID".into()));
    conv_attrs.set("dilations", Attr::Ints(vec![1, 1, 1, 1]));
    let node = |graph: &mut Graph, suffix: &str, op: Op, attrs: Attrs, ins: &[ValueRef], out| {
        graph.add_op(
            graph.unique_name(&format!("{name}/{suffix}")),
            op,
            attrs,
            ins,
            out,
        )
    };
    if m.up == 1 {
        // Pad, then the filter on every channel: the Reshape node becomes the depthwise conv.
        let [[p0, p1], [q0, q1]] = m.pads;
        let mut x = m.x;
        if m.pads != [[0, 0], [0, 0]] {
            let pads = [0, 0, 0, 0, p0, p1, q0, q1].map(|v| v as i32).to_vec();
            let pads = int_const(graph, "paddings", vec![4, 2], pads);
            let mut attrs = Attrs::new();
            attrs.set("T", Attr::Type(DType::F32));
            attrs.set("Tpaddings", Attr::Type(DType::I32));
            x = node(
                graph,
                "pad",
                Op::Pad,
                attrs,
                &[x, pads],
                f32_info(&[nn, c, h + p0 + p1, w + q0 + q1]),
            );
        }
        let tiled: Vec<f32> = m
            .filter
            .iter()
            .flat_map(|&v| std::iter::repeat_n(v, c))
            .collect();
        let filter = graph.add_const(
            graph.unique_name(&format!("{name}/filter")),
            Tensor::from_vec(vec![kh, kw, c, 1], tiled),
        );
        conv_attrs.set("strides", Attr::Ints(vec![1, 1, 1, 1]));
        let [_, _, ho, wo] = m.out;
        let y = node(
            graph,
            "depthwise",
            Op::DepthwiseConv2dNative,
            conv_attrs,
            &[x, filter.into()],
            f32_info(&[nn, c, ho, wo]),
        );
        return refold(graph, n, y, m.out);
    }
    // up > 1: a transposed conv with the flipped filter on the channel diagonal, then the cut.
    let up = m.up;
    let mut dense = vec![0f32; kh * kw * c * c];
    for a in 0..kh {
        for b in 0..kw {
            let v = m.filter[(kh - 1 - a) * kw + (kw - 1 - b)];
            for ch in 0..c {
                dense[((a * kw + b) * c + ch) * c + ch] = v;
            }
        }
    }
    let filter = graph.add_const(
        graph.unique_name(&format!("{name}/filter")),
        Tensor::from_vec(vec![kh, kw, c, c], dense),
    );
    let full = [nn, c, (h - 1) * up + kh, (w - 1) * up + kw];
    let sizes = full.map(|v| v as i32).to_vec();
    let sizes = int_const(graph, "input_sizes", vec![4], sizes);
    conv_attrs.set("strides", Attr::Ints(vec![1, 1, up as i64, up as i64]));
    let y = node(
        graph,
        "transposed",
        Op::Conv2DBackpropInput,
        conv_attrs,
        &[sizes, filter.into(), m.x],
        f32_info(&full),
    );
    let (r0, c0) = (kh - 1 - m.pads[0][0], kw - 1 - m.pads[1][0]);
    let begin = int_const(
        graph,
        "crop/begin",
        vec![4],
        vec![0, 0, r0 as i32, c0 as i32],
    );
    let end = [nn, c, r0 + m.out[2], c0 + m.out[3]]
        .map(|v| v as i32)
        .to_vec();
    let end = int_const(graph, "crop/end", vec![4], end);
    let strides = int_const(graph, "crop/strides", vec![4], vec![1; 4]);
    let mut attrs = Attrs::new();
    attrs.set("T", Attr::Type(DType::F32));
    attrs.set("Index", Attr::Type(DType::I32));
    let [_, _, ho, wo] = m.out;
    let cut = node(
        graph,
        "crop",
        Op::StridedSlice,
        attrs,
        &[y, begin, end, strides],
        f32_info(&[nn, c, ho, wo]),
    );
    refold(graph, n, cut, m.out)
}

/// The chain's last Reshape `n` becomes `Reshape(y, out)`: the shape its readers had (a no-op the
/// e-graph removes when `y` has it already).
fn refold(graph: &mut Graph, n: NodeIndex, y: ValueRef, out: [usize; 4]) -> Result<(), IrError> {
    let name = graph.node(n).name.clone();
    let dims = Tensor::from_vec(vec![4], out.map(|v| v as i32).to_vec());
    let dims = graph.add_const(graph.unique_name(&format!("{name}/shape")), dims);
    graph.set_inputs(n, &[y, dims.into()]);
    Ok(())
}
