//! TF1 control flow, resolved at compile time.
//!
//! TFLite has no `Switch`/`Merge` and no plan to. StyleGAN's default *recursive* structure builds nested
//! `tf.cond`s on `lod_in > lod`, whose predicates are constants once the graph is frozen and folded, so the
//! taken branch is known at compile time. [`FoldSwitchMerge`] follows TensorFlow's executor semantics: the
//! untaken output of a `Switch` is *dead*; an op with a dead data input, or a dead control input, is dead;
//! a `Merge` forwards its one live input. Dead nodes are removed, each `Switch` is replaced by its data
//! input and each `Merge` by its live input; nested conds are resolved outside in, folding between rounds.
//! Only then are control edges meaningless, and
//! [`DropControlEdges`] removes them (and the `NoOp`s that only grouped them).

use sgc_ir::{Graph, IrError, NodeIndex, Op, Tensor, ValueRef};

use crate::fold::Fold;
use crate::{Pass, PassReport};

pub struct FoldSwitchMerge;

impl Pass for FoldSwitchMerge {
    fn name(&self) -> &'static str {
        "fold-switch-merge"
    }

    fn description(&self) -> &'static str {
        "resolves Switch/Merge with constant predicates: untaken branches are removed (TF1 dead-value rules)"
    }

    fn run(&self, graph: &mut Graph) -> Result<PassReport, IrError> {
        // A nested cond's predicate is computed inside the outer cond's branch (its operands arrive
        // through the outer Switch), so it becomes constant only once the outer cond is resolved and
        // the branch folded: resolve and fold in turns until nothing changes.
        let mut total = Resolved::default();
        loop {
            Fold.run(graph)?;
            let step = resolve_once(graph)?;
            if step == Resolved::default() {
                break;
            }
            total.switches += step.switches;
            total.merges += step.merges;
            total.removed += step.removed;
        }
        for n in graph.node_indices() {
            match graph.node(n).op {
                Op::Switch => {
                    predicate(graph, n, &graph.inputs(n))?;
                }
                Op::Merge => {
                    return Err(IrError::node(
                        &graph.node(n).name,
                        "Merge has several live inputs: its branches do not depend on a constant predicate",
                    ))
                }
                _ => {}
            }
        }
        let mut report = PassReport::changed(total.switches + total.merges + total.removed);
        if total.switches > 0 {
            report.notes.push(format!(
                "{} Switch and {} Merge resolved, {} nodes of untaken branches removed",
                total.switches, total.merges, total.removed
            ));
        }
        Ok(report)
    }
}

#[derive(Debug, Default, PartialEq)]
struct Resolved {
    switches: usize,
    merges: usize,
    removed: usize,
}

/// Resolves every `Switch` whose predicate is constant now, removes what that makes dead, and resolves
/// every `Merge` left with one live input. A `Switch` with an unknown predicate keeps both outputs live.
fn resolve_once(graph: &mut Graph) -> Result<Resolved, IrError> {
    let order = graph.topo_order()?;
    let bound = order.iter().map(|n| n.index() + 1).max().unwrap_or(0);
    // dead[n]: the whole node is dead. A resolved Switch has its live port in `taken`.
    let mut dead = vec![false; bound];
    let mut taken: Vec<Option<usize>> = vec![None; bound];
    let port_dead = |dead: &[bool], taken: &[Option<usize>], v: ValueRef| {
        dead[v.node.index()] || taken[v.node.index()].is_some_and(|live| live != v.port)
    };

    for &n in &order {
        let inputs = graph.inputs(n);
        let node = graph.node(n);
        if node.op == Op::Merge {
            dead[n.index()] = inputs.iter().all(|&v| port_dead(&dead, &taken, v));
            continue;
        }
        dead[n.index()] = inputs.iter().any(|&v| port_dead(&dead, &taken, v))
            || graph.control_inputs(n).iter().any(|c| dead[c.index()]);
        if node.op == Op::Switch && !dead[n.index()] {
            if let Some(&pred) = inputs.get(1) {
                if graph.const_value(pred).is_some() {
                    taken[n.index()] = Some(usize::from(predicate(graph, n, &inputs)?));
                }
            }
        }
    }

    // Decide every Merge before the graph changes.
    let mut merges = Vec::new();
    for &n in &order {
        if graph.node(n).op != Op::Merge || dead[n.index()] {
            continue;
        }
        let live: Vec<(usize, ValueRef)> = graph
            .inputs(n)
            .into_iter()
            .enumerate()
            .filter(|&(_, v)| !port_dead(&dead, &taken, v))
            .collect();
        if let [(index, value)] = live.as_slice() {
            merges.push((n, *index, *value));
        }
    }
    for o in &graph.outputs {
        if port_dead(&dead, &taken, o.value) {
            return Err(IrError::node(
                &o.name,
                "output is in a branch that is never taken (its value is dead)",
            ));
        }
    }

    let doomed: Vec<NodeIndex> = order.iter().copied().filter(|n| dead[n.index()]).collect();
    for &n in &doomed {
        graph.remove(n);
    }
    for &(n, index, value) in &merges {
        graph.replace_uses(ValueRef::new(n, 0), value);
        let value_index = ValueRef::new(n, 1);
        if graph.is_used(value_index) {
            let name = graph.unique_name(&format!("{}/value_index", graph.node(n).name));
            let c = graph.add_const(name, Tensor::scalar(index as i32));
            graph.replace_uses(value_index, c.into());
        }
        graph.remove(n);
    }
    let mut switches = 0;
    for &n in &order {
        let Some(live) = taken[n.index()] else {
            continue;
        };
        let data = graph.inputs(n)[0];
        graph.replace_uses(ValueRef::new(n, live), data);
        graph.remove(n);
        switches += 1;
    }
    Ok(Resolved {
        switches,
        merges: merges.len(),
        removed: doomed.len(),
    })
}

