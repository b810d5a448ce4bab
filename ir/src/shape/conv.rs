//! Convolution and matmul geometry: attributes, padding and output sizes.

use super::{merge_dim, Res};
use crate::attr::Attrs;

/// `MatMul` output shape.
pub(crate) fn matmul_dims(a: &[i64], b: &[i64], ta: bool, tb: bool) -> Res<Vec<i64>> {
    if a.len() != 2 || b.len() != 2 {
        return Err(format!("MatMul operands must be 2-D, got {a:?} and {b:?}"));
    }
    let (m, k1) = if ta { (a[1], a[0]) } else { (a[0], a[1]) };
    let (k2, n) = if tb { (b[1], b[0]) } else { (b[0], b[1]) };
    merge_dim(k1, k2)
        .map_err(|_| format!("inner dimensions differ: {k1} and {k2} (shapes {a:?} and {b:?})"))?;
    Ok(vec![m, n])
}

/// The padding of a convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvPadding {
    Same,
    Valid,
    /// top, bottom, left, right
    Explicit([i64; 4]),
}

/// The attributes of a 2-D convolution (`Conv2D`, `DepthwiseConv2dNative`, `Conv2DBackpropInput`), with
/// the spatial entries taken out of the data format: parsed and checked once, here, for shape
/// inference, the interpreter, the e-graph rules and the backend alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvAttrs {
    /// `data_format` is NCHW (else NHWC).
    pub nchw: bool,
    /// Strides along height and width.
    pub sh: usize,
    pub sw: usize,
    /// Dilations along height and width.
    pub dh: usize,
    pub dw: usize,
    pub padding: ConvPadding,
}

impl ConvAttrs {
    /// The attributes of a convolution node; an error names the bad attribute.
    pub fn parse(a: &Attrs) -> Result<ConvAttrs, String> {
        conv_attrs(a)
    }
}

pub(crate) fn conv_attrs(a: &Attrs) -> Res<ConvAttrs> {
    let nchw = match a.data_format() {
        "NHWC" => false,
        "NCHW" => true,
        f => return Err(format!("unsupported data_format {f}")),
    };
    let (hi, wi, ci) = if nchw { (2, 3, 1) } else { (1, 2, 3) };
    let four = |name: &str| -> Res<[usize; 2]> {
        let v = match a.ints(name) {
            Some(v) => v,
            None => return Ok([1, 1]),
        };
        if v.len() != 4 {
            return Err(format!("{name} must have 4 entries, got {v:?}"));
        }
        if v[0] != 1 || v[ci] != 1 {
            return Err(format!("{name} {v:?}: batch and channel entries must be 1"));
        }
        if v[hi] < 1 || v[wi] < 1 {
            return Err(format!("{name} {v:?} must be positive"));
        }
        Ok([v[hi] as usize, v[wi] as usize])
    };
    let [sh, sw] = four("strides")?;
    let [dh, dw] = four("dilations")?;
    let padding = match a.str("padding") {
        Some("SAME") => ConvPadding::Same,
        Some("VALID") => ConvPadding::Valid,
        Some("EXPLICIT") => {
            let p = a
                .ints("explicit_paddings")
                .ok_or("EXPLICIT padding needs explicit_paddings")?;
            if p.len() != 8 || p.iter().any(|&x| x < 0) {
                return Err(format!(
                    "explicit_paddings must be 8 non-negative values, got {p:?}"
                ));
            }
            ConvPadding::Explicit([p[2 * hi], p[2 * hi + 1], p[2 * wi], p[2 * wi + 1]])
        }
        Some(p) => return Err(format!("unknown padding {p}")),
        None => return Err("convolution needs attribute padding".into()),
    };
    Ok(ConvAttrs {
        nchw,
        sh,
        sw,
        dh,
        dw,
        padding,
    })
}

