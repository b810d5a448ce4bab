//! The sgc driver: frontend → IR → passes → backend, as the `sgc` binary runs it.
//!
//! Kept here rather than in `main.rs` so that end-to-end tests drive exactly what the command line does.

pub mod auto_quant;
pub mod calibrate;
pub mod inspect;
pub mod report;
pub mod verify;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sgc_backends::tflite::WriteError;
use sgc_ir::Graph;
use sgc_passes::io::{select_io, IoSpec};
use sgc_passes::manager::PassRun;
use sgc_passes::{lower_pipeline, PassManager};

/// Boxes in a `--dump-after` Graphviz picture before name scopes are collapsed.
const DUMP_DOT_BOXES: usize = 150;

/// Everything `sgc lower` can be asked to do.
#[derive(Debug, Clone, Default)]
pub struct LowerOptions {
    pub io: IoSpec,
    /// Pass names to run instead of the default pipeline.
    pub passes: Option<Vec<String>>,
    /// Dump the IR after these passes (`all` for every pass) into `dump_dir`.
    pub dump_after: Vec<String>,
    pub dump_dir: Option<PathBuf>,
    /// StyleGAN exports: `--resolution`, `--part`, `--truncation-psi`, `--image-output` …
    pub stylegan: sgc_passes::stylegan::StyleganOptions,
    /// Which ops become TFLite custom ops and in which encoding (`--custom-op`, `--flex`).
    pub backend: sgc_backends::BackendOptions,
    /// The target runtime lacks LEAKY_RELU: expand it to MAXIMUM + MUL after the e-graph pass.
    pub no_leaky_relu: bool,
    /// Limits of the e-graph pass's equality saturation (`--egraph-limits`).
    pub egraph_limits: Option<sgc_passes::egraph::EGraphLimits>,
    /// Skip the check of the IR after every pass (`--no-verify`; it is on by default, see
    /// [`sgc_passes::PassManager::verify_each`]).
    pub no_verify: bool,
    /// Per-layer weight modes: `(regular expression of node names, mode)`, later pairs winning over
    /// earlier ones (`--quantize-layer REGEX=MODE`, then `--quantize-keep-float REGEX` as `float`).
    pub quantize_layers: Vec<(String, sgc_backends::tflite::quant::WeightMode)>,
    /// `--quantize auto`: choose each layer's weight mode by measurement (overrides the layers that
    /// `quantize_layers` leaves alone).
    pub auto_quant: Option<auto_quant::AutoOptions>,
    /// `--quantize int8`, `--weight-rounding gptq`: the inputs that calibrate.
    pub calibration: calibrate::CalibrationOptions,
    /// For a StyleGAN pickle: the network to build and its noise (`--network`, `--randomize-noise`).
    pub pickle: sgc_frontends::pickle::BuildOptions,
}

/// What lowering produced: the model's plan (serialised by [`Lowered::tflite`], or streamed to a file
/// by [`write_model`]) and what was done.
#[derive(Debug)]
pub struct Lowered {
    pub plan: sgc_backends::tflite::ModelPlan,
    /// Lines for the user: chosen outputs, defaulted batch sizes, pass notes.
    pub notes: Vec<String>,
    pub passes: Vec<PassRun>,
    pub graph: Graph,
    pub timings: Timings,
    /// Time and memory after each stage: import, every pass, the backend (`--stats`).
    pub stages: Vec<Stage>,
}

/// One stage of a lowering: how long it took and the process's memory after it (Linux: resident
/// and peak resident, from `/proc/self/status`; `None` elsewhere).
#[derive(Debug, Clone)]
pub struct Stage {
    pub name: String,
    pub time: Duration,
    pub rss_mb: Option<f64>,
    pub peak_mb: Option<f64>,
}

impl Stage {
    pub fn now(name: impl Into<String>, time: Duration) -> Stage {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |key: &str| -> Option<f64> {
            let line = status.lines().find(|l| l.starts_with(key))?;
            let kb: f64 = line[key.len()..]
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()?;
            Some(kb / 1024.0)
        };
        Stage {
            name: name.into(),
            time,
            rss_mb: field("VmRSS:"),
            peak_mb: field("VmHWM:"),
        }
    }
}

