//! IR → e-graph → IR.
//!
//! Import adds every node of the IR graph (equal sub-graphs become one class for free); export emits,
//! for every class the outputs need, the node the extractor chose. A node keeps its IR name when its class
//! came from that node and the chosen node is still the same op; new nodes are named after the class
//! they stand in for (`<name>/<Op>`), after its layout twin (the NHWC form of an NCHW op takes the NCHW
//! op's name), or else after a consumer, so that every op of the lowered model carries a name from the
//! source graph.

use std::collections::{HashMap, HashSet};

use egg::{Id, Language};
use sgc_ir::{Graph, IrError, Node, NodeIndex, Op, Output, ValueRef};

use crate::lang::TfNode;
use crate::{EGraph, TfAnalysis};

/// A graph in an e-graph, with what is needed to get it back out.
pub struct Imported {
    pub egraph: EGraph,
    /// One class per graph output.
    pub roots: Vec<Id>,
    /// The IR name and op of the node each class was imported from.
    names: Vec<(Id, String, Op)>,
    inputs: Vec<Node>,
    output_names: Vec<String>,
}

impl Imported {
    /// The class each IR node was imported into, with the node's name and op.
    pub fn node_classes(&self) -> impl Iterator<Item = (Id, &str, &Op)> {
        self.names
            .iter()
            .map(|(id, name, op)| (*id, name.as_str(), op))
    }
}

/// Puts `graph` (without control edges) into a new e-graph.
pub fn import(graph: &Graph) -> Result<Imported, IrError> {
    let inputs: Vec<Node> = graph
        .inputs
        .iter()
        .map(|&n| graph.node(n).clone())
        .collect();
    let mut analysis = TfAnalysis::new(inputs.iter().map(|n| n.outputs[0].clone()).collect());
    analysis.backing = graph.backing.clone();
    let mut egraph = EGraph::new(analysis);
    let mut class_of: HashMap<NodeIndex, Id> = HashMap::new();
    let mut names = Vec::new();
    for n in graph.topo_order()? {
        let node = graph.node(n);
        if !graph.control_inputs(n).is_empty() {
            return Err(IrError::node(
                &node.name,
                "has control inputs: the e-graph pass runs after control edges are dropped",
            ));
        }
        let enode = match &node.op {
            Op::Placeholder => {
                let Some(i) = graph.inputs.iter().position(|&i| i == n) else {
                    return Err(IrError::node(
                        &node.name,
                        "placeholder is not a graph input",
                    ));
                };
                TfNode::Input(i as u32)
            }
            Op::Const => {
                let t = node
                    .const_value()
                    .ok_or_else(|| IrError::node(&node.name, "Const without a value"))?;
                TfNode::Const(egraph.analysis.intern_const(t.clone()))
            }
            op => {
                let args = graph
                    .inputs(n)
                    .into_iter()
                    .map(|v| value_class(&mut egraph, graph, &class_of, v))
                    .collect();
                let attrs = egraph.analysis.intern_attrs(node.attrs.clone());
                TfNode::Op {
                    op: op.clone(),
                    attrs,
                    args,
                }
            }
        };
        let id = egraph.add(enode);
        class_of.insert(n, id);
        names.push((id, node.name.clone(), node.op.clone()));
    }
    let roots = graph
        .outputs
        .iter()
        .map(|o| value_class(&mut egraph, graph, &class_of, o.value))
        .collect();
    egraph.rebuild();
    Ok(Imported {
        egraph,
        roots,
        names,
        inputs,
        output_names: graph.outputs.iter().map(|o| o.name.clone()).collect(),
    })
}

fn value_class(
    egraph: &mut EGraph,
    graph: &Graph,
    class_of: &HashMap<NodeIndex, Id>,
    v: ValueRef,
) -> Id {
    let class = class_of[&v.node];
    if graph.node(v.node).outputs.len() > 1 {
        egraph.add(TfNode::Proj(v.port as u32, [class]))
    } else {
        class
    }
}

/// Gives a class that no IR node was imported into the name of its *layout twin*: the named class it is
/// a `Transpose` or `Reshape` of, or that is one of it. The layout rules make the NHWC twin of every NCHW
/// op, and it is the twin that survives, so this keeps `G_synthesis/8x8/Conv0/…` names on the ops of the
/// lowered model (a report reader finds them in the source graph) instead of `sgc/Op_N`.
fn name_layout_twins<'a>(
    egraph: &'a EGraph,
    class_name: &mut HashMap<Id, (&'a str, Option<&'a Op>)>,
) {
    let mut twins: HashMap<Id, Vec<Id>> = HashMap::new();
    for class in egraph.classes() {
        for node in &class.nodes {
            if let TfNode::Op {
                op: Op::Transpose | Op::Reshape,
                args,
                ..
            } = node
            {
                let Some(&first) = args.first() else { continue };
                let other = egraph.find(first);
                twins.entry(class.id).or_default().push(other);
                twins.entry(other).or_default().push(class.id);
            }
        }
    }
    spread_names(
        class_name,
        |c| twins.get(&c).cloned().unwrap_or_default(),
        false,
    );
}

/// Gives a class still without a name (a value a rule made up, such as a folded scale) its first named
/// consumer's name as a prefix: `…/InstanceNorm/mul/Mul` says which layer it belongs to.
fn name_after_consumers<'a>(
    egraph: &'a EGraph,
    class_name: &mut HashMap<Id, (&'a str, Option<&'a Op>)>,
) {
    let children = |c: Id| -> Vec<Id> {
        egraph[c]
            .nodes
            .iter()
            .flat_map(|n| n.children().iter().map(|&k| egraph.find(k)))
            .collect()
    };
    spread_names(class_name, children, true);
}

