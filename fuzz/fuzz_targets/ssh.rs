//! Any bytes as an `authorized_keys` / `.pub` file: parse errors are fine, panics are not.
#![no_main]

use castellan_sources::ssh::{looks_like, parse, parse_for};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = looks_like(&String::from_utf8_lossy(data));
    let _ = parse("fuzz/web-01/deploy/authorized_keys", data);
    let _ = parse_for("fuzz.pub", data, Some("deploy@web-01"));
});
