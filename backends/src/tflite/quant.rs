//! Weight quantization as TFLite reads it (the TFLite quantization spec): constant weights of
//! CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV and FULLY_CONNECTED stored as int8 — symmetric, zero point
//! 0, values in [-127, 127], one scale per output channel (`quantized_dimension` the output-channel axis)
//! —, as int4 the same way (values in [-7, 7], two to a byte) or as float16. How the model then
//! computes is the [`WeightMode`].

use std::str::FromStr;
use std::sync::Arc;

/// How the backend stores the constant weights of convolutions and dense layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WeightMode {
    /// float32, as the graph has them.
    #[default]
    Float,
    /// float16 weights, each followed by a DEQUANTIZE to float32: half the bytes, float compute.
    Fp16,
    /// Per-channel int8 weights followed by DEQUANTIZE: a quarter of the bytes, float compute.
    Int8Weights,
    /// Per-channel int8 weights read by the ops themselves: TFLite's dynamic-range ("hybrid") kernels
    /// quantize each input at run time and compute in integers.
    Int8Dynamic,
    /// Full integer: per-channel int8 weights read by every conv and dense op, and the activations of
    /// the convolutions and the large elementwise ops around them int8, with calibrated ranges
    /// ([`crate::tflite::full_int8`]).
    Int8,
    /// Per-channel int4 weights followed by DEQUANTIZE: an eighth of the bytes, float compute.
    Int4Weights,
    /// Per-channel int4 weights read by the ops' dynamic-range kernels, as `Int8Dynamic`.
    Int4Dynamic,
}

impl WeightMode {
    /// Every mode, in the order `--help` lists them.
    pub const ALL: [WeightMode; 7] = [
        WeightMode::Float,
        WeightMode::Fp16,
        WeightMode::Int8Weights,
        WeightMode::Int8Dynamic,
        WeightMode::Int8,
        WeightMode::Int4Weights,
        WeightMode::Int4Dynamic,
    ];

    /// The name `--quantize` takes.
    pub fn name(self) -> &'static str {
        match self {
            WeightMode::Float => "float",
            WeightMode::Fp16 => "fp16",
            WeightMode::Int8Weights => "int8-weights",
            WeightMode::Int8Dynamic => "int8-dynamic",
            WeightMode::Int8 => "int8",
            WeightMode::Int4Weights => "int4-weights",
            WeightMode::Int4Dynamic => "int4-dynamic",
        }
    }

    /// The op reads the stored weight itself (no DEQUANTIZE after it).
    pub fn is_dynamic(self) -> bool {
        matches!(
            self,
            WeightMode::Int8Dynamic | WeightMode::Int8 | WeightMode::Int4Dynamic
        )
    }

    /// The same storage with a DEQUANTIZE and float compute: what an op without a dynamic-range kernel
    /// gets.
    pub fn dequantized(self) -> WeightMode {
        match self {
            WeightMode::Int8Dynamic | WeightMode::Int8 => WeightMode::Int8Weights,
            WeightMode::Int4Dynamic => WeightMode::Int4Weights,
            m => m,
        }
    }

    /// Bits a weight is stored in.
    pub fn bits(self) -> u32 {
        match self {
            WeightMode::Float => 32,
            WeightMode::Fp16 => 16,
            WeightMode::Int8Weights | WeightMode::Int8Dynamic | WeightMode::Int8 => 8,
            WeightMode::Int4Weights | WeightMode::Int4Dynamic => 4,
        }
    }

    /// The largest stored magnitude of a symmetric integer mode.
    pub fn int_max(self) -> Option<f32> {
        match self {
            WeightMode::Int8Weights | WeightMode::Int8Dynamic | WeightMode::Int8 => Some(127.0),
            WeightMode::Int4Weights | WeightMode::Int4Dynamic => Some(7.0),
            WeightMode::Float | WeightMode::Fp16 => None,
        }
    }
}

