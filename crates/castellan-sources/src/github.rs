//! GitHub organisation exports from the REST API.
//!
//! One **bundle** document, written by `scripts/export-github.sh ORG` (`gh api --paginate` and
//! `jq -s`):
//!
//! ```json
//! {"github_org": "acme", "exported_at": "2026-11-30T09:00:00Z",
//!  "installations": [ … GET /orgs/{org}/installations → .installations[] … ],
//!  "personal_access_tokens": [ … GET /orgs/{org}/personal-access-tokens … ],
//!  "deploy_keys": {"<repo>": [ … GET /repos/{org}/{repo}/keys … ]},
//!  "actions_secrets": {"org": [ … GET /orgs/{org}/actions/secrets → .secrets[] … ],
//!                      "<repo>": [ … GET /repos/{org}/{repo}/actions/secrets → .secrets[] … ]},
//!  "members": [{"login": "…", "role": "admin|member"}],
//!  "apps": [ … GET /apps/{app_slug} … ],
//!  "audit_log": [ … GET /orgs/{org}/audit-log … ]}
//! ```
//!
//! and, alone, the raw responses that name their organisation: the installations page
//! (`{"total_count", "installations"}`; the org is the installations' `account`), a
//! repository's deploy keys (the org and repository are in each key's `url`) and the audit log
//! (each event's `org`). Several JSON documents may follow each other in one file, as
//! `gh api --paginate` prints them. An Actions secrets page does not say whose secrets it lists,
//! and the fine-grained PAT list names its organisation only by number (`repositories_url` is
//! `…/organizations/<id>/personal-access-tokens/<id>/repositories`), so both are only read
//! inside the bundle (or, for PATs, with another document of the same file that names the
//! organisation; an `…/orgs/<org>/…` URL is read too).
//!
//! Yields GitHub App installations and fine-grained PATs as identities with their privilege
//! (from their permissions, and why), deploy keys as identities with an `ssh-key` credential
//! whose id is the key's SHA-256 fingerprint (`ssh:sha256:…`, as the SSH importer names keys),
//! Actions secrets as `ci-secret` credentials, and lifecycle events from the audit log. No
//! secret value is read: the API never returns one, and any field Castellan does not know is
//! skipped unread.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use base64::Engine;
use castellan_model::{Attributes, Credential, Event, Identity, Privilege, Status, parse_ts};
use jiff::Timestamp;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::json_input::{Lines, decode_at as decode, documents};
use crate::{Records, SourceError, show_value};

/// The source name.
pub const SOURCE: &str = "github";

/// Permissions whose `write` (or `admin`) level makes the holder administrator-equivalent: they
/// change who may do what (`administration`, `organization_administration`, `members`), or
/// reach every secret and the code that runs with them (`secrets`, `organization_secrets`,
/// `workflows`).
pub const ADMIN_PERMISSIONS: &[&str] = &[
    "administration",
    "organization_administration",
    "members",
    "secrets",
    "organization_secrets",
    "workflows",
];

/// Whether the first bytes of a file look like a GitHub export (the bundle, or a raw
/// installations, fine-grained PAT, deploy-key or audit-log response).
pub fn looks_like(head: &str) -> bool {
    let t = head.trim_start_matches('\u{feff}').trim_start();
    let object = t.starts_with('{');
    let array = t.starts_with('[');
    if !object && !array {
        return false;
    }
    let has = |k: &str| head.contains(k);
    if object && has("\"github_org\"") {
        return true;
    }
    if has("\"installations\"") && has("\"app_id\"") && has("\"repository_selection\"") {
        return true;
    }
    if array && has("\"access_granted_at\"") && has("\"token_expired\"") {
        return true;
    }
    if array && has("\"read_only\"") && has("\"key\"") && has("/repos/") && has("/keys/") {
        return true;
    }
    array && has("\"@timestamp\"") && has("\"_document_id\"") && has("\"action\"")
}

// ---------------------------------------------------------------------------------------------
// The documents, as far as Castellan reads them.

fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// An RFC 3339 timestamp, checked while deserialising (null or "" read as absent).
#[derive(Clone, Copy, Debug)]
struct Ts(Option<Timestamp>);

impl<'de> Deserialize<'de> for Ts {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Ts, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        match s.as_deref().map(str::trim) {
            None | Some("") => Ok(Ts(None)),
            Some(s) => parse_ts(s).map(|t| Ts(Some(t))).map_err(|e| {
                serde::de::Error::custom(format!(
                    "{} is not an RFC 3339 timestamp ({})",
                    show_value(s),
                    e.reason
                ))
            }),
        }
    }
}

fn at(t: &Option<Ts>) -> Option<Timestamp> {
    t.and_then(|t| t.0)
}

/// A number or a string id (`token_id`, `installation_id` in audit events), kept as text.
#[derive(Clone, Debug, Default)]
struct IdText(Option<String>);

impl<'de> Deserialize<'de> for IdText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<IdText, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(IdText(None)),
            Value::Number(n) => Ok(IdText(Some(n.to_string()))),
            Value::String(s) if s.len() <= 128 => Ok(IdText(Some(s))),
            _ => Err(serde::de::Error::custom(
                "expected a number or a short string",
            )),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct Login {
    #[serde(default, deserialize_with = "nullable")]
    login: String,
    #[serde(default, rename = "type", deserialize_with = "nullable")]
    type_: String,
}

#[derive(Debug, Default, Deserialize)]
struct Installation {
    id: Option<u64>,
    app_id: Option<u64>,
    #[serde(default, deserialize_with = "nullable")]
    app_slug: String,
    #[serde(default, deserialize_with = "nullable")]
    account: Login,
    #[serde(default, deserialize_with = "nullable")]
    repository_selection: String,
    #[serde(default, deserialize_with = "nullable")]
    permissions: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    events: Vec<String>,
    created_at: Option<Ts>,
    updated_at: Option<Ts>,
    suspended_at: Option<Ts>,
    #[serde(default, deserialize_with = "nullable")]
    suspended_by: Login,
    #[serde(default, deserialize_with = "nullable")]
    target_type: String,
}

#[derive(Debug, Default, Deserialize)]
struct InstallationsPage {
    #[serde(default, deserialize_with = "nullable")]
    installations: Vec<Installation>,
}

