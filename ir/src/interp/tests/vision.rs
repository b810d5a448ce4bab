//! The ops of TF1 vision nets and GAN generators beyond StyleGAN's, with values worked out by hand
//! (each `ev` also checks that shape inference agrees with the result).

use super::*;

#[test]
fn activations() {
    let x = f(&[5], vec![-30.0, -1.0, 0.0, 0.5, 40.0]);
    let elu = ev1(Op::Elu, &[], &[x.clone()]);
    close(&vals(&elu), &[-1.0, (-1f32).exp_m1(), 0.0, 0.5, 40.0], 1e-7);
    let (a, sc) = (crate::op::SELU_ALPHA as f32, crate::op::SELU_SCALE as f32);
    let selu = ev1(Op::Selu, &[], &[x.clone()]);
    close(
        &vals(&selu),
        &[-sc * a, sc * a * (-1f32).exp_m1(), 0.0, sc * 0.5, sc * 40.0],
        1e-6,
    );
    // ln(1 + eˣ) without overflow at 40 (e⁴⁰ is finite in f32, e⁹⁰ is not) and with eˣ's size at −30.
    let sp = ev1(Op::Softplus, &[], &[f(&[3], vec![-30.0, 0.0, 90.0])]);
    let got = vals(&sp);
    assert!((got[0] / (-30f32).exp() - 1.0).abs() < 1e-5, "{got:?}");
    close(&got[1..], &[std::f32::consts::LN_2, 90.0], 1e-6);
    close(
        &vals(&ev1(Op::Abs, &[], &[x.clone()]))[..2],
        &[30.0, 1.0],
        0.0,
    );
    let log = ev1(Op::Log, &[], &[f(&[2], vec![1.0, std::f32::consts::E])]);
    close(&vals(&log), &[0.0, 1.0], 1e-7);
    let ia = ev1(Op::Abs, &[], &[i32s(&[-3, 4])]);
    assert_eq!(ia.to_vec::<i32>().unwrap(), vec![3, 4]);
}

#[test]
fn pow_of_floats_and_integers() {
    let p = ev1(
        Op::Pow,
        &[],
        &[f(&[3], vec![4.0, 2.0, 9.0]), f(&[3], vec![0.5, -1.0, 2.0])],
    );
    close(&vals(&p), &[2.0, 0.5, 81.0], 1e-7);
    let ip = ev1(Op::Pow, &[], &[i32s(&[3, -2, 5]), i32s(&[4, 3, 0])]);
    assert_eq!(ip.to_vec::<i32>().unwrap(), vec![81, -8, 1]);
    assert!(ev(Op::Pow, &[], &[i32s(&[2]), i32s(&[-1])]).is_err());
}

#[test]
fn log_softmax_and_arg_max() {
    let x = f(&[2, 3], vec![1.0, 2.0, 3.0, 0.0, 0.0, 0.0]);
    let ls = ev1(Op::LogSoftmax, &[], &[x]);
    let z = (1f32.exp() + 2f32.exp() + 3f32.exp()).ln();
    let l3 = -(3f32.ln());
    close(&vals(&ls), &[1.0 - z, 2.0 - z, 3.0 - z, l3, l3, l3], 1e-6);
    // The first of equal maxima wins; TF's default output type is int64.
    // int64 values apart by 1 above 2^53 (equal in f64) are told apart.
    let big = Tensor::from_vec(vec![2], vec![1i64 << 53, (1i64 << 53) + 1]);
    let am = ev1(Op::ArgMax, &[], &[big, Tensor::scalar(0i32)]);
    assert_eq!(am.to_vec::<i64>().unwrap(), vec![1]);
    let x = f(&[2, 3], vec![1.0, 5.0, 5.0, 7.0, -1.0, 2.0]);
    let am = ev1(Op::ArgMax, &[], &[x.clone(), Tensor::scalar(1i32)]);
    assert_eq!(am.to_vec::<i64>().unwrap(), vec![1, 0]);
    let a0 = ev1(
        Op::ArgMax,
        &[("output_type", Attr::Type(DType::I32))],
        &[x, Tensor::scalar(-2i64)],
    );
    assert_eq!(a0.to_vec::<i32>().unwrap(), vec![1, 0, 0]);
}

