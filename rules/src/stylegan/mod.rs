//! Rules for the idioms of StyleGAN's generator code (and of the networks written like it): each turns
//! what the TF1 code builds into the form an expert would write for TFLite.
//!
//! - [`idioms`]: upscale2d as one RESIZE_NEAREST_NEIGHBOR, and the per-channel bias moved next to the
//!   convolution that takes it as its bias input;
//! - [`fused_upscale`]: the fused upscale's 4×4 transposed-conv kernel back to its 3×3 weights;
//! - [`norm`]: instance norm and style modulation as one per-channel scale and shift;
//! - [`modconv`]: StyleGAN2's demodulation coefficients as a matmul on the squared styles.

pub mod fused_upscale;
pub mod idioms;
pub mod modconv;
pub mod norm;
