//! StyleGAN exports for phones: resolution pruning, parts (mapping / synthesis / full generator), truncation
//! and the image output format. Everything here is found by structure — the 1×1 convolution to 3 channels
//! that is a ToRGB layer, the scalar `lod` constant that the progressive logic compares, the rank-3 dlatents
//! that the style modulations slice — with scope names never consulted (prefixes such as `Gs/`,
//! `Gs/_Run/`, `G_synthesis_2/` vary with how the graph was built).
//!
//! The passes are configured by [`StyleganOptions`] (the `sgc lower` flags) and [`configure`] inserts them
//! into a pipeline: [`prune::SetLod`] and [`parts::Truncation`] right after `freeze-fixes` (before anything
//! folds the `lod` comparisons or the truncation `Select`), and [`parts::SelectPart`],
//! [`prune::PruneResolution`] and [`parts::AttachImageOutput`] once control flow is resolved and shapes are known
//! (before `nchw-to-nhwc`), followed by `dce` and `fold`.
//!
//! What each part is (N is the batch, Z the latent size, D the dlatent size, L = 2·log2(R) − 2 dlatent rows
//! for an R px generator, 2·log2(full) − 2 with `--keep-dlatent-shape`):
//!
//! | part | input | output |
//! | --- | --- | --- |
//! | `full` | the graph's latents `[N, Z]` | the image (by default the graph's own output tail) |
//! | `synthesis` | `dlatents_in` `[N, L, D]` f32: what the synthesis network reads (after truncation) | the image |
//! | `mapping` | the graph's latents `[N, Z]` | `dlatents_out` `[N, L, D]` f32: after broadcast and truncation |
//!
//! so that `synthesis(mapping(z)) == full(z)`. The image is `[N, 3, R, R]` f32 in [-1, 1] (`float-nchw`),
//! `[N, R, R, 3]` f32 (`float-nhwc`) or `[N, R, R, 3]` u8 (`uint8-nhwc`: ×127.5 + 128, clipped to [0, 255],
//! truncated, as StyleGAN's `convert_images_to_uint8`); without `--image-output` a graph's own tail (such as
//! the uint8 conversion `Gs.run` appends) stays attached to the image.

pub mod fir;
pub mod modconv;
pub mod parts;
pub mod prune;

use std::collections::HashMap;
use std::str::FromStr;

use sgc_ir::{DType, Graph, NodeIndex, Op, ValueInfo, ValueRef};

use crate::{dce, fold, Pass, PassManager};

/// Which part of a `G_style` generator to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Synthesis,
    Mapping,
    Full,
}

impl FromStr for Part {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "synthesis" => Ok(Part::Synthesis),
            "mapping" => Ok(Part::Mapping),
            "full" => Ok(Part::Full),
            _ => Err(format!("--part '{s}': expected synthesis, mapping or full")),
        }
    }
}

/// The image tensor an exported model ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageOutput {
    /// `[N, R, R, 3]` u8: the app's bitmap.
    Uint8Nhwc,
    /// `[N, R, R, 3]` f32 in [-1, 1].
    FloatNhwc,
    /// `[N, 3, R, R]` f32 in [-1, 1], as StyleGAN computes it.
    FloatNchw,
}

impl FromStr for ImageOutput {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "uint8-nhwc" => Ok(ImageOutput::Uint8Nhwc),
            "float-nhwc" => Ok(ImageOutput::FloatNhwc),
            "float-nchw" => Ok(ImageOutput::FloatNchw),
            _ => Err(format!(
                "--image-output '{s}': expected uint8-nhwc, float-nhwc or float-nchw"
            )),
        }
    }
}

/// The StyleGAN export options of `sgc lower`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StyleganOptions {
    /// Export the R px generator a progressive graph contains (`--resolution`).
    pub resolution: Option<u32>,
    /// Keep the dlatent input at the full graph's row count (`--keep-dlatent-shape`).
    pub keep_dlatent_shape: bool,
    pub part: Option<Part>,
    /// 0 < ψ ≤ 1; 1 removes the truncation ops.
    pub truncation_psi: Option<f32>,
    /// Truncate the first K dlatent rows (0 removes the truncation ops).
    pub truncation_cutoff: Option<usize>,
    pub image_output: Option<ImageOutput>,
}

impl StyleganOptions {
    pub fn is_empty(&self) -> bool {
        *self == StyleganOptions::default()
    }

