//! Calibration in LiteRT: the ranges of a full-integer model (`--quantize int8`) and the inputs that
//! GPTQ rounds integer weights by (`--weight-rounding gptq`), measured on the model itself.
//!
//! The graph is lowered once with int8 weights; that plan, with every float activation made an
//! output ([`full_int8::observing`]), runs in LiteRT on the user's inputs (`--calibration-data`) or
//! seeded N(0, 1) ones (float activations, the
//! weights already int8: the ranges are those the int8 model meets, including the tensors that
//! multi-op lowerings add and the weights' rounding). Each tensor's range is all that was seen (see
//! [`Observed`]), and [`full_int8::full_integer`] rewrites the plan.
//! LiteRT rather than sgc's interpreter observes, because the tensors to range are the model's, not
//! the IR's.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use sgc_backends::tflite::full_int8::{self, Range};
use sgc_backends::tflite::gptq;
use sgc_backends::tflite::ModelPlan;
use sgc_backends::BackendOptions;
use sgc_ir::{DType, Graph};

use crate::verify::litert::{ElementType, LiteRt, Model};
use crate::verify::{inputs, InputSource, InputSpec};
use crate::Error;

/// How `--quantize int8` calibrates.
#[derive(Debug, Clone, Default)]
pub struct CalibrationOptions {
    /// Inputs to observe (`--calibration-samples`; default: every sample of the data, or 32).
    pub samples: Option<usize>,
    /// `.npy` inputs (`--calibration-data [NAME=]FILE`), as `sgc verify --data` takes them; inputs
    /// without one are drawn N(0, 1), seeded.
    pub data: Vec<(Option<String>, PathBuf)>,
    /// The LiteRT library (`--litert-lib`; else found as `sgc verify` finds it).
    pub litert_lib: Option<PathBuf>,
    /// Round the integer weights by their inputs (`--weight-rounding gptq`) instead of to nearest.
    pub gptq: bool,
}

/// The range of one tensor over every sample: its full min / max. Clipping to a quantile (the
/// least squared error on a sample of the values, from 1e-4 to 1e-2 of each tail) measured far worse
/// on StyleGAN (SSIM 0.66 against 0.91 with int8 convs): its rare large activations carry the image.
#[derive(Debug, Default)]
struct Observed(Option<Range>);

