//! Stride-2 upscaling convolutions as four small convolutions and a DEPTH_TO_SPACE ("sub-pixel").
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
//!
//! Two forms reach this pass: the VALID transposed conv that the e-graph makes of StyleGAN's fused
//! upscale (`sgc_rules::stylegan::fused_upscale`), and the unfused `Conv2D(ResizeNearestNeighbor(x,
//! 2×), c)` (3×3 SAME), which is that transposed conv with `k` = `c` flipped, followed by a 2×2 box. For
//! the unfused form the phase kernels are plain sub-blocks of `c` (`k[s] = c[2 − s]`: rows `0, 2` and
//! row `1` of each spatial axis, HWIO kept), so no flipped copy is ever made.
//!
//! It is a pass after the e-graph, not a rule, so that a layer's phase kernels exist only while its old
//! kernel is replaced (dropped at once): the e-graph holds every alternative until extraction, and
//! holding the phase kernels there cost a third of the model's weights in memory. Only for models whose
//! convs compute in float: with integer weights LiteRT's own TRANSPOSE_CONV is as fast as its CONV_2D
//! (`sgc_rules::ConvKernels`), and `sgc::pass_manager` leaves this pass out.

use sgc_ir::{Attr, Attrs, ConvAttrs, ConvPadding, DType, Graph, IrError, NodeIndex, Op};
use sgc_ir::{Tensor, ValueInfo, ValueRef};

use crate::{Pass, PassReport};

pub struct SubPixel;

impl Pass for SubPixel {
    fn name(&self) -> &'static str {
        "sub-pixel"
    }

    fn description(&self) -> &'static str {
        "stride-2 transposed convs and upscale-then-3x3-conv as four phase convs and a DepthToSpace"
    }

    fn run(&self, graph: &mut Graph) -> Result<PassReport, IrError> {
        crate::rewrite_each(graph, matched, rewrite)
    }
}

/// What [`matched`] found: the small input `x` `[N, H, W, Cin]`, the phase kernels in phase order
/// (HWIO), and whether a 2×2 box follows (the unfused form), plus the nodes to drop once unused.
struct Match {
    x: ValueRef,
    dims: [usize; 4],
    cout: usize,
    phases: Vec<Tensor>,
    boxed: bool,
    old: Vec<NodeIndex>,
}

/// The taps of `k` (along one axis) that phase `p` of the output uses, first window position first.
const PHASE_TAPS: [&[usize]; 2] = [&[2, 0], &[1]];
/// The padding (before, after) of `x` along one axis for phase `p`.
const PHASE_PADS: [[i32; 2]; 2] = [[1, 1], [0, 1]];

