//! Graphviz pictures of a graph for the HTML report.
//!
//! Small graphs get one box per node. Larger ones are collapsed by TensorFlow name scope: starting from
//! the top-level scopes, the biggest scope is opened into its sub-scopes (`G_synthesis` →
//! `G_synthesis/8x8` …) as long as the picture stays within `max_boxes` boxes. Each box names its scope,
//! node count and most common ops; edges between boxes carry how many edges they stand for.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::process::{Command, Stdio};

use sgc_ir::{Graph, NodeIndex};

use super::Category;

/// A fill colour per fate category (the picture's legend matches the report's table).
fn colour(c: Category) -> &'static str {
    match c {
        Category::Builtin => "#d8ecd8",
        Category::Custom => "#fde2b8",
        Category::Tensor => "#e4e8f0",
        Category::Folded | Category::Removed => "#eeeeee",
        Category::Blocked => "#f7b4b4",
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The scope of `name` at depth `d` (its first `d` components), or the whole name when it is shallower.
fn group_key(name: &str, d: usize) -> &str {
    match name.match_indices('/').nth(d.saturating_sub(1)) {
        Some((i, _)) => &name[..i],
        None => name,
    }
}

/// A scope's depth and its nodes.
type Scope<'a> = (usize, Vec<(NodeIndex, &'a str)>);

/// Each node's box: every node its own when they fit; else scopes, starting from the top-level ones and
/// repeatedly opening the biggest scope into its sub-scopes while the picture stays within `max_boxes`
/// (so a flat scope of hundreds of nodes stays one box while deep, small scopes open up).
fn scope_groups<'a>(
    names: &[(NodeIndex, &'a str)],
    max_boxes: usize,
) -> HashMap<NodeIndex, &'a str> {
    if names.len() <= max_boxes {
        return names.iter().map(|&(n, name)| (n, name)).collect();
    }
    // key → (depth, members)
    let mut groups: BTreeMap<&'a str, Scope<'a>> = BTreeMap::new();
    for &(n, name) in names {
        groups
            .entry(group_key(name, 1))
            .or_insert((1, Vec::new()))
            .1
            .push((n, name));
    }
    let mut closed: std::collections::HashSet<&'a str> = std::collections::HashSet::new();
    while let Some((&key, _)) = groups
        .iter()
        .filter(|(k, (_, m))| m.len() > 1 && !closed.contains(*k))
        .max_by(|a, b| a.1 .1.len().cmp(&b.1 .1.len()).then(b.0.cmp(a.0)))
    {
        let (depth, members) = &groups[key];
        let mut children: BTreeMap<&'a str, Vec<(NodeIndex, &'a str)>> = BTreeMap::new();
        for &(n, name) in members {
            children
                .entry(group_key(name, depth + 1))
                .or_default()
                .push((n, name));
        }
        let depth = *depth;
        if children.len() == 1 && children.contains_key(key) {
            closed.insert(key);
            continue;
        }
        if groups.len() - 1 + children.len() > max_boxes {
            closed.insert(key);
            continue;
        }
        groups.remove(key);
        for (k, m) in children {
            groups
                .entry(k)
                .or_insert((depth + 1, Vec::new()))
                .1
                .extend(m);
        }
    }
    let mut of_node = HashMap::with_capacity(names.len());
    for (key, (_, members)) in groups {
        for (n, _) in members {
            of_node.insert(n, key);
        }
    }
    of_node
}

