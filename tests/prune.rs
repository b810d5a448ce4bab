//! End to end: StyleGAN exports (`--resolution`, `--part`, `--truncation-psi`, `--image-output`) against
//! TensorFlow's values, in LiteRT and in the IR interpreter. The references come from
//! `tools/make_fixtures.py`: the ToRGB taps at each lower resolution (`tap_<R>.npy`, meta.json "taps"), the
//! truncated dlatents and the image at other ψ (generator_full_32, meta.json "references").

mod common;

use std::path::{Path, PathBuf};

use common::{assert_close, run_litert, Fixture};
use sgc::{lower, LowerOptions};
use sgc_ir::{interp, Tensor};
use sgc_passes::io::IoSpec;
use sgc_passes::stylegan::{ImageOutput, Part, StyleganOptions};

fn file(f: &Fixture, name: &str) -> Tensor {
    common::npy::read(&f.dir.join(name))
}

/// `x[:, :rows, :]` of a [N, L, D] f32 tensor.
fn rows(x: &Tensor, rows: usize) -> Tensor {
    let [n, l, d] = x.shape() else { panic!() };
    let v = x.to_vec::<f32>().unwrap();
    let mut out = Vec::new();
    for b in 0..*n {
        out.extend_from_slice(&v[b * l * d..(b * l + rows) * d]);
    }
    Tensor::from_vec(vec![*n, rows, *d], out)
}

/// NCHW → NHWC.
fn nhwc(x: &Tensor) -> Tensor {
    let [n, c, h, w] = x.shape() else { panic!() };
    let v = x.to_vec::<f32>().unwrap();
    let mut out = vec![0f32; v.len()];
    for b in 0..*n {
        for ch in 0..*c {
            for y in 0..*h {
                for xx in 0..*w {
                    out[((b * h + y) * w + xx) * c + ch] = v[((b * c + ch) * h + y) * w + xx];
                }
            }
        }
    }
    Tensor::from_vec(vec![*n, *h, *w, *c], out)
}

/// StyleGAN's convert_images_to_uint8 (NHWC): ×127.5 + 128, clipped, truncated.
fn to_uint8(x: &Tensor) -> Tensor {
    let t = nhwc(x);
    let v: Vec<u8> = t
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .map(|&x| (x * 127.5 + 128.0).clamp(0.0, 255.0) as u8)
        .collect();
    Tensor::from_vec(t.shape().to_vec(), v)
}

/// Lowers `graph` with `options`, feeds `input` (one tensor) and compares the one output with `want`,
/// in the interpreter (when `interpret`) and in LiteRT. Returns the lowered model's size and node count.
fn check(
    what: &str,
    graph: &Path,
    (input_name, io_shape): (&str, &[i64]),
    input: &Tensor,
    stylegan: StyleganOptions,
    want: &Tensor,
    interpret: bool,
) -> (usize, usize) {
    let options = LowerOptions {
        io: IoSpec {
            outputs: vec![],
            input_shapes: vec![(input_name.to_string(), io_shape.to_vec())],
        },
        stylegan,
        ..Default::default()
    };
    let lowered = lower(graph, &options).unwrap_or_else(|e| panic!("{what}: {e}"));
    for note in &lowered.notes {
        println!("{what}: note: {note}");
    }
    let g = &lowered.graph;
    assert_eq!(g.inputs.len(), 1, "{what}: inputs");
    assert_eq!(g.outputs.len(), 1, "{what}: outputs");
    if interpret {
        let got = common::interpret_with_cast_inputs(g, |fetch| {
            interp::run(g, &[(g.inputs[0], input.clone())], fetch).expect("interpreter")
        });
        assert_eq!(got[0].0.dtype(), want.dtype(), "{what}: dtype");
        common::assert_interpreter_close(&format!("{what}: interpreter"), &got[0], want);
    }
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.tflite");
    let tflite = lowered.tflite().unwrap();
    std::fs::write(&model, &tflite).unwrap();
    let npy = dir.path().join("input.npy");
    common::npy::write(&npy, input);
    let name = g.node(g.inputs[0]).name.clone();
    let (outputs, ops) = run_litert(&model, &[(name, npy)]);
    println!("{what}: {} bytes, LiteRT ops {ops}", tflite.len());
    assert_eq!(outputs[0].dtype(), want.dtype(), "{what}: LiteRT dtype");
    assert_close(&format!("{what}: LiteRT"), &outputs[0], want);
    // Every block above the image's resolution is gone: no 4-D value (NHWC or NCHW) has the next block's
    // size 2R or more. (Within the R block, the fused upscale's VALID transposed conv is R+1 wide.)
    if want.rank() == 4 {
        let r = if want.shape()[1] == 3 {
            want.shape()[2]
        } else {
            want.shape()[1]
        } as i64;
        for n in g
            .node_indices()
            .filter(|&n| g.node(n).op != sgc_ir::Op::Const)
        {
            for info in &g.node(n).outputs {
                if let Some([_, a, b, c]) = info.shape.as_deref() {
                    assert!(
                        *b < 2 * r || (*a < 2 * r && *c < 2 * r),
                        "{what}: '{}' {:?} is as large as a block above the {r} px image",
                        g.node(n).name,
                        info.shape
                    );
                }
            }
        }
    }
    (lowered.tflite().unwrap().len(), g.node_count())
}

