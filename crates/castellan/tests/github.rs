//! GitHub organisation exports through the real binary: the bundle of scripts/export-github.sh
//! and the raw REST responses. App installations, fine-grained PATs and deploy keys with their
//! privilege and why, third parties and broad exposure, tokens and keys with their dates,
//! Actions secrets, who may issue and revoke them, audit-log events on the right identities and
//! credentials; idempotent re-import; bad input named with nothing committed; values the API
//! never returns are never stored even when planted.

mod common;
mod importers;

use std::path::{Path, PathBuf};

use common::*;
use importers::*;
use serde_json::{Value, json};

const SHARED_KEY: &str = "ssh:sha256:48a6sDOuCk/iw+PFnIYXlWgYQR0I5OgJHyYHyYsp2ek";
const PAYMENTS_KEY: &str = "ssh:sha256:BDgTqe32W9Ig2zk9D44ONRQingU9pjZEhIbceSkL68Q";
const OWNER: &str = "github:acme:user/alice-cto";

fn cans(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn bundle(dir: &Path) -> PathBuf {
    copy_fixture(dir, "github/acme-bundle.json", "github/acme.json")
}

fn event<'a>(all: &'a [castellan_model::Event], id: &str) -> &'a castellan_model::Event {
    all.iter()
        .find(|e| e.id == id)
        .unwrap_or_else(|| panic!("no event {id} in {all:#?}"))
}

