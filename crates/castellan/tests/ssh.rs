//! OpenSSH `authorized_keys` files and a user certificate through the real binary: accounts from
//! the path, every key with its type, size, weakness, options, expiry and lifecycle authority;
//! the same key in two files (and as a GitHub deploy key) is one credential; a folder of hosts;
//! idempotent re-import; bad lines named by file and line with nothing committed; option values
//! and private keys never stored.

mod common;
mod importers;

use std::path::{Path, PathBuf};

use common::*;
use importers::*;
use serde_json::{Value, json};

// As `ssh-keygen -lf <file>` prints them (see crates/castellan-sources/src/ssh.rs).
const CI: &str = "ssh:sha256:3j9aFpi+R9X0JmektfzNsAMKeI2mSQ1KTBui4JAdV2A";
const ALICE: &str = "ssh:sha256:u3K3PM9I2dcwb8ATN1LKXFL0LG0u7jBzhnQo/mL3cPE";
const LEGACY: &str = "ssh:sha256:7qgYVlm27Jj9gHTLVddq8I+2PTBQRsnmVeIQ1r23FE0";
const MON: &str = "ssh:sha256:CCD76lIsbhdHzDmFxmJmrgzoXq00wxoBhFAQbBiCFmQ";
const NAGIOS: &str = "ssh:sha256:h9P/r/+2Zbb6YIv6pt9NZ3oqYpg3gqxoNs8lrp3Wcy0";
const FIDO: &str = "ssh:sha256:/lnck58C4fMAR75z/ROWgadUnTtThgJQ+bWewevPZo8";
const USER_CA: &str = "ssh:sha256:jHc7PmF/3db5E5WbjELEtIDabliAqo7Nkr/PRAB6O8w";
const DBA: &str = "ssh:sha256:ljddMRurLUmN9jYvts/5UZPzudSGuAea9Hj/xNWQEeo";
const VAULT: &str = "ssh:sha256:Eyc6d+K+XilS23IjlNERktDNZNIto4yi/UhbVUOG2cY";
const RELEASE: &str = "ssh:sha256:gg1NBYKoquF4A0yF4fJDxZTtX+agAjkoqAjIFq5v6OU";
/// The key of GitHub deploy key 601 (acme/payments) in fixtures/github/deploy-keys-api.json.
const PAYMENTS_RELEASE: &str = "ssh:sha256:BDgTqe32W9Ig2zk9D44ONRQingU9pjZEhIbceSkL68Q";

const WEB: &str = "hosts/web-01/deploy/authorized_keys";
const DB: &str = "hosts/db-01/root/.ssh/authorized_keys";

/// The two hosts as collected (`hosts/<host>/…`), in `dir`.
fn hosts(dir: &Path) -> (PathBuf, PathBuf) {
    copy_fixture(dir, "ssh/hosts", "hosts");
    (PathBuf::from(WEB), PathBuf::from(DB))
}

fn attrs(c: &Value) -> &serde_json::Map<String, Value> {
    c["attributes"].as_object().expect("attributes")
}

