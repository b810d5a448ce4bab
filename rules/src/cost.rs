//! The cost model and the extractor.
//!
//! Costs estimate TFLite execution: every op pays a dispatch overhead plus work proportional to the
//! elements it writes (a per-channel add right after a conv or matmul is free: it becomes the op's bias
//! input; so is a ReLU, ReLU6 or clamp to [−1, 1] after a conv, dense layer or add, the op's fused
//! activation, as [`sgc_ir::fusion`] says); convolutions and matmuls also pay for their multiply-adds, which is what makes a smaller
//! kernel worth an extra cheap op (see [`crate::stylegan::fused_upscale`]); a TRANSPOSE moves every element
//! through memory with a strided read, so it costs twice that; a RESHAPE moves nothing. Constants and
//! inputs are free. Fewer, fused ops (one LEAKY_RELU instead of MAXIMUM + MUL) win because each op pays
//! the overhead. An op TFLite has no builtin for (one the IR does not know, written as a custom op)
//! costs [`CUSTOM_FACTOR`] times as much: its kernel is the app's to supply, no delegate runs it, and
//! without it the model does not load at all, so builtin alternatives win wherever the rules offer one.
//! (Ops forced custom with `sgc lower --custom-op` are not counted as custom here: that is an explicit
//! request for them.)
//!
//! Extraction is DAG-aware: a tree cost would count a shared sub-graph once per use, which in a deep
//! network like StyleGAN (every activation is read several times) grows exponentially and drowns the
//! differences between candidates in rounding. Instead each class remembers the *set* of classes its
//! best term uses, and a term's cost is the sum over the union of its children's sets, so shared
//! sub-graphs count once (the "greedy DAG" heuristic). A term whose children use the class itself
//! would be a cycle and is never chosen.

use std::collections::HashMap;

use egg::{Id, Language};
use sgc_ir::Op;

use crate::lang::TfNode;
use crate::EGraph;

/// Dispatch overhead of one op, in element-operations.
const OP_OVERHEAD: f64 = 10.0;

/// How much more a custom op costs than a builtin one doing the same work.
pub const CUSTOM_FACTOR: f64 = 8.0;

/// The cost of one node of class `class`, not counting its children.
pub fn node_cost(egraph: &EGraph, class: Id, node: &TfNode) -> f64 {
    let TfNode::Op { op, .. } = node else {
        return 0.0;
    };
    let cost = builtin_cost(egraph, class, node, op);
    if matches!(op, Op::Other(_)) {
        CUSTOM_FACTOR * cost.max(OP_OVERHEAD)
    } else {
        cost
    }
}

/// The cost of `node` (an `op` node of class `class`) as a builtin op.
fn builtin_cost(egraph: &EGraph, class: Id, node: &TfNode, op: &Op) -> f64 {
    let elements = egraph[class]
        .data
        .static_shape()
        .map_or(1000.0, |s| s.iter().product::<usize>() as f64);
    if is_free_bias_add(egraph, node) || is_free_activation(egraph, node) {
        return 1.0;
    }
    match op {
        Op::Reshape | Op::ExpandDims | Op::Squeeze => 1.0,
        sgc_ir::identity_like_ops!() => 0.5,
        Op::Transpose => OP_OVERHEAD + 2.0 * elements,
        _ => OP_OVERHEAD + (elements + multiply_adds(egraph, op, node.children(), elements)) / 4.0,
    }
}

/// Whether `node` is an add that the backend writes as the bias input of the convolution or matmul
/// before it, and so costs no operator ([`crate::util::is_fusable_bias`], in either operand order
/// that [`sgc_ir::fusion::bias_add_operands`] allows, as the backend tries them).
pub fn is_free_bias_add(egraph: &EGraph, node: &TfNode) -> bool {
    let (Some(op), args) = (node.op(), node.children()) else {
        return false;
    };
    args.len() == 2
        && sgc_ir::fusion::bias_add_operands(op)
            .iter()
            .any(|&(v, b)| crate::util::is_fusable_bias(egraph, args[v], args[b]))
}

