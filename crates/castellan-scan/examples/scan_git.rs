//! Scans a repository's history with the built-in rules and prints the figures (no cache).
//!
//! `cargo run --release -p castellan-scan --example scan_git -- PATH`
use castellan_scan::git::{GitCache, GitOptions, scan_git};
use castellan_scan::scan::{ScanOptions, Scanner};
use castellan_scan::{FingerprintKey, Rules};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: scan_git PATH")?;
    let scanner = Scanner::new(
        Rules::builtin()?,
        FingerprintKey::from_bytes([0; 32]),
        ScanOptions::default(),
    )?;
    let start = std::time::Instant::now();
    let (report, stats) = scan_git(
        &scanner,
        path.as_ref(),
        &GitOptions::default(),
        &mut GitCache::default(),
    )?;
    eprintln!("{:?}", start.elapsed());
    eprintln!("{}", serde_json::to_string_pretty(&stats)?);
    eprintln!("sightings: {}", report.sightings.len());
    let mut by_rule = std::collections::BTreeMap::<&str, usize>::new();
    for s in &report.sightings {
        *by_rule.entry(&s.rule_id).or_default() += 1;
    }
    eprintln!("{by_rule:#?}");
    Ok(())
}
