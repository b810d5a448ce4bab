//! `sgc inspect X.pkl`: what a StyleGAN pickle holds — its networks, their build functions, static
//! kwargs, module source hash (an official release's or not), variables and resolution — read
//! without building or running anything.

use std::fmt::Write;

use serde_json::json;
use sgc_frontends::pickle::Network;

/// The text listing: one block per network, components indented under their parent.
pub fn text(file: &str, networks: &[Network]) -> String {
    let mut out = format!("{file}: {} network(s)\n", networks.len());
    for n in networks {
        block(&mut out, n, 0);
    }
    out
}

fn block(out: &mut String, n: &Network, depth: usize) {
    let pad = "  ".repeat(depth);
    let source = match n.known_source() {
        Some(what) => what.to_string(),
        None => "unknown source: not an official release's module".into(),
    };
    let _ = writeln!(
        out,
        "{pad}{} ({}, {}(), version {}){}",
        n.path,
        n.name,
        n.build_func_name,
        n.version,
        n.resolution()
            .map_or(String::new(), |r| format!(", {r}×{r} px"))
    );
    let _ = writeln!(
        out,
        "{pad}  source: sha256 {} ({} bytes): {source}",
        n.source_sha256, n.source_len
    );
    let kwargs: Vec<String> = n
        .static_kwargs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let _ = writeln!(out, "{pad}  static kwargs: {}", kwargs.join(", "));
    let _ = writeln!(
        out,
        "{pad}  variables: {} ({} values, {:.2} MB)",
        n.variables.len(),
        n.variables.iter().map(|(_, t)| t.numel()).sum::<usize>(),
        n.variable_bytes() as f64 / 1e6
    );
    for c in &n.components {
        block(out, c, depth + 1);
    }
}

/// The JSON listing: an array of networks, each with its components nested.
pub fn json(networks: &[Network]) -> serde_json::Value {
    serde_json::Value::Array(networks.iter().map(network_json).collect())
}

fn network_json(n: &Network) -> serde_json::Value {
    let kwargs: serde_json::Map<String, serde_json::Value> = n
        .static_kwargs
        .iter()
        .map(|(k, v)| (k.clone(), kwarg_json(v)))
        .collect();
    json!({
        "path": n.path,
        "name": n.name,
        "build_func_name": n.build_func_name,
        "version": n.version,
        "resolution": n.resolution(),
        "source_sha256": n.source_sha256,
        "source_bytes": n.source_len,
        "known_source": n.known_source(),
        "static_kwargs": kwargs,
        "variables": n.variables.iter().map(|(name, t)| json!({
            "name": name,
            "shape": t.shape(),
            "dtype": t.dtype().to_string(),
        })).collect::<Vec<_>>(),
        "variable_bytes": n.variable_bytes(),
        "components": n.components.iter().map(network_json).collect::<Vec<_>>(),
    })
}

fn kwarg_json(v: &sgc_frontends::pickle::Kwarg) -> serde_json::Value {
    use sgc_frontends::pickle::Kwarg;
    match v {
        Kwarg::None => serde_json::Value::Null,
        Kwarg::Bool(b) => json!(b),
        Kwarg::Int(i) => json!(i),
        Kwarg::Float(f) => json!(f),
        Kwarg::Str(s) => json!(s),
        Kwarg::List(items) => serde_json::Value::Array(items.iter().map(kwarg_json).collect()),
    }
}
