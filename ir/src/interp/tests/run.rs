//! Whole graphs through `interp::run` (dead values, control flow), and robustness on nonsense inputs.

use super::*;

fn add_node(g: &mut Graph, name: &str, op: Op, ins: &[ValueRef]) -> NodeIndex {
    let n = g.add(Node::new(name, op));
    for (i, &v) in ins.iter().enumerate() {
        g.connect(v, n, i);
    }
    n
}

#[test]
fn run_follows_switch_and_merge() {
    let mut g = Graph::new();
    let x = g.add(Node::new("x", Op::Placeholder));
    let p = g.add(Node::new("p", Op::Placeholder));
    let sw = add_node(&mut g, "sw", Op::Switch, &[x.into(), p.into()]);
    let two = g.add_const("two", Tensor::scalar(2.0f32));
    let ten = g.add_const("ten", Tensor::scalar(10.0f32));
    // false branch: x * 2; true branch: x + 10.
    let fb = add_node(&mut g, "fb", Op::Mul, &[ValueRef::new(sw, 0), two.into()]);
    let tb = add_node(&mut g, "tb", Op::Add, &[ValueRef::new(sw, 1), ten.into()]);
    let tb2 = add_node(&mut g, "tb2", Op::Neg, &[tb.into()]);
    let m = add_node(&mut g, "m", Op::Merge, &[fb.into(), tb2.into()]);
    let out = add_node(&mut g, "out", Op::Square, &[m.into()]);
    g.outputs.push(Output {
        name: "out".into(),
        value: out.into(),
    });
    let fetch = [out.into(), ValueRef::new(m, 1)];
    let feeds = |pv: bool| vec![(x, Tensor::scalar(3.0f32)), (p, Tensor::scalar(pv))];

    let r = run(&g, &feeds(false), &fetch).unwrap();
    assert_eq!(vals(&r[0]), vec![36.0]);
    assert_eq!(r[1].to_vec::<i32>().unwrap(), vec![0]);
    let r = run(&g, &feeds(true), &fetch).unwrap();
    assert_eq!(vals(&r[0]), vec![169.0]);
    assert_eq!(r[1].to_vec::<i32>().unwrap(), vec![1]);

    // The untaken branch is dead: fetching it is an error that names it.
    let e = run(&g, &feeds(true), &[fb.into()]).unwrap_err();
    assert!(e.to_string().contains("dead"), "{e}");
    assert!(e.to_string().contains("fb"), "{e}");
    let e = run(&g, &feeds(false), &[tb2.into()]).unwrap_err();
    assert!(e.to_string().contains("dead"), "{e}");

    // An unfed placeholder is an error naming it; a non-bool predicate too.
    let e = run(&g, &[(x, Tensor::scalar(3.0f32))], &fetch).unwrap_err();
    assert!(e.to_string().contains("'p'"), "{e}");
    let e = run(
        &g,
        &[(x, Tensor::scalar(3.0f32)), (p, Tensor::scalar(1.0f32))],
        &fetch,
    )
    .unwrap_err();
    assert!(e.to_string().contains("'sw'"), "{e}");
}

#[test]
fn run_merge_of_all_dead_is_dead_and_control_edges_carry_nothing() {
    let mut g = Graph::new();
    let x = g.add_const("x", Tensor::scalar(1.0f32));
    let p = g.add_const("p", Tensor::scalar(true));
    let sw = add_node(&mut g, "sw", Op::Switch, &[x.into(), p.into()]);
    let a = add_node(&mut g, "a", Op::Identity, &[ValueRef::new(sw, 0)]);
    let m = add_node(&mut g, "m", Op::Merge, &[a.into(), ValueRef::new(sw, 0)]);
    let after = add_node(&mut g, "after", Op::Identity, &[m.into()]);
    assert!(run(&g, &[], &[after.into()]).is_err());
    let live = add_node(&mut g, "live", Op::Merge, &[a.into(), ValueRef::new(sw, 1)]);
    let r = run(&g, &[], &[live.into(), ValueRef::new(live, 1)]).unwrap();
    assert_eq!(vals(&r[0]), vec![1.0]);
    assert_eq!(r[1].to_vec::<i32>().unwrap(), vec![1]);

    // A placeholder reached only through a control edge is never evaluated.
    let unfed = g.add(Node::new("unfed", Op::Placeholder));
    let y = add_node(&mut g, "y", Op::Neg, &[x.into()]);
    g.connect_control(unfed, y);
    let r = run(&g, &[], &[y.into(), y.into()]).unwrap();
    assert_eq!(vals(&r[1]), vec![-1.0]);
}

