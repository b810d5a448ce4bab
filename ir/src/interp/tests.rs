//! Interpreter tests: each op's tricky cases against values derived by hand (or from TensorFlow's
//! documented semantics), plus conv identities on random data. Every evaluation is also run through
//! shape inference, with and without constant inputs, and the inferred infos must agree with the result.

#![allow(clippy::cloned_ref_to_slice_refs)]

use super::*;
use crate::attr::Attr;
use crate::graph::{Graph, NodeIndex, Output, ValueInfo, ValueRef};
use crate::shape::infer;

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
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let n = shape.iter().product::<usize>();
    let v = (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect();
    f(shape, v)
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
    movement::permute(t, &[0, 3, 1, 2]).unwrap()
}

// ---------------------------------------------------------------- elementwise

#[test]
fn broadcasting_binary_ops() {
    let a = arange(&[2, 1, 3]);
    let b = f(&[4, 1], vec![10.0, 20.0, 30.0, 40.0]);
    let r = ev1(Op::Add, &[], &[a, b]);
    assert_eq!(r.shape(), &[2, 4, 3]);
    let v = vals(&r);
    for i in 0..2 {
        for j in 0..4 {
            for k in 0..3 {
                assert_eq!(
                    v[(i * 4 + j) * 3 + k],
                    (i * 3 + k) as f32 + 10.0 * (j + 1) as f32
                );
            }
        }
    }
    let sd = ev1(
        Op::SquaredDifference,
        &[],
        &[f(&[2], vec![1.0, 5.0]), Tensor::scalar(3.0f32)],
    );
    assert_eq!(vals(&sd), vec![4.0, 4.0]);
    let g = ev1(
        Op::Greater,
        &[],
        &[f(&[3], vec![1.0, 2.0, 3.0]), Tensor::scalar(2.0f32)],
    );
    assert_eq!(g.to_vec::<bool>().unwrap(), vec![false, false, true]);
    let mx = ev1(
        Op::Maximum,
        &[],
        &[i32s(&[1, 7]), Tensor::from_vec(vec![1], vec![3i32])],
    );
    assert_eq!(mx.to_vec::<i32>().unwrap(), vec![3, 7]);
    let land = ev1(
        Op::LogicalAnd,
        &[],
        &[
            Tensor::from_vec(vec![2], vec![true, true]),
            Tensor::scalar(false),
        ],
    );
    assert_eq!(land.to_vec::<bool>().unwrap(), vec![false, false]);
}

#[test]
fn binary_errors_name_the_node() {
    let n = node(Op::Add, &[]);
    let e = eval(&n, &[arange(&[2, 3]), arange(&[4])]).unwrap_err();
    assert!(e.to_string().contains("node 'n'"), "{e}");
    assert!(eval(&n, &[arange(&[2]), i32s(&[1, 2])]).is_err());
    assert!(eval(&n, &[arange(&[2])]).is_err());
    let d = node(Op::RealDiv, &[]);
    assert!(eval(&d, &[i32s(&[1]), i32s(&[0])]).is_err());
    let q = eval(&d, &[i32s(&[-7]), i32s(&[2])]).unwrap();
    assert_eq!(q[0].to_vec::<i32>().unwrap(), vec![-3]);
    assert!(eval(&node(Op::Other("Frob".into()), &[]), &[]).is_err());
}

#[test]
fn unary_ops() {
    let x = f(&[4], vec![-2.0, -0.5, 0.0, 4.0]);
    assert_eq!(
        vals(&ev1(Op::Relu, &[], &[x.clone()])),
        vec![0.0, 0.0, 0.0, 4.0]
    );
    assert_eq!(
        vals(&ev1(
            Op::LeakyRelu,
            &[("alpha", Attr::Float(0.2))],
            &[x.clone()]
        )),
        vec![-0.4, -0.1, 0.0, 4.0]
    );
    assert_eq!(
        vals(&ev1(Op::Neg, &[], &[x.clone()])),
        vec![2.0, 0.5, -0.0, -4.0]
    );
    assert_eq!(
        vals(&ev1(Op::Square, &[], &[x.clone()])),
        vec![4.0, 0.25, 0.0, 16.0]
    );
    let p = f(&[2], vec![4.0, 0.25]);
    assert_eq!(vals(&ev1(Op::Sqrt, &[], &[p.clone()])), vec![2.0, 0.5]);
    assert_eq!(vals(&ev1(Op::Rsqrt, &[], &[p])), vec![0.5, 2.0]);
    let z = f(&[1], vec![0.0]);
    assert_eq!(vals(&ev1(Op::Sigmoid, &[], &[z.clone()])), vec![0.5]);
    assert_eq!(vals(&ev1(Op::Tanh, &[], &[z.clone()])), vec![0.0]);
    assert_eq!(vals(&ev1(Op::Exp, &[], &[z])), vec![1.0]);
    let b = Tensor::from_vec(vec![2], vec![true, false]);
    assert_eq!(
        ev1(Op::LogicalNot, &[], &[b]).to_vec::<bool>().unwrap(),
        vec![false, true]
    );
    assert!(eval(&node(Op::Sqrt, &[]), &[i32s(&[4])]).is_err());
}

