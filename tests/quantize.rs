//! `sgc lower --quantize`: each weight mode on fixtures whose weights exercise every path (dense
//! layers, 3×3 and 1×1 convolutions, the depthwise blur, the fused-upscale TRANSPOSE_CONV), judged in
//! LiteRT against sgc's float32 model of the same graph by `tools/quant_quality.py` on 16 seeded
//! latents: SSIM (mean, min) and PSNR of the uint8 images, the largest pixel difference.
//!
//! The bounds below were measured on these fixtures (random weights, 32 px, few channels, so fewer
//! terms average the rounding out than in a real StyleGAN) with a margin; they are regression bounds,
//! not claims about full-size models (see `tools/bench_quant.py` for those).

mod common;

use std::path::Path;

use common::{sgc, sgc_lower, Fixture};
use sgc::{lower, LowerOptions};
use sgc_backends::tflite::quant::WeightMode;

/// `(mode, least SSIM of any image, least mean PSNR in dB, largest pixel difference)`.
const BOUNDS: &[(WeightMode, f64, f64, i64)] = &[
    (WeightMode::Fp16, 0.999, 55.0, 2),
    (WeightMode::Int8Weights, 0.98, 36.0, 40),
    (WeightMode::Int8Dynamic, 0.97, 33.0, 60),
    (WeightMode::Int4Weights, 0.5, 18.0, 255),
    (WeightMode::Int4Dynamic, 0.5, 18.0, 255),
];

fn lowered(f: &Fixture, mode: WeightMode, keep_float: &[&str]) -> Vec<u8> {
    let mut options = f.lower_options();
    options.backend.weights = mode;
    options.quantize_layers = keep_float
        .iter()
        .map(|s| (s.to_string(), WeightMode::Float))
        .collect();
    lower(&f.graph(), &options)
        .unwrap_or_else(|e| panic!("{}: {e}", f.name))
        .tflite()
        .unwrap()
}

/// The quality report of `model` against `reference` (see [`common::quant_quality`]).
fn quality(reference: &Path, model: &Path) -> serde_json::Value {
    common::quant_quality(reference, model, &[])
}

/// `(tensor type, count)` of the model's constant tensors, and its operator names.
fn tensor_types_and_ops(model: &[u8]) -> (Vec<i8>, Vec<String>) {
    let m = sgc_backends::read_model(model).unwrap();
    let sg = &m.subgraphs[0];
    let types = sg
        .tensors
        .iter()
        .filter(|t| m.buffers[t.buffer as usize].data.is_some())
        .map(|t| t.tensor_type)
        .collect();
    let ops = sg
        .operators
        .iter()
        .map(|o| m.operator_codes[o.opcode_index as usize].name())
        .collect();
    (types, ops)
}

