//! Shape inference, op by op and through the geometry helpers.

use super::*;
use crate::attr::Attr;
use crate::dtype::DType;
use crate::graph::{Node, ValueInfo};
use crate::op::Op;
use crate::tensor::Tensor;

fn n(op: Op, attrs: &[(&str, Attr)]) -> Node {
    let mut node = Node::new("n", op);
    for (k, v) in attrs {
        node.attrs.set(*k, v.clone());
    }
    node
}

fn vi(d: DType, s: &[i64]) -> ValueInfo {
    ValueInfo::new(d, s.to_vec())
}

fn f32i(s: &[i64]) -> ValueInfo {
    vi(DType::F32, s)
}

fn ints_t(v: &[i32]) -> Tensor {
    Tensor::from_vec(vec![v.len()], v.to_vec())
}

/// Infers with the given infos; inputs with a value are constants (their info is derived).
fn inf(node: &Node, ins: &[(ValueInfo, Option<Tensor>)]) -> Result<Vec<ValueInfo>> {
    let infos: Vec<ValueInfo> = ins
        .iter()
        .map(|(i, t)| match t {
            Some(t) => ValueInfo::new(t.dtype(), t.shape().iter().map(|&d| d as i64).collect()),
            None => i.clone(),
        })
        .collect();
    let consts: Vec<Option<&Tensor>> = ins.iter().map(|(_, t)| t.as_ref()).collect();
    infer(node, &infos, &consts)
}

fn k(t: Tensor) -> (ValueInfo, Option<Tensor>) {
    (ValueInfo::default(), Some(t))
}

fn v(i: ValueInfo) -> (ValueInfo, Option<Tensor>) {
    (i, None)
}

fn one(node: &Node, ins: &[(ValueInfo, Option<Tensor>)]) -> ValueInfo {
    inf(node, ins).unwrap().remove(0)
}

fn conv(df: &str, s: i64, pad: &str) -> Node {
    let strides = if df == "NCHW" {
        vec![1, 1, s, s]
    } else {
        vec![1, s, s, 1]
    };
    n(
        Op::Conv2D,
        &[
            ("data_format", Attr::Str(df.into())),
            ("strides", Attr::Ints(strides)),
            ("padding", Attr::Str(pad.into())),
        ],
    )
}

#[test]
fn conv_shapes_keep_unknown_batch() {
    let c = conv("NCHW", 2, "SAME");
    let out = one(&c, &[v(f32i(&[-1, 3, 32, 32])), v(f32i(&[3, 3, 3, 8]))]);
    assert_eq!(out, f32i(&[-1, 8, 16, 16]));
    let c = conv("NHWC", 2, "SAME");
    let out = one(&c, &[v(f32i(&[1, 7, 6, 3])), v(f32i(&[3, 3, 3, 8]))]);
    assert_eq!(out, f32i(&[1, 4, 3, 8]));
    let c = conv("NHWC", 2, "VALID");
    let out = one(&c, &[v(f32i(&[1, 7, -1, 3])), v(f32i(&[3, 3, 3, 8]))]);
    assert_eq!(out, f32i(&[1, 3, -1, 8]));
    // Unknown filter: only what the input says.
    let out = one(&c, &[v(f32i(&[2, 7, 7, 3])), v(ValueInfo::default())]);
    assert_eq!(out.shape, Some(vec![2, -1, -1, -1]));
    // Depth mismatch, bad ranks, bad attributes.
    assert!(inf(&c, &[v(f32i(&[1, 7, 7, 4])), v(f32i(&[3, 3, 3, 8]))]).is_err());
    assert!(inf(&c, &[v(f32i(&[7, 7, 3])), v(f32i(&[3, 3, 3, 8]))]).is_err());
    assert!(inf(&c, &[v(f32i(&[1, 2, 2, 3])), v(f32i(&[3, 3, 3, 8]))]).is_err());
    assert!(inf(
        &conv("NHWC", 2, "FULL"),
        &[v(f32i(&[1, 4, 4, 3])), v(f32i(&[1, 1, 3, 8]))]
    )
    .is_err());
    let bad_strides = n(
        Op::Conv2D,
        &[
            ("strides", Attr::Ints(vec![2, 1, 1, 1])),
            ("padding", Attr::Str("SAME".into())),
        ],
    );
    assert!(inf(
        &bad_strides,
        &[v(f32i(&[1, 4, 4, 3])), v(f32i(&[1, 1, 3, 8]))]
    )
    .is_err());
    assert!(inf(&c, &[v(f32i(&[1, 4, 4, 3]))]).is_err());
    // Depthwise: channels times multiplier.
    let mut d = conv("NHWC", 1, "SAME");
    d.op = Op::DepthwiseConv2dNative;
    assert_eq!(
        one(&d, &[v(f32i(&[1, 5, 5, 3])), v(f32i(&[3, 3, 3, 2]))]),
        f32i(&[1, 5, 5, 6])
    );
}

