//! StyleGAN2's modulated convolutions with constant filters ("stylegan2-modconv").
//!
//! With `fused_modconv=True` (StyleGAN2's inference default) a layer scales its stored weight `w`
//! `[k, k, Cin, Cout]` per sample by the style `s[n, ci]` and the demodulation `d[n, co]`, folds the
//! batch into the channel axis and convolves with the resulting per-sample filters as one grouped conv:
//!
//! ```text
//! ww[n, a, b, ci, co] = w[a, b, ci, co] · s[n, ci] · d[n, co]          (one Mul tree, rank 5)
//! y = conv(Reshape(x, [1, N·Cin, H, W]), M(ww))                        (N groups)
//! ```
//!
//! where `M` is a chain of Reshape / Transpose / StridedSlice that lays the N filters out as one grouped
//! filter (for the upsampling conv it also flips them and swaps their channel axes for
//! Conv2DBackpropInput). XNNPACK takes no conv whose filter is computed at run time, and TFLite runs a
//! grouped conv only in its reference kernel. Per sample the same value is
//!
//! ```text
//! conv(x[n], w' · s[n, ci] · d[n, co]) = conv(x[n] · s[n], w') · d[n]        w' = one group of M(w)
//! ```
//!
//! so this pass writes `Reshape(conv(x · s, w') · d, [1, N·Cout, H', W'])`: a constant filter, one
//! per-channel MUL before and after, for any batch size. `w'` is `M` evaluated on `w` tiled N times, and
//! the rewrite is taken only when `M` provably keeps groups and channels apart: `M` is run on three probe
//! tensors holding each element's sample, input-channel and output-channel index, and every filter
//! element must come from the sample of its group and the channels it connects. Anything else (a Mul
//! factor that is not per sample and channel, a data input that is not the batch folded into channels)
//! leaves the conv as it is.
//!
//! It is a pass, before `nchw-to-nhwc`, rather than an e-graph rule: the match runs through the filter's
//! movement chain and needs those probe evaluations, and once it has run the convs are ordinary
//! constant-filter NCHW convs that the layout pass and the rules already handle. The demodulation
//! coefficients themselves are the e-graph rule `demodulation-as-matmul`
//! (`sgc_rules::stylegan::modconv`).

use sgc_ir::{interp, Attr, Attrs, ConvAttrs, DType, Graph, IrError, Node, NodeIndex, Op};
use sgc_ir::{Tensor, ValueInfo, ValueRef};

use crate::{Pass, PassReport};

pub struct ModConv;

impl Pass for ModConv {
    fn name(&self) -> &'static str {
        "stylegan2-modconv"
    }

    fn description(&self) -> &'static str {
        "StyleGAN2's batch-folded modulated convs (run-time filters) as x·s, a constant-filter conv, ·d"
    }

    fn run(&self, graph: &mut Graph) -> Result<PassReport, IrError> {
        crate::rewrite_each(graph, matched, rewrite)
    }
}

/// What [`matched`] found for one grouped conv.
struct Match {
    /// The unfolded data input `[N, Cin, H, W]`.
    x: ValueRef,
    batch: usize,
    /// One group's filter, in the conv's own filter layout.
    filter: Tensor,
    /// The per-sample factors of the input channels (`[N, 1, 1, Cin, 1]`) and of the output channels
    /// (`[N, 1, 1, 1, Cout]`, or scalars).
    in_scales: Vec<ValueRef>,
    out_scales: Vec<ValueRef>,
    cin: usize,
    cout: usize,
}

/// The ops a filter may pass through between the modulated weights and the conv: each moves elements
/// (or passes them on) and reads nothing but constants besides its data input.
fn is_movement(op: &Op) -> bool {
    matches!(
        op,
        Op::Reshape | Op::Transpose | Op::StridedSlice | Op::Identity
    )
}

