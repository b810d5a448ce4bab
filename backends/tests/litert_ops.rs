//! One-op models written by sgc and run in the real LiteRT interpreter.
//!
//! Each case builds a tiny IR graph, writes it, and runs it (all cases in one Python process, see
//! `tools/litert_run.py --batch`) through the `serving_default` signature. Every case's outputs are compared with
//! a reference: either computed here from first principles (convolutions, dense, elementwise math,
//! pure data movement) or TensorFlow's own kernel for the same op and attributes (`tf.raw_ops.*`).
//!
//! TensorFlow is not in the test venv, so its outputs are stored in `litert_ops_tf_refs.json` (keyed
//! by case name; a fingerprint of the expression and the inputs marks a stale entry). Every case with a
//! TensorFlow expression is compared with its stored reference; when TensorFlow happens to be
//! importable it is also evaluated afresh and must agree with the stored one. A case with neither
//! reference, or a stale or missing stored one, fails the test. Inputs are deterministic (`data`), so
//! the stored references stay valid. After adding or changing such a case, regenerate the file with
//! a Python that has TensorFlow and `ai_edge_litert`:
//!
//! ```text
//! SGC_PYTHON=/path/to/venv-with-tf/bin/python SGC_REGENERATE_TF_REFS=1 \
//!     cargo test -p sgc-backends --test litert_ops
//! ```
//!
//! The Python comes from `SGC_PYTHON` (exported by `tools/test.sh`), else the repository's
//! `.venv/bin/python` (created by `tools/test.sh`). Without a Python that has `ai_edge_litert` the
//! tests fail: run them through `tools/test.sh`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use sgc_backends::write_tflite;
use sgc_ir::testing::Builder;
use sgc_ir::{Attr, DType, Graph, Node, Op, Output, Tensor, ValueInfo, ValueRef};

/// The stored TensorFlow references (see the module doc).
const TF_REFS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/litert_ops_tf_refs.json");

/// The Python with `ai_edge_litert` that runs the models; panics (failing the test) without one.
fn python() -> PathBuf {
    sgc_ir::testing::python("ai_edge_litert.interpreter, numpy")
}

/// A deterministic input in [-2, 2) (exactly twice the shared LCG's values: stored references are
/// fingerprinted over them).
fn data(n: usize, seed: u64) -> Vec<f32> {
    sgc_ir::testing::uniform(n, seed)
        .into_iter()
        .map(|v| v * 2.0)
        .collect()
}

