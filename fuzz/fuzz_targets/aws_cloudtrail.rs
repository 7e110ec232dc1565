//! Any bytes as a CloudTrail log file (plain, gzip'd or `lookup-events` output): parse errors
//! are fine, panics are not.
#![no_main]

use castellan_sources::aws_cloudtrail::{gunzip_head, looks_like, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = looks_like(&String::from_utf8_lossy(&gunzip_head(data, 4096)));
    let _ = parse("fuzz.json", data);
});
