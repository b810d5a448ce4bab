//! E-graph rewriting over the IR, with [egg].
//!
//! The IR graph goes into an e-graph ([`lang`], [`convert`]); rewrite rules add equal alternatives
//! (a leaky relu as one op, a transpose moved past an elementwise op, an upscale as one resize …); an
//! e-class analysis ([`analysis`]) tracks every class's dtype, shape and, for small constants, its value,
//! so that rules can check their conditions and transposed constants are computed at compile time; the
//! cheapest equal graph under a TFLite cost model ([`cost`]) is extracted back into IR.
//!
//! Rules are grouped by what they do, each group a module with its tests: [`leaky_relu`], [`layout`],
//! and the StyleGAN idioms in [`stylegan`] ([`stylegan::idioms`], [`stylegan::fused_upscale`],
//! [`stylegan::norm`]). [`all_rules`] is what the `egraph` pass runs.

pub mod analysis;
pub mod convert;
pub mod cost;
pub mod lang;
pub mod layout;
pub mod leaky_relu;
pub mod stylegan;
#[cfg(test)]
mod testing;
mod util;

pub use analysis::{Data, TfAnalysis};
pub use lang::TfNode;

/// The e-graph type the rules work on.
pub type EGraph = egg::EGraph<TfNode, TfAnalysis>;
/// A rewrite rule over it.
pub type Rewrite = egg::Rewrite<TfNode, TfAnalysis>;

/// Every rule, in a stable order.
pub fn all_rules() -> Vec<Rewrite> {
    let mut rules = leaky_relu::rules();
    rules.extend(layout::rules());
    rules.extend(stylegan::idioms::rules());
    rules.extend(stylegan::fused_upscale::rules());
    rules.extend(stylegan::norm::rules());
    rules
}
