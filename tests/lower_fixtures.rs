//! End to end: every fixture graph (made by TensorFlow, with TensorFlow's outputs beside it) is lowered by
//! sgc, run in the real LiteRT interpreter, and compared with TensorFlow. The IR's reference interpreter is
//! held to the same tolerance, on the imported graph and on the lowered one.

mod common;

use common::{assert_close, assert_interpreter_close, run_litert, run_litert_listing, Fixture};
use sgc::{lower, LowerOptions};
use sgc_ir::{interp, Graph, Tensor, ValueRef};
use sgc_passes::io::select_io;

/// Runs the reference interpreter on `graph` with the fixture's inputs (see
/// [`common::interpret_with_cast_inputs`]).
fn interpret(graph: &Graph, f: &Fixture) -> Vec<(Tensor, Option<Tensor>)> {
    common::interpret_with_cast_inputs(graph, |fetch| interpret_values(graph, f, fetch))
}

/// The interpreter's values of `fetch` on the fixture's inputs.
fn interpret_values(graph: &Graph, f: &Fixture, fetch: &[ValueRef]) -> Vec<Tensor> {
    let feeds: Vec<_> = f
        .input_tensors()
        .into_iter()
        .map(|(name, t)| {
            let n = graph
                .inputs
                .iter()
                .copied()
                .find(|&n| graph.node(n).name == name)
                .unwrap_or_else(|| panic!("input {name} not in the graph"));
            (n, t)
        })
        .collect();
    interp::run(graph, &feeds, fetch).expect("interpreter runs")
}

fn check(name: &str) {
    check_fixture(&Fixture::named(name));
}

/// The phone form of a StyleGAN2 model: every CONV_2D, DEPTHWISE_CONV_2D and TRANSPOSE_CONV reads a
/// constant filter (no run-time, batch-grouped filters), at most the one TRANSPOSE of the NCHW image
/// output, and no conv or dense layer left outside LiteRT's XNNPACK delegate.
fn assert_phone_form(name: &str, tflite: &[u8], listing: &serde_json::Value) {
    use sgc_backends::tflite::{reader, schema, schema::builtin};
    let model = reader::read_model(tflite).expect("the model reads back");
    let sub = &model.subgraphs[0];
    let mut transposes = 0;
    for op in &sub.operators {
        let code = model.operator_codes[op.opcode_index as usize].code();
        if code == builtin::TRANSPOSE {
            transposes += 1;
        }
        if [
            builtin::CONV_2D,
            builtin::DEPTHWISE_CONV_2D,
            builtin::TRANSPOSE_CONV,
        ]
        .contains(&code)
        {
            let filter = &sub.tensors[op.inputs[1] as usize];
            let buffer = &model.buffers[filter.buffer as usize];
            assert!(
                buffer.data.as_ref().is_some_and(|d| !d.is_empty()) || buffer.size > 0,
                "{name}: {} reads a run-time filter '{}'",
                schema::builtin_name(code).unwrap_or("?"),
                filter.name
            );
        }
    }
    assert!(transposes <= 1, "{name}: {transposes} TRANSPOSE ops");
    let undelegated = listing["undelegated"]
        .as_object()
        .expect("undelegated listing");
    for op in [
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "TRANSPOSE_CONV",
        "FULLY_CONNECTED",
    ] {
        assert!(
            !undelegated.contains_key(op),
            "{name}: {op} outside XNNPACK: {undelegated:?}"
        );
    }
}

