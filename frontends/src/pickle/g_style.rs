//! The graph of a pickled StyleGAN v1 network (`G_style`, `G_synthesis`, `G_mapping`), built from its
//! static kwargs and variables as the official `training/networks_stylegan.py` builds it for inference,
//! op for op in TensorFlow's terms (NCHW), so that the frozen-graph pipeline (every pass, `--resolution`,
//! `--part`, `--truncation-psi`, `--image-output`) takes it unchanged.
//!
//! Where it differs from a graph frozen from the official code, deliberately:
//! - the synthesis network is built in its `linear` structure: with `lod` a constant (frozen, 0 for a
//!   finished network) it computes what the `recursive` one does, without `tf.cond`'s Switch/Merge;
//! - no `Identity` reads of variables, no `IdentityN` of `tf.custom_gradient`, no `Assign(lod)`: the
//!   synthesis network reads `G_style`'s own `lod`, which is what that Assign would have written;
//! - noise comes from the noise variables (`randomize_noise=False`, as the official examples run it), unless
//!   [`BuildOptions::randomize_noise`]: then each layer draws it as `Gs.run()` does by default
//!   (`RandomStandardNormal` of `[N, 1, H, W]`, seeded so that a model repeats its draws).

use sgc_ir::Tensor;

use super::emit::{i, ty, F32, I32};
use super::ops::{check_resolution, deref_ops, fits, kwargs_of, Kw, Ops, Vars};
use super::{Kwarg, Network};
use crate::tf;

/// What a pickle leaves to the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildOptions {
    /// The network to build (`--network`: `Gs` by default).
    pub network: Option<String>,
    /// Draw each layer's noise at run time instead of reading the stored noise maps (`--randomize-noise`).
    pub randomize_noise: bool,
}

/// The kwargs of the three network functions, with the official defaults.
#[derive(Debug, Clone)]
struct Config {
    resolution: usize,
    num_channels: usize,
    fmap_base: f64,
    fmap_decay: f64,
    fmap_max: usize,
    latent_size: usize,
    dlatent_size: usize,
    mapping_layers: usize,
    mapping_fmaps: usize,
    mapping_lrmul: f64,
    use_wscale: bool,
    normalize_latents: bool,
    use_noise: bool,
    fused_scale: Option<bool>,
    blur_filter: Vec<f64>,
    truncation_psi: Option<f64>,
    truncation_cutoff: Option<usize>,
    /// G_mapping's output rows (`None`: [N, D], no broadcast); G_style broadcasts to its synthesis
    /// network's layers whatever its mapping's kwargs say.
    dlatent_broadcast: Option<usize>,
    /// `structure='fixed'`: one ToRGB, after the last block (the network has no others).
    fixed: bool,
    /// Conditioning labels `[N, label_size]` (0: none): embedded and joined to the latents.
    label_size: usize,
    /// `mapping_nonlinearity` / `nonlinearity` is 'relu' (else 'lrelu', slope 0.2).
    mapping_relu: bool,
    relu: bool,
    use_pixel_norm: bool,
    use_instance_norm: bool,
    /// Without styles the synthesis network reads one dlatent row (the input layer's, if any).
    use_styles: bool,
    /// The 4×4 input is a learned constant; else a dense layer of the first dlatent.
    const_input_layer: bool,
}

/// Kwargs a value of which changes nothing at inference (training options, dtype).
const INERT: &[&str] = &[
    "dlatent_avg_beta",
    "style_mixing_prob",
    "is_training",
    "is_validation",
    "is_template_graph",
    "force_clean_graph",
    "dtype",
    "truncation_psi_val",
    "truncation_cutoff_val",
];

