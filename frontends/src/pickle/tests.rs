use bytes::Bytes;

use super::*;

fn read(data: &[u8]) -> Result<Pickle, PickleError> {
    parse(
        &Bytes::copy_from_slice(data),
        STYLEGAN_GLOBALS,
        Limits::default(),
    )
}

/// `pickle.dumps(x, protocol=4)` of small values, written out by hand (opcode by opcode).
#[test]
fn plain_values() {
    // (1, -2, 300, 70000, 2**40, -1.5, True, None, 'é', b'ab', [7], {'k': 8})
    let mut d = vec![0x80, 4, b'('];
    d.extend([b'K', 1]); // BININT1 1
    d.extend([b'J', 0xfe, 0xff, 0xff, 0xff]); // BININT -2
    d.extend([b'M', 0x2c, 0x01]); // BININT2 300
    d.extend([b'J', 0x70, 0x11, 0x01, 0x00]); // BININT 70000
    d.extend([0x8a, 6, 0, 0, 0, 0, 0, 1]); // LONG1 2**40
    d.push(b'G');
    d.extend((-1.5f64).to_be_bytes()); // BINFLOAT
    d.extend([0x88, b'N']); // NEWTRUE, NONE
    d.extend([0x8c, 2, 0xc3, 0xa9]); // SHORT_BINUNICODE 'é'
    d.extend([b'C', 2, b'a', b'b']); // SHORT_BINBYTES
    d.extend([b']', b'K', 7, b'a']); // EMPTY_LIST, 7, APPEND
    d.extend([b'}', 0x8c, 1, b'k', b'K', 8, b's']); // EMPTY_DICT, 'k', 8, SETITEM
    d.extend([b't', b'.']);
    let p = read(&d).unwrap();
    let items = p.items(p.root).unwrap();
    let nodes: Vec<&Node> = items.iter().map(|&i| p.node(i)).collect();
    assert_eq!(nodes[0], &Node::Int(1));
    assert_eq!(nodes[1], &Node::Int(-2));
    assert_eq!(nodes[2], &Node::Int(300));
    assert_eq!(nodes[3], &Node::Int(70000));
    assert_eq!(nodes[4], &Node::Int(1 << 40));
    assert_eq!(nodes[5], &Node::Float(-1.5));
    assert_eq!(nodes[6], &Node::Bool(true));
    assert_eq!(nodes[7], &Node::None);
    assert_eq!(nodes[8], &Node::Str("é".into()));
    assert_eq!(nodes[9], &Node::Bytes(Bytes::from_static(b"ab")));
    let Node::List(l) = nodes[10] else { panic!() };
    assert_eq!(p.node(l[0]), &Node::Int(7));
    assert_eq!(
        p.get(items[11], "k").map(|v| p.node(v)),
        Some(&Node::Int(8))
    );
}

#[test]
fn negative_long_and_tuples() {
    // LONG1 of -129 (two bytes 0x7f 0xff), TUPLE2, STOP.
    let p = read(&[0x80, 4, 0x8a, 2, 0x7f, 0xff, b'N', 0x86, b'.']).unwrap();
    let items = p.items(p.root).unwrap();
    assert_eq!(p.node(items[0]), &Node::Int(-129));
    assert_eq!(items.len(), 2);
}

/// Objects are shared: a memoized list appended to later is the same list where it is fetched again.
#[test]
fn memo_refers_to_the_object_not_a_copy() {
    // l = []; memoize; BINGET 0 (a second reference); APPEND 5 to the first; TUPLE2.
    let p = read(&[0x80, 4, b']', 0x94, b'h', 0, b'K', 5, b'a', 0x86, b'.']).unwrap();
    let items = p.items(p.root).unwrap();
    assert_eq!(items[0], items[1]);
    assert_eq!(p.items(items[0]).unwrap().len(), 1);
}

#[test]
fn allowed_globals_become_objects_and_nothing_is_called() {
    // numpy.dtype('f4', False, True) with BUILD state (3, '<').
    let mut d = vec![0x80, 4];
    for s in ["numpy", "dtype", "f4"] {
        d.extend([0x8c, s.len() as u8]);
        d.extend(s.as_bytes());
        if s == "dtype" {
            d.push(0x93); // STACK_GLOBAL
        }
    }
    d.extend([0x89, 0x88, 0x87, b'R']); // False, True, TUPLE3, REDUCE
    d.extend([b'K', 3, 0x8c, 1, b'<', 0x86, b'b', b'.']); // (3, '<'), BUILD
    let p = read(&d).unwrap();
    let Node::Object { class, args, state } = p.node(p.root) else {
        panic!("{:?}", p.node(p.root))
    };
    assert_eq!(class.to_string(), "numpy.dtype");
    assert_eq!(p.str(p.items(*args).unwrap()[0]), Some("f4"));
    assert!(state.is_some());
}