#[test]
fn conv_backprop_input_shape() {
    let mut c = conv("NHWC", 2, "SAME");
    c.op = Op::Conv2DBackpropInput;
    let f = v(f32i(&[3, 3, 4, 8]));
    let dy = v(f32i(&[1, 4, 4, 8]));
    let out = one(&c, &[k(ints_t(&[1, 8, 8, 4])), f.clone(), dy.clone()]);
    assert_eq!(out, f32i(&[1, 8, 8, 4]));
    // 7 also gives a 4-wide SAME output at stride 2.
    let out = one(&c, &[k(ints_t(&[1, 7, 8, 4])), f.clone(), dy.clone()]);
    assert_eq!(out, f32i(&[1, 7, 8, 4]));
    let out = one(&c, &[v(vi(DType::I32, &[4])), f.clone(), dy.clone()]);
    // Unknown input_sizes leave the depth unknown too: the filter may be one group's.
    assert_eq!(out, f32i(&[1, -1, -1, -1]));
    // Two groups of 4 input channels, splitting the 8 filter outputs.
    let out = one(&c, &[k(ints_t(&[1, 8, 8, 8])), f.clone(), dy.clone()]);
    assert_eq!(out, f32i(&[1, 8, 8, 8]));
    assert!(inf(&c, &[k(ints_t(&[1, 10, 8, 4])), f.clone(), dy.clone()]).is_err());
    assert!(inf(&c, &[k(ints_t(&[1, 8, 8, 5])), f, dy]).is_err());
}

#[test]
fn matmul_and_broadcast() {
    let m = n(Op::MatMul, &[("transpose_b", Attr::Bool(true))]);
    assert_eq!(
        one(&m, &[v(f32i(&[-1, 4])), v(f32i(&[5, 4]))]),
        f32i(&[-1, 5])
    );
    assert!(inf(&m, &[v(f32i(&[2, 4])), v(f32i(&[4, 5]))]).is_err());
    let add = n(Op::AddV2, &[]);
    assert_eq!(
        one(&add, &[v(f32i(&[-1, 3])), v(f32i(&[4, 1]))]),
        f32i(&[4, 3])
    );
    assert_eq!(one(&add, &[v(f32i(&[-1])), v(f32i(&[-1]))]), f32i(&[-1]));
    assert_eq!(
        one(&add, &[v(f32i(&[2, 1, 5])), v(f32i(&[3, 1]))]),
        f32i(&[2, 3, 5])
    );
    assert!(inf(&add, &[v(f32i(&[2, 3])), v(f32i(&[4]))]).is_err());
    assert!(inf(&add, &[v(f32i(&[2])), v(vi(DType::I32, &[2]))]).is_err());
    assert!(inf(&add, &[v(f32i(&[2]))]).is_err());
    let unknown_rank = one(&add, &[v(f32i(&[2])), v(ValueInfo::default())]);
    assert_eq!(unknown_rank.dtype, Some(DType::F32));
    assert_eq!(unknown_rank.shape, None);
    let clip = n(Op::ClipByValue, &[]);
    let x = f32i(&[-1, 4, 3]);
    assert_eq!(
        one(&clip, &[v(x.clone()), v(f32i(&[])), v(f32i(&[4, 1]))]),
        x
    );
    assert_eq!(
        one(&clip, &[v(x.clone()), v(f32i(&[])), v(f32i(&[2, 4, 3]))]),
        x
    );
    assert!(inf(&clip, &[v(x.clone()), v(f32i(&[])), v(f32i(&[1, 2, 4, 3]))]).is_err());
    assert!(inf(&clip, &[v(x), v(f32i(&[])), v(f32i(&[5]))]).is_err());
    let lt = n(Op::Less, &[]);
    assert_eq!(
        one(&lt, &[v(f32i(&[2])), v(f32i(&[]))]),
        vi(DType::Bool, &[2])
    );
    let sel = n(Op::Select, &[]);
    let out = one(
        &sel,
        &[
            v(vi(DType::Bool, &[-1])),
            v(f32i(&[-1, 3])),
            v(f32i(&[4, -1])),
        ],
    );
    assert_eq!(out, f32i(&[4, 3]));
    assert!(inf(
        &sel,
        &[
            v(vi(DType::Bool, &[2, 3])),
            v(f32i(&[2, 4])),
            v(f32i(&[2, 4]))
        ]
    )
    .is_err());
}