fn at(r: u32) -> StyleganOptions {
    StyleganOptions {
        resolution: Some(r),
        ..Default::default()
    }
}

fn pruned_synthesis(name: &str, r: u32) {
    let f = Fixture::named(name);
    let full = &f.input_tensors()[0].1;
    let l = 2 * r.trailing_zeros() as usize - 2;
    let want = file(&f, &format!("tap_{r}.npy"));
    check(
        &format!("{name} → {r} px"),
        &f.graph(),
        ("dlatents_in", &[1, 8, 64]),
        &rows(full, l),
        at(r),
        &want,
        true,
    );
}

#[test]
fn recursive_to_16_and_8() {
    pruned_synthesis("synthesis_recursive_32", 16);
    pruned_synthesis("synthesis_recursive_32", 8);
}

#[test]
fn linear_to_16_and_8() {
    pruned_synthesis("synthesis_linear_32", 16);
    pruned_synthesis("synthesis_linear_32", 8);
}

#[test]
fn keep_dlatent_shape() {
    let f = Fixture::named("synthesis_recursive_32");
    let options = StyleganOptions {
        keep_dlatent_shape: true,
        ..at(16)
    };
    check(
        "recursive → 16 px, full dlatents",
        &f.graph(),
        ("dlatents_in", &[1, 8, 64]),
        &f.input_tensors()[0].1,
        options,
        &file(&f, "tap_16.npy"),
        true,
    );
}

#[test]
fn fixed_graph_has_no_smaller_generator() {
    let f = Fixture::named("synthesis_fixed_32");
    let options = LowerOptions {
        stylegan: at(16),
        ..Default::default()
    };
    let err = lower(&f.graph(), &options).unwrap_err().to_string();
    assert!(err.contains("no progressive structure"), "{err}");
}

/// StyleGAN2 'skip' generators (no lod constant): the R px image is the running sum of the upsampled
/// ToRGB outputs up to R, against TF's value of that sum (`tools/make_stylegan2_fixtures.py` taps), for
/// every fixture — synthesis and full, fused and unfused modconv, batch 1 and 2 — and every R. The
/// synthesis input shrinks to the rows the R px generator reads, as for StyleGAN v1.
#[test]
fn stylegan2_skip_sums_at_every_resolution() {
    for name in common::fixture_names(&common::sg2_fixtures_dir()) {
        let f = Fixture::stylegan2(&name);
        let (input_name, x) = f.input_tensors().remove(0);
        for r in [4u32, 8, 16] {
            let want = file(&f, &format!("tap_{r}.npy"));
            let synthesis = x.rank() == 3;
            let input = if synthesis {
                rows(&x, 2 * r.trailing_zeros() as usize - 2)
            } else {
                x.clone()
            };
            let io: Vec<i64> = x.shape().iter().map(|&d| d as i64).collect();
            check(
                &format!("{name} → {r} px"),
                &f.graph(),
                (&input_name, &io),
                &input,
                at(r),
                &want,
                true,
            );
        }
    }
}

#[test]
fn generator_to_16_and_8() {
    let f = Fixture::named("generator_full_32");
    let z = &f.input_tensors()[0].1;
    for r in [16, 8] {
        let want = file(&f, &format!("tap_{r}.npy"));
        check(
            &format!("generator → {r} px"),
            &f.graph(),
            ("latents_in", &[1, 64]),
            z,
            at(r),
            &want,
            true,
        );
    }
}

#[test]
fn uint8_tail_stays_attached_to_the_tap() {
    let f = Fixture::named("generator_uint8_32");
    let taps = Fixture::named("generator_full_32");
    let want = to_uint8(&file(&taps, "tap_8.npy"));
    check(
        "generator uint8 → 8 px",
        &f.graph(),
        ("Gs/_Run/latents_in", &[1, 64]),
        &f.input_tensors()[0].1,
        at(8),
        &want,
        true,
    );
}

