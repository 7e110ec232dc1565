//! Google Cloud IAM through the real binary: the project bundle (service accounts, keys and the
//! project IAM policy) and the separate `gcloud` outputs. Service accounts with their privilege
//! and why, keys with their dates, status, exposure and Google rotation, who may issue, rotate,
//! revoke and use keys, who outside the organisation may, grants; idempotent re-import; bad
//! input named with nothing committed; private key material never stored.

mod common;
mod importers;

use std::path::{Path, PathBuf};

use common::*;
use importers::*;
use serde_json::{Value, json};

const CI: &str = "gcp:acme-prod:sa/ci-deployer@acme-prod.iam.gserviceaccount.com";
const BILLING: &str = "gcp:acme-prod:sa/billing-export@acme-prod.iam.gserviceaccount.com";
const LEGACY: &str = "gcp:acme-prod:sa/legacy-etl@acme-prod.iam.gserviceaccount.com";
const COMPUTE: &str = "gcp:acme-prod:sa/482915730164-compute@developer.gserviceaccount.com";
const IAM: &str = "gcp:acme-prod:sa/iam-automation@acme-prod.iam.gserviceaccount.com";
const REPORTING: &str = "gcp:acme-prod:sa/reporting@acme-prod.iam.gserviceaccount.com";
const PARTNER: &str =
    "gcp:partner-tools-3318:sa/deployer@partner-tools-3318.iam.gserviceaccount.com";

fn key(sa: &str, id: &str) -> String {
    format!("{sa}/key/{id}")
}

fn bundle(dir: &Path) -> PathBuf {
    copy_fixture(
        dir,
        "gcp/acme-prod-bundle.json",
        "gcp/acme-prod-bundle.json",
    )
}

