//! AWS IAM list outputs and CloudTrail through the real binary, on the example estate's files:
//! access keys named like the credential report's slots (one credential, two sources), key ids,
//! CloudTrail events on the right identities and credentials (a gzip'd log as S3 holds it), the
//! session token never stored, idempotent re-import, and bad input.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::*;
use predicates::prelude::*;
use serde_json::Value;

fn estate_file(rel: &str) -> PathBuf {
    repo_root().join("examples/estate").join(rel)
}

fn trail() -> PathBuf {
    estate_file(
        "aws/cloudtrail/AWSLogs/123456789012/CloudTrail/eu-central-1/2026/11/30/123456789012_CloudTrail_eu-central-1_20261130T2355Z_Nw7dQ2xk.json.gz",
    )
}

fn import(dir: &Path, source: &str, files: &[&Path]) -> Value {
    let mut c = castellan(dir);
    c.args(["--json", "--now", NOW, "import", source]);
    c.args(files);
    let out = c.assert().success();
    json(&out.get_output().stdout)
}

fn show(dir: &Path, id: &str) -> Value {
    let out = castellan(dir)
        .args(["inventory", "show", id, "--json"])
        .assert()
        .success();
    json(&out.get_output().stdout)
}

fn credential<'a>(item: &'a Value, id: &str) -> &'a Value {
    item["credentials"]
        .as_array()
        .expect("credentials")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no credential {id} in {item:#}"))
}

