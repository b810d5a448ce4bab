//! The pass manager: runs passes in order, reports what each did, and can hand the IR to a callback after
//! any pass (the `--dump-after` of the command line).

use sgc_ir::Graph;

use crate::{control_flow, dce, fold, freeze, identity, layout, Pass, PassError, PassReport};

/// Every pass sgc has, by name.
pub fn all_passes() -> Vec<Box<dyn Pass>> {
    vec![
        Box::new(freeze::FreezeFixes),
        Box::new(dce::DeadCode),
        Box::new(fold::Fold),
        Box::new(control_flow::FoldSwitchMerge),
        Box::new(control_flow::DropControlEdges),
        Box::new(identity::RemoveIdentity),
        Box::new(layout::NchwToNhwc),
    ]
}

/// The passes `sgc lower` runs by default, in order.
pub fn lower_pipeline() -> PassManager {
    let names = [
        "freeze-fixes",
        "dce",
        "fold",
        "fold-switch-merge",
        "drop-control-edges",
        "remove-identity",
        "dce",
        "fold",
        "nchw-to-nhwc",
        "fold",
        "dce",
    ];
    PassManager::from_names(&names).expect("the default pipeline names known passes")
}

/// A sequence of passes.
pub struct PassManager {
    passes: Vec<Box<dyn Pass>>,
}

/// The outcome of one pass in a run.
#[derive(Debug, Clone)]
pub struct PassRun {
    pub pass: &'static str,
    pub report: PassReport,
    pub nodes_after: usize,
}

impl PassManager {
    /// A pipeline from pass names; an unknown name is an error that lists the known ones.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self, String> {
        let mut passes = Vec::new();
        for name in names {
            let name = name.as_ref();
            let pass = all_passes()
                .into_iter()
                .find(|p| p.name() == name)
                .ok_or_else(|| {
                    let known: Vec<_> = all_passes().iter().map(|p| p.name()).collect();
                    format!("unknown pass '{name}' (known: {})", known.join(", "))
                })?;
            passes.push(pass);
        }
        Ok(PassManager { passes })
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.passes.iter().map(|p| p.name()).collect()
    }

    /// Runs every pass; `after` sees the graph after each one.
    pub fn run(
        &self,
        graph: &mut Graph,
        mut after: impl FnMut(&str, &Graph),
    ) -> Result<Vec<PassRun>, PassError> {
        let mut runs = Vec::new();
        for pass in &self.passes {
            let report = pass.run(graph).map_err(|error| PassError {
                pass: pass.name(),
                error,
            })?;
            after(pass.name(), graph);
            runs.push(PassRun {
                pass: pass.name(),
                report,
                nodes_after: graph.node_count(),
            });
        }
        Ok(runs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_names_are_unique_and_described() {
        let passes = all_passes();
        let mut names: Vec<_> = passes.iter().map(|p| p.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), passes.len());
        assert!(passes.iter().all(|p| !p.description().is_empty()));
    }

    #[test]
    fn unknown_pass_is_an_error_listing_known_ones() {
        let err = PassManager::from_names(&["nope"]).err().unwrap();
        assert!(
            err.contains("unknown pass 'nope'") && err.contains("fold"),
            "{err}"
        );
        assert_eq!(lower_pipeline().names()[0], "freeze-fixes");
    }
}