#[test]
fn every_mode_keeps_image_quality_and_shrinks_the_model() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["generator_full_32", "synthesis_fused_32"] {
        let f = Fixture::named(name);
        let float = lowered(&f, WeightMode::Float, &[]);
        let float_path = dir.path().join(format!("{name}_float.tflite"));
        std::fs::write(&float_path, &float).unwrap();
        for &(mode, min_ssim, min_psnr, max_pixel) in BOUNDS {
            let model = lowered(&f, mode, &[]);
            let path = dir.path().join(format!("{name}_{mode:?}.tflite"));
            std::fs::write(&path, &model).unwrap();
            let q = quality(&float_path, &path);
            println!(
                "{name} {mode:?}: {} bytes (float {}), {q}",
                model.len(),
                float.len()
            );
            let what = format!("{name} {mode:?}: {q}");
            assert!(q["ssim_min"].as_f64().unwrap() >= min_ssim, "{what}");
            assert!(q["psnr_mean"].as_f64().unwrap() >= min_psnr, "{what}");
            assert!(q["max_pixel_err"].as_i64().unwrap() <= max_pixel, "{what}");

            // Size: float16 halves the weights, int8 quarters them, int4 eighths them (plus scales and
            // the rest).
            let ratio = model.len() as f64 / float.len() as f64;
            let (bound, stored) = match mode {
                WeightMode::Fp16 => (0.56, 1), // FLOAT16
                WeightMode::Int8Weights | WeightMode::Int8Dynamic => (0.36, 9), // INT8
                _ => (0.24, 17),               // INT4
            };
            assert!(ratio <= bound, "{what}: size ratio {ratio:.3}");

            // The weights are stored quantized; DEQUANTIZE only where the compute is float: every weight
            // but in the dynamic modes, where only the ops without a dynamic-range kernel for the
            // stored type compute in float (DEPTHWISE_CONV_2D; for int4 also TRANSPOSE_CONV).
            // (Counted in this model: the upscales' form depends on the mode, see
            // `upscales_take_the_form_that_is_fast_for_the_weight_mode`.)
            let (types, ops) = tensor_types_and_ops(&model);
            let conv_ops =
                |names: &[&str]| ops.iter().filter(|o| names.contains(&o.as_str())).count();
            let weights = conv_ops(&[
                "CONV_2D",
                "DEPTHWISE_CONV_2D",
                "TRANSPOSE_CONV",
                "FULLY_CONNECTED",
            ]);
            let quantized = types.iter().filter(|&&t| t == stored).count();
            assert_eq!(
                quantized, weights,
                "{what}: one stored weight per conv/dense op"
            );
            let dequantize = ops.iter().filter(|o| *o == "DEQUANTIZE").count();
            let expected = match mode {
                WeightMode::Int8Dynamic => conv_ops(&["DEPTHWISE_CONV_2D"]),
                WeightMode::Int4Dynamic => conv_ops(&["DEPTHWISE_CONV_2D", "TRANSPOSE_CONV"]),
                _ => weights,
            };
            assert_eq!(dequantize, expected, "{what}: DEQUANTIZE ops");
        }
    }
}

/// `--quantize int8` (full integer): ranges calibrated in LiteRT, then the convolutions with at least
/// 32×32 output positions and 8 channels compute in int8 (int8 in, int8 out, int32 bias), between a
/// QUANTIZE and a DEQUANTIZE; the rest keeps int8 weights with float activations. On these 32 px
/// fixtures that is the 32 px block's convs. Bounds as for int8-dynamic (measured: SSIM min 0.986 and
/// 0.982, PSNR 36.9 and 36.4 dB, max pixel 27 and 37).
#[test]
fn full_integer_int8_runs_the_large_convs_in_int8() {
    const INT8: i8 = 9;
    const INT32: i8 = 2;
    const FLOAT32: i8 = 0;
    let dir = tempfile::tempdir().unwrap();
    for name in ["generator_full_32", "synthesis_fused_32"] {
        let f = Fixture::named(name);
        let float_path = dir.path().join(format!("{name}_float.tflite"));
        std::fs::write(&float_path, lowered(&f, WeightMode::Float, &[])).unwrap();
        let model = lowered(&f, WeightMode::Int8, &[]);
        let path = dir.path().join(format!("{name}_int8.tflite"));
        std::fs::write(&path, &model).unwrap();

        let m = sgc_backends::read_model(&model).unwrap();
        let sg = &m.subgraphs[0];
        let ty = |t: i32| sg.tensors[t as usize].tensor_type;
        let names: Vec<String> = sg
            .operators
            .iter()
            .map(|o| m.operator_codes[o.opcode_index as usize].name())
            .collect();
        let int8_convs: Vec<_> = sg
            .operators
            .iter()
            .zip(&names)
            .filter(|(o, n)| n.contains("CONV") && ty(o.outputs[0]) == INT8)
            .collect();
        assert!(!int8_convs.is_empty(), "{name}: no int8 conv in {names:?}");
        for (o, n) in &int8_convs {
            let x = if n.as_str() == "TRANSPOSE_CONV" { 2 } else { 0 };
            let w = o.inputs[1];
            assert_eq!(ty(o.inputs[x]), INT8, "{name}: {n} input");
            assert_eq!(ty(w), INT8, "{name}: {n} weight");
            if let Some(&b) = o.inputs.get(x.max(1) + 1).filter(|&&b| b >= 0) {
                assert_eq!(ty(b), INT32, "{name}: {n} bias");
            }
            let out = &sg.tensors[o.outputs[0] as usize];
            assert!(
                out.shape[1] * out.shape[2] >= 1024,
                "{name}: {n} {:?}",
                out.shape
            );
        }
        let count = |op: &str| names.iter().filter(|n| n.as_str() == op).count();
        assert!(
            count("QUANTIZE") >= 1 && count("DEQUANTIZE") >= 1,
            "{names:?}"
        );
        // The model's inputs and outputs stay float32.
        for &t in sg.inputs.iter().chain(&sg.outputs) {
            assert_eq!(ty(t), FLOAT32, "{name}: model input/output {t}");
        }

        let q = quality(&float_path, &path);
        println!("{name} int8: {} bytes, {q}", model.len());
        let what = format!("{name} int8: {q}");
        assert!(q["ssim_min"].as_f64().unwrap() >= 0.97, "{what}");
        assert!(q["psnr_mean"].as_f64().unwrap() >= 33.0, "{what}");
        assert!(q["max_pixel_err"].as_i64().unwrap() <= 60, "{what}");
    }
}

