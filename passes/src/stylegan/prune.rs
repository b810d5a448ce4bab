//! Resolution pruning: the R px generator a progressive StyleGAN graph contains.
//!
//! Every resolution block of a progressive generator has its own ToRGB layer (a 1×1 convolution to 3
//! channels plus bias); at R < full the R px image is that layer's output. Two passes get there:
//!
//! 1. [`SetLod`] (before anything folds): sets the graph's level-of-detail constant(s) to log2(full/R). The
//!    `lod` constant is found structurally: a scalar f32 constant that reaches, through identities, casts
//!    and `Switch`/`Merge`, the first operand of a `Greater`/`Less` against a scalar constant (the
//!    *recursive* structure's `tf.cond` predicates) or of a `Sub` of a scalar constant (the lerp factors of
//!    both structures). In a recursive graph the conds then select the R px ToRGB followed by upscales,
//!    and everything above R sits in untaken branches, which `fold-switch-merge` removes. In a *linear*
//!    graph the R px ToRGB is live at any lod. A *fixed* graph has only its final ToRGB: asking it for a
//!    smaller resolution is an error (no progressive structure).
//! 2. [`PruneResolution`] (once control flow is resolved and shapes known): makes the ToRGB at R the image
//!    every image output shows — an output tail after the image (StyleGAN's uint8 conversion) stays
//!    attached — so the upscale/lerp chain and every block above R are dead code; shrinks the dlatent
//!    input from [N, 2·log2(full)−2, D] to [N, 2·log2(R)−2, D] (unless asked to keep it); reports the
//!    blocks removed and the bytes saved.
//!
//! A graph with no lod constant at all is read as a StyleGAN2 'skip' generator, whose image is the running
//! sum `y_R = upsample(y_R/2) + ToRGB_R(x_R)`: [`SetLod`] then changes nothing, and [`PruneResolution`]
//! makes `y_R` (found by [`super::skip_image`]) the image, or fails naming the ToRGB layer that is not
//! summed so. (A fixed v1 graph has only its final ToRGB and still gets the "no progressive structure"
//! error.)

use std::sync::{Arc, Mutex};

use sgc_ir::{Attr, Graph, IrError, Op, Tensor, ValueRef};

use super::{dlatent_rows, image_of, live_const_bytes, synthesis_input, torgb_layers};
use crate::{dce, fold::Fold, Pass, PassReport};

/// What [`SetLod`] saw of the full graph, for [`PruneResolution`]'s report.
#[derive(Debug, Default)]
pub struct Stats {
    /// The full graph's resolution and its ToRGB resolutions above R.
    pub full: Option<usize>,
    pub blocks_above: Vec<usize>,
    /// Bytes of the constants the outputs needed before pruning.
    pub const_bytes_before: usize,
    /// No lod constant: the image at R is the 'skip' sum of the ToRGB outputs up to R.
    pub skip_sum: bool,
}

/// State shared by the two passes of one pipeline.
pub type Shared = Arc<Mutex<Stats>>;

#[derive(Default)]
pub struct SetLod {
    pub resolution: Option<u32>,
    pub stats: Shared,
}

