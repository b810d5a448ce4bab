//! Tensors the lowering makes besides the graph's values: constants, int32 copies of index operands,
//! filters in TFLite's layouts (transposed while the model is written), reshaped views.

use sgc_ir::{DType, NodeIndex, Tensor, ValueRef};

use super::Lowerer;
use crate::tflite::schema::{builtin, BuiltinOptions};
use crate::tflite::{tensor_type, BackendError, TensorData, TensorPlan};

/// A constant re-laid-out for TFLite, cached per source value so each is written once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Derived {
    /// Narrowed to int32 (shape, axis, index operands).
    Int32,
    /// Transposed by a permutation (filters).
    Transposed(&'static [usize]),
    /// Same bytes under another shape (the depthwise filter, a TF1 `Select` condition).
    Reshaped(Vec<usize>),
}

/// TFLite's perm for TensorFlow's filter layouts (output axis i takes input axis perm[i]).
pub(super) const HWIO_TO_OHWI: &[usize] = &[3, 0, 1, 2];
pub(super) const HWOI_TO_OHWI: &[usize] = &[2, 0, 1, 3];
pub(super) const SWAP_2D: &[usize] = &[1, 0];

impl<'g> Lowerer<'g> {
    pub(super) fn const_tensor(
        &mut self,
        n: NodeIndex,
        name: String,
        value: &Tensor,
        data: TensorData,
    ) -> Result<i32, BackendError> {
        if tensor_type(value.dtype()).is_none() {
            return Err(self.err(n, format!("{} constants are not supported", value.dtype())));
        }
        let shape = self.shape_i32(n, value.shape())?;
        Ok(self.add_tensor(TensorPlan {
            name,
            dtype: value.dtype(),
            shape,
            data: Some(data),
            quantization: None,
        }))
    }