/// `--weight-rounding gptq`: the same model but for the integer values of the conv and dense weights
/// (same size, tensor types, operators and scales), rounded by the layers' inputs on the calibration
/// latents (seeded: not those quant_quality.py judges on), with less error in the image than rounding
/// to nearest. Measured on these fixtures (PSNR mean, nearest → gptq): generator_full_32 int8
/// 40.4 → 44.2 dB, int4 19.3 → 21.7; synthesis_fused_32 int8 43.1 → 44.3, int4 21.1 → 21.8; the
/// bounds ask for +0.5 dB (int8) and +0.3 dB (int4).
#[test]
fn gptq_rounding_keeps_the_model_and_lowers_the_error() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["generator_full_32", "synthesis_fused_32"] {
        let f = Fixture::named(name);
        let float_path = dir.path().join(format!("{name}_float.tflite"));
        std::fs::write(&float_path, lowered(&f, WeightMode::Float, &[])).unwrap();
        for (mode, gain_db) in [
            (WeightMode::Int8Weights, 0.5),
            (WeightMode::Int4Weights, 0.3),
        ] {
            let nearest = lowered(&f, mode, &[]);
            let mut options = f.lower_options();
            options.backend.weights = mode;
            options.calibration.gptq = true;
            let lowered = lower(&f.graph(), &options).unwrap();
            assert!(
                lowered.notes.iter().any(|n| n.starts_with("gptq: ")),
                "{:?}",
                lowered.notes
            );
            let gptq = lowered.tflite().unwrap();
            assert_eq!(gptq.len(), nearest.len(), "{name} {}: size", mode.name());
            assert_eq!(
                tensor_types_and_ops(&gptq),
                tensor_types_and_ops(&nearest),
                "{name} {}",
                mode.name()
            );
            assert_ne!(gptq, nearest, "{name} {}: no value changed", mode.name());
            let mut psnr = Vec::new();
            for (tag, model) in [("nearest", &nearest), ("gptq", &gptq)] {
                let path = dir
                    .path()
                    .join(format!("{name}_{}_{tag}.tflite", mode.name()));
                std::fs::write(&path, model).unwrap();
                let q = quality(&float_path, &path);
                println!("{name} {} {tag}: {q}", mode.name());
                psnr.push(q["psnr_mean"].as_f64().unwrap());
            }
            assert!(
                psnr[1] >= psnr[0] + gain_db,
                "{name} {}: PSNR nearest {:.2} dB, gptq {:.2} dB",
                mode.name(),
                psnr[0],
                psnr[1]
            );
        }
    }
}