enum In {
    /// A float32 graph input of this shape.
    X(&'static str, Vec<usize>),
    /// A constant operand.
    C(Tensor),
}

struct Case {
    name: String,
    /// The ops the case is there to test (other ops of its graph only build their inputs).
    tests: Vec<Op>,
    graph: Graph,
    feeds: Vec<(String, Vec<usize>, Vec<f32>)>,
    outputs: Vec<String>,
    tf: Option<String>,
    expect: Option<Vec<Vec<f32>>>,
    tol: f32,
}

/// A graph of one node `op` over `inputs`, with outputs typed `outs`.
fn one_op(
    name: &str,
    op: Op,
    attrs: Vec<(&str, Attr)>,
    inputs: Vec<In>,
    outs: Vec<(DType, Vec<i64>)>,
) -> Case {
    let mut g = Graph::new();
    let mut node = Node::new("op", op.clone());
    for (k, v) in attrs {
        node.attrs.set(k, v);
    }
    node.outputs = outs
        .iter()
        .map(|(d, s)| ValueInfo::new(*d, s.clone()))
        .collect();
    let n = g.add(node);
    let mut feeds = Vec::new();
    for (slot, i) in inputs.into_iter().enumerate() {
        let v = match i {
            In::X(xname, shape) => {
                let x = g.add(Node::new(xname, Op::Placeholder));
                g.node_mut(x).outputs = vec![ValueInfo::new(
                    DType::F32,
                    shape.iter().map(|&d| d as i64).collect(),
                )];
                g.inputs.push(x);
                let numel = shape.iter().product();
                feeds.push((xname.to_string(), shape, data(numel, slot as u64 + 1)));
                x
            }
            In::C(t) => g.add_const(format!("c{slot}"), t),
        };
        g.connect(v.into(), n, slot);
    }
    let values: Vec<ValueRef> = (0..outs.len()).map(|port| ValueRef::new(n, port)).collect();
    finish(name, &[op], g, feeds, &values)
}

/// A case of graph `g` whose outputs `out0`, `out1` … are `values`.
fn finish(
    name: &str,
    tests: &[Op],
    mut g: Graph,
    feeds: Vec<(String, Vec<usize>, Vec<f32>)>,
    values: &[ValueRef],
) -> Case {
    let mut outputs = Vec::new();
    for (port, &value) in values.iter().enumerate() {
        let oname = format!("out{port}");
        g.outputs.push(Output {
            name: oname.clone(),
            value,
        });
        outputs.push(oname);
    }
    Case {
        name: name.to_string(),
        tests: tests.to_vec(),
        graph: g,
        feeds,
        outputs,
        tf: None,
        expect: None,
        tol: 1e-4,
    }
}

/// A case from a built graph: its inputs are fed [`data`] (seeded by slot), `outs` are its outputs.
/// `tests` are the ops the case is for.
fn graph_case(name: &str, tests: &[Op], b: Builder, outs: &[ValueRef]) -> Case {
    let g = b.g;
    let mut feeds = Vec::new();
    for (slot, &x) in g.inputs.iter().enumerate() {
        let shape = g.info(x.into()).static_shape().expect("static input");
        let numel = shape.iter().product();
        feeds.push((g.node(x).name.clone(), shape, data(numel, slot as u64 + 1)));
    }
    finish(name, tests, g, feeds, outs)
}

impl Case {
    /// Adds a per-channel constant to the op's first output (which the backend fuses into the op's bias
    /// input where TFLite has one); the expectation, computed without it, gets it added too.
    fn plus_bias(mut self, bias: Tensor) -> Self {
        let g = &mut self.graph;
        let op = g.outputs[0].value;
        let info = g.info(op).clone();
        let b = g.add_const("bias", bias.clone());
        let add = g.add(Node::new("bias_add", Op::AddV2));
        g.connect(op, add, 0);
        g.connect(b.into(), add, 1);
        g.node_mut(add).outputs = vec![info];
        g.outputs[0].value = add.into();
        let bias = bias.to_vec::<f32>().unwrap();
        if let Some(out) = self.expect.as_mut().and_then(|e| e.first_mut()) {
            for (k, v) in out.iter_mut().enumerate() {
                *v += bias[k % bias.len()];
            }
        }
        self.name += " + bias";
        self.tf = None;
        self
    }

    fn tf(mut self, expr: &str) -> Self {
        self.tf = Some(expr.to_string());
        self
    }
    fn expect(mut self, f: impl FnOnce(&[Vec<f32>]) -> Vec<Vec<f32>>) -> Self {
        let ins: Vec<Vec<f32>> = self.feeds.iter().map(|f| f.2.clone()).collect();
        self.expect = Some(f(&ins));
        self
    }
}

fn f32c(shape: &[usize], seed: u64) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_vec(shape.to_vec(), data(n, seed))
}

fn i32c(v: &[i32]) -> Tensor {
    Tensor::from_vec(vec![v.len()], v.to_vec())
}

fn i64c(v: &[i64]) -> Tensor {
    Tensor::from_vec(vec![v.len()], v.to_vec())
}

#[path = "litert_ops/cases.rs"]
mod cases;
use cases::cases;

/// An output as `(shape, values)`.
type Out = (Vec<usize>, Vec<f32>);

fn to_out(v: &serde_json::Value) -> Out {
    let shape = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_f64().unwrap() as f32)
        .collect();
    (shape, data)
}

/// A stored TensorFlow reference: the outputs of a case's expression on its inputs.
struct TfRef {
    fingerprint: String,
    outputs: Vec<Out>,
}

/// FNV-1a over a case's TensorFlow expression and its inputs (names, shapes, values): a stored
/// reference with another fingerprint was computed for something else and is stale.
fn fingerprint(c: &Case) -> String {
    let mut h = 0xcbf29ce484222325u64;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h = (h ^ b as u64).wrapping_mul(0x100000001b3);
        }
    };
    eat(c.tf.as_deref().unwrap_or("").as_bytes());
    for (name, shape, data) in &c.feeds {
        eat(b"\0");
        eat(name.as_bytes());
        for d in shape {
            eat(&(*d as u64).to_le_bytes());
        }
        for v in data {
            eat(&v.to_bits().to_le_bytes());
        }
    }
    format!("{h:016x}")
}

