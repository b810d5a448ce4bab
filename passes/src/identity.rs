//! Removal of pass-through ops: `Identity` (and `StopGradient`, `Snapshot`, `RefIdentity`), and the
//! `IdentityN` that `tf.custom_gradient` wraps around StyleGAN's leaky relu, blur and upscale (output `i`
//! is input `i`). Runs after control flow is resolved: before that, an `Identity` of a `Switch` output is
//! what carries the branch's liveness to the constants inside a `tf.cond` branch, through control edges.

use sgc_ir::{Graph, IrError, Op, ValueRef};

use crate::{Pass, PassReport};

pub struct RemoveIdentity;

impl Pass for RemoveIdentity {
    fn name(&self) -> &'static str {
        "remove-identity"
    }

    fn description(&self) -> &'static str {
        "removes Identity, IdentityN, StopGradient and Snapshot: readers read the input instead"
    }

    fn run(&self, graph: &mut Graph) -> Result<PassReport, IrError> {
        let mut changes = 0;
        let nodes: Vec<_> = graph.node_indices().collect();
        for n in nodes {
            let op = &graph.node(n).op;
            if !(op.is_identity_like() || *op == Op::IdentityN) {
                continue;
            }
            if !graph.control_inputs(n).is_empty()
                || !graph
                    .successors(n)
                    .iter()
                    .all(|&s| graph.inputs(s).iter().any(|v| v.node == n))
            {
                // Still part of a control dependency: leave it to the control-flow passes.
                continue;
            }
            let inputs = graph.inputs(n);
            let ports = graph.node(n).outputs.len();
            if inputs.len() < ports {
                return Err(IrError::node(
                    &graph.node(n).name,
                    format!(
                        "{} has {} outputs but {} inputs",
                        graph.node(n).op,
                        ports,
                        inputs.len()
                    ),
                ));
            }
            for (port, &input) in inputs.iter().enumerate().take(ports) {
                graph.replace_uses(ValueRef::new(n, port), input);
            }
            graph.remove(n);
            changes += 1;
        }
        Ok(PassReport::changed(changes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sgc_ir::{Node, Output, ValueInfo};

    #[test]
    fn identity_n_forwards_each_port() {
        let mut g = Graph::new();
        let a = g.add(Node::new("a", Op::Placeholder));
        let b = g.add(Node::new("b", Op::Placeholder));
        let mut idn = Node::new("idn", Op::IdentityN);
        idn.outputs = vec![ValueInfo::default(); 2];
        let idn = g.add(idn);
        g.connect(a.into(), idn, 0);
        g.connect(b.into(), idn, 1);
        let id = g.add(Node::new("id", Op::Identity));
        g.connect(ValueRef::new(idn, 1), id, 0);
        let y = g.add(Node::new("y", Op::Sub));
        g.connect(ValueRef::new(idn, 0), y, 0);
        g.connect(id.into(), y, 1);
        g.outputs.push(Output {
            name: "id".into(),
            value: id.into(),
        });
        assert_eq!(RemoveIdentity.run(&mut g).unwrap().changes, 2);
        assert_eq!(g.inputs(y), vec![a.into(), b.into()]);
        assert_eq!(g.outputs[0].value, b.into());
    }

    #[test]
    fn keeps_identities_that_carry_control_dependencies() {
        let mut g = Graph::new();
        let a = g.add(Node::new("a", Op::Placeholder));
        let pivot = g.add(Node::new("switch_t", Op::Identity));
        g.connect(a.into(), pivot, 0);
        let c = g.add(Node::new("c", Op::Const));
        g.connect_control(pivot, c);
        assert_eq!(RemoveIdentity.run(&mut g).unwrap().changes, 0);
    }
}