/// `--calibration-data`: the ranges come from the user's inputs (the model differs from the seeded
/// one), and a file that does not fit the input — its shape or its dtype — is an error naming the file
/// and what does not fit, with no model written.
#[test]
fn calibration_data_is_used_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let f = Fixture::named("generator_full_32");
    let graph = f.graph();
    let npy = |name: &str, t: sgc_ir::Tensor| {
        let p = dir.path().join(name);
        common::npy::write(&p, &t);
        p
    };
    let values: Vec<f32> = (0..4 * 64)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
        .collect();
    let good = npy("good.npy", sgc_ir::Tensor::from_vec(vec![4, 1, 64], values));
    let seeded = dir.path().join("seeded.tflite");
    let given = dir.path().join("given.tflite");
    assert!(sgc_lower(&graph, &seeded, &["--quantize", "int8"])
        .status
        .success());
    let o = sgc_lower(
        &graph,
        &given,
        &[
            "--quantize",
            "int8",
            "--calibration-data",
            good.to_str().unwrap(),
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("calibrated on 4 inputs"), "{err}");
    assert_ne!(
        std::fs::read(&seeded).unwrap(),
        std::fs::read(&given).unwrap()
    );

    let shape = npy(
        "shape.npy",
        sgc_ir::Tensor::from_vec(vec![4, 1, 63], vec![0f32; 4 * 63]),
    );
    let dtype = npy(
        "dtype.npy",
        sgc_ir::Tensor::from_vec(vec![4, 1, 64], vec![0i32; 4 * 64]),
    );
    let out = dir.path().join("bad.tflite");
    for (file, expected) in [
        (
            &shape,
            "shape [4, 1, 63] does not fit input 'latents_in' of shape [1, 64]",
        ),
        (&dtype, "i32 data for input 'latents_in' of type f32"),
    ] {
        let o = sgc_lower(
            &graph,
            &out,
            &[
                "--quantize",
                "int8",
                "--calibration-data",
                file.to_str().unwrap(),
            ],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains(file.to_str().unwrap()) && err.contains(expected),
            "{err}"
        );
        assert!(!out.exists(), "no model is written");
    }
}

