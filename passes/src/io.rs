//! Choosing a graph's outputs and fixing its input shapes, before the pipeline runs.

use sgc_ir::{Graph, IrError, Op, Output, ValueRef};

/// What the user asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct IoSpec {
    /// Output names (`node` or `node:port`); empty means the graph's sinks.
    pub outputs: Vec<String>,
    /// Input shapes by placeholder name; a dimension of -1 stays unknown only where allowed.
    pub input_shapes: Vec<(String, Vec<i64>)>,
}

/// Sets `graph.outputs` and the placeholders' shapes. Returns lines to show the user (which sinks were
/// chosen, which batch dimensions defaulted to 1).
pub fn select_io(graph: &mut Graph, spec: &IoSpec) -> Result<Vec<String>, IrError> {
    let mut notes = Vec::new();
    graph.outputs = if spec.outputs.is_empty() {
        let sinks = sinks(graph);
        if sinks.is_empty() {
            return Err(IrError::node(
                "<graph>",
                "graph has no output: it has no sink node",
            ));
        }
        let names: Vec<_> = sinks.iter().map(|o| o.name.clone()).collect();
        notes.push(format!("outputs (graph sinks): {}", names.join(", ")));
        sinks
    } else {
        spec.outputs
            .iter()
            .map(|name| resolve_output(graph, name))
            .collect::<Result<_, _>>()?
    };

    for (name, shape) in &spec.input_shapes {
        let n = graph
            .inputs
            .iter()
            .copied()
            .find(|&n| graph.node(n).name == *name)
            .ok_or_else(|| IrError::node(name, "--inputs names no placeholder of the graph"))?;
        graph.node_mut(n).outputs[0].shape = Some(shape.clone());
    }

    for &n in &graph.inputs.clone() {
        if graph.node(n).outputs[0].shape.is_none() {
            if let Some((shape, by)) = crate::input_shape::infer(graph, n) {
                let dims: Vec<String> = shape
                    .iter()
                    .map(|&d| if d < 0 { "?".into() } else { d.to_string() })
                    .collect();
                notes.push(format!(
                    "input '{}' has no shape in the graph: [{}] from what it feeds ({by})",
                    graph.node(n).name,
                    dims.join(", ")
                ));
                graph.node_mut(n).outputs[0].shape = Some(shape);
            }
        }
        let node = graph.node_mut(n);
        let Some(shape) = node.outputs[0].shape.as_mut() else {
            return Err(IrError::node(
                &node.name,
                "input has unknown rank: give its shape with --inputs NAME=d0,d1,...",
            ));
        };
        if shape.first() == Some(&-1) {
            shape[0] = 1;
            notes.push(format!(
                "input '{}': unknown batch dimension set to 1 (use --inputs to choose)",
                node.name
            ));
        }
        if let Some(k) = shape.iter().position(|&d| d < 0) {
            return Err(IrError::node(
                &node.name,
                format!(
                    "input dimension {k} is unknown: give its shape with --inputs NAME=d0,d1,..."
                ),
            ));
        }
    }
    Ok(notes)
}

/// Looks up `node` or `node:port`.
pub fn resolve_output(graph: &Graph, name: &str) -> Result<Output, IrError> {
    let (node_name, port) = match name.rsplit_once(':') {
        Some((n, p)) => match p.parse::<usize>() {
            Ok(p) => (n, p),
            Err(_) => (name, 0),
        },
        None => (name, 0),
    };
    let node = graph
        .find(node_name)
        .ok_or_else(|| IrError::node(node_name, "output names no node of the graph"))?;
    if port >= graph.node(node).outputs.len() {
        return Err(IrError::node(
            node_name,
            format!(
                "output port {port} does not exist (the node has {})",
                graph.node(node).outputs.len()
            ),
        ));
    }
    Ok(Output {
        name: name.to_string(),
        value: ValueRef::new(node, port),
    })
}

/// Nodes nothing reads, that compute a value (not variables, assignments, no-ops or constants).
fn sinks(graph: &Graph) -> Vec<Output> {
    graph
        .node_indices()
        .filter(|&n| graph.successors(n).is_empty())
        .filter(|&n| {
            let op = &graph.node(n).op;
            !op.is_stateful() && !matches!(op, Op::NoOp | Op::Const | Op::Placeholder)
        })
        .map(|n| Output {
            name: graph.node(n).name.clone(),
            value: n.into(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sgc_ir::{DType, Node, ValueInfo};

    fn graph() -> Graph {
        let mut g = Graph::new();
        let mut x = Node::new("x", Op::Placeholder);
        x.outputs = vec![ValueInfo::new(DType::F32, vec![-1, 4])];
        let x = g.add(x);
        g.inputs.push(x);
        let y = g.add(Node::new("y", Op::Neg));
        g.connect(x.into(), y, 0);
        let noop = g.add(Node::new("init", Op::NoOp));
        let _ = noop;
        g
    }

    #[test]
    fn sinks_exclude_noops_and_batch_defaults_to_one() {
        let mut g = graph();
        let notes = select_io(&mut g, &IoSpec::default()).unwrap();
        assert_eq!(g.outputs.len(), 1);
        assert_eq!(g.outputs[0].name, "y");
        assert!(notes.iter().any(|n| n.contains("batch dimension set to 1")));
        assert_eq!(g.info(g.inputs[0].into()).shape, Some(vec![1, 4]));
    }

    #[test]
    fn explicit_shapes_and_outputs() {
        let mut g = graph();
        let spec = IoSpec {
            outputs: vec!["y".into()],
            input_shapes: vec![("x".into(), vec![3, 4])],
        };
        select_io(&mut g, &spec).unwrap();
        assert_eq!(g.info(g.inputs[0].into()).shape, Some(vec![3, 4]));
    }

    #[test]
    fn unknown_names_are_errors_naming_them() {
        let mut g = graph();
        let spec = IoSpec {
            outputs: vec!["nope".into()],
            ..Default::default()
        };
        let err = select_io(&mut g, &spec).unwrap_err().to_string();
        assert!(err.contains("'nope'"), "{err}");
        let err = resolve_output(&g, "y:3").unwrap_err().to_string();
        assert!(err.contains("port 3"), "{err}");
        let spec = IoSpec {
            input_shapes: vec![("z".into(), vec![1])],
            ..Default::default()
        };
        assert!(select_io(&mut g, &spec)
            .unwrap_err()
            .to_string()
            .contains("'z'"));
    }
}