#[test]
fn value_dependent_shapes() {
    let r = n(Op::Reshape, &[]);
    assert_eq!(
        one(&r, &[v(f32i(&[-1, 4, 4])), k(ints_t(&[-1, 16]))]),
        f32i(&[-1, 16])
    );
    assert_eq!(
        one(&r, &[v(f32i(&[2, 4, 4])), k(ints_t(&[-1, 8]))]),
        f32i(&[4, 8])
    );
    assert_eq!(
        one(&r, &[v(f32i(&[2, 4])), v(vi(DType::I32, &[3]))]),
        f32i(&[-1, -1, -1])
    );
    assert!(inf(&r, &[v(f32i(&[2, 4])), k(ints_t(&[3, -1]))]).is_err());
    let t = n(Op::Tile, &[]);
    assert_eq!(
        one(&t, &[v(f32i(&[-1, 2])), k(ints_t(&[3, 2]))]),
        f32i(&[-1, 4])
    );
    let p = n(Op::Pad, &[]);
    let pads = Tensor::from_vec(vec![2, 2], vec![1i32, 1, 0, 2]);
    assert_eq!(one(&p, &[v(f32i(&[-1, 3])), k(pads)]), f32i(&[-1, 5]));
    let sl = n(Op::Slice, &[]);
    assert_eq!(
        one(
            &sl,
            &[v(f32i(&[-1, 5])), k(ints_t(&[0, 1])), k(ints_t(&[-1, 3]))]
        ),
        f32i(&[-1, 3])
    );
    let fill = n(Op::Fill, &[]);
    assert_eq!(
        one(&fill, &[k(ints_t(&[2, 3])), v(vi(DType::I32, &[]))]),
        vi(DType::I32, &[2, 3])
    );
    let ss = n(
        Op::StridedSlice,
        &[
            ("begin_mask", Attr::Int(1)),
            ("end_mask", Attr::Int(1)),
            ("shrink_axis_mask", Attr::Int(4)),
        ],
    );
    let out = one(
        &ss,
        &[
            v(f32i(&[-1, 5, -1])),
            k(ints_t(&[0, 1, 0])),
            k(ints_t(&[0, 3, 1])),
            k(ints_t(&[1, 1, 1])),
        ],
    );
    assert_eq!(out, f32i(&[-1, 2]));
    let tr = n(Op::Transpose, &[]);
    assert_eq!(
        one(&tr, &[v(f32i(&[-1, 2, 3])), k(ints_t(&[0, 2, 1]))]),
        f32i(&[-1, 3, 2])
    );
    assert!(inf(&tr, &[v(f32i(&[1, 2, 3])), k(ints_t(&[0, 1]))]).is_err());
    let cat = n(Op::ConcatV2, &[]);
    assert_eq!(
        one(
            &cat,
            &[
                v(f32i(&[-1, 2])),
                v(f32i(&[3, -1])),
                k(Tensor::scalar(1i32))
            ]
        ),
        f32i(&[3, -1])
    );
    assert_eq!(
        one(
            &cat,
            &[v(f32i(&[2, 2])), v(f32i(&[3, 2])), k(Tensor::scalar(0i32))]
        ),
        f32i(&[5, 2])
    );
    assert!(inf(
        &cat,
        &[v(f32i(&[2, 2])), v(f32i(&[3, 3])), k(Tensor::scalar(0i32))]
    )
    .is_err());
    let mean = n(Op::Mean, &[("keep_dims", Attr::Bool(true))]);
    assert_eq!(
        one(&mean, &[v(f32i(&[-1, 8, 4, 4])), k(ints_t(&[2, 3]))]),
        f32i(&[-1, 8, 1, 1])
    );
    assert_eq!(
        one(&mean, &[v(f32i(&[2, 8])), v(vi(DType::I32, &[1]))]),
        f32i(&[-1, -1])
    );
    let d2s = n(
        Op::DepthToSpace,
        &[
            ("block_size", Attr::Int(2)),
            ("data_format", Attr::Str("NHWC".into())),
        ],
    );
    assert_eq!(
        one(&d2s, &[v(f32i(&[-1, 5, 3, 32]))]),
        f32i(&[-1, 10, 6, 8])
    );
    let rz = n(Op::ResizeNearestNeighbor, &[]);
    assert_eq!(
        one(&rz, &[v(f32i(&[-1, 4, 4, 3])), k(ints_t(&[8, 8]))]),
        f32i(&[-1, 8, 8, 3])
    );
    let rnd = n(
        Op::RandomStandardNormal,
        &[("dtype", Attr::Type(DType::F32))],
    );
    assert_eq!(one(&rnd, &[k(ints_t(&[2, 512]))]), f32i(&[2, 512]));
    let range = n(Op::Range, &[]);
    let out = one(
        &range,
        &[
            k(Tensor::scalar(0i32)),
            k(Tensor::scalar(10i32)),
            k(Tensor::scalar(3i32)),
        ],
    );
    assert_eq!(out, vi(DType::I32, &[4]));
}

