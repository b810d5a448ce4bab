//! The dataflow graph.
//!
//! Nodes are ops; an edge carries either one output value of its source into one input slot of its target
//! ([`Edge::Data`]) or only an ordering constraint ([`Edge::Control`]). A node's inputs are its incoming data
//! edges ordered by slot; a value is a `(node, port)` pair ([`ValueRef`]), so multi-output ops such as
//! `Switch` or `Split` need no special casing. The graph is a petgraph `StableDiGraph`, so node indices stay
//! valid while passes remove nodes.

use std::collections::VecDeque;
use std::fmt::{self, Write};

use petgraph::stable_graph::StableDiGraph;
use petgraph::visit::{EdgeRef, NodeIndexable};
use petgraph::Direction;

pub use petgraph::stable_graph::NodeIndex;

use crate::attr::{Attr, Attrs};
use crate::dtype::DType;
use crate::error::{IrError, Result};
use crate::op::Op;
use crate::tensor::Tensor;

/// The static type of one value: dtype and shape, each unknown until inferred.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueInfo {
    pub dtype: Option<DType>,
    /// `None` for unknown rank; a dimension of -1 is unknown.
    pub shape: Option<Vec<i64>>,
}

impl ValueInfo {
    pub fn new(dtype: DType, shape: Vec<i64>) -> Self {
        ValueInfo {
            dtype: Some(dtype),
            shape: Some(shape),
        }
    }

    /// The shape when every dimension is known.
    pub fn static_shape(&self) -> Option<Vec<usize>> {
        let s = self.shape.as_ref()?;
        s.iter()
            .map(|&d| usize::try_from(d).ok())
            .collect::<Option<Vec<_>>>()
    }
}

impl fmt::Display for ValueInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.dtype {
            Some(d) => write!(f, "{d}")?,
            None => f.write_str("?")?,
        }
        match &self.shape {
            None => f.write_str("[*]"),
            Some(s) => {
                f.write_str("[")?;
                for (i, d) in s.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    if *d < 0 {
                        f.write_str("?")?;
                    } else {
                        write!(f, "{d}")?;
                    }
                }
                f.write_str("]")
            }
        }
    }
}

/// One op of the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Unique within the graph; imported nodes keep their TensorFlow names.
    pub name: String,
    pub op: Op,
    pub attrs: Attrs,
    /// One entry per output port.
    pub outputs: Vec<ValueInfo>,
}

impl Node {
    pub fn new(name: impl Into<String>, op: Op) -> Self {
        Node {
            name: name.into(),
            op,
            attrs: Attrs::new(),
            outputs: vec![ValueInfo::default()],
        }
    }

    pub fn with_attr(mut self, name: &str, value: Attr) -> Self {
        self.attrs.set(name, value);
        self
    }

    /// The constant this node holds, if it is a `Const`.
    pub fn const_value(&self) -> Option<&Tensor> {
        if self.op == Op::Const {
            self.attrs.tensor("value")
        } else {
            None
        }
    }
}

/// One output of one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueRef {
    pub node: NodeIndex,
    pub port: usize,
}

impl ValueRef {
    pub fn new(node: NodeIndex, port: usize) -> Self {
        ValueRef { node, port }
    }
}

impl From<NodeIndex> for ValueRef {
    fn from(node: NodeIndex) -> Self {
        ValueRef { node, port: 0 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// Output `port` of the source feeds input `slot` of the target.
    Data { port: usize, slot: usize },
    /// The target runs after the source; no value flows.
    Control,
}

/// A named graph output.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The name the output is known by (TensorFlow's `node` or `node:port`).
    pub name: String,
    pub value: ValueRef,
}

/// A dataflow graph with its chosen inputs and outputs.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    g: StableDiGraph<Node, Edge>,
    /// The graph's inputs (placeholders), in signature order.
    pub inputs: Vec<NodeIndex>,
    /// The graph's outputs, in signature order.
    pub outputs: Vec<Output>,
    /// The memory-mapped file its constants may view, if any.
    pub backing: Option<crate::Backing>,
}

impl Graph {
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops the resident pages of the file the constants view ([`crate::backing`]), if any.
    pub fn release_backing(&self) {
        if let Some(b) = &self.backing {
            b.release();
        }
    }

    pub fn add(&mut self, node: Node) -> NodeIndex {
        self.g.add_node(node)
    }

