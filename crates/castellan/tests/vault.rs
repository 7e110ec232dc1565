//! HashiCorp Vault through the real binary: token accessor lookups and a file audit device log
//! of the same cluster. Tokens with their dates, policies, privilege and why, who may revoke
//! them; audit events on the right identities and tokens (issue, use, refused use, policy
//! change, revocation of another token); idempotent re-import; bad input named with nothing
//! committed; token values, client tokens and request data never stored.

mod common;
mod importers;

use std::path::{Path, PathBuf};

use common::*;
use importers::*;
use serde_json::{Value, json};

const ROOT_ROLE: &str = "vault:prod:token-role/root";
const ROOT_TOKEN: &str = "vault:prod:token/8cRyUlDkuRSxi8IcNp5oAQXV";
const CI: &str = "vault:prod:entity/5a1e42d3-7c7f-0b2a-55e1-1f3ad0c6c9b1";
const CI_TOKEN: &str = "vault:prod:token/X6b0Ct3QzNwGcFqN2Oe9J1Zk";
const ALICE: &str = "vault:prod:entity/0c7d1b4e-91aa-4f5e-b8a2-3e6f9d1c2b7a";
const ALICE_TOKEN: &str = "vault:prod:token/kP9mZ2xL7vQ4tR8sW1nB6cHj";
const BACKUP: &str = "vault:prod:token-role/token-legacy-backup";
const BACKUP_TOKEN: &str = "vault:prod:token/Q1w2E3r4T5y6U7i8O9p0AaSs";

fn cans(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The lookups, and the audit log named after the cluster (`prod.log` ⇒ cluster `prod`, the
/// cluster the lookups name in `vault_cluster`).
fn exports(dir: &Path) -> (PathBuf, PathBuf) {
    (
        copy_fixture(dir, "vault/prod-tokens.json", "vault/prod-tokens.json"),
        copy_fixture(dir, "vault/audit.log", "vault/prod.log"),
    )
}

fn event<'a>(all: &'a [castellan_model::Event], id: &str) -> &'a castellan_model::Event {
    all.iter()
        .find(|e| e.id == id)
        .unwrap_or_else(|| panic!("no event {id} in {all:#?}"))
}

fn audit(n: u32, kind: &str) -> String {
    format!("vault:prod:audit/2b1c4f0e-1111-4a2b-9c3d-{n:012}:{kind}")
}