#[test]
fn the_organisation_bundle() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let file = bundle(d);
    let reports = import(d, "github", &[&file]);
    // 10 identities, 9 credentials (the key of two deploy keys is one), 6 lifecycle events
    assert_eq!(
        summary(&reports),
        [(
            "github/acme.json".to_string(),
            "github".to_string(),
            25,
            19,
            0,
            0,
            0,
            6
        )]
    );
    assert_eq!(
        list_ids(d),
        [
            "github:acme:app/acme-release-bot",
            "github:acme:app/lintly",
            "github:acme:app/shipfast-ci",
            "github:acme:pat/9001",
            "github:acme:pat/9002",
            "github:acme:pat/9003",
            "github:acme:repo/docs/deploy-key/504",
            "github:acme:repo/infra/deploy-key/502",
            "github:acme:repo/infra/deploy-key/503",
            "github:acme:repo/web/deploy-key/501",
        ]
    );

    // a third party's app, administrator-equivalent on every repository
    let ship = show(d, "github:acme:app/shipfast-ci");
    assert_eq!(ship["kind"], "github-app-installation");
    assert_eq!(ship["source"], "github");
    assert_eq!(ship["account"], "acme");
    assert_eq!(ship["status"], "active");
    assert_eq!(ship["created_at"], "2024-03-04T10:15:00Z");
    assert_eq!(ship["privilege"], "admin");
    let a = &ship["attributes"];
    assert_eq!(
        a["privilege_reason"],
        "administrator-equivalent permissions: workflows: write (changes access, secrets or the workflows that hold them)"
    );
    assert_eq!(a["third_party"], true);
    assert_eq!(a["app_owner"], "shipfast-io");
    assert_eq!(
        a["external_trust"],
        json!([
            "GitHub App shipfast-ci is owned by shipfast-io, not by acme: its owner holds the private key that mints installation tokens"
        ])
    );
    assert_eq!(
        a["broad_exposure"],
        "installed on all repositories of acme, present and future"
    );
    assert_eq!(a["installation_id"], 4201);
    assert_eq!(a["app_id"], 31337);
    assert_eq!(
        authority(&ship["lifecycle_authority"]),
        [
            (OWNER.to_string(), cans(&["issue", "revoke"])),
            ("github:shipfast-io".to_string(), cans(&["use"])),
        ]
    );
    assert_eq!(
        events(&ship),
        [(
            "github:acme:audit/InSt4".to_string(),
            "privilege-changed".to_string(),
            "2026-11-02T11:00:00Z".to_string(),
            "github:alice-cto".to_string(),
            "github:acme:app/shipfast-ci".to_string(),
            String::new()
        )]
    );
    assert_eq!(
        ship["events"][0]["attributes"]["github_action"],
        "integration_installation.repositories_added"
    );
    // the organisation's own app, on selected repositories
    let bot = show(d, "github:acme:app/acme-release-bot");
    assert_eq!(bot["privilege"], "write");
    assert_eq!(
        bot["attributes"]["privilege_reason"],
        "write permissions: contents: write, pull_requests: write"
    );
    assert_eq!(bot["attributes"]["third_party"], false);
    assert!(bot["attributes"].get("external_trust").is_none());
    assert!(bot["attributes"].get("broad_exposure").is_none());
    // suspended, owner unknown
    let lint = show(d, "github:acme:app/lintly");
    assert_eq!(lint["status"], "inactive");
    assert_eq!(lint["privilege"], "read");
    assert_eq!(
        lint["attributes"]["privilege_reason"],
        "read-only permissions"
    );
    assert_eq!(lint["attributes"]["app_owner"], "unknown");
    assert_eq!(lint["attributes"]["suspended_by"], "alice-cto");
    assert_eq!(lint["attributes"]["suspended_at"], "2026-02-10T10:00:00Z");
    assert!(lint["attributes"].get("third_party").is_none());

    // a fine-grained PAT that never expires, with administration on all repositories
    let pat = show(d, "github:acme:pat/9001");
    assert_eq!(pat["kind"], "github-fine-grained-pat");
    assert_eq!(pat["name"], "ops-automation");
    assert_eq!(pat["status"], "active");
    assert_eq!(pat["privilege"], "admin");
    assert_eq!(pat["created_at"], "2025-01-20T08:00:00Z");
    assert_eq!(pat["last_used_at"], "2026-11-28T17:42:10Z");
    let a = &pat["attributes"];
    assert_eq!(
        a["privilege_reason"],
        "administrator-equivalent permissions: administration: write (changes access, secrets or the workflows that hold them)"
    );
    assert_eq!(a["suggested_owner"], "bob-ops");
    assert_eq!(a["never_expires"], true);
    assert_eq!(
        a["broad_exposure"],
        "reaches all repositories of acme, present and future"
    );
    assert_eq!(
        authority(&pat["lifecycle_authority"]),
        [
            (
                "github:acme:user/bob-ops".to_string(),
                cans(&["issue", "rotate", "revoke", "use"])
            ),
            (OWNER.to_string(), cans(&["revoke"])),
        ]
    );
    assert_eq!(credential_ids(&pat), ["github:acme:pat/9001/token"]);
    let t = credential(&pat, "github:acme:pat/9001/token");
    assert_eq!(t["kind"], "token");
    assert_eq!(t["status"], "active");
    assert_eq!(t["created_at"], "2025-01-20T08:00:00Z");
    assert_eq!(t["last_rotated_at"], "2025-01-20T08:00:00Z");
    assert_eq!(t["last_used_at"], "2026-11-28T17:42:10Z");
    assert_eq!(t["ever_used"], true);
    assert_eq!(t["expires_at"], Value::Null);
    assert_eq!(t["attributes"]["never_expires"], true);
    assert_eq!(t["attributes"]["token_type"], "github-fine-grained-pat");
    assert_eq!(
        t["attributes"]["lifecycle_authority"],
        pat["lifecycle_authority"]
    );
    // its grant and its use, from the audit log
    let ev = events(&pat);
    assert_eq!(
        ev.iter()
            .map(|e| (
                e.0.as_str(),
                e.1.as_str(),
                e.2.as_str(),
                e.3.as_str(),
                e.5.as_str()
            ))
            .collect::<Vec<_>>(),
        [
            (
                "github:acme:audit/GrAnT1",
                "issued",
                "2025-01-20T08:00:00Z",
                "github:bob-ops",
                "github:acme:pat/9001/token"
            ),
            (
                "github:acme:audit/UsE6",
                "used",
                "2026-11-28T17:42:10Z",
                "github:bob-ops",
                "github:acme:pat/9001/token"
            ),
        ]
    );
    assert_eq!(
        pat["events"][1]["attributes"]["programmatic_access_type"],
        "Fine-grained personal access token"
    );
    assert_eq!(pat["events"][1]["attributes"]["repository"], "acme/infra");
    // expired, by GitHub's word
    let docs = show(d, "github:acme:pat/9002");
    assert_eq!(docs["status"], "expired");
    assert_eq!(docs["privilege"], "read");
    let t = credential(&docs, "github:acme:pat/9002/token");
    assert_eq!(t["status"], "expired");
    assert_eq!(t["expires_at"], "2026-06-01T00:00:00Z");
    assert_eq!(t["last_used_at"], "2026-05-30T07:00:00Z");
    assert!(t["attributes"].get("never_expires").is_none());
    // never used
    let triage = show(d, "github:acme:pat/9003");
    assert_eq!(triage["privilege"], "write");
    assert_eq!(
        triage["attributes"]["privilege_reason"],
        "write permissions: issues: write"
    );
    let t = credential(&triage, "github:acme:pat/9003/token");
    assert_eq!(t["status"], "active");
    assert_eq!(t["ever_used"], false);
    assert_eq!(t["last_used_at"], Value::Null);
    assert_eq!(t["created_at"], "2026-07-01T09:00:00Z");
    assert_eq!(t["expires_at"], "2027-01-15T00:00:00Z");

    // one key, deploy key of web (read-write) and docs (read-only)
    let web = show(d, "github:acme:repo/web/deploy-key/501");
    assert_eq!(web["kind"], "github-deploy-key");
    assert_eq!(web["name"], "web: prod-deployer");
    assert_eq!(web["privilege"], "write");
    assert_eq!(
        web["attributes"]["privilege_reason"],
        "read-write deploy key: may push to web"
    );
    assert_eq!(web["attributes"]["suggested_owner"], "bob-ops");
    assert_eq!(web["attributes"]["credential"], SHARED_KEY);
    assert_eq!(
        authority(&web["lifecycle_authority"]),
        [(OWNER.to_string(), cans(&["issue", "revoke"]))]
    );
    assert_eq!(credential_ids(&web), [SHARED_KEY]);
    let k = credential(&web, SHARED_KEY);
    assert_eq!(k["kind"], "ssh-key");
    assert_eq!(k["name"], "deploy key prod-deployer of web");
    assert_eq!(k["status"], "active");
    // created when first added (to web, 09:00; docs followed at 09:05), last used on web
    assert_eq!(k["created_at"], "2022-04-12T09:00:00Z");
    assert_eq!(k["last_rotated_at"], "2022-04-12T09:00:00Z");
    assert_eq!(k["last_used_at"], "2026-11-29T22:10:00Z");
    assert_eq!(k["expires_at"], Value::Null);
    assert_eq!(k["attributes"]["read_only"], false);
    assert_eq!(k["attributes"]["repository"], "web");
    assert_eq!(
        k["attributes"]["also_deploy_key_of"],
        json!(["github:acme:repo/docs/deploy-key/504"])
    );
    assert_eq!(
        k["attributes"]["fingerprint"],
        "SHA256:48a6sDOuCk/iw+PFnIYXlWgYQR0I5OgJHyYHyYsp2ek"
    );
    assert_eq!(
        events(&web),
        [(
            "github:acme:audit/DkCr3".to_string(),
            "issued".to_string(),
            "2026-10-01T09:00:00Z".to_string(),
            "github:bob-ops".to_string(),
            "github:acme:repo/web/deploy-key/501".to_string(),
            SHARED_KEY.to_string()
        )]
    );
    let docs_key = show(d, "github:acme:repo/docs/deploy-key/504");
    assert_eq!(docs_key["privilege"], "read");
    assert_eq!(docs_key["created_at"], "2022-04-12T09:05:00Z");
    assert_eq!(docs_key["last_used_at"], "2025-03-01T10:00:00Z");
    assert_eq!(docs_key["attributes"]["credential"], SHARED_KEY);
    let old = show(d, "github:acme:repo/infra/deploy-key/503");
    assert_eq!(old["status"], "inactive");
    let k = &old["credentials"][0];
    assert_eq!(k["status"], "inactive");
    assert_eq!(k["created_at"], "2019-08-20T16:00:00Z");
    assert_eq!(k["last_used_at"], Value::Null);
    assert!(
        old["attributes"].get("suggested_owner").is_none(),
        "added by nobody known"
    );

    // Actions secrets have no identity: read them from the database
    let npm = stored_credential(d, "github:acme:secret/org/NPM_TOKEN").credential;
    assert_eq!(npm.kind, "ci-secret");
    assert_eq!(npm.identity_id, None);
    assert_eq!(
        npm.created_at.map(castellan_model::format_ts).as_deref(),
        Some("2022-06-10T11:00:00Z")
    );
    assert_eq!(
        npm.last_rotated_at
            .map(castellan_model::format_ts)
            .as_deref(),
        Some("2023-02-01T09:00:00Z")
    );
    assert_eq!(npm.attributes["store"], "github-actions");
    assert_eq!(npm.attributes["level"], "org");
    assert_eq!(npm.attributes["visibility"], "all");
    assert_eq!(
        npm.attributes["broad_exposure"],
        "available to the workflows of all repositories of acme"
    );
    assert_eq!(
        authority(&npm.attributes["lifecycle_authority"]),
        [(OWNER.to_string(), cans(&["issue", "rotate", "revoke"]))]
    );
    let sonar = stored_credential(d, "github:acme:secret/org/SONAR_TOKEN").credential;
    assert!(
        !sonar.attributes.contains_key("broad_exposure"),
        "selected repositories"
    );
    let repo = stored_credential(d, "github:acme:secret/web/DEPLOY_SSH_KEY").credential;
    assert_eq!(repo.attributes["level"], "repo");
    assert_eq!(repo.attributes["repository"], "web");

    // events about what has no identity here
    let all = stored_events(d);
    assert_eq!(all.len(), 6);
    let rotated = event(&all, "github:acme:audit/SeC5");
    assert_eq!(rotated.action, "issued");
    assert_eq!(
        rotated.credential_id.as_deref(),
        Some("github:acme:secret/org/NPM_TOKEN")
    );
    assert_eq!(rotated.attributes["rotation"], true);
    assert_eq!(
        castellan_model::format_ts(rotated.at),
        "2026-11-10T08:00:00Z"
    );
    let revoked = event(&all, "github:acme:audit/ReVoKe2");
    assert_eq!(revoked.action, "revoked");
    assert_eq!(revoked.identity_id.as_deref(), Some("github:acme:pat/8999"));
    assert_eq!(revoked.actor.as_deref(), Some("github:alice-cto"));
    assert_eq!(
        castellan_model::format_ts(revoked.at),
        "2026-09-02T14:30:00Z"
    );
    assert!(
        !all.iter().any(|e| e.id == "github:acme:audit/ReQ7"),
        "a pending request is no lifecycle event"
    );

    // again, explicitly and recognised by content: nothing new, nothing changed
    let again = import(d, "github", &[&file]);
    assert_idempotent(d, &again);
    let again = import(d, "auto", &[&file]);
    assert_eq!(summary(&again)[0].1, "github");
    assert_idempotent(d, &again);
    assert_eq!(stored_events(d).len(), 6);
}