fn load_tf_refs() -> BTreeMap<String, TfRef> {
    let text = match std::fs::read_to_string(TF_REFS) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return BTreeMap::new(),
        Err(e) => panic!("{TF_REFS}: {e}"),
    };
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{TF_REFS}: {e}"));
    v["cases"]
        .as_object()
        .unwrap_or_else(|| panic!("{TF_REFS}: no \"cases\" object"))
        .iter()
        .map(|(name, r)| {
            let r = TfRef {
                fingerprint: r["fingerprint"].as_str().unwrap().to_string(),
                outputs: r["outputs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(to_out)
                    .collect(),
            };
            (name.clone(), r)
        })
        .collect()
}

/// Writes the references one case per line (small diffs), values as float32.
fn write_tf_refs(refs: &BTreeMap<String, TfRef>, tf_version: &str) {
    let mut text = String::from("{\n");
    text += "\"about\": \"TensorFlow's outputs for the cases of backends/tests/litert_ops.rs; regenerate with SGC_REGENERATE_TF_REFS=1 (see its module doc)\",\n";
    text += &format!("\"tensorflow\": {},\n", serde_json::json!(tf_version));
    text += "\"cases\": {\n";
    let n = refs.len();
    for (i, (name, r)) in refs.iter().enumerate() {
        // `Vec<f32>` serializes each value as its shortest float32 form.
        let outputs: Vec<String> = r
            .outputs
            .iter()
            .map(|(s, d)| {
                format!(
                    "{{\"shape\":{},\"data\":{}}}",
                    serde_json::to_string(s).unwrap(),
                    serde_json::to_string(d).unwrap()
                )
            })
            .collect();
        text += &format!(
            "{}: {{\"fingerprint\":\"{}\",\"outputs\":[{}]}}{}\n",
            serde_json::json!(name),
            r.fingerprint,
            outputs.join(","),
            if i + 1 < n { "," } else { "" }
        );
    }
    text += "}\n}\n";
    std::fs::write(TF_REFS, text).unwrap_or_else(|e| panic!("{TF_REFS}: {e}"));
}

/// Compares `got` with `want` output by output (shapes too, when `want_shapes` is given): the worst
/// `|a - b| / (1 + |b|)` must be within `tol`.
fn check(
    failures: &mut Vec<String>,
    case: &str,
    what: &str,
    got: &[Out],
    want: &[Vec<f32>],
    want_shapes: Option<&[Vec<usize>]>,
    tol: f32,
) {
    if got.len() != want.len() {
        failures.push(format!(
            "{case}: {} outputs, {what} has {}",
            got.len(),
            want.len()
        ));
        return;
    }
    for (k, ((shape, got), exp)) in got.iter().zip(want).enumerate() {
        if let Some(s) = want_shapes {
            if s[k] != *shape {
                failures.push(format!(
                    "{case}: output {k} shape {shape:?}, {what} {:?}",
                    s[k]
                ));
            }
        }
        if exp.len() != got.len() {
            failures.push(format!(
                "{case}: output {k} has {} values, {what} {}",
                got.len(),
                exp.len()
            ));
            continue;
        }
        let worst = got
            .iter()
            .zip(exp)
            .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
            .fold(0f32, |m, e| {
                if m.is_nan() || e.is_nan() {
                    f32::NAN
                } else {
                    m.max(e)
                }
            });
        // A NaN on either side is a mismatch (`f32::max` alone would drop it).
        if worst.is_nan() || worst > tol {
            failures.push(format!("{case}: output {k} differs from {what} by {worst}"));
        }
    }
}

