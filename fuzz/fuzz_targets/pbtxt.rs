//! Text GraphDef import: any text gives a graph or an error, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = sgc_frontends::graph_from_pbtxt(text);
    }
});
