//! The plain-text report (the default of `sgc report`): a header, the summary line, then one block per op
//! type with one line per fate.

use std::fmt::Write;

use super::{OpEntry, Report};

fn entries(out: &mut String, entries: &[OpEntry]) {
    let width = entries.iter().map(|e| e.op.len()).max().unwrap_or(0).max(8);
    for e in entries {
        let _ = writeln!(
            out,
            "{:<width$} {:>5}  {:<7}  e.g. {}",
            e.op,
            e.count,
            e.category.name(),
            e.examples.join(", ")
        );
        for f in &e.fates {
            let _ = write!(
                out,
                "{:<width$} {:>5}  → {}",
                "",
                f.count,
                f.fate.describe()
            );
            if !f.path.is_empty() {
                let _ = write!(out, "  [{}]", f.path.join("; "));
            }
            if e.fates.len() > 1 {
                let _ = write!(out, "  e.g. {}", f.examples.join(", "));
            }
            out.push('\n');
        }
    }
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "op coverage of {}", report.file);
    let _ = writeln!(out, "inputs:  {}", report.inputs.join(", "));
    let _ = writeln!(out, "outputs: {}", report.outputs.join(", "));
    let _ = writeln!(
        out,
        "nodes:   {} before the passes, {} after",
        report.nodes_before, report.nodes_after
    );
    let passes: Vec<String> = report
        .passes
        .iter()
        .map(|p| {
            if p.error.is_some() {
                format!("{} (FAILED)", p.pass)
            } else {
                format!(
                    "{} (-{} ~{} +{})",
                    p.pass,
                    p.removed,
                    p.folded + p.retyped,
                    p.added
                )
            }
        })
        .collect();
    let _ = writeln!(
        out,
        "passes:  {}  (-removed ~folded/retyped +added)",
        passes.join(" → ")
    );
    let _ = writeln!(out, "summary: {}", report.summary_line());
    match &report.lowering_error {
        Some(e) => {
            let _ = writeln!(out, "lowering: fails: {e}");
        }
        None => {
            let _ = writeln!(out, "lowering: ok");
        }
    }
    for e in &report.errors {
        let _ = writeln!(out, "error:   {e}");
    }
    out.push('\n');
    entries(&mut out, &report.ops);
    if !report.introduced.is_empty() {
        let _ = writeln!(out, "\nadded by the passes:");
        entries(&mut out, &report.introduced);
    }
    out
}
