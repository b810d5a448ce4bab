//! The e-graph cost model and the TFLite backend agree on which adds and activations are free: every add
//! the cost model prices as a bias input (`sgc_rules::cost::is_free_bias_add`) is one the backend fuses
//! into the convolution or matmul before it (`sgc_backends::tflite::lower::fused_bias_adds`), every Relu
//! it prices as a fused activation (`is_free_activation`) one the backend fuses (`fused_activations`),
//! and the other way round, on the lowered graph of every fixture and every pass-suite case. Both read
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

type Names = BTreeSet<String>;

/// `(nodes the cost model prices as free, nodes the backend fuses)`, by node name: the adds, then the
/// activations.
fn verdicts(g: &Graph) -> [(Names, Names); 2] {
    let imported = sgc_rules::convert::import(g).expect("a lowered graph imports");
    let eg = &imported.egraph;
    let priced = |ops: &[Op], free: fn(&sgc_rules::EGraph, &sgc_rules::TfNode) -> bool| -> Names {
        imported
            .node_classes()
            .filter(|(_, _, op)| ops.contains(op))
            .filter(|(class, _, op)| {
                eg[*class]
                    .nodes
                    .iter()
                    .any(|n| n.op() == Some(op) && free(eg, n))
            })
            .map(|(_, name, _)| name.to_string())
            .collect()
    };
    let names = |nodes: Vec<sgc_ir::NodeIndex>| -> Names {
        nodes.into_iter().map(|n| g.node(n).name.clone()).collect()
    };
    [
        (
            priced(
                &[Op::Add, Op::AddV2, Op::BiasAdd],
                sgc_rules::cost::is_free_bias_add,
            ),
            names(sgc_backends::tflite::lower::fused_bias_adds(g)),
        ),
        (
            priced(
                &[Op::Relu, Op::Relu6, Op::ClipByValue],
                sgc_rules::cost::is_free_activation,
            ),
            names(sgc_backends::tflite::lower::fused_activations(g)),
        ),
    ]
}

/// Lowers `graph` and compares the verdicts; returns how many adds and activations are fused.
fn check(graph: &Path, options: &LowerOptions) -> Result<[usize; 2], String> {
    let lowered = lower(graph, options).map_err(|e| e.to_string())?;
    let [adds, acts] = verdicts(&lowered.graph);
    for ((priced, fused), what) in [(&adds, "adds as bias inputs"), (&acts, "activations")] {
        assert_eq!(
            priced,
            fused,
            "{}: the cost model prices these {what} (left), the backend fuses these (right)",
            graph.display()
        );
    }
    Ok([adds.1.len(), acts.1.len()])
}

#[test]
fn cost_model_and_backend_fuse_the_same_bias_adds_and_activations() {
    let (mut fused, mut activations) = (0, 0);
    let mut graphs = 0;
    for set in ["fixtures", "fixtures-random", "fixtures-generic"] {
        let dir = common::repo_root().join("tests").join(set);
        let mut dirs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        dirs.sort();
        for d in dirs {
            let f = Fixture::load(&d);
            let [adds, acts] =
                check(&f.graph(), &f.lower_options()).unwrap_or_else(|e| panic!("{e}"));
            (fused, activations) = (fused + adds, activations + acts);
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
        if let Ok([adds, acts]) = check(&case, &options) {
            (fused, activations) = (fused + adds, activations + acts);
            lowered_cases += 1;
        }
    }
    println!(
        "{graphs} fixtures, {lowered_cases} pass cases, {fused} fused bias adds, {activations} fused activations"
    );
    assert!(
        graphs >= 14 && lowered_cases >= 40,
        "{graphs} fixtures, {lowered_cases} cases"
    );
    assert!(
        fused >= 50 && activations >= 20,
        "only {fused} fused bias adds and {activations} activations: the check saw too little"
    );
}
