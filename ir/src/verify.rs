//! [`Graph::verify`]: the invariants every pass must keep, checked between passes (as tract's
//! `check_consistency` is after each optimisation step), so that a broken rewrite is caught at the pass
//! that made it, not at a confusing failure several passes later.

use std::collections::HashSet;

use crate::error::{IrError, Result};
use crate::graph::{Graph, ValueInfo};
use crate::op::Op;
use crate::tensor::Tensor;

impl Graph {
    /// Checks that the graph is well formed and its stored types are true:
    /// - it has no cycle;
    /// - every data edge reads an existing output port, and each node's input slots are `0..k`, each
    ///   filled once;
    /// - the graph's inputs are placeholders of the graph, its outputs existing values;
    /// - every node's stored output infos agree with shape inference run again on its inputs' stored
    ///   infos and constant values: the same number of outputs, and no dtype, rank or dimension that
    ///   both know and that differs (an unknown on either side is not a contradiction). A graph input's
    ///   stored type is taken as given: it is the input's definition, chosen by `select_io`.
    ///
    /// The error names the first node found wrong and why.
    pub fn verify(&self) -> Result<()> {
        let order = self.topo_order()?;
        let bad = |node: &str, reason: String| {
            Err(IrError::Invalid {
                node: node.to_string(),
                reason,
            })
        };
        for &i in &self.inputs {
            if !self.contains(i) {
                return bad(
                    "<graph>",
                    format!("input {} is not in the graph", i.index()),
                );
            }
            let node = self.node(i);
            if !matches!(node.op, Op::Placeholder | Op::PlaceholderWithDefault) {
                return bad(&node.name, format!("is a graph input but a {}", node.op));
            }
        }
        for o in &self.outputs {
            if !self.contains(o.value.node) {
                return bad(
                    "<graph>",
                    format!("output '{}' reads a removed node", o.name),
                );
            }
            let node = self.node(o.value.node);
            if o.value.port >= node.outputs.len() {
                return bad(
                    &node.name,
                    format!(
                        "output '{}' reads port {} of {}",
                        o.name,
                        o.value.port,
                        node.outputs.len()
                    ),
                );
            }
        }
        for n in order {
            let node = self.node(n);
            let slots = self.data_slots(n);
            let mut seen = HashSet::with_capacity(slots.len());
            for &(slot, v) in &slots {
                if !seen.insert(slot) {
                    return bad(&node.name, format!("input slot {slot} is fed twice"));
                }
                let src = self.node(v.node);
                if v.port >= src.outputs.len() {
                    return bad(
                        &node.name,
                        format!(
                            "input {slot} reads port {} of '{}', which has {}",
                            v.port,
                            src.name,
                            src.outputs.len()
                        ),
                    );
                }
            }
            if let Some(missing) = (0..slots.len()).find(|s| !seen.contains(s)) {
                return bad(
                    &node.name,
                    format!("input slot {missing} is empty but a later one is fed"),
                );
            }
            // A graph input's stored type is its definition (`select_io` chose it), not derived.
            if self.inputs.contains(&n) {
                continue;
            }
            let inputs = self.inputs(n);
            let infos: Vec<ValueInfo> = inputs.iter().map(|&v| self.info(v).clone()).collect();
            let consts: Vec<Option<&Tensor>> =
                inputs.iter().map(|&v| self.const_value(v)).collect();
            let inferred = crate::shape::infer(node, &infos, &consts).map_err(|e| match e {
                IrError::Node { node, reason } => IrError::Invalid {
                    node,
                    reason: format!("shape inference rejects it: {reason}"),
                },
                e => e,
            })?;
            if inferred.len() != node.outputs.len() {
                return bad(
                    &node.name,
                    format!(
                        "stores {} outputs, inference gives {}",
                        node.outputs.len(),
                        inferred.len()
                    ),
                );
            }
            for (port, (stored, fresh)) in node.outputs.iter().zip(&inferred).enumerate() {
                if !compatible(stored, fresh) {
                    return bad(
                        &node.name,
                        format!("output {port} is stored as {stored} but its inputs give {fresh}"),
                    );
                }
            }
        }
        Ok(())
    }
}

