//! Full-integer convolutions (`--quantize int8`): the inputs and outputs of the convolutions stored as
//! int8 with one scale and zero point per tensor (asymmetric, TFLite's quantization spec), so LiteRT
//! runs them in integers.
//!
//! It works on a lowered [`ModelPlan`] whose conv and dense weights are already per-channel int8
//! ([`WeightMode::Int8`], listed in `full_int8_weights`), in two steps: [`observing`] makes the plan
//! report every float activation ([`calibration_tensors`]) so that a runtime can record their ranges
//! on sample inputs, then [`full_integer`] rewrites the plan with those ranges: QUANTIZE before and
//! DEQUANTIZE after each int8 op (one per tensor; a chain of int8 ops shares them).
//!
//! Which ops compute in int8 is [`kernel`]'s table, and it is short on purpose. Measured on the 256 px
//! StyleGAN generator (LiteRT 2.3.0, x86 AVX2): every elementwise op class (ADD, MUL/SUB,
//! LEAKY_RELU) made int8 as well cost 0.03–0.05 SSIM each (0.83 with all of them, against 0.91) and
//! bought no speed; the instance-norm statistics (MEAN, SQUARED_DIFFERENCE, RSQRT) are where other
//! tools' full-integer models measured their worst tensors (issue 10). FULLY_CONNECTED keeps its int8 weight with a float input (the dynamic-range
//! kernel): its rows are single latents. The model's inputs and outputs stay float.
//!
//! [`WeightMode::Int8`]: crate::tflite::quant::WeightMode::Int8

use std::collections::{HashMap, HashSet};

use sgc_ir::DType;

use super::lower::dynamic_kernel;
use super::quant::{Quantization, StoredAs, WeightMode};
use super::schema::{builtin, BuiltinOptions};
use super::{BackendError, ModelPlan, OpCode, OpPlan, TensorData, TensorPlan};

/// The range a tensor's values were observed in, or chosen to be clipped to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub min: f32,
    pub max: f32,
}

/// Per-tensor asymmetric int8 parameters covering `range` (and 0, which must be exact): `real =
/// scale · (q − zero_point)`, q in [−128, 127].
pub fn int8_params(range: Range) -> (f32, i64) {
    let lo = range.min.min(0.0);
    let hi = range.max.max(0.0);
    let span = hi - lo;
    // A tensor that is always 0: any scale represents it; TFLite wants one > 0.
    let scale = if span > 0.0 && span.is_finite() {
        span / 255.0
    } else {
        1.0
    };
    let zero_point = (-128.0 - lo / scale).round().clamp(-128.0, 127.0) as i64;
    (scale, zero_point)
}

/// Convolutions with fewer output positions (H·W) than this keep the dynamic-range kernel (int8
/// weights, float activations): a conv applying its weights at few positions is bound by reading
/// them, which the int8 weight already halves, and the errors of the early, small layers are
/// amplified by every layer after them (in StyleGAN: the blocks up to 16×16; keeping them so
/// measured +0.013 SSIM).
pub const MIN_INT8_CONV_POSITIONS: usize = 1024;

/// Convolutions with fewer output channels than this keep the dynamic-range kernel too: their output
/// is an image (StyleGAN's ToRGB), whose 8-bit rounding the int8 output would double, for almost no
/// work saved.
pub const MIN_INT8_CONV_CHANNELS: usize = 8;

/// The tensors of an op computing in int8: activation `input`, per-channel int8 `weight`, optional
/// float `bias` (then int32 with scale input · weight[c]). Its output has its own range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kernel {
    pub input: usize,
    pub weight: usize,
    pub bias: usize,
}

/// The int8 kernel of an op, or `None`: it computes in float. An op computes in float until it is
/// listed here with the kernel LiteRT has for it.
pub fn kernel(code: &OpCode) -> Option<Kernel> {
    if code.custom.is_some() {
        return None;
    }
    match code.builtin {
        builtin::CONV_2D | builtin::DEPTHWISE_CONV_2D => Some(Kernel {
            input: 0,
            weight: 1,
            bias: 2,
        }),
        builtin::TRANSPOSE_CONV => Some(Kernel {
            input: 2,
            weight: 1,
            bias: 3,
        }),
        _ => None,
    }
}

