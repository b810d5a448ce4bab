//! The e-graph pass: equality saturation over [`sgc_rules`], then extraction of the cheapest graph.
//!
//! The runner stops at a node, iteration or time limit ([`EGraphLimits`]) or when no rule adds anything
//! (saturation); the pass report says which, how large the e-graph grew, and how often each rule fired.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use egg::{Runner, StopReason};
use sgc_ir::{Graph, IrError};
pub use sgc_rules::ConvKernels;
use sgc_rules::{convert, cost, rules_for, TfAnalysis, TfNode};

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

impl std::str::FromStr for EGraphLimits {
    type Err = String;

    /// `nodes=N,iterations=N,time-ms=N`, any subset; the rest keep their defaults.
    fn from_str(spec: &str) -> Result<Self, String> {
        let mut limits = EGraphLimits::default();
        for part in spec.split(',').filter(|p| !p.trim().is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("egraph limit '{part}': expected KEY=N"))?;
            let n: u64 = value
                .trim()
                .parse()
                .map_err(|_| format!("egraph limit '{part}': '{value}' is not a number"))?;
            match key.trim() {
                "nodes" => limits.nodes = n as usize,
                "iterations" => limits.iterations = n as usize,
                "time-ms" => limits.time = Duration::from_millis(n),
                other => {
                    return Err(format!(
                        "egraph limit '{other}': known limits are nodes, iterations, time-ms"
                    ))
                }
            }
        }
        Ok(limits)
    }
}

#[derive(Default)]
pub struct EGraphRewrite {
    pub limits: EGraphLimits,
    /// What will run the convolutions: which rules pay ([`rules_for`]).
    pub kernels: ConvKernels,
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
            .run(&rules_for(self.kernels));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_and_keep_defaults() {
        let l: EGraphLimits = "nodes=10,time-ms=250".parse().unwrap();
        assert_eq!(l.nodes, 10);
        assert_eq!(l.time, Duration::from_millis(250));
        assert_eq!(l.iterations, EGraphLimits::default().iterations);
        assert!("nodes".parse::<EGraphLimits>().is_err());
        assert!("speed=3".parse::<EGraphLimits>().is_err());
    }

    #[test]
    fn a_node_limit_stops_the_runner_and_says_so() {
        use sgc_ir::{Attr, DType, Node, Op, Output, Tensor, ValueInfo};
        let mut g = Graph::new();
        let mut x = Node::new("x", Op::Placeholder);
        x.outputs = vec![ValueInfo::new(DType::F32, vec![1, 2, 3, 4])];
        let x = g.add(x);
        g.inputs.push(x);
        let p = g.add_const("p", Tensor::from_vec(vec![4], vec![0i32, 2, 3, 1]));
        let t = g.add(Node::new("t", Op::Transpose).with_attr("Tperm", Attr::Type(DType::I32)));
        g.connect(x.into(), t, 0);
        g.connect(p.into(), t, 1);
        g.node_mut(t).outputs = vec![ValueInfo::new(DType::F32, vec![1, 3, 4, 2])];
        let n = g.add(Node::new("n", Op::Neg));
        g.connect(t.into(), n, 0);
        g.node_mut(n).outputs = vec![ValueInfo::new(DType::F32, vec![1, 3, 4, 2])];
        g.outputs.push(Output {
            name: "n".into(),
            value: n.into(),
        });
        let pass = EGraphRewrite {
            limits: "nodes=1".parse().unwrap(),
            ..Default::default()
        };
        let report = pass.run(&mut g).unwrap();
        assert!(report.notes[0].contains("node limit"), "{:?}", report.notes);
    }
}