fn matched(graph: &Graph, n: NodeIndex) -> Option<Match> {
    let node = graph.node(n);
    let ins = graph.inputs(n);
    let ca = ConvAttrs::parse(&node.attrs).ok()?;
    if ca.nchw || (ca.dh, ca.dw) != (1, 1) {
        return None;
    }
    let f32_const = |v: ValueRef| graph.const_value(v).filter(|t| t.dtype() == DType::F32);
    let dims =
        |v: ValueRef| -> Option<[usize; 4]> { graph.info(v).static_shape()?.try_into().ok() };
    match node.op {
        Op::Conv2DBackpropInput if ca.padding == ConvPadding::Valid && (ca.sh, ca.sw) == (2, 2) => {
            let [sizes, kernel, x] = ins[..] else {
                return None;
            };
            let k = f32_const(kernel)?;
            let [3, 3, cout, cin] = <[usize; 4]>::try_from(k.shape()).ok()? else {
                return None;
            };
            let d @ [n_, h, w, xc] = dims(x)?;
            let want = [n_ as i64, 2 * h as i64 + 1, 2 * w as i64 + 1, cout as i64];
            if xc != cin || graph.const_value(sizes)?.to_i64s().ok()? != want {
                return None;
            }
            // k is [kh, kw, Cout, Cin]: f[a][b][i][o] = k[ta][tb][o][i].
            let kv = k.to_vec::<f32>().ok()?;
            let phases = phase_kernels(cin, cout, |a, b, i, o| {
                kv[((a * 3 + b) * cout + o) * cin + i]
            });
            Some(Match {
                x,
                dims: d,
                cout,
                phases,
                boxed: false,
                old: vec![kernel.node],
            })
        }
        Op::Conv2D if ca.padding == ConvPadding::Same && (ca.sh, ca.sw) == (1, 1) => {
            let [up, kernel] = ins[..] else {
                return None;
            };
            let resize = graph.node(up.node);
            let c = f32_const(kernel)?;
            let [3, 3, cin, cout] = <[usize; 4]>::try_from(c.shape()).ok()? else {
                return None;
            };
            if resize.op != Op::ResizeNearestNeighbor
                || resize.attrs.bool("align_corners").unwrap_or(false)
                || resize.attrs.bool("half_pixel_centers").unwrap_or(false)
            {
                return None;
            }
            let [x, size] = graph.inputs(up.node)[..] else {
                return None;
            };
            let d @ [_, h, w, xc] = dims(x)?;
            if xc != cin || graph.const_value(size)?.to_i64s().ok()? != [2 * h as i64, 2 * w as i64]
            {
                return None;
            }
            // The transposed conv's k[a][b][o][i] = c[2 − a][2 − b][i][o] (module doc).
            let cv = c.to_vec::<f32>().ok()?;
            let phases = phase_kernels(cin, cout, |a, b, i, o| {
                cv[(((2 - a) * 3 + (2 - b)) * cin + i) * cout + o]
            });
            Some(Match {
                x,
                dims: d,
                cout,
                phases,
                boxed: true,
                old: vec![kernel.node, up.node],
            })
        }
        _ => None,
    }
}

/// The four phase kernels (HWIO) in phase order, from `k(a, b, i, o)`: the transposed conv's tap
/// `(a, b)` from input channel `i` to output channel `o`.
fn phase_kernels(
    cin: usize,
    cout: usize,
    k: impl Fn(usize, usize, usize, usize) -> f32,
) -> Vec<Tensor> {
    let mut phases = Vec::with_capacity(4);
    for ta in PHASE_TAPS {
        for tb in PHASE_TAPS {
            let mut f = Vec::with_capacity(ta.len() * tb.len() * cin * cout);
            for &a in ta {
                for &b in tb {
                    for i in 0..cin {
                        for o in 0..cout {
                            f.push(k(a, b, i, o));
                        }
                    }
                }
            }
            phases.push(Tensor::from_vec(vec![ta.len(), tb.len(), cin, cout], f));
        }
    }
    phases
}

