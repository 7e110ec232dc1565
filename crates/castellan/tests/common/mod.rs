//! Helpers shared by the CLI integration tests: they run the real `castellan` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub const NOW: &str = "2026-12-01T09:00:00Z";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// A `castellan` command running in `dir`, isolated from the caller's environment.
pub fn castellan(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("castellan").expect("binary");
    c.current_dir(dir)
        .env_remove("CASTELLAN_DB")
        .env_remove("CASTELLAN_DATA_DIR")
        .env_remove("CASTELLAN_NOW")
        .env("NO_COLOR", "1");
    c
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

/// Copies `examples/estate` to `dir/estate` so paths in the ledger are stable.
pub fn estate_in(dir: &Path) -> PathBuf {
    let to = dir.join("estate");
    copy_dir(&repo_root().join("examples/estate"), &to);
    to
}

pub fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("valid JSON on stdout")
}

pub fn read_json(path: &Path) -> serde_json::Value {
    json(&std::fs::read(path).expect("read"))
}

/// Every file under `dir`, concatenated (for grepping for secrets).
pub fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(b) = std::fs::read(&p) {
                out.extend(b);
            }
        }
    }
    out
}

pub fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// A fresh, empty PostgreSQL database when `CASTELLAN_TEST_PG_URL` names a server (the test
/// command starts one); `None` otherwise. With `CASTELLAN_REQUIRE_PG=1` a missing server fails.
pub fn fresh_pg_database(tag: &str) -> Option<String> {
    let Ok(admin) = std::env::var("CASTELLAN_TEST_PG_URL") else {
        assert!(
            std::env::var("CASTELLAN_REQUIRE_PG").is_err(),
            "CASTELLAN_REQUIRE_PG is set but CASTELLAN_TEST_PG_URL is not"
        );
        eprintln!(
            "skipping PostgreSQL half of the test: CASTELLAN_TEST_PG_URL is not set (scripts/test.sh sets it)"
        );
        return None;
    };
    let mut client =
        postgres::Client::connect(&admin, postgres::NoTls).expect("connect to test PostgreSQL");
    let name = format!("castellan_{tag}_{}", std::process::id());
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .expect("drop");
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create");
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .expect("url with database");
    Some(format!("{base}/{name}"))
}