#[test]
fn add_n_clip_bias_add() {
    let r = ev1(
        Op::AddN,
        &[],
        &[arange(&[2, 2]), arange(&[2, 2]), arange(&[2, 2])],
    );
    assert_eq!(vals(&r), vec![0.0, 3.0, 6.0, 9.0]);
    assert!(eval(&node(Op::AddN, &[]), &[arange(&[2]), arange(&[3])]).is_err());
    let c = ev1(
        Op::ClipByValue,
        &[],
        &[
            arange(&[2, 3]),
            Tensor::scalar(1.0f32),
            f(&[3], vec![2.0, 3.0, 4.0]),
        ],
    );
    assert_eq!(vals(&c), vec![1.0, 1.0, 2.0, 2.0, 3.0, 4.0]);
    let b = f(&[2], vec![10.0, 20.0]);
    let nhwc = ev1(Op::BiasAdd, &[], &[arange(&[1, 2, 2]), b.clone()]);
    assert_eq!(vals(&nhwc), vec![10.0, 21.0, 12.0, 23.0]);
    let nc = ev1(
        Op::BiasAdd,
        &[("data_format", s("NCHW"))],
        &[arange(&[1, 2, 2]), b],
    );
    assert_eq!(vals(&nc), vec![10.0, 11.0, 22.0, 23.0]);
    assert!(eval(&node(Op::BiasAdd, &[]), &[arange(&[1, 2, 3]), arange(&[2])]).is_err());
}

#[test]
fn select_v1_and_v2() {
    let c = Tensor::from_vec(vec![2], vec![true, false]);
    let x = arange(&[2, 2]);
    let y = f(&[2, 2], vec![10.0, 11.0, 12.0, 13.0]);
    // TF1: a rank-1 condition picks whole rows.
    let r = ev1(Op::Select, &[], &[c.clone(), x.clone(), y.clone()]);
    assert_eq!(vals(&r), vec![0.0, 1.0, 12.0, 13.0]);
    // SelectV2 broadcasts the same condition along the last axis instead.
    let r2 = ev1(Op::SelectV2, &[], &[c, x.clone(), y.clone()]);
    assert_eq!(vals(&r2), vec![0.0, 11.0, 2.0, 13.0]);
    let full = Tensor::from_vec(vec![2, 2], vec![false, true, true, false]);
    let r3 = ev1(Op::Select, &[], &[full, x.clone(), y.clone()]);
    assert_eq!(vals(&r3), vec![10.0, 1.0, 2.0, 13.0]);
    let r4 = ev1(
        Op::Select,
        &[],
        &[Tensor::scalar(false), x.clone(), y.clone()],
    );
    assert_eq!(vals(&r4), vals(&y));
    let bad = Tensor::from_vec(vec![3], vec![true, false, true]);
    assert!(eval(&node(Op::Select, &[]), &[bad, x, y]).is_err());
}

#[test]
fn casts_truncate_like_cpp() {
    let x = f(&[4], vec![-1.7, 2.9, 300.5, 0.0]);
    let i = ev1(Op::Cast, &[("DstT", Attr::Type(DType::I32))], &[x.clone()]);
    assert_eq!(i.to_vec::<i32>().unwrap(), vec![-1, 2, 300, 0]);
    let b = ev1(Op::Cast, &[("DstT", Attr::Type(DType::Bool))], &[x]);
    assert_eq!(b.to_vec::<bool>().unwrap(), vec![true, true, true, false]);
    let u = ev1(
        Op::Cast,
        &[("DstT", Attr::Type(DType::U8))],
        &[f(&[2], vec![1.7, 255.9])],
    );
    assert_eq!(u.to_vec::<u8>().unwrap(), vec![1, 255]);
    let bf = ev1(
        Op::Cast,
        &[("DstT", Attr::Type(DType::F32))],
        &[Tensor::from_vec(vec![2], vec![true, false])],
    );
    assert_eq!(vals(&bf), vec![1.0, 0.0]);
    let l = ev1(
        Op::Cast,
        &[("DstT", Attr::Type(DType::I64))],
        &[i32s(&[-5])],
    );
    assert_eq!(l.to_vec::<i64>().unwrap(), vec![-5]);
}

#[test]
fn range_lengths_and_values() {
    let r = ev1(
        Op::Range,
        &[],
        &[
            Tensor::scalar(-3i32),
            Tensor::scalar(10i32),
            Tensor::scalar(4i32),
        ],
    );
    assert_eq!(r.to_vec::<i32>().unwrap(), vec![-3, 1, 5, 9]);
    let d = ev1(
        Op::Range,
        &[],
        &[
            Tensor::scalar(5i64),
            Tensor::scalar(0i64),
            Tensor::scalar(-2i64),
        ],
    );
    assert_eq!(d.to_vec::<i64>().unwrap(), vec![5, 3, 1]);
    let fl = ev1(
        Op::Range,
        &[],
        &[
            Tensor::scalar(0.1f32),
            Tensor::scalar(1.0f32),
            Tensor::scalar(0.3f32),
        ],
    );
    assert_eq!(fl.shape(), &[3]);
    // Float ranges are start + i * delta (not accumulated): exact multiples of 0.1f.
    let tenth = ev1(
        Op::Range,
        &[],
        &[
            Tensor::scalar(0.0f32),
            Tensor::scalar(1.0f32),
            Tensor::scalar(0.1f32),
        ],
    );
    assert_eq!(
        vals(&tenth),
        (0..10).map(|i| i as f32 * 0.1).collect::<Vec<_>>()
    );
    assert!(eval(
        &node(Op::Range, &[]),
        &[
            Tensor::scalar(0i32),
            Tensor::scalar(5i32),
            Tensor::scalar(0i32)
        ]
    )
    .is_err());
}

// ---------------------------------------------------------------- conv

fn conv_attrs(df: &str, strides: [i64; 2], dil: [i64; 2], pad: &str) -> Vec<(&'static str, Attr)> {
    let four = |v: [i64; 2]| {
        if df == "NCHW" {
            ints(&[1, 1, v[0], v[1]])
        } else {
            ints(&[1, v[0], v[1], 1])
        }
    };
    vec![
        ("data_format", s(df)),
        ("strides", four(strides)),
        ("dilations", four(dil)),
        ("padding", s(pad)),
    ]
}