#[test]
fn accounts_keys_options_and_authority() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let (web, db) = hosts(d);
    let reports = import(d, "ssh", &[&web, &db]);
    let s = summary(&reports);
    assert_eq!(
        s.iter()
            .map(|r| (r.0.as_str(), r.1.as_str(), r.2, r.3))
            .collect::<Vec<_>>(),
        // (file, source, records, added): one account and its keys per file; the CI key of the
        // second file is the first file's credential seen again
        [(DB, "ssh", 4, 4), (WEB, "ssh", 8, 8)]
    );
    assert_eq!(list_ids(d), ["ssh:db-01:root", "ssh:web-01:deploy"]);

    // web-01's deploy account: its rights are not in the file
    let deploy = show(d, "ssh:web-01:deploy");
    assert_eq!(deploy["kind"], "ssh-account");
    assert_eq!(deploy["source"], "ssh");
    assert_eq!(deploy["name"], "deploy@web-01");
    assert_eq!(deploy["account"], "web-01");
    assert_eq!(deploy["status"], "active");
    assert_eq!(deploy["privilege"], "unknown");
    let a = attrs(&deploy);
    assert_eq!(
        a["privilege_reason"],
        "the rights of deploy on its host are not in authorized_keys"
    );
    assert_eq!(a["user"], "deploy");
    assert_eq!(a["host"], "web-01");
    assert_eq!(a["authorized_keys"], WEB);
    assert_eq!(a["account_from"], "path");
    assert_eq!(a["authorized_keys_count"], 7);
    let who = [
        (
            "ssh:web-01:deploy".to_string(),
            vec!["issue".to_string(), "revoke".to_string()],
        ),
        (
            "ssh:web-01:root".to_string(),
            vec!["issue".to_string(), "revoke".to_string()],
        ),
    ];
    assert_eq!(authority(&deploy["lifecycle_authority"]), who);
    assert!(
        deploy["lifecycle_authority"]["note"]
            .as_str()
            .is_some_and(|n| n.contains(WEB) && n.contains("AuthorizedKeysFile"))
    );
    let mut want = vec![CI, ALICE, LEGACY, MON, NAGIOS, FIDO, USER_CA];
    want.sort_unstable();
    assert_eq!(credential_ids(&deploy), want);
    for c in deploy["credentials"].as_array().expect("creds") {
        assert_eq!(c["kind"], "ssh-key", "{c:#}");
        assert_eq!(c["status"], "active", "{c:#}");
        assert_eq!(c["sources"], json!(["ssh"]), "{c:#}");
        assert_eq!(c["created_at"], Value::Null, "{c:#}");
        assert_eq!(c["last_used_at"], Value::Null, "{c:#}");
        let fp = c["id"]
            .as_str()
            .expect("id")
            .trim_start_matches("ssh:sha256:");
        assert_eq!(c["attributes"]["fingerprint"], format!("SHA256:{fp}"));
    }

    let alice = credential(&deploy, ALICE);
    assert_eq!(alice["name"], "alice@example.eu");
    assert_eq!(alice["expires_at"], Value::Null);
    let a = attrs(alice);
    assert_eq!(a["key_type"], "ssh-rsa");
    assert_eq!(a["key_bits"], 4096);
    assert_eq!(a["line"], 4);
    assert_eq!(a["suggested_owner"], "alice@example.eu");
    assert_eq!(a["restricted"], false);
    assert_eq!(a["source_restricted"], false);
    assert_eq!(a["weak_key"], false);
    assert_eq!(a["authorized_for"], "ssh:web-01:deploy");
    assert!(!a.contains_key("options"));
    assert_eq!(authority(&a["lifecycle_authority"]), who);

    let legacy = credential(&deploy, LEGACY);
    assert_eq!(legacy["name"], "legacy-backup");
    let a = attrs(legacy);
    assert_eq!(a["key_bits"], 1024);
    assert_eq!(a["line"], 6);
    assert_eq!(a["weak_key"], true);
    assert_eq!(a["weak_reasons"], json!(["RSA key of 1024 bits (< 2048)"]));
    assert!(!a.contains_key("suggested_owner"), "not user@host");

    let mon = credential(&deploy, MON);
    assert_eq!(mon["expires_at"], "2027-01-01T00:00:00Z");
    let a = attrs(mon);
    assert_eq!(a["key_type"], "ecdsa-sha2-nistp256");
    assert_eq!(a["key_bits"], 256);
    assert_eq!(
        a["options"],
        json!(["restrict", "expiry-time", "environment"])
    );
    assert_eq!(a["restricted"], true);
    assert_eq!(a["expiry_time_zone"], "host local time, read as UTC");
    assert_eq!(a["environment_names"], json!(["MON_TOKEN"]));

    let nagios = credential(&deploy, NAGIOS);
    let a = attrs(nagios);
    assert_eq!(a["key_type"], "ssh-dss");
    assert_eq!(a["key_bits"], 1024);
    assert_eq!(
        a["weak_reasons"],
        json!(["DSA key (1024 bits; disabled by default since OpenSSH 7.0)"])
    );

    let fido = credential(&deploy, FIDO);
    let a = attrs(fido);
    assert_eq!(a["key_type"], "sk-ssh-ed25519@openssh.com");
    assert_eq!(a["hardware_backed"], true);
    assert_eq!(a["options"], json!(["no-touch-required"]));
    assert_eq!(a["suggested_owner"], "bob@yubikey");

    let ca = credential(&deploy, USER_CA);
    let a = attrs(ca);
    assert_eq!(a["cert_authority"], true);
    assert_eq!(a["principals"], json!(["deploy", "release"]));
    assert_eq!(a["line"], 11);
    assert_eq!(ca["name"], "example-user-ca");

    // db-01's root account: administers the host, and root alone may change its keys
    let root = show(d, "ssh:db-01:root");
    assert_eq!(root["name"], "root@db-01");
    assert_eq!(root["privilege"], "admin");
    assert_eq!(
        root["attributes"]["privilege_reason"],
        "the root account: a key here administers the host"
    );
    assert_eq!(root["attributes"]["authorized_keys_count"], 3);
    assert_eq!(
        authority(&root["lifecycle_authority"]),
        [(
            "ssh:db-01:root".to_string(),
            vec!["issue".to_string(), "revoke".to_string()]
        )]
    );
    let mut want = vec![DBA, CI, VAULT];
    want.sort_unstable();
    assert_eq!(credential_ids(&root), want);
    let dba = credential(&root, DBA);
    assert_eq!(dba["attributes"]["key_type"], "ecdsa-sha2-nistp384");
    assert_eq!(dba["attributes"]["key_bits"], 384);
    assert_eq!(dba["attributes"]["line"], 2);
    assert_eq!(
        dba["attributes"]["suggested_owner"],
        "dba-oncall@example.eu"
    );
    assert_eq!(dba["attributes"]["authorized_for"], "ssh:db-01:root");
    let vault = credential(&root, VAULT);
    assert_eq!(vault["expires_at"], "2026-12-31T23:59:00Z");
    let a = attrs(vault);
    assert_eq!(a["key_bits"], 521);
    assert_eq!(a["forced_command"], "/usr/bin/vault-ssh-helper -mode otp");
    assert_eq!(a["restricted"], true);
    assert_eq!(a["restrictions"], json!(["no-pty"]));
    assert!(!a.contains_key("expiry_time_zone"), "the expiry says Z");
    assert_eq!(
        authority(&a["lifecycle_authority"]),
        [(
            "ssh:db-01:root".to_string(),
            vec!["issue".to_string(), "revoke".to_string()]
        )]
    );
}

