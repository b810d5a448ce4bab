//! The op-coverage report of `sgc report`: for every op type of the input graph, how many nodes it has
//! and what became of them — lowered to which TFLite builtin(s), emitted as a custom op, folded into a
//! constant, removed by which pass (dead, training-only, control flow resolved …), or blocked and why.
//!
//! [`build`] takes the graph before and after the passes and the per-pass provenance (which nodes each
//! pass removed, folded, retyped or added; the driver converts the pass manager's runs to [`PassStep`]s),
//! and asks the lowering table itself ([`lower_each`]) what every remaining node lowers to, so the report
//! cannot disagree with `sgc lower`. It is built even when passes or lowering fail: saying what blocks is
//! its point. The writers ([`text`], [`json`], [`md`], [`html`]) only format a [`Report`]; [`dot`] draws a
//! graph for the HTML page.
//!
//! # JSON schema (`"schema": 1`)
//!
//! Stable: fields are only ever added (a new `schema` number would mark a breaking change).
//!
//! ```text
//! {
//!   "schema": 1,
//!   "file": "path/graph.pb",
//!   "inputs":  ["latents_in f32[1,512]", …],        // the model's inputs after IO selection
//!   "outputs": ["Gs/images_out", …],
//!   "nodes_before": 1012, "nodes_after": 312,
//!   "passes": [ { "pass": "fold", "removed": 0, "folded": 120, "retyped": 0, "added": 0,
//!                 "nodes_after": 900, "error": null | "pass fold: node 'y': …" }, … ],
//!   "ops": [ OpEntry, … ],          // op types of the input graph, by name
//!   "introduced": [ OpEntry, … ],   // op types of nodes the passes added that are in the final graph
//!   "summary": { "op_types": Counts, "nodes": Counts },   // over "ops" (the input graph)
//!   "errors": [ "…" ],              // pass failures and whole-graph lowering errors
//!   "lowering_error": null | "node 'y' (op Frobnicate): no TFLite lowering"   // where `sgc lower` stops
//! }
//! OpEntry = { "op": "Conv2D", "count": 16, "examples": [first node names],
//!             "category": Category,        // the most severe category among its nodes
//!             "fates": [ { "fate": Fate, "category": Category, "count": 16,
//!                          "examples": [names], "path": ["nchw-to-nhwc: added", "fold: folded", …] } ] }
//! Category = "removed" | "folded" | "tensor" | "builtin" | "custom" | "blocked"   (least to most severe)
//! Counts = { "removed": n, "folded": n, "tensor": n, "builtin": n, "custom": n, "blocked": n }
//! Fate = { "kind": "builtin", "builtins": ["CONV_2D"] }          // TFLite operators, in order
//!      | { "kind": "custom", "codes": ["CUSTOM:Frobnicate"] }
//!      | { "kind": "constant" } | { "kind": "input" } | { "kind": "alias" }   // tensors, no operator
//!      | { "kind": "no_operator" }                                 // e.g. a statically known Shape
//!      | { "kind": "fused", "into": "MatMul", "as": "bias" }       // a bias add: the op's bias input
//!      | { "kind": "fused", "into": "Conv2D", "as": "activation" } // a Relu: its fused activation
//!      | { "kind": "folded", "pass": "fold" }                      // became a constant
//!      | { "kind": "removed", "pass": "dce", "why": "dead" }
//!      | { "kind": "unused" }                                      // kept, but no output needs it
//!      | { "kind": "blocked", "reason": "no TFLite lowering", "unsupported": true }
//! ```
//!
//! A path lists what each pass did to the node (`"freeze-fixes: RefSwitch→Switch"`,
//! `"fold-switch-merge: removed"`); the fate is where it ended. `unsupported` is true when the op has no
//! lowering at all (exit code 3 of `sgc lower`), false when a lowering exists but failed for this node.

pub mod dot;
pub mod html;
pub mod json;
pub mod md;
pub mod text;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sgc_ir::{Graph, NodeIndex, Op};

use crate::tflite::lower::{lower_each, NodeLowering};
use crate::tflite::schema::{builtin, builtin_name};
use crate::tflite::{BackendOptions, OpCode};
use crate::BackendError;

/// The version of the JSON schema above.
pub const SCHEMA_VERSION: u32 = 1;
/// How many node names an entry lists.
pub const EXAMPLES: usize = 3;

