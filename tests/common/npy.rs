//! Reading NumPy `.npy` files (format 1.0/2.0, little-endian, C order) into IR tensors.

use std::path::Path;

use bytes::Bytes;
use sgc_ir::{DType, Tensor};

pub fn read(path: &Path) -> Tensor {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn parse(data: &[u8]) -> Result<Tensor, String> {
    if data.len() < 10 || &data[..6] != b"\x93NUMPY" {
        return Err("not an .npy file".into());
    }
    let (header_len, start) = match data[6] {
        1 => (u16::from_le_bytes([data[8], data[9]]) as usize, 10),
        2 | 3 => (
            u32::from_le_bytes([data[8], data[9], data[10], data[11]]) as usize,
            12,
        ),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let header =
        std::str::from_utf8(&data[start..start + header_len]).map_err(|e| e.to_string())?;
    let field = |key: &str| -> Result<&str, String> {
        let at = header
            .find(&format!("'{key}'"))
            .ok_or(format!("header has no {key}"))?;
        Ok(header[at + key.len() + 2..].trim_start_matches([':', ' ']))
    };
    if field("fortran_order")?.starts_with("True") {
        return Err("Fortran-order arrays are not supported".into());
    }
    let descr = field("descr")?;
    let descr = &descr[1..descr[1..].find('\'').ok_or("bad descr")? + 1];
    let dtype = match descr {
        "<f4" => DType::F32,
        "<f8" => DType::F64,
        "<i4" => DType::I32,
        "<i8" => DType::I64,
        "|u1" => DType::U8,
        "|i1" => DType::I8,
        "|b1" => DType::Bool,
        d => return Err(format!("unsupported dtype {d}")),
    };
    let shape = field("shape")?;
    let shape = &shape[1..shape.find(')').ok_or("bad shape")?];
    let shape: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| format!("bad dimension {s}")))
        .collect::<Result<_, _>>()?;
    Tensor::new(
        dtype,
        shape,
        Bytes::copy_from_slice(&data[start + header_len..]),
    )
}

/// Writes an f32 or u8 tensor as `.npy`.
pub fn write(path: &Path, t: &Tensor) {
    let descr = match t.dtype() {
        DType::F32 => "<f4",
        DType::U8 => "|u1",
        d => panic!("npy::write: {d}"),
    };
    let shape: Vec<String> = t.shape().iter().map(|d| d.to_string()).collect();
    let shape = match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!("({})", shape.join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(t.bytes().iter());
    std::fs::write(path, out).unwrap();
}
