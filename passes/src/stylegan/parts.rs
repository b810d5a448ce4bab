//! Parts of a `G_style` generator, its truncation, and the image format an exported model ends with.
//!
//! - [`Truncation`] (before folding): StyleGAN's truncation trick is `lerp(dlatent_avg, dlatents, coefs)`
//!   with `coefs = Select(Const bool[1,L,1] (row < cutoff), ψ, 1)`, serialized as `Sub(dlatents, avg)` →
//!   `Mul(·, Select)` → `AddV2(avg, ·)`. The pass replaces the `Select` by the constant for the requested
//!   ψ and cutoff, or removes the lerp (readers read the untruncated dlatents) when ψ = 1 or cutoff = 0.
//! - [`SelectPart`]: cuts the generator at the synthesis network's dlatents (see the table in
//!   [`super`]): `synthesis` feeds them from a new `dlatents_in` placeholder, `mapping` makes them the
//!   output `dlatents_out`, `full` keeps both networks.
//! - [`AttachImageOutput`]: replaces whatever follows the image (or nothing) by the requested conversion.

use sgc_ir::{
    Attr, DType, Graph, IrError, Node, NodeIndex, Op, Output, Tensor, ValueInfo, ValueRef,
};

use super::{image_of, synthesis_input, ImageOutput as Kind, Part};
use crate::{Pass, PassReport};

#[derive(Default)]
pub struct Truncation {
    pub psi: Option<f32>,
    pub cutoff: Option<usize>,
}

/// The truncation lerp: the `Select` of coefficients, the `Sub` and the final `AddV2`.
struct Lerp {
    select: NodeIndex,
    sub: NodeIndex,
    add: NodeIndex,
    cond: Vec<bool>,
    psi: f32,
}

fn truncation_lerps(graph: &Graph) -> Vec<Lerp> {
    let mut found = Vec::new();
    for select in graph.node_indices() {
        if !matches!(graph.node(select).op, Op::Select | Op::SelectV2) {
            continue;
        }
        let inputs = graph.inputs(select);
        let [c, t, _e] = inputs.as_slice() else {
            continue;
        };
        let (Some(c), Some(t)) = (graph.const_value(*c), graph.const_value(*t)) else {
            continue;
        };
        let (Ok(cond), Ok(tv)) = (c.to_vec::<bool>(), t.to_f64s()) else {
            continue;
        };
        if c.rank() != 3 || c.shape()[0] != 1 || c.shape()[2] != 1 || tv.is_empty() {
            continue;
        }
        for (mul, _) in graph.consumers(select.into()) {
            if graph.node(mul).op != Op::Mul {
                continue;
            }
            let Some(sub) = graph
                .inputs(mul)
                .into_iter()
                .find(|v| graph.node(v.node).op == Op::Sub)
            else {
                continue;
            };
            let Some(&avg) = graph.inputs(sub.node).get(1) else {
                continue;
            };
            for (add, _) in graph.consumers(mul.into()) {
                let add_inputs = graph.inputs(add);
                if matches!(graph.node(add).op, Op::Add | Op::AddV2) && add_inputs.contains(&avg) {
                    let psi = cond
                        .iter()
                        .position(|&b| b)
                        .map_or(1.0, |i| tv[i.min(tv.len() - 1)] as f32);
                    found.push(Lerp {
                        select,
                        sub: sub.node,
                        add,
                        cond: cond.clone(),
                        psi,
                    });
                }
            }
        }
    }
    found
}

