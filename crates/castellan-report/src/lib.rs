//! Evidence renderers. Everything here is rendered from the store and the ledger, never
//! recomputed: the HTML report shows exactly the findings that `findings.json` lists.

mod html;
mod json;

use std::path::{Path, PathBuf};

pub use html::{escape, render_html};
pub use json::{
    RiskContext, credential_json, event_json, finding_json, findings_json, grant_json,
    inventory_item, inventory_json, sort_findings, summary_json,
};

use castellan_store::StoreError;

/// What the evidence folder needs besides the store.
#[derive(Clone, Debug)]
pub struct EvidenceInput {
    /// The evaluation instant (RFC 3339).
    pub generated_at: String,
    /// The estate folder.
    pub estate: String,
    /// The database (password removed).
    pub database: String,
    /// Per-file import reports.
    pub imports: serde_json::Value,
    /// Files skipped.
    pub skipped: serde_json::Value,
    /// Thresholds in force.
    pub thresholds: serde_json::Value,
    /// Custom (Rego) controls evaluated: their metadata.
    pub custom_controls: serde_json::Value,
    /// Custom policies that failed to load or evaluate.
    pub policy_errors: serde_json::Value,
    /// What scanning the estate's repositories found (`null` when it has none).
    pub scan: serde_json::Value,
    /// The checkpoint signed after the run.
    pub checkpoint: castellan_ledger::Checkpoint,
}

/// Rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing a file failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let err = |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// Writes `summary.json`, `inventory.json`, `findings.json` and `report.html` into `out`
/// (created if needed; each file replaced atomically). Returns the paths written.
pub fn write_evidence(
    store: &mut castellan_store::Store,
    out: &Path,
    input: &EvidenceInput,
) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(out).map_err(|source| ReportError::Write {
        path: out.to_path_buf(),
        source,
    })?;
    let catalogue = castellan_policy::Catalogue::builtin().map_err(|e| ReportError::Write {
        path: out.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let inventory = inventory_json(store, &input.generated_at)?;
    let findings = findings_json(store, &catalogue, &input.generated_at)?;
    let summary = summary_json(store, &catalogue, input, &findings)?;
    let html = render_html(store, &catalogue, input, &summary, &inventory, &findings)?;
    let mut written = Vec::new();
    for (name, bytes) in [
        ("summary.json", pretty(&summary)),
        ("inventory.json", pretty(&inventory)),
        ("findings.json", pretty(&findings)),
        ("report.html", html.into_bytes()),
    ] {
        let path = out.join(name);
        write_atomic(&path, &bytes)?;
        written.push(path);
    }
    Ok(written)
}

fn pretty(v: &serde_json::Value) -> Vec<u8> {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into());
    s.push('\n');
    s.into_bytes()
}
