//! Test support shared by every crate's tests: seeded random numbers and a graph builder that infers
//! types as nodes are added. Not part of the compiler's API (hidden from the docs); it lives in the
//! lowest crate so that each helper exists once.

use crate::attr::Attr;
use crate::dtype::DType;
use crate::graph::{Graph, Node, NodeIndex, Output, ValueInfo, ValueRef};
use crate::op::Op;
use crate::tensor::Tensor;

/// `n` deterministic values in [-1, 1) from a 64-bit LCG (the same numbers on every machine; stored
/// TensorFlow references are fingerprinted over them, so the sequence must never change).
pub fn uniform(n: usize, seed: u64) -> Vec<f32> {
    const A: u64 = 6364136223846793005;
    const C: u64 = 1442695040888963407;
    let mut s = seed.wrapping_mul(A).wrapping_add(C);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(A).wrapping_add(C);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// An f32 tensor of [`uniform`] values.
pub fn random_tensor(shape: &[usize], seed: u64) -> Tensor {
    Tensor::from_vec(shape.to_vec(), uniform(shape.iter().product(), seed))
}

/// SplitMix64: a small seeded generator for tests that draw choices as well as values.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    pub fn next_f32(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// An f32 tensor of [`Rng::next_f32`] values.
    pub fn tensor(&mut self, shape: Vec<usize>) -> Tensor {
        let n = shape.iter().product();
        Tensor::from_vec(shape, (0..n).map(|_| self.next_f32()).collect())
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// FNV-1a of some bytes: seeds from names, fingerprints of test inputs.
pub fn fnv1a(bytes: impl IntoIterator<Item = u8>, start: Option<u64>) -> u64 {
    bytes
        .into_iter()
        .fold(start.unwrap_or(0xcbf2_9ce4_8422_2325), |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// The Python of the test suite that can `import` each of `modules` (comma-separated): `SGC_PYTHON`,
/// else the repository's `.venv` (both made by `tools/test.sh` from `tools/requirements-test.txt`).
/// Panics, failing the test, when there is none: the oracles must run, never be skipped.
pub fn python(modules: &str) -> std::path::PathBuf {
    let (p, from) = match std::env::var_os("SGC_PYTHON") {
        Some(p) => (std::path::PathBuf::from(p), "SGC_PYTHON"),
        None => (
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"),
            "SGC_PYTHON not set; the repository's .venv",
        ),
    };
    let ok = std::process::Command::new(&p)
        .args(["-c", &format!("import {modules}")])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "no Python that imports {modules} at {} ({from}): run the tests through tools/test.sh, which \
         creates .venv from tools/requirements-test.txt and exports SGC_PYTHON",
        p.display()
    );
    p
}

/// A graph under construction, with every node's types inferred as it is added.
#[derive(Default)]
pub struct Builder {
    pub g: Graph,
}

impl Builder {
    pub fn new() -> Self {
        Builder { g: Graph::new() }
    }

    /// An f32 placeholder of a static shape, appended to the graph's inputs.
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

    /// A 1-D int32 constant.
    pub fn ints(&mut self, name: &str, v: &[i32]) -> ValueRef {
        self.constant(name, Tensor::from_vec(vec![v.len()], v.to_vec()))
    }

    /// A node of `op` over `args`; panics when shape inference rejects it (a broken test graph).
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
        node.outputs = crate::shape::infer(&node, &infos, &consts).expect("test graph infers");
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

    /// The finished graph with `v` as its one output.
    pub fn output(mut self, v: ValueRef) -> Graph {
        self.g.outputs.push(Output {
            name: self.g.value_name(v),
            value: v,
        });
        self.g
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_are_pinned() {
        // Stored TensorFlow references depend on these exact numbers.
        assert_eq!(uniform(3, 1), vec![0.018814802, 0.29671872, -0.23427331]);
        let mut r = Rng::new(7);
        assert_eq!(r.next_u64(), 7191089600892374487);
        assert_eq!(fnv1a(*b"a", None), 0xaf63_dc4c_8601_ec8c);
    }
}