#[test]
fn tokens_and_their_audit_log() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let (tokens, log) = exports(d);
    let reports = import(d, "vault", &[&tokens, &log]);
    // (file, source, records, added, changed, unchanged, gone, events)
    assert_eq!(
        summary(&reports),
        [
            (
                "vault/prod-tokens.json".to_string(),
                "vault".to_string(),
                8,
                8,
                0,
                0,
                0,
                0
            ),
            (
                // six events, and a sighting of the root token used in the clear (its last use)
                "vault/prod.log".to_string(),
                "vault".to_string(),
                7,
                1,
                0,
                0,
                0,
                6
            ),
        ]
    );
    assert_eq!(list_ids(d), [ALICE, CI, ROOT_ROLE, BACKUP]);

    // the classic finding: a root token that never expires
    let root = show(d, ROOT_ROLE);
    assert_eq!(root["kind"], "vault-token-role");
    assert_eq!(root["source"], "vault");
    assert_eq!(root["name"], "root");
    assert_eq!(root["account"], "prod");
    assert_eq!(root["status"], "active");
    assert_eq!(root["privilege"], "admin");
    assert_eq!(root["created_at"], "2021-03-10T08:00:00Z");
    assert_eq!(
        root["attributes"]["privilege_reason"],
        "holds the root policy: every operation on every path"
    );
    assert_eq!(root["attributes"]["root_token_never_expires"], true);
    assert_eq!(root["attributes"]["policies"], json!(["root"]));
    assert_eq!(credential_ids(&root), [ROOT_TOKEN]);
    let t = credential(&root, ROOT_TOKEN);
    assert_eq!(t["kind"], "vault-token");
    assert_eq!(t["name"], "root (8cRyUlDkuRSxi8IcNp5oAQXV)");
    assert_eq!(t["status"], "active");
    assert_eq!(t["created_at"], "2021-03-10T08:00:00Z");
    assert_eq!(t["last_rotated_at"], "2021-03-10T08:00:00Z");
    assert_eq!(t["expires_at"], Value::Null);
    // last use from the audit log's sighting of the token
    assert_eq!(t["last_used_at"], "2026-11-30T10:05:00Z");
    let a = &t["attributes"];
    assert_eq!(a["never_expires"], true);
    assert_eq!(a["root_token"], true);
    assert_eq!(a["orphan"], true);
    assert_eq!(a["auth_path"], "auth/token/root");
    assert_eq!(a["token_type"], "service");
    // an orphan: only the token itself (and whoever may revoke by accessor, said the note)
    assert_eq!(
        authority(&a["lifecycle_authority"]),
        [(ROOT_ROLE.to_string(), cans(&["use", "revoke"]))]
    );
    assert!(
        a["lifecycle_authority"]["note"]
            .as_str()
            .is_some_and(|n| n.contains("auth/token/revoke-accessor"))
    );
    // what root did: changed the ci-deploy policy. It also revoked another token by accessor
    // and created one a minute later: its own token was not revoked.
    let ev = events(&root);
    assert_eq!(
        ev.iter()
            .map(|e| (e.0.as_str(), e.1.as_str(), e.2.as_str(), e.3.as_str()))
            .collect::<Vec<_>>(),
        [(
            audit(4, "request").as_str(),
            "privilege-changed",
            "2026-11-30T09:20:00Z",
            ROOT_ROLE
        )]
    );
    assert_eq!(
        root["events"][0]["attributes"]["path"],
        "sys/policies/acl/ci-deploy"
    );
    assert_eq!(root["events"][0]["attributes"]["operation"], "update");
    assert!(
        !ev.iter().any(|e| e.1 == "revoked"),
        "the root token revoked another token, it was not revoked: {ev:?}"
    );

    // ci-deployer's approle entity: a day-long token, issued, used, refused
    let ci = show(d, CI);
    assert_eq!(ci["kind"], "vault-entity");
    assert_eq!(ci["name"], "approle");
    assert_eq!(ci["privilege"], "unknown");
    assert_eq!(
        ci["attributes"]["privilege_reason"],
        "policies ci-deploy are not in this export: their rules decide"
    );
    assert_eq!(
        ci["attributes"]["policies"],
        json!(["ci-deploy", "default"])
    );
    assert_eq!(ci["tags"], json!({"role_name": "ci-deployer"}));
    assert_eq!(ci["created_at"], "2026-11-30T09:00:00Z");
    let t = credential(&ci, CI_TOKEN);
    assert_eq!(t["created_at"], "2026-11-30T09:00:00Z");
    assert_eq!(t["expires_at"], "2026-12-01T09:00:00Z");
    let a = &t["attributes"];
    assert!(a.get("never_expires").is_none());
    assert_eq!(a["auth_path"], "auth/approle/login");
    assert_eq!(a["entity_id"], "5a1e42d3-7c7f-0b2a-55e1-1f3ad0c6c9b1");
    assert_eq!(a["renewable"], true);
    assert_eq!(a["ttl"], 79213);
    assert_eq!(a["creation_ttl"], 86400);
    assert_eq!(
        authority(&a["lifecycle_authority"]),
        [(CI.to_string(), cans(&["use", "revoke"]))]
    );
    let ev = events(&ci);
    assert_eq!(
        ev.iter()
            .map(|e| (
                e.0.as_str(),
                e.1.as_str(),
                e.2.as_str(),
                e.3.as_str(),
                e.4.as_str()
            ))
            .collect::<Vec<_>>(),
        [
            (
                audit(1, "response").as_str(),
                "issued",
                "2026-11-30T09:00:00Z",
                CI,
                CI
            ),
            (
                audit(2, "request").as_str(),
                "used",
                "2026-11-30T09:00:03Z",
                CI,
                CI
            ),
            (
                audit(3, "request").as_str(),
                "failed-use",
                "2026-11-30T09:01:10Z",
                CI,
                CI
            ),
        ]
    );
    let issued = &ci["events"][0]["attributes"];
    assert_eq!(issued["path"], "auth/approle/login");
    assert_eq!(issued["issued_policies"], json!(["ci-deploy", "default"]));
    assert!(
        issued["issued_accessor_hmac"]
            .as_str()
            .is_some_and(|h| h.starts_with("hmac-sha256:"))
    );
    assert_eq!(
        ci["events"][1]["attributes"]["path"],
        "secret/data/payments/db"
    );
    assert_eq!(ci["events"][1]["attributes"]["operation"], "read");
    assert_eq!(ci["events"][2]["attributes"]["error"], "permission denied");
    assert_eq!(
        ci["events"][2]["attributes"]["path"],
        "sys/policies/acl/platform-admins"
    );

    // alice: admin rights through an identity policy the export does not hold
    let alice = show(d, ALICE);
    assert_eq!(alice["name"], "userpass-alice");
    assert_eq!(alice["privilege"], "unknown");
    assert_eq!(
        alice["attributes"]["privilege_reason"],
        "policies platform-admins are not in this export: their rules decide"
    );
    assert_eq!(alice["tags"], json!({"username": "alice"}));
    let t = credential(&alice, ALICE_TOKEN);
    assert_eq!(t["expires_at"], "2026-12-31T09:00:00Z");
    assert_eq!(
        t["attributes"]["identity_policies"],
        json!(["platform-admins"])
    );
    assert_eq!(t["attributes"]["auth_path"], "auth/userpass/login/alice");

    // a child token with only the default policy, left by a former team
    let backup = show(d, BACKUP);
    assert_eq!(backup["privilege"], "none");
    assert_eq!(
        backup["attributes"]["privilege_reason"],
        "only the default policy (look itself up, renew, revoke itself, its cubbyhole)"
    );
    assert_eq!(backup["tags"], json!({"owner": "former-ops-team"}));
    let t = credential(&backup, BACKUP_TOKEN);
    assert_eq!(t["created_at"], "2019-07-08T12:00:00Z");
    assert_eq!(t["attributes"]["never_expires"], true);
    assert_eq!(t["attributes"]["orphan"], false);
    assert_eq!(
        authority(&t["attributes"]["lifecycle_authority"]),
        [
            (BACKUP.to_string(), cans(&["use", "revoke"])),
            ("parent token".to_string(), cans(&["revoke"])),
        ]
    );

    // events about tokens the lookups do not hold
    let all = stored_events(d);
    assert_eq!(all.len(), 6);
    let revoked = event(&all, &audit(5, "request"));
    assert_eq!(revoked.action, "revoked");
    assert_eq!(revoked.actor.as_deref(), Some(ROOT_ROLE));
    assert_eq!(revoked.attributes["path"], "auth/token/revoke-accessor");
    assert_eq!(revoked.attributes["namespace"], "ops/");
    assert_ne!(revoked.credential_id.as_deref(), Some(ROOT_TOKEN));
    let created = event(&all, &audit(6, "response"));
    assert_eq!(created.action, "issued");
    assert_eq!(
        created.identity_id.as_deref(),
        Some("vault:prod:token-role/token-nightly-report")
    );
    assert_eq!(created.actor.as_deref(), Some(ROOT_ROLE));
    assert_eq!(
        created.attributes["issued_policies"],
        json!(["default", "reports"])
    );
    // a request and its response are one event
    assert!(!all.iter().any(|e| e.id == audit(1, "request")));
    assert!(!all.iter().any(|e| e.id == audit(3, "response")));

    // again, explicitly, by alias and recognised by content: nothing new, nothing changed
    let again = import(d, "vault", &[&log, &tokens]);
    assert_idempotent(d, &again);
    let again = import(d, "openbao", &[&tokens]);
    assert_idempotent(d, &again);
    let again = import(d, "auto", &[&tokens, &log]);
    assert!(summary(&again).iter().all(|r| r.1 == "vault"));
    assert_idempotent(d, &again);
    assert_eq!(stored_events(d).len(), 6);
}

