//! StyleGAN idioms with a one-op TFLite form.
//!
//! - upscale2d: `Reshape [-1,C,H,1,W,1] → Tile [1,1,1,f,1,f] → Reshape [-1,C,fH,fW]` (NCHW nearest
//!   neighbour upscaling by f) is `RESIZE_NEAREST_NEIGHBOR` to (fH, fW) between layout transposes, which
//!   the layout rules then cancel against their neighbours.
//! - bias after noise: StyleGAN adds `conv + noise + bias`; `(conv + noise) + b = (conv + b) + noise` puts
//!   the per-channel constant `b` right after the convolution, where TFLite takes it as the conv's bias
//!   input for free (the backend fuses it; the cost model knows).
//! - a lerp at one of its ends: `a + (b − a)·t` with a constant t of 0 is `a`, of 1 is `b` (exact for
//!   finite values). A linear-structure generator (and the one sgc builds from a pickle) blends each
//!   ToRGB with the upscaled one below it by `clip(lod − k, 0, 1)`; at a constant lod the factors fold
//!   to 0 or 1, and this leaves the lower ToRGBs dead, as `tf.cond` does in the recursive structure.

use egg::{Id, Subst};
use sgc_ir::{Attr, Attrs, DType, Op};

use crate::util::{add_i32s, add_op, add_transpose, bound, ints, rule, shape};
use crate::{EGraph, Rewrite};

pub fn rules() -> Vec<Rewrite> {
    let mut rules = vec![rule(
        "upscale2d-as-resize-nearest",
        "(Reshape (Tile (Reshape ?x ?s1) ?m) ?s2)",
        upscale,
    )];
    for op in [Op::AddV2, Op::Add] {
        for (side, pattern) in [
            ("left", format!("({op} ({op} ?a ?n) ?b)")),
            ("right", format!("({op} ({op} ?n ?a) ?b)")),
        ] {
            let o = op.clone();
            rules.push(rule(
                format!("bias-next-to-conv-{op}-{side}"),
                &pattern,
                move |eg, class, s| bias_next_to_conv(eg, class, s, &o),
            ));
        }
    }
    for (side, pattern) in [
        ("left", "(AddV2 ?a (Mul (Sub ?b ?a) ?t))"),
        ("right", "(AddV2 ?a (Mul ?t (Sub ?b ?a)))"),
    ] {
        rules.push(rule(
            format!("lerp-at-an-end-{side}"),
            pattern,
            lerp_at_an_end,
        ));
    }
    rules
}

/// `a + (b − a)·t` is `a` for a constant t of 0, `b` for 1 (when `b` has the result's shape).
fn lerp_at_an_end(egraph: &mut EGraph, class: Id, subst: &Subst) -> Option<Id> {
    let (a, b, t) = (bound(subst, "?a"), bound(subst, "?b"), bound(subst, "?t"));
    let values = crate::util::value(egraph, t)?.to_f64s().ok()?;
    let out = shape(egraph, class)?;
    if values.iter().all(|&v| v == 0.0) && shape(egraph, a)? == out {
        Some(a)
    } else if values.iter().all(|&v| v == 1.0) && shape(egraph, b)? == out {
        Some(b)
    } else {
        None
    }
}

/// `(a + n) + b = (a + b) + n` when `a` is a convolution or matmul and `b` a per-channel constant.
fn bias_next_to_conv(egraph: &mut EGraph, class: Id, subst: &Subst, op: &Op) -> Option<Id> {
    let (a, n, b) = (bound(subst, "?a"), bound(subst, "?n"), bound(subst, "?b"));
    if !crate::util::is_fusable_bias(egraph, a, b) || shape(egraph, a)? != shape(egraph, class)? {
        return None;
    }
    let attrs = crate::util::attrs_of(egraph, class, op);
    let biased = add_op(egraph, op.clone(), attrs.clone(), vec![a, b]);
    Some(add_op(egraph, op.clone(), attrs, vec![biased, n]))
}

