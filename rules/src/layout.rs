//! Layout rules: transposes compose, cancel, and move through ops, so that the transposes the
//! `nchw-to-nhwc` pass puts around every convolution meet and vanish.
//!
//! Layout is explicit: only `Transpose` nodes with constant permutations are moved; nothing is guessed
//! from shapes (StyleGAN has H == W everywhere, so a shape cannot tell NCHW from NHWC). A transpose
//! moves *down* through an op (`op(T(x)) → T(op'(x))`); operands without the transpose get the inverse
//! transpose, which the analysis evaluates at compile time when they are constants. Ops with
//! per-dimension operands (Tile's multiples, Pad's rows, Slice/StridedSlice vectors and mask bits,
//! ConcatV2's and the reductions' axes) get them permuted.

use egg::{Id, Subst};
use sgc_ir::{Attr, Attrs, DType, Op, Tensor};

use crate::util::{
    add_const, add_i32s, add_op, add_transpose, as_i64, attrs_of, bound, holds_transpose, ints,
    inverse, matched_attrs, perm, rank, rule, shape,
};
use crate::{EGraph, Rewrite};

/// Elementwise ops of one operand (attributes, such as LeakyRelu's alpha, carry over).
const UNARY: &[Op] = &[
    Op::Neg,
    Op::Square,
    Op::Sqrt,
    Op::Rsqrt,
    Op::Exp,
    Op::Tanh,
    Op::Sigmoid,
    Op::Relu,
    Op::Relu6,
    Op::LeakyRelu,
    Op::Elu,
    Op::Selu,
    Op::Softplus,
    Op::Abs,
    Op::Log,
    Op::Cast,
];

/// Elementwise ops of two broadcasting operands.
const BINARY: &[Op] = &[
    Op::Add,
    Op::AddV2,
    Op::Sub,
    Op::Mul,
    Op::RealDiv,
    Op::Maximum,
    Op::Minimum,
    Op::SquaredDifference,
    Op::Pow,
];

/// The most `ConcatV2` values the concat rule matches.
const CONCAT_ARITY: usize = 6;

pub fn rules() -> Vec<Rewrite> {
    let mut rules = vec![
        rule(
            "transpose-compose",
            "(Transpose (Transpose ?x ?p) ?q)",
            compose,
        ),
        rule("transpose-identity", "(Transpose ?x ?p)", identity),
        rule("transpose-as-reshape", "(Transpose ?x ?p)", as_reshape),
        rule(
            "tile-through-transpose",
            "(Tile (Transpose ?x ?p) ?m)",
            tile,
        ),
        rule(
            "pad-through-transpose",
            "(Pad (Transpose ?x ?p) ?pads)",
            pad,
        ),
        rule(
            "slice-through-transpose",
            "(Slice (Transpose ?x ?p) ?begin ?size)",
            slice,
        ),
        rule(
            "strided-slice-through-transpose",
            "(StridedSlice (Transpose ?x ?p) ?begin ?end ?strides)",
            strided_slice,
        ),
    ];
    // ConcatV2 takes any number of values and then the axis; one rule per arity up to CONCAT_ARITY.
    for n in 2..=CONCAT_ARITY {
        let values: Vec<String> = (0..n).map(|i| format!("?v{i}")).collect();
        rules.push(rule(
            format!("concat{n}-through-transpose"),
            &format!("(ConcatV2 {} ?axis)", values.join(" ")),
            move |eg, class, s| concat(eg, class, s, n),
        ));
    }
    for op in UNARY {
        let o = op.clone();
        rules.push(rule(
            format!("{op}-through-transpose"),
            &format!("({op} (Transpose ?x ?p))"),
            move |eg, class, s| unary(eg, class, s, &o),
        ));
    }
    for op in BINARY {
        let (l, r) = (op.clone(), op.clone());
        rules.push(rule(
            format!("{op}-through-transpose-left"),
            &format!("({op} (Transpose ?x ?p) ?y)"),
            move |eg, class, s| binary(eg, class, s, &l, true),
        ));
        rules.push(rule(
            format!("{op}-through-transpose-right"),
            &format!("({op} ?y (Transpose ?x ?p))"),
            move |eg, class, s| binary(eg, class, s, &r, false),
        ));
    }
    for op in Op::ALL.iter().filter(|op| op.is_reduction()) {
        let o = op.clone();
        rules.push(rule(
            format!("{op}-through-transpose"),
            &format!("({op} (Transpose ?x ?p) ?axes)"),
            move |eg, class, s| reduction(eg, class, s, &o),
        ));
    }
    // The other direction, so that a transpose can also travel up to constants (StyleGAN's learned 4×4
    // input, the noise images) and be evaluated at compile time.
    for op in UNARY {
        let o = op.clone();
        rules.push(rule(
            format!("transpose-into-{op}"),
            &format!("(Transpose ({op} ?x) ?p)"),
            move |eg, class, s| transpose_into_unary(eg, class, s, &o),
        ));
    }
    rules.push(rule(
        "transpose-into-Tile",
        "(Transpose (Tile ?x ?m) ?p)",
        transpose_into_tile,
    ));
    for op in BINARY {
        let o = op.clone();
        rules.push(rule(
            format!("transpose-into-{op}"),
            &format!("(Transpose ({op} ?a ?b) ?p)"),
            move |eg, class, s| transpose_into_binary(eg, class, s, &o),
        ));
    }
    rules
}

