//! The pass-developer test suite: every `tests/passes/<pass>/<case>.pbtxt`, found automatically.
//!
//! A case is a small TensorFlow GraphDef (text format) whose leading `#` comment lines say what to do:
//!
//! ```text
//! # free text: what the case shows (goes into the snapshot's description)
//! # passes: fold,egraph              the passes to run, in order (PassManager::from_names)
//! # outputs: y                       graph outputs, `node` or `node:port`, comma-separated
//! # inputs: x=1,4,4,4                input shapes (optional where the placeholder's shape is complete)
//! # expect-ops: LeakyRelu=1, Maximum=0, Transpose<=1   op counts after the passes (optional)
//! # known-bug: what is wrong                 (optional) the case shows a known bug, see below
//! ```
//!
//! For each case the test loads the graph with the frontend, chooses inputs and outputs
//! ([`sgc_passes::io::select_io`]), runs the passes, and then
//! 1. snapshots `Graph::dump()` with insta, in `tests/passes/<pass>/snapshots/<case>.snap`;
//! 2. checks `expect-ops`;
//! 3. runs the reference interpreter on the graph before and after the passes, on the same seeded random
//!    inputs (uniform in [-1, 1)), and requires equal outputs: same dtype and shape, and every element
//!    within [`TOLERANCE`] × max |reference value| of the reference (exactly equal for integer and bool
//!    outputs); an output's static type after the passes, where known, must match the value computed.
//!
//! All cases run (a failing one does not hide the others) and the test fails with the list of failed
//! cases. A `known-bug` case is expected to fail checks 2 or 3 (it has no snapshot: a wrong result is not
//! something to accept); once it passes, the test fails until the line is removed and the snapshot
//! reviewed, so a fixed bug does not go unnoticed. New or changed snapshots: `INSTA_UPDATE=always cargo test --test pass_suite`, then review the
//! `.snap` files with `git diff` (docs/PASSES.md). With `CI=true` a changed snapshot is a failure.

mod common;

use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use common::pass_cases::{cases_dir, find_cases, parse_header, Cmp, Header};
use sgc_ir::testing::Rng;
use sgc_ir::{interp, DType, Graph, Tensor, ValueRef};
use sgc_passes::io::{select_io, IoSpec};
use sgc_passes::PassManager;

/// Outputs after the passes may differ from the reference by this much, relative to the largest
/// absolute value of the reference output (float reassociation in rewritten graphs; the rewrites
/// themselves are exact).
const TOLERANCE: f64 = 1e-5;

/// How many random input sets each case is checked on.
const SEEDS: u64 = 2;

/// FNV-1a, to seed each case from its name.
fn hash(s: &str) -> u64 {
    sgc_ir::testing::fnv1a(s.bytes(), None)
}

/// Random values for every graph input, by name.
fn random_inputs(graph: &Graph, rng: &mut Rng) -> Result<Vec<(String, Tensor)>, String> {
    let mut feeds = Vec::new();
    for &n in &graph.inputs {
        let node = graph.node(n);
        let info = &node.outputs[0];
        let shape = info
            .static_shape()
            .ok_or_else(|| format!("input '{}' has no static shape ({info})", node.name))?;
        let count: usize = shape.iter().product();
        let t = match info.dtype.unwrap_or(DType::F32) {
            DType::F32 => Tensor::from_vec(shape, (0..count).map(|_| rng.next_f32()).collect()),
            DType::I32 => Tensor::from_vec(
                shape,
                (0..count)
                    .map(|_| (rng.next_u64() % 7) as i32 - 3)
                    .collect(),
            ),
            DType::Bool => {
                Tensor::from_vec(shape, (0..count).map(|_| rng.next_u64() & 1 == 1).collect())
            }
            d => return Err(format!("input '{}': no random values for {d}", node.name)),
        };
        feeds.push((node.name.clone(), t));
    }
    Ok(feeds)
}

