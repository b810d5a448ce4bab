//! Test helpers: small IR graphs through the rules and back, checked with the reference interpreter.

use sgc_ir::{
    interp, Attr, DType, Graph, Node, NodeIndex, Op, Output, Tensor, ValueInfo, ValueRef,
};

use crate::{convert, cost, Rewrite, TfAnalysis, TfNode};

/// A graph under construction, with shapes filled in as nodes are added.
pub struct Builder {
    pub g: Graph,
}

impl Builder {
    pub fn new() -> Self {
        Builder { g: Graph::new() }
    }

    pub fn input(&mut self, name: &str, shape: &[usize]) -> ValueRef {
        let mut n = Node::new(name, Op::Placeholder).with_attr("dtype", Attr::Type(DType::F32));
        n.outputs = vec![ValueInfo::new(
            DType::F32,
            shape.iter().map(|&d| d as i64).collect(),
        )];
        let i = self.g.add(n);
        self.g.inputs.push(i);
        i.into()
    }

    pub fn constant(&mut self, name: &str, t: Tensor) -> ValueRef {
        self.g.add_const(name, t).into()
    }

    pub fn ints(&mut self, name: &str, v: &[i32]) -> ValueRef {
        self.constant(name, Tensor::from_vec(vec![v.len()], v.to_vec()))
    }

    pub fn op(
        &mut self,
        name: &str,
        op: Op,
        args: &[ValueRef],
        attrs: &[(&str, Attr)],
    ) -> ValueRef {
        let mut node = Node::new(name, op);
        for (k, v) in attrs {
            node.attrs.set(*k, v.clone());
        }
        let infos: Vec<ValueInfo> = args.iter().map(|&a| self.g.info(a).clone()).collect();
        let consts: Vec<Option<&Tensor>> = args.iter().map(|&a| self.g.const_value(a)).collect();
        node.outputs = sgc_ir::shape::infer(&node, &infos, &consts).expect("test graph infers");
        let n: NodeIndex = self.g.add(node);
        for (slot, &a) in args.iter().enumerate() {
            self.g.connect(a, n, slot);
        }
        n.into()
    }

    pub fn transpose(&mut self, name: &str, x: ValueRef, perm: &[i32]) -> ValueRef {
        let p = self.ints(&format!("{name}/perm"), perm);
        self.op(name, Op::Transpose, &[x, p], &[])
    }

    pub fn output(mut self, v: ValueRef) -> Graph {
        self.g.outputs.push(Output {
            name: self.g.value_name(v),
            value: v,
        });
        self.g
    }
}

/// Deterministic pseudo-random values in [-1, 1).
pub fn random(shape: &[usize], seed: u64) -> Tensor {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let n = shape.iter().product();
    let values = (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect();
    Tensor::from_vec(shape.to_vec(), values)
}

/// Runs `rules` on `graph` and extracts the cheapest equal graph.
pub fn rewrite(graph: &Graph, rules: &[Rewrite]) -> Graph {
    let mut imported = convert::import(graph).expect("imports");
    let runner: egg::Runner<TfNode, TfAnalysis> = egg::Runner::default()
        .with_egraph(std::mem::take(&mut imported.egraph))
        .with_iter_limit(30)
        .run(rules);
    imported.egraph = runner.egraph;
    imported.egraph.rebuild();
    let choice = cost::extract(&imported.egraph);
    convert::export(&imported, &choice).expect("exports")
}

/// How many nodes of `op` the graph has.
pub fn count(graph: &Graph, op: &Op) -> usize {
    graph
        .node_indices()
        .filter(|&n| graph.node(n).op == *op)
        .count()
}

/// Asserts that both graphs compute the same outputs on seeded random inputs.
pub fn assert_same_function(before: &Graph, after: &Graph) {
    let feeds = |g: &Graph| -> Vec<(NodeIndex, Tensor)> {
        g.inputs
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let shape = g.info(n.into()).static_shape().expect("static input");
                (n, random(&shape, i as u64 + 1))
            })
            .collect()
    };
    let fetch = |g: &Graph| -> Vec<ValueRef> { g.outputs.iter().map(|o| o.value).collect() };
    let a = interp::run(before, &feeds(before), &fetch(before)).expect("before runs");
    let b = interp::run(after, &feeds(after), &fetch(after)).expect("after runs");
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.shape(), y.shape());
        let (x, y) = (x.to_f64s().unwrap(), y.to_f64s().unwrap());
        let scale = x.iter().fold(1e-30f64, |m, v| m.max(v.abs()));
        let err = x
            .iter()
            .zip(&y)
            .fold(0f64, |m, (p, q)| m.max((p - q).abs()));
        assert!(
            err <= 1e-5 * scale,
            "outputs differ by {err} (scale {scale})"
        );
    }
}