/// The operator version TensorFlow's converter writes for an op with int8 inputs (LiteRT picks
/// kernels by type; the version says what the model needs).
fn int8_version(code: &OpCode) -> i32 {
    let v = match code.builtin {
        builtin::CONV_2D | builtin::DEPTHWISE_CONV_2D | builtin::TRANSPOSE_CONV => 3,
        builtin::DEQUANTIZE => 2,
        _ => 1,
    };
    v.max(code.version)
}

fn is_activation(t: &TensorPlan) -> bool {
    t.data.is_none() && t.dtype == DType::F32
}

fn numel(t: &TensorPlan) -> usize {
    t.shape.iter().map(|&d| d.max(0) as usize).product()
}

/// The float activations a calibration must observe: every float32 tensor an operator writes (model
/// inputs are known to the caller).
pub fn calibration_tensors(plan: &ModelPlan) -> Vec<i32> {
    let mut seen = HashSet::new();
    plan.operators
        .iter()
        .flat_map(|o| o.outputs.iter().copied())
        .filter(|&t| is_activation(&plan.tensors[t as usize]) && seen.insert(t))
        .collect()
}

/// `plan` with `tensors` appended to its outputs and signature (as `observe_<tensor>`), so that a
/// runtime hands them back.
pub fn observing(plan: &ModelPlan, tensors: &[i32]) -> ModelPlan {
    let mut p = plan.clone();
    for &t in tensors {
        if !p.outputs.contains(&t) {
            p.outputs.push(t);
            p.signature_outputs.push((format!("observe_{t}"), t));
        }
    }
    p
}

/// What [`full_integer`] did, for the notes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Int8Summary {
    /// Operators computing in int8, and in float.
    pub int8_ops: usize,
    pub float_ops: usize,
    /// QUANTIZE and DEQUANTIZE operators added where int8 and float tensors meet.
    pub conversions: usize,
}

/// Rewrites `plan` (lowered with int8 weights) to compute in int8 where [`kernel`] allows: `ranges`
/// holds the calibrated range of each float activation by tensor index; an op whose activations have
/// no range stays float.
pub fn full_integer(
    plan: &ModelPlan,
    ranges: &HashMap<i32, Range>,
) -> Result<(ModelPlan, Int8Summary), BackendError> {
    let mut r = Rewrite {
        tensors: plan.tensors.clone(),
        full_int8_weights: &plan.full_int8_weights,
        operators: Vec::with_capacity(plan.operators.len()),
        int8: HashSet::new(),
        int8_copy: HashMap::new(),
        float_copy: HashMap::new(),
        ranges,
        summary: Int8Summary::default(),
    };
    for op in &plan.operators {
        match r.int8_kernel(op) {
            Some(k) => r.int8_op(op, k)?,
            None => r.float_op(op),
        }
    }
    let mut out = ModelPlan {
        inputs: plan.inputs.clone(),
        signature_inputs: plan.signature_inputs.clone(),
        ..ModelPlan::default()
    };
    out.outputs = plan.outputs.iter().map(|&t| r.as_float(t)).collect();
    out.signature_outputs = plan
        .signature_outputs
        .iter()
        .map(|(name, t)| (name.clone(), r.as_float(*t)))
        .collect();
    out.tensors = r.tensors;
    out.operators = r.operators;
    Ok((out, r.summary))
}

struct Rewrite<'a> {
    tensors: Vec<TensorPlan>,
    full_int8_weights: &'a HashSet<i32>,
    operators: Vec<OpPlan>,
    /// Activations (of the original plan) that are now int8.
    int8: HashSet<i32>,
    /// The int8 version of a float activation (QUANTIZE).
    int8_copy: HashMap<i32, i32>,
    /// The float version of an int8 tensor (DEQUANTIZE): of an activation, or of an int8 weight
    /// whose op stays float and has no dynamic-range kernel.
    float_copy: HashMap<i32, i32>,
    ranges: &'a HashMap<i32, Range>,
    summary: Int8Summary,
}