#[test]
fn key_ids_merge_with_report_slots_and_cloudtrail_lands_on_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let report = estate_file("aws/prod-credential-report.csv");
    let lists = estate_file("aws/123456789012-iam-lists.json");
    let trail = trail();
    // auto-detection, in one transaction, in any order given
    let out = import(dir.path(), "auto", &[&trail, &lists, &report]);
    let sources: Vec<&str> = out
        .as_array()
        .expect("reports")
        .iter()
        .map(|r| r["source"].as_str().expect("source"))
        .collect();
    assert_eq!(
        sources,
        ["aws-credential-report", "aws-iam-lists", "aws-cloudtrail"]
    );

    // The list-access-keys key is the report's slot 1: one credential, both sources.
    let tf = show(dir.path(), "aws:123456789012:user/terraform-prod");
    let k1 = credential(&tf, "aws:123456789012:user/terraform-prod/access-key-1");
    assert_eq!(k1["attributes"]["access_key_id"], "AKIAQNWDTERRAF3E1001");
    let srcs = k1["sources"].as_array().expect("sources");
    assert!(
        srcs.contains(&Value::from("aws-credential-report")),
        "{k1:#}"
    );
    assert!(srcs.contains(&Value::from("aws-iam-lists")), "{k1:#}");
    assert!(srcs.contains(&Value::from("aws-cloudtrail")), "{k1:#}");
    let k2 = credential(&tf, "aws:123456789012:user/terraform-prod/access-key-2");
    assert_eq!(k2["status"], "inactive");
    assert_eq!(
        tf["credentials"].as_array().expect("creds").len(),
        2,
        "no duplicate key-named credentials: {tf:#}"
    );
    // terraform-prod's timeline: its own uses, and the deactivation of its key 2.
    let actions: Vec<(&str, &str)> = tf["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().expect("action"),
                e["attributes"]["event_name"].as_str().expect("name"),
            )
        })
        .collect();
    assert!(
        actions.contains(&("revoked", "UpdateAccessKey")),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("used", "CreateAccessKey")),
        "{actions:?}"
    );

    // queue-worker: created and issued its key by terraform-prod, then given SQS rights.
    let qw = show(dir.path(), "aws:123456789012:user/queue-worker");
    let ev: Vec<(&str, &str, &str)> = qw["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().expect("action"),
                e["attributes"]["event_name"].as_str().expect("name"),
                e["actor"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        ev.contains(&(
            "issued",
            "CreateAccessKey",
            "aws:123456789012:user/terraform-prod"
        )),
        "{ev:?}"
    );
    assert!(
        ev.iter()
            .any(|(a, n, _)| *a == "privilege-changed" && *n == "AttachUserPolicy"),
        "{ev:?}"
    );
    let issued = qw["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["action"] == "issued" && e["attributes"]["event_name"] == "CreateAccessKey")
        .expect("issued");
    assert_eq!(
        issued["credential"],
        "aws:123456789012:user/queue-worker/access-key-1"
    );

    // The supplier key: its use, then four refusals within nine minutes.
    let gx = show(dir.path(), "aws:123456789012:user/vendor-globex-etl");
    let failed = gx["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["action"] == "failed-use")
        .count();
    assert_eq!(failed, 4, "{gx:#}");
    assert!(
        gx["events"]
            .as_array()
            .expect("events")
            .iter()
            .all(|e| e["credential"] == "aws:123456789012:user/vendor-globex-etl/access-key-1")
    );

    // A workload identity signed in to the console with a browser.
    let mp = show(dir.path(), "aws:123456789012:user/monitoring-probe");
    assert!(
        mp["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["action"] == "human-use"),
        "{mp:#}"
    );

    // The STS session token in the log is never stored.
    let db = std::fs::read(dir.path().join("castellan.db")).expect("db");
    assert!(!contains(&db, "IQoJb3JpZ2luX2VjEXAMPLEONLYNOTAREALTOKEN"));
}

#[test]
fn reimporting_logs_adds_nothing_and_the_ledger_verifies() {
    let dir = tempfile::tempdir().expect("tmp");
    let trail = trail();
    let first = import(dir.path(), "cloudtrail", &[&trail]);
    assert!(first[0]["records"].as_u64().expect("records") > 10);
    assert!(first[0]["added"].as_u64().expect("added") > 0);
    assert_eq!(first[0]["events_added"], 19, "{first:#}");
    let again = import(dir.path(), "aws-cloudtrail", &[&trail]);
    assert_eq!(again[0]["added"], 0, "{again:#}");
    assert_eq!(again[0]["events_added"], 0, "{again:#}");
    assert_eq!(again[0]["changed"], 0, "{again:#}");
    castellan(dir.path())
        .args(["ledger", "verify"])
        .assert()
        .success();
    // Logs imported before the inventory keep key-id names and still reach the identity.
    import(
        dir.path(),
        "aws-credential-report",
        &[&estate_file("aws/prod-credential-report.csv")],
    );
    let gx = show(dir.path(), "aws:123456789012:user/vendor-globex-etl");
    let events = gx["events"].as_array().expect("events");
    assert_eq!(events.len(), 5, "{gx:#}");
    assert!(
        events
            .iter()
            .all(|e| e["credential"] == "aws:123456789012:access-key/AKIAQNWDVENDORBFBF01")
    );
}

#[test]
fn a_folder_of_logs_and_bad_logs() {
    let dir = tempfile::tempdir().expect("tmp");
    // a folder as S3 sync lays it out
    let out = import(
        dir.path(),
        "aws-cloudtrail",
        &[&estate_file("aws/cloudtrail")],
    );
    assert_eq!(out.as_array().expect("reports").len(), 1);

    // truncated gzip: named, exit 2, nothing committed
    let gz = std::fs::read(trail()).expect("read");
    let bad = dir.path().join("cut.json.gz");
    std::fs::write(&bad, &gz[..gz.len() / 2]).expect("write");
    castellan(dir.path())
        .args(["import", "aws-cloudtrail"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cut.json.gz"));

    // a record of the wrong shape names its field
    let bad = dir.path().join("bad.json");
    let mut f = std::fs::File::create(&bad).expect("create");
    writeln!(
        f,
        r#"{{"Records": [{{"eventVersion": "1.09", "eventID": "x", "eventTime": "2026-11-30T00:00:00Z", "eventSource": "s3.amazonaws.com", "userIdentity": "root"}}]}}"#
    )
    .expect("write");
    castellan(dir.path())
        .args(["import", "aws-cloudtrail"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Records[0].userIdentity"));

    // list outputs without an account name say how to give one
    let keys = dir.path().join("keys.json");
    std::fs::write(
        &keys,
        r#"{"AccessKeyMetadata": [{"UserName": "a", "AccessKeyId": "AKIAEXAMPLE", "Status": "Active", "CreateDate": "2026-01-01T00:00:00Z"}]}"#,
    )
    .expect("write");
    castellan(dir.path())
        .args(["import", "aws-iam-lists"])
        .arg(&keys)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--account"));
    castellan(dir.path())
        .args(["import", "aws-iam-lists", "--account", "210987654321"])
        .arg(&keys)
        .assert()
        .success();
}

#[cfg(not(feature = "aws"))]
#[test]
fn live_aws_needs_the_feature() {
    let dir = tempfile::tempdir().expect("tmp");
    castellan(dir.path())
        .args(["import", "aws", "--live"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--features aws"));
}
