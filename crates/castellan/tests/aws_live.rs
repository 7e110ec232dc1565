//! `castellan import aws --live` against a real IAM API: moto's server on 127.0.0.1, which the
//! test command (`scripts/test.sh`) installs and starts and names in `CASTELLAN_TEST_MOTO_URL`.
//! Resources are created in moto with plain form-encoded IAM Query API calls, as any SDK sends
//! them; Castellan then reads the account through the official AWS SDK.
//!
//! Known moto quirks, checked here rather than hidden: the credential report has no
//! `<root_account>` row and a fixed `GeneratedTime` (2015-02-02T20:02:02Z); access key slots are
//! positional; last-used region and service are `not_supported`; there is no clock control in
//! server mode, so creation dates are the real "now" (age-based controls are tested on fixtures).
#![cfg(feature = "aws")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

use common::*;
use predicates::prelude::*;
use serde_json::Value;

/// The moto endpoint, or `None` (test skipped) when the test command did not start one.
fn moto() -> Option<String> {
    match std::env::var("CASTELLAN_TEST_MOTO_URL") {
        Ok(u) => Some(u),
        Err(_) => {
            assert!(
                std::env::var("CASTELLAN_REQUIRE_MOTO").is_err(),
                "CASTELLAN_REQUIRE_MOTO is set but CASTELLAN_TEST_MOTO_URL is not"
            );
            eprintln!("skipped: no moto server (run scripts/test.sh)");
            None
        }
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One HTTP/1.1 POST to moto; returns (status, body).
fn post(url: &str, path: &str, body: &str, service: &str) -> (u16, String) {
    let hostport = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut s = TcpStream::connect(&hostport).expect("connect to moto");
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\nAuthorization: AWS4-HMAC-SHA256 Credential=testing/20261201/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_string())
}

fn iam(url: &str, action: &str, params: &[(&str, &str)]) -> String {
    let mut body = format!("Action={action}&Version=2010-05-08");
    for (k, v) in params {
        body.push_str(&format!("&{}={}", encode(k), encode(v)));
    }
    let (status, text) = post(url, "/", &body, "iam");
    assert_eq!(status, 200, "{action}: {text}");
    text
}

fn between<'a>(xml: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = xml.find(&open).expect(tag) + open.len();
    let end = xml[start..].find(&format!("</{tag}>")).expect(tag) + start;
    &xml[start..end]
}

fn live(dir: &Path, url: &str) -> assert_cmd::assert::Assert {
    castellan(dir)
        .args(["--json", "--now", NOW, "import", "aws", "--live"])
        .env("AWS_ENDPOINT_URL", url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join("no-aws-credentials"),
        )
        .assert()
}

fn show(dir: &Path, id: &str) -> Value {
    let out = castellan(dir)
        .args(["inventory", "show", id, "--json"])
        .assert()
        .success();
    json(&out.get_output().stdout)
}

