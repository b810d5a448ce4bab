//! `--quantize auto`: a weight mode per conv and dense layer — int8-dynamic where the image tolerates
//! it, fp16 where it does not, int4-dynamic only where `--max-size` leaves no other way — chosen by
//! measuring, not guessing.
//!
//! 1. The float32 model and one model per layer with only that layer quantized run in LiteRT on the
//!    same seeded N(0, 1) inputs (a quarter of `--auto-samples`); each layer's damage is 1 − SSIM of
//!    the images against float32, measured in int8-dynamic (and in int4-dynamic when every layer in
//!    int8 is over `--max-size`).
//! 2. Every layer starts on the lowest rung (int8, or int4) and can climb (int4 → int8 → fp16); the
//!    steps are ranked by the damage they remove per byte they add. A prefix of that ranking is the
//!    assignment: `--max-size` bounds its length, `--min-ssim` asks for the shortest that reaches it
//!    (a first guess adds the damages; the real models are then measured and bisected) on all
//!    `--auto-samples` inputs.
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
    // The ladder's lowest rung: int8, or int4 when int8 everywhere does not fit --max-size.
    let mut floor = WeightMode::Int8Dynamic;
    let mut smallest = write(&all(floor))?.len() as u64;
    let min_ssim = auto.min_ssim.or(auto.max_size.is_none().then_some(0.95));
    if let Some(max) = auto.max_size.filter(|&m| smallest > m) {
        floor = WeightMode::Int4Dynamic;
        smallest = write(&all(floor))?.len() as u64;
        if smallest > max {
            return Err(Error::Usage(format!(
                "--max-size {max}: impossible, the smallest model (every conv and dense weight int4) is {smallest} bytes ({:.1} MB)",
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

    // 1. Damage of each layer alone at each rung below fp16.
    let rungs: &[WeightMode] = match floor {
        WeightMode::Int4Dynamic => &[WeightMode::Int4Dynamic, WeightMode::Int8Dynamic],
        _ => &[WeightMode::Int8Dynamic],
    };
    let mut damage = vec![Vec::with_capacity(rungs.len()); units.len()];
    for &mode in rungs {
        for (i, (name, _)) in units.iter().enumerate() {
            eprintln!(
                "auto: measuring layer {}/{} in {}: {name}",
                i + 1,
                units.len(),
                mode.name()
            );
            let alone = HashMap::from([(name.clone(), mode)]);
            let (mean, _, _) = measure_on(&rank, &rank_ref, &alone)?;
            damage[i].push((1.0 - mean).max(0.0));
        }
    }
    // 2. The steps up the ladder (int4 → int8 → fp16), the most damage removed per byte first: a
    //    prefix of them is the assignment. A layer's upper step never ranks before its lower one.
    let mut steps = ladder(&units, rungs, &damage);
    steps.sort_by(|a, b| b.per_byte.total_cmp(&a.per_byte));
    let assign = |k: usize| -> HashMap<String, WeightMode> {
        let mut modes = all(floor);
        for s in &steps[..k] {
            modes.insert(units[s.layer].0.clone(), s.to);
        }
        modes
    };
    let predicted_size = |k: usize| smallest + steps[..k].iter().map(|s| s.bytes).sum::<u64>();
    let k_max = (0..=steps.len())
        .take_while(|&k| auto.max_size.is_none_or(|m| predicted_size(k) <= m))
        .last()
        .unwrap_or(0);
    let floor_damage: f64 = damage.iter().map(|d| d[0]).sum();
    let predicted = |k: usize| 1.0 - floor_damage + steps[..k].iter().map(|s| s.gain).sum::<f64>();
    let mut k = match min_ssim {
        None => k_max,
        Some(t) => (0..=k_max).find(|&k| predicted(k) >= t).unwrap_or(k_max),
    };
    let mut result = measure(&assign(k))?;
    while let Some(t) = min_ssim {
        if result.0 >= t || k >= k_max {
            break;
        }
        // The prediction was optimistic: take more steps.
        k = (k + 1 + (k_max - k) / 4).min(k_max);
        eprintln!("auto: SSIM {:.4} < {t}, taking {k} steps up", result.0);
        result = measure(&assign(k))?;
    }
    if let Some(t) = min_ssim.filter(|&t| result.0 >= t) {
        // The additive prediction is pessimistic (damages overlap): bisect for the fewest steps that
        // still measure at the target.
        let (mut lo, mut hi) = (0, k);
        while lo < hi {
            let mid = (lo + hi) / 2;
            eprintln!("auto: trying {mid} steps up");
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
    let chosen = assign(k);
    let count = |m: WeightMode| chosen.values().filter(|&&c| c == m).count();
    let mut notes = vec![format!(
        "--quantize auto: of {} conv/dense layers {} int4-dynamic, {} int8-dynamic, {} fp16; {:.2} MB; SSIM against float32 {mean:.4} mean, {min:.4} min on {} samples (predicted {:.4})",
        units.len(),
        count(WeightMode::Int4Dynamic),
        count(WeightMode::Int8Dynamic),
        count(WeightMode::Fp16),
        size as f64 / 1e6,
        samples,
        predicted(k)
    )];
    for mode in [WeightMode::Fp16, WeightMode::Int4Dynamic] {
        let mut names: Vec<&str> = units
            .iter()
            .filter(|(n, _)| chosen[n] == mode)
            .map(|(n, _)| n.as_str())
            .collect();
        names.sort_unstable();
        if !names.is_empty() {
            notes.push(format!(
                "--quantize auto: {}: {}",
                mode.name(),
                names.join(", ")
            ));
        }
    }
    if count(WeightMode::Int4Dynamic) > 0 {
        notes.push("--quantize auto: LiteRT runs CONV_2D with int4 weights on a slower kernel than int8 (about 2× float32 latency for the whole 256 px generator in int4; int4 dense layers are as fast as int8)".into());
    }
    Ok(AutoChoice {
        layer_weights: chosen,
        notes,
    })
}

/// One step up a layer's ladder of modes.
#[derive(Debug, Clone, PartialEq)]
struct Step {
    layer: usize,
    to: WeightMode,
    /// SSIM the step is predicted to win (its damage measured alone, minus the next rung's).
    gain: f64,
    /// Bytes it adds.
    bytes: u64,
    per_byte: f64,
}

/// The steps from each layer's rungs (`damage[layer][r]` measured at `rungs[r]`) up to fp16 (taken as
/// lossless). Where a step wins more per byte than the one below it, both are ranked by what they win
/// together per byte (pooling adjacent violators): a prefix of the steps sorted by `per_byte` (a
/// stable sort) never skips a rung, and a layer that only pays off climbed all the way ranks as such.
fn ladder(units: &[(String, usize)], rungs: &[WeightMode], damage: &[Vec<f64>]) -> Vec<Step> {
    let bytes_per_weight = |m: WeightMode| f64::from(m.bits()) / 8.0;
    let mut steps = Vec::new();
    for (layer, (_, numel)) in units.iter().enumerate() {
        let first = steps.len();
        for (r, &from) in rungs.iter().enumerate() {
            let to = rungs.get(r + 1).copied().unwrap_or(WeightMode::Fp16);
            let gain = damage[layer][r] - damage[layer].get(r + 1).copied().unwrap_or(0.0);
            let gain = gain.max(0.0);
            let bytes = ((bytes_per_weight(to) - bytes_per_weight(from)) * *numel as f64) as u64;
            steps.push(Step {
                layer,
                to,
                gain,
                bytes,
                per_byte: gain / bytes.max(1) as f64,
            });
            // Pool this step with the ones below it while it outranks them.
            let mut lo = steps.len() - 1;
            while lo > first && steps[lo - 1].per_byte < steps[lo].per_byte {
                lo -= 1;
                let pool = &steps[lo..];
                let gain: f64 = pool.iter().map(|s| s.gain).sum();
                let bytes: u64 = pool.iter().map(|s| s.bytes).sum();
                let per_byte = gain / bytes.max(1) as f64;
                for s in &mut steps[lo..] {
                    s.per_byte = per_byte;
                }
            }
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layer_climbs_its_rungs_in_order() {
        let units = vec![("a".to_string(), 100), ("b".to_string(), 1000)];
        let rungs = [WeightMode::Int4Dynamic, WeightMode::Int8Dynamic];
        // Damage alone in int4, int8. a: int4 → int8 wins 0.05 for 50 bytes, int8 → fp16 0.05 for
        // 100. b: int4 → int8 wins only 0.001 for 500 bytes, int8 → fp16 0.02 for 1000: alone the
        // upper step would outrank the lower, so both rank at 0.021 / 1500 — still after a's.
        let damage = vec![vec![0.1, 0.05], vec![0.021, 0.02]];
        let mut steps = ladder(&units, &rungs, &damage);
        assert_eq!(steps[0].bytes, 50);
        assert_eq!(steps[1].bytes, 100);
        assert!((steps[2].gain - 0.001).abs() < 1e-12);
        assert_eq!(
            steps[1].per_byte,
            0.05 / 100.0,
            "a's steps are in order: not pooled"
        );
        assert_eq!(steps[3].per_byte, steps[2].per_byte, "b's are pooled");
        assert!((steps[2].per_byte - 0.021 / 1500.0).abs() < 1e-15);
        steps.sort_by(|a, b| b.per_byte.total_cmp(&a.per_byte));
        let order: Vec<(usize, WeightMode)> = steps.iter().map(|s| (s.layer, s.to)).collect();
        assert_eq!(
            order,
            [
                (0, WeightMode::Int8Dynamic),
                (0, WeightMode::Fp16),
                (1, WeightMode::Int8Dynamic),
                (1, WeightMode::Fp16)
            ]
        );
    }
}
