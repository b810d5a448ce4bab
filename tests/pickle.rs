//! StyleGAN pickles (`tests/fixtures-pkl/`, written by `tools/make_pkl_fixtures.py` without TensorFlow):
//! `sgc inspect` gives back every network, kwarg and variable the writer put in (checked against the
//! writer's own `expected.json`, variable bytes by checksum); hostile and broken pickles each get their
//! named error, exit 1, and nothing they ask for is run (the marker file they would create never
//! appears); networks that do not fit their architecture are refused with what differs; a pickle
//! lowers and verifies. (Against TensorFlow: tests/prune.rs, `the_pickle_exports_what_tensorflow_computes`.)

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::Digest;

fn fixture(name: &str) -> PathBuf {
    common::repo_root().join("tests/fixtures-pkl").join(name)
}

/// `sgc ARGS` run in `cwd`.
fn sgc_in(cwd: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sgc"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("sgc runs")
}

#[test]
fn inspect_reads_back_what_the_writer_wrote() {
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("expected.json")).unwrap()).unwrap();
    let networks = sgc_frontends::pickle::read_networks(&fixture("tiny_G_D_Gs.pkl")).unwrap();
    let paths: Vec<&str> = networks.iter().map(|n| n.path.as_str()).collect();
    assert_eq!(paths, ["G", "D", "Gs"]);
    let expected = expected.as_object().unwrap();
    for (path, want) in expected {
        let n = sgc_frontends::pickle::Network::find(&networks, path)
            .unwrap_or_else(|| panic!("no network {path}"));
        assert_eq!(n.name, want["name"], "{path}");
        assert_eq!(n.build_func_name, want["build_func_name"], "{path}");
        assert_eq!(n.version, want["version"], "{path}");
        assert_eq!(n.source_sha256, want["source_sha256"], "{path}");
        assert_eq!(
            n.known_source(),
            None,
            "{path}: the fixture's source is a stand-in"
        );
        let components: Vec<String> = {
            let mut c: Vec<String> = n
                .components
                .iter()
                .map(|c| c.path.rsplit('/').next().unwrap().to_string())
                .collect();
            c.sort();
            c
        };
        assert_eq!(serde_json::json!(components), want["components"], "{path}");
        let kwargs = sgc::inspect::json(std::slice::from_ref(n))[0]["static_kwargs"].clone();
        for (k, v) in want["static_kwargs"].as_object().unwrap() {
            let got = &kwargs[k];
            match v.as_f64() {
                Some(f) if v.is_f64() => {
                    assert!((got.as_f64().unwrap() - f).abs() < 1e-6, "{path}: {k}")
                }
                _ => assert_eq!(got, v, "{path}: {k}"),
            }
        }
        let want_vars = want["variables"].as_array().unwrap();
        assert_eq!(n.variables.len(), want_vars.len(), "{path}");
        for ((name, t), w) in n.variables.iter().zip(want_vars) {
            assert_eq!(name, &w[0], "{path}");
            assert_eq!(serde_json::json!(t.shape()), w[1], "{path}/{name}");
            assert_eq!(w[2], "float32", "{path}/{name}");
            assert_eq!(t.dtype(), sgc_ir::DType::F32, "{path}/{name}");
            let sum: String = sha2::Sha256::digest(t.bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(&sum[..16], w[3], "{path}/{name}: the bytes");
        }
    }

    // The command line: text and JSON.
    let dir = tempfile::tempdir().unwrap();
    let pkl = fixture("tiny_G_D_Gs.pkl");
    let o = sgc_in(dir.path(), &["inspect", pkl.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for line in [
        "3 network(s)",
        "Gs (Gs, G_style(), version 3), 8×8 px",
        "  Gs/synthesis (G_synthesis, G_synthesis(), version 3), 8×8 px",
        "unknown source",
        "mapping_lrmul=0.009999999776482582",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
    let o = sgc_in(
        dir.path(),
        &["inspect", pkl.to_str().unwrap(), "--format", "json"],
    );
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j[2]["components"][0]["path"], "Gs/synthesis");
    assert_eq!(j[2]["resolution"], 8);
}

#[test]
fn hostile_and_broken_pickles_get_named_errors_and_run_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "bad_os_system.pkl",
            "byte 28: global posix.system is not allowed",
        ),
        ("bad_eval.pkl", "global builtins.eval is not allowed"),
        (
            "bad_popen_protocol2.pkl",
            "byte 2: global commands.Popen is not allowed",
        ),
        (
            "bad_inside_network.pkl",
            "global posix.system is not allowed",
        ),
        ("bad_truncated.pkl", "truncated"),
        ("bad_truncated_header.pkl", "truncated"),
        (
            "bad_big_endian.pkl",
            "G_mapping: variable 'Dense0/weight': numpy dtype 'f4' with byte order '>'",
        ),
        (
            "bad_data_size.pkl",
            "numpy array of shape [2, 3] f32 has 8 data bytes, expected 24",
        ),
        ("bad_memo.pkl", "byte 2: memo entry 7 is not defined"),
        ("bad_opcode.pkl", "byte 2: unknown opcode 0xff"),
        (
            "bad_no_network.pkl",
            "holds no dnnlib.tflib.network.Network objects",
        ),
        (
            "bad_missing_variables.pkl",
            "G: Network state has no 'variables'",
        ),
    ];
    for (name, says) in cases {
        let path = fixture(name);
        let o = sgc_in(dir.path(), &["inspect", path.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{name}: {err}");
        assert!(
            err.contains(path.to_str().unwrap()),
            "{name}: names the file: {err}"
        );
        assert!(err.contains(says), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert!(o.stdout.is_empty(), "{name}");
        // `sgc lower` refuses them the same way, writing nothing.
        let out = dir.path().join("out.tflite");
        let o = sgc_in(
            dir.path(),
            &["lower", path.to_str().unwrap(), "-o", out.to_str().unwrap()],
        );
        assert_eq!(o.status.code(), Some(1), "{name}");
        assert!(!out.exists(), "{name}: no output");
    }
    let marker = dir.path().join("sgc_pickle_marker");
    assert!(!marker.exists(), "a hostile pickle ran");
}

/// A network that does not fit the architecture its kwargs describe is never converted: each
/// mismatch is named.
#[test]
fn a_modified_architecture_is_refused_with_what_differs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g.tflite");
    for (name, says) in [
        (
            "bad_arch_missing_variable.pkl",
            "Gs/synthesis: variable '8x8/Conv1/bias' [8] is missing",
        ),
        (
            "bad_arch_extra_variable.pkl",
            "Gs/synthesis: variables the architecture does not have: 8x8/Conv2/weight",
        ),
        (
            "bad_arch_wrong_shape.pkl",
            "variable '8x8/Conv1/weight' is f32 [8, 8, 3, 3], expected f32 [3, 3, 8, 8]",
        ),
        (
            "bad_arch_unknown_kwarg.pkl",
            "Gs: unknown static kwarg 'use_sparkles' (=True)",
        ),
        (
            "bad_arch_stylegan2_missing_bias.pkl",
            "Gs/synthesis: variable '16x16/ToRGB/bias' [3] is missing",
        ),
        (
            "bad_arch_stylegan2_version.pkl",
            "Gs: a G_main() network of pickle state version 3 (StyleGAN2 writes 4, StyleGAN2-ADA 5)",
        ),
        (
            "bad_arch_structure.pkl",
            "Gs: static kwarg structure=\"spiral\": expected 'fixed', 'linear', 'recursive' or 'auto'",
        ),
    ] {
        let o = common::sgc_lower(&fixture(name), &out, &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains(says), "{name}: {err}");
        assert!(!out.exists(), "{name}: no output");
    }
}

/// The tiny (8 px) pickle lowers, and LiteRT runs the model as sgc's interpreter runs the graph
/// built from the pickle (`sgc verify`: 16 seeded latents, 1e-4 of the output range).
#[test]
fn a_pickle_lowers_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g.tflite");
    let pkl = fixture("tiny_G_D_Gs.pkl");
    let o = common::sgc_lower(&pkl, &out, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("built Gs (G_style(), 8×8 px) from the pickle"),
        "{err}"
    );
    assert!(
        err.contains("module source (sha256 "),
        "an unknown source is a warning: {err}"
    );
    let o = common::sgc(&[
        "verify",
        pkl.to_str().unwrap(),
        out.to_str().unwrap(),
        "--max-rel",
        "1e-4",
        "--min-ssim",
        "0.999",
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(text.contains("16 images: SSIM mean 1.0000"), "{text}");
}

/// `generator_32.pkl` holds the weights of the frozen fixture `generator_full_32` (the same
/// configuration and seeded values, tools/fixture_weights.py): its `Gs` networks' variables are the
/// frozen graph's constants of the same names, byte for byte, and every constant the graph froze from
/// a variable is among them — what the pickle route is to be compared on.
#[test]
fn the_generator_pickle_holds_the_frozen_fixtures_weights() {
    let networks = sgc_frontends::pickle::read_networks(&fixture("generator_32.pkl")).unwrap();
    let graph =
        sgc_frontends::load(&common::fixtures_dir().join("generator_full_32/graph.pb")).unwrap();
    let consts: std::collections::HashMap<&str, &sgc_ir::Tensor> = graph
        .node_indices()
        .filter_map(|n| {
            let node = graph.node(n);
            let t = node
                .attrs
                .tensor("value")
                .filter(|_| node.op == sgc_ir::Op::Const)?;
            Some((node.name.as_str(), t))
        })
        .collect();
    let mut matched = 0;
    for (path, scope) in [
        ("Gs", "Gs/"),
        ("Gs/synthesis", "G_synthesis/"),
        ("Gs/mapping", "G_mapping/"),
    ] {
        let n = sgc_frontends::pickle::Network::find(&networks, path).unwrap();
        for (name, t) in &n.variables {
            let frozen = consts
                .get(format!("{scope}{name}").as_str())
                .unwrap_or_else(|| panic!("{path}: no constant {scope}{name} in the frozen graph"));
            assert_eq!(frozen.shape(), t.shape(), "{scope}{name}");
            assert!(frozen.bytes() == t.bytes(), "{scope}{name}: other values");
            matched += 1;
        }
    }
    // The variables of the frozen graph: a `<name>/read` Identity (a ref variable's read) follows each.
    let names: std::collections::HashSet<&str> = graph
        .node_indices()
        .map(|n| graph.node(n).name.as_str())
        .collect();
    let frozen_variables = consts
        .keys()
        .filter(|name| names.contains(format!("{name}/read").as_str()))
        .count();
    assert_eq!(
        matched, frozen_variables,
        "every frozen variable is in the pickle"
    );
}

/// A model's operators (by name) and the hashes of its constant buffers, each sorted: what two models
/// that differ only in names and order have in common.
fn ops_and_constants(model: &Path) -> (Vec<String>, Vec<u64>) {
    let bytes = std::fs::read(model).unwrap();
    let m = sgc_backends::read_model(&bytes).unwrap();
    let mut ops: Vec<String> = m.subgraphs[0]
        .operators
        .iter()
        .map(|o| m.operator_codes[o.opcode_index as usize].name())
        .collect();
    ops.sort();
    let mut data: Vec<u64> = m
        .buffers
        .iter()
        .filter_map(|b| b.data.as_ref())
        .map(|d| sgc_ir::testing::fnv1a(bytes[d.clone()].iter().copied(), None))
        .collect();
    data.sort_unstable();
    (ops, data)
}

/// The pickle route and the frozen-graph route of the same weights make the same model but for names:
/// the same operators (as a multiset) and the same constant bytes. (Not byte-identical: node and
/// tensor names follow each graph — `Gs/G_synthesis/8x8/Conv1/…` against the frozen graph's
/// `G_synthesis/cond/…` — and the builder's linear structure reaches the same ops as the frozen
/// recursive one's tf.cond in another order.)
#[test]
fn the_pickle_and_the_frozen_graph_make_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = |src: &Path, name: &str| {
        let out = dir.path().join(name);
        let o = common::sgc_lower(src, &out, &[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        ops_and_constants(&out)
    };
    let pkl = model(&fixture("generator_32.pkl"), "pkl.tflite");
    let pb = model(
        &common::fixtures_dir().join("generator_full_32/graph.pb"),
        "pb.tflite",
    );
    assert_eq!(pkl.0, pb.0, "operators");
    assert_eq!(pkl.1, pb.1, "constant bytes");
}

/// `stylegan2_generator_32.pkl` (a StyleGAN2 `G_main`, state version 4) holds the weights of the
/// frozen fixture `sg2_generator_32`: its `Gs` makes TensorFlow's image in LiteRT at batch 1 and 2 (the
/// fused-modconv references), its synthesis network (`--network Gs/synthesis`) that of
/// `sg2_synthesis_32`, and `--resolution 16` TF's 16 px skip sum; the model has the operators and
/// constant bytes of the frozen `fused_modconv=False` graph of the same weights.
#[test]
fn the_stylegan2_pickle_makes_what_tensorflow_computes() {
    let dir = tempfile::tempdir().unwrap();
    let pkl = fixture("stylegan2_generator_32.pkl");
    let lower = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let o = common::sgc_lower(&pkl, &out, extra);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{name}: {err}");
        (out, err)
    };
    for (fixture_name, extra) in [
        ("sg2_generator_32", &["--inputs", "latents_in=1,32"][..]),
        (
            "sg2_generator_32_batch2",
            &["--inputs", "latents_in=2,32"][..],
        ),
        ("sg2_synthesis_32", &["--network", "Gs/synthesis"][..]),
    ] {
        let f = common::Fixture::stylegan2(fixture_name);
        let (out, err) = lower(&format!("{fixture_name}.tflite"), extra);
        if fixture_name == "sg2_generator_32" {
            assert!(
                err.contains("built Gs (G_main(), 32×32 px) from the pickle"),
                "{err}"
            );
        }
        let (outs, _) = common::run_litert(&out, &f.inputs);
        common::assert_close(fixture_name, &outs[0], &f.reference_outputs()[0].1);
    }
    let f = common::Fixture::stylegan2("sg2_generator_32");
    let (out, _) = lower("r16.tflite", &["--resolution", "16"]);
    let (outs, _) = common::run_litert(&out, &f.inputs);
    let tap = common::npy::read(&f.dir.join("tap_16.npy"));
    common::assert_close("stylegan2 pickle → 16 px", &outs[0], &tap);
    let (gs, _) = lower("gs.tflite", &[]);
    let pb = dir.path().join("pb.tflite");
    let unfused = common::Fixture::stylegan2("sg2_generator_unfused_32");
    let o = common::sgc_lower(&unfused.graph(), &pb, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (a, b) = (ops_and_constants(&gs), ops_and_constants(&pb));
    assert_eq!(a.0, b.0, "operators");
    assert_eq!(a.1, b.1, "constant bytes");
}

/// The architecture kwargs the official networks leave at their defaults, each set otherwise in one
/// of two pickles holding the weights of frozen fixtures of the same configuration: `conditional_16.pkl`
/// (labels [N, 3] embedded and joined to the latents, ReLU in both networks, pixel norm and no instance
/// norm, a dense 4×4 input layer) and `synthesis_nostyles_16.pkl` (no styles: one dlatent row). Each
/// lowers with its inputs found (`labels_in` beside `latents_in`) and makes TensorFlow's image in LiteRT;
/// the frozen graph of the same weights gives the same constant bytes.
#[test]
fn every_architecture_kwarg_builds_what_tensorflow_computes() {
    let dir = tempfile::tempdir().unwrap();
    for (pkl, fixture_name, inputs) in [
        (
            "conditional_16.pkl",
            "generator_conditional_16",
            &["latents_in", "labels_in"][..],
        ),
        (
            "synthesis_nostyles_16.pkl",
            "synthesis_nostyles_16",
            &["dlatents_in"][..],
        ),
    ] {
        let f = common::Fixture::named(fixture_name);
        let out = dir.path().join(format!("{fixture_name}.tflite"));
        let o = common::sgc_lower(&fixture(pkl), &out, &[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let names: Vec<&str> = f.inputs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, inputs, "{fixture_name}: the fixture's inputs");
        let (outs, _) = common::run_litert(&out, &f.inputs);
        common::assert_close(pkl, &outs[0], &f.reference_outputs()[0].1);
        let pb = dir.path().join(format!("{fixture_name}_pb.tflite"));
        let o = common::sgc_lower(&f.graph(), &pb, &[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(
            ops_and_constants(&out).1,
            ops_and_constants(&pb).1,
            "{pkl}: constant bytes"
        );
    }
}

/// `--network` picks the network of a pickle: `Gs/synthesis` and `Gs/mapping` of generator_32.pkl
/// hold the weights of the synthesis_recursive_32 and mapping fixtures, whose TensorFlow outputs they
/// make; a network the pickle does not have is an error listing those it has, and `--network` of a
/// GraphDef is an error.
#[test]
fn network_chooses_a_component() {
    let dir = tempfile::tempdir().unwrap();
    let pkl = fixture("generator_32.pkl");
    for (network, fixture_name) in [
        ("Gs/synthesis", "synthesis_recursive_32"),
        ("Gs/mapping", "mapping"),
    ] {
        let f = common::Fixture::named(fixture_name);
        let out = dir.path().join("m.tflite");
        let o = common::sgc_lower(&pkl, &out, &["--network", network]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let (name, x) = &f.input_tensors()[0];
        let npy = dir.path().join("x.npy");
        common::npy::write(&npy, x);
        let input = if name == "dlatents_in" {
            "dlatents_in"
        } else {
            "latents_in"
        };
        let (outs, _) = common::run_litert(&out, &[(input.into(), npy)]);
        common::assert_close(network, &outs[0], &f.reference_outputs()[0].1);
    }
    let out = dir.path().join("none.tflite");
    let o = common::sgc_lower(&pkl, &out, &["--network", "Gs/nothing"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no network Gs/nothing (the pickle has G, G/synthesis, G/mapping, D, Gs"),
        "{err}"
    );
    let pb = common::fixtures_dir().join("mapping/graph.pb");
    let o = common::sgc_lower(&pb, &out, &["--network", "Gs"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a pickle"));
    assert!(!out.exists());
}