impl Pass for Truncation {
    fn name(&self) -> &'static str {
        "stylegan-truncation"
    }

    fn description(&self) -> &'static str {
        "--truncation-psi/--truncation-cutoff: rewrites the truncation coefficients (ψ = 1 removes the truncation)"
    }

    fn run(&self, graph: &mut Graph) -> Result<PassReport, IrError> {
        if self.psi.is_none() && self.cutoff.is_none() {
            return Ok(PassReport {
                changes: 0,
                notes: vec!["not configured: sgc lower --truncation-psi runs it".into()],
            });
        }
        let lerps = truncation_lerps(graph);
        let removes = self.psi == Some(1.0) || self.cutoff == Some(0);
        if lerps.is_empty() {
            if removes {
                return Ok(PassReport {
                    changes: 0,
                    notes: vec!["the graph has no truncation: nothing to remove".into()],
                });
            }
            return Err(IrError::node(
                "<graph>",
                "--truncation-psi: the graph has no truncation (Select of coefficients lerping against dlatent_avg), so its average dlatent is not in the graph",
            ));
        }
        let mut report = PassReport::default();
        for lerp in lerps {
            let rows = lerp.cond.len();
            let old_cutoff = lerp.cond.iter().filter(|&&b| b).count();
            let psi = self.psi.unwrap_or(lerp.psi);
            let cutoff = self.cutoff.unwrap_or(old_cutoff);
            let name = graph.node(lerp.add).name.clone();
            if psi == 1.0 || cutoff == 0 {
                let dlatents = graph.inputs(lerp.sub)[0];
                graph.replace_uses(lerp.add.into(), dlatents);
                report.notes.push(format!(
                    "truncation '{name}' removed (was ψ {} on {old_cutoff} of {rows} rows)",
                    lerp.psi
                ));
            } else {
                let coefs: Vec<f32> = (0..rows)
                    .map(|i| if i < cutoff { psi } else { 1.0 })
                    .collect();
                let c = graph.add_const(
                    graph.unique_name(&format!("{}/psi", graph.node(lerp.select).name)),
                    Tensor::from_vec(vec![1, rows, 1], coefs),
                );
                graph.replace_uses(lerp.select.into(), c.into());
                report.notes.push(format!(
                    "truncation '{name}': ψ {psi} on the first {} of {rows} rows (was ψ {} on {old_cutoff})",
                    cutoff.min(rows),
                    lerp.psi
                ));
            }
            report.changes += 1;
        }
        Ok(report)
    }
}

#[derive(Default)]
pub struct SelectPart {
    pub part: Option<Part>,
    /// For the mapping part: keep only this many dlatent rows (the rows an R px synthesis reads).
    pub rows: Option<usize>,
}

impl Pass for SelectPart {
    fn name(&self) -> &'static str {
        "stylegan-part"
    }

    fn description(&self) -> &'static str {
        "--part synthesis|mapping|full: cuts a G_style generator at the synthesis network's dlatents"
    }

    fn run(&self, graph: &mut Graph) -> Result<PassReport, IrError> {
        let Some(part) = self.part else {
            return Ok(PassReport {
                changes: 0,
                notes: vec!["not configured: sgc lower --part runs it".into()],
            });
        };
        let Some(dlatents) = synthesis_input(graph) else {
            return Err(IrError::node(
                "<graph>",
                "--part: no synthesis network found (no [N, L, D] dlatents sliced row by row)",
            ));
        };
        let is_input = graph.node(dlatents.node).op == Op::Placeholder;
        let info = graph.info(dlatents).clone();
        let mut report = PassReport::changed(1);
        match part {
            Part::Full | Part::Mapping if is_input => {
                return Err(IrError::node(
                    &graph.node(dlatents.node).name,
                    "--part full/mapping: the graph is a synthesis network only (its dlatents are an input; there is no mapping network)",
                ));
            }
            Part::Full => {
                report.changes = 0;
                report
                    .notes
                    .push("part full: mapping + truncation + synthesis".into());
            }
            Part::Synthesis if is_input => {
                report.changes = 0;
                report.notes.push(format!(
                    "part synthesis: the graph is one already (input '{}')",
                    graph.node(dlatents.node).name
                ));
            }
            Part::Synthesis => {
                let name = graph.unique_name("dlatents_in");
                let mut p = Node::new(&name, Op::Placeholder)
                    .with_attr("dtype", Attr::Type(DType::F32))
                    .with_attr("shape", Attr::Shape(info.shape.clone()));
                p.outputs = vec![info.clone()];
                let p = graph.add(p);
                graph.replace_uses(dlatents, p.into());
                let old: Vec<String> = graph
                    .inputs
                    .iter()
                    .map(|&n| graph.node(n).name.clone())
                    .collect();
                graph.inputs = vec![p];
                report.notes.push(format!(
                    "part synthesis: input '{name}' {info} replaces {} and the mapping network",
                    old.join(", ")
                ));
            }
            Part::Mapping => {
                let mut value = dlatents;
                let mut shape = info.shape.clone().unwrap_or_default();
                if let Some(rows) = self
                    .rows
                    .filter(|&r| shape.len() == 3 && (r as i64) < shape[1])
                {
                    value = slice_rows(graph, dlatents, rows);
                    shape[1] = rows as i64;
                }
                graph.outputs = vec![Output {
                    name: "dlatents_out".into(),
                    value,
                }];
                report.notes.push(format!(
                    "part mapping: output 'dlatents_out' f32{shape:?} (after broadcast and truncation)"
                ));
            }
        }
        Ok(report)
    }
}

