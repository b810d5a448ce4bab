//! Convolutions and matmul, against direct formulas and conv identities on random data.

use super::*;

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

/// Conv2D by its definition (NHWC, SAME or VALID, f64 sums): the reference for the GEMM path.
fn conv_by_definition(x: &Tensor, w: &Tensor, stride: usize, same: bool) -> (Vec<usize>, Vec<f32>) {
    let (xs, ws) = (x.shape(), w.shape());
    let (n, h, wd, c) = (xs[0], xs[1], xs[2], xs[3]);
    let (kh, kw, o) = (ws[0], ws[1], ws[3]);
    let (oh, ow, pt, pl) = if same {
        let (oh, ow) = (h.div_ceil(stride), wd.div_ceil(stride));
        let pad_h = ((oh - 1) * stride + kh).saturating_sub(h);
        let pad_w = ((ow - 1) * stride + kw).saturating_sub(wd);
        (oh, ow, pad_h / 2, pad_w / 2)
    } else {
        ((h - kh) / stride + 1, (wd - kw) / stride + 1, 0, 0)
    };
    let (xv, wv) = (vals(x), vals(w));
    let mut out = vec![0f32; n * oh * ow * o];
    for b in 0..n {
        for oy in 0..oh {
            for ox in 0..ow {
                for oc in 0..o {
                    let mut acc = 0f64;
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let (iy, ix) = (
                                (oy * stride + ky) as i64 - pt as i64,
                                (ox * stride + kx) as i64 - pl as i64,
                            );
                            if iy < 0 || ix < 0 || iy >= h as i64 || ix >= wd as i64 {
                                continue;
                            }
                            for ic in 0..c {
                                let xi = ((b * h + iy as usize) * wd + ix as usize) * c + ic;
                                let wi = ((ky * kw + kx) * c + ic) * o + oc;
                                acc += xv[xi] as f64 * wv[wi] as f64;
                            }
                        }
                    }
                    out[((b * oh + oy) * ow + ox) * o + oc] = acc as f32;
                }
            }
        }
    }
    (vec![n, oh, ow, o], out)
}

#[test]
fn gemm_conv_equals_the_definition_across_patch_tiles() {
    // 256 input channels and a 3×3 kernel make patch rows of 2304 values: the 32×32 output needs more
    // than one patch tile, so tile edges are covered; the 1×1 case takes the no-copy pointwise path.
    for (k, stride, pad, hw, c) in [
        (3, 1, "SAME", 32, 256),
        (3, 2, "SAME", 33, 256),
        (3, 1, "VALID", 9, 16),
        (1, 1, "VALID", 20, 64),
    ] {
        let x = rand(&[2, hw, hw, c], 11);
        let w = rand(&[k, k, c, 8], 12);
        let at = conv_attrs("NHWC", [stride as i64; 2], [1, 1], pad);
        let got = ev1(Op::Conv2D, &at, &[x.clone(), w.clone()]);
        let (shape, want) = conv_by_definition(&x, &w, stride, pad == "SAME");
        assert_eq!(got.shape(), &shape[..], "{k}x{k} {pad} stride {stride}");
        close(&vals(&got), &want, 1e-4);
    }
}

#[test]
fn gemm_backprop_input_is_the_adjoint_across_patch_tiles() {
    // Stride 2 as in StyleGAN's fused upscale, and large enough to span several patch tiles.
    let (c, o) = (256, 8);
    let x = rand(&[1, 32, 32, c], 21);
    let w = rand(&[3, 3, c, o], 22);
    let at = conv_attrs("NHWC", [2, 2], [1, 1], "SAME");
    let y = ev1(Op::Conv2D, &at, &[x.clone(), w.clone()]);
    let g = rand(y.shape(), 23);
    let sizes = i32s(&[1, 32, 32, c as i32]);
    let bx = ev1(Op::Conv2DBackpropInput, &at, &[sizes, w, g.clone()]);
    let (l, r) = (dot(&y, &g), dot(&x, &bx));
    assert!((l - r).abs() < 1e-4 * (1.0 + l.abs()), "{l} vs {r}");
}