#[derive(Debug, Default, Deserialize)]
struct PatPermissions {
    #[serde(default, deserialize_with = "nullable")]
    organization: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    repository: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    other: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct Pat {
    id: Option<u64>,
    #[serde(default, deserialize_with = "nullable")]
    owner: Login,
    #[serde(default, deserialize_with = "nullable")]
    repository_selection: String,
    #[serde(default, deserialize_with = "nullable")]
    repositories_url: String,
    #[serde(default, deserialize_with = "nullable")]
    permissions: PatPermissions,
    access_granted_at: Option<Ts>,
    #[serde(default, deserialize_with = "nullable")]
    token_expired: bool,
    token_expires_at: Option<Ts>,
    token_last_used_at: Option<Ts>,
    token_id: Option<u64>,
    #[serde(default, deserialize_with = "nullable")]
    token_name: String,
}

#[derive(Debug, Default, Deserialize)]
struct DeployKey {
    id: u64,
    #[serde(default, deserialize_with = "nullable")]
    key: String,
    #[serde(default, deserialize_with = "nullable")]
    url: String,
    #[serde(default, deserialize_with = "nullable")]
    title: String,
    verified: Option<bool>,
    created_at: Option<Ts>,
    #[serde(default, deserialize_with = "nullable")]
    read_only: bool,
    #[serde(default, deserialize_with = "nullable")]
    added_by: String,
    last_used: Option<Ts>,
    enabled: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
struct ActionsSecret {
    name: String,
    created_at: Option<Ts>,
    updated_at: Option<Ts>,
    #[serde(default, deserialize_with = "nullable")]
    visibility: String,
    #[serde(default, deserialize_with = "nullable")]
    selected_repositories_url: String,
}

#[derive(Debug, Default, Deserialize)]
struct Member {
    #[serde(default, deserialize_with = "nullable")]
    login: String,
    #[serde(default, deserialize_with = "nullable")]
    user: Login,
    #[serde(default, deserialize_with = "nullable")]
    role: String,
}

#[derive(Debug, Default, Deserialize)]
struct App {
    #[serde(default, deserialize_with = "nullable")]
    slug: String,
    #[serde(default, deserialize_with = "nullable")]
    owner: Login,
}

#[derive(Debug, Default, Deserialize)]
struct AuditEvent {
    #[serde(rename = "@timestamp")]
    timestamp: Option<i64>,
    created_at: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    action: String,
    #[serde(default, deserialize_with = "nullable")]
    actor: String,
    #[serde(default, deserialize_with = "nullable")]
    user: String,
    #[serde(default, deserialize_with = "nullable")]
    repo: String,
    #[serde(default, deserialize_with = "nullable")]
    org: String,
    #[serde(default, rename = "_document_id", deserialize_with = "nullable")]
    document_id: String,
    #[serde(default)]
    token_id: IdText,
    #[serde(default)]
    installation_id: IdText,
    #[serde(default, deserialize_with = "nullable")]
    integration: String,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    fingerprint: String,
    #[serde(default, deserialize_with = "nullable")]
    deploy_key_fingerprint: String,
    #[serde(default, deserialize_with = "nullable")]
    programmatic_access_type: String,
    #[serde(default, deserialize_with = "nullable")]
    hashed_token: String,
}

#[derive(Debug, Default, Deserialize)]
struct Bundle {
    github_org: String,
    exported_at: Option<Ts>,
    #[serde(default, deserialize_with = "nullable")]
    installations: Vec<Installation>,
    #[serde(default, deserialize_with = "nullable")]
    personal_access_tokens: Vec<Pat>,
    #[serde(default, deserialize_with = "nullable")]
    deploy_keys: BTreeMap<String, Vec<DeployKey>>,
    #[serde(default, deserialize_with = "nullable")]
    actions_secrets: BTreeMap<String, Vec<ActionsSecret>>,
    members: Option<Vec<Member>>,
    #[serde(default, deserialize_with = "nullable")]
    apps: Vec<App>,
    #[serde(default, deserialize_with = "nullable")]
    audit_log: Vec<AuditEvent>,
}

/// The keys that tell the documents apart.
#[derive(Debug, Default, Deserialize)]
struct Probe {
    github_org: Option<IgnoredAny>,
    installations: Option<IgnoredAny>,
    secrets: Option<IgnoredAny>,
    #[serde(rename = "@timestamp")]
    timestamp: Option<IgnoredAny>,
    action: Option<IgnoredAny>,
    access_granted_at: Option<IgnoredAny>,
    token_expired: Option<IgnoredAny>,
    read_only: Option<IgnoredAny>,
    key: Option<IgnoredAny>,
    app_id: Option<IgnoredAny>,
}

// ---------------------------------------------------------------------------------------------
// Reading the file.

/// What the file holds, merged over its documents.
#[derive(Default)]
struct Export {
    /// The organisation as first spelt, and where it was learnt.
    org: Option<(String, String)>,
    installations: Vec<Installation>,
    pats: Vec<Pat>,
    /// (repository, key)
    deploy_keys: Vec<(String, DeployKey)>,
    /// (`org` or repository, secret)
    secrets: Vec<(String, ActionsSecret)>,
    members: Option<Vec<Member>>,
    apps: Vec<App>,
    audit: Vec<AuditEvent>,
    bundle: bool,
    exported_at: Option<Timestamp>,
}

impl Export {
    fn set_org(&mut self, path: &str, org: &str, from: &str) -> Result<(), SourceError> {
        let org = org.trim();
        if org.is_empty() {
            return Ok(());
        }
        if !org
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            || org.len() > 100
        {
            return Err(SourceError::File {
                path: path.into(),
                message: format!("{from}: {} is not a GitHub login", show_value(org)),
            });
        }
        match &self.org {
            None => self.org = Some((org.to_string(), from.to_string())),
            Some((o, _)) if o.eq_ignore_ascii_case(org) => {}
            Some((o, first)) => {
                return Err(SourceError::File {
                    path: path.into(),
                    message: format!(
                        "mixes organisations {o} ({first}) and {org} ({from}); export one organisation per file"
                    ),
                });
            }
        }
        Ok(())
    }
}

/// `…/orgs/<org>/…` in an API URL.
fn org_in_url(url: &str) -> Option<&str> {
    let rest = url.split("/orgs/").nth(1)?;
    rest.split('/').next().filter(|s| !s.is_empty())
}

/// `…/organizations/<numeric id>/…` in an API URL: how GitHub names the organisation in a
/// fine-grained PAT grant's `repositories_url`, which does not tell its login.
fn org_number_in_url(url: &str) -> Option<&str> {
    let rest = url.split("/organizations/").nth(1)?;
    rest.split('/')
        .next()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
}

/// `…/repos/<owner>/<repo>/keys/<id>` in an API URL.
fn repo_in_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.split("/repos/").nth(1)?;
    let mut parts = rest.split('/');
    let owner = parts.next().filter(|s| !s.is_empty())?;
    let repo = parts.next().filter(|s| !s.is_empty())?;
    Some((owner, repo))
}

fn read(path: &str, bytes: &[u8]) -> Result<Export, SourceError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(SourceError::File {
            path: path.into(),
            message: "is not UTF-8 text; a GitHub export is JSON".into(),
        });
    };
    let mut ex = Export::default();
    let mut docs = 0usize;
    let mut lines = Lines::new(text.as_bytes());
    for raw in documents(path, text) {
        let raw = raw?;
        docs += 1;
        let line = lines.of(raw.get());
        let body = raw.get();
        if body.starts_with('{') {
            read_object(path, body, line, &mut ex)?;
        } else if body.starts_with('[') {
            read_array(path, &mut lines, body, line, &mut ex)?;
        } else {
            return Err(SourceError::Line {
                path: path.into(),
                line,
                message: "expected a JSON object or array from the GitHub API".into(),
            });
        }
    }
    if docs == 0 {
        return Err(SourceError::File {
            path: path.into(),
            message: "is empty; expected the bundle written by scripts/export-github.sh or a `gh api` response".into(),
        });
    }
    Ok(ex)
}

fn read_object(path: &str, body: &str, line: u64, ex: &mut Export) -> Result<(), SourceError> {
    let probe: Probe = decode(path, body, line, "")?;
    if probe.github_org.is_some() {
        let b: Bundle = decode(path, body, line, "")?;
        ex.bundle = true;
        ex.set_org(path, &b.github_org, "github_org")?;
        if b.github_org.trim().is_empty() {
            return Err(SourceError::Field {
                path: path.into(),
                line,
                field: "github_org".into(),
                message: "is empty; it names the organisation the bundle covers".into(),
            });
        }
        ex.exported_at = ex.exported_at.or(at(&b.exported_at));
        ex.installations.extend(b.installations);
        ex.pats.extend(b.personal_access_tokens);
        for (repo, keys) in b.deploy_keys {
            ex.deploy_keys
                .extend(keys.into_iter().map(|k| (repo.clone(), k)));
        }
        for (level, list) in b.actions_secrets {
            ex.secrets
                .extend(list.into_iter().map(|s| (level.clone(), s)));
        }
        if let Some(m) = b.members {
            ex.members.get_or_insert_with(Vec::new).extend(m);
        }
        ex.apps.extend(b.apps);
        ex.audit.extend(b.audit_log);
        return Ok(());
    }
    if probe.installations.is_some() {
        let page: InstallationsPage = decode(path, body, line, "")?;
        for i in &page.installations {
            if i.target_type.is_empty() || i.target_type == "Organization" {
                ex.set_org(path, &i.account.login, "installations[].account.login")?;
            }
        }
        ex.installations.extend(page.installations);
        return Ok(());
    }
    if probe.secrets.is_some() {
        return Err(SourceError::File {
            path: path.into(),
            message: "is an Actions secrets page, which does not say which organisation or repository it lists; put it in the bundle (scripts/export-github.sh ORG)".into(),
        });
    }
    if probe.timestamp.is_some() && probe.action.is_some() {
        let e: AuditEvent = decode(path, body, line, "")?;
        ex.set_org(path, &e.org, "org")?;
        ex.audit.push(e);
        return Ok(());
    }
    Err(SourceError::Line {
        path: path.into(),
        line,
        message: "is not a GitHub export Castellan reads: expected the bundle (`github_org`), an installations page, or an array of PAT grants, deploy keys or audit-log events".into(),
    })
}