fn rewrite(graph: &mut Graph, n: NodeIndex, m: Match) -> Result<(), IrError> {
    let name = graph.node(n).name.clone();
    let [batch, h, w, cin] = m.dims;
    let info = |d: &[usize]| ValueInfo::new(DType::F32, d.iter().map(|&v| v as i64).collect());
    let add = |graph: &mut Graph, suffix: &str, op: Op, attrs: Attrs, ins: &[ValueRef], out| {
        graph.add_op(
            graph.unique_name(&format!("{name}/{suffix}")),
            op,
            attrs,
            ins,
            out,
        )
    };
    let mut phase_outputs = Vec::with_capacity(5);
    for (p, filter) in m.phases.into_iter().enumerate() {
        let (pa, pb) = (p / 2, p % 2);
        let pads = [[0, 0], PHASE_PADS[pa], PHASE_PADS[pb], [0, 0]].concat();
        let pads = graph.add_const(
            graph.unique_name(&format!("{name}/phase{p}/paddings")),
            Tensor::from_vec(vec![4, 2], pads),
        );
        let padded_dims = [
            batch,
            h + (PHASE_PADS[pa][0] + PHASE_PADS[pa][1]) as usize,
            w + (PHASE_PADS[pb][0] + PHASE_PADS[pb][1]) as usize,
            cin,
        ];
        let mut pad_attrs = Attrs::new();
        pad_attrs.set("T", Attr::Type(DType::F32));
        pad_attrs.set("Tpaddings", Attr::Type(DType::I32));
        let padded = add(
            graph,
            &format!("phase{p}/pad"),
            Op::Pad,
            pad_attrs,
            &[m.x, pads.into()],
            info(&padded_dims),
        );
        let filter = graph.add_const(
            graph.unique_name(&format!("{name}/phase{p}/filter")),
            filter,
        );
        phase_outputs.push(add(
            graph,
            &format!("phase{p}/conv"),
            Op::Conv2D,
            conv_attrs(),
            &[padded, filter.into()],
            info(&[batch, h + 1, w + 1, m.cout]),
        ));
    }
    let axis = graph.add_const(
        graph.unique_name(&format!("{name}/phases/axis")),
        Tensor::scalar(3i32),
    );
    phase_outputs.push(axis.into());
    let mut cat_attrs = Attrs::new();
    cat_attrs.set("T", Attr::Type(DType::F32));
    cat_attrs.set("N", Attr::Int(4));
    cat_attrs.set("Tidx", Attr::Type(DType::I32));
    let cat = add(
        graph,
        "phases",
        Op::ConcatV2,
        cat_attrs,
        &phase_outputs,
        info(&[batch, h + 1, w + 1, 4 * m.cout]),
    );
    let mut d2s_attrs = Attrs::new();
    d2s_attrs.set("T", Attr::Type(DType::F32));
    d2s_attrs.set("block_size", Attr::Int(2));
    d2s_attrs.set("data_format", Attr::Str("NHWC".into()));
    let spread = add(
        graph,
        "DepthToSpace",
        Op::DepthToSpace,
        d2s_attrs,
        &[cat],
        info(&[batch, 2 * h + 2, 2 * w + 2, m.cout]),
    );
    let ints = |graph: &mut Graph, suffix: &str, v: [usize; 4]| -> ValueRef {
        let t = Tensor::from_vec(vec![4], v.iter().map(|&d| d as i32).collect::<Vec<i32>>());
        graph
            .add_const(graph.unique_name(&format!("{name}/{suffix}")), t)
            .into()
    };
    let begin = ints(graph, "crop/begin", [0; 4]);
    let end = ints(graph, "crop/end", [batch, 2 * h + 1, 2 * w + 1, m.cout]);
    let strides = ints(graph, "crop/strides", [1; 4]);
    let mut slice_attrs = Attrs::new();
    slice_attrs.set("T", Attr::Type(DType::F32));
    slice_attrs.set("Index", Attr::Type(DType::I32));
    let spread_dims = [batch, 2 * h + 1, 2 * w + 1, m.cout];
    if m.boxed {
        let cropped = add(
            graph,
            "crop",
            Op::StridedSlice,
            slice_attrs,
            &[spread, begin, end, strides],
            info(&spread_dims),
        );
        let ones = graph.add_const(
            graph.unique_name(&format!("{name}/box")),
            Tensor::filled(vec![2, 2, m.cout, 1], 1f32),
        );
        // The conv node becomes the box, so its name and readers stay.
        let node = graph.node_mut(n);
        node.op = Op::DepthwiseConv2dNative;
        node.attrs = conv_attrs();
        graph.set_inputs(n, &[cropped, ones.into()]);
    } else {
        let node = graph.node_mut(n);
        node.op = Op::StridedSlice;
        node.attrs = slice_attrs;
        graph.set_inputs(n, &[spread, begin, end, strides]);
    }
    // The old kernel (and resize) go now, not at the next dce: the next layer's phase kernels
    // should not coexist with this layer's old kernel.
    for old in m.old {
        if graph.contains(old) && graph.successors(old).is_empty() {
            graph.remove(old);
        }
    }
    Ok(())
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
