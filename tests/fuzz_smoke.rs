//! A short, deterministic fuzzing run in the normal test suite: a few thousand mutations of the fuzzing
//! seeds (`fuzz/seeds/`: small fixture graphs, the custom-op one among them, and StyleGAN-format
//! pickles) go through the same entry points as the cargo-fuzz targets in `fuzz/` (the `.pb` import,
//! the `.pbtxt` import, the whole lowering, and the pickle reader), and every input in the regression corpus `fuzz/regressions/<target>/` is replayed. Errors
//! are fine; a panic fails the test, and so does an input that takes more than a few seconds (a hang).
//! A failure names the target, the seed and the iteration, so `mutate` reproduces the input.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sgc_ir::testing::Rng;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `.pb` import (the `pb` fuzz target).
fn pb(data: &[u8]) {
    let _ = sgc_frontends::graph_from_pb(bytes::Bytes::copy_from_slice(data));
}

/// The `.pbtxt` import (the `pbtxt` fuzz target).
fn pbtxt(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = sgc_frontends::graph_from_pbtxt(text);
    }
}

/// The pickle reader and the StyleGAN network state (the `pickle` fuzz target).
fn pickle(data: &[u8]) {
    let _ =
        sgc_frontends::pickle::networks_from_bytes(bytes::Bytes::copy_from_slice(data), "<fuzz>");
}

/// The whole lowering (the `lower` fuzz target): the driver's own entry point.
fn lower(data: &[u8]) {
    sgc::fuzz_lower(data);
}

type Target = (&'static str, fn(&[u8]));
const TARGETS: [Target; 4] = [
    ("pb", pb),
    ("pbtxt", pbtxt),
    ("lower", lower),
    ("pickle", pickle),
];

/// Values that find edge cases in sizes, ports, dims and counts.
const INTERESTING: [&str; 10] = [
    "0",
    "-1",
    "-2",
    "1",
    "65536",
    "2147483647",
    "2147483648",
    "-9223372036854775808",
    "99999999999999999999",
    "1e39",
];

/// One to four random edits of `input`: bit flips, byte sets, deletions, duplications, splices from
/// `other`, and (for text) numbers replaced by interesting ones.
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8], text: bool) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        if v.is_empty() {
            v.push(rng.next_u64() as u8);
        }
        let len = v.len();
        let at = rng.below(len);
        let span = 1 + rng.below(len.min(64));
        match rng.below(if text { 7 } else { 6 }) {
            0 => v[at] ^= 1 << rng.below(8),
            1 => v[at] = rng.next_u64() as u8,
            2 => {
                v.drain(at..(at + span).min(len));
            }
            3 => {
                let piece = v[at..(at + span).min(len)].to_vec();
                let to = rng.below(v.len());
                v.splice(to..to, piece);
            }
            4 if !other.is_empty() => {
                let from = rng.below(other.len());
                let piece = &other[from..(from + span).min(other.len())];
                v.splice(at..at, piece.iter().copied());
            }
            5 => v.truncate(at),
            _ => {
                // Replace the number at or after `at` (text): digits and a leading '-'.
                if let Some(start) = v[at..].iter().position(u8::is_ascii_digit) {
                    let start = at + start;
                    let end = v[start..]
                        .iter()
                        .position(|b| !b.is_ascii_digit())
                        .map_or(v.len(), |e| start + e);
                    let start = if start > 0 && v[start - 1] == b'-' {
                        start - 1
                    } else {
                        start
                    };
                    let value = INTERESTING[rng.below(INTERESTING.len())].as_bytes();
                    v.splice(start..end, value.iter().copied());
                }
            }
        }
    }
    v
}

fn read_dir_sorted(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(d) => d
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file() && !p.ends_with("README.md"))
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// The seeds of a target: its `fuzz/seeds/<target>/` files (small fixture graphs, the custom-op one among
/// them).
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let out: Vec<Vec<u8>> = read_dir_sorted(&root().join("fuzz/seeds").join(target))
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert!(!out.is_empty(), "no seeds for {target}");
    out
}

/// Runs `f` on `input`, failing (with `what`) on a panic or when it takes longer than `limit`.
fn check(f: fn(&[u8]), input: &[u8], what: &dyn Fn() -> String, limit: Duration) {
    let start = Instant::now();
    if std::panic::catch_unwind(|| f(input)).is_err() {
        panic!("{} panicked (input of {} bytes)", what(), input.len());
    }
    let took = start.elapsed();
    assert!(took < limit, "{} took {took:?}: a hang?", what());
}

#[test]
fn the_regression_corpus_replays_without_panics() {
    for (name, f) in TARGETS {
        for path in read_dir_sorted(&root().join("fuzz/regressions").join(name)) {
            let data = std::fs::read(&path).unwrap();
            check(
                f,
                &data,
                &|| format!("{name}: {}", path.display()),
                Duration::from_secs(10),
            );
        }
    }
}

#[test]
fn mutated_fixture_graphs_give_errors_not_panics() {
    // Iterations per target: the lowering runs the whole pipeline, so fewer of those.
    let budget = [
        ("pb", 2500),
        ("pbtxt", 1200),
        ("lower", 800),
        ("pickle", 3000),
    ];
    for ((name, f), (_, iterations)) in TARGETS.into_iter().zip(budget) {
        let seeds = seeds(name);
        let text = name == "pbtxt";
        for (s, seed) in seeds.iter().enumerate() {
            check(
                f,
                seed,
                &|| format!("{name}: seed {s}"),
                Duration::from_secs(10),
            );
        }
        let mut rng = Rng::new(0x5eed_0000 + name.len() as u64);
        for i in 0..iterations {
            let s = rng.below(seeds.len());
            let other = &seeds[rng.below(seeds.len())];
            let text_mode = text || (name == "lower" && seeds[s].first() == Some(&1));
            let input = mutate(&mut rng, &seeds[s], other, text_mode);
            check(
                f,
                &input,
                &|| format!("{name}: iteration {i} (seed file {s})"),
                Duration::from_secs(5),
            );
        }
    }
}
