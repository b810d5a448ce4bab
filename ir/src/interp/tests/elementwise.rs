//! Elementwise ops: arithmetic, comparisons, selection, casts, clipping.

use super::*;

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

/// FloorDiv rounds toward −∞ for every sign combination (TensorFlow's semantics; RealDiv on ints
/// truncates), and refuses an integer zero divisor.
#[test]
fn floor_div_rounds_down() {
    let ints = ev1(
        Op::FloorDiv,
        &[],
        &[i32s(&[7, -7, 7, -7, 6, 0]), i32s(&[2, 2, -2, -2, 3, -5])],
    );
    assert_eq!(ints.to_vec::<i32>().unwrap(), vec![3, -4, -4, 3, 2, 0]);
    let floats = ev1(
        Op::FloorDiv,
        &[],
        &[f(&[3], vec![7.0, -7.0, 7.5]), f(&[3], vec![2.0, 2.0, -0.5])],
    );
    assert_eq!(vals(&floats), vec![3.0, -4.0, -15.0]);
    assert!(eval(&node(Op::FloorDiv, &[]), &[i32s(&[1]), i32s(&[0])]).is_err());
}

/// Relu6 clamps to [0, 6]; Softmax normalises each row of the last axis (and keeps large logits finite).
#[test]
fn relu6_and_softmax() {
    let r = ev1(Op::Relu6, &[], &[f(&[4], vec![-1.0, 3.0, 7.0, 6.0])]);
    assert_eq!(vals(&r), vec![0.0, 3.0, 6.0, 6.0]);
    let sm = ev1(
        Op::Softmax,
        &[],
        &[f(&[2, 2], vec![0.0, 0.0, 1000.0, 1001.0])],
    );
    let e = std::f32::consts::E;
    close(
        &vals(&sm),
        &[0.5, 0.5, 1.0 / (1.0 + e), e / (1.0 + e)],
        1e-6,
    );
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
