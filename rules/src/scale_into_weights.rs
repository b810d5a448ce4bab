//! A per-output-channel constant scale after a convolution or matmul, folded into its weights.
//!
//! `Mul(Conv2D(x, w), a)` with a constant `a` of one value per output channel (or one for all) is
//! `Conv2D(x, w · a)`: the scale moves onto the last (output) axis of the HWIO filter, onto the flattened
//! `C·M` output channels of a depthwise filter, onto the columns of a matmul's weight, onto the third
//! (output) axis of a transposed conv's `[H, W, out, in]` filter. This is what an
//! inference batch norm leaves after a conv (`batch-norm` writes it as `x · a + b`); the shift `b` then
//! sits next to the conv, where the backend takes it as the bias input. Convs in NHWC only (the e-graph
//! sees them after the layout pass).

use egg::{Id, Subst};
use sgc_ir::{Attr, ConvAttrs, DType, Op, Tensor};

use crate::util::{add_op, bound, derived_const, matched_attrs, rule, shape, value};
use crate::{EGraph, Rewrite};

pub fn rules() -> Vec<Rewrite> {
    let mut rules = vec![];
    for op in [
        Op::Conv2D,
        Op::DepthwiseConv2dNative,
        Op::MatMul,
        Op::Conv2DBackpropInput,
    ] {
        // A transposed conv's operands are (output size, filter, input).
        let args = match op {
            Op::Conv2DBackpropInput => "?s ?w ?x",
            _ => "?x ?w",
        };
        for (side, pattern) in [
            ("left", format!("(Mul ({op} {args}) ?a)")),
            ("right", format!("(Mul ?a ({op} {args}))")),
        ] {
            let o = op.clone();
            rules.push(rule(
                format!("scale-into-{op}-weights-{side}"),
                &pattern,
                move |eg, class, s| fold_scale(eg, class, s, &o),
            ));
        }
    }
    rules
}

fn fold_scale(egraph: &mut EGraph, class: Id, subst: &Subst, op: &Op) -> Option<Id> {
    let (x, w, a) = (bound(subst, "?x"), bound(subst, "?w"), bound(subst, "?a"));
    let (wt, at) = (value(egraph, w)?, value(egraph, a)?);
    if wt.dtype() != DType::F32 || at.dtype() != DType::F32 {
        return None;
    }
    let out = shape(egraph, class)?;
    let channels = *out.last()?;
    if channels == 0 {
        return None;
    }
    // One value per output channel along the last axis, or one value.
    let a_shape = at.shape();
    let leading_ones = a_shape.iter().rev().skip(1).all(|&d| d == 1);
    let last_fits = matches!(a_shape.last(), None | Some(&1)) || a_shape.last() == Some(&channels);
    if a_shape.len() > out.len() || !leading_ones || !last_fits {
        return None;
    }
    // The attributes of the conv node the pattern bound (its class may also hold the same conv
    // written differently, e.g. a SAME conv of x beside the VALID conv of Pad(x)).
    let args: Vec<Id> = match op {
        Op::Conv2DBackpropInput => vec![bound(subst, "?s"), w, x],
        _ => vec![x, w],
    };
    let canonical: Vec<Id> = args.iter().map(|&a| egraph.find(a)).collect();
    let attrs = matched_attrs(egraph, class_of_op(egraph, class, op)?, op, |a| {
        a == canonical
    })?;
    if *op != Op::MatMul && ConvAttrs::parse(&attrs).ok()?.nchw {
        return None;
    }
    let transpose_b = *op == Op::MatMul && attrs.bool("transpose_b").unwrap_or(false);
    let key = match op {
        Op::Conv2DBackpropInput => "scale-into-Conv2DBackpropInput",
        Op::MatMul if transpose_b => "scale-into-MatMul-transposed",
        _ => "scale-into-weights",
    };
    let w2 = derived_const(egraph, key, &[w, a], |eg| {
        let wt = value(eg, w)?;
        let folded = scaled(wt, value(eg, a)?, op, transpose_b, channels)?;
        if let Some(file) = &eg.analysis.backing {
            file.release_bytes(wt.bytes()); // read once; the folded copy takes its place
        }
        Some(folded)
    })?;
    let mut attrs = attrs;
    attrs.set("T", Attr::Type(DType::F32));
    let args = match op {
        Op::Conv2DBackpropInput => vec![args[0], w2, x],
        _ => vec![x, w2],
    };
    Some(add_op(egraph, op.clone(), attrs, args))
}