/// Runs the whole scenario in one test: moto holds one account, and the steps depend on each
/// other's state.
#[test]
fn live_import_reads_the_account_like_its_exports() {
    let Some(url) = moto() else { return };
    let (status, _) = post(&url, "/moto-api/reset", "", "iam");
    assert_eq!(status, 200);

    iam(
        &url,
        "CreateUser",
        &[
            ("UserName", "ci-deployer"),
            ("Path", "/ci/"),
            ("Tags.member.1.Key", "service"),
            ("Tags.member.1.Value", "payments"),
        ],
    );
    let k1 = iam(&url, "CreateAccessKey", &[("UserName", "ci-deployer")]);
    let k1_id = between(&k1, "AccessKeyId").to_string();
    let k1_secret = between(&k1, "SecretAccessKey").to_string();
    iam(&url, "CreateAccessKey", &[("UserName", "ci-deployer")]);
    iam(
        &url,
        "PutUserPolicy",
        &[
            ("UserName", "ci-deployer"),
            ("PolicyName", "everything"),
            (
                "PolicyDocument",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            ),
        ],
    );
    iam(&url, "CreateUser", &[("UserName", "vendor-acme-sync")]);
    let v = iam(&url, "CreateAccessKey", &[("UserName", "vendor-acme-sync")]);
    let v_id = between(&v, "AccessKeyId").to_string();
    iam(
        &url,
        "PutUserPolicy",
        &[
            ("UserName", "vendor-acme-sync"),
            ("PolicyName", "read-queue"),
            (
                "PolicyDocument",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:GetQueueAttributes","sqs:ListQueues"],"Resource":"*"}]}"#,
            ),
        ],
    );
    iam(
        &url,
        "CreateRole",
        &[
            ("RoleName", "acme-cross-account-reader"),
            (
                "AssumeRolePolicyDocument",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"sts:AssumeRole"}]}"#,
            ),
        ],
    );

    let dir = tempfile::tempdir().expect("tmp");
    let out = live(dir.path(), &url).success();
    let reports = json(&out.get_output().stdout);
    let sources: Vec<&str> = reports
        .as_array()
        .expect("reports")
        .iter()
        .map(|r| r["source"].as_str().expect("source"))
        .collect();
    assert_eq!(
        sources,
        [
            "aws-credential-report",
            "aws-authorization-details",
            "aws-iam-lists"
        ],
        "{reports:#}"
    );

    // The documents read are kept as evidence.
    let live_dir = dir.path().join(".castellan/live");
    let snapshot = std::fs::read_dir(&live_dir)
        .expect("live dir")
        .next()
        .expect("one snapshot")
        .expect("entry")
        .path();
    assert!(
        snapshot
            .join("123456789012-credential-report.csv")
            .is_file()
    );
    assert!(snapshot.join("123456789012-iam-lists.json").is_file());

    // Users, privilege from the inline policy, keys with their ids on the report's slots.
    let ci = show(dir.path(), "aws:123456789012:user/ci-deployer");
    assert_eq!(ci["privilege"], "admin", "{ci:#}");
    assert_eq!(ci["tags"]["service"], "payments");
    let creds = ci["credentials"].as_array().expect("credentials");
    let keys: Vec<&Value> = creds.iter().filter(|c| c["kind"] == "access-key").collect();
    assert_eq!(keys.len(), 2, "{ci:#}");
    let slot1 = keys
        .iter()
        .find(|c| c["attributes"]["access_key_id"] == k1_id.as_str())
        .expect("key 1 by id");
    assert!(
        slot1["id"].as_str().expect("id").ends_with("/access-key-1")
            || slot1["id"].as_str().expect("id").ends_with("/access-key-2"),
        "the key id lands on a report slot: {slot1:#}"
    );
    let srcs = slot1["sources"].as_array().expect("sources");
    assert!(
        srcs.contains(&Value::from("aws-credential-report"))
            && srcs.contains(&Value::from("aws-iam-lists")),
        "{slot1:#}"
    );
    assert_eq!(slot1["status"], "active");

    let vendor = show(dir.path(), "aws:123456789012:user/vendor-acme-sync");
    assert_eq!(vendor["privilege"], "read", "{vendor:#}");
    let role = show(
        dir.path(),
        "aws:123456789012:role/acme-cross-account-reader",
    );
    assert!(
        role.to_string().contains("999988887777"),
        "the cross-account trust is recorded: {role:#}"
    );

    // Nothing secret was read or kept: the secret returned at creation is nowhere.
    let db = std::fs::read(dir.path().join("castellan.db")).expect("db");
    assert!(!contains(&db, &k1_secret));
    assert!(!contains(
        &all_bytes(&dir.path().join(".castellan")),
        &k1_secret
    ));

    // Again, nothing changed: nothing to record but last_seen.
    let again = json(&live(dir.path(), &url).success().get_output().stdout);
    for r in again.as_array().expect("reports") {
        assert_eq!(r["changed"], 0, "{again:#}");
        assert_eq!(r["added"], 0, "{again:#}");
    }

    // A key deactivated in the account is inactive after the next read.
    iam(
        &url,
        "UpdateAccessKey",
        &[
            ("UserName", "vendor-acme-sync"),
            ("AccessKeyId", &v_id),
            ("Status", "Inactive"),
        ],
    );
    live(dir.path(), &url).success();
    let vendor = show(dir.path(), "aws:123456789012:user/vendor-acme-sync");
    let key = vendor["credentials"]
        .as_array()
        .expect("credentials")
        .iter()
        .find(|c| c["attributes"]["access_key_id"] == v_id.as_str())
        .expect("vendor key")
        .clone();
    assert_eq!(key["status"], "inactive", "{vendor:#}");
    castellan(dir.path())
        .args(["ledger", "verify"])
        .assert()
        .success();
}

#[test]
fn an_unreachable_endpoint_is_a_clear_error_and_changes_nothing() {
    if moto().is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    // A port nothing listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        drop(l);
        format!("http://127.0.0.1:{port}")
    };
    live(dir.path(), &closed)
        .code(2)
        .stderr(predicate::str::contains("AWS IAM (live)"));
    let out = castellan(dir.path())
        .args(["--json", "inventory", "list", "--all"])
        .assert()
        .success();
    assert_eq!(
        json(&out.get_output().stdout).as_array().map(Vec::len),
        Some(0)
    );
}

#[test]
fn live_needs_the_aws_source_and_no_files() {
    let dir = tempfile::tempdir().expect("tmp");
    castellan(dir.path())
        .args(["import", "aws"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--live"));
    castellan(dir.path())
        .args(["import", "gcp", "--live"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "only `castellan import aws --live`",
        ));
}