#[test]
fn truncation_psi() {
    let f = Fixture::named("generator_full_32");
    let z = &f.input_tensors()[0].1;
    for (psi, file_name) in [(0.5, "image_psi_0.5.npy"), (1.0, "image_psi_1.npy")] {
        let options = StyleganOptions {
            truncation_psi: Some(psi),
            ..Default::default()
        };
        let (_, nodes) = check(
            &format!("generator ψ {psi}"),
            &f.graph(),
            ("latents_in", &[1, 64]),
            z,
            options,
            &file(&f, file_name),
            true,
        );
        println!("ψ {psi}: {nodes} nodes");
    }
}

#[test]
fn image_outputs() {
    let f = Fixture::named("generator_full_32");
    let u8f = Fixture::named("generator_uint8_32");
    let z = &f.input_tensors()[0].1;
    let float = &f.reference_outputs()[0].1;
    let with = |kind| StyleganOptions {
        image_output: Some(kind),
        ..Default::default()
    };
    check(
        "float → uint8-nhwc",
        &f.graph(),
        ("latents_in", &[1, 64]),
        z,
        with(ImageOutput::Uint8Nhwc),
        &u8f.reference_outputs()[0].1,
        true,
    );
    check(
        "float → float-nhwc",
        &f.graph(),
        ("latents_in", &[1, 64]),
        z,
        with(ImageOutput::FloatNhwc),
        &nhwc(float),
        true,
    );
    check(
        "uint8 graph → float-nchw",
        &u8f.graph(),
        ("Gs/_Run/latents_in", &[1, 64]),
        z,
        with(ImageOutput::FloatNchw),
        float,
        true,
    );
    check(
        "generator → 16 px uint8-nhwc",
        &f.graph(),
        ("latents_in", &[1, 64]),
        z,
        StyleganOptions {
            image_output: Some(ImageOutput::Uint8Nhwc),
            ..at(16)
        },
        &to_uint8(&file(&f, "tap_16.npy")),
        true,
    );
}