    /// Checks the options against each other (a usage error names the flag).
    pub fn validate(&self) -> Result<(), String> {
        if let Some(r) = self.resolution {
            if r < 4 || !r.is_power_of_two() {
                return Err(format!(
                    "--resolution {r}: expected a power of two ≥ 4 (such as 128, 256, 512)"
                ));
            }
        }
        if let Some(psi) = self.truncation_psi {
            if !(psi > 0.0 && psi <= 1.0) {
                return Err(format!(
                    "--truncation-psi {psi}: expected 0 < ψ ≤ 1 (1 removes the truncation)"
                ));
            }
        }
        if self.part == Some(Part::Mapping) && self.image_output.is_some() {
            return Err("--image-output: the mapping part has no image output".into());
        }
        if self.keep_dlatent_shape && self.resolution.is_none() {
            return Err("--keep-dlatent-shape only applies with --resolution".into());
        }
        Ok(())
    }
}

/// Inserts the passes `options` ask for into `manager`: the early ones after `freeze-fixes` (or first),
/// the late ones before `nchw-to-nhwc` (or last).
pub fn configure(manager: &mut PassManager, options: &StyleganOptions) -> Result<(), String> {
    options.validate()?;
    // The mapping part has no image: --resolution only chooses its dlatent row count there.
    let prune_to = options
        .resolution
        .filter(|_| options.part != Some(Part::Mapping));
    let stats = prune::Shared::default();
    let mut early: Vec<Box<dyn Pass>> = Vec::new();
    if let Some(r) = prune_to {
        early.push(Box::new(prune::SetLod {
            resolution: Some(r),
            stats: stats.clone(),
        }));
    }
    if options.truncation_psi.is_some() || options.truncation_cutoff.is_some() {
        early.push(Box::new(parts::Truncation {
            psi: options.truncation_psi,
            cutoff: options.truncation_cutoff,
        }));
    }
    let mut late: Vec<Box<dyn Pass>> = Vec::new();
    if let Some(part) = options.part {
        let rows = match (part, options.resolution) {
            (Part::Mapping, Some(r)) if !options.keep_dlatent_shape => Some(dlatent_rows(r)),
            _ => None,
        };
        late.push(Box::new(parts::SelectPart {
            part: Some(part),
            rows,
        }));
    }
    if let Some(r) = prune_to {
        late.push(Box::new(prune::PruneResolution {
            resolution: Some(r),
            keep_dlatent_shape: options.keep_dlatent_shape,
            stats,
        }));
    }
    if let Some(kind) = options.image_output {
        late.push(Box::new(parts::AttachImageOutput { kind: Some(kind) }));
    }
    if !late.is_empty() {
        late.push(Box::new(dce::DeadCode));
        late.push(Box::new(fold::Fold));
    }
    let names = manager.names();
    let late_at = names
        .iter()
        .position(|n| *n == "nchw-to-nhwc")
        .unwrap_or(names.len());
    for (i, pass) in late.into_iter().enumerate() {
        manager.insert(late_at + i, pass);
    }
    let early_at = names
        .iter()
        .position(|n| *n == "freeze-fixes")
        .map_or(0, |i| i + 1);
    for (i, pass) in early.into_iter().enumerate() {
        manager.insert(early_at + i, pass);
    }
    Ok(())
}

/// Dlatent rows of an R px generator: two per resolution from 4×4 on.
pub fn dlatent_rows(resolution: u32) -> usize {
    2 * resolution.trailing_zeros() as usize - 2
}

/// One ToRGB layer: a convolution with a `[1, 1, C, 3]` filter, and its bias add.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ToRgb {
    pub conv: NodeIndex,
    /// The layer's output: the bias add when there is one, else the convolution.
    pub value: ValueRef,
    /// Its square output size.
    pub resolution: usize,
}