#[test]
fn conv_same_stride_two_even_input() {
    // 4x4 input, 3x3 kernel of ones, stride 2, SAME: output 2x2, padding 0 before and 1 after.
    let x = arange(&[1, 4, 4, 1]);
    let w = f(&[3, 3, 1, 1], vec![1.0; 9]);
    let r = ev1(
        Op::Conv2D,
        &conv_attrs("NHWC", [2, 2], [1, 1], "SAME"),
        &[x, w],
    );
    assert_eq!(r.shape(), &[1, 2, 2, 1]);
    // rows 0-2 × cols 0-2; rows 0-2 × cols 2-3; rows 2-3 × cols 0-2; rows 2-3 × cols 2-3.
    assert_eq!(vals(&r), vec![45.0, 39.0, 66.0, 50.0]);
    // VALID with a 3-wide input and stride 2 gives one output.
    let v = ev1(
        Op::Conv2D,
        &conv_attrs("NHWC", [2, 2], [1, 1], "VALID"),
        &[arange(&[1, 4, 4, 1]), f(&[3, 3, 1, 1], vec![1.0; 9])],
    );
    assert_eq!(vals(&v), vec![45.0]);
    // Dilation 2 on a 5x5 input with a 2x2 kernel of ones, VALID: taps (y,x),(y,x+2),(y+2,x),(y+2,x+2).
    let d = ev1(
        Op::Conv2D,
        &conv_attrs("NHWC", [1, 1], [2, 2], "VALID"),
        &[arange(&[1, 5, 5, 1]), f(&[2, 2, 1, 1], vec![1.0; 4])],
    );
    assert_eq!(d.shape(), &[1, 3, 3, 1]);
    assert_eq!(vals(&d)[0], 0.0 + 2.0 + 10.0 + 12.0);
}

