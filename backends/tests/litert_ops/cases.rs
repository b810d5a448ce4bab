//! The one-op cases: each a tiny graph with a reference computed here from first principles, or the
//! TensorFlow expression whose stored result it must match (see the harness in `litert_ops.rs`).

use sgc_ir::{Attr, DType, Op, Tensor};

use sgc_ir::testing::Builder;

use super::{f32c, graph_case, i32c, i64c, one_op, Case, In};

fn s(v: &str) -> Attr {
    Attr::Str(v.into())
}

fn ints(v: &[i64]) -> Attr {
    Attr::Ints(v.to_vec())
}

/// Forward padding of one spatial axis: `(out, pad_before)`.
fn pads(input: usize, k: usize, stride: usize, dil: usize, same: bool) -> (usize, usize) {
    let ek = (k - 1) * dil + 1;
    if same {
        let out = input.div_ceil(stride);
        let total = ((out - 1) * stride + ek).saturating_sub(input);
        (out, total / 2)
    } else {
        ((input - ek) / stride + 1, 0)
    }
}

/// NHWC max or average pooling of `x` (`xs`) with a `k`×`k` window; an average counts only the
/// positions inside the input (TensorFlow's SAME semantics).
fn pool_ref(x: &[f32], xs: [usize; 4], k: usize, stride: usize, same: bool, max: bool) -> Vec<f32> {
    let [n, h, w, c] = xs;
    let (oh, pt) = pads(h, k, stride, 1, same);
    let (ow, pl) = pads(w, k, stride, 1, same);
    let mut out = Vec::with_capacity(n * oh * ow * c);
    for b in 0..n {
        for oy in 0..oh {
            for ox in 0..ow {
                for ch in 0..c {
                    let mut vals = vec![];
                    for ky in 0..k {
                        for kx in 0..k {
                            let (y, xx) = (
                                (oy * stride + ky) as i64 - pt as i64,
                                (ox * stride + kx) as i64 - pl as i64,
                            );
                            if y >= 0 && xx >= 0 && (y as usize) < h && (xx as usize) < w {
                                vals.push(x[((b * h + y as usize) * w + xx as usize) * c + ch]);
                            }
                        }
                    }
                    out.push(if max {
                        vals.iter().copied().fold(f32::NEG_INFINITY, f32::max)
                    } else {
                        vals.iter().sum::<f32>() / vals.len() as f32
                    });
                }
            }
        }
    }
    out
}

/// NHWC conv with an HWIO filter, or depthwise with [H,W,C,M] when `depthwise`.
#[allow(clippy::too_many_arguments)]
fn conv_ref(
    x: &[f32],
    xs: [usize; 4],
    f: &[f32],
    fs: [usize; 4],
    stride: usize,
    dil: usize,
    same: bool,
    depthwise: bool,
) -> Vec<f32> {
    let [n, h, w, c] = xs;
    let [kh, kw, fi, fo] = fs;
    let (oh, pt) = pads(h, kh, stride, dil, same);
    let (ow, pl) = pads(w, kw, stride, dil, same);
    let oc = if depthwise { fi * fo } else { fo };
    let mut out = vec![0f32; n * oh * ow * oc];
    for b in 0..n {
        for y in 0..oh {
            for xx in 0..ow {
                for o in 0..oc {
                    let mut acc = 0f32;
                    for i in 0..kh {
                        for j in 0..kw {
                            let iy = (y * stride + i * dil) as isize - pt as isize;
                            let ix = (xx * stride + j * dil) as isize - pl as isize;
                            if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                continue;
                            }
                            let base = ((b * h + iy as usize) * w + ix as usize) * c;
                            if depthwise {
                                let (ci, m) = (o / fo, o % fo);
                                acc += x[base + ci] * f[((i * kw + j) * fi + ci) * fo + m];
                            } else {
                                for ci in 0..c {
                                    acc += x[base + ci] * f[((i * kw + j) * fi + ci) * fo + o];
                                }
                            }
                        }
                    }
                    out[((b * oh + y) * ow + xx) * oc + o] = acc;
                }
            }
        }
    }
    out
}

/// Conv2DBackpropInput: the gradient of a SAME/VALID conv of an `out`-shaped input with filter
/// [H,W,Cin,Cout], applied to `dy`.
fn deconv_ref(
    dy: &[f32],
    ds: [usize; 4],
    f: &[f32],
    fs: [usize; 4],
    out: [usize; 4],
    stride: usize,
    same: bool,
) -> Vec<f32> {
    let [n, dh, dw, dc] = ds;
    let [kh, kw, ci, co] = fs;
    assert_eq!(co, dc);
    let [_, h, w, _] = out;
    let (oh, pt) = pads(h, kh, stride, 1, same);
    let (ow, pl) = pads(w, kw, stride, 1, same);
    assert_eq!((oh, ow), (dh, dw));
    let mut dx = vec![0f32; n * h * w * ci];
    for b in 0..n {
        for y in 0..dh {
            for xx in 0..dw {
                for i in 0..kh {
                    for j in 0..kw {
                        let iy = (y * stride + i) as isize - pt as isize;
                        let ix = (xx * stride + j) as isize - pl as isize;
                        if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                            continue;
                        }
                        for c in 0..ci {
                            for o in 0..co {
                                dx[((b * h + iy as usize) * w + ix as usize) * ci + c] += dy
                                    [((b * dh + y) * dw + xx) * dc + o]
                                    * f[((i * kw + j) * ci + c) * co + o];
                            }
                        }
                    }
                }
            }
        }
    }
    dx
}

