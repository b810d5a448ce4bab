//! Data movement: reshapes, squeezes, permutations, reductions, pads, tiles, concats, splits, resizes and
//! `Range` lengths.

use super::{merge_dim, norm_axis, Res};
use crate::attr::Attrs;

/// The result shape of `Reshape` of a tensor of shape `x` to `target` (with at most one -1).
pub(crate) fn reshape_dims(x: &[i64], target: &[i64]) -> Res<Vec<i64>> {
    let numel: Option<i64> = x
        .iter()
        .try_fold(1i64, |p, &d| if d >= 0 { p.checked_mul(d) } else { None });
    let mut unknown = None;
    let mut prod = 1i64;
    for (i, &d) in target.iter().enumerate() {
        if d == -1 {
            if unknown.is_some() {
                return Err(format!("shape {target:?} has more than one -1"));
            }
            unknown = Some(i);
        } else if d < 0 {
            return Err(format!("shape {target:?} has a negative dimension"));
        } else {
            prod = prod
                .checked_mul(d)
                .ok_or_else(|| format!("shape {target:?} is too large"))?;
        }
    }
    let mut out = target.to_vec();
    match (unknown, numel) {
        (Some(i), Some(n)) => {
            if prod == 0 {
                if n != 0 {
                    return Err(format!(
                        "cannot reshape {x:?} (with {n} elements) to {target:?}"
                    ));
                }
                out[i] = 0;
            } else if n % prod != 0 {
                return Err(format!(
                    "cannot reshape {x:?} (with {n} elements) to {target:?}"
                ));
            } else {
                out[i] = n / prod;
            }
        }
        (None, Some(n)) if n != prod => {
            return Err(format!(
                "cannot reshape {x:?} (with {n} elements) to {target:?}"
            ))
        }
        _ => {}
    }
    Ok(out)
}

/// The squeezed dims of attribute `squeeze_dims` (or all size-1 dims); `None` when unknown dims make
/// the result's rank unknown.
pub(crate) fn squeeze_dims_opt(a: &Attrs, s: &[i64]) -> Res<Option<Vec<i64>>> {
    let list = a.ints("squeeze_dims").or(a.ints("axis")).unwrap_or(&[]);
    if list.is_empty() {
        if s.contains(&-1) {
            return Ok(None);
        }
        return Ok(Some(s.iter().copied().filter(|&d| d != 1).collect()));
    }
    let mut drop = Vec::with_capacity(list.len());
    for &d in list {
        let ax = norm_axis(d, s.len())?;
        if s[ax] != 1 && s[ax] != -1 {
            return Err(format!(
                "cannot squeeze dimension {d} of size {} in {s:?}",
                s[ax]
            ));
        }
        drop.push(ax);
    }
    Ok(Some(
        s.iter()
            .enumerate()
            .filter(|(i, _)| !drop.contains(i))
            .map(|(_, &d)| d)
            .collect(),
    ))
}

/// Squeeze of fully known dims.
pub(crate) fn squeeze_dims(a: &Attrs, s: &[i64]) -> Res<Vec<i64>> {
    squeeze_dims_opt(a, s)?.ok_or_else(|| "squeeze of unknown dims".to_string())
}

/// A permutation of `0..rank`, checked.
pub(crate) fn check_perm(p: &[i64], rank: usize) -> Res<Vec<usize>> {
    if p.len() != rank {
        return Err(format!("perm {p:?} does not match rank {rank}"));
    }
    let mut seen = vec![false; rank];
    let mut out = Vec::with_capacity(rank);
    for &i in p {
        let ax = norm_axis(i, rank).map_err(|_| format!("perm {p:?} is not a permutation"))?;
        if seen[ax] {
            return Err(format!("perm {p:?} is not a permutation"));
        }
        seen[ax] = true;
        out.push(ax);
    }
    Ok(out)
}

pub(crate) fn reduce_dims(s: &[i64], axes: &[i64], keep: bool) -> Res<Vec<i64>> {
    let mut red = vec![false; s.len()];
    for &a in axes {
        red[norm_axis(a, s.len())?] = true;
    }
    Ok(s.iter()
        .zip(&red)
        .filter_map(|(&d, &r)| match (r, keep) {
            (true, true) => Some(1),
            (true, false) => None,
            (false, _) => Some(d),
        })
        .collect())
}

/// The result shape of `Pad` with paddings of shape `pshape` and values `p` (row-major [rank, 2]).
pub(crate) fn pad_dims(s: &[i64], pshape: &[usize], p: &[i64]) -> Res<Vec<i64>> {
    if pshape != [s.len(), 2] {
        return Err(format!(
            "paddings must have shape [{}, 2], got {pshape:?}",
            s.len()
        ));
    }
    let mut out = Vec::with_capacity(s.len());
    for (i, &d) in s.iter().enumerate() {
        let (b, a) = (p[2 * i], p[2 * i + 1]);
        if b < 0 || a < 0 {
            return Err(format!("paddings must be non-negative, got {p:?}"));
        }
        out.push(if d < 0 {
            -1
        } else {
            d.checked_add(b)
                .and_then(|x| x.checked_add(a))
                .ok_or_else(|| format!("paddings {p:?} are too large"))?
        });
    }
    Ok(out)
}

