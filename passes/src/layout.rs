//! NCHW → NHWC, first version: every NCHW op becomes its NHWC form between two transposes.
//!
//! TFLite's convolutions are NHWC only, and StyleGAN is NCHW throughout. This pass changes only the ops
//! whose meaning depends on `data_format` (the convolutions and `BiasAdd`); everything else keeps
//! computing on NCHW-shaped tensors, so the result is correct by construction. The transposes it leaves
//! between consecutive ops are what the e-graph layout rules remove.

use sgc_ir::{Attr, Graph, IrError, Node, NodeIndex, Op, Tensor, ValueInfo, ValueRef};

use crate::{Pass, PassReport};

pub struct NchwToNhwc;

/// NCHW → NHWC as a `Transpose` permutation, and back.
const TO_NHWC: [i32; 4] = [0, 2, 3, 1];
const TO_NCHW: [i32; 4] = [0, 3, 1, 2];

impl Pass for NchwToNhwc {
    fn name(&self) -> &'static str {
        "nchw-to-nhwc"
    }

    fn description(&self) -> &'static str {
        "rewrites NCHW Conv2D, DepthwiseConv2dNative, Conv2DBackpropInput, BiasAdd, MaxPool and AvgPool as NHWC ops between transposes"
    }

    fn run(&self, graph: &mut Graph) -> Result<PassReport, IrError> {
        let nodes: Vec<_> = graph
            .node_indices()
            .filter(|&n| {
                let node = graph.node(n);
                data_input_slot(&node.op).is_some() && node.attrs.data_format() == "NCHW"
            })
            .collect();
        for &n in &nodes {
            rewrite(graph, n)?;
        }
        Ok(PassReport::changed(nodes.len()))
    }
}

/// The input slot that carries the activation, for ops whose semantics depend on `data_format`.
fn data_input_slot(op: &Op) -> Option<usize> {
    match op {
        Op::Conv2D | Op::DepthwiseConv2dNative | Op::BiasAdd | Op::MaxPool | Op::AvgPool => Some(0),
        Op::Conv2DBackpropInput => Some(2),
        _ => None,
    }
}

fn rewrite(graph: &mut Graph, n: NodeIndex) -> Result<(), IrError> {
    let name = graph.node(n).name.clone();
    let slot = data_input_slot(&graph.node(n).op).expect("filtered");
    let mut inputs = graph.inputs(n);
    let Some(&data) = inputs.get(slot) else {
        return Err(IrError::node(
            &name,
            format!("expected an input at slot {slot}"),
        ));
    };

    inputs[slot] = transpose(graph, data, &format!("{name}/to_nhwc"), TO_NHWC).into();
    if graph.node(n).op == Op::Conv2DBackpropInput {
        let sizes = graph.const_value(inputs[0]).ok_or_else(|| {
            IrError::node(
                &name,
                "input_sizes is not a constant: cannot change its layout",
            )
        })?;
        let nchw = sizes.to_i64s().map_err(|e| IrError::node(&name, e))?;
        let nhwc: Vec<i32> = TO_NHWC.iter().map(|&i| nchw[i as usize] as i32).collect();
        let c = graph.add_const(
            graph.unique_name(&format!("{name}/input_sizes_nhwc")),
            Tensor::from_vec(vec![4], nhwc),
        );
        inputs[0] = c.into();
    }
    graph.set_inputs(n, &inputs);

    let node = graph.node_mut(n);
    node.attrs.set("data_format", Attr::Str("NHWC".into()));
    for key in ["strides", "dilations", "ksize"] {
        if let Some(v) = node.attrs.ints(key) {
            let v = permute(v, 1);
            node.attrs.set(key, Attr::Ints(v));
        }
    }
    if let Some(v) = node.attrs.ints("explicit_paddings") {
        if v.len() == 8 {
            let v = permute(v, 2);
            node.attrs.set("explicit_paddings", Attr::Ints(v));
        }
    }
    node.outputs = vec![ValueInfo::default()];

    let back = transpose(graph, n.into(), &format!("{name}/to_nchw"), TO_NCHW);
    // Every reader of the op now reads the transposed-back value; the transpose itself reads the op.
    graph.replace_uses(n.into(), back.into());
    graph.set_inputs(back, &[n.into(), graph.inputs(back)[1]]);
    Ok(())
}

/// NCHW-ordered per-dimension values (`group` entries per dimension) in NHWC order.
fn permute(values: &[i64], group: usize) -> Vec<i64> {
    if values.len() != 4 * group {
        return values.to_vec();
    }
    TO_NHWC
        .iter()
        .flat_map(|&d| values[d as usize * group..(d as usize + 1) * group].to_vec())
        .collect()
}

fn transpose(graph: &mut Graph, input: ValueRef, name: &str, perm: [i32; 4]) -> NodeIndex {
    let name = graph.unique_name(name);
    let p = graph.add_const(
        format!("{name}/perm"),
        Tensor::from_vec(vec![4], perm.to_vec()),
    );
    let t = graph.add(Node::new(name, Op::Transpose));
    graph.connect(input, t, 0);
    graph.connect(p.into(), t, 1);
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use sgc_ir::{DType, Output};

    #[test]
    fn conv_is_wrapped_and_attributes_permuted() {
        let mut g = Graph::new();
        let mut x = Node::new("x", Op::Placeholder);
        x.outputs = vec![ValueInfo::new(DType::F32, vec![1, 3, 8, 8])];
        let x = g.add(x);
        let w = g.add_const("w", Tensor::filled(vec![3, 3, 3, 4], 1.0f32));
        let conv = g.add(
            Node::new("conv", Op::Conv2D)
                .with_attr("data_format", Attr::Str("NCHW".into()))
                .with_attr("strides", Attr::Ints(vec![1, 1, 2, 3])),
        );
        g.connect(x.into(), conv, 0);
        g.connect(w.into(), conv, 1);
        g.outputs.push(Output {
            name: "conv".into(),
            value: conv.into(),
        });

        assert_eq!(NchwToNhwc.run(&mut g).unwrap().changes, 1);
        let node = g.node(conv);
        assert_eq!(node.attrs.str("data_format"), Some("NHWC"));
        assert_eq!(node.attrs.ints("strides"), Some(&[1, 2, 3, 1][..]));
        let pre = g.inputs(conv)[0].node;
        assert_eq!(g.node(pre).op, Op::Transpose);
        assert_eq!(g.inputs(pre)[0], x.into());
        let post = g.outputs[0].value.node;
        assert_eq!(g.node(post).op, Op::Transpose);
        assert_eq!(g.inputs(post)[0], conv.into());
        assert_eq!(
            g.const_value(g.inputs(post)[1]).unwrap().to_i64s().unwrap(),
            vec![0, 3, 1, 2]
        );
    }

    #[test]
    fn explicit_paddings_move_in_pairs() {
        assert_eq!(
            permute(&[0, 0, 1, 1, 2, 2, 3, 3], 2),
            vec![0, 0, 2, 2, 3, 3, 1, 1]
        );
    }
}
