//! `sgc verify SOURCE MODEL`: the source graph in sgc's interpreter against the model in the real LiteRT
//! runtime, on the same inputs, with per-output errors and, for image outputs, SSIM and PSNR.
//!
//! The reference is the source graph as the lowering options define it: the imported graph itself, or,
//! with StyleGAN export options (`--resolution`, `--part`, `--image-output` …), the pipeline run up to
//! and including the last `stylegan-*` pass, so that the exported sub-network is what is compared; every
//! later pass, the backend and the quantization are what the comparison checks.

pub mod litert;
pub mod metrics;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sgc_ir::{interp, DType, Graph, Tensor};

use crate::{pass_manager, Error, LowerOptions};
use metrics::{ImageLayout, Values};

/// What to compare and the bounds that make `sgc verify` fail.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The options the model was lowered with (the export options choose the reference sub-network).
    pub lower: LowerOptions,
    /// Number of runs (default: 16, or every sample of `--data`).
    pub samples: Option<usize>,
    /// Seed of the N(0, 1) inputs drawn when no data is given.
    pub seed: u64,
    /// `.npy` inputs: `(input name or None for the only input, file)`; an array holds one sample (the
    /// input's shape) or several stacked on a new first axis.
    pub data: Vec<(Option<String>, PathBuf)>,
    /// The LiteRT library to load (else found as [`litert::candidates`] says).
    pub litert_lib: Option<PathBuf>,
    pub bounds: Bounds,
}

/// Bounds checked after the comparison; a failed one makes `sgc verify` exit 1.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bounds {
    /// The mean SSIM of each image output at least this.
    pub min_ssim: Option<f64>,
    /// Every image's SSIM at least this.
    pub min_ssim_each: Option<f64>,
    /// The largest |model − reference| of each output over the largest |reference|, at most this.
    pub max_rel: Option<f64>,
}

/// The comparison of one output over all samples.
#[derive(Debug, Clone)]
pub struct OutputReport {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub max_abs: f64,
    /// max |model − reference| / max |reference|, the largest over the samples.
    pub max_rel: f64,
    pub image: Option<ImageReport>,
}

/// SSIM and PSNR of the uint8 images of an image output (see [`metrics`]).
#[derive(Debug, Clone, Copy)]
pub struct ImageReport {
    pub images: usize,
    pub ssim_mean: f64,
    pub ssim_min: f64,
    /// The mean over images that differ (PSNR is infinite for equal ones); infinite when all are equal.
    pub psnr_mean: f64,
    pub max_pixel_diff: u8,
}

/// The result of [`verify`].
#[derive(Debug)]
pub struct Verified {
    pub samples: usize,
    pub outputs: Vec<OutputReport>,
    /// Every bound that failed, in words.
    pub failures: Vec<String>,
    pub runtime: PathBuf,
    pub interpreter_time: Duration,
    pub litert_time: Duration,
}

/// The graph the model is compared against (see the module documentation).
pub fn reference_graph(source: &Path, options: &LowerOptions) -> Result<Graph, Error> {
    let file = source.display().to_string();
    let (mut graph, _) = sgc_frontends::load_network(source, &options.pickle)?;
    sgc_passes::io::select_io(&mut graph, &options.io).map_err(|error| Error::Graph {
        file: file.clone(),
        error,
    })?;
    if !options.stylegan.is_empty() {
        let mut manager = pass_manager(options)?;
        let last = manager
            .names()
            .iter()
            .rposition(|n| n.starts_with("stylegan-"))
            .map_or(0, |i| i + 1);
        manager.truncate(last);
        manager
            .run(&mut graph, |_, _| {})
            .map_err(|error| Error::Pass { file, error })?;
    }
    Ok(graph)
}

/// A small N(0, 1) generator (SplitMix64 and Box–Muller): the inputs are reproducible from the seed
/// on every machine.
pub(crate) struct Normal {
    state: u64,
    spare: Option<f64>,
}

impl Normal {
    pub(crate) fn new(seed: u64) -> Self {
        Normal {
            state: seed ^ 0x5367_635f_7665_7269,
            spare: None,
        }
    }

