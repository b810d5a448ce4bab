//! The graph of a pickled StyleGAN2 network (`G_main`, `G_synthesis_stylegan2`, and the `G_mapping`
//! inside a `G_main`), built from its static kwargs and variables as the official StyleGAN2 code builds
//! it for inference — the 'skip' architecture, the reference (pure TensorFlow) paths of `fused_bias_act`
//! and `upfirdn_2d` — op for op, NCHW, so that the frozen-graph pipeline takes it unchanged.
//!
//! `fused_modconv` is a run-time argument of the official code; this builds `fused_modconv=False`
//! (modulate the input, convolve with the stored weight, demodulate the output), which computes what the
//! fused form does (the fixtures check both against TensorFlow) and is the form `stylegan2-modconv` makes
//! of the fused one anyway. Noise comes from the stored noise maps (`randomize_noise=False`).

use sgc_ir::Tensor;

use super::emit::{b, i, ty, F32, I32};
use super::ops::{check_resolution, deref_ops, fits, kwargs_of, Kw, Ops, Vars};
use super::{Kwarg, Network};
use crate::tf;

/// The kwargs of the StyleGAN2 network functions, with the official defaults.
#[derive(Debug, Clone)]
struct Config {
    resolution: usize,
    num_channels: usize,
    fmap_base: f64,
    fmap_decay: f64,
    fmap_min: usize,
    fmap_max: usize,
    latent_size: usize,
    dlatent_size: usize,
    mapping_layers: usize,
    mapping_fmaps: usize,
    mapping_lrmul: f64,
    normalize_latents: bool,
    resample_kernel: Vec<f64>,
    truncation_psi: Option<f64>,
    truncation_cutoff: Option<usize>,
    dlatent_broadcast: Option<usize>,
}

/// Kwargs whose value changes nothing at inference (training options, run-time choices covered above).
const INERT: &[&str] = &[
    "dlatent_avg_beta",
    "style_mixing_prob",
    "is_training",
    "is_validation",
    "is_template_graph",
    "return_dlatents",
    "force_clean_graph",
    "dtype",
    "truncation_psi_val",
    "truncation_cutoff_val",
    "fused_modconv",
    "randomize_noise",
    "mapping_func",
    "synthesis_func",
];

impl Config {
    fn from(n: &Network) -> Result<Config, String> {
        let mut c = Config {
            resolution: 1024,
            num_channels: 3,
            fmap_base: 16384.0,
            fmap_decay: 1.0,
            fmap_min: 1,
            fmap_max: 512,
            latent_size: 512,
            dlatent_size: 512,
            mapping_layers: 8,
            mapping_fmaps: 512,
            mapping_lrmul: 0.01,
            normalize_latents: true,
            resample_kernel: vec![1.0, 3.0, 3.0, 1.0],
            truncation_psi: Some(0.5),
            truncation_cutoff: None,
            dlatent_broadcast: None,
        };
        for (k, v) in kwargs_of(n) {
            let kw = Kw { k, v };
            let (int, float, boolean) = (|| kw.int(), || kw.float(), || kw.boolean());
            let only = |what: &str, expected: &str| match v {
                Kwarg::Str(x) if x == expected => Ok(()),
                _ => Err(format!(
                    "static kwarg {k}={v}: sgc builds {what} '{expected}' only"
                )),
            };
            match k.as_str() {
                "resolution" => c.resolution = int()?,
                "num_channels" => c.num_channels = int()?,
                "fmap_base" => c.fmap_base = float()?,
                "fmap_decay" => c.fmap_decay = float()?,
                "fmap_min" => c.fmap_min = int()?,
                "fmap_max" => c.fmap_max = int()?,
                "latent_size" => c.latent_size = int()?,
                "dlatent_size" => c.dlatent_size = int()?,
                "mapping_layers" => c.mapping_layers = int()?,
                "mapping_fmaps" => c.mapping_fmaps = int()?,
                "mapping_lrmul" => c.mapping_lrmul = float()?,
                "normalize_latents" => c.normalize_latents = boolean()?,
                "architecture" => only("the architecture", "skip")?,
                "nonlinearity" | "mapping_nonlinearity" => only("the activation", "lrelu")?,
                "label_size" => {
                    if int()? != 0 {
                        return Err(format!(
                            "static kwarg {k}={v}: conditional StyleGAN2 networks are not built"
                        ));
                    }
                }
                "resample_kernel" => c.resample_kernel = kw.numbers()?,
                "truncation_psi" => c.truncation_psi = kw.opt_float()?,
                "truncation_cutoff" => c.truncation_cutoff = kw.opt_int()?,
                "dlatent_broadcast" => c.dlatent_broadcast = kw.opt_int()?,
                other if INERT.contains(&other) => {}
                other => return Err(format!("unknown static kwarg '{other}' (={v})")),
            }
        }
        check_resolution(c.resolution)?;
        // The upsampling conv's FIR padding is (taps − 2) − 2 on each side: it needs ≥ 4 taps.
        if c.resample_kernel.len() < 4 {
            return Err(format!(
                "resample_kernel of {} taps: sgc builds FIRs of at least 4 (StyleGAN2's is [1, 3, 3, 1])",
                c.resample_kernel.len()
            ));
        }
        Ok(c)
    }

