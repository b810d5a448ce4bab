//! Passes over the IR, and the pass manager that runs them.
//!
//! Each pass is one module with one job and its tests beside it. The default `lower` pipeline
//! ([`manager::lower_pipeline`]) takes a frozen TensorFlow graph to the form the TFLite backend accepts:
//!
//! 1. [`freeze`]: training leftovers of freezing (RefSwitch, AssignSub, `Assign` on a constant …) become
//!    plain dataflow or disappear;
//! 2. [`dce`]: only what the chosen outputs need is kept;
//! 3. [`fold`]: static shapes are inferred and constant sub-graphs evaluated by the reference interpreter;
//! 4. [`control_flow`]: `Switch`/`Merge` with a constant predicate are resolved (TFLite has no TF1 control
//!    flow), then control edges are dropped;
//! 5. [`identity`]: pass-through ops go;
//! 6. [`layout`]: NCHW ops become NHWC ops between transposes;
//! 7. [`egraph`]: equality saturation over the rules of `sgc-rules` (leaky relu, transposes moved until
//!    they cancel, upscale → resize) and extraction of the cheapest equal graph.
//!
//! [`io`] chooses the graph's inputs and outputs before the pipeline runs.

pub mod batch_norm;
pub mod control_flow;
pub mod dce;
pub mod egraph;
pub mod expand;
pub mod fold;
pub mod freeze;
pub mod identity;
pub mod input_shape;
pub mod io;
pub mod layout;
pub mod manager;
pub mod stylegan;
pub mod subpixel;

use sgc_ir::{Graph, IrError, NodeIndex};

pub use manager::{lower_pipeline, PassManager};

/// What a pass did, for the pass report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PassReport {
    /// Nodes rewritten, added or removed.
    pub changes: usize,
    /// Lines worth telling the user.
    pub notes: Vec<String>,
}

impl PassReport {
    pub fn changed(changes: usize) -> Self {
        PassReport {
            changes,
            notes: Vec::new(),
        }
    }
}

/// Runs `rewrite` on every node `matched` accepts, in the order of the graph's nodes at the start: the
/// shape of the passes that rewrite one node (and its private inputs) at a time.
pub(crate) fn rewrite_each<M>(
    graph: &mut Graph,
    matched: impl Fn(&Graph, NodeIndex) -> Option<M>,
    rewrite: impl Fn(&mut Graph, NodeIndex, M) -> Result<(), IrError>,
) -> Result<PassReport, IrError> {
    let nodes: Vec<NodeIndex> = graph.node_indices().collect();
    let mut changed = 0;
    for n in nodes {
        if let Some(m) = matched(graph, n) {
            rewrite(graph, n, m)?;
            changed += 1;
        }
    }
    Ok(PassReport::changed(changed))
}

/// A pass failed; the error names the pass, and the IR error inside names the node.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("pass {pass}: {error}")]
pub struct PassError {
    pub pass: &'static str,
    pub error: IrError,
}

/// One transformation of the graph.
pub trait Pass {
    /// A short kebab-case name, used by `--passes` and `--dump-after`.
    fn name(&self) -> &'static str;
    /// One line on what the pass does.
    fn description(&self) -> &'static str;
    fn run(&self, graph: &mut Graph) -> Result<PassReport, IrError>;
}
