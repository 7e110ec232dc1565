use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{Fingerprint, Redacted};

/// Free-form, source-specific facts kept with a record (sorted, so hashing is stable).
pub type Attributes = BTreeMap<String, serde_json::Value>;

/// Lifecycle status of an identity or credential as its source reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Enabled and usable.
    Active,
    /// Present but disabled (e.g. an AWS access key set Inactive).
    Inactive,
    /// Past its expiry.
    Expired,
    /// No longer reported by its source.
    Gone,
    /// The source does not say.
    Unknown,
}

impl Status {
    /// The snake_case name used in storage and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Inactive => "inactive",
            Status::Expired => "expired",
            Status::Gone => "gone",
            Status::Unknown => "unknown",
        }
    }

    /// Parses the stored name; unknown names read as [`Status::Unknown`].
    pub fn parse(s: &str) -> Status {
        match s {
            "active" => Status::Active,
            "inactive" => Status::Inactive,
            "expired" => Status::Expired,
            "gone" => Status::Gone,
            _ => Status::Unknown,
        }
    }
}

/// The highest privilege an identity holds, as far as its source tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Privilege {
    /// Can administer the system (e.g. the AWS root user, `*:*`).
    Admin,
    /// Can change things.
    Write,
    /// Can only read.
    Read,
    /// Holds no permissions at all (the source lists every policy and none allows anything).
    None,
    /// Not known from the imported data.
    Unknown,
}

impl Privilege {
    /// The snake_case name used in storage and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Privilege::Admin => "admin",
            Privilege::Write => "write",
            Privilege::Read => "read",
            Privilege::None => "none",
            Privilege::Unknown => "unknown",
        }
    }

    /// Rank for merging: what a source proves beats what another does not know.
    pub fn rank(self) -> u8 {
        match self {
            Privilege::Admin => 4,
            Privilege::Write => 3,
            Privilege::Read => 2,
            Privilege::None => 1,
            Privilege::Unknown => 0,
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Privilege {
        match s {
            "admin" => Privilege::Admin,
            "write" => Privilege::Write,
            "read" => Privilege::Read,
            "none" => Privilege::None,
            _ => Privilege::Unknown,
        }
    }
}

/// A non-human subject: IAM user or role, service account, app registration, bot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// Stable id, e.g. `aws:123456789012:user/ci-deployer`.
    pub id: String,
    /// What it is in its system, e.g. `aws-iam-user`, `aws-root`.
    pub kind: String,
    /// The importer that reported it, e.g. `aws-credential-report`.
    pub source: String,
    /// The part of the world that import covers (e.g. `aws:123456789012`); a record missing from
    /// a later import of the same scope is marked gone.
    pub scope: String,
    /// Human-readable name in its system.
    pub name: String,
    /// Cloud account, cluster, organisation… when the source has one.
    pub account: Option<String>,
    /// Lifecycle status.
    pub status: Status,
    /// Highest known privilege.
    pub privilege: Privilege,
    /// When the source created it.
    pub created_at: Option<Timestamp>,
    /// Most recent use by any of its credentials, when known.
    pub last_used_at: Option<Timestamp>,
    /// Tags/labels from the source (used by mapping rules).
    pub tags: BTreeMap<String, String>,
    /// Other source facts.
    pub attributes: Attributes,
}

/// A secret or key that authenticates an identity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Credential {
    /// Stable id, e.g. `aws:123456789012:user/ci-deployer/access-key-1`.
    pub id: String,
    /// The identity it authenticates, when known.
    pub identity_id: Option<String>,
    /// `access-key`, `password`, `certificate`, `token`, `ssh-key`…
    pub kind: String,
    /// The importer that reported it.
    pub source: String,
    /// See [`Identity::scope`].
    pub scope: String,
    /// Human-readable name.
    pub name: String,
    /// Lifecycle status.
    pub status: Status,
    /// When it was issued.
    pub created_at: Option<Timestamp>,
    /// When its secret last changed.
    pub last_rotated_at: Option<Timestamp>,
    /// When it was last used, if known.
    pub last_used_at: Option<Timestamp>,
    /// `Some(false)`: the source says it was never used; `None`: the source does not know.
    pub ever_used: Option<bool>,
    /// When it stops working, if it expires.
    pub expires_at: Option<Timestamp>,
    /// Keyed hash of the secret, when Castellan has seen the secret itself.
    pub fingerprint: Option<Fingerprint>,
    /// Redacted preview, when Castellan has seen the secret itself.
    pub preview: Option<Redacted>,
    /// Other source facts.
    pub attributes: Attributes,
}