#[test]
fn recognised_by_content_and_reimport_is_idempotent() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let (web, db) = hosts(d);
    let cert = copy_fixture(d, "ssh/release-bot-cert.pub", "keys/release-bot-cert.pub");
    let first = import(d, "auto", &[&web, &db, &cert]);
    let sources: Vec<&str> = first
        .as_array()
        .expect("reports")
        .iter()
        .map(|r| r["source"].as_str().expect("source"))
        .collect();
    assert_eq!(sources, ["ssh", "ssh", "ssh"]);
    // 1 + 3 + 7 records, 10 distinct keys (the CI key is in both files) and 2 accounts
    let counts = store(d).counts().expect("counts");
    assert_eq!((counts.identities, counts.credentials), (2, 10));

    // again, explicitly and through auto-detection: nothing new, nothing changed
    let again = import(d, "ssh", &[&web, &db, &cert]);
    assert_idempotent(d, &again);
    assert_eq!(
        summary(&again)
            .iter()
            .map(|r| (r.2, r.5))
            .collect::<Vec<_>>(),
        [(4, 4), (8, 8), (1, 1)]
    );
    let again = import(d, "auto", &[&db, &web]);
    assert_idempotent(d, &again);
    let counts = store(d).counts().expect("counts");
    assert_eq!((counts.identities, counts.credentials), (2, 10));
}

