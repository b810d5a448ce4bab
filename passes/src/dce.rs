//! Dead-code elimination: keeps only what the graph's outputs need, through data and control edges.

use sgc_ir::{Graph, IrError};

use crate::{Pass, PassReport};

pub struct DeadCode;

impl Pass for DeadCode {
    fn name(&self) -> &'static str {
        "dce"
    }

    fn description(&self) -> &'static str {
        "removes every node the outputs do not depend on (through data or control edges)"
    }

    fn run(&self, graph: &mut Graph) -> Result<PassReport, IrError> {
        let mut live = vec![
            false;
            graph
                .node_indices()
                .map(|n| n.index() + 1)
                .max()
                .unwrap_or(0)
        ];
        let mut stack: Vec<_> = graph.outputs.iter().map(|o| o.value.node).collect();
        // Inputs stay: they are the model's signature even when an output ignores them.
        stack.extend(graph.inputs.iter().copied());
        while let Some(n) = stack.pop() {
            if std::mem::replace(&mut live[n.index()], true) {
                continue;
            }
            stack.extend(graph.inputs(n).into_iter().map(|v| v.node));
            stack.extend(graph.control_inputs(n));
        }
        let dead: Vec<_> = graph.node_indices().filter(|n| !live[n.index()]).collect();
        for &n in &dead {
            graph.remove(n);
        }
        Ok(PassReport::changed(dead.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sgc_ir::{Node, Op, Output, Tensor};

    #[test]
    fn keeps_data_and_control_ancestors_of_outputs_only() {
        let mut g = Graph::new();
        let x = g.add(Node::new("x", Op::Placeholder));
        g.inputs.push(x);
        let c = g.add_const("c", Tensor::scalar(1.0f32));
        let guard = g.add(Node::new("guard", Op::NoOp));
        let y = g.add(Node::new("y", Op::Neg));
        g.connect(c.into(), y, 0);
        g.connect_control(guard, y);
        let unused = g.add(Node::new("unused", Op::Neg));
        g.connect(c.into(), unused, 0);
        g.outputs.push(Output {
            name: "y".into(),
            value: y.into(),
        });
        let report = DeadCode.run(&mut g).unwrap();
        assert_eq!(report.changes, 1);
        assert!(!g.contains(unused));
        assert!(g.contains(guard) && g.contains(x) && g.contains(c));
    }
}
