//! The Markdown report: the summary, then a table with one row per op type and fate.

use std::fmt::Write;

use super::{OpEntry, Report};

/// Escapes what would break a table cell.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('\n', " ")
}

fn table(out: &mut String, entries: &[OpEntry]) {
    out.push_str(
        "| op | count | fate | nodes | path | e.g. |\n| --- | ---: | --- | ---: | --- | --- |\n",
    );
    for e in entries {
        for (i, f) in e.fates.iter().enumerate() {
            let (op, count) = if i == 0 {
                (format!("`{}`", cell(&e.op)), e.count.to_string())
            } else {
                (String::new(), String::new())
            };
            let _ = writeln!(
                out,
                "| {op} | {count} | {} | {} | {} | {} |",
                cell(&f.fate.describe()),
                f.count,
                cell(&f.path.join("; ")),
                cell(&f.examples.join(", "))
            );
        }
    }
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Op coverage of `{}`\n", cell(&report.file));
    let _ = writeln!(out, "- inputs: {}", cell(&report.inputs.join(", ")));
    let _ = writeln!(out, "- outputs: {}", cell(&report.outputs.join(", ")));
    let _ = writeln!(
        out,
        "- nodes: {} before the passes, {} after",
        report.nodes_before, report.nodes_after
    );
    let _ = writeln!(out, "- **summary**: {}", report.summary_line());
    match &report.lowering_error {
        Some(e) => {
            let _ = writeln!(out, "- **lowering fails**: {}", cell(e));
        }
        None => out.push_str("- lowering: ok\n"),
    }
    for e in &report.errors {
        let _ = writeln!(out, "- error: {}", cell(e));
    }
    out.push_str("\n## Passes\n\n| pass | removed | folded | retyped | added | nodes after | error |\n| --- | ---: | ---: | ---: | ---: | ---: | --- |\n");
    for p in &report.passes {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            p.pass,
            p.removed,
            p.folded,
            p.retyped,
            p.added,
            p.nodes_after,
            cell(p.error.as_deref().unwrap_or(""))
        );
    }
    out.push_str("\n## Op types of the input graph\n\n");
    table(&mut out, &report.ops);
    if !report.introduced.is_empty() {
        out.push_str("\n## Ops added by the passes\n\n");
        table(&mut out, &report.introduced);
    }
    out
}
