//! Castellan's discovery engine: machine credentials in files, git history and CI/CD config.
//!
//! The flow is enumeration → matching → sightings, each in its own module:
//!
//! * [`rules`]: the rule catalogue, YAML data embedded in the binary (plus user rules), each rule
//!   carrying examples and negative examples that [`rules::Rules::check`] proves;
//! * [`matcher`]: the [`Matcher`] trait and the default engine (literal prefilter with
//!   Aho-Corasick, then each candidate rule's regex);
//! * [`extract`]: format-aware extractors for credential-bearing files (`.netrc`, `.pgpass`,
//!   docker `config.json`, kubeconfig, `.env`, CI files…), which parse structure rather than grep,
//!   and tell a *reference* to a managed secret from an inline literal;
//! * [`scan`]: walking directories and files and turning matches into [`Sighting`]s.
//!
//! A raw secret exists only inside a [`Secret`] while it is fingerprinted and previewed; nothing
//! this crate returns can print it.

pub mod extract;
pub mod git;
pub mod matcher;
pub mod rules;
pub mod sarif;
pub mod scan;

use std::collections::BTreeMap;

pub use castellan_model::{Fingerprint, FingerprintKey, Redacted, Secret};
pub use matcher::{Matcher, RegexMatcher};
pub use rules::{Confidence, Rule, RuleError, Rules};

/// One credential-like value found in some content, before it is tied to a place.
///
/// Produced by both the rule matcher and the extractors.
#[derive(Debug, Clone)]
pub struct Match {
    /// The rule (`castellan.aws.secret-access-key`) or extractor (`extract.pgpass`) that found it.
    pub rule_id: String,
    /// The secret value itself, if the match holds one.
    pub secret: Option<Secret>,
    /// A non-secret identifier found with it (an AWS access key id, a user name@host, a key id).
    pub identifier: Option<String>,
    /// Byte offset of the secret (or of the identifier when there is no secret) in the content.
    pub offset: usize,
    /// Length in bytes of that value.
    pub len: usize,
    /// Credential kind: `access-key`, `api-key`, `token`, `password`, `private-key`…
    pub kind: String,
    /// Provider: `aws`, `github`, `postgres`, `generic`…
    pub provider: String,
    /// How sure the rule or extractor is.
    pub confidence: Confidence,
    /// Non-secret context, e.g. `host`, `user`, `database`, `registry`, `variable`.
    pub context: BTreeMap<String, String>,
}

/// A reference to a secret held in a managed store (`${{ secrets.NPM_TOKEN }}`,
/// `secretKeyRef`, a Vault path): not a leak, but an edge "this pipeline uses that secret".
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Reference {
    /// The store: `github-actions`, `gitlab-ci`, `vault`, `kubernetes-secret`, `azure-keyvault`,
    /// `aws-secrets-manager`, `environment`…
    pub store: String,
    /// The secret's name in that store (`NPM_TOKEN`, `secret/data/prod/db#password`, `db-creds/password`).
    pub name: String,
    /// 1-based line of the reference.
    pub line: usize,
    /// The consumer the file describes, when known: the workflow/job/pipeline/deployment name.
    pub consumer: Option<String>,
}

/// Where a sighting was made.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Place {
    /// Path of the file (relative to the scanned root when under one), or the path of the blob
    /// in the commit that introduced it.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in bytes).
    pub column: usize,
    /// The commit that introduced the blob (git scans only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The blob id (git scans only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
    /// Whether the blob is still present at HEAD (git scans only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<bool>,
}

/// A credential seen at a place: everything Castellan keeps of a match. No raw secret.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Sighting {
    /// Rule or extractor id.
    pub rule_id: String,
    /// Rule name for people.
    pub rule_name: String,
    /// Credential kind.
    pub kind: String,
    /// Provider.
    pub provider: String,
    /// Confidence.
    pub confidence: Confidence,
    /// Keyed hash of the secret (or of the identifier when the match has no secret).
    pub fingerprint: Fingerprint,
    /// Redacted preview of the secret (absent for identifier-only matches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<Redacted>,
    /// Non-secret identifier (an AWS access key id…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Where.
    pub place: Place,
    /// Non-secret context.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub context: BTreeMap<String, String>,
}