#[test]
fn a_certificate_pub_file_names_its_signing_ca() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let (web, _) = hosts(d);
    let cert = copy_fixture(d, "ssh/release-bot-cert.pub", "keys/release-bot-cert.pub");
    import(d, "ssh", &[&web, &cert]);
    // A .pub file names no account: the certificate has no identity, so `inventory show`
    // cannot reach it; read it from the database.
    assert_eq!(list_ids(d), ["ssh:web-01:deploy"]);
    let c = stored_credential(d, RELEASE).credential;
    assert_eq!(c.kind, "ssh-key");
    assert_eq!(c.identity_id, None);
    assert_eq!(c.name, "release-bot");
    assert_eq!(
        c.created_at.map(castellan_model::format_ts).as_deref(),
        Some("2026-01-01T00:00:00Z")
    );
    assert_eq!(
        c.expires_at.map(castellan_model::format_ts).as_deref(),
        Some("2026-07-01T00:00:00Z")
    );
    assert_eq!(c.attributes["key_type"], "ssh-ed25519-cert-v01@openssh.com");
    let cert = &c.attributes["certificate"];
    assert_eq!(cert["type"], "user");
    assert_eq!(cert["key_id"], "release-bot@ci");
    assert_eq!(cert["serial"], 4711);
    assert_eq!(cert["principals"], json!(["deploy", "release"]));
    assert_eq!(cert["valid_after"], "2026-01-01T00:00:00Z");
    assert_eq!(cert["valid_before"], "2026-07-01T00:00:00Z");
    assert_eq!(cert["signing_ca_type"], "ssh-ed25519");
    assert!(
        strings(&cert["extensions"]).contains(&"permit-pty".to_string())
            && !strings(&cert["extensions"]).contains(&"permit-port-forwarding".to_string()),
        "{cert:#}"
    );
    // … signed by the user CA that web-01 trusts for deploy and release
    assert_eq!(cert["signing_ca"], USER_CA);
    assert_eq!(
        authority(&c.attributes["lifecycle_authority"]),
        [(USER_CA.to_string(), vec!["issue".to_string()])]
    );
    let deploy = show(d, "ssh:web-01:deploy");
    assert_eq!(
        credential(&deploy, USER_CA)["attributes"]["cert_authority"],
        true
    );
}

#[test]
fn the_same_key_in_two_files_is_one_credential() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let (web, db) = hosts(d);
    // two imports, two runs: the second file sees the CI key again
    import(d, "ssh", &[&web]);
    let second = import(d, "ssh", &[&db]);
    assert_eq!(
        summary(&second)
            .iter()
            .map(|r| (r.2, r.3, r.4))
            .collect::<Vec<_>>(),
        [(4, 4, 0)],
        "a second sighting is a new row (source, scope), not a change of the first"
    );

    let deploy = show(d, "ssh:web-01:deploy");
    let root = show(d, "ssh:db-01:root");
    for item in [&deploy, &root] {
        let same: Vec<&Value> = item["credentials"]
            .as_array()
            .expect("creds")
            .iter()
            .filter(|c| c["id"] == CI)
            .collect();
        assert_eq!(same.len(), 1, "one credential, not one per file: {item:#}");
        let ci = same[0];
        assert_eq!(ci["sources"], json!(["ssh"]));
        // the accounts it opens
        assert_eq!(
            ci["identities"],
            json!(["ssh:db-01:root", "ssh:web-01:deploy"])
        );
        assert_eq!(ci["name"], "ci-deployer@build-01");
        assert_eq!(ci["attributes"]["key_type"], "ssh-ed25519");
        // sighted by both runs
        assert_eq!(ci["provenance"]["first_run"], 1);
        assert_eq!(ci["provenance"]["last_run"], 2);
    }
    assert_eq!(credential(&deploy, CI), credential(&root, CI));
    let all = store(d).credentials().expect("credentials");
    assert_eq!(all.iter().filter(|c| c.credential.id == CI).count(), 1);
    assert_eq!(all.len(), 9, "7 + 3 keys, one of them shared");

    // both files again, in one run and in two: still one credential, nothing changed
    let again = import(d, "ssh", &[&web, &db]);
    assert_idempotent(d, &again);
    let again = import(d, "ssh", &[&db]);
    assert_idempotent(d, &again);
    assert_eq!(store(d).counts().expect("counts").credentials, 9);

    // each account lists the key among its credentials
    let list = json(&list_raw(d));
    let counts: Vec<(String, usize)> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|i| {
            (
                i["id"].as_str().expect("id").to_string(),
                i["credentials"].as_array().map_or(0, Vec::len),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("ssh:db-01:root".to_string(), 3),
            ("ssh:web-01:deploy".to_string(), 7)
        ]
    );
}