/// A grouped Conv2DBackpropInput (input depth a multiple of the filter's, as StyleGAN2's batch-folded
/// upsampling conv makes) is the adjoint of the grouped Conv2D with the same filter.
#[test]
fn grouped_backprop_input_is_the_adjoint_of_the_grouped_conv() {
    for df in ["NHWC", "NCHW"] {
        let (groups, fc, o) = (3, 2, 6);
        let xs = if df == "NCHW" {
            [1, groups * fc, 5, 4]
        } else {
            [1, 5, 4, groups * fc]
        };
        let x = rand(&xs, 31);
        let w = rand(&[3, 3, fc, o], 32);
        let at = conv_attrs(df, [2, 2], [1, 1], "VALID");
        let y = ev1(Op::Conv2D, &at, &[x.clone(), w.clone()]);
        let g = rand(y.shape(), 33);
        let sizes = Tensor::from_vec(vec![4], xs.iter().map(|&d| d as i32).collect::<Vec<_>>());
        let bx = ev1(Op::Conv2DBackpropInput, &at, &[sizes, w, g.clone()]);
        assert_eq!(bx.shape(), x.shape());
        let (l, r) = (dot(&y, &g), dot(&x, &bx));
        assert!((l - r).abs() < 1e-4 * (1.0 + l.abs()), "{df}: {l} vs {r}");
    }
    // A depth that is no multiple of the filter's is refused.
    let n = node(
        Op::Conv2DBackpropInput,
        &conv_attrs("NHWC", [1, 1], [1, 1], "SAME"),
    );
    let bad = [
        i32s(&[1, 4, 4, 5]),
        rand(&[3, 3, 2, 4], 1),
        rand(&[1, 4, 4, 4], 2),
    ];
    assert!(eval(&n, &bad).is_err());
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
    let at = crate::interp::movement::permute(&a, &[1, 0]).unwrap();
    let bt = crate::interp::movement::permute(&b, &[1, 0]).unwrap();
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

/// Max and average pooling by hand on a 1×3×3×1 image: SAME averages count only the input positions
/// inside the window (TensorFlow's semantics), and NCHW is the transposed NHWC.
#[test]
fn pooling_windows_and_same_padding() {
    let x = f(&[1, 3, 3, 1], (1..=9).map(|v| v as f32).collect());
    let at = |k: i64, s_: i64, pad: &str, df: &str| {
        let mut a = conv_attrs(df, [s_, s_], [1, 1], pad);
        a.retain(|(k, _)| *k != "dilations");
        let ks = if df == "NCHW" {
            vec![1, 1, k, k]
        } else {
            vec![1, k, k, 1]
        };
        a.push(("ksize", Attr::Ints(ks)));
        a
    };
    let m = ev1(Op::MaxPool, &at(2, 1, "VALID", "NHWC"), &[x.clone()]);
    assert_eq!(vals(&m), vec![5.0, 6.0, 8.0, 9.0]);
    // SAME, 2×2 windows, stride 2: [1,2,4,5], [3,6], [7,8], [9].
    let a = ev1(Op::AvgPool, &at(2, 2, "SAME", "NHWC"), &[x.clone()]);
    assert_eq!(vals(&a), vec![3.0, 4.5, 7.5, 9.0]);
    let a_nchw = ev1(Op::AvgPool, &at(2, 2, "SAME", "NCHW"), &[nchw(&x)]);
    assert_eq!(vals(&a_nchw), vals(&a));
    let bad = node(
        Op::MaxPool,
        &[
            ("ksize", Attr::Ints(vec![2, 2, 2, 1])),
            ("padding", s("VALID")),
        ],
    );
    assert!(eval(&bad, &[x]).is_err());
}