/// The graph's outputs on named feeds (feeds for inputs the graph no longer has are skipped).
fn evaluate(graph: &Graph, feeds: &[(String, Tensor)]) -> Result<Vec<Tensor>, String> {
    let feeds: Vec<_> = feeds
        .iter()
        .filter_map(|(name, t)| {
            graph
                .inputs
                .iter()
                .copied()
                .find(|&n| graph.node(n).name == *name)
                .map(|n| (n, t.clone()))
        })
        .collect();
    let fetch: Vec<ValueRef> = graph.outputs.iter().map(|o| o.value).collect();
    interp::run(graph, &feeds, &fetch).map_err(|e| e.to_string())
}

/// Compares one output after the passes with the reference.
fn compare(name: &str, reference: &Tensor, got: &Tensor) -> Result<(), String> {
    if reference.dtype() != got.dtype() || reference.shape() != got.shape() {
        return Err(format!(
            "output '{name}': expected {}{:?}, got {}{:?}",
            reference.dtype(),
            reference.shape(),
            got.dtype(),
            got.shape()
        ));
    }
    let (r, g) = match (reference.to_f64s(), got.to_f64s()) {
        (Ok(r), Ok(g)) => (r, g),
        _ => {
            return (reference.bytes() == got.bytes())
                .then_some(())
                .ok_or_else(|| format!("output '{name}': values differ"))
        }
    };
    let exact = !matches!(reference.dtype(), DType::F32 | DType::F64 | DType::F16);
    let scale = r.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let tol = if exact { 0.0 } else { TOLERANCE * scale };
    for (i, (a, b)) in r.iter().zip(&g).enumerate() {
        let same_nan = a.is_nan() && b.is_nan();
        let close = (a - b).abs() <= tol; // false for NaN
        if !(same_nan || close) {
            return Err(format!(
                "output '{name}': element {i} is {b}, the reference {a} (tolerance {tol:e}, max |ref| {scale})"
            ));
        }
    }
    Ok(())
}

/// Checks that the static types the passes left on the outputs match the computed values.
fn check_types(graph: &Graph, values: &[Tensor]) -> Result<(), String> {
    for (o, v) in graph.outputs.iter().zip(values) {
        let info = graph.info(o.value);
        if info.dtype.is_some_and(|d| d != v.dtype()) {
            return Err(format!(
                "output '{}': the graph says {info}, the value is {}{:?}",
                o.name,
                v.dtype(),
                v.shape()
            ));
        }
        if info.static_shape().is_some_and(|s| s != v.shape()) {
            return Err(format!(
                "output '{}': the graph says {info}, the value is {}{:?}",
                o.name,
                v.dtype(),
                v.shape()
            ));
        }
    }
    Ok(())
}

fn op_counts(graph: &Graph, op: &str) -> usize {
    graph
        .node_indices()
        .filter(|&n| graph.node(n).op.name() == op)
        .count()
}

/// Runs one case; `Err` says what is wrong.
fn run_case(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let header = parse_header(&text)?;
    match &header.known_bug {
        None => check_case(path, &header),
        Some(bug) => match check_case(path, &header) {
            Ok(()) => Err(format!(
                "the known bug '{bug}' no longer shows: remove the known-bug line and review the snapshot"
            )),
            Err(e) => {
                eprintln!("known bug in {}: {bug}: {e}", path.display());
                Ok(())
            }
        },
    }
}

