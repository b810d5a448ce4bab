//! One-op models written by sgc and run in the real LiteRT interpreter.
//!
//! Each case builds a tiny IR graph, writes it, and runs it (all cases in one Python process, see
//! `litert_batch.py`) through the `serving_default` signature. Every case's outputs are compared with
//! a reference: either computed here from first principles (convolutions, dense, elementwise math,
//! pure data movement) or TensorFlow's own kernel for the same op and attributes (`tf.raw_ops.*`).
//!
//! TensorFlow is not in the test venv, so its outputs are stored in `litert_ops_tf_refs.json` (keyed
//! by case name; a fingerprint of the expression and the inputs marks a stale entry). Every case with a
//! TensorFlow expression is compared with its stored reference; when TensorFlow happens to be
//! importable it is also evaluated afresh and must agree with the stored one. A case with neither
//! reference, or a stale or missing stored one, fails the test. Inputs are deterministic (`data`), so
//! the stored references stay valid. After adding or changing such a case, regenerate the file with
//! a Python that has TensorFlow and `ai_edge_litert`:
//!
//! ```text
//! SGC_PYTHON=/path/to/venv-with-tf/bin/python SGC_REGENERATE_TF_REFS=1 \
//!     cargo test -p sgc-backends --test litert_ops
//! ```
//!
//! The Python comes from `SGC_PYTHON` (exported by `tools/test.sh`), else the repository's
//! `.venv/bin/python` (created by `tools/test.sh`). Without a Python that has `ai_edge_litert` the
//! tests fail: run them through `tools/test.sh`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use sgc_backends::write_tflite;
use sgc_ir::{Attr, DType, Graph, Node, Op, Output, Tensor, ValueInfo};

/// The stored TensorFlow references (see the module doc).
const TF_REFS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/litert_ops_tf_refs.json");

