use std::collections::HashMap;

use sgc_ir::{DType, Graph, Node, Op, Output, Tensor, ValueInfo};

use super::dot::{to_dot, Picture};
use super::*;

/// x → Neg → clip (two builtins) → Frobnicate (custom) → IdentityN (no lowering) → out, and an unused node.
fn graph() -> Graph {
    let mut g = Graph::new();
    let mut x = Node::new("x", Op::Placeholder);
    x.outputs = vec![ValueInfo::new(DType::F32, vec![1, 4])];
    let x = g.add(x);
    g.inputs.push(x);
    let typed = |name: &str, op: Op| {
        let mut n = Node::new(name, op);
        n.outputs = vec![ValueInfo::new(DType::F32, vec![1, 4])];
        n
    };
    let neg = g.add(typed("a/neg", Op::Neg));
    g.connect(x.into(), neg, 0);
    let lo = g.add_const("a/lo", Tensor::scalar(0.0f32));
    let hi = g.add_const("a/hi", Tensor::scalar(1.0f32));
    let clip = g.add(typed("a/clip", Op::ClipByValue));
    g.connect(neg.into(), clip, 0);
    g.connect(lo.into(), clip, 1);
    g.connect(hi.into(), clip, 2);
    let frob = g.add(typed("b/frob", Op::Other("Frobnicate".into())));
    g.connect(clip.into(), frob, 0);
    let idn = g.add(typed("b/idn", Op::IdentityN));
    g.connect(frob.into(), idn, 0);
    let out = g.add(typed("out", Op::Neg));
    g.connect(idn.into(), out, 0);
    let unused = g.add(typed("unused", Op::Neg));
    g.connect(x.into(), unused, 0);
    g.outputs.push(Output {
        name: "out".into(),
        value: out.into(),
    });
    g
}

fn fates(e: &OpEntry) -> Vec<String> {
    e.fates.iter().map(|f| f.fate.describe()).collect()
}

#[test]
fn lower_each_goes_past_a_failing_node() {
    let g = graph();
    let cov = crate::tflite::lower::lower_each(&g, &Default::default());
    let by_name: HashMap<&str, &NodeLowering> = cov
        .nodes
        .iter()
        .map(|(n, l)| (g.node(*n).name.as_str(), l))
        .collect();
    assert!(matches!(
        by_name["b/idn"],
        NodeLowering::Failed(BackendError::NoLowering { .. })
    ));
    assert!(
        matches!(by_name["b/frob"], NodeLowering::Operators(c) if c[0].custom.as_deref() == Some("Frobnicate"))
    );
    // The consumer of the failed node is still lowered.
    assert!(matches!(by_name["out"], NodeLowering::Operators(c) if c.len() == 1));
    assert!(matches!(by_name["a/clip"], NodeLowering::Operators(c) if c.len() == 2));
    assert_eq!(by_name["unused"], &NodeLowering::NotLive);
    // The first failure is what `lower` stops at.
    let err = crate::tflite::lower::lower(&g).unwrap_err();
    assert_eq!(by_name["b/idn"], &NodeLowering::Failed(err));
}

#[test]
fn fates_follow_the_pass_history() {
    let mut before = graph();
    before.add_const("k", Tensor::scalar(3.0f32));
    let after = graph();
    let steps = vec![PassStep {
        pass: "dce".into(),
        removed: vec!["k".into()],
        nodes_after: after.node_count(),
        ..Default::default()
    }];
    let report = build("g.pbtxt", &before, &after, &steps, &Default::default());
    let by_op: HashMap<&str, &OpEntry> = report.ops.iter().map(|e| (e.op.as_str(), e)).collect();
    assert_eq!(fates(by_op["ClipByValue"]), ["builtin MINIMUM + MAXIMUM"]);
    assert_eq!(fates(by_op["Frobnicate"]), ["custom CUSTOM:Frobnicate"]);
    assert_eq!(
        fates(by_op["IdentityN"]),
        ["BLOCKED: no TFLite lowering (unsupported op)"]
    );
    assert_eq!(by_op["Neg"].count, 3);
    assert_eq!(by_op["Neg"].category, Category::Builtin);
    let consts = fates(by_op["Const"]);
    assert!(
        consts.contains(&"removed by dce (dead)".to_string()),
        "{consts:?}"
    );
    assert!(
        consts.contains(&"constant tensor".to_string()),
        "{consts:?}"
    );
    assert!(report.has(Category::Blocked) && report.has(Category::Custom));
    assert_eq!(report.summary.op_types.blocked, 1);
    assert_eq!(report.summary.op_types.custom, 1);
    assert_eq!(
        report.lowering_error.as_deref(),
        Some("node 'b/idn' (op IdentityN): no TFLite lowering")
    );
    // Every format names every op type.
    let pictures = Picture::Unavailable("test".into());
    for text in [
        text::render(&report),
        md::render(&report),
        html::render(&report, &pictures, &pictures),
        json::render(&report),
    ] {
        for e in &report.ops {
            assert!(text.contains(&e.op), "{} missing", e.op);
        }
    }
    let v: serde_json::Value = serde_json::from_str(&json::render(&report)).unwrap();
    assert_eq!(v["schema"], 1);
    assert_eq!(v["ops"][0]["fates"][0]["fate"]["kind"], "builtin");
}

#[test]
fn dot_collapses_big_graphs_by_scope() {
    let mut g = Graph::new();
    let mut prev = g.add(Node::new("in", Op::Placeholder));
    for block in 0..20 {
        for i in 0..50 {
            let n = g.add(Node::new(format!("G/block{block}/op{i}"), Op::Neg));
            g.connect(prev.into(), n, 0);
            prev = n;
        }
    }
    let dot = to_dot(&g, "t", 40, &HashMap::new());
    // 20 block groups and the input: small enough to read.
    assert_eq!(dot.matches("[label=").count(), 21 + 1, "{dot}");
    assert!(dot.contains("G/block3/\\n50 nodes: Neg×50"), "{dot}");
    let small = to_dot(&graph(), "t", 40, &HashMap::new());
    assert!(small.contains("b/frob\\nFrobnicate"), "{small}");
    assert_eq!(small.matches("[label=").count(), 10, "{small}");
}
