//! Any bytes as an authorization-details export (and every policy document inside it):
//! parse errors are fine, panics are not.
#![no_main]

use castellan_sources::aws_authorization_details::parse;
use castellan_sources::aws_policy::PolicyDocument;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse("fuzz.json", data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = PolicyDocument::from_value(&serde_json::Value::String(text.to_string()));
    }
});