impl Config {
    fn from(n: &Network) -> Result<Config, String> {
        let mut c = Config {
            resolution: 1024,
            num_channels: 3,
            fmap_base: 8192.0,
            fmap_decay: 1.0,
            fmap_max: 512,
            latent_size: 512,
            dlatent_size: 512,
            mapping_layers: 8,
            mapping_fmaps: 512,
            mapping_lrmul: 0.01,
            use_wscale: true,
            normalize_latents: true,
            use_noise: true,
            fused_scale: None,
            blur_filter: vec![1.0, 2.0, 1.0],
            truncation_psi: Some(0.7),
            truncation_cutoff: Some(8),
            dlatent_broadcast: None,
            fixed: false,
            label_size: 0,
            mapping_relu: false,
            relu: false,
            use_pixel_norm: false,
            use_instance_norm: true,
            use_styles: true,
            const_input_layer: true,
        };
        for (k, v) in kwargs_of(n) {
            let kw = Kw { k, v };
            let (int, float, boolean) = (|| kw.int(), || kw.float(), || kw.boolean());
            // The official activation functions ('relu' or 'lrelu'): is it 'relu'?
            let relu = || match v {
                Kwarg::Str(a) if a == "relu" || a == "lrelu" => Ok(a == "relu"),
                _ => Err(format!("static kwarg {k}={v}: expected 'relu' or 'lrelu'")),
            };
            match k.as_str() {
                "resolution" => c.resolution = int()?,
                "num_channels" => c.num_channels = int()?,
                "fmap_base" => c.fmap_base = float()?,
                "fmap_decay" => c.fmap_decay = float()?,
                "fmap_max" => c.fmap_max = int()?,
                "latent_size" => c.latent_size = int()?,
                "dlatent_size" => c.dlatent_size = int()?,
                "mapping_layers" => c.mapping_layers = int()?,
                "mapping_fmaps" => c.mapping_fmaps = int()?,
                "mapping_lrmul" => c.mapping_lrmul = float()?,
                "use_wscale" => c.use_wscale = boolean()?,
                "normalize_latents" => c.normalize_latents = boolean()?,
                "use_noise" => c.use_noise = boolean()?,
                // 'linear' and 'recursive' (and 'auto', one of them) compute the same at a constant
                // lod; 'fixed' has no ToRGB but the last.
                "structure" => {
                    let name = match v {
                        Kwarg::Str(s) => s.as_str(),
                        _ => "",
                    };
                    c.fixed = match name {
                        "fixed" => true,
                        "linear" | "recursive" | "auto" => false,
                        _ => {
                            let expected = "'fixed', 'linear', 'recursive' or 'auto'";
                            return Err(format!("static kwarg {k}={v}: expected {expected}"));
                        }
                    }
                }
                "fused_scale" => {
                    c.fused_scale = match v {
                        Kwarg::Bool(x) => Some(*x),
                        Kwarg::Str(s) if s == "auto" => None,
                        _ => {
                            return Err(format!(
                                "static kwarg {k}={v}: expected True, False or 'auto'"
                            ))
                        }
                    }
                }
                "blur_filter" => {
                    c.blur_filter = match v {
                        Kwarg::None => vec![],
                        _ => kw.numbers()?,
                    }
                }
                "truncation_psi" => c.truncation_psi = kw.opt_float()?,
                "truncation_cutoff" => c.truncation_cutoff = kw.opt_int()?,
                "dlatent_broadcast" => c.dlatent_broadcast = kw.opt_int()?,
                "label_size" => c.label_size = int()?,
                "randomize_noise" => {} // a run-time choice; see the module doc
                "use_styles" => c.use_styles = boolean()?,
                "const_input_layer" => c.const_input_layer = boolean()?,
                "use_instance_norm" => c.use_instance_norm = boolean()?,
                "use_pixel_norm" => c.use_pixel_norm = boolean()?,
                "nonlinearity" => c.relu = relu()?,
                "mapping_nonlinearity" => c.mapping_relu = relu()?,
                other if INERT.contains(&other) => {}
                other => return Err(format!("unknown static kwarg '{other}' (={v})")),
            }
        }
        check_resolution(c.resolution)?;
        Ok(c)
    }

    fn res_log2(&self) -> usize {
        self.resolution.trailing_zeros() as usize
    }

    fn num_layers(&self) -> usize {
        2 * self.res_log2() - 2
    }

    /// Rows of the synthesis network's dlatents: one per layer, or one without styles.
    fn num_styles(&self) -> usize {
        match self.use_styles {
            true => self.num_layers(),
            false => 1,
        }
    }

    fn nf(&self, stage: usize) -> usize {
        let f = (self.fmap_base / 2f64.powf(stage as f64 * self.fmap_decay)) as usize;
        f.min(self.fmap_max)
    }
}

struct Builder<'a> {
    ops: Ops,
    c: &'a Config,
    randomize_noise: bool,
}

deref_ops!(Builder);