/// What one pass did, by node name (the report's view of the pass manager's provenance).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PassStep {
    pub pass: String,
    pub removed: Vec<String>,
    /// Nodes that became constants.
    pub folded: Vec<String>,
    /// `(name, op before, op after)`.
    pub retyped: Vec<(String, String, String)>,
    /// `(name, op)`.
    pub added: Vec<(String, String)>,
    pub nodes_after: usize,
    /// The pass failed with this error (later passes ran on the graph as it left it).
    pub error: Option<String>,
    /// The node the error names, and whether it is an unsupported op (rather than a broken graph): that
    /// node is reported as blocked by the error.
    pub error_node: Option<(String, bool)>,
}

/// How bad a fate is, least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Removed,
    Folded,
    Tensor,
    Builtin,
    Custom,
    Blocked,
}

impl Category {
    pub const ALL: [Category; 6] = [
        Category::Builtin,
        Category::Custom,
        Category::Tensor,
        Category::Folded,
        Category::Removed,
        Category::Blocked,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Category::Removed => "removed",
            Category::Folded => "folded",
            Category::Tensor => "tensor",
            Category::Builtin => "builtin",
            Category::Custom => "custom",
            Category::Blocked => "blocked",
        }
    }
}

/// Where one node ended.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fate {
    /// Lowered to these TFLite builtin operators, in order.
    Builtin { builtins: Vec<String> },
    /// Emitted as custom operator(s) (`CUSTOM:<code>`), possibly with builtins around them.
    Custom { codes: Vec<String> },
    /// A constant tensor of the model.
    Constant,
    /// An input of the model.
    Input,
    /// Passes its input through: the same tensor, no operator.
    Alias,
    /// Lowered to no operator (a value the backend knows statically).
    NoOperator,
    /// No operator of its own: the bias input (`as` "bias") or the fused activation ("activation") of
    /// the operator of the op (`Conv2D`, `MatMul` …) before it.
    Fused {
        into: String,
        #[serde(rename = "as")]
        role: String,
    },
    /// Became a constant in this pass.
    Folded { pass: String },
    /// Removed by this pass.
    Removed { pass: String, why: String },
    /// Still in the graph, but no output depends on it.
    Unused,
    /// Cannot be lowered.
    Blocked { reason: String, unsupported: bool },
}

impl Fate {
    pub fn category(&self) -> Category {
        match self {
            Fate::Builtin { .. } | Fate::Fused { .. } => Category::Builtin,
            Fate::Custom { .. } => Category::Custom,
            Fate::Constant | Fate::Input | Fate::Alias | Fate::NoOperator => Category::Tensor,
            Fate::Folded { .. } => Category::Folded,
            Fate::Removed { .. } | Fate::Unused => Category::Removed,
            Fate::Blocked { .. } => Category::Blocked,
        }
    }

    /// One phrase for the text, Markdown and HTML writers.
    pub fn describe(&self) -> String {
        match self {
            Fate::Builtin { builtins } => format!("builtin {}", builtins.join(" + ")),
            Fate::Custom { codes } => format!("custom {}", codes.join(" + ")),
            Fate::Constant => "constant tensor".into(),
            Fate::Input => "model input".into(),
            Fate::Alias => "alias of its input (no operator)".into(),
            Fate::NoOperator => "no operator (static value)".into(),
            Fate::Fused { into, role } if role == "activation" => {
                format!("fused: the activation of the {into} before it")
            }
            Fate::Fused { into, .. } => format!("fused: the bias input of the {into} before it"),
            Fate::Folded { pass } => format!("folded into a constant by {pass}"),
            Fate::Removed { pass, why } => format!("removed by {pass} ({why})"),
            Fate::Unused => "unused (no output needs it)".into(),
            Fate::Blocked {
                reason,
                unsupported,
            } => {
                if *unsupported {
                    format!("BLOCKED: {reason} (unsupported op)")
                } else {
                    format!("BLOCKED: {reason}")
                }
            }
        }
    }
}

/// The nodes of one op type that share a fate and a path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FateGroup {
    pub fate: Fate,
    pub category: Category,
    pub count: usize,
    pub examples: Vec<String>,
    pub path: Vec<String>,
}

/// One op type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpEntry {
    pub op: String,
    pub count: usize,
    pub examples: Vec<String>,
    pub category: Category,
    /// Most nodes first.
    pub fates: Vec<FateGroup>,
}

/// Counts per category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Counts {
    pub builtin: usize,
    pub custom: usize,
    pub tensor: usize,
    pub folded: usize,
    pub removed: usize,
    pub blocked: usize,
}

impl Counts {
    fn add(&mut self, c: Category, n: usize) {
        *self.get_mut(c) += n;
    }

