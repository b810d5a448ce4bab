//! Custom operators: which ops become CUSTOM, their codes, and their FlexBuffers options as the reference
//! decoder (the `flatbuffers` Python package, which `ai-edge-litert` depends on) reads them.

use std::path::PathBuf;
use std::process::Command;

use sgc_ir::{Attr, DType, Graph, Node, NodeIndex, Op, Output, Tensor, ValueInfo};

use super::flexbuffer::{encode, Flex};
use super::reader::read_model;
use super::schema::builtin;
use super::{write_tflite, write_tflite_with, BackendError, BackendOptions};

/// The Python of the test suite, with `flatbuffers`.
fn python() -> PathBuf {
    sgc_ir::testing::python("flatbuffers.flexbuffers")
}

/// Decodes FlexBuffers with the reference decoder; strings print as their bytes.
fn decode(buffers: &[Vec<u8>]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (i, b) in buffers.iter().enumerate() {
        let p = dir.path().join(format!("{i}.flex"));
        std::fs::write(&p, b).unwrap();
        paths.push(p);
    }
    let script = r#"
import sys
from flatbuffers import flexbuffers as f
def conv(r):
    if r.IsMap:
        m = r.AsMap
        return {k: conv(m[k]) for k in m.Keys.Value}
    if r.IsVector:
        return [conv(x) for x in r.AsVector]
    if r.IsString:
        return r.AsStringBytes
    if r.IsBlob:
        return bytes(r.AsBlob)
    return r.Value
for p in sys.argv[1:]:
    print(repr(conv(f.GetRoot(open(p, 'rb').read()))))
"#;
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(&paths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn flexbuffers_decode_with_the_reference_decoder() {
    let long = "x".repeat(300);
    let values = [
        Flex::Int(-5),
        Flex::Float(0.25),
        Flex::Map(vec![
            ("b".into(), Flex::Bool(true)),
            ("a".into(), Flex::Int(1 << 40)),
            ("s".into(), Flex::str(&long)),
            ("n".into(), Flex::Null),
        ]),
        Flex::Vector(vec![
            Flex::str("op"),
            Flex::Str(vec![0, 255, 1]),
            Flex::Vector(vec![Flex::Int(1), Flex::Int(-70000), Flex::Float(1.1)]),
            Flex::Blob(vec![1, 2, 3]),
        ]),
        Flex::Map(vec![]),
    ];
    let got = decode(&values.iter().map(encode).collect::<Vec<_>>());
    let expected = [
        "-5".to_string(),
        "0.25".into(),
        format!("{{'a': 1099511627776, 'b': True, 'n': None, 's': b'{long}'}}"),
        r"[b'op', b'\x00\xff\x01', [1, -70000, 1.1], b'\x01\x02\x03']".into(),
        "{}".into(),
    ];
    assert_eq!(got, expected);
}

fn typed(g: &mut Graph, n: NodeIndex, shape: &[i64]) {
    g.node_mut(n).outputs = vec![ValueInfo::new(DType::F32, shape.to_vec())];
}

/// x[1,4] → `op` (with attributes) → "y".
fn one_op(op: Op, attrs: &[(&str, Attr)]) -> Graph {
    let mut g = Graph::new();
    let x = g.add(Node::new("x", Op::Placeholder).with_attr("dtype", Attr::Type(DType::F32)));
    typed(&mut g, x, &[1, 4]);
    g.inputs.push(x);
    let mut node = Node::new("y", op);
    for (k, v) in attrs {
        node.attrs.set(*k, v.clone());
    }
    let y = g.add(node);
    g.connect(x.into(), y, 0);
    typed(&mut g, y, &[1, 4]);
    g.outputs.push(Output {
        name: "y".into(),
        value: y.into(),
    });
    g
}

/// (custom_code, custom_options) of each operator.
fn custom_ops(model: &[u8]) -> Vec<(Option<String>, Option<Vec<u8>>)> {
    let m = read_model(model).unwrap();
    m.subgraphs[0]
        .operators
        .iter()
        .map(|o| {
            let code = &m.operator_codes[o.opcode_index as usize];
            let custom = (code.code() == builtin::CUSTOM).then(|| code.custom_code.clone());
            (
                custom.flatten(),
                o.custom_options.clone().map(|r| model[r].to_vec()),
            )
        })
        .collect()
}

#[test]
fn unknown_ops_are_custom_ops_with_their_attributes() {
    let g = one_op(
        Op::Other("Frobnicate".into()),
        &[
            ("alpha", Attr::Float(0.5)),
            ("n", Attr::Int(3)),
            ("T", Attr::Type(DType::F32)),
            ("mode", Attr::Str("fast".into())),
            ("ks", Attr::Ints(vec![1, 2])),
            ("_output_shapes", Attr::Shapes(vec![Some(vec![1, 4])])),
        ],
    );
    let model = write_tflite(&g).unwrap();
    let ops = custom_ops(&model);
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].0.as_deref(), Some("Frobnicate"));
    let got = decode(&[ops[0].1.clone().unwrap()]);
    assert_eq!(
        got[0],
        "{'T': b'f32', 'alpha': 0.5, 'ks': [1, 2], 'mode': b'fast', 'n': 3}"
    );
    // The same graph gives the same bytes.
    assert_eq!(write_tflite(&g).unwrap(), model);
}