impl FromStr for WeightMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        WeightMode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = WeightMode::ALL.iter().map(|m| m.name()).collect();
                format!("unknown quantization mode '{s}' ({})", names.join(", "))
            })
    }
}

/// The quantization parameters of one tensor: `real = scale[c] × (q − zero_point[c])` for slice `c`
/// along `dimension` (one entry: the whole tensor).
#[derive(Debug, Clone, PartialEq)]
pub struct Quantization {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    pub dimension: i32,
}

/// What a float32 weight is stored as.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredAs {
    /// int8 with these per-channel scales.
    Int8(Arc<[f32]>),
    /// int4 with these per-channel scales, two values to a byte (the first in the low nibble), as
    /// TFLite's INT4 tensors are packed.
    Int4(Arc<[f32]>),
    /// IEEE half precision.
    F16,
}

/// A tensor's shape seen as `[outer, channels, inner]` around its channel axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelView {
    pub outer: usize,
    pub channels: usize,
    pub inner: usize,
}

impl ChannelView {
    pub fn new(shape: &[usize], axis: usize) -> ChannelView {
        ChannelView {
            outer: shape[..axis].iter().product(),
            channels: shape[axis],
            inner: shape[axis + 1..].iter().product(),
        }
    }

    /// The channel of element `i` (row-major).
    fn channel(&self, i: usize) -> usize {
        (i / self.inner) % self.channels
    }
}

/// Symmetric scales, one per channel: `max |w| / qmax` (1 for an all-zero channel, whose values are
/// all 0 whatever the scale; TFLite wants scales > 0).
pub fn symmetric_scales(
    w: impl IntoIterator<Item = f32>,
    view: ChannelView,
    qmax: f32,
) -> Vec<f32> {
    let mut max = vec![0f32; view.channels];
    for (i, v) in w.into_iter().enumerate() {
        let c = view.channel(i);
        max[c] = max[c].max(v.abs());
    }
    max.into_iter()
        .map(|m| if m > 0.0 { m / qmax } else { 1.0 })
        .collect()
}

/// Symmetric scales, one per channel, that minimise the squared rounding error of the channel: the
/// best of `r · max |w| / qmax` for `r` in 1, 0.98, …, 0.5 (clipping the few largest weights buys finer
/// steps for all the others: at 4 bits on Gaussian weights the error falls by half or more; at 8 bits
/// `max |w|` is already close to the best and [`int8_scales`] keeps it).
pub fn mse_scales(w: &[u8], view: ChannelView, qmax: f32) -> Vec<f32> {
    const RATIOS: usize = 26;
    let max = symmetric_scales(f32_values(w), view, qmax);
    // scale and 1/scale of every (channel, ratio), channel-major.
    let candidates: Vec<(f32, f32)> = max
        .iter()
        .flat_map(|&m| {
            (0..RATIOS).map(move |k| {
                let s = m * (1.0 - 0.02 * k as f32);
                (s, 1.0 / s)
            })
        })
        .collect();
    let mut err = vec![0f64; candidates.len()];
    // The ratio is chosen on about `SAMPLE` values of each channel (whole rows of the outer axis, evenly
    // spaced): plenty to place the clip, and lowering a model stays about as fast as without it.
    const SAMPLE: usize = 512;
    let row = view.channels * view.inner;
    let stride = (view.outer * view.inner).div_ceil(SAMPLE).max(1);
    for o in (0..view.outer).step_by(stride) {
        let values = f32_values(&w[4 * o * row..4 * (o + 1) * row]);
        for (i, v) in values.enumerate() {
            let c = i / view.inner * RATIOS;
            for (e, &(s, inv)) in err[c..c + RATIOS]
                .iter_mut()
                .zip(&candidates[c..c + RATIOS])
            {
                // Rounds half away from zero as `quantize_symmetric` does, with a truncating cast
                // (cheaper than `round`).
                let x = v * inv;
                let q = ((x + 0.5f32.copysign(x)) as i32).clamp(-qmax as i32, qmax as i32);
                let d = v - q as f32 * s;
                *e += f64::from(d * d);
            }
        }
    }
    err.chunks(RATIOS)
        .zip(candidates.chunks(RATIOS))
        .map(|(e, cand)| {
            let best = (0..RATIOS).fold(0, |b, k| if e[k] < e[b] { k } else { b });
            cand[best].0
        })
        .collect()
}

