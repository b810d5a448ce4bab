//! Shared helpers of the end-to-end tests: fixtures, `.npy` files, and the LiteRT oracle.
#![allow(dead_code)]

pub mod npy;
pub mod pass_cases;

use std::path::{Path, PathBuf};
use std::process::Command;

use sgc_ir::{Tensor, ValueRef};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures_dir() -> PathBuf {
    repo_root().join("tests/fixtures")
}

pub fn generic_fixtures_dir() -> PathBuf {
    repo_root().join("tests/fixtures-generic")
}

pub fn sg2_fixtures_dir() -> PathBuf {
    repo_root().join("tests/fixtures-sg2")
}

/// The names of the fixtures in `dir` (its subdirectories with a `meta.json`), sorted.
pub fn fixture_names(dir: &Path) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("meta.json").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    found
}

/// One fixture: a frozen graph made by TensorFlow with seeded inputs and TensorFlow's outputs.
pub struct Fixture {
    pub name: String,
    pub dir: PathBuf,
    pub inputs: Vec<(String, PathBuf)>,
    pub outputs: Vec<(String, PathBuf)>,
}

impl Fixture {
    pub fn load(dir: &Path) -> Fixture {
        let meta: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("meta.json")).expect("meta.json"),
        )
        .expect("meta.json parses");
        let list = |key: &str| -> Vec<(String, PathBuf)> {
            meta[key]
                .as_array()
                .unwrap_or_else(|| panic!("meta.json has no {key}"))
                .iter()
                .map(|e| {
                    (
                        e["name"].as_str().unwrap().to_string(),
                        dir.join(e["file"].as_str().unwrap()),
                    )
                })
                .collect()
        };
        Fixture {
            name: dir.file_name().unwrap().to_string_lossy().into_owned(),
            dir: dir.to_path_buf(),
            inputs: list("inputs"),
            outputs: list("outputs"),
        }
    }

    pub fn named(name: &str) -> Fixture {
        Fixture::load(&fixtures_dir().join(name))
    }

    /// A StyleGAN2 fixture (`tests/fixtures-sg2`, made by `tools/make_stylegan2_fixtures.py`).
    pub fn stylegan2(name: &str) -> Fixture {
        Fixture::load(&sg2_fixtures_dir().join(name))
    }

    pub fn graph(&self) -> PathBuf {
        self.dir.join("graph.pb")
    }

    pub fn input_tensors(&self) -> Vec<(String, Tensor)> {
        self.inputs
            .iter()
            .map(|(n, p)| (n.clone(), npy::read(p)))
            .collect()
    }

    /// The fixture's outputs, and its inputs with the shapes of their stored values.
    pub fn io_spec(&self) -> sgc_passes::io::IoSpec {
        sgc_passes::io::IoSpec {
            outputs: self.outputs.iter().map(|(n, _)| n.clone()).collect(),
            input_shapes: self
                .input_tensors()
                .into_iter()
                .map(|(n, t)| (n, t.shape().iter().map(|&d| d as i64).collect()))
                .collect(),
        }
    }

    /// `sgc lower`'s options for the fixture as TensorFlow ran it (its inputs and outputs).
    pub fn lower_options(&self) -> sgc::LowerOptions {
        sgc::LowerOptions {
            io: self.io_spec(),
            ..Default::default()
        }
    }

    pub fn reference_outputs(&self) -> Vec<(String, Tensor)> {
        self.outputs
            .iter()
            .map(|(n, p)| (n.clone(), npy::read(p)))
            .collect()
    }
}

/// Runs the `sgc` binary of this build.
pub fn sgc(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sgc"))
        .args(args)
        .output()
        .expect("sgc runs")
}

/// `sgc lower INPUT -o OUT EXTRA…`.
pub fn sgc_lower(input: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "lower",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    sgc(&args)
}

/// The Python that has `ai-edge-litert`: `$SGC_PYTHON`, else the repo's `.venv` made by `tools/test.sh`.
pub fn python() -> PathBuf {
    sgc_ir::testing::python("ai_edge_litert.interpreter, numpy, flatbuffers")
}

/// Runs `model` in the LiteRT interpreter on named inputs; returns its outputs in signature order and
/// the op histogram of what the interpreter loaded.
pub fn run_litert(model: &Path, inputs: &[(String, PathBuf)]) -> (Vec<Tensor>, serde_json::Value) {
    let (outputs, listing) = run_litert_listing(model, inputs);
    (outputs, listing["ops"].clone())
}

/// [`run_litert`] with the whole `outputs.json` of `tools/litert_run.py`: `ops`, and `undelegated` (the
/// ops LiteRT runs outside XNNPACK).
pub fn run_litert_listing(
    model: &Path,
    inputs: &[(String, PathBuf)],
) -> (Vec<Tensor>, serde_json::Value) {
    let out = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(python());
    cmd.arg(repo_root().join("tools/litert_run.py"))
        .arg(model)
        .arg(out.path());
    for (name, path) in inputs {
        cmd.arg(format!("{name}={}", path.display()));
    }
    let result = cmd.output().expect("python runs");
    assert!(
        result.status.success(),
        "LiteRT failed on {}:\n{}",
        model.display(),
        String::from_utf8_lossy(&result.stderr)
    );
    let listing: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("outputs.json")).unwrap())
            .unwrap();
    let outputs = listing["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| npy::read(&out.path().join(o["file"].as_str().unwrap())))
        .collect();
    (outputs, listing)
}

