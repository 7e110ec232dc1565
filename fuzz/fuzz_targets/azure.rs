//! Any bytes as `az ad sp list` / `az ad app list` output or a Castellan Azure bundle: parse
//! errors are fine, panics are not.
#![no_main]

use castellan_sources::azure::{looks_like, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = looks_like(&String::from_utf8_lossy(data));
    let _ = parse("fuzz.json", data);
});
