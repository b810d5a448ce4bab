//! The e-class analysis: dtype, shape and constant value of every class.
//!
//! Types come from the IR's own shape inference ([`sgc_ir::shape::infer`]) and values from its reference
//! interpreter, so the e-graph and the passes cannot disagree about what an op means. A class whose value
//! is known gets a [`TfNode::Const`] node: a rule that transposes a constant operand thereby transposes
//! it at compile time. Folding follows the IR's rule of never growing the model.

use std::collections::HashMap;

use egg::{DidMerge, Id};
use sgc_ir::{interp, shape, Attrs, Node, Tensor, ValueInfo};

use crate::lang::{AttrsId, TfNode};
use crate::EGraph;

/// Values larger than this (elements) are not computed inside the e-graph.
const MAX_FOLDED_ELEMENTS: usize = 1 << 24;

/// Tables behind the leaves and attributes of e-nodes.
#[derive(Debug, Default)]
pub struct TfAnalysis {
    attrs: Vec<Attrs>,
    attrs_index: HashMap<String, AttrsId>,
    consts: Vec<Tensor>,
    consts_index: HashMap<ConstKey, u32>,
    /// Constants a rule derived from other classes, by the rule's key and those classes (see
    /// [`crate::util::derived_const`]): egg calls an applier again for every match in every iteration,
    /// and recomputing a folded weight each time made the e-graph of a 218 MB net run into its time
    /// limit.
    /// `None`: the rule found no such constant (a kernel that is no box sum), also worth remembering.
    pub(crate) derived: HashMap<(&'static str, Vec<Id>), Option<Id>>,
    /// Types of the graph inputs, by position.
    pub inputs: Vec<ValueInfo>,
    /// The graph's memory-mapped input file, if any: a rule that replaces a weight by a folded copy
    /// lets the file's pages under the original go ([`sgc_ir::Backing::release_bytes`]), so that the
    /// two do not both stay in memory.
    pub backing: Option<sgc_ir::Backing>,
}

impl TfAnalysis {
    /// An analysis for a graph whose inputs have these types.
    pub fn new(inputs: Vec<ValueInfo>) -> Self {
        TfAnalysis {
            inputs,
            ..Default::default()
        }
    }

    pub fn intern_attrs(&mut self, attrs: Attrs) -> AttrsId {
        let key = format!("{:?}", attrs.0);
        if let Some(&id) = self.attrs_index.get(&key) {
            return id;
        }
        let id = AttrsId(self.attrs.len() as u32);
        self.attrs.push(attrs);
        self.attrs_index.insert(key, id);
        id
    }

    pub fn attrs(&self, id: AttrsId) -> &Attrs {
        &self.attrs[id.0 as usize]
    }

    /// The constant table index of `t`; equal tensors share one entry.
    pub fn intern_const(&mut self, t: Tensor) -> u32 {
        let key = ConstKey(t.clone());
        if let Some(&id) = self.consts_index.get(&key) {
            return id;
        }
        let id = self.consts.len() as u32;
        self.consts.push(t);
        self.consts_index.insert(key, id);
        id
    }

    pub fn constant(&self, id: u32) -> &Tensor {
        &self.consts[id as usize]
    }
}

/// A constant as a hash key: equal when dtype, shape and bytes are; hashed by dtype, shape, length
/// and a sample of the bytes (the first and last 4 KiB), so that a large weight is not hashed whole
/// every time it is interned (equal keys still compare every byte).
#[derive(Debug)]
struct ConstKey(Tensor);

impl PartialEq for ConstKey {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (&self.0, &other.0);
        a.dtype() == b.dtype() && a.shape() == b.shape() && a.bytes() == b.bytes()
    }
}

impl Eq for ConstKey {}

impl std::hash::Hash for ConstKey {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        const SAMPLE: usize = 4096;
        let bytes = self.0.bytes();
        self.0.dtype().name().hash(h);
        self.0.shape().hash(h);
        bytes.len().hash(h);
        if bytes.len() <= 2 * SAMPLE {
            bytes.hash(h);
        } else {
            bytes[..SAMPLE].hash(h);
            bytes[bytes.len() - SAMPLE..].hash(h);
        }
    }
}