#[test]
fn run_feeds_cut_the_graph_and_values_are_shared() {
    let mut g = Graph::new();
    let p = g.add(Node::new("p", Op::Placeholder));
    let c = g.add_const("c", Tensor::scalar(5.0f32));
    let d = add_node(&mut g, "d", Op::PlaceholderWithDefault, &[c.into()]);
    let s = add_node(&mut g, "s", Op::Mul, &[d.into(), d.into()]);
    let t = add_node(&mut g, "t", Op::Add, &[s.into(), d.into()]);
    assert_eq!(vals(&run(&g, &[], &[t.into()]).unwrap()[0]), vec![30.0]);
    let r = run(&g, &[(d, Tensor::scalar(2.0f32))], &[t.into(), s.into()]).unwrap();
    assert_eq!(vals(&r[0]), vec![6.0]);
    assert_eq!(vals(&r[1]), vec![4.0]);
    // Evaluated nodes that do not exist, and cycles, are errors.
    let a = add_node(&mut g, "a", Op::Identity, &[]);
    let b = add_node(&mut g, "b", Op::Identity, &[a.into()]);
    g.connect(b.into(), a, 0);
    assert!(run(&g, &[], &[b.into()]).is_err());
    let _ = p;
}

// ---------------------------------------------------------------- robustness

/// Every op, on many combinations of small (often nonsensical) inputs and attributes: evaluation and
/// inference may refuse but never panic, and whenever evaluation succeeds, inference with the same
/// constant inputs succeeds and agrees with it.
#[test]
fn no_panics_and_inference_agrees_on_arbitrary_inputs() {
    let pool = vec![
        Tensor::scalar(1.5f32),
        Tensor::scalar(1i32),
        i32s(&[2, -1]),
        i32s(&[1, 2, 2, 1]),
        rand(&[1, 3, 3, 2], 1),
        Tensor::scalar(true),
        f(&[0], vec![]),
        Tensor::from_vec(vec![1], vec![-5i64]),
        rand(&[2, 2], 2),
        Tensor::from_vec(vec![2, 2], vec![0i32, 1, 1, 0]),
        Tensor::from_vec(vec![2], vec![true, false]),
    ];
    let attr_sets: Vec<Vec<(&str, Attr)>> = vec![
        vec![],
        vec![
            ("strides", ints(&[1, 2, 2, 1])),
            ("padding", s("SAME")),
            ("num_split", Attr::Int(2)),
            ("DstT", Attr::Type(DType::I32)),
            ("num", Attr::Int(2)),
            ("axis", Attr::Int(-1)),
            ("keep_dims", Attr::Bool(true)),
            ("shrink_axis_mask", Attr::Int(1)),
            ("new_axis_mask", Attr::Int(2)),
            ("ellipsis_mask", Attr::Int(1)),
            ("squeeze_dims", ints(&[0])),
            ("out_type", Attr::Type(DType::I64)),
            ("value", Attr::Tensor(Tensor::scalar(3i32))),
            ("dtype", Attr::Type(DType::F32)),
            ("shape", Attr::Shape(Some(vec![2, -1]))),
            ("transpose_a", Attr::Bool(true)),
            ("align_corners", Attr::Bool(true)),
        ],
        vec![
            ("strides", ints(&[1, 1, 1, 1])),
            ("dilations", ints(&[1, 1, 2, 2])),
            ("padding", s("VALID")),
            ("data_format", s("NCHW")),
            ("num_split", Attr::Int(0)),
            ("DstT", Attr::Type(DType::Bool)),
            ("axis", Attr::Int(7)),
            ("begin_mask", Attr::Int(3)),
            ("end_mask", Attr::Int(-1)),
            ("squeeze_dims", ints(&[5])),
            ("half_pixel_centers", Attr::Bool(true)),
            ("transpose_b", Attr::Bool(true)),
        ],
    ];
    let mut combos: Vec<Vec<Tensor>> = vec![vec![]];
    for k in 1..=4 {
        let p = if k <= 2 { pool.len() } else { 6 };
        let mut idx = vec![0usize; k];
        loop {
            combos.push(idx.iter().map(|&i| pool[i].clone()).collect());
            let mut d = k;
            loop {
                if d == 0 {
                    break;
                }
                d -= 1;
                idx[d] += 1;
                if idx[d] < p {
                    break;
                }
                idx[d] = 0;
                if d == 0 {
                    d = usize::MAX;
                    break;
                }
            }
            if d == usize::MAX {
                break;
            }
        }
    }
    let mut ok = 0;
    for op in Op::ALL {
        for attrs in &attr_sets {
            let n = node(op.clone(), attrs);
            for ins in &combos {
                let infos: Vec<ValueInfo> = ins.iter().map(info_of).collect();
                let consts: Vec<Option<&Tensor>> = ins.iter().map(Some).collect();
                let none: Vec<Option<&Tensor>> = vec![None; ins.len()];
                let unknown = vec![ValueInfo::default(); ins.len()];
                let _ = infer(&n, &infos, &none);
                let _ = infer(&n, &unknown, &none);
                let inferred = infer(&n, &infos, &consts);
                if let Ok(res) = eval(&n, ins) {
                    ok += 1;
                    let inferred = inferred.unwrap_or_else(|e| {
                        panic!("{op}: eval succeeded on {ins:?} but inference failed: {e}")
                    });
                    assert_eq!(inferred.len(), res.len(), "{op} on {ins:?}");
                    for (i, r) in inferred.iter().zip(&res) {
                        assert!(
                            compatible(i, &info_of(r)),
                            "{op} on {ins:?} with {attrs:?}: inferred {i}, got {}",
                            info_of(r)
                        );
                    }
                }
            }
        }
    }
    assert!(ok > 1000, "only {ok} evaluations succeeded");
}
