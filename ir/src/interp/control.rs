//! Whole-graph evaluation with TensorFlow 1.x dead-value semantics.

use std::collections::HashMap;

use super::eval;
use crate::dtype::DType;
use crate::error::{IrError, Result};
use crate::graph::{Graph, NodeIndex, ValueRef};
use crate::op::Op;
use crate::tensor::Tensor;

/// The outputs of one evaluated node. `None` marks a dead value; a dead node has all outputs dead.
struct Outs {
    dead: bool,
    vals: Vec<Option<Tensor>>,
}

/// Evaluates what `fetch` needs of `graph`, in topological order, with `feeds` replacing the values of
/// port 0 of the fed nodes (whose own inputs are then not evaluated).
///
/// Control flow follows TensorFlow 1.x: a `Switch` forwards its data to `output_true` or
/// `output_false` as its predicate says and the other output is dead; an op with a dead input is dead,
/// except `Merge`, which forwards its first live input and its index and is dead only when all inputs
/// are. Fetching a dead value is an error. Control edges carry no values, so nodes reached only through
/// them are not evaluated.
pub fn run(
    graph: &Graph,
    feeds: &[(NodeIndex, Tensor)],
    fetch: &[ValueRef],
) -> Result<Vec<Tensor>> {
    let fed: HashMap<NodeIndex, &Tensor> = feeds.iter().map(|(n, t)| (*n, t)).collect();
    for &(n, _) in feeds {
        if !graph.contains(n) {
            return Err(IrError::node(
                format!("#{}", n.index()),
                "fed node is not in the graph",
            ));
        }
    }
    let order = needed_order(graph, &fed, fetch)?;

    // How many more reads each value has, so that values are dropped once consumed.
    let mut uses: HashMap<ValueRef, usize> = HashMap::new();
    let mut inputs_of: HashMap<NodeIndex, Vec<ValueRef>> = HashMap::new();
    for &n in &order {
        if fed.contains_key(&n) {
            continue;
        }
        let ins = graph.inputs(n);
        for &v in &ins {
            *uses.entry(v).or_default() += 1;
        }
        inputs_of.insert(n, ins);
    }
    for &v in fetch {
        *uses.entry(v).or_default() += 1;
    }

    let mut done: HashMap<NodeIndex, Outs> = HashMap::new();
    for &n in &order {
        let node = graph.node(n);
        if let Some(t) = fed.get(&n) {
            done.insert(
                n,
                Outs {
                    dead: false,
                    vals: vec![Some((*t).clone())],
                },
            );
            continue;
        }
        let ins = inputs_of.remove(&n).unwrap_or_default();
        let mut vals: Vec<Option<Tensor>> = Vec::with_capacity(ins.len());
        for &v in &ins {
            vals.push(take(graph, &mut done, &mut uses, v)?);
        }
        let outs = match node.op {
            Op::Switch | Op::RefSwitch => {
                if vals.len() != 2 {
                    return Err(IrError::node(
                        &node.name,
                        format!("expected 2 inputs, got {}", vals.len()),
                    ));
                }
                match (&vals[0], &vals[1]) {
                    (Some(data), Some(pred)) => {
                        let p = predicate(pred).map_err(|r| IrError::node(&node.name, r))?;
                        let (f, t) = if p {
                            (None, Some(data.clone()))
                        } else {
                            (Some(data.clone()), None)
                        };
                        Outs {
                            dead: false,
                            vals: vec![f, t],
                        }
                    }
                    _ => dead(),
                }
            }
            Op::Merge => match vals.iter().position(Option::is_some) {
                Some(i) => Outs {
                    dead: false,
                    vals: vec![vals[i].take(), Some(Tensor::scalar(i as i32))],
                },
                None if vals.is_empty() => {
                    return Err(IrError::node(&node.name, "Merge needs at least one input"))
                }
                None => dead(),
            },
            _ if vals.iter().any(Option::is_none) => dead(),
            _ => {
                let live: Vec<Tensor> = vals.into_iter().map(|v| v.expect("live")).collect();
                let res = eval(node, &live)?;
                Outs {
                    dead: false,
                    vals: res.into_iter().map(Some).collect(),
                }
            }
        };
        done.insert(n, outs);
    }

    let mut result = Vec::with_capacity(fetch.len());
    for &v in fetch {
        match take(graph, &mut done, &mut uses, v)? {
            Some(t) => result.push(t),
            None => {
                return Err(IrError::node(
                    &graph.node(v.node).name,
                    format!("fetched value {} is dead", graph.value_name(v)),
                ))
            }
        }
    }
    Ok(result)
}