    fn uniform(&mut self) -> f64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    pub(crate) fn next(&mut self) -> f32 {
        if let Some(v) = self.spare.take() {
            return v as f32;
        }
        let (u, v) = (self.uniform(), self.uniform());
        let r = (-2.0 * u.ln()).sqrt();
        let t = std::f64::consts::TAU * v;
        self.spare = Some(r * t.sin());
        (r * t.cos()) as f32
    }
}

/// One input: its name, type and (static) dimensions.
pub(crate) type InputSpec = (String, DType, Vec<usize>);

/// Where the inputs of a run come from: `.npy` files (`data`, given with the option `flag`), else
/// seeded N(0, 1) draws; `samples` of them (`None`: every sample of the data, or `default`).
pub(crate) struct InputSource<'a> {
    pub flag: &'a str,
    pub data: &'a [(Option<String>, PathBuf)],
    pub samples: Option<usize>,
    pub default: usize,
    pub seed: u64,
}

/// The inputs of every sample, in the order of `specs`.
pub(crate) fn inputs(
    specs: &[InputSpec],
    source: &InputSource<'_>,
) -> Result<Vec<Vec<Tensor>>, Error> {
    let usage = Error::Usage;
    let flag = source.flag;
    let mut given: Vec<Option<(PathBuf, Tensor)>> = vec![None; specs.len()];
    for (name, path) in source.data {
        let at = match name {
            Some(name) => specs.iter().position(|s| &s.0 == name).ok_or_else(|| {
                let names: Vec<&str> = specs.iter().map(|s| s.0.as_str()).collect();
                usage(format!(
                    "{flag} {name}=…: the graph has no input '{name}' (inputs: {})",
                    names.join(", ")
                ))
            })?,
            None if specs.len() == 1 => 0,
            None => {
                return Err(usage(format!(
                    "{flag} {}: the graph has {} inputs; name one with NAME=FILE",
                    path.display(),
                    specs.len()
                )))
            }
        };
        let bytes = std::fs::read(path).map_err(|error| Error::Io {
            path: path.display().to_string(),
            error,
        })?;
        let t = sgc_frontends::npy::parse(&bytes)
            .map_err(|e| Error::Input(format!("{}: {e}", path.display())))?;
        given[at] = Some((path.clone(), t));
    }
    // Samples in each data file: its shape is the input's, or [S, input shape…], or [S, rest…] for an
    // input of batch 1.
    let mut counts = Vec::new();
    for ((name, dtype, dims), g) in specs.iter().zip(&given) {
        let Some((path, t)) = g else { continue };
        if t.dtype() != *dtype {
            return Err(Error::Input(format!(
                "{}: {} data for input '{name}' of type {dtype}",
                path.display(),
                t.dtype()
            )));
        }
        let s = t.shape();
        let n = if s == dims.as_slice() {
            1
        } else if (s.len() == dims.len() + 1 && s[1..] == dims[..])
            || (dims.first() == Some(&1) && s.len() == dims.len() && s[1..] == dims[1..])
        {
            s[0]
        } else {
            return Err(Error::Input(format!(
                "{}: shape {s:?} does not fit input '{name}' of shape {dims:?} (give {dims:?} or [samples, …])",
                path.display()
            )));
        };
        counts.push((path, n));
    }
    let available = counts.iter().map(|c| c.1).min();
    let samples = source.samples.or(available).unwrap_or(source.default);
    if let Some((path, n)) = counts.iter().find(|c| c.1 < samples) {
        return Err(Error::Input(format!(
            "{}: holds {n} samples, {samples} asked for",
            path.display()
        )));
    }
    if samples == 0 {
        return Err(usage("--samples must be at least 1".into()));
    }
    let mut rng = Normal::new(source.seed);
    let mut out = Vec::with_capacity(samples);
    for i in 0..samples {
        let mut row = Vec::with_capacity(specs.len());
        for ((name, dtype, dims), g) in specs.iter().zip(&given) {
            let count: usize = dims.iter().product();
            row.push(match g {
                Some((_, t)) => {
                    let es = dtype.size().unwrap_or(1);
                    let b = t.bytes().slice(i * count * es..(i + 1) * count * es);
                    Tensor::new(*dtype, dims.clone(), b).map_err(Error::Input)?
                }
                None if *dtype == DType::F32 => {
                    Tensor::from_vec(dims.clone(), (0..count).map(|_| rng.next()).collect::<Vec<f32>>())
                }
                None => {
                    return Err(usage(format!(
                        "input '{name}' is {dtype}: only f32 inputs are drawn at random; give {flag} {name}=FILE.npy"
                    )))
                }
            });
        }
        out.push(row);
    }
    Ok(out)
}

