//! The `sgc` command line. Thin on purpose: parsing arguments and printing; the work is in the crates.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sgc::{lower, parse_input_shape, write_atomically, Error, LowerOptions};
use sgc_passes::io::IoSpec;
use sgc_passes::stylegan::StyleganOptions;

#[derive(Parser)]
#[command(
    name = "sgc",
    version,
    about = "Compiles TensorFlow 1.x graphs (StyleGAN first) to TensorFlow Lite",
    after_help = sgc::EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lower a frozen GraphDef (.pb or .pbtxt) to a .tflite model.
    Lower {
        /// The frozen graph: binary `.pb` or text `.pbtxt`.
        input: PathBuf,
        /// Where to write the model (written atomically).
        #[arg(short, long)]
        output: PathBuf,
        #[command(flatten)]
        pipeline: PipelineArgs,
        /// Write the IR after these passes (`all` for each) to `--dump-dir`, as text and Graphviz.
        #[arg(long, value_delimiter = ',')]
        dump_after: Vec<String>,
        /// Directory for `--dump-after` (default: current directory).
        #[arg(long)]
        dump_dir: Option<PathBuf>,
        /// Print each stage's time and the process's memory after it (import, every pass, backend,
        /// write).
        #[arg(long)]
        stats: bool,
        #[command(flatten)]
        auto: AutoArgs,
    },
    /// Write C++ kernel stubs for the custom ops of a .tflite model: one file per op with a
    /// TfLiteRegistration (prepare sets the recorded output shapes, invoke is to be written), a header
    /// registering them all, and a CMake snippet.
    Stubs {
        /// The model (as written by `sgc lower`).
        model: PathBuf,
        /// The directory to write the files into (created if missing).
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Check a model against its source: SOURCE runs in sgc's interpreter and MODEL in the LiteRT
    /// runtime (libLiteRt.so of the ai-edge-litert wheel, loaded in-process) on the same inputs; prints
    /// each output's largest absolute and relative error and, for image outputs, SSIM and PSNR of the
    /// uint8 images. Exits 1 when a bound fails. Give the export options the model was lowered with
    /// (`--resolution`, `--part` …): they choose the sub-network compared.
    Verify {
        /// The source graph: binary `.pb` or text `.pbtxt`.
        source: PathBuf,
        /// The model to check.
        model: PathBuf,
        /// Number of runs (default 16, or every sample of --data).
        #[arg(long)]
        samples: Option<usize>,
        /// Seed of the N(0, 1) inputs drawn when --data is not given.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Inputs from a `.npy` file, `[NAME=]FILE`: one sample (the input's shape) or several stacked
        /// on a new first axis; NAME may be left out for a model with one input. Repeatable.
        #[arg(long, value_name = "[NAME=]FILE")]
        data: Vec<String>,
        /// Fail when an image output's mean SSIM is below this.
        #[arg(long, value_name = "X")]
        min_ssim: Option<f64>,
        /// Fail when any single image's SSIM is below this.
        #[arg(long, value_name = "X")]
        min_ssim_each: Option<f64>,
        /// Fail when an output's largest |model − source| over its largest |source| exceeds this.
        #[arg(long, value_name = "E")]
        max_rel: Option<f64>,
        /// libLiteRt.so to load (default: $SGC_LITERT_LIB, else the ai_edge_litert package of
        /// $VIRTUAL_ENV, of $SGC_PYTHON's environment or of ./.venv).
        #[arg(long, value_name = "PATH")]
        litert_lib: Option<PathBuf>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        pipeline: PipelineArgs,
    },
    /// List the passes, in the order `sgc lower` runs them, with what each does.
    Passes,
    /// Say what becomes of every op type of a graph (builtin, custom, folded, removed by which pass, or
    /// blocked and why), before converting it. Works when lowering fails: it says what blocks.
    /// List what a StyleGAN pickle (`.pkl`) holds — networks, build functions, static kwargs, the
    /// module source's hash (an official release's or not), variables, resolution — without building
    /// or running anything (the pickle is read by an opcode machine that refuses any global outside
    /// the format).
    Inspect {
        /// The pickle, e.g. `stylegan-ffhq-1024x1024.pkl`.
        input: PathBuf,
        /// text (default) or json.
        #[arg(long, value_enum, default_value_t = InspectFormat::Text)]
        format: InspectFormat,
    },
    Report {
        /// The frozen graph: binary `.pb` or text `.pbtxt`.
        input: PathBuf,
        /// text (default), json (schema in `sgc_backends::report`), md, or html (one self-contained page
        /// with Graphviz pictures of the graph when `dot` is installed).
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
        /// Write the report here (atomically) instead of to stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Exit with 3 (after writing the report) when some op has this fate.
        #[arg(long, value_enum)]
        fail_on: Option<FailOn>,
        #[command(flatten)]
        pipeline: PipelineArgs,
    },
}