/// Every ToRGB layer whose output size is known, in node order.
pub(crate) fn torgb_layers(graph: &Graph) -> Vec<ToRgb> {
    let mut found = Vec::new();
    for n in graph.node_indices() {
        let node = graph.node(n);
        if node.op != Op::Conv2D {
            continue;
        }
        let inputs = graph.inputs(n);
        let Some(&filter) = inputs.get(1) else {
            continue;
        };
        if !matches!(graph.info(filter).shape.as_deref(), Some([1, 1, c, 3]) if *c > 0) {
            continue;
        }
        let Some(shape) = graph.info(n.into()).shape.clone() else {
            continue;
        };
        let (h, w) = match (node.attrs.data_format(), shape.as_slice()) {
            ("NCHW", [_, 3, h, w]) => (*h, *w),
            ("NHWC", [_, h, w, 3]) => (*h, *w),
            _ => continue,
        };
        if h != w || h <= 0 {
            continue;
        }
        let consumers = graph.consumers(n.into());
        let value = match consumers.as_slice() {
            [(add, _)] if matches!(graph.node(*add).op, Op::Add | Op::AddV2 | Op::BiasAdd) => {
                ValueRef::from(*add)
            }
            _ => n.into(),
        };
        found.push(ToRgb {
            conv: n,
            value,
            resolution: h as usize,
        });
    }
    found
}

/// A StyleGAN2 'skip' generator's image at a ToRGB layer's resolution: from the layer's output `v`
/// through its single readers — reshapes (the batch folding), identities and the add of its constant
/// bias — to the add with the upsampled image of the resolution below, whose sum is the image at this
/// one. At the lowest resolution (`first`) there is no image below: the biased ToRGB output is it (the
/// last value of the image's shape before the chain ends).
pub(crate) fn skip_image(graph: &Graph, mut v: ValueRef, first: bool) -> Option<ValueRef> {
    let image = graph.info(v).static_shape()?;
    // The last value on the way that has the image's shape (the batch folding passes through others).
    let mut last = v;
    loop {
        if graph.info(v).static_shape().as_ref() == Some(&image) {
            last = v;
        }
        let [(next, _)] = graph.consumers(v)[..] else {
            break;
        };
        let node = graph.node(next);
        let ins = graph.inputs(next);
        let out: ValueRef = next.into();
        match node.op {
            Op::Reshape | Op::Identity => v = out,
            Op::Add | Op::AddV2 => {
                let other = if ins[0] == v { ins[1] } else { ins[0] };
                if graph.const_value(other).is_some() {
                    v = out; // the bias
                } else if graph.info(other).static_shape()? == image
                    && graph.info(out).static_shape()? == image
                {
                    return (!first).then_some(out);
                } else {
                    break;
                }
            }
            _ => break,
        }
    }
    first.then_some(last)
}

/// An NCHW RGB image value: f32 `[N, 3, H, H]`.
fn is_nchw_image(info: &ValueInfo) -> bool {
    info.dtype == Some(DType::F32)
        && matches!(info.shape.as_deref(), Some([_, 3, h, w]) if h == w && *h > 0)
}

/// The image an output shows: walking back from `v` through an output tail (transpose, scaling by
/// constants, clipping, casts, identities) to the first NCHW RGB image.
pub(crate) fn image_of(graph: &Graph, mut v: ValueRef) -> Option<ValueRef> {
    for _ in 0..32 {
        if is_nchw_image(graph.info(v)) {
            return Some(v);
        }
        let node = graph.node(v.node);
        let inputs = graph.inputs(v.node);
        v = match node.op {
            Op::IdentityN => *inputs.get(v.port)?,
            Op::Transpose
            | Op::Mul
            | Op::Add
            | Op::AddV2
            | Op::Sub
            | Op::RealDiv
            | Op::Maximum
            | Op::Minimum
            | Op::ClipByValue
            | Op::Cast
            | Op::Identity
            | Op::Snapshot
            | Op::StopGradient => inputs
                .iter()
                .copied()
                .find(|&i| graph.const_value(i).is_none())?,
            _ => return None,
        };
    }
    None
}

/// The value the synthesis network reads its dlatents from: the rank-3 `[N, L, D]` value that the most
/// `StridedSlice`s read rows `[N, D]` of (the style modulations' `dlatents[:, i]`).
pub(crate) fn synthesis_input(graph: &Graph) -> Option<ValueRef> {
    let mut readers: HashMap<ValueRef, usize> = HashMap::new();
    for n in graph.node_indices() {
        if graph.node(n).op != Op::StridedSlice {
            continue;
        }
        let Some(&src) = graph.inputs(n).first() else {
            continue;
        };
        let rank = |v: ValueRef| graph.info(v).shape.as_ref().map(Vec::len);
        if rank(src) == Some(3) && rank(n.into()) == Some(2) {
            *readers.entry(src).or_default() += 1;
        }
    }
    readers
        .into_iter()
        .max_by_key(|&(v, count)| (count, std::cmp::Reverse(v)))
        .map(|(v, _)| v)
}

