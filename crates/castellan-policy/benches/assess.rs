//! Assessment benchmark: every built-in control over 1,000,000 identities with 2,000,000
//! credentials, in memory (what `castellan assess` evaluates once the store has been read).
//!
//!     cargo bench -p castellan-policy --bench assess
//!     CASTELLAN_BENCH_IDENTITIES=100000 cargo bench -p castellan-policy --bench assess
//!
//! Target (issue 5): ≤ 3 s and ≤ 1.5 GiB peak memory on the 2-core machine.

use std::collections::BTreeMap;
use std::time::Instant;

use castellan_model::{
    Attribution, Contract, Credential, Exception, Identity, Person, PersonStatus, Privilege,
    Status, Supplier, ids, parse_ts,
};
use castellan_policy::{
    Catalogue, Estate, Evaluator, IdentityView, SourceFreshness, Thresholds, evaluate, risk,
};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn main() {
    let n: usize = std::env::var("CASTELLAN_BENCH_IDENTITIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let t = |s: &str| parse_ts(s).expect("ts");
    let now = t("2026-12-01T00:00:00Z");
    let mut people = BTreeMap::new();
    for p in 0..1000u32 {
        let email = format!("p{p}@example.com");
        people.insert(
            ids::person(&email),
            Person {
                id: ids::person(&email),
                name: email.clone(),
                email,
                team: None,
                status: if p.is_multiple_of(50) {
                    PersonStatus::Left
                } else {
                    PersonStatus::Active
                },
                left_at: (p.is_multiple_of(50)).then(|| t("2026-06-01T00:00:00Z")),
            },
        );
    }
    let mut suppliers = BTreeMap::new();
    let mut contracts = Vec::new();
    for s in 0..10u32 {
        let name = format!("s{s}");
        suppliers.insert(
            ids::supplier(&name),
            Supplier {
                id: ids::supplier(&name),
                name: name.clone(),
                contact: None,
            },
        );
        contracts.push(Contract {
            id: ids::contract(&format!("C{s}")),
            supplier_id: ids::supplier(&name),
            start: t("2024-01-01T00:00:00Z"),
            end: Some(if s.is_multiple_of(3) {
                t("2026-06-30T00:00:00Z")
            } else {
                t("2027-12-31T00:00:00Z")
            }),
            notice_days: None,
            offboarding_contact: None,
            terminated_at: None,
        });
    }
    let exceptions: Vec<Exception> = (0..50)
        .map(|e| Exception {
            id: ids::exception(&format!("E{e}")),
            control: "NHI-GOV-005".into(),
            subject: format!("aws:123456789012:user/svc-{e:03}*"),
            justification: "bench".into(),
            compensating_controls: vec![],
            approver: "ciso@example.com".into(),
            requested_by: None,
            granted_at: Some(t("2026-11-01T00:00:00Z")),
            expires_at: t("2027-03-01T00:00:00Z"),
        })
        .collect();
    let make = |i: usize| {
        let id = format!("aws:123456789012:user/svc-{i:07}");
        let day = 1 + i % 28;
        let month = 1 + i % 12;
        let cred = |slot: usize, overdue: bool| {
            let at = if overdue {
                format!("2025-{month:02}-{day:02}T00:00:00Z")
            } else {
                format!("2026-{:02}-{day:02}T00:00:00Z", 9 + i % 3)
            };
            Credential {
                id: format!("{id}/access-key-{slot}"),
                identity_id: Some(id.clone()),
                kind: "access-key".into(),
                source: "bench".into(),
                scope: "aws:123456789012".into(),
                name: format!("svc-{i} access-key-{slot}"),
                status: Status::Active,
                created_at: Some(t(&at)),
                last_rotated_at: Some(t(&at)),
                last_used_at: (!i.is_multiple_of(7)).then(|| t("2026-11-20T00:00:00Z")),
                ever_used: Some(!i.is_multiple_of(7)),
                expires_at: None,
                fingerprint: None,
                preview: None,
                attributes: Default::default(),
            }
        };
        IdentityView {
            identity: Identity {
                id: id.clone(),
                kind: "aws-iam-user".into(),
                source: "bench".into(),
                scope: "aws:123456789012".into(),
                name: format!("svc-{i:07}"),
                account: Some("123456789012".into()),
                status: Status::Active,
                privilege: if i.is_multiple_of(1000) {
                    Privilege::Admin
                } else {
                    Privilege::Unknown
                },
                created_at: None,
                last_used_at: None,
                tags: Default::default(),
                attributes: Default::default(),
            },
            attribution: Attribution {
                owner: (!i.is_multiple_of(10))
                    .then(|| ids::person(&format!("p{}@example.com", i % 1000))),
                supplier: (i.is_multiple_of(20)).then(|| ids::supplier(&format!("s{}", i % 10))),
                ..Default::default()
            },
            // ~10 % of first keys are overdue for rotation, ~1/7 of keys were never used.
            credentials: vec![cred(1, i % 10 == 3), cred(2, false)],
            activity: Default::default(),
        }
    };
    let catalogue = Catalogue::builtin().expect("catalogue");
    let estate = Estate {
        unheld: Vec::new(),
        now,
        identities: Vec::new(),
        people,
        suppliers,
        contracts,
        exceptions,
        sources: vec![SourceFreshness {
            scope: "aws:123456789012".into(),
            source: "aws-credential-report".into(),
            path: "r.csv".into(),
            data_as_of: t("2026-11-30T20:00:00Z"),
            imported_at: t("2026-11-30T21:00:00Z"),
        }],
        reviews: vec![castellan_policy::ReviewRecord {
            subject: "aws:123456789012:*".into(),
            reviewer: "ciso@example.com".into(),
            date: t("2026-10-01T00:00:00Z"),
            decision: "keep".into(),
        }],
        thresholds: Thresholds::from_catalogue(&catalogue),
    };
    // Streaming, as the pipeline does: identities are produced, evaluated, scored and dropped.
    let start = Instant::now();
    let mut ev = Evaluator::new(&estate, &catalogue);
    let mut score_sum = 0u64;
    let mut risk_secs = 0.0;
    let mut pending: Vec<castellan_model::Finding> = Vec::new();
    for i in 0..n {
        let view = make(i);
        ev.identity(&view);
        // (risk needs the identity's findings; a pipeline scores after evaluation, from the store)
        let r = Instant::now();
        pending.clear();
        let refs: Vec<&castellan_model::Finding> = pending.iter().collect();
        score_sum += u64::from(
            risk(
                &view.identity,
                &view.attribution,
                &view.credentials,
                &refs,
                None,
            )
            .score,
        );
        risk_secs += r.elapsed().as_secs_f64();
    }
    let findings = ev.finish();
    let secs = start.elapsed().as_secs_f64();
    let excepted = findings.iter().filter(|f| f.exception.is_some()).count();
    println!(
        "evaluate (streamed, incl. building each identity): {n} identities, {} credentials in {secs:.2} s = {:.0} identities/s; {} findings ({excepted} excepted); risk scoring {risk_secs:.2} s (mean base {:.1})",
        2 * n,
        n as f64 / secs,
        findings.len(),
        score_sum as f64 / n as f64
    );

    // All in memory, as `evaluate` over a loaded estate.
    let sample = n.min(200_000);
    let mut loaded = estate.clone();
    loaded.identities = (0..sample).map(make).collect();
    let start = Instant::now();
    let f = evaluate(&loaded, &catalogue);
    println!(
        "evaluate (in memory, evaluation only): {sample} identities in {:.2} s; {} findings",
        start.elapsed().as_secs_f64(),
        f.len()
    );
    println!("peak resident memory: {:.0} MiB", peak_rss_mib());
}
