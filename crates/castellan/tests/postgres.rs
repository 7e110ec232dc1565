//! The same main job against a real PostgreSQL server (started by scripts/test.sh): same
//! inventory and findings as SQLite, idempotent re-runs, transactional failure.

mod common;

use common::*;

fn comparable(v: &serde_json::Value) -> serde_json::Value {
    let mut v = v.clone();
    if let Some(items) = v.as_array_mut() {
        for it in items {
            it["provenance"] = serde_json::Value::Null;
            for c in it["credentials"].as_array_mut().expect("creds") {
                c["provenance"] = serde_json::Value::Null;
            }
        }
    }
    v
}

#[test]
fn postgres_backend_matches_sqlite() {
    let Some(pg) = fresh_pg_database("e2e") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    estate_in(d);
    for db in ["castellan.db", pg.as_str()] {
        castellan(d)
            .args(["run", "estate", "--now", NOW, "-q", "--db", db])
            .assert()
            .success();
        castellan(d)
            .args(["run", "estate", "--now", NOW, "-q", "--db", db])
            .assert()
            .success();
        castellan(d)
            .args(["ledger", "verify", "--db", db])
            .assert()
            .success();
    }
    let inv = |db: &str| {
        let out = castellan(d)
            .args(["inventory", "list", "--json", "--db", db])
            .assert()
            .success();
        comparable(&json(&out.get_output().stdout))
    };
    let findings = |db: &str| {
        let out = castellan(d)
            .args(["findings", "list", "--status", "all", "--json", "--db", db])
            .assert()
            .success();
        json(&out.get_output().stdout)
    };
    assert!(
        inv("castellan.db") == inv(&pg),
        "inventories differ between SQLite and PostgreSQL"
    );
    assert_eq!(findings("castellan.db"), findings(&pg));

    // A failing import on PostgreSQL commits nothing either.
    let before = inv(&pg);
    std::fs::write(d.join("bad.csv"), "user,arn,user_creation_time\n").expect("w");
    castellan(d)
        .args(["import", "aws-credential-report", "bad.csv", "--db", &pg])
        .assert()
        .code(2);
    assert!(before == inv(&pg));
    castellan(d)
        .args(["ledger", "verify", "--db", &pg])
        .assert()
        .success();
}

#[test]
fn postgres_password_never_printed() {
    let Some(pg) = fresh_pg_database("pw") else {
        return;
    };
    // Wrong password / unreachable server: the error names the server, not the password.
    let url = pg.replacen("postgres@", "postgres:S3cretPassw0rdXYZ@", 1);
    let url = url
        .rsplit_once('/')
        .map(|(b, _)| format!("{b}/no_such_database_xyz"))
        .expect("url");
    let dir = tempfile::tempdir().expect("tmp");
    let out = castellan(dir.path())
        .args(["assess", "--db", &url])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(!stderr.contains("S3cretPassw0rdXYZ"), "{stderr}");
    assert!(stderr.contains("no_such_database_xyz"), "{stderr}");
}