#[test]
fn mirror_pads() {
    let x = f(&[1, 3], vec![1.0, 2.0, 3.0]);
    let p = |b: i64, a: i64| Tensor::from_vec(vec![2, 2], vec![0i64, 0, b, a]);
    let r = ev1(
        Op::MirrorPad,
        &[("mode", s("REFLECT"))],
        &[x.clone(), p(2, 2)],
    );
    assert_eq!(vals(&r), vec![3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0]);
    let sy = ev1(
        Op::MirrorPad,
        &[("mode", s("SYMMETRIC"))],
        &[x.clone(), p(3, 1)],
    );
    assert_eq!(vals(&sy), vec![3.0, 2.0, 1.0, 1.0, 2.0, 3.0, 3.0]);
    // REFLECT cannot pad more than length − 1; a missing mode is an error.
    assert!(ev(
        Op::MirrorPad,
        &[("mode", s("REFLECT"))],
        &[x.clone(), p(3, 0)]
    )
    .is_err());
    assert!(ev(Op::MirrorPad, &[], &[x, p(1, 0)]).is_err());
}

#[test]
fn split_v_with_an_open_size() {
    let x = arange(&[2, 5]);
    let outs = ev(
        Op::SplitV,
        &[("num_split", Attr::Int(3))],
        &[x.clone(), i32s(&[1, -1, 2]), Tensor::scalar(1i32)],
    )
    .unwrap();
    let shapes: Vec<&[usize]> = outs.iter().map(|t| t.shape()).collect();
    assert_eq!(shapes, vec![&[2, 1][..], &[2, 2], &[2, 2]]);
    assert_eq!(vals(&outs[1]), vec![1.0, 2.0, 6.0, 7.0]);
    let bad = [x, i32s(&[1, 1, 1]), Tensor::scalar(1i32)];
    assert!(
        ev(Op::SplitV, &[("num_split", Attr::Int(3))], &bad).is_err(),
        "sums to 3, not 5"
    );
}

#[test]
fn space_to_depth_inverts_depth_to_space() {
    let x = arange(&[1, 4, 6, 2]);
    let attrs = [("block_size", Attr::Int(2))];
    let s2d = ev1(Op::SpaceToDepth, &attrs, &[x.clone()]);
    assert_eq!(s2d.shape(), &[1, 2, 3, 8]);
    // Pixel (0,0) gathers (0,0), (0,1), (1,0), (1,1), each with its 2 channels.
    assert_eq!(
        vals(&s2d)[..8],
        [0.0, 1.0, 2.0, 3.0, 12.0, 13.0, 14.0, 15.0]
    );
    let back = ev1(Op::DepthToSpace, &attrs, &[s2d]);
    assert_eq!(vals(&back), vals(&x));
    assert!(ev(Op::SpaceToDepth, &attrs, &[arange(&[1, 3, 4, 1])]).is_err());
}

#[test]
fn resize_bilinear_coordinates() {
    // One row [0, 10] to width 4: legacy in = x·½ → 0, 5, 10, 10 (the last clamped).
    let x = f(&[1, 1, 2, 1], vec![0.0, 10.0]);
    let size = i32s(&[1, 4]);
    let legacy = ev1(Op::ResizeBilinear, &[], &[x.clone(), size.clone()]);
    assert_eq!(vals(&legacy), vec![0.0, 5.0, 10.0, 10.0]);
    // Half-pixel centers: in = (x + ½)·½ − ½ → −¼ (lower clamped to 0, weight ¾ of a 0→10 step).
    let half = ev1(
        Op::ResizeBilinear,
        &[("half_pixel_centers", Attr::Bool(true))],
        &[x.clone(), size.clone()],
    );
    assert_eq!(vals(&half), vec![0.0, 2.5, 7.5, 10.0]);
    let aligned = ev1(
        Op::ResizeBilinear,
        &[("align_corners", Attr::Bool(true))],
        &[x.clone(), i32s(&[1, 3])],
    );
    assert_eq!(vals(&aligned), vec![0.0, 5.0, 10.0]);
    // Integer images come out as float.
    let ints = Tensor::from_vec(vec![1, 1, 2, 1], vec![0i32, 10]);
    let r = ev1(Op::ResizeBilinear, &[], &[ints, size]);
    assert_eq!(r.dtype(), DType::F32);
    // A size of -1 means "unknown" to shape inference only: evaluated, it is an error, not a panic.
    let empty = Tensor::from_vec(vec![0, 2, 2, 1], Vec::<f32>::new());
    assert!(ev(Op::ResizeBilinear, &[], &[empty.clone(), i32s(&[2, -1])]).is_err());
    assert!(ev(Op::ResizeNearestNeighbor, &[], &[empty, i32s(&[-1, 2])]).is_err());
    let both = [
        ("align_corners", Attr::Bool(true)),
        ("half_pixel_centers", Attr::Bool(true)),
    ];
    assert!(ev(Op::ResizeBilinear, &both, &[x, i32s(&[1, 3])]).is_err());
}
