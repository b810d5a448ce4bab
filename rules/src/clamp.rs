//! Clamps written as `Minimum`/`Maximum` pairs: between the constants 0 and 6 a `Relu6`, between −1 and 1
//! a `ClipByValue` (which the backend writes as TFLite's RELU_N1_TO_1). Both are one op instead of two,
//! and both can then be the fused activation of the conv or dense layer before them
//! ([`sgc_ir::fusion`]). `min(relu(x), 6)` is a `Relu6` too.

use egg::{Id, Subst};
use sgc_ir::fusion::{self, FusedActivation};
use sgc_ir::{Attr, Attrs, DType, Op, Tensor};

use crate::util::{add_const, add_op, bound, rule, shape, value};
use crate::{EGraph, Rewrite};

pub fn rules() -> Vec<Rewrite> {
    let mut rules = vec![];
    // min(max(x, lo), hi) and max(min(x, hi), lo), in every operand order.
    for (i, pattern) in [
        "(Minimum (Maximum ?x ?lo) ?hi)",
        "(Minimum (Maximum ?lo ?x) ?hi)",
        "(Minimum ?hi (Maximum ?x ?lo))",
        "(Minimum ?hi (Maximum ?lo ?x))",
        "(Maximum (Minimum ?x ?hi) ?lo)",
        "(Maximum (Minimum ?hi ?x) ?lo)",
        "(Maximum ?lo (Minimum ?x ?hi))",
        "(Maximum ?lo (Minimum ?hi ?x))",
    ]
    .into_iter()
    .enumerate()
    {
        rules.push(rule(format!("clamp-{i}"), pattern, clamp));
    }
    for (side, pattern) in [
        ("left", "(Minimum (Relu ?x) ?hi)"),
        ("right", "(Minimum ?hi (Relu ?x))"),
    ] {
        rules.push(rule(format!("relu-then-min-6-{side}"), pattern, relu_min_6));
    }
    rules
}

fn float_attrs() -> Attrs {
    let mut attrs = Attrs::new();
    attrs.set("T", Attr::Type(DType::F32));
    attrs
}

fn clamp(egraph: &mut EGraph, class: Id, subst: &Subst) -> Option<Id> {
    let x = bound(subst, "?x");
    // The bounds must not broadcast x to a larger shape.
    if shape(egraph, x)? != shape(egraph, class)? || value(egraph, x).is_some() {
        return None;
    }
    // Which bounds make an activation is ir::fusion's to say, as for a ClipByValue of the graph.
    let (lo, hi) = (bound(subst, "?lo"), bound(subst, "?hi"));
    let bounds = [None, value(egraph, lo), value(egraph, hi)];
    match fusion::fusable_activation(&Op::ClipByValue, &bounds)? {
        FusedActivation::Relu6 => Some(add_op(egraph, Op::Relu6, float_attrs(), vec![x])),
        FusedActivation::ReluN1To1 => {
            let lo = add_const(egraph, Tensor::scalar(-1f32));
            let hi = add_const(egraph, Tensor::scalar(1f32));
            Some(add_op(
                egraph,
                Op::ClipByValue,
                float_attrs(),
                vec![x, lo, hi],
            ))
        }
        FusedActivation::Relu => None,
    }
}

fn relu_min_6(egraph: &mut EGraph, class: Id, subst: &Subst) -> Option<Id> {
    let x = bound(subst, "?x");
    // min(relu(x), hi) is a clamp to [0, hi]: a Relu6 where a clamp to [0, 6] is.
    let zero = Tensor::scalar(0f32);
    let bounds = [None, Some(&zero), value(egraph, bound(subst, "?hi"))];
    let relu6 = fusion::fusable_activation(&Op::ClipByValue, &bounds);
    if shape(egraph, x)? != shape(egraph, class)? || relu6 != Some(FusedActivation::Relu6) {
        return None;
    }
    Some(add_op(egraph, Op::Relu6, float_attrs(), vec![x]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    /// `outer(inner(x, a), b)` on a [2, 8] input with scalar constants.
    fn clamped(inner: Op, a: f32, outer: Op, b: f32) -> sgc_ir::Graph {
        let mut bld = Builder::new();
        let x = bld.input("x", &[2, 8]);
        let a = bld.constant("a", Tensor::scalar(a));
        let b = bld.constant("b", Tensor::scalar(b));
        let y = bld.op("inner", inner, &[x, a], &[]);
        let z = bld.op("outer", outer, &[b, y], &[]);
        bld.output(z)
    }

    #[test]
    fn unit_and_six_clamps_become_one_op() {
        for (inner, a, outer, b, want) in [
            (Op::Maximum, 0.0, Op::Minimum, 6.0, Op::Relu6),
            (Op::Minimum, 6.0, Op::Maximum, 0.0, Op::Relu6),
            (Op::Maximum, -1.0, Op::Minimum, 1.0, Op::ClipByValue),
            (Op::Minimum, 1.0, Op::Maximum, -1.0, Op::ClipByValue),
        ] {
            let g = clamped(inner.clone(), a, outer.clone(), b);
            let out = rewrite(&g, &rules());
            assert_eq!(
                count(&out, &want),
                1,
                "{inner}({a}) {outer}({b}): {}",
                out.dump()
            );
            assert_eq!(count(&out, &Op::Minimum) + count(&out, &Op::Maximum), 0);
            assert_same_function(&g, &out);
        }
        let mut bld = Builder::new();
        let x = bld.input("x", &[2, 8]);
        let r = bld.op("relu", Op::Relu, &[x], &[]);
        let six = bld.constant("six", Tensor::scalar(6f32));
        let y = bld.op("min", Op::Minimum, &[r, six], &[]);
        let g = bld.output(y);
        let out = rewrite(&g, &rules());
        assert_eq!(count(&out, &Op::Relu6), 1, "{}", out.dump());
        assert_same_function(&g, &out);
    }

    #[test]
    fn other_clamps_stay() {
        for (a, b) in [(-0.5, 1.0), (0.0, 1.0), (0.0, 5.0)] {
            let g = clamped(Op::Maximum, a, Op::Minimum, b);
            let out = rewrite(&g, &rules());
            assert_eq!(count(&out, &Op::Minimum), 1, "({a}, {b})");
        }
    }
}