/// Where a credential (or a copy of it) lives: a vault path, a Kubernetes secret, a CI variable,
/// a file and line at a commit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// Stable id.
    pub id: String,
    /// The credential stored there.
    pub credential_id: String,
    /// `vault`, `k8s-secret`, `ci-variable`, `file`…
    pub kind: String,
    /// Where exactly, e.g. `file:deploy/.env:3@a1b2c3d`.
    pub uri: String,
}

/// A workload, pipeline or supplier that uses a credential or identity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Consumer {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `workload`, `pipeline`, `supplier`…
    pub kind: String,
    /// What it uses (identity or credential id).
    pub uses: String,
}

/// Whether a policy statement allows or denies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Grants the actions.
    Allow,
    /// Takes them away; an explicit deny beats any allow.
    Deny,
}

impl Effect {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
        }
    }

    /// Parses the stored name (anything but `deny` is an allow).
    pub fn parse(s: &str) -> Effect {
        if s == "deny" {
            Effect::Deny
        } else {
            Effect::Allow
        }
    }
}

/// A permission held by an identity (or by a group whose members inherit it) on resources: one
/// statement of one policy, as the source states it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    /// Stable id: `<holder>#<via>#<statement index>`.
    pub id: String,
    /// The identity or group holding it (e.g. `aws:123456789012:group/deployers`).
    pub holder: String,
    /// The importer that reported it.
    pub source: String,
    /// See [`Identity::scope`].
    pub scope: String,
    /// Allow or deny.
    pub effect: Effect,
    /// How much the statement gives, on its own.
    pub privilege: Privilege,
    /// The actions (patterns), as the source states them; `NotAction` lists are in `attributes`.
    pub actions: Vec<String>,
    /// The resources (patterns) it reaches; `NotResource` lists are in `attributes`.
    pub resources: Vec<String>,
    /// Where it comes from: a managed policy ARN, `inline:<name>`, a role binding.
    pub via: String,
    /// Other facts: `not_actions`, `not_resources`, `conditions`, `lifecycle`.
    pub attributes: Attributes,
}

/// How critical a business service is, in NIS2 terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Criticality {
    /// Supports an essential service.
    Essential,
    /// Supports an important service.
    Important,
    /// Everything else.
    Other,
}

/// A business service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Service {
    /// `service:<name>`.
    pub id: String,
    /// Short name.
    pub name: String,
    /// NIS2 criticality.
    pub criticality: Criticality,
    /// What it is.
    pub description: Option<String>,
}

/// Whether a person is still with the organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonStatus {
    /// Still here.
    Active,
    /// Has left.
    Left,
}

/// A human owner or custodian.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Person {
    /// `person:<email>`.
    pub id: String,
    /// Full name.
    pub name: String,
    /// E-mail address (lower-cased).
    pub email: String,
    /// Team or department.
    pub team: Option<String>,
    /// Active or left.
    pub status: PersonStatus,
    /// When they left, if they did.
    pub left_at: Option<Timestamp>,
}

/// A third party that holds or uses credentials of the organisation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Supplier {
    /// `supplier:<name>`.
    pub id: String,
    /// Short name.
    pub name: String,
    /// Security / offboarding contact.
    pub contact: Option<String>,
}