impl Observed {
    fn add(&mut self, values: &[f32]) {
        let Some(&first) = values.first() else {
            return;
        };
        let (min, max) = values
            .iter()
            .fold((first, first), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let r = self.0.get_or_insert(Range { min, max });
        r.min = r.min.min(min);
        r.max = r.max.max(max);
    }

    fn range(self) -> Range {
        self.0.unwrap_or(Range { min: 0.0, max: 0.0 })
    }
}

/// Lowers `graph` to a full-integer model: calibrates in LiteRT, then rewrites. Returns the model
/// plan and notes.
pub fn full_integer(
    graph: &Graph,
    backend: &BackendOptions,
    options: &CalibrationOptions,
) -> Result<(ModelPlan, Vec<String>), Error> {
    let start = Instant::now();
    let mut plan = sgc_backends::tflite::lower::lower_with(graph, backend).map_err(backend_err)?;
    let mut notes = Vec::new();
    if options.gptq {
        notes.extend(gptq(&mut plan, options)?);
    }
    let observed = full_int8::calibration_tensors(&plan);
    let mut seen: HashMap<i32, Observed> = HashMap::new();
    let samples = observe(&plan, &observed, options, "int8", |t, values| {
        seen.entry(t).or_default().add(values)
    })?;
    let ranges: HashMap<i32, Range> = seen.into_iter().map(|(t, o)| (t, o.range())).collect();
    let (int8, summary) = full_int8::full_integer(&plan, &ranges).map_err(backend_err)?;
    notes.push(format!(
        "int8: {} operators compute in int8, {} in float, with {} QUANTIZE/DEQUANTIZE between them; \
         ranges of {} tensors calibrated on {samples} inputs in LiteRT ({:.1} s)",
        summary.int8_ops,
        summary.float_ops,
        summary.conversions,
        ranges.len(),
        start.elapsed().as_secs_f64()
    ));
    Ok((int8, notes))
}

/// At most this many multiply-adds per layer and input go into a Hessian (`rows · d²`): all the
/// output positions of the small layers, an even sample of a large layer's (a 3×3×512 conv: 100
/// positions of each input), so that 32 inputs of the 256 px generator take about a minute.
const HESSIAN_MACS: usize = 2_000_000_000;

/// `--weight-rounding gptq`: the integer weights of `plan` rounded by the data ([`gptq`]): the inputs
/// of their ops observed in LiteRT on the calibration inputs (the plan as it is, its weights rounded
/// to nearest), then each weight rounded column by column. Returns notes.
pub fn gptq(plan: &mut ModelPlan, options: &CalibrationOptions) -> Result<Vec<String>, Error> {
    let start = Instant::now();
    let targets = gptq::targets(plan);
    if targets.is_empty() {
        return Ok(vec!["gptq: no integer conv or dense weight to round".into()]);
    }
    let mut hessians: Vec<gptq::Hessian> = targets
        .iter()
        .map(|t| gptq::Hessian::new(t.patches.d()))
        .collect();
    let mut inputs: Vec<i32> = targets.iter().map(|t| t.input).collect();
    inputs.sort_unstable();
    inputs.dedup();
    let samples = observe(plan, &inputs, options, "gptq", |t, values| {
        for (target, h) in targets.iter().zip(hessians.iter_mut()) {
            if target.input == t {
                let max_rows = HESSIAN_MACS / (h.d * h.d).max(1);
                h.add(&target.patches, values, max_rows);
            }
        }
    })?;
    let observed = start.elapsed().as_secs_f64();
    let mut rounded = 0;
    for (target, h) in targets.iter().zip(&hessians) {
        rounded += usize::from(gptq::apply(plan, target, h));
    }
    Ok(vec![format!(
        "gptq: {rounded} of {} integer weights rounded by their inputs on {samples} calibration \
         inputs (observed in LiteRT in {observed:.1} s, rounded in {:.1} s)",
        targets.len(),
        start.elapsed().as_secs_f64() - observed
    )])
}

fn backend_err(error: sgc_backends::BackendError) -> Error {
    Error::Backend {
        file: "--quantize".into(),
        error,
    }
}

/// Runs `plan` in LiteRT with `tensors` made outputs on the calibration inputs (the user's, or
/// seeded N(0, 1) ones) and gives `see` every value of each of them, and of the model's inputs, per
/// input. Returns the number of inputs run.
fn observe(
    plan: &ModelPlan,
    tensors: &[i32],
    options: &CalibrationOptions,
    what: &str,
    mut see: impl FnMut(i32, &[f32]),
) -> Result<usize, Error> {
    let probe = full_int8::observing(plan, tensors);
    let bytes = sgc_backends::tflite::serialize(&probe).map_err(backend_err)?;
    let by_name: HashMap<&str, i32> = probe
        .signature_outputs
        .iter()
        .map(|(n, t)| (n.as_str(), *t))
        .collect();

    let rt = LiteRt::load(options.litert_lib.as_deref()).map_err(Error::Runtime)?;
    let dir = tempfile::tempdir().map_err(|error| Error::Io {
        path: "temporary directory".into(),
        error,
    })?;
    let path = dir.path().join("calibration.tflite");
    std::fs::write(&path, &bytes).map_err(|error| Error::Io {
        path: path.display().to_string(),
        error,
    })?;
    drop(bytes);
    let mut model = Model::open(&rt, &path).map_err(Error::Runtime)?;
    let in_specs: Vec<_> = model.inputs().cloned().collect();
    if let Some(s) = in_specs.iter().find(|s| s.dtype != ElementType::F32) {
        return Err(Error::Usage(format!(
            "{what}: input '{}' is not float32; calibration runs on float inputs",
            s.name
        )));
    }
    let specs: Vec<InputSpec> = in_specs
        .iter()
        .map(|s| (s.name.clone(), DType::F32, s.dims.clone()))
        .collect();
    let source = InputSource {
        flag: "--calibration-data",
        data: &options.data,
        samples: options.samples,
        default: 32,
        seed: 0,
    };
    let samples_in = inputs(&specs, &source)?;
    let outputs: Vec<Option<i32>> = model
        .outputs()
        .map(|s| by_name.get(s.name.as_str()).copied())
        .collect();
    let samples = samples_in.len();
    for (k, sample) in samples_in.iter().enumerate() {
        if samples >= 8 && k % 8 == 0 {
            eprintln!("{what}: calibrating on sample {}/{samples}", k + 1);
        }
        let refs: Vec<&[u8]> = sample.iter().map(|t| &t.bytes()[..]).collect();
        let got = model.run(&refs).map_err(Error::Runtime)?;
        for (&t, value) in plan.inputs.iter().zip(sample) {
            let values = value.to_vec::<f32>().map_err(Error::Input)?;
            see(t, &values);
        }
        for (t, bytes) in outputs.iter().zip(got) {
            if let Some(t) = t {
                let values: Vec<f32> = sgc_backends::tflite::quant::f32_values(&bytes).collect();
                see(*t, &values);
            }
        }
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_is_everything_seen() {
        let mut o = Observed::default();
        assert_eq!(Observed::default().range(), Range { min: 0.0, max: 0.0 });
        o.add(&[0.5, 2.0]);
        o.add(&[]);
        o.add(&[-3.0, 1.0]);
        assert_eq!(
            o.range(),
            Range {
                min: -3.0,
                max: 2.0
            }
        );
    }
}