    fn res_log2(&self) -> usize {
        self.resolution.trailing_zeros() as usize
    }

    fn num_layers(&self) -> usize {
        2 * self.res_log2() - 2
    }

    fn nf(&self, stage: usize) -> usize {
        let f = (self.fmap_base / 2f64.powf(stage as f64 * self.fmap_decay)) as usize;
        f.clamp(self.fmap_min, self.fmap_max)
    }

    /// The FIR filter: the outer product of `resample_kernel` with itself, normalised, times `gain`.
    fn fir(&self, gain: f64) -> (usize, Vec<f64>) {
        let k = &self.resample_kernel;
        let sum: f64 = k.iter().flat_map(|a| k.iter().map(move |b| a * b)).sum();
        let v = k
            .iter()
            .flat_map(|a| k.iter().map(move |b| a * b / sum * gain))
            .collect();
        (k.len(), v)
    }
}

struct Builder<'a> {
    ops: Ops,
    c: &'a Config,
}

deref_ops!(Builder);

impl Builder<'_> {
    /// `get_weight` (gain 1): the stored weight `{scope}/{var}` times `lrmul / √fan_in`.
    fn weight(
        &mut self,
        p: &str,
        scope: &str,
        vars: &mut Vars,
        var: &str,
        shape: &[usize],
        lrmul: f64,
    ) -> String {
        let fan_in: usize = shape[..shape.len() - 1].iter().product();
        let w = vars.take(&format!("{scope}/{var}"), shape);
        let w = self.e.tensor(&format!("{p}/{var}"), &w);
        let k = self.scalar(&format!("{p}/mul/y"), lrmul / (fan_in as f64).sqrt());
        self.binary(&format!("{p}/mul"), "Mul", &w, &k)
    }

    /// `apply_bias_act`: `x + bias·lrmul` on axis 1, then for 'lrelu' the LeakyRelu and its √2 gain.
    #[allow(clippy::too_many_arguments)]
    fn bias_act(
        &mut self,
        p: &str,
        scope: &str,
        vars: &mut Vars,
        var: &str,
        x: &str,
        c: usize,
        lrmul: f64,
        lrelu: bool,
        rank: usize,
    ) -> String {
        let bv = vars.take(&format!("{scope}/{var}"), &[c]);
        let bc = self.e.tensor(&format!("{p}/{var}"), &bv);
        let k = self.scalar(&format!("{p}/mul_1/y"), lrmul);
        let bias = self.binary(&format!("{p}/mul_1"), "Mul", &bc, &k);
        let mut shape = vec![1; rank];
        shape[1] = -1;
        let bias = self.reshape(&format!("{p}/Reshape"), &bias, &shape);
        let x = self.binary(&format!("{p}/add"), "AddV2", x, &bias);
        if !lrelu {
            return x;
        }
        let x = self.e.add(
            &format!("{p}/LeakyRelu"),
            "LeakyRelu",
            &[&x],
            &[("T", ty(F32)), ("alpha", tf_f(0.2))],
        );
        let gain = self.scalar(&format!("{p}/mul_2/y"), 2f64.sqrt());
        self.binary(&format!("{p}/mul_2"), "Mul", &x, &gain)
    }

    /// `x[:, newaxis …]`-style slices: every listed axis of the result full (`full`), new axes
    /// elsewhere, on a tensor of rank `full.len()`.
    fn expand(&mut self, name: &str, x: &str, full: &[bool]) -> String {
        let n = full.len();
        let mask = |want: bool| -> i64 {
            full.iter()
                .enumerate()
                .filter(|(_, &f)| f == want)
                .map(|(i, _)| 1i64 << i)
                .sum()
        };
        self.strided_slice(
            name,
            x,
            &vec![0; n],
            &vec![0; n],
            (mask(true), mask(true), mask(false), 0),
            F32,
        )
    }

    /// `modulated_conv2d_layer` with `fused_modconv=False`: the style `s` from dlatent row `row`,
    /// `x·s`, the conv (or the upsampling conv) with the stored weight, and `·d` when demodulating.
    #[allow(clippy::too_many_arguments)]
    fn modulated_conv(
        &mut self,
        p: &str,
        scope: &str,
        vars: &mut Vars,
        x: &str,
        row: &str,
        [cin, fmaps, kernel]: [usize; 3],
        up: bool,
        demodulate: bool,
        h: usize,
    ) -> String {
        let w = self.weight(p, scope, vars, "weight", &[kernel, kernel, cin, fmaps], 1.0);
        let mw = self.weight(
            &format!("{p}/mod"),
            scope,
            vars,
            "mod_weight",
            &[self.c.dlatent_size, cin],
            1.0,
        );
        let style = self.matmul(&format!("{p}/MatMul"), row, &mw);
        let style = self.bias_act(
            &format!("{p}/mod"),
            scope,
            vars,
            "mod_bias",
            &style,
            cin,
            1.0,
            false,
            2,
        );
        let one = self.scalar(&format!("{p}/add_1/y"), 1.0);
        let style = self.binary(&format!("{p}/add_1"), "AddV2", &style, &one);
        // The modulated weights feed only the demodulation (a frozen graph has no ToRGB copy of them).
        let d = demodulate.then(|| {
            let ww = self.strided_slice(
                &format!("{p}/strided_slice"),
                &w,
                &[0],
                &[0],
                (0, 0, 1, 0),
                F32,
            );
            let s5 = self.expand(
                &format!("{p}/strided_slice_1"),
                &style,
                &[true, false, false, true, false],
            );
            let ww = self.binary(&format!("{p}/mul_3"), "Mul", &ww, &s5);
            let sq = self.e.op(&format!("{p}/Square"), "Square", &[&ww]);
            let axes = self
                .e
                .i32s(&format!("{p}/Sum/reduction_indices"), &[1, 2, 3]);
            let sum = self.e.add(
                &format!("{p}/Sum"),
                "Sum",
                &[&sq, &axes],
                &[("T", ty(F32)), ("Tidx", ty(I32)), ("keep_dims", b(false))],
            );
            let eps = self.scalar(&format!("{p}/add_2/y"), 1e-8);
            let sum = self.binary(&format!("{p}/add_2"), "AddV2", &sum, &eps);
            self.e.op(&format!("{p}/Rsqrt"), "Rsqrt", &[&sum])
        });
        let s4 = self.expand(
            &format!("{p}/strided_slice_3"),
            &style,
            &[true, true, false, false],
        );
        let x = self.binary(&format!("{p}/mul_5"), "Mul", x, &s4);
        let x = match up {
            true => self.upsample_conv(p, &x, &w, [cin, fmaps, kernel], h),
            false => self.conv_op(&format!("{p}/Conv2D"), "Conv2D", &[&x, &w], 1),
        };
        match d {
            Some(d) => {
                let d4 = self.expand(
                    &format!("{p}/strided_slice_4"),
                    &d,
                    &[true, true, false, false],
                );
                self.binary(&format!("{p}/mul_6"), "Mul", &x, &d4)
            }
            None => x,
        }
    }

    /// `upsample_conv_2d`: the weight flipped and transposed for a stride-2 VALID Conv2DBackpropInput to
    /// `[N, fmaps, 2h + 1, 2h + 1]`, then the FIR (pads 1, 1).
    fn upsample_conv(
        &mut self,
        p: &str,
        x: &str,
        w: &str,
        [cin, fmaps, kernel]: [usize; 3],
        h: usize,
    ) -> String {
        let k = kernel as i32;
        let w = self.reshape(&format!("{p}/Reshape"), w, &[k, k, cin as i32, 1, -1]);
        // w[::-1, ::-1]
        let begin = self.e.i32s(&format!("{p}/strided_slice_5/stack"), &[0, 0]);
        let end = self
            .e
            .i32s(&format!("{p}/strided_slice_5/stack_1"), &[0, 0]);
        let step = self
            .e
            .i32s(&format!("{p}/strided_slice_5/stack_2"), &[-1, -1]);
        let w = self.e.add(
            &format!("{p}/strided_slice_5"),
            "StridedSlice",
            &[&w, &begin, &end, &step],
            &[
                ("T", ty(F32)),
                ("Index", ty(I32)),
                ("begin_mask", i(3)),
                ("end_mask", i(3)),
                ("ellipsis_mask", i(0)),
                ("new_axis_mask", i(0)),
                ("shrink_axis_mask", i(0)),
            ],
        );
        let perm = self
            .e
            .i32s(&format!("{p}/transpose/perm"), &[0, 1, 4, 3, 2]);
        let w = self.e.add(
            &format!("{p}/transpose"),
            "Transpose",
            &[&w, &perm],
            &[("T", ty(F32)), ("Tperm", ty(I32))],
        );
        let w = self.reshape(&format!("{p}/Reshape_1"), &w, &[k, k, -1, cin as i32]);
        let n = self.batch(p, x);
        let size = 2 * h as i32 + k - 2;
        let f = self.int_const(&format!("{p}/stack/1"), fmaps as i32);
        let hh = self.int_const(&format!("{p}/stack/2"), size);
        let out_shape = self.pack(&format!("{p}/stack"), &[&n, &f, &hh, &hh]);
        let y = self.conv_op_padded(
            &format!("{p}/conv2d_transpose"),
            "Conv2DBackpropInput",
            &[&out_shape, &w, x],
            2,
            "VALID",
        );
        let (taps, fir) = self.c.fir(4.0);
        let pad = (taps - 2) - (kernel - 1);
        self.upfirdn(
            p,
            &y,
            fmaps,
            size as usize,
            &fir,
            taps,
            1,
            pad.div_ceil(2) + 1,
            pad / 2 + 1,
        )
    }

    /// `_simple_upfirdn_2d` on NCHW `x` `[N, c, h, h]`: each channel of each image as a one-channel NHWC
    /// image, zero-inserted by `up`, padded, correlated with the flipped `fir` (`taps`×`taps`), back to
    /// NCHW.
    #[allow(clippy::too_many_arguments)]
    fn upfirdn(
        &mut self,
        p: &str,
        x: &str,
        c: usize,
        h: usize,
        fir: &[f64],
        taps: usize,
        up: usize,
        pad0: usize,
        pad1: usize,
    ) -> String {
        let (h, up32) = (h as i32, up as i32);
        let (p0, p1) = (pad0 as i32, pad1 as i32);
        let x = self.reshape(&format!("{p}/Reshape_2"), x, &[-1, h, h, 1]);
        let x = self.reshape(&format!("{p}/Reshape_3"), &x, &[-1, h, 1, h, 1, 1]);
        let z = self.e.tensor(
            &format!("{p}/Pad/paddings"),
            &Tensor::from_vec(
                vec![6, 2],
                vec![0, 0, 0, 0, 0, up32 - 1, 0, 0, 0, up32 - 1, 0, 0],
            ),
        );
        let x = self.e.add(
            &format!("{p}/Pad"),
            "Pad",
            &[&x, &z],
            &[("T", ty(F32)), ("Tpaddings", ty(I32))],
        );
        let hu = h * up32;
        let x = self.reshape(&format!("{p}/Reshape_4"), &x, &[-1, hu, hu, 1]);
        let pads = self.e.tensor(
            &format!("{p}/Pad_1/paddings"),
            &Tensor::from_vec(vec![4, 2], vec![0, 0, p0, p1, p0, p1, 0, 0]),
        );
        let x = self.e.add(
            &format!("{p}/Pad_1"),
            "Pad",
            &[&x, &pads],
            &[("T", ty(F32)), ("Tpaddings", ty(I32))],
        );
        let hp = hu + p0 + p1;
        let x = self.strided_slice(
            &format!("{p}/strided_slice_6"),
            &x,
            &[0, 0, 0, 0],
            &[0, hp, hp, 0],
            (9, 9, 0, 0),
            F32,
        );
        let perm = self.e.i32s(&format!("{p}/transpose_1/perm"), &[0, 3, 1, 2]);
        let x = self.e.add(
            &format!("{p}/transpose_1"),
            "Transpose",
            &[&x, &perm],
            &[("T", ty(F32)), ("Tperm", ty(I32))],
        );
        let x = self.reshape(&format!("{p}/Reshape_5"), &x, &[-1, 1, hp, hp]);
        // The correlation filter is the FIR flipped (k[::-1, ::-1]).
        let flipped: Vec<f32> = fir.iter().rev().map(|&v| v as f32).collect();
        let f = self
            .e
            .f32s(&format!("{p}/Const"), vec![taps, taps, 1, 1], flipped);
        let x = self.conv_op_padded(&format!("{p}/Conv2D_1"), "Conv2D", &[&x, &f], 1, "VALID");
        let ho = hp - taps as i32 + 1;
        let x = self.reshape(&format!("{p}/Reshape_6"), &x, &[-1, 1, ho, ho]);
        let perm = self.e.i32s(&format!("{p}/transpose_2/perm"), &[0, 2, 3, 1]);
        let x = self.e.add(
            &format!("{p}/transpose_2"),
            "Transpose",
            &[&x, &perm],
            &[("T", ty(F32)), ("Tperm", ty(I32))],
        );
        let x = self.strided_slice(
            &format!("{p}/strided_slice_7"),
            &x,
            &[0, 0, 0, 0],
            &[0, 0, 0, 0],
            (15, 15, 0, 0),
            F32,
        );
        self.reshape(&format!("{p}/Reshape_7"), &x, &[-1, c as i32, ho, ho])
    }

    /// One synthesis layer: modulated conv, noise × its scalar strength, bias, LeakyRelu × √2.
    #[allow(clippy::too_many_arguments)]
    fn layer(
        &mut self,
        scope: &str,
        vars: &mut Vars,
        x: &str,
        dlatents: &str,
        layer: usize,
        [cin, fmaps]: [usize; 2],
        up: bool,
        h: usize,
    ) -> String {
        let p = format!("{}/{scope}", vars.scope_prefix());
        let row = self.dlatent_row(&format!("{p}/strided_slice_8"), dlatents, layer);
        let x = self.modulated_conv(&p, scope, vars, x, &row, [cin, fmaps, 3], up, true, h);
        let r = if up { 2 * h } else { h };
        let noise = vars.take(&format!("noise{layer}"), &[1, 1, r, r]);
        let noise = self
            .e
            .tensor(&format!("{}/noise{layer}", vars.scope_prefix()), &noise);
        let strength = vars.take(&format!("{scope}/noise_strength"), &[]);
        let strength = self.e.tensor(&format!("{p}/noise_strength"), &strength);
        let m = self.binary(&format!("{p}/mul_7"), "Mul", &noise, &strength);
        let x = self.binary(&format!("{p}/add_3"), "AddV2", &x, &m);
        self.bias_act(&p, scope, vars, "bias", &x, fmaps, 1.0, true, 4)
    }

    fn torgb(
        &mut self,
        scope: &str,
        vars: &mut Vars,
        x: &str,
        dlatents: &str,
        cin: usize,
        res: usize,
    ) -> String {
        let p = format!("{}/{scope}", vars.scope_prefix());
        let row = self.dlatent_row(&format!("{p}/strided_slice_8"), dlatents, 2 * res - 3);
        let nc = self.c.num_channels;
        let t = self.modulated_conv(&p, scope, vars, x, &row, [cin, nc, 1], false, false, 0);
        self.bias_act(&p, scope, vars, "bias", &t, nc, 1.0, false, 4)
    }

    /// G_synthesis_stylegan2 ('skip') on `dlatents` `[N, layers, dlatent_size]`.
    fn synthesis(&mut self, vars: &mut Vars, dlatents: &str) -> String {
        let c = self.c.clone();
        let g = vars.scope_prefix();
        let nf1 = c.nf(1);
        let cst = vars.take("4x4/Const/const", &[1, nf1, 4, 4]);
        let cst = self.e.tensor(&format!("{g}/4x4/Const/const"), &cst);
        let n = self.batch(&format!("{g}/4x4/Const"), dlatents);
        let one = self.int_const(&format!("{g}/4x4/Const/Tile/multiples/1"), 1);
        let mult = self.pack(
            &format!("{g}/4x4/Const/Tile/multiples"),
            &[&n, &one, &one, &one],
        );
        let x = self.tile(&format!("{g}/4x4/Const/Tile"), &cst, &mult);
        let mut x = self.layer("4x4/Conv", vars, &x, dlatents, 0, [nf1, nf1], false, 4);
        let mut y = self.torgb("4x4/ToRGB", vars, &x, dlatents, nf1, 2);
        for res in 3..=c.res_log2() {
            let (cin, cout, h) = (c.nf(res - 2), c.nf(res - 1), 1usize << (res - 1));
            let r = 1 << res;
            x = self.layer(
                &format!("{r}x{r}/Conv0_up"),
                vars,
                &x,
                dlatents,
                2 * res - 5,
                [cin, cout],
                true,
                h,
            );
            x = self.layer(
                &format!("{r}x{r}/Conv1"),
                vars,
                &x,
                dlatents,
                2 * res - 4,
                [cout, cout],
                false,
                2 * h,
            );
            let (taps, fir) = c.fir(4.0);
            let pad = taps - 2;
            y = self.upfirdn(
                &format!("{g}/{r}x{r}/Upsample"),
                &y,
                c.num_channels,
                h,
                &fir,
                taps,
                2,
                pad.div_ceil(2) + 1,
                pad / 2,
            );
            let t = self.torgb(&format!("{r}x{r}/ToRGB"), vars, &x, dlatents, cout, res);
            y = self.binary(&format!("{g}/{r}x{r}/ToRGB/add_4"), "AddV2", &y, &t);
        }
        self.e.op(&format!("{g}/images_out"), "Identity", &[&y])
    }

    /// G_mapping (StyleGAN2's: `fused_bias_act` LeakyRelu × √2) on `latents` `[N, latent_size]`.
    fn mapping(&mut self, vars: &mut Vars, latents: &str, broadcast: Option<usize>) -> String {
        let c = self.c.clone();
        let g = vars.scope_prefix();
        let mut x = latents.to_string();
        if c.normalize_latents {
            let p = format!("{g}/Normalize");
            let sq = self.e.op(&format!("{p}/Square"), "Square", &[&x]);
            let m = self.mean(&format!("{p}/Mean"), &sq, &[1]);
            let eps = self.scalar(&format!("{p}/add/y"), 1e-8);
            let a = self.binary(&format!("{p}/add"), "AddV2", &m, &eps);
            let r = self.e.op(&format!("{p}/Rsqrt"), "Rsqrt", &[&a]);
            x = self.binary(&format!("{p}/mul"), "Mul", &x, &r);
        }
        let mut fin = c.latent_size;
        for layer in 0..c.mapping_layers {
            let scope = format!("Dense{layer}");
            let p = format!("{g}/{scope}");
            let fout = if layer + 1 == c.mapping_layers {
                c.dlatent_size
            } else {
                c.mapping_fmaps
            };
            let w = self.weight(&p, &scope, vars, "weight", &[fin, fout], c.mapping_lrmul);
            let y = self.matmul(&format!("{p}/MatMul"), &x, &w);
            x = self.bias_act(&p, &scope, vars, "bias", &y, fout, c.mapping_lrmul, true, 2);
            fin = fout;
        }
        if let Some(rows) = broadcast {
            x = self.broadcast(&g, &x, rows);
        }
        self.e.op(&format!("{g}/dlatents_out"), "Identity", &[&x])
    }
}