fn cans(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_project_bundle() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let file = bundle(d);
    let reports = import(d, "gcp", &[&file]);
    // 6 service accounts, 5 keys, 6 grants
    assert_eq!(
        summary(&reports),
        [(
            "gcp/acme-prod-bundle.json".to_string(),
            "gcp-iam".to_string(),
            17,
            17,
            0,
            0,
            0,
            0
        )]
    );
    let mut want = vec![CI, BILLING, LEGACY, COMPUTE, IAM, REPORTING];
    want.sort_unstable();
    assert_eq!(
        list_ids(d),
        want,
        "service agents and other projects' accounts are not identities"
    );

    // ci-deployer: editor, two user-managed keys (one exposed) and a Google-managed one
    let ci = show(d, CI);
    assert_eq!(ci["kind"], "gcp-service-account");
    assert_eq!(ci["source"], "gcp-iam");
    assert_eq!(ci["name"], "ci-deployer@acme-prod.iam.gserviceaccount.com");
    assert_eq!(ci["account"], "acme-prod");
    assert_eq!(ci["status"], "active");
    assert_eq!(ci["privilege"], "write");
    let a = &ci["attributes"];
    assert_eq!(
        a["privilege_reason"],
        "may change almost every resource of the project (roles/editor)"
    );
    assert_eq!(a["display_name"], "CI deployer");
    assert_eq!(a["description"], "Deploys Terraform from the CI pipeline");
    assert_eq!(a["unique_id"], "104729316485520913377");
    assert_eq!(a["project"], "acme-prod");
    let exposed = key(CI, "8d2e4f60a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9");
    let old = key(CI, "3f1c9a7be0d24c55a9e1b6f2d7c40e8a91b3c5d7");
    let system = key(CI, "c4a1e7f09b2d3e5f6a7b8c9d0e1f2a3b4c5d6e7f");
    assert_eq!(a["user_managed_keys"], json!([old, exposed]));
    assert_eq!(a["exposed_keys"], json!([exposed]));
    assert_eq!(
        a["organization_domains"],
        json!({"domains": ["acme.example"], "from": "organizationDomains"})
    );
    // outside the organisation: another project's account and a personal gmail account
    let ext: Vec<(String, Vec<String>)> = a["external_trust"]
        .as_array()
        .expect("external_trust")
        .iter()
        .map(|e| {
            (
                e["principal"].as_str().expect("principal").to_string(),
                strings(&e["can"]),
            )
        })
        .collect();
    assert_eq!(
        ext,
        [
            (PARTNER.to_string(), cans(&["use"])),
            (
                "gcp:user/dev.contractor.2019@gmail.com".to_string(),
                cans(&["issue", "revoke", "rotate", "use"])
            ),
        ]
    );
    assert_eq!(
        a["external_trust"][1]["reason"],
        "personal account outside the organisation (gmail.com)"
    );
    // who may issue, rotate, revoke and use its keys
    let full = cans(&["issue", "revoke", "rotate", "use"]);
    let who = vec![
        (COMPUTE.to_string(), full.clone()),
        (CI.to_string(), full.clone()),
        (IAM.to_string(), full.clone()),
        (
            "gcp:group/platform-ops@acme.example".to_string(),
            cans(&["issue", "revoke", "rotate"]),
        ),
        (PARTNER.to_string(), cans(&["use"])),
        (
            "gcp:service-agent:482915730164@cloudservices.gserviceaccount.com".to_string(),
            full.clone(),
        ),
        ("gcp:user/cto@acme.example".to_string(), full.clone()),
        (
            "gcp:user/dev.contractor.2019@gmail.com".to_string(),
            full.clone(),
        ),
    ];
    assert_eq!(authority(&ci["lifecycle_authority"]), who);
    let partner = &ci["lifecycle_authority"]["principals"][4];
    assert_eq!(
        partner["external"],
        "service account of another project (partner-tools-3318)"
    );
    assert_eq!(
        partner["via"],
        json!(["roles/iam.serviceAccountTokenCreator on projects/acme-prod"])
    );
    // viewers have no say on keys
    assert!(!who.iter().any(|(p, _)| p == "gcp:domain/acme.example"));
    // its grant
    let grants = ci["grants"].as_array().expect("grants");
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0]["actions"], json!(["roles/editor"]));
    assert_eq!(grants[0]["resources"], json!(["projects/acme-prod"]));
    assert_eq!(grants[0]["privilege"], "write");
    assert_eq!(grants[0]["attributes"]["broad"], true);
    assert_eq!(
        grants[0]["via"],
        "projects/acme-prod IAM policy → roles/editor"
    );

    assert_eq!(credential_ids(&ci), {
        let mut v = vec![old.clone(), exposed.clone(), system.clone()];
        v.sort();
        v
    });
    for c in ci["credentials"].as_array().expect("creds") {
        assert_eq!(c["kind"], "service-account-key");
        assert_eq!(c["sources"], json!(["gcp-iam"]));
        assert_eq!(c["last_used_at"], Value::Null);
        assert_eq!(c["created_at"], c["last_rotated_at"]);
        assert_eq!(
            c["attributes"]["service_account"],
            "ci-deployer@acme-prod.iam.gserviceaccount.com"
        );
        assert_eq!(c["attributes"]["external_trust"], a["external_trust"]);
    }
    let o = credential(&ci, &old);
    assert_eq!(o["status"], "active");
    assert_eq!(o["created_at"], "2023-02-14T09:31:07Z");
    assert_eq!(o["expires_at"], Value::Null, "year 9999 means never");
    assert_eq!(o["attributes"]["never_expires"], true);
    assert_eq!(o["attributes"]["key_algorithm"], "KEY_ALG_RSA_2048");
    assert_eq!(o["attributes"]["key_origin"], "GOOGLE_PROVIDED");
    assert!(o["attributes"].get("exposed").is_none());
    assert_eq!(
        authority(&o["attributes"]["lifecycle_authority"]),
        who,
        "the service account's authority holds for its keys"
    );
    // exposed on GitHub and still enabled
    let x = credential(&ci, &exposed);
    assert_eq!(x["status"], "active");
    assert_eq!(x["created_at"], "2025-09-02T14:05:51Z");
    assert_eq!(x["attributes"]["exposed"], true);
    assert_eq!(
        x["attributes"]["exposure"],
        json!({
            "detected_by": "google",
            "disabled": false,
            "reason": ["SERVICE_ACCOUNT_KEY_EXTENDED_STATUS_KEY_EXPOSED"]
        })
    );
    assert_eq!(
        x["attributes"]["extended_status"][0]["value"],
        "https://github.com/acme-corp/infra-scripts/blob/4e1d2c9/ci/creds.json"
    );
    // Google creates and rotates system-managed keys; the others may only use them
    let s = credential(&ci, &system);
    assert_eq!(s["status"], "active");
    assert_eq!(s["created_at"], "2026-11-28T06:12:44Z");
    assert_eq!(s["expires_at"], "2026-12-14T06:12:44Z");
    assert_eq!(s["attributes"]["managed_by"], "google");
    assert_eq!(s["attributes"]["rotation"], "google-managed");
    let sys = authority(&s["attributes"]["lifecycle_authority"]);
    assert_eq!(
        sys[0],
        (
            "gcp:google".to_string(),
            cans(&["issue", "rotate", "revoke"])
        )
    );
    assert!(
        sys[1..].iter().all(|(_, c)| *c == cans(&["use"])),
        "{sys:?}"
    );
    // everyone who may use the service account's keys may use it; a key administrator that
    // may not use keys has no say on it
    assert_eq!(
        sys[1..].iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        who.iter()
            .filter(|(_, c)| c.contains(&"use".to_string()))
            .map(|(p, _)| p.as_str())
            .collect::<Vec<_>>()
    );
    assert!(
        !sys.iter()
            .any(|(p, _)| p == "gcp:group/platform-ops@acme.example")
    );

    // billing-export: read, through a conditional binding; its key was disabled by Google
    let billing = show(d, BILLING);
    assert_eq!(billing["privilege"], "read");
    assert_eq!(
        billing["attributes"]["privilege_reason"],
        "roles/bigquery.dataViewer on projects/acme-prod (conditional: until end of 2026)"
    );
    assert_eq!(
        billing["grants"][0]["attributes"]["condition"]["title"],
        "until end of 2026"
    );
    assert!(
        billing["attributes"].get("exposed_keys").is_none(),
        "disabled: no longer a risk"
    );
    let k = credential(
        &billing,
        &key(BILLING, "5b7d9f1a3c5e7091b2d4f6a8c0e2a4c6e8f0b2d4"),
    );
    assert_eq!(k["status"], "inactive");
    assert_eq!(k["created_at"], "2024-06-11T08:44:20Z");
    assert_eq!(k["attributes"]["exposed"], true);
    assert_eq!(
        k["attributes"]["disable_reason"],
        "SERVICE_ACCOUNT_KEY_DISABLE_REASON_EXPOSED"
    );
    assert_eq!(k["attributes"]["exposure"]["disabled"], true);
    assert_eq!(
        k["attributes"]["exposure"]["reason"],
        json!([
            "SERVICE_ACCOUNT_KEY_DISABLE_REASON_EXPOSED",
            "SERVICE_ACCOUNT_KEY_EXTENDED_STATUS_KEY_EXPOSED"
        ])
    );

    // legacy-etl: disabled account with an uploaded key that expired
    let legacy = show(d, LEGACY);
    assert_eq!(legacy["status"], "inactive");
    assert_eq!(legacy["privilege"], "write");
    assert_eq!(
        legacy["attributes"]["privilege_reason"],
        "roles/storage.admin on projects/acme-prod"
    );
    let k = credential(
        &legacy,
        &key(LEGACY, "e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3"),
    );
    assert_eq!(k["status"], "expired");
    assert_eq!(k["created_at"], "2022-03-01T00:00:00Z");
    assert_eq!(k["expires_at"], "2025-03-01T00:00:00Z");
    assert_eq!(k["attributes"]["key_origin"], "USER_PROVIDED");

    // iam-automation: may grant itself any role
    let iam = show(d, IAM);
    assert_eq!(iam["privilege"], "admin");
    assert_eq!(
        iam["attributes"]["privilege_reason"],
        "may change the project's IAM policy and so grant itself any role (roles/resourcemanager.projectIamAdmin)"
    );
    assert_eq!(credential_ids(&iam), Vec::<String>::new());

    // reporting: no binding at all
    let reporting = show(d, REPORTING);
    assert_eq!(reporting["privilege"], "none");
    assert!(
        reporting["attributes"]["privilege_reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("no binding in the project IAM policy"))
    );
    assert_eq!(reporting["grants"], json!([]));

    // the Compute Engine default account, created by Google, holds editor
    let compute = show(d, COMPUTE);
    assert_eq!(compute["attributes"]["default_service_account"], "compute");
    assert_eq!(compute["attributes"]["created_by"], "google");
    assert_eq!(compute["privilege"], "write");

    // the foreign account's grant is stored, marked, though it is no identity here
    let grants = store(d).grants_of(&[PARTNER]).expect("grants");
    assert_eq!(grants.len(), 1);
    let g = &grants[0].grant;
    assert_eq!(g.actions, ["roles/iam.serviceAccountTokenCreator"]);
    assert_eq!(g.privilege.as_str(), "admin");
    assert_eq!(g.attributes["holder_in_export"], false);
    assert_eq!(
        g.attributes["external_trust"]["reason"],
        "service account of another project (partner-tools-3318)"
    );
    assert_eq!(store(d).counts().expect("counts").grants, 6);

    // again, explicitly and recognised by content: nothing new, nothing changed
    let again = import(d, "gcp", &[&file]);
    assert_idempotent(d, &again);
    let again = import(d, "auto", &[&file]);
    assert_eq!(summary(&again)[0].1, "gcp-iam");
    assert_idempotent(d, &again);
}