fn matmul_ref(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    let mut out = vec![0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            out[i * n + j] = (0..k).map(|t| a[i * k + t] * b[t * n + j]).sum();
        }
    }
    out
}

fn transpose2(a: &[f32], r: usize, c: usize) -> Vec<f32> {
    (0..c * r).map(|i| a[(i % r) * c + i / r]).collect()
}

fn unary(name: &str, op: Op, f: fn(f32) -> f32, positive: bool) -> Case {
    let mut c = one_op(
        name,
        op,
        vec![],
        vec![In::X("x", vec![2, 3, 4])],
        vec![(DType::F32, vec![2, 3, 4])],
    );
    if positive {
        for v in &mut c.feeds[0].2 {
            *v = v.abs() + 0.1;
        }
    }
    c.expect(|i| vec![i[0].iter().map(|&v| f(v)).collect()])
}

fn binary(name: &str, op: Op, f: fn(f32, f32) -> f32, out: DType) -> Case {
    // x [2,3,4] with y [4] broadcast.
    one_op(
        name,
        op,
        vec![],
        vec![In::X("x", vec![2, 3, 4]), In::X("y", vec![4])],
        vec![(out, vec![2, 3, 4])],
    )
    .expect(|i| {
        vec![i[0]
            .iter()
            .enumerate()
            .map(|(k, &a)| f(a, i[1][k % 4]))
            .collect()]
    })
}

