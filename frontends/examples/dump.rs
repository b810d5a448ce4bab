//! Imports a GraphDef and prints its dump and how long the import took:
//! `cargo run --release -p sgc-frontends --example dump -- path/to/graph.pb [--quiet]`.

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: dump <graph.pb|graph.pbtxt> [--quiet]");
        std::process::exit(2);
    };
    let quiet = args.next().as_deref() == Some("--quiet");
    let start = Instant::now();
    match sgc_frontends::load(std::path::Path::new(&path)) {
        Ok(g) => {
            let took = start.elapsed();
            if !quiet {
                print!("{}", g.dump());
            }
            eprintln!("{path}: {} nodes imported in {took:?}", g.node_count());
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
