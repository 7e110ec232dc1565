//! Shared front-end helpers: opening the context, progress bars, tables, JSON printing.

use std::io::IsTerminal;

use castellan_model::{Clock, Finding, FindingStatus, Severity};
use castellan_pipeline::{Context, Progress, default_data_dir};
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use crate::Failure;
use crate::args::Global;

/// Opens the database and keys named by the global options.
pub fn open(g: &Global) -> Result<Context, Failure> {
    let clock = Clock::from_option(g.now.as_deref()).map_err(|e| Failure {
        code: crate::exit::INPUT,
        error: anyhow::anyhow!("--now / CASTELLAN_NOW: {e}"),
    })?;
    let data_dir = g
        .data_dir
        .clone()
        .unwrap_or_else(|| default_data_dir(&g.db));
    Ok(Context::open(&g.db, &data_dir, clock)?)
}

/// Prints JSON on stdout.
pub fn print_json(v: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// A progress bar on stderr when it is a terminal (and not --quiet).
pub struct Bar(Option<indicatif::ProgressBar>);

impl Bar {
    pub fn new(g: &Global) -> Bar {
        if g.quiet || !std::io::stderr().is_terminal() {
            return Bar(None);
        }
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} {pos} rows {per_sec}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        Bar(Some(pb))
    }

    pub fn finish(&self) {
        if let Some(pb) = &self.0 {
            pb.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn message(&self, msg: &str) {
        if let Some(pb) = &self.0 {
            pb.set_message(msg.to_string());
        }
    }
    fn advance(&self, n: u64) {
        if let Some(pb) = &self.0 {
            pb.inc(n);
        }
    }
}

/// A table sized to the terminal.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    t
}

/// Exit code for `--fail-on`: 1 when an open finding is at or above the severity.
pub fn fail_code(findings: &[Finding], fail_on: Option<crate::args::FailOn>) -> u8 {
    let Some(min) = fail_on.map(|f| f.severity()) else {
        return crate::exit::OK;
    };
    let hit = findings
        .iter()
        .any(|f| f.status == FindingStatus::Open && f.severity >= min);
    if hit {
        crate::exit::FINDINGS
    } else {
        crate::exit::OK
    }
}

/// Prints custom-policy errors on stderr; true when there were any (exit code 2: the built-in
/// controls and the working policies were still evaluated and recorded).
pub fn report_policy_errors(errors: &[castellan_policy::custom::PolicyError]) -> bool {
    for e in errors {
        eprintln!("error: custom policy {e}");
    }
    if !errors.is_empty() {
        eprintln!(
            "error: {} custom polic{} not evaluated; the other controls were assessed and recorded",
            errors.len(),
            if errors.len() == 1 {
                "y was"
            } else {
                "ies were"
            }
        );
    }
    !errors.is_empty()
}

/// Open findings per severity, highest first.
pub fn severity_counts(findings: &[Finding]) -> Vec<(Severity, usize)> {
    Severity::ALL
        .iter()
        .rev()
        .map(|s| {
            (
                *s,
                findings
                    .iter()
                    .filter(|f| f.status == FindingStatus::Open && f.severity == *s)
                    .count(),
            )
        })
        .collect()
}

/// Whether `path` is, or (for a folder) holds, a PKCS#12 file (`.p12`, `.pfx`).
fn has_pkcs12(path: &std::path::Path, depth: usize) -> bool {
    if path.is_dir() {
        depth > 0
            && std::fs::read_dir(path)
                .is_ok_and(|entries| entries.flatten().any(|e| has_pkcs12(&e.path(), depth - 1)))
    } else {
        path.extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| x.eq_ignore_ascii_case("p12") || x.eq_ignore_ascii_case("pfx"))
    }
}

/// The password for PKCS#12 files among `paths`: asked on the terminal (not echoed) when there
/// are such files, `CASTELLAN_P12_PASSWORD` is not set and a person is at the terminal; `None`
/// otherwise (the import then reads the variable, or names the file and the variable).
pub fn p12_password(paths: &[std::path::PathBuf]) -> Result<Option<String>, Failure> {
    use std::io::IsTerminal;
    if std::env::var_os("CASTELLAN_P12_PASSWORD").is_some()
        || !std::io::stdin().is_terminal()
        || !paths.iter().any(|p| has_pkcs12(p, 8))
    {
        return Ok(None);
    }
    let answer = rpassword::prompt_password(
        "Password of the PKCS#12 files (or set CASTELLAN_P12_PASSWORD): ",
    )
    .map_err(|e| Failure {
        code: crate::exit::INPUT,
        error: anyhow::anyhow!("cannot read the PKCS#12 password from the terminal: {e}"),
    })?;
    Ok(Some(answer))
}
