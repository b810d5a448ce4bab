//! Dense matrix products for the interpreter, on `matrixmultiply`'s blocked SIMD kernels (threaded).
//!
//! Matrices are given as slices with a row and a column stride (in elements), so that a transpose is a
//! stride swap and never a copy.

/// A read-only matrix view: `rows × cols`, element (i, j) at `i * rs + j * cs`.
#[derive(Clone, Copy)]
pub(crate) struct View<'a, T> {
    pub data: &'a [T],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl<'a, T> View<'a, T> {
    /// A dense row-major matrix.
    pub fn rows(data: &'a [T], rows: usize, cols: usize) -> Self {
        View {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose (no copy).
    pub fn t(self) -> Self {
        View {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }

    fn check(&self) {
        if self.rows > 0 && self.cols > 0 {
            let last = (self.rows - 1) * self.rs + (self.cols - 1) * self.cs;
            assert!(last < self.data.len(), "matrix view out of bounds");
        }
    }
}

/// The element types with a GEMM kernel.
pub(crate) trait Gemm: Copy {
    /// `c = a · b + (if accumulate { c } else { 0 })`, `c` dense row-major `a.rows × b.cols`.
    fn gemm(a: View<'_, Self>, b: View<'_, Self>, c: &mut [Self], accumulate: bool);
}

macro_rules! gemm_impl {
    ($t:ty, $f:path) => {
        impl Gemm for $t {
            fn gemm(a: View<'_, $t>, b: View<'_, $t>, c: &mut [$t], accumulate: bool) {
                assert_eq!(a.cols, b.rows, "inner dimensions differ");
                assert_eq!(c.len(), a.rows * b.cols, "output size");
                a.check();
                b.check();
                if c.is_empty() {
                    return;
                }
                if a.cols == 0 {
                    if !accumulate {
                        c.fill(0.0);
                    }
                    return;
                }
                let beta = if accumulate { 1.0 } else { 0.0 };
                // SAFETY: the bounds of both views were checked above, `c` holds exactly
                // `a.rows × b.cols` elements and is written with row stride `b.cols`, column stride 1;
                // the three slices cannot alias (`c` is borrowed mutably).
                unsafe {
                    $f(
                        a.rows,
                        a.cols,
                        b.cols,
                        1.0,
                        a.data.as_ptr(),
                        a.rs as isize,
                        a.cs as isize,
                        b.data.as_ptr(),
                        b.rs as isize,
                        b.cs as isize,
                        beta,
                        c.as_mut_ptr(),
                        b.cols as isize,
                        1,
                    )
                }
            }
        }
    };
}

gemm_impl!(f32, matrixmultiply::sgemm);
gemm_impl!(f64, matrixmultiply::dgemm);

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: View<'_, f64>, b: View<'_, f64>) -> Vec<f64> {
        let mut c = vec![0.0; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                for k in 0..a.cols {
                    c[i * b.cols + j] += a.data[i * a.rs + k * a.cs] * b.data[k * b.rs + j * b.cs];
                }
            }
        }
        c
    }

    #[test]
    fn strided_products_equal_the_definition() {
        let a: Vec<f64> = (0..35).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..42).map(|i| (i as f64 * 0.11).cos()).collect();
        let (av, bv) = (View::rows(&a, 5, 7), View::rows(&b, 7, 6));
        let mut c = vec![9.0; 30];
        f64::gemm(av, bv, &mut c, false);
        assert_eq!(c.len(), 30);
        for (x, y) in c.iter().zip(naive(av, bv)) {
            assert!((x - y).abs() < 1e-12);
        }
        // Transposed operands: (Bᵀ is 6×7) · (Aᵀ is 7×5) = (A·B)ᵀ.
        let mut ct = vec![0.0; 30];
        f64::gemm(bv.t(), av.t(), &mut ct, false);
        for i in 0..5 {
            for j in 0..6 {
                assert!((ct[j * 5 + i] - c[i * 6 + j]).abs() < 1e-12);
            }
        }
        // Accumulating adds to what is there.
        let mut acc = c.clone();
        f64::gemm(av, bv, &mut acc, true);
        for (x, y) in acc.iter().zip(&c) {
            assert!((x - 2.0 * y).abs() < 1e-12);
        }
    }

    #[test]
    fn empty_inner_dimension_gives_zeros() {
        let mut c = vec![5.0f32; 4];
        f32::gemm(View::rows(&[], 2, 0), View::rows(&[], 0, 2), &mut c, false);
        assert_eq!(c, vec![0.0; 4]);
    }
}
