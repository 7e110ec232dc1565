//! Helpers shared by the per-source importer tests (gcp, azure, github, vault, x509, ssh): run
//! an import, read `inventory show`, check that a failed import committed nothing, grep the
//! database for planted secrets. They build on `common` and run the real binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

use crate::common::*;

/// A fixture file of this crate's tests.
pub fn fixture(rel: &str) -> PathBuf {
    repo_root()
        .join("crates/castellan/tests/fixtures")
        .join(rel)
}

/// Copies `fixtures/<rel>` (a file or a folder) to `dir/<to>` and returns the relative path, so
/// that paths (and the ids and scopes made from them) are stable.
pub fn copy_fixture(dir: &Path, rel: &str, to: &str) -> PathBuf {
    let from = fixture(rel);
    let target = dir.join(to);
    copy_tree(&from, &target);
    PathBuf::from(to)
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).expect("mkdir");
        for e in std::fs::read_dir(from).expect("read_dir") {
            let e = e.expect("entry");
            copy_tree(&e.path(), &to.join(e.file_name()));
        }
    } else {
        if let Some(p) = to.parent() {
            std::fs::create_dir_all(p).expect("mkdir");
        }
        std::fs::copy(from, to).expect("copy");
    }
}

/// `castellan --json --now NOW import <source> <paths…>`, which must succeed; the reports.
pub fn import(dir: &Path, source: &str, paths: &[&Path]) -> Value {
    import_with(dir, source, paths, |_| {})
}

/// Like [`import`], with the command adjusted first (environment, extra flags).
pub fn import_with(
    dir: &Path,
    source: &str,
    paths: &[&Path],
    adjust: impl FnOnce(&mut Command),
) -> Value {
    let mut c = castellan(dir);
    c.env_remove("CASTELLAN_P12_PASSWORD");
    c.args(["--json", "--now", NOW, "import", source]);
    c.args(paths);
    adjust(&mut c);
    let out = c.assert().success();
    json(&out.get_output().stdout)
}

/// One import report: (path, source, records, added, changed, unchanged, gone, events added).
pub type Report = (String, String, u64, u64, u64, u64, u64, u64);

/// The reports of an import.
pub fn summary(reports: &Value) -> Vec<Report> {
    reports
        .as_array()
        .expect("reports")
        .iter()
        .map(|r| {
            let n = |k: &str| r[k].as_u64().unwrap_or_else(|| panic!("{k} in {r}"));
            (
                r["path"].as_str().expect("path").to_string(),
                r["source"].as_str().expect("source").to_string(),
                n("records"),
                n("added"),
                n("changed"),
                n("unchanged"),
                n("gone"),
                n("events_added"),
            )
        })
        .collect()
}

/// Every report of a re-import says nothing was added or changed, and the ledger verifies.
pub fn assert_idempotent(dir: &Path, reports: &Value) {
    for r in reports.as_array().expect("reports") {
        assert_eq!(r["added"], 0, "{r:#}");
        assert_eq!(r["changed"], 0, "{r:#}");
        assert_eq!(r["gone"], 0, "{r:#}");
        assert_eq!(r["events_added"], 0, "{r:#}");
    }
    verify_ledger(dir);
}

pub fn verify_ledger(dir: &Path) {
    castellan(dir).args(["ledger", "verify"]).assert().success();
}

/// `inventory show ID --json`.
pub fn show(dir: &Path, id: &str) -> Value {
    let out = castellan(dir)
        .args(["inventory", "show", id, "--json"])
        .assert()
        .success();
    json(&out.get_output().stdout)
}

/// `inventory list --all --json`, raw.
pub fn list_raw(dir: &Path) -> Vec<u8> {
    castellan(dir)
        .args(["inventory", "list", "--all", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

/// The ids `inventory list --all --json` prints, in its order.
pub fn list_ids(dir: &Path) -> Vec<String> {
    json(&list_raw(dir))
        .as_array()
        .expect("list")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_string())
        .collect()
}

/// The credential `id` of an `inventory show` item.
pub fn credential<'a>(item: &'a Value, id: &str) -> &'a Value {
    item["credentials"]
        .as_array()
        .expect("credentials")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no credential {id} in {item:#}"))
}

/// The ids of an item's credentials, sorted.
pub fn credential_ids(item: &Value) -> Vec<String> {
    let mut ids: Vec<String> = item["credentials"]
        .as_array()
        .expect("credentials")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect();
    ids.sort();
    ids
}

/// `principal → can` of a `lifecycle_authority` value.
pub fn authority(la: &Value) -> Vec<(String, Vec<String>)> {
    la["principals"]
        .as_array()
        .unwrap_or_else(|| panic!("principals in {la:#}"))
        .iter()
        .map(|p| {
            (
                p["principal"].as_str().expect("principal").to_string(),
                strings(&p["can"]),
            )
        })
        .collect()
}

/// A JSON array of strings.
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().expect("string").to_string())
        .collect()
}