/// No dtype, rank or dimension that both infos know differs.
fn compatible(a: &ValueInfo, b: &ValueInfo) -> bool {
    let dtype = match (a.dtype, b.dtype) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    };
    let shape = match (&a.shape, &b.shape) {
        (Some(x), Some(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(&p, &q)| p < 0 || q < 0 || p == q)
        }
        _ => true,
    };
    dtype && shape
}

#[cfg(test)]
mod tests {
    use crate::testing::Builder;
    use crate::{DType, IrError, Op, Tensor, ValueInfo};

    fn small() -> (crate::Graph, crate::NodeIndex) {
        let mut b = Builder::new();
        let x = b.input("x", &[2, 3]);
        let c = b.constant("c", Tensor::filled(vec![3], 1f32));
        let y = b.op("y", Op::AddV2, &[x, c], &[]);
        let n = y.node;
        (b.output(y), n)
    }

    fn reason(g: &crate::Graph) -> String {
        match g.verify() {
            Err(IrError::Invalid { node, reason }) => format!("{node}: {reason}"),
            other => panic!("expected an invalid graph, got {other:?}"),
        }
    }

    #[test]
    fn a_built_graph_verifies() {
        small().0.verify().unwrap();
    }

    #[test]
    fn a_wrong_stored_shape_is_named() {
        let (mut g, y) = small();
        g.node_mut(y).outputs = vec![ValueInfo::new(DType::F32, vec![2, 4])];
        let r = reason(&g);
        assert!(r.starts_with("y: output 0 is stored as f32[2,4]"), "{r}");
        // Unknown dims are not contradictions.
        g.node_mut(y).outputs = vec![ValueInfo::new(DType::F32, vec![-1, 3])];
        g.verify().unwrap();
    }

    #[test]
    fn wrong_dtype_output_count_ports_and_slots_are_named() {
        let (mut g, y) = small();
        g.node_mut(y).outputs = vec![ValueInfo::new(DType::I32, vec![2, 3])];
        assert!(reason(&g).contains("stored as i32[2,3]"));

        let (mut g, y) = small();
        g.node_mut(y).outputs.push(ValueInfo::default());
        assert!(reason(&g).contains("stores 2 outputs, inference gives 1"));

        let (mut g, y) = small();
        let x = g.inputs[0];
        g.connect(crate::ValueRef::new(x, 3), y, 2);
        assert!(reason(&g).contains("reads port 3 of 'x'"), "{}", reason(&g));

        let (mut g, y) = small();
        let x = g.inputs[0];
        g.connect(x.into(), y, 1);
        assert!(reason(&g).contains("slot 1 is fed twice"));

        let (mut g, y) = small();
        let inputs = g.inputs(y);
        g.set_inputs(y, &[]);
        g.connect(inputs[0], y, 0);
        g.connect(inputs[1], y, 2);
        assert!(reason(&g).contains("slot 1 is empty"), "{}", reason(&g));
    }

    #[test]
    fn graph_inputs_and_outputs_are_checked() {
        let (mut g, y) = small();
        g.inputs.push(y);
        assert!(reason(&g).contains("is a graph input but a AddV2"));
        let (mut g, _) = small();
        g.outputs[0].value.port = 1;
        assert!(
            reason(&g).starts_with("y: output 'y' reads port 1 of 1"),
            "{}",
            reason(&g)
        );
    }

    #[test]
    fn a_cycle_is_an_error() {
        let (mut g, y) = small();
        let z = g.add(crate::Node::new("z", Op::Neg));
        g.connect(y.into(), z, 0);
        g.connect_control(z, y);
        assert!(matches!(g.verify(), Err(IrError::Cycle { .. })));
    }
}