impl Rewrite<'_> {
    fn t(&self, i: i32) -> &TensorPlan {
        &self.tensors[i as usize]
    }

    /// The per-channel scales of `w`, if it is a weight stored for full-integer compute.
    fn int8_weight_scales(&self, w: i32) -> Option<std::sync::Arc<[f32]>> {
        match &self.t(w).data {
            Some(TensorData::Quantized {
                to: StoredAs::Int8(s),
                ..
            }) if self.full_int8_weights.contains(&w) => Some(s.clone()),
            _ => None,
        }
    }

    /// [`kernel`]'s kernel for `op`, if its weight is int8, its input an activation with a range,
    /// its bias a float constant and its output large enough.
    fn int8_kernel(&self, op: &OpPlan) -> Option<Kernel> {
        let k = kernel(&op.code)?;
        let [out] = op.outputs[..] else { return None };
        let o = self.t(out);
        if !is_activation(o) || !self.ranges.contains_key(&out) {
            return None;
        }
        let channels = o.shape.last().map_or(1, |&c| c.max(1) as usize);
        let positions = numel(o) / channels;
        let x = *op.inputs.get(k.input)?;
        let input_ok =
            self.int8.contains(&x) || (is_activation(self.t(x)) && self.ranges.contains_key(&x));
        let bias_ok = match op.inputs.get(k.bias).copied().unwrap_or(-1) {
            b if b < 0 => true,
            b => self.t(b).dtype == DType::F32 && self.t(b).data.is_some(),
        };
        (self.int8_weight_scales(*op.inputs.get(k.weight)?).is_some()
            && positions >= MIN_INT8_CONV_POSITIONS
            && channels >= MIN_INT8_CONV_CHANNELS
            && input_ok
            && bias_ok)
            .then_some(k)
    }

    fn new_tensor(&mut self, t: TensorPlan) -> i32 {
        self.tensors.push(t);
        (self.tensors.len() - 1) as i32
    }

    fn push(&mut self, code: i32, version: i32, inputs: Vec<i32>, outputs: Vec<i32>) {
        self.operators.push(OpPlan {
            code: OpCode {
                builtin: code,
                custom: None,
                version,
            },
            options: BuiltinOptions::None,
            inputs,
            outputs,
            custom_options: None,
        });
        self.summary.conversions += 1;
    }

    /// `op` computing in float: int8 activations it reads are dequantized, and so is an int8 weight
    /// that its float kernel cannot read (DEPTHWISE_CONV_2D: see [`dynamic_kernel`]).
    fn float_op(&mut self, op: &OpPlan) {
        let mut op = op.clone();
        let dequantize_weight = !dynamic_kernel(op.code.builtin, WeightMode::Int8Dynamic);
        for i in op.inputs.iter_mut() {
            *i = if dequantize_weight && *i >= 0 && self.int8_weight_scales(*i).is_some() {
                self.dequantized(*i)
            } else {
                self.as_float(*i)
            };
        }
        self.summary.float_ops += 1;
        self.operators.push(op);
    }

    /// The tensor a float op reads for activation `i`: `i` itself, or a DEQUANTIZE of it when it is
    /// int8.
    fn as_float(&mut self, i: i32) -> i32 {
        if i < 0 || !self.int8.contains(&i) {
            return i;
        }
        self.dequantized(i)
    }

    fn dequantized(&mut self, i: i32) -> i32 {
        if let Some(&f) = self.float_copy.get(&i) {
            return f;
        }
        let t = self.t(i);
        let f = self.new_tensor(TensorPlan {
            name: format!("{}/float", t.name),
            dtype: DType::F32,
            shape: t.shape.clone(),
            data: None,
            quantization: None,
        });
        self.push(builtin::DEQUANTIZE, 2, vec![i], vec![f]);
        self.float_copy.insert(i, f);
        f
    }

    /// The tensor an int8 op reads for activation `i`: `i` when it is int8 already, else a QUANTIZE
    /// of it with its calibrated range (one per tensor).
    fn as_int8(&mut self, i: i32) -> i32 {
        if self.int8.contains(&i) {
            return i;
        }
        if let Some(&q) = self.int8_copy.get(&i) {
            return q;
        }
        let t = self.t(i);
        let (scale, zp) = int8_params(self.ranges[&i]);
        let q = self.new_tensor(TensorPlan {
            name: format!("{}/int8", t.name),
            dtype: DType::I8,
            shape: t.shape.clone(),
            data: None,
            quantization: Some(per_tensor(scale, zp)),
        });
        self.push(builtin::QUANTIZE, 1, vec![i], vec![q]);
        self.int8_copy.insert(i, q);
        q
    }

    fn int8_op(&mut self, op: &OpPlan, k: Kernel) -> Result<(), BackendError> {
        let mut new = op.clone();
        new.code.version = int8_version(&op.code);
        new.inputs[k.input] = self.as_int8(op.inputs[k.input]);
        let in_scale = self
            .t(new.inputs[k.input])
            .quantization
            .as_ref()
            .map_or(1.0, |q| q.scale[0]);
        let w_scales = self
            .int8_weight_scales(op.inputs[k.weight])
            .expect("int8_kernel checked the weight");
        if let Some(&b) = op.inputs.get(k.bias).filter(|&&b| b >= 0) {
            new.inputs[k.bias] = self.int32_bias(b, in_scale, &w_scales)?;
        }
        let out = op.outputs[0];
        let (scale, zp) = int8_params(self.ranges[&out]);
        let t = &mut self.tensors[out as usize];
        t.dtype = DType::I8;
        t.quantization = Some(per_tensor(scale, zp));
        self.int8.insert(out);
        self.summary.int8_ops += 1;
        self.operators.push(new);
        Ok(())
    }

    /// The int32 bias of one conv: `b[c] / (input scale · weight scale[c])`, per channel on axis 0
    /// (each conv its own: the scales differ).
    fn int32_bias(&mut self, b: i32, in_scale: f32, w_scales: &[f32]) -> Result<i32, BackendError> {
        let t = self.t(b);
        let values: Vec<f32> = match &t.data {
            Some(d) => super::quant::f32_values(&d.bytes()).collect(),
            None => unreachable!("int8_kernel checked the bias"),
        };
        if values.len() != w_scales.len() {
            return Err(BackendError::Graph(format!(
                "bias '{}' has {} values for {} output channels",
                t.name,
                values.len(),
                w_scales.len()
            )));
        }
        let name = format!("{}/int32", t.name);
        let shape = t.shape.clone();
        let scales: Vec<f32> = w_scales.iter().map(|&s| s * in_scale).collect();
        let bytes = values
            .iter()
            .zip(&scales)
            .flat_map(|(&v, &s)| {
                let q = (f64::from(v) / f64::from(s)).round();
                (q.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32).to_le_bytes()
            })
            .collect();
        Ok(self.new_tensor(TensorPlan {
            name,
            dtype: DType::I32,
            shape,
            data: Some(TensorData::Owned(bytes)),
            quantization: Some(Quantization {
                zero_point: vec![0; scales.len()],
                scale: scales,
                dimension: 0,
            }),
        }))
    }
}