/// Output size and leading padding of one spatial dimension: input `x`, kernel `k`, stride `s`,
/// dilation `d`, explicit padding `(before, after)` when `EXPLICIT`. -1 when unknown.
fn conv_dim(
    x: i64,
    k: i64,
    s: usize,
    d: usize,
    pad: ConvPadding,
    explicit: (i64, i64),
) -> Res<(i64, i64)> {
    let s = s as i64;
    if x < 0 || k < 0 {
        return Ok((
            match pad {
                ConvPadding::Same if x >= 0 => (x + s - 1) / s,
                _ => -1,
            },
            -1,
        ));
    }
    let dk = (k - 1) * d as i64 + 1;
    match pad {
        ConvPadding::Valid => {
            if x < dk {
                return Err(format!(
                    "input size {x} is smaller than the dilated kernel {dk} (VALID)"
                ));
            }
            Ok(((x - dk) / s + 1, 0))
        }
        ConvPadding::Same => {
            let out = (x + s - 1) / s;
            let total = ((out - 1) * s + dk - x).max(0);
            Ok((out, total / 2))
        }
        ConvPadding::Explicit(_) => {
            let (b, a) = explicit;
            if x + b + a < dk {
                return Err(format!(
                    "padded input size {} is smaller than the dilated kernel {dk}",
                    x + b + a
                ));
            }
            Ok(((x + b + a - dk) / s + 1, b))
        }
    }
}

fn explicit_hw(p: ConvPadding) -> ((i64, i64), (i64, i64)) {
    match p {
        ConvPadding::Explicit([t, b, l, r]) => ((t, b), (l, r)),
        _ => ((0, 0), (0, 0)),
    }
}

/// Leading (top, left) padding of a convolution with known sizes.
pub(crate) fn conv_pads_before(
    ca: &ConvAttrs,
    h: i64,
    w: i64,
    kh: i64,
    kw: i64,
) -> Res<(i64, i64)> {
    let (eh, ew) = explicit_hw(ca.padding);
    let (_, pt) = conv_dim(h, kh, ca.sh, ca.dh, ca.padding, eh)?;
    let (_, pl) = conv_dim(w, kw, ca.sw, ca.dw, ca.padding, ew)?;
    Ok((pt, pl))
}

/// The `ksize` of `MaxPool`/`AvgPool` as `[kh, kw]`: four entries in the data format, batch and channel 1
/// (parsed once, here, for shape inference, the interpreter and the backend).
pub fn pool_window(a: &Attrs, ca: &ConvAttrs) -> Res<[usize; 2]> {
    let (hi, wi, ci) = if ca.nchw { (2, 3, 1) } else { (1, 2, 3) };
    let k = a.ints("ksize").ok_or("pooling needs attribute ksize")?;
    if k.len() != 4 || k[0] != 1 || k[ci] != 1 || k[hi] < 1 || k[wi] < 1 {
        return Err(format!(
            "ksize {k:?}: 4 entries, batch and channel 1, spatial ones positive"
        ));
    }
    Ok([k[hi] as usize, k[wi] as usize])
}

/// The output shape (in the data format) of a pooling op with window `[kh, kw]` over `x`.
pub(crate) fn pool_dims(ca: &ConvAttrs, x: &[i64], [kh, kw]: [usize; 2]) -> Res<Vec<i64>> {
    if x.len() != 4 {
        return Err(format!("pooling input must be 4-D, got {x:?}"));
    }
    let (n, h, w, c) = nhwc(ca, x);
    let (eh, ew) = explicit_hw(ca.padding);
    let (oh, _) = conv_dim(h, kh as i64, ca.sh, 1, ca.padding, eh)?;
    let (ow, _) = conv_dim(w, kw as i64, ca.sw, 1, ca.padding, ew)?;
    Ok(in_format(ca, n, oh, ow, c))
}

/// (n, h, w, c) of a 4-D shape in the data format.
fn nhwc(ca: &ConvAttrs, s: &[i64]) -> (i64, i64, i64, i64) {
    if ca.nchw {
        (s[0], s[2], s[3], s[1])
    } else {
        (s[0], s[1], s[2], s[3])
    }
}

fn in_format(ca: &ConvAttrs, n: i64, h: i64, w: i64, c: i64) -> Vec<i64> {
    if ca.nchw {
        vec![n, c, h, w]
    } else {
        vec![n, h, w, c]
    }
}

