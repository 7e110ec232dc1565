//! Tuning harness for the rule catalogue: scans a corpus laid out as `DIR/pos/*` (files that
//! should produce a sighting) and `DIR/neg/*` (near misses that mostly should not) with the
//! built-in rules and the extractors, and prints the hit rates, the positive files missed
//! (grouped by the rule-id prefix of their name, `<rule id>__<n>.txt`) and the negative files hit.
//!
//! `cargo run --release -p castellan-scan --example corpus -- /work/shared/corpora/np-rule-examples [--verbose]`
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use castellan_scan::scan::{ScanOptions, Scanner};
use castellan_scan::{FingerprintKey, Rules};

/// A file's name and the rule ids that fired on it (empty: nothing found).
type Scanned = (String, Vec<String>);

/// Scans every file of `dir`.
fn scan_dir(scanner: &Scanner, dir: &Path) -> Result<Vec<Scanned>, Box<dyn std::error::Error>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let content = std::fs::read(&path)?;
        let (sightings, _references) = scanner.scan_content(&name, &content);
        let mut ids: Vec<String> = sightings.into_iter().map(|s| s.rule_id).collect();
        ids.sort();
        ids.dedup();
        out.push((name, ids));
    }
    Ok(out)
}

/// `np.aws.2__1.txt` → `np.aws.2`.
fn prefix(name: &str) -> &str {
    name.split("__").next().unwrap_or(name)
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let root = PathBuf::from(args.next().ok_or("usage: corpus DIR [--verbose]")?);
    let verbose = args.any(|a| a == "--verbose" || a == "-v");
    let rules = Rules::builtin()?;
    let count = rules.len();
    let scanner = Scanner::new(
        rules,
        FingerprintKey::from_bytes([0; 32]),
        ScanOptions::default(),
    )?;
    let start = std::time::Instant::now();
    let pos = scan_dir(&scanner, &root.join("pos"))?;
    let neg = scan_dir(&scanner, &root.join("neg"))?;
    let elapsed = start.elapsed();

    let pos_hit = pos.iter().filter(|(_, ids)| !ids.is_empty()).count();
    let neg_hit = neg.iter().filter(|(_, ids)| !ids.is_empty()).count();
    println!("rules: {count}");
    println!(
        "pos files hit: {pos_hit} / {} ({:.1}%)",
        pos.len(),
        percent(pos_hit, pos.len())
    );
    println!(
        "neg files hit: {neg_hit} / {} ({:.1}%)",
        neg.len(),
        percent(neg_hit, neg.len())
    );
    println!("scanned in {elapsed:?}");

    let mut missed: BTreeMap<&str, (usize, usize, Vec<&str>)> = BTreeMap::new();
    for (name, ids) in &pos {
        let entry = missed.entry(prefix(name)).or_default();
        entry.1 += 1;
        if ids.is_empty() {
            entry.0 += 1;
            entry.2.push(name);
        }
    }
    println!("\npos files missed, by rule-id prefix (missed / total):");
    for (group, (miss, total, names)) in missed.iter().filter(|(_, (m, _, _))| *m > 0) {
        println!("  {group:<24} {miss} / {total}  {}", names.join(" "));
    }
    println!("\nneg files hit (a near miss for its own rule; it may still hold another secret):");
    for (name, ids) in neg.iter().filter(|(_, ids)| !ids.is_empty()) {
        println!("  {name:<28} {}", ids.join(", "));
    }
    if verbose {
        println!("\npos files hit:");
        for (name, ids) in pos.iter().filter(|(_, ids)| !ids.is_empty()) {
            println!("  {name:<28} {}", ids.join(", "));
        }
    }
    Ok(())
}
