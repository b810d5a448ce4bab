//! The command line on bad input: one clear line naming the file or node and the reason, a non-zero exit,
//! no panic, and no output file (not even a partial one).

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{sgc, sgc_lower};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Lowers `input` into a fresh directory and expects failure (exit 1) with every `expected` piece in the
/// message.
fn expect_failure(input: &Path, extra: &[&str], expected: &[&str]) {
    expect_failure_code(input, extra, expected, 1)
}

fn expect_failure_code(input: &Path, extra: &[&str], expected: &[&str], code: i32) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.tflite");
    let o = sgc_lower(input, &out, extra);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(code), "exit code; stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    for piece in expected {
        assert!(err.contains(piece), "'{piece}' not in: {err}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a file was left behind"
    );
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/stylegan_generator_32.pb")
}

const NEG: &str = r#"
node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } }
       attr { key: "shape" value { shape { dim { size: 1 } dim { size: 4 } } } } }
"#;

#[test]
fn missing_file() {
    expect_failure(
        Path::new("/nonexistent/graph.pb"),
        &[],
        &["/nonexistent/graph.pb"],
    );
}

#[test]
fn truncated_and_corrupt_pb() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(example()).unwrap();
    for cut in [1, 7, bytes.len() / 3, bytes.len() - 1] {
        let p = write(dir.path(), "cut.pb", &bytes[..cut]);
        expect_failure(&p, &[], &["cut.pb"]);
    }
    let mut corrupt = bytes.clone();
    for i in (0..corrupt.len()).step_by(97) {
        corrupt[i] ^= 0x5a;
    }
    let p = write(dir.path(), "corrupt.pb", &corrupt);
    let o = sgc(&[
        "lower",
        p.to_str().unwrap(),
        "-o",
        dir.path().join("o.tflite").to_str().unwrap(),
    ]);
    assert_ne!(o.status.code(), Some(0));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

#[test]
fn unknown_output_name() {
    expect_failure(
        &example(),
        &["--outputs", "no/such/node"],
        &["no/such/node"],
    );
}

#[test]
fn missing_input_node() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{NEG}node {{ name: \"y\" op: \"Neg\" input: \"ghost\" }}");
    let p = write(dir.path(), "g.pbtxt", text.as_bytes());
    expect_failure(&p, &[], &["g.pbtxt", "'y'", "ghost"]);
}

#[test]
fn cycle() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{NEG}node {{ name: \"a\" op: \"Neg\" input: \"b\" }} node {{ name: \"b\" op: \"Neg\" input: \"a\" }}\
         node {{ name: \"y\" op: \"AddV2\" input: \"x\" input: \"a\" }}"
    );
    let p = write(dir.path(), "g.pbtxt", text.as_bytes());
    expect_failure(&p, &[], &["g.pbtxt", "cycle"]);
}

#[test]
fn op_without_lowering() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{NEG}node {{ name: \"y\" op: \"Frobnicate\" input: \"x\" }}");
    let p = write(dir.path(), "g.pbtxt", text.as_bytes());
    expect_failure_code(&p, &[], &["g.pbtxt", "'y'", "Frobnicate"], 3);
}

#[test]
fn help_lists_exit_codes() {
    let o = sgc(&["--help"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0));
    for piece in ["Exit codes", "usage error", "unsupported op"] {
        assert!(out.contains(piece), "'{piece}' not in: {out}");
    }
}

#[test]
fn failure_keeps_an_existing_output_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let out = write(dir.path(), "model.tflite", b"previous model");
    let bad = write(dir.path(), "bad.pb", b"\xff\xff\xff");
    let o = sgc(&["lower", bad.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(std::fs::read(&out).unwrap(), b"previous model");
}

#[test]
fn usage_errors_exit_2() {
    let o = sgc(&[
        "lower",
        example().to_str().unwrap(),
        "-o",
        "x.tflite",
        "--inputs",
        "bad",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = sgc(&["lower"]);
    assert_eq!(o.status.code(), Some(2));
    // A pass name that is not in the pipeline (a typo, an old name) is an error, not an empty dump.
    let dir = tempfile::tempdir().unwrap();
    let o = sgc_lower(
        &example(),
        &dir.path().join("x.tflite"),
        &[
            "--dump-after",
            "prune-resolution",
            "--dump-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--dump-after prune-resolution: no pass of that name"));
}

#[test]
fn lowers_the_bundled_example_and_lists_passes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g.tflite");
    let o = sgc(&[
        "lower",
        example().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[4..8], b"TFL3");
    assert!(
        stderr(&o).contains("batch dimension set to 1"),
        "{}",
        stderr(&o)
    );

    let o = sgc(&["passes"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for pass in ["freeze-fixes", "fold-switch-merge", "nchw-to-nhwc"] {
        assert!(text.contains(pass), "{text}");
    }
}

#[test]
fn same_input_gives_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.tflite");
    let b = dir.path().join("b.tflite");
    for out in [&a, &b] {
        let o = sgc(&[
            "lower",
            example().to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
}

#[test]
fn dump_after_writes_ir_text_and_graphviz() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g.tflite");
    let dumps = dir.path().join("ir");
    std::fs::create_dir(&dumps).unwrap();
    let o = sgc(&[
        "lower",
        example().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--dump-after",
        "fold-switch-merge,egraph",
        "--dump-dir",
        dumps.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut names: Vec<String> = std::fs::read_dir(&dumps)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(names.iter().any(|n| n.ends_with("-egraph.dot")));
    let text = std::fs::read_to_string(
        dumps.join(names.iter().find(|n| n.ends_with("-egraph.txt")).unwrap()),
    )
    .unwrap();
    assert!(text.contains("LeakyRelu("), "{text}");
    assert!(!text.contains("= Switch("));
}

/// `--stats`: a line per stage — import, every pass of the pipeline in order, backend, write — with its
/// time and, on Linux, the memory after it.
#[test]
fn stats_lists_every_stage() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.tflite");
    let o = sgc_lower(&example(), &out, &["--stats"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let stages: Vec<&str> = err
        .lines()
        .skip_while(|l| !l.starts_with("stage "))
        .skip(1)
        .take_while(|l| !l.starts_with("wrote "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let passes = String::from_utf8(sgc(&["passes"]).stdout).unwrap();
    let (_, pipeline) = passes.lines().next().unwrap().split_once(": ").unwrap();
    let mut expected = vec!["import"];
    expected.extend(pipeline.split(" → "));
    expected.extend(["backend", "write"]);
    assert_eq!(stages, expected, "{err}");
    if cfg!(target_os = "linux") {
        assert!(!err.contains('—'), "memory is known on Linux: {err}");
    }
}