/// Dot text for `graph`. `categories` colours nodes (a group takes its most severe category).
pub fn to_dot(
    graph: &Graph,
    title: &str,
    max_boxes: usize,
    categories: &HashMap<NodeIndex, Category>,
) -> String {
    let names: Vec<(NodeIndex, &str)> = graph
        .node_indices()
        .map(|n| (n, graph.node(n).name.as_str()))
        .collect();
    let of_node = scope_groups(&names, max_boxes);
    struct Group<'a> {
        id: usize,
        nodes: usize,
        ops: BTreeMap<&'a str, usize>,
        category: Option<Category>,
    }
    let mut groups: BTreeMap<&str, Group> = BTreeMap::new();
    for &(n, _) in &names {
        let key = of_node[&n];
        let g = groups.entry(key).or_insert(Group {
            id: 0,
            nodes: 0,
            ops: BTreeMap::new(),
            category: None,
        });
        g.nodes += 1;
        *g.ops.entry(graph.node(n).op.name()).or_default() += 1;
        if let Some(&c) = categories.get(&n) {
            g.category = g.category.max(Some(c));
        }
    }
    for (i, g) in groups.values_mut().enumerate() {
        g.id = i;
    }

    let mut edges: BTreeMap<(usize, usize), (usize, bool)> = BTreeMap::new();
    for &(n, _) in &names {
        let to = groups[of_node[&n]].id;
        let data = graph.inputs(n).into_iter().map(|v| (v.node, true));
        let control = graph.control_inputs(n).into_iter().map(|c| (c, false));
        for (src, is_data) in data.chain(control) {
            let from = groups[of_node[&src]].id;
            if from != to {
                let e = edges.entry((from, to)).or_insert((0, false));
                e.0 += 1;
                e.1 |= is_data;
            }
        }
    }

    let mut out = String::new();
    out.push_str("digraph sgc {\n");
    out.push_str(&format!(
        "  graph [label=\"{}\", labelloc=t, rankdir=TB, fontname=\"Helvetica\", fontsize=12];\n",
        escape(title)
    ));
    out.push_str("  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=9, fillcolor=\"#ffffff\"];\n");
    out.push_str("  edge [color=\"#777777\", arrowsize=0.5];\n");
    for (key, g) in &groups {
        let label = if g.nodes == 1 {
            let op = g.ops.keys().next().copied().unwrap_or("");
            format!("{}\\n{}", escape(key), escape(op))
        } else {
            let mut ops: Vec<(&str, usize)> = g.ops.iter().map(|(o, c)| (*o, *c)).collect();
            ops.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            let top: Vec<String> = ops
                .iter()
                .take(3)
                .map(|(o, c)| format!("{o}×{c}"))
                .collect();
            let more = if ops.len() > 3 { " …" } else { "" };
            format!(
                "{}/\\n{} nodes: {}{more}",
                escape(key),
                g.nodes,
                escape(&top.join(" "))
            )
        };
        let fill = g.category.map(colour).unwrap_or("#ffffff");
        out.push_str(&format!(
            "  n{} [label=\"{label}\", fillcolor=\"{fill}\"];\n",
            g.id
        ));
    }
    for ((from, to), (count, data)) in &edges {
        let mut attrs = Vec::new();
        if *count > 1 {
            attrs.push(format!("label=\"{count}\", fontsize=8"));
        }
        if !data {
            attrs.push("style=dashed".to_string());
        }
        if attrs.is_empty() {
            out.push_str(&format!("  n{from} -> n{to};\n"));
        } else {
            out.push_str(&format!("  n{from} -> n{to} [{}];\n", attrs.join(", ")));
        }
    }
    out.push_str("}\n");
    out
}

/// A picture for the HTML page: an inline SVG, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum Picture {
    Svg(String),
    Unavailable(String),
}

/// Runs Graphviz `dot -Tsvg` on `dot_text` (the `SGC_DOT` environment variable names another binary).
pub fn render_svg(dot_text: &str) -> Picture {
    let bin = std::env::var("SGC_DOT").unwrap_or_else(|_| "dot".to_string());
    let child = Command::new(&bin)
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            return Picture::Unavailable(format!(
                "Graphviz `{bin}` is not available ({e}): install Graphviz (e.g. `apt-get install graphviz`) \
                 to get pictures of the graph in this page."
            ))
        }
    };
    // Write from another thread: dot may fill its stdout pipe before reading all of stdin.
    let mut stdin = child.stdin.take().expect("piped stdin");
    let text = dot_text.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let output = child.wait_with_output();
    let _ = writer.join();
    match output {
        Ok(o) if o.status.success() => {
            let svg = String::from_utf8_lossy(&o.stdout);
            // Inline SVG: drop the XML prolog and doctype.
            let start = svg.find("<svg").unwrap_or(0);
            Picture::Svg(svg[start..].to_string())
        }
        Ok(o) => Picture::Unavailable(format!(
            "Graphviz `{bin}` failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Picture::Unavailable(format!("Graphviz `{bin}` failed: {e}")),
    }
}