pub(super) fn cases() -> Vec<Case> {
    let b = |v: bool| v as u8 as f32;
    let mut cases = vec![];

    // Convolutions against first-principles references and TF.
    for (stride, dil, same) in [
        (1, 1, true),
        (2, 1, true),
        (1, 2, true),
        (2, 1, false),
        (1, 2, false),
    ] {
        let f = f32c(&[3, 3, 3, 4], 11);
        let fv = f.to_vec::<f32>().unwrap();
        let xs = [2, 7, 6, 3];
        let (oh, _) = pads(7, 3, stride, dil, same);
        let (ow, _) = pads(6, 3, stride, dil, same);
        let pad = if same { "SAME" } else { "VALID" };
        cases.push(
            one_op(
                &format!("conv2d s{stride} d{dil} {pad}"),
                Op::Conv2D,
                vec![
                    ("strides", ints(&[1, stride as i64, stride as i64, 1])),
                    ("dilations", ints(&[1, dil as i64, dil as i64, 1])),
                    ("padding", s(pad)),
                ],
                vec![In::X("x", xs.to_vec()), In::C(f)],
                vec![(DType::F32, vec![2, oh as i64, ow as i64, 4])],
            )
            .expect(|i| {
                vec![conv_ref(
                    &i[0],
                    xs,
                    &fv,
                    [3, 3, 3, 4],
                    stride,
                    dil,
                    same,
                    false,
                )]
            }),
        );
    }
    for (op, k, stride, same) in [
        (Op::MaxPool, 3, 2, true),
        (Op::MaxPool, 2, 2, false),
        (Op::AvgPool, 3, 1, true),
        (Op::AvgPool, 2, 2, false),
    ] {
        let xs = [2, 7, 6, 3];
        let (oh, _) = pads(7, k, stride, 1, same);
        let (ow, _) = pads(6, k, stride, 1, same);
        let pad = if same { "SAME" } else { "VALID" };
        let max = op == Op::MaxPool;
        cases.push(
            one_op(
                &format!("{op} k{k} s{stride} {pad}"),
                op,
                vec![
                    ("ksize", ints(&[1, k as i64, k as i64, 1])),
                    ("strides", ints(&[1, stride as i64, stride as i64, 1])),
                    ("padding", s(pad)),
                ],
                vec![In::X("x", xs.to_vec())],
                vec![(DType::F32, vec![2, oh as i64, ow as i64, 3])],
            )
            .expect(move |i| vec![pool_ref(&i[0], xs, k, stride, same, max)]),
        );
    }
    for (stride, mult, same) in [(1, 2, true), (2, 1, true), (1, 3, false)] {
        let f = f32c(&[3, 3, 3, mult], 12);
        let fv = f.to_vec::<f32>().unwrap();
        let xs = [1, 6, 5, 3];
        let (oh, _) = pads(6, 3, stride, 1, same);
        let (ow, _) = pads(5, 3, stride, 1, same);
        let pad = if same { "SAME" } else { "VALID" };
        cases.push(
            one_op(
                &format!("depthwise s{stride} m{mult} {pad}"),
                Op::DepthwiseConv2dNative,
                vec![
                    ("strides", ints(&[1, stride as i64, stride as i64, 1])),
                    ("padding", s(pad)),
                ],
                vec![In::X("x", xs.to_vec()), In::C(f)],
                vec![(DType::F32, vec![1, oh as i64, ow as i64, (3 * mult) as i64])],
            )
            .expect(|i| {
                vec![conv_ref(
                    &i[0],
                    xs,
                    &fv,
                    [3, 3, 3, mult],
                    stride,
                    1,
                    same,
                    true,
                )]
            }),
        );
    }
    for (stride, same, out_hw) in [(2, true, 8), (2, false, 9), (1, true, 4)] {
        let f = f32c(&[3, 3, 2, 5], 13);
        let fv = f.to_vec::<f32>().unwrap();
        let out = [1, out_hw, out_hw, 2];
        let (dh, _) = pads(out_hw, 3, stride, 1, same);
        let ds = [1, dh, dh, 5];
        let pad = if same { "SAME" } else { "VALID" };
        cases.push(
            one_op(
                &format!("transpose conv s{stride} {pad}"),
                Op::Conv2DBackpropInput,
                vec![("strides", ints(&[1, stride as i64, stride as i64, 1])), ("padding", s(pad))],
                vec![In::C(i32c(&out.map(|d| d as i32))), In::C(f), In::X("dy", ds.to_vec())],
                vec![(DType::F32, out.iter().map(|&d| d as i64).collect())],
            )
            .expect(|i| vec![deconv_ref(&i[0], ds, &fv, [3, 3, 2, 5], out, stride, same)])
            .tf(&format!(
                "tf.raw_ops.Conv2DBackpropInput(input_sizes={out:?}, filter=np.array(c1), out_backprop=dy, strides=[1,{stride},{stride},1], padding='{pad}')"
            )),
        );
    }
    {
        // TRANSPOSE_CONV with its (optional, version 3) bias input.
        let f = f32c(&[3, 3, 2, 5], 13);
        let fv = f.to_vec::<f32>().unwrap();
        let (out, ds) = ([1, 8, 8, 2], [1, 4, 4, 5]);
        cases.push(
            one_op(
                "transpose conv s2 SAME",
                Op::Conv2DBackpropInput,
                vec![("strides", ints(&[1, 2, 2, 1])), ("padding", s("SAME"))],
                vec![
                    In::C(i32c(&out.map(|d| d as i32))),
                    In::C(f),
                    In::X("dy", ds.to_vec()),
                ],
                vec![(DType::F32, out.iter().map(|&d| d as i64).collect())],
            )
            .expect(|i| vec![deconv_ref(&i[0], ds, &fv, [3, 3, 2, 5], out, 2, true)])
            .plus_bias(Tensor::from_vec(vec![2], vec![0.25f32, -1.5])),
        );
    }
    // The TF cross-check needs the constant filter: give the expression its values.
    for c in cases
        .iter_mut()
        .filter(|c| c.name.starts_with("transpose conv") && c.tf.is_some())
    {
        let f = f32c(&[3, 3, 2, 5], 13).to_vec::<f32>().unwrap();
        let expr = c.tf.take().unwrap();
        c.tf = Some(expr.replace(
            "np.array(c1)",
            &format!("np.array({f:?}, np.float32).reshape(3,3,2,5)"),
        ));
    }

    // Dense.
    let w = f32c(&[3, 4], 14);
    let wv = w.to_vec::<f32>().unwrap();
    cases.push(
        one_op(
            "matmul",
            Op::MatMul,
            vec![],
            vec![In::X("x", vec![2, 3]), In::C(w.clone())],
            vec![(DType::F32, vec![2, 4])],
        )
        .expect(|i| vec![matmul_ref(&i[0], &wv, 2, 3, 4)]),
    );
    let wt = Tensor::from_vec(vec![4, 3], transpose2(&wv, 3, 4));
    cases.push(
        one_op(
            "matmul transpose_b",
            Op::MatMul,
            vec![("transpose_b", Attr::Bool(true))],
            vec![In::X("x", vec![2, 3]), In::C(wt)],
            vec![(DType::F32, vec![2, 4])],
        )
        .expect(|i| vec![matmul_ref(&i[0], &wv, 2, 3, 4)]),
    );
    cases.push(
        one_op(
            "matmul transpose_a, run-time weights",
            Op::MatMul,
            vec![("transpose_a", Attr::Bool(true))],
            vec![In::X("a", vec![3, 2]), In::X("b", vec![3, 4])],
            vec![(DType::F32, vec![2, 4])],
        )
        .expect(|i| vec![matmul_ref(&transpose2(&i[0], 3, 2), &i[1], 2, 3, 4)]),
    );

    // Elementwise.
    // Relu6 on values spread over [-10, 10], so that both clamps are reached.
    let mut relu6 = one_op(
        "relu6",
        Op::Relu6,
        vec![],
        vec![In::X("x", vec![2, 3, 4])],
        vec![(DType::F32, vec![2, 3, 4])],
    );
    for v in &mut relu6.feeds[0].2 {
        *v *= 10.0;
    }
    cases.push(relu6.expect(|i| vec![i[0].iter().map(|v| v.clamp(0.0, 6.0)).collect()]));
    cases.push(
        one_op(
            "softmax",
            Op::Softmax,
            vec![],
            vec![In::X("x", vec![2, 3, 5])],
            vec![(DType::F32, vec![2, 3, 5])],
        )
        .expect(|i| {
            vec![i[0]
                .chunks(5)
                .flat_map(|row| {
                    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let e: Vec<f32> = row.iter().map(|v| (v - m).exp()).collect();
                    let sum: f32 = e.iter().sum();
                    e.into_iter().map(move |v| v / sum)
                })
                .collect()]
        }),
    );
    cases.push(binary("add", Op::AddV2, |a, b| a + b, DType::F32));
    cases.push(binary("add v1", Op::Add, |a, b| a + b, DType::F32));
    cases.push(binary("bias_add", Op::BiasAdd, |a, b| a + b, DType::F32));
    cases.push(binary("sub", Op::Sub, |a, b| a - b, DType::F32));
    cases.push(binary("mul", Op::Mul, |a, b| a * b, DType::F32));
    cases.push(binary("div", Op::RealDiv, |a, b| a / b, DType::F32));
    cases.push(binary(
        "floor_div",
        Op::FloorDiv,
        |a, b| (a / b).floor(),
        DType::F32,
    ));
    cases.push(binary("maximum", Op::Maximum, f32::max, DType::F32));
    cases.push(binary("minimum", Op::Minimum, f32::min, DType::F32));
    cases.push(binary(
        "squared_difference",
        Op::SquaredDifference,
        |a, b| (a - b) * (a - b),
        DType::F32,
    ));
    cases.push(binary(
        "greater",
        Op::Greater,
        |a, b| (a > b) as u8 as f32,
        DType::Bool,
    ));
    cases.push(binary(
        "greater_equal",
        Op::GreaterEqual,
        |a, b| (a >= b) as u8 as f32,
        DType::Bool,
    ));
    cases.push(binary(
        "less",
        Op::Less,
        |a, b| (a < b) as u8 as f32,
        DType::Bool,
    ));
    cases.push(binary(
        "less_equal",
        Op::LessEqual,
        |a, b| (a <= b) as u8 as f32,
        DType::Bool,
    ));
    cases.push(binary(
        "equal",
        Op::Equal,
        |a, b| (a == b) as u8 as f32,
        DType::Bool,
    ));
    cases.push(unary("neg", Op::Neg, |v| -v, false));
    cases.push(unary("square", Op::Square, |v| v * v, false));
    cases.push(unary("sqrt", Op::Sqrt, f32::sqrt, true));
    cases.push(unary("rsqrt", Op::Rsqrt, |v| 1.0 / v.sqrt(), true));
    cases.push(unary("exp", Op::Exp, f32::exp, false));
    cases.push(unary("tanh", Op::Tanh, f32::tanh, false));
    cases.push(unary("relu", Op::Relu, |v| v.max(0.0), false));
    cases.push(unary(
        "sigmoid",
        Op::Sigmoid,
        |v| 1.0 / (1.0 + (-v).exp()),
        false,
    ));
    cases.push(
        one_op(
            "leaky_relu",
            Op::LeakyRelu,
            vec![("alpha", Attr::Float(0.2))],
            vec![In::X("x", vec![2, 5])],
            vec![(DType::F32, vec![2, 5])],
        )
        .expect(|i| {
            vec![i[0]
                .iter()
                .map(|&v| if v < 0.0 { 0.2 * v } else { v })
                .collect()]
        }),
    );
    cases.push(
        one_op(
            "clip_by_value",
            Op::ClipByValue,
            vec![],
            vec![
                In::X("x", vec![2, 5]),
                In::C(Tensor::scalar(-0.5f32)),
                In::C(Tensor::scalar(1.0f32)),
            ],
            vec![(DType::F32, vec![2, 5])],
        )
        .expect(|i| vec![i[0].iter().map(|&v| v.clamp(-0.5, 1.0)).collect()]),
    );
    cases.push(
        one_op(
            "add_n",
            Op::AddN,
            vec![],
            vec![
                In::X("a", vec![2, 3]),
                In::X("b", vec![2, 3]),
                In::X("c", vec![2, 3]),
            ],
            vec![(DType::F32, vec![2, 3])],
        )
        .expect(|i| vec![(0..6).map(|k| i[0][k] + i[1][k] + i[2][k]).collect()]),
    );
    cases.push(
        one_op(
            "cast",
            Op::Cast,
            vec![],
            vec![In::X("x", vec![6])],
            vec![(DType::I32, vec![6])],
        )
        .expect(|i| vec![i[0].iter().map(|&v| v.trunc()).collect()]),
    );

    // Reductions (int64 axes, narrowed).
    cases.push(
        one_op(
            "mean keep_dims",
            Op::Mean,
            vec![("keep_dims", Attr::Bool(true))],
            vec![In::X("x", vec![2, 3, 4, 5]), In::C(i64c(&[1, 2]))],
            vec![(DType::F32, vec![2, 1, 1, 5])],
        )
        .tf("tf.raw_ops.Mean(input=x, axis=[1, 2], keep_dims=True)"),
    );
    cases.push(
        one_op(
            "max",
            Op::Max,
            vec![("keep_dims", Attr::Bool(false))],
            vec![In::X("x", vec![2, 3, 4]), In::C(i32c(&[-1]))],
            vec![(DType::F32, vec![2, 3])],
        )
        .expect(|i| {
            vec![i[0]
                .chunks(4)
                .map(|c| c.iter().copied().fold(f32::MIN, f32::max))
                .collect()]
        }),
    );
    cases.push(
        one_op(
            "min keep_dims",
            Op::Min,
            vec![("keep_dims", Attr::Bool(true))],
            vec![In::X("x", vec![2, 3, 4]), In::C(i64c(&[1]))],
            vec![(DType::F32, vec![2, 1, 4])],
        )
        .expect(|i| {
            vec![(0..8)
                .map(|o| {
                    (0..3)
                        .map(|j| i[0][(o / 4) * 12 + j * 4 + o % 4])
                        .fold(f32::MAX, f32::min)
                })
                .collect()]
        }),
    );
    cases.push(
        one_op(
            "prod",
            Op::Prod,
            vec![("keep_dims", Attr::Bool(false))],
            vec![In::X("x", vec![2, 3, 4]), In::C(i32c(&[2]))],
            vec![(DType::F32, vec![2, 3])],
        )
        .expect(|i| vec![i[0].chunks(4).map(|c| c.iter().product()).collect()]),
    );
    cases.push(
        one_op(
            "sum",
            Op::Sum,
            vec![("keep_dims", Attr::Bool(false))],
            vec![In::X("x", vec![2, 3, 4]), In::C(i32c(&[-1]))],
            vec![(DType::F32, vec![2, 3])],
        )
        .expect(|i| vec![i[0].chunks(4).map(|c| c.iter().sum()).collect()]),
    );

    // Shape and data movement.
    for (name, op) in [("reshape", Op::Reshape), ("expand_dims", Op::ExpandDims)] {
        let operand = if op == Op::Reshape {
            i64c(&[3, 1, 8])
        } else {
            i32c(&[1])
        };
        let out = if op == Op::Reshape {
            vec![3, 1, 8]
        } else {
            vec![4, 1, 6]
        };
        cases.push(
            one_op(
                name,
                op,
                vec![],
                vec![In::X("x", vec![4, 6]), In::C(operand)],
                vec![(DType::F32, out)],
            )
            .expect(|i| vec![i[0].clone()]),
        );
    }
    cases.push(
        one_op(
            "squeeze",
            Op::Squeeze,
            vec![("squeeze_dims", ints(&[1]))],
            vec![In::X("x", vec![4, 1, 6])],
            vec![(DType::F32, vec![4, 6])],
        )
        .expect(|i| vec![i[0].clone()]),
    );
    cases.push(
        one_op(
            "tile",
            Op::Tile,
            vec![],
            vec![In::X("x", vec![2, 3]), In::C(i64c(&[2, 2]))],
            vec![(DType::F32, vec![4, 6])],
        )
        .tf("tf.raw_ops.Tile(input=x, multiples=[2, 2])"),
    );
    cases.push(
        one_op(
            "transpose",
            Op::Transpose,
            vec![],
            vec![In::X("x", vec![2, 3, 4]), In::C(i32c(&[2, 0, 1]))],
            vec![(DType::F32, vec![4, 2, 3])],
        )
        .tf("tf.raw_ops.Transpose(x=x, perm=[2, 0, 1])"),
    );
    let ss = |name: &str,
              begin: &[i32],
              end: &[i32],
              strides: &[i32],
              masks: [i64; 5],
              out: Vec<i64>| {
        let [bm, em, el, na, sh] = masks;
        one_op(
            name,
            Op::StridedSlice,
            vec![
                ("begin_mask", Attr::Int(bm)),
                ("end_mask", Attr::Int(em)),
                ("ellipsis_mask", Attr::Int(el)),
                ("new_axis_mask", Attr::Int(na)),
                ("shrink_axis_mask", Attr::Int(sh)),
            ],
            vec![In::X("x", vec![4, 5, 6]), In::C(i32c(begin)), In::C(i32c(end)), In::C(i32c(strides))],
            vec![(DType::F32, out)],
        )
        .tf(&format!(
            "tf.raw_ops.StridedSlice(input=x, begin={begin:?}, end={end:?}, strides={strides:?}, begin_mask={bm}, end_mask={em}, ellipsis_mask={el}, new_axis_mask={na}, shrink_axis_mask={sh})"
        ))
    };
    cases.push(ss(
        "strided_slice plain",
        &[1, 0, 2],
        &[3, 5, 6],
        &[1, 2, 2],
        [0; 5],
        vec![2, 3, 2],
    ));
    cases.push(ss(
        "strided_slice begin/end masks",
        &[1, 1, 1],
        &[3, 4, 5],
        &[1, 1, 1],
        [0b101, 0b010, 0, 0, 0],
        vec![3, 4, 5],
    ));
    cases.push(ss(
        "strided_slice shrink",
        &[2, 0, 0],
        &[3, 5, 6],
        &[1, 1, 1],
        [0b110, 0b110, 0, 0, 0b001],
        vec![5, 6],
    ));
    cases.push(ss(
        "strided_slice negative stride",
        &[-1, 0, 0],
        &[0, 5, 6],
        &[-1, 1, 2],
        [0b001, 0b110, 0, 0, 0],
        vec![3, 5, 3],
    ));
    cases.push(ss(
        "strided_slice new_axis",
        &[0, 0, 0, 0],
        &[0, 4, 5, 6],
        &[1, 1, 1, 1],
        [0b1110, 0b1110, 0, 0b0001, 0],
        vec![1, 4, 5, 6],
    ));
    cases.push(ss(
        "strided_slice ellipsis",
        &[0, 1],
        &[0, 3],
        &[1, 1],
        [0, 0, 0b01, 0, 0],
        vec![4, 5, 2],
    ));
    cases.push(
        one_op(
            "slice",
            Op::Slice,
            vec![],
            vec![
                In::X("x", vec![4, 5]),
                In::C(i64c(&[1, 2])),
                In::C(i64c(&[2, -1])),
            ],
            vec![(DType::F32, vec![2, 3])],
        )
        .tf("tf.raw_ops.Slice(input=x, begin=[1, 2], size=[2, -1])"),
    );
    cases.push(
        one_op(
            "pad",
            Op::Pad,
            vec![],
            vec![
                In::X("x", vec![2, 3]),
                In::C(Tensor::from_vec(vec![2, 2], vec![1i64, 0, 2, 1])),
            ],
            vec![(DType::F32, vec![3, 6])],
        )
        .tf("tf.raw_ops.Pad(input=x, paddings=[[1, 0], [2, 1]])"),
    );
    cases.push(
        one_op(
            "concat",
            Op::ConcatV2,
            vec![],
            vec![
                In::X("a", vec![2, 3]),
                In::X("b", vec![2, 2]),
                In::C(i32c(&[-1]).reshaped(vec![]).unwrap()),
            ],
            vec![(DType::F32, vec![2, 5])],
        )
        .tf("tf.raw_ops.ConcatV2(values=[a, b], axis=-1)"),
    );
    cases.push(
        one_op(
            "pack",
            Op::Pack,
            vec![("axis", Attr::Int(1)), ("N", Attr::Int(2))],
            vec![In::X("a", vec![2, 3]), In::X("b", vec![2, 3])],
            vec![(DType::F32, vec![2, 2, 3])],
        )
        .tf("tf.raw_ops.Pack(values=[a, b], axis=1)"),
    );
    cases.push(
        one_op(
            "unpack",
            Op::Unpack,
            vec![("axis", Attr::Int(-1)), ("num", Attr::Int(3))],
            vec![In::X("x", vec![2, 3])],
            vec![
                (DType::F32, vec![2]),
                (DType::F32, vec![2]),
                (DType::F32, vec![2]),
            ],
        )
        .tf("tf.raw_ops.Unpack(value=x, num=3, axis=-1)"),
    );
    cases.push(
        one_op(
            "split",
            Op::Split,
            vec![("num_split", Attr::Int(2))],
            vec![In::C(Tensor::scalar(1i32)), In::X("x", vec![2, 4])],
            vec![(DType::F32, vec![2, 2]), (DType::F32, vec![2, 2])],
        )
        .tf("tf.raw_ops.Split(axis=1, value=x, num_split=2)"),
    );
    cases.push(
        one_op(
            "fill",
            Op::Fill,
            vec![],
            vec![In::C(i64c(&[2, 3])), In::X("v", vec![])],
            vec![(DType::F32, vec![2, 3])],
        )
        .tf("tf.raw_ops.Fill(dims=[2, 3], value=v)"),
    );
    cases.push(
        one_op(
            "broadcast_to",
            Op::BroadcastTo,
            vec![],
            vec![In::X("x", vec![3, 1]), In::C(i64c(&[2, 3, 4]))],
            vec![(DType::F32, vec![2, 3, 4])],
        )
        .tf("tf.raw_ops.BroadcastTo(input=x, shape=[2, 3, 4])"),
    );
    for (ac, hp, size) in [
        (false, false, 8),
        (false, true, 6),
        (true, false, 7),
        (false, false, 3),
    ] {
        cases.push(
            one_op(
                &format!("resize_nearest ac={ac} hp={hp} {size}"),
                Op::ResizeNearestNeighbor,
                vec![("align_corners", Attr::Bool(ac)), ("half_pixel_centers", Attr::Bool(hp))],
                vec![In::X("x", vec![1, 4, 4, 2]), In::C(i32c(&[size, size]))],
                vec![(DType::F32, vec![1, size as i64, size as i64, 2])],
            )
            .tf(&format!(
                "tf.raw_ops.ResizeNearestNeighbor(images=x, size=[{size}, {size}], align_corners={}, half_pixel_centers={})",
                if ac { "True" } else { "False" },
                if hp { "True" } else { "False" }
            )),
        );
    }
    cases.push(
        one_op(
            "depth_to_space block 2",
            Op::DepthToSpace,
            vec![
                ("block_size", Attr::Int(2)),
                ("data_format", Attr::Str("NHWC".into())),
            ],
            vec![In::X("x", vec![1, 2, 3, 8])],
            vec![(DType::F32, vec![1, 4, 6, 2])],
        )
        .tf("tf.raw_ops.DepthToSpace(input=x, block_size=2)"),
    );
    let cond = Tensor::from_vec(vec![3], vec![true, false, true]);
    cases.push(
        one_op(
            "select rows",
            Op::Select,
            vec![],
            vec![In::C(cond), In::X("t", vec![3, 2]), In::X("e", vec![3, 2])],
            vec![(DType::F32, vec![3, 2])],
        )
        .expect(|i| {
            vec![(0..6)
                .map(|k| if k / 2 != 1 { i[0][k] } else { i[1][k] })
                .collect()]
        }),
    );
    let cond = Tensor::from_vec(vec![2], vec![false, true]);
    cases.push(
        one_op(
            "select_v2 broadcast",
            Op::SelectV2,
            vec![],
            vec![In::C(cond), In::X("t", vec![3, 2]), In::X("e", vec![3, 2])],
            vec![(DType::F32, vec![3, 2])],
        )
        .expect(|i| {
            vec![(0..6)
                .map(|k| if k % 2 == 1 { i[0][k] } else { i[1][k] })
                .collect()]
        }),
    );
    cases.push(
        one_op(
            "shape",
            Op::Shape,
            vec![("out_type", Attr::Type(DType::I32))],
            vec![In::X("x", vec![2, 3, 4])],
            vec![(DType::I32, vec![3])],
        )
        .expect(|_| vec![vec![2.0, 3.0, 4.0]]),
    );
    cases.push(logical());
    cases.push(range());
    let _ = b;
    cases.extend(vision_cases());
    cases.push(fused_activations());
    cases
}