/// Runs `source` (as `options.lower` exports it) in the interpreter and `model` in LiteRT on the same
/// inputs and compares every output.
pub fn verify(source: &Path, model: &Path, options: &VerifyOptions) -> Result<Verified, Error> {
    let graph = reference_graph(source, &options.lower)?;
    let runtime = litert::LiteRt::load(options.litert_lib.as_deref()).map_err(Error::Runtime)?;
    let mut m = litert::Model::open(&runtime, model).map_err(Error::Runtime)?;
    let model_file = model.display().to_string();
    // Inputs matched by name (the signature carries the graph's placeholder names).
    let mut order = Vec::new();
    let mut specs: Vec<Option<InputSpec>> = vec![None; graph.inputs.len()];
    for spec in m.inputs() {
        let at = graph
            .inputs
            .iter()
            .position(|&n| graph.node(n).name == spec.name)
            .ok_or_else(|| {
                Error::Input(format!(
                    "{model_file}: input '{}' is not an input of {} (as these options export it)",
                    spec.name,
                    source.display()
                ))
            })?;
        let info = graph.node(graph.inputs[at]).outputs.first();
        let dtype = info.and_then(|i| i.dtype).unwrap_or(DType::F32);
        if let Some(shape) = info.and_then(|i| i.shape.as_ref()) {
            let fits = shape.len() == spec.dims.len()
                && shape
                    .iter()
                    .zip(&spec.dims)
                    .all(|(&s, &d)| s < 0 || s as usize == d);
            if !fits {
                return Err(Error::Input(format!(
                    "{model_file}: input '{}' is {:?}, the source's is {shape:?}",
                    spec.name, spec.dims
                )));
            }
        }
        specs[at] = Some((spec.name.clone(), dtype, spec.dims.clone()));
        order.push(at);
    }
    if order.len() != graph.inputs.len() || graph.outputs.len() != m.outputs().count() {
        return Err(Error::Input(format!(
            "{model_file} has {} inputs and {} outputs, {} (as these options export it) {} and {}: \
             pass the options the model was lowered with",
            order.len(),
            m.outputs().count(),
            source.display(),
            graph.inputs.len(),
            graph.outputs.len()
        )));
    }
    // Outputs matched by name too, so that a model of other export options is named as such.
    let mut out_order = Vec::new();
    for spec in m.outputs() {
        let at = graph
            .outputs
            .iter()
            .position(|o| o.name == spec.name)
            .ok_or_else(|| {
                let names: Vec<&str> = graph.outputs.iter().map(|o| o.name.as_str()).collect();
                Error::Input(format!(
                    "{model_file}: output '{}' is not an output of {} as these options export it \
                     (its outputs: {}); pass the options the model was lowered with",
                    spec.name,
                    source.display(),
                    names.join(", ")
                ))
            })?;
        out_order.push(at);
    }
    let specs: Vec<InputSpec> = specs.into_iter().flatten().collect();
    let drawn = InputSource {
        flag: "--data",
        data: &options.data,
        samples: options.samples,
        default: 16,
        seed: options.seed,
    };
    let samples = inputs(&specs, &drawn)?;
    let fetch: Vec<_> = out_order.iter().map(|&i| graph.outputs[i].value).collect();
    let out_specs: Vec<litert::TensorSpec> = m.outputs().cloned().collect();
    let mut acc: Vec<Acc> = out_specs.iter().map(|_| Acc::default()).collect();
    let (mut t_interp, mut t_litert) = (Duration::ZERO, Duration::ZERO);
    for (i, row) in samples.iter().enumerate() {
        let start = Instant::now();
        let feeds: Vec<_> = graph
            .inputs
            .iter()
            .copied()
            .zip(row.iter().cloned())
            .collect();
        let want = interp::run(&graph, &feeds, &fetch).map_err(|error| Error::Graph {
            file: source.display().to_string(),
            error,
        })?;
        t_interp += start.elapsed();
        let start = Instant::now();
        let bytes: Vec<&[u8]> = order.iter().map(|&at| row[at].bytes().as_ref()).collect();
        let got = m
            .run(&bytes)
            .map_err(|e| Error::Runtime(format!("{model_file}: sample {i}: {e}")))?;
        t_litert += start.elapsed();
        for (((a, spec), w), g) in acc.iter_mut().zip(&out_specs).zip(&want).zip(&got) {
            a.add(spec, w, g)
                .map_err(|e| Error::Input(format!("{model_file}: output '{}': {e}", spec.name)))?;
        }
    }
    let outputs: Vec<OutputReport> = acc
        .into_iter()
        .zip(&out_specs)
        .map(|(a, spec)| a.report(&spec.name, spec))
        .collect();
    let failures = check(&outputs, &options.bounds);
    Ok(Verified {
        samples: samples.len(),
        outputs,
        failures,
        runtime: runtime.path().to_path_buf(),
        interpreter_time: t_interp,
        litert_time: t_litert,
    })
}