/// One event of `inventory show`: (id, action, at, actor, identity, credential), absent ones
/// empty.
pub type EventRow = (String, String, String, String, String, String);

/// An item's events.
pub fn events(item: &Value) -> Vec<EventRow> {
    item["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("").to_string();
            (
                s("id"),
                s("action"),
                s("at"),
                s("actor"),
                s("identity"),
                s("credential"),
            )
        })
        .collect()
}

/// The SQLite database of a test directory, opened read-only in spirit (for what the CLI cannot
/// show: credentials without an identity, events about no identity, counts).
pub fn store(dir: &Path) -> castellan_store::Store {
    castellan_store::Store::open(dir.join("castellan.db").to_str().expect("utf-8 path"))
        .expect("open the database")
}

/// A credential read from the store (merged over its sources and sightings).
pub fn stored_credential(dir: &Path, id: &str) -> castellan_store::StoredCredential {
    store(dir)
        .credential(id)
        .expect("read")
        .unwrap_or_else(|| panic!("no credential {id} in the database"))
}

/// Every stored event.
pub fn stored_events(dir: &Path) -> Vec<castellan_model::Event> {
    let mut out = Vec::new();
    store(dir)
        .for_each_event(|e| {
            out.push(e.event);
            Ok(())
        })
        .expect("events");
    out
}

/// What a failed import must leave untouched: the inventory as listed, the counts of records,
/// events and ledger entries, and the import runs.
#[derive(Debug, PartialEq)]
pub struct State {
    list: Vec<u8>,
    counts: (u64, u64, u64, u64, u64),
    runs: usize,
}

pub fn state(dir: &Path) -> State {
    let list = list_raw(dir);
    let mut s = store(dir);
    let c = s.counts().expect("counts");
    State {
        list,
        counts: (
            c.identities,
            c.credentials,
            c.grants,
            c.events,
            c.ledger_entries,
        ),
        runs: s.import_runs().expect("runs").len(),
    }
}

/// Importing `file` (written from `bytes` into `dir`) as `source` exits 2, names the file and
/// every text of `expect` on stderr, does not panic and echoes none of `never`. Returns stderr.
pub fn refused(
    dir: &Path,
    source: &str,
    name: &str,
    bytes: &[u8],
    expect: &[&str],
    never: &[&str],
) -> String {
    let path = dir.join(name);
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).expect("mkdir");
    }
    std::fs::write(&path, bytes).expect("write");
    let mut c = castellan(dir);
    c.env_remove("CASTELLAN_P12_PASSWORD");
    let out = c
        .args(["--now", NOW, "import", source, name])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(name))
        .stderr(predicate::str::contains("panicked").not())
        .stderr(predicate::str::contains("internal error").not());
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    for e in expect {
        assert!(stderr.contains(e), "{name}: expected {e:?} in {stderr}");
    }
    for n in never {
        assert!(!stderr.contains(n), "{name}: {n:?} echoed in {stderr}");
    }
    stderr
}

/// Everything Castellan wrote in `dir` (database and its journal files, data directory, any
/// evidence folder) and the given outputs, with the test's own inputs left out.
pub fn written_bytes(dir: &Path, outputs: &[&[u8]]) -> Vec<u8> {
    let mut all = Vec::new();
    for f in [
        "castellan.db",
        "castellan.db-wal",
        "castellan.db-shm",
        "castellan.db-journal",
    ] {
        if let Ok(b) = std::fs::read(dir.join(f)) {
            all.extend(b);
        }
    }
    for d in [".castellan", "castellan-out"] {
        if dir.join(d).is_dir() {
            all.extend(all_bytes(&dir.join(d)));
        }
    }
    for o in outputs {
        all.extend_from_slice(o);
    }
    all
}

/// None of `needles` is in `hay`.
pub fn assert_absent(hay: &[u8], needles: &[&str]) {
    assert!(!hay.is_empty(), "nothing to search");
    for n in needles {
        assert!(!n.is_empty());
        assert!(!contains(hay, n), "secret {n:?} was stored or printed");
    }
}
