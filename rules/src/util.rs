//! Small helpers shared by the rule modules.

use egg::{Id, Subst, Var};
use sgc_ir::{Attr, Attrs, DType, Op, Tensor};

use crate::lang::{AttrsId, TfNode};
use crate::EGraph;

pub fn var(name: &str) -> Var {
    name.parse().expect("a pattern variable")
}

/// The class bound to `name` in a match.
pub fn bound(subst: &Subst, name: &str) -> Id {
    subst[var(name)]
}

/// The constant value of a class, if known.
pub fn value(egraph: &EGraph, id: Id) -> Option<&Tensor> {
    egraph[id].data.value.as_ref()
}

/// Integer values of a constant class.
pub fn ints(egraph: &EGraph, id: Id) -> Option<Vec<i64>> {
    value(egraph, id)?.to_i64s().ok()
}

pub fn shape(egraph: &EGraph, id: Id) -> Option<Vec<usize>> {
    egraph[id].data.static_shape()
}

pub fn rank(egraph: &EGraph, id: Id) -> Option<usize> {
    egraph[id]
        .data
        .outputs
        .first()?
        .shape
        .as_ref()
        .map(Vec::len)
}

/// The attributes of a node of `op` in class `id` (the node a pattern matched there).
pub fn attrs_of(egraph: &EGraph, id: Id, op: &Op) -> Attrs {
    egraph[id]
        .nodes
        .iter()
        .find_map(|n| match n {
            TfNode::Op { op: o, attrs, .. } if o == op && *attrs != AttrsId::ANY => {
                Some(egraph.analysis.attrs(*attrs).clone())
            }
            _ => None,
        })
        .unwrap_or_default()
}

/// The attributes of the node of `op` in class `id` whose (canonical) arguments satisfy `args`: the
/// node a pattern matched, where attributes and operands must agree (a StridedSlice's masks and its
/// begin/end vectors). [`attrs_of`] takes any node of `op`, which is right only for attributes that do
/// not depend on the operands: a class can hold two equal slices written differently.
pub fn matched_attrs(
    egraph: &EGraph,
    id: Id,
    op: &Op,
    args: impl Fn(&[Id]) -> bool,
) -> Option<Attrs> {
    egraph[id].nodes.iter().find_map(|n| match n {
        TfNode::Op {
            op: o,
            attrs,
            args: a,
        } if o == op && *attrs != AttrsId::ANY => {
            let canonical: Vec<Id> = a.iter().map(|&x| egraph.find(x)).collect();
            args(&canonical).then(|| egraph.analysis.attrs(*attrs).clone())
        }
        _ => None,
    })
}

/// Whether class `id` holds `Transpose(x, p)`.
pub fn holds_transpose(egraph: &EGraph, id: Id, x: Id, p: Id) -> bool {
    egraph[id].nodes.iter().any(|n| {
        matches!(n, TfNode::Op { op: Op::Transpose, args, .. }
            if matches!(args[..], [a, b] if egraph.find(a) == egraph.find(x) && egraph.find(b) == egraph.find(p)))
    })
}

/// Adds `op(args)` with `attrs`.
pub fn add_op(egraph: &mut EGraph, op: Op, attrs: Attrs, args: Vec<Id>) -> Id {
    let attrs = egraph.analysis.intern_attrs(attrs);
    egraph.add(TfNode::Op { op, attrs, args })
}

/// The class of a constant that a rule derives from the classes `from` (a folded weight, say):
/// computed by `compute` the first time, looked up afterwards (a `None`, no such constant, too).
/// `key` names the derivation (the rule and whatever else, besides `from`, decides the result).
pub fn derived_const(
    egraph: &mut EGraph,
    key: &'static str,
    from: &[Id],
    compute: impl FnOnce(&EGraph) -> Option<Tensor>,
) -> Option<Id> {
    let from: Vec<Id> = from.iter().map(|&c| egraph.find(c)).collect();
    if let Some(&known) = egraph.analysis.derived.get(&(key, from.clone())) {
        return known.map(|id| egraph.find(id));
    }
    let id = compute(egraph).map(|t| add_const(egraph, t));
    egraph.analysis.derived.insert((key, from), id);
    id
}