impl Verified {
    /// The result for people: one line per output.
    pub fn render(&self, source: &Path, model: &Path) -> String {
        let mut s = format!(
            "{} (LiteRT, {}) against {} (sgc's interpreter), {} samples\n",
            model.display(),
            self.runtime.display(),
            source.display(),
            self.samples
        );
        for o in &self.outputs {
            s += &format!(
                "  {} {:?} {}: max abs error {:.4e}, relative {:.4e}",
                o.name, o.shape, o.dtype, o.max_abs, o.max_rel
            );
            if let Some(i) = &o.image {
                s += &format!(
                    "; {} images: SSIM mean {:.4} min {:.4}, PSNR {:.2} dB, max pixel error {}",
                    i.images, i.ssim_mean, i.ssim_min, i.psnr_mean, i.max_pixel_diff
                );
            }
            s.push('\n');
        }
        s += &format!(
            "  time: interpreter {:.2} s, LiteRT {:.2} s\n",
            self.interpreter_time.as_secs_f64(),
            self.litert_time.as_secs_f64()
        );
        for f in &self.failures {
            s += &format!("  FAILED: {f}\n");
        }
        s
    }

    /// The result for programs (infinite PSNR is written as null).
    pub fn to_json(&self) -> String {
        let num = |v: f64| {
            if v.is_finite() {
                serde_json::json!(v)
            } else {
                serde_json::Value::Null
            }
        };
        let outputs: Vec<_> = self
            .outputs
            .iter()
            .map(|o| {
                let mut v = serde_json::json!({
                    "name": o.name,
                    "shape": o.shape,
                    "dtype": o.dtype.to_string(),
                    "max_abs_err": num(o.max_abs),
                    "max_rel_err": num(o.max_rel),
                });
                if let Some(i) = &o.image {
                    v["images"] = i.images.into();
                    v["ssim_mean"] = num(i.ssim_mean);
                    v["ssim_min"] = num(i.ssim_min);
                    v["psnr_mean"] = num(i.psnr_mean);
                    v["max_pixel_err"] = i.max_pixel_diff.into();
                }
                v
            })
            .collect();
        serde_json::json!({
            "samples": self.samples,
            "outputs": outputs,
            "failures": self.failures,
            "runtime": self.runtime.display().to_string(),
            "interpreter_s": self.interpreter_time.as_secs_f64(),
            "litert_s": self.litert_time.as_secs_f64(),
        })
        .to_string()
    }
}

/// Running sums of one output's errors.
#[derive(Default)]
struct Acc {
    dtype: Option<DType>,
    max_abs: f64,
    max_rel: f64,
    ssims: Vec<f64>,
    psnrs: Vec<f64>,
    max_pixel: u8,
}

