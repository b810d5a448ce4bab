//! Bytes in, IR out: TensorFlow GraphDefs (`.pb` binary, `.pbtxt` text) to an [`sgc_ir::Graph`].
//!
//! ```no_run
//! let graph = sgc_frontends::load(std::path::Path::new("model.pb"))?;
//! println!("{}", graph.dump());
//! # Ok::<(), sgc_frontends::FrontendError>(())
//! ```
//!
//! Binary graphs are memory-mapped and decoded from a [`Bytes`] over the map, so every tensor's
//! `tensor_content` reaches the IR as a slice of the mapping: the weights are never copied (the mapping
//! lives as long as any tensor that points into it). What the import does with nodes, inputs, attributes
//! and tensors is described in [`graphdef`].
//!
//! - [`load`]: a file, by extension (`.pbtxt`/`.txt` is text, anything else binary).
//! - [`graph_from_pb`], [`graph_from_pbtxt`], [`graph_from_graphdef`]: in-memory input.
//! - [`tf`]: the prost types of TensorFlow's schema (for building GraphDefs in tests and tools).
//!
//! Errors ([`FrontendError`]) name the file and, where one is involved, the node. No input makes the
//! import panic.

pub mod error;
pub mod export;
pub mod graphdef;
pub mod npy;
pub mod pbtxt;
pub mod pickle;
pub mod tf;

use std::fs::File;
use std::path::Path;

use bytes::Bytes;
use prost::Message;
use sgc_ir::{Backing, Graph};

pub use error::FrontendError;

/// The name in-memory binary input goes by in error messages.
pub const BYTES_ORIGIN: &str = "<bytes>";
/// The name in-memory text input goes by in error messages.
pub const TEXT_ORIGIN: &str = "<text>";

/// [`load`], with the choices a StyleGAN pickle offers (which network, run-time noise); giving any for
/// a GraphDef is an error.
///
/// Also returns lines for the user (for a pickle: the network built; see [`pickle::graph_from_bytes`]).
pub fn load_network(
    path: &Path,
    options: &pickle::BuildOptions,
) -> Result<(Graph, Vec<String>), FrontendError> {
    let file = path.display().to_string();
    let mapped = (!is_text_path(path))
        .then(|| map_file_with_backing(path))
        .transpose()?;
    let (bytes, backing) = match mapped {
        Some((b, backing)) => (Some(b), Some(backing)),
        None => (None, None),
    };
    let with_backing = |mut g: Graph| {
        g.backing = backing.clone();
        // Reading the file touched some of it (headers, small arrays): start the passes without.
        g.release_backing();
        g
    };
    if let Some(b) = bytes.as_ref().filter(|b| pickle::looks_like_pickle(b)) {
        // A StyleGAN pickle: its graph is built from the network's kwargs and variables.
        let (g, notes) = pickle::graph_from_bytes(b.clone(), &file, options)?;
        return Ok((with_backing(g), notes));
    }
    if *options != pickle::BuildOptions::default() {
        return Err(FrontendError::Pickle {
            file,
            offset: None,
            what: "--network and --randomize-noise apply to StyleGAN pickles, and this is not a pickle (a GraphDef holds one graph)".into(),
        });
    }
    let graph = match bytes {
        Some(b) => graphdef::import(decode_pb(b, &file)?, &file)?,
        None => load_text(path, &file)?,
    };
    Ok((with_backing(graph), vec![]))
}

/// Loads a graph file: a StyleGAN pickle (by content: its `Gs` network, built by [`pickle`]), text
/// format GraphDef when the extension is `.pbtxt` or `.txt`, binary GraphDef otherwise.
pub fn load(path: &Path) -> Result<Graph, FrontendError> {
    Ok(load_network(path, &pickle::BuildOptions::default())?.0)
}