/// Checks `f` as [`check`] does; returns the model and LiteRT's listing of what it ran.
fn check_fixture(f: &Fixture) -> (Vec<u8>, serde_json::Value) {
    let name = f.name.as_str();
    let reference = f.reference_outputs();

    // 1. The interpreter on the graph as imported (Switch/Merge, Assign and all): the interpreter is
    //    itself an oracle only if it agrees with TensorFlow.
    let mut imported = sgc_frontends::load(&f.graph()).expect("fixture imports");
    select_io(&mut imported, &f.io_spec()).expect("fixture io");
    // Graph::verify runs after every pass only from a valid graph on: the imported fixture must be one.
    imported.verify().expect("the imported fixture verifies");
    for ((out, want), got) in reference.iter().zip(interpret(&imported, f)) {
        assert_interpreter_close(
            &format!("{name} {out}: interpreter, imported graph"),
            &got,
            want,
        );
    }

    // 2. sgc lower, as the command line runs it.
    let options = LowerOptions {
        io: f.io_spec(),
        ..Default::default()
    };
    let lowered = lower(&f.graph(), &options).unwrap_or_else(|e| panic!("{name}: {e}"));
    for ((out, want), got) in reference.iter().zip(interpret(&lowered.graph, f)) {
        assert_interpreter_close(
            &format!("{name} {out}: interpreter, lowered graph"),
            &got,
            want,
        );
    }

    // 3. The .tflite in LiteRT.
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join(format!("{name}.tflite"));
    let tflite = lowered.tflite().unwrap();
    std::fs::write(&model, &tflite).unwrap();
    let (outputs, listing) = run_litert_listing(&model, &f.inputs);
    let ops = &listing["ops"];
    println!("{name}: {} bytes, LiteRT ops {ops}", tflite.len());
    assert_eq!(outputs.len(), reference.len());
    for ((out, want), got) in reference.iter().zip(&outputs) {
        assert_eq!(got.dtype(), want.dtype(), "{name} {out}: dtype");
        assert_close(&format!("{name} {out}: LiteRT"), got, want);
    }
    (tflite, listing)
}

#[test]
fn synthesis_recursive_32() {
    check("synthesis_recursive_32");
}

#[test]
fn synthesis_linear_32() {
    check("synthesis_linear_32");
}

#[test]
fn synthesis_fixed_32() {
    check("synthesis_fixed_32");
}

#[test]
fn synthesis_fused_32() {
    check("synthesis_fused_32");
}

#[test]
fn mapping() {
    check("mapping");
}

#[test]
fn generator_full_32() {
    check("generator_full_32");
}

#[test]
fn generator_uint8_32() {
    check("generator_uint8_32");
}

#[test]
fn generator_conditional_16() {
    check("generator_conditional_16");
}

#[test]
fn synthesis_nostyles_16() {
    check("synthesis_nostyles_16");
}

/// StyleGAN2 ('skip', `tools/make_stylegan2_fixtures.py`): fused and unfused modconv, synthesis and full
/// generator, batch 1 and 2 (the batch-2 fused reference is TF on each sample alone: TF's CPU has no
/// grouped conv). Same tolerances as above, and each model in its phone form ([`assert_phone_form`]).
#[test]
fn stylegan2_fixtures() {
    let names = common::fixture_names(&common::sg2_fixtures_dir());
    assert_eq!(names.len(), 8, "{names:?}");
    for name in names {
        let (tflite, listing) = check_fixture(&Fixture::stylegan2(&name));
        assert_phone_form(&name, &tflite, &listing);
    }
}

/// TF1 conv nets and GAN generators beyond StyleGAN (`tools/make_generic_fixtures.py`: MobileNet-,
/// ResNet- and squeeze-excite blocks; DCGAN (NCHW), pix2pix U-Net and CycleGAN ResNet generators),
/// batch 2: equal to TF as above, and every op in XNNPACK but MIRROR_PAD, for which XNNPACK has no
/// kernel (TF's converter writes the same op).
#[test]
fn generic_fixtures() {
    const NO_XNNPACK_KERNEL: &[&str] = &["MIRROR_PAD"];
    let names = common::fixture_names(&common::generic_fixtures_dir());
    assert_eq!(names.len(), 6, "{names:?}");
    for name in names {
        let f = Fixture::load(&common::generic_fixtures_dir().join(&name));
        let (_, listing) = check_fixture(&f);
        let undelegated = listing["undelegated"]
            .as_object()
            .expect("undelegated listing");
        let unexpected: Vec<&String> = undelegated
            .keys()
            .filter(|op| !NO_XNNPACK_KERNEL.contains(&op.as_str()))
            .collect();
        assert!(unexpected.is_empty(), "{name}: {undelegated:?}");
    }
}