/// Whether `node` is an activation that the backend writes as the fused activation of the convolution
/// or matmul (or its free bias add) that its operand's class holds ([`sgc_ir::fusion`]; the readers
/// are assumed to allow it, as for bias adds).
pub fn is_free_activation(egraph: &EGraph, node: &TfNode) -> bool {
    let (Some(op), [arg, ..]) = (node.op(), node.children()) else {
        return false;
    };
    let operands: Vec<_> = node
        .children()
        .iter()
        .map(|&c| egraph[c].data.value.as_ref())
        .collect();
    let takes = |class: Id| {
        egraph[class]
            .nodes
            .iter()
            .any(|n| n.op().is_some_and(sgc_ir::fusion::takes_activation))
    };
    // The op that would apply it: the conv a free bias add belongs to, else the node itself.
    sgc_ir::fusion::fusable_activation(op, &operands).is_some()
        && egraph[*arg]
            .nodes
            .iter()
            .any(|n| match (n.op(), n.children()) {
                (Some(add), [a, b]) if is_free_bias_add(egraph, n) => {
                    sgc_ir::fusion::bias_add_operands(add)
                        .iter()
                        .any(|&(v, c)| {
                            let (value, bias) = ([*a, *b][v], [*a, *b][c]);
                            crate::util::is_fusable_bias(egraph, value, bias) && takes(value)
                        })
                }
                (Some(op), _) => sgc_ir::fusion::takes_activation(op),
                _ => false,
            })
}

/// Multiply-adds of a convolution or matmul writing `out` elements (0 for other ops or unknown shapes).
fn multiply_adds(egraph: &EGraph, op: &Op, args: &[Id], out: f64) -> f64 {
    let dims = |i: usize| -> Option<Vec<f64>> {
        let s = egraph[*args.get(i)?].data.static_shape()?;
        Some(s.into_iter().map(|d| d as f64).collect())
    };
    let elements = |i: usize| dims(i).map(|d| d.iter().product::<f64>());
    let macs = match op {
        // filter [kh, kw, Cin per group, Cout]: each output sums kh·kw·Cin/groups products.
        Op::Conv2D => dims(1)
            .filter(|f| f.len() == 4)
            .map(|f| out * f[0] * f[1] * f[2]),
        // filter [kh, kw, C, multiplier]: each output sums kh·kw products.
        Op::DepthwiseConv2dNative => dims(1).filter(|f| f.len() == 4).map(|f| out * f[0] * f[1]),
        // (input_sizes, filter [kh, kw, Cout, Cin], x): each element of x is spread over kh·kw·Cout.
        Op::Conv2DBackpropInput => dims(1)
            .filter(|f| f.len() == 4)
            .zip(elements(2))
            .map(|(f, x)| x * f[0] * f[1] * f[2]),
        // [M, K] × [K, N] → [M, N]: M·N·K = √(MK · KN · MN).
        Op::MatMul => elements(0)
            .zip(elements(1))
            .map(|(a, b)| (a * b * out).sqrt()),
        _ => None,
    };
    macs.unwrap_or(0.0)
}

struct Best {
    node: usize,
    local: f64,
    cost: f64,
    uses: Vec<u64>,
}

