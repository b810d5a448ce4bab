//! StyleGAN2's demodulation coefficients as a matmul on the styles.
//!
//! StyleGAN2 demodulates each layer with `d[n, o] = rsqrt(Σ_{a,b,i} (w[a, b, i, o] · s[n, i])² + ε)`,
//! computed on the modulated weights `[N, k, k, Cin, Cout]`: a full-size Mul, Square and Sum per layer
//! and sample at run time (2.4 M elements each for a 3×3×512×512 layer). The sum is
//!
//! ```text
//! Σ_{a,b,i} w[a,b,i,o]² · s[n,i]² = Σ_i s[n,i]² · W2[i,o]        W2[i,o] = Σ_{a,b} w[a,b,i,o]²
//! ```
//!
//! with `W2` a constant `[Cin, Cout]`: one small MatMul (a FULLY_CONNECTED) of the squared styles.
//! `demodulation-as-matmul` rewrites `Sum(Square(Mul(w, s)), [1, 2, 3])` so when `w` is a constant
//! `[1, k, k, Cin, Cout]` and `s` a per-sample, per-input-channel `[N, 1, 1, Cin, 1]`; with the
//! batch-folded convs made per sample by the `stylegan2-modconv` pass, the modulated weights then have no
//! reader left.

use egg::{Id, Subst};
use sgc_ir::{Attr, Attrs, DType, Op, Tensor};

use crate::util::{add_const, add_i32s, add_op, bound, ints, rule, shape, value};
use crate::{EGraph, Rewrite};

pub fn rules() -> Vec<Rewrite> {
    [
        "(Sum (Square (Mul ?w ?s)) ?axes)",
        "(Sum (Square (Mul ?s ?w)) ?axes)",
    ]
    .into_iter()
    .zip(["left", "right"])
    .map(|(pattern, side)| {
        rule(
            format!("demodulation-as-matmul-{side}"),
            pattern,
            demodulation,
        )
    })
    .collect()
}

fn demodulation(egraph: &mut EGraph, class: Id, subst: &Subst) -> Option<Id> {
    let (w, s) = (bound(subst, "?w"), bound(subst, "?s"));
    if ints(egraph, bound(subst, "?axes"))? != [1, 2, 3] {
        return None;
    }
    let wt = value(egraph, w)?;
    let [1, k0, k1, cin, cout] = <[usize; 5]>::try_from(wt.shape()).ok()? else {
        return None;
    };
    let [n, 1, 1, c, 1] = <[usize; 5]>::try_from(shape(egraph, s)?).ok()? else {
        return None;
    };
    let out = shape(egraph, class)?;
    if c != cin || wt.dtype() != DType::F32 || !(out == [n, cout] || out == [n, 1, 1, 1, cout]) {
        return None;
    }
    let wv = wt.to_vec::<f32>().ok()?;
    let mut w2 = vec![0f64; cin * cout];
    for tap in wv.chunks(cin * cout).take(k0 * k1) {
        for (acc, &v) in w2.iter_mut().zip(tap) {
            *acc += f64::from(v) * f64::from(v);
        }
    }
    let w2 = add_const(
        egraph,
        Tensor::from_vec(vec![cin, cout], w2.iter().map(|&v| v as f32).collect()),
    );
    let f32_attrs = |extra: &[(&str, Attr)]| {
        let mut a = Attrs::new();
        a.set("T", Attr::Type(DType::F32));
        for (k, v) in extra {
            a.set(*k, v.clone());
        }
        a
    };
    let rows = add_i32s(egraph, &[n as i64, cin as i64]);
    let s2 = add_op(
        egraph,
        Op::Reshape,
        f32_attrs(&[("Tshape", Attr::Type(DType::I32))]),
        vec![s, rows],
    );
    let s2 = add_op(egraph, Op::Square, f32_attrs(&[]), vec![s2]);
    let mm = add_op(
        egraph,
        Op::MatMul,
        f32_attrs(&[
            ("transpose_a", Attr::Bool(false)),
            ("transpose_b", Attr::Bool(false)),
        ]),
        vec![s2, w2],
    );
    if out.len() == 2 {
        return Some(mm);
    }
    let dims: Vec<i64> = out.iter().map(|&d| d as i64).collect();
    let dims = add_i32s(egraph, &dims);
    Some(add_op(
        egraph,
        Op::Reshape,
        f32_attrs(&[("Tshape", Attr::Type(DType::I32))]),
        vec![mm, dims],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    /// `Sum(Square(w · s), axes)` with a constant `w` [1, 3, 3, 4, 5] and styles `s` of `s_shape`.
    fn demod(s_shape: &[usize], axes: &[i32], keep: bool) -> sgc_ir::Graph {
        let mut b = Builder::new();
        let s = b.input("s", s_shape);
        let w = b.constant("w", random(&[1, 3, 3, 4, 5], 3));
        let ww = b.op("ww", Op::Mul, &[w, s], &[]);
        let sq = b.op("sq", Op::Square, &[ww], &[]);
        let axes = b.ints("axes", axes);
        let sum = b.op(
            "sum",
            Op::Sum,
            &[sq, axes],
            &[("keep_dims", Attr::Bool(keep))],
        );
        b.output(sum)
    }

    #[test]
    fn demodulation_sums_become_a_matmul_of_squared_styles() {
        for keep in [false, true] {
            let g = demod(&[2, 1, 1, 4, 1], &[1, 2, 3], keep);
            let out = rewrite(&g, &rules());
            assert_eq!(count(&out, &Op::MatMul), 1, "{}", out.dump());
            assert_eq!(count(&out, &Op::Sum), 0, "{}", out.dump());
            assert_same_function(&g, &out);
        }
    }

    #[test]
    fn other_reductions_and_factors_stay() {
        // Summed over the output channels too, or styles that vary per output channel.
        for (s, axes) in [
            (vec![2, 1, 1, 4, 1], vec![1, 2, 3, 4]),
            (vec![2, 1, 1, 1, 5], vec![1, 2, 3]),
        ] {
            let g = demod(&s, &axes, false);
            let out = rewrite(&g, &rules());
            assert_eq!(count(&out, &Op::MatMul), 0, "{}", out.dump());
            assert_eq!(count(&out, &Op::Sum), 1);
        }
    }
}
