//! Google Cloud IAM: what `gcloud … --format=json` prints for the service accounts of a project,
//! their keys and the project's IAM policy, one output per file or the three bundled together.
//!
//! Accepted files (JSON; several documents one after the other are merged, so the key lists of
//! several service accounts may simply be concatenated):
//! - `gcloud iam service-accounts list --project P --format=json`: an array of ServiceAccount
//!   objects (also a single object, as `describe` prints it);
//! - `gcloud iam service-accounts keys list --iam-account EMAIL --format=json`: an array of
//!   ServiceAccountKey objects (the service account and project are read from each key's `name`);
//! - the **bundle** `{"projectId": "P", "serviceAccounts": […], "keys": […], "iamPolicy": {…}}`
//!   (optional `projectNumber` and `organizationDomains`), which is the only way to import
//!   `gcloud projects get-iam-policy P --format=json`: that output does not name its project.
//!   Privilege and lifecycle authority are derived within one file, so the bundle is what gives
//!   them; see `docs/sources/gcp.md` for the `jq` line that builds it.
//!
//! Yields:
//! - every service account as an identity `gcp:<project>:sa/<email>` (kind `gcp-service-account`),
//!   Google-created defaults and Google-managed service agents marked, with its privilege from
//!   the project policy (max over its bindings, and why), the members who may issue, rotate,
//!   revoke or use its keys, and which of those are outside the organisation (`external_trust`);
//! - every key as a credential `gcp:<project>:sa/<email>/key/<key id>` (kind
//!   `service-account-key`): validity, disabled state, Google's exposure / compromise detection,
//!   Google-rotated system keys, never-expiring keys;
//! - one grant per binding per service-account member (foreign service accounts included, marked
//!   `external_trust`).
//!
//! Private key material (`privateKeyData`, printed by `keys create`) is never read: only its
//! presence is noted.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use castellan_model::{
    Attributes, Credential, Effect, Grant, Identity, Privilege, Status, parse_ts,
};
use jiff::Timestamp;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::json_input::{decode, documents, line_at, offset_in, text_of};
use crate::{Records, SourceError, show_value};

/// The source name.
pub const SOURCE: &str = "gcp-iam";

/// Whether the first bytes of a file look like gcloud IAM output or a Castellan GCP bundle.
pub fn looks_like(head: &str) -> bool {
    let t = head.trim_start_matches('\u{feff}').trim_start();
    if !(t.starts_with('[') || t.starts_with('{')) {
        return false;
    }
    // Kubernetes objects (GKE annotations name service accounts too).
    if head.contains("\"apiVersion\"") && head.contains("\"kind\"") {
        return false;
    }
    let bundle = ["\"serviceAccounts\"", "\"iamPolicy\""]
        .iter()
        .any(|k| head.contains(k));
    let resource = head.contains("projects/")
        && head.contains("/serviceAccounts/")
        && head.contains("gserviceaccount.com");
    let policy =
        head.contains("\"bindings\"") && head.contains("\"members\"") && head.contains("\"roles/");
    bundle || resource || policy
}

// ---------------------------------------------------------------------------------------------
// The objects, as far as Castellan reads them.

/// An RFC 3339 timestamp, checked while deserialising.
#[derive(Clone, Copy, Debug)]
struct Ts(Timestamp);

impl<'de> Deserialize<'de> for Ts {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Ts, D::Error> {
        let s = String::deserialize(d)?;
        parse_ts(&s).map(Ts).map_err(|e| {
            serde::de::Error::custom(format!(
                "{} is not an RFC 3339 timestamp ({})",
                show_value(&s),
                e.reason
            ))
        })
    }
}

/// The end of a key's validity: `None` for year 9999, Google's "never expires" (beyond what a
/// timestamp holds).
#[derive(Clone, Copy, Debug)]
struct Until(Option<Timestamp>);

impl<'de> Deserialize<'de> for Until {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Until, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim().starts_with("9999-") {
            return Ok(Until(None));
        }
        parse_ts(&s).map(|t| Until(Some(t))).map_err(|e| {
            serde::de::Error::custom(format!(
                "{} is not an RFC 3339 timestamp ({})",
                show_value(&s),
                e.reason
            ))
        })
    }
}

/// A string or a number (a project number may be written either way).
#[derive(Clone, Debug)]
struct NumberText(String);

impl<'de> Deserialize<'de> for NumberText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<NumberText, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(NumberText(s)),
            Value::Number(n) => Ok(NumberText(n.to_string())),
            _ => Err(serde::de::Error::custom(
                "expected a project number (digits)",
            )),
        }
    }
}

/// A service account or a key: `gcloud` lists either, and the two share `name`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    name: Option<String>,
    // ServiceAccount
    project_id: Option<String>,
    unique_id: Option<String>,
    email: Option<String>,
    display_name: Option<String>,
    description: Option<String>,
    oauth2_client_id: Option<String>,
    disabled: Option<bool>,
    // ServiceAccountKey
    key_algorithm: Option<String>,
    key_origin: Option<String>,
    key_type: Option<String>,
    valid_after_time: Option<Ts>,
    valid_before_time: Option<Until>,
    disable_reason: Option<String>,
    extended_status: Option<Vec<ExtendedStatus>>,
    private_key_type: Option<String>,
    /// Only whether it is there: the value is never read.
    private_key_data: Option<IgnoredAny>,
    creator: Option<String>,
    contact: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ExtendedStatus {
    key: Option<String>,
    value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Policy {
    bindings: Option<Vec<Binding>>,
}

#[derive(Debug, Default, Deserialize)]
struct Binding {
    role: String,
    members: Option<Vec<String>>,
    condition: Option<Condition>,
}

#[derive(Clone, Debug, Default, Deserialize, serde::Serialize)]
struct Condition {
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expression: Option<String>,
}

/// A top-level object: the bundle, a policy, or one service account / key.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Top<'a> {
    project_id: Option<String>,
    project_number: Option<NumberText>,
    organization_domains: Option<Vec<String>>,
    #[serde(borrow)]
    service_accounts: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    keys: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    iam_policy: Option<&'a RawValue>,
    // A bare policy.
    bindings: Option<IgnoredAny>,
    version: Option<IgnoredAny>,
    // A bare service account or key.
    email: Option<IgnoredAny>,
    name: Option<IgnoredAny>,
}

// ---------------------------------------------------------------------------------------------
// Reading the file.

/// Everything the file holds, merged over its documents.
#[derive(Default)]
struct Input {
    project_id: Option<String>,
    project_number: Option<String>,
    organization_domains: Option<Vec<String>>,
    service_accounts: Vec<Entry>,
    keys: Vec<Entry>,
    policy: Option<Policy>,
    /// A bare `get-iam-policy` output was seen.
    bare_policy: bool,
}

fn is_key(e: &Entry) -> bool {
    e.name.as_deref().is_some_and(|n| n.contains("/keys/"))
}

fn read_input(path: &str, text: &str) -> Result<Input, SourceError> {
    let mut input = Input::default();
    for doc in documents(path, text).collect::<Result<Vec<_>, _>>()? {
        let body = doc.get();
        if body.starts_with('[') {
            let items: Vec<&RawValue> = decode(path, text, doc, "")?;
            for (i, item) in items.into_iter().enumerate() {
                push_entry(path, text, item, &format!("[{i}]"), &mut input, None)?;
            }
        } else if body.starts_with('{') {
            let top: Top<'_> = decode(path, text, doc, "")?;
            let is_bundle = top.service_accounts.is_some()
                || top.keys.is_some()
                || top.iam_policy.is_some()
                || top.project_id.is_some();
            if is_bundle {
                merge_opt(path, &mut input.project_id, top.project_id, "projectId")?;
                merge_opt(
                    path,
                    &mut input.project_number,
                    top.project_number.map(|n| n.0),
                    "projectNumber",
                )?;
                if let Some(d) = top.organization_domains {
                    input
                        .organization_domains
                        .get_or_insert_with(Vec::new)
                        .extend(d);
                }
                for (i, item) in top
                    .service_accounts
                    .unwrap_or_default()
                    .into_iter()
                    .enumerate()
                {
                    let field = format!("serviceAccounts[{i}]");
                    push_entry(path, text, item, &field, &mut input, Some(false))?;
                }
                for (i, item) in top.keys.unwrap_or_default().into_iter().enumerate() {
                    let field = format!("keys[{i}]");
                    push_entry(path, text, item, &field, &mut input, Some(true))?;
                }
                if let Some(p) = top.iam_policy {
                    set_policy(path, &mut input, decode(path, text, p, "iamPolicy")?)?;
                }
            } else if top.bindings.is_some() || top.version.is_some() {
                set_policy(path, &mut input, decode(path, text, doc, "")?)?;
                input.bare_policy = true;
            } else if top.email.is_some() || top.name.is_some() {
                push_entry(path, text, doc, "", &mut input, None)?;
            } else {
                return Err(SourceError::File {
                    path: path.into(),
                    message: "holds a JSON object that is neither a service account, a key, an IAM policy nor a Castellan GCP bundle (serviceAccounts / keys / iamPolicy)".into(),
                });
            }
        } else {
            return Err(SourceError::Line {
                path: path.into(),
                line: line_at(text.as_bytes(), offset_in(text, body)),
                message: "expected a JSON array or object (gcloud --format=json output)".into(),
            });
        }
    }
    Ok(input)
}

