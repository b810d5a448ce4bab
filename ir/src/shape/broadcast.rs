//! Broadcasting: NumPy-style shapes of elementwise ops, `BroadcastTo`, `BiasAdd` and `Select`.

use super::{merge_dim, merge_shape, nonneg_dims, Res};
use crate::attr::Attrs;

/// NumPy broadcasting of two shapes, aligned right.
pub(crate) fn broadcast_dims(a: &[i64], b: &[i64]) -> Res<Vec<i64>> {
    let r = a.len().max(b.len());
    let mut out = vec![0; r];
    for i in 0..r {
        let x = if i < r - a.len() {
            1
        } else {
            a[i - (r - a.len())]
        };
        let y = if i < r - b.len() {
            1
        } else {
            b[i - (r - b.len())]
        };
        out[i] = match (x, y) {
            (1, y) => y,
            (x, 1) => x,
            (-1, -1) => -1,
            (-1, y) | (y, -1) => y,
            (x, y) if x == y => x,
            _ => return Err(format!("shapes {a:?} and {b:?} cannot be broadcast")),
        };
    }
    Ok(out)
}

/// The shape `target` when `dims` broadcasts to it.
pub(crate) fn broadcast_to_dims(dims: &[i64], target: &[i64]) -> Res<Vec<i64>> {
    let t = nonneg_dims(target, "shape")?;
    if dims.len() > t.len() {
        return Err(format!("cannot broadcast {dims:?} to {t:?}"));
    }
    let lead = t.len() - dims.len();
    for (i, &d) in dims.iter().enumerate() {
        if d != 1 && d != -1 && d != t[lead + i] {
            return Err(format!("cannot broadcast {dims:?} to {t:?}"));
        }
    }
    Ok(t)
}

/// Checks `BiasAdd` operands and gives the output shape (x's).
pub(crate) fn bias_add_check(a: &Attrs, x: &[i64], b: &[i64]) -> Res<Vec<i64>> {
    if b.len() != 1 {
        return Err(format!("bias must be 1-D, got {b:?}"));
    }
    if x.len() < 2 {
        return Err(format!("BiasAdd input must be at least 2-D, got {x:?}"));
    }
    let c = match a.data_format() {
        "NHWC" => x.len() - 1,
        "NCHW" => 1,
        f => return Err(format!("unknown data_format {f}")),
    };
    let mut out = x.to_vec();
    out[c] = merge_dim(x[c], b[0])
        .map_err(|_| format!("bias of size {} does not match channel dim of {x:?}", b[0]))?;
    Ok(out)
}

/// The output shape of `Select` (`v2` false: TF1 rules) and `SelectV2` (broadcasting).
pub(crate) fn select_dims(c: &[i64], x: &[i64], y: &[i64], v2: bool) -> Res<Vec<i64>> {
    if v2 {
        return broadcast_dims(&broadcast_dims(c, x)?, y);
    }
    let xy = merge_shape(Some(&x.to_vec()), Some(&y.to_vec()))?.expect("both known");
    if c.is_empty() {
        return Ok(xy);
    }
    if c.len() == 1 && xy.len() > 1 {
        merge_dim(c[0], xy[0]).map_err(|_| {
            format!(
                "rank-1 condition of size {} does not match the first dim of {xy:?}",
                c[0]
            )
        })?;
        return Ok(xy);
    }
    merge_shape(Some(&c.to_vec()), Some(&xy))
        .map_err(|_| format!("condition shape {c:?} does not match {xy:?}"))?;
    Ok(xy)
}
