//! A pickle reader that runs nothing: the opcode machine of protocols 2–5 interpreted into a graph of
//! [`Node`]s, with every global checked against an allow-list as it is named — a global outside it
//! (`os.system`, `builtins.eval` …) stops the read at its byte offset before anything else happens.
//! What the allowed globals mean (a numpy array, a StyleGAN `Network`) is for the caller to read from
//! the nodes; nothing is called or constructed here.
//!
//! Bytes payloads (numpy array data) are slices of the input [`Bytes`]: a memory-mapped file is never
//! copied.
//!
//! Why not a crate: `serde-pickle` copies every bytes payload into a `Vec` and has no class/REDUCE
//! nodes to read numpy arrays and `Network` objects from; candle's pickle reader comes with a tensor
//! library and lets any global through. Neither reports byte offsets.

mod emit;
pub mod g_main;
pub mod g_style;
pub mod network;
pub mod numpy;
mod opcodes;
mod ops;
#[cfg(test)]
mod tests;

use std::path::Path;

use bytes::Bytes;

pub use g_style::BuildOptions;
pub use network::{Kwarg, Network};
pub use opcodes::parse;

use crate::FrontendError;

/// The StyleGAN networks of a pickle file, memory-mapped (variables are views of the map), read
/// with [`STYLEGAN_GLOBALS`] allowed and nothing run.
pub fn read_networks(path: &Path) -> Result<Vec<Network>, FrontendError> {
    networks_from_bytes(crate::map_file(path)?, &path.display().to_string())
}

/// [`read_networks`] of bytes in memory; `file` names them in errors.
pub fn networks_from_bytes(data: Bytes, file: &str) -> Result<Vec<Network>, FrontendError> {
    let file = file.to_string();
    let p =
        parse(&data, STYLEGAN_GLOBALS, Limits::default()).map_err(|e| FrontendError::Pickle {
            file: file.clone(),
            offset: Some(e.offset),
            what: e.what,
        })?;
    network::networks(&p).map_err(|what| FrontendError::Pickle {
        file,
        offset: None,
        what,
    })
}

/// The graph of network `options.network` (a path such as `Gs`, `G`, `Gs/synthesis`; default `Gs`,
/// else the one network) of a StyleGAN pickle, built from its kwargs and variables ([`g_style`]); weights are views
/// of the memory-mapped file.
///
/// Also returns lines for the user: which network was built, and whether its module source is an
/// official release's.
pub fn graph_from_bytes(
    data: Bytes,
    file: &str,
    options: &BuildOptions,
) -> Result<(sgc_ir::Graph, Vec<String>), FrontendError> {
    let which = options.network.as_deref();
    let file = file.to_string();
    let networks = networks_from_bytes(data, &file)?;
    let err = |what: String| FrontendError::Pickle {
        file: file.clone(),
        offset: None,
        what,
    };
    let chosen = match which {
        Some(w) => Network::find(&networks, w),
        None => Network::find(&networks, "Gs").or(match networks.as_slice() {
            [one] => Some(one),
            _ => None,
        }),
    };
    let net = chosen.ok_or_else(|| {
        let mut all = Vec::new();
        fn walk<'a>(n: &'a [Network], out: &mut Vec<&'a str>) {
            for x in n {
                out.push(&x.path);
                walk(&x.components, out);
            }
        }
        walk(&networks, &mut all);
        err(format!(
            "no network {} (the pickle has {})",
            which.unwrap_or("Gs"),
            all.join(", ")
        ))
    })?;
    // A StyleGAN2 pickle's networks (and the G_mapping inside its G_main) are built by g_main.
    let root = net.path.split('/').next().unwrap_or(&net.path);
    let stylegan2 = Network::find(&networks, root).is_some_and(g_main::is_stylegan2);
    let def = match stylegan2 {
        true if options.randomize_noise => {
            return Err(err(format!(
                "{}: --randomize-noise is not built for StyleGAN2 pickles yet (the stored noise maps are used)",
                net.path
            )))
        }
        true => g_main::graph_def(net),
        false => g_style::graph_def(net, options),
    }
    .map_err(err)?;
    let variables: usize = std::iter::once(net)
        .chain(&net.components)
        .map(|n| n.variables.len())
        .sum();
    let mut notes = vec![format!(
        "built {} ({}(){}) from the pickle: {variables} variables, each where the architecture has it",
        net.path,
        net.build_func_name,
        net.resolution()
            .map_or(String::new(), |r| format!(", {r}×{r} px"))
    )];
    if net.known_source().is_none() {
        notes.push(format!(
            "warning: {}'s module source (sha256 {}) is not an official release's; its kwargs and variables fit the official architecture",
            net.path, net.source_sha256
        ));
    }
    Ok((crate::graphdef::import(def, &file)?, notes))
}