    fn get_mut(&mut self, c: Category) -> &mut usize {
        match c {
            Category::Builtin => &mut self.builtin,
            Category::Custom => &mut self.custom,
            Category::Tensor => &mut self.tensor,
            Category::Folded => &mut self.folded,
            Category::Removed => &mut self.removed,
            Category::Blocked => &mut self.blocked,
        }
    }

    pub fn get(&self, c: Category) -> usize {
        let mut copy = *self;
        *copy.get_mut(c)
    }

    /// `12 builtin, 0 custom, 3 tensor, 4 folded, 9 removed, 1 blocked`.
    pub fn line(&self) -> String {
        Category::ALL
            .iter()
            .map(|&c| format!("{} {}", self.get(c), c.name()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Op types of the input graph by their most severe category.
    pub op_types: Counts,
    /// Nodes of the input graph by fate.
    pub nodes: Counts,
}

/// What one pass did, in numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassSummary {
    pub pass: String,
    pub removed: usize,
    pub folded: usize,
    pub retyped: usize,
    pub added: usize,
    pub nodes_after: usize,
    pub error: Option<String>,
}

/// The whole report (see the module doc for its JSON form).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub schema: u32,
    pub file: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub nodes_before: usize,
    pub nodes_after: usize,
    pub passes: Vec<PassSummary>,
    pub ops: Vec<OpEntry>,
    pub introduced: Vec<OpEntry>,
    pub summary: Summary,
    pub errors: Vec<String>,
    pub lowering_error: Option<String>,
}

impl Report {
    /// True when some node (of the input graph or added by a pass) has a fate of this category.
    pub fn has(&self, c: Category) -> bool {
        self.ops
            .iter()
            .chain(&self.introduced)
            .flat_map(|e| &e.fates)
            .any(|f| f.category == c)
    }

    /// The summary line every format shows.
    pub fn summary_line(&self) -> String {
        format!(
            "{} op types: {}; {} nodes: {}",
            self.ops.len(),
            self.summary.op_types.line(),
            self.nodes_before,
            self.summary.nodes.line()
        )
    }
}

/// Why a pass removes nodes, in the report's words. Passes not listed are described by name only.
fn removal_reason(pass: &str) -> &'static str {
    match pass {
        "freeze-fixes" => "training-only",
        "dce" => "dead",
        "fold-switch-merge" => "control flow resolved",
        "drop-control-edges" => "control-only",
        "remove-identity" => "pass-through",
        "fold" => "folded",
        _ => "rewritten",
    }
}

/// What the passes did to one node, as the report tracks it.
#[derive(Default)]
struct History {
    path: Vec<String>,
    folded_by: Option<String>,
    removed_by: Option<String>,
}

/// The TFLite name of an operator code.
fn code_name(code: &OpCode) -> String {
    if code.builtin == builtin::CUSTOM {
        if let Some(c) = &code.custom {
            return format!("CUSTOM:{c}");
        }
    }
    builtin_name(code.builtin)
        .map(str::to_string)
        .unwrap_or_else(|| format!("BUILTIN_{}", code.builtin))
}

/// The reason of a lowering error without the node name (which the examples list), so that nodes failing
/// for the same reason group together.
fn blocked(e: &BackendError) -> Fate {
    match e {
        BackendError::NoLowering { .. } => Fate::Blocked {
            reason: "no TFLite lowering".into(),
            unsupported: true,
        },
        BackendError::Node { reason, .. } => Fate::Blocked {
            reason: reason.clone(),
            unsupported: false,
        },
        other => Fate::Blocked {
            reason: other.to_string(),
            unsupported: false,
        },
    }
}

/// The final fate of a node that is in the graph after the passes.
fn final_fate(graph: &Graph, n: NodeIndex, lowering: Option<&NodeLowering>, h: &History) -> Fate {
    let op = &graph.node(n).op;
    match lowering {
        Some(NodeLowering::Operators(codes)) => {
            let names: Vec<String> = codes.iter().map(code_name).collect();
            if codes.iter().any(|c| c.custom.is_some()) {
                Fate::Custom { codes: names }
            } else {
                Fate::Builtin { builtins: names }
            }
        }
        Some(NodeLowering::NoOperator) => match (op, &h.folded_by) {
            (Op::Const, Some(pass)) => Fate::Folded { pass: pass.clone() },
            (Op::Const, None) => Fate::Constant,
            (Op::Placeholder | Op::PlaceholderWithDefault, _) => Fate::Input,
            (op, _) if op.is_identity_like() => Fate::Alias,
            _ => Fate::NoOperator,
        },
        Some(NodeLowering::FusedInto(producer)) => Fate::Fused {
            into: graph.node(*producer).op.name().to_string(),
            // Adds are fused as biases; everything else fused is an activation.
            role: match sgc_ir::fusion::bias_add_operands(op) {
                [] => "activation",
                _ => "bias",
            }
            .into(),
        },
        Some(NodeLowering::NotLive) => match &h.folded_by {
            Some(pass) => Fate::Folded { pass: pass.clone() },
            None => Fate::Unused,
        },
        Some(NodeLowering::Failed(e)) => blocked(e),
        None => Fate::Blocked {
            reason: "not lowered: the graph as a whole failed (see errors)".into(),
            unsupported: false,
        },
    }
}