impl Lowered {
    /// The model's bytes, in memory.
    pub fn tflite(&self) -> Result<Vec<u8>, Error> {
        sgc_backends::tflite::serialize(&self.plan).map_err(|error| Error::Backend {
            file: "model".into(),
            error,
        })
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Timings {
    pub import: Duration,
    pub passes: Duration,
    pub backend: Duration,
}

/// An error of any stage, as one line naming file, node and reason.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Frontend(#[from] sgc_frontends::FrontendError),
    #[error("{file}: {error}")]
    Graph {
        file: String,
        error: sgc_ir::IrError,
    },
    #[error("{file}: {error}")]
    Pass {
        file: String,
        error: sgc_passes::PassError,
    },
    #[error("{file}: {error}")]
    Backend {
        file: String,
        error: sgc_backends::BackendError,
    },
    #[error("{0}")]
    Usage(String),
    /// `sgc report --fail-on`: some op has the named fate (exit code 3).
    #[error("{0}")]
    FailOn(String),
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    /// A bad input file other than a graph (`sgc verify --data`, a model that does not fit its source).
    #[error("{0}")]
    Input(String),
    /// The LiteRT runtime is missing or failed (`sgc verify`).
    #[error("{0}")]
    Runtime(String),
    /// `sgc verify`: the model is further from its source than the bounds allow.
    #[error("{0}")]
    Mismatch(String),
}

impl Error {
    /// The process exit code for this error: 2 for usage errors, 3 for an op sgc cannot lower (no TFLite
    /// lowering and not made custom, or an op unknown to shape inference), 1 for everything else about the
    /// input (unreadable, corrupt or invalid graph). See [`EXIT_CODES`].
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::FailOn(_) => 3,
            Error::Backend {
                error: sgc_backends::BackendError::NoLowering { .. },
                ..
            }
            | Error::Pass {
                error:
                    sgc_passes::PassError {
                        error: sgc_ir::IrError::UnknownOp { .. },
                        ..
                    },
                ..
            }
            | Error::Graph {
                error: sgc_ir::IrError::UnknownOp { .. },
                ..
            } => 3,
            _ => 1,
        }
    }
}

/// The exit codes of every `sgc` command, as `sgc --help` and the README list them.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  bad input: unreadable, corrupt or invalid graph (or a conversion error about it);
     `sgc verify`: a bound failed, or the data, model or LiteRT runtime is unusable
  2  usage error: bad arguments or options
  3  unsupported op: an op with no TFLite lowering that is not made custom
     (`sgc report --fail-on` also exits 3 when an op has the named fate)";

/// A GraphDef in memory, in one of its two encodings.
#[derive(Debug, Clone)]
pub enum Input<'a> {
    /// Binary protobuf; constants point into these bytes (no copy).
    Pb(bytes::Bytes),
    /// Text format.
    Pbtxt(&'a str),
}

/// Loads `input`, runs the pipeline and writes TFLite bytes (in memory).
pub fn lower(input: &Path, options: &LowerOptions) -> Result<Lowered, Error> {
    let file = input.display().to_string();
    let start = Instant::now();
    let (graph, load_notes) = sgc_frontends::load_network(input, &options.pickle)?;
    let mut lowered = lower_graph(graph, file, start.elapsed(), options)?;
    lowered.notes.splice(0..0, load_notes);
    Ok(lowered)
}

/// [`lower`] for a graph already in memory (errors name it `<bytes>` or `<text>`).
pub fn lower_bytes(input: Input<'_>, options: &LowerOptions) -> Result<Lowered, Error> {
    let start = Instant::now();
    let (file, graph) = match input {
        Input::Pb(bytes) => (
            sgc_frontends::BYTES_ORIGIN,
            sgc_frontends::graph_from_pb(bytes)?,
        ),
        Input::Pbtxt(text) => (
            sgc_frontends::TEXT_ORIGIN,
            sgc_frontends::graph_from_pbtxt(text)?,
        ),
    };
    lower_graph(graph, file.to_string(), start.elapsed(), options)
}

