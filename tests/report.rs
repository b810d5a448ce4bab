//! `sgc report`: snapshots of the op-coverage report of every fixture (text and JSON; Markdown and HTML for
//! one; text for the generic conv nets and generators) and of small hand-written graphs with an op TFLite lacks, plus the command line's `--fail-on`.
//!
//! The snapshots live in `tests/snapshots/`; after an intended change, review them with
//! `cargo insta review` (or `INSTA_UPDATE=always cargo test --test report` and `git diff`). CI sets
//! `CI=true`, so a changed snapshot fails there.

mod common;

use std::path::Path;
use std::process::Command;

use common::Fixture;
use sgc::report::{report, Format, Reported};
use sgc::LowerOptions;
use sgc_backends::report::dot::Picture;
use sgc_passes::io::IoSpec;

/// The report of a graph, with a path relative to the repository so that snapshots are stable.
fn reported(relative: &str, outputs: Vec<String>) -> Reported {
    let options = LowerOptions {
        io: IoSpec {
            outputs,
            input_shapes: Vec::new(),
        },
        ..Default::default()
    };
    report(Path::new(relative), &options).expect("the report is built")
}

fn fixture_report(graph: &Path) -> Reported {
    let dir = graph.parent().unwrap();
    let f = Fixture::load(dir);
    let root = common::repo_root();
    let relative = graph
        .strip_prefix(&root)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    report(Path::new(&relative), &f.lower_options()).expect("the report is built")
}

#[test]
fn fixture_reports() {
    insta::glob!("fixtures/*/graph.pb", |path| {
        let r = fixture_report(path);
        // Every op type of every fixture has a fate, and nothing is blocked: they all lower.
        assert!(r.report.ops.iter().all(|e| !e.fates.is_empty()));
        assert_eq!(r.report.lowering_error, None, "{}", r.render(Format::Text));
        insta::assert_snapshot!("text", r.render(Format::Text));
        insta::assert_snapshot!("json", r.render(Format::Json));
    });
}

/// The conv nets and generators beyond StyleGAN (`tests/fixtures-generic/`): every op type with its
/// fate, nothing blocked, and each snapshot says which ops were fused or folded away.
#[test]
fn generic_fixture_reports() {
    insta::glob!("fixtures-generic/*/graph.pb", |path| {
        let r = fixture_report(path);
        assert!(r.report.ops.iter().all(|e| !e.fates.is_empty()));
        assert_eq!(r.report.lowering_error, None, "{}", r.render(Format::Text));
        insta::assert_snapshot!("generic_text", r.render(Format::Text));
    });
}

#[test]
fn mapping_report_in_markdown_and_html() {
    let r = fixture_report(&common::fixtures_dir().join("mapping/graph.pb"));
    insta::assert_snapshot!("mapping_md", r.render(Format::Md));
    let none = Picture::Unavailable("pictures are not rendered in this test".into());
    let html = r.render_html_with(&none, &none);
    insta::assert_snapshot!("mapping_html", html);
    let (before, after) = r.dots();
    assert!(before.starts_with("digraph") && after.contains("fillcolor"));
}

#[test]
fn html_embeds_graphviz_svg_when_dot_is_installed() {
    let r = fixture_report(&common::fixtures_dir().join("synthesis_recursive_32/graph.pb"));
    let html = r.render(Format::Html);
    assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
    // Self-contained: no scripts, stylesheets or images fetched from anywhere.
    for fetch in ["<script", "<link", "<img", "src=", "@import"] {
        assert!(!html.contains(fetch), "{fetch} in the page");
    }
    let has_dot = Command::new("dot").arg("-V").output().is_ok();
    if has_dot {
        assert_eq!(html.matches("<svg").count(), 2, "two pictures");
        // Each starts fitted to the page width, with a (script-free) checkbox for full size.
        assert_eq!(html.matches("class=\"fit\"").count(), 2);
        assert!(html.contains("<label for=\"fit-after\"> fit to the page width (untick for full size)</label>\n<div class=\"graph\"><svg"));
    } else {
        assert!(html.contains("Graphviz `dot` is not available"));
    }
}

#[test]
fn graphs_with_ops_tflite_lacks() {
    insta::glob!("report/*.pbtxt", |path| {
        let root = common::repo_root();
        let relative = path
            .strip_prefix(&root)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let r = reported(&relative, Vec::new());
        insta::assert_snapshot!("text", r.render(Format::Text));
        insta::assert_snapshot!("json", r.render(Format::Json));
    });
}

fn sgc(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sgc"))
        .args(args)
        .current_dir(common::repo_root())
        .output()
        .expect("sgc runs")
}

#[test]
fn fail_on_exits_3_after_writing_the_report() {
    let o = sgc(&[
        "report",
        "tests/report/blocked_op.pbtxt",
        "--fail-on",
        "blocked",
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(
        stdout.contains("Frobnicate") && stdout.contains("BLOCKED"),
        "{stdout}"
    );
    assert!(stderr.contains("--fail-on"), "{stderr}");

    // A custom op is not blocked, but --fail-on custom catches it.
    let o = sgc(&[
        "report",
        "tests/report/custom_op.pbtxt",
        "--fail-on",
        "blocked",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let o = sgc(&[
        "report",
        "tests/report/custom_op.pbtxt",
        "--fail-on",
        "custom",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(v["summary"]["op_types"]["custom"], 1);

    // A graph that lowers passes both.
    let o = sgc(&[
        "report",
        "examples/stylegan_generator_32.pb",
        "--fail-on",
        "blocked",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = sgc(&[
        "lower",
        "tests/report/blocked_op.pbtxt",
        "-o",
        "/nonexistent/x.tflite",
    ]);
    assert_eq!(o.status.code(), Some(3), "lower: unsupported op");
}

#[test]
fn report_writes_files_and_rejects_bad_usage() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["text", "json", "md", "html"] {
        let out = dir.path().join(format!("r.{format}"));
        let o = sgc(&[
            "report",
            "tests/fixtures/mapping/graph.pb",
            "--format",
            format,
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.contains("MatMul"), "{format}");
    }
    let o = sgc(&[
        "report",
        "tests/fixtures/mapping/graph.pb",
        "--format",
        "pdf",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = sgc(&[
        "report",
        "tests/fixtures/mapping/graph.pb",
        "--passes",
        "nope",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = sgc(&["report", "/nonexistent/graph.pb"]);
    assert_eq!(o.status.code(), Some(1));
}