/// What to convert and how: shared by `sgc lower` and `sgc report`, so a report describes exactly the
/// conversion the same options would make.
#[derive(clap::Args)]
struct PipelineArgs {
    /// For a StyleGAN pickle: the network to convert, `Gs` (default), `G`, or a component such as
    /// `Gs/synthesis` or `Gs/mapping` (`sgc inspect` lists them).
    #[arg(long, value_name = "PATH")]
    network: Option<String>,
    /// For a StyleGAN pickle: draw each layer's noise at run time (RANDOM_STANDARD_NORMAL), as
    /// `Gs.run()` does by default, instead of the stored noise maps (the deterministic default).
    #[arg(long)]
    randomize_noise: bool,
    /// Output tensors, `node` or `node:port`, comma-separated (default: the graph's sink nodes).
    #[arg(long, value_delimiter = ',')]
    outputs: Vec<String>,
    /// An input shape, `NAME=d0,d1,...`; repeatable. Unknown batch dimensions default to 1.
    #[arg(long = "inputs", value_name = "NAME=DIMS")]
    inputs: Vec<String>,
    /// Run these passes instead of the default pipeline (see `sgc passes`).
    #[arg(long, value_delimiter = ',')]
    passes: Option<Vec<String>>,
    #[command(flatten)]
    stylegan: Box<StyleganArgs>,
    #[command(flatten)]
    custom: CustomOpArgs,
    /// The target runtime has no LEAKY_RELU: write leaky relus as MAXIMUM(x, MUL(x, alpha)).
    #[arg(long)]
    no_leaky_relu: bool,
    /// Limits of the e-graph pass, `nodes=N,iterations=N,time-ms=N` (default 100000, 30, 2000); the
    /// pass report says which one stopped the run.
    #[arg(long, value_name = "LIMITS")]
    egraph_limits: Option<String>,
    /// Skip the check of the IR after every pass (Graph::verify, on by default: a pass that leaves it
    /// inconsistent fails, naming the pass and the node, instead of writing a wrong model).
    #[arg(long)]
    no_verify: bool,
}