    /// Adds a one-output `op` node named `name` reading `inputs`, its output typed `out`.
    pub fn add_op(
        &mut self,
        name: impl Into<String>,
        op: Op,
        attrs: Attrs,
        inputs: &[ValueRef],
        out: ValueInfo,
    ) -> ValueRef {
        let mut node = Node::new(name, op);
        node.attrs = attrs;
        node.outputs = vec![out];
        let id = self.add(node);
        self.set_inputs(id, inputs);
        ValueRef::from(id)
    }

    /// Adds a `Const` node holding `value`, with its type filled in.
    pub fn add_const(&mut self, name: impl Into<String>, value: Tensor) -> NodeIndex {
        let info = ValueInfo::new(
            value.dtype(),
            value.shape().iter().map(|&d| d as i64).collect(),
        );
        let mut node = Node::new(name, Op::Const)
            .with_attr("dtype", Attr::Type(value.dtype()))
            .with_attr("value", Attr::Tensor(value));
        node.outputs = vec![info];
        self.add(node)
    }

    pub fn node(&self, n: NodeIndex) -> &Node {
        &self.g[n]
    }

    pub fn node_mut(&mut self, n: NodeIndex) -> &mut Node {
        &mut self.g[n]
    }

    pub fn contains(&self, n: NodeIndex) -> bool {
        self.g.contains_node(n)
    }

    pub fn node_count(&self) -> usize {
        self.g.node_count()
    }