#[test]
fn separate_gcloud_outputs_then_the_bundle() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let sas = copy_fixture(d, "gcp/service-accounts.json", "gcp/sa.json");
    let keys = copy_fixture(d, "gcp/keys-ci-deployer.json", "gcp/keys-ci-deployer.json");
    // one run, recognised by content: the accounts and the keys of one of them
    let first = import(d, "auto", &[&sas, &keys]);
    assert_eq!(
        summary(&first)
            .iter()
            .map(|r| (r.1.as_str(), r.2, r.3))
            .collect::<Vec<_>>(),
        [("gcp-iam", 3, 3), ("gcp-iam", 6, 6)]
    );
    assert_eq!(list_ids(d).len(), 6);
    let ci = show(d, CI);
    // without the policy, privilege and authority are unknown
    assert_eq!(ci["privilege"], "unknown");
    assert!(
        ci["attributes"]["privilege_reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("no IAM policy of the project in this file"))
    );
    assert_eq!(ci["lifecycle_authority"], Value::Null);
    assert_eq!(credential_ids(&ci).len(), 3);
    let system = credential(&ci, &key(CI, "c4a1e7f09b2d3e5f6a7b8c9d0e1f2a3b4c5d6e7f"));
    assert_eq!(system["expires_at"], "2026-12-14T06:12:44Z");
    assert_eq!(system["attributes"]["rotation"], "google-managed");
    assert_eq!(
        credential(&ci, &key(CI, "8d2e4f60a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9"))["attributes"]["exposed"],
        true
    );
    let again = import(d, "gcp", &[&keys, &sas]);
    assert_idempotent(d, &again);

    // the bundle covers the same project: the same ids, now with privilege and authority
    let file = bundle(d);
    let b = import(d, "gcp", &[&file]);
    assert_eq!(summary(&b)[0].6, 0, "nothing gone: {b:#}");
    assert_eq!(list_ids(d).len(), 6);
    let ci = show(d, CI);
    assert_eq!(ci["privilege"], "write");
    assert_eq!(credential_ids(&ci).len(), 3);
    assert!(ci["lifecycle_authority"]["principals"].is_array());
    assert_eq!(store(d).counts().expect("counts").credentials, 5);
    verify_ledger(d);
}