/// The result shape of `Tile`.
pub(crate) fn tile_dims(s: &[i64], m: &[i64]) -> Res<Vec<i64>> {
    if m.len() != s.len() {
        return Err(format!(
            "multiples {m:?} must have one entry per dimension of {s:?}"
        ));
    }
    let mut out = Vec::with_capacity(s.len());
    for (&d, &k) in s.iter().zip(m) {
        if k < 0 {
            return Err(format!("multiples must be non-negative, got {m:?}"));
        }
        out.push(if k == 0 {
            0
        } else if d < 0 {
            -1
        } else {
            d.checked_mul(k)
                .ok_or_else(|| format!("multiples {m:?} are too large"))?
        });
    }
    Ok(out)
}

/// The result shape of `ConcatV2` of `shapes` (all of the same rank) along `axis`.
pub(crate) fn concat_dims(shapes: &[Vec<i64>], axis: i64) -> Res<Vec<i64>> {
    let first = shapes.first().ok_or("nothing to concatenate")?;
    let r = first.len();
    if r == 0 {
        return Err("cannot concatenate scalars".into());
    }
    let ax = norm_axis(axis, r)?;
    let mut out = first.clone();
    for s in &shapes[1..] {
        if s.len() != r {
            return Err(format!(
                "concatenated shapes {first:?} and {s:?} differ in rank"
            ));
        }
        for i in 0..r {
            if i == ax {
                out[i] = if out[i] < 0 || s[i] < 0 {
                    -1
                } else {
                    out[i] + s[i]
                };
            } else {
                out[i] = merge_dim(out[i], s[i]).map_err(|_| {
                    format!("concatenated shapes {first:?} and {s:?} differ in dimension {i}")
                })?;
            }
        }
    }
    Ok(out)
}

/// The shape of each piece of `Split` of `s` into `n` along `axis`.
pub(crate) fn split_dims(s: &[i64], axis: i64, n: i64) -> Res<Vec<i64>> {
    if n < 1 {
        return Err(format!("num_split must be positive, got {n}"));
    }
    let ax = norm_axis(axis, s.len())?;
    let mut out = s.to_vec();
    if s[ax] >= 0 {
        if s[ax] % n != 0 {
            return Err(format!(
                "dimension {ax} of size {} is not divisible by num_split {n}",
                s[ax]
            ));
        }
        out[ax] = s[ax] / n;
    }
    Ok(out)
}

/// The output shape of `ResizeNearestNeighbor` of NHWC `s` to `size` ([height, width]).
pub(crate) fn resize_dims(s: &[i64], size: &[i64]) -> Res<Vec<i64>> {
    if s.len() != 4 {
        return Err(format!("images must be 4-D, got {s:?}"));
    }
    if size.len() != 2 {
        return Err(format!("size must have 2 elements, got {size:?}"));
    }
    for &z in size {
        if z == 0 || z < -1 {
            return Err(format!("size must be positive, got {size:?}"));
        }
    }
    Ok(vec![s[0], size[0], size[1], s[3]])
}

/// What `DepthToSpace` and `SpaceToDepth` (`op`) both require: NHWC, a 4-D input, a block of at least
/// 2 whose square fits. Returns the square.
fn block_checks(op: &str, s: &[i64], block: i64, format: &str) -> Res<i64> {
    if format != "NHWC" {
        return Err(format!(
            "{op} with data_format {format} is not supported (NHWC only)"
        ));
    }
    if block < 2 {
        return Err(format!("block_size must be at least 2, got {block}"));
    }
    if s.len() != 4 {
        return Err(format!("input must be 4-D, got {s:?}"));
    }
    block
        .checked_mul(block)
        .ok_or_else(|| format!("block_size {block} is too large"))
}

/// The output shape of `DepthToSpace` (NHWC, TF's default "DCR" order) of `s` with `block`: each
/// pixel's channels become a `block`×`block` patch of pixels with `C / block²` channels.
pub(crate) fn depth_to_space_dims(s: &[i64], block: i64, format: &str) -> Res<Vec<i64>> {
    let square = block_checks("DepthToSpace", s, block, format)?;
    if s[3] >= 0 && s[3] % square != 0 {
        return Err(format!(
            "depth {} is not divisible by block_size² = {}",
            s[3], square
        ));
    }
    let scale = |d: i64| {
        if d < 0 {
            Ok(-1)
        } else {
            d.checked_mul(block)
                .ok_or_else(|| format!("size {d} × block_size {block} overflows"))
        }
    };
    let depth = if s[3] < 0 { -1 } else { s[3] / square };
    Ok(vec![s[0], scale(s[1])?, scale(s[2])?, depth])
}

/// The length of an integer `Range`.
pub(crate) fn range_len_int(start: i64, limit: i64, delta: i64) -> Res<usize> {
    if delta == 0 {
        return Err("Range delta must not be zero".into());
    }
    if (delta > 0 && start > limit) || (delta < 0 && start < limit) {
        return Err(format!(
            "Range from {start} to {limit} never arrives with delta {delta}"
        ));
    }
    let span = (limit as i128 - start as i128).unsigned_abs();
    let d = delta.unsigned_abs() as u128;
    usize::try_from(span.div_ceil(d)).map_err(|_| "Range is too long".to_string())
}