/// The checks of one case.
fn check_case(path: &Path, header: &Header) -> Result<(), String> {
    let mut graph = sgc_frontends::load(path).map_err(|e| e.to_string())?;
    let spec = IoSpec {
        outputs: header.outputs.clone(),
        input_shapes: header.inputs.clone(),
    };
    select_io(&mut graph, &spec).map_err(|e| e.to_string())?;
    // The pass manager verifies the IR after each pass only from a valid graph on: the case must be one.
    graph
        .verify()
        .map_err(|e| format!("the imported graph does not verify: {e}"))?;
    let before = graph.clone();
    let manager = PassManager::from_names(&header.passes)?;
    manager
        .run(&mut graph, |_, _| {})
        .map_err(|e| e.to_string())?;

    let mut problems = Vec::new();

    // 1. The snapshot.
    let pass_dir = path
        .parent()
        .and_then(Path::file_name)
        .and_then(|s| s.to_str())
        .expect("case dir name");
    let case = path
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("case name");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(cases_dir().join(pass_dir).join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(path);
    let mut description = header.doc.join("\n");
    let _ = write!(description, "\npasses: {}", header.passes.join(","));
    settings.set_description(description.trim_start());
    let dump = graph.dump();
    if header.known_bug.is_none() {
        let snapshot = catch_unwind(AssertUnwindSafe(|| {
            settings.bind(|| insta::assert_snapshot!(case, dump));
        }));
        if snapshot.is_err() {
            problems.push("the IR after the passes differs from the snapshot".to_string());
        }
    }

    // 2. Op counts.
    for (op, cmp, n) in &header.expect_ops {
        let have = op_counts(&graph, op);
        let ok = match cmp {
            Cmp::Eq => have == *n,
            Cmp::Le => have <= *n,
            Cmp::Ge => have >= *n,
        };
        if !ok {
            let sign = match cmp {
                Cmp::Eq => "=",
                Cmp::Le => "<=",
                Cmp::Ge => ">=",
            };
            problems.push(format!("expected {op}{sign}{n}, the graph has {have}"));
        }
    }

    // 3. Same outputs before and after, on seeded random inputs.
    for seed in 0..SEEDS {
        let mut rng = Rng::new(hash(&format!("{pass_dir}/{case}")) ^ seed);
        let feeds = random_inputs(&before, &mut rng)?;
        let reference = evaluate(&before, &feeds)
            .map_err(|e| format!("the graph before the passes does not run: {e}"))?;
        let got = match evaluate(&graph, &feeds) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("the graph after the passes does not run: {e}"));
                break;
            }
        };
        if let Err(e) = check_types(&graph, &got) {
            problems.push(e);
        }
        for ((o, r), g) in graph.outputs.iter().zip(&reference).zip(&got) {
            if let Err(e) = compare(&o.name, r, g) {
                problems.push(format!("seed {seed}: {e}"));
            }
        }
        if !problems.is_empty() {
            break;
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

#[test]
fn pass_suite() {
    let cases = find_cases();
    assert!(
        cases.len() >= 30,
        "the pass suite should hold at least 30 cases, found {}",
        cases.len()
    );
    let mut failed = Vec::new();
    for path in &cases {
        let name = path
            .strip_prefix(cases_dir())
            .unwrap_or(path)
            .display()
            .to_string();
        let result = catch_unwind(AssertUnwindSafe(|| run_case(path)))
            .unwrap_or_else(|_| Err("panicked (see above)".into()));
        if let Err(e) = result {
            failed.push(format!("{name}: {e}"));
        }
    }
    // A snapshot whose case was renamed or removed would never be checked again.
    let mut dirs: Vec<&Path> = cases.iter().filter_map(|p| p.parent()).collect();
    dirs.dedup();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir.join("snapshots")) else {
            continue;
        };
        for e in entries {
            let snap = e.expect("readable dir entry").path();
            let stem = snap.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            if snap.extension().is_some_and(|x| x == "snap")
                && !dir.join(format!("{stem}.pbtxt")).exists()
            {
                failed.push(format!(
                    "{}: a snapshot without a case (delete it)",
                    snap.display()
                ));
            }
        }
    }
    assert!(
        failed.is_empty(),
        "pass suite: {} problem(s) in {} cases:\n  {}",
        failed.len(),
        cases.len(),
        failed.join("\n  ")
    );
}

#[test]
fn header_parses_every_field() {
    let h = parse_header(
        "# what it shows\n# passes: fold, egraph\n# outputs: y, z:1\n# inputs: x=1,3,4,4; w=2\n\
         # expect-ops: LeakyRelu=1, Transpose<=1, Relu>=2\nnode {}\n# not header: x",
    )
    .unwrap();
    assert_eq!(h.doc, vec!["what it shows"]);
    assert_eq!(h.passes, vec!["fold", "egraph"]);
    assert_eq!(h.outputs, vec!["y", "z:1"]);
    assert_eq!(
        h.inputs,
        vec![
            ("x".to_string(), vec![1, 3, 4, 4]),
            ("w".to_string(), vec![2])
        ]
    );
    assert_eq!(h.expect_ops.len(), 3);
    assert!(matches!(h.expect_ops[1], (ref op, Cmp::Le, 1) if op == "Transpose"));
    assert!(parse_header("# outputs: y\n").is_err());
}
