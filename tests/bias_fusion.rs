//! The e-graph cost model and the TFLite backend agree on which adds are free: every add the cost model
//! prices as a bias input (`sgc_rules::cost::is_free_bias_add`) is one the backend fuses into the
//! convolution or matmul before it (`sgc_backends::tflite::lower::fused_bias_adds`), and the other way
//! round, on the lowered graph of every fixture and every pass-suite case. Both read
//! `sgc_ir::fusion`; the cost model cannot see a value's readers before extraction, so this is where a
//! graph whose conv output has a second reader would show up.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::pass_cases::{find_cases, parse_header};
use common::Fixture;
use sgc::{lower, LowerOptions};
use sgc_ir::{Graph, Op};
use sgc_passes::io::IoSpec;

/// `(adds the cost model prices as free, adds the backend fuses)`, by node name.
fn verdicts(g: &Graph) -> (BTreeSet<String>, BTreeSet<String>) {
    let imported = sgc_rules::convert::import(g).expect("a lowered graph imports");
    let eg = &imported.egraph;
    let priced = imported
        .node_classes()
        .filter(|(_, _, op)| matches!(op, Op::Add | Op::AddV2 | Op::BiasAdd))
        .filter(|(class, _, op)| {
            eg[*class]
                .nodes
                .iter()
                .any(|n| n.op() == Some(op) && sgc_rules::cost::is_free_bias_add(eg, n))
        })
        .map(|(_, name, _)| name.to_string())
        .collect();
    let fused = sgc_backends::tflite::lower::fused_bias_adds(g)
        .into_iter()
        .map(|n| g.node(n).name.clone())
        .collect();
    (priced, fused)
}

/// Lowers `graph` and compares the two verdicts; returns how many adds are fused.
fn check(graph: &Path, options: &LowerOptions) -> Result<usize, String> {
    let lowered = lower(graph, options).map_err(|e| e.to_string())?;
    let (priced, fused) = verdicts(&lowered.graph);
    assert_eq!(
        priced,
        fused,
        "{}: the cost model prices these adds as bias inputs (left), the backend fuses these (right)",
        graph.display()
    );
    Ok(fused.len())
}

#[test]
fn cost_model_and_backend_fuse_the_same_bias_adds() {
    let mut fused = 0;
    let mut graphs = 0;
    for set in ["fixtures", "fixtures-random"] {
        let dir = common::repo_root().join("tests").join(set);
        let mut dirs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        dirs.sort();
        for d in dirs {
            let f = Fixture::load(&d);
            fused += check(&f.graph(), &f.lower_options()).unwrap_or_else(|e| panic!("{e}"));
            graphs += 1;
        }
    }
    // Pass-suite cases that the default pipeline lowers (some are fragments made to fail a pass).
    let mut lowered_cases = 0;
    for case in find_cases() {
        let header = parse_header(&std::fs::read_to_string(&case).unwrap()).unwrap();
        let options = LowerOptions {
            io: IoSpec {
                outputs: header.outputs.clone(),
                input_shapes: header.inputs.clone(),
            },
            ..Default::default()
        };
        if let Ok(n) = check(&case, &options) {
            fused += n;
            lowered_cases += 1;
        }
    }
    println!("{graphs} fixtures, {lowered_cases} pass cases, {fused} fused bias adds");
    assert!(
        graphs >= 8 && lowered_cases >= 40,
        "{graphs} fixtures, {lowered_cases} cases"
    );
    assert!(
        fused >= 50,
        "only {fused} fused bias adds: the check saw too little"
    );
}