fn merge_opt(
    path: &str,
    slot: &mut Option<String>,
    v: Option<String>,
    field: &str,
) -> Result<(), SourceError> {
    match (slot.as_ref(), v) {
        (_, None) => Ok(()),
        (None, Some(v)) => {
            *slot = Some(v);
            Ok(())
        }
        (Some(a), Some(b)) if *a == b => Ok(()),
        (Some(a), Some(b)) => Err(SourceError::File {
            path: path.into(),
            message: format!(
                "`{field}` is {} in one document and {} in another; bundle one project per file",
                show_value(a),
                show_value(&b)
            ),
        }),
    }
}

fn set_policy(path: &str, input: &mut Input, p: Policy) -> Result<(), SourceError> {
    if input.policy.is_some() {
        return Err(SourceError::File {
            path: path.into(),
            message: "holds more than one IAM policy; bundle one project per file".into(),
        });
    }
    input.policy = Some(p);
    Ok(())
}

/// Decodes one service account or key; `want_key` is what a bundle list says it holds.
fn push_entry(
    path: &str,
    text: &str,
    raw: &RawValue,
    field: &str,
    input: &mut Input,
    want_key: Option<bool>,
) -> Result<(), SourceError> {
    let line = || line_at(text.as_bytes(), offset_in(text, raw.get()));
    if !raw.get().starts_with('{') {
        return Err(SourceError::Field {
            path: path.into(),
            line: line(),
            field: if field.is_empty() {
                ".".into()
            } else {
                field.into()
            },
            message: "is not an object; expected a service account or a service account key".into(),
        });
    }
    let e: Entry = decode(path, text, raw, field)?;
    let key = is_key(&e);
    let bad = |message: &str| SourceError::Field {
        path: path.into(),
        line: line(),
        field: if field.is_empty() {
            ".".into()
        } else {
            field.into()
        },
        message: message.into(),
    };
    match want_key {
        Some(true) if !key => {
            return Err(bad(
                "is not a service account key (its `name` must be projects/P/serviceAccounts/SA/keys/KEY)",
            ));
        }
        Some(false) if key => return Err(bad("is a key, not a service account")),
        _ => {}
    }
    if key {
        input.keys.push(e);
    } else if e.email.is_some()
        || e.name
            .as_deref()
            .is_some_and(|n| n.contains("/serviceAccounts/"))
    {
        input.service_accounts.push(e);
    } else {
        return Err(bad(
            "is neither a service account (no `email`) nor a key (no `name` …/keys/…)",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Service accounts, members and projects.

const CONSUMER_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "yahoo.com",
    "icloud.com",
    "proton.me",
    "protonmail.com",
];

/// Google-managed service agents: they live in Google's projects and act for this one.
fn is_service_agent(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    domain.starts_with("gcp-sa-")
        || matches!(
            domain,
            "cloudservices.gserviceaccount.com"
                | "cloudbuild.gserviceaccount.com"
                | "container-engine-robot.iam.gserviceaccount.com"
                | "compute-system.iam.gserviceaccount.com"
                | "containerregistry.iam.gserviceaccount.com"
                | "serverless-robot-prod.iam.gserviceaccount.com"
                | "dataflow-service-producer-prod.iam.gserviceaccount.com"
                | "dataproc-accounts.iam.gserviceaccount.com"
                | "cloudcomposer-accounts.iam.gserviceaccount.com"
                | "gs-project-accounts.iam.gserviceaccount.com"
                | "gcf-admin-robot.iam.gserviceaccount.com"
                | "firebase-rules.iam.gserviceaccount.com"
        )
        || (local
            .strip_prefix("service-")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            && domain.ends_with("gserviceaccount.com"))
}

/// The project number in a service agent's or default account's address, if any.
fn number_in(email: &str) -> Option<&str> {
    let (local, _) = email.split_once('@')?;
    let n = local
        .strip_prefix("service-")
        .or_else(|| local.strip_suffix("-compute"))
        .unwrap_or(local);
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(n)
}

/// `compute` / `app-engine` for the default accounts Google creates in a project.
fn default_account(email: &str) -> Option<&'static str> {
    let (local, domain) = email.split_once('@')?;
    match domain {
        "developer.gserviceaccount.com" if local.ends_with("-compute") => Some("compute"),
        "appspot.gserviceaccount.com" => Some("app-engine"),
        _ => None,
    }
}

/// The project a service account address names (`sa@P.iam.gserviceaccount.com`, `P@appspot…`).
fn project_in(email: &str) -> Option<&str> {
    let (local, domain) = email.split_once('@')?;
    if is_service_agent(email) {
        return None;
    }
    if let Some(p) = domain.strip_suffix(".iam.gserviceaccount.com") {
        return Some(p);
    }
    (domain == "appspot.gserviceaccount.com").then_some(local)
}

fn domain_of(email: &str) -> &str {
    email.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
}

fn sa_id(project: &str, email: &str) -> String {
    format!("gcp:{project}:sa/{email}")
}

/// What the importer knows about the project whose policy it reads.
struct Project<'a> {
    id: &'a str,
    number: Option<&'a str>,
    domains: &'a BTreeSet<String>,
    own_sas: &'a BTreeSet<String>,
}

/// One IAM policy member, read.
enum Member<'a> {
    /// A service account: its identity id (when it is one Castellan names) and whether it is a
    /// Google-managed service agent.
    ServiceAccount {
        email: &'a str,
        id: String,
        agent: bool,
    },
    Other {
        id: String,
    },
    Deleted,
}

fn read_member<'a>(m: &'a str, p: &Project<'_>) -> Member<'a> {
    if m.starts_with("deleted:") {
        return Member::Deleted;
    }
    if let Some(email) = m.strip_prefix("serviceAccount:") {
        let agent = is_service_agent(email);
        let id = if agent {
            format!("gcp:service-agent:{email}")
        } else if p.own_sas.contains(email) {
            sa_id(p.id, email)
        } else if let Some(proj) = project_in(email) {
            sa_id(proj, email)
        } else if default_account(email) == Some("compute") {
            match (number_in(email), p.number) {
                (Some(n), Some(ours)) if n != ours => sa_id(&format!("project-number-{n}"), email),
                _ => sa_id(p.id, email),
            }
        } else {
            format!("gcp:external-sa:{email}")
        };
        return Member::ServiceAccount { email, id, agent };
    }
    let id = match m.split_once(':') {
        Some((kind @ ("user" | "group" | "domain"), v)) => format!("gcp:{kind}/{v}"),
        Some((_, _)) if m.starts_with("principal") => format!("gcp:{m}"),
        Some((kind, v)) => format!("gcp:{kind}/{v}"),
        None => format!("gcp:{m}"),
    };
    Member::Other { id }
}