#[test]
fn control_flow_and_sources() {
    let ph = n(
        Op::Placeholder,
        &[
            ("dtype", Attr::Type(DType::F32)),
            ("shape", Attr::Shape(Some(vec![-1, 512]))),
        ],
    );
    assert_eq!(one(&ph, &[]), f32i(&[-1, 512]));
    let ph = n(
        Op::Placeholder,
        &[
            ("dtype", Attr::Type(DType::F32)),
            ("shape", Attr::Shape(None)),
        ],
    );
    assert_eq!(one(&ph, &[]).shape, None);
    let sw = n(Op::Switch, &[]);
    let outs = inf(&sw, &[v(f32i(&[2])), v(vi(DType::Bool, &[]))]).unwrap();
    assert_eq!(outs, vec![f32i(&[2]), f32i(&[2])]);
    assert!(inf(&sw, &[v(f32i(&[2])), v(vi(DType::F32, &[]))]).is_err());
    let m = n(Op::Merge, &[]);
    let outs = inf(&m, &[v(f32i(&[2, 3])), v(f32i(&[2, 4]))]).unwrap();
    assert_eq!(outs, vec![f32i(&[2, -1]), vi(DType::I32, &[])]);
    let idn = n(Op::IdentityN, &[]);
    assert_eq!(
        inf(&idn, &[v(f32i(&[1])), v(vi(DType::I32, &[]))])
            .unwrap()
            .len(),
        2
    );
    let sh = n(Op::Shape, &[]);
    assert_eq!(one(&sh, &[v(ValueInfo::default())]), vi(DType::I32, &[-1]));
    let sh = n(Op::Shape, &[("out_type", Attr::Type(DType::I64))]);
    assert_eq!(one(&sh, &[v(f32i(&[-1, 3]))]), vi(DType::I64, &[2]));
    let split = n(Op::Split, &[("num_split", Attr::Int(3))]);
    let outs = inf(&split, &[v(vi(DType::I32, &[])), v(f32i(&[6, 2]))]).unwrap();
    assert_eq!(outs, vec![f32i(&[-1, -1]); 3]);
    let outs = inf(&split, &[k(Tensor::scalar(0i32)), v(f32i(&[6, 2]))]).unwrap();
    assert_eq!(outs, vec![f32i(&[2, 2]); 3]);
    let unpack = n(Op::Unpack, &[("num", Attr::Int(2))]);
    assert_eq!(inf(&unpack, &[v(ValueInfo::default())]).unwrap().len(), 2);
    assert!(inf(&unpack, &[v(f32i(&[3, 2]))]).is_err());
    let cast = n(Op::Cast, &[("DstT", Attr::Type(DType::U8))]);
    assert_eq!(one(&cast, &[v(f32i(&[-1]))]), vi(DType::U8, &[-1]));
    assert!(inf(&n(Op::Cast, &[]), &[v(f32i(&[1]))]).is_err());
    assert!(matches!(
        inf(&n(Op::Other("Frob".into()), &[]), &[]),
        Err(IrError::UnknownOp { .. })
    ));
    let e = inf(&n(Op::Const, &[]), &[]).unwrap_err();
    assert!(e.to_string().contains("node 'n'"), "{e}");
}

