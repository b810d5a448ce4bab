//! End-to-end tests: GraphDefs built with the prost types, encoded, and imported through the public API.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use prost::Message;
use sgc_ir::{DType, Graph, Op, ValueRef};

use crate::tf::attr_value::{ListValue, Value};
use crate::tf::{self, DataType};
use crate::*;
use sgc_ir::testing::Rng;

// ------------------------------------------------------------------------------------------- helpers ---

fn node(name: &str, op: &str, inputs: &[&str]) -> tf::NodeDef {
    tf::NodeDef {
        name: name.into(),
        op: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn with(mut n: tf::NodeDef, key: &str, value: Value) -> tf::NodeDef {
    n.attr
        .insert(key.into(), tf::AttrValue { value: Some(value) });
    n
}

fn shape(dims: &[i64]) -> tf::TensorShapeProto {
    tf::shape_proto(dims)
}

fn ty(d: DataType) -> Value {
    Value::Type(d as i32)
}

fn placeholder(name: &str, dims: &[i64]) -> tf::NodeDef {
    with(
        with(
            node(name, "Placeholder", &[]),
            "dtype",
            ty(DataType::DtFloat),
        ),
        "shape",
        Value::Shape(shape(dims)),
    )
}

/// A float `Const` whose values are in `tensor_content`.
fn const_f32(name: &str, dims: &[i64], values: &[f32]) -> tf::NodeDef {
    let content: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let t = tf::TensorProto {
        dtype: DataType::DtFloat as i32,
        tensor_shape: Some(shape(dims)),
        tensor_content: Bytes::from(content),
        ..Default::default()
    };
    with(
        with(node(name, "Const", &[]), "dtype", ty(DataType::DtFloat)),
        "value",
        Value::Tensor(t),
    )
}

fn graph_def(nodes: Vec<tf::NodeDef>) -> tf::GraphDef {
    tf::GraphDef {
        node: nodes,
        versions: Some(tf::VersionDef {
            producer: 1994,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn encode(def: &tf::GraphDef) -> Bytes {
    Bytes::from(def.encode_to_vec())
}

fn import(nodes: Vec<tf::NodeDef>) -> Result<Graph, FrontendError> {
    graph_from_pb(encode(&graph_def(nodes)))
}

fn find(g: &Graph, name: &str) -> sgc_ir::NodeIndex {
    g.find(name).unwrap_or_else(|| panic!("no node {name}"))
}

/// A small graph that uses ports, control edges, multi-output ops and a forward reference.
fn sample() -> Vec<tf::NodeDef> {
    vec![
        placeholder("x", &[-1, 3]),
        const_f32("c", &[3], &[1.0, 2.0, 3.0]),
        with(
            node("pred", "Placeholder", &[]),
            "dtype",
            ty(DataType::DtBool),
        ),
        // `late` is defined after its consumer.
        node("add", "AddV2", &["x", "late:0"]),
        node("late", "Identity", &["c"]),
        node("sw", "Switch", &["add", "pred"]),
        node("merge", "Merge", &["sw:1", "sw"]),
        with(
            node("split", "Split", &["c", "x"]),
            "num_split",
            Value::I(3),
        ),
        with(node("unpack", "Unpack", &["x"]), "num", Value::I(4)),
        node("idn", "IdentityN", &["merge", "x"]),
        node("out", "Mul", &["idn:0", "split:2", "^c", "^late"]),
        node("wide", "Frobnicate", &[]),
        node("uses_wide", "Identity", &["wide:5"]),
    ]
}

// ----------------------------------------------------------------------------------- import results ---

#[test]
fn imports_edges_ports_and_control_inputs() {
    let g = import(sample()).unwrap();
    assert_eq!(g.node_count(), 13);
    let [x, c, pred, add, late, sw, merge, split, idn, out] = [
        "x", "c", "pred", "add", "late", "sw", "merge", "split", "idn", "out",
    ]
    .map(|n| find(&g, n));
    assert_eq!(g.inputs, vec![x, pred]);
    assert!(g.outputs.is_empty());

    assert_eq!(g.node(add).op, Op::AddV2);
    assert_eq!(g.inputs(add), vec![ValueRef::from(x), ValueRef::from(late)]);
    assert_eq!(
        g.inputs(merge),
        vec![ValueRef::new(sw, 1), ValueRef::new(sw, 0)]
    );
    assert_eq!(
        g.inputs(out),
        vec![ValueRef::new(idn, 0), ValueRef::new(split, 2)]
    );
    let mut ctrl = g.control_inputs(out);
    ctrl.sort();
    assert_eq!(ctrl, vec![c, late]);

    let count = |n: &str| g.node(find(&g, n)).outputs.len();
    assert_eq!(count("sw"), 2);
    assert_eq!(count("merge"), 2);
    assert_eq!(count("split"), 3);
    assert_eq!(count("unpack"), 4);
    assert_eq!(count("idn"), 2);
    assert_eq!(count("add"), 1);
    assert_eq!(count("wide"), 6);
    assert_eq!(g.node(find(&g, "wide")).op, Op::Other("Frobnicate".into()));

    assert_eq!(g.info(c.into()).to_string(), "f32[3]");
    assert_eq!(g.info(x.into()).to_string(), "f32[?,3]");
    assert_eq!(g.info(pred.into()).to_string(), "bool[*]");
    assert_eq!(
        g.const_value(c.into()).unwrap().to_vec::<f32>().unwrap(),
        vec![1.0, 2.0, 3.0]
    );
    assert!(g.topo_order().is_ok());
}

#[test]
fn typed_splat_constants_import() {
    let t = tf::TensorProto {
        dtype: DataType::DtFloat as i32,
        tensor_shape: Some(shape(&[2, 2])),
        float_val: vec![0.2],
        ..Default::default()
    };
    let g = import(vec![with(
        node("k", "Const", &[]),
        "value",
        Value::Tensor(t),
    )])
    .unwrap();
    let k = find(&g, "k");
    assert_eq!(g.info(k.into()).to_string(), "f32[2,2]");
    assert_eq!(
        g.const_value(k.into()).unwrap().to_vec::<f32>().unwrap(),
        vec![0.2; 4]
    );
}

#[test]
fn reference_dtypes_become_value_types() {
    let t = tf::TensorProto {
        dtype: DataType::DtInt32Ref as i32,
        tensor_shape: Some(shape(&[2])),
        int_val: vec![4, 5],
        ..Default::default()
    };
    let g = import(vec![
        with(
            with(
                node("v", "VariableV2", &[]),
                "dtype",
                ty(DataType::DtFloatRef),
            ),
            "shape",
            Value::Shape(shape(&[512])),
        ),
        node("v/read", "Identity", &["v"]),
        with(
            with(node("k", "Const", &[]), "dtype", ty(DataType::DtInt32Ref)),
            "value",
            Value::Tensor(t),
        ),
    ])
    .unwrap();
    let v = find(&g, "v");
    assert_eq!(g.node(v).attrs.dtype("dtype"), Some(DType::F32));
    assert_eq!(g.info(v.into()).to_string(), "f32[512]");
    let k = find(&g, "k");
    assert_eq!(g.node(k).attrs.dtype("dtype"), Some(DType::I32));
    assert_eq!(
        g.const_value(k.into()).unwrap().to_vec::<i32>().unwrap(),
        vec![4, 5]
    );
}

#[test]
fn output_shapes_seed_infos_and_output_counts() {
    let shapes = ListValue {
        shape: vec![shape(&[1, 512]), shape(&[7])],
        ..Default::default()
    };
    let g = import(vec![with(
        node("n", "Frobnicate", &[]),
        "_output_shapes",
        Value::List(shapes),
    )])
    .unwrap();
    let n = find(&g, "n");
    assert_eq!(g.node(n).outputs.len(), 2);
    assert_eq!(g.info(ValueRef::new(n, 1)).to_string(), "?[7]");
}

#[test]
fn tf1_and_tf2_spellings_both_import() {
    // TF 1.10: `Add`, no `explicit_paddings`; TF 2.x: `AddV2`, with it.
    let conv = |name: &str, explicit: bool| {
        let mut n = with(
            with(
                node(name, "Conv2D", &["x", "w"]),
                "padding",
                Value::S("SAME".into()),
            ),
            "strides",
            Value::List(ListValue {
                i: vec![1, 1, 1, 1],
                ..Default::default()
            }),
        );
        if explicit {
            n = with(n, "explicit_paddings", Value::List(ListValue::default()));
        }
        n
    };
    let g = import(vec![
        placeholder("x", &[1, 4, 4, 3]),
        const_f32("w", &[1, 1, 3, 1], &[1.0, 1.0, 1.0]),
        conv("c1", false),
        conv("c2", true),
        node("a1", "Add", &["c1", "c2"]),
        node("a2", "AddV2", &["c1", "c2"]),
    ])
    .unwrap();
    assert_eq!(g.node(find(&g, "a1")).op, Op::Add);
    assert_eq!(g.node(find(&g, "a2")).op, Op::AddV2);
    assert_eq!(
        g.node(find(&g, "c2")).attrs.ints("explicit_paddings"),
        Some(&[][..])
    );
    assert_eq!(g.node(find(&g, "c1")).attrs.str("padding"), Some("SAME"));
}

#[test]
fn legacy_placeholder_scalar_shape_means_unknown() {
    let mut def = graph_def(vec![placeholder("x", &[])]);
    def.versions = Some(tf::VersionDef {
        producer: 17,
        ..Default::default()
    });
    let g = graph_from_pb(encode(&def)).unwrap();
    assert_eq!(g.info(find(&g, "x").into()).to_string(), "f32[*]");
    let g = import(vec![placeholder("x", &[])]).unwrap();
    assert_eq!(g.info(find(&g, "x").into()).to_string(), "f32[]");
}

// ------------------------------------------------------------------------------------------- errors ---

fn error_of(nodes: Vec<tf::NodeDef>) -> String {
    import(nodes).expect_err("import should fail").to_string()
}

#[test]
fn duplicate_node_names_are_errors() {
    let e = error_of(vec![placeholder("x", &[1]), node("x", "Identity", &[])]);
    assert_eq!(e, "<bytes>: node 'x' is defined more than once");
}

#[test]
fn missing_inputs_are_errors() {
    let e = error_of(vec![node("a", "Identity", &["nope"])]);
    assert_eq!(e, "<bytes>: node 'a': input 'nope' does not exist");
    let e = error_of(vec![
        placeholder("x", &[1]),
        node("a", "Identity", &["x", "^gone"]),
    ]);
    assert_eq!(e, "<bytes>: node 'a': input '^gone' does not exist");
    let e = error_of(vec![node("a", "Identity", &["b:1"])]);
    assert!(e.contains("input 'b:1' does not exist"), "{e}");
}

#[test]
fn bad_port_syntax_is_an_error() {
    for input in [
        "x:",
        "x:a",
        "x:-1",
        ":1",
        "",
        "^",
        "^x:0",
        "x:999999999999999999999",
    ] {
        let err = import(vec![
            placeholder("x", &[1]),
            node("a", "Identity", &[input]),
        ])
        .expect_err(input);
        assert!(
            matches!(err, FrontendError::BadInput { .. }),
            "{input:?}: {err}"
        );
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("<bytes>: node 'a': bad input '{input}': ")),
            "{msg}"
        );
        assert_eq!(err.node(), Some("a"));
    }
}

#[test]
fn unsupported_dtypes_are_errors_naming_the_node() {
    let t = tf::TensorProto {
        dtype: DataType::DtResource as i32,
        tensor_shape: Some(shape(&[])),
        ..Default::default()
    };
    let e = error_of(vec![with(
        node("handle", "Const", &[]),
        "value",
        Value::Tensor(t),
    )]);
    assert_eq!(
        e,
        "<bytes>: node 'handle': attr 'value' has unsupported dtype DT_RESOURCE"
    );

    let e = error_of(vec![with(
        node("p", "Placeholder", &[]),
        "dtype",
        ty(DataType::DtComplex64),
    )]);
    assert_eq!(
        e,
        "<bytes>: node 'p': attr 'dtype' has unsupported dtype DT_COMPLEX64"
    );

    let e = error_of(vec![with(
        node("p", "Placeholder", &[]),
        "dtype",
        Value::Type(77),
    )]);
    assert!(e.contains("<unknown DataType 77>"), "{e}");
}

#[test]
fn malformed_nodes_are_errors() {
    let e = error_of(vec![node("k", "Const", &[])]);
    assert_eq!(e, "<bytes>: node 'k': a Const needs a tensor attr 'value'");

    let mut bad = const_f32("k", &[3], &[1.0, 2.0, 3.0]);
    if let Some(Value::Tensor(t)) = &mut bad.attr.get_mut("value").unwrap().value {
        t.tensor_content = t.tensor_content.slice(..5);
    }
    let e = error_of(vec![bad]);
    assert!(
        e.starts_with("<bytes>: node 'k': attr 'value': tensor_content holds 5 bytes"),
        "{e}"
    );

    let e = error_of(vec![node("", "NoOp", &[])]);
    assert_eq!(e, "<bytes>: node '<node #0>': the node has an empty name");

    let e = error_of(vec![with(
        node("s", "Split", &[]),
        "num_split",
        Value::I(-1),
    )]);
    assert!(e.contains("node 's': attr 'num_split' = -1"), "{e}");
    let e = error_of(vec![node("s", "Split", &[])]);
    assert!(
        e.contains("node 's': Split needs an int attr 'num_split'"),
        "{e}"
    );
}

#[test]
fn truncated_bytes_are_errors_not_panics() {
    let full = encode(&graph_def(sample()));
    let mut failures = 0;
    for cut in 0..full.len() {
        match graph_from_pb(full.slice(..cut)) {
            Ok(g) => {
                // A cut at a node boundary is a valid, smaller GraphDef.
                let _ = g.dump();
            }
            Err(e) => {
                failures += 1;
                assert!(e.to_string().starts_with("<bytes>: "), "{e}");
            }
        }
    }
    // Nearly every cut lands inside a message.
    assert!(
        failures > full.len() * 9 / 10,
        "{failures} of {}",
        full.len()
    );
    for cut in [1, full.len() / 3, full.len() / 2, full.len() - 1] {
        let e = graph_from_pb(full.slice(..cut)).expect_err("cut inside a message");
        assert!(
            matches!(
                e,
                FrontendError::Decode { .. } | FrontendError::MissingInput { .. }
            ),
            "cut {cut}: {e}"
        );
    }
    let e = graph_from_pb(full.slice(..full.len() - 1)).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("<bytes>: not a valid binary GraphDef (truncated or corrupt protobuf): "),
        "{e}"
    );
}

#[test]
fn random_byte_flips_never_panic() {
    let mut nodes = sample();
    let splat = tf::TensorProto {
        dtype: DataType::DtInt32 as i32,
        tensor_shape: Some(shape(&[4, 4])),
        int_val: vec![3],
        ..Default::default()
    };
    nodes.push(with(
        node("splat", "Const", &[]),
        "value",
        Value::Tensor(splat),
    ));
    let full = encode(&graph_def(nodes)).to_vec();
    let mut rng = Rng::new(0x5eed_1234_abcd_ef01);
    let (mut ok, mut err) = (0, 0);
    for _ in 0..3000 {
        let mut bytes = full.clone();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(bytes.len());
            match rng.below(3) {
                0 => bytes[i] ^= 1 << rng.below(8),
                1 => bytes[i] = rng.next_u64() as u8,
                _ => bytes[i] = [0x00, 0x7f, 0x80, 0xff][rng.below(4)],
            }
        }
        match graph_from_pb(Bytes::from(bytes)) {
            Ok(g) => {
                let _ = g.dump();
                ok += 1;
            }
            Err(e) => {
                assert!(e.to_string().starts_with("<bytes>: "), "{e}");
                err += 1;
            }
        }
    }
    assert!(ok > 0 && err > 0, "ok {ok}, err {err}");
}

// ---------------------------------------------------------------------------------------- text format ---

const SAMPLE_PBTXT: &str = r#"
node {
  name: "x"
  op: "Placeholder"
  attr { key: "dtype" value { type: DT_FLOAT } }
  attr { key: "shape" value { shape { dim { size: -1 } dim { size: 3 } } } }
}
node {
  name: "c"
  op: "Const"
  device: "/device:GPU:0"
  attr { key: "dtype" value { type: DT_FLOAT } }
  attr {
    key: "value"
    value {
      tensor {
        dtype: DT_FLOAT
        tensor_shape { dim { size: 3 } }
        tensor_content: "\000\000\200?\000\000\000@\000\000@@"
      }
    }
  }
}
node {
  name: "k"
  op: "Const"
  attr { key: "dtype" value { type: DT_INT32 } }
  attr {
    key: "value"
    value { tensor { dtype: DT_INT32 tensor_shape { dim { size: 2 } } int_val: 7 } }
  }
}
node { name: "add" op: "AddV2" input: "x" input: "c:0" attr { key: "T" value { type: DT_FLOAT } } }
node {
  name: "idn"
  op: "IdentityN"
  input: "add"
  input: "x"
  input: "^k"
  attr { key: "T" value { list { type: DT_FLOAT type: DT_FLOAT } } }
  attr { key: "_gradient_op_type" value { s: "CustomGradient-7" } }
}
versions { producer: 1994 }
"#;

fn sample_pb() -> tf::GraphDef {
    let k = tf::TensorProto {
        dtype: DataType::DtInt32 as i32,
        tensor_shape: Some(shape(&[2])),
        int_val: vec![7],
        ..Default::default()
    };
    let mut c = const_f32("c", &[3], &[1.0, 2.0, 3.0]);
    c.device = "/device:GPU:0".into();
    let add = with(
        node("add", "AddV2", &["x", "c:0"]),
        "T",
        ty(DataType::DtFloat),
    );
    let idn = with(
        with(
            node("idn", "IdentityN", &["add", "x", "^k"]),
            "T",
            Value::List(ListValue {
                r#type: vec![DataType::DtFloat as i32; 2],
                ..Default::default()
            }),
        ),
        "_gradient_op_type",
        Value::S("CustomGradient-7".into()),
    );
    graph_def(vec![
        placeholder("x", &[-1, 3]),
        c,
        with(
            with(node("k", "Const", &[]), "dtype", ty(DataType::DtInt32)),
            "value",
            Value::Tensor(k),
        ),
        add,
        idn,
    ])
}

#[test]
fn pbtxt_equals_pb() {
    let def = sample_pb();
    assert_eq!(pbtxt::parse(SAMPLE_PBTXT, TEXT_ORIGIN).unwrap(), def);
    let from_text = graph_from_pbtxt(SAMPLE_PBTXT).unwrap();
    let from_bytes = graph_from_pb(encode(&def)).unwrap();
    assert_eq!(from_text.dump(), from_bytes.dump());
    let dump = from_text.dump();
    assert!(
        dump.contains("k = Const() {dtype=i32, value=i32[2][7.0, 7.0]} -> i32[2]"),
        "{dump}"
    );
    assert!(dump.contains("idn = IdentityN(add, x, ^k)"), "{dump}");
}

#[test]
fn pbtxt_errors_carry_the_position() {
    let text = "node {\n  name: \"x\"\n  opp: \"Placeholder\"\n}\n";
    let e = graph_from_pbtxt(text).unwrap_err();
    match &e {
        FrontendError::Text { line, column, .. } => assert_eq!((*line, *column), (3, 3), "{e}"),
        other => panic!("{other}"),
    }
    assert!(
        e.to_string()
            .starts_with("<text>:3:3: bad GraphDef text format: "),
        "{e}"
    );
    assert!(e.to_string().contains("opp"), "{e}");

    let e = graph_from_pbtxt("node {\n  name: \"x\"\n").unwrap_err();
    assert!(
        matches!(
            e,
            FrontendError::Text {
                line: 3,
                column: 1,
                ..
            }
        ),
        "{e}"
    );

    let e =
        graph_from_pbtxt("node { name: \"x\" attr { key: \"dtype\" value { type: DT_NOPE } } }")
            .unwrap_err();
    assert!(matches!(e, FrontendError::Text { line: 1, .. }), "{e}");
    assert!(e.to_string().contains("DT_NOPE"), "{e}");

    // Import errors in text graphs are the same as in binary ones.
    let e = graph_from_pbtxt("node { name: \"a\" op: \"Identity\" input: \"b\" }").unwrap_err();
    assert_eq!(e.to_string(), "<text>: node 'a': input 'b' does not exist");
}

#[test]
fn deeply_nested_text_is_an_error_not_a_stack_overflow() {
    let depth = 100_000;
    let text = format!(
        "node {{ name: \"a\" experimental_type {{ {}{} }} }}",
        "args { ".repeat(depth),
        "} ".repeat(depth)
    );
    let e = graph_from_pbtxt(&text).unwrap_err();
    assert!(e.to_string().contains("nested more than 100 deep"), "{e}");
    assert!(matches!(e, FrontendError::Text { line: 1, .. }), "{e}");
    // Braces inside strings and comments do not count.
    let text = format!(
        "# {}\nnode {{ name: \"{}\" op: \"NoOp\" }}",
        "{".repeat(200),
        "{<".repeat(200)
    );
    assert_eq!(graph_from_pbtxt(&text).unwrap().node_count(), 1);
}

#[test]
fn random_text_edits_never_panic() {
    let alphabet = b"{}<>:\"'\\#\n 0123456789-.abcxyz_DT_FLOAT";
    let mut rng = Rng::new(0x0123_4567_89ab_cdef);
    let (mut ok, mut err) = (0, 0);
    for _ in 0..1500 {
        let mut bytes = SAMPLE_PBTXT.as_bytes().to_vec();
        for _ in 0..1 + rng.below(3) {
            let i = rng.below(bytes.len());
            let c = alphabet[rng.below(alphabet.len())];
            match rng.below(3) {
                0 => bytes[i] = c,
                1 => bytes.insert(i, c),
                _ => {
                    bytes.remove(i);
                }
            }
        }
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        match graph_from_pbtxt(&text) {
            Ok(g) => {
                let _ = g.dump();
                ok += 1;
            }
            Err(e) => {
                assert!(e.to_string().starts_with("<text>"), "{e}");
                err += 1;
            }
        }
    }
    assert!(ok > 0 && err > 0, "ok {ok}, err {err}");
}

// ------------------------------------------------------------------------------------------------ files ---

#[test]
fn load_picks_the_format_by_extension() {
    let dir = tempfile::tempdir().unwrap();
    let pb = dir.path().join("g.pb");
    let txt = dir.path().join("g.pbtxt");
    std::fs::write(&pb, sample_pb().encode_to_vec()).unwrap();
    std::fs::write(&txt, SAMPLE_PBTXT).unwrap();
    assert_eq!(load(&pb).unwrap().dump(), load(&txt).unwrap().dump());
    assert!(is_text_path(Path::new("a/b.TXT")));
    assert!(!is_text_path(Path::new("a/b.pb")));
    assert!(!is_text_path(Path::new("pbtxt")));
}

#[test]
fn file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pb");
    let e = load(&missing).unwrap_err();
    assert!(matches!(e, FrontendError::Read { .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("{}: cannot read: ", missing.display())),
        "{e}"
    );

    let empty = dir.path().join("empty.pb");
    std::fs::write(&empty, b"").unwrap();
    assert!(load(&empty)
        .unwrap_err()
        .to_string()
        .contains("the file is empty"));

    let junk = dir.path().join("junk.pb");
    std::fs::write(&junk, b"\xff\xff\xff\xff not a protobuf").unwrap();
    let e = load(&junk).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("{}: not a valid binary GraphDef", junk.display())),
        "{e}"
    );

    let text = dir.path().join("bad.pbtxt");
    std::fs::write(&text, b"node {\n  name: \"\xff\"\n}\n").unwrap();
    let e = load(&text).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!(
            "{}:2:10: bad GraphDef text format: the file is not UTF-8",
            text.display()
        )),
        "{e}"
    );

    let dup = dir.path().join("dup.pb");
    std::fs::write(
        &dup,
        graph_def(vec![node("a", "NoOp", &[]), node("a", "NoOp", &[])]).encode_to_vec(),
    )
    .unwrap();
    assert_eq!(
        load(&dup).unwrap_err().to_string(),
        format!("{}: node 'a' is defined more than once", dup.display())
    );
}

