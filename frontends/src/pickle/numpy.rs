//! numpy arrays and scalars as pickles hold them, read into [`Tensor`]s over the pickle's own bytes:
//!
//! - array: `_reconstruct(ndarray, (0,), b'b')`, then BUILD with `(1, shape, dtype, is_fortran, raw)`;
//! - scalar: `scalar(dtype, raw)`;
//! - dtype: `dtype('f4', False, True)`, then BUILD with `(3, byte_order, …)`.
//!
//! Only little-endian (or byte-order-free) numeric dtypes sgc has, in C order.

use sgc_ir::{DType, Tensor};

use super::{Id, Node, Pickle};

/// Whether `class` is numpy's `module.name` in any numpy version (`numpy.core` before 2.0,
/// `numpy._core` after).
fn is_numpy(module: &str, name: &str, want: &str) -> bool {
    name == want && matches!(module, "numpy.core.multiarray" | "numpy._core.multiarray")
}

/// The tensor that node `id` holds, if it is a numpy array or scalar; `Ok(None)` for any other node.
pub fn tensor(p: &Pickle, id: Id) -> Result<Option<Tensor>, String> {
    let Node::Object { class, args, state } = p.node(id) else {
        return Ok(None);
    };
    let args = p.items(*args).unwrap_or_default();
    if is_numpy(&class.module, &class.name, "scalar") {
        let [dtype, raw] = args[..] else {
            return Err("numpy scalar: expected (dtype, bytes)".into());
        };
        let dtype = self::dtype(p, dtype)?;
        let Node::Bytes(raw) = p.node(raw) else {
            return Err("numpy scalar: its value is not bytes".into());
        };
        return Tensor::new(dtype, vec![], raw.clone()).map(Some);
    }
    if !is_numpy(&class.module, &class.name, "_reconstruct") {
        return Ok(None);
    }
    let ndarray = args.first().map(|&a| p.node(a));
    if !matches!(ndarray, Some(Node::Global(g)) if g.module == "numpy" && g.name == "ndarray") {
        return Err("numpy _reconstruct of something other than numpy.ndarray".into());
    }
    let state = state
        .and_then(|s| p.items(s))
        .ok_or("numpy array without its state (BUILD)")?;
    let [_version, shape, dtype, fortran, raw] = state[..] else {
        return Err(format!(
            "numpy array state of {} items, expected 5",
            state.len()
        ));
    };
    let shape: Vec<usize> = p
        .items(shape)
        .ok_or("numpy array shape is not a tuple")?
        .iter()
        .map(|&d| match p.node(d) {
            Node::Int(v) => usize::try_from(*v).map_err(|_| format!("numpy array dimension {v}")),
            _ => Err("numpy array dimension is not an int".into()),
        })
        .collect::<Result<_, String>>()?;
    let dtype = self::dtype(p, dtype)?;
    if matches!(p.node(fortran), Node::Bool(true)) && shape.iter().filter(|&&d| d > 1).count() > 1 {
        return Err("numpy array in Fortran order".into());
    }
    let Node::Bytes(raw) = p.node(raw) else {
        return Err("numpy array data is not bytes (an object array?)".into());
    };
    let numel = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or("numpy array shape overflows")?;
    let want = numel.checked_mul(dtype.size().unwrap_or(0));
    if want != Some(raw.len()) {
        return Err(format!(
            "numpy array of shape {shape:?} {dtype} has {} data bytes, expected {}",
            raw.len(),
            want.map_or("more than fits".into(), |w| w.to_string())
        ));
    }
    Tensor::new(dtype, shape, raw.clone()).map(Some)
}

/// The sgc dtype of a numpy `dtype(...)` object: its type string, little-endian or byte-order free.
fn dtype(p: &Pickle, id: Id) -> Result<DType, String> {
    let Node::Object { class, args, state } = p.node(id) else {
        return Err("numpy dtype is not a dtype object".into());
    };
    let args = p.items(*args).unwrap_or_default();
    if class.module != "numpy" || class.name != "dtype" {
        return Err(format!("numpy dtype made by {class}"));
    }
    let code = args
        .first()
        .and_then(|&a| p.str(a))
        .ok_or("numpy dtype without a type string")?;
    let order = state
        .and_then(|s| p.items(s))
        .and_then(|s| s.get(1).copied())
        .and_then(|o| p.str(o))
        .unwrap_or("|");
    let dtype = match code {
        "f4" => DType::F32,
        "f2" => DType::F16,
        "f8" => DType::F64,
        "i1" => DType::I8,
        "i2" => DType::I16,
        "i4" => DType::I32,
        "i8" => DType::I64,
        "u1" => DType::U8,
        "b1" => DType::Bool,
        other => return Err(format!("numpy dtype '{other}' is not supported")),
    };
    match order {
        "<" | "|" => Ok(dtype),
        _ if dtype.size() == Some(1) => Ok(dtype),
        other => Err(format!(
            "numpy dtype '{code}' with byte order '{other}' (only little-endian is read)"
        )),
    }
}
