//! Data movement: reshape, transpose, slices, pads, tile, concat, splits, pack, broadcast, resize,
//! depth/space rearrangements.
//!
//! These ops never look at element values, so they work on raw little-endian bytes with an element size,
//! for every dtype at once.

use super::{check_numel, elem_size, from_bytes, ints_of, strides_of, Res};
use crate::attr::Attrs;
use crate::shape::{self, norm_axis};
use crate::tensor::Tensor;

/// Copies the elements of a strided view of `src` into a new row-major buffer of shape `shape`.
/// `offset` and `strides` are in elements; strides may be zero (broadcast) or negative (reversal).
pub(crate) fn gather_strided(
    src: &[u8],
    esize: usize,
    shape: &[usize],
    offset: isize,
    strides: &[isize],
) -> Vec<u8> {
    let n: usize = shape.iter().product();
    let mut out = Vec::with_capacity(n * esize);
    if n == 0 {
        return out;
    }
    let r = shape.len();
    if r == 0 {
        let p = offset as usize * esize;
        out.extend_from_slice(&src[p..p + esize]);
        return out;
    }
    let inner = shape[r - 1];
    let si = strides[r - 1];
    let outer: usize = shape[..r - 1].iter().product();
    let mut idx = vec![0usize; r - 1];
    let mut pos = offset;
    for _ in 0..outer {
        if si == 1 {
            let p = pos as usize * esize;
            out.extend_from_slice(&src[p..p + inner * esize]);
        } else if si == 0 {
            let p = pos as usize * esize;
            for _ in 0..inner {
                out.extend_from_slice(&src[p..p + esize]);
            }
        } else {
            let mut q = pos;
            for _ in 0..inner {
                let p = q as usize * esize;
                out.extend_from_slice(&src[p..p + esize]);
                q += si;
            }
        }
        for d in (0..r - 1).rev() {
            idx[d] += 1;
            pos += strides[d];
            if idx[d] < shape[d] {
                break;
            }
            pos -= strides[d] * shape[d] as isize;
            idx[d] = 0;
        }
    }
    out
}

/// `t` broadcast (NumPy rules, aligned right) to `to`, which must be a valid broadcast target.
pub(crate) fn broadcast_to(t: &Tensor, to: &[usize]) -> Res<Tensor> {
    if t.shape() == to {
        return Ok(t.clone());
    }
    let s = t.shape();
    if s.len() > to.len() {
        return Err(format!("cannot broadcast {s:?} to {to:?}"));
    }
    check_numel(to)?;
    let lead = to.len() - s.len();
    let st = strides_of(s);
    let mut strides = vec![0isize; to.len()];
    for (i, &d) in s.iter().enumerate() {
        if d == to[lead + i] {
            strides[lead + i] = st[i] as isize;
        } else if d != 1 {
            return Err(format!("cannot broadcast {s:?} to {to:?}"));
        }
    }
    let es = elem_size(t)?;
    from_bytes(
        t.dtype(),
        to.to_vec(),
        gather_strided(t.bytes(), es, to, 0, &strides),
    )
}

pub(crate) fn reshape(t: &Tensor, shape_t: &Tensor) -> Res<Tensor> {
    let dims = ints_of(shape_t, "shape")?;
    if shape_t.rank() > 1 {
        return Err(format!(
            "shape must be a vector, got rank {}",
            shape_t.rank()
        ));
    }
    let out = shape::reshape_dims(&[t.numel() as i64], &dims)?;
    let out: Vec<usize> = out.into_iter().map(|d| d as usize).collect();
    t.reshaped(out)
}

pub(crate) fn expand_dims(t: &Tensor, dim: &Tensor) -> Res<Tensor> {
    let d = scalar_int(dim, "dim")?;
    let axis = norm_axis(d, t.rank() + 1)?;
    let mut s = t.shape().to_vec();
    s.insert(axis, 1);
    t.reshaped(s)
}

pub(crate) fn squeeze(a: &Attrs, t: &Tensor) -> Res<Tensor> {
    let dims: Vec<i64> = t.shape().iter().map(|&d| d as i64).collect();
    let out = shape::squeeze_dims(a, &dims)?;
    t.reshaped(out.into_iter().map(|d| d as usize).collect())
}

/// The single value of a scalar (or one-element) integer operand.
pub(crate) fn scalar_int(t: &Tensor, what: &str) -> Res<i64> {
    let v = ints_of(t, what)?;
    if v.len() != 1 {
        return Err(format!(
            "{what} must be a scalar, got shape {:?}",
            t.shape()
        ));
    }
    Ok(v[0])
}