/// The constant predicate of a live `Switch`.
fn predicate(graph: &Graph, n: NodeIndex, inputs: &[ValueRef]) -> Result<bool, IrError> {
    let name = &graph.node(n).name;
    let [_, pred] = inputs else {
        return Err(IrError::node(
            name,
            "Switch needs 2 inputs (data, predicate)",
        ));
    };
    let value = graph.const_value(*pred).ok_or_else(|| {
        IrError::node(
            name,
            format!(
                "predicate '{}' is not a constant: TFLite has no TF1 control flow, so sgc can only \
                 convert conds whose predicate is known at compile time",
                graph.value_name(*pred)
            ),
        )
    })?;
    match value.to_vec::<bool>().as_deref() {
        Ok([b]) => Ok(*b),
        _ => Err(IrError::node(name, "predicate is not a boolean scalar")),
    }
}

pub struct DropControlEdges;

impl Pass for DropControlEdges {
    fn name(&self) -> &'static str {
        "drop-control-edges"
    }

    fn description(&self) -> &'static str {
        "removes control dependencies and NoOps (meaningless once control flow and assignments are gone)"
    }

    fn run(&self, graph: &mut Graph) -> Result<PassReport, IrError> {
        let mut changes = 0;
        let nodes: Vec<_> = graph.node_indices().collect();
        for &n in &nodes {
            if !graph.control_inputs(n).is_empty() {
                graph.clear_control_inputs(n);
                changes += 1;
            }
        }
        for n in nodes {
            if graph.node(n).op == Op::NoOp {
                graph.remove(n);
                changes += 1;
            }
        }
        Ok(PassReport::changed(changes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sgc_ir::{Node, Output, ValueInfo};

    /// `out = cond(pred, lambda: x * 2, lambda: -x)` as tf.cond builds it: the branch constant hangs on
    /// the pivot identity of the true side by a control edge.
    fn cond(pred: bool) -> (Graph, NodeIndex) {
        let mut g = Graph::new();
        let x = g.add(Node::new("x", Op::Placeholder));
        g.inputs.push(x);
        let p = g.add_const("pred", Tensor::scalar(pred));
        let two_switch = |g: &mut Graph, name: &str, data: NodeIndex| {
            let mut s = Node::new(name, Op::Switch);
            s.outputs = vec![ValueInfo::default(); 2];
            let s = g.add(s);
            g.connect(data.into(), s, 0);
            g.connect(p.into(), s, 1);
            s
        };
        let pivot_switch = two_switch(&mut g, "cond/Switch", p);
        let switch_t = g.add(Node::new("cond/switch_t", Op::Identity));
        g.connect(ValueRef::new(pivot_switch, 1), switch_t, 0);
        let sx = two_switch(&mut g, "cond/Switch_1", x);
        let two = g.add_const("cond/two", Tensor::scalar(2.0f32));
        g.connect_control(switch_t, two);
        let mul = g.add(Node::new("cond/mul", Op::Mul));
        g.connect(ValueRef::new(sx, 1), mul, 0);
        g.connect(two.into(), mul, 1);
        let neg = g.add(Node::new("cond/neg", Op::Neg));
        g.connect(ValueRef::new(sx, 0), neg, 0);
        let mut merge = Node::new("cond/Merge", Op::Merge);
        merge.outputs = vec![ValueInfo::default(); 2];
        let merge = g.add(merge);
        g.connect(neg.into(), merge, 0);
        g.connect(mul.into(), merge, 1);
        let out = g.add(Node::new("out", Op::Identity));
        g.connect(merge.into(), out, 0);
        g.outputs.push(Output {
            name: "out".into(),
            value: out.into(),
        });
        (g, x)
    }

    #[test]
    fn true_branch_is_kept() {
        let (mut g, x) = cond(true);
        FoldSwitchMerge.run(&mut g).unwrap();
        let out = g.find("out").unwrap();
        let mul = g.find("cond/mul").unwrap();
        assert_eq!(g.inputs(out), vec![mul.into()]);
        assert_eq!(g.inputs(mul)[0], x.into());
        assert!(g.find("cond/neg").is_none() && g.find("cond/Merge").is_none());
        assert!(g.find("cond/Switch_1").is_none());
    }

    #[test]
    fn false_branch_kills_constants_through_control_edges() {
        let (mut g, x) = cond(false);
        FoldSwitchMerge.run(&mut g).unwrap();
        let out = g.find("out").unwrap();
        let neg = g.find("cond/neg").unwrap();
        assert_eq!(g.inputs(out), vec![neg.into()]);
        assert_eq!(g.inputs(neg), vec![x.into()]);
        assert!(g.find("cond/two").is_none() && g.find("cond/mul").is_none());
        assert!(g.find("cond/switch_t").is_none());
    }

    #[test]
    fn non_constant_predicate_is_named() {
        let (mut g, x) = cond(true);
        let p = g.find("pred").unwrap();
        g.replace_uses(p.into(), x.into());
        let err = FoldSwitchMerge.run(&mut g).unwrap_err().to_string();
        assert!(
            err.contains("cond/Switch") && err.contains("not a constant"),
            "{err}"
        );
    }

    #[test]
    fn drop_control_edges_removes_noops() {
        let mut g = Graph::new();
        let a = g.add(Node::new("a", Op::NoOp));
        let b = g.add(Node::new("b", Op::Placeholder));
        g.connect_control(a, b);
        assert_eq!(DropControlEdges.run(&mut g).unwrap().changes, 2);
        assert!(!g.contains(a) && g.control_inputs(b).is_empty());
    }
}