    /// All node indices, in insertion order.
    pub fn node_indices(&self) -> impl Iterator<Item = NodeIndex> + '_ {
        self.g.node_indices()
    }

    /// The node with this name (a linear scan: for user-facing look-ups, not for inner loops).
    pub fn find(&self, name: &str) -> Option<NodeIndex> {
        self.g.node_indices().find(|&n| self.g[n].name == name)
    }

    /// A node name not yet used in the graph, derived from `base`.
    pub fn unique_name(&self, base: &str) -> String {
        if self.find(base).is_none() {
            return base.to_string();
        }
        (1..)
            .map(|i| format!("{base}_{i}"))
            .find(|name| self.find(name).is_none())
            .expect("some suffix is free")
    }

    pub fn info(&self, v: ValueRef) -> &ValueInfo {
        &self.g[v.node].outputs[v.port]
    }

    /// The constant behind a value, if its producer is a `Const`.
    pub fn const_value(&self, v: ValueRef) -> Option<&Tensor> {
        if v.port == 0 {
            self.g[v.node].const_value()
        } else {
            None
        }
    }

    /// Feeds `src` into input `slot` of `dst`.
    pub fn connect(&mut self, src: ValueRef, dst: NodeIndex, slot: usize) {
        self.g.add_edge(
            src.node,
            dst,
            Edge::Data {
                port: src.port,
                slot,
            },
        );
    }

    /// Makes `dst` run after `src`.
    pub fn connect_control(&mut self, src: NodeIndex, dst: NodeIndex) {
        self.g.add_edge(src, dst, Edge::Control);
    }

    /// The data inputs of `n` as stored: `(slot, value)` per incoming data edge, in slot order (for
    /// [`Graph::verify`], which checks that the slots are `0..k` each once).
    pub fn data_slots(&self, n: NodeIndex) -> Vec<(usize, ValueRef)> {
        let mut ins: Vec<(usize, ValueRef)> = self
            .g
            .edges_directed(n, Direction::Incoming)
            .filter_map(|e| match *e.weight() {
                Edge::Data { port, slot } => Some((slot, ValueRef::new(e.source(), port))),
                Edge::Control => None,
            })
            .collect();
        ins.sort_by_key(|(slot, _)| *slot);
        ins
    }

    /// The data inputs of `n`, in slot order.
    pub fn inputs(&self, n: NodeIndex) -> Vec<ValueRef> {
        self.data_slots(n).into_iter().map(|(_, v)| v).collect()
    }

    /// The control predecessors of `n`.
    pub fn control_inputs(&self, n: NodeIndex) -> Vec<NodeIndex> {
        let mut v: Vec<NodeIndex> = self
            .g
            .edges_directed(n, Direction::Incoming)
            .filter(|e| *e.weight() == Edge::Control)
            .map(|e| e.source())
            .collect();
        v.sort();
        v
    }

    /// Replaces all data inputs of `n` (control inputs are kept).
    pub fn set_inputs(&mut self, n: NodeIndex, inputs: &[ValueRef]) {
        let old: Vec<_> = self
            .g
            .edges_directed(n, Direction::Incoming)
            .filter(|e| matches!(e.weight(), Edge::Data { .. }))
            .map(|e| e.id())
            .collect();
        for e in old {
            self.g.remove_edge(e);
        }
        for (slot, &v) in inputs.iter().enumerate() {
            self.connect(v, n, slot);
        }
    }

    /// Removes every control edge into `n`.
    pub fn clear_control_inputs(&mut self, n: NodeIndex) {
        let old: Vec<_> = self
            .g
            .edges_directed(n, Direction::Incoming)
            .filter(|e| *e.weight() == Edge::Control)
            .map(|e| e.id())
            .collect();
        for e in old {
            self.g.remove_edge(e);
        }
    }

    /// The `(consumer, slot)` pairs that read value `v`.
    pub fn consumers(&self, v: ValueRef) -> Vec<(NodeIndex, usize)> {
        let mut c: Vec<_> = self
            .g
            .edges_directed(v.node, Direction::Outgoing)
            .filter_map(|e| match *e.weight() {
                Edge::Data { port, slot } if port == v.port => Some((e.target(), slot)),
                _ => None,
            })
            .collect();
        c.sort();
        c
    }

    /// Nodes that depend on `n` through a data or control edge.
    pub fn successors(&self, n: NodeIndex) -> Vec<NodeIndex> {
        let mut s: Vec<_> = self.g.neighbors_directed(n, Direction::Outgoing).collect();
        s.sort();
        s.dedup();
        s
    }

    /// True when some node or graph output reads value `v`.
    pub fn is_used(&self, v: ValueRef) -> bool {
        !self.consumers(v).is_empty() || self.outputs.iter().any(|o| o.value == v)
    }

    /// Makes every reader of `old` (consumers and graph outputs) read `new` instead.
    pub fn replace_uses(&mut self, old: ValueRef, new: ValueRef) {
        if old == new {
            return;
        }
        let edges: Vec<_> = self
            .g
            .edges_directed(old.node, Direction::Outgoing)
            .filter_map(|e| match *e.weight() {
                Edge::Data { port, slot } if port == old.port => Some((e.id(), e.target(), slot)),
                _ => None,
            })
            .collect();
        for (id, target, slot) in edges {
            self.g.remove_edge(id);
            self.connect(new, target, slot);
        }
        for o in &mut self.outputs {
            if o.value == old {
                o.value = new;
            }
        }
    }

    /// Removes a node and its edges. Graph inputs that name it are dropped too.
    pub fn remove(&mut self, n: NodeIndex) -> Option<Node> {
        self.inputs.retain(|&i| i != n);
        self.g.remove_node(n)
    }

    /// Nodes in an order where every node comes after its data and control inputs; ties keep insertion
    /// order, so the order is deterministic.
    pub fn topo_order(&self) -> Result<Vec<NodeIndex>> {
        let bound = self.g.node_bound();
        let mut indegree = vec![0usize; bound];
        for n in self.g.node_indices() {
            indegree[n.index()] = self.g.edges_directed(n, Direction::Incoming).count();
        }
        let mut ready: VecDeque<NodeIndex> = self
            .g
            .node_indices()
            .filter(|n| indegree[n.index()] == 0)
            .collect();
        let mut order = Vec::with_capacity(self.g.node_count());
        while let Some(n) = ready.pop_front() {
            order.push(n);
            for e in self.g.edges_directed(n, Direction::Outgoing) {
                let t = e.target();
                indegree[t.index()] -= 1;
                if indegree[t.index()] == 0 {
                    ready.push_back(t);
                }
            }
        }
        if order.len() != self.g.node_count() {
            let stuck = self
                .g
                .node_indices()
                .find(|n| indegree[n.index()] > 0)
                .expect("a node is left");
            return Err(IrError::Cycle {
                node: self.g[stuck].name.clone(),
            });
        }
        Ok(order)
    }

    /// How a value is written in dumps and error messages: `name` or `name:port`.
    pub fn value_name(&self, v: ValueRef) -> String {
        let name = &self.g[v.node].name;
        if v.port == 0 {
            name.clone()
        } else {
            format!("{name}:{}", v.port)
        }
    }

    /// A stable, line-per-node text form of the graph, in topological order. Large constants are shown by
    /// type only, small ones with their values.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        let order = self
            .topo_order()
            .unwrap_or_else(|_| self.g.node_indices().collect());
        let inputs: Vec<String> = self
            .inputs
            .iter()
            .map(|&n| self.g[n].name.clone())
            .collect();
        let _ = writeln!(out, "inputs: {}", inputs.join(", "));
        let outputs: Vec<String> = self
            .outputs
            .iter()
            .map(|o| format!("{}={}", o.name, self.value_name(o.value)))
            .collect();
        let _ = writeln!(out, "outputs: {}", outputs.join(", "));
        for n in order {
            let node = &self.g[n];
            let types: Vec<String> = node.outputs.iter().map(|i| i.to_string()).collect();
            let _ = write!(out, "{} = {}(", node.name, node.op);
            let mut args: Vec<String> = self
                .inputs(n)
                .into_iter()
                .map(|v| self.value_name(v))
                .collect();
            args.extend(
                self.control_inputs(n)
                    .into_iter()
                    .map(|c| format!("^{}", self.g[c].name)),
            );
            let _ = write!(out, "{})", args.join(", "));
            let attrs: Vec<String> = node
                .attrs
                .0
                .iter()
                .filter(|(k, _)| !k.starts_with('_'))
                .map(|(k, v)| match v {
                    Attr::Tensor(t) if t.numel() <= 8 => {
                        format!("{k}={}", small_tensor(t))
                    }
                    _ => format!("{k}={v}"),
                })
                .collect();
            if !attrs.is_empty() {
                let _ = write!(out, " {{{}}}", attrs.join(", "));
            }
            let _ = writeln!(out, " -> {}", types.join(", "));
        }
        out
    }
}

