//! Binary GraphDef import: any bytes give a graph or an error, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sgc_frontends::graph_from_pb(bytes::Bytes::copy_from_slice(data));
});
