//! X.509 certificates through the real binary: a folder of PEM, DER and PKCS#12 files (the
//! password from CASTELLAN_P12_PASSWORD), subjects as identities, certificates with their dates,
//! keys, chain, weaknesses, exposure and lifecycle authority; the same certificate in several
//! files is one credential; idempotent re-import; PKCS#12 without or with a wrong password; bad
//! files with nothing committed; private keys never stored.

mod common;
mod importers;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::*;
use importers::*;
use predicates::prelude::*;
use serde_json::{Value, json};

const PASSWORD: &str = "castellan-test";

// `openssl x509 -noout -fingerprint -sha256`, lower-case without colons.
const LEAF: &str = "x509:sha256:9c672541a73cadfcb8096af5f53d5d1b2a6bb1d38491445817c308e0e984c635";
const INTER: &str = "x509:sha256:6fbf12c1a4c1c3647452f33aabec1a78b1e43c4747c228e20397ff3dad5ec5d1";
const ROOT: &str = "x509:sha256:8e5bf3cc8a9aa781a27b4139bc8e99a9e1f9c69b8f83f316bb2e96605014bbd7";
const CLIENT: &str = "x509:sha256:6cadfb4ba38d1bb3c073ec125c1a79e94e11a6446b67561ec4c94464e10df4b3";
const LEGACY: &str = "x509:sha256:669a6b960e76a5df9e64eef54c30eff7a2eb952ecaa1bc15f609fe61546c4431";

fn with_password(c: &mut Command) {
    c.env("CASTELLAN_P12_PASSWORD", PASSWORD);
}

fn certs(dir: &Path) -> PathBuf {
    copy_fixture(dir, "x509", "certs")
}