/// The whole lowering on arbitrary bytes, for the `lower` fuzz target and `tests/fuzz_smoke.rs`: the
/// first byte picks the encoding (odd: text), the rest is the graph. Errors are expected; a panic or a
/// hang is a bug.
#[doc(hidden)]
pub fn fuzz_lower(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let input = if mode & 1 == 1 {
        match std::str::from_utf8(rest) {
            Ok(text) => Input::Pbtxt(text),
            Err(_) => return,
        }
    } else {
        Input::Pb(bytes::Bytes::copy_from_slice(rest))
    };
    let options = LowerOptions::default();
    // Any error is fine except a pass leaving the IR inconsistent: that is a bug like a panic.
    if let Err(Error::Pass {
        error:
            e @ sgc_passes::PassError {
                error: sgc_ir::IrError::Invalid { .. },
                ..
            },
        ..
    }) = lower_bytes(input, &options)
    {
        panic!("{e}");
    }
}

/// The pipeline and the backend on an imported graph; `file` names it in errors.
fn lower_graph(
    mut graph: Graph,
    file: String,
    import: Duration,
    options: &LowerOptions,
) -> Result<Lowered, Error> {
    let mut notes = select_io(&mut graph, &options.io).map_err(|error| Error::Graph {
        file: file.clone(),
        error,
    })?;
    let manager = pass_manager(options)?;
    if let Some(bad) = options
        .dump_after
        .iter()
        .find(|p| *p != "all" && !manager.names().contains(&p.as_str()))
    {
        return Err(Error::Usage(format!(
            "--dump-after {bad}: no pass of that name in this pipeline ({})",
            manager.names().join(", ")
        )));
    }

    let start = Instant::now();
    let mut dump_error = None;
    let mut step = 0;
    let mut stages = vec![Stage::now("import", import)];
    let mut last = Instant::now();
    let passes = manager
        .run(&mut graph, |pass, g| {
            stages.push(Stage::now(pass, last.elapsed()));
            last = Instant::now();
            step += 1;
            if options.dump_after.iter().any(|p| p == pass || p == "all") {
                if let Some(dir) = &options.dump_dir {
                    // The IR as text, and as a Graphviz picture (collapsed by name scope when large).
                    let title = format!("after {pass}");
                    let dot = sgc_backends::report::dot::to_dot(
                        g,
                        &title,
                        DUMP_DOT_BOXES,
                        &Default::default(),
                    );
                    for (path, text) in [
                        (dir.join(format!("{step:02}-{pass}.txt")), g.dump()),
                        (dir.join(format!("{step:02}-{pass}.dot")), dot),
                    ] {
                        if let Err(error) = std::fs::write(&path, text) {
                            dump_error.get_or_insert(Error::Io {
                                path: path.display().to_string(),
                                error,
                            });
                        }
                    }
                }
            }
        })
        .map_err(|error| Error::Pass {
            file: file.clone(),
            error,
        })?;
    if let Some(e) = dump_error {
        return Err(e);
    }
    let passes_time = start.elapsed();
    // A pass that runs several times (fold) reports on the graph each time: keep its last word.
    let mut seen = Vec::new();
    let mut pass_notes: Vec<String> = Vec::new();
    for run in passes.iter().rev() {
        if !seen.contains(&run.pass) {
            seen.push(run.pass);
            pass_notes.extend(run.report.notes.iter().rev().cloned());
        }
    }
    notes.extend(pass_notes.into_iter().rev());

    let start = Instant::now();
    let mut backend = options.backend.clone();
    backend
        .layer_weights
        .extend(layer_weights(&graph, &options.quantize_layers)?);
    if let Some(auto) = &options.auto_quant {
        let choice = auto_quant::choose(&graph, &backend, auto)?;
        notes.extend(choice.notes);
        for (layer, mode) in choice.layer_weights {
            backend.layer_weights.entry(layer).or_insert(mode);
        }
    }
    let plan = if backend.full_integer() {
        let (plan, int8_notes) = calibrate::full_integer(&graph, &backend, &options.calibration)?;
        notes.extend(int8_notes);
        plan
    } else {
        let mut plan = sgc_backends::tflite::plan_with(&graph, &backend)
            .map_err(|error| Error::Backend { file, error })?;
        if options.calibration.gptq {
            notes.extend(calibrate::gptq(&mut plan, &options.calibration)?);
        }
        plan
    };
    let backend_time = start.elapsed();
    stages.push(Stage::now("backend", backend_time));
    Ok(Lowered {
        plan,
        notes,
        passes,
        graph,
        timings: Timings {
            import,
            passes: passes_time,
            backend: backend_time,
        },
        stages,
    })
}