#[test]
fn a_key_removed_from_one_file_no_longer_opens_that_account() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let (web, db) = hosts(d);
    import(d, "ssh", &[&web, &db]);
    // db-01's root no longer lists the CI key; web-01's deploy still does
    let text = std::fs::read_to_string(d.join(&db)).expect("read");
    let without: String = text
        .lines()
        .filter(|l| !l.contains("ci-deployer@build-01"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(d.join(&db), without).expect("write");
    let after = import(d, "ssh", &[&db]);
    assert_eq!(
        summary(&after)[0].6,
        1,
        "db-01's sighting of the key is gone: {after:#}"
    );
    verify_ledger(d);
    let deploy = show(d, "ssh:web-01:deploy");
    assert_eq!(credential(&deploy, CI)["status"], "active");
    assert_eq!(
        credential(&deploy, CI)["provenance"]["gone_at"],
        Value::Null
    );
    assert_eq!(store(d).counts().expect("counts").credentials, 9);
    let root = show(d, "ssh:db-01:root");
    assert_eq!(root["attributes"]["authorized_keys_count"], 2);
    // BUG: root@db-01 still shows the removed key as its active credential, `authorized_for`
    // ssh:db-01:root and with ssh:db-01:root in its `identities`: `credentials_of` selects every
    // credential any sighting ever tied to the identity, gone ones included
    // (crates/castellan-store/src/read.rs:516); a gone sighting that sorts first seeds
    // `identities` (read.rs:307) and wins every attribute over the present one (read.rs:401).
    assert_eq!(
        credential_ids(&root),
        {
            let mut v = vec![DBA, VAULT];
            v.sort_unstable();
            v
        },
        "{root:#}"
    );
}

#[test]
fn a_shared_key_keeps_what_each_file_says_about_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let (web, db) = hosts(d);
    import(d, "ssh", &[&web, &db]);
    let deploy = show(d, "ssh:web-01:deploy");
    let ci = credential(&deploy, CI);
    let a = attrs(ci);
    // BUG: a key authorised in two files is one credential, but what each file says about it
    // (its options, line, account and who may remove it) is stored per file and merged
    // attribute by attribute, the first sighting (db-01) winning every clash
    // (crates/castellan-store/src/read.rs:401, `merge_credential`: "first source wins a
    // clash"; crates/castellan-sources/src/ssh.rs:695-900, `build`, puts per-file facts on the
    // shared credential). The result mixes the files: web-01's forced command and restrictions next
    // to db-01's `restricted: false`, `from` and `line`, `authorized_for` naming only one
    // account, and a lifecycle authority without web-01's deploy account, which can remove the
    // key from its file.
    assert!(
        !(a.contains_key("forced_command") && a["restricted"] == false),
        "a forced command but `restricted: false`: {ci:#}"
    );
    let who: Vec<String> = authority(&a["lifecycle_authority"])
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    for p in ["ssh:web-01:deploy", "ssh:web-01:root", "ssh:db-01:root"] {
        assert!(
            who.contains(&p.to_string()),
            "{p} may remove the shared key from its file: {who:?}"
        );
    }
}