/// `T(U(x), p) = U(T(x, p))`.
fn transpose_into_unary(egraph: &mut EGraph, class: Id, subst: &Subst, op: &Op) -> Option<Id> {
    let x = bound(subst, "?x");
    let p = perm(egraph, bound(subst, "?p"))?;
    let attrs = attrs_under_transpose(egraph, class, op)?;
    let t = add_transpose(egraph, x, &as_i64(&p));
    Some(add_op(egraph, op.clone(), attrs, vec![t]))
}

/// `T(B(a, b), p) = B(T(a, p), T(b, p))`, when at least one of the new transposes is free (see
/// [`transpose_is_free`]): the transpose then travels up one operand chain at a time, which is what
/// reaches a constant, instead of doubling at every binary op.
fn transpose_into_binary(egraph: &mut EGraph, class: Id, subst: &Subst, op: &Op) -> Option<Id> {
    let p = perm(egraph, bound(subst, "?p"))?;
    let (a, b) = (bound(subst, "?a"), bound(subst, "?b"));
    if !(transpose_is_free(egraph, a, &p) || transpose_is_free(egraph, b, &p)) {
        return None;
    }
    let attrs = attrs_under_transpose(egraph, class, op)?;
    let a2 = transposed_operand(egraph, a, &p)?;
    let b2 = transposed_operand(egraph, b, &p)?;
    Some(add_op(egraph, op.clone(), attrs, vec![a2, b2]))
}

/// `T(T(x, p), q) = T(x, r)` with `r[i] = p[q[i]]`, or `x` when `r` is the identity.
fn compose(egraph: &mut EGraph, _class: Id, subst: &Subst) -> Option<Id> {
    let x = bound(subst, "?x");
    let p = perm(egraph, bound(subst, "?p"))?;
    let q = perm(egraph, bound(subst, "?q"))?;
    if p.len() != q.len() {
        return None;
    }
    let r: Vec<usize> = q.iter().map(|&i| p[i]).collect();
    if is_identity(&r) {
        Some(x)
    } else {
        Some(add_transpose(egraph, x, &as_i64(&r)))
    }
}

fn is_identity(p: &[usize]) -> bool {
    p.iter().enumerate().all(|(i, &v)| i == v)
}

fn identity(egraph: &mut EGraph, _class: Id, subst: &Subst) -> Option<Id> {
    is_identity(&perm(egraph, bound(subst, "?p"))?).then(|| bound(subst, "?x"))
}

