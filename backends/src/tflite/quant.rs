//! Weight quantization as TFLite reads it (the TFLite quantization spec): constant weights of
//! CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV and FULLY_CONNECTED stored as int8 — symmetric, zero point
//! 0, values in [-127, 127], one scale per output channel (`quantized_dimension` the output-channel axis)
//! — or as float16. How the model then computes is the [`WeightMode`].

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
}

impl FromStr for WeightMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "float" => Ok(WeightMode::Float),
            "fp16" => Ok(WeightMode::Fp16),
            "int8-weights" => Ok(WeightMode::Int8Weights),
            "int8-dynamic" => Ok(WeightMode::Int8Dynamic),
            _ => Err(format!(
                "unknown quantization mode '{s}' (float, fp16, int8-weights, int8-dynamic)"
            )),
        }
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

/// Symmetric int8 scales, one per channel: `max |w| / 127` (1 for an all-zero channel, whose values are
/// all 0 whatever the scale; TFLite wants scales > 0).
pub fn int8_scales(w: impl IntoIterator<Item = f32>, view: ChannelView) -> Vec<f32> {
    let mut max = vec![0f32; view.channels];
    for (i, v) in w.into_iter().enumerate() {
        let c = view.channel(i);
        max[c] = max[c].max(v.abs());
    }
    max.into_iter()
        .map(|m| if m > 0.0 { m / 127.0 } else { 1.0 })
        .collect()
}

/// The values of little-endian f32 bytes, decoded as they are read (weights are never copied whole).
pub fn f32_values(bytes: &[u8]) -> impl Iterator<Item = f32> + '_ {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// `round(w / scale[c])` clamped to [-127, 127], as bytes.
pub fn quantize_int8(
    w: impl IntoIterator<Item = f32>,
    view: ChannelView,
    scales: &[f32],
) -> Vec<u8> {
    w.into_iter()
        .enumerate()
        .map(|(i, v)| {
            let q = (v / scales[view.channel(i)]).round().clamp(-127.0, 127.0);
            q as i8 as u8
        })
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

/// The stored bytes of little-endian f32 weights `source`, in the source's own layout.
pub fn encode(source: &[u8], view: ChannelView, to: &StoredAs) -> Vec<u8> {
    let w = f32_values(source);
    match to {
        StoredAs::Int8(scales) => quantize_int8(w, view, scales),
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
    fn modes_parse() {
        assert_eq!("int8-dynamic".parse(), Ok(WeightMode::Int8Dynamic));
        assert!("int3".parse::<WeightMode>().unwrap_err().contains("fp16"));
    }
}