/// Output shape (in the data format) of `Conv2D` or `DepthwiseConv2dNative`.
pub(crate) fn conv2d_dims(ca: &ConvAttrs, x: &[i64], f: &[i64], depthwise: bool) -> Res<Vec<i64>> {
    if x.len() != 4 || f.len() != 4 {
        return Err(format!(
            "convolution input and filter must be 4-D, got {x:?} and {f:?}"
        ));
    }
    let (n, h, w, c) = nhwc(ca, x);
    let (kh, kw, fc, fo) = (f[0], f[1], f[2], f[3]);
    let oc = if depthwise {
        merge_dim(c, fc)
            .map_err(|_| format!("input depth {c} does not match the depthwise filter's {fc}"))?;
        let cc = if c >= 0 { c } else { fc };
        if cc >= 0 && fo >= 0 {
            cc * fo
        } else {
            -1
        }
    } else {
        if c >= 0 && fc >= 0 {
            if fc == 0 || c % fc != 0 {
                return Err(format!(
                    "input depth {c} is not a multiple of the filter's input depth {fc}"
                ));
            }
            let groups = c / fc;
            if fo >= 0 && fo % groups != 0 {
                return Err(format!(
                    "filter output depth {fo} is not a multiple of the group count {groups}"
                ));
            }
        }
        fo
    };
    let (eh, ew) = explicit_hw(ca.padding);
    let (oh, _) = conv_dim(h, kh, ca.sh, ca.dh, ca.padding, eh)?;
    let (ow, _) = conv_dim(w, kw, ca.sw, ca.dw, ca.padding, ew)?;
    Ok(in_format(ca, n, oh, ow, oc))
}

/// The input shape (in the data format) of `Conv2DBackpropInput`: from `input_sizes` when known (4
/// values in the data format, or 2 spatial values), checked against the filter and `out_backprop`.
pub(crate) fn conv2d_backprop_input_dims(
    ca: &ConvAttrs,
    sizes: Option<&[i64]>,
    f: &[i64],
    dy: &[i64],
) -> Res<Vec<i64>> {
    if f.len() != 4 || dy.len() != 4 {
        return Err(format!(
            "filter and out_backprop must be 4-D, got {f:?} and {dy:?}"
        ));
    }
    let (dn, dh, dw, dc) = nhwc(ca, dy);
    let (kh, kw, fc, fo) = (f[0], f[1], f[2], f[3]);
    merge_dim(dc, fo).map_err(|_| {
        format!("out_backprop depth {dc} does not match the filter's output depth {fo}")
    })?;
    let (n, h, w, c) = match sizes {
        Some(s) if s.len() == 4 => {
            let (n, h, w, c) = nhwc(ca, s);
            if s.iter().any(|&d| d < 0) {
                return Err(format!("input_sizes must be non-negative, got {s:?}"));
            }
            (n, h, w, c)
        }
        Some(s) if s.len() == 2 => {
            if s.iter().any(|&d| d < 0) {
                return Err(format!("input_sizes must be non-negative, got {s:?}"));
            }
            (dn, s[0], s[1], fc)
        }
        Some(s) => {
            return Err(format!(
                "input_sizes must have 4 (or 2 spatial) values, got {s:?}"
            ))
        }
        // The depth too: a grouped filter has fewer input channels than the input.
        None => (dn, -1, -1, -1),
    };
    let n = merge_dim(n, dn)
        .map_err(|_| format!("input batch {n} does not match out_backprop's {dn}"))?;
    // Grouped (as TF allows): the input depth a multiple of the filter's, the groups splitting the
    // filter's output depth evenly.
    let c = if c >= 0 && fc > 0 && c != fc {
        if c % fc != 0 || (fo >= 0 && fo % (c / fc) != 0) {
            return Err(format!(
                "input depth {c} is not a multiple of the filter's input depth {fc} that splits its output depth {fo} into groups"
            ));
        }
        c
    } else if c < 0 {
        -1
    } else {
        merge_dim(c, fc)
            .map_err(|_| format!("input depth {c} does not match the filter's input depth {fc}"))?
    };
    let (eh, ew) = explicit_hw(ca.padding);
    let (oh, _) = conv_dim(h, kh, ca.sh, ca.dh, ca.padding, eh)?;
    let (ow, _) = conv_dim(w, kw, ca.sw, ca.dw, ca.padding, ew)?;
    if (oh >= 0 && dh >= 0 && oh != dh) || (ow >= 0 && dw >= 0 && ow != dw) {
        return Err(format!(
            "out_backprop spatial size {dh}x{dw} does not match the forward output {oh}x{ow} of input {h}x{w}"
        ));
    }
    Ok(in_format(ca, n, h, w, c))
}