fn upscale(egraph: &mut EGraph, _class: Id, subst: &Subst) -> Option<Id> {
    let x = bound(subst, "?x");
    let [n, c, h, w] = <[usize; 4]>::try_from(shape(egraph, x)?).ok()?;
    let s1 = ints(egraph, bound(subst, "?s1"))?;
    let m = ints(egraph, bound(subst, "?m"))?;
    let s2 = ints(egraph, bound(subst, "?s2"))?;
    let (c, h, w) = (c as i64, h as i64, w as i64);
    let batch_ok = |b: i64| b == -1 || b == n as i64;
    let [b1, c1, h1, 1, w1, 1] = <[i64; 6]>::try_from(s1).ok()? else {
        return None;
    };
    let [1, 1, 1, f, 1, g] = <[i64; 6]>::try_from(m).ok()? else {
        return None;
    };
    if !(batch_ok(b1) && (c1, h1, w1) == (c, h, w) && f == g && f >= 1) {
        return None;
    }
    if s2 != [s2[0], c, h * f, w * f] || !batch_ok(s2[0]) {
        return None;
    }
    let nhwc = add_transpose(egraph, x, &[0, 2, 3, 1]);
    let size = add_i32s(egraph, &[h * f, w * f]);
    let mut attrs = Attrs::new();
    attrs.set("T", Attr::Type(DType::F32));
    attrs.set("align_corners", Attr::Bool(false));
    attrs.set("half_pixel_centers", Attr::Bool(false));
    let resized = add_op(egraph, Op::ResizeNearestNeighbor, attrs, vec![nhwc, size]);
    Some(add_transpose(egraph, resized, &[0, 3, 1, 2]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use sgc_ir::Tensor;

    /// NHWC in and out, as after the layout pass: the upscale sits between layout transposes.
    fn upscale(multiples: [i32; 6]) -> sgc_ir::Graph {
        let mut b = Builder::new();
        let input = b.input("x", &[1, 4, 4, 3]);
        let x = b.transpose("to_nchw", input, &[0, 3, 1, 2]);
        let s1 = b.ints("s1", &[-1, 3, 4, 1, 4, 1]);
        let r1 = b.op("r1", Op::Reshape, &[x, s1], &[]);
        let m = b.ints("m", &multiples);
        let t = b.op("tile", Op::Tile, &[r1, m], &[]);
        let (f, g) = (multiples[3], multiples[5]);
        let s2 = b.ints("s2", &[-1, 3, 4 * f, 4 * g]);
        let y = b.op("r2", Op::Reshape, &[t, s2], &[]);
        let back = b.transpose("to_nhwc", y, &[0, 2, 3, 1]);
        b.output(back)
    }

    #[test]
    fn upscale2d_becomes_one_resize() {
        let g = upscale([1, 1, 1, 2, 1, 2]);
        let mut rules = rules();
        rules.extend(crate::layout::rules());
        let out = rewrite(&g, &rules);
        assert_eq!(count(&out, &Op::ResizeNearestNeighbor), 1);
        assert_eq!(count(&out, &Op::Tile), 0);
        assert_eq!(count(&out, &Op::Transpose), 0, "{}", out.dump());
        assert_same_function(&g, &out);
    }

    /// `img + (prev − img)·t`, the blend of a linear-structure generator, with a constant `t`.
    fn lerp(t: f32) -> sgc_ir::Graph {
        let mut b = Builder::new();
        let img = b.input("img", &[1, 3, 4, 4]);
        let prev = b.input("prev", &[1, 3, 4, 4]);
        let t = b.constant("t", Tensor::from_vec(vec![], vec![t]));
        let d = b.op("d", Op::Sub, &[prev, img], &[]);
        let m = b.op("m", Op::Mul, &[d, t], &[]);
        let y = b.op("y", Op::AddV2, &[img, m], &[]);
        b.output(y)
    }

    #[test]
    fn a_lerp_at_either_end_is_that_end() {
        for t in [0.0, 1.0] {
            let g = lerp(t);
            let out = rewrite(&g, &rules());
            for op in [Op::Sub, Op::Mul, Op::AddV2] {
                assert_eq!(count(&out, &op), 0, "t = {t}: {}", out.dump());
            }
            assert_same_function(&g, &out);
        }
        let out = rewrite(&lerp(0.5), &rules());
        assert_eq!(count(&out, &Op::Mul), 1, "a real blend stays");
    }

    #[test]
    fn other_tilings_are_left_alone() {
        let g = upscale([1, 1, 1, 2, 1, 3]);
        let out = rewrite(&g, &rules());
        assert_eq!(count(&out, &Op::ResizeNearestNeighbor), 0);
        assert_eq!(count(&out, &Op::Tile), 1);
    }
}

#[cfg(test)]
mod bias_tests {
    use super::*;
    use crate::testing::*;
    use sgc_ir::Tensor;

    /// `conv + noise + bias` as StyleGAN adds them (NHWC here).
    fn conv_noise_bias(bias: Tensor) -> sgc_ir::Graph {
        let mut b = Builder::new();
        let x = b.input("x", &[1, 4, 4, 2]);
        let w = b.constant("w", random(&[3, 3, 2, 3], 1));
        let conv = b.op(
            "conv",
            Op::Conv2D,
            &[x, w],
            &[
                ("strides", Attr::Ints(vec![1, 1, 1, 1])),
                ("padding", Attr::Str("SAME".into())),
            ],
        );
        let noise = b.input("noise", &[1, 4, 4, 3]);
        let with_noise = b.op("noise_add", Op::AddV2, &[conv, noise], &[]);
        let bias = b.constant("bias", bias);
        let y = b.op("bias_add", Op::AddV2, &[with_noise, bias], &[]);
        b.output(y)
    }

    fn conv_reads_bias_first(g: &sgc_ir::Graph) -> bool {
        g.node_indices().any(|n| {
            g.node(n).op == Op::AddV2
                && g.inputs(n).iter().any(|v| g.node(v.node).op == Op::Conv2D)
                && g.inputs(n).iter().any(|v| g.const_value(*v).is_some())
        })
    }

    #[test]
    fn a_per_channel_bias_moves_next_to_the_conv() {
        let g = conv_noise_bias(random(&[1, 1, 1, 3], 2));
        let out = rewrite(&g, &rules());
        assert!(conv_reads_bias_first(&out), "{}", out.dump());
        assert_same_function(&g, &out);
    }

    #[test]
    fn a_constant_that_is_not_per_channel_stays() {
        let g = conv_noise_bias(random(&[1, 4, 4, 3], 2));
        let out = rewrite(&g, &rules());
        assert!(!conv_reads_bias_first(&out), "{}", out.dump());
    }
}
