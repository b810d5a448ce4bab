//! The driver of `sgc report`: load, select IO, run the passes without stopping at a failure, and build
//! the op-coverage report ([`sgc_backends::report`]) from the graph before and after them. Unlike
//! [`crate::lower`], a failing pass or an op that cannot be lowered is not an error here: the report says
//! what blocks. Only input that cannot be read (or bad options) is.

use std::collections::HashMap;
use std::path::Path;

use sgc_backends::report::dot::{render_svg, to_dot, Picture};
use sgc_backends::report::{self, Category, PassStep, Report};
use sgc_ir::{Graph, IrError, NodeIndex};
use sgc_passes::io::select_io;
use sgc_passes::manager::PassRun;

use crate::{Error, LowerOptions};

/// How many boxes a graph picture may have before it is collapsed by name scope.
pub const MAX_PICTURE_BOXES: usize = 60;

/// A report and the graphs it was made from (for the HTML pictures).
pub struct Reported {
    pub report: Report,
    pub before: Graph,
    pub after: Graph,
    categories: HashMap<NodeIndex, Category>,
}

/// The output formats of `sgc report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Md,
    Html,
}

impl Reported {
    /// Dot text of the graph before and after the passes (the latter coloured by fate).
    pub fn dots(&self) -> (String, String) {
        let title = |when: &str, g: &Graph| {
            format!("{} {when} ({} nodes)", self.report.file, g.node_count())
        };
        (
            to_dot(
                &self.before,
                &title("before the passes", &self.before),
                MAX_PICTURE_BOXES,
                &HashMap::new(),
            ),
            to_dot(
                &self.after,
                &title("after the passes", &self.after),
                MAX_PICTURE_BOXES,
                &self.categories,
            ),
        )
    }

    /// The report in `format`. HTML pictures come from Graphviz `dot` when it is installed.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => report::text::render(&self.report),
            Format::Json => report::json::render(&self.report),
            Format::Md => report::md::render(&self.report),
            Format::Html => {
                let (before, after) = self.dots();
                report::html::render(&self.report, &render_svg(&before), &render_svg(&after))
            }
        }
    }

    /// The HTML page with given pictures (tests: no dependence on an installed Graphviz).
    pub fn render_html_with(&self, before: &Picture, after: &Picture) -> String {
        report::html::render(&self.report, before, after)
    }
}

/// What a pass run did, in the report's terms.
fn step(run: &PassRun) -> PassStep {
    let p = &run.provenance;
    let error_node = run.error.as_ref().and_then(|e| match &e.error {
        IrError::UnknownOp { node, .. } => Some((node.clone(), true)),
        IrError::Node { node, .. } | IrError::Cycle { node } => Some((node.clone(), false)),
        #[allow(unreachable_patterns)]
        _ => None,
    });
    PassStep {
        pass: run.pass.to_string(),
        removed: p.removed.clone(),
        folded: p.constified.clone(),
        retyped: p
            .retyped
            .iter()
            .map(|(n, a, b)| (n.clone(), a.name().to_string(), b.name().to_string()))
            .collect(),
        added: p
            .added
            .iter()
            .map(|(n, op)| (n.clone(), op.name().to_string()))
            .collect(),
        nodes_after: run.nodes_after,
        error: run.error.as_ref().map(|e| e.to_string()),
        error_node,
    }
}

/// Builds the report of `input` with the options of `sgc lower` (passes, StyleGAN exports, target, and
/// which ops become custom ops: the report shows them as custom).
pub fn report(input: &Path, options: &LowerOptions) -> Result<Reported, Error> {
    let backend = &options.backend;
    let file = input.display().to_string();
    let (mut graph, _) = sgc_frontends::load_network(input, &options.pickle)?;
    select_io(&mut graph, &options.io).map_err(|error| Error::Graph {
        file: file.clone(),
        error,
    })?;
    let manager = crate::pass_manager(options)?;
    let before = graph.clone();
    let runs = manager.run_keep_going(&mut graph, |_, _| {});
    let steps: Vec<PassStep> = runs.iter().map(step).collect();
    let (report, categories) =
        report::build_with_categories(&file, &before, &graph, &steps, backend);
    Ok(Reported {
        report,
        before,
        after: graph,
        categories,
    })
}