fn matched(graph: &Graph, n: NodeIndex) -> Option<Match> {
    let node = graph.node(n);
    let ca = ConvAttrs::parse(&node.attrs).ok()?;
    if !ca.nchw {
        return None;
    }
    let ins = graph.inputs(n);
    // The data input, the filter, and which filter axis carries the input channels (the ones `s`
    // scales); the other of axes 2 and 3 carries the output channels (the ones `d` scales).
    let (data, filter, in_axis) = match node.op {
        Op::Conv2D => (ins[0], ins[1], 2),
        Op::Conv2DBackpropInput => (ins[2], ins[1], 3),
        _ => return None,
    };
    if graph.const_value(filter).is_some() {
        return None;
    }
    let shape = |v: ValueRef| graph.info(v).static_shape();
    let fshape = shape(filter)?;
    let [1, folded_c, h, w] = <[usize; 4]>::try_from(shape(data)?).ok()? else {
        return None;
    };

    // Up from the filter through the movement chain to the rank-5 Mul tree.
    let mut chain = vec![];
    let mut top = filter;
    while is_movement(&graph.node(top.node).op) {
        chain.push(top.node);
        top = graph.inputs(top.node)[0];
    }
    chain.reverse();
    let [batch, k0, k1, cin, cout] = <[usize; 5]>::try_from(shape(top)?).ok()?;
    let grouped = |axis: usize, per: usize| fshape.get(axis) == Some(&(batch * per));
    let plain = |axis: usize, per: usize| fshape.get(axis) == Some(&per);
    let layout_ok = match node.op {
        Op::Conv2D => plain(2, cin) && grouped(3, cout),
        _ => grouped(3, cin) && plain(2, cout),
    };
    if folded_c != batch * cin
        || fshape.len() != 4
        || !layout_ok
        || fshape[0] * fshape[1] != k0 * k1
    {
        return None;
    }
    let (weight, in_scales, out_scales) = factors(graph, top, [batch, k0, k1, cin, cout])?;

    // The data input: the batch folded into the channels (row-major [N, Cin] → N·Cin).
    let producer = graph.node(data.node);
    let x =
        if producer.op == Op::Reshape && shape(graph.inputs(data.node)[0])? == [batch, cin, h, w] {
            graph.inputs(data.node)[0]
        } else if batch == 1 {
            data
        } else {
            return None;
        };

    // The grouped filter must keep samples, input and output channels where the conv reads them: the
    // chain run on a probe whose every element holds its own (sample, input channel, output channel)
    // as one int32 `(n·Cin + ci)·Cout + co` (the movement ops are the same on any dtype).
    let dims = [batch, k0, k1, cin, cout];
    if batch * cin * cout > i32::MAX as usize {
        return None;
    }
    let mut v = Vec::with_capacity(dims.iter().product());
    for n_ in 0..batch {
        for _ in 0..k0 * k1 {
            for ci in 0..cin {
                v.extend((0..cout).map(|co| ((n_ * cin + ci) * cout + co) as i32));
            }
        }
    }
    let probe = run_chain(graph, &chain, Tensor::from_vec(dims.to_vec(), v))?;
    let gshape: [usize; 4] = probe.shape().try_into().ok()?;
    // Groups are contiguous blocks of filter axis 3 (the conv's own output channels for Conv2D, the
    // transposed conv's input channels for Conv2DBackpropInput).
    if !gshape[3].is_multiple_of(batch) {
        return None;
    }
    let per_group = gshape[3] / batch;
    let pv = probe.to_vec::<i32>().ok()?;
    let mut i = 0;
    for _tap in 0..gshape[0] * gshape[1] {
        for c2 in 0..gshape[2] {
            for c3 in 0..gshape[3] {
                let (group, local3) = (c3 / per_group, c3 % per_group);
                let (ci, co) = if in_axis == 2 {
                    (c2, local3)
                } else {
                    (local3, c2)
                };
                if pv[i] as usize != (group * cin + ci) * cout + co {
                    return None;
                }
                i += 1;
            }
        }
    }
    let tiled = tile_batch(&weight, batch)?;
    let full = run_chain(graph, &chain, tiled)?;
    let filter = first_group(&full, per_group)?;
    Some(Match {
        x,
        batch,
        filter,
        in_scales,
        out_scales,
        cin,
        cout,
    })
}