#[test]
fn raw_api_responses_in_one_run() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    // A PAT list alone names its organisation only by number (`/organizations/<id>/…`): refused,
    // pointing to the bundle.
    let pats = copy_fixture(
        d,
        "github/personal-access-tokens.json",
        "raw/personal-access-tokens.json",
    );
    castellan(d)
        .args(["import", "github"])
        .arg(&pats)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("export-github.sh"));
    // Printed in one file after the installations (as a script appending responses does), the
    // organisation is known.
    let installations = copy_fixture(d, "github/installations.json", "raw/installations.json");
    let mut both = std::fs::read(d.join(&installations)).expect("read");
    both.push(b'\n');
    both.extend(std::fs::read(d.join(&pats)).expect("read"));
    let org_file = PathBuf::from("raw/org.json");
    std::fs::write(d.join(&org_file), both).expect("write");
    std::fs::remove_file(d.join(&installations)).expect("rm");
    std::fs::remove_file(d.join(&pats)).expect("rm");
    let mut files: Vec<PathBuf> = ["deploy-keys-api.json", "audit-log.json"]
        .iter()
        .map(|f| copy_fixture(d, &format!("github/{f}"), &format!("raw/{f}")))
        .collect();
    files.insert(0, org_file);
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let reports = import(d, "auto", &paths);
    assert!(
        summary(&reports).iter().all(|r| r.1 == "github"),
        "{reports:#}"
    );
    assert_eq!(
        list_ids(d),
        [
            "github:acme:app/acme-release-bot",
            "github:acme:app/shipfast-ci",
            "github:acme:pat/7001",
            "github:acme:pat/7002",
            "github:acme:repo/payments/deploy-key/601",
            "github:acme:repo/payments/deploy-key/602",
        ]
    );
    // without the apps and members of the bundle: owners unknown, and the note says so
    let ship = show(d, "github:acme:app/shipfast-ci");
    assert_eq!(ship["privilege"], "admin");
    assert_eq!(ship["attributes"]["app_owner"], "unknown");
    assert_eq!(ship["created_at"], "2024-03-04T10:15:00Z");
    assert_eq!(ship["lifecycle_authority"]["principals"], json!([]));
    assert!(
        ship["lifecycle_authority"]["note"]
            .as_str()
            .is_some_and(|n| n.contains("Organisation owners are not in this export"))
    );
    // a timestamp with an offset
    let bot = show(d, "github:acme:app/acme-release-bot");
    assert_eq!(bot["created_at"], "2024-09-15T08:30:00Z");
    // a PAT that may write organisation secrets: administrator-equivalent, never expires
    let sync = show(d, "github:acme:pat/7002");
    assert_eq!(sync["privilege"], "admin");
    assert!(
        sync["attributes"]["privilege_reason"]
            .as_str()
            .is_some_and(|r| r.contains("organization_secrets: write"))
    );
    assert_eq!(sync["attributes"]["never_expires"], true);
    assert_eq!(
        authority(&sync["lifecycle_authority"]),
        [(
            "github:acme:user/frank-data".to_string(),
            cans(&["issue", "rotate", "revoke", "use"])
        )]
    );
    let rerun = show(d, "github:acme:pat/7001");
    assert_eq!(rerun["privilege"], "write");
    assert_eq!(
        credential(&rerun, "github:acme:pat/7001/token")["expires_at"],
        "2026-12-31T00:00:00Z"
    );
    // the payments deploy key, deleted according to the audit log of another file
    let dk = show(d, "github:acme:repo/payments/deploy-key/601");
    assert_eq!(dk["privilege"], "write");
    assert_eq!(credential_ids(&dk), [PAYMENTS_KEY]);
    let k = credential(&dk, PAYMENTS_KEY);
    assert_eq!(k["created_at"], "2023-11-03T14:20:00Z");
    assert_eq!(k["last_used_at"], "2026-11-27T03:00:00Z");
    assert_eq!(
        events(&dk),
        [(
            "github:acme:audit/AbC123".to_string(),
            "revoked".to_string(),
            "2026-11-25T16:00:00Z".to_string(),
            "github:alice-cto".to_string(),
            String::new(),
            PAYMENTS_KEY.to_string()
        )]
    );
    let rsa = show(d, "github:acme:repo/payments/deploy-key/602");
    assert_eq!(rsa["privilege"], "read");
    assert_eq!(rsa["attributes"]["key_type"], "ssh-rsa");
    assert_eq!(rsa["last_used_at"], Value::Null);
    // the suspension names the app by its slug; a repository creation is no lifecycle event
    let all = stored_events(d);
    assert_eq!(all.len(), 2, "{all:#?}");
    let suspend = event(&all, "github:acme:audit/DeF456");
    assert_eq!(suspend.action, "revoked");
    assert_eq!(
        suspend.identity_id.as_deref(),
        Some("github:acme:app/lintly")
    );

    let again = import(d, "github", &paths);
    assert_idempotent(d, &again);
    assert_eq!(stored_events(d).len(), 2);
}