/// The weight mode of every node that one of `layers` names (the last matching pattern wins).
fn layer_weights(
    graph: &Graph,
    layers: &[(String, sgc_backends::tflite::quant::WeightMode)],
) -> Result<Vec<(String, sgc_backends::tflite::quant::WeightMode)>, Error> {
    let mut res = Vec::with_capacity(layers.len());
    for (p, mode) in layers {
        let r = regex::Regex::new(p)
            .map_err(|e| Error::Usage(format!("quantization layer pattern '{p}': {e}")))?;
        res.push((r, *mode));
    }
    Ok(graph
        .node_indices()
        .map(|n| &graph.node(n).name)
        .filter_map(|name| {
            let (_, mode) = res.iter().rev().find(|(r, _)| r.is_match(name))?;
            Some((name.clone(), *mode))
        })
        .collect())
}

/// `sgc stubs`: writes the C++ stubs of the custom ops of the model at `model` into `dir` (created if
/// missing), each file atomically. Returns the paths written; a model without custom ops is an error.
pub fn write_stubs(model: &Path, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let file = model.display().to_string();
    let bytes = std::fs::read(model).map_err(|error| Error::Io {
        path: file.clone(),
        error,
    })?;
    let files = sgc_backends::stubs::generate(&bytes, &file).map_err(|e| Error::Backend {
        file: file.clone(),
        error: sgc_backends::BackendError::Graph(format!("not a valid .tflite model: {}", e.0)),
    })?;
    if files.is_empty() {
        return Err(Error::Backend {
            file,
            error: sgc_backends::BackendError::Graph("the model has no custom ops".into()),
        });
    }
    std::fs::create_dir_all(dir).map_err(|error| Error::Io {
        path: dir.display().to_string(),
        error,
    })?;
    let mut written = Vec::new();
    for f in files {
        let path = dir.join(&f.name);
        write_atomically(&path, f.contents.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

/// The passes `options` ask for: `--passes` or the default pipeline, configured for the StyleGAN
/// exports and the target (`--no-leaky-relu`). `sgc lower` and `sgc report` share it.
pub fn pass_manager(options: &LowerOptions) -> Result<PassManager, Error> {
    let mut manager = match &options.passes {
        Some(names) => PassManager::from_names(names).map_err(Error::Usage)?,
        None => lower_pipeline(),
    };
    if !options.stylegan.is_empty() {
        sgc_passes::stylegan::configure(&mut manager, &options.stylegan).map_err(Error::Usage)?;
    }
    let integer_weights = options.backend.weights.is_dynamic()
        || options.quantize_layers.iter().any(|(_, m)| m.is_dynamic())
        || options.auto_quant.is_some();
    if options.egraph_limits.is_some() || integer_weights {
        let limits = options.egraph_limits.unwrap_or_default();
        let kernels = if integer_weights {
            sgc_passes::egraph::ConvKernels::IntegerWeights
        } else {
            sgc_passes::egraph::ConvKernels::Float
        };
        manager.replace(|| Box::new(sgc_passes::egraph::EGraphRewrite { limits, kernels }));
        if integer_weights {
            // LiteRT's dynamic-range TRANSPOSE_CONV is fast: keep the transposed convs.
            manager.remove("sub-pixel");
        }
    }
    if options.no_verify {
        manager.verify_each(false);
    }
    if options.no_leaky_relu {
        let after_egraph = manager
            .names()
            .iter()
            .rposition(|&p| p == "egraph")
            .map_or(manager.names().len(), |i| i + 1);
        manager.insert(after_egraph, Box::new(sgc_passes::expand::ExpandLeakyRelu));
    }
    Ok(manager)
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, renamed into place, so a failure
/// never leaves a half-written model.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    write_atomically_with(path, |w| w.write_all(bytes).map_err(WriteError::Io))
}

/// Streams the model of `plan` to `path` atomically (as [`write_atomically`]); returns its size in
/// bytes. The weights go to the file one tensor at a time: the model is never whole in memory.
pub fn write_model(path: &Path, plan: &sgc_backends::tflite::ModelPlan) -> Result<u64, Error> {
    let mut size = 0;
    write_atomically_with(path, |w| {
        size = sgc_backends::tflite::serialize_to(plan, w)?;
        Ok(())
    })?;
    Ok(size)
}

/// Writes `path` atomically with `write` (buffered), renaming a temporary file beside it into place
/// only when `write` succeeded.
fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<&std::fs::File>) -> Result<(), WriteError>,
) -> Result<(), Error> {
    let io_err = |error| Error::Io {
        path: path.display().to_string(),
        error,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(io_err)?;
    // A temporary file is private (0600); the model is an ordinary output file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io_err)?;
    }
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file());
        match write(&mut w) {
            Ok(()) => {}
            Err(WriteError::Io(e)) => return Err(io_err(e)),
            Err(WriteError::Backend(error)) => {
                return Err(Error::Backend {
                    file: path.display().to_string(),
                    error,
                })
            }
        }
        w.flush().map_err(io_err)?;
    }
    tmp.as_file().sync_all().map_err(io_err)?;
    tmp.persist(path).map_err(|e| io_err(e.error))?;
    Ok(())
}