#[test]
fn unknown_ops_take_their_types_from_the_graph() {
    let shapes = Attr::Shapes(vec![Some(vec![1, 8]), None]);
    let frob = n(
        Op::Other("Frob".into()),
        &[("_output_shapes", shapes.clone())],
    );
    // No dtype attribute: the first input's dtype.
    let outs = inf(&frob, &[v(f32i(&[1, 8]))]).unwrap();
    assert_eq!(outs, vec![f32i(&[1, 8]), info(Some(DType::F32), None)]);
    let typed = n(
        Op::Other("Frob".into()),
        &[
            ("_output_shapes", shapes.clone()),
            ("Tout", Attr::Types(vec![DType::I32, DType::U8])),
        ],
    );
    let outs = inf(&typed, &[v(f32i(&[1, 8]))]).unwrap();
    assert_eq!(outs[0], vi(DType::I32, &[1, 8]));
    assert_eq!(outs[1].dtype, Some(DType::U8));
    let out_type = n(
        Op::Other("Frob".into()),
        &[
            ("_output_shapes", shapes),
            ("out_type", Attr::Type(DType::I64)),
        ],
    );
    assert_eq!(inf(&out_type, &[]).unwrap()[0], vi(DType::I64, &[1, 8]));
    // Shapes but no way to know the dtype; no shapes at all.
    let untyped = n(
        Op::Other("Frob".into()),
        &[("_output_shapes", Attr::Shapes(vec![Some(vec![2])]))],
    );
    let e = inf(&untyped, &[]).unwrap_err().to_string();
    assert!(e.contains("node 'n'") && e.contains("dtype"), "{e}");
    let e = inf(&n(Op::Other("Frob".into()), &[]), &[])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("node 'n'") && e.contains("add_shapes=True"),
        "{e}"
    );
}

#[test]
fn strided_slice_spec_matches_tensorflow() {
    let m = SliceMasks {
        ellipsis: 1,
        shrink: 2,
        ..Default::default()
    };
    let s = strided_slice_spec(&[2, 3, 4], &[0, 1], &[0, 2], &[1, 1], &m).unwrap();
    assert_eq!(s.final_shape, vec![2, 3]);
    assert_eq!(
        s.dims[2],
        SliceDim {
            begin: 1,
            stride: 1,
            size: 1
        }
    );
    // A reversed full range starts at the last element.
    let m = SliceMasks {
        begin: 1,
        end: 1,
        ..Default::default()
    };
    let s = strided_slice_spec(&[5], &[0], &[0], &[-2], &m).unwrap();
    assert_eq!(
        s.dims[0],
        SliceDim {
            begin: 4,
            stride: -2,
            size: 3
        }
    );
    // Two ellipses are refused.
    let m = SliceMasks {
        ellipsis: 3,
        ..Default::default()
    };
    assert!(strided_slice_spec(&[5, 5], &[0, 0], &[1, 1], &[1, 1], &m).is_err());
}

/// Absurd sizes in the vision ops are errors, not overflows: SplitV sizes that overflow their sum,
/// a SpaceToDepth/DepthToSpace block whose square or product overflows.
#[test]
fn vision_ops_reject_overflowing_sizes() {
    let split = n(Op::SplitV, &[("num_split", Attr::Int(2))]);
    let sizes = Tensor::from_vec(vec![2], vec![i64::MAX, 1]);
    let r = inf(
        &split,
        &[
            (f32i(&[4]), None),
            (f32i(&[]), Some(sizes)),
            (f32i(&[]), Some(Tensor::scalar(0i32))),
        ],
    );
    assert!(r.is_err(), "{r:?}");
    for op in [Op::SpaceToDepth, Op::DepthToSpace] {
        let node = n(op.clone(), &[("block_size", Attr::Int(1 << 32))]);
        let r = inf(&node, &[(f32i(&[1, -1, -1, 3]), None)]);
        assert!(r.is_err(), "{op}: {r:?}");
        let node = n(op.clone(), &[("block_size", Attr::Int(1 << 31))]);
        let r = inf(&node, &[(f32i(&[1, 1 << 40, 2, -1]), None)]);
        assert!(r.is_err() || op == Op::SpaceToDepth, "{op}: {r:?}");
    }
}