/// A transpose that only moves size-1 dimensions is a reshape (no data moves).
fn as_reshape(egraph: &mut EGraph, _class: Id, subst: &Subst) -> Option<Id> {
    let x = bound(subst, "?x");
    let p = perm(egraph, bound(subst, "?p"))?;
    let dims = shape(egraph, x)?;
    if p.len() != dims.len() || is_identity(&p) {
        return None;
    }
    let moved: Vec<usize> = p.iter().copied().filter(|&d| dims[d] != 1).collect();
    if !moved.windows(2).all(|w| w[0] < w[1]) {
        return None;
    }
    let out: Vec<i64> = p.iter().map(|&d| dims[d] as i64).collect();
    let s = add_i32s(egraph, &out);
    let mut attrs = attrs_of(egraph, x, &Op::Reshape);
    attrs.set("Tshape", Attr::Type(sgc_ir::DType::I32));
    Some(add_op(egraph, Op::Reshape, attrs, vec![x, s]))
}

fn unary(egraph: &mut EGraph, class: Id, subst: &Subst, op: &Op) -> Option<Id> {
    let x = bound(subst, "?x");
    let p = perm(egraph, bound(subst, "?p"))?;
    let attrs = attrs_of(egraph, class, op);
    let inner = add_op(egraph, op.clone(), attrs, vec![x]);
    Some(add_transpose(egraph, inner, &as_i64(&p)))
}

/// `B(T(x, p), y) = T(B(x, T(y, p⁻¹)), p)`; an operand of lower rank is first given leading size-1
/// dimensions, as broadcasting would (see [`transposed_operand`]).
fn binary(
    egraph: &mut EGraph,
    class: Id,
    subst: &Subst,
    op: &Op,
    transposed_left: bool,
) -> Option<Id> {
    let x = bound(subst, "?x");
    let y = bound(subst, "?y");
    let p = perm(egraph, bound(subst, "?p"))?;
    if rank(egraph, x)? != p.len() {
        return None;
    }
    let y2 = transposed_operand(egraph, y, &inverse(&p))?;
    let attrs = attrs_of(egraph, class, op);
    let args = if transposed_left {
        vec![x, y2]
    } else {
        vec![y2, x]
    };
    let inner = add_op(egraph, op.clone(), attrs, args);
    Some(add_transpose(egraph, inner, &as_i64(&p)))
}

/// `y` transposed by `perm` as a broadcasting operand of rank `perm.len()`: unchanged when it is all
/// size-1 dimensions, else padded with leading size-1 dimensions (a reshape) and transposed.
fn transposed_operand(egraph: &mut EGraph, y: Id, perm: &[usize]) -> Option<Id> {
    let dims = shape(egraph, y)?;
    if dims.len() > perm.len() {
        return None;
    }
    if dims.iter().all(|&d| d == 1) {
        return Some(y);
    }
    let y = if dims.len() < perm.len() {
        let mut padded = vec![1i64; perm.len() - dims.len()];
        padded.extend(dims.iter().map(|&d| d as i64));
        let s = add_i32s(egraph, &padded);
        let mut attrs = sgc_ir::Attrs::new();
        attrs.set("Tshape", Attr::Type(sgc_ir::DType::I32));
        add_op(egraph, Op::Reshape, attrs, vec![y, s])
    } else {
        y
    };
    Some(add_transpose(egraph, y, &as_i64(perm)))
}

/// Whether transposing `y` by `perm` costs nothing at run time: `y` is a constant (transposed at
/// compile time), all size-1 dimensions, or the transpose only moves size-1 dimensions (a reshape).
fn transpose_is_free(egraph: &EGraph, y: Id, perm: &[usize]) -> bool {
    if egraph[y].data.value.is_some() {
        return true;
    }
    let Some(dims) = shape(egraph, y) else {
        return false;
    };
    if dims.len() < perm.len() {
        return dims.iter().all(|&d| d == 1);
    }
    let moved: Vec<usize> = perm.iter().copied().filter(|&d| dims[d] != 1).collect();
    dims.len() == perm.len() && moved.windows(2).all(|w| w[0] < w[1])
}

