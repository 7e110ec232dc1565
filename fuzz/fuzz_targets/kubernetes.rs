//! Any bytes as a Kubernetes export (List JSON, several documents, manifest YAML): parse errors
//! are fine, panics are not.
#![no_main]

use castellan_model::FingerprintKey;
use castellan_sources::k8s::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = FingerprintKey::from_bytes([7u8; 32]);
    let _ = parse("fuzz.yaml", data, "fuzz", &key);
});
