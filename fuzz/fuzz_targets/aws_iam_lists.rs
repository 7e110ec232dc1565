//! Any bytes as AWS IAM list outputs: parse errors are fine, panics are not.
#![no_main]

use castellan_sources::aws_iam_lists::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse("123456789012-fuzz.json", data, None);
});
