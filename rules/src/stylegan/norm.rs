//! Instance norm and style modulation as one scale and one shift per channel.
//!
//! StyleGAN's layer epilogue normalizes and then modulates every activation,
//!
//! ```text
//! y = ((x − m) · r) · s + b      m = mean(x), r = rsqrt(mean((x − m)²) + ε), s, b from the style
//! ```
//!
//! where `x` is a full-size image and `m, r, s, b` hold one value per channel (and image of the batch).
//! Written that way it makes five full-size passes (SUB, SQUARE, MUL, MUL, ADD). The same value is
//! `x · (r·s) + (b − (m·r)·s)`, with the variance read as `SQUARED_DIFFERENCE(x, m)`: three full-size
//! passes and a few ops on C values. The rules below get there one algebraic step at a time, each only
//! when the operands it moves are per-channel ("small": see [`is_small`]) and the other operand is
//! larger, so they never loop and never make a full-size operand out of small ones:
//!
//! - `(x − m)·r → x·r − m·r` (and `r·(x − m)`, and the same for `+`),
//! - `(x·a)·b → x·(a·b)`,
//! - `(x − c) + b → x + (b − c)` and `(x + c) + b → x + (c + b)`,
//! - `Square(x − m) → SquaredDifference(x, m)` (always equal).
//!
//! The cost model chooses: each full-size pass costs its elements, each small op its dispatch.

use egg::{Id, Subst};
use sgc_ir::{DType, Op};

use crate::util::{add_op, attrs_of, bound, rule, shape};
use crate::{EGraph, Rewrite};

pub fn rules() -> Vec<Rewrite> {
    let mut rules = vec![rule(
        "square-of-difference",
        "(Square (Sub ?x ?m))",
        |eg, class, s| {
            let attrs = attrs_of(eg, class, &Op::Square);
            Some(add_op(
                eg,
                Op::SquaredDifference,
                attrs,
                vec![bound(s, "?x"), bound(s, "?m")],
            ))
        },
    )];
    for (inner, name) in [(Op::Sub, "difference"), (Op::AddV2, "sum")] {
        let op = inner.clone();
        rules.extend(either_order(
            &format!("scale-of-{name}"),
            "Mul",
            &format!("({inner} ?x ?m)"),
            "?r",
            move |eg, class, s| distribute(eg, class, s, &op),
        ));
        let op = inner.clone();
        rules.extend(either_order(
            &format!("shifts-together-{name}"),
            "AddV2",
            &format!("({inner} ?x ?c)"),
            "?b",
            move |eg, class, s| shifts_together(eg, class, s, &op),
        ));
    }
    rules.extend(either_order(
        "scales-together",
        "Mul",
        "(Mul ?x ?a)",
        "?b",
        scales_together,
    ));
    rules
}

/// `(outer inner other)` and `(outer other inner)`: one rule per operand order of a commutative op.
fn either_order(
    name: &str,
    outer: &str,
    inner: &str,
    other: &str,
    apply: impl Fn(&mut EGraph, Id, &Subst) -> Option<Id> + Clone + Send + Sync + 'static,
) -> [Rewrite; 2] {
    [
        rule(
            format!("{name}-left"),
            &format!("({outer} {inner} {other})"),
            apply.clone(),
        ),
        rule(
            format!("{name}-right"),
            &format!("({outer} {other} {inner})"),
            apply,
        ),
    ]
}

/// Whether `v` is a per-channel operand of the larger value `of`: float, every dimension but the first
/// (batch) and the last (channels) 1 when aligned with `of`, and fewer elements than `of`.
pub fn is_small(egraph: &EGraph, v: Id, of: Id) -> bool {
    let (Some(vs), Some(os)) = (shape(egraph, v), shape(egraph, of)) else {
        return false;
    };
    if egraph[v].data.info().dtype != Some(DType::F32) || vs.len() > os.len() || os.is_empty() {
        return false;
    }
    let pad = os.len() - vs.len();
    let aligned = (0..os.len()).map(|i| if i < pad { 1 } else { vs[i - pad] });
    let fits = aligned
        .enumerate()
        .all(|(i, d)| d == 1 || (d == os[i] && (i == 0 || i + 1 == os.len())));
    fits && vs.iter().product::<usize>() < os.iter().product::<usize>()
}

/// The classes bound to `[x, p, q]` when `x` has the matched value's shape and `p`, `q` are small
/// next to it: the condition of every rule here.
fn large_and_small(egraph: &EGraph, class: Id, subst: &Subst, vars: [&str; 3]) -> Option<[Id; 3]> {
    let [x, p, q] = vars.map(|v| bound(subst, v));
    let ok = is_small(egraph, p, x)
        && is_small(egraph, q, x)
        && shape(egraph, x)? == shape(egraph, class)?;
    ok.then_some([x, p, q])
}

/// `(x ∘ m)·r = x·r ∘ m·r` for `∘` = `-` or `+`, when `m` and `r` are small next to `x`.
fn distribute(egraph: &mut EGraph, class: Id, subst: &Subst, inner: &Op) -> Option<Id> {
    let [x, m, r] = large_and_small(egraph, class, subst, ["?x", "?m", "?r"])?;
    let mul = attrs_of(egraph, class, &Op::Mul);
    let xr = add_op(egraph, Op::Mul, mul.clone(), vec![x, r]);
    let mr = add_op(egraph, Op::Mul, mul.clone(), vec![m, r]);
    Some(add_op(egraph, inner.clone(), mul, vec![xr, mr]))
}