fn error(data: &[u8]) -> PickleError {
    read(data).unwrap_err()
}

#[test]
fn hostile_and_broken_input_is_refused_at_its_offset() {
    let global = |m: &str, n: &str| {
        let mut d = vec![0x80, 4];
        for s in [m, n] {
            d.extend([0x8c, s.len() as u8]);
            d.extend(s.as_bytes());
        }
        d.push(0x93);
        d
    };
    let e = error(&global("posix", "system"));
    assert_eq!(e.offset, 17);
    assert!(e.what.contains("global posix.system is not allowed"), "{e}");
    let mut old = b"\x80\x02cbuiltins\neval\n".to_vec();
    old.push(b'.');
    let e = error(&old);
    assert_eq!(
        (e.offset, e.what.contains("builtins.eval")),
        (2, true),
        "{e}"
    );

    for (data, offset, says) in [
        (&b"\x80\x04h\x07."[..], 2, "memo entry 7 is not defined"),
        (b"\x80\x04\xff.", 2, "unknown opcode 0xff"),
        (b"\x80\x04i", 2, "opcode INST"),
        (b"\x80\x04Q", 2, "opcode BINPERSID"),
        (b"\x80\x01.", 0, "pickle protocol 1"),
        (
            b"\x80\x04B\xff\xff\x00\x00ab",
            2,
            "truncated: BINBYTES wants 65535 bytes, 2 left",
        ),
        (
            b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00N.",
            2,
            "FRAME of 16 bytes",
        ),
        (b"\x80\x04N", 3, "ends without STOP"),
        (b"\x80\x04.", 2, "STOP on an empty stack"),
        (b"\x80\x04NN\x81.", 4, "NEWOBJ of None, not a class"),
        (b"\x80\x04Nt.", 3, "TUPLE without a MARK"),
        (b"\x80\x04K\x01Nb.", 5, "BUILD of an int"),
        (b"\x80\x04}(K\x01u.", 6, "odd number"),
        (b"\x80\x04\x8c\x02\xff\xfe.", 2, "invalid UTF-8"),
    ] {
        let e = error(data);
        assert!(e.what.contains(says), "{data:?}: {e}");
        assert_eq!(e.offset, offset, "{data:?}: {e}");
    }
}

#[test]
fn limits_bound_what_a_file_can_make() {
    let limits = Limits {
        nodes: 4,
        memo: 1,
        stack: 3,
    };
    let read = |d: &[u8]| parse(&Bytes::copy_from_slice(d), &[], limits);
    let says = |d: &[u8], what: &str| {
        let e = read(d).unwrap_err();
        assert!(e.what.contains(what), "{d:?}: {e}");
    };
    // A list and four Nones appended one by one: the stack stays short, the values do not.
    says(b"\x80\x04]NaNaNaNa.", "more than 4 values");
    says(b"\x80\x04N\x94N\x94.", "more than 1 memo");
    says(b"\x80\x04NNNN.", "stack deeper than 3");
    // A container longer than the stack bound, through repeated APPENDs.
    let limits = Limits {
        nodes: 100,
        ..limits
    };
    let e = parse(&Bytes::from_static(b"\x80\x04]NaNaNaNa."), &[], limits).unwrap_err();
    assert!(e.what.contains("a list longer than 3"), "{e}");
}

#[test]
fn any_prefix_of_a_pickle_is_an_error_not_a_panic() {
    let mut d = vec![0x80, 4, 0x95, 12, 0, 0, 0, 0, 0, 0, 0, b'('];
    d.extend([
        0x8c, 3, b'a', b'b', b'c', b'B', 2, 0, 0, 0, 1, 2, b'e', b'.',
    ]);
    d.truncate(d.len() - 2); // make it (str, bytes) TUPLE
    d.extend([b't', b'.']);
    assert!(read(&d).is_ok());
    for n in 0..d.len() {
        assert!(read(&d[..n]).is_err(), "prefix of {n} bytes");
    }
}