/// What the analysis knows about one e-class.
#[derive(Debug, Clone, Default)]
pub struct Data {
    /// One entry per output (several only for a multi-output op's class).
    pub outputs: Vec<ValueInfo>,
    /// The value, when it is a constant.
    pub value: Option<Tensor>,
}

impl Data {
    pub fn info(&self) -> &ValueInfo {
        &self.outputs[0]
    }

    pub fn static_shape(&self) -> Option<Vec<usize>> {
        self.outputs.first()?.static_shape()
    }
}

impl egg::Analysis<TfNode> for TfAnalysis {
    type Data = Data;

    fn make(egraph: &mut EGraph, enode: &TfNode, _id: Id) -> Data {
        match enode {
            TfNode::Const(c) => {
                let t = egraph.analysis.constant(*c).clone();
                Data {
                    outputs: vec![ValueInfo::new(
                        t.dtype(),
                        t.shape().iter().map(|&d| d as i64).collect(),
                    )],
                    value: Some(t),
                }
            }
            TfNode::Input(i) => Data {
                outputs: vec![egraph.analysis.inputs[*i as usize].clone()],
                value: None,
            },
            TfNode::Proj(port, [tuple]) => Data {
                outputs: vec![egraph[*tuple]
                    .data
                    .outputs
                    .get(*port as usize)
                    .cloned()
                    .unwrap_or_default()],
                value: None,
            },
            TfNode::Op { op, attrs, args } => {
                let node = Node {
                    name: format!("egraph/{op}"),
                    op: op.clone(),
                    attrs: egraph.analysis.attrs(*attrs).clone(),
                    outputs: vec![],
                };
                let infos: Vec<ValueInfo> = args
                    .iter()
                    .map(|&a| egraph[a].data.outputs.first().cloned().unwrap_or_default())
                    .collect();
                let consts: Vec<Option<&Tensor>> = args
                    .iter()
                    .map(|&a| egraph[a].data.value.as_ref())
                    .collect();
                let outputs = shape::infer(&node, &infos, &consts)
                    .unwrap_or_else(|_| vec![ValueInfo::default()]);
                let value = fold(&node, &consts, &outputs);
                Data { outputs, value }
            }
        }
    }

    fn merge(&mut self, a: &mut Data, b: Data) -> DidMerge {
        let mut changed_a = false;
        if a.value.is_none() && b.value.is_some() {
            a.value = b.value.clone();
            changed_a = true;
        }
        let a_unknown = a.outputs.iter().all(|o| o.shape.is_none());
        let b_known = b.outputs.iter().any(|o| o.shape.is_some());
        if a_unknown && b_known {
            a.outputs = b.outputs.clone();
            changed_a = true;
        }
        DidMerge(changed_a, a.value.is_some() && b.value.is_none())
    }

    fn modify(egraph: &mut EGraph, id: Id) {
        let Some(value) = egraph[id].data.value.clone() else {
            return;
        };
        if egraph[id]
            .nodes
            .iter()
            .any(|n| matches!(n, TfNode::Const(_)))
        {
            return;
        }
        let c = egraph.analysis.intern_const(value);
        let leaf = egraph.add(TfNode::Const(c));
        egraph.union(id, leaf);
    }
}

/// The value of an op whose inputs are all constants, when folding it is allowed and cheap.
fn fold(node: &Node, consts: &[Option<&Tensor>], outputs: &[ValueInfo]) -> Option<Tensor> {
    if !node.op.is_foldable() {
        return None;
    }
    if outputs.len() != 1 {
        return None;
    }
    let inputs: Vec<Tensor> = consts.iter().map(|c| c.cloned()).collect::<Option<_>>()?;
    let result: usize = outputs[0].static_shape()?.iter().product();
    let operands: usize = inputs.iter().map(Tensor::numel).sum();
    if result > MAX_FOLDED_ELEMENTS || interp::folding_would_grow(&node.op, operands, result) {
        return None;
    }
    interp::eval(node, &inputs).ok()?.into_iter().next()
}