#[test]
fn parts() {
    let f = Fixture::named("generator_full_32");
    let z = &f.input_tensors()[0].1;
    let part = |p| StyleganOptions {
        part: Some(p),
        ..Default::default()
    };
    // synthesis: fed TF's truncated dlatents it makes TF's image; fed the synthesis fixture's input, its output.
    let dlatents = file(&f, "dlatents.npy");
    check(
        "part synthesis (generator dlatents)",
        &f.graph(),
        ("latents_in", &[1, 64]),
        &dlatents,
        part(Part::Synthesis),
        &f.reference_outputs()[0].1,
        true,
    );
    let s = Fixture::named("synthesis_recursive_32");
    check(
        "part synthesis (synthesis fixture)",
        &f.graph(),
        ("latents_in", &[1, 64]),
        &s.input_tensors()[0].1,
        part(Part::Synthesis),
        &s.reference_outputs()[0].1,
        true,
    );
    check(
        "part synthesis at 8 px",
        &f.graph(),
        ("latents_in", &[1, 64]),
        &rows(&dlatents, 4),
        StyleganOptions {
            part: Some(Part::Synthesis),
            ..at(8)
        },
        &file(&f, "tap_8.npy"),
        true,
    );
    // mapping: TF's truncated dlatents; with ψ 1 the mapping fixture's (untruncated) output.
    check(
        "part mapping",
        &f.graph(),
        ("latents_in", &[1, 64]),
        z,
        part(Part::Mapping),
        &dlatents,
        true,
    );
    let m = Fixture::named("mapping");
    check(
        "part mapping ψ 1",
        &f.graph(),
        ("latents_in", &[1, 64]),
        z,
        StyleganOptions {
            part: Some(Part::Mapping),
            truncation_psi: Some(1.0),
            ..Default::default()
        },
        &m.reference_outputs()[0].1,
        true,
    );
    check(
        "part full",
        &f.graph(),
        ("latents_in", &[1, 64]),
        z,
        part(Part::Full),
        &f.reference_outputs()[0].1,
        true,
    );
    let err = lower(
        &s.graph(),
        &LowerOptions {
            stylegan: part(Part::Mapping),
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("no mapping network"), "{err}");
}

fn full_size(name: &str) -> Option<Fixture> {
    let dir: PathBuf = common::repo_root().join("tests/fixtures-full").join(name);
    if !dir.join("tap_512.npy").exists() {
        println!("{name}: not generated (python tools/make_fixtures.py --full --out tests/fixtures-full)");
        return None;
    }
    Some(Fixture::load(&dir))
}

/// From the 1024 px graphs: the 512, 256 and 128 px synthesis and full generators, against TF's taps.
#[test]
#[ignore = "needs tests/fixtures-full (make_fixtures.py --full); slow"]
fn full_size_1024_to_512_256_128() {
    for (name, input, part) in [
        (
            "synthesis_1024",
            ("dlatents_in", &[1i64, 18, 512][..]),
            Part::Synthesis,
        ),
        (
            "generator_full_1024",
            ("latents_in", &[1i64, 512][..]),
            Part::Full,
        ),
    ] {
        let Some(f) = full_size(name) else { continue };
        let value = &f.input_tensors()[0].1;
        for r in [512u32, 256, 128] {
            let feed = match part {
                Part::Synthesis => rows(value, 2 * r.trailing_zeros() as usize - 2),
                _ => value.clone(),
            };
            let (bytes, nodes) = check(
                &format!("{name} → {r} px"),
                &f.graph(),
                input,
                &feed,
                at(r),
                &file(&f, &format!("tap_{r}.npy")),
                false,
            );
            println!(
                "{name} → {r} px: {:.1} MB, {nodes} nodes",
                bytes as f64 / 1e6
            );
        }
    }
}

/// The pickle route: `tests/fixtures-pkl/generator_32.pkl` holds generator_full_32's weights (see
/// tests/pickle.rs), and the graph sgc builds from it (no TensorFlow) makes TensorFlow's values for
/// every export: the image, the 16 and 8 px taps, ψ 0.5, the synthesis and mapping parts; and so do
/// the fused-upscale synthesis network of `synthesis_fused_32.pkl` and the recursive- and
/// fixed-structure ones.
#[test]
fn the_pickle_exports_what_tensorflow_computes() {
    let f = Fixture::named("generator_full_32");
    let pkl = common::repo_root().join("tests/fixtures-pkl/generator_32.pkl");
    let z = &f.input_tensors()[0].1;
    let io = ("latents_in", &[1i64, 64][..]);
    check(
        "pkl image",
        &pkl,
        io,
        z,
        StyleganOptions::default(),
        &f.reference_outputs()[0].1,
        true,
    );
    for r in [16, 8] {
        let want = file(&f, &format!("tap_{r}.npy"));
        check(&format!("pkl → {r} px"), &pkl, io, z, at(r), &want, true);
    }
    let psi = StyleganOptions {
        truncation_psi: Some(0.5),
        ..Default::default()
    };
    check(
        "pkl ψ 0.5",
        &pkl,
        io,
        z,
        psi,
        &file(&f, "image_psi_0.5.npy"),
        true,
    );
    let part = |p| StyleganOptions {
        part: Some(p),
        ..Default::default()
    };
    let dlatents = file(&f, "dlatents.npy");
    check(
        "pkl part synthesis",
        &pkl,
        io,
        &dlatents,
        part(Part::Synthesis),
        &f.reference_outputs()[0].1,
        true,
    );
    check(
        "pkl part mapping",
        &pkl,
        io,
        z,
        part(Part::Mapping),
        &dlatents,
        true,
    );

    // A lone G_synthesis with the fused upscale (Conv2DBackpropInput) in every block.
    let s = Fixture::named("synthesis_fused_32");
    let pkl = common::repo_root().join("tests/fixtures-pkl/synthesis_fused_32.pkl");
    let (x, want) = (&s.input_tensors()[0].1, &s.reference_outputs()[0].1);
    let io = ("dlatents_in", &[1i64, 8, 64][..]);
    check(
        "pkl fused synthesis",
        &pkl,
        io,
        x,
        StyleganOptions::default(),
        want,
        true,
    );

    // The same synthesis network with `structure='recursive'` and `'fixed'` (only the last ToRGB):
    // TensorFlow's outputs of the frozen graphs of those structures.
    for structure in ["recursive", "fixed"] {
        let s = Fixture::named(&format!("synthesis_{structure}_32"));
        let pkl =
            common::repo_root().join(format!("tests/fixtures-pkl/synthesis_{structure}_32.pkl"));
        let (x, want) = (&s.input_tensors()[0].1, &s.reference_outputs()[0].1);
        check(
            &format!("pkl {structure} synthesis"),
            &pkl,
            io,
            x,
            StyleganOptions::default(),
            want,
            true,
        );
    }
}
