//! What a graph's constants may be views of: a memory-mapped input file. Its pages are counted in the
//! process's memory once read, and stay so after the constants viewing them have been folded into new
//! ones (a StyleGAN weight times its run-time scale); [`Backing::release`] lets them go, and
//! [`Backing::release_bytes`] those under one constant (a weight a rule has just replaced by its
//! folded copy). Later reads of a constant still viewing the file read it again (from the page cache):
//! nothing changes but the memory held.

use std::fmt;
use std::sync::Arc;

/// A hook that drops the resident pages of the graph's input file (see the module doc): called with
/// `None` for the whole file, with `Some(bytes)` for the pages under those bytes (nothing when they are
/// not the file's).
#[derive(Clone)]
pub struct Backing(Arc<Release>);

/// The hook's type: `None` for the whole file, `Some(bytes)` for the pages under them.
type Release = dyn Fn(Option<&[u8]>) + Send + Sync;

impl Backing {
    pub fn new(release: impl Fn(Option<&[u8]>) + Send + Sync + 'static) -> Self {
        Backing(Arc::new(release))
    }

    /// Drops every resident page of the file.
    pub fn release(&self) {
        (self.0)(None)
    }

    /// Drops the resident pages under `bytes`, if they are the file's.
    pub fn release_bytes(&self, bytes: &[u8]) {
        (self.0)(Some(bytes))
    }
}

impl fmt::Debug for Backing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Backing")
    }
}