/// Why a member is outside the organisation, if it is.
fn external_reason(m: &str, p: &Project<'_>) -> Option<String> {
    let (kind, v) = m.split_once(':').unwrap_or((m, ""));
    match kind {
        "allUsers" => Some("anyone on the internet (allUsers)".into()),
        "allAuthenticatedUsers" => Some("any Google account (allAuthenticatedUsers)".into()),
        "principal" | "principalSet" => Some(format!(
            "identities federated from outside Google Cloud ({m})"
        )),
        "serviceAccount" => {
            if is_service_agent(v) {
                return match (number_in(v), p.number) {
                    (Some(n), Some(ours)) if n != ours => Some(format!(
                        "Google service agent of another project (number {n})"
                    )),
                    _ => None,
                };
            }
            if p.own_sas.contains(v) {
                return None;
            }
            if let Some(proj) = project_in(v) {
                return (proj != p.id)
                    .then(|| format!("service account of another project ({proj})"));
            }
            if default_account(v) == Some("compute") {
                return match (number_in(v), p.number) {
                    (Some(n), Some(ours)) if n != ours => Some(format!(
                        "default service account of another project (number {n})"
                    )),
                    _ => None,
                };
            }
            Some("service account outside the project".into())
        }
        "user" | "group" => {
            let d = domain_of(v).to_ascii_lowercase();
            if CONSUMER_DOMAINS.contains(&d.as_str()) {
                Some(format!("personal account outside the organisation ({d})"))
            } else if !p.domains.is_empty() && !in_domains(&d, p.domains) {
                Some(format!("{kind} outside the organisation's domains ({d})"))
            } else {
                None
            }
        }
        "domain" => (!p.domains.is_empty() && !in_domains(&v.to_ascii_lowercase(), p.domains))
            .then(|| format!("a whole domain outside the organisation ({v})")),
        _ => None,
    }
}

fn in_domains(d: &str, domains: &BTreeSet<String>) -> bool {
    domains
        .iter()
        .any(|o| d == o || d.ends_with(&format!(".{o}")))
}

/// The organisation's domains: as given, else the `domain:` members, else the most common
/// domain of `user:` / `group:` members (personal mail domains aside).
fn organisation_domains(
    given: Option<&[String]>,
    policy: &Policy,
) -> (BTreeSet<String>, &'static str) {
    if let Some(g) = given.filter(|g| !g.is_empty()) {
        return (
            g.iter().map(|d| d.trim().to_ascii_lowercase()).collect(),
            "organizationDomains",
        );
    }
    let members = policy
        .bindings
        .iter()
        .flatten()
        .flat_map(|b| b.members.iter().flatten());
    let mut domains = BTreeSet::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for m in members {
        if let Some(d) = m.strip_prefix("domain:") {
            domains.insert(d.to_ascii_lowercase());
        } else if let Some(e) = m.strip_prefix("user:").or_else(|| m.strip_prefix("group:")) {
            let d = domain_of(e).to_ascii_lowercase();
            if !d.is_empty() && !CONSUMER_DOMAINS.contains(&d.as_str()) {
                *counts.entry(d).or_default() += 1;
            }
        }
    }
    if !domains.is_empty() {
        return (domains, "domain: members of the policy");
    }
    match counts.iter().max_by_key(|(_, n)| **n) {
        Some((d, _)) => (
            std::iter::once(d.clone()).collect(),
            "most common domain of the policy's users and groups",
        ),
        None => (BTreeSet::new(), "none known"),
    }
}

// ---------------------------------------------------------------------------------------------
// Roles.

/// The privilege a predefined or custom role gives on the project, why when notable, and
/// whether it is broad (basic roles).
fn role_privilege(role: &str) -> (Privilege, Option<String>, bool) {
    let escalation: &[(&str, &str)] = &[
        (
            "roles/resourcemanager.projectIamAdmin",
            "may change the project's IAM policy and so grant itself any role",
        ),
        (
            "roles/iam.securityAdmin",
            "may change IAM policies in the project and so grant itself any role",
        ),
        (
            "roles/iam.serviceAccountTokenCreator",
            "may mint access tokens for every service account of the project",
        ),
        (
            "roles/iam.serviceAccountKeyAdmin",
            "may create keys for every service account of the project",
        ),
        (
            "roles/iam.serviceAccountAdmin",
            "may change the IAM policy of every service account of the project and so act as any of them",
        ),
        (
            "roles/iam.roleAdmin",
            "may change the permissions of the project's custom roles",
        ),
        (
            "roles/iam.workloadIdentityPoolAdmin",
            "may federate outside identities into the project",
        ),
        (
            "roles/resourcemanager.organizationAdmin",
            "administers the organisation's IAM",
        ),
        (
            "roles/resourcemanager.folderAdmin",
            "administers the folder's IAM",
        ),
        (
            "roles/resourcemanager.folderIamAdmin",
            "may change the folder's IAM policy",
        ),
    ];
    match role {
        "roles/owner" => {
            return (
                Privilege::Admin,
                Some("project owner (roles/owner)".into()),
                true,
            );
        }
        "roles/editor" => {
            return (
                Privilege::Write,
                Some("may change almost every resource of the project (roles/editor)".into()),
                true,
            );
        }
        "roles/viewer" | "roles/browser" => return (Privilege::Read, None, true),
        _ => {}
    }
    if let Some((_, why)) = escalation.iter().find(|(r, _)| *r == role) {
        return (Privilege::Admin, Some(format!("{why} ({role})")), false);
    }
    if role == "roles/iam.serviceAccountUser" {
        return (
            Privilege::Write,
            Some("may run workloads as every service account of the project (roles/iam.serviceAccountUser)".into()),
            false,
        );
    }
    let Some(name) = role.strip_prefix("roles/") else {
        return (
            Privilege::Unknown,
            Some(format!(
                "custom role {role}: its permissions are not in the export"
            )),
            false,
        );
    };
    let lower = name.to_ascii_lowercase();
    // The role within its service: `compute.instanceAdmin.v1` → `instanceadmin.v1`.
    let last = lower.split_once('.').map(|(_, r)| r).unwrap_or(&lower);
    if lower.starts_with("iam.") && last.contains("admin") {
        return (
            Privilege::Admin,
            Some(format!("administers IAM ({role})")),
            false,
        );
    }
    if last.contains("admin") {
        return (Privilege::Write, None, false);
    }
    const READ: &[&str] = &[
        "viewer", "reader", "browser", "accessor", "lister", "getter",
    ];
    const WRITE: &[&str] = &[
        "editor",
        "writer",
        "creator",
        "developer",
        "user",
        "invoker",
        "publisher",
        "subscriber",
        "client",
        "operator",
        "deployer",
        "updater",
        "manager",
        "serviceagent",
        "agent",
    ];
    if READ.iter().any(|k| last.contains(k)) {
        (Privilege::Read, None, false)
    } else if WRITE.iter().any(|k| last.contains(k)) {
        (Privilege::Write, None, false)
    } else {
        (
            Privilege::Unknown,
            Some(format!("role {role} is not classified by Castellan")),
            false,
        )
    }
}

/// What a project-level role lets its members do to the keys of every service account of the
/// project.
fn role_lifecycle(role: &str) -> &'static [&'static str] {
    match role {
        "roles/owner"
        | "roles/editor"
        | "roles/resourcemanager.projectIamAdmin"
        | "roles/iam.securityAdmin" => &["issue", "rotate", "revoke", "use"],
        "roles/iam.serviceAccountKeyAdmin" | "roles/iam.serviceAccountAdmin" => {
            &["issue", "rotate", "revoke"]
        }
        "roles/iam.serviceAccountTokenCreator"
        | "roles/iam.serviceAccountUser"
        | "roles/iam.workloadIdentityUser" => &["use"],
        _ => &[],
    }
}

const LIFECYCLE_NOTE: &str = "from the project IAM policy only: bindings on the service account itself, on folders and on the organisation may grant more; owners, editors and IAM admins may also grant themselves the missing steps";

// ---------------------------------------------------------------------------------------------
// The import.

fn split_key_name(name: &str) -> Option<(&str, &str, &str)> {
    let rest = name.strip_prefix("projects/")?;
    let (project, rest) = rest.split_once("/serviceAccounts/")?;
    let (sa, key) = rest.rsplit_once("/keys/")?;
    (!project.is_empty() && !sa.is_empty() && !key.is_empty() && !key.contains('/'))
        .then_some((project, sa, key))
}

