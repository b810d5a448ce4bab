//! The freeze fixes: what freezing a TF1 training graph leaves behind, made plain dataflow.
//!
//! `convert_variables_to_constants` turns variables into `Const`s but keeps the ops that used them by
//! reference: `RefSwitch`, `RefIdentity`, and assignments such as StyleGAN's `Assign(lod ← lod_in)`, whose
//! ref input is now a constant (TensorFlow itself then refuses to re-import the graph). At inference an
//! assignment's only effect is its output value, so:
//!
//! - `RefSwitch` → `Switch`, `RefIdentity` → `Identity`;
//! - `AssignSub(ref, v)` → `Sub(ref, v)`, `AssignAdd(ref, v)` → `AddV2(ref, v)` (their output is the updated
//!   value);
//! - `Assign(ref, v)` → its readers read `v`; the node goes (with any control edges through it);
//! - `AssignVariableOp` (no output) goes.

use sgc_ir::{Graph, IrError, Op};

use crate::{Pass, PassReport};

pub struct FreezeFixes;

impl Pass for FreezeFixes {
    fn name(&self) -> &'static str {
        "freeze-fixes"
    }

    fn description(&self) -> &'static str {
        "RefSwitch→Switch, RefIdentity→Identity, AssignSub→Sub, AssignAdd→Add; Assign and AssignVariableOp removed"
    }

    fn run(&self, graph: &mut Graph) -> Result<PassReport, IrError> {
        let mut changes = 0;
        let nodes: Vec<_> = graph.node_indices().collect();
        for n in nodes {
            let op = graph.node(n).op.clone();
            let renamed = match op {
                Op::RefSwitch => Some(Op::Switch),
                Op::RefIdentity => Some(Op::Identity),
                Op::AssignSub => Some(Op::Sub),
                Op::AssignAdd => Some(Op::AddV2),
                _ => None,
            };
            if let Some(new_op) = renamed {
                let node = graph.node_mut(n);
                node.op = new_op;
                node.attrs.remove("use_locking");
                changes += 1;
                continue;
            }
            match op {
                Op::Assign => {
                    let inputs = graph.inputs(n);
                    let Some(&value) = inputs.get(1) else {
                        return Err(IrError::node(&graph.node(n).name, "Assign needs 2 inputs"));
                    };
                    graph.replace_uses(n.into(), value);
                    graph.remove(n);
                    changes += 1;
                }
                Op::AssignVariableOp => {
                    graph.remove(n);
                    changes += 1;
                }
                _ => {}
            }
        }
        Ok(PassReport::changed(changes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sgc_ir::{Attr, Node, Output, Tensor};

    #[test]
    fn assignments_become_dataflow() {
        let mut g = Graph::new();
        let var = g.add_const("lod", Tensor::scalar(0.0f32));
        let val = g.add_const("lod_in", Tensor::scalar(1.0f32));
        let assign =
            g.add(Node::new("assign", Op::Assign).with_attr("use_locking", Attr::Bool(true)));
        g.connect(var.into(), assign, 0);
        g.connect(val.into(), assign, 1);
        let sub = g.add(Node::new("sub", Op::AssignSub).with_attr("use_locking", Attr::Bool(true)));
        g.connect(var.into(), sub, 0);
        g.connect(assign.into(), sub, 1);
        let out = g.add(Node::new("out", Op::Neg));
        g.connect(sub.into(), out, 0);
        g.connect_control(assign, out);
        g.outputs.push(Output {
            name: "out".into(),
            value: out.into(),
        });

        let report = FreezeFixes.run(&mut g).unwrap();
        assert_eq!(report.changes, 2);
        assert!(!g.contains(assign));
        assert_eq!(g.node(sub).op, Op::Sub);
        assert!(g.node(sub).attrs.get("use_locking").is_none());
        assert_eq!(g.inputs(sub), vec![var.into(), val.into()]);
        assert!(g.control_inputs(out).is_empty());
    }

    #[test]
    fn ref_ops_become_value_ops() {
        let mut g = Graph::new();
        let s = g.add(Node::new("s", Op::RefSwitch));
        let i = g.add(Node::new("i", Op::RefIdentity));
        FreezeFixes.run(&mut g).unwrap();
        assert_eq!(g.node(s).op, Op::Switch);
        assert_eq!(g.node(i).op, Op::Identity);
    }
}