#[test]
fn a_deploy_key_on_a_server_is_the_same_credential() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    // The fixtures share no key between GitHub and the SSH hosts: authorise the key of the
    // payments-release deploy key (fixtures/github/deploy-keys-api.json, id 601) on a CI host.
    let keys = copy_fixture(
        d,
        "github/deploy-keys-api.json",
        "github/payments-keys.json",
    );
    let ak = PathBuf::from("hosts/ci-01/git/authorized_keys");
    std::fs::create_dir_all(d.join("hosts/ci-01/git")).expect("mkdir");
    std::fs::write(
        d.join(&ak),
        "# ci-01 git mirror\nno-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKogZpYL+Vb4V5XY7RTmld0wjdl/ApfTQL+CDRMzdxpK payments-release@ci-01\n",
    )
    .expect("write");
    let first = import(d, "auto", &[&keys, &ak]);
    assert_eq!(
        summary(&first)
            .iter()
            .map(|r| r.1.as_str())
            .collect::<Vec<_>>(),
        ["github", "ssh"]
    );
    let dk = show(d, "github:acme:repo/payments/deploy-key/601");
    assert_eq!(dk["privilege"], "write");
    assert_eq!(dk["attributes"]["credential"], PAYMENTS_RELEASE);
    let c = credential(&dk, PAYMENTS_RELEASE);
    assert_eq!(c["sources"], json!(["github", "ssh"]));
    assert_eq!(
        c["identities"],
        json!(["github:acme:repo/payments/deploy-key/601", "ssh:ci-01:git"])
    );
    assert_eq!(c["kind"], "ssh-key");
    // GitHub knows its dates, the server its options
    assert_eq!(c["created_at"], "2023-11-03T14:20:00Z");
    assert_eq!(c["last_used_at"], "2026-11-27T03:00:00Z");
    assert_eq!(c["attributes"]["repository"], "payments");
    assert_eq!(c["attributes"]["restrictions"], json!(["no-pty"]));
    let git = show(d, "ssh:ci-01:git");
    assert_eq!(credential_ids(&git), [PAYMENTS_RELEASE]);
    assert_eq!(credential(&git, PAYMENTS_RELEASE), c);
    assert_eq!(store(d).counts().expect("counts").credentials, 2);

    let again = import(d, "auto", &[&ak, &keys]);
    assert_idempotent(d, &again);
    assert_eq!(store(d).counts().expect("counts").credentials, 2);
}

#[test]
fn a_folder_of_hosts_imports_every_account() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    hosts(d);
    let reports = import(d, "ssh", &[Path::new("hosts")]);
    let mut files: Vec<String> = summary(&reports).into_iter().map(|r| r.0).collect();
    files.sort();
    // BUG: a folder import skips every `.ssh` directory, so `…/<host>/root/.ssh/authorized_keys`
    // and `…/<host>/home/<user>/.ssh/authorized_keys` — the layouts the ssh importer and
    // docs/sources/ssh.md describe, and what `ansible -m fetch` collects — are never read: the
    // folder walk skips hidden names (crates/castellan-pipeline/src/import.rs:97, in
    // `discover`, also used by `castellan run`). Only web-01 is imported here.
    assert_eq!(files, [DB, WEB], "{reports:#}");
    assert_eq!(list_ids(d), ["ssh:db-01:root", "ssh:web-01:deploy"]);
    let again = import(d, "auto", &[Path::new("hosts")]);
    assert_idempotent(d, &again);
}

#[test]
fn bad_lines_are_named_and_nothing_is_committed() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let (web, db) = hosts(d);
    import(d, "ssh", &[&web, &db]);
    let before = state(d);
    let text = std::fs::read_to_string(d.join(&web)).expect("read");
    let lines: Vec<&str> = text.lines().collect();
    let ed = "AAAAC3NzaC1lZDI1NTE5AAAAIF1KgzLdHLXJOUhMcT4wrPSQUjrD8PSJ2w/OzSuxm3gz";

    // truncated in the middle of alice's key (line 4)
    let cut = text.find("alice@").expect("alice") - 300;
    refused(
        d,
        "ssh",
        "bad/truncated/authorized_keys",
        &text.as_bytes()[..cut],
        &["bad/truncated/authorized_keys:4: field `key`"],
        &[],
    );
    // a value of the wrong type: a date that is not one
    let mut wrong = lines.clone();
    let bad_expiry = lines[6].replace("expiry-time=\"20270101\"", "expiry-time=\"next-year\"");
    wrong[6] = &bad_expiry;
    refused(
        d,
        "ssh",
        "bad/expiry/authorized_keys",
        wrong.join("\n").as_bytes(),
        &[
            "bad/expiry/authorized_keys:7: field `expiry-time`",
            "next-year",
        ],
        &["placeholder-not-a-secret"],
    );
    // the declared type does not match the key
    refused(
        d,
        "ssh",
        "bad/mismatch/authorized_keys",
        format!("# ok\nssh-rsa {ed} x@y\n").as_bytes(),
        &["bad/mismatch/authorized_keys:2: field `key`", "type field"],
        &[],
    );
    // an option sshd rejects, with a secret in another option
    refused(
        d,
        "ssh",
        "bad/option/authorized_keys",
        format!("environment=\"X=Sup3rS3cretValue42\",bogus ssh-ed25519 {ed}\n").as_bytes(),
        &[
            "bad/option/authorized_keys:1: field `options`",
            "unknown option `bogus`",
        ],
        &["Sup3rS3cretValue42"],
    );
    // a known_hosts file is not an authorized_keys file
    refused(
        d,
        "ssh",
        "bad/known_hosts",
        format!("web-01,10.0.0.1 ssh-ed25519 {ed}\n").as_bytes(),
        &["bad/known_hosts:1:", "unknown option"],
        &[],
    );
    // binary junk
    refused(
        d,
        "ssh",
        "bad/junk.pub",
        b"\xff\xfe\x00\x01junk\x00\x9f\n",
        &["bad/junk.pub:1:"],
        &[],
    );
    refused(
        d,
        "auto",
        "bad/junk2.pub",
        b"\xff\xfe\x00\x01junk\x00\x9f\n",
        &["not a format Castellan recognises"],
        &[],
    );
    // nothing but comments
    refused(
        d,
        "ssh",
        "bad/empty/authorized_keys",
        b"# nobody\n\n",
        &["no public key"],
        &[],
    );
    // a private key is refused unread
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDZPLANTEDPRIVATEKEYMATERIAL000000000000000000000000000000000\n-----END OPENSSH PRIVATE KEY-----\n";
    refused(
        d,
        "auto",
        "keys/id_ed25519",
        key.as_bytes(),
        &["does not import private keys"],
        &["b3BlbnNzaC1rZXktdjEA", "PLANTEDPRIVATEKEY"],
    );
    // one bad file among good ones: the good ones are not committed either
    let mut c = castellan(d);
    c.args(["--now", NOW, "import", "ssh"])
        .arg(&web)
        .arg("bad/truncated/authorized_keys")
        .assert()
        .code(2);

    assert_eq!(state(d), before, "a failed import changed the inventory");
    verify_ledger(d);
}