/// The weights `wt` of `op` with output channel `o` scaled by `at[o]` (or all by `at`'s one value).
fn scaled(wt: &Tensor, at: &Tensor, op: &Op, transpose_b: bool, channels: usize) -> Option<Tensor> {
    let av = at.to_vec::<f32>().ok()?;
    let scale = |o: usize| if av.len() == 1 { av[0] } else { av[o] };
    let mut wv = wt.to_vec::<f32>().ok()?;
    match op {
        Op::Conv2DBackpropInput => {
            // [H, W, out, in]: the output channel is the second-fastest index.
            let (&cout, &cin) = (wt.shape().get(2)?, wt.shape().get(3)?);
            if cout != channels || cin == 0 {
                return None;
            }
            for (k, row) in wv.chunks_mut(cin).enumerate() {
                row.iter_mut().for_each(|v| *v *= scale(k % cout));
            }
        }
        Op::MatMul if transpose_b => {
            let k = wv.len() / channels;
            for (o, row) in wv.chunks_mut(k).enumerate() {
                row.iter_mut().for_each(|v| *v *= scale(o));
            }
        }
        _ => {
            // The output channel is the fastest-moving index of an HWIO filter, of a depthwise
            // filter's flattened [C, M] and of a [K, N] matmul weight alike.
            if wv.len() % channels != 0 {
                return None;
            }
            for row in wv.chunks_mut(channels) {
                for (o, v) in row.iter_mut().enumerate() {
                    *v *= scale(o);
                }
            }
        }
    }
    Some(Tensor::from_vec(wt.shape().to_vec(), wv))
}

/// The class of the matched `op` node inside `class` (the Mul's operand).
fn class_of_op(egraph: &EGraph, class: Id, op: &Op) -> Option<Id> {
    egraph[class].nodes.iter().find_map(|n| match n {
        crate::TfNode::Op { op: mul, args, .. } if *mul == Op::Mul => args
            .iter()
            .copied()
            .find(|&c| egraph[c].nodes.iter().any(|m| m.op() == Some(op))),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    /// `conv(x) · a` for an NHWC conv (or depthwise conv, or matmul) and a per-channel constant `a`.
    fn scaled(op: Op, a_shape: &[usize]) -> sgc_ir::Graph {
        let mut b = Builder::new();
        let (x, w) = match op {
            Op::MatMul => (b.input("x", &[2, 5]), b.constant("w", random(&[5, 4], 2))),
            // [H, W, out 4, in 3], from 3×3×3 to 6×6×4 at stride 2.
            Op::Conv2DBackpropInput => (
                b.input("x", &[1, 3, 3, 3]),
                b.constant("w", random(&[3, 3, 4, 3], 2)),
            ),
            Op::DepthwiseConv2dNative => (
                b.input("x", &[1, 6, 6, 2]),
                b.constant("w", random(&[3, 3, 2, 2], 2)),
            ),
            _ => (
                b.input("x", &[1, 6, 6, 3]),
                b.constant("w", random(&[3, 3, 3, 4], 2)),
            ),
        };
        let attrs = [
            ("strides", Attr::Ints(vec![1, 1, 1, 1])),
            ("padding", Attr::Str("SAME".into())),
            ("data_format", Attr::Str("NHWC".into())),
        ];
        let y = match op {
            Op::MatMul => b.op("y", op.clone(), &[x, w], &[]),
            Op::Conv2DBackpropInput => {
                let sizes = b.constant("sizes", Tensor::from_vec(vec![4], vec![1i32, 6, 6, 4]));
                let mut attrs = attrs.to_vec();
                attrs[0].1 = Attr::Ints(vec![1, 2, 2, 1]);
                b.op("y", op.clone(), &[sizes, w, x], &attrs)
            }
            _ => b.op("y", op.clone(), &[x, w], &attrs),
        };
        let a = b.constant("a", random(a_shape, 3));
        let z = b.op("z", Op::Mul, &[y, a], &[]);
        b.output(z)
    }

    #[test]
    fn per_channel_scales_fold_into_the_weights() {
        for (op, a) in [
            (Op::Conv2D, vec![4]),
            (Op::Conv2D, vec![1, 1, 1, 4]),
            (Op::Conv2D, vec![]),
            (Op::DepthwiseConv2dNative, vec![4]),
            (Op::MatMul, vec![4]),
            (Op::Conv2DBackpropInput, vec![4]),
            (Op::Conv2DBackpropInput, vec![1, 1, 1, 4]),
        ] {
            let g = scaled(op.clone(), &a);
            let out = rewrite(&g, &rules());
            assert_eq!(count(&out, &Op::Mul), 0, "{op} {a:?}: {}", out.dump());
            assert_same_function(&g, &out);
        }
    }

    #[test]
    fn a_spatial_scale_stays() {
        let g = scaled(Op::Conv2D, &[1, 6, 6, 1]);
        let out = rewrite(&g, &rules());
        assert_eq!(count(&out, &Op::Mul), 1, "{}", out.dump());
    }
}
