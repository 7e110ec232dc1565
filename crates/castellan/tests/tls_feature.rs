//! `castellan import tls` in a build without the `tls` feature: a clear message saying how to
//! build it, exit 2, no network call. (With the feature, see `tls_live.rs`.)

mod common;

#[cfg(not(feature = "tls"))]
#[test]
fn live_tls_needs_the_feature() {
    use predicates::prelude::*;
    let dir = tempfile::tempdir().expect("tmp");
    common::castellan(dir.path())
        .args(["import", "tls", "portal.nordwind.example:443"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--features tls"));
    assert!(
        !dir.path().join(".castellan/live").exists(),
        "nothing was read"
    );
}
