//! The store's contract, run against SQLite and (when the test command started one) PostgreSQL:
//! idempotent upserts, change detection, gone records, rollback, ledger in the same transaction.

use castellan_ledger::LedgerKey;
use castellan_model::{Credential, Identity, Privilege, Status, parse_ts};
use castellan_store::Store;

fn identity(name: &str, attr: &str) -> Identity {
    let mut attributes = std::collections::BTreeMap::new();
    attributes.insert("note".to_string(), serde_json::json!(attr));
    Identity {
        id: format!("aws:123456789012:user/{name}"),
        kind: "aws-iam-user".into(),
        source: "test".into(),
        scope: "aws:123456789012".into(),
        name: name.into(),
        account: Some("123456789012".into()),
        status: Status::Active,
        privilege: Privilege::Unknown,
        created_at: Some(parse_ts("2024-01-01T00:00:00Z").expect("ts")),
        last_used_at: None,
        tags: Default::default(),
        attributes,
    }
}

fn credential(name: &str) -> Credential {
    Credential {
        id: format!("aws:123456789012:user/{name}/access-key-1"),
        identity_id: Some(format!("aws:123456789012:user/{name}")),
        kind: "access-key".into(),
        source: "test".into(),
        scope: "aws:123456789012".into(),
        name: format!("{name} access-key-1"),
        status: Status::Active,
        created_at: None,
        last_rotated_at: None,
        last_used_at: None,
        ever_used: Some(false),
        expires_at: None,
        fingerprint: None,
        preview: None,
        attributes: Default::default(),
    }
}

/// A fresh SQLite file, plus a fresh PostgreSQL database when the test command started a server.
fn stores(tag: &str) -> Vec<(String, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().expect("tmp");
    let mut out = vec![(dir.path().join("s.db").display().to_string(), Some(dir))];
    match std::env::var("CASTELLAN_TEST_PG_URL") {
        Ok(admin) => {
            let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("connect");
            let name = format!("castellan_store_{tag}_{}", std::process::id());
            client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
                .expect("drop");
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .expect("create");
            let base = admin
                .rsplit_once('/')
                .map(|(b, _)| b.to_string())
                .expect("url");
            out.push((format!("{base}/{name}"), None));
        }
        Err(_) => {
            assert!(
                std::env::var("CASTELLAN_REQUIRE_PG").is_err(),
                "PostgreSQL required but not configured"
            );
            eprintln!("PostgreSQL half skipped: CASTELLAN_TEST_PG_URL not set");
        }
    }
    out
}

fn import(store: &mut Store, now: &str, names: &[(&str, &str)]) -> castellan_store::TxSummary {
    let mut tx = store.begin(parse_ts(now).expect("ts")).expect("begin");
    let run = tx.start_run("test", "t.csv", "x").expect("run");
    for (n, attr) in names {
        tx.upsert_identity(run, &identity(n, attr))
            .expect("identity");
        tx.upsert_credential(run, &credential(n))
            .expect("credential");
    }
    tx.sweep_gone(run, "test", "aws:123456789012")
        .expect("sweep");
    tx.commit().expect("commit")
}

#[test]
fn upserts_are_idempotent_and_track_changes_and_gone_records() {
    for (url, _guard) in stores("upserts") {
        let mut store = Store::open(&url).expect("open");
        // 150 rows: more than one multi-row batch
        let names: Vec<String> = (0..150).map(|i| format!("svc-{i:03}")).collect();
        let rows: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "a")).collect();
        let s = import(&mut store, "2026-12-01T00:00:00Z", &rows);
        assert_eq!(
            (s.added, s.changed, s.unchanged, s.gone),
            (300, 0, 0, 0),
            "{url}"
        );

        let s = import(&mut store, "2026-12-02T00:00:00Z", &rows);
        assert_eq!(
            (s.added, s.changed, s.unchanged, s.gone),
            (0, 0, 300, 0),
            "{url}"
        );
        let i = store
            .identity("aws:123456789012:user/svc-000")
            .expect("read")
            .expect("present");
        assert_eq!(i.provenance.first_seen, "2026-12-01T00:00:00Z");
        assert_eq!(i.provenance.last_seen, "2026-12-02T00:00:00Z");

        // one changed, one missing
        let mut rows2 = rows.clone();
        rows2[0].1 = "b";
        rows2.pop();
        let s = import(&mut store, "2026-12-03T00:00:00Z", &rows2);
        assert_eq!((s.added, s.changed, s.gone), (0, 1, 2), "{url}");
        let gone = store
            .identity("aws:123456789012:user/svc-149")
            .expect("read")
            .expect("kept");
        assert_eq!(
            gone.provenance.gone_at.as_deref(),
            Some("2026-12-03T00:00:00Z")
        );
        assert_eq!(store.counts().expect("counts").identities, 149);

        // it comes back
        let s = import(
            &mut store,
            "2026-12-04T00:00:00Z",
            &rows2
                .iter()
                .copied()
                .chain([("svc-149", "a")])
                .collect::<Vec<_>>(),
        );
        assert_eq!(s.changed, 2, "{url}");
        assert_eq!(store.counts().expect("counts").identities, 150);

        let key = LedgerKey::from_seed([1; 32]);
        store
            .checkpoint(&key, "2026-12-04T00:00:00Z")
            .expect("checkpoint");
        let report = store
            .verify_ledger(&key, Vec::new())
            .expect("store")
            .expect("verifies");
        // added ×2, changed, gone ×2, changed ×2 (identities and credentials batched per event)
        assert_eq!(report.entries, 7, "{url}: {report:?}");
    }
}