impl Acc {
    fn add(&mut self, spec: &litert::TensorSpec, want: &Tensor, got: &[u8]) -> Result<(), String> {
        let shape = want.shape().to_vec();
        if shape.iter().product::<usize>() != spec.dims.iter().product::<usize>() {
            return Err(format!(
                "shape {:?} in the model, {shape:?} in the source",
                spec.dims
            ));
        }
        let got_t = match (spec.dtype, want.dtype()) {
            (litert::ElementType::F32, DType::F32)
            | (litert::ElementType::U8, DType::U8)
            | (litert::ElementType::I32, DType::I32)
            | (litert::ElementType::I8, DType::I8)
            | (litert::ElementType::I64, DType::I64) => Tensor::new(
                want.dtype(),
                shape.clone(),
                bytes::Bytes::copy_from_slice(got),
            )?,
            (m, s) => return Err(format!("{m:?} in the model, {s} in the source")),
        };
        self.dtype = Some(want.dtype());
        let (w, g) = (want.to_f64s()?, got_t.to_f64s()?);
        let scale = w.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-30);
        let max_abs = w
            .iter()
            .zip(&g)
            .fold(0f64, |m, (a, b)| m.max((a - b).abs()));
        self.max_abs = self.max_abs.max(max_abs);
        self.max_rel = self.max_rel.max(max_abs / scale);
        let values = |b| match want.dtype() {
            DType::F32 => Some(Values::F32(b)),
            DType::U8 => Some(Values::U8(b)),
            _ => None,
        };
        if let (Some(layout), Some(w), Some(g)) =
            (ImageLayout::of(&shape), values(want.bytes()), values(got))
        {
            let (wi, gi) = (
                metrics::images(&shape, w, layout),
                metrics::images(&shape, g, layout),
            );
            for (a, b) in wi.iter().zip(&gi) {
                self.ssims.push(metrics::ssim(a, b));
                self.psnrs.push(metrics::psnr(a, b));
                self.max_pixel = self.max_pixel.max(metrics::max_pixel_diff(a, b));
            }
        }
        Ok(())
    }

    fn report(self, name: &str, spec: &litert::TensorSpec) -> OutputReport {
        let image = (!self.ssims.is_empty()).then(|| {
            let finite: Vec<f64> = self
                .psnrs
                .iter()
                .copied()
                .filter(|p| p.is_finite())
                .collect();
            ImageReport {
                images: self.ssims.len(),
                ssim_mean: self.ssims.iter().sum::<f64>() / self.ssims.len() as f64,
                ssim_min: self.ssims.iter().copied().fold(f64::INFINITY, f64::min),
                psnr_mean: if finite.is_empty() {
                    f64::INFINITY
                } else {
                    finite.iter().sum::<f64>() / finite.len() as f64
                },
                max_pixel_diff: self.max_pixel,
            }
        });
        OutputReport {
            name: name.to_string(),
            shape: spec.dims.clone(),
            dtype: self.dtype.unwrap_or(DType::F32),
            max_abs: self.max_abs,
            max_rel: self.max_rel,
            image,
        }
    }
}

/// The bounds that fail, one sentence each.
fn check(outputs: &[OutputReport], b: &Bounds) -> Vec<String> {
    let mut failures = Vec::new();
    for o in outputs {
        if let Some(max) = b.max_rel {
            if o.max_rel > max {
                failures.push(format!(
                    "output '{}': relative error {:.3e} > --max-rel {max:e}",
                    o.name, o.max_rel
                ));
            }
        }
        match (&o.image, b.min_ssim, b.min_ssim_each) {
            (Some(i), min, each) => {
                if let Some(min) = min.filter(|&m| i.ssim_mean < m) {
                    failures.push(format!(
                        "output '{}': SSIM mean {:.4} < --min-ssim {min}",
                        o.name, i.ssim_mean
                    ));
                }
                if let Some(each) = each.filter(|&m| i.ssim_min < m) {
                    failures.push(format!(
                        "output '{}': SSIM min {:.4} < --min-ssim-each {each}",
                        o.name, i.ssim_min
                    ));
                }
            }
            (None, Some(_), _) | (None, _, Some(_))
                if outputs.iter().all(|o| o.image.is_none()) =>
            {
                failures.push(
                    "--min-ssim: the model has no image output ([N,3,H,W] or [N,H,W,3])".into(),
                );
                break;
            }
            _ => {}
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_draws_are_reproducible_and_standard() {
        let draw = |seed| {
            let mut r = Normal::new(seed);
            (0..20000).map(|_| r.next() as f64).collect::<Vec<_>>()
        };
        let (a, b) = (draw(1), draw(1));
        assert_eq!(a, b);
        assert_ne!(a[..10], draw(2)[..10]);
        let mean = a.iter().sum::<f64>() / a.len() as f64;
        let var = a.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / a.len() as f64;
        assert!(
            mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
            "{mean} {var}"
        );
    }
}
