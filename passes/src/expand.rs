//! Expansions for targets that lack an op the e-graph pass chose.
//!
//! [`ExpandLeakyRelu`]: `LeakyRelu(x, α)` → `Maximum(x, Mul(x, α))` (two TFLite ops), for runtimes
//! without LEAKY_RELU. Not in the default pipeline: `sgc lower --no-leaky-relu` adds it after `egraph`.

use sgc_ir::{Attr, DType, Graph, IrError, Node, Op, Tensor, ValueRef};

use crate::{Pass, PassReport};

pub struct ExpandLeakyRelu;

impl Pass for ExpandLeakyRelu {
    fn name(&self) -> &'static str {
        "expand-leaky-relu"
    }

    fn description(&self) -> &'static str {
        "LeakyRelu(x, a) → Maximum(x, Mul(x, a)), for targets without LEAKY_RELU (--no-leaky-relu)"
    }

    fn run(&self, graph: &mut Graph) -> Result<PassReport, IrError> {
        let nodes: Vec<_> = graph
            .node_indices()
            .filter(|&n| graph.node(n).op == Op::LeakyRelu)
            .collect();
        for &n in &nodes {
            let name = graph.node(n).name.clone();
            let alpha = sgc_ir::op::leaky_relu_alpha(&graph.node(n).attrs);
            let info = graph.node(n).outputs[0].clone();
            let [x] = graph.inputs(n)[..] else {
                return Err(IrError::node(&name, "LeakyRelu needs one input"));
            };
            let a = graph.add_const(
                graph.unique_name(&format!("{name}/alpha")),
                Tensor::scalar(alpha),
            );
            let mut mul = Node::new(graph.unique_name(&format!("{name}/mul")), Op::Mul)
                .with_attr("T", Attr::Type(DType::F32));
            mul.outputs = vec![info.clone()];
            let mul = graph.add(mul);
            graph.connect(x, mul, 0);
            graph.connect(a.into(), mul, 1);
            // The LeakyRelu node itself becomes the Maximum, so its name and readers stay.
            let node = graph.node_mut(n);
            node.op = Op::Maximum;
            node.attrs = Default::default();
            node.attrs.set("T", Attr::Type(DType::F32));
            graph.set_inputs(n, &[x, ValueRef::from(mul)]);
        }
        Ok(PassReport::changed(nodes.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sgc_ir::{interp, Output, ValueInfo};

    #[test]
    fn leaky_relu_becomes_maximum_of_x_and_scaled_x() {
        let mut g = Graph::new();
        let mut x = Node::new("x", Op::Placeholder);
        x.outputs = vec![ValueInfo::new(DType::F32, vec![4])];
        let x = g.add(x);
        g.inputs.push(x);
        let mut l = Node::new("act", Op::LeakyRelu).with_attr("alpha", Attr::Float(0.2));
        l.outputs = vec![ValueInfo::new(DType::F32, vec![4])];
        let l = g.add(l);
        g.connect(x.into(), l, 0);
        g.outputs.push(Output {
            name: "act".into(),
            value: l.into(),
        });
        let input = Tensor::from_vec(vec![4], vec![-2.0f32, -0.5, 0.0, 3.0]);
        let before = interp::run(&g, &[(x, input.clone())], &[l.into()]).unwrap();

        assert_eq!(ExpandLeakyRelu.run(&mut g).unwrap().changes, 1);
        assert_eq!(g.node(l).op, Op::Maximum);
        assert!(g.node_indices().all(|n| g.node(n).op != Op::LeakyRelu));
        let after = interp::run(&g, &[(x, input)], &[l.into()]).unwrap();
        assert_eq!(before, after);
        assert_eq!(
            after[0].to_vec::<f32>().unwrap(),
            vec![-0.4, -0.1, 0.0, 3.0]
        );
    }
}
