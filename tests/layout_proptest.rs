//! Property: random small NCHW graphs give the same outputs before and after the layout pipeline
//! `fold, nchw-to-nhwc, fold, egraph`, by the reference interpreter (within 1e-4 × max |reference|).
//!
//! A graph is a chain of steps on one NCHW value: unary and binary elementwise ops (against constants of
//! every broadcast shape StyleGAN uses, or against an earlier value of the same shape), StyleGAN's leaky
//! relu in all operand orders, transposes by any permutation, reshapes that only move size-1
//! dimensions, NCHW Conv2D / DepthwiseConv2dNative / BiasAdd, reductions with keep_dims, Pad, Slice,
//! StridedSlice (strides ±1, 2, begin/end masks) and ConcatV2 with a constant or an earlier value. A step that
//! does not fit the current shape (a VALID conv larger than the image) is skipped. The run uses a fixed
//! seed so CI is deterministic; set `PROPTEST_RNG_SEED` (and `PROPTEST_CASES`) to explore further.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use sgc_ir::testing::Rng;
use sgc_ir::{interp, Attr, DType, Graph, Node, Op, Output, Tensor, ValueInfo, ValueRef};
use sgc_passes::PassManager;

const PIPELINE: [&str; 4] = ["fold", "nchw-to-nhwc", "fold", "egraph"];
const TOLERANCE: f64 = 1e-4;

#[derive(Debug, Clone)]
enum Step {
    Unary(usize),
    /// `Maximum(x, Mul(x, 0.2))`, operand orders chosen by the two flags.
    LeakyRelu(bool, bool),
    /// op, which constant shape (full, [1,C,1,1], [1,1,H,W], scalar), constant on the left
    BinaryConst(usize, usize, bool),
    /// op, which earlier value (mod the number of values of the current shape)
    BinaryPrev(usize, usize),
    /// a permutation of 4 dimensions, by index
    Transpose(usize),
    /// where the size-1 dimensions go (a seed)
    ReshapeSize1(u64),
    /// kernel size, output channels, stride, SAME
    Conv(usize, usize, usize, bool),
    Depthwise(bool),
    BiasAdd,
    /// axes mask (non-empty), Mean or Sum
    Reduce(u8, bool),
    /// constant padding before/after each dimension (a seed)
    Pad(u64),
    /// a window of every dimension (a seed); strided (with masks and negative strides) or not
    Slice(u64, bool),
    /// which dimension, which earlier value (as for BinaryPrev), constant on the left
    Concat(usize, usize, bool),
}

const UNARY: [Op; 5] = [Op::Neg, Op::Relu, Op::Tanh, Op::Sigmoid, Op::Square];
const BINARY: [Op; 5] = [Op::AddV2, Op::Sub, Op::Mul, Op::Maximum, Op::Minimum];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => (0..UNARY.len()).prop_map(Step::Unary),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(a, b)| Step::LeakyRelu(a, b)),
        2 => (0..BINARY.len(), 0..4usize, any::<bool>())
            .prop_map(|(o, k, l)| Step::BinaryConst(o, k, l)),
        1 => (0..BINARY.len(), 0..8usize).prop_map(|(o, p)| Step::BinaryPrev(o, p)),
        3 => (0..24usize).prop_map(Step::Transpose),
        2 => any::<u64>().prop_map(Step::ReshapeSize1),
        3 => (prop_oneof![Just(1usize), Just(3)], 1..4usize, 1..3usize, any::<bool>())
            .prop_map(|(k, c, s, same)| Step::Conv(k, c, s, same)),
        1 => any::<bool>().prop_map(Step::Depthwise),
        1 => Just(Step::BiasAdd),
        1 => (1..16u8, any::<bool>()).prop_map(|(m, mean)| Step::Reduce(m, mean)),
        1 => any::<u64>().prop_map(Step::Pad),
        1 => (any::<u64>(), any::<bool>()).prop_map(|(seed, strided)| Step::Slice(seed, strided)),
        1 => (0..4usize, 0..8usize, any::<bool>()).prop_map(|(d, p, c)| Step::Concat(d, p, c)),
    ]
}

#[derive(Debug, Clone)]
struct Recipe {
    shape: [usize; 4],
    steps: Vec<Step>,
    /// Also output the value before the last step.
    two_outputs: bool,
    seed: u64,
}

