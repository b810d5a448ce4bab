//! The stubs of hand-built models with custom ops: the files, and the generated C++ compiled with g++
//! and run on a fake TFLite context (`backends/tests/stubs/`).

use std::path::Path;
use std::process::Command;

use sgc_ir::{Attr, DType, Graph, Node, Op, Output, ValueInfo};

use super::*;
use crate::tflite::write_tflite;

/// x[1,4] → Frobnicate → a[1,4] → Frobnicate → b[1,4]; x → "ns.Weird-Op" → c[4]; x → Relu → d.
fn model() -> Vec<u8> {
    let mut g = Graph::new();
    let x = g.add(Node::new("x", Op::Placeholder).with_attr("dtype", Attr::Type(DType::F32)));
    g.node_mut(x).outputs = vec![ValueInfo::new(DType::F32, vec![1, 4])];
    g.inputs.push(x);
    let mut add = |name: &str, op: &str, input, shape: &[i64]| {
        let n =
            g.add(Node::new(name, Op::from_name(op)).with_attr("k", Attr::Int(name.len() as i64)));
        g.connect(input, n, 0);
        g.node_mut(n).outputs = vec![ValueInfo::new(DType::F32, shape.to_vec())];
        g.outputs.push(Output {
            name: name.into(),
            value: n.into(),
        });
        n
    };
    let a = add("a", "Frobnicate", x.into(), &[1, 4]);
    add("b", "Frobnicate", a.into(), &[1, 4]);
    add("c", "ns.Weird-Op", x.into(), &[4]);
    add("d", "Relu", x.into(), &[1, 4]);
    write_tflite(&g).unwrap()
}

#[test]
fn one_kernel_per_custom_op_a_header_and_cmake() {
    let files = generate(&model(), "m.tflite").unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "custom_op_Frobnicate.cc",
            "custom_op_ns_Weird_Op.cc",
            REGISTRY,
            HEADER,
            CMAKE
        ]
    );
    let text = |n: &str| &files.iter().find(|f| f.name == n).unwrap().contents;
    let frob = text("custom_op_Frobnicate.cc");
    assert!(frob.contains("r.custom_name = \"Frobnicate\";"), "{frob}");
    // Both uses have the same shapes: recorded once.
    assert!(frob.contains("const int kShapes[] = {\n    1,\n    1, 2, 1, 4, 1, 2, 1, 4,\n};"));
    let header = text(HEADER);
    assert!(header.contains("resolver->AddCustom(\"ns.Weird-Op\", Register_ns_Weird_Op());"));
    assert!(text(CMAKE).contains("${CMAKE_CURRENT_LIST_DIR}/custom_op_ns_Weird_Op.cc"));
    // No custom op: no files. The same model: the same files.
    let plain = write_tflite(&{
        let mut g = Graph::new();
        let x = g.add(Node::new("x", Op::Placeholder));
        g.node_mut(x).outputs = vec![ValueInfo::new(DType::F32, vec![1])];
        g.inputs.push(x);
        let r = g.add(Node::new("r", Op::Relu));
        g.connect(x.into(), r, 0);
        g.node_mut(r).outputs = vec![ValueInfo::new(DType::F32, vec![1])];
        g.outputs.push(Output {
            name: "r".into(),
            value: r.into(),
        });
        g
    })
    .unwrap();
    assert!(generate(&plain, "p").unwrap().is_empty());
    assert_eq!(generate(&model(), "m.tflite").unwrap(), files);
    assert!(generate(b"not a model", "x").is_err());
}

/// Writes the stubs of [`model`] into `dir`.
fn write_stubs(dir: &Path) {
    for f in generate(&model(), "m.tflite").unwrap() {
        std::fs::write(dir.join(&f.name), &f.contents).unwrap();
    }
}

fn gxx() -> Command {
    let mut c = Command::new(std::env::var("CXX").unwrap_or_else(|_| "g++".into()));
    c.args(["-std=c++14", "-Wall", "-Wextra", "-Werror"]);
    c
}

#[test]
fn generated_kernels_compile_and_prepare_the_recorded_shapes() {
    let dir = tempfile::tempdir().unwrap();
    write_stubs(dir.path());
    let support = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/stubs");
    let mut sources: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".cc"))
        .collect();
    sources.sort();
    let exe = dir.path().join("harness");
    let out = gxx()
        .arg("-I")
        .arg(dir.path())
        .arg("-I")
        .arg(support)
        .args(&sources)
        .arg(format!("{support}/harness.cc"))
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("g++ runs (install g++ to run the stubs tests)");
    assert!(
        out.status.success(),
        "g++ failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe)
        .args(["Frobnicate", "1x4", "1x4", "ns.Weird-Op", "1x4", "4"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}");
    assert!(
        stdout.contains("Frobnicate prepare 1x4 -> 1x4: ok"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "Frobnicate invoke: custom op Frobnicate is not implemented (fill in Invoke in \
             custom_op_Frobnicate.cc)"
        ),
        "{stdout}"
    );
    // Input shapes the model does not record are refused.
    let run = Command::new(&exe)
        .args(["Frobnicate", "2x4", "2x4"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(!run.status.success());
    assert!(
        stdout.contains("input shapes the model does not record"),
        "{stdout}"
    );
}

/// With TFLite's real C headers (a directory holding `tensorflow/lite/c/common.h`, given by
/// `SGC_TFLITE_INCLUDE`), the kernels also compile against those. No pip package installed by
/// `tools/test.sh` ships them (ai-edge-litert has no headers; tensorflow-cpu 2.21's `tensorflow/include`
/// has only `tensorflow/lite/kernels/shim`), so the test is ignored (and listed as such) in the normal
/// run: `SGC_TFLITE_INCLUDE=DIR cargo test -p sgc-backends -- --ignored` runs it, and without the
/// variable it fails rather than passing unchecked.
#[test]
#[ignore = "needs TFLite's C headers, which no pip package ships: set SGC_TFLITE_INCLUDE and run with --ignored"]
fn generated_kernels_compile_against_tflite_headers() {
    let include = std::env::var_os("SGC_TFLITE_INCLUDE")
        .expect("SGC_TFLITE_INCLUDE must name a directory holding tensorflow/lite/c/common.h");
    let dir = tempfile::tempdir().unwrap();
    write_stubs(dir.path());
    for f in generate(&model(), "m.tflite").unwrap() {
        if !f.name.ends_with(".cc") {
            continue;
        }
        let out = gxx()
            .arg("-c")
            .arg("-I")
            .arg(dir.path())
            .arg("-I")
            .arg(&include)
            .arg(dir.path().join(&f.name))
            .arg("-o")
            .arg(dir.path().join(format!("{}.o", f.name)))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            f.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