#[test]
fn a_folder_of_certificates() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let folder = certs(d);
    let reports = import_with(d, "x509", &[&folder], with_password);
    // every certificate file of the folder (make-fixtures.sh is not one), one run each
    let files: Vec<(String, u64, u64)> = summary(&reports)
        .into_iter()
        .map(|r| {
            assert_eq!(r.1, "x509");
            (r.0, r.2, r.3)
        })
        .collect();
    assert_eq!(
        files,
        [
            ("certs/api.example.eu-fullchain.pem".to_string(), 4, 4),
            ("certs/api.example.eu.p12".to_string(), 4, 4),
            ("certs/backup-agent-legacy.pfx".to_string(), 3, 3),
            ("certs/backup-agent.cer".to_string(), 2, 2),
            ("certs/intranet-legacy.pem".to_string(), 2, 2),
            ("certs/root-ca.pem".to_string(), 1, 1),
        ]
    );
    // five certificates, however many files hold them; one identity per end-entity subject
    let counts = store(d).counts().expect("counts");
    assert_eq!((counts.identities, counts.credentials), (3, 5));
    assert_eq!(
        list_ids(d),
        [
            "x509:subject:api.example.eu",
            "x509:subject:backup-agent",
            "x509:subject:intranet.example.eu"
        ]
    );

    // the TLS server certificate, in the full chain and in the PKCS#12
    let api = show(d, "x509:subject:api.example.eu");
    assert_eq!(api["kind"], "x509-subject");
    assert_eq!(api["source"], "x509");
    assert_eq!(api["status"], "active");
    assert_eq!(api["privilege"], "unknown");
    assert!(
        api["attributes"]["privilege_reason"]
            .as_str()
            .is_some_and(|r| r.contains("decided by the systems that trust it"))
    );
    assert_eq!(api["created_at"], "2025-03-01T00:00:00Z");
    assert_eq!(
        api["attributes"]["subject"],
        "C=DE, O=Example Payments GmbH, CN=api.example.eu"
    );
    assert_eq!(
        api["attributes"]["sans"],
        json!(["api.example.eu", "api-eu-west.example.eu", "203.0.113.10"])
    );
    assert_eq!(api["attributes"]["certificates"], json!([LEAF]));
    assert_eq!(credential_ids(&api), [LEAF]);
    let leaf = credential(&api, LEAF);
    assert_eq!(leaf["kind"], "certificate");
    assert_eq!(leaf["name"], "api.example.eu");
    assert_eq!(leaf["status"], "active");
    assert_eq!(leaf["created_at"], "2025-03-01T00:00:00Z");
    assert_eq!(leaf["expires_at"], "2027-03-01T00:00:00Z");
    assert_eq!(leaf["last_used_at"], Value::Null);
    assert_eq!(leaf["sources"], json!(["x509"]));
    // seen by the run of the chain (first) and of the PKCS#12 (second)
    assert_eq!(leaf["provenance"]["first_run"], 1);
    assert_eq!(leaf["provenance"]["last_run"], 2);
    let a = &leaf["attributes"];
    assert_eq!(
        a["subject"],
        "C=DE, O=Example Payments GmbH, CN=api.example.eu"
    );
    assert_eq!(
        a["issuer"],
        "C=DE, O=Example Payments GmbH, CN=Example Payments Issuing CA 1"
    );
    assert_eq!(a["serial"], "3A01F0");
    assert_eq!(
        a["sha256_fingerprint"],
        LEAF.trim_start_matches("x509:sha256:")
    );
    assert_eq!(
        a["sans"],
        json!({"dns": ["api.example.eu", "api-eu-west.example.eu"], "ip": ["203.0.113.10"]})
    );
    assert_eq!(a["key_algorithm"], "RSA");
    assert_eq!(a["key_bits"], 2048);
    assert_eq!(a["signature_algorithm"], "ecdsa-with-SHA256");
    assert_eq!(a["ca"], false);
    assert_eq!(a["self_signed"], false);
    assert_eq!(
        a["key_usage"],
        json!(["digitalSignature", "keyEncipherment"])
    );
    assert_eq!(a["extended_key_usage"], json!(["serverAuth"]));
    assert_eq!(a["chain_position"], "leaf");
    assert_eq!(a["issuer_in_file"], true);
    assert_eq!(a["issued_by"], INTER);
    assert_eq!(a["chain_to_root_in_file"], true);
    assert_eq!(a["validity_days"], 730);
    assert_eq!(a["weak_key"], false);
    // its key is in the PKCS#12, encrypted: not an exposure
    assert_eq!(a["private_key_in_file"], true);
    assert_eq!(a["private_key_encrypted"], true);
    // what only the PKCS#12 file says stays with its own sighting, not mixed into the chain's
    let sightings = leaf["sightings"].as_array().expect("two sightings");
    assert_eq!(sightings.len(), 2, "{leaf:#}");
    assert!(
        sightings
            .iter()
            .any(|s| s["attributes"]["pkcs12_friendly_name"] == "api.example.eu"),
        "{leaf:#}"
    );
    assert!(a.get("exposed").is_none(), "{a:#}");
    assert_eq!(
        authority(&a["lifecycle_authority"]),
        [(
            INTER.to_string(),
            vec!["issue".to_string(), "revoke".to_string()]
        )]
    );

    // the client certificate that expired in 2024 (DER, and in the legacy PKCS#12)
    let agent = show(d, "x509:subject:backup-agent");
    assert_eq!(agent["created_at"], "2023-01-15T00:00:00Z");
    assert_eq!(credential_ids(&agent), [CLIENT]);
    let client = credential(&agent, CLIENT);
    assert_eq!(client["created_at"], "2023-01-15T00:00:00Z");
    assert_eq!(client["expires_at"], "2024-01-15T00:00:00Z");
    assert_eq!(
        client["status"], "active",
        "controls judge expiry, not the parser"
    );
    let a = &client["attributes"];
    assert_eq!(a["key_algorithm"], "Ed25519");
    assert_eq!(a["key_bits"], 256);
    assert_eq!(a["serial"], "3A0002");
    assert_eq!(a["extended_key_usage"], json!(["clientAuth"]));
    assert_eq!(
        a["sans"],
        json!({"email": ["backup-agent@example.eu"], "uri": ["spiffe://example.eu/backup-agent"]})
    );
    assert_eq!(a["validity_days"], 365);
    assert_eq!(a["issued_by"], INTER, "the .pfx holds its issuer");
    assert_eq!(a["chain_to_root_in_file"], false);
    assert_eq!(a["private_key_in_file"], true);
    assert_eq!(a["pkcs12_friendly_name"], "backup-agent");
    // the .pfx names its issuer by fingerprint, the DER file (without the CA) by subject: the
    // merged authority lists both descriptions of the same CA
    let who = authority(&a["lifecycle_authority"]);
    assert!(
        who.contains(&(
            INTER.to_string(),
            vec!["issue".to_string(), "revoke".to_string()]
        )),
        "{who:?}"
    );
    assert!(
        who.iter()
            .all(|(_, can)| can == &vec!["issue".to_string(), "revoke".to_string()]),
        "{who:?}"
    );

    // the weak self-signed intranet certificate whose key lies in the same file, unencrypted
    let intranet = show(d, "x509:subject:intranet.example.eu");
    assert_eq!(intranet["created_at"], "2016-06-01T00:00:00Z");
    let legacy = credential(&intranet, LEGACY);
    assert_eq!(legacy["created_at"], "2016-06-01T00:00:00Z");
    assert_eq!(legacy["expires_at"], "2026-06-01T00:00:00Z");
    let a = &legacy["attributes"];
    assert_eq!(a["self_signed"], true);
    assert_eq!(a["ca"], false);
    assert_eq!(a["chain_position"], "leaf");
    assert_eq!(a["chain_to_root_in_file"], true);
    assert_eq!(a["signature_algorithm"], "sha1WithRSAEncryption");
    assert_eq!(a["key_bits"], 1024);
    assert_eq!(a["weak_key"], true);
    assert_eq!(
        a["weak_reasons"],
        json!([
            "RSA key of 1024 bits (< 2048)",
            "sha1WithRSAEncryption signature (SHA-1)"
        ])
    );
    assert_eq!(a["private_key_in_file"], true);
    assert_eq!(a["private_key_encrypted"], false);
    assert_eq!(a["exposed"], true);
    assert_eq!(
        a["exposure"],
        "an unencrypted private key is stored in the same file (certs/intranet-legacy.pem)"
    );
    assert_eq!(
        authority(&a["lifecycle_authority"]),
        [
            (
                LEGACY.to_string(),
                vec!["issue".to_string(), "use".to_string()]
            ),
            (
                "readers of certs/intranet-legacy.pem".to_string(),
                vec!["use".to_string()]
            ),
        ]
    );
    assert!(
        a["lifecycle_authority"]["note"]
            .as_str()
            .is_some_and(|n| n.contains("cannot be revoked"))
    );

    // CA certificates have no identity: `inventory show` cannot reach them, the database can
    let root = stored_credential(d, ROOT);
    assert_eq!(root.credential.identity_id, None);
    assert_eq!(root.sources, ["x509"]);
    let r = &root.credential;
    assert_eq!(r.kind, "certificate");
    assert_eq!(r.name, "Example Payments Root CA");
    assert_eq!(
        r.created_at.map(castellan_model::format_ts).as_deref(),
        Some("2020-01-01T00:00:00Z")
    );
    assert_eq!(
        r.expires_at.map(castellan_model::format_ts).as_deref(),
        Some("2035-01-01T00:00:00Z")
    );
    assert_eq!(r.attributes["chain_position"], "root");
    assert_eq!(r.attributes["self_signed"], true);
    assert_eq!(r.attributes["ca"], true);
    assert_eq!(r.attributes["key_bits"], 3072);
    assert_eq!(r.attributes["serial"], "1000");
    assert_eq!(r.attributes["key_usage"], json!(["keyCertSign", "cRLSign"]));
    let inter = stored_credential(d, INTER);
    let i = &inter.credential;
    assert_eq!(i.identity_id, None);
    assert_eq!(i.attributes["chain_position"], "intermediate");
    assert_eq!(i.attributes["key_algorithm"], "EC");
    assert_eq!(i.attributes["key_curve"], "P-256");
    assert_eq!(i.attributes["path_len"], 0);
    assert_eq!(i.attributes["issued_by"], ROOT);
    assert_eq!(
        i.expires_at.map(castellan_model::format_ts).as_deref(),
        Some("2030-01-01T00:00:00Z")
    );
    // named by fingerprint where the root is in the file, by subject where it is not
    let who = authority(&i.attributes["lifecycle_authority"]);
    assert!(
        who.contains(&(
            ROOT.to_string(),
            vec!["issue".to_string(), "revoke".to_string()]
        )),
        "{who:?}"
    );

    // the folder again, explicitly and recognised by content: nothing new, nothing changed
    let again = import_with(d, "x509", &[&folder], with_password);
    assert_idempotent(d, &again);
    let again = import_with(d, "auto", &[&folder], with_password);
    assert_eq!(again.as_array().map(Vec::len), Some(6));
    assert_idempotent(d, &again);
    let counts = store(d).counts().expect("counts");
    assert_eq!((counts.identities, counts.credentials), (3, 5));
}