/// Whether `data` starts like a pickle of protocol 2 to 5 (`PROTO n`), whatever the file is called.
pub fn looks_like_pickle(data: &[u8]) -> bool {
    matches!(data, [0x80, 2..=5, ..])
}

/// The index of a node in [`Pickle::nodes`].
pub type Id = usize;

/// One Python value of the pickle. Containers hold [`Id`]s: objects are shared, and mutated after
/// they are memoized (APPENDS, SETITEMS, BUILD), as Python's are.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A slice of the input.
    Bytes(Bytes),
    Tuple(Vec<Id>),
    List(Vec<Id>),
    /// Key–value pairs in the order the pickle set them (also `collections.OrderedDict`).
    Dict(Vec<(Id, Id)>),
    /// An allowed global (a class or function), named, never resolved.
    Global(Global),
    /// What REDUCE (`callable(*args)`) or NEWOBJ (`cls.__new__(cls, *args)`) of an allowed global would
    /// have made, with the state a BUILD gave it. `args` is the tuple node (shared, never copied: a
    /// file could otherwise make one long tuple the arguments of many objects).
    Object {
        class: Global,
        args: Id,
        state: Option<Id>,
    },
}

/// `module.name` of a global.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Global {
    pub module: String,
    pub name: String,
}

impl std::fmt::Display for Global {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.module, self.name)
    }
}

/// A parsed pickle: its nodes and the one STOP left on the stack.
#[derive(Debug, Clone)]
pub struct Pickle {
    pub nodes: Vec<Node>,
    pub root: Id,
}

impl Pickle {
    pub fn node(&self, id: Id) -> &Node {
        &self.nodes[id]
    }

    /// The string of node `id`, if it is one.
    pub fn str(&self, id: Id) -> Option<&str> {
        match self.node(id) {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The items of a tuple or list.
    pub fn items(&self, id: Id) -> Option<&[Id]> {
        match self.node(id) {
            Node::Tuple(v) | Node::List(v) => Some(v),
            _ => None,
        }
    }

    /// The value of `key` in dict `id` (string keys).
    pub fn get(&self, id: Id, key: &str) -> Option<Id> {
        match self.node(id) {
            Node::Dict(pairs) => pairs
                .iter()
                .rev()
                .find(|&&(k, _)| self.str(k) == Some(key))
                .map(|&(_, v)| v),
            _ => None,
        }
    }
}

/// Why a pickle was refused: what, at which byte of the input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("byte {offset}: {what}")]
pub struct PickleError {
    pub offset: usize,
    pub what: String,
}

/// The globals a reader may name, as `(module, name)`: the classes and functions a pickle of the
/// StyleGAN network code uses (see `../shared/notes/stylegan-pkl-facts.md`). Nothing is ever called:
/// these only become [`Node::Global`]s and [`Node::Object`]s for the caller to interpret.
pub const STYLEGAN_GLOBALS: &[(&str, &str)] = &[
    ("dnnlib.tflib.network", "Network"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("collections", "OrderedDict"),
    ("_codecs", "encode"),
];

/// Bounds on what a pickle may make, so that a hostile file fails cleanly instead of exhausting memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Nodes in all (values, containers, objects).
    pub nodes: usize,
    /// Memo entries.
    pub memo: usize,
    /// Items on the stack and in one container.
    pub stack: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // An official 1024 px (G, D, Gs) pickle has ~10,000 opcodes; these leave a wide margin.
        Limits {
            nodes: 10_000_000,
            memo: 10_000_000,
            stack: 10_000_000,
        }
    }
}