/// The Mul tree at `top` as one constant weight `[1, k, k, Cin, Cout]` times per-sample factors of the
/// input channels and of the output channels; `None` when any factor is something else.
#[allow(clippy::type_complexity)]
fn factors(
    graph: &Graph,
    top: ValueRef,
    dims: [usize; 5],
) -> Option<(Tensor, Vec<ValueRef>, Vec<ValueRef>)> {
    let [batch, k0, k1, cin, cout] = dims;
    let mut stack = vec![top];
    let (mut weight, mut ins, mut outs) = (None, vec![], vec![]);
    while let Some(v) = stack.pop() {
        let node = graph.node(v.node);
        if node.op == Op::Mul && graph.info(v).dtype == Some(DType::F32) {
            stack.extend(graph.inputs(v.node));
            continue;
        }
        let s = graph.info(v).static_shape()?;
        if let Some(t) = graph.const_value(v) {
            if s == [1, k0, k1, cin, cout] && weight.is_none() {
                weight = Some(t.clone());
                continue;
            }
        }
        let aligned: Vec<usize> = std::iter::repeat_n(1, 5usize.checked_sub(s.len())?)
            .chain(s.iter().copied())
            .collect();
        let per_sample = aligned[0] == batch || aligned[0] == 1;
        if !per_sample || aligned[1] != 1 || aligned[2] != 1 {
            return None;
        }
        match (aligned[3], aligned[4]) {
            (c, 1) if c == cin && cin > 1 => ins.push(v),
            (1, c) if c == cout || c == 1 => outs.push(v),
            _ => return None,
        }
    }
    Some((weight?, ins, outs))
}

/// Evaluates the movement `chain` (first node first) on `value` in place of its data input.
fn run_chain(graph: &Graph, chain: &[NodeIndex], mut value: Tensor) -> Option<Tensor> {
    for &n in chain {
        let mut inputs = vec![value];
        for v in &graph.inputs(n)[1..] {
            inputs.push(graph.const_value(*v)?.clone());
        }
        value = interp::eval(graph.node(n), &inputs).ok()?.swap_remove(0);
    }
    Some(value)
}

/// `[1, …]` repeated `batch` times along axis 0 (at batch 1, the same bytes).
fn tile_batch(t: &Tensor, batch: usize) -> Option<Tensor> {
    if batch == 1 {
        return Some(t.clone());
    }
    let v = t.to_vec::<f32>().ok()?;
    let mut shape = t.shape().to_vec();
    shape[0] = batch;
    Some(Tensor::from_vec(shape, v.repeat(batch)))
}

/// The first `per_group` entries of axis 3 of a rank-4 tensor (all of them: the same bytes).
fn first_group(t: &Tensor, per_group: usize) -> Option<Tensor> {
    let [a, b, c, d]: [usize; 4] = t.shape().try_into().ok()?;
    if per_group == d {
        return Some(t.clone());
    }
    let v = t.to_vec::<f32>().ok()?;
    let mut out = Vec::with_capacity(a * b * c * per_group);
    for row in v.chunks(d) {
        out.extend_from_slice(&row[..per_group]);
    }
    Some(Tensor::from_vec(vec![a, b, c, per_group], out))
}