/// The address ranges of this process's mappings of `path` (Linux).
fn mapped_ranges(path: &Path) -> Vec<std::ops::Range<usize>> {
    let canonical = std::fs::canonicalize(path).unwrap();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    maps.lines()
        .filter(|l| l.ends_with(canonical.to_str().unwrap()))
        .filter_map(|l| {
            let (lo, hi) = l.split_whitespace().next()?.split_once('-')?;
            Some(usize::from_str_radix(lo, 16).ok()?..usize::from_str_radix(hi, 16).ok()?)
        })
        .collect()
}

#[test]
fn large_weights_point_into_the_mapped_file() {
    const N: usize = 1 << 20; // 4 MiB of f32
    let values: Vec<f32> = (0..N).map(|i| i as f32 * 0.5).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.pb");
    let def = graph_def(vec![
        const_f32("w", &[1024, 1024], &values),
        placeholder("x", &[1, 1024]),
        node("y", "MatMul", &["x", "w"]),
    ]);
    std::fs::write(&path, def.encode_to_vec()).unwrap();

    // Through `map_file` + `graph_from_pb`: the tensor is a slice of the mapped bytes.
    let mapped = map_file(&path).unwrap();
    let region = mapped.as_ptr() as usize..mapped.as_ptr() as usize + mapped.len();
    let g = graph_from_pb(mapped.clone()).unwrap();
    let w = g.const_value(find(&g, "w").into()).unwrap();
    let start = w.bytes().as_ptr() as usize;
    assert!(region.contains(&start) && region.contains(&(start + w.bytes().len() - 1)));
    drop(mapped);

    // Through `load`: the tensor's bytes lie in this process's mapping of the file, and outlive the
    // mapping's other users.
    let g = load(&path).unwrap();
    let w = g.const_value(find(&g, "w").into()).unwrap().clone();
    drop(g);
    let start = w.bytes().as_ptr() as usize;
    let ranges = mapped_ranges(&path);
    assert!(
        ranges
            .iter()
            .any(|r| r.contains(&start) && r.contains(&(start + w.bytes().len() - 1))),
        "tensor at {start:#x} is not in a mapping of the file: {ranges:x?}"
    );
    assert_eq!(w.to_vec::<f32>().unwrap()[12345], 12345.0 * 0.5);
}

