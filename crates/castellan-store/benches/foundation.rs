//! Foundation benchmark: import a synthetic AWS credential report into SQLite (first import and
//! idempotent re-import), then append and verify a large ledger.
//!
//!     cargo bench -p castellan-store --bench foundation                 # 1,000,000 rows
//!     CASTELLAN_BENCH_ROWS=100000 cargo bench -p castellan-store --bench foundation
//!     CASTELLAN_BENCH_PG_URL=postgresql://… cargo bench -p castellan-store --bench foundation
//!
//! Prints rows/s, events/s and the process's peak resident memory (VmHWM). Targets (issue 2):
//! import ≥ 200k rows/s into SQLite, ledger verify ≥ 1M events/s, peak memory < 1 GiB.

use std::io::{BufReader, Write};
use std::time::Instant;

use castellan_ledger::LedgerKey;
use castellan_sources::aws_credential_report;
use castellan_store::Store;

const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

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

fn write_report(path: &std::path::Path, rows: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    writeln!(f, "{HEADER}").expect("w");
    writeln!(f, "<root_account>,arn:aws:iam::123456789012:root,2019-01-01T00:00:00+00:00,not_supported,2026-04-02T08:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A").expect("w");
    for i in 1..rows {
        let day = 1 + i % 28;
        let month = 1 + i % 12;
        let (pw, pw_used, pw_changed) = if i % 10 == 0 {
            (
                "true",
                format!("2026-{month:02}-{day:02}T10:00:00+00:00"),
                format!("2025-{month:02}-{day:02}T10:00:00+00:00"),
            )
        } else {
            ("false", "N/A".to_string(), "N/A".to_string())
        };
        let key2 = if i % 3 == 0 {
            format!("true,2026-{month:02}-{day:02}T09:00:00+00:00,N/A,N/A,N/A")
        } else {
            "false,N/A,N/A,N/A,N/A".to_string()
        };
        writeln!(
            f,
            "svc-{i:07},arn:aws:iam::123456789012:user/bench/svc-{i:07},2024-{month:02}-{day:02}T08:00:00+00:00,{pw},{pw_used},{pw_changed},N/A,false,true,2025-{month:02}-{day:02}T08:30:00+00:00,2026-11-{day:02}T12:00:00+00:00,eu-central-1,s3,{key2},false,N/A,false,N/A"
        )
        .expect("w");
    }
}

fn import(store: &mut Store, path: &std::path::Path, now: jiff::Timestamp) -> (usize, f64) {
    let start = Instant::now();
    let file = std::fs::File::open(path).expect("open");
    let reader =
        aws_credential_report::open_csv("bench.csv", BufReader::with_capacity(1 << 16, file))
            .expect("header");
    let mut tx = store.begin(now).expect("begin");
    let run = tx
        .start_run("aws-credential-report", "bench.csv", "")
        .expect("run");
    let mut rows = 0;
    for row in reader {
        let row = row.expect("row");
        for i in &row.identities {
            tx.upsert_identity(run, i).expect("identity");
        }
        for c in &row.credentials {
            tx.upsert_credential(run, c).expect("credential");
        }
        rows += 1;
    }
    tx.sweep_gone(run, "aws-credential-report", "aws:123456789012")
        .expect("sweep");
    tx.commit().expect("commit");
    (rows, start.elapsed().as_secs_f64())
}