fn small_tensor(t: &Tensor) -> String {
    match t.to_f64s() {
        Ok(v) => format!("{}{:?}{:?}", t.dtype(), t.shape(), v),
        Err(_) => format!("{}{:?}", t.dtype(), t.shape()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> (Graph, NodeIndex, NodeIndex, NodeIndex) {
        let mut g = Graph::new();
        let x = g.add(Node::new("x", Op::Placeholder));
        let c = g.add_const("c", Tensor::scalar(2.0f32));
        let m = g.add(Node::new("m", Op::Mul));
        g.connect(x.into(), m, 0);
        g.connect(c.into(), m, 1);
        g.inputs.push(x);
        g.outputs.push(Output {
            name: "m".into(),
            value: m.into(),
        });
        (g, x, c, m)
    }

    #[test]
    fn inputs_come_in_slot_order() {
        let (mut g, x, c, m) = chain();
        assert_eq!(g.inputs(m), vec![ValueRef::from(x), ValueRef::from(c)]);
        g.set_inputs(m, &[c.into(), x.into()]);
        assert_eq!(g.inputs(m), vec![ValueRef::from(c), ValueRef::from(x)]);
    }

    #[test]
    fn replace_uses_moves_consumers_and_outputs() {
        let (mut g, x, _c, m) = chain();
        let y = g.add(Node::new("y", Op::Identity));
        g.connect(m.into(), y, 0);
        g.replace_uses(m.into(), x.into());
        assert_eq!(g.inputs(y), vec![ValueRef::from(x)]);
        assert_eq!(g.outputs[0].value, ValueRef::from(x));
        assert!(!g.is_used(m.into()));
    }

    #[test]
    fn topo_order_reports_cycles_by_name() {
        let (mut g, _x, _c, m) = chain();
        assert_eq!(g.topo_order().unwrap().last(), Some(&m));
        let a = g.add(Node::new("a", Op::Identity));
        let b = g.add(Node::new("b", Op::Identity));
        g.connect(a.into(), b, 0);
        g.connect(b.into(), a, 0);
        let err = g.topo_order().unwrap_err();
        assert!(matches!(err, IrError::Cycle { .. }), "{err}");
    }

    #[test]
    fn dump_is_stable_text() {
        let (g, ..) = chain();
        assert_eq!(
            g.dump(),
            "inputs: x\noutputs: m=m\nx = Placeholder() -> ?[*]\n\
             c = Const() {dtype=f32, value=f32[][2.0]} -> f32[]\nm = Mul(x, c) -> ?[*]\n"
        );
    }
}