/// Every fixture directory has a test above: a new fixture cannot go unchecked.
#[test]
fn every_fixture_is_tested() {
    let tested = [
        "synthesis_recursive_32",
        "synthesis_linear_32",
        "synthesis_fixed_32",
        "synthesis_fused_32",
        "mapping",
        "generator_full_32",
        "generator_uint8_32",
        "generator_conditional_16",
        "synthesis_nostyles_16",
    ];
    let found = common::fixture_names(&common::fixtures_dir());
    let mut tested: Vec<String> = tested.iter().map(|s| s.to_string()).collect();
    tested.sort();
    assert_eq!(found, tested);
}

/// A target without LEAKY_RELU (`--no-leaky-relu`): the same model with MAXIMUM + MUL, still equal to TF.
#[test]
fn generator_for_a_target_without_leaky_relu() {
    let f = Fixture::named("generator_full_32");
    let options = LowerOptions {
        io: f.io_spec(),
        no_leaky_relu: true,
        ..Default::default()
    };
    let lowered = lower(&f.graph(), &options).expect("lowers");
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("g.tflite");
    std::fs::write(&model, lowered.tflite().unwrap()).unwrap();
    let (outputs, ops) = run_litert(&model, &f.inputs);
    assert!(ops.get("LEAKY_RELU").is_none(), "{ops}");
    assert_eq!(ops["MAXIMUM"], 16, "{ops}");
    for ((out, want), got) in f.reference_outputs().iter().zip(&outputs) {
        assert_close(
            &format!("generator_full_32 {out}: LiteRT, no LEAKY_RELU"),
            got,
            want,
        );
    }
}

/// A batch of two (`--inputs NAME=2,…`): every image is computed on its own. Row 0 gets the fixture's
/// input and must equal TensorFlow's output; row 1 gets half of it and must equal the reference
/// interpreter on the batch-1 graph. Covers the per-image (`[N,1,1,C]`) statistics and styles that the
/// instance-norm rules move, and the fused upscale split with N > 1.
#[test]
fn a_batch_of_two_computes_each_image_on_its_own() {
    for name in ["synthesis_fused_32", "generator_full_32"] {
        let f = Fixture::named(name);
        let (input_name, x) = f.input_tensors().remove(0);
        let values = x.to_vec::<f32>().unwrap();
        let halved: Vec<f32> = values.iter().map(|v| v * 0.5).collect();
        let mut batch_shape = x.shape().to_vec();
        batch_shape[0] = 2;
        let batch = Tensor::from_vec(batch_shape.clone(), [values, halved.clone()].concat());

        let mut io = f.io_spec();
        io.input_shapes = vec![(
            input_name.clone(),
            batch_shape.iter().map(|&d| d as i64).collect(),
        )];
        let options = LowerOptions {
            io,
            ..Default::default()
        };
        let lowered = lower(&f.graph(), &options).unwrap_or_else(|e| panic!("{name}: {e}"));
        let dir = tempfile::tempdir().unwrap();
        let (model, npy) = (dir.path().join("b2.tflite"), dir.path().join("b2.npy"));
        std::fs::write(&model, lowered.tflite().unwrap()).unwrap();
        common::npy::write(&npy, &batch);
        let (outputs, _) = run_litert(&model, &[(input_name.clone(), npy)]);
        let rows = |t: &Tensor| -> [Tensor; 2] {
            let v = t.to_vec::<f32>().unwrap();
            let mut shape = t.shape().to_vec();
            shape[0] = 1;
            let half = v.len() / 2;
            [
                Tensor::from_vec(shape.clone(), v[..half].to_vec()),
                Tensor::from_vec(shape, v[half..].to_vec()),
            ]
        };
        let [first, second] = rows(&outputs[0]);
        let (out, want) = &f.reference_outputs()[0];
        assert_close(&format!("{name} {out}: batch row 0 vs TF"), &first, want);

        let mut imported = sgc_frontends::load(&f.graph()).expect("fixture imports");
        select_io(&mut imported, &f.io_spec()).expect("fixture io");
        let input = imported
            .inputs
            .iter()
            .copied()
            .find(|&n| imported.node(n).name == input_name)
            .expect("the input");
        let fetch: Vec<ValueRef> = imported.outputs.iter().map(|o| o.value).collect();
        let halved = Tensor::from_vec(x.shape().to_vec(), halved);
        let reference =
            interp::run(&imported, &[(input, halved)], &fetch).expect("interpreter runs");
        assert_close(
            &format!("{name} {out}: batch row 1 vs the interpreter at batch 1"),
            &second,
            &reference[0],
        );
    }
}