/// The cheapest node of every class (by canonical id), DAG-aware (see the module doc).
pub fn extract(egraph: &EGraph) -> HashMap<Id, TfNode> {
    let classes: Vec<Id> = egraph.classes().map(|c| c.id).collect();
    let index: HashMap<Id, usize> = classes.iter().enumerate().map(|(i, &c)| (c, i)).collect();
    let words = classes.len().div_ceil(64);
    let mut best: Vec<Option<Best>> = (0..classes.len()).map(|_| None).collect();

    // Classes whose nodes read class k, to revisit when k's best term changes.
    let mut parents: Vec<Vec<usize>> = vec![Vec::new(); classes.len()];
    for (k, &class) in classes.iter().enumerate() {
        for node in &egraph[class].nodes {
            for &c in node.children() {
                parents[index[&egraph.find(c)]].push(k);
            }
        }
    }
    for p in &mut parents {
        p.sort_unstable();
        p.dedup();
    }

    let mut queue: std::collections::VecDeque<usize> = (0..classes.len()).collect();
    let mut queued = vec![true; classes.len()];
    // A cap on updates, in case choices oscillate; export still refuses a cyclic choice.
    let mut budget = 64 * classes.len() + 1024;
    while let Some(k) = queue.pop_front() {
        queued[k] = false;
        // Re-evaluate the class from scratch on its children's current terms: keeping an old term
        // because it is not beaten would keep its stale set of used classes, and a stale set can hide
        // a cycle through a child whose term changed since.
        let class = classes[k];
        let mut candidate: Option<Best> = None;
        for (ni, node) in egraph[class].nodes.iter().enumerate() {
            let children: Vec<usize> = node
                .children()
                .iter()
                .map(|&c| index[&egraph.find(c)])
                .collect();
            if children.iter().any(|&c| best[c].is_none()) {
                continue;
            }
            let mut uses = vec![0u64; words];
            for &c in &children {
                let child = best[c].as_ref().expect("checked");
                for (w, x) in uses.iter_mut().zip(&child.uses) {
                    *w |= x;
                }
            }
            if uses[k / 64] & (1 << (k % 64)) != 0 {
                continue; // the term would use its own class: a cycle
            }
            let local = node_cost(egraph, class, node);
            let mut cost = local;
            for (w, &bits) in uses.iter().enumerate() {
                let mut bits = bits;
                while bits != 0 {
                    let j = w * 64 + bits.trailing_zeros() as usize;
                    cost += best[j].as_ref().map_or(0.0, |b| b.local);
                    bits &= bits - 1;
                }
            }
            uses[k / 64] |= 1 << (k % 64);
            if candidate
                .as_ref()
                .is_none_or(|b| cost < b.cost - 1e-9 * b.cost.abs().max(1.0))
            {
                candidate = Some(Best {
                    node: ni,
                    local,
                    cost,
                    uses,
                });
            }
        }
        let changed = match (&best[k], &candidate) {
            (None, None) => false,
            (Some(old), Some(new)) => {
                old.node != new.node || old.uses != new.uses || old.cost != new.cost
            }
            _ => true,
        };
        best[k] = candidate;
        if changed {
            budget = budget.saturating_sub(1);
            if budget == 0 {
                break;
            }
            for &p in &parents[k] {
                if !queued[p] {
                    queued[p] = true;
                    queue.push_back(p);
                }
            }
        }
    }

    // For rule authors: `SGC_EGRAPH_DEBUG=1` lists every class left without a term, and why.
    if std::env::var_os("SGC_EGRAPH_DEBUG").is_some() {
        for (k, &class) in classes.iter().enumerate() {
            if best[k].is_some() {
                continue;
            }
            for node in &egraph[class].nodes {
                let why: Vec<String> = node
                    .children()
                    .iter()
                    .map(|&c| {
                        let j = index[&egraph.find(c)];
                        match &best[j] {
                            None => format!("{c}:none"),
                            Some(b) if b.uses[k / 64] & (1 << (k % 64)) != 0 => {
                                format!("{c}:cycle")
                            }
                            Some(_) => format!("{c}:ok"),
                        }
                    })
                    .collect();
                eprintln!("no choice {class}: {node} [{}]", why.join(", "));
            }
        }
    }
    classes
        .iter()
        .enumerate()
        .filter_map(|(k, &c)| {
            best[k]
                .as_ref()
                .map(|b| (c, egraph[c].nodes[b.node].clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert;
    use crate::testing::*;
    use crate::util::{add_const, add_op};
    use sgc_ir::{Attrs, Tensor};

    /// `op(x)` for a sigmoid-like `op`, with `½·tanh(½x) + ½` (four builtin ops) added to its class.
    fn sigmoid_or_tanh(op: Op) -> sgc_ir::Graph {
        let mut b = Builder::new();
        let x = b.input("x", &[1, 64]);
        let y = b.op("sigmoid", Op::Sigmoid, &[x], &[]);
        let mut g = b.output(y);
        g.node_mut(y.node).op = op;
        let mut imported = convert::import(&g).unwrap();
        let eg = &mut imported.egraph;
        let root = imported.roots[0];
        let x = eg[root].nodes[0].children()[0];
        let half = add_const(eg, Tensor::scalar(0.5f32));
        let scaled = add_op(eg, Op::Mul, Attrs::new(), vec![x, half]);
        let tanh = add_op(eg, Op::Tanh, Attrs::new(), vec![scaled]);
        let halved = add_op(eg, Op::Mul, Attrs::new(), vec![tanh, half]);
        let alternative = add_op(eg, Op::AddV2, Attrs::new(), vec![halved, half]);
        eg.union(root, alternative);
        eg.rebuild();
        let choice = extract(&imported.egraph);
        convert::export(&imported, &choice).unwrap()
    }

    #[test]
    fn one_builtin_op_beats_four() {
        let out = sigmoid_or_tanh(Op::Sigmoid);
        assert_eq!(count(&out, &Op::Sigmoid), 1);
        assert_eq!(count(&out, &Op::Tanh), 0);
    }

    #[test]
    fn four_builtin_ops_beat_one_custom_op() {
        let custom = Op::Other("FastSigmoid".into());
        let out = sigmoid_or_tanh(custom.clone());
        assert_eq!(count(&out, &custom), 0, "{}", out.dump());
        assert_eq!(count(&out, &Op::Tanh), 1);
    }
}