#[test]
fn conv_explicit_padding_and_channels() {
    let mut at = conv_attrs("NHWC", [1, 1], [1, 1], "EXPLICIT");
    at.push(("explicit_paddings", ints(&[0, 0, 1, 0, 0, 2, 0, 0])));
    let r = ev1(
        Op::Conv2D,
        &at,
        &[arange(&[1, 2, 2, 1]), f(&[1, 1, 1, 1], vec![1.0])],
    );
    // One padded row on top, two padded columns on the right.
    assert_eq!(r.shape(), &[1, 3, 4, 1]);
    assert_eq!(
        vals(&r),
        vec![0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 2.0, 3.0, 0.0, 0.0]
    );
    // 1x1 conv mixing 2 input channels into 3 outputs is a matmul per pixel.
    let x = f(&[1, 1, 1, 2], vec![1.0, 2.0]);
    let w = f(&[1, 1, 2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let y = ev1(
        Op::Conv2D,
        &conv_attrs("NHWC", [1, 1], [1, 1], "VALID"),
        &[x, w],
    );
    assert_eq!(vals(&y), vec![9.0, 12.0, 15.0]);
}

#[test]
fn conv_nchw_is_transposed_nhwc() {
    for (stride, dil, pad, groups) in [
        ([2, 2], [1, 1], "SAME", 1),
        ([1, 2], [1, 1], "VALID", 1),
        ([1, 1], [2, 1], "SAME", 1),
        ([2, 1], [1, 1], "SAME", 2),
    ] {
        let x = rand(&[2, 6, 5, 4], 1);
        let w = rand(&[3, 2, 4 / groups, 6], 2);
        let a = ev1(
            Op::Conv2D,
            &conv_attrs("NHWC", stride, dil, pad),
            &[x.clone(), w.clone()],
        );
        let b = ev1(
            Op::Conv2D,
            &conv_attrs("NCHW", stride, dil, pad),
            &[nchw(&x), w.clone()],
        );
        close(&vals(&nchw(&a)), &vals(&b), 1e-6);
        let dw = rand(&[3, 2, 4, 2], 3);
        let a = ev1(
            Op::DepthwiseConv2dNative,
            &conv_attrs("NHWC", stride, dil, pad),
            &[x.clone(), dw.clone()],
        );
        let b = ev1(
            Op::DepthwiseConv2dNative,
            &conv_attrs("NCHW", stride, dil, pad),
            &[nchw(&x), dw],
        );
        close(&vals(&nchw(&a)), &vals(&b), 1e-6);
    }
}

#[test]
fn depthwise_is_per_channel_conv() {
    let x = rand(&[1, 5, 5, 3], 4);
    let w = rand(&[3, 3, 3, 2], 5);
    let at = conv_attrs("NHWC", [2, 2], [1, 1], "SAME");
    let d = ev1(Op::DepthwiseConv2dNative, &at, &[x.clone(), w.clone()]);
    assert_eq!(d.shape(), &[1, 3, 3, 6]);
    let (xv, wv, dv) = (vals(&x), vals(&w), vals(&d));
    for c in 0..3 {
        let xc = f(&[1, 5, 5, 1], (0..25).map(|i| xv[i * 3 + c]).collect());
        for m in 0..2 {
            let wc = f(
                &[3, 3, 1, 1],
                (0..9).map(|i| wv[i * 6 + c * 2 + m]).collect(),
            );
            let r = vals(&ev1(Op::Conv2D, &at, &[xc.clone(), wc]));
            let got: Vec<f32> = (0..9).map(|p| dv[p * 6 + c * 2 + m]).collect();
            close(&got, &r, 1e-6);
        }
    }
}

#[test]
fn conv_backprop_input_is_the_adjoint() {
    for (df, stride, dil, pad, hw) in [
        ("NHWC", [2, 2], [1, 1], "SAME", [6, 6]),
        ("NHWC", [2, 2], [1, 1], "SAME", [7, 5]),
        ("NCHW", [2, 1], [1, 1], "VALID", [7, 6]),
        ("NHWC", [1, 1], [2, 2], "SAME", [5, 6]),
        ("NCHW", [1, 1], [1, 1], "SAME", [4, 4]),
    ] {
        let (n, c, o) = (2, 3, 4);
        let xs = if df == "NCHW" {
            [n, c, hw[0], hw[1]]
        } else {
            [n, hw[0], hw[1], c]
        };
        let x = rand(&xs, 7);
        let w = rand(&[3, 3, c, o], 8);
        let at = conv_attrs(df, stride, dil, pad);
        let y = ev1(Op::Conv2D, &at, &[x.clone(), w.clone()]);
        let g = rand(y.shape(), 9);
        let sizes = Tensor::from_vec(vec![4], xs.iter().map(|&d| d as i32).collect::<Vec<_>>());
        let bx = ev1(Op::Conv2DBackpropInput, &at, &[sizes, w.clone(), g.clone()]);
        assert_eq!(bx.shape(), x.shape());
        let (l, r) = (dot(&y, &g), dot(&x, &bx));
        assert!(
            (l - r).abs() < 1e-4 * (1.0 + l.abs()),
            "{df} {pad}: {l} vs {r}"
        );
    }
    // input_sizes with only the spatial dims.
    let at = conv_attrs("NHWC", [2, 2], [1, 1], "SAME");
    let bx = ev1(
        Op::Conv2DBackpropInput,
        &at,
        &[
            i32s(&[4, 4]),
            rand(&[3, 3, 2, 5], 1),
            rand(&[1, 2, 2, 5], 2),
        ],
    );
    assert_eq!(bx.shape(), &[1, 4, 4, 2]);
    // out_backprop that does not match the forward output.
    let n = node(Op::Conv2DBackpropInput, &at);
    let bad = [
        i32s(&[1, 4, 4, 2]),
        rand(&[3, 3, 2, 5], 1),
        rand(&[1, 3, 3, 5], 2),
    ];
    assert!(eval(&n, &bad).is_err());
}

#[test]
fn matmul_transposes() {
    let a = arange(&[2, 3]);
    let b = arange(&[3, 2]);
    let r = ev1(Op::MatMul, &[], &[a.clone(), b.clone()]);
    assert_eq!(vals(&r), vec![10.0, 13.0, 28.0, 40.0]);
    let at = movement::permute(&a, &[1, 0]).unwrap();
    let bt = movement::permute(&b, &[1, 0]).unwrap();
    let r2 = ev1(
        Op::MatMul,
        &[
            ("transpose_a", Attr::Bool(true)),
            ("transpose_b", Attr::Bool(true)),
        ],
        &[at, bt],
    );
    assert_eq!(vals(&r2), vals(&r));
    assert!(eval(&node(Op::MatMul, &[]), &[a.clone(), a]).is_err());
}

// ---------------------------------------------------------------- reductions

#[test]
fn reductions() {
    let x = arange(&[2, 3]);
    let m = ev1(Op::Mean, &[], &[x.clone(), Tensor::scalar(-1i32)]);
    assert_eq!(vals(&m), vec![1.0, 4.0]);
    let k = ev1(
        Op::Sum,
        &[("keep_dims", Attr::Bool(true))],
        &[x.clone(), i32s(&[0])],
    );
    assert_eq!(k.shape(), &[1, 3]);
    assert_eq!(vals(&k), vec![3.0, 5.0, 7.0]);
    let all = ev1(Op::Max, &[], &[x.clone(), i32s(&[1, 0])]);
    assert_eq!(all.shape(), &[] as &[usize]);
    assert_eq!(vals(&all), vec![5.0]);
    let p = ev1(
        Op::Prod,
        &[],
        &[x.clone(), Tensor::from_vec(vec![1], vec![1i64])],
    );
    assert_eq!(vals(&p), vec![0.0, 60.0]);
    let mn = ev1(Op::Min, &[], &[x.clone(), i32s(&[])]);
    assert_eq!(vals(&mn), vals(&x));
    let im = ev1(Op::Mean, &[], &[i32s(&[1, 2, 4]), i32s(&[0])]);
    assert_eq!(im.to_vec::<i32>().unwrap(), vec![2]);
    // NCHW spatial mean over the middle axes of a 4-D tensor.
    let y = arange(&[1, 2, 2, 3]);
    let sm = ev1(Op::Mean, &[], &[y, i32s(&[1, 2])]);
    assert_eq!(vals(&sm), vec![4.5, 5.5, 6.5]);
    assert!(eval(&node(Op::Sum, &[]), &[x, i32s(&[2])]).is_err());
}

// ---------------------------------------------------------------- movement

fn ss(t: &Tensor, b: &[i32], e: &[i32], st: &[i32], masks: &[(&str, i64)]) -> Result<Tensor> {
    let attrs: Vec<(&str, Attr)> = masks.iter().map(|(k, v)| (*k, Attr::Int(*v))).collect();
    ev(
        Op::StridedSlice,
        &attrs,
        &[t.clone(), i32s(b), i32s(e), i32s(st)],
    )
    .map(|mut v| v.remove(0))
}

#[test]
fn strided_slice_masks() {
    let x = arange(&[2, 3, 4]);
    // Shrink ignores the begin mask and takes the given index.
    let r = ss(
        &x,
        &[1],
        &[0],
        &[1],
        &[("shrink_axis_mask", 1), ("begin_mask", 1)],
    )
    .unwrap();
    assert_eq!(r.shape(), &[3, 4]);
    assert_eq!(vals(&r)[0], 12.0);
    let r = ss(&x, &[-1], &[0], &[1], &[("shrink_axis_mask", 1)]).unwrap();
    assert_eq!(vals(&r)[0], 12.0);
    // Negative stride with both masks reverses.
    let r = ss(
        &x,
        &[0, 0],
        &[0, 0],
        &[1, -1],
        &[("begin_mask", 3), ("end_mask", 3)],
    )
    .unwrap();
    assert_eq!(r.shape(), &[2, 3, 4]);
    assert_eq!(&vals(&r)[..5], &[8.0, 9.0, 10.0, 11.0, 4.0]);
    // Ellipsis first, then a shrunk index on the last axis.
    let r = ss(
        &x,
        &[0, 1],
        &[0, 2],
        &[1, 1],
        &[("ellipsis_mask", 1), ("shrink_axis_mask", 2)],
    )
    .unwrap();
    assert_eq!(r.shape(), &[2, 3]);
    assert_eq!(vals(&r), vec![1.0, 5.0, 9.0, 13.0, 17.0, 21.0]);
    // New axis after an ellipsis.
    let r = ss(
        &x,
        &[0, 0, 0],
        &[1, 1, 1],
        &[1, 1, 1],
        &[("new_axis_mask", 2), ("ellipsis_mask", 1)],
    )
    .unwrap();
    assert_eq!(r.shape(), &[2, 3, 1, 1]);
    assert_eq!(vals(&r), vec![0.0, 4.0, 8.0, 12.0, 16.0, 20.0]);
    let r = ss(
        &x,
        &[0, 0],
        &[0, 0],
        &[1, 1],
        &[("new_axis_mask", 2), ("ellipsis_mask", 1)],
    )
    .unwrap();
    assert_eq!(r.shape(), &[2, 3, 4, 1]);
    // New axis wins over shrink on the same index.
    let r = ss(
        &x,
        &[0, 0],
        &[1, 1],
        &[1, 1],
        &[("new_axis_mask", 1), ("shrink_axis_mask", 1)],
    )
    .unwrap();
    assert_eq!(r.shape(), &[1, 1, 3, 4]);
    // Out-of-range bounds clamp; negative stride on the first axis, stride 3 on the second.
    let r = ss(&x, &[5, -10], &[-10, 10], &[-2, 3], &[]).unwrap();
    assert_eq!(r.shape(), &[1, 1, 4]);
    assert_eq!(vals(&r), vec![12.0, 13.0, 14.0, 15.0]);
    // Empty results and errors.
    let r = ss(&x, &[1], &[1], &[1], &[]).unwrap();
    assert_eq!(r.shape(), &[0, 3, 4]);
    assert!(ss(&x, &[0], &[1], &[-1], &[("shrink_axis_mask", 1)]).is_err());
    assert!(ss(&x, &[2], &[3], &[1], &[("shrink_axis_mask", 1)]).is_err());
    assert!(ss(&x, &[0], &[1], &[0], &[]).is_err());
    assert!(ss(&x, &[0, 0, 0, 0], &[1, 1, 1, 1], &[1, 1, 1, 1], &[]).is_err());
    // The last row of a [N, 2] int shape vector, as StyleGAN's shape arithmetic does.
    let shape = i32s(&[8, 512, 4, 4]);
    let r = ev1(
        Op::StridedSlice,
        &[("shrink_axis_mask", Attr::Int(1))],
        &[shape, i32s(&[-1]), i32s(&[0]), i32s(&[1])],
    );
    assert_eq!(r.to_vec::<i32>().unwrap(), vec![4]);
}

#[test]
fn slice_pad_tile_transpose() {
    let x = arange(&[3, 4]);
    let s1 = ev1(Op::Slice, &[], &[x.clone(), i32s(&[1, 1]), i32s(&[-1, 2])]);
    assert_eq!(s1.shape(), &[2, 2]);
    assert_eq!(vals(&s1), vec![5.0, 6.0, 9.0, 10.0]);
    assert!(eval(
        &node(Op::Slice, &[]),
        &[x.clone(), i32s(&[2, 0]), i32s(&[2, 1])]
    )
    .is_err());

    let p = ev1(
        Op::Pad,
        &[],
        &[
            arange(&[2, 2]),
            Tensor::from_vec(vec![2, 2], vec![1i32, 0, 0, 2]),
        ],
    );
    assert_eq!(p.shape(), &[3, 4]);
    assert_eq!(
        vals(&p),
        vec![0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 2.0, 3.0, 0.0, 0.0]
    );
    let bad = Tensor::from_vec(vec![2, 2], vec![-1i32, 0, 0, 0]);
    assert!(eval(&node(Op::Pad, &[]), &[arange(&[2, 2]), bad]).is_err());

    let t = ev1(Op::Tile, &[], &[arange(&[2, 1]), i32s(&[2, 3])]);
    assert_eq!(t.shape(), &[4, 3]);
    assert_eq!(
        vals(&t),
        vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    );

    let tr = ev1(Op::Transpose, &[], &[arange(&[2, 3, 4]), i32s(&[2, 0, 1])]);
    assert_eq!(tr.shape(), &[4, 2, 3]);
    let v = vals(&tr);
    for a in 0..4 {
        for b in 0..2 {
            for c in 0..3 {
                assert_eq!(v[(a * 2 + b) * 3 + c], (b * 12 + c * 4 + a) as f32);
            }
        }
    }
    assert!(eval(&node(Op::Transpose, &[]), &[arange(&[2, 3]), i32s(&[0, 0])]).is_err());
}

#[test]
fn reshape_squeeze_expand() {
    let r = ev1(Op::Reshape, &[], &[arange(&[2, 6]), i32s(&[3, -1])]);
    assert_eq!(r.shape(), &[3, 4]);
    assert!(eval(&node(Op::Reshape, &[]), &[arange(&[2, 6]), i32s(&[5, -1])]).is_err());
    assert!(eval(&node(Op::Reshape, &[]), &[arange(&[2, 6]), i32s(&[-1, -1])]).is_err());
    let e = ev1(
        Op::ExpandDims,
        &[],
        &[arange(&[2, 3]), Tensor::scalar(-1i32)],
    );
    assert_eq!(e.shape(), &[2, 3, 1]);
    let q = ev1(Op::Squeeze, &[], &[arange(&[1, 2, 1, 3])]);
    assert_eq!(q.shape(), &[2, 3]);
    let q = ev1(
        Op::Squeeze,
        &[("squeeze_dims", ints(&[-2]))],
        &[arange(&[1, 2, 1, 3])],
    );
    assert_eq!(q.shape(), &[1, 2, 3]);
    assert!(eval(
        &node(Op::Squeeze, &[("squeeze_dims", ints(&[1]))]),
        &[arange(&[1, 2])]
    )
    .is_err());
    let sh = ev1(
        Op::Shape,
        &[("out_type", Attr::Type(DType::I64))],
        &[arange(&[2, 3])],
    );
    assert_eq!(sh.to_vec::<i64>().unwrap(), vec![2, 3]);
}

#[test]
fn concat_split_pack_unpack() {
    let a = arange(&[2, 2]);
    let b = f(&[2, 1], vec![10.0, 11.0]);
    let c = ev1(Op::ConcatV2, &[], &[a.clone(), b, Tensor::scalar(-1i32)]);
    assert_eq!(c.shape(), &[2, 3]);
    assert_eq!(vals(&c), vec![0.0, 1.0, 10.0, 2.0, 3.0, 11.0]);
    assert!(eval(
        &node(Op::ConcatV2, &[]),
        &[a.clone(), arange(&[3, 1]), Tensor::scalar(1i32)]
    )
    .is_err());

    let parts = ev(
        Op::Split,
        &[("num_split", Attr::Int(2))],
        &[Tensor::scalar(1i32), arange(&[2, 4])],
    )
    .unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(vals(&parts[1]), vec![2.0, 3.0, 6.0, 7.0]);
    assert!(eval(
        &node(Op::Split, &[("num_split", Attr::Int(3))]),
        &[Tensor::scalar(1i32), arange(&[2, 4])]
    )
    .is_err());

    let p = ev1(
        Op::Pack,
        &[("axis", Attr::Int(1))],
        &[f(&[2], vec![1.0, 2.0]), f(&[2], vec![3.0, 4.0])],
    );
    assert_eq!(p.shape(), &[2, 2]);
    assert_eq!(vals(&p), vec![1.0, 3.0, 2.0, 4.0]);
    let sc = ev1(
        Op::Pack,
        &[],
        &[Tensor::scalar(4i32), Tensor::scalar(-1i32)],
    );
    assert_eq!(sc.to_vec::<i32>().unwrap(), vec![4, -1]);

    let u = ev(
        Op::Unpack,
        &[("num", Attr::Int(3)), ("axis", Attr::Int(-1))],
        &[arange(&[2, 3])],
    )
    .unwrap();
    assert_eq!(u.len(), 3);
    assert_eq!(vals(&u[2]), vec![2.0, 5.0]);
}

#[test]
fn fill_broadcast_resize() {
    let fl = ev1(Op::Fill, &[], &[i32s(&[2, 3]), Tensor::scalar(7.0f32)]);
    assert_eq!(vals(&fl), vec![7.0; 6]);
    let b = ev1(
        Op::BroadcastTo,
        &[],
        &[f(&[3, 1], vec![1.0, 2.0, 3.0]), i32s(&[2, 3, 2])],
    );
    assert_eq!(b.shape(), &[2, 3, 2]);
    assert_eq!(&vals(&b)[..6], &[1.0, 1.0, 2.0, 2.0, 3.0, 3.0]);
    assert!(eval(&node(Op::BroadcastTo, &[]), &[arange(&[3]), i32s(&[2, 2])]).is_err());

    // 5x7 resized to 8x3, three index conventions (TensorFlow's formulas).
    let img = arange(&[1, 5, 7, 1]);
    let rz = |ac: bool, hp: bool| {
        vals(&ev1(
            Op::ResizeNearestNeighbor,
            &[
                ("align_corners", Attr::Bool(ac)),
                ("half_pixel_centers", Attr::Bool(hp)),
            ],
            &[img.clone(), i32s(&[8, 3])],
        ))
    };
    let rows = |v: &[usize], cols: &[usize]| -> Vec<f32> {
        v.iter()
            .flat_map(|&r| cols.iter().map(move |&c| (r * 7 + c) as f32))
            .collect()
    };
    assert_eq!(
        rz(false, false),
        rows(&[0, 0, 1, 1, 2, 3, 3, 4], &[0, 2, 4])
    );
    assert_eq!(rz(true, false), rows(&[0, 1, 1, 2, 2, 3, 3, 4], &[0, 3, 6]));
    assert_eq!(rz(false, true), rows(&[0, 0, 1, 2, 2, 3, 4, 4], &[1, 3, 5]));
    // Upsampling by 2 (StyleGAN's upscale2d via resize) repeats each pixel.
    let up = ev1(
        Op::ResizeNearestNeighbor,
        &[],
        &[arange(&[1, 2, 2, 1]), i32s(&[4, 4])],
    );
    assert_eq!(
        vals(&up),
        vec![0., 0., 1., 1., 0., 0., 1., 1., 2., 2., 3., 3., 2., 2., 3., 3.]
    );
}

#[test]
fn movement_works_on_any_dtype() {
    let b = Tensor::from_vec(vec![2, 2], vec![true, false, false, true]);
    let t = ev1(Op::Transpose, &[], &[b, i32s(&[1, 0])]);
    assert_eq!(t.to_vec::<bool>().unwrap(), vec![true, false, false, true]);
    let l = Tensor::from_vec(vec![3], vec![1i64, 2, 3]);
    let r = ev1(Op::Slice, &[], &[l, i32s(&[1]), i32s(&[2])]);
    assert_eq!(r.to_vec::<i64>().unwrap(), vec![2, 3]);
}

#[test]
fn random_and_placeholder_are_not_evaluated() {
    let r = eval(&node(Op::RandomStandardNormal, &[]), &[i32s(&[2])]).unwrap_err();
    assert!(r.to_string().contains("random op is not evaluated"), "{r}");
    assert!(eval(&node(Op::Placeholder, &[]), &[]).is_err());
}

// ---------------------------------------------------------------- run

fn add_node(g: &mut Graph, name: &str, op: Op, ins: &[ValueRef]) -> NodeIndex {
    let n = g.add(Node::new(name, op));
    for (i, &v) in ins.iter().enumerate() {
        g.connect(v, n, i);
    }
    n
}

#[test]
fn run_follows_switch_and_merge() {
    let mut g = Graph::new();
    let x = g.add(Node::new("x", Op::Placeholder));
    let p = g.add(Node::new("p", Op::Placeholder));
    let sw = add_node(&mut g, "sw", Op::Switch, &[x.into(), p.into()]);
    let two = g.add_const("two", Tensor::scalar(2.0f32));
    let ten = g.add_const("ten", Tensor::scalar(10.0f32));
    // false branch: x * 2; true branch: x + 10.
    let fb = add_node(&mut g, "fb", Op::Mul, &[ValueRef::new(sw, 0), two.into()]);
    let tb = add_node(&mut g, "tb", Op::Add, &[ValueRef::new(sw, 1), ten.into()]);
    let tb2 = add_node(&mut g, "tb2", Op::Neg, &[tb.into()]);
    let m = add_node(&mut g, "m", Op::Merge, &[fb.into(), tb2.into()]);
    let out = add_node(&mut g, "out", Op::Square, &[m.into()]);
    g.outputs.push(Output {
        name: "out".into(),
        value: out.into(),
    });
    let fetch = [out.into(), ValueRef::new(m, 1)];
    let feeds = |pv: bool| vec![(x, Tensor::scalar(3.0f32)), (p, Tensor::scalar(pv))];

    let r = run(&g, &feeds(false), &fetch).unwrap();
    assert_eq!(vals(&r[0]), vec![36.0]);
    assert_eq!(r[1].to_vec::<i32>().unwrap(), vec![0]);
    let r = run(&g, &feeds(true), &fetch).unwrap();
    assert_eq!(vals(&r[0]), vec![169.0]);
    assert_eq!(r[1].to_vec::<i32>().unwrap(), vec![1]);

    // The untaken branch is dead: fetching it is an error that names it.
    let e = run(&g, &feeds(true), &[fb.into()]).unwrap_err();
    assert!(e.to_string().contains("dead"), "{e}");
    assert!(e.to_string().contains("fb"), "{e}");
    let e = run(&g, &feeds(false), &[tb2.into()]).unwrap_err();
    assert!(e.to_string().contains("dead"), "{e}");

    // An unfed placeholder is an error naming it; a non-bool predicate too.
    let e = run(&g, &[(x, Tensor::scalar(3.0f32))], &fetch).unwrap_err();
    assert!(e.to_string().contains("'p'"), "{e}");
    let e = run(
        &g,
        &[(x, Tensor::scalar(3.0f32)), (p, Tensor::scalar(1.0f32))],
        &fetch,
    )
    .unwrap_err();
    assert!(e.to_string().contains("'sw'"), "{e}");
}

#[test]
fn run_merge_of_all_dead_is_dead_and_control_edges_carry_nothing() {
    let mut g = Graph::new();
    let x = g.add_const("x", Tensor::scalar(1.0f32));
    let p = g.add_const("p", Tensor::scalar(true));
    let sw = add_node(&mut g, "sw", Op::Switch, &[x.into(), p.into()]);
    let a = add_node(&mut g, "a", Op::Identity, &[ValueRef::new(sw, 0)]);
    let m = add_node(&mut g, "m", Op::Merge, &[a.into(), ValueRef::new(sw, 0)]);
    let after = add_node(&mut g, "after", Op::Identity, &[m.into()]);
    assert!(run(&g, &[], &[after.into()]).is_err());
    let live = add_node(&mut g, "live", Op::Merge, &[a.into(), ValueRef::new(sw, 1)]);
    let r = run(&g, &[], &[live.into(), ValueRef::new(live, 1)]).unwrap();
    assert_eq!(vals(&r[0]), vec![1.0]);
    assert_eq!(r[1].to_vec::<i32>().unwrap(), vec![1]);

    // A placeholder reached only through a control edge is never evaluated.
    let unfed = g.add(Node::new("unfed", Op::Placeholder));
    let y = add_node(&mut g, "y", Op::Neg, &[x.into()]);
    g.connect_control(unfed, y);
    let r = run(&g, &[], &[y.into(), y.into()]).unwrap();
    assert_eq!(vals(&r[1]), vec![-1.0]);
}

#[test]
fn run_feeds_cut_the_graph_and_values_are_shared() {
    let mut g = Graph::new();
    let p = g.add(Node::new("p", Op::Placeholder));
    let c = g.add_const("c", Tensor::scalar(5.0f32));
    let d = add_node(&mut g, "d", Op::PlaceholderWithDefault, &[c.into()]);
    let s = add_node(&mut g, "s", Op::Mul, &[d.into(), d.into()]);
    let t = add_node(&mut g, "t", Op::Add, &[s.into(), d.into()]);
    assert_eq!(vals(&run(&g, &[], &[t.into()]).unwrap()[0]), vec![30.0]);
    let r = run(&g, &[(d, Tensor::scalar(2.0f32))], &[t.into(), s.into()]).unwrap();
    assert_eq!(vals(&r[0]), vec![6.0]);
    assert_eq!(vals(&r[1]), vec![4.0]);
    // Evaluated nodes that do not exist, and cycles, are errors.
    let a = add_node(&mut g, "a", Op::Identity, &[]);
    let b = add_node(&mut g, "b", Op::Identity, &[a.into()]);
    g.connect(b.into(), a, 0);
    assert!(run(&g, &[], &[b.into()]).is_err());
    let _ = p;
}

// ---------------------------------------------------------------- robustness

/// Every op, on many combinations of small (often nonsensical) inputs and attributes: evaluation and
/// inference may refuse but never panic, and whenever evaluation succeeds, inference with the same
/// constant inputs succeeds and agrees with it.
#[test]
fn no_panics_and_inference_agrees_on_arbitrary_inputs() {
    let pool = vec![
        Tensor::scalar(1.5f32),
        Tensor::scalar(1i32),
        i32s(&[2, -1]),
        i32s(&[1, 2, 2, 1]),
        rand(&[1, 3, 3, 2], 1),
        Tensor::scalar(true),
        f(&[0], vec![]),
        Tensor::from_vec(vec![1], vec![-5i64]),
        rand(&[2, 2], 2),
        Tensor::from_vec(vec![2, 2], vec![0i32, 1, 1, 0]),
        Tensor::from_vec(vec![2], vec![true, false]),
    ];
    let attr_sets: Vec<Vec<(&str, Attr)>> = vec![
        vec![],
        vec![
            ("strides", ints(&[1, 2, 2, 1])),
            ("padding", s("SAME")),
            ("num_split", Attr::Int(2)),
            ("DstT", Attr::Type(DType::I32)),
            ("num", Attr::Int(2)),
            ("axis", Attr::Int(-1)),
            ("keep_dims", Attr::Bool(true)),
            ("shrink_axis_mask", Attr::Int(1)),
            ("new_axis_mask", Attr::Int(2)),
            ("ellipsis_mask", Attr::Int(1)),
            ("squeeze_dims", ints(&[0])),
            ("out_type", Attr::Type(DType::I64)),
            ("value", Attr::Tensor(Tensor::scalar(3i32))),
            ("dtype", Attr::Type(DType::F32)),
            ("shape", Attr::Shape(Some(vec![2, -1]))),
            ("transpose_a", Attr::Bool(true)),
            ("align_corners", Attr::Bool(true)),
        ],
        vec![
            ("strides", ints(&[1, 1, 1, 1])),
            ("dilations", ints(&[1, 1, 2, 2])),
            ("padding", s("VALID")),
            ("data_format", s("NCHW")),
            ("num_split", Attr::Int(0)),
            ("DstT", Attr::Type(DType::Bool)),
            ("axis", Attr::Int(7)),
            ("begin_mask", Attr::Int(3)),
            ("end_mask", Attr::Int(-1)),
            ("squeeze_dims", ints(&[5])),
            ("half_pixel_centers", Attr::Bool(true)),
            ("transpose_b", Attr::Bool(true)),
        ],
    ];
    let mut combos: Vec<Vec<Tensor>> = vec![vec![]];
    for k in 1..=4 {
        let p = if k <= 2 { pool.len() } else { 6 };
        let mut idx = vec![0usize; k];
        loop {
            combos.push(idx.iter().map(|&i| pool[i].clone()).collect());
            let mut d = k;
            loop {
                if d == 0 {
                    break;
                }
                d -= 1;
                idx[d] += 1;
                if idx[d] < p {
                    break;
                }
                idx[d] = 0;
                if d == 0 {
                    d = usize::MAX;
                    break;
                }
            }
            if d == usize::MAX {
                break;
            }
        }
    }
    let mut ok = 0;
    for op in Op::ALL {
        for attrs in &attr_sets {
            let n = node(op.clone(), attrs);
            for ins in &combos {
                let infos: Vec<ValueInfo> = ins.iter().map(info_of).collect();
                let consts: Vec<Option<&Tensor>> = ins.iter().map(Some).collect();
                let none: Vec<Option<&Tensor>> = vec![None; ins.len()];
                let unknown = vec![ValueInfo::default(); ins.len()];
                let _ = infer(&n, &infos, &none);
                let _ = infer(&n, &unknown, &none);
                let inferred = infer(&n, &infos, &consts);
                if let Ok(res) = eval(&n, ins) {
                    ok += 1;
                    let inferred = inferred.unwrap_or_else(|e| {
                        panic!("{op}: eval succeeded on {ins:?} but inference failed: {e}")
                    });
                    assert_eq!(inferred.len(), res.len(), "{op} on {ins:?}");
                    for (i, r) in inferred.iter().zip(&res) {
                        assert!(
                            compatible(i, &info_of(r)),
                            "{op} on {ins:?} with {attrs:?}: inferred {i}, got {}",
                            info_of(r)
                        );
                    }
                }
            }
        }
    }
    assert!(ok > 1000, "only {ok} evaluations succeeded");
}
