//! HashiCorp Vault / OpenBao: token accessor lookups and the file audit device's JSON lines.
//!
//! **Token lookups** — what `vault token lookup -format=json -accessor ACCESSOR` prints, one
//! object per file, several objects back to back, or a JSON array of them, e.g. from
//!
//! ```sh
//! vault list -format=json auth/token/accessors | jq -r '.[]' \
//!   | xargs -n1 vault token lookup -format=json -accessor > prod-tokens.json
//! ```
//!
//! Every token becomes a `vault-token` credential `vault:<cluster>:token/<accessor>` (the
//! accessor is not secret) of an identity — its identity entity
//! `vault:<cluster>:entity/<entity_id>`, or, without one, `vault:<cluster>:token-role/<display_name>`
//! — with its issue and expiry times, policies, auth path and orphan flag. A token with the
//! `root` policy is administrator-equivalent; one that never expires is marked `never_expires`
//! (a root token that never expires is the classic finding). The lookup's `data.id` is the token
//! itself when someone looked a token up by value: it is never read.
//!
//! **Audit log** — the file audit device's JSON lines (`type: request|response`). Each line
//! becomes at most one event (`used`, `failed-use`, `issued`, `revoked`, `privilege-changed`),
//! with the id `vault:<cluster>:audit/<request.id>:<type>`. HMAC'd values (`hmac-sha256:…`) stay
//! as they are; client tokens, request and response data and error texts are never kept. Every
//! token the log shows in successful use, with its accessor in the clear, also becomes a
//! `vault-token` credential sighting with the lookup's id, status `Unknown`, `last_used_at` =
//! its latest request Vault did not refuse, and the scope `vault:<cluster>:audit:<file name>`
//! (so the last use reaches the token's merged view, and no other import sweeps it).
//!
//! The cluster name comes from the caller ([`parse_for`]), else from a `"vault_cluster"` key in
//! a lookup object (add it with `jq '. + {vault_cluster: "prod"}'`), else from the file name
//! (`prod-tokens.json` ⇒ `prod-tokens`).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

use castellan_model::{Attributes, Credential, Event, Identity, Privilege, Status, parse_ts};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::json_input::{Lines, decode_at as decode, documents};
use crate::{Records, SourceError, show_value};

/// The source name.
pub const SOURCE: &str = "vault";

/// The cluster name used when neither the caller nor the file names one: the file name without
/// its extension, with anything but letters, digits, `-`, `_` and `.` replaced by `-`.
pub fn cluster_from_path(path: &str) -> String {
    let stem = Path::new(path)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("vault");
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if clean.is_empty() {
        "vault".into()
    } else {
        clean
    }
}