#[test]
fn bad_input_is_named_and_nothing_is_committed() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let file = bundle(d);
    import(d, "github", &[&file]);
    let before = state(d);
    let text = std::fs::read_to_string(d.join(&file)).expect("read");

    refused(
        d,
        "github",
        "bad/truncated.json",
        &text.as_bytes()[..text.len() / 2],
        &["bad/truncated.json:", "truncated"],
        &[],
    );
    let wrong = text.replacen("\"read_only\": false", "\"read_only\": \"no\"", 1);
    let line = wrong
        .lines()
        .position(|l| l.contains("\"read_only\": \"no\""))
        .expect("line")
        + 1;
    refused(
        d,
        "github",
        "bad/wrong-type.json",
        wrong.as_bytes(),
        &[&format!(
            "bad/wrong-type.json:{line}: field `deploy_keys.web[0].read_only`"
        )],
        &[],
    );
    let wrong = text.replacen("2025-01-20T08:00:00Z", "last tuesday", 1);
    refused(
        d,
        "github",
        "bad/date.json",
        wrong.as_bytes(),
        &[
            "field `personal_access_tokens[0].access_granted_at`",
            "RFC 3339",
        ],
        &[],
    );
    refused(
        d,
        "github",
        "bad/binary.json",
        b"\xff\xfe\x00junk",
        &["UTF-8"],
        &[],
    );
    refused(
        d,
        "auto",
        "bad/binary2.json",
        b"\xff\xfe\x00junk",
        &["not a format Castellan recognises"],
        &[],
    );
    refused(d, "github", "bad/empty.json", b"   ", &["empty"], &[]);
    refused(
        d,
        "github",
        "bad/other.json",
        b"{\"kind\": \"Other\"}",
        &["not a GitHub export"],
        &[],
    );
    refused(
        d,
        "github",
        "bad/secrets.json",
        br#"{"total_count": 1, "secrets": [{"name": "X", "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"}]}"#,
        &["Actions secrets page", "export-github.sh"],
        &[],
    );
    let mut mixed = std::fs::read_to_string(fixture("github/deploy-keys-api.json")).expect("read");
    mixed.push_str("\n[{\"id\": 1, \"key\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINH8kkZftDKOvDmzjDsjvVBgzNszFSPPISQYxehXppqv\", \"url\": \"https://api.github.com/repos/other/x/keys/1\", \"read_only\": true}]\n");
    refused(
        d,
        "github",
        "bad/mixed.json",
        mixed.as_bytes(),
        &["mixes organisations"],
        &[],
    );
    let wrong = text.replacen(
        "\"key\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJqlyNrzz8gLGWoWZJTf9CgBE11CulVks28OkpzX0WjS\"",
        "\"key\": \"not a key\"",
        1,
    );
    refused(
        d,
        "github",
        "bad/key.json",
        wrong.as_bytes(),
        &["deploy_keys.infra[id 502]", "not an OpenSSH public key"],
        &[],
    );
    castellan(d)
        .args(["import", "github"])
        .arg(&file)
        .arg("bad/wrong-type.json")
        .assert()
        .code(2);

    assert_eq!(state(d), before, "a failed import changed the inventory");
    verify_ledger(d);
}