fn read_array(
    path: &str,
    lines: &mut Lines<'_>,
    body: &str,
    line: u64,
    ex: &mut Export,
) -> Result<(), SourceError> {
    let items: Vec<&RawValue> = decode(path, body, line, "")?;
    let Some(first) = items.first() else {
        return Ok(());
    };
    let first_line = lines.of(first.get());
    if !first.get().starts_with('{') {
        return Err(SourceError::Field {
            path: path.into(),
            line: first_line,
            field: "[0]".into(),
            message: "is not an object; expected PAT grants, deploy keys or audit-log events"
                .into(),
        });
    }
    let probe: Probe = decode(path, first.get(), first_line, "[0]")?;
    enum Kind {
        Pat,
        Key,
        Audit,
        Installation,
    }
    let kind = if probe.access_granted_at.is_some() || probe.token_expired.is_some() {
        Kind::Pat
    } else if probe.key.is_some() && probe.read_only.is_some() {
        Kind::Key
    } else if probe.timestamp.is_some() && probe.action.is_some() {
        Kind::Audit
    } else if probe.app_id.is_some() {
        Kind::Installation
    } else {
        return Err(SourceError::Field {
            path: path.into(),
            line: first_line,
            field: "[0]".into(),
            message: "is not a PAT grant, deploy key, installation or audit-log event".into(),
        });
    };
    for (i, item) in items.iter().enumerate() {
        let l = lines.of(item.get());
        let prefix = format!("[{i}]");
        match kind {
            Kind::Pat => {
                let p: Pat = decode(path, item.get(), l, &prefix)?;
                if let Some(org) = org_in_url(&p.repositories_url) {
                    ex.set_org(path, org, &format!("{prefix}.repositories_url"))?;
                }
                ex.pats.push(p);
            }
            Kind::Key => {
                let k: DeployKey = decode(path, item.get(), l, &prefix)?;
                let Some((owner, repo)) = repo_in_url(&k.url) else {
                    return Err(SourceError::Field {
                        path: path.into(),
                        line: l,
                        field: format!("{prefix}.url"),
                        message: "does not name the repository (…/repos/<owner>/<repo>/keys/<id>); a raw deploy-key list needs it, or use the bundle".into(),
                    });
                };
                ex.set_org(path, owner, &format!("{prefix}.url"))?;
                let repo = repo.to_string();
                ex.deploy_keys.push((repo, k));
            }
            Kind::Audit => {
                let e: AuditEvent = decode(path, item.get(), l, &prefix)?;
                ex.set_org(path, &e.org, &format!("{prefix}.org"))?;
                ex.audit.push(e);
            }
            Kind::Installation => {
                let inst: Installation = decode(path, item.get(), l, &prefix)?;
                ex.set_org(
                    path,
                    &inst.account.login,
                    &format!("{prefix}.account.login"),
                )?;
                ex.installations.push(inst);
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Derived facts.

/// The privilege a set of `permission: level` pairs gives, and the reason for an admin verdict.
fn privilege_of<'a>(perms: impl Iterator<Item = (&'a String, &'a String)>) -> (Privilege, String) {
    let mut admin = Vec::new();
    let mut write = Vec::new();
    let mut read = false;
    for (k, v) in perms {
        match v.as_str() {
            "write" | "admin" => {
                if ADMIN_PERMISSIONS.contains(&k.as_str()) {
                    admin.push(format!("{k}: {v}"));
                } else {
                    write.push(format!("{k}: {v}"));
                }
            }
            "read" => read = true,
            _ => {}
        }
    }
    if !admin.is_empty() {
        (
            Privilege::Admin,
            format!(
                "administrator-equivalent permissions: {} (changes access, secrets or the workflows that hold them)",
                admin.join(", ")
            ),
        )
    } else if !write.is_empty() {
        (
            Privilege::Write,
            format!("write permissions: {}", write.join(", ")),
        )
    } else if read {
        (Privilege::Read, "read-only permissions".into())
    } else {
        (Privilege::None, "no permissions granted".into())
    }
}

/// `ssh:sha256:<base64 SHA-256 of the key blob, unpadded>` and the key type, from an OpenSSH
/// public key line (`ssh-ed25519 AAAA… comment`).
pub fn ssh_key_id(public_key: &str) -> Option<(String, String)> {
    let mut parts = public_key.split_whitespace();
    let kind = parts.next()?;
    let blob = parts.next()?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(blob)
        .ok()?;
    if raw.len() < 4 {
        return None;
    }
    let digest = Sha256::digest(&raw);
    let fp = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&digest[..]);
    Some((format!("ssh:sha256:{fp}"), kind.to_string()))
}

struct Ctx {
    exported_at: Option<Timestamp>,
    org: String,
    scope: String,
    owners: Option<Vec<String>>,
}

impl Ctx {
    fn user(&self, login: &str) -> String {
        format!("github:{}:user/{}", self.org, login.to_ascii_lowercase())
    }

    fn owner_principals(&self, can: &[&str], via: &str) -> Vec<Value> {
        self.owners
            .iter()
            .flatten()
            .map(|o| json!({"principal": self.user(o), "can": can, "via": [via]}))
            .collect()
    }

    fn owners_note(&self) -> &'static str {
        if self.owners.is_none() {
            " Organisation owners are not in this export: add `members` (scripts/export-github.sh does) to name them."
        } else {
            ""
        }
    }
}

fn app_id(org: &str, slug: &str) -> String {
    format!("github:{org}:app/{}", slug.to_ascii_lowercase())
}

fn pat_id(org: &str, token: &str) -> String {
    format!("github:{org}:pat/{token}")
}

fn deploy_key_id(org: &str, repo: &str, id: u64) -> String {
    format!(
        "github:{org}:repo/{}/deploy-key/{id}",
        repo.to_ascii_lowercase()
    )
}

fn secret_id(org: &str, level: &str, name: &str) -> String {
    format!("github:{org}:secret/{}/{name}", level.to_ascii_lowercase())
}

fn ts_text(t: Option<Timestamp>) -> Value {
    t.map(|t| json!(castellan_model::format_ts(t)))
        .unwrap_or(Value::Null)
}

// ---------------------------------------------------------------------------------------------
// Records.

/// Parses a GitHub export (the bundle, or raw API responses) into records. `path` names the
/// file in errors.
pub fn parse(path: &str, bytes: &[u8]) -> Result<Records, SourceError> {
    let ex = read(path, bytes)?;
    let Some((org_spelt, _)) = ex.org.clone() else {
        if ex.installations.is_empty()
            && ex.pats.is_empty()
            && ex.deploy_keys.is_empty()
            && ex.audit.is_empty()
        {
            return Ok(Records::default());
        }
        if !ex.pats.is_empty() {
            // GitHub names the organisation of a PAT grant only by number
            // (`https://api.github.com/organizations/<id>/personal-access-tokens/<id>/repositories`)
            let numbers: BTreeSet<&str> = ex
                .pats
                .iter()
                .filter_map(|p| org_number_in_url(&p.repositories_url))
                .collect();
            let which = match numbers.len() {
                0 => String::new(),
                _ => format!(
                    " (organisation id {})",
                    numbers.into_iter().collect::<Vec<_>>().join(", ")
                ),
            };
            return Err(SourceError::File {
                path: path.into(),
                message: format!(
                    "is a fine-grained PAT list (GET /orgs/{{org}}/personal-access-tokens), which names its organisation only by number{which}, not by login; export it with the bundle (scripts/export-github.sh ORG), which names the organisation in `github_org`"
                ),
            });
        }
        return Err(SourceError::File {
            path: path.into(),
            message: "does not say which organisation it covers; use the bundle (scripts/export-github.sh ORG), which names it in `github_org`".into(),
        });
    };
    let org = org_spelt.to_ascii_lowercase();
    let owners = ex.members.as_ref().map(|ms| {
        ms.iter()
            .filter(|m| m.role.eq_ignore_ascii_case("admin"))
            .map(|m| {
                if m.login.is_empty() {
                    m.user.login.clone()
                } else {
                    m.login.clone()
                }
            })
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
    });
    let cx = Ctx {
        exported_at: ex.exported_at,
        scope: format!("github:{org}"),
        org,
        owners,
    };
    let mut records = Records::default();
    let app_owner: HashMap<String, String> = ex
        .apps
        .iter()
        .filter(|a| !a.slug.is_empty() && !a.owner.login.is_empty())
        .map(|a| (a.slug.to_ascii_lowercase(), a.owner.login.clone()))
        .collect();
    let mut installation_ids: HashMap<String, String> = HashMap::new();
    for inst in &ex.installations {
        let id = installation(&cx, inst, &app_owner, &mut records);
        if let Some(n) = inst.id {
            installation_ids.insert(n.to_string(), id);
        }
    }
    let mut pat_ids = BTreeSet::new();
    for p in &ex.pats {
        pat_ids.insert(pat(&cx, p, &mut records));
    }
    let mut key_identity: HashMap<String, String> = HashMap::new();
    let mut key_index: HashMap<String, usize> = HashMap::new();
    for (i, (repo, k)) in ex.deploy_keys.iter().enumerate() {
        deploy_key(
            path,
            &cx,
            repo,
            k,
            ex.bundle,
            i,
            &mut key_identity,
            &mut key_index,
            &mut records,
        )?;
    }
    for (level, s) in &ex.secrets {
        actions_secret(&cx, level, s, &mut records);
    }
    let mut seen_events = BTreeSet::new();
    for (i, e) in ex.audit.iter().enumerate() {
        if let Some(ev) = audit_event(path, &cx, i, e, &installation_ids, &key_identity)?
            && seen_events.insert(ev.id.clone())
        {
            records.events.push(ev);
        }
    }
    Ok(records)
}

fn installation(
    cx: &Ctx,
    inst: &Installation,
    app_owner: &HashMap<String, String>,
    records: &mut Records,
) -> String {
    let slug = if inst.app_slug.is_empty() {
        format!("app-{}", inst.app_id.unwrap_or_default())
    } else {
        inst.app_slug.clone()
    };
    let id = app_id(&cx.org, &slug);
    let (privilege, reason) = privilege_of(inst.permissions.iter());
    let mut a = Attributes::new();
    a.insert("app_slug".into(), json!(slug));
    if let Some(n) = inst.app_id {
        a.insert("app_id".into(), json!(n));
    }
    if let Some(n) = inst.id {
        a.insert("installation_id".into(), json!(n));
    }
    a.insert("account".into(), json!(inst.account.login));
    if !inst.account.type_.is_empty() {
        a.insert("account_type".into(), json!(inst.account.type_));
    }
    a.insert("target_type".into(), json!(inst.target_type));
    a.insert(
        "repository_selection".into(),
        json!(inst.repository_selection),
    );
    a.insert("permissions".into(), json!(inst.permissions));
    a.insert("events".into(), json!(inst.events));
    a.insert("updated_at".into(), ts_text(at(&inst.updated_at)));
    a.insert("privilege_reason".into(), json!(reason));
    if inst.repository_selection == "all" {
        a.insert(
            "broad_exposure".into(),
            json!(format!(
                "installed on all repositories of {}, present and future",
                cx.org
            )),
        );
    }
    let suspended = at(&inst.suspended_at);
    if suspended.is_some() {
        a.insert("suspended_at".into(), ts_text(suspended));
        a.insert("suspended_by".into(), json!(inst.suspended_by.login));
    }
    let owner = app_owner.get(&slug.to_ascii_lowercase());
    let mut principals = cx.owner_principals(&["issue", "revoke"], "organization owner");
    match owner {
        Some(o) => {
            a.insert("app_owner".into(), json!(o));
            let third = !o.eq_ignore_ascii_case(&cx.org);
            a.insert("third_party".into(), json!(third));
            if third {
                a.insert(
                    "external_trust".into(),
                    json!([format!(
                        "GitHub App {slug} is owned by {o}, not by {}: its owner holds the private key that mints installation tokens",
                        cx.org
                    )]),
                );
            }
            principals.push(json!({
                "principal": format!("github:{}", o.to_ascii_lowercase()),
                "can": ["use"],
                "via": [format!("owner of the GitHub App {slug} (holds its private key)")],
            }));
        }
        None => {
            a.insert("app_owner".into(), json!("unknown"));
        }
    }
    a.insert(
        "lifecycle_authority".into(),
        json!({
            "principals": principals,
            "note": format!(
                "Organisation owners install, suspend and uninstall GitHub Apps; the app's owner mints installation tokens with its private key.{}",
                cx.owners_note()
            ),
        }),
    );
    records.identities.push(Identity {
        id: id.clone(),
        kind: "github-app-installation".into(),
        source: SOURCE.into(),
        scope: cx.scope.clone(),
        name: slug,
        account: Some(cx.org.clone()),
        status: if suspended.is_some() {
            Status::Inactive
        } else {
            Status::Active
        },
        privilege,
        created_at: at(&inst.created_at),
        last_used_at: None,
        tags: BTreeMap::new(),
        attributes: a,
    });
    id
}

fn pat(cx: &Ctx, p: &Pat, records: &mut Records) -> String {
    let token = match (p.token_id, p.id) {
        (Some(t), _) => t.to_string(),
        (None, Some(g)) => format!("grant-{g}"),
        (None, None) => "unknown".into(),
    };
    let id = pat_id(&cx.org, &token);
    let perms = p
        .permissions
        .organization
        .iter()
        .chain(p.permissions.repository.iter())
        .chain(p.permissions.other.iter());
    let (privilege, reason) = privilege_of(perms);
    let expires = at(&p.token_expires_at);
    // Expired by GitHub's word, or by its expiry date at the time of the export.
    let past = matches!((expires, cx.exported_at), (Some(e), Some(x)) if e <= x);
    let status = if p.token_expired || past {
        Status::Expired
    } else {
        Status::Active
    };
    let granted = at(&p.access_granted_at);
    let last_used = at(&p.token_last_used_at);
    let owner = &p.owner.login;
    let name = if p.token_name.is_empty() {
        format!("fine-grained PAT {token} of {owner}")
    } else {
        p.token_name.clone()
    };
    let mut a = Attributes::new();
    a.insert("owner".into(), json!(owner));
    if !owner.is_empty() {
        a.insert("suggested_owner".into(), json!(owner));
    }
    if let Some(g) = p.id {
        a.insert("grant_id".into(), json!(g));
    }
    if let Some(t) = p.token_id {
        a.insert("token_id".into(), json!(t));
    }
    a.insert("repository_selection".into(), json!(p.repository_selection));
    a.insert(
        "permissions".into(),
        json!({
            "organization": p.permissions.organization,
            "repository": p.permissions.repository,
            "other": p.permissions.other,
        }),
    );
    a.insert("privilege_reason".into(), json!(reason));
    if p.repository_selection == "all" {
        a.insert(
            "broad_exposure".into(),
            json!(format!(
                "reaches all repositories of {}, present and future",
                cx.org
            )),
        );
    }
    if expires.is_none() {
        a.insert("never_expires".into(), json!(true));
    }
    let mut principals = Vec::new();
    if !owner.is_empty() {
        principals.push(json!({
            "principal": cx.user(owner),
            "can": ["issue", "rotate", "revoke", "use"],
            "via": ["token owner"],
        }));
    }
    principals.extend(cx.owner_principals(&["revoke"], "organization owner"));
    a.insert(
        "lifecycle_authority".into(),
        json!({
            "principals": principals,
            "note": format!(
                "The owner regenerates or deletes the token itself; organisation owners (and GitHub Apps with the organization_personal_access_tokens permission) revoke its access to this organisation.{}",
                cx.owners_note()
            ),
        }),
    );
    let mut ca = Attributes::new();
    ca.insert("token_type".into(), json!("github-fine-grained-pat"));
    if expires.is_none() {
        ca.insert("never_expires".into(), json!(true));
    }
    if let Some(v) = a.get("lifecycle_authority") {
        ca.insert("lifecycle_authority".into(), v.clone());
    }
    records.identities.push(Identity {
        id: id.clone(),
        kind: "github-fine-grained-pat".into(),
        source: SOURCE.into(),
        scope: cx.scope.clone(),
        name: name.clone(),
        account: Some(cx.org.clone()),
        status,
        privilege,
        created_at: granted,
        last_used_at: last_used,
        tags: BTreeMap::new(),
        attributes: a,
    });
    records.credentials.push(Credential {
        id: castellan_model::ids::credential_of(&id, "token"),
        identity_id: Some(id.clone()),
        kind: "token".into(),
        source: SOURCE.into(),
        scope: cx.scope.clone(),
        name,
        status,
        created_at: granted,
        last_rotated_at: granted,
        last_used_at: last_used,
        ever_used: Some(last_used.is_some()),
        expires_at: expires,
        fingerprint: None,
        preview: None,
        attributes: ca,
    });
    id
}

#[allow(clippy::too_many_arguments)]
fn deploy_key(
    path: &str,
    cx: &Ctx,
    repo: &str,
    k: &DeployKey,
    bundle: bool,
    index: usize,
    key_identity: &mut HashMap<String, String>,
    key_index: &mut HashMap<String, usize>,
    records: &mut Records,
) -> Result<(), SourceError> {
    let id = deploy_key_id(&cx.org, repo, k.id);
    let Some((cred_id, key_type)) = ssh_key_id(&k.key) else {
        return Err(SourceError::File {
            path: path.into(),
            message: format!(
                "{}: key is not an OpenSSH public key (`<type> <base64>`)",
                if bundle {
                    format!("deploy_keys.{repo}[id {}]", k.id)
                } else {
                    format!("[{index}]")
                }
            ),
        });
    };
    let status = if k.enabled == Some(false) {
        Status::Inactive
    } else {
        Status::Active
    };
    let (privilege, reason) = if k.read_only {
        (Privilege::Read, format!("read-only deploy key of {repo}"))
    } else {
        (
            Privilege::Write,
            format!("read-write deploy key: may push to {repo}"),
        )
    };
    let created = at(&k.created_at);
    let last_used = at(&k.last_used);
    let fingerprint = cred_id.trim_start_matches("ssh:sha256:").to_string();
    let mut a = Attributes::new();
    a.insert("repository".into(), json!(repo));
    a.insert("title".into(), json!(k.title));
    a.insert("read_only".into(), json!(k.read_only));
    if let Some(v) = k.verified {
        a.insert("verified".into(), json!(v));
    }
    if let Some(e) = k.enabled {
        a.insert("enabled".into(), json!(e));
    }
    a.insert("key_type".into(), json!(key_type));
    a.insert("fingerprint".into(), json!(format!("SHA256:{fingerprint}")));
    a.insert("credential".into(), json!(cred_id));
    a.insert("privilege_reason".into(), json!(reason));
    if !k.added_by.is_empty() {
        a.insert("added_by".into(), json!(k.added_by));
        a.insert("suggested_owner".into(), json!(k.added_by));
    }
    let principals = cx.owner_principals(
        &["issue", "revoke"],
        "organization owner (administrator of every repository)",
    );
    let authority = json!({
        "principals": principals,
        "note": format!(
            "Administrators of {repo} add and delete its deploy keys (repository administrators are not in this export); whoever holds the private key uses it. A key added with a PAT or OAuth token is deleted when that token is revoked.{}",
            cx.owners_note()
        ),
    });
    a.insert("lifecycle_authority".into(), authority.clone());
    records.identities.push(Identity {
        id: id.clone(),
        kind: "github-deploy-key".into(),
        source: SOURCE.into(),
        scope: cx.scope.clone(),
        name: format!("{repo}: {}", k.title),
        account: Some(cx.org.clone()),
        status,
        privilege,
        created_at: created,
        last_used_at: last_used,
        tags: BTreeMap::new(),
        attributes: a,
    });
    key_identity
        .entry(fingerprint.clone())
        .or_insert_with(|| id.clone());
    // The same public key on two repositories is one credential, deploy key of both.
    // The read-write key (the one that matters most) is the credential's identity.
    if let Some(&i) = key_index.get(&cred_id) {
        let c = &mut records.credentials[i];
        let primary_read_only = c.attributes.get("read_only") == Some(&json!(true));
        let other = if primary_read_only && !k.read_only {
            let old = c.identity_id.replace(id.clone()).unwrap_or_default();
            c.attributes.insert("read_only".into(), json!(false));
            c.attributes.insert("repository".into(), json!(repo));
            c.name = format!("deploy key {} of {repo}", k.title);
            key_identity.insert(fingerprint.clone(), id.clone());
            old
        } else {
            id.clone()
        };
        let also = c
            .attributes
            .entry("also_deploy_key_of".into())
            .or_insert_with(|| json!([]));
        if let Some(list) = also.as_array_mut() {
            list.push(json!(other));
        }
        // The key exists since it was first added to any of the repositories: its creation
        // (and last rotation) is the earliest of its deploy keys', whichever is listed first.
        c.created_at = match (c.created_at, created) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        c.last_rotated_at = c.created_at;
        c.last_used_at = c.last_used_at.max(last_used);
        if last_used.is_some() {
            c.ever_used = Some(true);
        }
        return Ok(());
    }
    let mut ca = Attributes::new();
    ca.insert("key_type".into(), json!(key_type));
    ca.insert("fingerprint".into(), json!(format!("SHA256:{fingerprint}")));
    ca.insert("repository".into(), json!(repo));
    ca.insert("read_only".into(), json!(k.read_only));
    ca.insert("lifecycle_authority".into(), authority);
    key_index.insert(cred_id.clone(), records.credentials.len());
    records.credentials.push(Credential {
        id: cred_id,
        identity_id: Some(id),
        kind: "ssh-key".into(),
        source: SOURCE.into(),
        scope: cx.scope.clone(),
        name: format!("deploy key {} of {repo}", k.title),
        status,
        created_at: created,
        last_rotated_at: created,
        last_used_at: last_used,
        ever_used: last_used.map(|_| true),
        expires_at: None,
        fingerprint: None,
        preview: None,
        attributes: ca,
    });
    Ok(())
}

fn actions_secret(cx: &Ctx, level: &str, s: &ActionsSecret, records: &mut Records) {
    let org_level = level == "org";
    let mut a = Attributes::new();
    a.insert("store".into(), json!("github-actions"));
    a.insert(
        "level".into(),
        json!(if org_level { "org" } else { "repo" }),
    );
    if !org_level {
        a.insert("repository".into(), json!(level));
    }
    if !s.visibility.is_empty() {
        a.insert("visibility".into(), json!(s.visibility));
    }
    if org_level && matches!(s.visibility.as_str(), "all" | "private") {
        a.insert(
            "broad_exposure".into(),
            json!(format!(
                "available to the workflows of {} repositories of {}",
                if s.visibility == "all" {
                    "all"
                } else {
                    "all private"
                },
                cx.org
            )),
        );
    }
    let principals = if org_level {
        cx.owner_principals(&["issue", "rotate", "revoke"], "organization owner")
    } else {
        cx.owner_principals(
            &["issue", "rotate", "revoke"],
            "organization owner (administrator of every repository)",
        )
    };
    a.insert(
        "lifecycle_authority".into(),
        json!({
            "principals": principals,
            "note": format!(
                "{} Every workflow that may read the secret uses it, so anyone who can push a workflow to those repositories can read it.{}",
                if org_level {
                    "Organisation owners create, update and delete organisation secrets."
                } else {
                    "Repository administrators create, update and delete repository secrets (they are not in this export)."
                },
                cx.owners_note()
            ),
        }),
    );
    let created = at(&s.created_at);
    records.credentials.push(Credential {
        id: secret_id(&cx.org, level, &s.name),
        identity_id: None,
        kind: "ci-secret".into(),
        source: SOURCE.into(),
        scope: cx.scope.clone(),
        name: s.name.clone(),
        status: Status::Active,
        created_at: created,
        last_rotated_at: at(&s.updated_at).or(created),
        last_used_at: None,
        ever_used: None,
        expires_at: None,
        fingerprint: None,
        preview: None,
        attributes: {
            if !s.selected_repositories_url.is_empty() {
                a.insert(
                    "selected_repositories_url".into(),
                    json!(s.selected_repositories_url),
                );
            }
            a
        },
    });
}

/// The Castellan action of a GitHub audit action, if it is a lifecycle event.
fn lifecycle_action(action: &str, programmatic: bool) -> Option<&'static str> {
    Some(match action {
        "personal_access_token.access_granted" => "issued",
        "personal_access_token.access_revoked" => "revoked",
        "deploy_key.create" => "issued",
        "deploy_key.delete" => "revoked",
        "integration_installation.create" | "integration_installation.unsuspend" => "issued",
        "integration_installation.delete" | "integration_installation.suspend" => "revoked",
        "integration_installation.repositories_added"
        | "integration_installation.repositories_removed"
        | "integration_installation.version_updated" => "privilege-changed",
        "org.create_actions_secret"
        | "repo.create_actions_secret"
        | "org.update_actions_secret"
        | "repo.update_actions_secret" => "issued",
        "org.remove_actions_secret" | "repo.remove_actions_secret" => "revoked",
        "org.update_actions_secret_visibility" | "org.update_actions_secret_repositories" => {
            "privilege-changed"
        }
        _ if programmatic => "used",
        _ => return None,
    })
}

