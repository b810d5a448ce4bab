//! `StridedSlice` and `Slice`: TensorFlow's sparse slice spec resolved against a shape.

use super::Res;
use crate::attr::Attrs;

/// The masks of a `StridedSlice`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SliceMasks {
    pub begin: i64,
    pub end: i64,
    pub ellipsis: i64,
    pub new_axis: i64,
    pub shrink: i64,
}

impl SliceMasks {
    pub(crate) fn of(a: &Attrs) -> Self {
        let m = |n| a.int(n).unwrap_or(0);
        SliceMasks {
            begin: m("begin_mask"),
            end: m("end_mask"),
            ellipsis: m("ellipsis_mask"),
            new_axis: m("new_axis_mask"),
            shrink: m("shrink_axis_mask"),
        }
    }
}

/// How one input dimension is sliced: start, step and element count (-1 when unknown).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SliceDim {
    pub begin: i64,
    pub stride: i64,
    pub size: i64,
}

/// A `StridedSlice` resolved against an input shape.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StridedSpec {
    /// One entry per input dimension.
    pub dims: Vec<SliceDim>,
    /// The output shape (new axes added, shrunk axes removed).
    pub final_shape: Vec<i64>,
}

/// Resolves `StridedSlice` exactly as TensorFlow does: the sparse spec (with its ellipsis, explicit or
/// implied at the end, and new axes) is expanded to one entry per input dimension; begin and end are
/// made non-negative and clamped (or taken from the masks) according to the sign of the stride; a
/// shrunk dimension takes exactly one element and must be in range.
pub(crate) fn strided_slice_spec(
    shape: &[i64],
    begin: &[i64],
    end: &[i64],
    strides: &[i64],
    m: &SliceMasks,
) -> Res<StridedSpec> {
    let n = begin.len();
    if end.len() != n || strides.len() != n {
        return Err(format!(
            "begin, end and strides differ in length: {n}, {}, {}",
            end.len(),
            strides.len()
        ));
    }
    if n > 63 {
        return Err(format!("too many slice indices: {n}"));
    }
    let bit = |mask: i64, i: usize| (mask as u64 >> i) & 1 == 1;
    let mut ellipsis = m.ellipsis as u64 & ((1u64 << n) - 1);
    if ellipsis & ellipsis.wrapping_sub(1) != 0 {
        return Err("only one ellipsis is allowed".into());
    }
    let mut sparse_n = n;
    if ellipsis == 0 {
        ellipsis = 1 << n;
        sparse_n = n + 1;
    }
    let ell_pos = ellipsis.trailing_zeros() as usize;
    let new_after = (ell_pos + 1..n).filter(|&i| bit(m.new_axis, i)).count() as i64;
    let rank = shape.len();

    struct Dense {
        begin: i64,
        end: i64,
        stride: i64,
        bmask: bool,
        emask: bool,
        shrink: bool,
    }
    enum Fin {
        Dim(usize),
        New,
    }
    let mut dense: Vec<Dense> = Vec::with_capacity(rank);
    let mut fin: Vec<Fin> = Vec::new();
    for i in 0..sparse_n {
        if i == ell_pos {
            let next = (rank as i64 - (sparse_n - i) as i64 + 1 + new_after).min(rank as i64);
            while (dense.len() as i64) < next {
                fin.push(Fin::Dim(dense.len()));
                dense.push(Dense {
                    begin: 0,
                    end: 0,
                    stride: 1,
                    bmask: true,
                    emask: true,
                    shrink: false,
                });
            }
        } else if bit(m.new_axis, i) {
            fin.push(Fin::New);
        } else {
            if dense.len() >= rank {
                return Err(format!(
                    "slice index {i} is out of range for an input of rank {rank}"
                ));
            }
            fin.push(Fin::Dim(dense.len()));
            dense.push(Dense {
                begin: begin[i],
                end: end[i],
                stride: strides[i],
                bmask: bit(m.begin, i),
                emask: bit(m.end, i),
                shrink: bit(m.shrink, i),
            });
        }
    }
    if dense.len() < rank {
        // Only reachable with an explicit ellipsis that covered nothing; remaining dims are full.
        while dense.len() < rank {
            fin.push(Fin::Dim(dense.len()));
            dense.push(Dense {
                begin: 0,
                end: 0,
                stride: 1,
                bmask: true,
                emask: true,
                shrink: false,
            });
        }
    }

    let mut dims = Vec::with_capacity(rank);
    for (i, d) in dense.iter().enumerate() {
        let dim = shape[i];
        let s = d.stride;
        if s == 0 {
            return Err(format!("stride of dimension {i} is zero"));
        }
        if d.shrink && s <= 0 {
            return Err("only stride 1 is allowed on non-range indexing".into());
        }
        if dim < 0 {
            dims.push(SliceDim {
                begin: 0,
                stride: s,
                size: if d.shrink { 1 } else { -1 },
            });
            continue;
        }
        let (lo, hi) = if s > 0 { (0, dim) } else { (-1, dim - 1) };
        let canonical = |x: i64, masked: bool, is_end: bool| -> i64 {
            if masked {
                // begin masked: first element in stride order; end masked: one past the last.
                match (s > 0, is_end) {
                    (true, false) | (false, true) => lo,
                    (true, true) | (false, false) => hi,
                }
            } else {
                let f = if x < 0 { dim + x } else { x };
                f.clamp(lo, hi)
            }
        };
        let (b, size) = if d.shrink {
            let f = if d.begin < 0 { dim + d.begin } else { d.begin };
            if f < 0 || f >= dim {
                return Err(format!(
                    "slice index {} of dimension {i} is out of bounds (size {dim})",
                    d.begin
                ));
            }
            (f, 1)
        } else {
            let b = canonical(d.begin, d.bmask, false);
            let e = canonical(d.end, d.emask, true);
            let len = e - b;
            let size = if len == 0 || (len < 0) != (s < 0) {
                0
            } else {
                len / s + i64::from(len % s != 0)
            };
            (b, size)
        };
        dims.push(SliceDim {
            begin: b,
            stride: s,
            size,
        });
    }
    let mut final_shape = Vec::new();
    for f in fin {
        match f {
            Fin::New => final_shape.push(1),
            Fin::Dim(i) => {
                if !dense[i].shrink {
                    final_shape.push(dims[i].size);
                }
            }
        }
    }
    Ok(StridedSpec { dims, final_shape })
}

/// The result shape of `Slice` (a size of -1 means "to the end").
pub(crate) fn slice_dims(s: &[i64], begin: &[i64], size: &[i64]) -> Res<Vec<i64>> {
    if begin.len() != s.len() || size.len() != s.len() {
        return Err(format!(
            "begin {begin:?} and size {size:?} must have one entry per dimension of {s:?}"
        ));
    }
    let mut out = Vec::with_capacity(s.len());
    for i in 0..s.len() {
        let (d, b, z) = (s[i], begin[i], size[i]);
        if b < 0 || z < -1 {
            return Err(format!(
                "invalid slice begin {b} / size {z} in dimension {i}"
            ));
        }
        if d < 0 {
            out.push(if z >= 0 { z } else { -1 });
            continue;
        }
        let z = if z == -1 { d - b } else { z };
        if b > d || z < 0 || z > d - b {
            return Err(format!(
                "slice [{b}, {b}+{z}) is out of bounds for dimension {i} of size {d}"
            ));
        }
        out.push(z);
    }
    Ok(out)
}