/// A conv (27 weights per output channel, 135 in all: int4 pairs straddle channels and the last byte is
/// half empty) into a dense layer, with integer weights in [-7, 7] and ±7 in every output channel: int4
/// represents them exactly (scale 1), so LiteRT must compute with the int4 model what it computes with
/// the float32 one — a test of the packing (nibble order, layout transposed before packing) and scales
/// that SSIM bounds alone could miss.
#[test]
fn int4_weights_are_read_back_exactly() {
    fn weights(shape: &[usize], channels_last: usize) -> String {
        let n: usize = shape.iter().product();
        let dims: String = shape
            .iter()
            .map(|d| format!("dim {{ size: {d} }} "))
            .collect();
        let values: String = (0..n)
            .map(|i| {
                // The first weight of each output channel (the last axis) is 7; the rest cycle.
                let v: i64 = if i < channels_last {
                    7
                } else {
                    ((i * 5 + 2) % 15) as i64 - 7
                };
                format!("float_val: {v} ")
            })
            .collect();
        format!("tensor {{ dtype: DT_FLOAT tensor_shape {{ {dims}}} {values}}}")
    }
    let graph = format!(
        r#"
node {{ name: "x" op: "Placeholder" attr {{ key: "dtype" value {{ type: DT_FLOAT }} }}
  attr {{ key: "shape" value {{ shape {{ dim {{ size: 1 }} dim {{ size: 4 }} dim {{ size: 4 }} dim {{ size: 3 }} }} }} }} }}
node {{ name: "w" op: "Const" attr {{ key: "dtype" value {{ type: DT_FLOAT }} }} attr {{ key: "value" value {{ {} }} }} }}
node {{ name: "conv" op: "Conv2D" input: "x" input: "w" attr {{ key: "T" value {{ type: DT_FLOAT }} }}
  attr {{ key: "strides" value {{ list {{ i: 1 i: 1 i: 1 i: 1 }} }} }} attr {{ key: "padding" value {{ s: "SAME" }} }}
  attr {{ key: "data_format" value {{ s: "NHWC" }} }} }}
node {{ name: "shape" op: "Const" attr {{ key: "dtype" value {{ type: DT_INT32 }} }}
  attr {{ key: "value" value {{ tensor {{ dtype: DT_INT32 tensor_shape {{ dim {{ size: 2 }} }} int_val: 1 int_val: 80 }} }} }} }}
node {{ name: "flat" op: "Reshape" input: "conv" input: "shape" attr {{ key: "T" value {{ type: DT_FLOAT }} }} }}
node {{ name: "v" op: "Const" attr {{ key: "dtype" value {{ type: DT_FLOAT }} }} attr {{ key: "value" value {{ {} }} }} }}
node {{ name: "dense" op: "MatMul" input: "flat" input: "v" attr {{ key: "T" value {{ type: DT_FLOAT }} }} }}
"#,
        weights(&[3, 3, 3, 5], 5),
        weights(&[80, 6], 6)
    );
    let dir = tempfile::tempdir().unwrap();
    let pbtxt = dir.path().join("int4.pbtxt");
    std::fs::write(&pbtxt, graph).unwrap();
    let x: Vec<f32> = (0..48).map(|i| ((i * 7 % 11) as f32 - 5.0) / 4.0).collect();
    let input = dir.path().join("x.npy");
    common::npy::write(&input, &sgc_ir::Tensor::from_vec(vec![1, 4, 4, 3], x));
    let run = |mode: &str| {
        let model = dir.path().join(format!("{mode}.tflite"));
        let o = sgc_lower(&pbtxt, &model, &["--quantize", mode]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let (types, _) = tensor_types_and_ops(&std::fs::read(&model).unwrap());
        let (mut outs, _) = common::run_litert(&model, &[("x".into(), input.clone())]);
        (types, outs.remove(0))
    };
    let (_, float) = run("float");
    let (types, int4) = run("int4-weights");
    assert_eq!(
        types.iter().filter(|&&t| t == 17).count(),
        2,
        "two INT4 weights"
    );
    // Float kernels on equal weights: only the summation order may differ.
    common::assert_close("int4-weights", &int4, &float);
    // The dynamic-range kernels also quantize each input to int8 at run time (about 1/255 of its range
    // per value): a bound of 2 % of the output range, where a misread nibble costs ~100 %.
    let (_, dynamic) = run("int4-dynamic");
    let (err, max) = common::errors(&dynamic, &float);
    assert!(err <= 0.02 * max, "int4-dynamic: max error {err} of {max}");
}

#[test]
fn keep_float_leaves_the_matching_layers_float() {
    let f = Fixture::named("generator_full_32");
    let all = lowered(&f, WeightMode::Int8Dynamic, &[]);
    let kept = lowered(&f, WeightMode::Int8Dynamic, &["/G_mapping/"]);
    let int8 = |m: &[u8]| {
        tensor_types_and_ops(m)
            .0
            .iter()
            .filter(|&&t| t == 9)
            .count()
    };
    // The mapping network of this fixture has 8 dense layers.
    assert_eq!(int8(&all) - int8(&kept), 8);
    assert!(kept.len() > all.len());
    let no_match = lowered(&f, WeightMode::Int8Dynamic, &["^nothing-matches$"]);
    assert_eq!(no_match, all);
}

#[test]
fn layer_modes_override_the_default_and_the_last_match_wins() {
    let f = Fixture::named("generator_full_32");
    let with = |layers: &[(&str, WeightMode)]| {
        let mut options = f.lower_options();
        options.quantize_layers = layers.iter().map(|(p, m)| (p.to_string(), *m)).collect();
        lower(&f.graph(), &options).unwrap().tflite().unwrap()
    };
    let int8 = |m: &[u8]| {
        tensor_types_and_ops(m)
            .0
            .iter()
            .filter(|&&t| t == 9)
            .count()
    };
    let mapping = with(&[("/G_mapping/", WeightMode::Int8Dynamic)]);
    assert_eq!(
        int8(&mapping),
        8,
        "only the mapping network's 8 dense layers"
    );
    let but_one = with(&[
        ("/G_mapping/", WeightMode::Int8Dynamic),
        ("/G_mapping/Dense0/", WeightMode::Float),
    ]);
    assert_eq!(int8(&but_one), 7);
}

#[test]
fn bad_quantize_options_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.tflite");
    let graph = Fixture::named("mapping").graph();
    for (args, expected) in [
        (
            &["--quantize", "int3"][..],
            "unknown quantization mode 'int3'",
        ),
        (
            &["--quantize", "int8-dynamic", "--quantize-keep-float", "("][..],
            "quantization layer pattern '('",
        ),
        (
            &["--quantize-layer", "x=int3"][..],
            "--quantize-layer 'x=int3'",
        ),
        (&["--quantize-layer", "no-mode"][..], "expected REGEX=MODE"),
        (
            &["--quantize", "int8-dynamic", "--weight-rounding", "best"][..],
            "--weight-rounding best: expected nearest or gptq",
        ),
    ] {
        let o = sgc_lower(&graph, &out, args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(expected), "{err}");
        assert!(!out.exists(), "no model is written");
    }
    assert!(sgc(&["lower", "--help"]).status.success());

    // `--quantize int8` and `--weight-rounding gptq` calibrate in LiteRT: without it, exit 1 naming
    // the library, no file.
    for mode in [
        &["int8"][..],
        &["int8-dynamic", "--weight-rounding", "gptq"],
    ] {
        let mut args = vec!["--quantize"];
        args.extend(mode);
        args.extend(["--litert-lib", "/nonexistent/libLiteRt.so"]);
        let o = sgc_lower(&graph, &out, &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{mode:?}: {err}");
        assert!(
            err.contains("/nonexistent/libLiteRt.so: cannot load"),
            "{err}"
        );
        assert!(!out.exists(), "no model is written");
    }
}

#[test]
fn float_mode_writes_the_model_it_always_wrote() {
    // `--quantize float` is the default: the same bytes as with no option at all.
    let f = Fixture::named("synthesis_fused_32");
    let plain = lower(&f.graph(), &f.lower_options())
        .unwrap()
        .tflite()
        .unwrap();
    assert_eq!(lowered(&f, WeightMode::Float, &[]), plain);
    let _ = LowerOptions::default();
}

/// Upscales are sub-pixel phase convs where the convs compute in float (XNNPACK's TRANSPOSE_CONV is
/// slow) and stay transposed convs where the op reads int8 weights itself (LiteRT's dynamic-range
/// TRANSPOSE_CONV is as fast as its CONV_2D): `sgc_rules::ConvKernels`.
#[test]
fn upscales_take_the_form_that_is_fast_for_the_weight_mode() {
    let f = Fixture::named("synthesis_fused_32");
    for (mode, transposed) in [
        (WeightMode::Float, false),
        (WeightMode::Fp16, false),
        (WeightMode::Int8Weights, false),
        (WeightMode::Int8Dynamic, true),
        (WeightMode::Int4Dynamic, true),
    ] {
        let (_, ops) = tensor_types_and_ops(&lowered(&f, mode, &[]));
        let count = |name: &str| ops.iter().filter(|o| *o == name).count();
        let expect = if transposed { (3, 0) } else { (0, 3) };
        assert_eq!(
            (count("TRANSPOSE_CONV"), count("DEPTH_TO_SPACE")),
            expect,
            "{}",
            mode.name()
        );
    }
}

/// `--quantize auto`: the model it writes meets the size and quality it was asked for, measured
/// independently (tools/quant_quality.py, 16 latents, against the float32 model), and is smaller than
/// all-fp16; what cannot be met is an error that writes nothing.
#[test]
fn auto_meets_its_size_and_quality_targets() {
    let dir = tempfile::tempdir().unwrap();
    let f = Fixture::named("generator_full_32");
    let float = dir.path().join("float.tflite");
    std::fs::write(&float, lowered(&f, WeightMode::Float, &[])).unwrap();
    let fp16 = lowered(&f, WeightMode::Fp16, &[]).len() as u64;
    let int8 = lowered(&f, WeightMode::Int8Dynamic, &[]).len() as u64;

    // A quality target: met on fresh latents (the choice saw 4 of its own), with fewer bytes than fp16.
    let q995 = dir.path().join("auto_995.tflite");
    let o = sgc_lower(
        &f.graph(),
        &q995,
        &["--quantize", "auto", "--min-ssim", "0.995"],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("--quantize auto:") && err.contains("fp16"),
        "{err}"
    );
    let q = quality(&float, &q995);
    let size = std::fs::metadata(&q995).unwrap().len();
    println!("auto --min-ssim 0.995: {size} bytes (int8 {int8}, fp16 {fp16}), {q}");
    assert!(q["ssim_mean"].as_f64().unwrap() >= 0.993, "{q}");
    assert!(
        size < fp16 && size > int8,
        "{size} vs int8 {int8} / fp16 {fp16}"
    );

    // A size bound: met exactly, and the quality is at least all-int8's.
    let budget = (int8 + fp16) / 2;
    let sized = dir.path().join("auto_size.tflite");
    let o = sgc_lower(
        &f.graph(),
        &sized,
        &["--quantize", "auto", "--max-size", &budget.to_string()],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::metadata(&sized).unwrap().len() <= budget);
    let all_int8 = dir.path().join("int8.tflite");
    std::fs::write(&all_int8, lowered(&f, WeightMode::Int8Dynamic, &[])).unwrap();
    let (qs, qi) = (quality(&float, &sized), quality(&float, &all_int8));
    assert!(
        qs["ssim_mean"].as_f64() >= qi["ssim_mean"].as_f64(),
        "{qs} vs {qi}"
    );

    // A size bound below all-int8: some layers int4 (the least harmed per byte), the size met, the
    // quality at least all-int4's.
    let all_int4 = dir.path().join("int4.tflite");
    std::fs::write(&all_int4, lowered(&f, WeightMode::Int4Dynamic, &[])).unwrap();
    let int4 = std::fs::metadata(&all_int4).unwrap().len();
    let budget = (int4 + int8) / 2;
    let small = dir.path().join("auto_small.tflite");
    let o = sgc_lower(
        &f.graph(),
        &small,
        &["--quantize", "auto", "--max-size", &budget.to_string()],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("--quantize auto: int4-dynamic: "), "{err}");
    let size = std::fs::metadata(&small).unwrap().len();
    assert!(
        size <= budget && size > int4,
        "{size}: int4 {int4}, budget {budget}"
    );
    let (qs, q4) = (quality(&float, &small), quality(&float, &all_int4));
    println!("auto --max-size {budget}: {size} bytes, {qs}; all int4: {q4}");
    assert!(
        qs["ssim_mean"].as_f64() >= q4["ssim_mean"].as_f64(),
        "{qs} vs {q4}"
    );

    // Impossible targets.
    let none = dir.path().join("none.tflite");
    for (args, code, says) in [
        (
            &["--quantize", "auto", "--max-size", "1kB"][..],
            2,
            "impossible, the smallest model",
        ),
        (
            &[
                "--quantize",
                "auto",
                "--max-size",
                &int8.to_string(),
                "--min-ssim",
                "0.99999",
            ][..],
            1,
            "out of reach",
        ),
        (
            &["--quantize", "auto", "--max-size", "20 parsecs"][..],
            2,
            "unknown unit",
        ),
        (&["--max-size", "1MB"][..], 2, "go with --quantize auto"),
    ] {
        let o = sgc_lower(&f.graph(), &none, args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!none.exists(), "no model is written");
    }
    // A graph without an image output has no SSIM to aim at.
    let o = sgc_lower(
        &Fixture::named("mapping").graph(),
        &none,
        &["--quantize", "auto"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not an image"));
}
