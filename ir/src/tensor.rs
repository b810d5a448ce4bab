//! Constant storage.
//!
//! A [`Tensor`] is a dtype, a static shape and little-endian row-major bytes held in [`Bytes`]: cloning a
//! tensor shares its bytes, and a frontend can hand in a slice of a memory-mapped file, so that the weights
//! of a 100 MB graph are never copied on their way from the `.pb` to the backend.

use bytes::Bytes;

use crate::dtype::DType;

#[derive(Clone, PartialEq)]
pub struct Tensor {
    dtype: DType,
    shape: Vec<usize>,
    data: Bytes,
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor<{}{:?}>", self.dtype, self.shape)
    }
}

/// Element types that can be read from and written to tensor bytes.
pub trait Element: Copy + Default + 'static {
    const DTYPE: DType;
    /// Every bit pattern of `size_of::<Self>()` bytes is a value and the in-memory layout is the
    /// little-endian encoding (on little-endian targets): slices convert with one copy.
    const PLAIN: bool;
    fn read_le(b: &[u8]) -> Self;
    fn write_le(self, out: &mut Vec<u8>);
}

macro_rules! element {
    ($t:ty, $d:expr) => {
        impl Element for $t {
            const DTYPE: DType = $d;
            const PLAIN: bool = cfg!(target_endian = "little");
            fn read_le(b: &[u8]) -> Self {
                <$t>::from_le_bytes(b.try_into().expect("element size"))
            }
            fn write_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    };
}
element!(f32, DType::F32);
element!(f64, DType::F64);
element!(i8, DType::I8);
element!(i16, DType::I16);
element!(i32, DType::I32);
element!(i64, DType::I64);
element!(u8, DType::U8);

impl Element for bool {
    const DTYPE: DType = DType::Bool;
    // Only 0 and 1 are bools.
    const PLAIN: bool = false;
    fn read_le(b: &[u8]) -> Self {
        b[0] != 0
    }
    fn write_le(self, out: &mut Vec<u8>) {
        out.push(self as u8);
    }
}

impl Tensor {
    /// A tensor over existing bytes. Fails when the byte count does not match dtype and shape.
    pub fn new(dtype: DType, shape: Vec<usize>, data: Bytes) -> Result<Self, String> {
        let numel: usize = shape.iter().product();
        if let Some(size) = dtype.size() {
            if data.len() != numel * size {
                return Err(format!(
                    "{dtype}{shape:?} needs {} bytes, got {}",
                    numel * size,
                    data.len()
                ));
            }
        }
        Ok(Tensor { dtype, shape, data })
    }

    /// A tensor from typed values (copies them once into little-endian bytes).
    pub fn from_vec<T: Element>(shape: Vec<usize>, values: Vec<T>) -> Self {
        assert_eq!(
            shape.iter().product::<usize>(),
            values.len(),
            "shape {shape:?} does not match {} values",
            values.len()
        );
        let data = if T::PLAIN {
            // SAFETY: a PLAIN element's memory is its little-endian encoding; the slice covers exactly
            // the vector's initialised elements.
            let raw = unsafe {
                std::slice::from_raw_parts(
                    values.as_ptr() as *const u8,
                    std::mem::size_of_val(values.as_slice()),
                )
            };
            Bytes::copy_from_slice(raw)
        } else {
            let mut out = Vec::with_capacity(values.len() * T::DTYPE.size().unwrap_or(1));
            for v in values {
                v.write_le(&mut out);
            }
            Bytes::from(out)
        };
        Tensor {
            dtype: T::DTYPE,
            shape,
            data,
        }
    }

    pub fn scalar<T: Element>(v: T) -> Self {
        Self::from_vec(vec![], vec![v])
    }

    /// `count` copies of one value.
    pub fn filled<T: Element>(shape: Vec<usize>, v: T) -> Self {
        let n = shape.iter().product();
        Self::from_vec(shape, vec![v; n])
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The raw little-endian bytes (shared, not copied).
    pub fn bytes(&self) -> &Bytes {
        &self.data
    }

    /// The same bytes under another shape with the same element count.
    pub fn reshaped(&self, shape: Vec<usize>) -> Result<Self, String> {
        if shape.iter().product::<usize>() != self.numel() {
            return Err(format!("cannot reshape {:?} to {:?}", self.shape, shape));
        }
        Ok(Tensor {
            dtype: self.dtype,
            shape,
            data: self.data.clone(),
        })
    }

    /// The values as `T`; fails when `T` is not the tensor's dtype.
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>, String> {
        if T::DTYPE != self.dtype {
            return Err(format!(
                "expected a {} tensor, got {}",
                T::DTYPE,
                self.dtype
            ));
        }
        let size = T::DTYPE.size().unwrap_or(1);
        if T::PLAIN && size == std::mem::size_of::<T>() {
            let n = self.data.len() / size;
            let mut v: Vec<T> = Vec::with_capacity(n);
            // SAFETY: `v` has room for `n` elements; any bytes are a valid PLAIN element, and exactly
            // `n * size` bytes are copied before the length is set.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    self.data.as_ptr(),
                    v.as_mut_ptr() as *mut u8,
                    n * size,
                );
                v.set_len(n);
            }
            return Ok(v);
        }
        Ok(self.data.chunks_exact(size).map(T::read_le).collect())
    }

    /// Integer values widened to i64 (for shape, axis and index tensors of any integer dtype).
    pub fn to_i64s(&self) -> Result<Vec<i64>, String> {
        match self.dtype {
            DType::I32 => Ok(self.to_vec::<i32>()?.into_iter().map(i64::from).collect()),
            DType::I64 => self.to_vec::<i64>(),
            DType::I16 => Ok(self.to_vec::<i16>()?.into_iter().map(i64::from).collect()),
            DType::I8 => Ok(self.to_vec::<i8>()?.into_iter().map(i64::from).collect()),
            DType::U8 => Ok(self.to_vec::<u8>()?.into_iter().map(i64::from).collect()),
            d => Err(format!("expected an integer tensor, got {d}")),
        }
    }

    /// Numeric values converted to f64 (for comparing and printing; not a hot path).
    pub fn to_f64s(&self) -> Result<Vec<f64>, String> {
        match self.dtype {
            DType::F32 => Ok(self.to_vec::<f32>()?.into_iter().map(f64::from).collect()),
            DType::F64 => self.to_vec::<f64>(),
            DType::Bool => Ok(self
                .to_vec::<bool>()?
                .into_iter()
                .map(|b| b as u8 as f64)
                .collect()),
            d if d.is_int() => Ok(self.to_i64s()?.into_iter().map(|v| v as f64).collect()),
            d => Err(format!("no numeric view of a {d} tensor")),
        }
    }

    /// The single value of a one-element tensor, as f64.
    pub fn scalar_f64(&self) -> Option<f64> {
        if self.numel() != 1 {
            return None;
        }
        self.to_f64s().ok().map(|v| v[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_values_and_shares_bytes() {
        let t = Tensor::from_vec(vec![2, 2], vec![1.0f32, -2.0, 3.5, 0.0]);
        assert_eq!(t.to_vec::<f32>().unwrap(), vec![1.0, -2.0, 3.5, 0.0]);
        let r = t.reshaped(vec![4]).unwrap();
        assert_eq!(r.bytes().as_ptr(), t.bytes().as_ptr());
        assert!(t.to_vec::<i32>().is_err());
        assert!(t.reshaped(vec![3]).is_err());
    }

    #[test]
    fn checks_byte_count() {
        assert!(Tensor::new(DType::F32, vec![2], Bytes::from_static(&[0; 7])).is_err());
        assert!(Tensor::new(DType::I32, vec![2], Bytes::from_static(&[0; 8])).is_ok());
    }
}
