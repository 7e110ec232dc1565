use std::path::{Path, PathBuf};

use castellan_ledger::{CheckpointError, LedgerKey};
use castellan_model::{Clock, FingerprintKey, KeyError};
use castellan_sources::SourceError;
use castellan_store::{Store, StoreError};

/// Why a pipeline step failed. [`PipelineError::is_input`] separates the user's input problems
/// (exit code 2) from internal failures (exit code 3).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// An export could not be read or parsed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The command was used wrongly (missing folder, two governance files…).
    #[error("{0}")]
    Usage(String),
    /// A key file problem.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Checkpoint or witness problem.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the evidence folder failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Internal error.
    #[error("internal error: {0}")]
    Internal(String),
}

impl PipelineError {
    /// Whether the error is the user's input (exit 2) rather than Castellan's (exit 3).
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            PipelineError::Source(_)
                | PipelineError::Usage(_)
                | PipelineError::Key(_)
                | PipelineError::Store(
                    StoreError::Open { .. }
                        | StoreError::KeyMismatch { .. }
                        | StoreError::TooNew { .. }
                )
        )
    }
}

/// Progress reporting hooks for long work (the CLI draws a bar on a terminal).
pub trait Progress {
    /// A new phase or file.
    fn message(&self, msg: &str);
    /// `n` more units done.
    fn advance(&self, n: u64);
}

/// No progress output.
#[derive(Debug, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {
    fn message(&self, _: &str) {}
    fn advance(&self, _: u64) {}
}

/// The data directory used when none is given: `.castellan` beside a SQLite database file,
/// `./.castellan` for PostgreSQL.
pub fn default_data_dir(db: &str) -> PathBuf {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        return PathBuf::from(".castellan");
    }
    let path = Path::new(db.strip_prefix("sqlite://").unwrap_or(db));
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.join(".castellan"),
        _ => PathBuf::from(".castellan"),
    }
}

/// An open database with its keys and clock.
#[derive(Debug)]
pub struct Context {
    /// The store.
    pub store: Store,
    /// The data directory (keys, witness checkpoints).
    pub data_dir: PathBuf,
    /// Fingerprint key.
    pub fingerprint_key: FingerprintKey,
    /// Ledger signing key.
    pub ledger_key: LedgerKey,
    /// The clock.
    pub clock: Clock,
    /// The cluster name for Kubernetes exports (`--cluster`); by default each file's name.
    pub cluster: Option<String>,
    /// The AWS account of list outputs that do not name it (`--account`); by default the
    /// 12-digit number in each file's name.
    pub account: Option<String>,
    /// Password of PKCS#12 files (a prompt's answer); `CASTELLAN_P12_PASSWORD` when `None`.
    pub p12_password: Option<String>,
}

impl Context {
    /// Opens the database and the data directory (creating keys on first use).
    pub fn open(db: &str, data_dir: &Path, clock: Clock) -> Result<Context, PipelineError> {
        let fingerprint_key = FingerprintKey::load_or_create(data_dir)?;
        let ledger_key = LedgerKey::load_or_create(data_dir)?;
        let mut store = Store::open(db)?;
        store.bind_key(&fingerprint_key)?;
        Ok(Context {
            store,
            data_dir: data_dir.to_path_buf(),
            fingerprint_key,
            ledger_key,
            clock,
            cluster: None,
            account: None,
            p12_password: None,
        })
    }

    /// Signs a checkpoint of the current ledger, stores it and appends it to the witness file.
    pub fn checkpoint(&mut self) -> Result<castellan_ledger::Checkpoint, PipelineError> {
        let ts = castellan_model::format_ts(self.clock.now());
        let cp = self.store.checkpoint(&self.ledger_key, &ts)?;
        let witnessed = castellan_ledger::read_witness(&self.data_dir, self.store.origin())?;
        if !witnessed.contains(&cp) {
            castellan_ledger::write_witness(&self.data_dir, &cp)?;
        }
        Ok(cp)
    }

    /// Verifies the ledger against stored and witnessed checkpoints.
    pub fn verify_ledger(
        &mut self,
    ) -> Result<Result<castellan_ledger::VerifyReport, castellan_ledger::VerifyError>, PipelineError>
    {
        let witness = castellan_ledger::read_witness(&self.data_dir, self.store.origin())?;
        Ok(self.store.verify_ledger(&self.ledger_key, witness)?)
    }
}
