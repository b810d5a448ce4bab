//! `--quantize auto`: a weight mode per conv and dense layer — int8-dynamic where the image tolerates
//! it, fp16 where it does not — chosen by measuring, not guessing.
//!
//! 1. The float32 model and one model per layer with only that layer in int8-dynamic run in LiteRT on the
//!    same seeded N(0, 1) inputs (a quarter of `--auto-samples`); each layer's damage is 1 − SSIM of
//!    the images against float32.
//! 2. Layers are ranked by damage per byte int8 saves over fp16. The most damaging come first and stay
//!    fp16, the rest int8-dynamic: `--max-size` bounds how many can stay fp16, `--min-ssim` asks for
//!    the fewest that reach it (a first guess adds the damages; the real models are then measured and
//!    bisected) on all `--auto-samples` inputs.
//!
//! fp16 is treated as lossless here (on the 256 px StyleGAN generator all-fp16 measured SSIM 0.9997).

use std::collections::HashMap;
use std::path::PathBuf;

use sgc_backends::tflite::quant::WeightMode;
use sgc_backends::BackendOptions;
use sgc_ir::Graph;

use crate::verify::litert::{ElementType, LiteRt, Model};
use crate::verify::metrics::{self, ImageLayout, Values};
use crate::verify::Normal;
use crate::Error;

/// What `--quantize auto` aims at.
#[derive(Debug, Clone, Default)]
pub struct AutoOptions {
    /// The model must be at most this many bytes (`--max-size`).
    pub max_size: Option<u64>,
    /// The mean SSIM against float32 must reach this (`--min-ssim`; 0.95 when neither is given).
    pub min_ssim: Option<f64>,
    /// Inputs per measurement (`--auto-samples`).
    pub samples: usize,
    pub litert_lib: Option<PathBuf>,
}

/// The choice: a mode per layer and what was measured.
#[derive(Debug)]
pub struct AutoChoice {
    pub layer_weights: HashMap<String, WeightMode>,
    pub notes: Vec<String>,
}

/// Runs model bytes in LiteRT (through a temporary file) on fixed inputs.
struct Bench<'a> {
    rt: &'a LiteRt,
    dir: tempfile::TempDir,
    inputs: Vec<Vec<Vec<u8>>>,
}

impl Bench<'_> {
    fn run(&self, model: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
        let path = self.dir.path().join("candidate.tflite");
        std::fs::write(&path, model).map_err(|error| Error::Io {
            path: path.display().to_string(),
            error,
        })?;
        let mut m = Model::open(self.rt, &path).map_err(Error::Runtime)?;
        let mut outs = Vec::new();
        for sample in &self.inputs {
            let ins: Vec<&[u8]> = sample.iter().map(Vec::as_slice).collect();
            let mut o = m.run(&ins).map_err(Error::Runtime)?;
            outs.push(o.swap_remove(0));
        }
        Ok(outs)
    }
}

/// Mean and least SSIM of image outputs (`[N,3,H,W]` or `[N,H,W,3]`, f32 or u8) against `reference`.
fn ssim(shape: &[usize], dtype: ElementType, reference: &[Vec<u8>], got: &[Vec<u8>]) -> (f64, f64) {
    let layout = ImageLayout::of(shape).expect("checked to be an image");
    let images = |b: &[u8]| {
        let values = match dtype {
            ElementType::U8 => Values::U8(b),
            _ => Values::F32(b),
        };
        metrics::images(shape, values, layout)
    };
    let mut all = Vec::new();
    for (r, g) in reference.iter().zip(got) {
        for (a, b) in images(r).iter().zip(&images(g)) {
            all.push(metrics::ssim(a, b));
        }
    }
    let mean = all.iter().sum::<f64>() / all.len().max(1) as f64;
    (mean, all.iter().copied().fold(1.0, f64::min))
}

