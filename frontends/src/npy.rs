//! NumPy `.npy` arrays (format 1.0–3.0, little-endian, C order) as IR tensors: the inputs a user gives
//! `sgc verify` (and the fixtures' TensorFlow outputs in the tests).

use bytes::Bytes;
use sgc_ir::{DType, Tensor};

/// Parses a whole `.npy` file. Errors say what is wrong (and at which byte for a short file).
pub fn parse(data: &[u8]) -> Result<Tensor, String> {
    if data.len() < 10 || &data[..6] != b"\x93NUMPY" {
        return Err("not an .npy file (no \\x93NUMPY magic)".into());
    }
    let (header_len, start) = match data[6] {
        1 => (u16::from_le_bytes([data[8], data[9]]) as usize, 10usize),
        2 | 3 if data.len() >= 12 => (
            u32::from_le_bytes([data[8], data[9], data[10], data[11]]) as usize,
            12,
        ),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let body = start
        .checked_add(header_len)
        .filter(|&end| end <= data.len())
        .ok_or_else(|| {
            format!(
                "truncated: the header needs {header_len} bytes from offset {start}, the file has {}",
                data.len()
            )
        })?;
    let header = std::str::from_utf8(&data[start..body]).map_err(|e| format!("header: {e}"))?;
    let field = |key: &str| -> Result<&str, String> {
        let at = header
            .find(&format!("'{key}'"))
            .ok_or(format!("the header has no '{key}'"))?;
        Ok(header[at + key.len() + 2..].trim_start_matches([':', ' ']))
    };
    if field("fortran_order")?.starts_with("True") {
        return Err("Fortran-order arrays are not supported (save with C order)".into());
    }
    let descr = field("descr")?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|d| d.split_once('\''))
        .ok_or("bad 'descr' in the header")?
        .0;
    let dtype = match descr {
        "<f4" => DType::F32,
        "<f8" => DType::F64,
        "<i4" => DType::I32,
        "<i8" => DType::I64,
        "|u1" => DType::U8,
        "|i1" => DType::I8,
        "|b1" => DType::Bool,
        d => {
            return Err(format!(
                "unsupported dtype '{d}' (f4, f8, i4, i8, u1, i1, b1 are)"
            ))
        }
    };
    let shape = field("shape")?;
    let shape = shape
        .strip_prefix('(')
        .and_then(|s| s.split_once(')'))
        .ok_or("bad 'shape' in the header")?
        .0;
    let shape: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| format!("bad dimension '{s}'")))
        .collect::<Result<_, _>>()?;
    let want = shape
        .iter()
        .try_fold(dtype.size().unwrap_or(1), |a, &d| a.checked_mul(d))
        .ok_or("the shape overflows")?;
    let have = data.len() - body;
    if have != want {
        return Err(format!(
            "the data is {have} bytes from offset {body}; shape {shape:?} of {dtype} needs {want}"
        ));
    }
    Tensor::new(dtype, shape, Bytes::copy_from_slice(&data[body..]))
}

/// A version 1.0 `.npy` file of `data` under a header with this `descr` (`<f4`, `|u1` …) and shape text
/// (`(1, 2)`); [`encode`] for tensors.
pub fn encode_raw(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // The header ends in a newline, padded so that the data starts 64-byte aligned.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

/// A tensor as a `.npy` file (f32, f64, i32, i64, u8, i8, bool).
pub fn encode(t: &Tensor) -> Result<Vec<u8>, String> {
    let descr = match t.dtype() {
        DType::F32 => "<f4",
        DType::F64 => "<f8",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::U8 => "|u1",
        DType::I8 => "|i1",
        DType::Bool => "|b1",
        d => return Err(format!("{d} tensors have no .npy encoding here")),
    };
    let dims: Vec<String> = t.shape().iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    Ok(encode_raw(descr, &shape, t.bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    use encode_raw as npy;

    #[test]
    fn encode_then_parse_is_the_identity() {
        let t = Tensor::from_vec(vec![2, 3], vec![1i32, 2, 3, 4, 5, 6]);
        assert_eq!(parse(&encode(&t).unwrap()).unwrap(), t);
        let v = Tensor::from_vec(vec![4], vec![0.5f32; 4]);
        assert_eq!(parse(&encode(&v).unwrap()).unwrap(), v);
    }

    #[test]
    fn reads_shape_dtype_and_values() {
        let data: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let t = parse(&npy("<f4", "(1, 2)", &data)).unwrap();
        assert_eq!(t.shape(), &[1, 2]);
        assert_eq!(t.to_vec::<f32>().unwrap(), vec![1.5, -2.0]);
        let s = parse(&npy("<f4", "()", &2.0f32.to_le_bytes())).unwrap();
        assert_eq!(s.shape(), &[] as &[usize]);
    }

    #[test]
    fn bad_files_are_errors_not_panics() {
        let good = npy("<f4", "(2,)", &[0; 8]);
        for (bytes, says) in [
            (b"PK\x03\x04".to_vec(), "not an .npy"),
            (good[..good.len() - 1].to_vec(), "needs 8"),
            (good[..20].to_vec(), "truncated"),
            (npy("<c8", "(2,)", &[0; 16]), "unsupported dtype"),
            (npy("<f4", "(2, x)", &[0; 8]), "bad dimension"),
        ] {
            let e = parse(&bytes).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
    }
}
