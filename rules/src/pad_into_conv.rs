//! A zero pad before a VALID convolution that pads exactly as SAME would is a SAME convolution.
//!
//! Keras and hand-written TF1 nets pad explicitly (`ZeroPadding2D`, `tf.pad`) and convolve VALID.
//! Where the rows and columns added are the ones SAME padding adds for the unpadded input (before =
//! ⌊total / 2⌋, after = the rest, total = `(⌈in / s⌉ − 1)·s + k_eff − in`), `Conv2D(Pad(x), w)` VALID
//! is `Conv2D(x, w)` SAME: one op less and no padded copy of the input. Any other padding (TF's
//! symmetric `pad 1` before a stride-2 3×3 conv of an even input, say) stays.

use egg::{Id, Subst};
use sgc_ir::{Attr, ConvAttrs, ConvPadding, Op};

use crate::util::{bound, ints, matched_attrs, rule, shape};
use crate::{EGraph, Rewrite};

pub fn rules() -> Vec<Rewrite> {
    [Op::Conv2D, Op::DepthwiseConv2dNative]
        .into_iter()
        .map(|op| {
            let o = op.clone();
            rule(
                format!("pad-into-{op}-as-same"),
                &format!("({op} (Pad ?x ?p) ?w)"),
                move |eg, class, s| pad_into_conv(eg, class, s, &o),
            )
        })
        .collect()
}

fn pad_into_conv(egraph: &mut EGraph, class: Id, subst: &Subst, op: &Op) -> Option<Id> {
    let (x, p, w) = (bound(subst, "?x"), bound(subst, "?p"), bound(subst, "?w"));
    // The attributes of the conv the pattern matched: of `Pad(x, p)` and `w` (the class may hold the
    // same conv written otherwise, with other strides or padding).
    let (x_c, p_c, w_c) = (egraph.find(x), egraph.find(p), egraph.find(w));
    let is_the_pad = |c: Id| {
        egraph[c].nodes.iter().any(|n| match n {
            crate::TfNode::Op {
                op: Op::Pad, args, ..
            } => args.len() == 2 && egraph.find(args[0]) == x_c && egraph.find(args[1]) == p_c,
            _ => false,
        })
    };
    let attrs = matched_attrs(egraph, class, op, |a| {
        a.len() == 2 && a[1] == w_c && is_the_pad(a[0])
    })?;
    let ca = ConvAttrs::parse(&attrs).ok()?;
    if ca.nchw || ca.padding != ConvPadding::Valid {
        return None;
    }
    let pads = ints(egraph, p)?;
    let (xs, fs) = (shape(egraph, x)?, shape(egraph, w)?);
    if xs.len() != 4 || fs.len() != 4 || pads.len() != 8 {
        return None;
    }
    // No padding of the batch or the channels.
    if pads[..2] != [0, 0] || pads[6..] != [0, 0] {
        return None;
    }
    let same = |len: usize, k: usize, s: usize, d: usize| -> Option<[i64; 2]> {
        if len == 0 || k == 0 || s == 0 {
            return None;
        }
        let ek = (k - 1) * d + 1;
        let total = (len.div_ceil(s) - 1) * s + ek;
        let total = total.checked_sub(len)? as i64;
        Some([total / 2, total - total / 2])
    };
    let want_h = same(xs[1], fs[0], ca.sh, ca.dh)?;
    let want_w = same(xs[2], fs[1], ca.sw, ca.dw)?;
    if pads[2..4] != want_h || pads[4..6] != want_w || pads.iter().all(|&v| v == 0) {
        return None;
    }
    let mut attrs = attrs;
    attrs.set("padding", Attr::Str("SAME".into()));
    Some(crate::util::add_op(egraph, op.clone(), attrs, vec![x, w]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use sgc_ir::Tensor;

    /// `op(Pad(x, pads), w)` VALID with a 3×3 filter at `stride` on an `hw`×`hw` input.
    fn padded(op: Op, hw: usize, stride: i64, pads: [i64; 4]) -> sgc_ir::Graph {
        let mut b = Builder::new();
        let x = b.input("x", &[1, hw, hw, 2]);
        let p = vec![0, 0, pads[0], pads[1], pads[2], pads[3], 0, 0];
        let p = b.constant("p", Tensor::from_vec(vec![4, 2], p));
        let padded = b.op("pad", Op::Pad, &[x, p], &[]);
        let w = b.constant("w", random(&[3, 3, 2, 2], 2));
        let attrs = [
            ("strides", Attr::Ints(vec![1, stride, stride, 1])),
            ("padding", Attr::Str("VALID".into())),
            ("data_format", Attr::Str("NHWC".into())),
        ];
        let y = b.op("y", op, &[padded, w], &attrs);
        b.output(y)
    }

    #[test]
    fn same_padding_written_out_becomes_same() {
        for (op, hw, stride, pads) in [
            (Op::Conv2D, 6, 1, [1, 1, 1, 1]),
            (Op::Conv2D, 6, 2, [0, 1, 0, 1]),
            (Op::Conv2D, 7, 2, [1, 1, 1, 1]),
            (Op::DepthwiseConv2dNative, 5, 1, [1, 1, 1, 1]),
            (Op::DepthwiseConv2dNative, 8, 2, [0, 1, 0, 1]),
        ] {
            let g = padded(op.clone(), hw, stride, pads);
            let out = rewrite(&g, &rules());
            assert_eq!(
                count(&out, &Op::Pad),
                0,
                "{op} {hw} s{stride}: {}",
                out.dump()
            );
            assert_same_function(&g, &out);
        }
    }

    #[test]
    fn other_paddings_stay() {
        for (hw, stride, pads) in [
            (6, 2, [1, 1, 1, 1]), // TF's SAME pads (0, 1) here
            (6, 1, [2, 0, 1, 1]),
            (6, 1, [1, 1, 0, 0]),
            (0, 1, [1, 2, 1, 2]), // an empty input padded to 3x3: no SAME form, and no panic
        ] {
            let g = padded(Op::Conv2D, hw, stride, pads);
            let out = rewrite(&g, &rules());
            assert_eq!(count(&out, &Op::Pad), 1, "{hw} s{stride} {pads:?}");
        }
    }
}
