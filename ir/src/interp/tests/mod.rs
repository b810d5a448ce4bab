//! Interpreter tests: each op's tricky cases against values derived by hand (or from TensorFlow's
//! documented semantics), plus conv identities on random data. Every evaluation is also run through
//! shape inference, with and without constant inputs, and the inferred infos must agree with the result.

#![allow(clippy::cloned_ref_to_slice_refs)]

use super::*;
use crate::attr::Attr;
use crate::graph::{Graph, NodeIndex, Output, ValueInfo, ValueRef};
use crate::shape::infer;

mod conv;
mod elementwise;
mod movement;
mod run;
mod vision;

fn node(op: Op, attrs: &[(&str, Attr)]) -> Node {
    let mut n = Node::new("n", op);
    for (k, v) in attrs {
        n.attrs.set(*k, v.clone());
    }
    n
}

fn info_of(t: &Tensor) -> ValueInfo {
    ValueInfo::new(t.dtype(), t.shape().iter().map(|&d| d as i64).collect())
}

fn compatible(inferred: &ValueInfo, actual: &ValueInfo) -> bool {
    let dt = inferred.dtype.is_none() || inferred.dtype == actual.dtype;
    let sh = match (&inferred.shape, &actual.shape) {
        (None, _) => true,
        (Some(i), Some(a)) => i.len() == a.len() && i.iter().zip(a).all(|(&p, &q)| p < 0 || p == q),
        _ => false,
    };
    dt && sh
}

/// Evaluates and cross-checks with shape inference.
fn ev(op: Op, attrs: &[(&str, Attr)], ins: &[Tensor]) -> Result<Vec<Tensor>> {
    let n = node(op, attrs);
    let res = eval(&n, ins)?;
    let infos: Vec<ValueInfo> = ins.iter().map(info_of).collect();
    let consts: Vec<Option<&Tensor>> = ins.iter().map(Some).collect();
    let inferred = infer(&n, &infos, &consts).expect("inference agrees that the node is valid");
    assert_eq!(inferred.len(), res.len(), "{}: output count", n.op);
    for (i, r) in inferred.iter().zip(&res) {
        assert_eq!(
            i,
            &info_of(r),
            "{}: inferred info with constant inputs",
            n.op
        );
    }
    // Without constant values, inference must still succeed and be compatible.
    let none: Vec<Option<&Tensor>> = vec![None; ins.len()];
    let loose = infer(&n, &infos, &none).expect("inference without constants");
    assert_eq!(
        loose.len(),
        res.len(),
        "{}: output count without constants",
        n.op
    );
    for (i, r) in loose.iter().zip(&res) {
        assert!(
            compatible(i, &info_of(r)),
            "{}: {i} vs {}",
            n.op,
            info_of(r)
        );
    }
    // Nor with nothing known at all.
    let unknown = vec![ValueInfo::default(); ins.len()];
    let blind = infer(&n, &unknown, &none).expect("inference with unknown inputs");
    for (i, r) in blind.iter().zip(&res) {
        assert!(
            compatible(i, &info_of(r)),
            "{}: {i} vs {}",
            n.op,
            info_of(r)
        );
    }
    Ok(res)
}

fn ev1(op: Op, attrs: &[(&str, Attr)], ins: &[Tensor]) -> Tensor {
    ev(op, attrs, ins).unwrap().remove(0)
}

fn f(shape: &[usize], v: Vec<f32>) -> Tensor {
    Tensor::from_vec(shape.to_vec(), v)
}

fn i32s(v: &[i32]) -> Tensor {
    Tensor::from_vec(vec![v.len()], v.to_vec())
}

fn arange(shape: &[usize]) -> Tensor {
    let n = shape.iter().product::<usize>();
    f(shape, (0..n).map(|i| i as f32).collect())
}

fn vals(t: &Tensor) -> Vec<f32> {
    t.to_vec::<f32>().unwrap()
}

/// Deterministic pseudo-random values in [-1, 1).
fn rand(shape: &[usize], seed: u64) -> Tensor {
    crate::testing::random_tensor(shape, seed)
}

fn dot(a: &Tensor, b: &Tensor) -> f64 {
    vals(a)
        .iter()
        .zip(vals(b))
        .map(|(&x, y)| x as f64 * y as f64)
        .sum()
}

fn close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "at {i}: {x} vs {y}");
    }
}

fn s(v: &str) -> Attr {
    Attr::Str(v.into())
}

fn ints(v: &[i64]) -> Attr {
    Attr::Ints(v.to_vec())
}

fn nchw(t: &Tensor) -> Tensor {
    crate::interp::movement::permute(t, &[0, 3, 1, 2]).unwrap()
}