fn main() {
    let rows: usize = std::env::var("CASTELLAN_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let events: u64 = std::env::var("CASTELLAN_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tmp");
    let csv = dir.path().join("report.csv");
    let t = Instant::now();
    write_report(&csv, rows);
    let size = std::fs::metadata(&csv).map(|m| m.len()).unwrap_or(0);
    println!(
        "generated {rows} rows ({:.1} MiB) in {:.2} s",
        size as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );

    let start = Instant::now();
    let file = std::fs::File::open(&csv).expect("open");
    let mut parsed = 0usize;
    for row in aws_credential_report::open_csv("bench.csv", BufReader::with_capacity(1 << 16, file))
        .expect("header")
    {
        let row = row.expect("row");
        parsed += usize::from(!row.identities.is_empty());
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "parse only:          {parsed} rows in {secs:.2} s = {:.0} rows/s",
        parsed as f64 / secs
    );

    // The store alone: rows already parsed in memory, written into a scratch database.
    let sample = rows.min(100_000);
    let file = std::fs::File::open(&csv).expect("open");
    let parsed_rows: Vec<castellan_sources::Records> =
        aws_credential_report::open_csv("bench.csv", BufReader::with_capacity(1 << 16, file))
            .expect("header")
            .take(sample)
            .map(|r| r.expect("row"))
            .collect();
    let mut scratch =
        Store::open(&dir.path().join("scratch.db").display().to_string()).expect("scratch");
    let start = Instant::now();
    let mut tx = scratch
        .begin(castellan_model::parse_ts("2026-12-01T00:00:00Z").expect("ts"))
        .expect("begin");
    let run = tx
        .start_run("aws-credential-report", "bench.csv", "")
        .expect("run");
    for row in &parsed_rows {
        for i in &row.identities {
            tx.upsert_identity(run, i).expect("identity");
        }
        for c in &row.credentials {
            tx.upsert_credential(run, c).expect("credential");
        }
    }
    tx.commit().expect("commit");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "store only:          {sample} rows in {secs:.2} s = {:.0} rows/s",
        sample as f64 / secs
    );
    drop(parsed_rows);
    drop(scratch);
    if std::env::var("CASTELLAN_BENCH_STORE_ONLY").is_ok() {
        return;
    }

    let db = std::env::var("CASTELLAN_BENCH_PG_URL")
        .unwrap_or_else(|_| dir.path().join("bench.db").display().to_string());
    let mut store = Store::open(&db).expect("open store");
    if db.starts_with("postgres") {
        store.reset_for_tests().expect("reset");
    }
    let now = castellan_model::parse_ts("2026-12-01T00:00:00Z").expect("ts");
    let (n, secs) = import(&mut store, &csv, now);
    println!(
        "import (first):      {n} rows in {secs:.2} s = {:.0} rows/s",
        n as f64 / secs
    );
    let later = castellan_model::parse_ts("2026-12-02T00:00:00Z").expect("ts");
    let (n, secs) = import(&mut store, &csv, later);
    println!(
        "import (idempotent): {n} rows in {secs:.2} s = {:.0} rows/s",
        n as f64 / secs
    );
    let counts = store.counts().expect("counts");
    println!(
        "store: {} identities, {} credentials, {} ledger entries",
        counts.identities, counts.credentials, counts.ledger_entries
    );

    let start = Instant::now();
    let mut tx = store.begin(now).expect("begin");
    for i in 0..events {
        tx.append(
            "bench.event",
            &format!("aws:123456789012:user/svc-{i:07}"),
            serde_json::json!({ "i": i, "action": "used", "region": "eu-central-1" }),
        )
        .expect("append");
    }
    tx.commit().expect("commit");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "ledger append:       {events} events in {secs:.2} s = {:.0} events/s",
        events as f64 / secs
    );

    let key = LedgerKey::from_seed([7; 32]);
    store
        .checkpoint(&key, "2026-12-01T00:00:00Z")
        .expect("checkpoint");
    let start = Instant::now();
    let report = store
        .verify_ledger(&key, Vec::new())
        .expect("store")
        .expect("verify");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "ledger verify:       {} events in {secs:.2} s = {:.0} events/s",
        report.entries,
        report.entries as f64 / secs
    );
    let db_size = std::fs::metadata(dir.path().join("bench.db"))
        .map(|m| m.len())
        .unwrap_or(0);
    if db_size > 0 {
        println!("database size: {:.1} MiB", db_size as f64 / 1048576.0);
    }
    println!("peak resident memory: {:.0} MiB", peak_rss_mib());
}