/// The length of a float `Range`.
pub(crate) fn range_len_float(start: f64, limit: f64, delta: f64) -> Res<usize> {
    if delta == 0.0 {
        return Err("Range delta must not be zero".into());
    }
    if (delta > 0.0 && start > limit) || (delta < 0.0 && start < limit) {
        return Err(format!(
            "Range from {start} to {limit} never arrives with delta {delta}"
        ));
    }
    let n = ((limit - start) / delta).abs().ceil();
    if !n.is_finite() || n > 1e15 {
        return Err(format!(
            "Range from {start} to {limit} by {delta} is too long"
        ));
    }
    Ok(n as usize)
}

/// The output shape of `SpaceToDepth` (NHWC) of `s` with `block`: each `block`×`block` patch of pixels
/// becomes one pixel with `C · block²` channels, the inverse of [`depth_to_space_dims`].
pub(crate) fn space_to_depth_dims(s: &[i64], block: i64, format: &str) -> Res<Vec<i64>> {
    let square = block_checks("SpaceToDepth", s, block, format)?;
    for (i, what) in [(1, "height"), (2, "width")] {
        if s[i] >= 0 && s[i] % block != 0 {
            return Err(format!(
                "{what} {} is not divisible by block_size {block}",
                s[i]
            ));
        }
    }
    let shrink = |d: i64| if d < 0 { -1 } else { d / block };
    let depth = match s[3] {
        d if d < 0 => -1,
        d => d
            .checked_mul(square)
            .ok_or_else(|| format!("depth {d} × block_size² overflows"))?,
    };
    Ok(vec![s[0], shrink(s[1]), shrink(s[2]), depth])
}

/// The piece sizes of `SplitV` of an axis of length `len` (-1 when unknown) into `sizes`, where one
/// entry may be -1 (the rest of the axis).
pub(crate) fn split_v_sizes(len: i64, sizes: &[i64], n: i64) -> Res<Vec<i64>> {
    if sizes.len() as i64 != n {
        return Err(format!(
            "num_split is {n} but size_splits has {} entries",
            sizes.len()
        ));
    }
    let open: Vec<usize> = (0..sizes.len()).filter(|&i| sizes[i] == -1).collect();
    if open.len() > 1 || sizes.iter().any(|&k| k < -1) {
        return Err(format!(
            "size_splits {sizes:?}: sizes must be non-negative, with at most one -1"
        ));
    }
    let known = sizes
        .iter()
        .filter(|&&k| k >= 0)
        .try_fold(0i64, |s, &k| s.checked_add(k))
        .ok_or_else(|| format!("size_splits {sizes:?} overflow"))?;
    let mut out = sizes.to_vec();
    match (open.first(), len >= 0) {
        (Some(&i), true) if known <= len => out[i] = len - known,
        (None, true) if known == len => {}
        (_, false) => {}
        _ => {
            return Err(format!(
                "size_splits {sizes:?} do not add up to the axis length {len}"
            ))
        }
    }
    Ok(out)
}

/// `MirrorPad`'s mode: REFLECT leaves out the edge pixel (a pad may be at most the length − 1),
/// SYMMETRIC repeats it (at most the length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MirrorMode {
    Reflect,
    Symmetric,
}

impl MirrorMode {
    pub(crate) fn of(a: &Attrs) -> Res<MirrorMode> {
        match a.str("mode") {
            Some("REFLECT") => Ok(MirrorMode::Reflect),
            Some("SYMMETRIC") => Ok(MirrorMode::Symmetric),
            Some(m) => Err(format!("MirrorPad mode {m} is not REFLECT or SYMMETRIC")),
            None => Err("MirrorPad needs attribute mode".into()),
        }
    }

    /// Checks `paddings` (`[before, after]` per axis, flattened) against the axis lengths of `s`.
    pub(crate) fn check(self, s: &[i64], p: &[i64]) -> Res<()> {
        let slack = match self {
            MirrorMode::Reflect => 1,
            MirrorMode::Symmetric => 0,
        };
        for (ax, &d) in s.iter().enumerate() {
            for &q in p.get(2 * ax..2 * ax + 2).unwrap_or(&[]) {
                if d >= 0 && q > d - slack {
                    return Err(format!(
                        "{self:?} padding {q} of axis {ax} is more than its length {d} allows"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The source index along an axis of length `len` of output index `i` with `before` padding.
    pub(crate) fn source(self, i: usize, before: usize, len: usize) -> usize {
        let j = i as i64 - before as i64;
        let l = len as i64;
        let k = match self {
            MirrorMode::Reflect if j < 0 => -j,
            MirrorMode::Symmetric if j < 0 => -j - 1,
            MirrorMode::Reflect if j >= l => 2 * (l - 1) - j,
            MirrorMode::Symmetric if j >= l => 2 * l - 1 - j,
            _ => j,
        };
        k as usize
    }
}