/// `R(T(x, p), axes) = T(R(x, p[axes]), p)` for reductions that keep their dimensions.
fn reduction(egraph: &mut EGraph, class: Id, subst: &Subst, op: &Op) -> Option<Id> {
    let attrs = attrs_of(egraph, class, op);
    if attrs.bool("keep_dims") != Some(true) {
        return None;
    }
    let x = bound(subst, "?x");
    let p = perm(egraph, bound(subst, "?p"))?;
    let r = p.len() as i64;
    let axes: Vec<i64> = ints(egraph, bound(subst, "?axes"))?
        .into_iter()
        .map(|a| if a < 0 { a + r } else { a })
        .collect();
    if axes.iter().any(|&a| a < 0 || a >= r) {
        return None;
    }
    let mapped: Vec<i64> = axes.iter().map(|&a| p[a as usize] as i64).collect();
    let axes_id = add_i32s(egraph, &mapped);
    let mut attrs = attrs;
    attrs.set("Tidx", Attr::Type(sgc_ir::DType::I32));
    let inner = add_op(egraph, op.clone(), attrs, vec![x, axes_id]);
    Some(add_transpose(egraph, inner, &as_i64(&p)))
}

/// `Tile(T(x, p), m) = T(Tile(x, m'), p)` with `m'[p[i]] = m[i]`.
fn tile(egraph: &mut EGraph, class: Id, subst: &Subst) -> Option<Id> {
    let x = bound(subst, "?x");
    let p = perm(egraph, bound(subst, "?p"))?;
    let m = ints(egraph, bound(subst, "?m"))?;
    if m.len() != p.len() {
        return None;
    }
    let m2 = add_i32s(egraph, &scatter(&m, &p));
    let mut attrs = attrs_of(egraph, class, &Op::Tile);
    attrs.set("Tmultiples", Attr::Type(sgc_ir::DType::I32));
    let inner = add_op(egraph, Op::Tile, attrs, vec![x, m2]);
    Some(add_transpose(egraph, inner, &as_i64(&p)))
}

/// `T(Tile(x, m), p) = Tile(T(x, p), m')` with `m'[i] = m[p[i]]`, when the new transpose is free (a
/// constant's: StyleGAN2's learned 4×4 input tiled over the batch).
fn transpose_into_tile(egraph: &mut EGraph, class: Id, subst: &Subst) -> Option<Id> {
    let x = bound(subst, "?x");
    let p = perm(egraph, bound(subst, "?p"))?;
    let m = ints(egraph, bound(subst, "?m"))?;
    if m.len() != p.len() || !transpose_is_free(egraph, x, &p) {
        return None;
    }
    let m2: Vec<i64> = p.iter().map(|&i| m[i]).collect();
    let m2 = add_i32s(egraph, &m2);
    let t = add_transpose(egraph, x, &as_i64(&p));
    let mut attrs = Attrs::new();
    let dt = egraph[class].data.outputs.first().and_then(|o| o.dtype);
    attrs.set("T", Attr::Type(dt.unwrap_or(DType::F32)));
    attrs.set("Tmultiples", Attr::Type(DType::I32));
    Some(add_op(egraph, Op::Tile, attrs, vec![t, m2]))
}

/// `v` with its entries permuted the way `T(x, p)` permutes dimensions: `out[p[i]] = v[i]`.
fn scatter<T: Copy + Default>(v: &[T], p: &[usize]) -> Vec<T> {
    let mut out = vec![T::default(); v.len()];
    for (i, &pi) in p.iter().enumerate() {
        out[pi] = v[i];
    }
    out
}