#[test]
fn the_cluster_comes_from_the_file_or_the_command_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    // the audit log under its usual name: cluster `audit`, ids apart from prod's
    let log = copy_fixture(d, "vault/audit.log", "vault/audit.log");
    import(d, "vault", &[&log]);
    let all = stored_events(d);
    assert_eq!(all.len(), 6);
    assert!(
        all.iter().all(|e| e.id.starts_with("vault:audit:audit/")),
        "{all:#?}"
    );
    // `--cluster` names it
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let log = copy_fixture(d, "vault/audit.log", "vault/audit.log");
    let tokens = copy_fixture(d, "vault/prod-tokens.json", "vault/prod-tokens.json");
    import_with(d, "vault", &[&tokens, &log], |c| {
        c.args(["--cluster", "prod"]);
    });
    assert_eq!(events(&show(d, CI)).len(), 3);
}

#[test]
fn bad_input_is_named_and_nothing_is_committed() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let (tokens, log) = exports(d);
    import(d, "vault", &[&tokens, &log]);
    let before = state(d);
    let text = std::fs::read_to_string(d.join(&tokens)).expect("read");
    let audit_text = std::fs::read_to_string(d.join(&log)).expect("read");

    refused(
        d,
        "vault",
        "bad/truncated.json",
        &text.as_bytes()[..text.len() / 2],
        &["bad/truncated.json:", "truncated"],
        &[],
    );
    let wrong = text.replacen("\"orphan\": true", "\"orphan\": \"yes\"", 1);
    let line = wrong
        .lines()
        .position(|l| l.contains("\"orphan\": \"yes\""))
        .expect("line")
        + 1;
    refused(
        d,
        "vault",
        "bad/wrong-type.json",
        wrong.as_bytes(),
        &[&format!(
            "bad/wrong-type.json:{line}: field `[0].data.orphan`"
        )],
        &[],
    );
    refused(
        d,
        "vault",
        "bad/binary.json",
        b"\xff\xfe\x00junk",
        &["UTF-8"],
        &[],
    );
    refused(d, "vault", "bad/empty.json", b"\n  \n", &["empty"], &[]);
    refused(
        d,
        "vault",
        "bad/accessors.json",
        br#"["abc", "def"]"#,
        &["field `[0]`", "vault token lookup"],
        &[],
    );
    // an audit log whose last line is cut: the good lines before it are not committed
    let n = audit_text.lines().count();
    let mut cut = audit_text.replace(
        "2b1c4f0e-1111-4a2b-9c3d-0000000000",
        "2b1c4f0e-2222-4a2b-9c3d-0000000000",
    );
    cut.push_str(
        "{\"time\":\"2026-11-30T10:00:00Z\",\"type\":\"request\",\"request\":{\"id\":\"z\"\n",
    );
    refused(
        d,
        "vault",
        "bad/cut.log",
        cut.as_bytes(),
        &[&format!("bad/cut.log:{}:", n + 1)],
        &[],
    );
    let wrong = audit_text.replacen(
        "\"time\":\"2026-11-30T09:00:03.120044Z\"",
        "\"time\":\"soon\"",
        1,
    );
    refused(
        d,
        "vault",
        "bad/time.log",
        wrong.as_bytes(),
        &["bad/time.log:3: field `time`", "RFC 3339"],
        &[],
    );
    refused(
        d,
        "vault",
        "bad/cluster.json",
        text.replacen(
            "\"vault_cluster\": \"prod\"",
            "\"vault_cluster\": \"prod east!\"",
            1,
        )
        .as_bytes(),
        &["field `vault_cluster`", "not a cluster name"],
        &[],
    );
    castellan(d)
        .args(["import", "vault"])
        .arg(&tokens)
        .arg("bad/cut.log")
        .assert()
        .code(2);

    assert_eq!(
        state(d),
        before,
        "a failed import changed the inventory or its events"
    );
    verify_ledger(d);
}