/// Parses `name=d0,d1,...` (a `?` or -1 dimension stays unknown).
pub fn parse_input_shape(spec: &str) -> Result<(String, Vec<i64>), Error> {
    let (name, dims) = spec
        .rsplit_once('=')
        .ok_or_else(|| Error::Usage(format!("--inputs '{spec}': expected NAME=d0,d1,...")))?;
    let dims = dims
        .split(',')
        .map(|d| {
            match d.trim() {
                "?" => Some(-1),
                d => d.parse::<i64>().ok().filter(|&v| v >= -1),
            }
            .ok_or_else(|| Error::Usage(format!("--inputs '{spec}': '{d}' is not a dimension")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((name.to_string(), dims))
}

/// A size: bytes, or a number with kB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, Error> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let scale: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "kB" | "KB" | "k" => 1e3,
        "MB" | "M" => 1e6,
        "GB" | "G" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        u => {
            return Err(Error::Usage(format!(
                "size '{s}': unknown unit '{u}' (B, kB, MB, GB, KiB, MiB, GiB)"
            )))
        }
    };
    let v: f64 = num.parse().map_err(|_| {
        Error::Usage(format!(
            "size '{s}': expected a number with an optional unit, e.g. 20MB"
        ))
    })?;
    Ok((v * scale).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_decimal_and_binary_units() {
        assert_eq!(parse_size("20MB").unwrap(), 20_000_000);
        assert_eq!(parse_size("1.5 MiB").unwrap(), 1_572_864);
        assert_eq!(parse_size("300000").unwrap(), 300_000);
        assert_eq!(parse_size("2kB").unwrap(), 2000);
        for bad in ["MB", "20 parsecs", "-1MB", ""] {
            assert!(matches!(parse_size(bad), Err(Error::Usage(_))), "{bad}");
        }
    }

    #[test]
    fn input_shapes_parse() {
        assert_eq!(
            parse_input_shape("latents_in=1,14,512").unwrap(),
            ("latents_in".to_string(), vec![1, 14, 512])
        );
        assert_eq!(parse_input_shape("a/b=?,3").unwrap().1, vec![-1, 3]);
        assert!(parse_input_shape("x").is_err());
        assert!(parse_input_shape("x=1,a").is_err());
    }

    #[test]
    fn unsupported_ops_exit_3_and_usage_2() {
        let file = "g.pbtxt".to_string();
        let backend = Error::Backend {
            file: file.clone(),
            error: sgc_backends::BackendError::NoLowering {
                node: "y".into(),
                op: "Frobnicate".into(),
            },
        };
        let pass = Error::Pass {
            file: file.clone(),
            error: sgc_passes::PassError {
                pass: "fold",
                error: sgc_ir::IrError::UnknownOp {
                    node: "y".into(),
                    op: "Frobnicate".into(),
                },
            },
        };
        let shape = Error::Backend {
            file: file.clone(),
            error: sgc_backends::BackendError::Node {
                node: "y".into(),
                op: "Conv2D".into(),
                reason: "value 'y' has no static shape".into(),
            },
        };
        assert_eq!(backend.exit_code(), 3);
        assert_eq!(pass.exit_code(), 3);
        assert_eq!(shape.exit_code(), 1);
        assert_eq!(Error::Usage("x".into()).exit_code(), 2);
    }

    #[test]
    fn atomic_write_replaces_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.tflite");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644, "readable like any output file");
        }
    }
}