    pub(super) fn const_of(&self, v: ValueRef) -> Option<&'g Tensor> {
        self.g.const_value(self.resolve(v))
    }

    /// Integer values of a constant operand (axes, shapes, paddings …).
    pub(super) fn const_ints(
        &self,
        n: NodeIndex,
        v: ValueRef,
        what: &str,
    ) -> Result<Vec<i64>, BackendError> {
        let t = self
            .const_of(v)
            .ok_or_else(|| self.err(n, format!("{what} must be a constant")))?;
        t.to_i64s().map_err(|e| self.err(n, format!("{what}: {e}")))
    }

    /// An integer operand as an int32 tensor, as TFLite wants shapes, axes and indices: constants are
    /// narrowed once, int64 values computed at run time go through a CAST.
    pub(super) fn int32_operand(
        &mut self,
        n: NodeIndex,
        v: ValueRef,
        what: &str,
    ) -> Result<i32, BackendError> {
        let v = self.resolve(v);
        if let Some(c) = self.const_of(v) {
            if c.dtype() == DType::I32 {
                return self.value(v);
            }
            if let Some(&t) = self.derived.get(&(v, Derived::Int32)) {
                return Ok(t);
            }
            let vals = c
                .to_i64s()
                .map_err(|e| self.err(n, format!("{what}: {e}")))?;
            let narrowed = vals
                .iter()
                .map(|&x| i32::try_from(x))
                .collect::<Result<Vec<i32>, _>>()
                .map_err(|_| self.err(n, format!("{what} does not fit in int32")))?;
            let t32 = Tensor::from_vec(c.shape().to_vec(), narrowed);
            let data = TensorData::Shared(t32.bytes().clone());
            let t = self.const_tensor(n, format!("{}/int32", self.g.value_name(v)), &t32, data)?;
            self.derived.insert((v, Derived::Int32), t);
            return Ok(t);
        }
        let (dtype, shape) = self.info(v)?;
        match dtype {
            DType::I32 => self.value(v),
            DType::I64 => {
                let input = self.value(v)?;
                let name = format!("{}/int32", self.g.value_name(v));
                let out = self.new_tensor(n, name, DType::I32, &shape)?;
                self.emit(
                    builtin::CAST,
                    BuiltinOptions::Cast {
                        in_type: crate::tflite::schema::tensor_type::INT64,
                        out_type: crate::tflite::schema::tensor_type::INT32,
                    },
                    vec![input],
                    vec![out],
                );
                Ok(out)
            }
            d => Err(self.err(n, format!("{what} must be an integer tensor, got {d}"))),
        }
    }

    /// A new int32 constant (shapes written by the backend itself).
    pub(super) fn i32_const(
        &mut self,
        n: NodeIndex,
        name: String,
        values: Vec<i32>,
    ) -> Result<i32, BackendError> {
        let t = Tensor::from_vec(vec![values.len()], values);
        let data = TensorData::Shared(t.bytes().clone());
        self.const_tensor(n, name, &t, data)
    }

    /// A new activation tensor (intermediate results of multi-op lowerings).
    pub(super) fn new_tensor(
        &mut self,
        n: NodeIndex,
        name: String,
        dtype: DType,
        shape: &[usize],
    ) -> Result<i32, BackendError> {
        let shape = self.shape_i32(n, shape)?;
        Ok(self.add_tensor(TensorPlan {
            name,
            dtype,
            shape,
            data: None,
            quantization: None,
        }))
    }

    /// A filter (or any operand) permuted: constants are transposed once; run-time values get a
    /// TRANSPOSE op.
    pub(super) fn permuted(
        &mut self,
        n: NodeIndex,
        v: ValueRef,
        perm: &'static [usize],
        suffix: &str,
    ) -> Result<i32, BackendError> {
        let v = self.resolve(v);
        if let Some(&t) = self.derived.get(&(v, Derived::Transposed(perm))) {
            return Ok(t);
        }
        let (dtype, shape) = self.info(v)?;
        if shape.len() != perm.len() {
            return Err(self.err(
                n,
                format!("expected a rank-{} operand, got {shape:?}", perm.len()),
            ));
        }
        let new_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        let name = format!("{}/{suffix}", self.g.value_name(v));
        let t = if let Some(c) = self.const_of(v) {
            let size = dtype
                .size()
                .ok_or_else(|| self.err(n, format!("cannot transpose {dtype}")))?;
            let data = TensorData::Permuted {
                source: c.bytes().clone(),
                shape: shape.clone(),
                perm,
                elem: size,
            };
            let shape32 = self.shape_i32(n, &new_shape)?;
            self.add_tensor(TensorPlan {
                name,
                dtype,
                shape: shape32,
                data: Some(data),
                quantization: None,
            })
        } else {
            let input = self.value(v)?;
            let perm_t = self.i32_const(
                n,
                format!("{name}/perm"),
                perm.iter().map(|&p| p as i32).collect(),
            )?;
            let out = self.new_tensor(n, name, dtype, &new_shape)?;
            self.emit(
                builtin::TRANSPOSE,
                BuiltinOptions::None,
                vec![input, perm_t],
                vec![out],
            );
            out
        };
        self.derived.insert((v, Derived::Transposed(perm)), t);
        Ok(t)
    }

    /// An operand under another shape with the same element count: constants share their bytes;
    /// run-time values get a RESHAPE op.
    pub(super) fn reshaped(
        &mut self,
        n: NodeIndex,
        v: ValueRef,
        new_shape: &[usize],
        suffix: &str,
    ) -> Result<i32, BackendError> {
        let v = self.resolve(v);
        let key = (v, Derived::Reshaped(new_shape.to_vec()));
        if let Some(&t) = self.derived.get(&key) {
            return Ok(t);
        }
        let (dtype, _) = self.info(v)?;
        let name = format!("{}/{suffix}", self.g.value_name(v));
        let t = if let Some(c) = self.const_of(v) {
            let r = c.reshaped(new_shape.to_vec()).map_err(|e| self.err(n, e))?;
            self.const_tensor(n, name, &r, TensorData::Shared(c.bytes().clone()))?
        } else {
            let input = self.value(v)?;
            let shape32 = self.shape_i32(n, new_shape)?;
            let shape_t = self.i32_const(n, format!("{name}/shape"), shape32.clone())?;
            let out = self.new_tensor(n, name, dtype, new_shape)?;
            self.emit(
                builtin::RESHAPE,
                BuiltinOptions::Reshape { new_shape: shape32 },
                vec![input, shape_t],
                vec![out],
            );
            out
        };
        self.derived.insert(key, t);
        Ok(t)
    }
}

/// Row-major transposition of raw elements: output axis `i` is input axis `perm[i]`.
pub fn transpose_bytes(data: &[u8], shape: &[usize], perm: &[usize], elem: usize) -> Vec<u8> {
    let rank = shape.len();
    let numel: usize = shape.iter().product();
    let mut in_strides = vec![1usize; rank];
    for i in (0..rank.saturating_sub(1)).rev() {
        in_strides[i] = in_strides[i + 1] * shape[i + 1];
    }
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    // Stride in the input of each output axis.
    let strides: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    let mut out = Vec::with_capacity(numel * elem);
    let mut idx = vec![0usize; rank];
    let mut src = 0usize;
    for _ in 0..numel {
        out.extend_from_slice(&data[src * elem..(src + 1) * elem]);
        // Advance the output index like an odometer, keeping `src` in step.
        for ax in (0..rank).rev() {
            idx[ax] += 1;
            src += strides[ax];
            if idx[ax] < out_shape[ax] {
                break;
            }
            src -= strides[ax] * out_shape[ax];
            idx[ax] = 0;
        }
    }
    out
}