fn audit_event(
    path: &str,
    cx: &Ctx,
    index: usize,
    e: &AuditEvent,
    installation_ids: &HashMap<String, String>,
    key_identity: &HashMap<String, String>,
) -> Result<Option<Event>, SourceError> {
    let programmatic = !e.programmatic_access_type.is_empty();
    let Some(action) = lifecycle_action(&e.action, programmatic) else {
        return Ok(None);
    };
    let Some(ms) = e.timestamp.or(e.created_at) else {
        return Err(SourceError::File {
            path: path.into(),
            message: format!(
                "audit event {index} ({}): has neither `@timestamp` nor `created_at`",
                show_value(&e.action)
            ),
        });
    };
    let Ok(when) = Timestamp::from_millisecond(ms) else {
        return Err(SourceError::File {
            path: path.into(),
            message: format!(
                "audit event {index}: `@timestamp` {ms} is not a time in milliseconds since 1970"
            ),
        });
    };
    let when = Timestamp::from_second(when.as_second()).unwrap_or(when);
    let repo = e.repo.rsplit('/').next().unwrap_or("").to_string();
    let mut identity = None;
    let mut credential = None;
    let prefix = e.action.split('.').next().unwrap_or("");
    let kind = e.programmatic_access_type.to_ascii_lowercase();
    let fp = [&e.deploy_key_fingerprint, &e.fingerprint]
        .into_iter()
        .find_map(|f| f.strip_prefix("SHA256:"))
        .map(|f| f.trim_end_matches('=').to_string());
    if prefix == "personal_access_token" || kind.contains("fine-grained") {
        if let Some(t) = &e.token_id.0 {
            let id = pat_id(&cx.org, t);
            credential = Some(castellan_model::ids::credential_of(&id, "token"));
            identity = Some(id);
        }
    } else if prefix == "deploy_key" || kind.contains("deploy key") {
        let fp = fp.or_else(|| {
            (kind.contains("deploy key") && !e.hashed_token.is_empty())
                .then(|| e.hashed_token.trim_end_matches('=').to_string())
        });
        if let Some(fp) = fp {
            identity = key_identity.get(&fp).cloned();
            credential = Some(format!("ssh:sha256:{fp}"));
        }
    } else if prefix == "integration_installation" || kind.contains("github app") {
        identity = e
            .installation_id
            .0
            .as_ref()
            .and_then(|i| installation_ids.get(i).cloned())
            .or_else(|| (!e.integration.is_empty()).then(|| app_id(&cx.org, &e.integration)));
    } else if e.action.ends_with("actions_secret") && !e.name.is_empty() {
        let level = if prefix == "org" {
            "org"
        } else {
            repo.as_str()
        };
        if !level.is_empty() {
            credential = Some(secret_id(&cx.org, level, &e.name));
        }
    }
    let id = if e.document_id.is_empty() {
        format!("github:{}:audit/{ms}:{}:{index}", cx.org, e.action)
    } else {
        format!("github:{}:audit/{}", cx.org, e.document_id)
    };
    let mut a = Attributes::new();
    a.insert("github_action".into(), json!(e.action));
    for (k, v) in [
        ("repository", &e.repo),
        ("user", &e.user),
        ("programmatic_access_type", &e.programmatic_access_type),
        ("hashed_token", &e.hashed_token),
        ("integration", &e.integration),
    ] {
        if !v.is_empty() {
            a.insert(k.into(), json!(v));
        }
    }
    if e.action.ends_with("update_actions_secret") {
        a.insert("rotation".into(), json!(true));
    }
    Ok(Some(Event {
        id,
        source: SOURCE.into(),
        at: when,
        action: action.into(),
        identity_id: identity,
        credential_id: credential,
        actor: (!e.actor.is_empty()).then(|| format!("github:{}", e.actor.to_ascii_lowercase())),
        attributes: a,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUNDLE: &[u8] = include_bytes!("../../castellan/tests/fixtures/github/acme-bundle.json");
    const KEYS: &[u8] =
        include_bytes!("../../castellan/tests/fixtures/github/deploy-keys-api.json");
    const INSTALLS: &[u8] =
        include_bytes!("../../castellan/tests/fixtures/github/installations.json");
    const PATS: &[u8] =
        include_bytes!("../../castellan/tests/fixtures/github/personal-access-tokens.json");
    const AUDIT: &[u8] = include_bytes!("../../castellan/tests/fixtures/github/audit-log.json");

    fn ident<'a>(r: &'a Records, id: &str) -> &'a Identity {
        r.identities.iter().find(|i| i.id == id).unwrap_or_else(|| {
            panic!(
                "no {id} in {:?}",
                r.identities.iter().map(|i| &i.id).collect::<Vec<_>>()
            )
        })
    }

    fn cred<'a>(r: &'a Records, id: &str) -> &'a Credential {
        r.credentials
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| {
                panic!(
                    "no {id} in {:?}",
                    r.credentials.iter().map(|c| &c.id).collect::<Vec<_>>()
                )
            })
    }

    fn ts(s: &str) -> Option<Timestamp> {
        Some(parse_ts(s).expect("ts"))
    }

    #[test]
    fn bundle_installations() {
        let r = parse("acme.json", BUNDLE).expect("parse");
        for i in &r.identities {
            assert_eq!(i.scope, "github:acme");
            assert_eq!(i.source, SOURCE);
        }
        // third-party app with admin permissions on all repositories
        let ci = ident(&r, "github:acme:app/shipfast-ci");
        assert_eq!(ci.kind, "github-app-installation");
        assert_eq!(ci.privilege, Privilege::Admin);
        assert!(
            ci.attributes["privilege_reason"]
                .as_str()
                .is_some_and(|s| s.contains("workflows: write")),
            "{:?}",
            ci.attributes["privilege_reason"]
        );
        assert_eq!(ci.attributes["third_party"], true);
        assert_eq!(ci.attributes["app_owner"], "shipfast-io");
        assert!(
            ci.attributes["external_trust"][0]
                .as_str()
                .is_some_and(|s| s.contains("shipfast-io"))
        );
        assert!(ci.attributes.contains_key("broad_exposure"));
        assert_eq!(ci.created_at, ts("2024-03-04T10:15:00Z"));
        let auth = &ci.attributes["lifecycle_authority"]["principals"];
        assert_eq!(auth[0]["principal"], "github:acme:user/alice-cto");
        assert_eq!(auth[0]["can"], json!(["issue", "revoke"]));
        assert!(
            auth.as_array()
                .expect("arr")
                .iter()
                .any(|p| p["principal"] == "github:shipfast-io" && p["can"] == json!(["use"]))
        );
        // in-house app: write, not third party, selected repositories
        let bot = ident(&r, "github:acme:app/acme-release-bot");
        assert_eq!(bot.privilege, Privilege::Write);
        assert_eq!(bot.attributes["third_party"], false);
        assert!(!bot.attributes.contains_key("external_trust"));
        assert!(!bot.attributes.contains_key("broad_exposure"));
        // read-only, suspended, owner unknown
        let lint = ident(&r, "github:acme:app/lintly");
        assert_eq!(lint.privilege, Privilege::Read);
        assert_eq!(lint.status, Status::Inactive);
        assert_eq!(lint.attributes["app_owner"], "unknown");
        assert!(!lint.attributes.contains_key("third_party"));
        assert_eq!(lint.attributes["suspended_by"], "alice-cto");
    }

    #[test]
    fn bundle_pats() {
        let r = parse("acme.json", BUNDLE).expect("parse");
        // never expiring, admin, org-wide
        let p = ident(&r, "github:acme:pat/9001");
        assert_eq!(p.kind, "github-fine-grained-pat");
        assert_eq!(p.privilege, Privilege::Admin);
        assert_eq!(p.attributes["suggested_owner"], "bob-ops");
        assert_eq!(p.attributes["never_expires"], true);
        assert!(p.attributes.contains_key("broad_exposure"));
        let auth = p.attributes["lifecycle_authority"]["principals"]
            .as_array()
            .expect("arr");
        assert_eq!(auth[0]["principal"], "github:acme:user/bob-ops");
        assert_eq!(auth[0]["can"], json!(["issue", "rotate", "revoke", "use"]));
        assert_eq!(auth[1]["principal"], "github:acme:user/alice-cto");
        assert_eq!(auth[1]["can"], json!(["revoke"]));
        let c = cred(&r, "github:acme:pat/9001/token");
        assert_eq!(c.identity_id.as_deref(), Some("github:acme:pat/9001"));
        assert_eq!(c.kind, "token");
        assert_eq!(c.expires_at, None);
        assert_eq!(c.attributes["never_expires"], true);
        assert_eq!(c.created_at, ts("2025-01-20T08:00:00Z"));
        assert_eq!(c.last_used_at, ts("2026-11-28T17:42:10Z"));
        assert_eq!(c.status, Status::Active);
        // expired
        let e = cred(&r, "github:acme:pat/9002/token");
        assert_eq!(e.status, Status::Expired);
        assert_eq!(e.expires_at, ts("2026-06-01T00:00:00Z"));
        assert_eq!(ident(&r, "github:acme:pat/9002").privilege, Privilege::Read);
        // dormant: never used, write
        let d = cred(&r, "github:acme:pat/9003/token");
        assert_eq!(d.ever_used, Some(false));
        assert_eq!(
            ident(&r, "github:acme:pat/9003").privilege,
            Privilege::Write
        );
        assert_eq!(d.status, Status::Active);
        // past its expiry date at the time of the export, even if GitHub's flag lags
        let later = String::from_utf8_lossy(BUNDLE).replacen(
            "\"exported_at\": \"2026-11-30T09:00:00Z\"",
            "\"exported_at\": \"2027-02-01T00:00:00Z\"",
            1,
        );
        let r = parse("acme.json", later.as_bytes()).expect("parse");
        assert_eq!(
            cred(&r, "github:acme:pat/9003/token").status,
            Status::Expired
        );
    }

    #[test]
    fn bundle_deploy_keys_and_secrets() {
        let r = parse("acme.json", BUNDLE).expect("parse");
        let dk = ident(&r, "github:acme:repo/web/deploy-key/501");
        assert_eq!(dk.kind, "github-deploy-key");
        assert_eq!(dk.privilege, Privilege::Write);
        assert_eq!(dk.attributes["suggested_owner"], "bob-ops");
        let ro = ident(&r, "github:acme:repo/infra/deploy-key/502");
        assert_eq!(ro.privilege, Privilege::Read);
        let off = ident(&r, "github:acme:repo/infra/deploy-key/503");
        assert_eq!(off.status, Status::Inactive);
        // credential id is the SSH SHA-256 fingerprint of the key blob
        let key = dk.attributes["credential"].as_str().expect("cred");
        assert!(
            key.starts_with("ssh:sha256:") && !key.ends_with('='),
            "{key}"
        );
        let c = cred(&r, key);
        assert_eq!(c.kind, "ssh-key");
        assert_eq!(
            c.identity_id.as_deref(),
            Some("github:acme:repo/web/deploy-key/501")
        );
        assert_eq!(c.expires_at, None);
        // the same key on two repositories is one credential
        assert_eq!(
            c.attributes["also_deploy_key_of"],
            json!(["github:acme:repo/docs/deploy-key/504"])
        );
        assert_eq!(r.credentials.iter().filter(|x| x.id == key).count(), 1);
        // created when first added (web, 09:00), although docs (09:05) is listed first
        assert_eq!(c.created_at, ts("2022-04-12T09:00:00Z"));
        assert_eq!(c.last_rotated_at, ts("2022-04-12T09:00:00Z"));
        assert_eq!(c.last_used_at, ts("2026-11-29T22:10:00Z"));

        let s = cred(&r, "github:acme:secret/org/NPM_TOKEN");
        assert_eq!(s.kind, "ci-secret");
        assert_eq!(s.identity_id, None);
        assert_eq!(s.attributes["store"], "github-actions");
        assert_eq!(s.last_rotated_at, ts("2023-02-01T09:00:00Z"));
        assert!(s.attributes.contains_key("broad_exposure"));
        let rs = cred(&r, "github:acme:secret/web/DEPLOY_SSH_KEY");
        assert_eq!(rs.attributes["repository"], "web");
        assert!(!rs.attributes.contains_key("broad_exposure"));
    }

    #[test]
    fn ssh_fingerprint_matches_ssh_keygen() {
        // `ssh-keygen -lf` of this key prints SHA256:48a6sDOuCk/iw+PFnIYXlWgYQR0I5OgJHyYHyYsp2ek
        let (id, kind) = ssh_key_id(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINH8kkZftDKOvDmzjDsjvVBgzNszFSPPISQYxehXppqv k1",
        )
        .expect("key");
        assert_eq!(kind, "ssh-ed25519");
        assert_eq!(id, "ssh:sha256:48a6sDOuCk/iw+PFnIYXlWgYQR0I5OgJHyYHyYsp2ek");
        assert!(ssh_key_id("ssh-rsa not-base64!").is_none());
        assert!(ssh_key_id("").is_none());
    }

    #[test]
    fn audit_events() {
        let r = parse("acme.json", BUNDLE).expect("parse");
        let ev = |id: &str| {
            r.events
                .iter()
                .find(|e| e.id == id)
                .unwrap_or_else(|| panic!("no {id} in {:?}", r.events))
        };
        let g = ev("github:acme:audit/GrAnT1");
        assert_eq!(g.action, "issued");
        assert_eq!(g.identity_id.as_deref(), Some("github:acme:pat/9001"));
        assert_eq!(g.at, ts("2025-01-20T08:00:00Z").expect("t"));
        assert_eq!(g.actor.as_deref(), Some("github:bob-ops"));
        assert_eq!(ev("github:acme:audit/ReVoKe2").action, "revoked");
        let k = ev("github:acme:audit/DkCr3");
        assert_eq!(k.action, "issued");
        assert!(
            k.credential_id
                .as_deref()
                .is_some_and(|c| c.starts_with("ssh:sha256:"))
        );
        assert_eq!(
            k.identity_id.as_deref(),
            Some("github:acme:repo/web/deploy-key/501")
        );
        let i = ev("github:acme:audit/InSt4");
        assert_eq!(i.action, "privilege-changed");
        assert_eq!(
            i.identity_id.as_deref(),
            Some("github:acme:app/shipfast-ci")
        );
        let s = ev("github:acme:audit/SeC5");
        assert_eq!(s.action, "issued");
        assert_eq!(
            s.credential_id.as_deref(),
            Some("github:acme:secret/org/NPM_TOKEN")
        );
        assert_eq!(s.attributes["rotation"], true);
        let u = ev("github:acme:audit/UsE6");
        assert_eq!(u.action, "used");
        assert_eq!(u.identity_id.as_deref(), Some("github:acme:pat/9001"));
        // a pending request is not a lifecycle event
        assert!(!r.events.iter().any(|e| e.id == "github:acme:audit/ReQ7"));
    }

    #[test]
    fn raw_responses_alone() {
        let r = parse("keys.json", KEYS).expect("keys");
        assert_eq!(r.identities.len(), 2);
        assert_eq!(
            r.identities[0].id,
            "github:acme:repo/payments/deploy-key/601"
        );
        assert_eq!(r.identities[0].scope, "github:acme");
        assert!(
            r.identities[0].attributes["lifecycle_authority"]["note"]
                .as_str()
                .is_some_and(|n| n.contains("not in this export"))
        );

        let r = parse("inst.json", INSTALLS).expect("installations");
        assert_eq!(r.identities.len(), 2);
        assert_eq!(r.identities[0].scope, "github:acme");

        // GitHub names a PAT grant's organisation only by number: see
        // a_raw_pat_list_names_its_organisation_only_by_number
        let e = parse("pats.json", PATS).expect_err("pats alone");
        assert!(e.to_string().contains("export-github.sh"), "{e}");

        let r = parse("audit.json", AUDIT).expect("audit");
        assert_eq!(r.events.len(), 2);
        assert_eq!(r.events[0].id, "github:acme:audit/AbC123");

        // gh api --paginate prints one array per page, back to back
        let mut two = KEYS.to_vec();
        two.extend_from_slice(b"\n[]\n");
        assert_eq!(parse("k.json", &two).expect("pages").identities.len(), 2);

        let e = parse("s.json", br#"{"total_count": 1, "secrets": [{"name": "X", "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"}]}"#)
            .expect_err("secrets alone");
        assert!(e.to_string().contains("export-github.sh"), "{e}");
    }

    #[test]
    fn a_raw_pat_list_names_its_organisation_only_by_number() {
        let text = String::from_utf8_lossy(PATS);
        assert!(
            text.contains("\"https://api.github.com/organizations/90010/personal-access-tokens/30001/repositories\""),
            "the fixture has the URL form GitHub returns"
        );
        // alone: refused, saying why and what to do, and naming no token
        let e = parse("pats.json", PATS).expect_err("no organisation login");
        let s = e.to_string();
        assert!(
            s.starts_with("pats.json: is a fine-grained PAT list"),
            "{s}"
        );
        assert!(s.contains("organisation id 90010"), "{s}");
        assert!(s.contains("scripts/export-github.sh ORG"), "{s}");
        assert!(s.contains("`github_org`"), "{s}");
        assert!(!s.contains("rerun-workflows"), "{s}");
        // recognised by content all the same, so `castellan run` names the source in the error
        assert!(looks_like(&text));
        // without any URL: still refused, pointing at the bundle
        let bare = text.replace(
            "https://api.github.com/organizations/90010/personal-access-tokens/30001/repositories",
            "",
        );
        let bare = bare.replace(
            "https://api.github.com/organizations/90010/personal-access-tokens/30002/repositories",
            "",
        );
        let e = parse("pats.json", bare.as_bytes()).expect_err("no URL");
        assert!(e.to_string().contains("export-github.sh"), "{e}");
        assert!(!e.to_string().contains("organisation id"), "{e}");

        // inside a bundle the organisation is `github_org`: the same list is read
        let bundle = format!(
            "{{\"github_org\": \"Acme\", \"exported_at\": \"2026-11-30T09:00:00Z\", \"personal_access_tokens\": {text}}}"
        );
        let r = parse("bundle.json", bundle.as_bytes()).expect("bundle");
        assert_eq!(
            r.identities
                .iter()
                .map(|i| i.id.as_str())
                .collect::<Vec<_>>(),
            ["github:acme:pat/7001", "github:acme:pat/7002"]
        );
        assert!(r.identities.iter().all(|i| i.scope == "github:acme"));
        let warehouse = ident(&r, "github:acme:pat/7002");
        assert_eq!(warehouse.privilege, Privilege::Admin);
        // the bundle fixture uses the real URL form too
        assert!(
            String::from_utf8_lossy(BUNDLE)
                .contains("/organizations/90010/personal-access-tokens/")
        );
        let r = parse("acme.json", BUNDLE).expect("bundle fixture");
        assert!(r.identities.iter().any(|i| i.id == "github:acme:pat/9001"));

        // another document of the same file that names the organisation is enough
        let mut both = INSTALLS.to_vec();
        both.push(b'\n');
        both.extend_from_slice(PATS);
        let r = parse("both.json", &both).expect("installations and PATs");
        assert!(r.identities.iter().any(|i| i.id == "github:acme:pat/7001"));
        // an `…/orgs/<org>/…` URL names it
        let named = text.replace("/organizations/90010/", "/orgs/acme/");
        let r = parse("pats.json", named.as_bytes()).expect("named");
        assert_eq!(r.identities.len(), 2);
        assert_eq!(r.identities[0].id, "github:acme:pat/7001");
        assert_eq!(
            org_number_in_url("https://api.github.com/organizations/90010/x"),
            Some("90010")
        );
        assert_eq!(
            org_number_in_url("https://api.github.com/organizations/acme/x"),
            None
        );
        assert_eq!(
            org_number_in_url("https://api.github.com/orgs/acme/x"),
            None
        );
    }

    #[test]
    fn recognised_by_content() {
        for f in [BUNDLE, KEYS, INSTALLS, PATS, AUDIT] {
            let head = String::from_utf8_lossy(&f[..f.len().min(8192)]);
            assert!(looks_like(&head), "{head}");
        }
        assert!(!looks_like(
            "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": []}"
        ));
        assert!(!looks_like("{\n    \"UserDetailList\": [\n"));
        assert!(!looks_like("user,arn,user_creation_time"));
        assert!(!looks_like("castellan: 1\nservices: []\n"));
        assert!(!looks_like(
            "{\"request_id\": \"x\", \"data\": {\"accessor\": \"a\"}}"
        ));
        assert!(!looks_like(
            "[{\"name\": \"projects/p/serviceAccounts/x/keys/1\", \"keyType\": \"USER_MANAGED\"}]"
        ));
    }

    #[test]
    fn bad_inputs() {
        let text = String::from_utf8_lossy(BUNDLE).to_string();
        let e = parse("b.json", &BUNDLE[..BUNDLE.len() / 2]).expect_err("truncated");
        assert!(e.to_string().contains("truncated"), "{e}");
        let e = parse("b.json", b"\xff\xfe\x00junk").expect_err("binary");
        assert!(e.to_string().contains("UTF-8"), "{e}");
        let e = parse("b.json", b"   ").expect_err("empty");
        assert!(e.to_string().contains("empty"), "{e}");
        let bad = text.replacen("\"read_only\": false", "\"read_only\": \"no\"", 1);
        let e = parse("b.json", bad.as_bytes()).expect_err("type");
        let s = e.to_string();
        assert!(
            s.contains("b.json:") && s.contains("deploy_keys.web[0].read_only"),
            "{s}"
        );
        let bad = text.replacen("2025-01-20T08:00:00Z", "last tuesday", 1);
        let e = parse("b.json", bad.as_bytes()).expect_err("date");
        assert!(e.to_string().contains("access_granted_at"), "{e}");
        let e = parse("b.json", b"{\"kind\": \"Other\"}").expect_err("other");
        assert!(e.to_string().contains("not a GitHub export"), "{e}");
        let mixed = format!(
            "{}\n{}",
            String::from_utf8_lossy(KEYS),
            "[{\"id\": 1, \"key\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINH8kkZftDKOvDmzjDsjvVBgzNszFSPPISQYxehXppqv\", \"url\": \"https://api.github.com/repos/other/x/keys/1\", \"read_only\": true}]"
        );
        let e = parse("m.json", mixed.as_bytes()).expect_err("mixed");
        assert!(e.to_string().contains("mixes organisations"), "{e}");
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        assert!(parse("d.json", deep.as_bytes()).is_err());
    }

    #[test]
    fn secrets_never_leak() {
        // Fields the API never returns, planted to check they are not read.
        let text = String::from_utf8_lossy(BUNDLE)
            .replacen(
                "\"name\": \"NPM_TOKEN\",",
                "\"name\": \"NPM_TOKEN\", \"value\": \"npm_PLANTEDsecretVALUE0123456789abcd\",",
                1,
            )
            .replacen(
                "\"app_slug\": \"shipfast-ci\",",
                "\"app_slug\": \"shipfast-ci\", \"token\": \"ghs_PLANTEDinstallationTOKEN0123456789\",",
                1,
            );
        assert!(text.contains("npm_PLANTED") && text.contains("ghs_PLANTED"));
        let r = parse("b.json", text.as_bytes()).expect("parse");
        let dbg = format!("{r:?}");
        let ser = serde_json::to_string(&r).expect("json");
        for s in ["npm_PLANTED", "ghs_PLANTED"] {
            assert!(!dbg.contains(s) && !ser.contains(s), "{s} leaked");
        }
        // a token pasted into a field of the wrong type is not echoed by the error
        let bad = String::from_utf8_lossy(BUNDLE).replacen(
            "\"read_only\": false",
            "\"read_only\": \"ghs_PLANTEDinstallationTOKEN0123456789\"",
            1,
        );
        let e = parse("b.json", bad.as_bytes()).expect_err("type");
        let s = e.to_string();
        assert!(s.contains("deploy_keys.web[0].read_only"), "{s}");
        assert!(!s.contains("PLANTEDinstallation"), "{s}");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,400}", b in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = parse("p.json", s.as_bytes());
            let _ = parse("p.json", &b);
            let _ = parse("p.json", format!("{{\"github_org\": \"acme\", {s}").as_bytes());
            let _ = parse("p.json", format!("[{{\"access_granted_at\": {s}").as_bytes());
        }
    }
}
