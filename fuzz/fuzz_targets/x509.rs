//! Any bytes as a certificate file (PEM, DER or PKCS#12 with a password): parse errors are fine,
//! panics are not.
#![no_main]

use castellan_sources::x509::{looks_like, looks_like_bytes, parse, parse_with_password};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = looks_like_bytes(data);
    let _ = looks_like(&String::from_utf8_lossy(data));
    let _ = parse("fuzz.pem", data);
    let _ = parse_with_password("fuzz.p12", data, Some("castellan-test"));
});
