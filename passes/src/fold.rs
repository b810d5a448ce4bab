//! Shape inference and constant folding, in one walk in topological order.
//!
//! Each node either becomes a constant (all its inputs are constants: the reference interpreter
//! evaluates it) or gets its output types from [`sgc_ir::shape::infer`]. `Shape` of a statically shaped
//! value is a constant too, which is what makes StyleGAN's `Shape → StridedSlice → Pack` batch
//! arithmetic, and with it `Reshape`/`Tile`/`Conv2DBackpropInput` operands, constant.
//!
//! Folding never makes the model larger: an op that broadcasts its operands to a result larger than all
//! of them together (StyleGAN's noise `[1,1,H,W]` × per-channel weight `[1,C,1,1]`, a `Tile`, a `Fill`) is
//! kept as an op on constant inputs. Ops that reshape, slice, pad or transpose weights are folded.
//! Random ops, `Switch` and `Merge` are never folded here (see [`crate::control_flow`]).

use sgc_ir::{
    interp, shape, Attr, DType, Graph, IrError, NodeIndex, Op, Tensor, ValueInfo, ValueRef,
};

use crate::{Pass, PassReport};

pub struct Fold;

impl Pass for Fold {
    fn name(&self) -> &'static str {
        "fold"
    }

    fn description(&self) -> &'static str {
        "infers static shapes and evaluates constant sub-graphs (never growing the model by broadcasting)"
    }

    fn run(&self, graph: &mut Graph) -> Result<PassReport, IrError> {
        let mut report = PassReport::default();
        let mut kept_broadcasts = 0;
        for n in graph.topo_order()? {
            let node = graph.node(n);
            match &node.op {
                Op::Const | Op::Placeholder => continue,
                op if op.is_stateful() => {
                    return Err(IrError::node(
                        &node.name,
                        format!("{op} in the graph: it is not frozen (convert its variables to constants first)"),
                    ))
                }
                _ => {}
            }
            let inputs = graph.inputs(n);
            // A broadcast that would grow the model stays an op: check that on the inferred shapes
            // before evaluating it (StyleGAN's noise × strength is 16M elements at 1024 px, and this
            // pass runs several times).
            if let Some(outputs) = kept_broadcast(graph, n, &inputs) {
                kept_broadcasts += 1;
                graph.node_mut(n).outputs = outputs;
                continue;
            }
            if let Some(values) = evaluate(graph, n, &inputs)? {
                if grows_by_broadcast(graph, n, &inputs, &values) {
                    kept_broadcasts += 1;
                } else {
                    replace_with_constants(graph, n, &inputs, values);
                    // The operands were read to compute the new constant: if they view the input
                    // file, their pages need not stay (a weight times its scale is a copy).
                    graph.release_backing();
                    report.changes += 1;
                    continue;
                }
            }
            let infos: Vec<ValueInfo> = inputs.iter().map(|&v| graph.info(v).clone()).collect();
            let consts: Vec<Option<&Tensor>> =
                inputs.iter().map(|&v| graph.const_value(v)).collect();
            let outputs = shape::infer(graph.node(n), &infos, &consts)?;
            graph.node_mut(n).outputs = outputs;
        }
        if kept_broadcasts > 0 {
            report.notes.push(format!(
                "{kept_broadcasts} broadcasting op(s) on constants kept as ops so that the model does not grow"
            ));
        }
        Ok(report)
    }
}

/// The node's output values when they can be computed at compile time.
fn evaluate(
    graph: &Graph,
    n: NodeIndex,
    inputs: &[ValueRef],
) -> Result<Option<Vec<Tensor>>, IrError> {
    let node = graph.node(n);
    if !node.op.is_foldable() {
        return Ok(None);
    }
    if node.op == Op::Shape {
        let Some(dims) = inputs.first().and_then(|&v| graph.info(v).static_shape()) else {
            return Ok(None);
        };
        let out = match node.attrs.dtype("out_type").unwrap_or(DType::I32) {
            DType::I64 => {
                Tensor::from_vec(vec![dims.len()], dims.iter().map(|&d| d as i64).collect())
            }
            _ => Tensor::from_vec(vec![dims.len()], dims.iter().map(|&d| d as i32).collect()),
        };
        return Ok(Some(vec![out]));
    }
    let consts: Option<Vec<Tensor>> = inputs
        .iter()
        .map(|&v| graph.const_value(v).cloned())
        .collect();
    match consts {
        Some(values) => interp::eval(node, &values).map(Some),
        None => Ok(None),
    }
}

/// The output types of `n` when all its inputs are constants but folding it would grow the model,
/// known from shape inference alone (`None` otherwise, also when inference cannot tell).
fn kept_broadcast(graph: &Graph, n: NodeIndex, inputs: &[ValueRef]) -> Option<Vec<ValueInfo>> {
    let consts: Vec<&Tensor> = inputs
        .iter()
        .map(|&v| graph.const_value(v))
        .collect::<Option<_>>()?;
    let operands: usize = consts.iter().map(|t| t.numel()).sum();
    let infos: Vec<ValueInfo> = inputs.iter().map(|&v| graph.info(v).clone()).collect();
    let known: Vec<Option<&Tensor>> = consts.iter().map(|&t| Some(t)).collect();
    let outputs = shape::infer(graph.node(n), &infos, &known).ok()?;
    let result: usize = outputs
        .iter()
        .map(|o| o.static_shape().map(|s| s.iter().product::<usize>()))
        .sum::<Option<usize>>()?;
    interp::folding_would_grow(&graph.node(n).op, operands, result).then_some(outputs)
}