fn dead() -> Outs {
    Outs {
        dead: true,
        vals: vec![],
    }
}

/// The value of `v` (`None` when dead), dropping it from `done` on its last read.
fn take(
    graph: &Graph,
    done: &mut HashMap<NodeIndex, Outs>,
    uses: &mut HashMap<ValueRef, usize>,
    v: ValueRef,
) -> Result<Option<Tensor>> {
    let outs = done.get_mut(&v.node).ok_or_else(|| {
        IrError::node(
            &graph.node(v.node).name,
            "internal: value read before it was computed",
        )
    })?;
    if outs.dead {
        return Ok(None);
    }
    let name = || graph.node(v.node).name.clone();
    let count = outs.vals.len();
    let slot = outs.vals.get_mut(v.port).ok_or_else(|| {
        IrError::node(name(), format!("has no output {} (it has {count})", v.port))
    })?;
    let left = uses.get_mut(&v).map(|u| {
        *u = u.saturating_sub(1);
        *u
    });
    Ok(if left == Some(0) {
        slot.take()
    } else {
        slot.clone()
    })
}

fn predicate(t: &Tensor) -> std::result::Result<bool, String> {
    if t.dtype() != DType::Bool || t.numel() != 1 {
        return Err(format!(
            "predicate must be a bool scalar, got {}{:?}",
            t.dtype(),
            t.shape()
        ));
    }
    Ok(t.bytes()[0] != 0)
}

/// The nodes the fetches need through data edges (not past fed nodes), inputs before consumers.
fn needed_order(
    graph: &Graph,
    fed: &HashMap<NodeIndex, &Tensor>,
    fetch: &[ValueRef],
) -> Result<Vec<NodeIndex>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    let mut mark: HashMap<NodeIndex, Mark> = HashMap::new();
    let mut order = Vec::new();
    for &f in fetch {
        if !graph.contains(f.node) {
            return Err(IrError::node(
                format!("#{}", f.node.index()),
                "fetched node is not in the graph",
            ));
        }
        if mark.contains_key(&f.node) {
            continue;
        }
        // Iterative post-order DFS: (node, its inputs, next input to visit).
        let mut stack: Vec<(NodeIndex, Vec<NodeIndex>, usize)> = Vec::new();
        let kids = |n: NodeIndex| -> Vec<NodeIndex> {
            if fed.contains_key(&n) {
                vec![]
            } else {
                graph.inputs(n).into_iter().map(|v| v.node).collect()
            }
        };
        mark.insert(f.node, Mark::Visiting);
        stack.push((f.node, kids(f.node), 0));
        while let Some(top) = stack.last_mut() {
            if top.2 < top.1.len() {
                let k = top.1[top.2];
                top.2 += 1;
                match mark.get(&k) {
                    Some(Mark::Done) => {}
                    Some(Mark::Visiting) => {
                        return Err(IrError::Cycle {
                            node: graph.node(k).name.clone(),
                        })
                    }
                    None => {
                        mark.insert(k, Mark::Visiting);
                        let ks = kids(k);
                        stack.push((k, ks, 0));
                    }
                }
            } else {
                let n = top.0;
                stack.pop();
                mark.insert(n, Mark::Done);
                order.push(n);
            }
        }
    }
    Ok(order)
}
