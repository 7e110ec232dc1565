//! Scanner throughput and latency (figures, not pass/fail; targets are in docs/benchmarks.md).
//!
//! ```sh
//! cargo bench -p castellan-scan --bench scan                        # the example estate's repository
//! cargo bench -p castellan-scan --bench scan -- history PATH        # full history, then an unchanged re-scan
//! cargo bench -p castellan-scan --bench scan -- tree PATH           # a working tree
//! cargo bench -p castellan-scan --bench scan -- file PATH           # one file, rules loaded each time
//! ```
//! For peak memory and CPU seconds run the CLI under `/usr/bin/time -v` (docs/benchmarks.md).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use castellan_scan::git::{GitCache, GitOptions, scan_git};
use castellan_scan::scan::{ScanOptions, Scanner};
use castellan_scan::{FingerprintKey, Rules};

fn scanner() -> Scanner {
    let rules = Rules::builtin().expect("built-in rules");
    Scanner::new(
        rules,
        FingerprintKey::from_bytes([5; 32]),
        ScanOptions::default(),
    )
    .expect("scanner")
}

fn mb_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64().max(1e-9)
}

fn history(path: &Path) {
    let s = scanner();
    let mut cache = GitCache::default();
    let t = Instant::now();
    let (report, stats) = scan_git(&s, path, &GitOptions::default(), &mut cache).expect("scan");
    let first = t.elapsed();
    println!(
        "history {}: {} commits, {} blobs, {:.1} MB in {:.2?} ({:.0} MB/s), {} sightings",
        path.display(),
        stats.commits,
        stats.blobs_scanned,
        stats.bytes_scanned as f64 / 1e6,
        first,
        mb_s(stats.bytes_scanned, first),
        report.sightings.len()
    );
    let t = Instant::now();
    let (_, again) = scan_git(&s, path, &GitOptions::default(), &mut cache).expect("rescan");
    println!(
        "history re-scan (unchanged, cached): {:.2?}, {} blobs read",
        t.elapsed(),
        again.blobs_scanned
    );
}

fn tree(path: &Path) {
    let s = scanner();
    let t = Instant::now();
    let report = s.scan_paths(&[path.to_path_buf()]);
    let d = t.elapsed();
    println!(
        "tree {}: {} files, {:.1} MB in {:.2?} ({:.0} MB/s), {} sightings, {} skipped",
        path.display(),
        report.files,
        report.bytes as f64 / 1e6,
        d,
        mb_s(report.bytes, d),
        report.sightings.len(),
        report.skipped.len()
    );
}

fn file(path: &Path) {
    let mut times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let s = scanner();
        let report = s.scan_paths(&[path.to_path_buf()]);
        std::hint::black_box(report);
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "file {} (rules loaded and scanner built each time): median {:.2?}, max {:.2?}",
        path.display(),
        times[times.len() / 2],
        times[times.len() - 1]
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    match args.as_slice() {
        [mode, path, ..] if mode == "history" => history(Path::new(path)),
        [mode, path, ..] if mode == "tree" => tree(Path::new(path)),
        [mode, path, ..] if mode == "file" => file(Path::new(path)),
        _ => {
            history(&root.join("examples/estate/repos/nordwind-deploy.git"));
            tree(&root.join("examples/estate"));
            file(&root.join("examples/estate/castellan.yaml"));
        }
    }
}