/// The Python with `ai_edge_litert` that runs the models; panics (failing the test) without one.
fn python() -> PathBuf {
    let (p, from) = match std::env::var_os("SGC_PYTHON") {
        Some(p) => (PathBuf::from(p), "SGC_PYTHON"),
        None => (
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/python")),
            "SGC_PYTHON not set; the repository's .venv",
        ),
    };
    let ok = Command::new(&p)
        .args(["-c", "import ai_edge_litert.interpreter, numpy"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "no Python with ai_edge_litert and numpy at {} ({from}): run the tests through tools/test.sh, \
         which creates .venv and exports SGC_PYTHON",
        p.display()
    );
    p
}

/// A deterministic input in [-2, 2) (exactly twice the shared LCG's values: stored references are
/// fingerprinted over them).
fn data(n: usize, seed: u64) -> Vec<f32> {
    sgc_ir::testing::uniform(n, seed)
        .into_iter()
        .map(|v| v * 2.0)
        .collect()
}

enum In {
    /// A float32 graph input of this shape.
    X(&'static str, Vec<usize>),
    /// A constant operand.
    C(Tensor),
}

struct Case {
    name: String,
    graph: Graph,
    feeds: Vec<(String, Vec<usize>, Vec<f32>)>,
    outputs: Vec<String>,
    tf: Option<String>,
    expect: Option<Vec<Vec<f32>>>,
    tol: f32,
}

/// A graph of one node `op` over `inputs`, with outputs typed `outs`.
fn one_op(
    name: &str,
    op: Op,
    attrs: Vec<(&str, Attr)>,
    inputs: Vec<In>,
    outs: Vec<(DType, Vec<i64>)>,
) -> Case {
    let mut g = Graph::new();
    let mut node = Node::new("op", op);
    for (k, v) in attrs {
        node.attrs.set(k, v);
    }
    node.outputs = outs
        .iter()
        .map(|(d, s)| ValueInfo::new(*d, s.clone()))
        .collect();
    let n = g.add(node);
    let mut feeds = Vec::new();
    for (slot, i) in inputs.into_iter().enumerate() {
        let v = match i {
            In::X(xname, shape) => {
                let x = g.add(Node::new(xname, Op::Placeholder));
                g.node_mut(x).outputs = vec![ValueInfo::new(
                    DType::F32,
                    shape.iter().map(|&d| d as i64).collect(),
                )];
                g.inputs.push(x);
                let numel = shape.iter().product();
                feeds.push((xname.to_string(), shape, data(numel, slot as u64 + 1)));
                x
            }
            In::C(t) => g.add_const(format!("c{slot}"), t),
        };
        g.connect(v.into(), n, slot);
    }
    let mut outputs = Vec::new();
    for port in 0..outs.len() {
        let oname = format!("out{port}");
        g.outputs.push(Output {
            name: oname.clone(),
            value: sgc_ir::ValueRef::new(n, port),
        });
        outputs.push(oname);
    }
    Case {
        name: name.to_string(),
        graph: g,
        feeds,
        outputs,
        tf: None,
        expect: None,
        tol: 1e-4,
    }
}

impl Case {
    /// Adds a per-channel constant to the op's first output (which the backend fuses into the op's bias
    /// input where TFLite has one); the expectation, computed without it, gets it added too.
    fn plus_bias(mut self, bias: Tensor) -> Self {
        let g = &mut self.graph;
        let op = g.outputs[0].value;
        let info = g.info(op).clone();
        let b = g.add_const("bias", bias.clone());
        let add = g.add(Node::new("bias_add", Op::AddV2));
        g.connect(op, add, 0);
        g.connect(b.into(), add, 1);
        g.node_mut(add).outputs = vec![info];
        g.outputs[0].value = add.into();
        let bias = bias.to_vec::<f32>().unwrap();
        if let Some(out) = self.expect.as_mut().and_then(|e| e.first_mut()) {
            for (k, v) in out.iter_mut().enumerate() {
                *v += bias[k % bias.len()];
            }
        }
        self.name += " + bias";
        self.tf = None;
        self
    }

    fn tf(mut self, expr: &str) -> Self {
        self.tf = Some(expr.to_string());
        self
    }
    fn expect(mut self, f: impl FnOnce(&[Vec<f32>]) -> Vec<Vec<f32>>) -> Self {
        let ins: Vec<Vec<f32>> = self.feeds.iter().map(|f| f.2.clone()).collect();
        self.expect = Some(f(&ins));
        self
    }
}

fn f32c(shape: &[usize], seed: u64) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_vec(shape.to_vec(), data(n, seed))
}

fn i32c(v: &[i32]) -> Tensor {
    Tensor::from_vec(vec![v.len()], v.to_vec())
}

fn i64c(v: &[i64]) -> Tensor {
    Tensor::from_vec(vec![v.len()], v.to_vec())
}

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

fn cases() -> Vec<Case> {
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
    cases.push(binary("add", Op::AddV2, |a, b| a + b, DType::F32));
    cases.push(binary("add v1", Op::Add, |a, b| a + b, DType::F32));
    cases.push(binary("bias_add", Op::BiasAdd, |a, b| a + b, DType::F32));
    cases.push(binary("sub", Op::Sub, |a, b| a - b, DType::F32));
    cases.push(binary("mul", Op::Mul, |a, b| a * b, DType::F32));
    cases.push(binary("div", Op::RealDiv, |a, b| a / b, DType::F32));
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
    let _ = b;
    cases
}

/// An output as `(shape, values)`.
type Out = (Vec<usize>, Vec<f32>);

fn to_out(v: &serde_json::Value) -> Out {
    let shape = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_f64().unwrap() as f32)
        .collect();
    (shape, data)
}

/// A stored TensorFlow reference: the outputs of a case's expression on its inputs.
struct TfRef {
    fingerprint: String,
    outputs: Vec<Out>,
}

/// FNV-1a over a case's TensorFlow expression and its inputs (names, shapes, values): a stored
/// reference with another fingerprint was computed for something else and is stale.
fn fingerprint(c: &Case) -> String {
    let mut h = 0xcbf29ce484222325u64;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h = (h ^ b as u64).wrapping_mul(0x100000001b3);
        }
    };
    eat(c.tf.as_deref().unwrap_or("").as_bytes());
    for (name, shape, data) in &c.feeds {
        eat(b"\0");
        eat(name.as_bytes());
        for d in shape {
            eat(&(*d as u64).to_le_bytes());
        }
        for v in data {
            eat(&v.to_bits().to_le_bytes());
        }
    }
    format!("{h:016x}")
}

