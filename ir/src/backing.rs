//! What a graph's constants may be views of: a memory-mapped input file. Its pages are counted in the
//! process's memory once read, and stay so after the constants viewing them have been folded into new
//! ones (a StyleGAN weight times its run-time scale); [`Backing::release`] lets them go. Later reads
//! of a constant still viewing the file read it again (from the page cache): nothing changes but the
//! memory held.

use std::fmt;
use std::sync::Arc;

/// A hook that drops the resident pages of the graph's input file (see the module doc).
#[derive(Clone)]
pub struct Backing(Arc<dyn Fn() + Send + Sync>);

impl Backing {
    pub fn new(release: impl Fn() + Send + Sync + 'static) -> Self {
        Backing(Arc::new(release))
    }

    pub fn release(&self) {
        (self.0)()
    }
}

impl fmt::Debug for Backing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Backing")
    }
}