#[test]
fn tokens_and_request_data_are_never_stored() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    const LOOKED_UP: &str = "hvs.PLANTEDtokenVALUEaaaaaaaaaaaaaaaaaa";
    // a lookup made by token value carries the token in `data.id`
    let tokens = std::fs::read_to_string(fixture("vault/prod-tokens.json"))
        .expect("read")
        .replacen("\"id\": \"\"", &format!("\"id\": \"{LOOKED_UP}\""), 1);
    assert!(tokens.contains(LOOKED_UP));
    std::fs::create_dir_all(d.join("vault")).expect("mkdir");
    std::fs::write(d.join("vault/prod-tokens.json"), &tokens).expect("write");
    // an audit device with log_raw writes client tokens, request data and error texts
    let raw_log = concat!(
        r#"{"time":"2026-11-30T11:00:00Z","type":"request","auth":{"client_token":"hvs.PLANTEDrawCLIENTtoken0000000000","accessor":"plainAccessor1","display_name":"approle","policies":["default"],"token_type":"service"},"request":{"id":"r-1","operation":"update","path":"secret/data/x","client_token":"hvs.PLANTEDrawCLIENTtoken0000000000","data":{"password":"PLANTEDpassword123"},"remote_address":"10.0.0.9"},"error":"1 error occurred: PLANTEDerrorQUOTE"}"#,
        "\n",
        r#"{"time":"2026-11-30T11:00:01Z","type":"response","auth":{"accessor":"plainAccessor1","display_name":"approle"},"request":{"id":"r-2","operation":"update","path":"auth/approle/login","data":{"secret_id":"PLANTEDsecretID"}},"response":{"auth":{"client_token":"hvs.PLANTEDnewTOKEN00000000000000","accessor":"newAccessor","display_name":"approle-ci","policies":["ci"]},"data":{"http_status_code":200}}}"#,
        "\n"
    );
    std::fs::write(d.join("vault/prod.log"), raw_log).expect("write");
    let out = import(
        d,
        "vault",
        &[
            Path::new("vault/prod-tokens.json"),
            Path::new("vault/prod.log"),
        ],
    );
    let root = show(d, ROOT_ROLE);
    assert!(
        credential(&root, ROOT_TOKEN)["attributes"]["lookup_contained_token"]
            .as_str()
            .is_some_and(|s| s.contains("delete the file"))
    );
    let all = stored_events(d);
    assert_eq!(all.len(), 2);
    let issued = event(&all, "vault:prod:audit/r-2:response");
    assert_eq!(
        issued.credential_id.as_deref(),
        Some("vault:prod:token/newAccessor")
    );
    assert_eq!(
        event(&all, "vault:prod:audit/r-1:request").attributes["error"],
        "error"
    );
    // a token pasted into a field of the wrong type is not echoed
    let bad = tokens.replacen(
        "\"orphan\": true",
        &format!("\"orphan\": \"{LOOKED_UP}\""),
        1,
    );
    let stderr = refused(
        d,
        "vault",
        "vault/bad.json",
        bad.as_bytes(),
        &["data.orphan"],
        &["PLANTED"],
    );
    let out = serde_json::to_vec(&out).expect("json");
    let shown = serde_json::to_vec(&root).expect("json");
    let everything = written_bytes(d, &[&out, &shown, stderr.as_bytes(), &list_raw(d)]);
    assert_absent(
        &everything,
        &[
            LOOKED_UP,
            "PLANTEDrawCLIENTtoken",
            "PLANTEDpassword123",
            "PLANTEDerrorQUOTE",
            "PLANTEDsecretID",
            "PLANTEDnewTOKEN",
            "PLANTED",
        ],
    );
}
