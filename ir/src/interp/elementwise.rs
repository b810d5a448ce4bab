//! Elementwise ops with NumPy broadcasting, casts, `Select`, `BiasAdd`, `AddN`, `Range`.

use super::movement::broadcast_to;
use super::{tensor_of, Data, Res};
use crate::attr::Attrs;
use crate::dtype::DType;
use crate::op::Op;
use crate::shape::{self, norm_axis};
use crate::tensor::{Element, Tensor};

/// Numeric element types: floats with IEEE semantics, integers wrapping (like C++ on two's complement)
/// and with division by zero reported instead of trapping.
pub(crate) trait Num: Element + PartialOrd {
    const IS_INT: bool;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// `None` on integer division by zero.
    fn div(self, o: Self) -> Option<Self>;
    /// Division rounded toward −∞ (TensorFlow's FloorDiv); `None` on integer division by zero.
    fn floor_div(self, o: Self) -> Option<Self>;
    fn zero() -> Self;
    fn one() -> Self;
    fn from_usize(n: usize) -> Self;
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
    /// The smallest and largest values (−∞/+∞ for floats), the identities of Max and Min.
    fn lowest() -> Self;
    fn highest() -> Self;
}

macro_rules! num_float {
    ($t:ty) => {
        impl Num for $t {
            const IS_INT: bool = false;
            fn add(self, o: Self) -> Self {
                self + o
            }
            fn sub(self, o: Self) -> Self {
                self - o
            }
            fn mul(self, o: Self) -> Self {
                self * o
            }
            fn div(self, o: Self) -> Option<Self> {
                Some(self / o)
            }
            fn floor_div(self, o: Self) -> Option<Self> {
                Some((self / o).floor())
            }
            fn zero() -> Self {
                0.0
            }
            fn one() -> Self {
                1.0
            }
            fn from_usize(n: usize) -> Self {
                n as $t
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            fn lowest() -> Self {
                <$t>::NEG_INFINITY
            }
            fn highest() -> Self {
                <$t>::INFINITY
            }
        }
    };
}
macro_rules! num_int {
    ($t:ty) => {
        impl Num for $t {
            const IS_INT: bool = true;
            fn add(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            fn sub(self, o: Self) -> Self {
                self.wrapping_sub(o)
            }
            fn mul(self, o: Self) -> Self {
                self.wrapping_mul(o)
            }
            fn div(self, o: Self) -> Option<Self> {
                if o == 0 {
                    None
                } else {
                    Some(self.wrapping_div(o))
                }
            }
            fn floor_div(self, o: Self) -> Option<Self> {
                if o == 0 {
                    return None;
                }
                // In i128 the truncated quotient and remainder are exact for every operand type.
                let (a, b) = (self as i128, o as i128);
                let q = a / b;
                let floor = if a % b != 0 && ((a < 0) != (b < 0)) {
                    q - 1
                } else {
                    q
                };
                Some(floor as $t)
            }
            fn zero() -> Self {
                0
            }
            fn one() -> Self {
                1
            }
            fn from_usize(n: usize) -> Self {
                n as $t
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            fn lowest() -> Self {
                <$t>::MIN
            }
            fn highest() -> Self {
                <$t>::MAX
            }
        }
    };
}
num_float!(f32);
num_float!(f64);
num_int!(i8);
num_int!(i16);
num_int!(i32);
num_int!(i64);
num_int!(u8);

/// Floats, for the transcendental unary ops.
pub(crate) trait Real: Num {
    fn sqrt(self) -> Self;
    fn exp(self) -> Self;
    /// `exp(x) − 1`, exact near 0.
    fn exp_m1(self) -> Self;
    fn ln(self) -> Self;
    /// `ln(1 + x)`, exact near 0.
    fn ln_1p(self) -> Self;
    fn tanh(self) -> Self;
    fn abs(self) -> Self;
}
macro_rules! real_float {
    ($t:ident) => {
        impl Real for $t {
            fn sqrt(self) -> Self {
                $t::sqrt(self)
            }
            fn exp(self) -> Self {
                $t::exp(self)
            }
            fn exp_m1(self) -> Self {
                $t::exp_m1(self)
            }
            fn ln(self) -> Self {
                $t::ln(self)
            }
            fn ln_1p(self) -> Self {
                $t::ln_1p(self)
            }
            fn tanh(self) -> Self {
                $t::tanh(self)
            }
            fn abs(self) -> Self {
                $t::abs(self)
            }
        }
    };
}
real_float!(f32);
real_float!(f64);

/// Element strides of `shape` inside the broadcast shape `out` (0 along broadcast dimensions).
fn bcast_strides(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let lead = out.len() - shape.len();
    let st = super::strides_of(shape);
    let mut s = vec![0; out.len()];
    for (i, &d) in shape.iter().enumerate() {
        if d != 1 || out[lead + i] == 1 {
            s[lead + i] = st[i];
        }
    }
    s
}

/// `f` applied to `x` and `y` broadcast to `out` (which must be their broadcast shape).
pub(crate) fn zip_bcast<T: Copy, U>(
    x: &[T],
    xs: &[usize],
    y: &[T],
    ys: &[usize],
    out: &[usize],
    f: impl Fn(T, T) -> U,
) -> Vec<U> {
    let n: usize = out.iter().product();
    if n == 0 {
        return Vec::new();
    }
    if xs == ys {
        return x.iter().zip(y).map(|(&a, &b)| f(a, b)).collect();
    }
    if y.len() == 1 && xs == out {
        let b = y[0];
        return x.iter().map(|&a| f(a, b)).collect();
    }
    if x.len() == 1 && ys == out {
        let a = x[0];
        return y.iter().map(|&b| f(a, b)).collect();
    }
    let r = out.len();
    let sx = bcast_strides(xs, out);
    let sy = bcast_strides(ys, out);
    let mut res = Vec::with_capacity(n);
    let inner = out[r - 1];
    let (ix, iy) = (sx[r - 1], sy[r - 1]);
    let outer: usize = out[..r - 1].iter().product();
    let mut idx = vec![0usize; r - 1];
    let (mut ox, mut oy) = (0usize, 0usize);
    for _ in 0..outer {
        // The innermost dimension as slices where it is contiguous or broadcast (vectorisable).
        match (ix, iy) {
            (1, 1) => res.extend(
                x[ox..ox + inner]
                    .iter()
                    .zip(&y[oy..oy + inner])
                    .map(|(&a, &b)| f(a, b)),
            ),
            (1, 0) => {
                let b = y[oy];
                res.extend(x[ox..ox + inner].iter().map(|&a| f(a, b)));
            }
            (0, 1) => {
                let a = x[ox];
                res.extend(y[oy..oy + inner].iter().map(|&b| f(a, b)));
            }
            _ => {
                for i in 0..inner {
                    res.push(f(x[ox + i * ix], y[oy + i * iy]));
                }
            }
        }
        for d in (0..r - 1).rev() {
            idx[d] += 1;
            ox += sx[d];
            oy += sy[d];
            if idx[d] < out[d] {
                break;
            }
            ox -= sx[d] * out[d];
            oy -= sy[d] * out[d];
            idx[d] = 0;
        }
    }
    res
}

fn usizes(d: Vec<i64>) -> Vec<usize> {
    d.into_iter().map(|d| d as usize).collect()
}

fn dims(t: &Tensor) -> Vec<i64> {
    t.shape().iter().map(|&d| d as i64).collect()
}

/// A binary elementwise op with broadcasting.
pub(crate) fn binary(op: &Op, a: &Tensor, b: &Tensor) -> Res<Tensor> {
    if a.dtype() != b.dtype() {
        return Err(format!(
            "operands have different dtypes: {} and {}",
            a.dtype(),
            b.dtype()
        ));
    }
    let out = usizes(shape::broadcast_dims(&dims(a), &dims(b))?);
    let (xs, ys) = (a.shape(), b.shape());
    match (Data::of(a)?, Data::of(b)?) {
        (Data::F32(x), Data::F32(y)) => arith(op, &x, xs, &y, ys, out),
        (Data::F64(x), Data::F64(y)) => arith(op, &x, xs, &y, ys, out),
        (Data::I8(x), Data::I8(y)) => arith(op, &x, xs, &y, ys, out),
        (Data::I16(x), Data::I16(y)) => arith(op, &x, xs, &y, ys, out),
        (Data::I32(x), Data::I32(y)) => arith(op, &x, xs, &y, ys, out),
        (Data::I64(x), Data::I64(y)) => arith(op, &x, xs, &y, ys, out),
        (Data::U8(x), Data::U8(y)) => arith(op, &x, xs, &y, ys, out),
        (Data::Bool(x), Data::Bool(y)) => {
            let f: fn(bool, bool) -> bool = match op {
                Op::LogicalAnd => |a, b| a && b,
                Op::LogicalOr => |a, b| a || b,
                Op::Equal => |a, b| a == b,
                _ => return Err(format!("{op} is not defined on bool")),
            };
            tensor_of(out.clone(), zip_bcast(&x, xs, &y, ys, &out, f))
        }
        _ => Err(format!("{op} is not defined on {}", a.dtype())),
    }
}

fn arith<T: Num>(
    op: &Op,
    x: &[T],
    xs: &[usize],
    y: &[T],
    ys: &[usize],
    out: Vec<usize>,
) -> Res<Tensor> {
    // Each op's function is its own type (a fn item or closure), so that zip_bcast inlines it.
    match op {
        Op::Add | Op::AddV2 => map2(x, xs, y, ys, &out, T::add),
        Op::Sub => map2(x, xs, y, ys, &out, T::sub),
        Op::Mul => map2(x, xs, y, ys, &out, T::mul),
        Op::RealDiv => {
            if T::IS_INT && y.iter().any(|&v| v == T::zero()) {
                return Err("integer division by zero".into());
            }
            map2(x, xs, y, ys, &out, |a, b| a.div(b).unwrap_or_else(T::zero))
        }
        Op::FloorDiv => {
            if T::IS_INT && y.iter().any(|&v| v == T::zero()) {
                return Err("integer division by zero".into());
            }
            map2(x, xs, y, ys, &out, |a, b| {
                a.floor_div(b).unwrap_or_else(T::zero)
            })
        }
        Op::Maximum => map2(
            x,
            xs,
            y,
            ys,
            &out,
            |a, b| {
                if is_nan(a) || a >= b {
                    a
                } else {
                    b
                }
            },
        ),
        Op::Minimum => map2(
            x,
            xs,
            y,
            ys,
            &out,
            |a, b| {
                if is_nan(a) || a <= b {
                    a
                } else {
                    b
                }
            },
        ),
        Op::Pow if T::IS_INT => {
            if y.iter().any(|&v| v < T::zero()) {
                return Err("integers to negative powers are not allowed".into());
            }
            map2(x, xs, y, ys, &out, int_pow)
        }
        Op::Pow => map2(x, xs, y, ys, &out, |a, b| {
            T::from_f64(a.to_f64().powf(b.to_f64()))
        }),
        Op::SquaredDifference => map2(x, xs, y, ys, &out, |a, b| {
            let d = a.sub(b);
            d.mul(d)
        }),
        Op::Greater => map2(x, xs, y, ys, &out, |a, b| a > b),
        Op::GreaterEqual => map2(x, xs, y, ys, &out, |a, b| a >= b),
        Op::Less => map2(x, xs, y, ys, &out, |a, b| a < b),
        Op::LessEqual => map2(x, xs, y, ys, &out, |a, b| a <= b),
        Op::Equal => map2(x, xs, y, ys, &out, |a, b| a == b),
        _ => Err(format!("{op} is not defined on {}", T::DTYPE)),
    }
}

/// `a` to the non-negative integer power `b`, by squaring (wrapping like the other integer ops).
fn int_pow<T: Num>(a: T, b: T) -> T {
    let (mut base, mut e, mut acc) = (a, b.to_f64() as u64, T::one());
    while e > 0 {
        if e & 1 == 1 {
            acc = acc.mul(base);
        }
        base = base.mul(base);
        e >>= 1;
    }
    acc
}

/// [`zip_bcast`] into a tensor of the broadcast shape `out`.
fn map2<T: Copy, U: crate::tensor::Element>(
    x: &[T],
    xs: &[usize],
    y: &[T],
    ys: &[usize],
    out: &[usize],
    f: impl Fn(T, T) -> U,
) -> Res<Tensor> {
    tensor_of(out.to_vec(), zip_bcast(x, xs, y, ys, out, f))
}

/// NaN test that is false for integers (NaN propagates through Maximum/Minimum as in TensorFlow).
#[allow(clippy::eq_op)]
fn is_nan<T: Num>(v: T) -> bool {
    v != v
}

/// A unary elementwise op.
pub(crate) fn unary(op: &Op, a: &Attrs, t: &Tensor) -> Res<Tensor> {
    let shape = t.shape().to_vec();
    let alpha = crate::op::leaky_relu_alpha(a);
    match Data::of(t)? {
        Data::F32(x) => tensor_of(shape, real_unary(op, x, alpha)?),
        Data::F64(x) => tensor_of(shape, real_unary(op, x, alpha)?),
        Data::I8(x) => tensor_of(shape, int_unary(op, x)?),
        Data::I16(x) => tensor_of(shape, int_unary(op, x)?),
        Data::I32(x) => tensor_of(shape, int_unary(op, x)?),
        Data::I64(x) => tensor_of(shape, int_unary(op, x)?),
        Data::Bool(x) if *op == Op::LogicalNot => {
            tensor_of(shape, x.into_iter().map(|b| !b).collect())
        }
        _ => Err(format!("{op} is not defined on {}", t.dtype())),
    }
}

fn real_unary<T: Real>(op: &Op, mut x: Vec<T>, alpha: f32) -> Res<Vec<T>> {
    let alpha = T::from_f64(alpha as f64);
    let f: Box<dyn Fn(T) -> T> = match op {
        Op::Neg => Box::new(|v| T::zero().sub(v)),
        Op::Square => Box::new(|v| v.mul(v)),
        Op::Sqrt => Box::new(|v| v.sqrt()),
        Op::Rsqrt => Box::new(|v| T::one().div(v.sqrt()).unwrap_or_else(T::zero)),
        Op::Abs => Box::new(|v| v.abs()),
        Op::Exp => Box::new(|v| v.exp()),
        Op::Log => Box::new(|v| v.ln()),
        Op::Tanh => Box::new(|v| v.tanh()),
        Op::Sigmoid => Box::new(|v| {
            T::one()
                .div(T::one().add(T::zero().sub(v).exp()))
                .unwrap_or_else(T::zero)
        }),
        Op::Relu => Box::new(|v| {
            if v > T::zero() || is_nan(v) {
                v
            } else {
                T::zero()
            }
        }),
        Op::Relu6 => Box::new(|v| relu6(v)),
        Op::LeakyRelu => Box::new(move |v| if v > T::zero() { v } else { v.mul(alpha) }),
        Op::Elu => Box::new(|v| if v > T::zero() { v } else { v.exp_m1() }),
        Op::Selu => {
            let (a, s) = (
                T::from_f64(crate::op::SELU_ALPHA),
                T::from_f64(crate::op::SELU_SCALE),
            );
            Box::new(move |v| {
                if v > T::zero() {
                    s.mul(v)
                } else {
                    s.mul(a).mul(v.exp_m1())
                }
            })
        }
        // ln(1 + eˣ) = max(x, 0) + ln(1 + e^−|x|): no overflow for large x, exact for very negative x.
        Op::Softplus => Box::new(|v| {
            let pos = if v > T::zero() { v } else { T::zero() };
            pos.add(T::zero().sub(v.abs()).exp().ln_1p())
        }),
        _ => return Err(format!("{op} is not defined on {}", T::DTYPE)),
    };
    for v in x.iter_mut() {
        *v = f(*v);
    }
    Ok(x)
}

/// `min(max(v, 0), 6)`; NaN stays NaN, as TensorFlow's.
fn relu6<T: Num>(v: T) -> T {
    let six = T::from_usize(6);
    if is_nan(v) {
        v
    } else if v < T::zero() {
        T::zero()
    } else if v > six {
        six
    } else {
        v
    }
}

fn int_unary<T: Num>(op: &Op, mut x: Vec<T>) -> Res<Vec<T>> {
    let f: fn(T) -> T = match op {
        Op::Neg => |v| T::zero().sub(v),
        Op::Abs => |v| if v < T::zero() { T::zero().sub(v) } else { v },
        Op::Square => |v| v.mul(v),
        Op::Relu => |v| if v > T::zero() { v } else { T::zero() },
        Op::Relu6 => relu6,
        _ => return Err(format!("{op} is not defined on {}", T::DTYPE)),
    };
    for v in x.iter_mut() {
        *v = f(*v);
    }
    Ok(x)
}

/// Sum of same-shaped tensors.
pub(crate) fn add_n(ins: &[Tensor]) -> Res<Tensor> {
    let Some(first) = ins.first() else {
        return Err("AddN needs at least one input".into());
    };
    for t in ins {
        if t.shape() != first.shape() || t.dtype() != first.dtype() {
            return Err(format!(
                "AddN inputs differ: {}{:?} and {}{:?}",
                first.dtype(),
                first.shape(),
                t.dtype(),
                t.shape()
            ));
        }
    }
    fn sum<T: Num>(ins: &[Tensor], shape: &[usize]) -> Res<Tensor> {
        let mut acc: Vec<T> = ins[0].to_vec()?;
        for t in &ins[1..] {
            let bytes = t.bytes();
            let size = std::mem::size_of::<T>();
            for (a, b) in acc.iter_mut().zip(bytes.chunks_exact(size)) {
                *a = a.add(T::read_le(b));
            }
        }
        tensor_of(shape.to_vec(), acc)
    }
    let s = first.shape();
    match first.dtype() {
        DType::F32 => sum::<f32>(ins, s),
        DType::F64 => sum::<f64>(ins, s),
        DType::I32 => sum::<i32>(ins, s),
        DType::I64 => sum::<i64>(ins, s),
        d => Err(format!("AddN is not defined on {d}")),
    }
}

pub(crate) fn bias_add(a: &Attrs, x: &Tensor, bias: &Tensor) -> Res<Tensor> {
    let xd = dims(x);
    shape::bias_add_check(a, &xd, &dims(bias))?;
    let r = x.rank();
    // The bias as a tensor of x's rank with its values along the channel dimension.
    let mut bshape = vec![1usize; r];
    let c = if a.data_format().starts_with("NC") {
        1
    } else {
        r - 1
    };
    bshape[c] = bias.numel();
    let b = bias.reshaped(bshape)?;
    binary(&Op::Add, x, &b)
}

/// A fused batch norm at inference ([`crate::op::batch_norm_affine`]): `y = x·a + b` along the channel
/// axis of the data format; the statistics outputs are the stored mean and variance (TensorFlow's at
/// inference), V3's reserve space empty.
pub(crate) fn batch_norm(a: &Attrs, ins: &[Tensor], v3: bool) -> Res<Vec<Tensor>> {
    let [x, scale, offset, mean, var] = ins else {
        return Err(format!("batch norm needs 5 inputs, got {}", ins.len()));
    };
    let p: Vec<Vec<f32>> = [scale, offset, mean, var]
        .iter()
        .map(|t| super::f32s(t, "batch norm parameter"))
        .collect::<Res<_>>()?;
    let (sa, sb) = crate::op::batch_norm_affine(a, [&p[0], &p[1], &p[2], &p[3]])?;
    let c = sa.len();
    let r = x.rank();
    if r == 0 {
        return Err("batch norm of a scalar".into());
    }
    let axis = if a.data_format().starts_with("NC") {
        1
    } else {
        r - 1
    };
    if x.shape().get(axis) != Some(&c) {
        return Err(format!(
            "{c} batch norm parameters for input {:?}",
            x.shape()
        ));
    }
    let mut pshape = vec![1usize; r];
    pshape[axis] = c;
    let y = binary(&Op::Mul, x, &Tensor::from_vec(pshape.clone(), sa))?;
    let y = binary(&Op::AddV2, &y, &Tensor::from_vec(pshape, sb))?;
    let mut outs = vec![
        y,
        (*mean).clone(),
        (*var).clone(),
        (*mean).clone(),
        (*var).clone(),
    ];
    if v3 {
        outs.push(Tensor::from_vec(vec![0], Vec::<f32>::new()));
    }
    Ok(outs)
}

/// ClipByValue: min(max(x, lo), hi), with lo and hi broadcast to x's shape.
pub(crate) fn clip(x: &Tensor, lo: &Tensor, hi: &Tensor) -> Res<Tensor> {
    let lo = broadcast_to(lo, x.shape())?;
    let hi = broadcast_to(hi, x.shape())?;
    let m = binary(&Op::Maximum, x, &lo)?;
    binary(&Op::Minimum, &m, &hi)
}

/// Select (TF1, `v2` false) and SelectV2 (broadcasting, `v2` true).
pub(crate) fn select(cond: &Tensor, x: &Tensor, y: &Tensor, v2: bool) -> Res<Tensor> {
    if cond.dtype() != DType::Bool {
        return Err(format!("condition must be bool, got {}", cond.dtype()));
    }
    if x.dtype() != y.dtype() {
        return Err(format!(
            "x and y have different dtypes: {} and {}",
            x.dtype(),
            y.dtype()
        ));
    }
    let out = usizes(shape::select_dims(&dims(cond), &dims(x), &dims(y), v2)?);
    let c: Vec<bool> = cond.to_vec()?;
    let es = super::elem_size(x)?;
    let x = broadcast_to(x, &out)?;
    let y = broadcast_to(y, &out)?;
    let n: usize = out.iter().product();
    // Per-element choice, with the condition broadcast (or, for TF1's rank-1 condition, per row).
    let c: Vec<bool> = if !v2 && cond.rank() == 1 && out.len() > 1 {
        let row = n / out[0].max(1);
        let mut v = Vec::with_capacity(n);
        for &b in &c {
            v.extend(std::iter::repeat_n(b, row));
        }
        v
    } else if c.len() == n {
        c
    } else {
        broadcast_to(cond, &out)?.to_vec()?
    };
    let mut buf = Vec::with_capacity(n * es);
    let (xb, yb) = (x.bytes(), y.bytes());
    for (i, &b) in c.iter().enumerate() {
        let src = if b { xb } else { yb };
        buf.extend_from_slice(&src[i * es..(i + 1) * es]);
    }
    super::from_bytes(x.dtype(), out, buf)
}

/// Cast with C++ semantics: float to int truncates toward zero (saturating here, where C++ is
/// undefined; NaN gives 0), to bool is `!= 0`, bool is 0 or 1.
pub(crate) fn cast(t: &Tensor, to: DType) -> Res<Tensor> {
    if t.dtype() == to {
        return Ok(t.clone());
    }
    let shape = t.shape().to_vec();
    enum Src {
        F(Vec<f64>),
        I(Vec<i64>),
        B(Vec<bool>),
    }
    let src = match Data::of(t)? {
        Data::F32(v) => Src::F(v.into_iter().map(f64::from).collect()),
        Data::F64(v) => Src::F(v),
        Data::Bool(v) => Src::B(v),
        _ => Src::I(t.to_i64s()?),
    };
    macro_rules! to_num {
        ($ty:ty) => {
            match src {
                Src::F(v) => tensor_of(shape, v.into_iter().map(|x| x as $ty).collect()),
                Src::I(v) => tensor_of(shape, v.into_iter().map(|x| x as $ty).collect()),
                Src::B(v) => tensor_of(shape, v.into_iter().map(|x| x as u8 as $ty).collect()),
            }
        };
    }
    match to {
        DType::F32 => match src {
            // Straight from i64 so that large integers round once.
            Src::I(v) => tensor_of(shape, v.into_iter().map(|x| x as f32).collect()),
            Src::F(v) => tensor_of(shape, v.into_iter().map(|x| x as f32).collect()),
            Src::B(v) => tensor_of(shape, v.into_iter().map(|x| x as u8 as f32).collect()),
        },
        DType::F64 => to_num!(f64),
        DType::I8 => to_num!(i8),
        DType::I16 => to_num!(i16),
        DType::I32 => to_num!(i32),
        DType::I64 => to_num!(i64),
        DType::U8 => to_num!(u8),
        DType::Bool => match src {
            Src::F(v) => tensor_of(shape, v.into_iter().map(|x| x != 0.0).collect()),
            Src::I(v) => tensor_of(shape, v.into_iter().map(|x| x != 0).collect()),
            Src::B(v) => tensor_of(shape, v),
        },
        d => Err(format!("Cast to {d} is not supported")),
    }
}

/// Range(start, limit, delta) for integer and float dtypes.
pub(crate) fn range(start: &Tensor, limit: &Tensor, delta: &Tensor) -> Res<Tensor> {
    let dt = start.dtype();
    if limit.dtype() != dt || delta.dtype() != dt {
        return Err("start, limit and delta must have the same dtype".into());
    }
    let one = |t: &Tensor, what: &str| -> Res<f64> {
        if t.numel() != 1 {
            return Err(format!("{what} must be a scalar"));
        }
        Ok(t.to_f64s()?[0])
    };
    if dt.is_int() {
        let onei = |t: &Tensor, what: &str| -> Res<i64> {
            match t.to_i64s()?.as_slice() {
                [v] => Ok(*v),
                _ => Err(format!("{what} must be a scalar")),
            }
        };
        let (s, l, d) = (
            onei(start, "start")?,
            onei(limit, "limit")?,
            onei(delta, "delta")?,
        );
        let n = shape::range_len_int(s, l, d)?;
        super::check_numel(&[n])?;
        let v: Vec<i64> = (0..n as i64).map(|i| s + i * d).collect();
        cast(&tensor_of(vec![n], v)?, dt)
    } else {
        let (s, l, d) = (
            one(start, "start")?,
            one(limit, "limit")?,
            one(delta, "delta")?,
        );
        let n = shape::range_len_float(s, l, d)?;
        super::check_numel(&[n])?;
        match dt {
            DType::F32 => {
                let (s, d) = (s as f32, d as f32);
                tensor_of(vec![n], (0..n).map(|i| s + i as f32 * d).collect())
            }
            DType::F64 => tensor_of(vec![n], (0..n).map(|i| s + i as f64 * d).collect()),
            d => Err(format!("Range is not defined on {d}")),
        }
    }
}

/// Reduction helper shared with `reduce`: an axis operand normalised against `rank`.
pub(crate) fn axes_of(axes: &[i64], rank: usize) -> Res<Vec<usize>> {
    let mut v = Vec::with_capacity(axes.len());
    for &a in axes {
        let a = norm_axis(a, rank)?;
        if !v.contains(&a) {
            v.push(a);
        }
    }
    v.sort_unstable();
    Ok(v)
}