#[test]
fn bad_input_is_named_and_nothing_is_committed() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let file = bundle(d);
    import(d, "gcp", &[&file]);
    let before = state(d);
    let text = std::fs::read_to_string(d.join(&file)).expect("read");

    refused(
        d,
        "gcp",
        "bad/truncated.json",
        &text.as_bytes()[..text.len() / 2],
        &["bad/truncated.json:", "truncated"],
        &[],
    );
    // a field of the wrong type, named with its line
    let wrong = text.replace(
        "\"disabled\": true,\n      \"displayName\": \"Legacy ETL\"",
        "\"disabled\": \"yes\",\n      \"displayName\": \"Legacy ETL\"",
    );
    let line = wrong
        .lines()
        .position(|l| l.contains("\"disabled\": \"yes\""))
        .expect("line")
        + 1;
    refused(
        d,
        "gcp",
        "bad/wrong-type.json",
        wrong.as_bytes(),
        &[&format!(
            "bad/wrong-type.json:{line}: field `serviceAccounts[2].disabled`"
        )],
        &[],
    );
    let wrong = text.replace("2023-02-14T09:31:07Z", "yesterday");
    refused(
        d,
        "gcp",
        "bad/date.json",
        wrong.as_bytes(),
        &["field `keys[0].validAfterTime`", "RFC 3339"],
        &[],
    );
    refused(
        d,
        "gcp",
        "bad/binary.json",
        b"\x00\x9f\x92\x96junk",
        &["bad/binary.json:1:", "UTF-8"],
        &[],
    );
    refused(d, "gcp", "bad/empty.json", b"  \n", &["empty"], &[]);
    // the bare `gcloud projects get-iam-policy` output does not name its project
    let policy = std::fs::read(fixture("gcp/iam-policy.json")).expect("read");
    refused(
        d,
        "gcp",
        "bad/iam-policy.json",
        &policy,
        &["projectId", "docs/sources/gcp.md"],
        &[],
    );
    refused(
        d,
        "gcp",
        "bad/other.json",
        br#"{"something": 1}"#,
        &["neither a service account"],
        &[],
    );
    // a key whose name is not a key name
    refused(
        d,
        "gcp",
        "bad/keyname.json",
        br#"[{"name": "projects/p/serviceAccounts/a@p.iam.gserviceaccount.com/keys/", "keyType": "USER_MANAGED"}]"#,
        &["`name`"],
        &[],
    );
    // a good file with a bad one: neither is committed
    castellan(d)
        .args(["import", "gcp"])
        .arg(&file)
        .arg("bad/wrong-type.json")
        .assert()
        .code(2);

    assert_eq!(state(d), before, "a failed import changed the inventory");
    verify_ledger(d);
}

