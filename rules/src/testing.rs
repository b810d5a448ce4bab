//! Test helpers: small IR graphs through the rules and back, checked with the reference interpreter.

use sgc_ir::{interp, Graph, NodeIndex, Op, Tensor, ValueRef};

use crate::{convert, cost, Rewrite, TfAnalysis, TfNode};

pub use sgc_ir::testing::{random_tensor as random, Builder};

/// Runs `rules` on `graph` and extracts the cheapest equal graph.
pub fn rewrite(graph: &Graph, rules: &[Rewrite]) -> Graph {
    let mut imported = convert::import(graph).expect("imports");
    let runner: egg::Runner<TfNode, TfAnalysis> = egg::Runner::default()
        .with_egraph(std::mem::take(&mut imported.egraph))
        .with_iter_limit(30)
        .run(rules);
    imported.egraph = runner.egraph;
    imported.egraph.rebuild();
    let choice = cost::extract(&imported.egraph);
    convert::export(&imported, &choice).expect("exports")
}

/// How many nodes of `op` the graph has.
pub fn count(graph: &Graph, op: &Op) -> usize {
    graph
        .node_indices()
        .filter(|&n| graph.node(n).op == *op)
        .count()
}

/// Asserts that both graphs compute the same outputs on seeded random inputs.
pub fn assert_same_function(before: &Graph, after: &Graph) {
    let feeds = |g: &Graph| -> Vec<(NodeIndex, Tensor)> {
        g.inputs
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let shape = g.info(n.into()).static_shape().expect("static input");
                (n, random(&shape, i as u64 + 1))
            })
            .collect()
    };
    let fetch = |g: &Graph| -> Vec<ValueRef> { g.outputs.iter().map(|o| o.value).collect() };
    let a = interp::run(before, &feeds(before), &fetch(before)).expect("before runs");
    let b = interp::run(after, &feeds(after), &fetch(after)).expect("after runs");
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.shape(), y.shape());
        let (x, y) = (x.to_f64s().unwrap(), y.to_f64s().unwrap());
        let scale = x.iter().fold(1e-30f64, |m, v| m.max(v.abs()));
        let err = x
            .iter()
            .zip(&y)
            .fold(0f64, |m, (p, q)| m.max((p - q).abs()));
        assert!(
            err <= 1e-5 * scale,
            "outputs differ by {err} (scale {scale})"
        );
    }
}
