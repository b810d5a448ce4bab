//! The e-graph pass: equality saturation over [`sgc_rules`], then extraction of the cheapest graph.
//!
//! The runner stops at a node, iteration or time limit ([`EGraphLimits`]) or when no rule adds anything
//! (saturation); the pass report says which, how large the e-graph grew, and how often each rule fired.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use egg::{Runner, StopReason};
use sgc_ir::{Graph, IrError};
use sgc_rules::{all_rules, convert, cost, TfAnalysis, TfNode};

use crate::{Pass, PassReport};

/// Limits of one equality-saturation run.
#[derive(Debug, Clone, Copy)]
pub struct EGraphLimits {
    pub nodes: usize,
    pub iterations: usize,
    pub time: Duration,
}

impl Default for EGraphLimits {
    fn default() -> Self {
        EGraphLimits {
            nodes: 100_000,
            iterations: 30,
            time: Duration::from_secs(2),
        }
    }
}

#[derive(Default)]
pub struct EGraphRewrite {
    pub limits: EGraphLimits,
}

impl Pass for EGraphRewrite {
    fn name(&self) -> &'static str {
        "egraph"
    }

    fn description(&self) -> &'static str {
        "equality saturation (leaky relu, transposes through ops, upscale→resize) and cheapest-graph extraction"
    }

    fn run(&self, graph: &mut Graph) -> Result<PassReport, IrError> {
        let start = Instant::now();
        let mut imported = convert::import(graph)?;
        let imported_nodes = imported.egraph.total_number_of_nodes();
        let runner: Runner<TfNode, TfAnalysis> = Runner::default()
            .with_egraph(std::mem::take(&mut imported.egraph))
            .with_node_limit(self.limits.nodes)
            .with_iter_limit(self.limits.iterations)
            .with_time_limit(self.limits.time)
            .run(&all_rules());
        let mut fired: BTreeMap<String, usize> = BTreeMap::new();
        for it in &runner.iterations {
            for (rule, n) in &it.applied {
                *fired.entry(rule.to_string()).or_default() += n;
            }
        }
        let stop = match &runner.stop_reason {
            Some(StopReason::Saturated) => "saturated".to_string(),
            Some(StopReason::IterationLimit(n)) => format!("iteration limit ({n})"),
            Some(StopReason::NodeLimit(n)) => format!("node limit ({n})"),
            Some(StopReason::TimeLimit(s)) => format!("time limit ({s:.1} s)"),
            Some(StopReason::Other(s)) => s.clone(),
            None => "not run".to_string(),
        };
        let iterations = runner.iterations.len();
        imported.egraph = runner.egraph;
        // A run stopped by a limit can end between applying rules and restoring the invariants.
        imported.egraph.rebuild();
        let saturation = start.elapsed();
        let choice = cost::extract(&imported.egraph);
        let before = graph.node_count();
        *graph = convert::export(&imported, &choice)?;

        let mut report = PassReport::changed(before.abs_diff(graph.node_count()));
        report.notes.push(format!(
            "egraph: {stop} after {iterations} iterations; {} e-nodes in {} classes (from {imported_nodes}); \
             saturation {:.0} ms, total {:.0} ms",
            imported.egraph.total_number_of_nodes(),
            imported.egraph.number_of_classes(),
            saturation.as_secs_f64() * 1e3,
            start.elapsed().as_secs_f64() * 1e3,
        ));
        let fired: Vec<String> = fired
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| format!("{r} ×{n}"))
            .collect();
        if !fired.is_empty() {
            report
                .notes
                .push(format!("egraph rules fired: {}", fired.join(", ")));
        }
        Ok(report)
    }
}