/// Bytes of the constants the outputs depend on.
pub(crate) fn live_const_bytes(graph: &Graph) -> usize {
    let mut seen = std::collections::HashSet::new();
    let mut stack: Vec<NodeIndex> = graph.outputs.iter().map(|o| o.value.node).collect();
    let mut bytes = 0;
    while let Some(n) = stack.pop() {
        if !seen.insert(n) {
            continue;
        }
        if let Some(t) = graph.node(n).const_value() {
            bytes += t.bytes().len();
        }
        stack.extend(graph.inputs(n).into_iter().map(|v| v.node));
        stack.extend(graph.control_inputs(n));
    }
    bytes
}

#[cfg(test)]
pub(crate) mod testing {
    //! Small hand-built StyleGAN-like graphs for the pass tests.
    use sgc_ir::{Attr, DType, Graph, Node, NodeIndex, Op, Output, Tensor, ValueInfo, ValueRef};

    pub fn node(g: &mut Graph, name: &str, op: Op, inputs: &[ValueRef]) -> NodeIndex {
        let n = g.add(Node::new(name, op).with_attr("T", Attr::Type(DType::F32)));
        for (slot, &v) in inputs.iter().enumerate() {
            g.connect(v, n, slot);
        }
        n
    }

    pub fn placeholder(g: &mut Graph, name: &str, shape: Vec<i64>) -> NodeIndex {
        let mut p = Node::new(name, Op::Placeholder);
        p.outputs = vec![ValueInfo::new(DType::F32, shape)];
        let p = g.add(p);
        g.inputs.push(p);
        p
    }

    pub fn f32s(shape: Vec<usize>, seed: f32) -> Tensor {
        let n: usize = shape.iter().product();
        Tensor::from_vec(
            shape,
            (0..n)
                .map(|i| ((i as f32 * 0.37 + seed).sin()) * 0.5)
                .collect::<Vec<f32>>(),
        )
    }

    /// `dlatents[:, row]` as StyleGAN slices it.
    pub fn row(g: &mut Graph, dlatents: ValueRef, row: i32, name: &str) -> NodeIndex {
        let b = g.add_const(
            format!("{name}/b"),
            Tensor::from_vec(vec![3], vec![0, row, 0]),
        );
        let e = g.add_const(
            format!("{name}/e"),
            Tensor::from_vec(vec![3], vec![0, row + 1, 0]),
        );
        let s = g.add_const(
            format!("{name}/s"),
            Tensor::from_vec(vec![3], vec![1, 1, 1]),
        );
        let n = node(
            g,
            name,
            Op::StridedSlice,
            &[dlatents, b.into(), e.into(), s.into()],
        );
        let node = g.node_mut(n);
        node.attrs.set("begin_mask", Attr::Int(5));
        node.attrs.set("end_mask", Attr::Int(5));
        node.attrs.set("shrink_axis_mask", Attr::Int(2));
        n
    }

    /// A 1×1 NCHW conv to 3 channels plus bias: a ToRGB layer.
    pub fn torgb(g: &mut Graph, x: ValueRef, channels: usize, name: &str) -> NodeIndex {
        let w = g.add_const(format!("{name}/w"), f32s(vec![1, 1, channels, 3], 1.0));
        let conv = node(g, &format!("{name}/Conv2D"), Op::Conv2D, &[x, w.into()]);
        let node = g.node_mut(conv);
        node.attrs.set("data_format", Attr::Str("NCHW".into()));
        node.attrs.set("padding", Attr::Str("SAME".into()));
        node.attrs.set("strides", Attr::Ints(vec![1, 1, 1, 1]));
        let b = g.add_const(format!("{name}/b"), f32s(vec![1, 3, 1, 1], 2.0));
        node_add(g, &format!("{name}/add"), conv.into(), b.into())
    }

    pub fn node_add(g: &mut Graph, name: &str, a: ValueRef, b: ValueRef) -> NodeIndex {
        node(g, name, Op::AddV2, &[a, b])
    }

    pub fn output(g: &mut Graph, name: &str, v: ValueRef) {
        g.outputs.push(Output {
            name: name.into(),
            value: v,
        });
    }
}
