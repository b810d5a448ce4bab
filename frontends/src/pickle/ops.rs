//! What the pickle builders share: a network's variables taken once each with their expected shapes
//! ([`Vars`]), and the TensorFlow ops they emit, named and attributed as TensorFlow writes them ([`Ops`]).

use std::collections::{HashMap, HashSet};

use sgc_ir::Tensor;

use super::emit::{b, i, ints, s, ty, Emitter, F32, I32};
use super::{Kwarg, Network};
use crate::tf;

/// A network's variables, each to be taken once with the shape the builder expects.
pub(super) struct Vars<'a> {
    by_name: HashMap<&'a str, &'a Tensor>,
    used: HashSet<String>,
    problems: Vec<String>,
    /// The network's path, for errors.
    scope: String,
    /// Its node-name prefix.
    prefix: String,
}

impl<'a> Vars<'a> {
    pub(super) fn new(n: &'a Network) -> Vars<'a> {
        Vars {
            by_name: n.variables.iter().map(|(k, t)| (k.as_str(), t)).collect(),
            used: HashSet::new(),
            problems: Vec::new(),
            scope: n.path.clone(),
            prefix: node_prefix(n),
        }
    }

    pub(super) fn take(&mut self, name: &str, shape: &[usize]) -> Tensor {
        self.used.insert(name.to_string());
        match self.by_name.get(name) {
            Some(t) if t.shape() == shape && t.dtype() == sgc_ir::DType::F32 => (*t).clone(),
            Some(t) => {
                self.problems.push(format!(
                    "{}: variable '{name}' is {} {:?}, expected f32 {shape:?}",
                    self.scope,
                    t.dtype(),
                    t.shape()
                ));
                Tensor::from_vec(shape.to_vec(), vec![0f32; shape.iter().product()])
            }
            None => {
                self.problems.push(format!(
                    "{}: variable '{name}' {shape:?} is missing",
                    self.scope
                ));
                Tensor::from_vec(shape.to_vec(), vec![0f32; shape.iter().product()])
            }
        }
    }

    /// Every mismatch, and every variable the builder did not read.
    pub(super) fn finish(mut self) -> Vec<String> {
        let mut unused: Vec<&str> = self
            .by_name
            .keys()
            .filter(|k| !self.used.contains(**k))
            .copied()
            .collect();
        unused.sort_unstable();
        if !unused.is_empty() {
            self.problems.push(format!(
                "{}: variables the architecture does not have: {}",
                self.scope,
                unused.join(", ")
            ));
        }
        self.problems
    }
}

impl Vars<'_> {
    /// The node-name prefix of this network's ops (see [`node_prefix`]).
    pub(super) fn scope_prefix(&self) -> String {
        self.prefix.clone()
    }
}

/// Node names as the official code scopes them: a network's own name at the top (`Gs/…`), a
/// component's under its parent (`Gs/G_synthesis/…`, `Gs/G_mapping/…`), so that patterns such as
/// `--quantize-keep-float G_mapping/` mean the same as on frozen graphs.
pub(super) fn node_prefix(n: &Network) -> String {
    match n.path.rsplit_once('/') {
        Some((parent, _)) => format!("{parent}/{}", n.name),
        None => n.path.clone(),
    }
}

/// The emitter and the op helpers every builder uses.
#[derive(Default)]
pub(super) struct Ops {
    pub(super) e: Emitter,
}

