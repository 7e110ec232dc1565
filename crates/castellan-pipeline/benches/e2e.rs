//! End to end through the library: import a synthetic credential report, then `assess`, on
//! SQLite, as `castellan import` and `castellan assess` do.
//!
//!     cargo bench -p castellan-pipeline --bench e2e                       # 100,000 rows
//!     CASTELLAN_BENCH_ROWS=1000000 cargo bench -p castellan-pipeline --bench e2e

use std::io::Write;
use std::time::Instant;

use castellan_model::Clock;
use castellan_pipeline::{Context, Silent, assess, import_paths};

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

fn main() {
    let rows: usize = std::env::var("CASTELLAN_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("tmp");
    let csv = dir.path().join("report.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).expect("create"));
        writeln!(f, "{HEADER}").expect("w");
        for i in 0..rows {
            let day = 1 + i % 28;
            // a tenth of the keys are overdue, a seventh unused for months
            let rotated = if i % 10 == 3 {
                format!("2025-03-{day:02}")
            } else {
                format!("2026-{:02}-{day:02}", 9 + i % 3)
            };
            let used = if i % 7 == 0 {
                "2026-06-01T10:00:00+00:00".to_string()
            } else {
                "2026-11-20T10:00:00+00:00".to_string()
            };
            writeln!(
                f,
                "svc-{i:07},arn:aws:iam::123456789012:user/bench/svc-{i:07},2024-01-{day:02}T08:00:00+00:00,false,N/A,N/A,N/A,false,true,{rotated}T08:30:00+00:00,{used},eu-central-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"
            )
            .expect("w");
        }
    }
    let clock = Clock::from_option(Some("2026-12-01T00:00:00Z")).expect("clock");
    let db = dir.path().join("e2e.db").display().to_string();
    let mut ctx = Context::open(&db, &dir.path().join("data"), clock).expect("open");

    let start = Instant::now();
    import_paths(&mut ctx, &[(csv.clone(), None)], &Silent).expect("import");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "import: {rows} rows in {secs:.2} s = {:.0} rows/s",
        rows as f64 / secs
    );

    let start = Instant::now();
    let report = assess(&mut ctx, &[], None, &Silent).expect("assess");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "assess (first, every finding new): {} identities in {secs:.2} s; {} findings",
        report.identities,
        report.findings.len()
    );
    let start = Instant::now();
    let report = assess(&mut ctx, &[], None, &Silent).expect("assess");
    println!(
        "assess (again, nothing changed): {} identities in {:.2} s; {} findings",
        report.identities,
        start.elapsed().as_secs_f64(),
        report.findings.len()
    );
    println!("peak resident memory: {:.0} MiB", peak_rss_mib());
}