#[test]
fn dropping_a_transaction_rolls_back_records_and_ledger() {
    for (url, _guard) in stores("rollback") {
        let mut store = Store::open(&url).expect("open");
        import(&mut store, "2026-12-01T00:00:00Z", &[("keep", "a")]);
        let before = (
            store.counts().expect("c"),
            store.ledger_status().expect("l").root,
        );
        {
            let mut tx = store
                .begin(parse_ts("2026-12-02T00:00:00Z").expect("ts"))
                .expect("begin");
            let run = tx.start_run("test", "t.csv", "x").expect("run");
            for i in 0..700 {
                tx.upsert_identity(run, &identity(&format!("tmp-{i}"), "x"))
                    .expect("identity");
            }
            tx.append("test.event", "x", serde_json::json!({}))
                .expect("append");
            // dropped without commit
        }
        let after = (
            store.counts().expect("c"),
            store.ledger_status().expect("l").root,
        );
        assert_eq!(before, after, "{url}");
    }
}

#[test]
fn a_database_is_bound_to_its_fingerprint_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = dir.path().join("k.db").display().to_string();
    let mut store = Store::open(&url).expect("open");
    store
        .bind_key(&castellan_model::FingerprintKey::from_bytes([1; 32]))
        .expect("bind");
    store
        .bind_key(&castellan_model::FingerprintKey::from_bytes([1; 32]))
        .expect("same key");
    let err = store
        .bind_key(&castellan_model::FingerprintKey::from_bytes([2; 32]))
        .expect_err("other key");
    assert!(err.to_string().contains("--data-dir"), "{err}");
}

#[test]
fn garbage_database_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("junk.db");
    std::fs::write(&path, vec![0x42u8; 10_000]).expect("w");
    let err = Store::open(&path.display().to_string()).expect_err("not a database");
    assert!(err.to_string().contains("junk.db"), "{err}");
}

#[test]
fn an_identity_reported_by_two_sources_is_one_identity_with_both_provenances() {
    for (url, _guard) in stores("merge") {
        let mut store = Store::open(&url).expect("open");
        let one =
            |store: &mut Store, now: &str, source: &str, privilege: Privilege, present: bool| {
                let mut tx = store.begin(parse_ts(now).expect("ts")).expect("begin");
                let run = tx.start_run(source, "f", "x").expect("run");
                if present {
                    let mut i = identity("ci", source);
                    i.source = source.into();
                    i.privilege = privilege;
                    i.tags.insert(format!("from-{source}"), "yes".into());
                    tx.upsert_identity(run, &i).expect("identity");
                    tx.upsert_grant(
                        run,
                        &castellan_model::Grant {
                            id: format!("aws:123456789012:user/ci#{source}#0"),
                            holder: "aws:123456789012:user/ci".into(),
                            source: source.into(),
                            scope: "aws:123456789012".into(),
                            effect: castellan_model::Effect::Allow,
                            privilege,
                            actions: vec!["s3:GetObject".into()],
                            resources: vec!["*".into()],
                            via: "inline:x".into(),
                            attributes: Default::default(),
                        },
                    )
                    .expect("grant");
                }
                tx.sweep_gone(run, source, "aws:123456789012")
                    .expect("sweep");
                tx.commit().expect("commit")
            };
        one(
            &mut store,
            "2026-12-01T00:00:00Z",
            "report",
            Privilege::Unknown,
            true,
        );
        one(
            &mut store,
            "2026-12-02T00:00:00Z",
            "details",
            Privilege::Read,
            true,
        );
        let all = store.identities().expect("read");
        assert_eq!(all.len(), 1, "{url}");
        let i = &all[0];
        assert_eq!(i.sources, vec!["details", "report"], "{url}");
        assert_eq!(
            i.identity.privilege,
            Privilege::Read,
            "proven beats unknown"
        );
        assert!(
            i.identity.tags.contains_key("from-report")
                && i.identity.tags.contains_key("from-details")
        );
        assert_eq!(i.provenance.first_seen, "2026-12-01T00:00:00Z");
        assert_eq!(i.provenance.last_seen, "2026-12-02T00:00:00Z");
        assert_eq!(store.counts().expect("counts").identities, 1);
        assert_eq!(
            store
                .grants_of(&["aws:123456789012:user/ci"])
                .expect("grants")
                .len(),
            2
        );

        // One source stops reporting it: still present (the other still does).
        let s = one(
            &mut store,
            "2026-12-03T00:00:00Z",
            "details",
            Privilege::Read,
            false,
        );
        assert_eq!(s.gone, 2, "identity row and grant of that source");
        let i = store
            .identity("aws:123456789012:user/ci")
            .expect("read")
            .expect("kept");
        assert_eq!(i.provenance.gone_at, None, "{url}");
        assert_eq!(store.grants().expect("grants").len(), 1);
        // Both stopped: gone.
        one(
            &mut store,
            "2026-12-04T00:00:00Z",
            "report",
            Privilege::Unknown,
            false,
        );
        let i = store
            .identity("aws:123456789012:user/ci")
            .expect("read")
            .expect("kept");
        assert_eq!(
            i.provenance.gone_at.as_deref(),
            Some("2026-12-04T00:00:00Z"),
            "{url}"
        );
        assert_eq!(store.counts().expect("counts").identities, 0);
    }
}