impl Ops {
    /// The truncation trick on dlatents `dl` `[N, rows, D]`: `avg + (dl − avg)·ψ`, where ψ applies to the
    /// rows below `cutoff` (a `Select` of per-row coefficients, as `tf.where` writes it) or, without a
    /// cutoff, to every row (a constant).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn truncation(
        &mut self,
        path: &str,
        dl: &str,
        avg: &Tensor,
        rows: usize,
        psi: f64,
        cutoff: Option<usize>,
    ) -> String {
        let p = format!("{path}/Truncation");
        let l = rows;
        let coefs = match cutoff {
            None => self
                .e
                .f32s(&format!("{p}/Const"), vec![1, l, 1], vec![psi as f32; l]),
            Some(cutoff) => {
                let cond: Vec<bool> = (0..l).map(|i| i < cutoff).collect();
                let cond = self.e.tensor(
                    &format!("{p}/Select/condition"),
                    &Tensor::from_vec(vec![1, l, 1], cond),
                );
                let t = self
                    .e
                    .f32s(&format!("{p}/Select/t"), vec![1, l, 1], vec![psi as f32; l]);
                let f = self
                    .e
                    .f32s(&format!("{p}/Select/e"), vec![1, l, 1], vec![1.0; l]);
                self.e
                    .op(&format!("{p}/Select"), "Select", &[&cond, &t, &f])
            }
        };
        let avg = self.e.tensor(&format!("{path}/dlatent_avg"), avg);
        let d = self.binary(&format!("{p}/Lerp/sub"), "Sub", dl, &avg);
        let m = self.binary(&format!("{p}/Lerp/mul"), "Mul", &d, &coefs);
        self.binary(&format!("{p}/Lerp/add"), "AddV2", &avg, &m)
    }

    /// `dlatents_in[:, layer]`, named `name`.
    pub(super) fn dlatent_row(&mut self, name: &str, dlatents: &str, layer: usize) -> String {
        let l = layer as i32;
        self.strided_slice(name, dlatents, &[0, l], &[0, l + 1], (1, 1, 0, 2), F32)
    }

    /// The mapping network's `x[:, np.newaxis]` tiled to `rows` dlatent rows.
    pub(super) fn broadcast(&mut self, g: &str, x: &str, rows: usize) -> String {
        let e = self.strided_slice(
            &format!("{g}/Broadcast/strided_slice"),
            x,
            &[0, 0],
            &[0, 0],
            (1, 1, 2, 0),
            F32,
        );
        let m = self.e.i32s(
            &format!("{g}/Broadcast/Tile/multiples"),
            &[1, rows as i32, 1],
        );
        self.tile(&format!("{g}/Broadcast/Tile"), &e, &m)
    }

    pub(super) fn scalar(&mut self, name: &str, v: f64) -> String {
        self.e.scalar(name, v as f32)
    }

    pub(super) fn binary(&mut self, name: &str, op: &str, a: &str, b: &str) -> String {
        self.e.op(name, op, &[a, b])
    }

    pub(super) fn reshape(&mut self, name: &str, x: &str, shape: &[i32]) -> String {
        let s = self.e.i32s(&format!("{name}/shape"), shape);
        self.e.add(
            name,
            "Reshape",
            &[x, &s],
            &[("T", ty(F32)), ("Tshape", ty(I32))],
        )
    }

    pub(super) fn matmul(&mut self, name: &str, x: &str, w: &str) -> String {
        self.e.add(
            name,
            "MatMul",
            &[x, w],
            &[
                ("T", ty(F32)),
                ("transpose_a", b(false)),
                ("transpose_b", b(false)),
            ],
        )
    }

    pub(super) fn tile(&mut self, name: &str, x: &str, multiples: &str) -> String {
        self.e.add(
            name,
            "Tile",
            &[x, multiples],
            &[("T", ty(F32)), ("Tmultiples", ty(I32))],
        )
    }

    pub(super) fn mean(&mut self, name: &str, x: &str, axes: &[i32]) -> String {
        let a = self.e.i32s(&format!("{name}/reduction_indices"), axes);
        self.e.add(
            name,
            "Mean",
            &[x, &a],
            &[("T", ty(F32)), ("Tidx", ty(I32)), ("keep_dims", b(true))],
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn strided_slice(
        &mut self,
        name: &str,
        x: &str,
        begin: &[i32],
        end: &[i32],
        masks: (i64, i64, i64, i64),
        t: tf::DataType,
    ) -> String {
        let bn = self.e.i32s(&format!("{name}/stack"), begin);
        let en = self.e.i32s(&format!("{name}/stack_1"), end);
        let sn = self
            .e
            .i32s(&format!("{name}/stack_2"), &vec![1; begin.len()]);
        let (begin_mask, end_mask, new_axis_mask, shrink_axis_mask) = masks;
        self.e.add(
            name,
            "StridedSlice",
            &[x, &bn, &en, &sn],
            &[
                ("T", ty(t)),
                ("Index", ty(I32)),
                ("begin_mask", i(begin_mask)),
                ("end_mask", i(end_mask)),
                ("ellipsis_mask", i(0)),
                ("new_axis_mask", i(new_axis_mask)),
                ("shrink_axis_mask", i(shrink_axis_mask)),
            ],
        )
    }

    /// `tf.shape(x)[0]`.
    pub(super) fn batch(&mut self, scope: &str, x: &str) -> String {
        let shape = self.e.add(
            &format!("{scope}/Shape"),
            "Shape",
            &[x],
            &[("T", ty(F32)), ("out_type", ty(I32))],
        );
        self.strided_slice(
            &format!("{scope}/strided_slice"),
            &shape,
            &[0],
            &[1],
            (0, 0, 0, 1),
            I32,
        )
    }

    /// `tf.stack` of int32 scalars (a Python list with a tensor in it, as TF packs it).
    pub(super) fn pack(&mut self, name: &str, parts: &[&str]) -> String {
        self.e.add(
            name,
            "Pack",
            parts,
            &[("T", ty(I32)), ("N", i(parts.len() as i64)), ("axis", i(0))],
        )
    }

    pub(super) fn int_const(&mut self, name: &str, v: i32) -> String {
        self.e.tensor(name, &Tensor::from_vec(vec![], vec![v]))
    }

    pub(super) fn conv_op(&mut self, name: &str, op: &str, inputs: &[&str], stride: i64) -> String {
        self.conv_op_padded(name, op, inputs, stride, "SAME")
    }

    /// A conv-like NCHW op with `padding` ("SAME" or "VALID").
    pub(super) fn conv_op_padded(
        &mut self,
        name: &str,
        op: &str,
        inputs: &[&str],
        stride: i64,
        padding: &str,
    ) -> String {
        self.e.add(
            name,
            op,
            inputs,
            &[
                ("T", ty(F32)),
                ("strides", ints(&[1, 1, stride, stride])),
                ("padding", s(padding)),
                ("data_format", s("NCHW")),
                ("dilations", ints(&[1, 1, 1, 1])),
            ],
        )
    }
}

/// One static kwarg, read as the official network functions take it; errors name it and its value.
pub(super) struct Kw<'a> {
    pub(super) k: &'a str,
    pub(super) v: &'a Kwarg,
}