/// Resident kB of this process's mappings of `path` (`Rss:` of `/proc/self/smaps`).
fn mapped_rss_kb(path: &Path) -> usize {
    let canonical = std::fs::canonicalize(path).unwrap();
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    let mut ours = false;
    let mut kb = 0;
    for line in smaps.lines() {
        if line
            .split_whitespace()
            .next()
            .is_some_and(|f| f.contains('-'))
        {
            ours = line.ends_with(canonical.to_str().unwrap());
        } else if let Some(v) = line.strip_prefix("Rss:").filter(|_| ours) {
            kb += v
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<usize>()
                .unwrap();
        }
    }
    kb
}

/// The graph's backing drops the pages of the mapped file that reading a weight made resident; the
/// weight reads the same afterwards.
#[test]
fn releasing_the_backing_drops_the_files_pages_and_keeps_the_values() {
    const N: usize = 1 << 20;
    let values: Vec<f32> = (0..N).map(|i| i as f32 * 0.25).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.pb");
    let def = graph_def(vec![const_f32("w", &[1024, 1024], &values)]);
    std::fs::write(&path, def.encode_to_vec()).unwrap();
    let g = load(&path).unwrap();
    assert!(g.backing.is_some());
    let w = g.const_value(find(&g, "w").into()).unwrap().clone();
    let sum = |w: &sgc_ir::Tensor| {
        w.to_vec::<f32>()
            .unwrap()
            .iter()
            .map(|&v| f64::from(v))
            .sum::<f64>()
    };
    let expected = sum(&w);
    let touched = mapped_rss_kb(&path);
    assert!(touched >= 4000, "{touched} kB resident after reading 4 MiB");
    g.release_backing();
    let released = mapped_rss_kb(&path);
    assert!(released < 100, "{released} kB resident after the release");
    assert_eq!(sum(&w), expected);
}