/// Activations fused into the op before them (`fused_activation_function`): a dense layer with a bias
/// and a Relu, a Relu6, a clamp to [-1, 1] after it, and a Relu after an add of two inputs.
fn fused_activations() -> Case {
    let mut g = Builder::new();
    let x = g.input("x", &[2, 3]);
    let y = g.input("y", &[2, 4]);
    let w: Vec<f32> = (0..12).map(|k| (k as f32 - 5.5) * 0.7).collect();
    let b = [0.5f32, -0.25, 0.0, 1.0];
    let mut outs = vec![];
    for (name, act) in [
        ("relu", Op::Relu),
        ("relu6", Op::Relu6),
        ("clip", Op::ClipByValue),
    ] {
        let wc = g.constant(
            &format!("{name}/w"),
            Tensor::from_vec(vec![3, 4], w.clone()),
        );
        let bc = g.constant(&format!("{name}/b"), Tensor::from_vec(vec![4], b.to_vec()));
        let m = g.op(&format!("{name}/matmul"), Op::MatMul, &[x, wc], &[]);
        let z = g.op(&format!("{name}/bias"), Op::BiasAdd, &[m, bc], &[]);
        let ins = if act == Op::ClipByValue {
            let lo = g.constant("lo", Tensor::scalar(-1f32));
            let hi = g.constant("hi", Tensor::scalar(1f32));
            vec![z, lo, hi]
        } else {
            vec![z]
        };
        outs.push(g.op(name, act, &ins, &[]));
    }
    let sum = g.op("sum", Op::AddV2, &[y, y], &[]);
    outs.push(g.op("sum_relu", Op::Relu, &[sum], &[]));
    let tests = [Op::Relu, Op::Relu6, Op::ClipByValue, Op::MatMul, Op::AddV2];
    graph_case("fused activations", &tests, g, &outs).expect(move |i| {
        let dense: Vec<f32> = matmul_ref(&i[0], &w, 2, 3, 4)
            .iter()
            .enumerate()
            .map(|(k, v)| v + b[k % 4])
            .collect();
        let act = |f: fn(f32) -> f32| dense.iter().map(|&v| f(v)).collect::<Vec<f32>>();
        vec![
            act(|v| v.max(0.0)),
            act(|v| v.clamp(0.0, 6.0)),
            act(|v| v.clamp(-1.0, 1.0)),
            i[1].iter().map(|&v| (v + v).max(0.0)).collect(),
        ]
    })
}