impl Builder<'_> {
    /// The `labels_in` placeholder `[N, label_size]` of a conditional network (none without labels:
    /// the official graph's `[N, 0]` one feeds nothing).
    fn labels(&mut self) -> Option<String> {
        let n = self.c.label_size;
        (n > 0).then(|| self.ops.e.placeholder("labels_in", &[-1, n as i64]))
    }

    /// `get_weight`: the stored (unit-variance) weight times its run-time scale.
    fn weight(
        &mut self,
        scope: &str,
        vars: &mut Vars,
        shape: &[usize],
        gain: f64,
        lrmul: f64,
    ) -> String {
        let fan_in: usize = shape[..shape.len() - 1].iter().product();
        let he_std = gain / (fan_in as f64).sqrt();
        let coef = if self.c.use_wscale {
            he_std * lrmul
        } else {
            lrmul
        };
        let w = vars.take(&format!("{scope}/weight"), shape);
        let w = self
            .e
            .tensor(&format!("{}/{scope}/weight", vars.scope_prefix()), &w);
        let k = self.scalar(&format!("{}/{scope}/mul/y", vars.scope_prefix()), coef);
        self.binary(
            &format!("{}/{scope}/mul", vars.scope_prefix()),
            "Mul",
            &w,
            &k,
        )
    }

    /// A `kernel`×`kernel` conv from `cin` to `fmaps` channels (`[kernel, cin, fmaps]`).
    fn conv2d(
        &mut self,
        scope: &str,
        vars: &mut Vars,
        x: &str,
        [kernel, cin, fmaps]: [usize; 3],
        gain: f64,
    ) -> String {
        let w = self.weight(scope, vars, &[kernel, kernel, cin, fmaps], gain, 1.0);
        self.conv_op(
            &format!("{}/{scope}/Conv2D", vars.scope_prefix()),
            "Conv2D",
            &[x, &w],
            1,
        )
    }

    fn bias(
        &mut self,
        scope: &str,
        vars: &mut Vars,
        x: &str,
        c: usize,
        lrmul: f64,
        rank4: bool,
    ) -> String {
        let p = format!("{}/{scope}", vars.scope_prefix());
        let bv = vars.take(&format!("{scope}/bias"), &[c]);
        let bc = self.e.tensor(&format!("{p}/bias"), &bv);
        let k = self.scalar(&format!("{p}/mul_1/y"), lrmul);
        let mut bias = self.binary(&format!("{p}/mul_1"), "Mul", &bc, &k);
        if rank4 {
            bias = self.reshape(&format!("{p}/Reshape"), &bias, &[1, -1, 1, 1]);
        }
        self.binary(&format!("{p}/add"), "AddV2", x, &bias)
    }

    fn leaky_relu(&mut self, p: &str, x: &str) -> String {
        let alpha = self.scalar(&format!("{p}/LeakyReLU/alpha"), 0.2);
        let m = self.binary(&format!("{p}/LeakyReLU/mul"), "Mul", x, &alpha);
        self.binary(&format!("{p}/LeakyReLU/Maximum"), "Maximum", x, &m)
    }

    /// The nonlinearity: `tf.nn.relu` or the official leaky ReLU.
    fn act(&mut self, p: &str, x: &str, relu: bool) -> String {
        match relu {
            true => self.e.op(&format!("{p}/Relu"), "Relu", &[x]),
            false => self.leaky_relu(p, x),
        }
    }

    fn pixel_norm(&mut self, p: &str, x: &str) -> String {
        let sq = self.e.op(&format!("{p}/PixelNorm/Square"), "Square", &[x]);
        let m = self.mean(&format!("{p}/PixelNorm/Mean"), &sq, &[1]);
        let eps = self.scalar(&format!("{p}/PixelNorm/epsilon"), 1e-8);
        let a = self.binary(&format!("{p}/PixelNorm/add"), "AddV2", &m, &eps);
        let r = self.e.op(&format!("{p}/PixelNorm/Rsqrt"), "Rsqrt", &[&a]);
        self.binary(&format!("{p}/PixelNorm/mul"), "Mul", x, &r)
    }

    fn instance_norm(&mut self, p: &str, x: &str) -> String {
        let p = format!("{p}/InstanceNorm");
        let m = self.mean(&format!("{p}/Mean"), x, &[2, 3]);
        let x = self.binary(&format!("{p}/sub"), "Sub", x, &m);
        let sq = self.e.op(&format!("{p}/Square"), "Square", &[&x]);
        let m2 = self.mean(&format!("{p}/Mean_1"), &sq, &[2, 3]);
        let eps = self.scalar(&format!("{p}/epsilon"), 1e-8);
        let a = self.binary(&format!("{p}/add"), "AddV2", &m2, &eps);
        let r = self.e.op(&format!("{p}/Rsqrt"), "Rsqrt", &[&a]);
        self.binary(&format!("{p}/mul"), "Mul", &x, &r)
    }

    fn upscale2d(&mut self, p: &str, x: &str, c: usize, h: usize) -> String {
        let (c, h) = (c as i32, h as i32);
        let r = self.reshape(&format!("{p}/Upscale2D/Reshape"), x, &[-1, c, h, 1, h, 1]);
        let m = self.e.i32s(
            &format!("{p}/Upscale2D/Tile/multiples"),
            &[1, 1, 1, 2, 1, 2],
        );
        let t = self.tile(&format!("{p}/Upscale2D/Tile"), &r, &m);
        self.reshape(
            &format!("{p}/Upscale2D/Reshape_1"),
            &t,
            &[-1, c, 2 * h, 2 * h],
        )
    }

    fn blur(&mut self, p: &str, x: &str, c: usize) -> String {
        let f = &self.c.blur_filter;
        if f.is_empty() {
            return x.to_string();
        }
        let k = f.len();
        let sum: f64 = f.iter().flat_map(|a| f.iter().map(move |b| a * b)).sum();
        let mut values = Vec::with_capacity(k * k * c);
        for a in f {
            for bb in f {
                values.extend(std::iter::repeat_n((a * bb / sum) as f32, c));
            }
        }
        let filter = self
            .e
            .f32s(&format!("{p}/Blur2D/filter"), vec![k, k, c, 1], values);
        self.conv_op(
            &format!("{p}/Blur2D/depthwise"),
            "DepthwiseConv2dNative",
            &[x, &filter],
            1,
        )
    }

    fn style_mod(
        &mut self,
        scope: &str,
        vars: &mut Vars,
        x: &str,
        c: usize,
        dlatent: &str,
    ) -> String {
        let s_scope = format!("{scope}/StyleMod");
        let p = format!("{}/{s_scope}", vars.scope_prefix());
        let w = self.weight(&s_scope, vars, &[self.c.dlatent_size, 2 * c], 1.0, 1.0);
        let style = self.matmul(&format!("{p}/MatMul"), dlatent, &w);
        let style = self.bias(&s_scope, vars, &style, 2 * c, 1.0, false);
        let style = self.reshape(&format!("{p}/Reshape_1"), &style, &[-1, 2, c as i32, 1, 1]);
        let s0 = self.strided_slice(
            &format!("{p}/strided_slice"),
            &style,
            &[0, 0],
            &[0, 1],
            (1, 1, 0, 2),
            F32,
        );
        let one = self.scalar(&format!("{p}/add_1/y"), 1.0);
        let s0 = self.binary(&format!("{p}/add_1"), "AddV2", &s0, &one);
        let m = self.binary(&format!("{p}/mul_2"), "Mul", x, &s0);
        let s1 = self.strided_slice(
            &format!("{p}/strided_slice_1"),
            &style,
            &[0, 1],
            &[0, 2],
            (1, 1, 0, 2),
            F32,
        );
        self.binary(&format!("{p}/add_2"), "AddV2", &m, &s1)
    }

    #[allow(clippy::too_many_arguments)]
    fn epilogue(
        &mut self,
        scope: &str,
        vars: &mut Vars,
        x: &str,
        c: usize,
        res: usize,
        layer: usize,
        dlatents: &str,
    ) -> String {
        let p = format!("{}/{scope}", vars.scope_prefix());
        let mut x = x.to_string();
        if self.c.use_noise {
            let r = 1 << res;
            let stored = vars.take(&format!("noise{layer}"), &[1, 1, r, r]);
            let noise = match self.randomize_noise {
                true => self.random_noise(&format!("{p}/Noise"), &x, r, layer),
                false => self
                    .e
                    .tensor(&format!("{}/noise{layer}", vars.scope_prefix()), &stored),
            };
            let nw = vars.take(&format!("{scope}/Noise/weight"), &[c]);
            let nw = self.e.tensor(&format!("{p}/Noise/weight"), &nw);
            let nw = self.reshape(&format!("{p}/Noise/Reshape"), &nw, &[1, -1, 1, 1]);
            let m = self.binary(&format!("{p}/Noise/mul"), "Mul", &noise, &nw);
            x = self.binary(&format!("{p}/Noise/add"), "AddV2", &x, &m);
        }
        let x = self.bias(scope, vars, &x, c, 1.0, true);
        let mut x = self.act(&p, &x, self.c.relu);
        if self.c.use_pixel_norm {
            x = self.pixel_norm(&p, &x);
        }
        if self.c.use_instance_norm {
            x = self.instance_norm(&p, &x);
        }
        if !self.c.use_styles {
            return x;
        }
        let row = self.dlatent_row(&format!("{p}/strided_slice"), dlatents, layer);
        self.style_mod(scope, vars, &x, c, &row)
    }

    /// `tf.random_normal([tf.shape(x)[0], 1, r, r])`: seed 1 and a seed2 per layer, so that a model
    /// draws the same noise on every run (TFLite seeds at random when both are 0) and layers differ.
    fn random_noise(&mut self, p: &str, x: &str, r: usize, layer: usize) -> String {
        let n = self.batch(p, x);
        let one = self.int_const(&format!("{p}/random_normal/shape/1"), 1);
        let h = self.int_const(&format!("{p}/random_normal/shape/2"), r as i32);
        let shape = self.pack(&format!("{p}/random_normal/shape"), &[&n, &one, &h, &h]);
        let z = self.e.add(
            &format!("{p}/random_normal/RandomStandardNormal"),
            "RandomStandardNormal",
            &[&shape],
            &[
                ("T", ty(I32)),
                ("dtype", ty(F32)),
                ("seed", i(1)),
                ("seed2", i(layer as i64 + 1)),
            ],
        );
        let sd = self.scalar(&format!("{p}/random_normal/stddev"), 1.0);
        let z = self.binary(&format!("{p}/random_normal/mul"), "Mul", &z, &sd);
        let mean = self.scalar(&format!("{p}/random_normal/mean"), 0.0);
        self.binary(&format!("{p}/random_normal"), "AddV2", &z, &mean)
    }

    fn fused_upscale_conv(
        &mut self,
        scope: &str,
        vars: &mut Vars,
        x: &str,
        cin: usize,
        fmaps: usize,
        h: usize,
    ) -> String {
        let p = format!("{}/{scope}", vars.scope_prefix());
        let w = self.weight(scope, vars, &[3, 3, cin, fmaps], 2f64.sqrt(), 1.0);
        let perm = self.e.i32s(&format!("{p}/transpose/perm"), &[0, 1, 3, 2]);
        let w = self.e.add(
            &format!("{p}/transpose"),
            "Transpose",
            &[&w, &perm],
            &[("T", ty(F32)), ("Tperm", ty(I32))],
        );
        let pads = self.e.tensor(
            &format!("{p}/Pad/paddings"),
            &Tensor::from_vec(vec![4, 2], vec![1i32, 1, 1, 1, 0, 0, 0, 0]),
        );
        let w = self.e.add(
            &format!("{p}/Pad"),
            "Pad",
            &[&w, &pads],
            &[("T", ty(F32)), ("Tpaddings", ty(I32))],
        );
        // w[1:, 1:], w[:-1, 1:], w[1:, :-1], w[:-1, :-1]
        let slices = [
            ([1, 1], [0, 0], (0, 3)),
            ([0, 1], [-1, 0], (1, 2)),
            ([1, 0], [0, -1], (2, 1)),
            ([0, 0], [-1, -1], (3, 0)),
        ];
        let mut parts = Vec::new();
        for (k, (begin, end, (bm, em))) in slices.into_iter().enumerate() {
            let name = match k {
                0 => format!("{p}/strided_slice"),
                k => format!("{p}/strided_slice_{k}"),
            };
            parts.push(self.strided_slice(&name, &w, &begin, &end, (bm, em, 0, 0), F32));
        }
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        let w = self.e.add(
            &format!("{p}/AddN"),
            "AddN",
            &refs,
            &[("T", ty(F32)), ("N", i(4))],
        );
        let n = self.batch(&p, x);
        let f = self.int_const(&format!("{p}/stack/1"), fmaps as i32);
        let hh = self.int_const(&format!("{p}/stack/2"), 2 * h as i32);
        let ww = self.int_const(&format!("{p}/stack/3"), 2 * h as i32);
        let out_shape = self.pack(&format!("{p}/stack"), &[&n, &f, &hh, &ww]);
        self.conv_op(
            &format!("{p}/conv2d_transpose"),
            "Conv2DBackpropInput",
            &[&out_shape, &w, x],
            2,
        )
    }

    fn torgb(&mut self, vars: &mut Vars, x: &str, res: usize) -> String {
        let scope = format!("ToRGB_lod{}", self.c.res_log2() - res);
        let nc = self.c.num_channels;
        let y = self.conv2d(&scope, vars, x, [1, self.c.nf(res - 1), nc], 1.0);
        self.bias(&scope, vars, &y, nc, 1.0, true)
    }

    /// G_synthesis on `dlatents` ([N, layers, dlatent_size]), `lod` the level of detail shown.
    fn synthesis(&mut self, vars: &mut Vars, dlatents: &str, lod: f32) -> String {
        let c = self.c.clone();
        let rl = c.res_log2();
        let g = vars.scope_prefix();
        let gain = 2f64.sqrt();
        let nf1 = c.nf(1);
        let x = match c.const_input_layer {
            // 4×4: the learned constant, tiled over the batch.
            true => {
                let cst = vars.take("4x4/Const/const", &[1, nf1, 4, 4]);
                let cst = self.e.tensor(&format!("{g}/4x4/Const/const"), &cst);
                let n = self.batch(&format!("{g}/4x4/Const"), dlatents);
                let one = self.int_const(&format!("{g}/4x4/Const/Tile/multiples/1"), 1);
                let mult = self.pack(
                    &format!("{g}/4x4/Const/Tile/multiples"),
                    &[&n, &one, &one, &one],
                );
                let x = self.tile(&format!("{g}/4x4/Const/Tile"), &cst, &mult);
                self.epilogue("4x4/Const", vars, &x, nf1, 2, 0, dlatents)
            }
            // A dense layer of the first dlatent, with a quarter of the gain (as Progressive GAN's
            // code had it), reshaped to [N, nf1, 4, 4].
            false => {
                let p = format!("{g}/4x4/Dense");
                let row = self.dlatent_row(&format!("{p}/strided_slice"), dlatents, 0);
                let w = self.weight(
                    "4x4/Dense",
                    vars,
                    &[c.dlatent_size, nf1 * 16],
                    gain / 4.0,
                    1.0,
                );
                let y = self.matmul(&format!("{p}/MatMul"), &row, &w);
                let y = self.reshape(&format!("{p}/Reshape_1"), &y, &[-1, nf1 as i32, 4, 4]);
                self.epilogue("4x4/Dense", vars, &y, nf1, 2, 0, dlatents)
            }
        };
        let y = self.conv2d("4x4/Conv", vars, &x, [3, nf1, nf1], gain);
        let mut x = self.epilogue("4x4/Conv", vars, &y, nf1, 2, 1, dlatents);
        // The linear structure: every ToRGB, lerped by lod (see the module doc); the fixed one: the
        // last ToRGB alone.
        let lod_in = (!c.fixed).then(|| self.scalar(&format!("{g}/lod"), lod as f64));
        let mut images = match c.fixed {
            true => String::new(),
            false => self.torgb(vars, &x, 2),
        };
        for res in 3..=rl {
            let (cin, cout, h) = (c.nf(res - 2), c.nf(res - 1), 1usize << (res - 1));
            let r = 1 << res;
            let scope = format!("{r}x{r}/Conv0_up");
            let fused = c.fused_scale.unwrap_or(2 * h >= 128);
            let y = if fused {
                self.fused_upscale_conv(&scope, vars, &x, cin, cout, h)
            } else {
                let up = self.upscale2d(&format!("{g}/{scope}"), &x, cin, h);
                self.conv2d(&scope, vars, &up, [3, cin, cout], gain)
            };
            let y = self.blur(&format!("{g}/{scope}"), &y, cout);
            x = self.epilogue(&scope, vars, &y, cout, res, 2 * res - 4, dlatents);
            let scope = format!("{r}x{r}/Conv1");
            let y = self.conv2d(&scope, vars, &x, [3, cout, cout], gain);
            x = self.epilogue(&scope, vars, &y, cout, res, 2 * res - 3, dlatents);
            let Some(lod_in) = &lod_in else {
                continue;
            };
            let img = self.torgb(vars, &x, res);
            let p = format!("{g}/Grow_lod{}", rl - res);
            let prev = self.upscale2d(
                &format!("{g}/Upscale_lod{}", rl - res),
                &images,
                c.num_channels,
                h,
            );
            // lerp_clip(img, prev, lod_in - lod)
            let lod_k = self.scalar(&format!("{p}/sub/y"), (rl - res) as f64);
            let t = self.binary(&format!("{p}/sub"), "Sub", lod_in, &lod_k);
            let lo = self.scalar(&format!("{p}/LerpClip/clip_by_value/Minimum/y"), 0.0);
            let hi = self.scalar(&format!("{p}/LerpClip/clip_by_value/y"), 1.0);
            let t = self.e.op(
                &format!("{p}/LerpClip/clip_by_value"),
                "ClipByValue",
                &[&t, &lo, &hi],
            );
            let d = self.binary(&format!("{p}/LerpClip/sub"), "Sub", &prev, &img);
            let m = self.binary(&format!("{p}/LerpClip/mul"), "Mul", &d, &t);
            images = self.binary(&format!("{p}/LerpClip/add"), "AddV2", &img, &m);
        }
        if c.fixed {
            images = self.torgb(vars, &x, rl);
        }
        self.e
            .op(&format!("{g}/images_out"), "Identity", &[&images])
    }

    /// G_mapping on `latents` ([N, latent_size]): dlatents [N, dlatent_size], or broadcast to
    /// [N, rows, dlatent_size].
    fn mapping(
        &mut self,
        vars: &mut Vars,
        latents: &str,
        labels: Option<&str>,
        broadcast: Option<usize>,
    ) -> String {
        let c = self.c.clone();
        let g = vars.scope_prefix();
        let mut x = latents.to_string();
        let mut fin = c.latent_size;
        // A conditional network: the labels' embedding (an unscaled [label_size, latent_size]
        // weight) joins the latents.
        if let Some(labels) = labels {
            let p = format!("{g}/LabelConcat");
            let w = vars.take("LabelConcat/weight", &[c.label_size, c.latent_size]);
            let w = self.e.tensor(&format!("{p}/weight"), &w);
            let y = self.matmul(&format!("{p}/MatMul"), labels, &w);
            let axis = self.int_const(&format!("{p}/concat/axis"), 1);
            x = self.e.add(
                &format!("{p}/concat"),
                "ConcatV2",
                &[&x, &y, &axis],
                &[("T", ty(F32)), ("N", i(2)), ("Tidx", ty(I32))],
            );
            fin += c.latent_size;
        }
        if c.normalize_latents {
            x = self.pixel_norm(&g, &x);
        }
        for layer in 0..c.mapping_layers {
            let scope = format!("Dense{layer}");
            let fout = if layer + 1 == c.mapping_layers {
                c.dlatent_size
            } else {
                c.mapping_fmaps
            };
            let w = self.weight(&scope, vars, &[fin, fout], 2f64.sqrt(), c.mapping_lrmul);
            let y = self.matmul(&format!("{g}/{scope}/MatMul"), &x, &w);
            let y = self.bias(&scope, vars, &y, fout, c.mapping_lrmul, false);
            x = self.act(&format!("{g}/{scope}"), &y, c.mapping_relu);
            fin = fout;
        }
        if let Some(rows) = broadcast {
            x = self.broadcast(&g, &x, rows);
        }
        self.e.op(&format!("{g}/dlatents_out"), "Identity", &[&x])
    }
}