impl PipelineArgs {
    fn options(self) -> Result<LowerOptions, Error> {
        let input_shapes = self
            .inputs
            .iter()
            .map(|s| parse_input_shape(s))
            .collect::<Result<_, _>>()?;
        let (backend, quantize_layers) = self.custom.options()?;
        Ok(LowerOptions {
            io: IoSpec {
                outputs: self.outputs,
                input_shapes,
            },
            passes: self.passes,
            stylegan: (*self.stylegan).options()?,
            backend,
            quantize_layers,
            no_leaky_relu: self.no_leaky_relu,
            egraph_limits: self
                .egraph_limits
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(Error::Usage)?,
            no_verify: self.no_verify,
            pickle: sgc_frontends::pickle::BuildOptions {
                network: self.network,
                randomize_noise: self.randomize_noise,
            },
            ..Default::default()
        })
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum InspectFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ReportFormat {
    Text,
    Json,
    Md,
    Html,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum FailOn {
    Custom,
    Blocked,
}

/// StyleGAN exports (see README, "Phone-sized exports").
#[derive(clap::Args)]
struct StyleganArgs {
    /// Export the R px generator a progressive StyleGAN graph contains (its ToRGB at R becomes the image).
    #[arg(long, value_name = "R")]
    resolution: Option<u32>,
    /// With --resolution: keep the dlatent input at the full graph's [N, 2·log2(full)−2, D].
    #[arg(long)]
    keep_dlatent_shape: bool,
    /// Part of a G_style generator: synthesis (dlatents_in → image), mapping (latents → dlatents_out) or full.
    #[arg(long, value_parser = ["synthesis", "mapping", "full"])]
    part: Option<String>,
    /// Truncation ψ (0 < ψ ≤ 1; 1 removes the truncation ops).
    #[arg(long, value_name = "PSI")]
    truncation_psi: Option<f32>,
    /// Truncate the first K dlatent rows (0 removes the truncation ops).
    #[arg(long, value_name = "K")]
    truncation_cutoff: Option<usize>,
    /// The image output: u8 NHWC (the app's bitmap), f32 NHWC or f32 NCHW, replacing the graph's own tail.
    #[arg(long, value_parser = ["uint8-nhwc", "float-nhwc", "float-nchw"])]
    image_output: Option<String>,
}

impl StyleganArgs {
    fn options(self) -> Result<StyleganOptions, Error> {
        Ok(StyleganOptions {
            resolution: self.resolution,
            keep_dlatent_shape: self.keep_dlatent_shape,
            part: self
                .part
                .map(|p| p.parse())
                .transpose()
                .map_err(Error::Usage)?,
            truncation_psi: self.truncation_psi,
            truncation_cutoff: self.truncation_cutoff,
            image_output: self
                .image_output
                .map(|p| p.parse())
                .transpose()
                .map_err(Error::Usage)?,
        })
    }
}

/// Ops without a builtin lowering (see README, "Custom ops").
#[derive(clap::Args)]
struct CustomOpArgs {
    /// Emit these TensorFlow ops as TFLite custom ops even where they have a builtin lowering
    /// (comma-separated; repeatable). Ops sgc does not know are always custom ops.
    #[arg(long = "custom-op", value_name = "OP", value_delimiter = ',')]
    custom_ops: Vec<String>,
    /// Write custom ops in the Flex encoding ("Flex" + op name, the NodeDef as options), for runtimes
    /// with TensorFlow's Flex delegate.
    #[arg(long)]
    flex: bool,
    /// Store conv and dense weights quantized: fp16 (float16 + DEQUANTIZE), int8-weights (per-channel
    /// int8 + DEQUANTIZE, float compute), int8-dynamic (int8 weights read by TFLite's dynamic-range
    /// kernels), int8 (full integer: int8 weights and activations, ranges calibrated in LiteRT),
    /// int4-weights / int4-dynamic (the same with int4); float keeps them float32; auto
    /// (`sgc lower` only) measures each layer in LiteRT and keeps fp16 the ones int8 harms most (int4
    /// the ones it harms least, when int8 does not fit --max-size), to meet --max-size / --min-ssim.
    #[arg(long, value_name = "MODE", default_value = "float")]
    quantize: String,
    /// Keep the weights of the convs and dense layers whose node name matches this regular expression
    /// float32 (repeatable; wins over --quantize-layer).
    #[arg(long = "quantize-keep-float", value_name = "REGEX")]
    keep_float: Vec<String>,
    /// Give the convs and dense layers whose node name matches REGEX this --quantize mode instead
    /// (repeatable; a later match wins).
    #[arg(long = "quantize-layer", value_name = "REGEX=MODE")]
    layers: Vec<String>,
}

/// `--quantize auto` (see README, "Quantized weights").
#[derive(clap::Args)]
struct AutoArgs {
    /// With --quantize auto: the model must be at most this large (bytes, or 20MB, 30MiB …).
    #[arg(long, value_name = "SIZE")]
    max_size: Option<String>,
    /// With --quantize auto: the mean SSIM of the images against float32 to reach (default 0.95 when
    /// --max-size is not given).
    #[arg(long, value_name = "X")]
    min_ssim: Option<f64>,
    /// With --quantize auto: seeded inputs the choice is checked on (layers are ranked on a quarter).
    #[arg(long, value_name = "N", default_value_t = 16)]
    auto_samples: usize,
    /// With --quantize int8 or --weight-rounding gptq: inputs the activations are measured on
    /// (default: every sample of --calibration-data, or 32 seeded N(0, 1) draws).
    #[arg(long, value_name = "N")]
    calibration_samples: Option<usize>,
    /// With --quantize int8 or --weight-rounding gptq: calibration inputs from a .npy file,
    /// [NAME=]FILE (one sample in the input's shape, or several stacked; repeatable, one per input).
    #[arg(long = "calibration-data", value_name = "[NAME=]FILE")]
    calibration_data: Vec<String>,
    /// How int8/int4 weights are rounded: nearest (each to its nearest step), or gptq (column by
    /// column, each column's error moved onto the columns not yet rounded as the layer's inputs on
    /// the calibration data correlate them: less output error for the same bytes; needs LiteRT).
    #[arg(
        long = "weight-rounding",
        value_name = "nearest|gptq",
        default_value = "nearest"
    )]
    weight_rounding: String,
    /// With --quantize auto or int8: the LiteRT library that measures (as for `sgc verify`).
    #[arg(long, value_name = "PATH")]
    litert_lib: Option<PathBuf>,
}

impl AutoArgs {
    fn options(self, quantize_auto: bool) -> Result<Option<sgc::auto_quant::AutoOptions>, Error> {
        if !quantize_auto {
            if self.max_size.is_some() || self.min_ssim.is_some() {
                return Err(Error::Usage(
                    "--max-size and --min-ssim go with --quantize auto".into(),
                ));
            }
            return Ok(None);
        }
        if let Some(t) = self.min_ssim.filter(|t| !(0.0..=1.0).contains(t)) {
            return Err(Error::Usage(format!("--min-ssim {t}: SSIM is at most 1")));
        }
        Ok(Some(sgc::auto_quant::AutoOptions {
            max_size: self.max_size.as_deref().map(sgc::parse_size).transpose()?,
            min_ssim: self.min_ssim,
            samples: self.auto_samples,
            litert_lib: self.litert_lib,
        }))
    }
}

/// `(regular expression, weight mode)` pairs, later ones winning.
type QuantLayers = Vec<(String, sgc_backends::tflite::quant::WeightMode)>;

impl CustomOpArgs {
    fn options(self) -> Result<(sgc_backends::BackendOptions, QuantLayers), Error> {
        // `auto` is the driver's (it measures); the backend starts from int8-dynamic.
        let quantize = if self.quantize == "auto" {
            "int8-dynamic"
        } else {
            self.quantize.as_str()
        };
        let backend = sgc_backends::BackendOptions {
            custom_ops: self.custom_ops,
            flex: self.flex.then_some(
                sgc_frontends::export::encode_node_def as sgc_backends::tflite::NodeDefEncoder,
            ),
            weights: quantize
                .parse()
                .map_err(|e| Error::Usage(format!("--quantize: {e} (or auto)")))?,
            layer_weights: Default::default(),
        };
        let mut layers = Vec::new();
        for spec in &self.layers {
            let (pattern, mode) = spec.rsplit_once('=').ok_or_else(|| {
                Error::Usage(format!("--quantize-layer '{spec}': expected REGEX=MODE"))
            })?;
            let mode = mode
                .parse()
                .map_err(|e| Error::Usage(format!("--quantize-layer '{spec}': {e}")))?;
            layers.push((pattern.to_string(), mode));
        }
        let float = sgc_backends::tflite::quant::WeightMode::Float;
        layers.extend(self.keep_float.into_iter().map(|p| (p, float)));
        Ok((backend, layers))
    }
}

/// A `[NAME=]FILE` data argument.
fn data_arg(d: &str) -> (Option<String>, PathBuf) {
    match d.split_once('=') {
        Some((name, file)) => (Some(name.to_string()), PathBuf::from(file)),
        None => (None, PathBuf::from(d)),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn run(command: Command) -> Result<(), Error> {
    match command {
        Command::Lower {
            input,
            output,
            pipeline,
            dump_after,
            dump_dir,
            stats,
            auto,
        } => {
            let calibration = sgc::calibrate::CalibrationOptions {
                samples: auto.calibration_samples,
                data: auto.calibration_data.iter().map(|d| data_arg(d)).collect(),
                litert_lib: auto.litert_lib.clone(),
                gptq: match auto.weight_rounding.as_str() {
                    "nearest" => false,
                    "gptq" => true,
                    other => {
                        return Err(Error::Usage(format!(
                            "--weight-rounding {other}: expected nearest or gptq"
                        )))
                    }
                },
            };
            let auto_quant = auto.options(pipeline.custom.quantize == "auto")?;
            let options = LowerOptions {
                auto_quant,
                calibration,
                dump_dir: dump_dir.or_else(|| (!dump_after.is_empty()).then(|| PathBuf::from("."))),
                dump_after,
                ..pipeline.options()?
            };
            let lowered = lower(&input, &options)?;
            for note in &lowered.notes {
                eprintln!("note: {note}");
            }
            let start = std::time::Instant::now();
            let size = sgc::write_model(&output, &lowered.plan)?;
            let mut t = lowered.timings;
            t.backend += start.elapsed();
            if stats {
                let mut stages = lowered.stages.clone();
                stages.push(sgc::Stage::now("write", start.elapsed()));
                eprintln!("stage                  time ms   RSS MB  peak MB");
                let mb = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.0}"));
                for s in &stages {
                    eprintln!(
                        "{:<22} {:>7.0} {:>8} {:>8}",
                        s.name,
                        s.time.as_secs_f64() * 1e3,
                        mb(s.rss_mb),
                        mb(s.peak_mb)
                    );
                }
            }
            eprintln!(
                "wrote {} ({:.2} MB, {} nodes) in {:.0} ms (import {:.0} ms, passes {:.0} ms, backend {:.0} ms)",
                output.display(),
                size as f64 / 1e6,
                lowered.graph.node_count(),
                (t.import + t.passes + t.backend).as_secs_f64() * 1e3,
                t.import.as_secs_f64() * 1e3,
                t.passes.as_secs_f64() * 1e3,
                t.backend.as_secs_f64() * 1e3,
            );
            Ok(())
        }
        Command::Report {
            input,
            format,
            output,
            fail_on,
            pipeline,
        } => {
            let reported = sgc::report::report(&input, &pipeline.options()?)?;
            let text = reported.render(match format {
                ReportFormat::Text => sgc::report::Format::Text,
                ReportFormat::Json => sgc::report::Format::Json,
                ReportFormat::Md => sgc::report::Format::Md,
                ReportFormat::Html => sgc::report::Format::Html,
            });
            match &output {
                Some(path) => write_atomically(path, text.as_bytes())?,
                None => print!("{text}"),
            }
            let (category, what) = match fail_on {
                None => return Ok(()),
                Some(FailOn::Custom) => (sgc_backends::report::Category::Custom, "custom ops"),
                Some(FailOn::Blocked) => (sgc_backends::report::Category::Blocked, "blocked ops"),
            };
            if reported.report.has(category) {
                return Err(Error::FailOn(format!(
                    "{}: the graph has {what} (--fail-on); {}",
                    input.display(),
                    reported.report.summary_line()
                )));
            }
            Ok(())
        }
        Command::Stubs { model, output } => {
            for path in sgc::write_stubs(&model, &output)? {
                eprintln!("wrote {}", path.display());
            }
            Ok(())
        }
        Command::Verify {
            source,
            model,
            samples,
            seed,
            data,
            min_ssim,
            min_ssim_each,
            max_rel,
            litert_lib,
            json,
            pipeline,
        } => {
            let data = data.iter().map(|d| data_arg(d)).collect();
            let options = sgc::verify::VerifyOptions {
                lower: pipeline.options()?,
                samples,
                seed,
                data,
                litert_lib,
                bounds: sgc::verify::Bounds {
                    min_ssim,
                    min_ssim_each,
                    max_rel,
                },
            };
            let verified = sgc::verify::verify(&source, &model, &options)?;
            if json {
                println!("{}", verified.to_json());
            } else {
                print!("{}", verified.render(&source, &model));
            }
            if verified.failures.is_empty() {
                Ok(())
            } else {
                Err(Error::Mismatch(format!(
                    "{}: {}",
                    model.display(),
                    verified.failures.join("; ")
                )))
            }
        }
        Command::Inspect { input, format } => {
            let networks = sgc_frontends::pickle::read_networks(&input)?;
            match format {
                InspectFormat::Text => {
                    print!(
                        "{}",
                        sgc::inspect::text(&input.display().to_string(), &networks)
                    )
                }
                InspectFormat::Json => {
                    let j = sgc::inspect::json(&networks);
                    println!("{}", serde_json::to_string_pretty(&j).expect("JSON values"));
                }
            }
            Ok(())
        }
        Command::Passes => {
            let pipeline = sgc_passes::lower_pipeline().names();
            println!("default pipeline: {}", pipeline.join(" → "));
            println!();
            let passes = sgc_passes::manager::all_passes();
            let width = passes.iter().map(|p| p.name().len()).max().unwrap_or(0);
            for pass in passes {
                println!("{:<width$}  {}", pass.name(), pass.description());
            }
            Ok(())
        }
    }
}