/// True when folding `n` would grow the model (see [`interp::folding_would_grow`]).
fn grows_by_broadcast(graph: &Graph, n: NodeIndex, inputs: &[ValueRef], values: &[Tensor]) -> bool {
    let operands: usize = inputs
        .iter()
        .filter_map(|&v| graph.const_value(v))
        .map(Tensor::numel)
        .sum();
    let result = values.iter().map(Tensor::numel).sum::<usize>();
    interp::folding_would_grow(&graph.node(n).op, operands, result)
}

/// Turns `n` into a `Const` for port 0 (keeping its name) and adds one for every other used port. The
/// control inputs of `n` and of its constant operands carry over, so that a constant inside a `tf.cond`
/// branch stays as dead as the branch until the control-flow pass resolves it.
fn replace_with_constants(
    graph: &mut Graph,
    n: NodeIndex,
    inputs: &[ValueRef],
    values: Vec<Tensor>,
) {
    let mut controls = graph.control_inputs(n);
    for v in inputs {
        controls.extend(graph.control_inputs(v.node));
    }
    controls.sort();
    controls.dedup();
    let name = graph.node(n).name.clone();
    for (port, value) in values.into_iter().enumerate().rev() {
        let target = if port == 0 {
            graph.set_inputs(n, &[]);
            graph.clear_control_inputs(n);
            let node = graph.node_mut(n);
            node.op = Op::Const;
            node.attrs = Default::default();
            node.attrs.set("dtype", Attr::Type(value.dtype()));
            node.outputs = vec![ValueInfo::new(
                value.dtype(),
                value.shape().iter().map(|&d| d as i64).collect(),
            )];
            node.attrs.set("value", Attr::Tensor(value));
            n
        } else {
            let old = ValueRef::new(n, port);
            if !graph.is_used(old) {
                continue;
            }
            let c = graph.add_const(graph.unique_name(&format!("{name}/output_{port}")), value);
            graph.replace_uses(old, c.into());
            c
        };
        for &ctrl in &controls {
            graph.connect_control(ctrl, target);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sgc_ir::{Node, Output};

    fn f32s(shape: Vec<usize>) -> Tensor {
        let n = shape.iter().product();
        Tensor::from_vec(shape, (0..n).map(|i| i as f32).collect::<Vec<f32>>())
    }

    fn output(g: &mut Graph, n: NodeIndex) {
        g.outputs.push(Output {
            name: g.node(n).name.clone(),
            value: n.into(),
        });
    }

    #[test]
    fn folds_weight_scaling_and_shape_arithmetic() {
        let mut g = Graph::new();
        let mut x = Node::new("x", Op::Placeholder);
        x.outputs = vec![ValueInfo::new(DType::F32, vec![1, 4])];
        let x = g.add(x);
        g.inputs.push(x);
        let w = g.add_const("w", f32s(vec![4, 2]));
        let k = g.add_const("k", Tensor::scalar(0.5f32));
        let scaled = g.add(Node::new("scaled", Op::Mul));
        g.connect(w.into(), scaled, 0);
        g.connect(k.into(), scaled, 1);
        let mm = g.add(Node::new("mm", Op::MatMul));
        g.connect(x.into(), mm, 0);
        g.connect(scaled.into(), mm, 1);
        let shape = g.add(Node::new("shape", Op::Shape));
        g.connect(mm.into(), shape, 0);
        output(&mut g, mm);
        output(&mut g, shape);

        Fold.run(&mut g).unwrap();
        assert_eq!(
            g.const_value(scaled.into())
                .unwrap()
                .to_vec::<f32>()
                .unwrap(),
            vec![0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
        );
        assert_eq!(g.info(mm.into()).shape, Some(vec![1, 2]));
        assert_eq!(
            g.const_value(shape.into()).unwrap().to_i64s().unwrap(),
            vec![1, 2]
        );
    }

    #[test]
    fn keeps_broadcasts_that_would_grow_the_model() {
        let mut g = Graph::new();
        let noise = g.add_const("noise", f32s(vec![1, 1, 8, 8]));
        let weight = g.add_const("weight", f32s(vec![1, 16, 1, 1]));
        let mul = g.add(Node::new("mul", Op::Mul));
        g.connect(noise.into(), mul, 0);
        g.connect(weight.into(), mul, 1);
        output(&mut g, mul);
        let report = Fold.run(&mut g).unwrap();
        assert_eq!(g.node(mul).op, Op::Mul);
        assert_eq!(g.info(mul.into()).shape, Some(vec![1, 16, 8, 8]));
        assert_eq!(report.notes.len(), 1);
    }

    #[test]
    fn folded_constants_keep_branch_control_inputs() {
        let mut g = Graph::new();
        let pivot = g.add(Node::new("pivot", Op::Placeholder));
        let c = g.add_const("c", Tensor::scalar(2.0f32));
        g.connect_control(pivot, c);
        let neg = g.add(Node::new("neg", Op::Neg));
        g.connect(c.into(), neg, 0);
        output(&mut g, neg);
        Fold.run(&mut g).unwrap();
        assert_eq!(g.node(neg).op, Op::Const);
        assert_eq!(g.control_inputs(neg), vec![pivot]);
    }

    #[test]
    fn unfrozen_variables_are_named() {
        let mut g = Graph::new();
        let v = g.add(Node::new("G/weight", Op::VariableV2));
        output(&mut g, v);
        let err = Fold.run(&mut g).unwrap_err().to_string();
        assert!(
            err.contains("'G/weight'") && err.contains("not frozen"),
            "{err}"
        );
    }
}