pub(crate) fn transpose(t: &Tensor, perm_t: &Tensor) -> Res<Tensor> {
    let perm = ints_of(perm_t, "perm")?;
    let perm = shape::check_perm(&perm, t.rank())?;
    permute(t, &perm)
}

/// `t` with its axes permuted: output axis `i` is input axis `perm[i]`.
pub(crate) fn permute(t: &Tensor, perm: &[usize]) -> Res<Tensor> {
    let s = t.shape();
    // Only size-1 axes move (the others keep their order): the same bytes under the new shape.
    let kept: Vec<usize> = perm.iter().copied().filter(|&p| s[p] != 1).collect();
    if kept.windows(2).all(|w| w[0] < w[1]) {
        return t.reshaped(perm.iter().map(|&p| s[p]).collect());
    }
    let st = strides_of(s);
    let out: Vec<usize> = perm.iter().map(|&p| s[p]).collect();
    let strides: Vec<isize> = perm.iter().map(|&p| st[p] as isize).collect();
    let es = elem_size(t)?;
    let bytes = gather_strided(t.bytes(), es, &out, 0, &strides);
    from_bytes(t.dtype(), out, bytes)
}

pub(crate) fn strided_slice(
    a: &Attrs,
    t: &Tensor,
    begin: &Tensor,
    end: &Tensor,
    strides: &Tensor,
) -> Res<Tensor> {
    let dims: Vec<i64> = t.shape().iter().map(|&d| d as i64).collect();
    let spec = shape::strided_slice_spec(
        &dims,
        &ints_of(begin, "begin")?,
        &ints_of(end, "end")?,
        &ints_of(strides, "strides")?,
        &shape::SliceMasks::of(a),
    )?;
    let st = strides_of(t.shape());
    let sizes: Vec<usize> = spec.dims.iter().map(|d| d.size as usize).collect();
    let final_shape: Vec<usize> = spec.final_shape.iter().map(|&d| d as usize).collect();
    let es = elem_size(t)?;
    if sizes.contains(&0) {
        return from_bytes(t.dtype(), final_shape, vec![]);
    }
    // The whole tensor (new axes and shrunk size-1 axes aside): the same bytes, no copy. Folding a
    // weight's `w[np.newaxis]` must not double the weights in memory.
    let whole = spec
        .dims
        .iter()
        .zip(t.shape())
        .all(|(d, &n)| d.begin == 0 && d.stride == 1 && d.size as usize == n);
    if whole {
        return t.reshaped(final_shape);
    }
    let mut offset = 0isize;
    let mut gs = Vec::with_capacity(sizes.len());
    for (d, s) in spec.dims.iter().zip(&st) {
        offset += d.begin as isize * *s as isize;
        gs.push(d.stride as isize * *s as isize);
    }
    let bytes = gather_strided(t.bytes(), es, &sizes, offset, &gs);
    from_bytes(t.dtype(), final_shape, bytes)
}

pub(crate) fn slice(t: &Tensor, begin: &Tensor, size: &Tensor) -> Res<Tensor> {
    let dims: Vec<i64> = t.shape().iter().map(|&d| d as i64).collect();
    let b = ints_of(begin, "begin")?;
    let out = shape::slice_dims(&dims, &b, &ints_of(size, "size")?)?;
    let out: Vec<usize> = out.into_iter().map(|d| d as usize).collect();
    let st = strides_of(t.shape());
    let offset: isize = b
        .iter()
        .zip(&st)
        .map(|(&b, &s)| b as isize * s as isize)
        .sum();
    let strides: Vec<isize> = st.iter().map(|&s| s as isize).collect();
    let es = elem_size(t)?;
    if out.contains(&0) {
        return from_bytes(t.dtype(), out, vec![]);
    }
    from_bytes(
        t.dtype(),
        out.clone(),
        gather_strided(t.bytes(), es, &out, offset, &strides),
    )
}

