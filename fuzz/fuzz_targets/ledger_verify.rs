//! Arbitrary stored rows fed to the verifier: it must reject or accept, never panic.
#![no_main]

use castellan_ledger::{LedgerKey, Verifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = LedgerKey::from_seed([1; 32]);
    let Ok(mut v) = Verifier::new(&key.verifying(), Vec::new()) else { return };
    for (i, chunk) in data.split(|b| *b == b'\n').enumerate() {
        let text = String::from_utf8_lossy(chunk);
        let (body, hash) = text.split_once('|').unwrap_or((&text, ""));
        if v.feed(i as u64, body, hash).is_err() {
            return;
        }
    }
    let _ = v.finish(None);
});
