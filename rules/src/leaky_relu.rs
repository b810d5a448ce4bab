//! Leaky relu: `Maximum(x, Mul(x, a))`, in every operand order, with a constant scalar 0 < a < 1, is
//! `LeakyRelu(x, alpha = a)` — one TFLite LEAKY_RELU instead of MUL + MAXIMUM. StyleGAN writes its
//! activation this way (inside `tf.custom_gradient`).

use egg::{Id, Subst};
use sgc_ir::{Attr, DType, Op};

use crate::util::{add_op, bound, rule, shape, value};
use crate::{EGraph, Rewrite};

pub fn rules() -> Vec<Rewrite> {
    [
        ("leaky-relu", "(Maximum ?x (Mul ?x ?a))"),
        ("leaky-relu-mul-swapped", "(Maximum ?x (Mul ?a ?x))"),
        ("leaky-relu-max-swapped", "(Maximum (Mul ?x ?a) ?x)"),
        ("leaky-relu-both-swapped", "(Maximum (Mul ?a ?x) ?x)"),
    ]
    .into_iter()
    .map(|(name, pattern)| rule(name, pattern, leaky_relu))
    .collect()
}

fn leaky_relu(egraph: &mut EGraph, class: Id, subst: &Subst) -> Option<Id> {
    let x = bound(subst, "?x");
    // `a` must not broadcast `x` to a larger shape (LeakyRelu keeps `x`'s shape).
    if shape(egraph, x)? != shape(egraph, class)? {
        return None;
    }
    let a = value(egraph, bound(subst, "?a"))?;
    if a.numel() != 1 || a.dtype() != DType::F32 {
        return None;
    }
    let alpha = a.to_vec::<f32>().ok()?[0];
    if !(alpha > 0.0 && alpha < 1.0) {
        return None;
    }
    let mut attrs = sgc_ir::Attrs::new();
    attrs.set("alpha", Attr::Float(alpha));
    attrs.set("T", Attr::Type(DType::F32));
    Some(add_op(egraph, Op::LeakyRelu, attrs, vec![x]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use sgc_ir::Tensor;

    fn graph(alpha: Tensor, x_first: bool, mul_x_first: bool) -> sgc_ir::Graph {
        let mut b = Builder::new();
        let x = b.input("x", &[2, 8]);
        let a = b.constant("a", alpha);
        let mul_args = if mul_x_first { [x, a] } else { [a, x] };
        let m = b.op("mul", Op::Mul, &mul_args, &[]);
        let max_args = if x_first { [x, m] } else { [m, x] };
        let y = b.op("max", Op::Maximum, &max_args, &[]);
        b.output(y)
    }

    #[test]
    fn fires_in_every_operand_order() {
        for x_first in [true, false] {
            for mul_x_first in [true, false] {
                let g = graph(Tensor::scalar(0.2f32), x_first, mul_x_first);
                let out = rewrite(&g, &rules());
                assert_eq!(count(&out, &Op::LeakyRelu), 1, "{x_first} {mul_x_first}");
                assert_eq!(count(&out, &Op::Maximum) + count(&out, &Op::Mul), 0);
                assert_same_function(&g, &out);
            }
        }
    }

    #[test]
    fn does_not_fire_outside_zero_to_one_or_for_tensors() {
        for alpha in [
            Tensor::scalar(1.5f32),
            Tensor::scalar(-0.2f32),
            Tensor::from_vec(vec![8], vec![0.2f32; 8]),
        ] {
            let g = graph(alpha, true, true);
            let out = rewrite(&g, &rules());
            assert_eq!(count(&out, &Op::LeakyRelu), 0);
            assert_eq!(count(&out, &Op::Maximum), 1);
        }
    }
}