/// Symmetric int8 scales, one per channel: `max |w| / 127`.
pub fn int8_scales(w: impl IntoIterator<Item = f32>, view: ChannelView) -> Vec<f32> {
    symmetric_scales(w, view, 127.0)
}

/// The values of little-endian f32 bytes, decoded as they are read (weights are never copied whole).
pub fn f32_values(bytes: &[u8]) -> impl Iterator<Item = f32> + '_ {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// `round(w / scale[c])` clamped to [-qmax, qmax], one byte each.
pub fn quantize_symmetric(
    w: impl IntoIterator<Item = f32>,
    view: ChannelView,
    scales: &[f32],
    qmax: f32,
) -> Vec<u8> {
    w.into_iter()
        .enumerate()
        .map(|(i, v)| {
            let q = (v / scales[view.channel(i)]).round().clamp(-qmax, qmax);
            q as i8 as u8
        })
        .collect()
}

/// `round(w / scale[c])` clamped to [-127, 127], as bytes.
pub fn quantize_int8(
    w: impl IntoIterator<Item = f32>,
    view: ChannelView,
    scales: &[f32],
) -> Vec<u8> {
    quantize_symmetric(w, view, scales, 127.0)
}

/// int4 values (one per byte, in [-8, 7]) packed two to a byte, element `2k` in the low nibble of
/// byte `k`; an odd count leaves the last high nibble 0.
pub fn pack_int4(values: &[u8]) -> Vec<u8> {
    values
        .chunks(2)
        .map(|p| (p[0] & 0x0f) | (p.get(1).copied().unwrap_or(0) << 4))
        .collect()
}