impl Pass for SetLod {
    fn name(&self) -> &'static str {
        "stylegan-set-lod"
    }

    fn description(&self) -> &'static str {
        "--resolution R: sets a progressive generator's lod constant(s) to log2(full/R), so that its conds select the R px ToRGB"
    }

    fn run(&self, graph: &mut Graph) -> Result<PassReport, IrError> {
        let Some(r) = self.resolution else {
            return Ok(not_configured());
        };
        let r = r as usize;
        // The ToRGB layers' sizes need shapes: infer them on a copy (constants are shared, not copied).
        let mut copy = graph.clone();
        Fold.run(&mut copy)?;
        let mut sizes: Vec<usize> = torgb_layers(&copy).iter().map(|t| t.resolution).collect();
        sizes.sort_unstable();
        sizes.dedup();
        let consts = lod_constants(graph);
        if consts.is_empty() {
            // No progressive logic: a StyleGAN2 'skip' generator, whose R px image is the running sum
            // of its ToRGB outputs. Whether it is one, `stylegan-resolution` checks once the convs are
            // per sample (a batch-folded ToRGB is not a [1, 1, C, 3] conv yet).
            let mut stats = self.stats.lock().expect("stats lock");
            stats.skip_sum = true;
            stats.full = sizes.last().copied();
            stats.blocks_above = sizes.iter().copied().filter(|&s| s > r).collect();
            stats.const_bytes_before = live_const_bytes(graph);
            return Ok(PassReport {
                changes: 0,
                notes: vec![format!(
                    "no lod constant: the {r} px image is taken where the ToRGB outputs up to {r} px are summed ('skip' architecture)"
                )],
            });
        }
        let Some(&full) = sizes.last() else {
            return Err(no_torgb());
        };
        check_resolution(r, &sizes)?;
        let lod = (full.trailing_zeros() - r.trailing_zeros()) as f32;
        let mut report = PassReport::changed(consts.len());
        for &c in &consts {
            let old = graph
                .node(c)
                .const_value()
                .and_then(|t| t.scalar_f64())
                .unwrap_or(0.0);
            graph
                .node_mut(c)
                .attrs
                .set("value", Attr::Tensor(Tensor::scalar(lod)));
            report.notes.push(format!(
                "lod constant '{}' set to {lod} (was {old}): the {r} px generator of a {full} px graph",
                graph.node(c).name
            ));
        }
        let mut stats = self.stats.lock().expect("stats lock");
        stats.full = Some(full);
        stats.blocks_above = sizes.into_iter().filter(|&s| s > r).collect();
        stats.const_bytes_before = live_const_bytes(graph);
        Ok(report)
    }
}

#[derive(Default)]
pub struct PruneResolution {
    pub resolution: Option<u32>,
    pub keep_dlatent_shape: bool,
    pub stats: Shared,
}