/// `v[:, :rows, :]`.
fn slice_rows(graph: &mut Graph, v: ValueRef, rows: usize) -> ValueRef {
    let base = format!("{}/rows", graph.value_name(v).replace(':', "_"));
    let begin = graph.add_const(
        graph.unique_name(&format!("{base}/begin")),
        Tensor::from_vec(vec![3], vec![0i32, 0, 0]),
    );
    let end = graph.add_const(
        graph.unique_name(&format!("{base}/end")),
        Tensor::from_vec(vec![3], vec![0i32, rows as i32, 0]),
    );
    let strides = graph.add_const(
        graph.unique_name(&format!("{base}/strides")),
        Tensor::from_vec(vec![3], vec![1i32, 1, 1]),
    );
    let mut node = Node::new(graph.unique_name(&base), Op::StridedSlice)
        .with_attr("T", Attr::Type(DType::F32))
        .with_attr("Index", Attr::Type(DType::I32));
    for (k, v) in [
        ("begin_mask", 5),
        ("end_mask", 5),
        ("ellipsis_mask", 0),
        ("new_axis_mask", 0),
        ("shrink_axis_mask", 0),
    ] {
        node.attrs.set(k, Attr::Int(v));
    }
    let n = graph.add(node);
    for (slot, input) in [v, begin.into(), end.into(), strides.into()]
        .into_iter()
        .enumerate()
    {
        graph.connect(input, n, slot);
    }
    n.into()
}

#[derive(Default)]
pub struct AttachImageOutput {
    pub kind: Option<Kind>,
}

impl Pass for AttachImageOutput {
    fn name(&self) -> &'static str {
        "stylegan-image-output"
    }

    fn description(&self) -> &'static str {
        "--image-output uint8-nhwc|float-nhwc|float-nchw: replaces what follows the generator's image by this conversion"
    }

    fn run(&self, graph: &mut Graph) -> Result<PassReport, IrError> {
        let Some(kind) = self.kind else {
            return Ok(PassReport {
                changes: 0,
                notes: vec!["not configured: sgc lower --image-output runs it".into()],
            });
        };
        let mut report = PassReport::default();
        for i in 0..graph.outputs.len() {
            let Some(image) = image_of(graph, graph.outputs[i].value) else {
                continue;
            };
            let value = convert(graph, image, kind);
            graph.outputs[i].value = value;
            report.changes += 1;
            report.notes.push(format!(
                "output '{}': image '{}' as {}",
                graph.outputs[i].name,
                graph.value_name(image),
                match kind {
                    Kind::Uint8Nhwc => "u8 NHWC (×127.5 + 128, clipped to 0..255)",
                    Kind::FloatNhwc => "f32 NHWC",
                    Kind::FloatNchw => "f32 NCHW",
                }
            ));
        }
        if report.changes == 0 {
            return Err(IrError::node(
                "<graph>",
                "--image-output: no output of the graph is an RGB image [N, 3, H, W]",
            ));
        }
        Ok(report)
    }
}