#[test]
fn private_key_material_is_never_stored() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    const PLANTED: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDPLANTEDSECRET";
    // `gcloud iam service-accounts keys create` prints the key's private part: a key list with
    // it, as someone might keep it
    let text = std::fs::read_to_string(fixture("gcp/keys-ci-deployer.json")).expect("read");
    let mut keys: Value = serde_json::from_str(&text).expect("json");
    keys[0]["privateKeyData"] = json!(PLANTED);
    keys[0]["privateKeyType"] = json!("TYPE_GOOGLE_CREDENTIALS_FILE");
    std::fs::create_dir_all(d.join("gcp")).expect("mkdir");
    std::fs::write(
        d.join("gcp/keys.json"),
        serde_json::to_vec_pretty(&keys).expect("json"),
    )
    .expect("write");
    let out = import(d, "gcp", &[Path::new("gcp/keys.json")]);
    let out = serde_json::to_vec(&out).expect("json");
    // keys without their account: the identity is named from the key, not imported
    let k = stored_credential(d, &key(CI, "3f1c9a7be0d24c55a9e1b6f2d7c40e8a91b3c5d7"));
    assert_eq!(k.credential.identity_id.as_deref(), Some(CI));
    assert_eq!(k.credential.attributes["private_key_in_export"], true);
    assert_eq!(
        k.credential.attributes["private_key_type"],
        "TYPE_GOOGLE_CREDENTIALS_FILE"
    );
    // … and not echoed by an error either
    keys[1]["disabled"] = json!(PLANTED);
    let stderr = refused(
        d,
        "gcp",
        "gcp/bad-keys.json",
        &serde_json::to_vec_pretty(&keys).expect("json"),
        &["field `[1].disabled`"],
        &[PLANTED, "PLANTEDSECRET"],
    );
    let everything = written_bytes(d, &[&out, stderr.as_bytes(), &list_raw(d)]);
    assert_absent(
        &everything,
        &[PLANTED, "PLANTEDSECRET", "MIIEvQIBADANBgkqhkiG9w0BAQEF"],
    );
}