/// Releasing the bytes of one weight drops its pages and keeps the other weight's (but for a huge page
/// at the boundary, which the kernel may unmap whole: 2 MiB of 16); bytes that are not the file's are
/// ignored; the values read the same afterwards.
#[test]
fn releasing_one_weights_bytes_drops_its_pages_only() {
    const N: usize = 1 << 22; // 16 MiB of f32 per weight
    let values: Vec<f32> = (0..N).map(|i| i as f32 * 0.5).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.pb");
    let def = graph_def(vec![
        const_f32("a", &[2048, 2048], &values),
        const_f32("b", &[2048, 2048], &values),
    ]);
    std::fs::write(&path, def.encode_to_vec()).unwrap();
    let g = load(&path).unwrap();
    let backing = g.backing.clone().expect("a mapped file");
    let (a, b) = (
        g.const_value(find(&g, "a").into()).unwrap().clone(),
        g.const_value(find(&g, "b").into()).unwrap().clone(),
    );
    let both: Vec<f32> = [a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap()].concat();
    let touched = mapped_rss_kb(&path);
    assert!(
        touched >= 32000,
        "{touched} kB resident after reading 32 MiB"
    );
    backing.release_bytes(a.bytes());
    backing.release_bytes(&vec![0u8; 1 << 20]);
    let left = mapped_rss_kb(&path);
    assert!(
        (14000..=16400).contains(&left),
        "{left} kB resident of {touched}: b's 16 MiB should stay, a's go"
    );
    let again: Vec<f32> = [a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap()].concat();
    assert_eq!(again, both);
}

// --------------------------------------------------------------------------------------------- fixtures ---

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// Every fixture graph that TensorFlow wrote imports, and the `mapping` graph's binary and text forms
/// import to the same graph. (Fixtures are generated separately; absent ones are skipped.)
#[test]
fn fixture_graphs_import() {
    let Ok(entries) = std::fs::read_dir(fixtures_dir()) else {
        eprintln!("no fixtures directory: skipped");
        return;
    };
    let mut names: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    names.sort();
    for dir in names {
        let pb = dir.join("graph.pb");
        if pb.exists() {
            let g = load(&pb).unwrap_or_else(|e| panic!("{e}"));
            assert!(g.node_count() > 0, "{}", pb.display());
            assert!(g.topo_order().is_ok(), "{}", pb.display());
        }
    }
    let pb = fixtures_dir().join("mapping/graph.pb");
    let txt = fixtures_dir().join("mapping/graph.pbtxt");
    if pb.exists() && txt.exists() {
        assert_eq!(load(&pb).unwrap().dump(), load(&txt).unwrap().dump());
    }
}