/// Appends the conversion of an NCHW f32 image in [-1, 1].
fn convert(graph: &mut Graph, image: ValueRef, kind: Kind) -> ValueRef {
    if kind == Kind::FloatNchw {
        return image;
    }
    let base = format!("{}/image_out", graph.value_name(image).replace(':', "_"));
    let op =
        |graph: &mut Graph, name: &str, op: Op, inputs: &[ValueRef], attrs: &[(&str, Attr)]| {
            let mut node = Node::new(graph.unique_name(&format!("{base}/{name}")), op);
            node.outputs = vec![ValueInfo::default()];
            for (k, v) in attrs {
                node.attrs.set(*k, v.clone());
            }
            let n = graph.add(node);
            for (slot, &v) in inputs.iter().enumerate() {
                graph.connect(v, n, slot);
            }
            ValueRef::from(n)
        };
    let constant = |graph: &mut Graph, name: &str, t: Tensor| -> ValueRef {
        graph
            .add_const(graph.unique_name(&format!("{base}/{name}")), t)
            .into()
    };
    let t = Attr::Type(DType::F32);
    let perm = constant(
        graph,
        "perm",
        Tensor::from_vec(vec![4], vec![0i32, 2, 3, 1]),
    );
    let nhwc = op(
        graph,
        "transpose",
        Op::Transpose,
        &[image, perm],
        &[("T", t.clone()), ("Tperm", Attr::Type(DType::I32))],
    );
    if kind == Kind::FloatNhwc {
        return nhwc;
    }
    let scale = constant(graph, "scale", Tensor::scalar(127.5f32));
    let offset = constant(graph, "offset", Tensor::scalar(128.0f32));
    let lo = constant(graph, "min", Tensor::scalar(0.0f32));
    let hi = constant(graph, "max", Tensor::scalar(255.0f32));
    let x = op(graph, "mul", Op::Mul, &[nhwc, scale], &[("T", t.clone())]);
    let x = op(graph, "add", Op::AddV2, &[x, offset], &[("T", t.clone())]);
    let x = op(graph, "clip", Op::ClipByValue, &[x, lo, hi], &[("T", t)]);
    op(
        graph,
        "cast",
        Op::Cast,
        &[x],
        &[
            ("SrcT", Attr::Type(DType::F32)),
            ("DstT", Attr::Type(DType::U8)),
            ("Truncate", Attr::Bool(false)),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::fold::Fold;
    use sgc_ir::interp;

    /// mapping (z → dense → broadcast to 4 rows) → truncation (ψ 0.5, cutoff 2) → a toy synthesis that
    /// slices rows 0 and 3 and makes a [1,3,2,2] "image" of them.
    fn generator() -> Graph {
        let mut g = Graph::new();
        let z = placeholder(&mut g, "latents_in", vec![1, 2]);
        let w = g.add_const("Dense/w", f32s(vec![2, 2], 0.5));
        let x = node(&mut g, "Dense/mm", Op::MatMul, &[z.into(), w.into()]);
        let e = g.add_const("axis", Tensor::scalar(1i32));
        let x = node(
            &mut g,
            "Broadcast/expand",
            Op::ExpandDims,
            &[x.into(), e.into()],
        );
        let m = g.add_const("Broadcast/m", Tensor::from_vec(vec![3], vec![1i32, 4, 1]));
        let dl = node(&mut g, "Broadcast/Tile", Op::Tile, &[x.into(), m.into()]);
        let avg = g.add_const("dlatent_avg", f32s(vec![2], 4.0));
        let avg = node(&mut g, "dlatent_avg/read", Op::Identity, &[avg.into()]);
        let c = g.add_const(
            "Truncation/c",
            Tensor::from_vec(vec![1, 4, 1], vec![true, true, false, false]),
        );
        let t = g.add_const("Truncation/t", Tensor::filled(vec![1, 4, 1], 0.5f32));
        let e = g.add_const("Truncation/e", Tensor::filled(vec![1, 4, 1], 1.0f32));
        let sel = node(
            &mut g,
            "Truncation/Select",
            Op::Select,
            &[c.into(), t.into(), e.into()],
        );
        let sub = node(&mut g, "Truncation/sub", Op::Sub, &[dl.into(), avg.into()]);
        let mul = node(&mut g, "Truncation/mul", Op::Mul, &[sub.into(), sel.into()]);
        let trunc = node_add(&mut g, "Truncation/add", avg.into(), mul.into());
        let r0 = row(&mut g, trunc.into(), 0, "s/row0");
        let r3 = row(&mut g, trunc.into(), 3, "s/row3");
        let both = node(&mut g, "s/mul", Op::Mul, &[r0.into(), r3.into()]);
        let shape = g.add_const("s/shape", Tensor::from_vec(vec![4], vec![1i32, 1, 2, 1]));
        let x = node(
            &mut g,
            "s/reshape",
            Op::Reshape,
            &[both.into(), shape.into()],
        );
        let m = g.add_const("s/m", Tensor::from_vec(vec![4], vec![1i32, 3, 1, 2]));
        let img = node(&mut g, "s/tile", Op::Tile, &[x.into(), m.into()]);
        output(&mut g, "images_out", img.into());
        g
    }

    fn run(g: &Graph, feed: Tensor, fetch: ValueRef) -> Vec<f32> {
        interp::run(g, &[(g.inputs[0], feed)], &[fetch]).unwrap()[0]
            .to_vec::<f32>()
            .unwrap()
    }

    fn z() -> Tensor {
        Tensor::from_vec(vec![1, 2], vec![0.3f32, -1.2])
    }

    #[test]
    fn psi_one_removes_the_truncation_and_other_psis_rewrite_it() {
        let mut g = generator();
        let dl = g.find("Broadcast/Tile").unwrap();
        let untruncated = run(&g, z(), dl.into());
        Truncation {
            psi: Some(1.0),
            cutoff: None,
        }
        .run(&mut g)
        .unwrap();
        let sub = g.find("s/row0").unwrap();
        assert_eq!(g.inputs(sub)[0], ValueRef::from(dl));

        let mut g = generator();
        let report = Truncation {
            psi: Some(0.25),
            cutoff: Some(3),
        }
        .run(&mut g)
        .unwrap();
        assert!(
            report.notes[0].contains("ψ 0.25 on the first 3 of 4 rows"),
            "{report:?}"
        );
        let add = g.find("Truncation/add").unwrap();
        let got = run(&g, z(), add.into());
        let avg = f32s(vec![2], 4.0).to_vec::<f32>().unwrap();
        for (i, (&u, &t)) in untruncated.iter().zip(&got).enumerate() {
            let (row, col) = (i / 2, i % 2);
            let psi = if row < 3 { 0.25 } else { 1.0 };
            assert!((avg[col] + (u - avg[col]) * psi - t).abs() < 1e-6);
        }
    }

    #[test]
    fn no_truncation_is_an_error_unless_removing_it() {
        let mut g = generator();
        Truncation {
            psi: Some(1.0),
            cutoff: None,
        }
        .run(&mut g)
        .unwrap();
        crate::dce::DeadCode.run(&mut g).unwrap();
        let err = Truncation {
            psi: Some(0.5),
            cutoff: None,
        }
        .run(&mut g)
        .unwrap_err();
        assert!(err.to_string().contains("no truncation"), "{err}");
    }

    #[test]
    fn parts_compose_to_the_full_generator() {
        let mut full = generator();
        Fold.run(&mut full).unwrap();
        let image = run(&full, z(), full.outputs[0].value);

        let mut mapping = generator();
        Fold.run(&mut mapping).unwrap();
        SelectPart {
            part: Some(Part::Mapping),
            rows: None,
        }
        .run(&mut mapping)
        .unwrap();
        assert_eq!(mapping.outputs[0].name, "dlatents_out");
        let dlatents = run(&mapping, z(), mapping.outputs[0].value);

        let mut synthesis = generator();
        Fold.run(&mut synthesis).unwrap();
        SelectPart {
            part: Some(Part::Synthesis),
            rows: None,
        }
        .run(&mut synthesis)
        .unwrap();
        crate::dce::DeadCode.run(&mut synthesis).unwrap();
        assert!(synthesis.find("Dense/mm").is_none());
        let input = synthesis.inputs[0];
        assert_eq!(synthesis.node(input).name, "dlatents_in");
        assert_eq!(synthesis.info(input.into()).shape, Some(vec![1, 4, 2]));
        let got = run(
            &synthesis,
            Tensor::from_vec(vec![1, 4, 2], dlatents),
            synthesis.outputs[0].value,
        );
        assert_eq!(got, image);

        let mut g = generator();
        Fold.run(&mut g).unwrap();
        SelectPart {
            part: Some(Part::Mapping),
            rows: Some(2),
        }
        .run(&mut g)
        .unwrap();
        Fold.run(&mut g).unwrap();
        assert_eq!(g.info(g.outputs[0].value).shape, Some(vec![1, 2, 2]));
    }

    #[test]
    fn image_output_conversions() {
        let mut g = generator();
        Fold.run(&mut g).unwrap();
        let float = run(&g, z(), g.outputs[0].value);
        AttachImageOutput {
            kind: Some(Kind::Uint8Nhwc),
        }
        .run(&mut g)
        .unwrap();
        Fold.run(&mut g).unwrap();
        let out = g.outputs[0].value;
        assert_eq!(g.info(out).shape, Some(vec![1, 2, 2, 3]));
        assert_eq!(g.info(out).dtype, Some(DType::U8));
        let got = interp::run(&g, &[(g.inputs[0], z())], &[out]).unwrap()[0]
            .to_vec::<u8>()
            .unwrap();
        // NCHW [1,3,2,2] → NHWC [1,2,2,3]
        for h in 0..2 {
            for w in 0..2 {
                for c in 0..3 {
                    let want = (float[c * 4 + h * 2 + w] * 127.5 + 128.0).clamp(0.0, 255.0) as u8;
                    assert_eq!(got[h * 6 + w * 3 + c], want);
                }
            }
        }
        // Replacing the uint8 tail by float NCHW finds the image behind it again.
        AttachImageOutput {
            kind: Some(Kind::FloatNchw),
        }
        .run(&mut g)
        .unwrap();
        assert_eq!(run(&g, z(), g.outputs[0].value), float);
    }
}