fn fake_node_def(g: &Graph, n: NodeIndex) -> Vec<u8> {
    let mut b = b"nodedef:".to_vec();
    b.extend_from_slice(g.node(n).name.as_bytes());
    b.push(0xff);
    b
}

#[test]
fn flex_encoding_carries_the_node_def() {
    let g = one_op(Op::Other("Frobnicate".into()), &[("n", Attr::Int(3))]);
    let options = BackendOptions {
        flex: Some(fake_node_def),
        ..Default::default()
    };
    let model = write_tflite_with(&g, &options).unwrap();
    let ops = custom_ops(&model);
    assert_eq!(ops[0].0.as_deref(), Some("FlexFrobnicate"));
    let got = decode(&[ops[0].1.clone().unwrap()]);
    assert_eq!(got[0], r"[b'Frobnicate', b'nodedef:y\xff']");
}

#[test]
fn builtins_stay_builtins_unless_forced() {
    let relu = one_op(Op::Relu, &[]);
    assert_eq!(
        custom_ops(&write_tflite(&relu).unwrap()),
        vec![(None, None)]
    );
    let forced = BackendOptions {
        custom_ops: vec!["Relu".into()],
        ..Default::default()
    };
    let ops = custom_ops(&write_tflite_with(&relu, &forced).unwrap());
    assert_eq!(ops[0].0.as_deref(), Some("Relu"));
    assert_eq!(decode(&[ops[0].1.clone().unwrap()])[0], "{}");

    // RandomStandardNormal has a builtin: never custom by default.
    let mut g = Graph::new();
    let shape = g.add_const("shape", Tensor::from_vec(vec![2], vec![1i32, 4]));
    let r = g.add(
        Node::new("noise", Op::RandomStandardNormal)
            .with_attr("dtype", Attr::Type(DType::F32))
            .with_attr("seed", Attr::Int(1)),
    );
    g.connect(shape.into(), r, 0);
    typed(&mut g, r, &[1, 4]);
    g.outputs.push(Output {
        name: "noise".into(),
        value: r.into(),
    });
    let m = read_model(&write_tflite(&g).unwrap()).unwrap();
    assert_eq!(m.op_code(0), builtin::RANDOM_STANDARD_NORMAL);
}

#[test]
fn known_ops_without_a_lowering_are_not_made_custom() {
    let g = one_op(Op::Assign, &[]);
    let e = write_tflite(&g).unwrap_err();
    assert!(matches!(e, BackendError::NoLowering { .. }), "{e}");
    let forced = BackendOptions {
        custom_ops: vec!["Placeholder".into()],
        ..Default::default()
    };
    let e = write_tflite_with(&one_op(Op::Relu, &[]), &forced).unwrap_err();
    assert!(e.to_string().contains("cannot be custom ops"), "{e}");
}

#[test]
fn a_conv_forced_custom_keeps_its_bias_add_as_an_add() {
    let mut b = sgc_ir::testing::Builder::new();
    let x = b.input("x", &[1, 4, 4, 2]);
    let w = b.constant("w", sgc_ir::testing::random_tensor(&[1, 1, 2, 3], 1));
    let attrs = [
        ("padding", Attr::Str("VALID".into())),
        ("strides", Attr::Ints(vec![1, 1, 1, 1])),
    ];
    let conv = b.op("conv", Op::Conv2D, &[x, w], &attrs);
    let bias = b.constant("bias", Tensor::filled(vec![3], 0.5f32));
    let y = b.op("y", Op::AddV2, &[conv, bias], &[]);
    let g = b.output(y);
    let fused = write_tflite(&g).unwrap();
    let options = BackendOptions {
        custom_ops: vec!["Conv2D".into()],
        ..Default::default()
    };
    let model = write_tflite_with(&g, &options).expect("a custom conv with a bias add lowers");
    let codes = |bytes: &[u8]| -> Vec<String> {
        let m = read_model(bytes).unwrap();
        m.subgraphs[0]
            .operators
            .iter()
            .map(|o| m.operator_codes[o.opcode_index as usize].name())
            .collect()
    };
    assert_eq!(codes(&fused), vec!["CONV_2D"]);
    assert_eq!(codes(&model), vec!["CUSTOM:Conv2D", "ADD"]);
}