#[test]
fn one_op_models_run_in_litert() {
    let py = python();
    let regenerate =
        std::env::var("SGC_REGENERATE_TF_REFS").is_ok_and(|v| !v.is_empty() && v != "0");
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    let mut names = std::collections::BTreeSet::new();
    for c in &cases {
        assert!(names.insert(&c.name), "two cases named {:?}", c.name);
    }
    let mut manifest = vec![];
    for (i, c) in cases.iter().enumerate() {
        let bytes = write_tflite(&c.graph).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let path = dir.path().join(format!("case{i}.tflite"));
        std::fs::write(&path, bytes).unwrap();
        let inputs: serde_json::Map<String, serde_json::Value> = c
            .feeds
            .iter()
            .map(|(n, s, d)| (n.clone(), serde_json::json!({"shape": s, "data": d})))
            .collect();
        manifest.push(serde_json::json!({
            "model": path, "inputs": inputs, "outputs": c.outputs, "tf": c.tf,
        }));
    }
    let mpath = dir.path().join("manifest.json");
    let rpath = dir.path().join("result.json");
    std::fs::write(&mpath, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tools/litert_run.py");
    let st = Command::new(&py)
        .arg(script)
        .arg("--batch")
        .arg(&mpath)
        .arg(&rpath)
        .status()
        .unwrap();
    assert!(st.success(), "tools/litert_run.py --batch failed");
    let result: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&rpath).unwrap()).unwrap();
    let tf_version = result["tensorflow"].as_str();
    let results = result["cases"].as_array().unwrap();
    assert_eq!(results.len(), cases.len());
    if regenerate {
        assert!(
            tf_version.is_some(),
            "SGC_REGENERATE_TF_REFS needs TensorFlow, which {} cannot import",
            py.display()
        );
    }

    let stored = if regenerate {
        BTreeMap::new()
    } else {
        load_tf_refs()
    };
    let mut fresh_refs = BTreeMap::new();
    let mut failures = vec![];
    let (mut tf_cases, mut rust_checked, mut stored_checked, mut fresh_checked) = (0, 0, 0, 0);
    for (c, r) in cases.iter().zip(results) {
        if c.expect.is_none() && c.tf.is_none() {
            failures.push(format!(
                "{}: no reference (neither a Rust-computed expectation nor a TensorFlow expression)",
                c.name
            ));
        }
        // TensorFlow's outputs, fresh (when it imports) and stored.
        let mut tf_ref: Option<Vec<Out>> = None;
        if c.tf.is_some() {
            tf_cases += 1;
            let fp = fingerprint(c);
            if let Some(e) = r["tf_error"].as_str() {
                failures.push(format!("{}: TensorFlow error: {e}", c.name));
            }
            let fresh: Option<Vec<Out>> =
                r["tf"].as_array().map(|a| a.iter().map(to_out).collect());
            if regenerate {
                if let Some(f) = &fresh {
                    let entry = TfRef {
                        fingerprint: fp,
                        outputs: f.clone(),
                    };
                    fresh_refs.insert(c.name.clone(), entry);
                    tf_ref = fresh;
                }
            } else {
                match stored.get(&c.name) {
                    None => failures.push(format!(
                        "{}: no stored TensorFlow reference in {TF_REFS} (regenerate: see the module doc)",
                        c.name
                    )),
                    Some(s) if s.fingerprint != fp => failures.push(format!(
                        "{}: stored TensorFlow reference is stale (expression or inputs changed; regenerate: see the module doc)",
                        c.name
                    )),
                    Some(s) => {
                        if let Some(f) = &fresh {
                            let (shapes, vals): (Vec<_>, Vec<_>) = s.outputs.iter().cloned().unzip();
                            check(
                                &mut failures,
                                &c.name,
                                "stored TensorFlow reference (fresh TensorFlow run)",
                                f,
                                &vals,
                                Some(&shapes),
                                1e-5,
                            );
                            fresh_checked += 1;
                        }
                        tf_ref = Some(s.outputs.clone());
                    }
                }
            }
        }

        if let Some(e) = r["error"].as_str() {
            failures.push(format!("{}: LiteRT error: {e}", c.name));
            continue;
        }
        let outs: Vec<Out> = r["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(to_out)
            .collect();
        for (k, (shape, _)) in outs.iter().enumerate() {
            let declared: Vec<usize> = c
                .graph
                .info(c.graph.outputs[k].value)
                .static_shape()
                .unwrap();
            if *shape != declared {
                failures.push(format!(
                    "{}: output {k} shape {shape:?}, declared {declared:?}",
                    c.name
                ));
            }
        }
        if let Some(exp) = &c.expect {
            check(&mut failures, &c.name, "reference", &outs, exp, None, c.tol);
            rust_checked += 1;
        }
        if let Some(t) = tf_ref {
            let (shapes, vals): (Vec<_>, Vec<_>) = t.into_iter().unzip();
            let what = if regenerate {
                "TensorFlow"
            } else {
                "stored TensorFlow reference"
            };
            check(
                &mut failures,
                &c.name,
                what,
                &outs,
                &vals,
                Some(&shapes),
                c.tol,
            );
            stored_checked += 1;
        }
    }
    for name in stored.keys() {
        if !names.contains(name) {
            failures.push(format!(
                "{name}: stored TensorFlow reference for no case (regenerate: see the module doc)"
            ));
        }
    }
    if regenerate {
        if fresh_refs.len() == tf_cases {
            write_tf_refs(&fresh_refs, tf_version.unwrap());
            eprintln!(
                "wrote {} TensorFlow references to {TF_REFS}",
                fresh_refs.len()
            );
        } else {
            failures.push(format!(
                "TensorFlow evaluated {} of {tf_cases} cases: {TF_REFS} not written",
                fresh_refs.len()
            ));
        }
    }
    let tf_note = match (regenerate, tf_version) {
        (true, Some(v)) => format!("fresh TensorFlow {v} outputs (regenerating)"),
        (false, Some(v)) => format!(
            "stored TensorFlow references ({fresh_checked} of those also rerun in TensorFlow {v})"
        ),
        (_, None) => "stored TensorFlow references (TensorFlow not importable: not rerun)".into(),
    };
    eprintln!(
        "{} cases: {rust_checked} compared with Rust-computed references, \
         {stored_checked} of {tf_cases} with {tf_note}",
        cases.len(),
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Draws 10,000 values of a random op in LiteRT: `(rows, cols, mean, std, min, max)`.
fn draw_in_litert(op: Op) -> Vec<f64> {
    let py = python();
    let mut c = one_op(
        "random",
        op,
        vec![
            ("seed", Attr::Int(1)),
            ("seed2", Attr::Int(2)),
            ("dtype", Attr::Type(DType::F32)),
        ],
        vec![In::C(i64c(&[100, 100]))],
        vec![(DType::F32, vec![100, 100])],
    );
    c.feeds.clear();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("random.tflite");
    std::fs::write(&path, write_tflite(&c.graph).unwrap()).unwrap();
    let code = format!(
        "from ai_edge_litert.interpreter import Interpreter\nimport numpy as np\n\
         r = Interpreter(model_path={:?}).get_signature_runner('serving_default')()['out0']\n\
         print(r.shape[0], r.shape[1], float(r.mean()), float(r.std()), float(r.min()), float(r.max()))",
        path.to_str().unwrap()
    );
    let out = Command::new(&py).args(["-c", &code]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect()
}

/// The random ops' distributions, within what 10,000 draws allow (standard error of the mean 0.01 for
/// N(0, 1), 0.003 for U[0, 1)).
#[test]
fn random_ops_run_in_litert() {
    let v = draw_in_litert(Op::RandomStandardNormal);
    assert_eq!((v[0], v[1]), (100.0, 100.0));
    assert!(
        v[2].abs() < 0.05 && (v[3] - 1.0).abs() < 0.05,
        "normal: mean {} std {}",
        v[2],
        v[3]
    );
    let v = draw_in_litert(Op::RandomUniform);
    assert_eq!((v[0], v[1]), (100.0, 100.0));
    let std = (1.0f64 / 12.0).sqrt();
    assert!(
        (v[2] - 0.5).abs() < 0.015 && (v[3] - std).abs() < 0.015 && v[4] >= 0.0 && v[5] < 1.0,
        "uniform: mean {} std {} range [{}, {}]",
        v[2],
        v[3],
        v[4],
        v[5]
    );
}

/// Every op of the IR either has a LiteRT case here (one whose `tests` name it: ops that only build a
/// case's inputs do not count) or is in this reviewed list, with the reason.
const NO_LITERT_CASE: &[(Op, &str)] = &[
    (
        Op::FusedBatchNorm,
        "no TFLite operator: the batch-norm pass writes it as MUL and ADD (tests/lower_fixtures.rs generic fixtures)",
    ),
    (
        Op::FusedBatchNormV2,
        "no TFLite operator: the batch-norm pass writes it as MUL and ADD (tests/lower_fixtures.rs generic fixtures)",
    ),
    (
        Op::FusedBatchNormV3,
        "no TFLite operator: the batch-norm pass writes it as MUL and ADD (tests/lower_fixtures.rs generic fixtures)",
    ),
    (
        Op::PlaceholderWithDefault,
        "writes no operator: a graph input, or an alias of its default",
    ),
    (
        Op::StopGradient,
        "identity-like: the no-operator arm that Identity's test covers",
    ),
    (
        Op::RefIdentity,
        "identity-like: the no-operator arm that Identity's test covers",
    ),
    (
        Op::Snapshot,
        "identity-like: the no-operator arm that Identity's test covers",
    ),
    (
        Op::NoOp,
        "writes nothing (only control edges, which passes drop)",
    ),
    (
        Op::IdentityN,
        "no lowering: removed by the remove-identity pass",
    ),
    (
        Op::VariableV2,
        "no lowering: variables are frozen before lowering",
    ),
    (
        Op::Variable,
        "no lowering: variables are frozen before lowering",
    ),
    (
        Op::VarHandleOp,
        "no lowering: variables are frozen before lowering",
    ),
    (
        Op::ReadVariableOp,
        "no lowering: variables are frozen before lowering",
    ),
    (Op::Assign, "no lowering: removed by the freeze-fixes pass"),
    (
        Op::AssignAdd,
        "no lowering: removed by the freeze-fixes pass",
    ),
    (
        Op::AssignSub,
        "no lowering: removed by the freeze-fixes pass",
    ),
    (
        Op::AssignVariableOp,
        "no lowering: resource variables are not supported",
    ),
    (
        Op::Switch,
        "no lowering: TF1 control flow is resolved by fold-switch-merge",
    ),
    (
        Op::RefSwitch,
        "no lowering: TF1 control flow is resolved by fold-switch-merge",
    ),
    (
        Op::Merge,
        "no lowering: TF1 control flow is resolved by fold-switch-merge",
    ),
];

#[test]
fn every_op_has_a_litert_case_or_a_reason() {
    let mut covered: std::collections::BTreeSet<Op> =
        cases().into_iter().flat_map(|c| c.tests).collect();
    // Tested by their own functions in this file; constants and graph inputs by every case.
    covered.extend([
        Op::RandomStandardNormal,
        Op::RandomUniform,
        Op::Identity,
        Op::Const,
        Op::Placeholder,
    ]);
    let mut missing = vec![];
    for op in Op::ALL {
        let exempt = NO_LITERT_CASE.iter().any(|(o, _)| o == op);
        match (covered.contains(op), exempt) {
            (false, false) => missing.push(op.name()),
            (true, true) => panic!("{op} has a LiteRT case now: take it off NO_LITERT_CASE"),
            _ => {}
        }
    }
    assert!(
        missing.is_empty(),
        "ops with no LiteRT case and no reason: {missing:?}"
    );
}

#[test]
fn constant_and_aliased_outputs_run_in_litert() {
    let py = python();
    // y = x + c through an Identity; c itself is a second output.
    let mut case = one_op(
        "add",
        Op::AddV2,
        vec![],
        vec![
            In::X("x", vec![3]),
            In::C(Tensor::from_vec(vec![3], vec![1.0f32, 2.0, 3.0])),
        ],
        vec![(DType::F32, vec![3])],
    );
    let g = &mut case.graph;
    let add = g.find("op").unwrap();
    let id = g.add(Node::new("y", Op::Identity));
    g.node_mut(id).outputs = vec![ValueInfo::new(DType::F32, vec![3])];
    g.connect(add.into(), id, 0);
    g.outputs[0].value = id.into();
    let c = g.find("c1").unwrap();
    g.outputs.push(Output {
        name: "const_out".into(),
        value: c.into(),
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.tflite");
    std::fs::write(&path, write_tflite(&case.graph).unwrap()).unwrap();
    let code = format!(
        "from ai_edge_litert.interpreter import Interpreter\nimport numpy as np\n\
         r = Interpreter(model_path={:?}).get_signature_runner('serving_default')(x=np.array([1, 1, 1], np.float32))\n\
         print(*r['out0'], *r['const_out'])",
        path.to_str().unwrap()
    );
    let out = Command::new(&py).args(["-c", &code]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Vec<f32> = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(v, vec![2.0, 3.0, 4.0, 1.0, 2.0, 3.0]);
}