impl Pass for PruneResolution {
    fn name(&self) -> &'static str {
        "stylegan-resolution"
    }

    fn description(&self) -> &'static str {
        "--resolution R: the ToRGB at R becomes the image; blocks above R, upscales and unused dlatent rows go"
    }

    fn run(&self, graph: &mut Graph) -> Result<PassReport, IrError> {
        let Some(r) = self.resolution else {
            return Ok(not_configured());
        };
        let r = r as usize;
        let layers = torgb_layers(graph);
        let mut sizes: Vec<usize> = layers.iter().map(|t| t.resolution).collect();
        sizes.sort_unstable();
        sizes.dedup();
        if sizes.is_empty() {
            return Err(no_torgb());
        }
        check_resolution(r, &sizes)?;
        let skip_sum = self.stats.lock().expect("stats lock").skip_sum;
        if skip_sum && Some(&r) == sizes.last() {
            return Ok(PassReport {
                changes: 0,
                notes: vec![format!(
                    "--resolution {r}: the graph's own resolution, nothing to cut"
                )],
            });
        }
        let at_r: Vec<_> = layers.iter().filter(|t| t.resolution == r).collect();
        let [tap] = at_r.as_slice() else {
            let names: Vec<_> = at_r
                .iter()
                .map(|t| graph.node(t.conv).name.clone())
                .collect();
            return Err(IrError::node(
                "<graph>",
                format!(
                    "--resolution {r}: {} ToRGB layers at {r} px are live ({}): is the lod constant not set?",
                    at_r.len(),
                    names.join(", ")
                ),
            ));
        };
        let tap_value = if skip_sum {
            super::skip_image(graph, tap.value, r == sizes[0]).ok_or_else(|| {
                IrError::node(
                    &graph.node(tap.conv).name,
                    format!(
                        "--resolution {r}: the graph has no lod constant, and its {r} px ToRGB is not added to the upsampled image below it, as a StyleGAN2 'skip' generator's is: no {r} px image to cut at"
                    ),
                )
            })?
        } else {
            tap.value
        };
        let mut attached = 0;
        for o in graph.outputs.clone() {
            if let Some(image) = image_of(graph, o.value) {
                graph.replace_uses(image, tap_value);
                attached += 1;
            }
        }
        if attached == 0 {
            return Err(IrError::node(
                "<graph>",
                "--resolution: no output of the graph is the generator's image",
            ));
        }
        let removed = dce::DeadCode.run(graph)?.changes;
        // The tail now reads an R×R image: its types follow.
        sgc_ir::shape::reinfer_downstream(graph, &[tap_value.node])?;

        let mut report = PassReport::changed(attached + removed);
        let stats = self.stats.lock().expect("stats lock");
        let full = stats.full.or(sizes.last().copied()).unwrap_or(r);
        report.notes.push(format!(
            "image: ToRGB '{}' ({r}×{r}) of the {full} px generator",
            graph.node(tap_value.node).name
        ));
        let mut above: Vec<usize> = stats.blocks_above.clone();
        above.extend(sizes.iter().copied().filter(|&s| s > r));
        above.sort_unstable();
        above.dedup();
        if !above.is_empty() {
            let blocks: Vec<_> = above.iter().map(|s| format!("{s}x{s}")).collect();
            report
                .notes
                .push(format!("blocks removed: {}", blocks.join(", ")));
        }
        let after = live_const_bytes(graph);
        if stats.const_bytes_before > 0 {
            report.notes.push(format!(
                "weights: {:.2} MB → {:.2} MB ({:.2} MB saved)",
                stats.const_bytes_before as f64 / 1e6,
                after as f64 / 1e6,
                stats.const_bytes_before.saturating_sub(after) as f64 / 1e6
            ));
        }
        drop(stats);

        // The dlatent input: only the rows of the blocks up to R are read now.
        if let Some(v) = synthesis_input(graph) {
            let rows = dlatent_rows(r as u32) as i64;
            let node = graph.node(v.node);
            if node.op == Op::Placeholder && graph.inputs.contains(&v.node) {
                let name = node.name.clone();
                let shape = graph.info(v).shape.clone().unwrap_or_default();
                if shape.len() == 3 && shape[1] > rows {
                    let read = max_row_read(graph, v);
                    if self.keep_dlatent_shape || read.is_none_or(|m| m >= rows) {
                        report.notes.push(format!(
                            "dlatent input '{name}' keeps its shape {shape:?} (the {r} px generator reads rows 0..{rows})"
                        ));
                    } else {
                        let new = vec![shape[0], rows, shape[2]];
                        report.notes.push(format!(
                            "dlatent input '{name}': {shape:?} → {new:?} (use --keep-dlatent-shape to keep it)"
                        ));
                        let node = graph.node_mut(v.node);
                        node.attrs.set("shape", Attr::Shape(Some(new.clone())));
                        node.outputs[0].shape = Some(new);
                        sgc_ir::shape::reinfer_downstream(graph, &[v.node])?;
                        report.changes += 1;
                    }
                }
            }
        }
        Ok(report)
    }
}

/// The highest dlatent row the readers of `v` slice (constant `StridedSlice` begins), if all are known.
fn max_row_read(graph: &Graph, v: ValueRef) -> Option<i64> {
    let mut max = -1;
    for (reader, _) in graph.consumers(v) {
        match graph.node(reader).op {
            Op::StridedSlice => {
                let begin = graph.const_value(*graph.inputs(reader).get(1)?)?;
                let begin = begin.to_i64s().ok()?;
                max = max.max(*begin.get(1)?);
            }
            Op::Shape => {}
            _ => return None,
        }
    }
    Some(max)
}

fn check_resolution(r: usize, sizes: &[usize]) -> Result<(), IrError> {
    if sizes.contains(&r) {
        return Ok(());
    }
    let msg = if sizes.len() == 1 {
        format!(
            "--resolution {r}: the graph has no progressive structure (its only ToRGB layer is at {} px), so it contains no smaller generator",
            sizes[0]
        )
    } else {
        format!(
            "--resolution {r}: the graph has ToRGB layers at {} px only",
            list(sizes)
        )
    };
    Err(IrError::node("<graph>", msg))
}