fn recipe() -> impl Strategy<Value = Recipe> {
    (
        (1..3usize, 1..4usize, 1..5usize, 1..5usize),
        prop::collection::vec(step(), 1..8),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(|((n, c, h, w), steps, two_outputs, seed)| Recipe {
            shape: [n, c, h, w],
            steps,
            two_outputs,
            seed,
        })
}

fn permutations() -> Vec<[usize; 4]> {
    let mut out = Vec::new();
    for a in 0..4 {
        for b in 0..4 {
            for c in 0..4 {
                for d in 0..4 {
                    let p = [a, b, c, d];
                    if (0..4).all(|i| p.contains(&i)) {
                        out.push(p);
                    }
                }
            }
        }
    }
    out
}

/// Builds the graph of a recipe, with shapes inferred as it goes.
struct Builder {
    g: Graph,
    rng: Rng,
    next: usize,
}

impl Builder {
    fn name(&mut self, base: &str) -> String {
        self.next += 1;
        format!("{base}_{}", self.next)
    }

    fn shape(&self, v: ValueRef) -> Vec<usize> {
        self.g.info(v).static_shape().expect("static shapes")
    }

    fn constant(&mut self, t: Tensor) -> ValueRef {
        let name = self.name("c");
        self.g.add_const(name, t).into()
    }

    fn ints(&mut self, v: &[i32]) -> ValueRef {
        self.constant(Tensor::from_vec(vec![v.len()], v.to_vec()))
    }

    fn op(&mut self, op: Op, args: &[ValueRef], attrs: &[(&str, Attr)]) -> ValueRef {
        let mut node = Node::new(self.name(op.name()), op);
        node.attrs.set("T", Attr::Type(DType::F32));
        for (k, v) in attrs {
            node.attrs.set(*k, v.clone());
        }
        let infos: Vec<ValueInfo> = args.iter().map(|&a| self.g.info(a).clone()).collect();
        let consts: Vec<Option<&Tensor>> = args.iter().map(|&a| self.g.const_value(a)).collect();
        node.outputs = sgc_ir::shape::infer(&node, &infos, &consts).expect("the graph infers");
        let n = self.g.add(node);
        for (slot, &a) in args.iter().enumerate() {
            self.g.connect(a, n, slot);
        }
        n.into()
    }

    fn nchw() -> (&'static str, Attr) {
        ("data_format", Attr::Str("NCHW".into()))
    }

    /// Applies one step to `x`; `None` when the step does not fit.
    fn apply(&mut self, x: ValueRef, step: &Step, values: &[ValueRef]) -> Option<ValueRef> {
        let s = self.shape(x);
        let rank4 = s.len() == 4;
        Some(match *step {
            Step::Unary(i) => self.op(UNARY[i].clone(), &[x], &[]),
            Step::LeakyRelu(x_first, x_left) => {
                let a = self.constant(Tensor::scalar(0.2f32));
                let m = if x_left {
                    self.op(Op::Mul, &[x, a], &[])
                } else {
                    self.op(Op::Mul, &[a, x], &[])
                };
                if x_first {
                    self.op(Op::Maximum, &[x, m], &[])
                } else {
                    self.op(Op::Maximum, &[m, x], &[])
                }
            }
            Step::BinaryConst(o, kind, left) => {
                let shape = match kind {
                    0 => s.clone(),
                    1 if rank4 => vec![1, s[1], 1, 1],
                    2 if rank4 => vec![1, 1, s[2], s[3]],
                    _ => vec![],
                };
                let t = self.rng.tensor(shape);
                let c = self.constant(t);
                let args = if left { [c, x] } else { [x, c] };
                self.op(BINARY[o].clone(), &args, &[])
            }
            Step::BinaryPrev(o, pick) => {
                let same: Vec<ValueRef> = values
                    .iter()
                    .copied()
                    .filter(|&v| v != x && self.shape(v) == s)
                    .collect();
                if same.is_empty() {
                    return None;
                }
                let y = same[pick % same.len()];
                self.op(BINARY[o].clone(), &[y, x], &[])
            }
            Step::Transpose(p) => {
                if !rank4 {
                    return None;
                }
                let perm = permutations()[p];
                let perm: Vec<i32> = perm.iter().map(|&d| d as i32).collect();
                let p = self.ints(&perm);
                self.op(Op::Transpose, &[x, p], &[("Tperm", Attr::Type(DType::I32))])
            }
            Step::ReshapeSize1(seed) => {
                let big: Vec<usize> = s.iter().copied().filter(|&d| d != 1).collect();
                let ones = s.len() - big.len();
                if ones == 0 || !rank4 {
                    return None;
                }
                // Choose which of the 4 positions hold the size-1 dims.
                let mut positions: Vec<usize> = (0..4).collect();
                let mut r = seed;
                for i in (1..4).rev() {
                    positions.swap(i, (r % (i as u64 + 1)) as usize);
                    r /= 5;
                }
                let ones_at = &positions[..ones];
                let mut big = big.into_iter();
                let target: Vec<i32> = (0..4)
                    .map(|i| {
                        if ones_at.contains(&i) {
                            1
                        } else {
                            big.next().expect("count") as i32
                        }
                    })
                    .collect();
                let shape = self.ints(&target);
                self.op(
                    Op::Reshape,
                    &[x, shape],
                    &[("Tshape", Attr::Type(DType::I32))],
                )
            }
            Step::Conv(k, cout, stride, same) => {
                if !rank4 || (!same && (s[2] < k || s[3] < k)) {
                    return None;
                }
                let w = self.rng.tensor(vec![k, k, s[1], cout]);
                let w = self.constant(w);
                let st = stride as i64;
                self.op(
                    Op::Conv2D,
                    &[x, w],
                    &[
                        Self::nchw(),
                        ("strides", Attr::Ints(vec![1, 1, st, st])),
                        (
                            "padding",
                            Attr::Str(if same { "SAME" } else { "VALID" }.into()),
                        ),
                    ],
                )
            }
            Step::Depthwise(same) => {
                if !rank4 || (!same && (s[2] < 3 || s[3] < 3)) {
                    return None;
                }
                let w = self.rng.tensor(vec![3, 3, s[1], 1]);
                let w = self.constant(w);
                self.op(
                    Op::DepthwiseConv2dNative,
                    &[x, w],
                    &[
                        Self::nchw(),
                        ("strides", Attr::Ints(vec![1, 1, 1, 1])),
                        (
                            "padding",
                            Attr::Str(if same { "SAME" } else { "VALID" }.into()),
                        ),
                    ],
                )
            }
            Step::BiasAdd => {
                if !rank4 {
                    return None;
                }
                let b = self.rng.tensor(vec![s[1]]);
                let b = self.constant(b);
                self.op(Op::BiasAdd, &[x, b], &[Self::nchw()])
            }
            Step::Pad(seed) => {
                if !rank4 {
                    return None;
                }
                let pads: Vec<i32> = (0..8).map(|i| ((seed >> (2 * i)) % 3) as i32).collect();
                let pads = self.constant(Tensor::from_vec(vec![4, 2], pads));
                self.op(
                    Op::Pad,
                    &[x, pads],
                    &[("Tpaddings", Attr::Type(DType::I32))],
                )
            }
            Step::Slice(seed, strided) => {
                if !rank4 {
                    return None;
                }
                let mut r = seed;
                let mut take = |n: usize| {
                    let v = (r % n as u64) as usize;
                    r /= n as u64;
                    v
                };
                let begin: Vec<i32> = s.iter().map(|&d| take(d) as i32).collect();
                let size: Vec<i32> = s
                    .iter()
                    .zip(&begin)
                    .map(|(&d, &b)| 1 + take(d - b as usize) as i32)
                    .collect();
                if !strided {
                    let (b, z) = (self.ints(&begin), self.ints(&size));
                    return Some(self.op(
                        Op::Slice,
                        &[x, b, z],
                        &[("Index", Attr::Type(DType::I32))],
                    ));
                }
                // Strides 1, 2 or -1; masks on some dims (begin_mask: from the start, end_mask: to the end).
                let strides: Vec<i32> = (0..4).map(|_| [1, 2, -1][take(3)]).collect();
                let (mut starts, mut ends) = (Vec::new(), Vec::new());
                for i in 0..4 {
                    let (lo, hi) = (begin[i], begin[i] + size[i]);
                    if strides[i] > 0 {
                        starts.push(lo);
                        ends.push(hi);
                    } else {
                        starts.push(hi - 1);
                        ends.push(lo - 1 - s[i] as i32); // negative: counted from the end
                    }
                }
                let (bm, em) = (take(16) as i64, take(16) as i64);
                let (b, e, st) = (self.ints(&starts), self.ints(&ends), self.ints(&strides));
                self.op(
                    Op::StridedSlice,
                    &[x, b, e, st],
                    &[
                        ("Index", Attr::Type(DType::I32)),
                        ("begin_mask", Attr::Int(bm)),
                        ("end_mask", Attr::Int(em)),
                    ],
                )
            }
            Step::Concat(dim, pick, constant) => {
                if !rank4 {
                    return None;
                }
                let other = if constant {
                    let t = self.rng.tensor(s.clone());
                    self.constant(t)
                } else {
                    let same: Vec<ValueRef> = values
                        .iter()
                        .copied()
                        .filter(|&v| v != x && self.shape(v) == s)
                        .collect();
                    *same.get(pick % same.len().max(1))?
                };
                let axis = self.constant(Tensor::scalar(dim as i32));
                self.op(
                    Op::ConcatV2,
                    &[other, x, axis],
                    &[("Tidx", Attr::Type(DType::I32))],
                )
            }
            Step::Reduce(mask, mean) => {
                if !rank4 {
                    return None;
                }
                let axes: Vec<i32> = (0..4).filter(|i| mask & (1 << i) != 0).collect();
                let a = self.ints(&axes);
                let op = if mean { Op::Mean } else { Op::Sum };
                self.op(
                    op,
                    &[x, a],
                    &[
                        ("keep_dims", Attr::Bool(true)),
                        ("Tidx", Attr::Type(DType::I32)),
                    ],
                )
            }
        })
    }
}

/// The graph of a recipe and the random value of its input.
fn build(r: &Recipe) -> (Graph, Tensor) {
    let mut b = Builder {
        g: Graph::new(),
        rng: Rng::new(r.seed),
        next: 0,
    };
    let mut x = Node::new("x", Op::Placeholder).with_attr("dtype", Attr::Type(DType::F32));
    x.outputs = vec![ValueInfo::new(
        DType::F32,
        r.shape.iter().map(|&d| d as i64).collect(),
    )];
    let x = b.g.add(x);
    b.g.inputs.push(x);
    let mut values: Vec<ValueRef> = vec![x.into()];
    let mut cur: ValueRef = x.into();
    for s in &r.steps {
        if let Some(next) = b.apply(cur, s, &values) {
            values.push(next);
            cur = next;
        }
    }
    b.g.outputs.push(Output {
        name: "y".into(),
        value: cur,
    });
    if r.two_outputs && values.len() > 2 {
        b.g.outputs.push(Output {
            name: "z".into(),
            value: values[values.len() - 2],
        });
    }
    let input = b.rng.tensor(r.shape.to_vec());
    (b.g, input)
}

fn run(g: &Graph, input: &Tensor) -> Result<Vec<Tensor>, String> {
    let x = g.inputs.iter().copied().find(|&n| g.node(n).name == "x");
    let feeds: Vec<_> = x.map(|n| (n, input.clone())).into_iter().collect();
    let fetch: Vec<_> = g.outputs.iter().map(|o| o.value).collect();
    interp::run(g, &feeds, &fetch).map_err(|e| e.to_string())
}

fn check(r: &Recipe) -> Result<(), String> {
    let (graph, input) = build(r);
    let reference = run(&graph, &input).map_err(|e| format!("reference run: {e}"))?;
    let mut lowered = graph.clone();
    PassManager::from_names(&PIPELINE)?
        .run(&mut lowered, |_, _| {})
        .map_err(|e| format!("{e}\n{}", graph.dump()))?;
    let got = run(&lowered, &input).map_err(|e| format!("lowered run: {e}\n{}", lowered.dump()))?;
    for ((o, a), b) in lowered.outputs.iter().zip(&reference).zip(&got) {
        if a.shape() != b.shape() {
            return Err(format!(
                "output {}: shape {:?}, reference {:?}\nbefore:\n{}after:\n{}",
                o.name,
                b.shape(),
                a.shape(),
                graph.dump(),
                lowered.dump()
            ));
        }
        let (a, b) = (a.to_f64s()?, b.to_f64s()?);
        let scale = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let tol = TOLERANCE * scale.max(1e-30);
        let close = |p: f64, q: f64| (p - q).abs() <= tol; // false for NaN
        if let Some(i) = (0..a.len()).find(|&i| !close(a[i], b[i])) {
            return Err(format!(
                "output {}: element {i} is {}, reference {} (tolerance {tol:e})\nbefore:\n{}after:\n{}",
                o.name,
                b[i],
                a[i],
                graph.dump(),
                lowered.dump()
            ));
        }
    }
    Ok(())
}

/// 128 cases from a fixed seed, unless `PROPTEST_CASES` / `PROPTEST_RNG_SEED` say otherwise.
fn config() -> Config {
    let default = Config::default();
    let set = |name: &str| std::env::var_os(name).is_some();
    Config {
        cases: if set("PROPTEST_CASES") {
            default.cases
        } else {
            128
        },
        rng_seed: if set("PROPTEST_RNG_SEED") {
            default.rng_seed
        } else {
            RngSeed::Fixed(0x5ec_1a70)
        },
        failure_persistence: None,
        ..default
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn layout_pipeline_keeps_outputs(r in recipe()) {
        if let Err(e) = check(&r) {
            prop_assert!(false, "{}", e);
        }
    }
}

/// Found with `PROPTEST_RNG_SEED=13`: on size-1 dimensions transposes are reshapes, classes merge, and
/// one class held two equal StridedSlices with different masks; the rule took the other one's masks.
#[test]
fn strided_slice_takes_the_masks_of_the_node_it_matched() {
    let r = Recipe {
        shape: [2, 3, 1, 1],
        steps: vec![
            Step::Transpose(13),
            Step::BinaryConst(0, 1, false),
            Step::Transpose(6),
            Step::Slice(3283947647201320495, true),
        ],
        two_outputs: false,
        seed: 0,
    };
    check(&r).unwrap();
}