/// The `Gs.run()` graph's placeholder has no shape at all (unknown rank): lowered without `--inputs`,
/// its shape comes from the dense layer it feeds ([?, 64], batch then 1, both said in notes) and the
/// model makes TensorFlow's image.
#[test]
fn an_input_of_unknown_rank_takes_its_shape_from_the_graph() {
    let f = Fixture::named("generator_uint8_32");
    let options = LowerOptions {
        io: sgc_passes::io::IoSpec {
            outputs: f.io_spec().outputs,
            input_shapes: vec![],
        },
        ..Default::default()
    };
    let lowered = lower(&f.graph(), &options).unwrap();
    let note = lowered
        .notes
        .iter()
        .find(|n| n.contains("has no shape in the graph"))
        .expect("a note says which shape was chosen");
    assert!(
        note.contains("[?, 64] from what it feeds (Gs/_Run/Gs/G_mapping/Dense0/MatMul)"),
        "{note}"
    );
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("u8.tflite");
    std::fs::write(&model, lowered.tflite().unwrap()).unwrap();
    let (outputs, _) = run_litert(&model, &f.inputs);
    assert_close("uint8 generator", &outputs[0], &f.reference_outputs()[0].1);
}

/// The layout for models over 2 GB (data after the flatbuffer, `Buffer.offset`/`size`), written for a
/// small model so the code path runs here: LiteRT gives exactly the outputs of the standard layout,
/// and each buffer's bytes at its offset are the standard layout's data.
#[test]
fn external_buffers_layout_runs_in_litert_like_the_standard_one() {
    let f = Fixture::named("synthesis_fused_32");
    let lowered = lower(&f.graph(), &f.lower_options()).unwrap();
    let standard = lowered.tflite().unwrap();
    let mut external = Vec::new();
    let written =
        sgc_backends::tflite::serialize_external_to(&lowered.plan, &mut external).unwrap();
    assert_eq!(written as usize, external.len());

    let (a, b) = (
        sgc_backends::read_model(&standard).unwrap(),
        sgc_backends::read_model(&external).unwrap(),
    );
    assert_eq!(a.buffers.len(), b.buffers.len());
    for (i, (x, y)) in a.buffers.iter().zip(&b.buffers).enumerate() {
        assert!(
            y.data.is_none(),
            "buffer {i} holds no data in the flatbuffer"
        );
        let Some(range) = x.data.clone() else {
            assert_eq!((y.offset, y.size), (0, 0), "buffer {i}: empty in both");
            continue;
        };
        let (offset, size) = (y.offset as usize, y.size as usize);
        assert_eq!(offset % 16, 0, "buffer {i} is 16-byte aligned");
        assert_eq!(
            &external[offset..offset + size],
            &standard[range],
            "buffer {i}"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let (p, q) = (dir.path().join("std.tflite"), dir.path().join("ext.tflite"));
    std::fs::write(&p, &standard).unwrap();
    std::fs::write(&q, &external).unwrap();
    let (want, _) = run_litert(&p, &f.inputs);
    let (got, _) = run_litert(&q, &f.inputs);
    assert_eq!(want.len(), got.len());
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(w.bytes(), g.bytes(), "the same outputs, bit for bit");
    }
}
