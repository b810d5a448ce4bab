//! E-graph rewriting over the IR, with [egg].
//!
//! The IR graph goes into an e-graph ([`lang`], [`convert`]); rewrite rules add equal alternatives
//! (a leaky relu as one op, a transpose moved past an elementwise op, an upscale as one resize …); an
//! e-class analysis ([`analysis`]) tracks every class's dtype, shape and, for small constants, its value,
//! so that rules can check their conditions and transposed constants are computed at compile time; the
//! cheapest equal graph under a TFLite cost model ([`cost`]) is extracted back into IR.
//!
//! Rules are grouped by what they do, each group a module with its tests: [`leaky_relu`], [`layout`],
//! [`reshape`], [`scale_into_weights`], [`pad_into_conv`], [`clamp`], the StyleGAN idioms in [`stylegan`] ([`stylegan::idioms`], [`stylegan::fused_upscale`],
//! [`stylegan::norm`]). [`all_rules`] is what the `egraph` pass runs.

pub mod analysis;
pub mod clamp;
pub mod convert;
pub mod cost;
pub mod lang;
pub mod layout;
pub mod leaky_relu;
pub mod pad_into_conv;
pub mod reshape;
pub mod scale_into_weights;
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

/// What will run the model's convolutions, which decides which of two equal forms is faster.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ConvKernels {
    /// Float compute (float32, fp16 or dequantized integer weights): XNNPACK, whose TRANSPOSE_CONV is
    /// ~3× slower per multiply-add than its CONV_2D. The unfused upscale stays an upscale and a conv
    /// here: the `sub-pixel` pass after the e-graph (`sgc_passes::subpixel`) splits it, and the
    /// fused upscale's transposed conv, into phase convs.
    #[default]
    Float,
    /// Integer weights read by the op itself (`--quantize int8-dynamic`, `int4-dynamic`, `int8`,
    /// `auto`): LiteRT's dynamic-range TRANSPOSE_CONV runs as fast per multiply-add as its CONV_2D
    /// (256 px generator, int8-dynamic: 283 ms with transposed convs, 320 ms split), so the unfused
    /// upscale becomes the transposed conv too.
    IntegerWeights,
}

/// Every rule, in a stable order.
pub fn all_rules() -> Vec<Rewrite> {
    rules_for(ConvKernels::Float)
}

/// The rules that pay for models whose convolutions run on `kernels`.
pub fn rules_for(kernels: ConvKernels) -> Vec<Rewrite> {
    let mut rules = leaky_relu::rules();
    rules.extend(layout::rules());
    rules.extend(reshape::rules());
    rules.extend(scale_into_weights::rules());
    rules.extend(pad_into_conv::rules());
    rules.extend(clamp::rules());
    rules.extend(stylegan::idioms::rules());
    rules.extend(stylegan::fused_upscale::rules(kernels));
    rules.extend(stylegan::norm::rules());
    rules.extend(stylegan::modconv::rules());
    rules
}