impl Kw<'_> {
    fn bad(&self, expected: &str) -> String {
        format!("static kwarg {}={}: expected {expected}", self.k, self.v)
    }

    pub(super) fn int(&self) -> Result<usize, String> {
        match self.v {
            Kwarg::Int(x) if *x >= 0 => Ok(*x as usize),
            _ => Err(self.bad("a non-negative int")),
        }
    }

    pub(super) fn float(&self) -> Result<f64, String> {
        match self.v {
            Kwarg::Int(x) => Ok(*x as f64),
            Kwarg::Float(x) => Ok(*x),
            _ => Err(self.bad("a number")),
        }
    }

    pub(super) fn boolean(&self) -> Result<bool, String> {
        match self.v {
            Kwarg::Bool(x) => Ok(*x),
            _ => Err(self.bad("True or False")),
        }
    }

    /// A number or None.
    pub(super) fn opt_float(&self) -> Result<Option<f64>, String> {
        match self.v {
            Kwarg::None => Ok(None),
            _ => self.float().map(Some),
        }
    }

    /// A non-negative int or None.
    pub(super) fn opt_int(&self) -> Result<Option<usize>, String> {
        match self.v {
            Kwarg::None => Ok(None),
            _ => self.int().map(Some),
        }
    }

    /// A list of numbers (a FIR filter).
    pub(super) fn numbers(&self) -> Result<Vec<f64>, String> {
        match self.v {
            Kwarg::List(items) => items
                .iter()
                .map(|x| match x {
                    Kwarg::Int(i) => Ok(*i as f64),
                    Kwarg::Float(f) => Ok(*f),
                    _ => Err(self.bad("numbers")),
                })
                .collect(),
            _ => Err(self.bad("a list")),
        }
    }
}

/// A network's static kwargs and its components', in that order (a component's override the parent's
/// where both set one, as the official functions pass them down).
pub(super) fn kwargs_of(n: &Network) -> Vec<&(String, Kwarg)> {
    let mut kwargs: Vec<&(String, Kwarg)> = n.static_kwargs.iter().collect();
    for comp in &n.components {
        kwargs.extend(&comp.static_kwargs);
    }
    kwargs
}

pub(super) fn check_resolution(r: usize) -> Result<(), String> {
    if r < 4 || !r.is_power_of_two() {
        return Err(format!("resolution {r} is not a power of two ≥ 4"));
    }
    Ok(())
}

/// `Deref`/`DerefMut` of a builder struct to its `ops: Ops` field, so that its methods call the op
/// helpers as their own.
macro_rules! deref_ops {
    ($builder:ident) => {
        impl std::ops::Deref for $builder<'_> {
            type Target = $crate::pickle::ops::Ops;
            fn deref(&self) -> &Self::Target {
                &self.ops
            }
        }
        impl std::ops::DerefMut for $builder<'_> {
            fn deref_mut(&mut self) -> &mut Self::Target {
                &mut self.ops
            }
        }
    };
}
pub(super) use deref_ops;

/// The builder's verdict: every variable where the architecture has it, or all that differs.
pub(super) fn fits(func: &str, problems: &[String]) -> Result<(), String> {
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the variables do not fit the {func} architecture its kwargs describe: {}",
        problems.join("; ")
    ))
}
