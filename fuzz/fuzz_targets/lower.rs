//! The whole lowering, bytes → frontend → passes → TFLite backend, through the driver's own entry
//! point (`sgc::fuzz_lower`: the first byte picks the frontend, odd is text); errors are fine, panics
//! and hangs are bugs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sgc::fuzz_lower(data);
});