fn per_tensor(scale: f32, zero_point: i64) -> Quantization {
    Quantization {
        scale: vec![scale],
        zero_point: vec![zero_point],
        dimension: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_cover_the_range_and_zero_exactly() {
        let (s, zp) = int8_params(Range {
            min: -1.0,
            max: 3.0,
        });
        assert!((s - 4.0 / 255.0).abs() < 1e-7);
        // 0 is a code: real 0 ↔ q = zp.
        assert_eq!(zp, (-128.0f32 + 1.0 / s).round() as i64);
        let q = |x: f32| ((x / s).round() + zp as f32).clamp(-128.0, 127.0);
        assert_eq!(q(-1.0), -128.0);
        assert_eq!(q(3.0), 127.0);
        // A range entirely above 0 still includes it: relu outputs get zp −128.
        let (s2, zp2) = int8_params(Range { min: 2.0, max: 5.1 });
        assert_eq!(zp2, -128);
        assert!((s2 - 5.1 / 255.0).abs() < 1e-7);
        // An all-zero tensor gets a valid scale.
        assert_eq!(int8_params(Range { min: 0.0, max: 0.0 }), (1.0, -128));
    }

    /// A 1×1 CONV_2D from 1 to 8 channels at `positions` positions, with a per-channel int8 weight
    /// (`full`: stored for full-integer compute) and a float bias.
    fn conv_plan(positions: i32, full: bool) -> ModelPlan {
        let f32_bytes = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
        let act = |name: &str, c: i32| TensorPlan {
            name: name.into(),
            dtype: DType::F32,
            shape: vec![1, positions, 1, c],
            data: None,
            quantization: None,
        };
        let scales: std::sync::Arc<[f32]> = (0..8).map(|c| 0.5 / (c + 1) as f32).collect();
        let weight = TensorPlan {
            name: "w".into(),
            dtype: DType::I8,
            shape: vec![8, 1, 1, 1],
            data: Some(TensorData::Quantized {
                source: bytes::Bytes::from(f32_bytes(&[1.0; 8])),
                shape: vec![1, 1, 1, 8],
                view: super::super::quant::ChannelView::new(&[1, 1, 1, 8], 3),
                perm: Some(&[3, 0, 1, 2]),
                to: StoredAs::Int8(scales.clone()),
                rounded: None,
            }),
            quantization: Some(Quantization {
                scale: scales.to_vec(),
                zero_point: vec![0; 8],
                dimension: 0,
            }),
        };
        let bias = TensorPlan {
            name: "b".into(),
            dtype: DType::F32,
            shape: vec![8],
            data: Some(TensorData::Owned(f32_bytes(&[
                0.31, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
            ]))),
            quantization: None,
        };
        ModelPlan {
            tensors: vec![act("x", 1), weight, bias, act("y", 8)],
            operators: vec![OpPlan {
                code: OpCode {
                    builtin: builtin::CONV_2D,
                    custom: None,
                    version: 1,
                },
                options: BuiltinOptions::None,
                inputs: vec![0, 1, 2],
                outputs: vec![3],
                custom_options: None,
            }],
            inputs: vec![0],
            outputs: vec![3],
            signature_inputs: vec![("x".into(), 0)],
            signature_outputs: vec![("y".into(), 3)],
            full_int8_weights: if full { [1].into() } else { HashSet::new() },
        }
    }

    fn ranges() -> HashMap<i32, Range> {
        HashMap::from([
            (
                0,
                Range {
                    min: -1.0,
                    max: 1.0,
                },
            ),
            (
                3,
                Range {
                    min: -4.0,
                    max: 4.0,
                },
            ),
        ])
    }

    #[test]
    fn a_conv_gets_int8_tensors_an_int32_bias_and_conversions_at_its_ends() {
        let (p, summary) = full_integer(&conv_plan(1024, true), &ranges()).unwrap();
        let codes: Vec<i32> = p.operators.iter().map(|o| o.code.builtin).collect();
        assert_eq!(
            codes,
            [builtin::QUANTIZE, builtin::CONV_2D, builtin::DEQUANTIZE]
        );
        assert_eq!(
            summary,
            Int8Summary {
                int8_ops: 1,
                float_ops: 0,
                conversions: 2
            }
        );
        let conv = &p.operators[1];
        assert_eq!(conv.code.version, 3);
        let x = &p.tensors[conv.inputs[0] as usize];
        let (sx, _) = int8_params(Range {
            min: -1.0,
            max: 1.0,
        });
        assert_eq!(
            (x.dtype, x.quantization.as_ref().unwrap().scale[0]),
            (DType::I8, sx)
        );
        // The bias: int32, per channel, scale = input scale × weight scale of the channel.
        let b = &p.tensors[conv.inputs[2] as usize];
        let q = b.quantization.as_ref().unwrap();
        assert_eq!(b.dtype, DType::I32);
        let expected: Vec<f32> = (0..8).map(|c| 0.5 / (c + 1) as f32 * sx).collect();
        assert_eq!(q.scale, expected);
        let Some(TensorData::Owned(bytes)) = &b.data else {
            panic!("{:?}", b.data)
        };
        let values: Vec<i32> = bytes
            .chunks(4)
            .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(
            values[..3],
            [
                (0.31 / (sx * 0.5)).round() as i32,
                (-1.0 / (sx * 0.25)).round() as i32,
                0
            ]
        );
        // The output is int8 and the model's output its dequantized copy, still float32.
        assert_eq!(p.tensors[3].dtype, DType::I8);
        let out = p.outputs[0];
        assert_eq!(
            (p.tensors[out as usize].dtype, p.signature_outputs[0].1),
            (DType::F32, out)
        );
        assert_eq!(p.inputs, vec![0]);
    }

    #[test]
    fn small_convs_and_dynamic_weights_stay_float() {
        for plan in [conv_plan(1023, true), conv_plan(1024, false)] {
            let (p, summary) = full_integer(&plan, &ranges()).unwrap();
            assert_eq!(p.operators, plan.operators);
            assert_eq!(summary.int8_ops, 0);
        }
        // Without a range for its input, a conv stays float too.
        let mut r = ranges();
        r.remove(&0);
        let (_, summary) = full_integer(&conv_plan(1024, true), &r).unwrap();
        assert_eq!(summary.int8_ops, 0);
    }
}