/// A text-format GraphDef file.
fn load_text(path: &Path, file: &str) -> Result<Graph, FrontendError> {
    let file = file.to_string();
    let raw = std::fs::read(path).map_err(|source| FrontendError::Read {
        file: file.clone(),
        source,
    })?;
    let text = std::str::from_utf8(&raw).map_err(|e| {
        let (line, column) = pbtxt::line_column(
            // Everything before the bad byte is valid UTF-8.
            std::str::from_utf8(&raw[..e.valid_up_to()]).unwrap_or_default(),
            e.valid_up_to(),
        );
        FrontendError::Text {
            file: file.clone(),
            line,
            column,
            message: "the file is not UTF-8 text".into(),
        }
    })?;
    graphdef::import(pbtxt::parse(text, &file)?, &file)
}

/// Imports a binary GraphDef. Tensors point into `bytes` (no copy).
pub fn graph_from_pb(bytes: Bytes) -> Result<Graph, FrontendError> {
    graphdef::import(decode_pb(bytes, BYTES_ORIGIN)?, BYTES_ORIGIN)
}

/// Imports a text-format GraphDef.
pub fn graph_from_pbtxt(text: &str) -> Result<Graph, FrontendError> {
    graphdef::import(pbtxt::parse(text, TEXT_ORIGIN)?, TEXT_ORIGIN)
}

/// Imports an already decoded GraphDef.
pub fn graph_from_graphdef(def: tf::GraphDef) -> Result<Graph, FrontendError> {
    graphdef::import(def, BYTES_ORIGIN)
}

/// Decodes a binary GraphDef; `file` names the source in errors. `bytes` fields share `bytes`' buffer.
pub fn decode_pb(bytes: Bytes, file: &str) -> Result<tf::GraphDef, FrontendError> {
    tf::GraphDef::decode(bytes).map_err(|source| FrontendError::Decode {
        file: file.into(),
        source,
    })
}

/// True for paths that [`load`] reads as text format.
pub fn is_text_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("pbtxt") || e.eq_ignore_ascii_case("txt"))
}

/// Memory-maps a file read-only and wraps the map in [`Bytes`] (which owns it). An empty file is an error.
///
/// As with any memory map, the file must not be truncated or rewritten while the graph is alive.
pub fn map_file(path: &Path) -> Result<Bytes, FrontendError> {
    Ok(map_file_with_backing(path)?.0)
}

/// [`map_file`], with the [`Backing`] that releases the map's resident pages.
pub fn map_file_with_backing(path: &Path) -> Result<(Bytes, Backing), FrontendError> {
    let read_err = |source| FrontendError::Read {
        file: path.display().to_string(),
        source,
    };
    let f = File::open(path).map_err(read_err)?;
    let len = f.metadata().map_err(read_err)?.len();
    if len == 0 {
        return Err(read_err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the file is empty",
        )));
    }
    // SAFETY: the map is read-only; the caller is told not to modify the file while the graph lives.
    let map = std::sync::Arc::new(unsafe { memmap2::Mmap::map(&f) }.map_err(read_err)?);
    let pages = std::sync::Arc::downgrade(&map);
    let backing = Backing::new(move |bytes: Option<&[u8]>| {
        let Some(map) = pages.upgrade() else {
            return;
        };
        // The range of the map under `bytes` (memmap2 widens it to whole pages).
        let range = match bytes {
            None => Some((0, map.len())),
            Some(b) => {
                let start = (b.as_ptr() as usize).checked_sub(map.as_ptr() as usize);
                start
                    .filter(|&s| s + b.len() <= map.len())
                    .map(|s| (s, b.len()))
            }
        };
        if let Some((_offset, _len)) = range {
            // SAFETY: the map is read-only and the file is not modified while the graph lives (see
            // above): dropping its pages only makes the next read of them fetch the same bytes again.
            #[cfg(unix)]
            let _ = unsafe {
                map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, _offset, _len)
            };
        }
    });
    Ok((Bytes::from_owner(SharedMap(map)), backing))
}

/// The map, shared with its [`Backing`] (which holds it weakly: the graph's constants keep it alive).
struct SharedMap(std::sync::Arc<memmap2::Mmap>);

impl AsRef<[u8]> for SharedMap {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests;
