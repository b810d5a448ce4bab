//! `sgc verify SOURCE MODEL`: the source graph in sgc's interpreter against the model in LiteRT (loaded
//! through its C API), on fixtures whose weights exercise every path. The float model must agree to
//! float rounding; a quantized model's SSIM must equal what `tools/quant_quality.py` measures in LiteRT
//! against the float model on the same latents (within 0.001, the bound: the interpreter and the
//! float model differ by ~1e-6); a model made with other options than those given must fail.

mod common;

use std::path::{Path, PathBuf};

use common::{sgc, sgc_lower, Fixture};

fn lowered(dir: &Path, f: &Fixture, name: &str, extra: &[&str]) -> PathBuf {
    let path = dir.join(format!("{}_{name}.tflite", f.name));
    let out = sgc_lower(&f.graph(), &path, extra);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

/// `sgc verify … --json`: exit status, the JSON result (when printed) and stderr.
fn verify(args: &[&str]) -> (bool, Option<serde_json::Value>, String) {
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = sgc(&all);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok());
    (
        out.status.success(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn the_float_model_equals_its_source() {
    let dir = tempfile::tempdir().unwrap();
    // Float rounding only: relative 1e-4 of the output range; a uint8 image may flip one step (1/255)
    // where a value sits on a rounding edge.
    for (fixture, extra, max_rel) in [
        ("generator_full_32", &[][..], "1e-4"),
        (
            "generator_full_32",
            &["--image-output", "uint8-nhwc"][..],
            "0.004",
        ),
        ("synthesis_fused_32", &[][..], "1e-4"),
        ("mapping", &[][..], "1e-4"),
    ] {
        let f = Fixture::named(fixture);
        let model = lowered(dir.path(), &f, &extra.join("_"), extra);
        let graph = f.graph();
        let mut args = vec![s(&graph), s(&model), "--samples", "4"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--max-rel", max_rel]);
        let (ok, json, err) = verify(&args);
        assert!(ok, "{fixture} {extra:?}: {err}");
        assert!(
            !err.contains("INFO:"),
            "LiteRT's setup log is held back: {err}"
        );
        let json = json.expect("json");
        assert_eq!(json["samples"], 4);
        for o in json["outputs"].as_array().unwrap() {
            if let Some(px) = o.get("max_pixel_err") {
                assert!(px.as_i64().unwrap() <= 1, "{fixture}: {o}");
                assert!(o["ssim_min"].as_f64().unwrap() > 0.9999, "{fixture}: {o}");
            }
        }
    }
}

#[test]
fn quantized_ssim_equals_the_benchmark_measure_on_the_same_latents() {
    let dir = tempfile::tempdir().unwrap();
    let f = Fixture::named("generator_full_32");
    let float = lowered(dir.path(), &f, "float", &[]);
    let quant = lowered(dir.path(), &f, "dyn", &["--quantize", "int8-dynamic"]);
    let latents = dir.path().join("latents.npy");
    let bench = common::quant_quality(&float, &quant, &["--save-inputs", s(&latents)]);
    let (ok, json, err) = verify(&[s(&f.graph()), s(&quant), "--data", s(&latents)]);
    assert!(ok, "{err}");
    let o = &json.unwrap()["outputs"][0];
    assert_eq!(o["images"], 16, "every latent of the file is a sample");
    for key in ["ssim_mean", "ssim_min"] {
        let (b, v) = (bench[key].as_f64().unwrap(), o[key].as_f64().unwrap());
        assert!((b - v).abs() <= 1e-3, "{key}: benchmark {b}, verify {v}");
    }
    // Quantization is visible: not the float model's agreement.
    assert!(o["ssim_mean"].as_f64().unwrap() < 0.9999, "{o}");
}

#[test]
fn a_model_of_other_options_fails_the_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let f = Fixture::named("generator_full_32");
    // Lowered with another truncation than the source has: a wrong model that still runs.
    let wrong = lowered(dir.path(), &f, "psi", &["--truncation-psi", "0.2"]);
    let (ok, json, err) = verify(&[
        s(&f.graph()),
        s(&wrong),
        "--samples",
        "4",
        "--min-ssim",
        "0.95",
        "--max-rel",
        "1e-3",
    ]);
    assert!(!ok, "a wrong model passed: {json:?}");
    assert!(
        err.contains("--min-ssim 0.95") && err.contains("--max-rel"),
        "{err}"
    );
    let json = json.expect("the result is printed before failing");
    assert_eq!(json["failures"].as_array().unwrap().len(), 2);
    // The same model with its options passes.
    let (ok, _, err) = verify(&[
        s(&f.graph()),
        s(&wrong),
        "--samples",
        "4",
        "--truncation-psi",
        "0.2",
        "--max-rel",
        "1e-4",
    ]);
    assert!(ok, "{err}");
}

/// A weight buffer of the model overwritten (the file stays a valid model): caught.
#[test]
fn a_model_with_corrupted_weights_fails() {
    let dir = tempfile::tempdir().unwrap();
    let f = Fixture::named("generator_full_32");
    let good = lowered(dir.path(), &f, "float", &[]);
    let mut bytes = std::fs::read(&good).unwrap();
    let m = sgc_backends::read_model(&bytes).unwrap();
    // The largest constant buffer: a conv or dense weight.
    let weights = m
        .buffers
        .iter()
        .filter_map(|b| b.data.clone())
        .max_by_key(|r| r.len())
        .unwrap();
    for v in bytes[weights].chunks_exact_mut(4) {
        v.copy_from_slice(&0.5f32.to_le_bytes());
    }
    let bad = dir.path().join("corrupt.tflite");
    std::fs::write(&bad, &bytes).unwrap();
    let (ok, _, err) = verify(&[
        s(&f.graph()),
        s(&bad),
        "--samples",
        "2",
        "--min-ssim",
        "0.9",
    ]);
    assert!(!ok && err.contains("SSIM mean"), "{err}");
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let f = Fixture::named("generator_full_32");
    let model = lowered(dir.path(), &f, "float", &[]);
    let mapping = lowered(dir.path(), &Fixture::named("mapping"), "float", &[]);
    let wrong_shape = dir.path().join("wrong_shape.npy");
    let npy_of =
        |shape: &str, n: usize| sgc_frontends::npy::encode_raw("<f4", shape, &vec![0; 4 * n]);
    std::fs::write(&wrong_shape, npy_of("(3, 7)", 21)).unwrap();
    let truncated = dir.path().join("truncated.npy");
    std::fs::write(&truncated, &npy_of("(2, 1, 64)", 128)[..200]).unwrap();
    let (graph, model, mapping) = (f.graph(), model, mapping);
    for (args, code, says) in [
        (
            vec![s(&graph), s(&model), "--data", s(&wrong_shape)],
            1,
            "does not fit input 'latents_in'",
        ),
        (
            vec![s(&graph), s(&model), "--data", s(&truncated)],
            1,
            "truncated.npy: the data is",
        ),
        (
            vec![s(&graph), s(&model), "--data", "nope=x.npy"],
            2,
            "no input 'nope'",
        ),
        (
            vec![s(&graph), s(&mapping), "--samples", "1"],
            1,
            "output 'G_mapping/dlatents_out' is not an output of",
        ),
        (
            vec![
                s(&graph),
                s(&model),
                "--litert-lib",
                "/nonexistent/libLiteRt.so",
            ],
            1,
            "/nonexistent/libLiteRt.so: cannot load",
        ),
        (
            vec![s(&graph), s(&graph), "--samples", "1"],
            1,
            "LiteRT could not load the model",
        ),
        // What LiteRT logged comes with the failure (and only then).
        (
            vec![s(&graph), s(&graph), "--samples", "1"],
            1,
            "should be 'TFL3'",
        ),
    ] {
        let mut all = vec!["verify"];
        all.extend_from_slice(&args);
        let out = sgc(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn a_machine_without_the_runtime_is_told_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let f = Fixture::named("mapping");
    let model = lowered(dir.path(), &f, "float", &[]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sgc"))
        .args(["verify", s(&f.graph()), s(&model)])
        .current_dir(dir.path())
        .env_remove("SGC_LITERT_LIB")
        .env_remove("SGC_PYTHON")
        .env_remove("VIRTUAL_ENV")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("libLiteRt.so) was not found") && err.contains("pip install ai-edge-litert"),
        "{err}"
    );
}
