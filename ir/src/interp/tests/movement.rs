//! Reductions and data movement: reshapes, slices, pads, tiles, concats, splits, resizes.

use super::*;

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

/// Taking a whole tensor (`w[np.newaxis]`) or moving only its size-1 axes keeps its bytes: folding
/// such a view of a weight must not copy it.
#[test]
fn whole_slices_and_size_one_transposes_share_their_bytes() {
    let x = arange(&[3, 4]);
    let masks = [("new_axis_mask", 1), ("begin_mask", 6), ("end_mask", 6)];
    let r = ss(&x, &[0, 0, 0], &[0, 0, 0], &[1, 1, 1], &masks).unwrap();
    assert_eq!(r.shape(), &[1, 3, 4]);
    assert_eq!(r.bytes().as_ptr(), x.bytes().as_ptr());
    let t = ev1(Op::Transpose, &[], &[r.clone(), i32s(&[1, 0, 2])]);
    assert_eq!(t.shape(), &[3, 1, 4]);
    assert_eq!(t.bytes().as_ptr(), x.bytes().as_ptr());
    assert_eq!(vals(&t), vals(&x));
    // A real permutation still moves the data.
    let moved = ev1(Op::Transpose, &[], &[x.clone(), i32s(&[1, 0])]);
    assert_eq!(vals(&moved)[..3], [0.0, 4.0, 8.0]);
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

/// DepthToSpace (NHWC, DCR): pixel (h, w)'s channel (i·b + j)·C' + c goes to (h·b + i, w·b + j, c).
#[test]
fn depth_to_space_spreads_channels_over_a_block() {
    let d2s = |x: Tensor, b: i64| {
        ev(
            Op::DepthToSpace,
            &[
                ("block_size", Attr::Int(b)),
                ("data_format", Attr::Str("NHWC".into())),
            ],
            &[x],
        )
    };
    // [1, 1, 2, 8] with block 2: two pixels of 8 channels become a 2x4 image of 2 channels.
    let y = d2s(arange(&[1, 1, 2, 8]), 2).unwrap().remove(0);
    assert_eq!(y.shape(), &[1, 2, 4, 2]);
    assert_eq!(
        vals(&y),
        vec![0., 1., 2., 3., 8., 9., 10., 11., 4., 5., 6., 7., 12., 13., 14., 15.]
    );
    let err = d2s(arange(&[1, 2, 2, 6]), 2).unwrap_err().to_string();
    assert!(err.contains("not divisible by block_size"), "{err}");
    let nchw = ev(
        Op::DepthToSpace,
        &[
            ("block_size", Attr::Int(2)),
            ("data_format", Attr::Str("NCHW".into())),
        ],
        &[arange(&[1, 8, 2, 2])],
    );
    assert!(nchw.unwrap_err().to_string().contains("NHWC only"));
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
