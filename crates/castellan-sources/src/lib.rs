//! Importers: each module reads one real export format and returns inventory records.
//!
//! Sources are pure. They never touch the database and never judge: they turn bytes into
//! [`castellan_model`] records, or into a [`SourceError`] that names the file, the line and the
//! field, and never echoes a value that might be a secret (see [`show_value`]).
//!
//! | module | format | how `castellan run` recognises it |
//! |---|---|---|
//! | [`aws_credential_report`] | AWS IAM credential report, as CSV or as the `get-credential-report` JSON | the 22-column header / a JSON object with `ReportFormat: text/csv` |
//! | [`aws_authorization_details`] | `aws iam get-account-authorization-details` JSON (one or more pages) | a JSON object with `UserDetailList` / `RoleDetailList` |
//! | [`k8s`] | Kubernetes: `kubectl get … -o json` (a v1 List), single objects, manifest YAML | JSON or YAML objects with `apiVersion` and `kind` |
//! | [`governance`] | `castellan.yaml`: services, people, suppliers, contracts, rules, owners, exceptions | a YAML mapping with the `castellan:` format key |

pub mod aws_authorization_details;
pub mod aws_cloudtrail;
pub mod aws_credential_report;
pub mod aws_iam_lists;
#[cfg(feature = "aws")]
pub mod aws_live;
pub mod aws_policy;
pub mod azure;
mod detect;
mod error;
pub mod gcp;
pub mod github;
pub mod governance;
mod json_input;
pub mod k8s;
pub mod ssh;
#[cfg(feature = "tls")]
pub mod tls_live;
pub mod vault;
pub mod x509;

pub use detect::{SourceKind, detect};
pub use error::{SourceError, show_value};

/// Everything one row (or one document) of an export yields.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Records {
    /// Identities.
    pub identities: Vec<castellan_model::Identity>,
    /// Credentials.
    pub credentials: Vec<castellan_model::Credential>,
    /// Grants (policy statements held by identities or their groups).
    pub grants: Vec<castellan_model::Grant>,
    /// Lifecycle events (issuance, use, privilege change, revocation, failed use, human use).
    pub events: Vec<castellan_model::Event>,
}
