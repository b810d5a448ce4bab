//! The shape of an input whose placeholder has none (unknown rank), where the graph determines it: the
//! template graphs and the `Gs.run()` graph of the official StyleGAN code make such placeholders.
//!
//! - `[N, K]` when the input reaches (through identities, casts, a one-way `Split` along the batch and
//!   elementwise ops, such as the pixel norm) the first operand of a `MatMul` whose weight is a
//!   constant `[K, M]` (StyleGAN's latents: the mapping network's first dense layer);
//! - `[N, L, D]` when it is read as rows `x[:, i]` (a `StridedSlice` shrinking axis 1) that reach such a
//!   `MatMul` with `K = D`, `L` one more than the largest row read (StyleGAN's dlatents: the style
//!   dense layers).
//!
//! Anything else stays unknown (and [`crate::io::select_io`] asks for `--inputs`).

use sgc_ir::{Graph, NodeIndex, Op, ValueRef};

/// The shape found for input `n` (batch -1), with the node that determined it.
pub fn infer(graph: &Graph, n: NodeIndex) -> Option<(Vec<i64>, String)> {
    let x = ValueRef::new(n, 0);
    if let Some((k, by)) = dense_width(graph, x, 0) {
        return Some((vec![-1, k], by));
    }
    // Rows of a rank-3 input.
    let mut rows = 0i64;
    let mut width = None;
    for (c, slot) in graph.consumers(x) {
        let node = graph.node(c);
        if node.op != Op::StridedSlice || slot != 0 || node.attrs.int("shrink_axis_mask") != Some(2)
        {
            continue;
        }
        let begin = graph.const_value(graph.inputs(c)[1])?.to_i64s().ok()?;
        rows = rows.max(*begin.get(1)? + 1);
        if let Some(w) = dense_width(graph, ValueRef::new(c, 0), 0) {
            width = Some(w);
        }
    }
    let (d, by) = width?;
    Some((vec![-1, rows, d], by))
}

/// `K` of the first `MatMul` (and its name) that `v` reaches as operand 0 through shape-keeping ops.
fn dense_width(graph: &Graph, v: ValueRef, depth: usize) -> Option<(i64, String)> {
    if depth > 32 {
        return None;
    }
    for (c, slot) in graph.consumers(v) {
        let node = graph.node(c);
        let next = match &node.op {
            Op::MatMul if slot == 0 && node.attrs.bool("transpose_a") != Some(true) => {
                let w = weight_shape(graph, graph.inputs(c)[1])?;
                let k = if node.attrs.bool("transpose_b") == Some(true) {
                    w[1]
                } else {
                    w[0]
                };
                return Some((k as i64, node.name.clone()));
            }
            Op::Identity | Op::Cast => ValueRef::new(c, 0),
            Op::IdentityN => ValueRef::new(c, slot),
            Op::Split if slot == 1 && node.attrs.int("num_split") == Some(1) => ValueRef::new(c, 0),
            Op::Mul | Op::AddV2 | Op::Add | Op::Sub | Op::Square | Op::Rsqrt | Op::Maximum => {
                ValueRef::new(c, 0)
            }
            _ => continue,
        };
        if let Some(found) = dense_width(graph, next, depth + 1) {
            return Some(found);
        }
    }
    None
}

/// The static shape of a rank-2 constant weight, through the scale multiply and reads before it.
fn weight_shape(graph: &Graph, v: ValueRef) -> Option<Vec<usize>> {
    let mut v = v;
    for _ in 0..8 {
        if let Some(t) = graph.const_value(v) {
            return (t.rank() == 2).then(|| t.shape().to_vec());
        }
        let node = graph.node(v.node);
        let ins = graph.inputs(v.node);
        v = match node.op {
            Op::Identity | Op::Cast => *ins.first()?,
            // `weight * runtime_coef`: the operand that is not a scalar.
            Op::Mul => *ins
                .iter()
                .find(|&&i| graph.const_value(i).is_none_or(|t| t.rank() == 2))?,
            _ => return None,
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use sgc_ir::testing::Builder;
    use sgc_ir::{Attr, Tensor};

    /// A rank-3 input read as rows that feed dense layers, and a placeholder nothing determines.
    #[test]
    fn rows_read_into_dense_layers_give_a_rank_3_shape() {
        let mut b = Builder::new();
        let d = b.input("dlatents_in", &[1, 5, 4]);
        let w = b.constant("w", Tensor::from_vec(vec![4, 6], vec![0f32; 24]));
        for row in [0i32, 4] {
            let begin = b.ints(&format!("b{row}"), &[0, row]);
            let end = b.ints(&format!("e{row}"), &[0, row + 1]);
            let strides = b.ints(&format!("s{row}"), &[1, 1]);
            let masks = [
                ("begin_mask", Attr::Int(1)),
                ("end_mask", Attr::Int(1)),
                ("shrink_axis_mask", Attr::Int(2)),
            ];
            let r = b.op(
                &format!("row{row}"),
                Op::StridedSlice,
                &[d, begin, end, strides],
                &masks,
            );
            b.op(&format!("dense{row}"), Op::MatMul, &[r, w], &[]);
        }
        let mut g = b.g;
        let n = g.inputs[0];
        g.node_mut(n).outputs[0].shape = None;
        let (shape, by) = infer(&g, n).unwrap();
        assert_eq!(shape, vec![-1, 5, 4]);
        assert!(by.starts_with("dense"), "{by}");

        let mut b = Builder::new();
        let x = b.input("x", &[2]);
        let y = b.op("y", Op::Square, &[x], &[]);
        let mut g = b.output(y);
        let n = g.inputs[0];
        g.node_mut(n).outputs[0].shape = None;
        assert_eq!(infer(&g, n), None);
    }
}