/// Breadth-first from the named classes (in class order, so names are deterministic): every unnamed
/// neighbour takes its discoverer's name, as a borrowed prefix when `borrowed` (its op then `None`).
fn spread_names<'a>(
    class_name: &mut HashMap<Id, (&'a str, Option<&'a Op>)>,
    neighbours: impl Fn(Id) -> Vec<Id>,
    borrowed: bool,
) {
    let mut queue: Vec<Id> = class_name.keys().copied().collect();
    queue.sort();
    let mut queue: std::collections::VecDeque<Id> = queue.into();
    while let Some(class) = queue.pop_front() {
        let (name, op) = class_name[&class];
        for next in neighbours(class) {
            if let std::collections::hash_map::Entry::Vacant(e) = class_name.entry(next) {
                e.insert((name, if borrowed { None } else { op }));
                queue.push_back(next);
            }
        }
    }
}

/// Builds the IR graph of the chosen nodes (`choice` maps canonical classes to nodes).
pub fn export(imported: &Imported, choice: &HashMap<Id, TfNode>) -> Result<Graph, IrError> {
    let egraph = &imported.egraph;
    let mut graph = Graph::new();
    for node in &imported.inputs {
        let n = graph.add(node.clone());
        graph.inputs.push(n);
    }
    // The first IR node imported into a class names it.
    // The op is `None` for a name borrowed from a consumer: a node then never takes it verbatim.
    let mut class_name: HashMap<Id, (&str, Option<&Op>)> = HashMap::new();
    for (id, name, op) in &imported.names {
        class_name
            .entry(egraph.find(*id))
            .or_insert((name, Some(op)));
    }
    name_layout_twins(egraph, &mut class_name);
    name_after_consumers(egraph, &mut class_name);
    let mut used: HashSet<String> = imported.inputs.iter().map(|n| n.name.clone()).collect();
    let reserved: HashSet<&str> = imported.names.iter().map(|(_, n, _)| n.as_str()).collect();
    let mut emitted: HashMap<Id, ValueRef> = HashMap::new();
    let mut in_progress: HashSet<Id> = HashSet::new();

    for &root in &imported.roots {
        // Iterative post-order: a class is emitted after its children.
        let mut stack = vec![(egraph.find(root), false)];
        while let Some((class, ready)) = stack.pop() {
            if emitted.contains_key(&class) {
                continue;
            }
            let node = choice.get(&class).ok_or_else(|| {
                let nodes: Vec<String> = egraph[class]
                    .nodes
                    .iter()
                    .map(|n| {
                        let kids: Vec<String> = n
                            .children()
                            .iter()
                            .map(|c| {
                                format!(
                                    "{}{}",
                                    c,
                                    if choice.contains_key(&egraph.find(*c)) {
                                        ""
                                    } else {
                                        "!"
                                    }
                                )
                            })
                            .collect();
                        format!("{n}({})", kids.join(","))
                    })
                    .collect();
                IrError::node(
                    class_name.get(&class).map_or("<egraph>", |(n, _)| n),
                    format!(
                        "extraction found no acyclic term for this value (class {class}: {})",
                        nodes.join(" | ")
                    ),
                )
            })?;
            if !ready {
                in_progress.insert(class);
                stack.push((class, true));
                for &c in node.children() {
                    let c = egraph.find(c);
                    if in_progress.contains(&c) {
                        return Err(IrError::node(
                            class_name.get(&c).map_or("<egraph>", |(n, _)| n),
                            "extraction chose a cycle (an extractor bug)",
                        ));
                    }
                    if !emitted.contains_key(&c) {
                        stack.push((c, false));
                    }
                }
                continue;
            }
            in_progress.remove(&class);
            let name = |kind: &str, same_kind: bool| -> String {
                match class_name.get(&class) {
                    Some((orig, _)) if same_kind && !used.contains(*orig) => orig.to_string(),
                    other => {
                        let base = other.map_or("sgc", |(n, _)| n);
                        let mut candidate = format!("{base}/{kind}");
                        let mut i = 1;
                        while used.contains(&candidate) || reserved.contains(candidate.as_str()) {
                            candidate = format!("{base}/{kind}_{i}");
                            i += 1;
                        }
                        candidate
                    }
                }
            };
            let orig_op = class_name.get(&class).and_then(|(_, op)| *op);
            let value = match node {
                TfNode::Input(i) => ValueRef::from(graph.inputs[*i as usize]),
                TfNode::Const(c) => {
                    let n = name("const", orig_op == Some(&Op::Const));
                    used.insert(n.clone());
                    graph
                        .add_const(n, egraph.analysis.constant(*c).clone())
                        .into()
                }
                TfNode::Proj(port, [tuple]) => {
                    let t = emitted[&egraph.find(*tuple)];
                    ValueRef::new(t.node, *port as usize)
                }
                TfNode::Op { op, attrs, args } => {
                    let n = name(op.name(), orig_op == Some(op));
                    used.insert(n.clone());
                    let mut ir = Node::new(n, op.clone());
                    ir.attrs = egraph.analysis.attrs(*attrs).clone();
                    ir.outputs = egraph[class].data.outputs.clone();
                    let idx = graph.add(ir);
                    for (slot, a) in args.iter().enumerate() {
                        graph.connect(emitted[&egraph.find(*a)], idx, slot);
                    }
                    idx.into()
                }
            };
            emitted.insert(class, value);
        }
    }
    graph.outputs = imported
        .roots
        .iter()
        .zip(&imported.output_names)
        .map(|(&r, name)| Output {
            name: name.clone(),
            value: emitted[&egraph.find(r)],
        })
        .collect();
    Ok(graph)
}