#[test]
fn option_values_and_private_keys_are_never_stored() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let (web, db) = hosts(d);
    // an Ed25519 public key of no other file
    let ed = "AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g";
    let sync = PathBuf::from("hosts/app-01/sync/authorized_keys");
    std::fs::create_dir_all(d.join("hosts/app-01/sync")).expect("mkdir");
    std::fs::write(
        d.join(&sync),
        format!(
            "environment=\"DB_PASSWORD=Sup3rS3cretValue42\",command=\"/opt/sync --password=Hunter2Hunter2Hunter2 --to /srv\" ssh-ed25519 {ed} sync@example.eu\n"
        ),
    )
    .expect("write");
    let out = import(d, "ssh", &[&web, &db, &sync]);
    let sync_item = show(d, "ssh:app-01:sync");
    assert_eq!(sync_item["credentials"].as_array().map(Vec::len), Some(1));
    let c = &sync_item["credentials"][0];
    assert_eq!(c["attributes"]["environment_names"], json!(["DB_PASSWORD"]));
    assert!(
        c["attributes"]["forced_command"]
            .as_str()
            .is_some_and(|f| f.starts_with("/opt/sync [") && f.ends_with("--to /srv")),
        "{c:#}"
    );
    let deploy = castellan(d)
        .args(["inventory", "show", "ssh:web-01:deploy", "--json"])
        .output()
        .expect("run")
        .stdout;
    let sync_out = serde_json::to_vec(&sync_item).expect("json");
    let out = serde_json::to_vec(&out).expect("json");
    // a private key given by mistake is refused and not stored either
    let key_file = d.join("keys/id_rsa");
    std::fs::create_dir_all(d.join("keys")).expect("mkdir");
    std::fs::write(
        &key_file,
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nPLANTEDsshPRIVATEkeyBODY0123456789\n-----END OPENSSH PRIVATE KEY-----\n",
    )
    .expect("write");
    let refused = castellan(d)
        .args(["import", "ssh", "keys/id_rsa"])
        .assert()
        .code(2);
    let stderr = refused.get_output().stderr.clone();
    let everything = written_bytes(d, &[&deploy, &sync_out, &out, &stderr]);
    assert_absent(
        &everything,
        &[
            "placeholder-not-a-secret",
            "Sup3rS3cretValue42",
            "Hunter2Hunter2Hunter2",
            "PLANTEDsshPRIVATEkeyBODY",
            "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUA",
        ],
    );
}
