//! Non-negotiable 5: `castellan ledger verify` detects any edit, deletion, reordering,
//! insertion, truncation or forged checkpoint — on SQLite and on PostgreSQL.

mod common;

use std::path::Path;

use common::*;
use predicates::prelude::*;

fn tamper(db: &str, sql: &str) {
    let mut store = castellan_store::Store::open(db).expect("open");
    store.execute_raw(sql).expect("tamper");
}

fn fresh_ledger(dir: &Path, db: &str) {
    estate_in(dir);
    castellan(dir)
        .args(["run", "estate", "--now", NOW, "-q", "--db", db])
        .assert()
        .success();
    castellan(dir)
        .args(["ledger", "verify", "--db", db])
        .assert()
        .success();
}

/// (name, SQL that tampers, text the failure must contain)
const CASES: &[(&str, &str, &str)] = &[
    (
        "edit",
        "UPDATE ledger SET body = replace(body, '\"ts\":\"2026', '\"ts\":\"2025') WHERE seq = 4",
        "ledger entry 4 does not match",
    ),
    (
        "delete",
        "DELETE FROM ledger WHERE seq = 5",
        "ledger entry 5 is missing",
    ),
    (
        "reorder",
        "UPDATE ledger SET seq = -1 WHERE seq = 3; UPDATE ledger SET seq = 3 WHERE seq = 7; UPDATE ledger SET seq = 7 WHERE seq = -1",
        "ledger entry 3",
    ),
    (
        "insert",
        "UPDATE ledger SET seq = seq + 1000000 WHERE seq >= 10; UPDATE ledger SET seq = seq - 999999 WHERE seq >= 1000000; INSERT INTO ledger (seq, body, hash) SELECT 10, body, hash FROM ledger WHERE seq = 9",
        "ledger entry 10",
    ),
    (
        "append",
        "INSERT INTO ledger (seq, body, hash) SELECT (SELECT MAX(seq) + 1 FROM ledger), body, hash FROM ledger WHERE seq = 0",
        "does not match",
    ),
    (
        "truncate",
        "DELETE FROM ledger WHERE seq >= 20",
        "truncated",
    ),
    (
        "truncate-and-cover-up",
        "DELETE FROM ledger WHERE seq >= 20; DELETE FROM ledger_checkpoints; DELETE FROM ledger_head",
        "truncated",
    ),
    (
        "forged-checkpoint",
        "UPDATE ledger_checkpoints SET body = replace(body, '\"root_hash\":\"', '\"root_hash\":\"0')",
        "does not verify with the ledger key",
    ),
];

fn run_cases(make_db: &dyn Fn(&str) -> Option<String>) {
    for (name, sql, expect) in CASES {
        let dir = tempfile::tempdir().expect("tmp");
        let Some(db) = make_db(name) else { return };
        let db = if db.starts_with("postgres") {
            db
        } else {
            dir.path().join(db).display().to_string()
        };
        fresh_ledger(dir.path(), &db);
        tamper(&db, sql);
        castellan(dir.path())
            .args(["ledger", "verify", "--db", &db])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("FAILED").and(predicate::str::contains(*expect)));
        let out = castellan(dir.path())
            .args(["ledger", "verify", "--json", "--db", &db])
            .assert()
            .code(1);
        assert_eq!(json(&out.get_output().stdout)["ok"], false, "{name}");
    }
}

#[test]
fn tampering_is_detected_on_sqlite() {
    run_cases(&|_| Some("castellan.db".to_string()));
}

#[test]
fn tampering_is_detected_on_postgres() {
    run_cases(&|name| fresh_pg_database(&format!("tamper_{}", name.replace('-', "_"))));
}

#[test]
fn checkpoint_prints_a_signed_statement() {
    let dir = tempfile::tempdir().expect("tmp");
    fresh_ledger(dir.path(), "castellan.db");
    let out = castellan(dir.path())
        .args(["ledger", "checkpoint"])
        .assert()
        .success();
    let cp = json(&out.get_output().stdout);
    assert!(cp["tree_size"].as_u64().expect("size") > 10);
    assert_eq!(cp["signature"].as_str().expect("sig").len(), 88);
    let pubkey =
        std::fs::read_to_string(dir.path().join(".castellan/ledger-signing.pub")).expect("pub");
    assert_eq!(pubkey.trim().len(), 64);
}