#[test]
fn single_files_recognised_by_content() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    certs(d);
    let files = [
        Path::new("certs/backup-agent.cer"),
        Path::new("certs/root-ca.pem"),
        Path::new("certs/api.example.eu-fullchain.pem"),
    ];
    let reports = import(d, "auto", &files);
    assert!(
        summary(&reports).iter().all(|r| r.1 == "x509"),
        "{reports:#}"
    );
    // the DER certificate alone: its issuer is not in the file
    let agent = show(d, "x509:subject:backup-agent");
    let a = &credential(&agent, CLIENT)["attributes"];
    assert_eq!(a["file_format"], "der");
    assert_eq!(a["issuer_in_file"], false);
    assert!(a.get("private_key_in_file").is_none());
    assert_eq!(
        authority(&a["lifecycle_authority"]),
        [(
            "x509:issuer:C=DE, O=Example Payments GmbH, CN=Example Payments Issuing CA 1"
                .to_string(),
            vec!["issue".to_string(), "revoke".to_string()]
        )]
    );
    // the root alone and in the chain: one credential
    let counts = store(d).counts().expect("counts");
    assert_eq!(counts.credentials, 4);
    let again = import(d, "x509", &files);
    assert_idempotent(d, &again);
}

#[test]
fn pkcs12_needs_its_password() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    certs(d);
    for file in ["certs/api.example.eu.p12", "certs/backup-agent-legacy.pfx"] {
        // no password
        let out = castellan(d)
            .env_remove("CASTELLAN_P12_PASSWORD")
            .args(["import", "x509", file])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(file))
            .stderr(predicate::str::contains("CASTELLAN_P12_PASSWORD"))
            .stderr(predicate::str::contains("password-protected"));
        drop(out);
        // a wrong one: named, the password not echoed
        let out = castellan(d)
            .env("CASTELLAN_P12_PASSWORD", "Wr0ng-Passw0rd-7781")
            .args(["import", "auto", file])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(file))
            .stderr(predicate::str::contains("CASTELLAN_P12_PASSWORD"));
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(
            stderr.contains("password does not open") || stderr.contains("wrong password"),
            "{stderr}"
        );
        assert!(!stderr.contains("Wr0ng-Passw0rd-7781"), "{stderr}");
    }
    // a PEM given with a PKCS#12 and no password: the whole import fails
    castellan(d)
        .env_remove("CASTELLAN_P12_PASSWORD")
        .args([
            "import",
            "x509",
            "certs/root-ca.pem",
            "certs/api.example.eu.p12",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("certs/api.example.eu.p12"));
    assert_eq!(list_ids(d), Vec::<String>::new());
    let mut s = store(d);
    assert_eq!(s.import_runs().expect("runs").len(), 0, "nothing committed");
    assert_eq!(s.counts().expect("counts").credentials, 0);
    drop(s);

    // the right password opens both (PBES2/AES and the legacy RC2/3DES)
    let reports = import_with(
        d,
        "x509",
        &[
            Path::new("certs/api.example.eu.p12"),
            Path::new("certs/backup-agent-legacy.pfx"),
        ],
        with_password,
    );
    assert_eq!(
        summary(&reports)
            .iter()
            .map(|r| (r.0.as_str(), r.2))
            .collect::<Vec<_>>(),
        [
            ("certs/api.example.eu.p12", 4),
            ("certs/backup-agent-legacy.pfx", 3)
        ]
    );
    let api = show(d, "x509:subject:api.example.eu");
    let a = &credential(&api, LEAF)["attributes"];
    assert_eq!(a["file_format"], "pkcs12");
    assert_eq!(a["chain_to_root_in_file"], true);
    assert_eq!(a["private_key_in_file"], true);
    assert_eq!(a["private_key_encrypted"], true);
    assert!(
        !stored_credential(d, ROOT)
            .credential
            .attributes
            .contains_key("private_key_in_file")
    );
    let agent = show(d, "x509:subject:backup-agent");
    assert_eq!(
        credential(&agent, CLIENT)["attributes"]["private_key_in_file"],
        true
    );
    assert_eq!(store(d).counts().expect("counts").credentials, 4);
    let again = import_with(
        d,
        "auto",
        &[
            Path::new("certs/backup-agent-legacy.pfx"),
            Path::new("certs/api.example.eu.p12"),
        ],
        with_password,
    );
    assert_idempotent(d, &again);
}

