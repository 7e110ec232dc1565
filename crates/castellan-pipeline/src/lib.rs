//! The flow, as library functions: sources → store → controls → evidence.
//!
//! [`Context`] holds an open store, the data-directory keys and the clock. [`import_paths`] imports
//! exports in one transaction; [`assess`] evaluates the controls and records findings;
//! [`run_estate`] does everything for an estate folder and writes the evidence pack. Each of them
//! commits once and then signs a ledger checkpoint, so a failure anywhere leaves the database as
//! it was.

mod context;
mod import;
mod run;
mod scan;

pub use context::{Context, PipelineError, Progress, Silent, default_data_dir};
#[cfg(feature = "aws")]
pub use import::import_aws_live;
#[cfg(feature = "tls")]
pub use import::import_tls_live;
pub use import::{Discovered, ImportReport, Skipped, discover, import_paths};
pub use run::{AssessReport, RunReport, assess, run_estate};
pub use scan::{
    IGNORE_FILE, REPOS_DIR, RootSummary, ScanOutcome, ScanRequest, ScanSummary, is_git_repo,
    read_baseline, scan_and_store, scan_only, scanner_for,
};