/// Max abs error of `actual` against `reference`, and max |reference|.
pub fn errors(actual: &Tensor, reference: &Tensor) -> (f64, f64) {
    assert_eq!(
        actual.shape(),
        reference.shape(),
        "shape differs from the reference"
    );
    let a = actual.to_f64s().unwrap();
    let r = reference.to_f64s().unwrap();
    let max_err = a
        .iter()
        .zip(&r)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    let max_ref = r.iter().map(|y| y.abs()).fold(0.0, f64::max);
    (max_err, max_ref)
}

/// The tolerance every fixture is held to: max abs error ≤ 1e-4 × max |reference|.
pub const RELATIVE_TOLERANCE: f64 = 1e-4;

/// Asserts closeness within [`RELATIVE_TOLERANCE`], printing both numbers.
pub fn assert_close(what: &str, actual: &Tensor, reference: &Tensor) {
    let (err, max_ref) = errors(actual, reference);
    let bound = RELATIVE_TOLERANCE * max_ref;
    println!(
        "{what}: max abs error {err:.3e}, max |ref| {max_ref:.3e}, bound {bound:.3e} ({:.2e} of range)",
        if max_ref > 0.0 { err / max_ref } else { err }
    );
    assert!(
        err <= bound,
        "{what}: max abs error {err:.3e} exceeds 1e-4 × max |ref| = {bound:.3e}"
    );
}

/// The graph's outputs by `run` (which evaluates the values it is given), each with, for an output made
/// by a float → integer `Cast`, the Cast's float input (see [`assert_interpreter_close`]).
pub fn interpret_with_cast_inputs(
    graph: &sgc_ir::Graph,
    run: impl FnOnce(&[ValueRef]) -> Vec<Tensor>,
) -> Vec<(Tensor, Option<Tensor>)> {
    // The Cast an output comes from, through what only forwards it (Identity, a one-tensor concat).
    let cast_input = |mut v: ValueRef| loop {
        let ins = graph.inputs(v.node);
        match graph.node(v.node).op {
            sgc_ir::Op::Cast => return ins.first().copied(),
            sgc_ir::Op::Identity => v = *ins.first()?,
            sgc_ir::Op::ConcatV2 if ins.len() == 2 => v = ins[0],
            _ => return None,
        }
    };
    let casts: Vec<Option<ValueRef>> = graph.outputs.iter().map(|o| cast_input(o.value)).collect();
    let mut fetch: Vec<ValueRef> = graph.outputs.iter().map(|o| o.value).collect();
    fetch.extend(casts.iter().flatten());
    let mut got = run(&fetch).into_iter();
    let outs: Vec<Tensor> = got.by_ref().take(graph.outputs.len()).collect();
    outs.into_iter()
        .zip(&casts)
        .map(|(t, c)| (t, c.and_then(|_| got.next())))
        .collect()
}

/// The interpreter's output against TensorFlow's, within [`RELATIVE_TOLERANCE`] of the range.
/// An integer output of a float → integer `Cast` (the uint8 image) is held to that tolerance on the
/// float before the cast: an element may then differ by one step only where the interpreter's float is
/// within the tolerance of an integer, the edge where the cast's truncation flips (two float
/// implementations that agree to 1e-4 can land on either side of it).
pub fn assert_interpreter_close(what: &str, got: &(Tensor, Option<Tensor>), want: &Tensor) {
    let (got, pre) = got;
    let Some(pre) = pre.as_ref().filter(|_| got.dtype().is_int()) else {
        return assert_close(what, got, want);
    };
    let (g, w, p) = (
        got.to_f64s().unwrap(),
        want.to_f64s().unwrap(),
        pre.to_f64s().unwrap(),
    );
    let range = w.iter().fold(0f64, |m, v| m.max(v.abs()));
    let tol = RELATIVE_TOLERANCE * range;
    let mut flips = 0;
    for (i, ((a, b), f)) in g.iter().zip(&w).zip(&p).enumerate() {
        if a != b {
            let edge = (f - f.round()).abs();
            assert!(
                (a - b).abs() == 1.0 && edge <= tol,
                "{what}: element {i} is {a}, TensorFlow's {b}; the float before the cast is {f} \
                 ({edge:.2e} from an integer, tolerance {tol:.2e})"
            );
            flips += 1;
        }
    }
    println!(
        "{what}: equal but {flips} of {} elements, each one step at a cast edge",
        g.len()
    );
}

/// `tools/quant_quality.py REFERENCE MODEL --json EXTRA…` (both models in LiteRT on 16 seeded latents):
/// its JSON result.
pub fn quant_quality(reference: &Path, model: &Path, extra: &[&str]) -> serde_json::Value {
    let out = Command::new(python())
        .arg(repo_root().join("tools/quant_quality.py"))
        .args([reference, model])
        .arg("--json")
        .args(extra)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "quant_quality.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}