/// The ops of TF1 vision nets and GAN generators beyond StyleGAN's: activations, LogSoftmax, Pow,
/// ArgMax, MirrorPad, SplitV, SpaceToDepth, ResizeBilinear.
fn vision_cases() -> Vec<Case> {
    let mut cases = vec![
        unary("abs", Op::Abs, f32::abs, false),
        unary("log", Op::Log, f32::ln, true),
        unary(
            "elu",
            Op::Elu,
            |v| if v > 0.0 { v } else { v.exp_m1() },
            false,
        ),
        unary(
            "selu",
            Op::Selu,
            |v| {
                let (a, s) = (sgc_ir::op::SELU_ALPHA, sgc_ir::op::SELU_SCALE);
                let v = v as f64;
                (if v > 0.0 { s * v } else { s * a * v.exp_m1() }) as f32
            },
            false,
        ),
    ];
    // Softplus over [-60, 60): ln(1 + eˣ) must neither overflow for large x nor lose eˣ's size
    // beyond the absolute tolerance for very negative x.
    let mut softplus = unary("softplus", Op::Softplus, |v| v, false);
    for v in &mut softplus.feeds[0].2 {
        *v *= 30.0;
    }
    cases.push(softplus.expect(|i| {
        vec![i[0]
            .iter()
            .map(|&v| (v as f64).exp().ln_1p() as f32)
            .collect()]
    }));
    // Clamps to [0, 6] and [-1, 1]: RELU6 and RELU_N1_TO_1, one op each; on values over [-10, 10).
    for (lo, hi) in [(0f32, 6f32), (-1.0, 1.0)] {
        let mut clip = one_op(
            &format!("clip_by_value {lo} {hi}"),
            Op::ClipByValue,
            vec![],
            vec![
                In::X("x", vec![2, 5]),
                In::C(Tensor::scalar(lo)),
                In::C(Tensor::scalar(hi)),
            ],
            vec![(DType::F32, vec![2, 5])],
        );
        for v in &mut clip.feeds[0].2 {
            *v *= 5.0;
        }
        cases.push(clip.expect(move |i| vec![i[0].iter().map(|v| v.clamp(lo, hi)).collect()]));
    }
    // Pow of positive bases (a negative base to a fractional power is NaN in both).
    let mut pow = binary("pow", Op::Pow, f32::powf, DType::F32);
    for v in &mut pow.feeds[0].2 {
        *v = v.abs() + 0.1;
    }
    cases.push(pow.expect(|i| {
        vec![i[0]
            .iter()
            .enumerate()
            .map(|(k, &a)| a.powf(i[1][k % 4]))
            .collect()]
    }));
    cases.push(
        one_op(
            "log_softmax",
            Op::LogSoftmax,
            vec![],
            vec![In::X("x", vec![2, 3, 5])],
            vec![(DType::F32, vec![2, 3, 5])],
        )
        .tf("tf.raw_ops.LogSoftmax(logits=x)"),
    );
    for (axis, out) in [(1i32, DType::I64), (-1, DType::I32)] {
        let shape = if axis == 1 { vec![2, 4] } else { vec![2, 3] };
        cases.push(
            one_op(
                &format!("arg_max axis {axis} {out}"),
                Op::ArgMax,
                vec![("output_type", Attr::Type(out))],
                vec![
                    In::X("x", vec![2, 3, 4]),
                    In::C(Tensor::scalar(axis)),
                ],
                vec![(out, shape)],
            )
            .tf(&format!(
                "tf.cast(tf.raw_ops.ArgMax(input=x, dimension={axis}, output_type=tf.{}), tf.float32)",
                if out == DType::I64 { "int64" } else { "int32" }
            )),
        );
    }
    for mode in ["REFLECT", "SYMMETRIC"] {
        let pads = if mode == "REFLECT" {
            [1i64, 2, 2, 1]
        } else {
            [3, 0, 1, 3]
        };
        // REFLECT pads up to length − 1, SYMMETRIC up to the length (3 on an axis of 3).
        let (h, w) = (3 + pads[0] + pads[1], 4 + pads[2] + pads[3]);
        cases.push(
            one_op(
                &format!("mirror_pad {mode}"),
                Op::MirrorPad,
                vec![("mode", s(mode))],
                vec![
                    In::X("x", vec![1, 3, 4, 2]),
                    In::C(Tensor::from_vec(
                        vec![4, 2],
                        vec![0i64, 0, pads[0], pads[1], pads[2], pads[3], 0, 0],
                    )),
                ],
                vec![(DType::F32, vec![1, h, w, 2])],
            )
            .tf(&format!(
                "tf.raw_ops.MirrorPad(input=x, paddings=[[0, 0], [{}, {}], [{}, {}], [0, 0]], mode='{mode}')",
                pads[0], pads[1], pads[2], pads[3]
            )),
        );
    }
    cases.push(
        one_op(
            "split_v with -1",
            Op::SplitV,
            vec![("num_split", Attr::Int(3))],
            vec![
                In::X("x", vec![2, 7]),
                In::C(i64c(&[2, -1, 1])),
                In::C(Tensor::scalar(-1i32)),
            ],
            vec![
                (DType::F32, vec![2, 2]),
                (DType::F32, vec![2, 4]),
                (DType::F32, vec![2, 1]),
            ],
        )
        .tf("tf.raw_ops.SplitV(value=x, size_splits=[2, -1, 1], axis=-1, num_split=3)"),
    );
    cases.push(
        one_op(
            "space_to_depth block 2",
            Op::SpaceToDepth,
            vec![
                ("block_size", Attr::Int(2)),
                ("data_format", Attr::Str("NHWC".into())),
            ],
            vec![In::X("x", vec![1, 4, 6, 3])],
            vec![(DType::F32, vec![1, 2, 3, 12])],
        )
        .tf("tf.raw_ops.SpaceToDepth(input=x, block_size=2)"),
    );
    for (ac, hp, h, w) in [
        (false, false, 8, 6),
        (false, true, 8, 8),
        (true, false, 7, 5),
        (false, true, 3, 2),
    ] {
        cases.push(
            one_op(
                &format!("resize_bilinear ac={ac} hp={hp} {h}x{w}"),
                Op::ResizeBilinear,
                vec![("align_corners", Attr::Bool(ac)), ("half_pixel_centers", Attr::Bool(hp))],
                vec![In::X("x", vec![2, 4, 3, 2]), In::C(i32c(&[h, w]))],
                vec![(DType::F32, vec![2, h as i64, w as i64, 2])],
            )
            .tf(&format!(
                "tf.raw_ops.ResizeBilinear(images=x, size=[{h}, {w}], align_corners={}, half_pixel_centers={})",
                if ac { "True" } else { "False" },
                if hp { "True" } else { "False" }
            )),
        );
    }
    cases
}