/// The inference GraphDef of network `n` (`G_style`, `G_synthesis` or `G_mapping`); every expected
/// variable must be present with its shape and every variable used, else the error lists what differs.
pub fn graph_def(n: &Network, options: &BuildOptions) -> Result<tf::GraphDef, String> {
    let c = Config::from(n).map_err(|e| format!("{}: {e}", n.path))?;
    let mut b = Builder {
        ops: Ops::default(),
        c: &c,
        randomize_noise: options.randomize_noise,
    };
    let component = |name: &str| {
        n.components
            .iter()
            .find(|x| x.path.rsplit('/').next() == Some(name))
            .ok_or(format!(
                "{}: G_style without its '{name}' component",
                n.path
            ))
    };
    let lod_of = |t: Option<&Tensor>| -> f32 {
        t.and_then(|t| t.to_vec::<f32>().ok())
            .and_then(|v| v.first().copied())
            .unwrap_or(0.0)
    };
    let mut problems = Vec::new();
    match n.build_func_name.as_str() {
        "G_synthesis" => {
            let mut vars = Vars::new(n);
            let lod = vars.take("lod", &[]);
            let d = b.e.placeholder(
                "dlatents_in",
                &[-1, c.num_styles() as i64, c.dlatent_size as i64],
            );
            b.synthesis(&mut vars, &d, lod_of(Some(&lod)));
            problems.extend(vars.finish());
        }
        "G_mapping" => {
            let mut vars = Vars::new(n);
            let z = b.e.placeholder("latents_in", &[-1, c.latent_size as i64]);
            let y = b.labels();
            b.mapping(&mut vars, &z, y.as_deref(), c.dlatent_broadcast);
            problems.extend(vars.finish());
        }
        "G_style" => {
            let (syn, map) = (component("synthesis")?, component("mapping")?);
            let mut own = Vars::new(n);
            let lod = own.take("lod", &[]);
            let avg = own.take("dlatent_avg", &[c.dlatent_size]);
            let z = b.e.placeholder("latents_in", &[-1, c.latent_size as i64]);
            let y = b.labels();
            let mut mv = Vars::new(map);
            let mut dl = b.mapping(&mut mv, &z, y.as_deref(), Some(c.num_styles()));
            if let (Some(psi), Some(cutoff)) = (
                c.truncation_psi.filter(|&p| p != 1.0),
                c.truncation_cutoff.filter(|&k| k > 0),
            ) {
                dl = b.truncation(&n.path, &dl, &avg, c.num_styles(), psi, Some(cutoff));
            }
            let mut sv = Vars::new(syn);
            sv.take("lod", &[]); // G_style assigns its own lod to it
            let img = b.synthesis(&mut sv, &dl, lod_of(Some(&lod)));
            b.e.op(&format!("{}/images_out", n.path), "Identity", &[&img]);
            problems.extend(own.finish());
            problems.extend(mv.finish());
            problems.extend(sv.finish());
        }
        other => {
            return Err(format!(
            "{}: build function {other}() is not one sgc builds (G_style, G_synthesis, G_mapping)",
            n.path
        ))
        }
    }
    fits(&n.build_func_name, &problems)?;
    Ok(b.ops.e.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(kwargs: Vec<(String, Kwarg)>, variables: Vec<(&str, Vec<usize>)>) -> Network {
        Network {
            path: "G_mapping".into(),
            name: "G_mapping".into(),
            version: 3,
            build_func_name: "G_mapping".into(),
            source_sha256: String::new(),
            source_len: 0,
            static_kwargs: kwargs,
            components: vec![],
            variables: variables
                .into_iter()
                .map(|(n, s)| {
                    let numel = s.iter().product();
                    (n.to_string(), Tensor::from_vec(s, vec![0.5f32; numel]))
                })
                .collect(),
        }
    }

    fn kw(k: &str, v: i64) -> (String, Kwarg) {
        (k.into(), Kwarg::Int(v))
    }

    /// The two activations the official code knows; anything else is refused by name, as an unknown
    /// kwarg is. A conditional mapping network gets its `labels_in` input and `LabelConcat`.
    #[test]
    fn nonlinearity_and_labels_kwargs() {
        let base = || {
            vec![
                kw("latent_size", 2),
                kw("dlatent_size", 2),
                kw("mapping_layers", 1),
            ]
        };
        let vars = |fin| vec![("Dense0/weight", vec![fin, 2]), ("Dense0/bias", vec![2])];
        let mut relu = base();
        relu.push(("mapping_nonlinearity".into(), Kwarg::Str("relu".into())));
        let def = graph_def(&mapping(relu, vars(2)), &BuildOptions::default()).unwrap();
        assert!(def.node.iter().any(|d| d.op == "Relu"));
        assert!(!def.node.iter().any(|d| d.op == "Maximum"));
        let mut tanh = base();
        tanh.push(("mapping_nonlinearity".into(), Kwarg::Str("tanh".into())));
        let e = graph_def(&mapping(tanh, vars(2)), &BuildOptions::default()).unwrap_err();
        assert!(
            e.contains("mapping_nonlinearity=\"tanh\": expected 'relu' or 'lrelu'"),
            "{e}"
        );
        let mut labels = base();
        labels.push(kw("label_size", 3));
        let mut v = vars(4);
        v.push(("LabelConcat/weight", vec![3, 2]));
        let def = graph_def(&mapping(labels, v), &BuildOptions::default()).unwrap();
        let inputs: Vec<&str> = def
            .node
            .iter()
            .filter(|d| d.op == "Placeholder")
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(inputs, ["latents_in", "labels_in"]);
        assert!(def.node.iter().any(|d| d.op == "ConcatV2"));
    }

    #[test]
    fn a_lone_mapping_network_broadcasts_only_when_its_kwargs_say_so() {
        let base = vec![
            kw("latent_size", 2),
            kw("dlatent_size", 2),
            kw("mapping_layers", 1),
        ];
        let vars = || vec![("Dense0/weight", vec![2, 2]), ("Dense0/bias", vec![2])];
        let tiles = |n: &Network| {
            let def = graph_def(n, &BuildOptions::default()).unwrap();
            def.node.iter().filter(|d| d.op == "Tile").count()
        };
        assert_eq!(tiles(&mapping(base.clone(), vars())), 0);
        let mut with = base.clone();
        with.push(kw("dlatent_broadcast", 4));
        assert_eq!(tiles(&mapping(with, vars())), 1);
        // A variable of the wrong shape and a missing one are both listed.
        let e = graph_def(
            &mapping(base, vec![("Dense0/weight", vec![3, 2])]),
            &BuildOptions::default(),
        )
        .unwrap_err();
        assert!(
            e.contains("'Dense0/weight' is f32 [3, 2], expected f32 [2, 2]"),
            "{e}"
        );
        assert!(e.contains("'Dense0/bias' [2] is missing"), "{e}");
    }
}