/// A float attribute.
fn tf_f(v: f32) -> tf::AttrValue {
    tf::AttrValue {
        value: Some(tf::attr_value::Value::F(v)),
    }
}

/// Whether `root` (the network a path starts at) is a StyleGAN2 generator: its networks are built here.
pub fn is_stylegan2(root: &Network) -> bool {
    matches!(
        root.build_func_name.as_str(),
        "G_main" | "G_synthesis_stylegan2"
    )
}

/// The pickle state versions StyleGAN2's TensorFlow code writes (4; StyleGAN2-ADA's writes 5).
const VERSIONS: std::ops::RangeInclusive<i64> = 4..=5;

/// The inference GraphDef of StyleGAN2 network `n` (`G_main`, `G_synthesis_stylegan2`, or the
/// `G_mapping` of a `G_main`); every expected variable must be present with its shape and every variable
/// used, else the error lists what differs.
pub fn graph_def(n: &Network) -> Result<tf::GraphDef, String> {
    if !VERSIONS.contains(&n.version) {
        return Err(format!(
            "{}: a {}() network of pickle state version {} (StyleGAN2 writes 4, StyleGAN2-ADA 5)",
            n.path, n.build_func_name, n.version
        ));
    }
    let c = Config::from(n).map_err(|e| format!("{}: {e}", n.path))?;
    let mut b = Builder {
        ops: Ops::default(),
        c: &c,
    };
    let component = |name: &str| {
        n.components
            .iter()
            .find(|x| x.path.rsplit('/').next() == Some(name))
            .ok_or(format!("{}: G_main without its '{name}' component", n.path))
    };
    let mut problems = Vec::new();
    match n.build_func_name.as_str() {
        "G_synthesis_stylegan2" => {
            let mut vars = Vars::new(n);
            let d = b.e.placeholder("dlatents_in", &[-1, c.num_layers() as i64, c.dlatent_size as i64]);
            b.synthesis(&mut vars, &d);
            problems.extend(vars.finish());
        }
        "G_mapping" => {
            let mut vars = Vars::new(n);
            let z = b.e.placeholder("latents_in", &[-1, c.latent_size as i64]);
            b.mapping(&mut vars, &z, c.dlatent_broadcast);
            problems.extend(vars.finish());
        }
        "G_main" => {
            let (syn, map) = (component("synthesis")?, component("mapping")?);
            let mut own = Vars::new(n);
            own.take("lod", &[]);
            let avg = own.take("dlatent_avg", &[c.dlatent_size]);
            let z = b.e.placeholder("latents_in", &[-1, c.latent_size as i64]);
            let mut mv = Vars::new(map);
            let l = c.num_layers();
            let mut dl = b.mapping(&mut mv, &z, Some(l));
            if let Some(psi) = c.truncation_psi.filter(|&p| p != 1.0) {
                dl = b.truncation(&n.path, &dl, &avg, l, psi, c.truncation_cutoff);
            }
            let mut sv = Vars::new(syn);
            let img = b.synthesis(&mut sv, &dl);
            b.e.op(&format!("{}/images_out", n.path), "Identity", &[&img]);
            problems.extend(own.finish());
            problems.extend(mv.finish());
            problems.extend(sv.finish());
        }
        other => {
            return Err(format!(
                "{}: build function {other}() is not one sgc builds for StyleGAN2 (G_main, G_synthesis_stylegan2, G_mapping)",
                n.path
            ))
        }
    }
    fits(&n.build_func_name, &problems)?;
    Ok(b.ops.e.finish())
}