/// Chooses a mode for every layer of [`sgc_backends::tflite::lower::quantizable_weights`]. `backend`
/// is the rest of the backend configuration (its `layer_weights` are the user's, and stay as given).
pub fn choose(
    graph: &Graph,
    backend: &BackendOptions,
    auto: &AutoOptions,
) -> Result<AutoChoice, Error> {
    let write = |layers: &HashMap<String, WeightMode>| -> Result<Vec<u8>, Error> {
        let mut b = backend.clone();
        b.weights = WeightMode::Float;
        b.layer_weights = layers.clone();
        b.layer_weights.extend(backend.layer_weights.clone());
        sgc_backends::write_tflite_with(graph, &b).map_err(|error| Error::Backend {
            file: "--quantize auto".into(),
            error,
        })
    };
    let units: Vec<(String, usize)> = sgc_backends::tflite::lower::quantizable_weights(graph)
        .into_iter()
        .filter(|(name, _)| !backend.layer_weights.contains_key(name))
        .collect();
    if units.is_empty() {
        return Err(Error::Usage(
            "--quantize auto: the graph has no conv or dense weights to quantize".into(),
        ));
    }
    let all = |mode| {
        units
            .iter()
            .map(|(n, _)| (n.clone(), mode))
            .collect::<HashMap<_, _>>()
    };
    let smallest = write(&all(WeightMode::Int8Dynamic))?.len() as u64;
    let min_ssim = auto.min_ssim.or(auto.max_size.is_none().then_some(0.95));
    if let Some(max) = auto.max_size {
        if smallest > max {
            return Err(Error::Usage(format!(
                "--max-size {max}: impossible, the smallest model (every conv and dense weight int8) is {smallest} bytes ({:.1} MB)",
                smallest as f64 / 1e6
            )));
        }
    }

    let rt = LiteRt::load(auto.litert_lib.as_deref()).map_err(Error::Runtime)?;
    let float = write(&HashMap::new())?;
    let dir = tempfile::tempdir().map_err(|error| Error::Io {
        path: "temporary directory".into(),
        error,
    })?;
    let probe = dir.path().join("float.tflite");
    std::fs::write(&probe, &float).map_err(|error| Error::Io {
        path: probe.display().to_string(),
        error,
    })?;
    let (in_specs, out) = {
        let m = Model::open(&rt, &probe).map_err(Error::Runtime)?;
        let ins: Vec<_> = m.inputs().cloned().collect();
        let out = m.outputs().next().cloned();
        (ins, out)
    };
    let out = out.filter(|o| ImageLayout::of(&o.dims).is_some()).ok_or_else(|| {
        Error::Usage("--quantize auto: the first output is not an image ([N,3,H,W] or [N,H,W,3]); its quality measure is SSIM".into())
    })?;
    if let Some(s) = in_specs.iter().find(|s| s.dtype != ElementType::F32) {
        return Err(Error::Usage(format!(
            "--quantize auto: input '{}' is not float32",
            s.name
        )));
    }
    // The choice is checked on `samples` inputs; layers are ranked on a quarter of them (at least 2),
    // one measurement per layer being the long part.
    let samples = auto.samples.max(1);
    let mut rng = Normal::new(0);
    let inputs: Vec<Vec<Vec<u8>>> = (0..samples)
        .map(|_| {
            in_specs
                .iter()
                .map(|s| {
                    (0..s.bytes / 4)
                        .flat_map(|_| rng.next().to_le_bytes())
                        .collect()
                })
                .collect()
        })
        .collect();
    let rank_inputs = inputs[..(samples / 4).clamp(2.min(samples), samples)].to_vec();
    let check = Bench {
        rt: &rt,
        dir,
        inputs,
    };
    let rank = Bench {
        rt: &rt,
        dir: tempfile::tempdir().map_err(|error| Error::Io {
            path: "temporary directory".into(),
            error,
        })?,
        inputs: rank_inputs,
    };
    // The rank inputs are the first of the check inputs: so are their float32 outputs.
    let check_ref = check.run(&float)?;
    let rank_ref = check_ref[..rank.inputs.len()].to_vec();
    let measure_on =
        |bench: &Bench<'_>, reference: &[Vec<u8>], layers: &HashMap<String, WeightMode>| {
            let model = write(layers)?;
            let (mean, min) = ssim(&out.dims, out.dtype, reference, &bench.run(&model)?);
            Ok::<_, Error>((mean, min, model.len() as u64))
        };
    let measure = |layers: &HashMap<String, WeightMode>| measure_on(&check, &check_ref, layers);

    // 1. Damage of each layer alone in int8-dynamic.
    let mut damage = Vec::with_capacity(units.len());
    for (i, (name, numel)) in units.iter().enumerate() {
        eprintln!("auto: measuring layer {}/{}: {name}", i + 1, units.len());
        let alone = HashMap::from([(name.clone(), WeightMode::Int8Dynamic)]);
        let (mean, _, _) = measure_on(&rank, &rank_ref, &alone)?;
        damage.push((name.clone(), *numel, (1.0 - mean).max(0.0)));
    }
    // 2. Most damage per byte saved first: these stay fp16.
    damage.sort_by(|a, b| (b.2 / b.1 as f64).total_cmp(&(a.2 / a.1 as f64)));
    let assign = |k: usize| -> HashMap<String, WeightMode> {
        damage
            .iter()
            .enumerate()
            .map(|(i, (n, _, _))| {
                (
                    n.clone(),
                    if i < k {
                        WeightMode::Fp16
                    } else {
                        WeightMode::Int8Dynamic
                    },
                )
            })
            .collect()
    };
    // Each fp16 layer costs one byte per weight over int8 (scales aside).
    let predicted_size = |k: usize| smallest + damage[..k].iter().map(|d| d.1 as u64).sum::<u64>();
    let k_max = (0..=damage.len())
        .take_while(|&k| auto.max_size.is_none_or(|m| predicted_size(k) <= m))
        .last()
        .unwrap_or(0);
    let predicted = |k: usize| 1.0 - damage[k..].iter().map(|d| d.2).sum::<f64>();
    let mut k = match min_ssim {
        None => k_max,
        Some(t) => (0..=k_max).find(|&k| predicted(k) >= t).unwrap_or(k_max),
    };
    let mut result = measure(&assign(k))?;
    while let Some(t) = min_ssim {
        if result.0 >= t || k >= k_max {
            break;
        }
        // The prediction was optimistic: keep the next most damaging layers fp16 too.
        k = (k + 1 + (k_max - k) / 4).min(k_max);
        eprintln!("auto: SSIM {:.4} < {t}, keeping {k} layers fp16", result.0);
        result = measure(&assign(k))?;
    }
    if let Some(t) = min_ssim.filter(|&t| result.0 >= t) {
        // The additive prediction is pessimistic (damages overlap): bisect for the fewest fp16 layers
        // that still measure at the target.
        let (mut lo, mut hi) = (0, k);
        while lo < hi {
            let mid = (lo + hi) / 2;
            eprintln!("auto: trying {mid} layers fp16");
            let r = measure(&assign(mid))?;
            if r.0 >= t {
                (hi, k, result) = (mid, mid, r);
            } else {
                lo = mid + 1;
            }
        }
    }
    if let Some(max) = auto.max_size {
        while result.2 > max && k > 0 {
            k -= 1;
            result = measure(&assign(k))?;
        }
    }
    let (mean, min, size) = result;
    if let Some(t) = min_ssim.filter(|&t| mean < t) {
        return Err(Error::Mismatch(format!(
            "--quantize auto: SSIM {t} is out of reach{}: the best measured is {mean:.4} at {:.1} MB",
            auto.max_size.map_or(String::new(), |m| format!(" within {m} bytes")),
            size as f64 / 1e6
        )));
    }
    let fp16: Vec<&str> = damage[..k].iter().map(|d| d.0.as_str()).collect();
    let mut notes = vec![format!(
        "--quantize auto: {} of {} conv/dense layers int8-dynamic, {} fp16; {:.2} MB; SSIM against float32 {mean:.4} mean, {min:.4} min on {} samples (predicted {:.4})",
        damage.len() - k,
        damage.len(),
        k,
        size as f64 / 1e6,
        samples,
        predicted(k)
    )];
    if !fp16.is_empty() {
        notes.push(format!("--quantize auto: fp16: {}", fp16.join(", ")));
    }
    Ok(AutoChoice {
        layer_weights: assign(k),
        notes,
    })
}