fn rewrite(graph: &mut Graph, n: NodeIndex, m: Match) -> Result<(), IrError> {
    let name = graph.node(n).name.clone();
    let out_info = graph.info(n.into()).clone();
    let Some([1, folded_cout, oh, ow]) = out_info
        .static_shape()
        .and_then(|s| <[usize; 4]>::try_from(s).ok())
    else {
        return Ok(());
    };
    let batch = m.batch;
    let cout_per = folded_cout / batch;
    let f32_info = |d: &[usize]| ValueInfo::new(DType::F32, d.iter().map(|&v| v as i64).collect());
    let add = |graph: &mut Graph, suffix: &str, op: Op, ins: &[ValueRef], out| {
        let mut attrs = Attrs::new();
        attrs.set("T", Attr::Type(DType::F32));
        if op == Op::Reshape {
            attrs.set("Tshape", Attr::Type(DType::I32));
        }
        graph.add_op(
            graph.unique_name(&format!("{name}/{suffix}")),
            op,
            attrs,
            ins,
            out,
        )
    };
    let shape_const = |graph: &mut Graph, suffix: &str, d: &[usize]| -> ValueRef {
        let t = Tensor::from_vec(vec![d.len()], d.iter().map(|&v| v as i32).collect());
        graph
            .add_const(graph.unique_name(&format!("{name}/{suffix}")), t)
            .into()
    };

    // x · s: each input-channel factor [N, 1, 1, Cin, 1] as [N, Cin, 1, 1].
    let (h, w) = {
        let s = graph.info(m.x).static_shape().unwrap_or_default();
        (s[2], s[3])
    };
    let mut x = m.x;
    let in_dims = [batch, m.cin, 1, 1];
    for (i, s) in m.in_scales.iter().enumerate() {
        let sh = shape_const(graph, &format!("style{i}/shape"), &in_dims);
        let s4 = add(
            graph,
            &format!("style{i}"),
            Op::Reshape,
            &[*s, sh],
            f32_info(&in_dims),
        );
        x = add(
            graph,
            &format!("modulated{i}"),
            Op::Mul,
            &[x, s4],
            f32_info(&[batch, m.cin, h, w]),
        );
    }

    // The conv with the constant filter, on the unfolded batch.
    let filter = graph.add_const(graph.unique_name(&format!("{name}/weight")), m.filter);
    let conv_dims = [batch, cout_per, oh, ow];
    let mut conv = Node::new(
        graph.unique_name(&format!("{name}/conv")),
        graph.node(n).op.clone(),
    );
    conv.attrs = graph.node(n).attrs.clone();
    conv.outputs = vec![f32_info(&conv_dims)];
    let conv_ins = match conv.op {
        Op::Conv2DBackpropInput => {
            let sizes = shape_const(graph, "input_sizes", &conv_dims);
            vec![sizes, filter.into(), x]
        }
        _ => vec![x, filter.into()],
    };
    let conv = graph.add(conv);
    graph.set_inputs(conv, &conv_ins);
    let mut y = ValueRef::from(conv);

    // · d: each output-channel factor [N, 1, 1, 1, Cout] (or a scalar) as [N, Cout, 1, 1].
    for (i, d) in m.out_scales.iter().enumerate() {
        let d_shape = graph.info(*d).static_shape().unwrap_or_default();
        let dims = if d_shape.iter().product::<usize>() == 1 {
            vec![1, 1, 1, 1]
        } else {
            vec![batch, m.cout, 1, 1]
        };
        let sh = shape_const(graph, &format!("demod{i}/shape"), &dims);
        let d4 = add(
            graph,
            &format!("demod{i}"),
            Op::Reshape,
            &[*d, sh],
            f32_info(&dims),
        );
        y = add(
            graph,
            &format!("demodulated{i}"),
            Op::Mul,
            &[y, d4],
            f32_info(&conv_dims),
        );
    }

    // The conv node becomes the fold of the batch into channels, so its readers stay as they are.
    let folded = shape_const(graph, "folded", &[1, folded_cout, oh, ow]);
    let node = graph.node_mut(n);
    node.op = Op::Reshape;
    let mut attrs = Attrs::new();
    attrs.set("T", Attr::Type(DType::F32));
    attrs.set("Tshape", Attr::Type(DType::I32));
    node.attrs = attrs;
    graph.set_inputs(n, &[y, folded]);
    Ok(())
}