/// `Pad(T(x, p), pads) = T(Pad(x, pads'), p)` where row `p[i]` of `pads'` is row `i` of `pads`.
fn pad(egraph: &mut EGraph, class: Id, subst: &Subst) -> Option<Id> {
    let x = bound(subst, "?x");
    let p = perm(egraph, bound(subst, "?p"))?;
    let pads = ints(egraph, bound(subst, "?pads"))?;
    if pads.len() != 2 * p.len() {
        return None;
    }
    let rows: Vec<[i64; 2]> = pads.chunks(2).map(|r| [r[0], r[1]]).collect();
    let flat: Vec<i64> = scatter(&rows, &p).concat();
    let pads2 = add_const(
        egraph,
        Tensor::from_vec(vec![p.len(), 2], flat.iter().map(|&v| v as i32).collect()),
    );
    let mut attrs = attrs_of(egraph, class, &Op::Pad);
    attrs.set("Tpaddings", Attr::Type(DType::I32));
    let inner = add_op(egraph, Op::Pad, attrs, vec![x, pads2]);
    Some(add_transpose(egraph, inner, &as_i64(&p)))
}

/// `Slice(T(x, p), begin, size) = T(Slice(x, begin', size'), p)`, both vectors permuted.
fn slice(egraph: &mut EGraph, class: Id, subst: &Subst) -> Option<Id> {
    let x = bound(subst, "?x");
    let p = perm(egraph, bound(subst, "?p"))?;
    let begin = ints(egraph, bound(subst, "?begin"))?;
    let size = ints(egraph, bound(subst, "?size"))?;
    if begin.len() != p.len() || size.len() != p.len() {
        return None;
    }
    let begin = add_i32s(egraph, &scatter(&begin, &p));
    let size = add_i32s(egraph, &scatter(&size, &p));
    let mut attrs = attrs_of(egraph, class, &Op::Slice);
    attrs.set("Index", Attr::Type(DType::I32));
    let inner = add_op(egraph, Op::Slice, attrs, vec![x, begin, size]);
    Some(add_transpose(egraph, inner, &as_i64(&p)))
}

/// `StridedSlice(T(x, p), b, e, s) = T(StridedSlice(x, b', e', s'), p)` with the vectors and the
/// begin/end mask bits permuted; only for one spec entry per dimension and no ellipsis, new axis or
/// shrink (those change which entry means which dimension, or the rank).
fn strided_slice(egraph: &mut EGraph, class: Id, subst: &Subst) -> Option<Id> {
    let x = bound(subst, "?x");
    let p = perm(egraph, bound(subst, "?p"))?;
    let vectors = ["?begin", "?end", "?strides"].map(|v| ints(egraph, bound(subst, v)));
    let [Some(begin), Some(end), Some(strides)] = vectors else {
        return None;
    };
    let (p_id, operands) = (
        bound(subst, "?p"),
        ["?begin", "?end", "?strides"].map(|v| egraph.find(bound(subst, v))),
    );
    let attrs = matched_attrs(egraph, class, &Op::StridedSlice, |args| {
        args.len() == 4 && args[1..] == operands && holds_transpose(egraph, args[0], x, p_id)
    })?;
    let mask = |name: &str| attrs.int(name).unwrap_or(0);
    if [begin.len(), end.len(), strides.len()] != [p.len(); 3]
        || ["ellipsis_mask", "new_axis_mask", "shrink_axis_mask"]
            .iter()
            .any(|m| mask(m) != 0)
    {
        return None;
    }
    let bits = |m: i64| -> Vec<bool> { (0..p.len()).map(|i| (m >> i) & 1 == 1).collect() };
    let unbits =
        |b: Vec<bool>| -> i64 { b.iter().enumerate().map(|(i, &on)| (on as i64) << i).sum() };
    let begin_mask = unbits(scatter(&bits(mask("begin_mask")), &p));
    let end_mask = unbits(scatter(&bits(mask("end_mask")), &p));
    let args = vec![
        x,
        add_i32s(egraph, &scatter(&begin, &p)),
        add_i32s(egraph, &scatter(&end, &p)),
        add_i32s(egraph, &scatter(&strides, &p)),
    ];
    let mut attrs = attrs.clone();
    attrs.set("Index", Attr::Type(DType::I32));
    attrs.set("begin_mask", Attr::Int(begin_mask));
    attrs.set("end_mask", Attr::Int(end_mask));
    let inner = add_op(egraph, Op::StridedSlice, attrs, args);
    Some(add_transpose(egraph, inner, &as_i64(&p)))
}

