//! Format-aware extractors: credential-bearing files parsed by their structure.
//!
//! Each extractor recognises its files by name/path (and, where names are ambiguous, by content),
//! then parses them and reports [`Match`]es (inline secrets) and [`Reference`]s (names of secrets
//! held in a managed store). Extractors never fail: content they cannot parse yields nothing here
//! and is still searched by the rules.

use std::path::Path;

use crate::{Match, Reference};

/// What the extractors found in one file.
#[derive(Debug, Default)]
pub struct Extracted {
    /// Inline secrets.
    pub matches: Vec<Match>,
    /// References to secrets held elsewhere (CI secrets, Vault paths, `secretKeyRef`).
    pub references: Vec<Reference>,
}

/// Runs every extractor that applies to `path` over `content`.
pub fn extract(path: &Path, content: &[u8]) -> Extracted {
    let _ = (path, content);
    Extracted::default()
}

/// The display name of an extractor id (`extract.pgpass` → "PostgreSQL password file").
pub fn name_of(id: &str) -> &str {
    id
}
