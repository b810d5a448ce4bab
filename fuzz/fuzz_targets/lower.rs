//! The whole lowering, bytes → frontend → passes → TFLite backend. The first byte picks the frontend
//! (odd: text); errors are fine, panics and hangs are bugs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sgc_passes::io::{select_io, IoSpec};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let graph = if mode & 1 == 1 {
        match std::str::from_utf8(rest) {
            Ok(text) => sgc_frontends::graph_from_pbtxt(text),
            Err(_) => return,
        }
    } else {
        sgc_frontends::graph_from_pb(bytes::Bytes::copy_from_slice(rest))
    };
    let Ok(mut graph) = graph else { return };
    if select_io(&mut graph, &IoSpec::default()).is_err() {
        return;
    }
    if sgc_passes::lower_pipeline().run(&mut graph, |_, _| {}).is_err() {
        return;
    }
    let _ = sgc_backends::write_tflite(&graph);
});
