//! The pickle reader and the StyleGAN network state: any bytes give networks or an error, never a
//! panic, a hang or an allocation the input did not pay for.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sgc_frontends::pickle::networks_from_bytes(bytes::Bytes::copy_from_slice(data), "<fuzz>");
});