/// Groups `(op, name, fate, path)` rows into entries, op types by name.
fn entries(rows: Vec<(String, String, Fate, Vec<String>)>) -> Vec<OpEntry> {
    type Groups = BTreeMap<(Fate, Vec<String>), (usize, Vec<String>)>;
    let mut by_op: BTreeMap<String, (usize, Vec<String>, Groups)> = BTreeMap::new();
    for (op, name, fate, path) in rows {
        let (count, examples, groups) = by_op.entry(op).or_default();
        *count += 1;
        if examples.len() < EXAMPLES {
            examples.push(name.clone());
        }
        let (n, ex) = groups.entry((fate, path)).or_default();
        *n += 1;
        if ex.len() < EXAMPLES {
            ex.push(name);
        }
    }
    by_op
        .into_iter()
        .map(|(op, (count, examples, groups))| {
            let mut fates: Vec<FateGroup> = groups
                .into_iter()
                .map(|((fate, path), (count, examples))| FateGroup {
                    category: fate.category(),
                    fate,
                    count,
                    examples,
                    path,
                })
                .collect();
            // Most nodes first; ties by severity, then as grouped (deterministic).
            fates.sort_by(|a, b| b.count.cmp(&a.count).then(b.category.cmp(&a.category)));
            let category = fates
                .iter()
                .map(|f| f.category)
                .max()
                .unwrap_or(Category::Removed);
            OpEntry {
                op,
                count,
                examples,
                category,
                fates,
            }
        })
        .collect()
}

/// Builds the report of `file` from the graph before the passes (after IO selection), the graph after
/// them, and what each pass did.
pub fn build(
    file: &str,
    before: &Graph,
    after: &Graph,
    steps: &[PassStep],
    options: &BackendOptions,
) -> Report {
    build_with_categories(file, before, after, steps, options).0
}