pub(crate) fn pad(a: &Attrs, t: &Tensor, paddings: &Tensor) -> Res<Tensor> {
    if let Some(mode) = a.str("mode") {
        if mode != "CONSTANT" {
            return Err(format!("Pad mode {mode} is not supported"));
        }
    }
    let dims: Vec<i64> = t.shape().iter().map(|&d| d as i64).collect();
    let p = ints_of(paddings, "paddings")?;
    let out = shape::pad_dims(&dims, paddings.shape(), &p)?;
    let out: Vec<usize> = out.into_iter().map(|d| d as usize).collect();
    check_numel(&out)?;
    let es = elem_size(t)?;
    let n: usize = out.iter().product();
    let mut buf = vec![0u8; n * es];
    let s = t.shape();
    let r = s.len();
    if t.numel() == 0 {
        return from_bytes(t.dtype(), out, buf);
    }
    if r == 0 {
        buf.copy_from_slice(t.bytes());
        return from_bytes(t.dtype(), out, buf);
    }
    let ost = strides_of(&out);
    let before: Vec<usize> = (0..r).map(|i| p[2 * i] as usize).collect();
    let row = s[r - 1] * es;
    let outer: usize = s[..r - 1].iter().product();
    let mut idx = vec![0usize; r - 1];
    let src = t.bytes();
    for k in 0..outer {
        let mut o = before[r - 1];
        for d in 0..r - 1 {
            o += (idx[d] + before[d]) * ost[d];
        }
        buf[o * es..o * es + row].copy_from_slice(&src[k * row..(k + 1) * row]);
        for d in (0..r - 1).rev() {
            idx[d] += 1;
            if idx[d] < s[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    from_bytes(t.dtype(), out, buf)
}

pub(crate) fn tile(t: &Tensor, multiples: &Tensor) -> Res<Tensor> {
    let m = ints_of(multiples, "multiples")?;
    let dims: Vec<i64> = t.shape().iter().map(|&d| d as i64).collect();
    let out = shape::tile_dims(&dims, &m)?;
    check_numel(&out.iter().map(|&d| d as usize).collect::<Vec<_>>())?;
    let es = elem_size(t)?;
    let mut cur: Vec<u8> = t.bytes().to_vec();
    let mut shape_now: Vec<usize> = t.shape().to_vec();
    for (axis, &mult) in m.iter().enumerate() {
        let mult = mult as usize;
        if mult == 1 {
            continue;
        }
        let outer: usize = shape_now[..axis].iter().product();
        let chunk: usize = shape_now[axis..].iter().product::<usize>() * es;
        let mut next = Vec::with_capacity(outer * chunk * mult);
        for o in 0..outer {
            let c = &cur[o * chunk..(o + 1) * chunk];
            for _ in 0..mult {
                next.extend_from_slice(c);
            }
        }
        cur = next;
        shape_now[axis] *= mult;
    }
    let out: Vec<usize> = out.into_iter().map(|d| d as usize).collect();
    from_bytes(t.dtype(), out, cur)
}

pub(crate) fn concat(values: &[Tensor], axis_t: &Tensor) -> Res<Tensor> {
    let axis = scalar_int(axis_t, "axis")?;
    let first = &values[0];
    for v in values {
        if v.dtype() != first.dtype() {
            return Err(format!(
                "concatenated values have different dtypes: {} and {}",
                first.dtype(),
                v.dtype()
            ));
        }
    }
    let shapes: Vec<Vec<i64>> = values
        .iter()
        .map(|v| v.shape().iter().map(|&d| d as i64).collect())
        .collect();
    let out = shape::concat_dims(&shapes, axis)?;
    let ax = norm_axis(axis, first.rank())?;
    let es = elem_size(first)?;
    let out: Vec<usize> = out.into_iter().map(|d| d as usize).collect();
    let outer: usize = out[..ax].iter().product();
    let n: usize = out.iter().product();
    let mut buf = Vec::with_capacity(n * es);
    let chunks: Vec<usize> = values
        .iter()
        .map(|v| v.shape()[ax..].iter().product::<usize>() * es)
        .collect();
    for o in 0..outer {
        for (v, &c) in values.iter().zip(&chunks) {
            buf.extend_from_slice(&v.bytes()[o * c..(o + 1) * c]);
        }
    }
    from_bytes(first.dtype(), out, buf)
}

/// `t` cut along `axis` into pieces of the given sizes (which sum to the axis length).
fn split_sizes(t: &Tensor, axis: usize, sizes: &[usize]) -> Res<Vec<Tensor>> {
    let es = elem_size(t)?;
    let s = t.shape();
    let outer: usize = s[..axis].iter().product();
    let inner: usize = s[axis + 1..].iter().product::<usize>() * es;
    let row = s[axis] * inner;
    let mut outs = Vec::with_capacity(sizes.len());
    let mut start = 0;
    for &k in sizes {
        let mut buf = Vec::with_capacity(outer * k * inner);
        for o in 0..outer {
            let base = o * row + start * inner;
            buf.extend_from_slice(&t.bytes()[base..base + k * inner]);
        }
        let mut shape = s.to_vec();
        shape[axis] = k;
        outs.push(from_bytes(t.dtype(), shape, buf)?);
        start += k;
    }
    Ok(outs)
}

pub(crate) fn split(a: &Attrs, axis_t: &Tensor, t: &Tensor) -> Res<Vec<Tensor>> {
    let num = a
        .int("num_split")
        .ok_or("Split needs attribute num_split")?;
    let axis = scalar_int(axis_t, "axis")?;
    let dims: Vec<i64> = t.shape().iter().map(|&d| d as i64).collect();
    let piece = shape::split_dims(&dims, axis, num)?;
    let ax = norm_axis(axis, t.rank())?;
    split_sizes(t, ax, &vec![piece[ax] as usize; num as usize])
}

pub(crate) fn pack(a: &Attrs, values: &[Tensor]) -> Res<Tensor> {
    if values.is_empty() {
        return Err("Pack needs at least one input".into());
    }
    let first = &values[0];
    let axis = norm_axis(a.int("axis").unwrap_or(0), first.rank() + 1)?;
    let mut expanded = Vec::with_capacity(values.len());
    for v in values {
        if v.shape() != first.shape() || v.dtype() != first.dtype() {
            return Err(format!(
                "packed values differ: {}{:?} and {}{:?}",
                first.dtype(),
                first.shape(),
                v.dtype(),
                v.shape()
            ));
        }
        let mut s = v.shape().to_vec();
        s.insert(axis, 1);
        expanded.push(v.reshaped(s)?);
    }
    concat(&expanded, &Tensor::scalar(axis as i64))
}

pub(crate) fn unpack(a: &Attrs, t: &Tensor) -> Res<Vec<Tensor>> {
    if t.rank() == 0 {
        return Err("cannot unpack a scalar".into());
    }
    let axis = norm_axis(a.int("axis").unwrap_or(0), t.rank())?;
    let n = t.shape()[axis];
    if let Some(num) = a.int("num") {
        if num != n as i64 {
            return Err(format!("num={num} but dimension {axis} has size {n}"));
        }
    }
    let pieces = split_sizes(t, axis, &vec![1; n])?;
    let mut s = t.shape().to_vec();
    s.remove(axis);
    pieces.into_iter().map(|p| p.reshaped(s.clone())).collect()
}

pub(crate) fn fill(dims_t: &Tensor, value: &Tensor) -> Res<Tensor> {
    let dims = ints_of(dims_t, "dims")?;
    if value.numel() != 1 || value.rank() != 0 {
        return Err(format!("value must be a scalar, got {:?}", value.shape()));
    }
    let mut out = Vec::with_capacity(dims.len());
    for d in dims {
        if d < 0 {
            return Err(format!("dims must be non-negative, got {d}"));
        }
        out.push(d as usize);
    }
    broadcast_to(value, &out)
}

pub(crate) fn broadcast_to_op(t: &Tensor, shape_t: &Tensor) -> Res<Tensor> {
    let dims = ints_of(shape_t, "shape")?;
    let td: Vec<i64> = t.shape().iter().map(|&d| d as i64).collect();
    let out = shape::broadcast_to_dims(&td, &dims)?;
    broadcast_to(t, &out.into_iter().map(|d| d as usize).collect::<Vec<_>>())
}

/// `DepthToSpace` (NHWC, DCR): `out[n, h·b + i, w·b + j, c] = in[n, h, w, (i·b + j)·C' + c]`.
pub(crate) fn depth_to_space(a: &Attrs, t: &Tensor) -> Res<Tensor> {
    let block = a.int("block_size").ok_or("DepthToSpace needs block_size")?;
    let dims: Vec<i64> = t.shape().iter().map(|&d| d as i64).collect();
    let out = shape::depth_to_space_dims(&dims, block, a.data_format())?;
    let out: Vec<usize> = out.into_iter().map(|d| d as usize).collect();
    let b = block as usize;
    let (n, ih, iw) = (t.shape()[0], t.shape()[1], t.shape()[2]);
    let es = elem_size(t)?;
    let row = out[3] * es; // one output pixel's channels
    let src = t.bytes();
    let mut buf = Vec::with_capacity(src.len());
    for bn in 0..n {
        for y in 0..ih * b {
            let (h, i) = (y / b, y % b);
            for x in 0..iw * b {
                let (w, j) = (x / b, x % b);
                let p = ((bn * ih + h) * iw + w) * b * b * row + (i * b + j) * row;
                buf.extend_from_slice(&src[p..p + row]);
            }
        }
    }
    from_bytes(t.dtype(), out, buf)
}

/// `MirrorPad`: every output element copied from its reflected source (see [`shape::MirrorMode`]).
pub(crate) fn mirror_pad(a: &Attrs, t: &Tensor, paddings: &Tensor) -> Res<Tensor> {
    let mode = shape::MirrorMode::of(a)?;
    let dims: Vec<i64> = t.shape().iter().map(|&d| d as i64).collect();
    let p = ints_of(paddings, "paddings")?;
    mode.check(&dims, &p)?;
    let out = shape::pad_dims(&dims, paddings.shape(), &p)?;
    let out: Vec<usize> = out.into_iter().map(|d| d as usize).collect();
    check_numel(&out)?;
    let maps: Vec<Vec<usize>> = (0..out.len())
        .map(|ax| {
            (0..out[ax])
                .map(|i| mode.source(i, p[2 * ax] as usize, t.shape()[ax]))
                .collect()
        })
        .collect();
    gather_indexed(t, &maps)
}

/// The elements of `t` at the index tuples `maps[0] × maps[1] × …` (one source index list per axis),
/// row-major.
fn gather_indexed(t: &Tensor, maps: &[Vec<usize>]) -> Res<Tensor> {
    let es = elem_size(t)?;
    let out: Vec<usize> = maps.iter().map(Vec::len).collect();
    let n: usize = out.iter().product();
    let mut buf = Vec::with_capacity(n * es);
    if n > 0 {
        let st = strides_of(t.shape());
        let src = t.bytes();
        let mut idx = vec![0usize; out.len()];
        for _ in 0..n {
            let p: usize = idx
                .iter()
                .zip(maps)
                .zip(&st)
                .map(|((&i, m), &s)| m[i] * s)
                .sum();
            buf.extend_from_slice(&src[p * es..(p + 1) * es]);
            for d in (0..out.len()).rev() {
                idx[d] += 1;
                if idx[d] < out[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
    }
    from_bytes(t.dtype(), out, buf)
}

/// `SplitV`: `t` cut along `axis` into pieces of `size_splits` (one of which may be -1).
pub(crate) fn split_v(
    a: &Attrs,
    t: &Tensor,
    sizes_t: &Tensor,
    axis_t: &Tensor,
) -> Res<Vec<Tensor>> {
    let num = a
        .int("num_split")
        .ok_or("SplitV needs attribute num_split")?;
    let ax = norm_axis(scalar_int(axis_t, "axis")?, t.rank())?;
    let sizes = shape::split_v_sizes(t.shape()[ax] as i64, &ints_of(sizes_t, "size_splits")?, num)?;
    let sizes: Vec<usize> = sizes.into_iter().map(|k| k as usize).collect();
    split_sizes(t, ax, &sizes)
}

/// `SpaceToDepth` (NHWC): `out[n, h, w, (i·b + j)·C + c] = in[n, h·b + i, w·b + j, c]`, the inverse of
/// [`depth_to_space`].
pub(crate) fn space_to_depth(a: &Attrs, t: &Tensor) -> Res<Tensor> {
    let block = a.int("block_size").ok_or("SpaceToDepth needs block_size")?;
    let dims: Vec<i64> = t.shape().iter().map(|&d| d as i64).collect();
    let out = shape::space_to_depth_dims(&dims, block, a.data_format())?;
    let out: Vec<usize> = out.into_iter().map(|d| d as usize).collect();
    let b = block as usize;
    let (n, ih, iw, c) = (t.shape()[0], t.shape()[1], t.shape()[2], t.shape()[3]);
    let es = elem_size(t)?;
    let row = c * es; // one input pixel's channels
    let src = t.bytes();
    let mut buf = Vec::with_capacity(src.len());
    for bn in 0..n {
        for h in 0..ih / b {
            for w in 0..iw / b {
                for i in 0..b {
                    for j in 0..b {
                        let p = ((bn * ih + h * b + i) * iw + w * b + j) * row;
                        buf.extend_from_slice(&src[p..p + row]);
                    }
                }
            }
        }
    }
    from_bytes(t.dtype(), out, buf)
}