fn no_torgb() -> IrError {
    IrError::node(
        "<graph>",
        "--resolution: the graph has no ToRGB layer (1×1 convolution to 3 channels): it is not a StyleGAN generator",
    )
}

fn list(sizes: &[usize]) -> String {
    sizes
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn not_configured() -> PassReport {
    PassReport {
        changes: 0,
        notes: vec!["not configured: sgc lower --resolution R runs it".into()],
    }
}

/// Scalar f32 constants that the progressive logic compares: they reach (through identities, casts,
/// `Switch` data and `Merge`) the first operand of a `Greater`/`Less`/`GreaterEqual`/`LessEqual`/`Sub`
/// whose second operand is a scalar constant.
pub(crate) fn lod_constants(graph: &Graph) -> Vec<sgc_ir::NodeIndex> {
    let scalar_const = |mut v: ValueRef| {
        for _ in 0..8 {
            if let Some(t) = graph.const_value(v) {
                return t.numel() == 1 && t.rank() == 0;
            }
            if !graph.node(v.node).op.is_identity_like() {
                return false;
            }
            match graph.inputs(v.node).first() {
                Some(&i) => v = i,
                None => return false,
            }
        }
        false
    };
    let mut found = Vec::new();
    for c in graph.node_indices() {
        let Some(t) = graph.node(c).const_value() else {
            continue;
        };
        if t.dtype() != sgc_ir::DType::F32 || t.rank() != 0 {
            continue;
        }
        let mut stack = vec![ValueRef::from(c)];
        let mut seen = std::collections::HashSet::new();
        let mut hit = false;
        while let Some(v) = stack.pop() {
            if hit || !seen.insert(v) {
                continue;
            }
            for (reader, slot) in graph.consumers(v) {
                let op = &graph.node(reader).op;
                match op {
                    op if op.is_identity_like() || *op == Op::Cast => stack.push(reader.into()),
                    Op::Switch if slot == 0 => {
                        stack.push(ValueRef::new(reader, 0));
                        stack.push(ValueRef::new(reader, 1));
                    }
                    Op::Merge => stack.push(reader.into()),
                    Op::Greater | Op::Less | Op::GreaterEqual | Op::LessEqual | Op::Sub => {
                        let against_scalar = graph
                            .inputs(reader)
                            .get(1)
                            .is_some_and(|&k| scalar_const(k));
                        hit |= slot == 0 && against_scalar;
                    }
                    _ => {}
                }
            }
        }
        if hit {
            found.push(c);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use sgc_ir::{interp, DType, NodeIndex};

    /// A two-resolution *linear* generator (4 and 8 px, 2 channels, D = 2): rows 0-1 feed the 4×4 block,
    /// rows 2-3 the 8×8 block; image = lerp_clip(rgb8, upscale(rgb4), lod - 0). Returns the graph, the lod
    /// constant and the 4 px ToRGB.
    fn linear() -> (Graph, NodeIndex, NodeIndex) {
        let mut g = Graph::new();
        let dl = placeholder(&mut g, "dlatents_in", vec![1, 4, 2]);
        let to_4d = g.add_const("shape_c11", Tensor::from_vec(vec![4], vec![1i32, 2, 1, 1]));
        let style = |g: &mut Graph, i: i32| {
            let r = row(g, dl.into(), i, &format!("row{i}"));
            node(
                g,
                &format!("style{i}"),
                Op::Reshape,
                &[r.into(), to_4d.into()],
            )
        };
        let c4 = g.add_const("const", f32s(vec![1, 2, 4, 4], 0.0));
        let s0 = style(&mut g, 0);
        let x4 = node_add(&mut g, "4x4/add", c4.into(), s0.into());
        let s1 = style(&mut g, 1);
        let x4 = node(&mut g, "4x4/mul", Op::Mul, &[x4.into(), s1.into()]);
        let up = |g: &mut Graph, x: ValueRef, c: i32, h: i32, name: &str| {
            let s1 = g.add_const(
                format!("{name}/s1"),
                Tensor::from_vec(vec![6], vec![-1i32, c, h, 1, h, 1]),
            );
            let m = g.add_const(
                format!("{name}/m"),
                Tensor::from_vec(vec![6], vec![1i32, 1, 1, 2, 1, 2]),
            );
            let s2 = g.add_const(
                format!("{name}/s2"),
                Tensor::from_vec(vec![4], vec![-1i32, c, 2 * h, 2 * h]),
            );
            let a = node(g, &format!("{name}/r1"), Op::Reshape, &[x, s1.into()]);
            let b = node(g, &format!("{name}/tile"), Op::Tile, &[a.into(), m.into()]);
            node(
                g,
                &format!("{name}/r2"),
                Op::Reshape,
                &[b.into(), s2.into()],
            )
        };
        let u = up(&mut g, x4.into(), 2, 4, "8x8/up");
        let s2 = style(&mut g, 2);
        let x8 = node_add(&mut g, "8x8/add", u.into(), s2.into());
        let s3 = style(&mut g, 3);
        let x8 = node(&mut g, "8x8/mul", Op::Mul, &[x8.into(), s3.into()]);
        let rgb4 = torgb(&mut g, x4.into(), 2, "ToRGB_lod1");
        let rgb8 = torgb(&mut g, x8.into(), 2, "ToRGB_lod0");
        // lerp_clip(rgb8, upscale(rgb4), lod - 0)
        let lod = g.add_const("lod", Tensor::scalar(0.0f32));
        let lod_read = node(&mut g, "lod/read", Op::Identity, &[lod.into()]);
        let zero = g.add_const("Grow/k", Tensor::scalar(0.0f32));
        let t = node(&mut g, "Grow/sub", Op::Sub, &[lod_read.into(), zero.into()]);
        let one = g.add_const("Grow/one", Tensor::scalar(1.0f32));
        let t = node(&mut g, "Grow/min", Op::Minimum, &[t.into(), one.into()]);
        let t = node(&mut g, "Grow/max", Op::Maximum, &[t.into(), zero.into()]);
        let up4 = up(&mut g, rgb4.into(), 3, 4, "Upscale2D");
        let d = node(&mut g, "Grow/d", Op::Sub, &[up4.into(), rgb8.into()]);
        let d = node(&mut g, "Grow/dt", Op::Mul, &[d.into(), t.into()]);
        let img = node_add(&mut g, "Grow/add", rgb8.into(), d.into());
        let out = node(&mut g, "images_out", Op::Identity, &[img.into()]);
        output(&mut g, "images_out", out.into());
        (g, lod, rgb4)
    }

    fn dlatents(rows: usize) -> Tensor {
        f32s(vec![1, rows, 2], 3.0)
    }

    #[test]
    fn finds_the_lod_constant_by_structure() {
        let (g, lod, _) = linear();
        assert_eq!(lod_constants(&g), vec![lod]);
    }

    #[test]
    fn prunes_a_linear_graph_to_its_4px_tap() {
        let (mut g, lod, rgb4) = linear();
        let dl = g.inputs[0];
        let want = interp::run(&g, &[(dl, dlatents(4))], &[rgb4.into()]).unwrap();

        let stats = Shared::default();
        let set = SetLod {
            resolution: Some(4),
            stats: stats.clone(),
        };
        set.run(&mut g).unwrap();
        assert_eq!(
            g.node(lod).const_value().unwrap().scalar_f64(),
            Some(1.0),
            "lod = log2(8/4)"
        );
        Fold.run(&mut g).unwrap();
        let prune = PruneResolution {
            resolution: Some(4),
            keep_dlatent_shape: false,
            stats,
        };
        let report = prune.run(&mut g).unwrap();
        Fold.run(&mut g).unwrap();
        let notes = report.notes.join("\n");
        assert!(notes.contains("blocks removed: 8x8"), "{notes}");
        assert!(notes.contains("[1, 4, 2] → [1, 2, 2]"), "{notes}");
        assert!(g.find("8x8/mul").is_none() && g.find("Upscale2D/tile").is_none());
        assert_eq!(g.info(g.outputs[0].value).shape, Some(vec![1, 3, 4, 4]));
        let rows2 = Tensor::from_vec(
            vec![1, 2, 2],
            dlatents(4).to_vec::<f32>().unwrap()[..4].to_vec(),
        );
        let got = interp::run(&g, &[(dl, rows2)], &[g.outputs[0].value]).unwrap();
        assert_eq!(
            got[0].to_vec::<f32>().unwrap(),
            want[0].to_vec::<f32>().unwrap()
        );
    }

    #[test]
    fn keeps_the_output_tail_and_optionally_the_dlatent_shape() {
        let (mut g, _, _) = linear();
        // A uint8-like tail: transpose then scale.
        let out = g.outputs[0].value;
        let perm = g.add_const("perm", Tensor::from_vec(vec![4], vec![0i32, 2, 3, 1]));
        let t = node(&mut g, "tail/transpose", Op::Transpose, &[out, perm.into()]);
        let k = g.add_const("tail/k", Tensor::scalar(127.5f32));
        let m = node(&mut g, "tail/mul", Op::Mul, &[t.into(), k.into()]);
        g.outputs[0].value = m.into();
        let stats = Shared::default();
        SetLod {
            resolution: Some(4),
            stats: stats.clone(),
        }
        .run(&mut g)
        .unwrap();
        Fold.run(&mut g).unwrap();
        PruneResolution {
            resolution: Some(4),
            keep_dlatent_shape: true,
            stats,
        }
        .run(&mut g)
        .unwrap();
        Fold.run(&mut g).unwrap();
        assert_eq!(g.outputs[0].value, ValueRef::from(m));
        assert_eq!(g.info(m.into()).shape, Some(vec![1, 4, 4, 3]));
        assert_eq!(g.info(g.inputs[0].into()).shape, Some(vec![1, 4, 2]));
        assert_eq!(g.info(m.into()).dtype, Some(DType::F32));
    }

    #[test]
    fn without_a_lod_constant_the_image_must_be_a_skip_sum() {
        // ToRGB layers at 4, 8 and 16 px, none of them summed with the image below: no 8 px image.
        let mut g = Graph::new();
        let mut last = None;
        for r in [4, 8, 16] {
            let x = placeholder(&mut g, &format!("x{r}"), vec![1, 2, r, r]);
            last = Some(torgb(&mut g, x.into(), 2, &format!("{r}x{r}/ToRGB")));
        }
        output(&mut g, "images_out", last.unwrap().into());
        let stats = Shared::default();
        let set = SetLod {
            resolution: Some(8),
            stats: stats.clone(),
        };
        set.run(&mut g)
            .expect("no lod: deferred to stylegan-resolution");
        Fold.run(&mut g).unwrap();
        let prune = PruneResolution {
            resolution: Some(8),
            keep_dlatent_shape: false,
            stats,
        };
        let err = prune.run(&mut g).unwrap_err().to_string();
        assert!(err.contains("not added to the upsampled image"), "{err}");
    }

    #[test]
    fn resolutions_the_graph_lacks_are_errors() {
        let (mut g, _, _) = linear();
        let err = SetLod {
            resolution: Some(16),
            ..Default::default()
        }
        .run(&mut g)
        .unwrap_err()
        .to_string();
        assert!(err.contains("at 4, 8 px only"), "{err}");

        // A fixed graph: only the final ToRGB.
        let mut g = Graph::new();
        let x = placeholder(&mut g, "x", vec![1, 2, 8, 8]);
        let rgb = torgb(&mut g, x.into(), 2, "ToRGB_lod0");
        output(&mut g, "images_out", rgb.into());
        let stats = Shared::default();
        SetLod {
            resolution: Some(4),
            stats: stats.clone(),
        }
        .run(&mut g)
        .expect("no lod: deferred to stylegan-resolution");
        Fold.run(&mut g).unwrap();
        let err = PruneResolution {
            resolution: Some(4),
            keep_dlatent_shape: false,
            stats,
        }
        .run(&mut g)
        .unwrap_err()
        .to_string();
        assert!(err.contains("no progressive structure"), "{err}");
    }
}
