//! Any bytes as a GitHub export (bundle or raw API responses): parse errors are fine, panics
//! are not.
#![no_main]

use castellan_sources::github::{parse, ssh_key_id};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse("fuzz.json", data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ssh_key_id(text);
    }
});