pub fn add_const(egraph: &mut EGraph, t: Tensor) -> Id {
    let c = egraph.analysis.intern_const(t);
    egraph.add(TfNode::Const(c))
}

/// An int32 vector constant.
pub fn add_i32s(egraph: &mut EGraph, values: &[i64]) -> Id {
    add_const(
        egraph,
        Tensor::from_vec(
            vec![values.len()],
            values.iter().map(|&v| v as i32).collect(),
        ),
    )
}

/// `Transpose(x, perm)`.
pub fn add_transpose(egraph: &mut EGraph, x: Id, perm: &[i64]) -> Id {
    let p = add_i32s(egraph, perm);
    let mut attrs = Attrs::new();
    attrs.set("Tperm", Attr::Type(DType::I32));
    add_op(egraph, Op::Transpose, attrs, vec![x, p])
}

/// The permutation of a `Transpose` perm operand, validated.
pub fn perm(egraph: &EGraph, id: Id) -> Option<Vec<usize>> {
    let p = ints(egraph, id)?;
    let mut seen = vec![false; p.len()];
    let mut out = Vec::with_capacity(p.len());
    for v in p {
        let v = usize::try_from(v).ok().filter(|&v| v < seen.len())?;
        if std::mem::replace(&mut seen[v], true) {
            return None;
        }
        out.push(v);
    }
    Some(out)
}

pub fn inverse(perm: &[usize]) -> Vec<usize> {
    let mut inv = vec![0; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i;
    }
    inv
}

pub fn as_i64(perm: &[usize]) -> Vec<i64> {
    perm.iter().map(|&v| v as i64).collect()
}

type ApplyFn = dyn Fn(&mut EGraph, Id, &Subst) -> Option<Id> + Send + Sync;

/// An applier from a function that builds the equal term (or declines with `None`); the term is
/// unioned with the matched class.
pub struct FnApplier(Box<ApplyFn>);

impl egg::Applier<TfNode, crate::TfAnalysis> for FnApplier {
    fn apply_one(
        &self,
        egraph: &mut EGraph,
        eclass: Id,
        subst: &Subst,
        _ast: Option<&egg::PatternAst<TfNode>>,
        _rule: egg::Symbol,
    ) -> Vec<Id> {
        match (self.0)(egraph, eclass, subst) {
            Some(new) if egraph.union(eclass, new) => vec![eclass],
            _ => vec![],
        }
    }
}

/// A rule: a pattern to search for and a function building the equal term.
pub fn rule(
    name: impl Into<String>,
    pattern: &str,
    apply: impl Fn(&mut EGraph, Id, &Subst) -> Option<Id> + Send + Sync + 'static,
) -> crate::Rewrite {
    let pattern: egg::Pattern<TfNode> = pattern.parse().expect("rule patterns parse");
    egg::Rewrite::new(name.into(), pattern, FnApplier(Box::new(apply))).expect("rule is valid")
}

/// Whether constant `b` added to `class`'s value would be the bias input of a convolution or matmul in
/// `class` ([`sgc_ir::fusion::is_bias_operand`]; the readers of the value are not known before
/// extraction, see [`sgc_ir::fusion::readers_allow_fusion`]).
pub fn is_fusable_bias(egraph: &EGraph, class: Id, b: Id) -> bool {
    let (Some(t), Some(out)) = (egraph[b].data.value.as_ref(), shape(egraph, class)) else {
        return false;
    };
    egraph[class]
        .nodes
        .iter()
        .filter_map(|node| node.op())
        .any(|op| sgc_ir::fusion::is_bias_operand(op, &out, t))
}
