//! Inference-mode fused batch norms as one per-channel scale and shift ("batch-norm").
//!
//! TFLite has no batch norm operator: `FusedBatchNorm`/`V2`/`V3` with constant parameters becomes
//! `x · a + b` with `a`, `b` from [`sgc_ir::op::batch_norm_affine`] (the formula the interpreter uses),
//! shaped for the node's data format (`[C]` for NHWC, `[1, C, 1, 1]` for NCHW). The node keeps its name
//! as the ADD, so its readers stay; a node whose batch statistics (outputs 1 and up) are read, or whose
//! parameters are not constants, is left for lowering to refuse by name.

use sgc_ir::{Attr, Attrs, DType, Graph, IrError, NodeIndex, Op, Tensor, ValueRef};

use crate::{Pass, PassReport};

pub struct BatchNorm;

impl Pass for BatchNorm {
    fn name(&self) -> &'static str {
        "batch-norm"
    }

    fn description(&self) -> &'static str {
        "inference-mode FusedBatchNorm/V2/V3 with constant parameters as x·a + b per channel"
    }

    fn run(&self, graph: &mut Graph) -> Result<PassReport, IrError> {
        crate::rewrite_each(graph, matched, rewrite)
    }
}

struct Match {
    x: ValueRef,
    a: Tensor,
    b: Tensor,
}

fn matched(graph: &Graph, n: NodeIndex) -> Option<Result<Match, IrError>> {
    let node = graph.node(n);
    if !matches!(node.op, sgc_ir::batch_norm_ops!()) {
        return None;
    }
    // Statistics outputs read by something: not an inference use.
    if (1..node.outputs.len()).any(|p| graph.is_used(ValueRef { node: n, port: p })) {
        return None;
    }
    let ins = graph.inputs(n);
    let [x, params @ ..] = &ins[..] else {
        return None;
    };
    let values: Vec<Vec<f32>> = params
        .iter()
        .map(|&v| graph.const_value(v)?.to_vec::<f32>().ok())
        .collect::<Option<_>>()?;
    let [scale, offset, mean, var] = &values[..] else {
        return None;
    };
    let (a, b) = match sgc_ir::op::batch_norm_affine(&node.attrs, [scale, offset, mean, var]) {
        Ok(ab) => ab,
        Err(e) => return Some(Err(IrError::node(&node.name, e))),
    };
    let c = a.len();
    let shape = match node.attrs.data_format() {
        f if f.starts_with("NC") => {
            let rank = graph.info(*x).shape.as_ref().map_or(4, Vec::len);
            let mut s = vec![1; rank.max(2)];
            s[1] = c;
            s
        }
        _ => vec![c],
    };
    Some(Ok(Match {
        x: *x,
        a: Tensor::from_vec(shape.clone(), a),
        b: Tensor::from_vec(shape, b),
    }))
}

fn rewrite(graph: &mut Graph, n: NodeIndex, m: Result<Match, IrError>) -> Result<(), IrError> {
    let m = m?;
    let name = graph.node(n).name.clone();
    let info = graph.info(n.into()).clone();
    let mut attrs = Attrs::new();
    attrs.set("T", Attr::Type(DType::F32));
    let a = graph.add_const(graph.unique_name(&format!("{name}/scale")), m.a);
    let b = graph.add_const(graph.unique_name(&format!("{name}/shift")), m.b);
    let scaled = graph.add_op(
        graph.unique_name(&format!("{name}/mul")),
        Op::Mul,
        attrs.clone(),
        &[m.x, a.into()],
        info.clone(),
    );
    let node = graph.node_mut(n);
    node.op = Op::AddV2;
    node.attrs = attrs;
    node.outputs = vec![info];
    graph.set_inputs(n, &[scaled, b.into()]);
    Ok(())
}