/// `ConcatV2(T(x₀, p), …, T(xₙ, p), axis) = T(ConcatV2(x₀, …, xₙ, p[axis]), p)`. Values without the
/// transpose take the inverse one when it is free (constants are transposed at compile time).
fn concat(egraph: &mut EGraph, class: Id, subst: &Subst, n: usize) -> Option<Id> {
    let values: Vec<Id> = (0..n).map(|i| bound(subst, &format!("?v{i}"))).collect();
    // The permutation: that of the first value that is a transpose.
    let transposed_by = |egraph: &EGraph, v: Id| -> Vec<(Id, Vec<usize>)> {
        egraph[v]
            .nodes
            .iter()
            .filter_map(|node| match node {
                crate::TfNode::Op {
                    op: Op::Transpose,
                    args,
                    ..
                } => match args[..] {
                    [x, p] => Some((x, perm(egraph, p)?)),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    };
    let p = values
        .iter()
        .find_map(|&v| transposed_by(egraph, v).into_iter().next())?
        .1;
    let r = p.len() as i64;
    let axis = match ints(egraph, bound(subst, "?axis"))?.as_slice() {
        [a] if (-r..r).contains(a) => a.rem_euclid(r) as usize,
        _ => return None,
    };
    let mut inner_values = Vec::with_capacity(n + 1);
    for &v in &values {
        let under = transposed_by(egraph, v)
            .into_iter()
            .find(|(_, q)| *q == p)
            .map(|(x, _)| x);
        let inner = match under {
            Some(x) => x,
            None if rank(egraph, v)? == p.len() && transpose_is_free(egraph, v, &inverse(&p)) => {
                add_transpose(egraph, v, &as_i64(&inverse(&p)))
            }
            None => return None,
        };
        inner_values.push(inner);
    }
    inner_values.push(add_const(egraph, Tensor::scalar(p[axis] as i32)));
    let mut attrs = attrs_of(egraph, class, &Op::ConcatV2);
    attrs.set("Tidx", Attr::Type(DType::I32));
    attrs.set("N", Attr::Int(n as i64));
    let inner = add_op(egraph, Op::ConcatV2, attrs, inner_values);
    Some(add_transpose(egraph, inner, &as_i64(&p)))
}

/// The attributes of the `op` node that a `Transpose` in `class` reads.
fn attrs_under_transpose(egraph: &EGraph, class: Id, op: &Op) -> Option<sgc_ir::Attrs> {
    egraph[class].nodes.iter().find_map(|n| match n {
        crate::TfNode::Op {
            op: Op::Transpose,
            args,
            ..
        } => egraph[*args.first()?].nodes.iter().find_map(|m| match m {
            crate::TfNode::Op { op: o, attrs, .. } if o == op => {
                Some(egraph.analysis.attrs(*attrs).clone())
            }
            _ => None,
        }),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use sgc_ir::{Tensor, ValueRef};

    const TO_NHWC: [i32; 4] = [0, 2, 3, 1];
    const TO_NCHW: [i32; 4] = [0, 3, 1, 2];

    #[test]
    fn transposes_cancel_through_elementwise_ops_and_constants() {
        // T⁻¹(Rsqrt(T(x) * c + 1)) with c per channel: no transpose is needed at all.
        let mut b = Builder::new();
        let x = b.input("x", &[1, 4, 4, 3]);
        let t = b.transpose("t", x, &TO_NCHW);
        let c = b.constant("c", random(&[1, 3, 1, 1], 7));
        let m = b.op("m", Op::Mul, &[t, c], &[]);
        let one = b.constant("one", Tensor::scalar(1.0f32));
        let a = b.op("a", Op::AddV2, &[m, one], &[]);
        let sq = b.op("sq", Op::Square, &[a], &[]);
        let back = b.transpose("back", sq, &TO_NHWC);
        let g = b.output(back);
        let out = rewrite(&g, &rules());
        assert_eq!(count(&out, &Op::Transpose), 0, "{}", out.dump());
        assert_same_function(&g, &out);
    }

    #[test]
    fn reductions_remap_axes_only_when_keeping_dims() {
        for keep in [true, false] {
            let mut b = Builder::new();
            let x = b.input("x", &[1, 4, 4, 3]);
            let t = b.transpose("t", x, &TO_NCHW);
            let axes = b.ints("axes", &[2, 3]);
            let m = b.op(
                "mean",
                Op::Mean,
                &[t, axes],
                &[("keep_dims", sgc_ir::Attr::Bool(keep))],
            );
            let g = b.output(m);
            let out = rewrite(&g, &rules());
            // Keeping dims, the transpose moves below the mean, where it only moves size-1 dims.
            assert_eq!(
                count(&out, &Op::Transpose),
                usize::from(!keep),
                "{}",
                out.dump()
            );
            assert_same_function(&g, &out);
        }
    }

    #[test]
    fn a_transpose_of_size_one_dims_is_a_reshape() {
        let mut b = Builder::new();
        let x = b.input("x", &[2, 5, 1, 1]);
        let t = b.transpose("t", x, &TO_NHWC);
        let g = b.output(t);
        let out = rewrite(&g, &rules());
        assert_eq!(count(&out, &Op::Transpose), 0);
        assert_eq!(count(&out, &Op::Reshape), 1);
        assert_same_function(&g, &out);
    }

    #[test]
    fn real_transposes_stay() {
        let mut b = Builder::new();
        let x = b.input("x", &[1, 3, 4, 5]);
        let t = b.transpose("t", x, &TO_NHWC);
        let n = b.op("neg", Op::Neg, &[t], &[]);
        let g = b.output(n);
        let out = rewrite(&g, &rules());
        assert_eq!(count(&out, &Op::Transpose), 1);
        assert_same_function(&g, &out);
    }

    #[test]
    fn tile_multiples_follow_the_permutation() {
        let mut b = Builder::new();
        let x = b.input("x", &[1, 2, 3, 4]);
        let t = b.transpose("t", x, &TO_NCHW);
        let m = b.ints("m", &[2, 1, 3, 1]);
        let tile = b.op("tile", Op::Tile, &[t, m], &[]);
        let back = b.transpose("back", tile, &TO_NHWC);
        let g = b.output(back);
        let out = rewrite(&g, &rules());
        assert_eq!(count(&out, &Op::Transpose), 0, "{}", out.dump());
        assert_same_function(&g, &out);
    }

    /// A constant tiled over the batch, then transposed (StyleGAN2's 4×4 input at batch 2): the transpose
    /// goes into the constant, where it costs nothing at run time.
    #[test]
    fn a_transposed_tile_of_a_constant_tiles_the_transposed_constant() {
        let mut b = Builder::new();
        let c = b.constant("c", random(&[1, 3, 2, 2], 5));
        let m = b.ints("m", &[2, 1, 1, 1]);
        let tile = b.op("tile", Op::Tile, &[c, m], &[]);
        let t = b.transpose("t", tile, &TO_NHWC);
        let g = b.output(t);
        let out = rewrite(&g, &rules());
        assert_eq!(count(&out, &Op::Transpose), 0, "{}", out.dump());
        assert_eq!(count(&out, &Op::Tile), 1);
        assert_same_function(&g, &out);
    }

    /// `T⁻¹(op(T(x)))` for an NHWC input `x` [1, 4, 5, 3]: with the op's operands permuted, no
    /// transpose is left.
    fn between_transposes(build: impl FnOnce(&mut Builder, ValueRef) -> ValueRef) -> sgc_ir::Graph {
        let mut b = Builder::new();
        let x = b.input("x", &[1, 4, 5, 3]);
        let t = b.transpose("t", x, &TO_NCHW);
        let y = build(&mut b, t);
        let back = b.transpose("back", y, &TO_NHWC);
        b.output(back)
    }

    fn assert_no_transpose_left(g: &sgc_ir::Graph) {
        let out = rewrite(g, &rules());
        assert_eq!(count(&out, &Op::Transpose), 0, "{}", out.dump());
        assert_same_function(g, &out);
    }

    #[test]
    fn pad_rows_follow_the_permutation() {
        assert_no_transpose_left(&between_transposes(|b, t| {
            let pads = b.constant(
                "pads",
                Tensor::from_vec(vec![4, 2], vec![0i32, 0, 1, 2, 0, 1, 3, 0]),
            );
            b.op("pad", Op::Pad, &[t, pads], &[])
        }));
    }

    #[test]
    fn slice_begin_and_size_follow_the_permutation() {
        assert_no_transpose_left(&between_transposes(|b, t| {
            let begin = b.ints("begin", &[0, 1, 1, 0]);
            let size = b.ints("size", &[-1, 2, 3, 4]);
            b.op("slice", Op::Slice, &[t, begin, size], &[])
        }));
    }

    #[test]
    fn strided_slice_vectors_and_masks_follow_the_permutation() {
        assert_no_transpose_left(&between_transposes(|b, t| {
            let begin = b.ints("begin", &[0, 2, 1, 0]);
            let end = b.ints("end", &[0, 3, 4, 5]);
            let strides = b.ints("strides", &[1, 1, 2, -1]);
            b.op(
                "ss",
                Op::StridedSlice,
                &[t, begin, end, strides],
                &[
                    ("begin_mask", Attr::Int(0b1001)),
                    ("end_mask", Attr::Int(0b0001)),
                ],
            )
        }));
    }

    #[test]
    fn strided_slice_that_shrinks_a_dimension_stays() {
        let g = between_transposes(|b, t| {
            let begin = b.ints("begin", &[0, 1, 0, 0]);
            let end = b.ints("end", &[1, 2, 4, 5]);
            let strides = b.ints("strides", &[1, 1, 1, 1]);
            let ss = b.op(
                "ss",
                Op::StridedSlice,
                &[t, begin, end, strides],
                &[("shrink_axis_mask", Attr::Int(0b0010))],
            );
            let shape = b.ints("shape", &[1, 1, 4, 5]);
            b.op("r", Op::Reshape, &[ss, shape], &[])
        });
        let out = rewrite(&g, &rules());
        assert!(count(&out, &Op::StridedSlice) == 1);
        assert_same_function(&g, &out);
    }

    #[test]
    fn concat_of_transposed_values_and_a_constant_concatenates_inside() {
        assert_no_transpose_left(&between_transposes(|b, t| {
            let n = b.op("neg", Op::Neg, &[t], &[]);
            let c = b.constant("c", random(&[1, 2, 4, 5], 9));
            let axis = b.constant("axis", Tensor::scalar(1i32));
            b.op("cat", Op::ConcatV2, &[t, n, c, axis], &[])
        }));
    }

    #[test]
    fn concat_with_an_untransposed_activation_stays() {
        let mut b = Builder::new();
        let x = b.input("x", &[1, 4, 5, 3]);
        let other = b.input("other", &[1, 3, 4, 5]);
        let t = b.transpose("t", x, &TO_NCHW);
        let axis = b.constant("axis", Tensor::scalar(1i32));
        let cat = b.op("cat", Op::ConcatV2, &[t, other, axis], &[]);
        let g = b.output(cat);
        let out = rewrite(&g, &rules());
        assert_eq!(count(&out, &Op::Transpose), 1, "{}", out.dump());
        assert_same_function(&g, &out);
    }
}