fn split_sa_name(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix("projects/")?;
    let (project, sa) = rest.split_once("/serviceAccounts/")?;
    (!project.is_empty() && !sa.is_empty() && !sa.contains('/')).then_some((project, sa))
}

/// A service account as imported.
struct Sa {
    project: String,
    email: String,
    id: String,
    entry: Entry,
}

/// One binding of a member, resolved.
struct Bound<'a> {
    index: usize,
    role: &'a str,
    member: &'a str,
    condition: Option<&'a Condition>,
}

/// Parses gcloud IAM output (service accounts, keys, or the bundle with the IAM policy).
pub fn parse(path: &str, bytes: &[u8]) -> Result<Records, SourceError> {
    let text = text_of(
        path,
        bytes,
        "gcloud output is JSON (use --format=json)",
        "`gcloud iam service-accounts list --format=json` output or a Castellan GCP bundle",
    )?;
    let input = read_input(path, text)?;
    if input.service_accounts.is_empty() && input.keys.is_empty() && input.policy.is_none() {
        // An empty `keys list` or `service-accounts list` prints `[]`.
        return Ok(Records::default());
    }

    // Service accounts.
    let mut sas: Vec<Sa> = Vec::new();
    let mut by_unique: HashMap<String, String> = HashMap::new();
    for e in input.service_accounts {
        let from_name = e.name.as_deref().and_then(split_sa_name);
        let email = e
            .email
            .clone()
            .or_else(|| from_name.map(|(_, sa)| sa.to_string()))
            .filter(|x| x.contains('@'))
            .ok_or_else(|| SourceError::File {
                path: path.into(),
                message: format!(
                    "service account {} has no `email`",
                    show_value(e.name.as_deref().unwrap_or("(unnamed)"))
                ),
            })?;
        let project = e
            .project_id
            .clone()
            .or_else(|| from_name.map(|(p, _)| p.to_string()).filter(|p| p != "-"))
            .or_else(|| project_in(&email).map(str::to_string))
            .or_else(|| input.project_id.clone())
            .ok_or_else(|| SourceError::File {
                path: path.into(),
                message: format!("service account {email}: no `projectId`"),
            })?;
        if let Some(u) = &e.unique_id {
            by_unique.insert(u.clone(), email.clone());
        }
        sas.push(Sa {
            id: sa_id(&project, &email),
            project,
            email,
            entry: e,
        });
    }

    // The project of the policy, and its number.
    let projects: BTreeSet<&str> = sas.iter().map(|s| s.project.as_str()).collect();
    let policy_project: Option<String> = match (&input.project_id, &input.policy) {
        (Some(p), _) => Some(p.clone()),
        (None, None) => None,
        (None, Some(_)) if projects.len() == 1 && !input.bare_policy => {
            projects.iter().next().map(|p| p.to_string())
        }
        (None, Some(_)) => {
            return Err(SourceError::File {
                path: path.into(),
                message: "holds an IAM policy but does not say of which project: `gcloud projects get-iam-policy` output does not name it; bundle it as {\"projectId\": \"P\", \"iamPolicy\": …} (see docs/sources/gcp.md)".into(),
            });
        }
    };
    let project_number = input.project_number.clone().or_else(|| {
        sas.iter()
            .filter(|s| Some(&s.project) == policy_project.as_ref())
            .filter(|s| default_account(&s.email) == Some("compute"))
            .find_map(|s| number_in(&s.email).map(str::to_string))
    });

    // Keys.
    struct Key {
        project: String,
        email: String,
        key_id: String,
        entry: Entry,
    }
    let mut keys: Vec<Key> = Vec::new();
    for e in input.keys {
        let name = e.name.clone().unwrap_or_default();
        let Some((p, sa, key_id)) = split_key_name(&name) else {
            return Err(SourceError::File {
                path: path.into(),
                message: format!(
                    "key {}: `name` is not projects/P/serviceAccounts/SA/keys/KEY",
                    show_value(&name)
                ),
            });
        };
        let email = if sa.contains('@') {
            sa.to_string()
        } else {
            by_unique.get(sa).cloned().unwrap_or_else(|| sa.to_string())
        };
        let project = if p != "-" {
            p.to_string()
        } else if let Some(s) = sas.iter().find(|s| s.email == email) {
            s.project.clone()
        } else if let Some(x) = project_in(&email) {
            x.to_string()
        } else if let Some(x) = &input.project_id {
            x.clone()
        } else {
            return Err(SourceError::File {
                path: path.into(),
                message: format!(
                    "key {key_id}: `name` uses the `-` project wildcard and the service account does not name its project; add \"projectId\" to the bundle"
                ),
            });
        };
        keys.push(Key {
            project,
            email,
            key_id: key_id.to_string(),
            entry: e,
        });
    }
    // The export was made after the newest key became valid: any key whose validity ended
    // before that is provably expired.
    let as_of: Option<Timestamp> = keys
        .iter()
        .filter_map(|k| k.entry.valid_after_time.map(|t| t.0))
        .max();

    let mut records = Records::default();

    // The policy: grants, privilege and lifecycle authority.
    let own_sas: BTreeSet<String> = sas
        .iter()
        .filter(|s| Some(&s.project) == policy_project.as_ref())
        .map(|s| s.email.clone())
        .collect();
    let mut best: HashMap<String, (Privilege, Option<String>, bool)> = HashMap::new();
    // principal id → (member, can, via, external reason)
    type Authority = BTreeMap<
        String,
        (
            String,
            BTreeSet<&'static str>,
            BTreeSet<String>,
            Option<String>,
        ),
    >;
    let mut authority: Authority = BTreeMap::new();
    let mut domains_used: Option<(BTreeSet<String>, &'static str)> = None;
    if let (Some(policy), Some(pid)) = (&input.policy, policy_project.as_deref()) {
        let (domains, domains_source) =
            organisation_domains(input.organization_domains.as_deref(), policy);
        let proj = Project {
            id: pid,
            number: project_number.as_deref(),
            domains: &domains,
            own_sas: &own_sas,
        };
        let scope = format!("gcp:{pid}:iam-policy");
        let mut bound: Vec<Bound<'_>> = Vec::new();
        for (index, b) in policy.bindings.iter().flatten().enumerate() {
            for m in b.members.iter().flatten() {
                bound.push(Bound {
                    index,
                    role: &b.role,
                    member: m,
                    condition: b.condition.as_ref(),
                });
            }
        }
        for b in &bound {
            let member = read_member(b.member, &proj);
            let external = external_reason(b.member, &proj);
            let principal = match &member {
                Member::Deleted => continue,
                Member::ServiceAccount { id, .. } | Member::Other { id } => id.clone(),
            };
            let can = role_lifecycle(b.role);
            if !can.is_empty() {
                let via = match b.condition.and_then(|c| c.title.as_deref()) {
                    Some(t) => format!("{} on projects/{pid} (if {t})", b.role),
                    None => format!("{} on projects/{pid}", b.role),
                };
                let e = authority.entry(principal.clone()).or_insert_with(|| {
                    (
                        b.member.to_string(),
                        BTreeSet::new(),
                        BTreeSet::new(),
                        external.clone(),
                    )
                });
                e.1.extend(can.iter().copied());
                e.2.insert(via);
            }
            let Member::ServiceAccount { email, agent, .. } = member else {
                continue;
            };
            if agent {
                continue;
            }
            let (privilege, reason, broad) = role_privilege(b.role);
            let via = format!("projects/{pid} IAM policy → {}", b.role);
            let mut attributes = Attributes::new();
            attributes.insert("role".into(), json!(b.role));
            attributes.insert("member".into(), json!(b.member));
            if broad {
                attributes.insert("broad".into(), json!(true));
            }
            if let Some(r) = &reason {
                attributes.insert("privilege_reason".into(), json!(r));
            }
            if let Some(c) = b.condition {
                attributes.insert("condition".into(), json!(c));
            }
            if !can.is_empty() {
                attributes.insert("lifecycle".into(), json!(can));
            }
            if let Some(x) = &external {
                attributes.insert(
                    "external_trust".into(),
                    json!({ "member": b.member, "reason": x }),
                );
            }
            if !own_sas.contains(email) {
                attributes.insert("holder_in_export".into(), json!(false));
            }
            let entry = best
                .entry(principal.clone())
                .or_insert((Privilege::None, None, false));
            if privilege == Privilege::Unknown {
                entry.2 = true;
            }
            if privilege.rank() > entry.0.rank() {
                let why = reason
                    .clone()
                    .unwrap_or_else(|| format!("{} on projects/{pid}", b.role));
                let why = match b.condition.and_then(|c| c.title.as_deref()) {
                    Some(t) => format!("{why} (conditional: {t})"),
                    None => why,
                };
                entry.0 = privilege;
                entry.1 = Some(why);
            }
            records.grants.push(Grant {
                id: format!("{principal}#{via}#{}", b.index),
                holder: principal,
                source: SOURCE.into(),
                scope: scope.clone(),
                effect: Effect::Allow,
                privilege,
                actions: vec![b.role.to_string()],
                resources: vec![format!("projects/{pid}")],
                via,
                attributes,
            });
        }
        domains_used = Some((domains, domains_source));
    }
    let policy_known = input.policy.is_some();
    let authority_value = |system_managed: bool| -> Option<Value> {
        if !policy_known {
            return None;
        }
        let mut principals: Vec<Value> = Vec::new();
        if system_managed {
            principals.push(json!({
                "principal": "gcp:google",
                "can": ["issue", "rotate", "revoke"],
                "via": ["system-managed key: Google creates and rotates it"],
            }));
        }
        for (p, (member, can, via, external)) in &authority {
            let can: Vec<&str> = if system_managed {
                can.iter().copied().filter(|c| *c == "use").collect()
            } else {
                can.iter().copied().collect()
            };
            if can.is_empty() {
                continue;
            }
            let mut v = json!({ "principal": p, "member": member, "can": can, "via": via });
            if let Some(x) = external {
                v["external"] = json!(x);
            }
            principals.push(v);
        }
        Some(json!({ "principals": principals, "note": LIFECYCLE_NOTE }))
    };
    let external_trust: Vec<Value> = authority
        .iter()
        .filter_map(|(p, (member, can, _, external))| {
            external
                .as_ref()
                .map(|x| json!({ "principal": p, "member": member, "can": can, "reason": x }))
        })
        .collect();

    // Keys → credentials.
    let mut keys_of: HashMap<String, Vec<(String, bool, bool)>> = HashMap::new();
    let mut seen_keys = BTreeSet::new();
    for k in &keys {
        let e = &k.entry;
        let identity = sa_id(&k.project, &k.email);
        let id = format!("{identity}/key/{}", k.key_id);
        if !seen_keys.insert(id.clone()) {
            continue;
        }
        let system = e.key_type.as_deref() == Some("SYSTEM_MANAGED");
        let after = e.valid_after_time.map(|t| t.0);
        let never_expires = e.valid_before_time.is_some_and(|t| t.0.is_none());
        let expires_at = e.valid_before_time.and_then(|t| t.0);
        let mut attributes = Attributes::new();
        attributes.insert("key_id".into(), json!(k.key_id));
        attributes.insert("service_account".into(), json!(k.email));
        for (name, v) in [
            ("key_algorithm", &e.key_algorithm),
            ("key_origin", &e.key_origin),
            ("key_type", &e.key_type),
            ("private_key_type", &e.private_key_type),
            ("creator", &e.creator),
            ("contact", &e.contact),
        ] {
            if let Some(v) = v {
                attributes.insert(name.into(), json!(v));
            }
        }
        if system {
            attributes.insert("managed_by".into(), json!("google"));
            attributes.insert("rotation".into(), json!("google-managed"));
        }
        if never_expires {
            attributes.insert("never_expires".into(), json!(true));
        }
        if let Some(r) = &e.disable_reason {
            attributes.insert("disable_reason".into(), json!(r));
        }
        let statuses: Vec<(&str, Option<&str>)> = e
            .extended_status
            .iter()
            .flatten()
            .filter_map(|s| s.key.as_deref().map(|k| (k, s.value.as_deref())))
            .collect();
        if !statuses.is_empty() {
            attributes.insert(
                "extended_status".into(),
                json!(
                    statuses
                        .iter()
                        .map(|(k, v)| json!({ "key": k, "value": v }))
                        .collect::<Vec<_>>()
                ),
            );
        }
        let reason = e.disable_reason.as_deref().unwrap_or("");
        let exposed = reason.ends_with("_EXPOSED")
            || reason.ends_with("_COMPROMISE_DETECTED")
            || statuses
                .iter()
                .any(|(k, _)| k.ends_with("_KEY_EXPOSED") || k.ends_with("_COMPROMISE_DETECTED"));
        let compromised = reason.ends_with("_COMPROMISE_DETECTED")
            || statuses
                .iter()
                .any(|(k, _)| k.ends_with("_COMPROMISE_DETECTED"));
        if exposed {
            attributes.insert("exposed".into(), json!(true));
            let why: Vec<&str> =
                std::iter::once(reason)
                    .filter(|r| r.ends_with("_EXPOSED") || r.ends_with("_COMPROMISE_DETECTED"))
                    .chain(statuses.iter().map(|(k, _)| *k).filter(|k| {
                        k.ends_with("_KEY_EXPOSED") || k.ends_with("_COMPROMISE_DETECTED")
                    }))
                    .collect();
            attributes.insert(
                "exposure".into(),
                json!({
                    "detected_by": "google",
                    "reason": why,
                    "disabled": e.disabled.unwrap_or(false),
                }),
            );
        }
        if compromised {
            attributes.insert("compromised".into(), json!(true));
        }
        if e.private_key_data.is_some() {
            attributes.insert("private_key_in_export".into(), json!(true));
        }
        if let Some(a) = authority_value(system) {
            attributes.insert("lifecycle_authority".into(), a);
        }
        if policy_known && !external_trust.is_empty() && Some(&k.project) == policy_project.as_ref()
        {
            attributes.insert("external_trust".into(), json!(external_trust));
        }
        let disabled = e.disabled.unwrap_or(false);
        let status = if disabled {
            Status::Inactive
        } else if matches!((expires_at, as_of), (Some(x), Some(now)) if x <= now) {
            Status::Expired
        } else {
            Status::Active
        };
        keys_of.entry(identity.clone()).or_default().push((
            id.clone(),
            system,
            exposed && status == Status::Active,
        ));
        records.credentials.push(Credential {
            id,
            identity_id: Some(identity),
            kind: "service-account-key".into(),
            source: SOURCE.into(),
            scope: format!("gcp:{}", k.project),
            name: format!(
                "{} key {} of {}",
                if system {
                    "system-managed"
                } else {
                    "user-managed"
                },
                k.key_id,
                k.email
            ),
            status,
            created_at: after,
            last_rotated_at: after,
            last_used_at: None,
            ever_used: None,
            expires_at,
            fingerprint: None,
            preview: None,
            attributes,
        });
    }

    // Service accounts → identities.
    let mut seen = BTreeSet::new();
    for s in &sas {
        if !seen.insert(s.id.clone()) {
            continue;
        }
        let e = &s.entry;
        let mut attributes = Attributes::new();
        attributes.insert("email".into(), json!(s.email));
        attributes.insert("project".into(), json!(s.project));
        for (name, v) in [
            ("unique_id", &e.unique_id),
            ("oauth2_client_id", &e.oauth2_client_id),
            ("display_name", &e.display_name),
            ("description", &e.description),
        ] {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                attributes.insert(name.into(), json!(v));
            }
        }
        if let Some(d) = default_account(&s.email) {
            attributes.insert("default_service_account".into(), json!(d));
            attributes.insert("created_by".into(), json!("google"));
        }
        if is_service_agent(&s.email) {
            attributes.insert("managed_by".into(), json!("google"));
            attributes.insert("service_agent".into(), json!(true));
        }
        let own_policy = Some(&s.project) == policy_project.as_ref() && policy_known;
        let privilege = if own_policy {
            match best.get(&s.id) {
                Some((p, reason, incomplete)) => {
                    if let Some(r) = reason {
                        attributes.insert("privilege_reason".into(), json!(r));
                    }
                    if *incomplete {
                        attributes.insert("privilege_incomplete".into(), json!(true));
                    }
                    *p
                }
                None => {
                    attributes.insert(
                        "privilege_reason".into(),
                        json!("no binding in the project IAM policy (folder, organisation and resource policies were not imported)"),
                    );
                    Privilege::None
                }
            }
        } else {
            attributes.insert(
                "privilege_reason".into(),
                json!("no IAM policy of the project in this file: bundle `gcloud projects get-iam-policy` with the service accounts"),
            );
            Privilege::Unknown
        };
        if own_policy {
            if let Some(a) = authority_value(false) {
                attributes.insert("lifecycle_authority".into(), a);
            }
            if !external_trust.is_empty() {
                attributes.insert("external_trust".into(), json!(external_trust));
            }
            if let Some((d, how)) = &domains_used {
                attributes.insert(
                    "organization_domains".into(),
                    json!({ "domains": d, "from": how }),
                );
            }
        }
        if let Some(ks) = keys_of.get(&s.id) {
            let user: Vec<&String> = ks.iter().filter(|k| !k.1).map(|k| &k.0).collect();
            attributes.insert("user_managed_keys".into(), json!(user));
            let exposed: Vec<&String> = ks.iter().filter(|k| k.2).map(|k| &k.0).collect();
            if !exposed.is_empty() {
                attributes.insert("exposed_keys".into(), json!(exposed));
            }
        }
        records.identities.push(Identity {
            id: s.id.clone(),
            kind: "gcp-service-account".into(),
            source: SOURCE.into(),
            scope: format!("gcp:{}", s.project),
            name: s.email.clone(),
            account: Some(s.project.clone()),
            status: if e.disabled.unwrap_or(false) {
                Status::Inactive
            } else {
                Status::Active
            },
            privilege,
            created_at: None,
            last_used_at: None,
            tags: BTreeMap::new(),
            attributes,
        });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUNDLE: &[u8] =
        include_bytes!("../../castellan/tests/fixtures/gcp/acme-prod-bundle.json");
    const SAS: &[u8] = include_bytes!("../../castellan/tests/fixtures/gcp/service-accounts.json");
    const KEYS: &[u8] = include_bytes!("../../castellan/tests/fixtures/gcp/keys-ci-deployer.json");
    const POLICY: &[u8] = include_bytes!("../../castellan/tests/fixtures/gcp/iam-policy.json");

    fn bundle() -> Records {
        parse("acme-prod-bundle.json", BUNDLE).expect("bundle parses")
    }

    fn identity<'a>(r: &'a Records, email: &str) -> &'a Identity {
        let id = format!("gcp:acme-prod:sa/{email}");
        r.identities
            .iter()
            .find(|i| i.id == id)
            .unwrap_or_else(|| panic!("no {id}"))
    }

    fn key<'a>(r: &'a Records, suffix: &str) -> &'a Credential {
        r.credentials
            .iter()
            .find(|c| c.id.ends_with(suffix))
            .unwrap_or_else(|| panic!("no key {suffix}"))
    }

    fn ts(s: &str) -> Option<Timestamp> {
        Some(parse_ts(s).expect("ts"))
    }

    #[test]
    fn service_accounts_are_identities() {
        let r = bundle();
        assert_eq!(r.identities.len(), 6);
        let ci = identity(&r, "ci-deployer@acme-prod.iam.gserviceaccount.com");
        assert_eq!(ci.kind, "gcp-service-account");
        assert_eq!(ci.source, "gcp-iam");
        assert_eq!(ci.scope, "gcp:acme-prod");
        assert_eq!(ci.account.as_deref(), Some("acme-prod"));
        assert_eq!(ci.status, Status::Active);
        assert_eq!(ci.attributes["unique_id"], "104729316485520913377");
        assert_eq!(ci.attributes["display_name"], "CI deployer");
        let legacy = identity(&r, "legacy-etl@acme-prod.iam.gserviceaccount.com");
        assert_eq!(legacy.status, Status::Inactive, "disabled account");
        let compute = identity(&r, "482915730164-compute@developer.gserviceaccount.com");
        assert_eq!(compute.attributes["default_service_account"], "compute");
        assert_eq!(compute.attributes["created_by"], "google");
    }

    #[test]
    fn privilege_from_the_project_policy() {
        let r = bundle();
        let p = |e: &str| identity(&r, e).privilege;
        let reason = |e: &str| {
            identity(&r, e).attributes["privilege_reason"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        assert_eq!(
            p("ci-deployer@acme-prod.iam.gserviceaccount.com"),
            Privilege::Write
        );
        assert!(reason("ci-deployer@acme-prod.iam.gserviceaccount.com").contains("roles/editor"));
        assert_eq!(
            p("iam-automation@acme-prod.iam.gserviceaccount.com"),
            Privilege::Admin
        );
        assert!(
            reason("iam-automation@acme-prod.iam.gserviceaccount.com")
                .contains("grant itself any role")
        );
        assert_eq!(
            p("billing-export@acme-prod.iam.gserviceaccount.com"),
            Privilege::Read
        );
        assert!(
            reason("billing-export@acme-prod.iam.gserviceaccount.com")
                .contains("conditional: until end of 2026")
        );
        assert_eq!(
            p("legacy-etl@acme-prod.iam.gserviceaccount.com"),
            Privilege::Write
        );
        assert_eq!(
            p("reporting@acme-prod.iam.gserviceaccount.com"),
            Privilege::None
        );
        assert_eq!(
            p("482915730164-compute@developer.gserviceaccount.com"),
            Privilege::Write
        );

        // grants: service accounts only, service agents and deleted members left out
        assert!(
            r.grants
                .iter()
                .all(|g| g.scope == "gcp:acme-prod:iam-policy")
        );
        assert!(!r.grants.iter().any(|g| g.holder.contains("service-agent")));
        assert!(!r.grants.iter().any(|g| g.holder.contains("old-backup")));
        let editor = r
            .grants
            .iter()
            .find(|g| {
                g.holder
                    .ends_with("/ci-deployer@acme-prod.iam.gserviceaccount.com")
            })
            .expect("ci grant");
        assert_eq!(editor.actions, vec!["roles/editor"]);
        assert_eq!(editor.resources, vec!["projects/acme-prod"]);
        assert_eq!(editor.attributes["broad"], true);
        let cond = r
            .grants
            .iter()
            .find(|g| g.holder.contains("billing-export"))
            .expect("billing grant");
        assert_eq!(cond.attributes["condition"]["title"], "until end of 2026");
        // the foreign service account holds a grant, marked external
        let foreign = r
            .grants
            .iter()
            .find(|g| g.holder == "gcp:partner-tools-3318:sa/deployer@partner-tools-3318.iam.gserviceaccount.com")
            .expect("foreign grant");
        assert_eq!(foreign.privilege, Privilege::Admin);
        assert!(
            foreign.attributes["external_trust"]["reason"]
                .as_str()
                .is_some_and(|s| s.contains("another project (partner-tools-3318)"))
        );
        assert_eq!(foreign.attributes["holder_in_export"], false);
    }

    #[test]
    fn lifecycle_authority_and_external_trust() {
        let r = bundle();
        let ci = identity(&r, "ci-deployer@acme-prod.iam.gserviceaccount.com");
        let auth = ci.attributes["lifecycle_authority"]["principals"]
            .as_array()
            .expect("principals");
        let find = |p: &str| {
            auth.iter()
                .find(|e| e["principal"] == p)
                .unwrap_or_else(|| panic!("no {p} in {auth:?}"))
        };
        assert_eq!(
            find("gcp:user/cto@acme.example")["can"],
            json!(["issue", "revoke", "rotate", "use"])
        );
        assert_eq!(
            find("gcp:group/platform-ops@acme.example")["can"],
            json!(["issue", "revoke", "rotate"])
        );
        let partner =
            find("gcp:partner-tools-3318:sa/deployer@partner-tools-3318.iam.gserviceaccount.com");
        assert_eq!(partner["can"], json!(["use"]));
        assert!(partner["external"].is_string());
        let gmail = find("gcp:user/dev.contractor.2019@gmail.com");
        assert!(
            gmail["external"]
                .as_str()
                .is_some_and(|s| s.contains("gmail.com"))
        );
        // the Google APIs service agent holds editor but is Google's, not external
        let agent = find("gcp:service-agent:482915730164@cloudservices.gserviceaccount.com");
        assert!(agent.get("external").is_none());
        // viewers have no say on keys
        assert!(
            !auth
                .iter()
                .any(|e| e["principal"] == "gcp:domain/acme.example")
        );

        let ext = ci.attributes["external_trust"]
            .as_array()
            .expect("external");
        let members: Vec<&str> = ext.iter().filter_map(|e| e["member"].as_str()).collect();
        assert_eq!(
            members,
            vec![
                "serviceAccount:deployer@partner-tools-3318.iam.gserviceaccount.com",
                "user:dev.contractor.2019@gmail.com"
            ]
        );
        assert_eq!(
            ci.attributes["organization_domains"]["domains"],
            json!(["acme.example"])
        );

        // on keys too; a system-managed key is Google's to rotate
        let user_key = key(&r, "/key/3f1c9a7be0d24c55a9e1b6f2d7c40e8a91b3c5d7");
        assert_eq!(
            user_key.attributes["lifecycle_authority"],
            ci.attributes["lifecycle_authority"]
        );
        let system_key = key(&r, "/key/c4a1e7f09b2d3e5f6a7b8c9d0e1f2a3b4c5d6e7f");
        let sys = system_key.attributes["lifecycle_authority"]["principals"]
            .as_array()
            .expect("principals");
        assert_eq!(sys[0]["principal"], "gcp:google");
        assert!(sys[1..].iter().all(|p| p["can"] == json!(["use"])));
    }

    #[test]
    fn keys_expiry_status_and_exposure() {
        let r = bundle();
        assert_eq!(r.credentials.len(), 5);
        let old = key(&r, "/key/3f1c9a7be0d24c55a9e1b6f2d7c40e8a91b3c5d7");
        assert_eq!(
            old.id,
            "gcp:acme-prod:sa/ci-deployer@acme-prod.iam.gserviceaccount.com/key/3f1c9a7be0d24c55a9e1b6f2d7c40e8a91b3c5d7"
        );
        assert_eq!(
            old.identity_id.as_deref(),
            Some("gcp:acme-prod:sa/ci-deployer@acme-prod.iam.gserviceaccount.com")
        );
        assert_eq!(old.kind, "service-account-key");
        assert_eq!(old.scope, "gcp:acme-prod");
        assert_eq!(old.status, Status::Active);
        assert_eq!(old.expires_at, None, "year 9999 = never expires");
        assert_eq!(old.attributes["never_expires"], true);
        assert_eq!(old.created_at, ts("2023-02-14T09:31:07Z"));
        assert_eq!(old.last_rotated_at, old.created_at);
        assert!(!old.attributes.contains_key("exposed"));

        // exposed and still enabled: the worst case
        let leaked = key(&r, "/key/8d2e4f60a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9");
        assert_eq!(leaked.status, Status::Active);
        assert_eq!(leaked.attributes["exposed"], true);
        assert_eq!(
            leaked.attributes["exposure"]["reason"],
            json!(["SERVICE_ACCOUNT_KEY_EXTENDED_STATUS_KEY_EXPOSED"])
        );
        let ci = identity(&r, "ci-deployer@acme-prod.iam.gserviceaccount.com");
        assert_eq!(ci.attributes["exposed_keys"], json!([leaked.id]));
        assert_eq!(
            ci.attributes["user_managed_keys"].as_array().map(Vec::len),
            Some(2)
        );

        // disabled by Google after exposure
        let billing = key(&r, "/key/5b7d9f1a3c5e7091b2d4f6a8c0e2a4c6e8f0b2d4");
        assert_eq!(billing.status, Status::Inactive);
        assert_eq!(billing.attributes["exposed"], true);
        assert_eq!(
            billing.attributes["disable_reason"],
            "SERVICE_ACCOUNT_KEY_DISABLE_REASON_EXPOSED"
        );
        assert_eq!(billing.attributes["exposure"]["disabled"], true);

        // expired before the newest key of the export was issued
        let expired = key(&r, "/key/e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3");
        assert_eq!(expired.status, Status::Expired);
        assert_eq!(expired.expires_at, ts("2025-03-01T00:00:00Z"));
        assert_eq!(expired.attributes["key_origin"], "USER_PROVIDED");

        // Google rotates system-managed keys
        let system = key(&r, "/key/c4a1e7f09b2d3e5f6a7b8c9d0e1f2a3b4c5d6e7f");
        assert_eq!(system.attributes["rotation"], "google-managed");
        assert_eq!(system.attributes["managed_by"], "google");
        assert_eq!(system.status, Status::Active);
        assert_eq!(system.expires_at, ts("2026-12-14T06:12:44Z"));
    }

    #[test]
    fn compromise_detected_is_exposed_and_compromised() {
        let text = r#"[{"name": "projects/p1/serviceAccounts/a@p1.iam.gserviceaccount.com/keys/k1",
            "keyType": "USER_MANAGED", "disabled": true,
            "disableReason": "SERVICE_ACCOUNT_KEY_DISABLE_REASON_COMPROMISE_DETECTED",
            "extendedStatus": [{"key": "SERVICE_ACCOUNT_KEY_EXTENDED_STATUS_KEY_COMPROMISE_DETECTED", "value": "x"}],
            "validAfterTime": "2025-01-01T00:00:00Z", "validBeforeTime": "9999-12-31T23:59:59Z"}]"#;
        let r = parse("k.json", text.as_bytes()).expect("parse");
        let k = &r.credentials[0];
        assert_eq!(k.attributes["exposed"], true);
        assert_eq!(k.attributes["compromised"], true);
        assert_eq!(k.status, Status::Inactive);
    }

    #[test]
    fn single_outputs_parse_alone() {
        // service accounts without a policy: privilege unknown, no authority
        let r = parse("sa.json", SAS).expect("sa list");
        assert_eq!(r.identities.len(), 6);
        assert!(
            r.identities
                .iter()
                .all(|i| i.privilege == Privilege::Unknown)
        );
        assert!(
            r.identities
                .iter()
                .all(|i| !i.attributes.contains_key("lifecycle_authority"))
        );
        assert!(r.credentials.is_empty() && r.grants.is_empty());

        // keys without their service account: SA and project from `name`
        let r = parse("keys.json", KEYS).expect("keys");
        assert!(r.identities.is_empty());
        assert_eq!(r.credentials.len(), 3);
        assert!(r.credentials.iter().all(|c| c.identity_id.as_deref()
            == Some("gcp:acme-prod:sa/ci-deployer@acme-prod.iam.gserviceaccount.com")));

        // an empty list
        assert_eq!(parse("e.json", b"[]\n").expect("empty"), Records::default());

        // several key lists one after the other
        let mut two = KEYS.to_vec();
        two.extend_from_slice(b"\n[]\n");
        two.extend_from_slice(KEYS);
        two.extend_from_slice(br#"[{"name": "projects/acme-prod/serviceAccounts/reporting@acme-prod.iam.gserviceaccount.com/keys/0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
            "keyType": "USER_MANAGED", "validAfterTime": "2026-01-05T10:00:00Z", "validBeforeTime": "9999-12-31T23:59:59Z"}]"#);
        let r = parse("k.json", &two).expect("stream");
        assert_eq!(r.credentials.len(), 4, "a key listed twice is one key");
        assert!(r.credentials.iter().any(|c| c.identity_id.as_deref()
            == Some("gcp:acme-prod:sa/reporting@acme-prod.iam.gserviceaccount.com")));

        // a bare policy does not name its project
        let e = parse("policy.json", POLICY).expect_err("bare policy");
        let s = e.to_string();
        assert!(s.contains("projectId"), "{s}");
        assert!(s.starts_with("policy.json"), "{s}");

        // …but bundled with its project it gives grants
        let mut b = br#"{"projectId": "acme-prod", "iamPolicy": "#.to_vec();
        b.extend_from_slice(POLICY);
        b.extend_from_slice(b"}");
        let r = parse("b.json", &b).expect("policy bundle");
        assert!(r.identities.is_empty());
        assert_eq!(
            r.grants.len(),
            6,
            "{:?}",
            r.grants.iter().map(|g| &g.id).collect::<Vec<_>>()
        );
    }

    #[test]
    fn organisation_domains_are_inferred() {
        let text = r#"{"projectId": "p1",
          "serviceAccounts": [{"email": "a@p1.iam.gserviceaccount.com", "projectId": "p1"}],
          "iamPolicy": {"bindings": [
            {"role": "roles/owner", "members": ["user:ann@corp.example", "user:bob@corp.example", "user:eve@other.example"]},
            {"role": "roles/iam.serviceAccountTokenCreator", "members": ["allAuthenticatedUsers", "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/gh/attribute.repository/acme/app"]}
          ]}}"#;
        let r = parse("b.json", text.as_bytes()).expect("parse");
        let a = &r.identities[0];
        assert_eq!(a.privilege, Privilege::None);
        let ext = a.attributes["external_trust"].as_array().expect("ext");
        let members: Vec<&str> = ext.iter().filter_map(|e| e["member"].as_str()).collect();
        assert!(members.contains(&"user:eve@other.example"), "{members:?}");
        assert!(members.contains(&"allAuthenticatedUsers"), "{members:?}");
        assert!(
            members.iter().any(|m| m.starts_with("principalSet://")),
            "{members:?}"
        );
        assert!(!members.contains(&"user:ann@corp.example"));
    }

    #[test]
    fn role_classification() {
        assert_eq!(role_privilege("roles/owner").0, Privilege::Admin);
        assert_eq!(role_privilege("roles/editor").0, Privilege::Write);
        assert_eq!(role_privilege("roles/viewer").0, Privilege::Read);
        assert_eq!(
            role_privilege("roles/iam.serviceAccountKeyAdmin").0,
            Privilege::Admin
        );
        assert_eq!(
            role_privilege("roles/iam.workloadIdentityPoolViewer").0,
            Privilege::Read
        );
        assert_eq!(role_privilege("roles/iam.denyAdmin").0, Privilege::Admin);
        assert_eq!(role_privilege("roles/storage.admin").0, Privilege::Write);
        assert_eq!(
            role_privilege("roles/compute.instanceAdmin.v1").0,
            Privilege::Write
        );
        assert_eq!(
            role_privilege("roles/secretmanager.secretAccessor").0,
            Privilege::Read
        );
        assert_eq!(
            role_privilege("roles/logging.logWriter").0,
            Privilege::Write
        );
        assert_eq!(
            role_privilege("projects/p/roles/custom").0,
            Privilege::Unknown
        );
        assert_eq!(
            role_privilege("roles/monitoring.metricsScopesLinker").0,
            Privilege::Unknown
        );
    }

    #[test]
    fn recognised_by_content() {
        assert!(looks_like(&String::from_utf8_lossy(BUNDLE)));
        assert!(looks_like(&String::from_utf8_lossy(SAS)));
        assert!(looks_like(&String::from_utf8_lossy(KEYS)));
        assert!(looks_like(&String::from_utf8_lossy(POLICY)));
        assert!(!looks_like("{\"UserDetailList\": []}"));
        assert!(!looks_like("castellan: 1\n"));
        assert!(!looks_like(
            "{\"apiVersion\": \"v1\", \"kind\": \"ServiceAccount\", \"metadata\": {\"annotations\": {\"iam.gke.io/gcp-service-account\": \"a@p.iam.gserviceaccount.com\"}}}"
        ));
        assert!(!looks_like(
            "[{\"appId\": \"x\", \"servicePrincipalType\": \"Application\"}]"
        ));
        assert!(!looks_like("user,arn,user_creation_time"));
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let bad = String::from_utf8_lossy(BUNDLE).replace(
            "\"disabled\": true,\n      \"displayName\": \"Legacy ETL\"",
            "\"disabled\": \"yes\",\n      \"displayName\": \"Legacy ETL\"",
        );
        let e = parse("b.json", bad.as_bytes()).expect_err("type");
        let s = e.to_string();
        assert!(s.contains("serviceAccounts[2].disabled"), "{s}");
        let line = bad
            .lines()
            .position(|l| l.contains("\"disabled\": \"yes\""))
            .expect("line")
            + 1;
        assert!(s.starts_with(&format!("b.json:{line}:")), "{s}");

        let bad = String::from_utf8_lossy(BUNDLE).replace("2023-02-14T09:31:07Z", "yesterday");
        let e = parse("b.json", bad.as_bytes()).expect_err("ts");
        let s = e.to_string();
        assert!(s.contains("keys[0].validAfterTime"), "{s}");
        assert!(s.contains("RFC 3339"), "{s}");

        let trunc = &BUNDLE[..BUNDLE.len() / 2];
        let e = parse("b.json", trunc).expect_err("truncated");
        assert!(e.to_string().contains("truncated"), "{e}");

        let e = parse("b.json", b"\x00\x9f\x92junk").expect_err("binary");
        assert!(e.to_string().contains("UTF-8"), "{e}");

        let e = parse("b.json", b"  \n").expect_err("empty");
        assert!(e.to_string().contains("empty"), "{e}");

        let e = parse("b.json", br#"{"something": 1}"#).expect_err("other");
        assert!(e.to_string().contains("neither"), "{e}");

        let e = parse("b.json", br#"[{"name": "projects/p/serviceAccounts/a@p.iam.gserviceaccount.com/keys/", "keyType": "USER_MANAGED"}]"#).expect_err("bad name");
        assert!(e.to_string().contains("`name`"), "{e}");

        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse("d.json", deep.as_bytes()).is_err());

        let e = parse(
            "b.json",
            br#"{"projectId": "p", "keys": [{"email": "a@p.iam.gserviceaccount.com"}]}"#,
        )
        .expect_err("sa in keys");
        assert!(e.to_string().contains("keys[0]"), "{e}");
    }

    #[test]
    fn private_key_material_never_kept() {
        let secret = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDPLANTEDSECRET";
        let text = format!(
            r#"[{{"name": "projects/p1/serviceAccounts/a@p1.iam.gserviceaccount.com/keys/k1",
                "keyType": "USER_MANAGED", "privateKeyType": "TYPE_GOOGLE_CREDENTIALS_FILE",
                "privateKeyData": "{secret}",
                "validAfterTime": "2025-01-01T00:00:00Z", "validBeforeTime": "9999-12-31T23:59:59Z"}}]"#
        );
        let r = parse("k.json", text.as_bytes()).expect("parse");
        assert_eq!(r.credentials[0].attributes["private_key_in_export"], true);
        assert!(!format!("{r:?}").contains("PLANTEDSECRET"));
        assert!(
            !serde_json::to_string(&r)
                .expect("json")
                .contains("PLANTEDSECRET")
        );
        // a secret in a field of the wrong type is not echoed in the error
        let bad = text.replace(
            r#""keyType": "USER_MANAGED""#,
            &format!(r#""disabled": "{secret}""#),
        );
        let e = parse("k.json", bad.as_bytes()).expect_err("type");
        assert!(!e.to_string().contains("PLANTEDSECRET"), "{e}");
        assert!(!format!("{e:?}").contains("PLANTEDSECRET"), "{e:?}");
    }

    #[test]
    fn large_exports_stay_linear() {
        let mut text = String::from("[");
        for i in 0..5000 {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&format!(
                "\n{{\"name\": \"projects/p1/serviceAccounts/sa{i}@p1.iam.gserviceaccount.com/keys/{i:040}\", \"keyType\": \"USER_MANAGED\", \"validAfterTime\": \"2026-01-01T00:00:00Z\", \"validBeforeTime\": \"9999-12-31T23:59:59Z\"}}"
            ));
        }
        text.push_str("\n]");
        let start = std::time::Instant::now();
        let r = parse("big.json", text.as_bytes()).expect("parse");
        assert_eq!(r.credentials.len(), 5000);
        assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse("p.json", &bytes);
            let _ = looks_like(&String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn never_panics_on_json_like(s in "[\\[\\]{}\",:a-z0-9/@. -]{0,300}") {
            let _ = parse("p.json", s.as_bytes());
            let _ = parse("p.json", format!("{{\"projectId\":\"p\",\"keys\":[{s}").as_bytes());
        }
    }
}
