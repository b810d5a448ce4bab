//! Reshapes that follow reshapes.
//!
//! - `reshape-of-reshape`: `Reshape(Reshape(x, s1), s2)` is `Reshape(x, s2)` (a reshape keeps the
//!   elements in row-major order, so only the last shape counts);
//! - `reshape-to-own-shape`: a reshape to the shape its input already has is that input.
//!
//! Together they remove the round trips StyleGAN2's batch folding leaves once its convs are per sample
//! again (`[N, C, H, W] → [1, N·C, H, W] → [N, C, H, W]`), which would otherwise stand between layout
//! transposes that cancel.

use egg::{Id, Subst};
use sgc_ir::Op;

use crate::util::{add_i32s, add_op, attrs_of, bound, rule, shape};
use crate::{EGraph, Rewrite};

pub fn rules() -> Vec<Rewrite> {
    vec![
        rule(
            "reshape-of-reshape",
            "(Reshape (Reshape ?x ?s1) ?s2)",
            reshape_of_reshape,
        ),
        rule("reshape-to-own-shape", "(Reshape ?x ?s)", own_shape),
    ]
}

fn reshape_of_reshape(egraph: &mut EGraph, class: Id, subst: &Subst) -> Option<Id> {
    let x = bound(subst, "?x");
    let out = shape(egraph, class)?;
    shape(egraph, x)?;
    let dims: Vec<i64> = out.iter().map(|&d| d as i64).collect();
    let s = add_i32s(egraph, &dims);
    let attrs = attrs_of(egraph, class, &Op::Reshape);
    Some(add_op(egraph, Op::Reshape, attrs, vec![x, s]))
}

fn own_shape(egraph: &mut EGraph, class: Id, subst: &Subst) -> Option<Id> {
    let x = bound(subst, "?x");
    (shape(egraph, x)? == shape(egraph, class)?).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    /// `[2, 3, 4, 4] → [1, 6, 4, 4] → ·2 … → [2, 3, 4, 4]`, as StyleGAN2's folding writes it.
    fn round_trip(second: &[i32]) -> sgc_ir::Graph {
        let mut b = Builder::new();
        let x = b.input("x", &[2, 3, 4, 4]);
        let s1 = b.ints("s1", &[1, 6, 4, 4]);
        let folded = b.op("folded", Op::Reshape, &[x, s1], &[]);
        let s2 = b.ints("s2", second);
        let back = b.op("back", Op::Reshape, &[folded, s2], &[]);
        b.output(back)
    }

    #[test]
    fn a_round_trip_of_reshapes_is_removed() {
        let g = round_trip(&[-1, 3, 4, 4]);
        let out = rewrite(&g, &rules());
        assert_eq!(count(&out, &Op::Reshape), 0, "{}", out.dump());
        assert_same_function(&g, &out);
    }

    #[test]
    fn two_reshapes_to_a_new_shape_become_one() {
        let g = round_trip(&[6, 16]);
        let out = rewrite(&g, &rules());
        assert_eq!(count(&out, &Op::Reshape), 1, "{}", out.dump());
        assert_same_function(&g, &out);
    }
}
