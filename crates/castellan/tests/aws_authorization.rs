//! `aws iam get-account-authorization-details` through the real binary, on exports made by the
//! real AWS CLI against moto (`scripts/fixtures/aws-authorization-details.sh`): identities,
//! privilege levels, grants, lifecycle authority, trust, merging with the credential report,
//! pages, idempotence and bad input.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use predicates::prelude::*;
use serde_json::Value;

fn full_fixture() -> PathBuf {
    repo_root().join("crates/castellan/tests/fixtures/aws/authorization-details-full.json")
}

fn import(dir: &Path, files: &[&Path]) -> Value {
    let mut c = castellan(dir);
    c.args([
        "--json",
        "--now",
        NOW,
        "import",
        "aws-authorization-details",
    ]);
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

fn principals(item: &Value) -> Vec<(String, Vec<String>)> {
    item["lifecycle_authority"]["principals"]
        .as_array()
        .expect("principals")
        .iter()
        .map(|e| {
            (
                e["principal"].as_str().expect("id").to_string(),
                e["can"]
                    .as_array()
                    .expect("can")
                    .iter()
                    .map(|c| c.as_str().expect("step").to_string())
                    .collect(),
            )
        })
        .collect()
}

const A: &str = "aws:123456789012";

#[test]
fn users_roles_privileges_grants_and_authority() {
    let dir = tempfile::tempdir().expect("tmp");
    let report = import(dir.path(), &[&full_fixture()]);
    assert_eq!(report[0]["source"], "aws-authorization-details");
    let list = castellan(dir.path())
        .args(["inventory", "list", "--json"])
        .assert()
        .success();
    let list = json(&list.get_output().stdout);
    let list = list.as_array().expect("list");
    let kinds = |k: &str| list.iter().filter(|i| i["kind"] == k).count();
    assert_eq!((kinds("aws-iam-user"), kinds("aws-iam-role")), (16, 9));

    let privilege = |name: &str| show(dir.path(), &format!("{A}:{name}"))["privilege"].clone();
    // AWS managed policy documents are in this export: AdministratorAccess, IAMFullAccess, ReadOnlyAccess.
    assert_eq!(privilege("user/terraform-prod"), "admin");
    assert_eq!(privilege("user/legacy-batch"), "admin");
    assert_eq!(privilege("user/anna.schmidt"), "admin"); // IAMFullAccess through a group
    assert_eq!(privilege("user/jonas.weber"), "read");
    assert_eq!(privilege("user/monitoring-probe"), "read"); // ReadOnlyAccess through a group
    assert_eq!(privilege("user/vendor-acme-sync"), "read"); // iam:* denied, s3 reads allowed
    assert_eq!(privilege("user/svc-payments-api"), "write");
    assert_eq!(privilege("user/backup-agent"), "write"); // key management of itself only
    assert_eq!(privilege("user/old-import-job"), "none");
    assert_eq!(privilege("role/break-glass-admin"), "admin");
    assert_eq!(privilege("role/github-actions-readonly"), "read");

    // Grants carry the statement, the policy it came from and the lifecycle steps it covers.
    let ci = show(dir.path(), &format!("{A}:user/ci-deployer"));
    let grants = ci["grants"].as_array().expect("grants");
    assert!(
        grants
            .iter()
            .any(|g| g["holder"] == format!("{A}:group/deployers") && g["via"] == "inline:deploy"),
        "group grants shown with the member: {grants:?}"
    );

    // Who may issue, rotate and revoke terraform-prod's keys: administrators, anna's group
    // through IAMFullAccess (one entry for the group, not one per member), and the rotation role,
    // which an explicit deny keeps from deleting.
    let tf = show(dir.path(), &format!("{A}:user/terraform-prod"));
    let auth = principals(&tf);
    let all3 = vec!["issue".to_string(), "rotate".into(), "revoke".into()];
    assert!(
        auth.contains(&(format!("{A}:group/platform-admins"), all3.clone())),
        "{auth:?}"
    );
    assert!(!auth.iter().any(|(p, _)| p.ends_with("anna.schmidt")));
    let group = tf["lifecycle_authority"]["principals"]
        .as_array()
        .expect("principals")
        .iter()
        .find(|e| e["principal"] == format!("{A}:group/platform-admins"))
        .expect("group entry");
    assert_eq!(group["group"], true);
    assert_eq!(group["members"], 1);
    assert_eq!(
        group["via"],
        serde_json::json!(["arn:aws:iam::aws:policy/IAMFullAccess"])
    );
    assert!(auth.contains(&(format!("{A}:role/break-glass-admin"), all3.clone())));
    assert!(auth.contains(&(
        format!("{A}:role/key-rotation-lambda"),
        vec!["issue".into(), "rotate".into()]
    )));
    // backup-agent manages only its own keys (${aws:username}).
    assert!(!auth.iter().any(|(p, _)| p.ends_with("backup-agent")));
    let backup = principals(&show(dir.path(), &format!("{A}:user/backup-agent")));
    assert!(
        backup.contains(&(format!("{A}:user/backup-agent"), all3.clone())),
        "{backup:?}"
    );
    // The rotation role reaches /ci/ and /services/ users only.
    let jonas = principals(&show(dir.path(), &format!("{A}:user/jonas.weber")));
    assert!(
        !jonas
            .iter()
            .any(|(p, _)| p.ends_with("key-rotation-lambda"))
    );
    let svc = principals(&show(dir.path(), &format!("{A}:user/svc-payments-api")));
    assert!(svc.contains(&(format!("{A}:role/key-rotation-lambda"), all3)));

    // Trust.
    let gha = show(dir.path(), &format!("{A}:role/github-actions-deploy"));
    assert!(
        gha["attributes"]["trust_weaknesses"][0]
            .as_str()
            .expect("weakness")
            .contains("without a `sub` restriction")
    );
    let ro = show(dir.path(), &format!("{A}:role/github-actions-readonly"));
    assert!(ro["attributes"].get("trust_weaknesses").is_none(), "{ro}");
    let acme = show(dir.path(), &format!("{A}:role/acme-cross-account-reader"));
    assert_eq!(
        acme["attributes"]["external_trust"][0],
        "trusts external account 731122334455 (with an ExternalId condition)"
    );
    let globex = show(dir.path(), &format!("{A}:role/globex-etl-access"));
    assert_eq!(
        globex["attributes"]["trust_weaknesses"][0],
        "trusts external account 444455556666 without an ExternalId condition"
    );
    let linked = show(dir.path(), &format!("{A}:role/AWSServiceRoleForsupport"));
    assert_eq!(linked["attributes"]["managed_by"], "aws");
}

#[test]
fn the_same_user_from_two_sources_is_one_identity_and_reimport_is_idempotent() {
    let dir = tempfile::tempdir().expect("tmp");
    let estate = estate_in(dir.path());
    castellan(dir.path())
        .args(["run", "estate", "--now", NOW, "-q"])
        .assert()
        .success();
    let tf = show(dir.path(), &format!("{A}:user/terraform-prod"));
    assert_eq!(
        tf["sources"],
        serde_json::json!(["aws-authorization-details", "aws-credential-report"])
    );
    assert_eq!(tf["credentials"].as_array().expect("creds").len(), 2);
    assert_eq!(tf["privilege"], "admin");

    let again = import(
        dir.path(),
        &[&estate.join("aws/prod-authorization-details.json")],
    );
    assert_eq!(
        (&again[0]["added"], &again[0]["changed"], &again[0]["gone"]),
        (&Value::from(0), &Value::from(0), &Value::from(0)),
        "{again}"
    );
    castellan(dir.path())
        .args(["ledger", "verify"])
        .assert()
        .success();
}

#[test]
fn pages_given_as_separate_files_are_merged_not_swept() {
    let dir = tempfile::tempdir().expect("tmp");
    let doc: Value =
        serde_json::from_slice(&std::fs::read(full_fixture()).expect("read")).expect("json");
    let users = doc["UserDetailList"].as_array().expect("users");
    let (a, b) = users.split_at(8);
    let page1 = serde_json::json!({"UserDetailList": a, "GroupDetailList": doc["GroupDetailList"], "IsTruncated": true, "Marker": "page2"});
    let page2 = serde_json::json!({"UserDetailList": b, "RoleDetailList": doc["RoleDetailList"], "Policies": doc["Policies"], "IsTruncated": false});
    let p1 = dir.path().join("page1.json");
    let p2 = dir.path().join("page2.json");
    std::fs::write(&p1, page1.to_string()).expect("write");
    std::fs::write(&p2, page2.to_string()).expect("write");
    import(dir.path(), &[&p1, &p2]);
    let again = import(dir.path(), &[&p1, &p2]);
    let gone: u64 = again
        .as_array()
        .expect("reports")
        .iter()
        .map(|r| r["gone"].as_u64().expect("gone"))
        .sum();
    assert_eq!(gone, 0, "one page swept the other's records: {again}");
    let counts = castellan(dir.path())
        .args(["inventory", "list", "--json"])
        .assert()
        .success();
    assert_eq!(
        json(&counts.get_output().stdout)
            .as_array()
            .expect("list")
            .len(),
        25
    );
    // Now the account's export without two users: they are gone, the rest stays.
    let mut smaller = doc.clone();
    smaller["UserDetailList"]
        .as_array_mut()
        .expect("users")
        .retain(|u| u["UserName"] != "old-import-job" && u["UserName"] != "legacy-batch");
    let p3 = dir.path().join("all.json");
    std::fs::write(&p3, smaller.to_string()).expect("write");
    import(dir.path(), &[&p3]);
    let old = show(dir.path(), &format!("{A}:user/old-import-job"));
    assert_eq!(old["status"], "gone");
    assert_eq!(
        show(dir.path(), &format!("{A}:user/jonas.weber"))["status"],
        "active"
    );
}

#[test]
fn bad_exports_are_refused_with_the_place_and_nothing_is_committed() {
    let dir = tempfile::tempdir().expect("tmp");
    import(dir.path(), &[&full_fixture()]);
    let before = castellan(dir.path())
        .args(["inventory", "list", "--all", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = std::fs::read_to_string(full_fixture()).expect("read");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated.json", text.as_bytes()[..text.len() / 2].to_vec(), "truncated.json:"),
        ("binary.json", b"{\"UserDetailList\": [\x00\xff\xfe".to_vec(), "binary.json"),
        (
            "bad-date.json",
            text.replacen("\"CreateDate\": \"2", "\"CreateDate\": \"yesterday 2", 1)
                .into_bytes(),
            "UserDetailList[0].CreateDate",
        ),
        (
            "wrong-type.json",
            br#"{"UserDetailList": [{"UserName": 42, "Arn": "arn:aws:iam::123456789012:user/x"}]}"#
                .to_vec(),
            "UserDetailList[0].UserName",
        ),
        (
            "bad-policy.json",
            br#"{"RoleDetailList": [{"RoleName": "r", "Arn": "arn:aws:iam::123456789012:role/r",
                "AssumeRolePolicyDocument": "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Sometimes%22%7D%5D%7D"}]}"#
                .to_vec(),
            "RoleDetailList[0].AssumeRolePolicyDocument",
        ),
        (
            "deep.json",
            format!("{{\"UserDetailList\": {}{}", "[".repeat(50_000), "]".repeat(50_000))
                .into_bytes(),
            "deep.json",
        ),
        (
            "other-account.json",
            text.replacen(
                "arn:aws:iam::123456789012:user/",
                "arn:aws:iam::999999999999:user/",
                1,
            )
            .into_bytes(),
            "mixes accounts",
        ),
    ];
    for (name, bytes, expect) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).expect("write");
        castellan(dir.path())
            .args(["--now", NOW, "import", "aws-authorization-details"])
            .arg(&p)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(expect))
            .stderr(predicate::str::contains("panicked").not());
    }
    let after = castellan(dir.path())
        .args(["inventory", "list", "--all", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(before, after, "a failed import changed the inventory");
    castellan(dir.path())
        .args(["ledger", "verify"])
        .assert()
        .success();
}
