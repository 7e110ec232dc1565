//! Any bytes as a governance file: a clear error or a valid document, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(g) = castellan_sources::governance::parse("fuzz.yaml", data) {
        let attributor = castellan_sources::governance::Attributor::new(&g);
        let _ = attributor;
    }
});
