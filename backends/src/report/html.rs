//! The HTML report: one self-contained page (inline CSS, inline SVG, no scripts, no network) with the
//! summary, the table of op types and fates, and pictures of the graph before and after the passes.

use std::fmt::Write;

use super::dot::Picture;
use super::{Category, OpEntry, Report};

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
code{font:12px ui-monospace,monospace}
table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #ccc;padding:3px 8px;vertical-align:top;text-align:left}
th{background:#f4f4f4}td.n{text-align:right}
.summary{padding:.6em 1em;background:#f6f8fa;border:1px solid #ddd;display:inline-block}
.fail{color:#a00;font-weight:bold}
.builtin{background:#d8ecd8}.custom{background:#fde2b8}.tensor{background:#e4e8f0}
.folded,.removed{background:#eeeeee}.blocked{background:#f7b4b4}
.graph{overflow:auto;max-height:80vh;border:1px solid #ddd;padding:4px}
.graph svg{max-width:none}
.fit:checked+label+.graph svg{width:100%;height:auto}
.note{color:#666;font-style:italic}
";

fn table(out: &mut String, entries: &[OpEntry]) {
    out.push_str("<table>\n<tr><th>op</th><th>count</th><th>fate</th><th>nodes</th><th>path</th><th>e.g.</th></tr>\n");
    for e in entries {
        for (i, f) in e.fates.iter().enumerate() {
            out.push_str("<tr>");
            if i == 0 {
                let _ = write!(
                    out,
                    "<td rowspan=\"{n}\" class=\"{c}\"><code>{op}</code></td><td rowspan=\"{n}\" class=\"n\">{count}</td>",
                    n = e.fates.len(),
                    c = e.category.name(),
                    op = esc(&e.op),
                    count = e.count
                );
            }
            let _ = writeln!(
                out,
                "<td class=\"{}\">{}</td><td class=\"n\">{}</td><td>{}</td><td><code>{}</code></td></tr>",
                f.category.name(),
                esc(&f.fate.describe()),
                f.count,
                esc(&f.path.join("; ")),
                esc(&f.examples.join(", "))
            );
        }
    }
    out.push_str("</table>\n");
}

/// A picture under its heading (anchor `id`). Graphviz draws at 1:1 (legible labels), which for a whole
/// generator is several times wider than the page: the picture starts fitted to the page width, to see the
/// whole graph, and a checkbox (CSS only, no script) shows it at full size in its scrolling box.
fn picture(out: &mut String, id: &str, title: &str, p: &Picture) {
    let _ = writeln!(out, "<h2 id=\"{id}\">{}</h2>", esc(title));
    match p {
        Picture::Svg(svg) => {
            let _ = writeln!(
                out,
                "<input type=\"checkbox\" class=\"fit\" id=\"fit-{id}\" checked><label for=\"fit-{id}\"> fit to the page width (untick for full size)</label>\n<div class=\"graph\">{svg}</div>"
            );
        }
        Picture::Unavailable(why) => {
            let _ = writeln!(out, "<p class=\"note\">No picture: {}</p>", esc(why));
        }
    }
}

/// The page. `before` and `after` are the pictures of the graph before and after the passes.
pub fn render(report: &Report, before: &Picture, after: &Picture) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>sgc report: {}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>",
        esc(&report.file)
    );
    let _ = writeln!(
        out,
        "<h1>Op coverage of <code>{}</code></h1>",
        esc(&report.file)
    );
    out.push_str("<div class=\"summary\">\n");
    let _ = writeln!(
        out,
        "<div><b>summary:</b> {}</div>",
        esc(&report.summary_line())
    );
    let _ = writeln!(
        out,
        "<div>inputs: <code>{}</code></div>",
        esc(&report.inputs.join(", "))
    );
    let _ = writeln!(
        out,
        "<div>outputs: <code>{}</code></div>",
        esc(&report.outputs.join(", "))
    );
    let _ = writeln!(
        out,
        "<div>nodes: {} before the passes, {} after</div>",
        report.nodes_before, report.nodes_after
    );
    match &report.lowering_error {
        Some(e) => {
            let _ = writeln!(out, "<div class=\"fail\">lowering fails: {}</div>", esc(e));
        }
        None => out.push_str("<div>lowering: ok</div>\n"),
    }
    for e in &report.errors {
        let _ = writeln!(out, "<div class=\"fail\">error: {}</div>", esc(e));
    }
    out.push_str("</div>\n<p>Colours: ");
    for c in Category::ALL {
        let _ = write!(out, "<span class=\"{0}\">&nbsp;{0}&nbsp;</span> ", c.name());
    }
    out.push_str("</p>\n<h2>Op types of the input graph</h2>\n");
    table(&mut out, &report.ops);
    if !report.introduced.is_empty() {
        out.push_str("<h2>Ops added by the passes</h2>\n");
        table(&mut out, &report.introduced);
    }
    out.push_str("<h2>Passes</h2>\n<table>\n<tr><th>pass</th><th>removed</th><th>folded</th><th>retyped</th><th>added</th><th>nodes after</th><th>error</th></tr>\n");
    for p in &report.passes {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&p.pass),
            p.removed,
            p.folded,
            p.retyped,
            p.added,
            p.nodes_after,
            esc(p.error.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table>\n");
    picture(&mut out, "before", "The graph before the passes", before);
    picture(
        &mut out,
        "after",
        "The graph after the passes (coloured by fate)",
        after,
    );
    out.push_str("</body>\n</html>\n");
    out
}