#[test]
fn values_the_api_never_returns_are_never_stored() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    const NPM: &str = "npm_PLANTEDsecretVALUE0123456789abcd";
    const GHS: &str = "ghs_PLANTEDinstallationTOKEN0123456789";
    let text = std::fs::read_to_string(fixture("github/acme-bundle.json"))
        .expect("read")
        .replacen(
            "\"name\": \"NPM_TOKEN\",",
            &format!("\"name\": \"NPM_TOKEN\", \"value\": \"{NPM}\","),
            1,
        )
        .replacen(
            "\"app_slug\": \"shipfast-ci\",",
            &format!("\"app_slug\": \"shipfast-ci\", \"token\": \"{GHS}\","),
            1,
        );
    assert!(text.contains(NPM) && text.contains(GHS));
    std::fs::create_dir_all(d.join("github")).expect("mkdir");
    std::fs::write(d.join("github/leaky.json"), &text).expect("write");
    let out = import(d, "github", &[Path::new("github/leaky.json")]);
    let out = serde_json::to_vec(&out).expect("json");
    let shown = serde_json::to_vec(&show(d, "github:acme:app/shipfast-ci")).expect("json");
    // a token pasted where a date goes is not echoed
    let bad = text.replacen("2025-01-20T08:00:00Z", GHS, 1);
    let stderr = refused(
        d,
        "github",
        "github/bad.json",
        bad.as_bytes(),
        &["access_granted_at"],
        &["PLANTEDinstallation"],
    );
    // … nor where a flag goes
    let bad = text.replacen(
        "\"read_only\": false",
        &format!("\"read_only\": \"{GHS}\""),
        1,
    );
    let stderr2 = refused(
        d,
        "github",
        "github/bad2.json",
        bad.as_bytes(),
        &["deploy_keys.web[0].read_only"],
        &["PLANTEDinstallation"],
    );
    let everything = written_bytes(
        d,
        &[
            &out,
            &shown,
            stderr.as_bytes(),
            stderr2.as_bytes(),
            &list_raw(d),
        ],
    );
    assert_absent(
        &everything,
        &[NPM, GHS, "PLANTEDsecret", "PLANTEDinstallation"],
    );
}

#[test]
fn a_credential_no_identity_holds_is_shown_alone() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let b = bundle(d);
    import(d, "github", &[&b]);
    let out = castellan(d)
        .args([
            "inventory",
            "show",
            "github:acme:secret/org/NPM_TOKEN",
            "--json",
        ])
        .assert()
        .success();
    let item = json(&out.get_output().stdout);
    assert_eq!(item["identity"], Value::Null);
    assert_eq!(item["credential"]["kind"], "ci-secret");
    assert_eq!(item["credential"]["sources"], json!(["github"]));
    castellan(d)
        .args(["inventory", "show", "github:acme:secret/org/NO_SUCH"])
        .assert()
        .code(2);
}