fn load_tf_refs() -> BTreeMap<String, TfRef> {
    let text = match std::fs::read_to_string(TF_REFS) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return BTreeMap::new(),
        Err(e) => panic!("{TF_REFS}: {e}"),
    };
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{TF_REFS}: {e}"));
    v["cases"]
        .as_object()
        .unwrap_or_else(|| panic!("{TF_REFS}: no \"cases\" object"))
        .iter()
        .map(|(name, r)| {
            let r = TfRef {
                fingerprint: r["fingerprint"].as_str().unwrap().to_string(),
                outputs: r["outputs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(to_out)
                    .collect(),
            };
            (name.clone(), r)
        })
        .collect()
}

/// Writes the references one case per line (small diffs), values as float32.
fn write_tf_refs(refs: &BTreeMap<String, TfRef>, tf_version: &str) {
    let mut text = String::from("{\n");
    text += "\"about\": \"TensorFlow's outputs for the cases of backends/tests/litert_ops.rs; regenerate with SGC_REGENERATE_TF_REFS=1 (see its module doc)\",\n";
    text += &format!("\"tensorflow\": {},\n", serde_json::json!(tf_version));
    text += "\"cases\": {\n";
    let n = refs.len();
    for (i, (name, r)) in refs.iter().enumerate() {
        // `Vec<f32>` serializes each value as its shortest float32 form.
        let outputs: Vec<String> = r
            .outputs
            .iter()
            .map(|(s, d)| {
                format!(
                    "{{\"shape\":{},\"data\":{}}}",
                    serde_json::to_string(s).unwrap(),
                    serde_json::to_string(d).unwrap()
                )
            })
            .collect();
        text += &format!(
            "{}: {{\"fingerprint\":\"{}\",\"outputs\":[{}]}}{}\n",
            serde_json::json!(name),
            r.fingerprint,
            outputs.join(","),
            if i + 1 < n { "," } else { "" }
        );
    }
    text += "}\n}\n";
    std::fs::write(TF_REFS, text).unwrap_or_else(|e| panic!("{TF_REFS}: {e}"));
}

/// Compares `got` with `want` output by output (shapes too, when `want_shapes` is given): the worst
/// `|a - b| / (1 + |b|)` must be within `tol`.
fn check(
    failures: &mut Vec<String>,
    case: &str,
    what: &str,
    got: &[Out],
    want: &[Vec<f32>],
    want_shapes: Option<&[Vec<usize>]>,
    tol: f32,
) {
    if got.len() != want.len() {
        failures.push(format!(
            "{case}: {} outputs, {what} has {}",
            got.len(),
            want.len()
        ));
        return;
    }
    for (k, ((shape, got), exp)) in got.iter().zip(want).enumerate() {
        if let Some(s) = want_shapes {
            if s[k] != *shape {
                failures.push(format!(
                    "{case}: output {k} shape {shape:?}, {what} {:?}",
                    s[k]
                ));
            }
        }
        if exp.len() != got.len() {
            failures.push(format!(
                "{case}: output {k} has {} values, {what} {}",
                got.len(),
                exp.len()
            ));
            continue;
        }
        let worst = got
            .iter()
            .zip(exp)
            .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
            .fold(0f32, |m, e| {
                if m.is_nan() || e.is_nan() {
                    f32::NAN
                } else {
                    m.max(e)
                }
            });
        // A NaN on either side is a mismatch (`f32::max` alone would drop it).
        if worst.is_nan() || worst > tol {
            failures.push(format!("{case}: output {k} differs from {what} by {worst}"));
        }
    }
}

