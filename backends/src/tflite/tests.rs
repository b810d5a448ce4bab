//! Hand-built graphs written and read back.

use sgc_ir::{Attr, DType, Graph, Node, NodeIndex, Op, Output, Tensor, ValueInfo};

use super::lower::transpose_bytes;
use super::reader::{read_model, ModelInfo};
use super::schema::{builtin, opt, tensor_type};
use super::{write_tflite, BackendError, MIN_RUNTIME_VERSION};

fn typed(g: &mut Graph, n: NodeIndex, dtype: DType, shape: &[i64]) {
    g.node_mut(n).outputs = vec![ValueInfo::new(dtype, shape.to_vec())];
}

fn placeholder(g: &mut Graph, name: &str, shape: &[i64]) -> NodeIndex {
    let x = g.add(Node::new(name, Op::Placeholder).with_attr("dtype", Attr::Type(DType::F32)));
    typed(g, x, DType::F32, shape);
    g.inputs.push(x);
    x
}

fn output(g: &mut Graph, name: &str, n: NodeIndex) {
    g.outputs.push(Output {
        name: name.into(),
        value: n.into(),
    });
}

fn iota(shape: &[usize]) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_vec(shape.to_vec(), (0..n).map(|i| i as f32).collect())
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn i32s(bytes: &[u8]) -> Vec<i32> {
    bytes
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// x[1,5,5,2] → Conv2D(HWIO [3,3,2,4], SAME, stride 2) → "y".
fn conv_graph() -> Graph {
    let mut g = Graph::new();
    let x = placeholder(&mut g, "x", &[1, 5, 5, 2]);
    let f = g.add_const("w", iota(&[3, 3, 2, 4]));
    let c = g.add(
        Node::new("conv", Op::Conv2D)
            .with_attr("strides", Attr::Ints(vec![1, 2, 2, 1]))
            .with_attr("padding", Attr::Str("SAME".into()))
            .with_attr("data_format", Attr::Str("NHWC".into())),
    );
    g.connect(x.into(), c, 0);
    g.connect(f.into(), c, 1);
    typed(&mut g, c, DType::F32, &[1, 3, 3, 4]);
    let y = g.add(Node::new("y", Op::Identity));
    g.connect(c.into(), y, 0);
    typed(&mut g, y, DType::F32, &[1, 3, 3, 4]);
    output(&mut g, "y", y);
    g
}

fn write_read(g: &Graph) -> (Vec<u8>, ModelInfo) {
    let bytes = write_tflite(g).unwrap();
    let m = read_model(&bytes).unwrap();
    assert_eq!(m.check(), Vec::<String>::new());
    (bytes, m)
}

fn tensor_index(m: &ModelInfo, name: &str) -> usize {
    m.subgraphs[0]
        .tensors
        .iter()
        .position(|t| t.name == name)
        .unwrap_or_else(|| panic!("no tensor {name}"))
}

#[test]
fn conv_model_has_the_tflite_layout() {
    let (bytes, m) = write_read(&conv_graph());
    assert_eq!(&bytes[4..8], b"TFL3");
    assert_eq!(m.version, 3);
    assert_eq!(
        m.op_histogram().into_iter().collect::<Vec<_>>(),
        vec![("CONV_2D".to_string(), 1)]
    );
    let sg = &m.subgraphs[0];
    let op = &sg.operators[0];
    assert_eq!(op.inputs.len(), 3);
    let [x, w, b] = [op.inputs[0], op.inputs[1], op.inputs[2]].map(|i| &sg.tensors[i as usize]);
    assert_eq!(
        (x.name.as_str(), x.shape.as_slice()),
        ("x", &[1, 5, 5, 2][..])
    );
    assert_eq!(w.shape, vec![4, 3, 3, 2]);
    assert_eq!(b.shape, vec![4]);
    assert_eq!(x.buffer, 0, "activations use the sentinel buffer");
    // OHWI: w[o,h,w,i] == hwio[h,w,i,o] == ((h*3 + w)*2 + i)*4 + o.
    let data = f32s(m.tensor_data(&bytes, op.inputs[1] as usize));
    for o in 0..4 {
        for h in 0..3 {
            for ww in 0..3 {
                for i in 0..2 {
                    let got = data[((o * 3 + h) * 3 + ww) * 2 + i];
                    assert_eq!(got, (((h * 3 + ww) * 2 + i) * 4 + o) as f32);
                }
            }
        }
    }
    assert!(f32s(m.tensor_data(&bytes, op.inputs[2] as usize))
        .iter()
        .all(|&v| v == 0.0));
    assert_eq!(m.option::<i32>(&bytes, 0, opt::CONV_STRIDE_H, 0), 2);
    assert_eq!(m.option::<i32>(&bytes, 0, opt::CONV_STRIDE_W, 0), 2);
    assert_eq!(m.option::<i8>(&bytes, 0, opt::CONV_PADDING, -1), 0);
    // The output is the conv's tensor (Identity is an alias); the signature uses the graph's names.
    assert_eq!(sg.outputs, vec![op.outputs[0]]);
    assert_eq!(sg.tensors[op.outputs[0] as usize].name, "conv");
    let sig = &m.signatures[0];
    assert_eq!(sig.key.as_deref(), Some("serving_default"));
    assert_eq!(sig.inputs, vec![("x".to_string(), op.inputs[0] as u32)]);
    assert_eq!(sig.outputs, vec![("y".to_string(), op.outputs[0] as u32)]);
    // Metadata: a 16-byte zero-padded version string.
    let (name, buf) = &m.metadata[0];
    assert_eq!(name, "min_runtime_version");
    let v = m.buffer_data(&bytes, *buf as usize);
    assert_eq!(v.len(), 16);
    assert_eq!(
        &v[..MIN_RUNTIME_VERSION.len()],
        MIN_RUNTIME_VERSION.as_bytes()
    );
    assert!(v[MIN_RUNTIME_VERSION.len()..].iter().all(|&b| b == 0));
}

#[test]
fn every_buffer_is_16_byte_aligned_and_output_is_deterministic() {
    let mut g = conv_graph();
    // Constants of awkward sizes, to shift the alignment between buffers.
    for (i, n) in [1usize, 3, 5, 7, 13].into_iter().enumerate() {
        let c = g.add_const(format!("c{i}"), Tensor::from_vec(vec![n], vec![1u8; n]));
        output(&mut g, &format!("c{i}"), c);
    }
    let (bytes, m) = write_read(&g);
    let mut with_data = 0;
    for b in &m.buffers {
        if let Some(r) = &b.data {
            assert_eq!(r.start % 16, 0, "{r:?}");
            with_data += 1;
        }
    }
    assert_eq!(
        with_data,
        2 + 5 + 1,
        "filter, bias, five constants, metadata"
    );
    assert!(m.buffers[0].data.is_none());
    assert_eq!(bytes, write_tflite(&g).unwrap());
    assert_eq!(bytes, write_tflite(&g.clone()).unwrap());
}

#[test]
fn unknown_ops_and_nchw_convs_are_errors_naming_the_node() {
    let mut g = Graph::new();
    let x = placeholder(&mut g, "x", &[2]);
    // Ops unknown to sgc become custom ops (see `custom_tests`); known ones without a lowering do not.
    let f = g.add(Node::new("f", Op::Assign));
    g.connect(x.into(), f, 0);
    typed(&mut g, f, DType::F32, &[2]);
    output(&mut g, "f", f);
    let err = write_tflite(&g).unwrap_err();
    assert_eq!(err.to_string(), "node 'f' (op Assign): no TFLite lowering");

    let mut g = conv_graph();
    let c = g.find("conv").unwrap();
    g.node_mut(c)
        .attrs
        .set("data_format", Attr::Str("NCHW".into()));
    match write_tflite(&g).unwrap_err() {
        BackendError::Node { node, op, reason } => {
            assert_eq!((node.as_str(), op.as_str()), ("conv", "Conv2D"));
            assert!(reason.contains("NCHW"), "{reason}");
        }
        e => panic!("{e}"),
    }
}

#[test]
fn missing_static_shapes_are_errors() {
    let mut g = conv_graph();
    let c = g.find("conv").unwrap();
    typed(&mut g, c, DType::F32, &[-1, 3, 3, 4]);
    let err = write_tflite(&g).unwrap_err().to_string();
    assert!(
        err.contains("'conv'") && err.contains("static shape"),
        "{err}"
    );
}

#[test]
fn dead_nodes_are_not_lowered() {
    let mut g = conv_graph();
    let x = g.find("x").unwrap();
    let dead = g.add(Node::new("dead", Op::Other("Frobnicate".into())));
    g.connect(x.into(), dead, 0);
    write_read(&g);
}

#[test]
fn large_op_codes_put_127_in_the_deprecated_byte() {
    let mut g = Graph::new();
    let shape = g.add_const("shape", Tensor::from_vec(vec![2], vec![2i64, 3]));
    let r = g.add(
        Node::new("noise", Op::RandomStandardNormal)
            .with_attr("seed", Attr::Int(7))
            .with_attr("seed2", Attr::Int(9)),
    );
    g.connect(shape.into(), r, 0);
    typed(&mut g, r, DType::F32, &[2, 3]);
    output(&mut g, "noise", r);
    let (bytes, m) = write_read(&g);
    let code = &m.operator_codes[0];
    assert_eq!(
        (code.deprecated_builtin_code, code.builtin_code),
        (127, builtin::RANDOM_STANDARD_NORMAL)
    );
    assert_eq!(
        m.op_histogram().keys().collect::<Vec<_>>(),
        vec!["RANDOM_STANDARD_NORMAL"]
    );
    assert_eq!(m.option::<i64>(&bytes, 0, opt::RANDOM_SEED, 0), 7);
    assert_eq!(m.option::<i64>(&bytes, 0, opt::RANDOM_SEED2, 0), 9);
    // The int64 shape operand is narrowed to int32.
    let sg = &m.subgraphs[0];
    let s = &sg.tensors[sg.operators[0].inputs[0] as usize];
    assert_eq!(s.tensor_type, tensor_type::INT32);
    assert_eq!(
        i32s(m.tensor_data(&bytes, sg.operators[0].inputs[0] as usize)),
        vec![2, 3]
    );
}

#[test]
fn clip_is_two_ops_and_row_select_reshapes_its_condition() {
    let mut g = Graph::new();
    let x = placeholder(&mut g, "x", &[3, 2]);
    // Not [-1, 1] or [0, 6], which are one op (RELU_N1_TO_1, RELU6).
    let lo = g.add_const("lo", Tensor::scalar(-0.5f32));
    let hi = g.add_const("hi", Tensor::scalar(1.0f32));
    let clip = g.add(Node::new("clip", Op::ClipByValue));
    for (i, v) in [x, lo, hi].into_iter().enumerate() {
        g.connect(v.into(), clip, i);
    }
    typed(&mut g, clip, DType::F32, &[3, 2]);
    let cond = g.add_const("cond", Tensor::from_vec(vec![3], vec![true, false, true]));
    let sel = g.add(Node::new("sel", Op::Select));
    for (i, v) in [cond, clip, x].into_iter().enumerate() {
        g.connect(v.into(), sel, i);
    }
    typed(&mut g, sel, DType::F32, &[3, 2]);
    output(&mut g, "out", sel);
    let (_, m) = write_read(&g);
    let ops: Vec<i32> = (0..3).map(|i| m.op_code(i)).collect();
    assert_eq!(
        ops,
        vec![builtin::MINIMUM, builtin::MAXIMUM, builtin::SELECT_V2]
    );
    let sg = &m.subgraphs[0];
    let c = &sg.tensors[sg.operators[2].inputs[0] as usize];
    assert_eq!(
        (c.tensor_type, c.shape.as_slice()),
        (tensor_type::BOOL, &[3, 1][..])
    );
}

/// `mm = x @ w`: x a `[rows, 3]` input, w the constant `iota([3, 4])`.
fn matmul(g: &mut Graph, rows: i64) -> NodeIndex {
    let x = placeholder(g, "x", &[rows, 3]);
    let w = g.add_const("w", iota(&[3, 4]));
    let mm = g.add(Node::new("mm", Op::MatMul));
    g.connect(x.into(), mm, 0);
    g.connect(w.into(), mm, 1);
    typed(g, mm, DType::F32, &[rows, 4]);
    mm
}

#[test]
fn matmul_weights_are_out_by_in_and_reshape_gets_its_shape() {
    let mut g = Graph::new();
    let mm = matmul(&mut g, 2);
    let shape = g.add_const("s", Tensor::from_vec(vec![2], vec![4i64, 2]));
    let r = g.add(Node::new("r", Op::Reshape));
    g.connect(mm.into(), r, 0);
    g.connect(shape.into(), r, 1);
    typed(&mut g, r, DType::F32, &[4, 2]);
    output(&mut g, "r", r);
    let (bytes, m) = write_read(&g);
    assert_eq!(m.op_code(0), builtin::FULLY_CONNECTED);
    let sg = &m.subgraphs[0];
    let fc = &sg.operators[0];
    assert_eq!(fc.inputs[2], -1, "no bias");
    assert_eq!(sg.tensors[fc.inputs[1] as usize].shape, vec![4, 3]);
    let wt = f32s(m.tensor_data(&bytes, fc.inputs[1] as usize));
    assert_eq!(&wt[..6], &[0.0, 4.0, 8.0, 1.0, 5.0, 9.0]);
    assert_eq!(m.op_code(1), builtin::RESHAPE);
    assert_eq!(
        m.option_ints(&bytes, 1, opt::RESHAPE_NEW_SHAPE),
        Some(vec![4, 2])
    );
    let shape_t = sg.operators[1].inputs[1] as usize;
    assert_eq!(i32s(m.tensor_data(&bytes, shape_t)), vec![4, 2]);
    assert_eq!(tensor_index(&m, "r"), sg.outputs[0] as usize);
}

/// A dynamic-range FULLY_CONNECTED quantizes its input with a zero point (StyleGAN's dense inputs are
/// leaky-ReLU outputs, mostly positive: symmetric quantization would spend half its levels on values
/// that never occur); a float one is written without the field, as before.
#[test]
fn a_dynamic_range_matmul_quantizes_its_input_asymmetrically() {
    use super::quant::WeightMode;
    let mut g = Graph::new();
    let mm = matmul(&mut g, 1);
    output(&mut g, "mm", mm);
    for (mode, asymmetric) in [
        (WeightMode::Float, false),
        (WeightMode::Int8Weights, false),
        (WeightMode::Int8Dynamic, true),
        (WeightMode::Int4Dynamic, true),
    ] {
        let options = super::BackendOptions {
            weights: mode,
            ..Default::default()
        };
        let bytes = super::write_tflite_with(&g, &options).unwrap();
        let m = read_model(&bytes).unwrap();
        let fc = (0..m.subgraphs[0].operators.len())
            .find(|&i| m.op_code(i) == builtin::FULLY_CONNECTED)
            .unwrap();
        let got = m.option(&bytes, fc, opt::FC_ASYMMETRIC_QUANTIZE_INPUTS, false);
        assert_eq!(got, asymmetric, "{}", mode.name());
    }
}

#[test]
fn const_and_input_outputs_get_tensors() {
    let mut g = Graph::new();
    let x = placeholder(&mut g, "x", &[2]);
    let c = g.add_const("c", Tensor::from_vec(vec![2], vec![1.0f32, 2.0]));
    let a = g.add(Node::new("a", Op::AddV2));
    g.connect(x.into(), a, 0);
    g.connect(c.into(), a, 1);
    typed(&mut g, a, DType::F32, &[2]);
    output(&mut g, "a", a);
    output(&mut g, "c_out", c);
    let (bytes, m) = write_read(&g);
    let sg = &m.subgraphs[0];
    assert_eq!(sg.outputs.len(), 2);
    let ct = sg.outputs[1] as usize;
    assert_eq!(f32s(m.tensor_data(&bytes, ct)), vec![1.0, 2.0]);
    // The constant used twice is one tensor.
    assert_eq!(sg.operators[0].inputs[1] as usize, ct);
}

#[test]
fn transpose_bytes_permutes_axes() {
    let data: Vec<u8> = (0..24).collect();
    // [2,3,4] → perm [2,0,1] → [4,2,3]: out[k,i,j] = in[i,j,k].
    let out = transpose_bytes(&data, &[2, 3, 4], &[2, 0, 1], 1);
    for k in 0..4 {
        for i in 0..2 {
            for j in 0..3 {
                assert_eq!(out[(k * 2 + i) * 3 + j] as usize, (i * 3 + j) * 4 + k);
            }
        }
    }
    assert_eq!(
        transpose_bytes(&[1, 2, 3, 4], &[], &[], 4),
        vec![1, 2, 3, 4]
    );
}

#[test]
fn reader_rejects_garbage() {
    assert!(read_model(b"nope").is_err());
    let mut bytes = write_tflite(&conv_graph()).unwrap();
    let n = bytes.len();
    bytes.truncate(n / 2);
    assert!(read_model(&bytes).is_err());
}

/// x → MatMul → AddV2(bias [4]) → "y", optionally with the MatMul also an output.
fn dense_with_bias(matmul_is_output: bool) -> Graph {
    let mut g = Graph::new();
    let x = placeholder(&mut g, "x", &[2, 3]);
    let w = g.add_const("w", iota(&[3, 4]));
    let mm = g.add(Node::new("mm", Op::MatMul));
    g.connect(x.into(), mm, 0);
    g.connect(w.into(), mm, 1);
    typed(&mut g, mm, DType::F32, &[2, 4]);
    let b = g.add_const("b", Tensor::from_vec(vec![4], vec![0.5f32, 1.5, 2.5, 3.5]));
    let add = g.add(Node::new("y", Op::AddV2));
    g.connect(mm.into(), add, 0);
    g.connect(b.into(), add, 1);
    typed(&mut g, add, DType::F32, &[2, 4]);
    output(&mut g, "y", add);
    if matmul_is_output {
        output(&mut g, "mm", mm);
    }
    g
}

#[test]
fn a_bias_add_after_a_matmul_is_its_bias_input() {
    let (bytes, m) = write_read(&dense_with_bias(false));
    let sg = &m.subgraphs[0];
    assert_eq!(sg.operators.len(), 1, "no ADD");
    assert_eq!(m.op_code(0), builtin::FULLY_CONNECTED);
    let fc = &sg.operators[0];
    assert_eq!(
        f32s(m.tensor_data(&bytes, fc.inputs[2] as usize)),
        vec![0.5, 1.5, 2.5, 3.5]
    );
    assert_eq!(fc.outputs[0] as usize, tensor_index(&m, "y"));
}

#[test]
fn a_bias_add_stays_when_the_matmul_value_is_needed_too() {
    let (_, m) = write_read(&dense_with_bias(true));
    assert_eq!(m.op_code(0), builtin::FULLY_CONNECTED);
    assert_eq!(m.op_code(1), builtin::ADD);
    assert_eq!(m.subgraphs[0].operators[0].inputs[2], -1);
}

#[test]
fn a_bias_add_after_a_transpose_conv_is_its_version_3_bias_input() {
    let mut g = Graph::new();
    let x = placeholder(&mut g, "x", &[1, 2, 2, 3]);
    let sizes = g.add_const("sizes", Tensor::from_vec(vec![4], vec![1i32, 4, 4, 2]));
    let w = g.add_const("w", iota(&[3, 3, 2, 3]));
    let deconv = g.add(
        Node::new("deconv", Op::Conv2DBackpropInput)
            .with_attr("strides", sgc_ir::Attr::Ints(vec![1, 2, 2, 1]))
            .with_attr("padding", sgc_ir::Attr::Str("SAME".into())),
    );
    g.connect(sizes.into(), deconv, 0);
    g.connect(w.into(), deconv, 1);
    g.connect(x.into(), deconv, 2);
    typed(&mut g, deconv, DType::F32, &[1, 4, 4, 2]);
    let b = g.add_const("b", Tensor::from_vec(vec![2], vec![0.5f32, -0.5]));
    let add = g.add(Node::new("y", Op::AddV2));
    g.connect(deconv.into(), add, 0);
    g.connect(b.into(), add, 1);
    typed(&mut g, add, DType::F32, &[1, 4, 4, 2]);
    output(&mut g, "y", add);

    let (bytes, m) = write_read(&g);
    let sg = &m.subgraphs[0];
    assert_eq!(sg.operators.len(), 1, "no ADD");
    assert_eq!(m.op_code(0), builtin::TRANSPOSE_CONV);
    let op = &sg.operators[0];
    assert_eq!(op.inputs.len(), 4);
    assert_eq!(
        f32s(m.tensor_data(&bytes, op.inputs[3] as usize)),
        vec![0.5, -0.5]
    );
    assert_eq!(m.operator_codes[0].version, 3);
}

#[test]
fn the_builder_never_grows_its_buffer() {
    // Growing doubles the buffer and copies it: for large models that doubles peak memory. Many
    // tensors with long names (as the e-graph's NHWC twins of a real graph have) must still fit the
    // capacity reserved up front (the constants' data is a gap in it, streamed separately).
    let mut g = Graph::new();
    let mut x: sgc_ir::ValueRef = placeholder(&mut g, "x", &[4]).into();
    let long =
        "G_synthesis/1024x1024/Conv0_up/InstanceNorm/StyleMod/strided_slice/Reshape".repeat(2);
    for i in 0..2000 {
        let c = g.add_const(
            format!("{long}/c{i}"),
            Tensor::from_vec(vec![4], vec![1f32; 4]),
        );
        let add = g.add(Node::new(format!("{long}/add{i}"), Op::AddV2));
        g.connect(x, add, 0);
        g.connect(c.into(), add, 1);
        typed(&mut g, add, DType::F32, &[4]);
        x = add.into();
    }
    let big = g.add_const(
        "big",
        Tensor::from_vec(vec![1 << 18], vec![0.5f32; 1 << 18]),
    );
    let y = g.add(Node::new("y", Op::AddV2));
    g.connect(x, y, 0);
    g.connect(big.into(), y, 1);
    typed(&mut g, y, DType::F32, &[1 << 18]);
    output(&mut g, "y", y);
    let plan = super::lower::lower(&g).unwrap();
    let reserved = super::data_bound(&plan) + super::metadata_bound(&plan);
    let (buffer, _) = super::tables(&plan, super::Placement::Inside)
        .unwrap()
        .fbb
        .collapse();
    assert!(
        buffer.len() <= reserved,
        "a buffer of {} (reserved {reserved})",
        buffer.len()
    );
}

/// The data vectors' layout, as the flatbuffer builder would make it: each one's data ends (counted
/// from the end of the buffer) on a multiple of 16, so it starts 16-aligned in a 16-aligned file, and
/// the gap the writer streams is everything they take.
#[test]
fn data_vectors_are_laid_out_16_aligned_back_to_front() {
    let (layout, gap) = super::data_layout([5, 16, 0, 33]);
    let mut used = 0;
    for v in &layout {
        assert_eq!((used + v.pad + v.len) % 16, 0, "{v:?}");
        assert!(v.pad < 16);
        used += v.pad + v.len + 4;
        assert_eq!(v.used, used);
    }
    assert_eq!(gap, used);
    assert_eq!(layout[0].pad, 11);
}

/// A Relu, Relu6 or clamp to [−1, 1] read only from a dense layer (through its bias add) or an add is
/// written as that op's fused activation; one with a second reader of its operand stays an op.
#[test]
fn activations_fuse_into_the_op_before_them() {
    use super::schema::{Activation, BuiltinOptions};
    use sgc_ir::testing::Builder;
    let mut g = Builder::new();
    let x = g.input("x", &[2, 3]);
    let mut outs = vec![];
    for (name, act) in [
        ("relu", Op::Relu),
        ("relu6", Op::Relu6),
        ("clip", Op::ClipByValue),
    ] {
        let w = g.constant(&format!("{name}/w"), iota(&[3, 4]));
        let b = g.constant(&format!("{name}/b"), iota(&[4]));
        let m = g.op(&format!("{name}/matmul"), Op::MatMul, &[x, w], &[]);
        let z = g.op(&format!("{name}/bias"), Op::BiasAdd, &[m, b], &[]);
        let mut ins = vec![z];
        if act == Op::ClipByValue {
            ins.push(g.constant("lo", Tensor::scalar(-1f32)));
            ins.push(g.constant("hi", Tensor::scalar(1f32)));
        }
        outs.push(g.op(name, act, &ins, &[]));
    }
    let sum = g.op("sum", Op::AddV2, &[x, x], &[]);
    outs.push(g.op("sum_relu", Op::Relu, &[sum], &[]));
    // A second reader of the sum keeps both its Relus ops of their own.
    let shared = g.op("shared", Op::AddV2, &[x, x], &[]);
    outs.push(g.op("shared_relu", Op::Relu, &[shared], &[]));
    outs.push(g.op("shared_relu6", Op::Relu6, &[shared], &[]));
    let mut graph = g.output(outs[0]);
    for &v in &outs[1..] {
        graph.outputs.push(Output {
            name: graph.value_name(v),
            value: v,
        });
    }
    let plan = super::lower::lower(&graph).unwrap();
    let mut activations: Vec<(i32, Activation)> = plan
        .operators
        .iter()
        .map(|o| {
            let act = match o.options {
                BuiltinOptions::FullyConnected { activation, .. }
                | BuiltinOptions::Add { activation } => activation,
                _ => Activation::None,
            };
            (o.code.builtin, act)
        })
        .collect();
    activations.sort_by_key(|&(code, act)| (code, act as i8));
    let fc = builtin::FULLY_CONNECTED;
    assert_eq!(
        activations,
        vec![
            (builtin::ADD, Activation::None),
            (builtin::ADD, Activation::Relu),
            (fc, Activation::Relu),
            (fc, Activation::ReluN1To1),
            (fc, Activation::Relu6),
            (builtin::RELU, Activation::None),
            (builtin::RELU6, Activation::None),
        ]
    );
}