/// A contract with a supplier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Contract {
    /// `contract:<id>`.
    pub id: String,
    /// The supplier's id.
    pub supplier_id: String,
    /// Start of the contract.
    pub start: Timestamp,
    /// End of the contract, if it has one.
    pub end: Option<Timestamp>,
    /// Notice period in days.
    pub notice_days: Option<u32>,
    /// Who to tell when access must end.
    pub offboarding_contact: Option<String>,
    /// Set when the contract was terminated early.
    pub terminated_at: Option<Timestamp>,
}

impl Contract {
    /// When the contract stops (termination beats the planned end).
    pub fn ends_at(&self) -> Option<Timestamp> {
        match (self.terminated_at, self.end) {
            (Some(t), Some(e)) => Some(t.min(e)),
            (t, e) => t.or(e),
        }
    }

    /// Whether the contract is in force at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.start <= now && self.ends_at().is_none_or(|end| now < end)
    }
}

/// A time-bound, approved deviation from a control.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exception {
    /// `exception:<id>`.
    pub id: String,
    /// The control excepted (e.g. `NHI-GOV-005`).
    pub control: String,
    /// The subject: an exact id or a glob over ids (`aws:*:user/legacy-*`).
    pub subject: String,
    /// Why the risk is accepted.
    pub justification: String,
    /// Compensating measures in place.
    pub compensating_controls: Vec<String>,
    /// Who approved it.
    pub approver: String,
    /// Who asked for it (must differ from the approver), when recorded.
    pub requested_by: Option<String>,
    /// When it was approved; when the file does not say, the day Castellan first saw it.
    pub granted_at: Option<Timestamp>,
    /// When it stops applying.
    pub expires_at: Timestamp,
}

/// Severity of a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Informational.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// All severities from lowest to highest.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses a name (case-insensitive).
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// State of a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    /// The control fails on the subject.
    Open,
    /// The control fails but an unexpired exception covers it.
    Excepted,
    /// The control used to fail and no longer does.
    Closed,
}

impl FindingStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::Open => "open",
            FindingStatus::Excepted => "excepted",
            FindingStatus::Closed => "closed",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> FindingStatus {
        match s {
            "excepted" => FindingStatus::Excepted,
            "closed" => FindingStatus::Closed,
            _ => FindingStatus::Open,
        }
    }
}

/// One control failing on one subject, with the reason an auditor can check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// `<control>@<subject>`.
    pub id: String,
    /// Control id, e.g. `NHI-GOV-005`.
    pub control: String,
    /// The identity or credential that fails.
    pub subject: String,
    /// Severity from the catalogue.
    pub severity: Severity,
    /// Open, excepted or closed.
    pub status: FindingStatus,
    /// One-line statement of what is wrong.
    pub title: String,
    /// The facts behind the verdict (dates, thresholds, ids).
    pub evidence: serde_json::Value,
    /// The exception that covers it, if any.
    pub exception: Option<String>,
    /// When it was first found.
    pub first_seen: Option<Timestamp>,
    /// When it was last confirmed.
    pub last_seen: Option<Timestamp>,
}

/// A lifecycle event of an identity or credential reported by a source (issuance, use,
/// privilege change, revocation, failed use).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Stable id (the source's event id when it has one).
    pub id: String,
    /// The importer that reported it.
    pub source: String,
    /// When it happened.
    pub at: Timestamp,
    /// `issued`, `used`, `privilege-changed`, `revoked`, `failed-use`, `human-use`.
    pub action: String,
    /// The identity concerned.
    pub identity_id: Option<String>,
    /// The credential concerned.
    pub credential_id: Option<String>,
    /// Who did it.
    pub actor: Option<String>,
    /// Other facts.
    pub attributes: Attributes,
}

/// The governance view of an identity, resolved from the governance file: who answers for it,
/// which business service it serves and which supplier holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    /// Accountable owner (`person:<email>`).
    pub owner: Option<String>,
    /// Custodian who operates it day to day (`person:<email>`).
    pub custodian: Option<String>,
    /// Business service (`service:<name>`).
    pub service: Option<String>,
    /// Supplier (`supplier:<name>`).
    pub supplier: Option<String>,
    /// The rules or assignments that produced this attribution, for explanation.
    pub via: Vec<String>,
}