/// The IEEE binary16 bits nearest to `x` (round to nearest, ties to even; overflow to infinity,
/// underflow through the subnormals to zero).
pub fn f32_to_f16(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let mant = bits & 0x007f_ffff;
    if exp == 0xff {
        // Inf or NaN (keep NaN a NaN).
        return sign | 0x7c00 | if mant != 0 { 0x0200 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        if e < -10 {
            return sign;
        }
        // Subnormal: shift the mantissa with its hidden bit into place, rounding to nearest even.
        let m = mant | 0x0080_0000;
        let shift = (14 - e) as u32;
        let half = 1u32 << (shift - 1);
        let rest = m & ((1u32 << shift) - 1);
        let mut h = m >> shift;
        if rest > half || (rest == half && h & 1 == 1) {
            h += 1;
        }
        return sign | h as u16;
    }
    let mut h = ((e as u32) << 10) | (mant >> 13);
    let rest = mant & 0x1fff;
    if rest > 0x1000 || (rest == 0x1000 && h & 1 == 1) {
        h += 1; // may carry into the exponent, up to infinity: still correct
    }
    sign | h as u16
}

impl StoredAs {
    /// Bytes that `numel` stored elements take.
    pub fn stored_len(&self, numel: usize) -> usize {
        match self {
            StoredAs::Int8(_) => numel,
            StoredAs::Int4(_) => numel.div_ceil(2),
            StoredAs::F16 => 2 * numel,
        }
    }
}

/// The elements of little-endian f32 weights `source` as stored, in the source's own layout, each a
/// whole number of bytes (an int4 value takes one byte here: [`pack_int4`] packs them once the
/// layout is final).
pub fn encode(source: &[u8], view: ChannelView, to: &StoredAs) -> Vec<u8> {
    let w = f32_values(source);
    match to {
        StoredAs::Int8(scales) => quantize_symmetric(w, view, scales, 127.0),
        StoredAs::Int4(scales) => quantize_symmetric(w, view, scales, 7.0),
        StoredAs::F16 => w.flat_map(|v| f32_to_f16(v).to_le_bytes()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_channel_symmetric_int8() {
        // Shape [2, 3] with channels on axis 1: columns.
        let w = [1.0f32, -0.5, 0.0, -2.0, 0.25, 0.0];
        let view = ChannelView::new(&[2, 3], 1);
        let s = int8_scales(w, view);
        assert_eq!(s, vec![2.0 / 127.0, 0.5 / 127.0, 1.0]);
        let q: Vec<i8> = quantize_int8(w, view, &s)
            .into_iter()
            .map(|b| b as i8)
            .collect();
        // 1.0 / (2/127) = 63.5 rounds away from zero to 64; the largest magnitude is exactly ±127.
        assert_eq!(q, vec![64, -127, 0, -127, 64, 0]);
        // Channels on axis 0: rows.
        let s0 = int8_scales(w, ChannelView::new(&[2, 3], 0));
        assert_eq!(s0, vec![1.0 / 127.0, 2.0 / 127.0]);
        // Dequantized values are within half a step of the originals.
        for (i, (&v, &qi)) in w.iter().zip(&q).enumerate() {
            let c = view.channel(i);
            assert!((v - qi as f32 * s[c]).abs() <= s[c] / 2.0 + 1e-7);
        }
    }

    #[test]
    fn half_precision_rounding() {
        assert_eq!(f32_to_f16(1.0), 0x3c00);
        assert_eq!(f32_to_f16(-2.0), 0xc000);
        assert_eq!(f32_to_f16(65504.0), 0x7bff);
        assert_eq!(f32_to_f16(65520.0), 0x7c00, "rounds up to infinity");
        assert_eq!(f32_to_f16(1.0 + 1.0 / 2048.0), 0x3c00, "a tie goes to even");
        assert_eq!(f32_to_f16(1.0 + 3.0 / 2048.0), 0x3c02, "a tie goes to even");
        assert_eq!(f32_to_f16(2f32.powi(-24)), 0x0001, "smallest subnormal");
        assert_eq!(f32_to_f16(2f32.powi(-14)), 0x0400, "smallest normal");
        assert_eq!(f32_to_f16(2f32.powi(-26)), 0x0000);
        assert_eq!(f32_to_f16(f32::NAN) & 0x7c00, 0x7c00);
        assert_eq!(f32_to_f16(0.1), 0x2e66);
    }

    #[test]
    fn int4_values_pack_low_nibble_first() {
        let w = [0.875f32, -0.875, 0.125, 0.4375, -0.0625];
        let view = ChannelView::new(&[1, 5], 0);
        let s = symmetric_scales(w, view, 7.0);
        assert_eq!(s, vec![0.125]);
        let q = quantize_symmetric(w, view, &s, 7.0);
        // 3.5 rounds away from zero to 4, -0.5 to -1.
        assert_eq!(
            q.iter().map(|&b| b as i8).collect::<Vec<_>>(),
            [7, -7, 1, 4, -1]
        );
        // 7 | (-7 = 0b1001) << 4; 1 | 4 << 4; -1 = 0xf alone.
        assert_eq!(pack_int4(&q), vec![0x97, 0x41, 0x0f]);
        assert_eq!(StoredAs::Int4(s.into()).stored_len(5), 3);
    }

    #[test]
    fn modes_parse() {
        assert_eq!("int8-dynamic".parse(), Ok(WeightMode::Int8Dynamic));
        for m in WeightMode::ALL {
            assert_eq!(m.name().parse(), Ok(m));
        }
        let e = "int3".parse::<WeightMode>().unwrap_err();
        assert!(e.contains("fp16") && e.contains("int4-dynamic"), "{e}");
    }
}