#[test]
fn bad_certificate_files_are_named_and_nothing_is_committed() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    certs(d);
    import(
        d,
        "x509",
        &[Path::new("certs/api.example.eu-fullchain.pem")],
    );
    let before = state(d);
    let chain = std::fs::read(fixture("x509/api.example.eu-fullchain.pem")).expect("read");
    let der = std::fs::read(fixture("x509/backup-agent.cer")).expect("read");
    let p12 = std::fs::read(fixture("x509/api.example.eu.p12")).expect("read");
    let legacy = std::fs::read_to_string(fixture("x509/intranet-legacy.pem")).expect("read");
    let key_line = legacy
        .split("-----BEGIN PRIVATE KEY-----")
        .nth(1)
        .and_then(|k| k.lines().find(|l| l.len() > 40))
        .expect("a key line")
        .to_string();

    // truncated in the middle of the second certificate
    refused(
        d,
        "x509",
        "bad/cut.pem",
        &chain[..chain.len() / 2],
        &["bad/cut.pem:", "truncated"],
        &[],
    );
    // a certificate block that is not base64: named by its line
    let text = String::from_utf8_lossy(&chain).replacen("MII", "M!I", 1);
    refused(
        d,
        "x509",
        "bad/base64.pem",
        text.as_bytes(),
        &["bad/base64.pem:1:", "not valid base64"],
        &[],
    );
    // a well-framed block that is not a certificate (a field of the wrong type)
    refused(
        d,
        "x509",
        "bad/garbage.pem",
        b"junk\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        &["bad/garbage.pem:2:", "not a valid X.509 certificate"],
        &[],
    );
    // a DER certificate cut short
    refused(
        d,
        "x509",
        "bad/short.cer",
        &der[..der.len() - 40],
        &["not a valid X.509 certificate"],
        &[],
    );
    // binary junk: not a certificate file, and not recognised at all
    refused(
        d,
        "x509",
        "bad/junk.crt",
        b"\xff\xfe\x00\x01junk\x02\x03",
        &["not a certificate file"],
        &[],
    );
    refused(
        d,
        "auto",
        "bad/junk2.crt",
        b"\xff\xfe\x00\x01junk\x02\x03",
        &["not a format Castellan recognises"],
        &[],
    );
    refused(d, "x509", "bad/empty.pem", b"", &["the file is empty"], &[]);
    // a private key alone is refused and not echoed
    let key_only = format!("-----BEGIN PRIVATE KEY-----\n{key_line}\n-----END PRIVATE KEY-----\n");
    refused(
        d,
        "x509",
        "bad/key.pem",
        key_only.as_bytes(),
        &["does not import private keys"],
        &[&key_line[..30]],
    );
    // a truncated PKCS#12, even with the right password
    let path = d.join("bad/cut.p12");
    std::fs::write(&path, &p12[..p12.len() / 2]).expect("write");
    castellan(d)
        .env("CASTELLAN_P12_PASSWORD", PASSWORD)
        .args(["import", "x509", "bad/cut.p12"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad/cut.p12"))
        .stderr(predicate::str::contains("PKCS#12"));
    // a good file with a bad one: neither is committed
    castellan(d)
        .args(["import", "x509", "certs/root-ca.pem", "bad/cut.pem"])
        .assert()
        .code(2);

    assert_eq!(state(d), before, "a failed import changed the inventory");
    verify_ledger(d);
}

#[test]
fn private_keys_and_passwords_are_never_stored() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let folder = certs(d);
    let reports = import_with(d, "x509", &[&folder], with_password);
    let out = serde_json::to_vec(&reports).expect("json");
    let shown = castellan(d)
        .args([
            "inventory",
            "show",
            "x509:subject:intranet.example.eu",
            "--json",
        ])
        .output()
        .expect("run")
        .stdout;
    let listed = list_raw(d);
    let legacy = std::fs::read_to_string(fixture("x509/intranet-legacy.pem")).expect("read");
    let key = legacy
        .split("-----BEGIN PRIVATE KEY-----")
        .nth(1)
        .expect("the fixture holds a key");
    let mut needles: Vec<String> = key
        .lines()
        .filter(|l| l.len() > 20 && !l.starts_with("-----"))
        .map(|l| l[..24].to_string())
        .collect();
    assert!(needles.len() > 5, "{needles:?}");
    needles.push("BEGIN PRIVATE KEY".into());
    needles.push(PASSWORD.into());
    let everything = written_bytes(d, &[&out, &shown, &listed]);
    let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
    assert_absent(&everything, &needles);
    // the key's presence is what is kept
    let intranet = json(&shown);
    assert_eq!(credential(&intranet, LEGACY)["attributes"]["exposed"], true);
}
