//! Any bytes as Vault token lookups or a file audit log: parse errors are fine, panics are not.
#![no_main]

use castellan_sources::vault::{parse, parse_for};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse("fuzz.json", data);
    let _ = parse_for("audit.log", data, Some("fuzz"));
});