/// LogicalAnd, LogicalOr and LogicalNot on the bool results of comparisons of two float inputs.
fn logical() -> Case {
    let mut g = Builder::new();
    let x = g.input("x", &[2, 3, 4]);
    let y = g.input("y", &[2, 3, 4]);
    let zero = g.constant("zero", Tensor::scalar(0f32));
    let half = g.constant("half", Tensor::scalar(0.5f32));
    let p = g.op("p", Op::Greater, &[x, zero], &[]);
    let q = g.op("q", Op::Less, &[y, half], &[]);
    let and = g.op("and", Op::LogicalAnd, &[p, q], &[]);
    let or = g.op("or", Op::LogicalOr, &[p, q], &[]);
    let not = g.op("not", Op::LogicalNot, &[p], &[]);
    let ops = [Op::LogicalAnd, Op::LogicalOr, Op::LogicalNot];
    graph_case("logical and/or/not", &ops, g, &[and, or, not]).expect(|i| {
        let b = |v: bool| v as u8 as f32;
        let (p, q): (Vec<bool>, Vec<bool>) = (
            i[0].iter().map(|&v| v > 0.0).collect(),
            i[1].iter().map(|&v| v < 0.5).collect(),
        );
        vec![
            (0..24).map(|k| b(p[k] && q[k])).collect(),
            (0..24).map(|k| b(p[k] || q[k])).collect(),
            (0..24).map(|k| b(!p[k])).collect(),
        ]
    })
}

/// A float Range (its operands are constants) added to an input, so that the model has one.
fn range() -> Case {
    let mut g = Builder::new();
    let x = g.input("x", &[5]);
    let start = g.constant("start", Tensor::scalar(0.5f32));
    let limit = g.constant("limit", Tensor::scalar(3.0f32));
    let delta = g.constant("delta", Tensor::scalar(0.5f32));
    let r = g.op("range", Op::Range, &[start, limit, delta], &[]);
    let y = g.op("y", Op::AddV2, &[r, x], &[]);
    graph_case("range", &[Op::Range], g, &[y])
        .expect(|i| vec![(0..5).map(|k| i[0][k] + 0.5 * (k + 1) as f32).collect()])
}