/// `(x·a)·b = x·(a·b)` when `a` and `b` are small next to `x`.
fn scales_together(egraph: &mut EGraph, class: Id, subst: &Subst) -> Option<Id> {
    let [x, a, b] = large_and_small(egraph, class, subst, ["?x", "?a", "?b"])?;
    let mul = attrs_of(egraph, class, &Op::Mul);
    let ab = add_op(egraph, Op::Mul, mul.clone(), vec![a, b]);
    Some(add_op(egraph, Op::Mul, mul, vec![x, ab]))
}

/// `(x − c) + b = x + (b − c)` and `(x + c) + b = x + (c + b)` when `c` and `b` are small next to `x`.
fn shifts_together(egraph: &mut EGraph, class: Id, subst: &Subst, inner: &Op) -> Option<Id> {
    let [x, c, b] = large_and_small(egraph, class, subst, ["?x", "?c", "?b"])?;
    let add = attrs_of(egraph, class, &Op::AddV2);
    let shift = match inner {
        Op::Sub => add_op(egraph, Op::Sub, add.clone(), vec![b, c]),
        _ => add_op(egraph, Op::AddV2, add.clone(), vec![c, b]),
    };
    Some(add_op(egraph, Op::AddV2, add, vec![x, shift]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use sgc_ir::Tensor;

    /// StyleGAN's epilogue after the layout rules: instance norm of x [1, 8, 8, 16] (NHWC), then
    /// `· s + b` with per-channel style values from the graph input `style` [1, 1, 1, 32].
    fn epilogue(batch: usize) -> sgc_ir::Graph {
        let mut b = Builder::new();
        let x = b.input("x", &[batch, 8, 8, 16]);
        let style = b.input("style", &[batch, 1, 1, 32]);
        let axes = b.ints("axes", &[1, 2]);
        let keep = [("keep_dims", sgc_ir::Attr::Bool(true))];
        let m = b.op("mean", Op::Mean, &[x, axes], &keep);
        let xc = b.op("centered", Op::Sub, &[x, m], &[]);
        let sq = b.op("square", Op::Square, &[xc], &[]);
        let var = b.op("var", Op::Mean, &[sq, axes], &keep);
        let eps = b.constant("eps", Tensor::scalar(1e-8f32));
        let ve = b.op("var_eps", Op::AddV2, &[var, eps], &[]);
        let r = b.op("rsqrt", Op::Rsqrt, &[ve], &[]);
        let normed = b.op("normed", Op::Mul, &[xc, r], &[]);
        let begin = b.ints("b0", &[0, 0, 0, 0]);
        let size = b.ints("z", &[batch as i32, 1, 1, 16]);
        let s = b.op("s", Op::Slice, &[style, begin, size], &[]);
        let begin = b.ints("b1", &[0, 0, 0, 16]);
        let bias = b.op("b", Op::Slice, &[style, begin, size], &[]);
        let one = b.constant("one", Tensor::scalar(1f32));
        let s1 = b.op("s1", Op::AddV2, &[s, one], &[]);
        let scaled = b.op("scaled", Op::Mul, &[normed, s1], &[]);
        let y = b.op("y", Op::AddV2, &[scaled, bias], &[]);
        b.output(y)
    }

    /// Ops of the graph that write a full-size [N, 8, 8, 16] value.
    fn full_size_ops(g: &sgc_ir::Graph) -> Vec<Op> {
        let mut ops: Vec<Op> = g
            .node_indices()
            .filter(|&n| g.node(n).op != Op::Placeholder)
            .filter(|&n| {
                let s = g.info(n.into()).static_shape().unwrap_or_default();
                s.len() == 4 && s[1..] == [8, 8, 16]
            })
            .map(|n| g.node(n).op.clone())
            .collect();
        ops.sort();
        ops
    }

    #[test]
    fn instance_norm_and_modulation_become_one_scale_and_one_shift() {
        // A batch of 2: the per-channel values are per image too ([N, 1, 1, C]).
        for batch in [1, 2] {
            let g = epilogue(batch);
            assert_eq!(full_size_ops(&g).len(), 5);
            let out = rewrite(&g, &rules());
            let mut expected = vec![Op::AddV2, Op::Mul, Op::SquaredDifference];
            expected.sort();
            assert_eq!(full_size_ops(&out), expected, "{}", out.dump());
            assert_same_function(&g, &out);
        }
    }

    /// `(x ∘ y)·r` with x [1, 4, 4, 8], r [1, 1, 1, 8] and `y` of the given shape.
    fn scaled(inner: Op, y_shape: &[usize]) -> sgc_ir::Graph {
        let mut b = Builder::new();
        let x = b.input("x", &[1, 4, 4, 8]);
        let y = b.input("y", y_shape);
        let r = b.input("r", &[1, 1, 1, 8]);
        let d = b.op("d", inner, &[x, y], &[]);
        let out = b.op("out", Op::Mul, &[d, r], &[]);
        b.output(out)
    }

    #[test]
    fn two_full_size_operands_are_not_moved() {
        let rewritten = rewrite(&scaled(Op::Sub, &[1, 4, 4, 8]), &rules());
        assert_eq!(count(&rewritten, &Op::Sub), 1);
        assert_eq!(count(&rewritten, &Op::Mul), 1);
    }

    #[test]
    fn a_spatial_operand_is_not_small() {
        // The noise image [1, H, W, 1] is not per channel: (x + noise)·r stays as it is.
        let rewritten = rewrite(&scaled(Op::AddV2, &[1, 4, 4, 1]), &rules());
        assert_eq!(count(&rewritten, &Op::Mul), 1, "{}", rewritten.dump());
    }

    #[test]
    fn moving_per_channel_operands_keeps_the_function() {
        let g = scaled(Op::Sub, &[1, 1, 1, 8]);
        let rewritten = rewrite(&g, &rules());
        assert_same_function(&g, &rewritten);
    }
}