/// Whether the first bytes of a file look like Vault token lookups or audit-log lines.
pub fn looks_like(head: &str) -> bool {
    let t = head.trim_start_matches('\u{feff}').trim_start();
    if !t.starts_with('{') && !t.starts_with('[') {
        return false;
    }
    let compact: String = t
        .chars()
        .take(8192)
        .filter(|c| !c.is_whitespace())
        .collect();
    let audit = (compact.contains("\"type\":\"request\"")
        || compact.contains("\"type\":\"response\""))
        && compact.contains("\"request\":{");
    let lookup = compact.contains("\"accessor\":")
        && compact.contains("\"policies\":")
        && (compact.contains("\"creation_ttl\":") || compact.contains("\"explicit_max_ttl\":"));
    audit || lookup
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
#[derive(Clone, Copy, Debug, Default)]
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

/// Whether a string field was present and non-empty; the value itself is dropped unread.
#[derive(Clone, Copy, Debug, Default)]
struct NonEmpty(bool);

impl<'de> Deserialize<'de> for NonEmpty {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<NonEmpty, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = NonEmpty;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<NonEmpty, E> {
                Ok(NonEmpty(!s.is_empty()))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<NonEmpty, E> {
                Ok(NonEmpty(false))
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<NonEmpty, E> {
                Ok(NonEmpty(false))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Default, Deserialize)]
struct TokenData {
    #[serde(default, deserialize_with = "nullable")]
    accessor: String,
    creation_time: Option<i64>,
    creation_ttl: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    display_name: String,
    #[serde(default, deserialize_with = "nullable")]
    entity_id: String,
    #[serde(default)]
    expire_time: Ts,
    explicit_max_ttl: Option<i64>,
    /// The token itself when looked up by value: only whether it was there is kept.
    #[serde(default)]
    id: NonEmpty,
    #[serde(default)]
    issue_time: Ts,
    #[serde(default, deserialize_with = "nullable")]
    meta: BTreeMap<String, Option<String>>,
    num_uses: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    orphan: bool,
    #[serde(default, deserialize_with = "nullable")]
    path: String,
    #[serde(default, deserialize_with = "nullable")]
    policies: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    identity_policies: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    renewable: bool,
    ttl: Option<i64>,
    #[serde(default, rename = "type", deserialize_with = "nullable")]
    type_: String,
    period: Option<i64>,
    last_renewal_time: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
struct Lookup {
    #[serde(default, deserialize_with = "nullable")]
    vault_cluster: String,
    data: Option<TokenData>,
}

#[derive(Debug, Default, Deserialize)]
struct Namespace {
    #[serde(default, deserialize_with = "nullable")]
    path: String,
}

#[derive(Debug, Default, Deserialize)]
struct AuditAuth {
    #[serde(default, deserialize_with = "nullable")]
    accessor: String,
    #[serde(default, deserialize_with = "nullable")]
    display_name: String,
    #[serde(default, deserialize_with = "nullable")]
    entity_id: String,
    #[serde(default, deserialize_with = "nullable")]
    policies: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    token_policies: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    token_type: String,
}

#[derive(Debug, Default, Deserialize)]
struct AuditRequest {
    #[serde(default, deserialize_with = "nullable")]
    id: String,
    #[serde(default, deserialize_with = "nullable")]
    operation: String,
    #[serde(default, deserialize_with = "nullable")]
    path: String,
    #[serde(default, deserialize_with = "nullable")]
    remote_address: String,
    namespace: Option<Namespace>,
    #[serde(default, deserialize_with = "nullable")]
    mount_type: String,
}

/// Only the HTTP status of raw responses is read; other response data is skipped unread.
#[derive(Debug, Default, Deserialize)]
struct StatusOnly {
    #[serde(default)]
    http_status_code: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
struct AuditResponse {
    auth: Option<AuditAuth>,
    #[serde(default, deserialize_with = "nullable")]
    data: StatusOnly,
}

#[derive(Debug, Default, Deserialize)]
struct AuditLine {
    #[serde(default)]
    time: Ts,
    #[serde(default, rename = "type", deserialize_with = "nullable")]
    type_: String,
    auth: Option<AuditAuth>,
    request: Option<AuditRequest>,
    response: Option<AuditResponse>,
    /// Only whether there was an error, and whether it was a denial; the text may quote input.
    #[serde(default)]
    error: ErrorKind,
}

/// `permission denied`, `error`, or none.
#[derive(Clone, Copy, Debug, Default)]
struct ErrorKind(Option<&'static str>);

impl<'de> Deserialize<'de> for ErrorKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ErrorKind, D::Error> {
        error_kind(d).map(ErrorKind)
    }
}

fn error_kind<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'static str>, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = Option<&'static str>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an error string")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
            Ok(if s.is_empty() {
                None
            } else if s.to_ascii_lowercase().contains("permission denied") {
                Some("permission denied")
            } else {
                Some("error")
            })
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

// ---------------------------------------------------------------------------------------------
// Reading.

/// Whether a line (the file's first non-empty one) is an audit entry.
fn is_audit(line: &str) -> bool {
    #[derive(Deserialize)]
    struct Head {
        #[serde(rename = "type")]
        type_: Option<String>,
        request: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_str::<Head>(line.trim()).is_ok_and(|h| {
        h.request.is_some() && matches!(h.type_.as_deref(), Some("request" | "response"))
    })
}

// ---------------------------------------------------------------------------------------------
// Parsing.

/// Parses Vault token lookups or an audit log; the cluster comes from the file (a
/// `"vault_cluster"` key) or its name. See [`parse_for`].
pub fn parse(path: &str, bytes: &[u8]) -> Result<Records, SourceError> {
    parse_for(path, bytes, None)
}

/// Parses Vault token lookups or an audit log for the named cluster (`None`: a
/// `"vault_cluster"` key in the file, else the file name).
pub fn parse_for(path: &str, bytes: &[u8], cluster: Option<&str>) -> Result<Records, SourceError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(SourceError::File {
            path: path.into(),
            message: "is empty; expected `vault token lookup -format=json -accessor` output or a file audit log".into(),
        });
    }
    let cluster = cluster.map(str::to_string);
    let first = bytes
        .split(|&b| b == b'\n')
        .find(|l| !l.iter().all(u8::is_ascii_whitespace))
        .unwrap_or_default();
    if std::str::from_utf8(first).is_ok_and(is_audit) {
        let cluster = cluster.unwrap_or_else(|| cluster_from_path(path));
        return audit(path, bytes, &cluster);
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(SourceError::File {
            path: path.into(),
            message: "is not UTF-8 text; Vault token lookups and audit logs are JSON".into(),
        });
    };
    lookups(path, text, cluster)
}

fn check_cluster(path: &str, c: &str) -> Result<(), SourceError> {
    if c.is_empty()
        || c.len() > 100
        || !c
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'))
    {
        return Err(SourceError::Field {
            path: path.into(),
            line: 1,
            field: "vault_cluster".into(),
            message: format!(
                "{} is not a cluster name (letters, digits, `-`, `_`, `.`)",
                show_value(c)
            ),
        });
    }
    Ok(())
}

fn lookups(path: &str, text: &str, cluster: Option<String>) -> Result<Records, SourceError> {
    let mut found: Vec<(u64, Lookup)> = Vec::new();
    let mut lines = Lines::new(text.as_bytes());
    for raw in documents(path, text) {
        let raw = raw?;
        let line = lines.of(raw.get());
        let body = raw.get();
        if body.starts_with('[') {
            let items: Vec<&RawValue> = decode(path, body, line, "")?;
            for (i, item) in items.into_iter().enumerate() {
                let l = lines.of(item.get());
                if item.get().starts_with('"') {
                    return Err(SourceError::Field {
                        path: path.into(),
                        line: l,
                        field: format!("[{i}]"),
                        message: "is a string: this looks like `vault list auth/token/accessors`; look each accessor up with `vault token lookup -format=json -accessor`".into(),
                    });
                }
                found.push((l, decode(path, item.get(), l, &format!("[{i}]"))?));
            }
        } else if body.starts_with('{') {
            found.push((line, decode(path, body, line, "")?));
        } else {
            return Err(SourceError::Line {
                path: path.into(),
                line,
                message: "expected a JSON object (a token lookup) or an array of them".into(),
            });
        }
    }
    if found.is_empty() {
        return Err(SourceError::File {
            path: path.into(),
            message: "is empty; expected `vault token lookup -format=json -accessor` output".into(),
        });
    }
    let mut named: Option<String> = cluster;
    if named.is_none() {
        for (_, l) in &found {
            if l.vault_cluster.is_empty() {
                continue;
            }
            match &named {
                None => named = Some(l.vault_cluster.clone()),
                Some(c) if *c == l.vault_cluster => {}
                Some(c) => {
                    return Err(SourceError::File {
                        path: path.into(),
                        message: format!(
                            "mixes clusters {c} and {}; one file per cluster",
                            show_value(&l.vault_cluster)
                        ),
                    });
                }
            }
        }
    }
    let cluster = named.unwrap_or_else(|| cluster_from_path(path));
    check_cluster(path, &cluster)?;
    let scope = format!("vault:{cluster}");
    let mut records = Records::default();
    let mut identities: BTreeMap<String, Identity> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for (line, l) in found {
        let Some(d) = l.data else {
            return Err(SourceError::Field {
                path: path.into(),
                line,
                field: "data".into(),
                message: "is missing: not a `vault token lookup` response".into(),
            });
        };
        if d.accessor.is_empty() {
            return Err(SourceError::Field {
                path: path.into(),
                line,
                field: "data.accessor".into(),
                message: "is empty: every token lookup names the token's accessor".into(),
            });
        }
        if !seen.insert(d.accessor.clone()) {
            continue;
        }
        token(&cluster, &scope, d, &mut identities, &mut records);
    }
    records.identities = identities.into_values().collect();
    Ok(records)
}

fn secs(t: Option<i64>) -> Option<Timestamp> {
    t.and_then(|s| Timestamp::from_second(s).ok())
}

/// The privilege a token's policies prove, and why.
fn privilege_of(policies: &[String], identity_policies: &[String]) -> (Privilege, String) {
    if policies
        .iter()
        .chain(identity_policies)
        .any(|p| p == "root")
    {
        return (
            Privilege::Admin,
            "holds the root policy: every operation on every path".into(),
        );
    }
    let named: Vec<&String> = policies
        .iter()
        .chain(identity_policies)
        .filter(|p| *p != "default")
        .collect();
    if named.is_empty() {
        (
            Privilege::None,
            "only the default policy (look itself up, renew, revoke itself, its cubbyhole)".into(),
        )
    } else {
        let names: Vec<&str> = named.iter().map(|s| s.as_str()).collect();
        (
            Privilege::Unknown,
            format!(
                "policies {} are not in this export: their rules decide",
                names.join(", ")
            ),
        )
    }
}

fn identity_of(
    cluster: &str,
    entity_id: &str,
    display_name: &str,
) -> Option<(String, &'static str)> {
    if !entity_id.is_empty() {
        Some((
            format!("vault:{cluster}:entity/{entity_id}"),
            "vault-entity",
        ))
    } else if !display_name.is_empty() {
        Some((
            format!("vault:{cluster}:token-role/{display_name}"),
            "vault-token-role",
        ))
    } else {
        None
    }
}

fn token(
    cluster: &str,
    scope: &str,
    d: TokenData,
    identities: &mut BTreeMap<String, Identity>,
    records: &mut Records,
) {
    let issued = d.issue_time.0.or(secs(d.creation_time));
    let expires = d.expire_time.0;
    let never = expires.is_none();
    let (privilege, reason) = privilege_of(&d.policies, &d.identity_policies);
    let root = d.policies.iter().any(|p| p == "root");
    let cred_id = format!("vault:{cluster}:token/{}", d.accessor);
    let ident = identity_of(cluster, &d.entity_id, &d.display_name).unwrap_or_else(|| {
        (
            format!("vault:{cluster}:token-role/unnamed"),
            "vault-token-role",
        )
    });
    let mut a = Attributes::new();
    a.insert("accessor".into(), json!(d.accessor));
    a.insert("policies".into(), json!(d.policies));
    if !d.identity_policies.is_empty() {
        a.insert("identity_policies".into(), json!(d.identity_policies));
    }
    a.insert("auth_path".into(), json!(d.path));
    a.insert("orphan".into(), json!(d.orphan));
    a.insert("token_type".into(), json!(d.type_));
    a.insert("renewable".into(), json!(d.renewable));
    a.insert("display_name".into(), json!(d.display_name));
    if !d.entity_id.is_empty() {
        a.insert("entity_id".into(), json!(d.entity_id));
    }
    for (k, v) in [
        ("num_uses", d.num_uses),
        ("creation_ttl", d.creation_ttl),
        ("explicit_max_ttl", d.explicit_max_ttl),
        ("ttl", d.ttl),
        ("period", d.period),
    ] {
        if let Some(v) = v {
            a.insert(k.into(), json!(v));
        }
    }
    if let Some(t) = secs(d.last_renewal_time) {
        a.insert("last_renewal".into(), json!(castellan_model::format_ts(t)));
    }
    a.insert("privilege_reason".into(), json!(reason));
    if never {
        a.insert("never_expires".into(), json!(true));
    }
    if root {
        a.insert("root_token".into(), json!(true));
    }
    if d.id.0 {
        a.insert(
            "lookup_contained_token".into(),
            json!("the lookup was made by token value, so the export file holds the token itself (not kept here): delete the file, and look tokens up by accessor"),
        );
    }
    let mut principals = vec![json!({
        "principal": ident.0,
        "can": ["use", "revoke"],
        "via": ["the token itself (auth/token/revoke-self)"],
    })];
    if !d.orphan {
        principals.push(json!({
            "principal": "parent token",
            "can": ["revoke"],
            "via": ["revoking the parent token revokes its children"],
        }));
    }
    a.insert(
        "lifecycle_authority".into(),
        json!({
            "principals": principals,
            "note": "Anyone whose policies allow `update` on auth/token/revoke-accessor revokes it by accessor, and `sudo` on auth/token/create issues tokens; policies are not in this export.",
        }),
    );
    let tags: BTreeMap<String, String> = d
        .meta
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.clone(), v.clone())))
        .filter(|(_, v)| v.len() <= 256)
        .collect();
    records.credentials.push(Credential {
        id: cred_id,
        identity_id: Some(ident.0.clone()),
        kind: "vault-token".into(),
        source: SOURCE.into(),
        scope: scope.into(),
        name: if d.display_name.is_empty() {
            d.accessor.clone()
        } else {
            format!("{} ({})", d.display_name, d.accessor)
        },
        status: Status::Active,
        created_at: issued,
        last_rotated_at: issued,
        last_used_at: None,
        ever_used: None,
        expires_at: expires,
        fingerprint: None,
        preview: None,
        attributes: a,
    });
    let entry = identities.entry(ident.0.clone()).or_insert_with(|| {
        let mut ia = Attributes::new();
        ia.insert("policies".into(), json!([]));
        if !d.entity_id.is_empty() {
            ia.insert("entity_id".into(), json!(d.entity_id));
        }
        Identity {
            id: ident.0.clone(),
            kind: ident.1.into(),
            source: SOURCE.into(),
            scope: scope.into(),
            name: if d.display_name.is_empty() {
                d.entity_id.clone()
            } else {
                d.display_name.clone()
            },
            account: Some(cluster.into()),
            status: Status::Active,
            privilege: Privilege::Unknown,
            created_at: issued,
            last_used_at: None,
            tags: BTreeMap::new(),
            attributes: ia,
        }
    });
    // Merge: the highest privilege any token proves, every policy, the earliest issue.
    if !entry.attributes.contains_key("privilege_reason")
        || privilege.rank() > entry.privilege.rank()
    {
        entry.privilege = privilege;
        entry
            .attributes
            .insert("privilege_reason".into(), json!(reason));
    }
    entry.created_at = match (entry.created_at, issued) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let mut all: BTreeSet<String> = entry
        .attributes
        .get("policies")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    all.extend(d.policies.iter().cloned());
    all.extend(d.identity_policies.iter().cloned());
    entry.attributes.insert("policies".into(), json!(all));
    for (k, v) in tags {
        entry.tags.entry(k).or_insert(v);
    }
    if never && root {
        entry
            .attributes
            .insert("root_token_never_expires".into(), json!(true));
    }
}

// ---------------------------------------------------------------------------------------------
// Audit log.

fn path_is_issue(p: &str) -> bool {
    (p.starts_with("auth/") && p.split('/').nth(2).is_some_and(|s| s == "login"))
        || p.starts_with("auth/token/create")
}

fn path_is_revoke(p: &str) -> bool {
    p.starts_with("auth/token/revoke")
        || p.starts_with("sys/leases/revoke")
        || p.starts_with("sys/revoke")
}

fn path_is_policy(p: &str) -> bool {
    p.starts_with("sys/policy") || p.starts_with("sys/policies/acl")
}

fn audit(path: &str, bytes: &[u8], cluster: &str) -> Result<Records, SourceError> {
    check_cluster(path, cluster)?;
    let mut records = Records::default();
    let mut failed: HashSet<String> = HashSet::new();
    let mut uses: Vec<Use> = Vec::new();
    let mut refused: HashSet<String> = HashSet::new();
    for (n, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = n as u64 + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let Ok(text) = std::str::from_utf8(raw) else {
            return Err(SourceError::Line {
                path: path.into(),
                line,
                message: "is not UTF-8 text".into(),
            });
        };
        let entry: AuditLine = decode(path, text, line, "")?;
        let used = caller_use(&entry);
        if is_refused(&entry)
            && let Some(r) = entry.request.as_ref().filter(|r| !r.id.is_empty())
        {
            refused.insert(r.id.clone());
        }
        if let Some(ev) = audit_event(path, cluster, line, entry, &mut failed)? {
            records.events.push(ev);
        }
        uses.extend(used);
    }
    sightings(path, cluster, uses, &refused, &mut records);
    Ok(records)
}

/// A request an audit log shows a token making: the token was used then, unless Vault refused
/// the request.
struct Use {
    request: String,
    accessor: String,
    entity_id: String,
    display_name: String,
    at: Timestamp,
}

/// Whether Vault refused the request (`permission denied`, or HTTP 403).
fn is_refused(e: &AuditLine) -> bool {
    e.error.0 == Some("permission denied")
        || e.response
            .as_ref()
            .is_some_and(|r| r.data.http_status_code.as_ref().and_then(Value::as_i64) == Some(403))
}

/// The caller's use of its token on a `request` line whose accessor is in the clear (not
/// HMAC'd). The request's top-level `auth` is the caller's token; on a login response it is
/// the new token, which is issued, not used, so only request lines count.
fn caller_use(e: &AuditLine) -> Option<Use> {
    let auth = e.auth.as_ref()?;
    if e.type_ != "request" || auth.accessor.is_empty() || auth.accessor.starts_with("hmac-") {
        return None;
    }
    Some(Use {
        request: e.request.as_ref().map(|r| r.id.clone()).unwrap_or_default(),
        accessor: auth.accessor.clone(),
        entity_id: auth.entity_id.clone(),
        display_name: auth.display_name.clone(),
        at: e.time.0?,
    })
}

/// One `vault-token` sighting per token an audit log shows in successful use (any request made
/// with it that Vault did not refuse: a read, a write, a policy change, revoking or creating
/// other tokens), with `last_used_at` = its latest such request. The id is the one the lookup
/// import gives the token; the status is `Unknown` (a log does not say whether the token still
/// exists, so a lookup's status leads when both are read); the scope
/// `vault:<cluster>:audit:<file name>` is swept by no other log and no lookup. A token whose
/// accessor the audit device HMAC'd cannot be named and gets none.
fn sightings(
    path: &str,
    cluster: &str,
    uses: Vec<Use>,
    refused: &HashSet<String>,
    records: &mut Records,
) {
    let file = Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(path);
    let scope = format!("vault:{cluster}:audit:{file}");
    let mut tokens: BTreeMap<String, Credential> = BTreeMap::new();
    for u in uses {
        if !u.request.is_empty() && refused.contains(&u.request) {
            continue;
        }
        let id = format!("vault:{cluster}:token/{}", u.accessor);
        let c = tokens.entry(id.clone()).or_insert_with(|| {
            let mut a = Attributes::new();
            a.insert("accessor".into(), json!(u.accessor));
            if !u.display_name.is_empty() {
                a.insert("display_name".into(), json!(u.display_name));
            }
            Credential {
                id,
                identity_id: None,
                kind: "vault-token".into(),
                source: SOURCE.into(),
                scope: scope.clone(),
                name: if u.display_name.is_empty() {
                    u.accessor.clone()
                } else {
                    format!("{} ({})", u.display_name, u.accessor)
                },
                status: Status::Unknown,
                created_at: None,
                last_rotated_at: None,
                last_used_at: None,
                ever_used: Some(true),
                expires_at: None,
                fingerprint: None,
                preview: None,
                attributes: a,
            }
        });
        if c.identity_id.is_none() && !u.entity_id.is_empty() {
            c.identity_id = Some(format!("vault:{cluster}:entity/{}", u.entity_id));
        }
        c.last_used_at = Some(c.last_used_at.map_or(u.at, |t| t.max(u.at)));
    }
    records.credentials.extend(tokens.into_values());
}

fn hmac_or_id(cluster: &str, accessor: &str, a: &mut Attributes, key: &str) -> Option<String> {
    if accessor.is_empty() {
        None
    } else if accessor.starts_with("hmac-") {
        a.insert(key.into(), json!(accessor));
        None
    } else {
        Some(format!("vault:{cluster}:token/{accessor}"))
    }
}

fn audit_event(
    path: &str,
    cluster: &str,
    line: u64,
    e: AuditLine,
    failed: &mut HashSet<String>,
) -> Result<Option<Event>, SourceError> {
    let kind = e.type_.as_str();
    if !matches!(kind, "request" | "response") {
        return Err(SourceError::Field {
            path: path.into(),
            line,
            field: "type".into(),
            message: format!("is {}; expected request or response", show_value(kind)),
        });
    }
    let Some(req) = e.request else {
        return Err(SourceError::Field {
            path: path.into(),
            line,
            field: "request".into(),
            message: "is missing; every audit entry has a request".into(),
        });
    };
    let Some(at) = e.time.0 else {
        return Err(SourceError::Field {
            path: path.into(),
            line,
            field: "time".into(),
            message: "is missing".into(),
        });
    };
    let status_403 = e
        .response
        .as_ref()
        .is_some_and(|r| r.data.http_status_code.as_ref().and_then(Value::as_i64) == Some(403));
    let denied = e.error.0 == Some("permission denied") || status_403;
    let issue = path_is_issue(&req.path);
    let action = if denied {
        if !req.id.is_empty() && !failed.insert(req.id.clone()) {
            return Ok(None);
        }
        "failed-use"
    } else if issue {
        if kind != "response" || e.error.0.is_some() {
            return Ok(None);
        }
        "issued"
    } else if kind == "response" {
        return Ok(None);
    } else if path_is_revoke(&req.path) {
        "revoked"
    } else if path_is_policy(&req.path)
        && matches!(req.operation.as_str(), "create" | "update" | "delete")
    {
        "privilege-changed"
    } else {
        "used"
    };
    let auth = e.auth.unwrap_or_default();
    let mut a = Attributes::new();
    a.insert("vault_type".into(), json!(kind));
    a.insert("operation".into(), json!(req.operation));
    a.insert("path".into(), json!(req.path));
    for (k, v) in [
        ("remote_address", &req.remote_address),
        ("mount_type", &req.mount_type),
        ("token_type", &auth.token_type),
        ("display_name", &auth.display_name),
    ] {
        if !v.is_empty() {
            a.insert(k.into(), json!(v));
        }
    }
    if let Some(ns) = req.namespace.as_ref().filter(|n| !n.path.is_empty()) {
        a.insert("namespace".into(), json!(ns.path));
    }
    if !auth.policies.is_empty() {
        a.insert("policies".into(), json!(auth.policies));
    }
    if !auth.token_policies.is_empty() {
        a.insert("token_policies".into(), json!(auth.token_policies));
    }
    if let Some(k) = e.error.0 {
        a.insert("error".into(), json!(k));
    }
    if status_403 {
        a.insert("http_status".into(), json!(403));
    }
    let caller_identity = identity_of(cluster, &auth.entity_id, &auth.display_name).map(|i| i.0);
    let caller_credential = hmac_or_id(cluster, &auth.accessor, &mut a, "accessor_hmac");
    let (identity, credential, actor) = if action == "issued" {
        let new = e.response.and_then(|r| r.auth).unwrap_or_default();
        let id = identity_of(cluster, &new.entity_id, &new.display_name).map(|i| i.0);
        let cred = hmac_or_id(cluster, &new.accessor, &mut a, "issued_accessor_hmac");
        if !new.policies.is_empty() {
            a.insert("issued_policies".into(), json!(new.policies));
        }
        (
            id,
            cred,
            caller_identity
                .or_else(|| (!req.remote_address.is_empty()).then(|| req.remote_address.clone())),
        )
    } else if action == "revoked" && req.path != "auth/token/revoke-self" {
        // The caller revoked another token (`revoke-accessor`, `revoke`, `revoke-orphan`) or a
        // lease: what it revoked is named only in the request data, which is not read (and is
        // HMAC'd by default). The caller is the actor, not the subject: its own token lives on.
        (None, None, caller_identity)
    } else {
        (caller_identity.clone(), caller_credential, caller_identity)
    };
    let id = if req.id.is_empty() {
        format!("vault:{cluster}:audit/line-{line}")
    } else {
        format!("vault:{cluster}:audit/{}:{kind}", req.id)
    };
    Ok(Some(Event {
        id,
        source: SOURCE.into(),
        at,
        action: action.into(),
        identity_id: identity,
        credential_id: credential,
        actor,
        attributes: a,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKENS: &[u8] = include_bytes!("../../castellan/tests/fixtures/vault/prod-tokens.json");
    const AUDIT: &[u8] = include_bytes!("../../castellan/tests/fixtures/vault/audit.log");

    fn ts(s: &str) -> Option<Timestamp> {
        Some(parse_ts(s).expect("ts"))
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

    fn ident<'a>(r: &'a Records, id: &str) -> &'a Identity {
        r.identities.iter().find(|c| c.id == id).unwrap_or_else(|| {
            panic!(
                "no {id} in {:?}",
                r.identities.iter().map(|c| &c.id).collect::<Vec<_>>()
            )
        })
    }

    #[test]
    fn token_lookups() {
        let r = parse("/estate/vault/prod-tokens.json", TOKENS).expect("parse");
        // cluster from the `vault_cluster` key
        for c in &r.credentials {
            assert_eq!(c.scope, "vault:prod");
            assert_eq!(c.kind, "vault-token");
        }
        // the classic finding: a root token that never expires
        let root = cred(&r, "vault:prod:token/8cRyUlDkuRSxi8IcNp5oAQXV");
        assert_eq!(root.expires_at, None);
        assert_eq!(root.attributes["never_expires"], true);
        assert_eq!(root.attributes["root_token"], true);
        assert_eq!(root.created_at, ts("2021-03-10T08:00:00Z"));
        let rid = ident(&r, "vault:prod:token-role/root");
        assert_eq!(rid.privilege, Privilege::Admin);
        assert_eq!(rid.attributes["root_token_never_expires"], true);
        // an approle token of an entity, expiring, with named policies
        let ci = cred(&r, "vault:prod:token/X6b0Ct3QzNwGcFqN2Oe9J1Zk");
        assert_eq!(
            ci.identity_id.as_deref(),
            Some("vault:prod:entity/5a1e42d3-7c7f-0b2a-55e1-1f3ad0c6c9b1")
        );
        assert_eq!(ci.expires_at, ts("2026-12-01T09:00:00Z"));
        assert_eq!(ci.created_at, ts("2026-11-30T09:00:00Z"));
        assert_eq!(ci.attributes["auth_path"], "auth/approle/login");
        assert_eq!(ci.attributes["orphan"], true);
        assert!(!ci.attributes.contains_key("never_expires"));
        let ent = ident(&r, "vault:prod:entity/5a1e42d3-7c7f-0b2a-55e1-1f3ad0c6c9b1");
        assert_eq!(ent.kind, "vault-entity");
        assert_eq!(ent.privilege, Privilege::Unknown);
        assert_eq!(ent.tags["role_name"], "ci-deployer");
        let la = &ci.attributes["lifecycle_authority"]["principals"];
        assert_eq!(la[0]["can"], json!(["use", "revoke"]));
        // a service token with only the default policy, child of another token
        let d = cred(&r, "vault:prod:token/Q1w2E3r4T5y6U7i8O9p0AaSs");
        assert_eq!(
            ident(&r, "vault:prod:token-role/token-legacy-backup").privilege,
            Privilege::None
        );
        assert_eq!(
            d.attributes["lifecycle_authority"]["principals"][1]["principal"],
            "parent token"
        );
        assert_eq!(d.attributes["never_expires"], true);
    }

    #[test]
    fn cluster_names() {
        let one = br#"{"request_id": "r", "lease_id": "", "renewable": false, "lease_duration": 0,
          "data": {"accessor": "abc", "creation_time": 1700000000, "creation_ttl": 0, "display_name": "root",
                   "entity_id": "", "expire_time": null, "explicit_max_ttl": 0, "id": "", "issue_time": "2023-11-14T22:13:20Z",
                   "meta": null, "num_uses": 0, "orphan": true, "path": "auth/token/root", "policies": ["root"],
                   "renewable": false, "ttl": 0, "type": "service"}, "warnings": null}"#;
        let r = parse("/x/eu west.json", one).expect("parse");
        assert_eq!(r.credentials[0].id, "vault:eu-west:token/abc");
        let r = parse_for("/x/eu.json", one, Some("stage")).expect("parse");
        assert_eq!(r.credentials[0].scope, "vault:stage");
        assert!(parse_for("/x/eu.json", one, Some("bad name!")).is_err());
        assert_eq!(cluster_from_path("prod-tokens.json"), "prod-tokens");
    }

    #[test]
    fn audit_log_events() {
        let r = parse_for("audit.log", AUDIT, Some("prod")).expect("parse");
        let ev = |id: &str| {
            r.events.iter().find(|e| e.id == id).unwrap_or_else(|| {
                panic!(
                    "no {id} in {:#?}",
                    r.events
                        .iter()
                        .map(|e| (&e.id, &e.action))
                        .collect::<Vec<_>>()
                )
            })
        };
        let login = ev("vault:prod:audit/2b1c4f0e-1111-4a2b-9c3d-000000000001:response");
        assert_eq!(login.action, "issued");
        assert_eq!(
            login.identity_id.as_deref(),
            Some("vault:prod:entity/5a1e42d3-7c7f-0b2a-55e1-1f3ad0c6c9b1")
        );
        assert!(
            login.attributes["issued_accessor_hmac"]
                .as_str()
                .is_some_and(|s| s.starts_with("hmac-sha256:"))
        );
        assert_eq!(login.at, ts("2026-11-30T09:00:00Z").expect("t"));
        // the login request line is not a second event
        assert!(
            !r.events
                .iter()
                .any(|e| e.id == "vault:prod:audit/2b1c4f0e-1111-4a2b-9c3d-000000000001:request")
        );
        let read = ev("vault:prod:audit/2b1c4f0e-1111-4a2b-9c3d-000000000002:request");
        assert_eq!(read.action, "used");
        assert_eq!(read.attributes["path"], "secret/data/payments/db");
        assert!(
            read.attributes["accessor_hmac"]
                .as_str()
                .is_some_and(|s| s.starts_with("hmac-sha256:"))
        );
        let denied = ev("vault:prod:audit/2b1c4f0e-1111-4a2b-9c3d-000000000003:request");
        assert_eq!(denied.action, "failed-use");
        assert_eq!(denied.attributes["error"], "permission denied");
        // its response line is the same failure, not a second one
        assert!(
            !r.events
                .iter()
                .any(|e| e.id == "vault:prod:audit/2b1c4f0e-1111-4a2b-9c3d-000000000003:response")
        );
        let pol = ev("vault:prod:audit/2b1c4f0e-1111-4a2b-9c3d-000000000004:request");
        assert_eq!(pol.action, "privilege-changed");
        assert_eq!(
            pol.identity_id.as_deref(),
            Some("vault:prod:token-role/root")
        );
        // the root token (its accessor in the clear: hmac_accessor=false) revokes another token
        // by accessor: the root token is the actor, not what was revoked (it creates a token a
        // minute later)
        let rev = ev("vault:prod:audit/2b1c4f0e-1111-4a2b-9c3d-000000000005:request");
        assert_eq!(rev.action, "revoked");
        assert_eq!(rev.credential_id, None);
        assert_eq!(rev.identity_id, None);
        assert_eq!(rev.actor.as_deref(), Some("vault:prod:token-role/root"));
        assert_eq!(rev.attributes["path"], "auth/token/revoke-accessor");
        assert_eq!(rev.attributes["namespace"], "ops/");
        // revoke-self revokes the caller's own token: with a clear accessor, that credential
        let own = br#"{"time":"2026-11-30T11:00:00Z","type":"request","auth":{"accessor":"8cRyUlDkuRSxi8IcNp5oAQXV","display_name":"root","policies":["root"]},"request":{"id":"r-self","operation":"update","path":"auth/token/revoke-self"}}"#;
        let own = parse_for("own.log", own, Some("prod")).expect("parse");
        assert_eq!(own.events[0].action, "revoked");
        assert_eq!(
            own.events[0].credential_id.as_deref(),
            Some("vault:prod:token/8cRyUlDkuRSxi8IcNp5oAQXV")
        );
        assert_eq!(
            own.events[0].identity_id.as_deref(),
            Some("vault:prod:token-role/root")
        );
        let create = ev("vault:prod:audit/2b1c4f0e-1111-4a2b-9c3d-000000000006:response");
        assert_eq!(create.action, "issued");
        assert_eq!(create.actor.as_deref(), Some("vault:prod:token-role/root"));
        assert_eq!(r.events.len(), 6, "{:#?}", r.events);
    }

    #[test]
    fn audit_log_token_sightings() {
        // the fixture HMACs every accessor but the root token's, which revokes another token
        let r = parse_for("/var/log/vault/audit.log", AUDIT, Some("prod")).expect("parse");
        assert_eq!(
            r.credentials
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>(),
            ["vault:prod:token/8cRyUlDkuRSxi8IcNp5oAQXV"]
        );
        let root = &r.credentials[0];
        assert_eq!(root.kind, "vault-token");
        assert_eq!(root.source, "vault");
        assert_eq!(root.scope, "vault:prod:audit:audit.log");
        assert_eq!(root.status, Status::Unknown);
        assert_eq!(root.last_used_at, ts("2026-11-30T10:05:00.000100Z"));
        assert_eq!(root.ever_used, Some(true));
        assert_eq!(root.identity_id, None, "the line names no entity");
        assert_eq!(root.attributes["accessor"], "8cRyUlDkuRSxi8IcNp5oAQXV");
        assert_eq!(root.name, "root (8cRyUlDkuRSxi8IcNp5oAQXV)");
        assert!(r.identities.is_empty());

        let line = |time: &str, id: &str, accessor: &str, entity: &str, path: &str, tail: &str| {
            format!(
                r#"{{"time":"{time}","type":"request","auth":{{"client_token":"hmac-sha256:aa","accessor":"{accessor}","display_name":"approle","entity_id":"{entity}","policies":["ci"]}},"request":{{"id":"{id}","operation":"read","path":"{path}"}}{tail}}}"#
            )
        };
        let log = [
            line("2026-11-01T08:00:00Z", "r1", "tokA", "", "secret/data/a", ""),
            line("2026-11-20T08:00:00Z", "r2", "tokA", "ent-1", "secret/data/a", ""),
            line("2026-11-05T08:00:00Z", "r3", "tokA", "ent-1", "secret/data/b", ""),
            // refused later: not a use
            line("2026-11-25T08:00:00Z", "r4", "tokA", "ent-1", "secret/data/c", r#","error":"1 error occurred:\n\t* permission denied\n\n""#),
            // refused in the response only (HTTP 403): not a use either
            line("2026-11-26T08:00:00Z", "r5", "tokA", "ent-1", "secret/data/d", ""),
            r#"{"time":"2026-11-26T08:00:01Z","type":"response","auth":{"accessor":"tokA","entity_id":"ent-1"},"request":{"id":"r5","operation":"read","path":"secret/data/d"},"response":{"data":{"http_status_code":403}}}"#.to_string(),
            // an error that is not a refusal: the token was still used
            line("2026-11-21T08:00:00Z", "r6", "tokB", "", "auth/token/revoke-accessor", r#","error":"invalid accessor""#),
            // only ever refused: no sighting
            line("2026-11-22T08:00:00Z", "r7", "tokC", "", "secret/data/a", r#","error":"permission denied""#),
            // HMAC'd: cannot be named
            line("2026-11-23T08:00:00Z", "r8", "hmac-sha256:0123", "", "secret/data/a", ""),
            // a login: its response's `auth` is the new token, issued and not used
            r#"{"time":"2026-11-24T08:00:00Z","type":"response","auth":{"accessor":"tokNew","display_name":"approle"},"request":{"id":"r9","operation":"update","path":"auth/approle/login"},"response":{"auth":{"accessor":"tokNew","display_name":"approle"}}}"#.to_string(),
        ]
        .join("\n");
        let r = parse_for("logs/prod-audit.log", log.as_bytes(), Some("prod")).expect("parse");
        assert_eq!(
            r.credentials
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>(),
            ["vault:prod:token/tokA", "vault:prod:token/tokB"]
        );
        let a = cred(&r, "vault:prod:token/tokA");
        assert_eq!(
            a.last_used_at,
            ts("2026-11-20T08:00:00Z"),
            "latest successful use"
        );
        assert_eq!(a.identity_id.as_deref(), Some("vault:prod:entity/ent-1"));
        assert_eq!(a.scope, "vault:prod:audit:prod-audit.log");
        assert_eq!(a.ever_used, Some(true));
        let b = cred(&r, "vault:prod:token/tokB");
        assert_eq!(b.last_used_at, ts("2026-11-21T08:00:00Z"));
        assert_eq!(b.identity_id, None);
        // the events are unchanged by the sightings
        assert_eq!(
            r.events.iter().filter(|e| e.action == "failed-use").count(),
            3
        );
    }

    #[test]
    fn the_example_estate_log_names_the_looked_up_tokens() {
        const TOKENS: &[u8] = include_bytes!("../../../examples/estate/vault/prod-tokens.json");
        const LOG: &[u8] = include_bytes!("../../../examples/estate/vault/prod.log");
        let lookup = parse("examples/estate/vault/prod-tokens.json", TOKENS).expect("tokens");
        let log = parse("examples/estate/vault/prod.log", LOG).expect("log");
        // the same ids, in another scope, so neither import sweeps the other's
        for c in &log.credentials {
            let l = cred(&lookup, &c.id);
            assert_eq!(l.status, Status::Active);
            assert_eq!(c.status, Status::Unknown, "the lookup's status leads");
            assert_eq!(c.scope, "vault:prod:audit:prod.log");
            assert_ne!(c.scope, l.scope);
            if let Some(i) = &c.identity_id {
                assert_eq!(l.identity_id.as_ref(), Some(i), "{}", c.id);
            }
        }
        let used = |id: &str| cred(&log, id).last_used_at;
        assert_eq!(
            used("vault:prod:token/gOUshRCVM2I4jsYW8ZidMJeu"),
            ts("2026-11-27T16:40:12.118204Z")
        );
        // its later requests were refused
        assert_eq!(
            used("vault:prod:token/6qTbALMmrBcjiaGq99bkJyYK"),
            ts("2026-12-01T02:58:44.601877Z")
        );
        assert_eq!(
            used("vault:prod:token/hf850cPYquAhv4NzsorI6km8"),
            ts("2026-12-01T08:15:02.391562Z")
        );
        assert_eq!(
            cred(&log, "vault:prod:token/hf850cPYquAhv4NzsorI6km8")
                .identity_id
                .as_deref(),
            Some("vault:prod:entity/17db9cbd-5c65-4cf2-b3ca-5ff139d9031b")
        );
        assert_eq!(log.credentials.len(), lookup.credentials.len());
    }

    #[test]
    fn recognised_by_content() {
        assert!(looks_like(&String::from_utf8_lossy(TOKENS)));
        assert!(looks_like(&String::from_utf8_lossy(
            &AUDIT[..AUDIT.len().min(8192)]
        )));
        assert!(!looks_like(
            "{\"github_org\": \"acme\", \"installations\": []}"
        ));
        assert!(!looks_like(
            "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": []}"
        ));
        assert!(!looks_like("{\n    \"UserDetailList\": [\n"));
        assert!(!looks_like("castellan: 1\n"));
        assert!(!looks_like("user,arn,user_creation_time"));
        assert!(!looks_like(
            "[{\"@timestamp\": 1, \"action\": \"repo.create\", \"_document_id\": \"x\"}]"
        ));
    }

    #[test]
    fn bad_inputs() {
        let e = parse("t.json", &TOKENS[..TOKENS.len() / 2]).expect_err("truncated");
        assert!(e.to_string().contains("truncated"), "{e}");
        let e = parse("t.json", b"\xff\xfe\x00junk").expect_err("binary");
        assert!(e.to_string().contains("UTF-8"), "{e}");
        let e = parse("t.json", b"\n  \n").expect_err("empty");
        assert!(e.to_string().contains("empty"), "{e}");
        let bad =
            String::from_utf8_lossy(TOKENS).replacen("\"orphan\": true", "\"orphan\": \"yes\"", 1);
        let e = parse("t.json", bad.as_bytes()).expect_err("type");
        let s = e.to_string();
        assert!(s.contains("t.json:") && s.contains("data.orphan"), "{s}");
        let e = parse("l.json", br#"["abc", "def"]"#).expect_err("list");
        assert!(e.to_string().contains("vault token lookup"), "{e}");
        // a malformed audit line names file and line
        let mut log = String::from_utf8_lossy(AUDIT).to_string();
        let lines = log.lines().count();
        log.push_str(
            "{\"time\":\"2026-11-30T10:00:00Z\",\"type\":\"request\",\"request\":{\"id\":\"z\"\n",
        );
        let e = parse("a.log", log.as_bytes()).expect_err("bad line");
        assert!(
            e.to_string().starts_with(&format!("a.log:{}:", lines + 1)),
            "{e}"
        );
        let bad = String::from_utf8_lossy(AUDIT).replacen(
            "\"time\":\"2026-11-30T09:00:03.120044Z\"",
            "\"time\":\"soon\"",
            1,
        );
        let e = parse("a.log", bad.as_bytes()).expect_err("time");
        assert!(e.to_string().contains("time"), "{e}");
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        assert!(parse("d.json", deep.as_bytes()).is_err());
    }

    #[test]
    fn secrets_never_leak() {
        // A lookup by token value carries the token in data.id; a log_raw audit device writes raw
        // tokens and request data; error texts may quote input.
        let tokens = String::from_utf8_lossy(TOKENS).replacen(
            "\"id\": \"\"",
            "\"id\": \"hvs.PLANTEDtokenVALUEaaaaaaaaaaaaaaaaaa\"",
            1,
        );
        assert!(tokens.contains("hvs.PLANTED"));
        let r = parse("t.json", tokens.as_bytes()).expect("parse");
        assert!(
            r.credentials
                .iter()
                .any(|c| c.attributes.contains_key("lookup_contained_token"))
        );
        let raw_log = concat!(
            r#"{"time":"2026-11-30T11:00:00Z","type":"request","auth":{"client_token":"hvs.PLANTEDrawCLIENTtoken0000000000","accessor":"plainAccessor1","display_name":"approle","policies":["default"],"token_type":"service"},"request":{"id":"r-1","operation":"update","path":"secret/data/x","client_token":"hvs.PLANTEDrawCLIENTtoken0000000000","data":{"password":"PLANTEDpassword123"},"remote_address":"10.0.0.9"},"error":"1 error occurred: PLANTEDerrorQUOTE"}"#,
            "\n",
            r#"{"time":"2026-11-30T11:00:01Z","type":"response","auth":{"accessor":"plainAccessor1","display_name":"approle"},"request":{"id":"r-2","operation":"update","path":"auth/approle/login","data":{"secret_id":"PLANTEDsecretID"}},"response":{"auth":{"client_token":"hvs.PLANTEDnewTOKEN00000000000000","accessor":"newAccessor","display_name":"approle-ci","policies":["ci"]},"data":{"http_status_code":200}}}"#,
            "\n"
        );
        // a token pasted into a field of the wrong type is not echoed by the error
        let bad = String::from_utf8_lossy(TOKENS).replacen(
            "\"orphan\": true",
            "\"orphan\": \"hvs.PLANTEDtokenVALUEaaaaaaaaaaaaaaaaaa\"",
            1,
        );
        let e = parse("t.json", bad.as_bytes()).expect_err("type");
        assert!(e.to_string().contains("data.orphan"), "{e}");
        assert!(!e.to_string().contains("PLANTED"), "{e}");
        let a = parse_for("a.log", raw_log.as_bytes(), Some("prod")).expect("parse");
        assert_eq!(a.events.len(), 2);
        assert_eq!(
            a.events[1].credential_id.as_deref(),
            Some("vault:prod:token/newAccessor")
        );
        for rec in [&r, &a] {
            let dbg = format!("{rec:?}");
            let ser = serde_json::to_string(rec).expect("json");
            assert!(
                !dbg.contains("PLANTED") && !ser.contains("PLANTED"),
                "secret leaked: {ser}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,400}", b in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = parse("p.json", s.as_bytes());
            let _ = parse("p.json", &b);
            let _ = parse("p.json", format!("{{\"data\": {{\"accessor\": \"a\", {s}").as_bytes());
            let _ = parse("a.log", format!("{{\"type\":\"request\",\"request\":{{}}}}\n{s}").as_bytes());
        }
    }
}