/// [`build`], plus the fate category of every node of `after` (to colour its picture, [`dot`]).
pub fn build_with_categories(
    file: &str,
    before: &Graph,
    after: &Graph,
    steps: &[PassStep],
    options: &BackendOptions,
) -> (Report, HashMap<NodeIndex, Category>) {
    let mut history: HashMap<&str, History> = HashMap::new();
    for step in steps {
        let pass = step.pass.as_str();
        for (name, from, to) in &step.retyped {
            history
                .entry(name)
                .or_default()
                .path
                .push(format!("{pass}: {from}→{to}"));
        }
        for name in &step.folded {
            let h = history.entry(name).or_default();
            h.path.push(format!("{pass}: folded"));
            h.folded_by.get_or_insert_with(|| pass.to_string());
        }
        for (name, op) in &step.added {
            let h = history.entry(name).or_default();
            h.path.push(format!("{pass}: added as {op}"));
            h.removed_by = None;
        }
        for name in &step.removed {
            let h = history.entry(name).or_default();
            h.path.push(format!("{pass}: removed"));
            h.removed_by = Some(pass.to_string());
        }
    }

    let coverage = lower_each(after, options);
    let lowering: HashMap<NodeIndex, &NodeLowering> =
        coverage.nodes.iter().map(|(n, l)| (*n, l)).collect();
    // Nodes a failed pass names: blocked by that error, whatever the backend would say.
    let blockers: HashMap<&str, Fate> = steps
        .iter()
        .filter_map(|s| {
            let (node, unsupported) = s.error_node.as_ref()?;
            let reason = s.error.clone()?;
            Some((
                node.as_str(),
                Fate::Blocked {
                    reason,
                    unsupported: *unsupported,
                },
            ))
        })
        .collect();
    // The fate of every node of `after`, in topological order, so that a node that fails only because an
    // input comes from a blocked node can say so.
    let empty = History::default();
    let mut after_fates: HashMap<NodeIndex, Fate> = HashMap::with_capacity(after.node_count());
    for (m, l) in &coverage.nodes {
        let name = after.node(*m).name.as_str();
        let h = history.get(name).unwrap_or(&empty);
        let mut fate = match blockers.get(name) {
            Some(f) => f.clone(),
            None => final_fate(after, *m, Some(l), h),
        };
        if let Fate::Blocked {
            reason,
            unsupported: false,
        } = &mut fate
        {
            let upstream = after
                .inputs(*m)
                .into_iter()
                .find(|v| matches!(after_fates.get(&v.node), Some(Fate::Blocked { .. })));
            if let Some(v) = upstream {
                *reason = format!(
                    "its input comes from blocked node '{}' ({reason})",
                    after.node(v.node).name
                );
            }
        }
        after_fates.insert(*m, fate);
    }
    let fate_of = |m: NodeIndex, h: &History| match after_fates.get(&m) {
        Some(f) => f.clone(),
        None => final_fate(after, m, lowering.get(&m).copied(), h),
    };
    let mut after_by_name: HashMap<&str, NodeIndex> = HashMap::with_capacity(after.node_count());
    for n in after.node_indices() {
        after_by_name.insert(&after.node(n).name, n);
    }
    let empty = History::default();

    let mut rows = Vec::with_capacity(before.node_count());
    for n in before.node_indices() {
        let node = before.node(n);
        let h = history.get(node.name.as_str()).unwrap_or(&empty);
        let fate = match after_by_name.get(node.name.as_str()) {
            Some(&m) => fate_of(m, h),
            None => match (&h.folded_by, &h.removed_by) {
                (Some(pass), _) => Fate::Folded { pass: pass.clone() },
                (None, Some(pass)) => Fate::Removed {
                    why: removal_reason(pass).to_string(),
                    pass: pass.clone(),
                },
                (None, None) => Fate::Removed {
                    pass: "?".into(),
                    why: "not tracked".into(),
                },
            },
        };
        rows.push((
            node.op.name().to_string(),
            node.name.clone(),
            fate,
            h.path.clone(),
        ));
    }
    let ops = entries(rows);

    let before_names: std::collections::HashSet<&str> = before
        .node_indices()
        .map(|n| before.node(n).name.as_str())
        .collect();
    let mut added = Vec::new();
    for n in after.node_indices() {
        let node = after.node(n);
        if before_names.contains(node.name.as_str()) {
            continue;
        }
        let h = history.get(node.name.as_str()).unwrap_or(&empty);
        added.push((
            node.op.name().to_string(),
            node.name.clone(),
            fate_of(n, h),
            h.path.clone(),
        ));
    }
    let introduced = entries(added);

    let mut summary = Summary {
        op_types: Counts::default(),
        nodes: Counts::default(),
    };
    for e in &ops {
        summary.op_types.add(e.category, 1);
        for f in &e.fates {
            summary.nodes.add(f.category, f.count);
        }
    }

    // Each error once (a pass that runs several times fails the same way each time).
    let mut errors: Vec<String> = Vec::new();
    let all = steps
        .iter()
        .filter_map(|s| s.error.clone())
        .chain(coverage.graph_errors.iter().map(|e| e.to_string()));
    for e in all {
        if !errors.contains(&e) {
            errors.push(e);
        }
    }
    // Where `sgc lower` stops: the first failed pass, else the first node or graph lowering error.
    let lowering_error = steps
        .iter()
        .find_map(|s| s.error.clone())
        .or_else(|| {
            coverage.nodes.iter().find_map(|(_, l)| match l {
                NodeLowering::Failed(e) => Some(e.to_string()),
                _ => None,
            })
        })
        .or_else(|| coverage.graph_errors.first().map(|e| e.to_string()));

    let categories = coverage
        .nodes
        .iter()
        .map(|(n, _)| {
            let h = history.get(after.node(*n).name.as_str()).unwrap_or(&empty);
            (*n, fate_of(*n, h).category())
        })
        .collect();
    let report = Report {
        schema: SCHEMA_VERSION,
        file: file.to_string(),
        inputs: after
            .inputs
            .iter()
            .map(|&n| {
                let node = after.node(n);
                match node.outputs.first() {
                    Some(info) => format!("{} {info}", node.name),
                    None => node.name.clone(),
                }
            })
            .collect(),
        outputs: after.outputs.iter().map(|o| o.name.clone()).collect(),
        nodes_before: before.node_count(),
        nodes_after: after.node_count(),
        passes: steps
            .iter()
            .map(|s| PassSummary {
                pass: s.pass.clone(),
                removed: s.removed.len(),
                folded: s.folded.len(),
                retyped: s.retyped.len(),
                added: s.added.len(),
                nodes_after: s.nodes_after,
                error: s.error.clone(),
            })
            .collect(),
        ops,
        introduced,
        summary,
        errors,
        lowering_error,
    };
    (report, categories)
}