#[test]
fn one_op_models_run_in_litert() {
    let py = python();
    let regenerate =
        std::env::var("SGC_REGENERATE_TF_REFS").is_ok_and(|v| !v.is_empty() && v != "0");
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    let mut names = std::collections::BTreeSet::new();
    for c in &cases {
        assert!(names.insert(&c.name), "two cases named {:?}", c.name);
    }
    let mut manifest = vec![];
    for (i, c) in cases.iter().enumerate() {
        let bytes = write_tflite(&c.graph).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let path = dir.path().join(format!("case{i}.tflite"));
        std::fs::write(&path, bytes).unwrap();
        let inputs: serde_json::Map<String, serde_json::Value> = c
            .feeds
            .iter()
            .map(|(n, s, d)| (n.clone(), serde_json::json!({"shape": s, "data": d})))
            .collect();
        manifest.push(serde_json::json!({
            "model": path, "inputs": inputs, "outputs": c.outputs, "tf": c.tf,
        }));
    }
    let mpath = dir.path().join("manifest.json");
    let rpath = dir.path().join("result.json");
    std::fs::write(&mpath, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/litert_batch.py");
    let st = Command::new(&py)
        .arg(script)
        .arg(&mpath)
        .arg(&rpath)
        .status()
        .unwrap();
    assert!(st.success(), "litert_batch.py failed");
    let result: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&rpath).unwrap()).unwrap();
    let tf_version = result["tensorflow"].as_str();
    let results = result["cases"].as_array().unwrap();
    assert_eq!(results.len(), cases.len());
    if regenerate {
        assert!(
            tf_version.is_some(),
            "SGC_REGENERATE_TF_REFS needs TensorFlow, which {} cannot import",
            py.display()
        );
    }

    let stored = if regenerate {
        BTreeMap::new()
    } else {
        load_tf_refs()
    };
    let mut fresh_refs = BTreeMap::new();
    let mut failures = vec![];
    let (mut tf_cases, mut rust_checked, mut stored_checked, mut fresh_checked) = (0, 0, 0, 0);
    for (c, r) in cases.iter().zip(results) {
        if c.expect.is_none() && c.tf.is_none() {
            failures.push(format!(
                "{}: no reference (neither a Rust-computed expectation nor a TensorFlow expression)",
                c.name
            ));
        }
        // TensorFlow's outputs, fresh (when it imports) and stored.
        let mut tf_ref: Option<Vec<Out>> = None;
        if c.tf.is_some() {
            tf_cases += 1;
            let fp = fingerprint(c);
            if let Some(e) = r["tf_error"].as_str() {
                failures.push(format!("{}: TensorFlow error: {e}", c.name));
            }
            let fresh: Option<Vec<Out>> =
                r["tf"].as_array().map(|a| a.iter().map(to_out).collect());
            if regenerate {
                if let Some(f) = &fresh {
                    let entry = TfRef {
                        fingerprint: fp,
                        outputs: f.clone(),
                    };
                    fresh_refs.insert(c.name.clone(), entry);
                    tf_ref = fresh;
                }
            } else {
                match stored.get(&c.name) {
                    None => failures.push(format!(
                        "{}: no stored TensorFlow reference in {TF_REFS} (regenerate: see the module doc)",
                        c.name
                    )),
                    Some(s) if s.fingerprint != fp => failures.push(format!(
                        "{}: stored TensorFlow reference is stale (expression or inputs changed; regenerate: see the module doc)",
                        c.name
                    )),
                    Some(s) => {
                        if let Some(f) = &fresh {
                            let (shapes, vals): (Vec<_>, Vec<_>) = s.outputs.iter().cloned().unzip();
                            check(
                                &mut failures,
                                &c.name,
                                "stored TensorFlow reference (fresh TensorFlow run)",
                                f,
                                &vals,
                                Some(&shapes),
                                1e-5,
                            );
                            fresh_checked += 1;
                        }
                        tf_ref = Some(s.outputs.clone());
                    }
                }
            }
        }

        if let Some(e) = r["error"].as_str() {
            failures.push(format!("{}: LiteRT error: {e}", c.name));
            continue;
        }
        let outs: Vec<Out> = r["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(to_out)
            .collect();
        for (k, (shape, _)) in outs.iter().enumerate() {
            let declared: Vec<usize> = c
                .graph
                .info(c.graph.outputs[k].value)
                .static_shape()
                .unwrap();
            if *shape != declared {
                failures.push(format!(
                    "{}: output {k} shape {shape:?}, declared {declared:?}",
                    c.name
                ));
            }
        }
        if let Some(exp) = &c.expect {
            check(&mut failures, &c.name, "reference", &outs, exp, None, c.tol);
            rust_checked += 1;
        }
        if let Some(t) = tf_ref {
            let (shapes, vals): (Vec<_>, Vec<_>) = t.into_iter().unzip();
            let what = if regenerate {
                "TensorFlow"
            } else {
                "stored TensorFlow reference"
            };
            check(
                &mut failures,
                &c.name,
                what,
                &outs,
                &vals,
                Some(&shapes),
                c.tol,
            );
            stored_checked += 1;
        }
    }
    for name in stored.keys() {
        if !names.contains(name) {
            failures.push(format!(
                "{name}: stored TensorFlow reference for no case (regenerate: see the module doc)"
            ));
        }
    }
    if regenerate {
        if fresh_refs.len() == tf_cases {
            write_tf_refs(&fresh_refs, tf_version.unwrap());
            eprintln!(
                "wrote {} TensorFlow references to {TF_REFS}",
                fresh_refs.len()
            );
        } else {
            failures.push(format!(
                "TensorFlow evaluated {} of {tf_cases} cases: {TF_REFS} not written",
                fresh_refs.len()
            ));
        }
    }
    let tf_note = match (regenerate, tf_version) {
        (true, Some(v)) => format!("fresh TensorFlow {v} outputs (regenerating)"),
        (false, Some(v)) => format!(
            "stored TensorFlow references ({fresh_checked} of those also rerun in TensorFlow {v})"
        ),
        (_, None) => "stored TensorFlow references (TensorFlow not importable: not rerun)".into(),
    };
    eprintln!(
        "{} cases: {rust_checked} compared with Rust-computed references, \
         {stored_checked} of {tf_cases} with {tf_note}",
        cases.len(),
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn random_standard_normal_runs_in_litert() {
    let py = python();
    let mut c = one_op(
        "random",
        Op::RandomStandardNormal,
        vec![
            ("seed", Attr::Int(1)),
            ("seed2", Attr::Int(2)),
            ("dtype", Attr::Type(DType::F32)),
        ],
        vec![In::C(i64c(&[100, 100]))],
        vec![(DType::F32, vec![100, 100])],
    );
    c.feeds.clear();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("random.tflite");
    std::fs::write(&path, write_tflite(&c.graph).unwrap()).unwrap();
    let code = format!(
        "from ai_edge_litert.interpreter import Interpreter\nimport numpy as np\n\
         r = Interpreter(model_path={:?}).get_signature_runner('serving_default')()['out0']\n\
         print(r.shape[0], r.shape[1], float(r.mean()), float(r.std()))",
        path.to_str().unwrap()
    );
    let out = Command::new(&py).args(["-c", &code]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let v: Vec<f64> = text
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!((v[0], v[1]), (100.0, 100.0));
    assert!(
        v[2].abs() < 0.05 && (v[3] - 1.0).abs() < 0.05,
        "mean {} std {}",
        v[2],
        v[3]
    );
}

#[test]
fn constant_and_aliased_outputs_run_in_litert() {
    let py = python();
    // y = x + c through an Identity; c itself is a second output.
    let mut case = one_op(
        "add",
        Op::AddV2,
        vec![],
        vec![
            In::X("x", vec![3]),
            In::C(Tensor::from_vec(vec![3], vec![1.0f32, 2.0, 3.0])),
        ],
        vec![(DType::F32, vec![3])],
    );
    let g = &mut case.graph;
    let add = g.find("op").unwrap();
    let id = g.add(Node::new("y", Op::Identity));
    g.node_mut(id).outputs = vec![ValueInfo::new(DType::F32, vec![3])];
    g.connect(add.into(), id, 0);
    g.outputs[0].value = id.into();
    let c = g.find("c1").unwrap();
    g.outputs.push(Output {
        name: "const_out".into(),
        value: c.into(),
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.tflite");
    std::fs::write(&path, write_tflite(&case.graph).unwrap()).unwrap();
    let code = format!(
        "from ai_edge_litert.interpreter import Interpreter\nimport numpy as np\n\
         r = Interpreter(model_path={:?}).get_signature_runner('serving_default')(x=np.array([1, 1, 1], np.float32))\n\
         print(*r['out0'], *r['const_out'])",
        path.to_str().unwrap()
    );
    let out = Command::new(&py).args(["-c", &code]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Vec<f32> = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(v, vec![2.0, 3.0, 4.0, 1.0, 2.0, 3.0]);
}
