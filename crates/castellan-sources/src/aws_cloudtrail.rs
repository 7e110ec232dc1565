//! AWS CloudTrail: the log files a trail delivers to S3 (`{"Records": […]}`, gzip-compressed as
//! they lie in the bucket, or decompressed), and the `aws cloudtrail lookup-events` output
//! (`{"Events": [{…, "CloudTrailEvent": "<record as a JSON string>"}]}`).
//!
//! Every record becomes lifecycle [`Event`]s of the identities and credentials it concerns:
//!
//! | action | from |
//! |---|---|
//! | `issued` | `CreateAccessKey`, `CreateUser`, `CreateRole`, `CreateLoginProfile`, `CreateServiceSpecificCredential`, `UploadSSHPublicKey`, `UploadSigningCertificate`, `UploadServerCertificate` (subject: the target user or role) |
//! | `privilege-changed` | `Attach/Detach/Put/Delete` `User/Role/Group` `Policy`, `UpdateAssumeRolePolicy`, `AddUserToGroup`, `RemoveUserFromGroup`, permissions boundaries, `CreatePolicyVersion`, `SetDefaultPolicyVersion` |
//! | `revoked` | `UpdateAccessKey` / `UpdateSSHPublicKey` / `UpdateSigningCertificate` to `Inactive`, `DeleteAccessKey`, `DeleteLoginProfile`, `DeleteSSHPublicKey`, `DeleteUser`, `DeleteRole`, `DeleteServiceSpecificCredential`, `DeleteSigningCertificate`, `DeleteServerCertificate` |
//! | `reactivated` | `UpdateAccessKey` (and the SSH/signing twins) back to `Active` |
//! | `failed-use` | an `errorCode` of access denied / unauthorised / invalid credentials, or `ConsoleLogin` with `Failure` |
//! | `human-use` | `ConsoleLogin` success, or a request with a web-browser user agent |
//! | `used` | every other record made with a credential of an IAM user, role or root (STS `AssumeRole*` and `GetSessionToken` included, with the role assumed and the session key issued) |
//!
//! Records made by AWS services on their own behalf (`userIdentity.type` `AWSService`) are not
//! lifecycle events of any identity of the account and are left out, and so are records without
//! an `eventID`.
//!
//! Ids: the event is `cloudtrail:<eventID>` (a second event `cloudtrail:<eventID>#target` is made
//! when a record acts on another identity, e.g. `CreateAccessKey` for another user, and
//! `cloudtrail:<eventID>#role` for the role an `AssumeRole` call assumed). The credential of a
//! long-term access key (`AKIA…`) is named `aws:<account>:access-key/<AKIA…>`; the import
//! resolves it to the inventory's credential when the key id is known there (the
//! `access_key_id` attribute). Temporary keys (`ASIA…`) are kept as `session_key_id`.
//!
//! Secret material never leaves the parser: `responseElements` of STS calls carry a session
//! token, of which only the expiry is kept; request and response bodies are otherwise reduced to
//! the names of the users, roles, groups and policies they touch.

use std::io::Read;

use castellan_model::{Attributes, Credential, Event, ids};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{Records, SourceError, show_value};

/// The source name.
pub const SOURCE: &str = "aws-cloudtrail";

/// Largest decompressed size accepted for one gzip'd log file (a gzip bomb stops here).
pub const MAX_DECOMPRESSED: u64 = 1 << 30;

/// Whether the first bytes of a (decompressed) file look like CloudTrail.
pub fn looks_like(head: &str) -> bool {
    let t = head.trim_start();
    t.starts_with('{')
        && ((head.contains("\"Records\"")
            && head.contains("\"eventVersion\"")
            && head.contains("\"eventSource\""))
            || (head.contains("\"Events\"") && head.contains("\"CloudTrailEvent\"")))
}

/// Whether `bytes` start like a gzip stream.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Decompresses the first `limit` bytes of a gzip stream (for detection), ignoring errors past
/// what could be read.
pub fn gunzip_head(bytes: &[u8], limit: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(limit);
    let mut d = flate2::read::MultiGzDecoder::new(bytes).take(limit as u64);
    let mut buf = [0u8; 4096];
    loop {
        match d.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

/// Decompresses a gzip'd log file, refusing more than [`MAX_DECOMPRESSED`] bytes.
pub fn gunzip(path: &str, bytes: &[u8]) -> Result<Vec<u8>, SourceError> {
    gunzip_limited(path, bytes, MAX_DECOMPRESSED)
}

fn gunzip_limited(path: &str, bytes: &[u8], limit: u64) -> Result<Vec<u8>, SourceError> {
    let mut out = Vec::new();
    let mut d = flate2::read::MultiGzDecoder::new(bytes).take(limit + 1);
    d.read_to_end(&mut out).map_err(|e| SourceError::File {
        path: path.into(),
        message: format!(
            "not a readable gzip file ({e}); give the log file as S3 delivered it, or decompressed"
        ),
    })?;
    if out.len() as u64 > limit {
        return Err(SourceError::File {
            path: path.into(),
            message: format!(
                "decompresses to more than {limit} bytes; a CloudTrail log file is far smaller (refusing a possible gzip bomb)"
            ),
        });
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    #[serde(rename = "eventID")]
    event_id: Option<String>,
    event_time: Option<String>,
    event_source: Option<String>,
    event_name: Option<String>,
    aws_region: Option<String>,
    #[serde(rename = "sourceIPAddress")]
    source_ip_address: Option<String>,
    user_agent: Option<String>,
    error_code: Option<String>,
    error_message: Option<String>,
    read_only: Option<bool>,
    event_type: Option<String>,
    recipient_account_id: Option<String>,
    user_identity: Option<UserIdentity>,
    request_parameters: Option<Value>,
    response_elements: Option<Value>,
    additional_event_data: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct UserIdentity {
    #[serde(rename = "type")]
    kind: Option<String>,
    arn: Option<String>,
    account_id: Option<String>,
    access_key_id: Option<String>,
    user_name: Option<String>,
    invoked_by: Option<String>,
    session_context: Option<SessionContext>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SessionContext {
    session_issuer: Option<SessionIssuer>,
    attributes: Option<SessionAttributes>,
    source_identity: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SessionIssuer {
    #[serde(rename = "type")]
    kind: Option<String>,
    arn: Option<String>,
    account_id: Option<String>,
    user_name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SessionAttributes {
    mfa_authenticated: Option<String>,
}

#[derive(Deserialize)]
struct TrailFile {
    #[serde(rename = "Records")]
    records: Vec<Box<serde_json::value::RawValue>>,
}

#[derive(Deserialize)]
struct LookupPage {
    #[serde(rename = "Events")]
    events: Vec<LookupEvent>,
}

#[derive(Deserialize)]
struct LookupEvent {
    #[serde(rename = "CloudTrailEvent")]
    cloud_trail_event: String,
}

const ISSUANCE: &[&str] = &[
    "CreateAccessKey",
    "CreateUser",
    "CreateRole",
    "CreateLoginProfile",
    "CreateServiceSpecificCredential",
    "UploadSSHPublicKey",
    "UploadSigningCertificate",
    "UploadServerCertificate",
];

const PRIVILEGE: &[&str] = &[
    "AttachUserPolicy",
    "DetachUserPolicy",
    "PutUserPolicy",
    "DeleteUserPolicy",
    "AttachRolePolicy",
    "DetachRolePolicy",
    "PutRolePolicy",
    "DeleteRolePolicy",
    "AttachGroupPolicy",
    "DetachGroupPolicy",
    "PutGroupPolicy",
    "DeleteGroupPolicy",
    "UpdateAssumeRolePolicy",
    "AddUserToGroup",
    "RemoveUserFromGroup",
    "PutUserPermissionsBoundary",
    "DeleteUserPermissionsBoundary",
    "PutRolePermissionsBoundary",
    "DeleteRolePermissionsBoundary",
    "CreatePolicyVersion",
    "SetDefaultPolicyVersion",
];

const REVOCATION: &[&str] = &[
    "DeleteAccessKey",
    "DeleteLoginProfile",
    "DeleteSSHPublicKey",
    "DeleteUser",
    "DeleteRole",
    "DeleteServiceSpecificCredential",
    "DeleteSigningCertificate",
    "DeleteServerCertificate",
];

const STATUS_UPDATES: &[&str] = &[
    "UpdateAccessKey",
    "UpdateSSHPublicKey",
    "UpdateSigningCertificate",
    "UpdateServiceSpecificCredential",
];

const STS_SESSIONS: &[&str] = &[
    "AssumeRole",
    "AssumeRoleWithWebIdentity",
    "AssumeRoleWithSAML",
    "GetSessionToken",
    "GetFederationToken",
];

/// Error codes that mean the caller was refused (as opposed to a bad request).
fn is_denial(code: &str) -> bool {
    let c = code.strip_prefix("Client.").unwrap_or(code);
    matches!(
        c,
        "AccessDenied"
            | "AccessDeniedException"
            | "UnauthorizedOperation"
            | "UnauthorizedAccess"
            | "UnauthorizedException"
            | "InvalidClientTokenId"
            | "SignatureDoesNotMatch"
            | "AuthFailure"
            | "ExpiredToken"
            | "ExpiredTokenException"
            | "InvalidAccessKeyId"
            | "NotAuthorized"
            | "Forbidden"
    )
}

/// A user agent of a web browser (the console or a person's script in a browser), as opposed to
/// the AWS CLI, an SDK, Terraform or an AWS service.
fn is_browser(agent: &str) -> bool {
    let a = agent.to_ascii_lowercase();
    let tool = [
        "aws-cli",
        "aws-sdk",
        "boto",
        "botocore",
        "terraform",
        "aws-internal",
        "amazonaws.com",
        "cloudformation",
        "aws-go",
        "aws-java",
        "pulumi",
    ];
    a.starts_with("mozilla/") && !tool.iter().any(|t| a.contains(t))
}

/// The identity (id, account) a record's caller maps to.
fn caller(u: &UserIdentity) -> Option<(String, String)> {
    let kind = u.kind.as_deref()?;
    let account = u.account_id.clone()?;
    match kind {
        "IAMUser" => {
            let name = u
                .user_name
                .clone()
                .or_else(|| u.arn.as_deref().and_then(arn_name).map(str::to_string))?;
            Some((ids::aws_user(&account, &name), account))
        }
        "Root" => Some((ids::aws_root(&account), account)),
        "AssumedRole" => {
            let issuer = u.session_context.as_ref()?.session_issuer.as_ref()?;
            if issuer.kind.as_deref() != Some("Role") {
                return None;
            }
            let acct = issuer.account_id.clone().unwrap_or(account);
            let name = issuer
                .user_name
                .clone()
                .or_else(|| issuer.arn.as_deref().and_then(arn_name).map(str::to_string))?;
            Some((ids::aws_role(&acct, &name), acct))
        }
        _ => None,
    }
}

/// The last path segment of an IAM ARN (`…:user/path/name` ⇒ `name`).
fn arn_name(arn: &str) -> Option<&str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let (_, rest) = resource.split_once('/')?;
    rest.rsplit('/').next().filter(|s| !s.is_empty())
}

fn account_of_arn(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

fn text(v: Option<&Value>, key: &str) -> Option<String> {
    v?.get(key)?.as_str().map(str::to_string)
}

fn key_kind(key: &str) -> Option<&'static str> {
    if key.starts_with("AKIA") {
        Some("long-term")
    } else if key.starts_with("ASIA") {
        Some("temporary")
    } else {
        None
    }
}

/// Parses a CloudTrail log file (decompressed) or a `lookup-events` page into events.
pub fn parse(path: &str, bytes: &[u8]) -> Result<Records, SourceError> {
    let decompressed;
    let bytes = if is_gzip(bytes) {
        decompressed = gunzip(path, bytes)?;
        &decompressed[..]
    } else {
        bytes
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let top: Value = {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let v = Value::deserialize(&mut de).map_err(|e| json_error(path, &e))?;
        de.end().map_err(|e| json_error(path, &e))?;
        v
    };
    let mut records = Records::default();
    if top.get("Records").is_some() {
        let file: TrailFile =
            serde_path_to_error::deserialize(&top).map_err(|e| SourceError::File {
                path: path.into(),
                message: format!("field `{}`: {}", e.path(), e.inner()),
            })?;
        for (i, raw) in file.records.iter().enumerate() {
            let rec: Record = serde_path_to_error::deserialize(
                &mut serde_json::Deserializer::from_str(raw.get()),
            )
            .map_err(|e| record_error(path, i, &e))?;
            convert(path, i, rec, &mut records)?;
        }
    } else if top.get("Events").is_some() {
        let page: LookupPage =
            serde_path_to_error::deserialize(&top).map_err(|e| SourceError::File {
                path: path.into(),
                message: format!("field `{}`: {}", e.path(), e.inner()),
            })?;
        for (i, ev) in page.events.into_iter().enumerate() {
            let rec: Record = serde_path_to_error::deserialize(
                &mut serde_json::Deserializer::from_str(&ev.cloud_trail_event),
            )
            .map_err(|e| SourceError::File {
                path: path.into(),
                message: format!(
                    "Events[{i}].CloudTrailEvent: not a CloudTrail record: field `{}`: {}",
                    e.path(),
                    e.inner()
                ),
            })?;
            convert(path, i, rec, &mut records)?;
        }
    } else {
        return Err(SourceError::File {
            path: path.into(),
            message: "not a CloudTrail log: expected an object with `Records` (a trail's log file) or `Events` (lookup-events output)".into(),
        });
    }
    sightings(path, &mut records);
    Ok(records)
}

/// Every long-term access key the log shows in use becomes a credential sighting (scope
/// `aws:<account>:cloudtrail`; the import never sweeps log scopes, since a log file covers a
/// time slice, and keeps the latest use any log showed), with its last use: the import merges
/// it with the inventory's record of the same key.
fn sightings(_path: &str, records: &mut Records) {
    let mut keys: std::collections::BTreeMap<String, Credential> = Default::default();
    for e in &records.events {
        let (Some(cid), Some(key)) = (
            e.credential_id.as_deref(),
            e.attributes.get("access_key_id").and_then(Value::as_str),
        ) else {
            continue;
        };
        let Some(account) = cid.strip_prefix("aws:").and_then(|r| r.split(':').next()) else {
            continue;
        };
        let used = matches!(e.action.as_str(), "used" | "human-use" | "failed-use");
        let c = keys.entry(cid.to_string()).or_insert_with(|| {
            let mut attributes = Attributes::new();
            attributes.insert("access_key_id".into(), json!(key));
            Credential {
                id: cid.to_string(),
                identity_id: e.identity_id.clone(),
                kind: "access-key".into(),
                source: SOURCE.into(),
                scope: format!("aws:{account}:cloudtrail"),
                name: format!("access key {key}"),
                status: castellan_model::Status::Unknown,
                created_at: None,
                last_rotated_at: None,
                last_used_at: None,
                ever_used: None,
                expires_at: None,
                fingerprint: None,
                preview: None,
                attributes,
            }
        });
        if used && e.action != "failed-use" {
            c.last_used_at = Some(c.last_used_at.map_or(e.at, |t| t.max(e.at)));
            c.ever_used = Some(true);
        }
    }
    records.credentials.extend(keys.into_values());
}

fn json_error(path: &str, e: &serde_json::Error) -> SourceError {
    SourceError::Line {
        path: path.into(),
        line: e.line() as u64,
        message: format!(
            "not valid JSON (column {}): {}",
            e.column(),
            e.classify_msg()
        ),
    }
}

trait Classify {
    fn classify_msg(&self) -> String;
}

impl Classify for serde_json::Error {
    fn classify_msg(&self) -> String {
        // serde_json's message without its own " at line L column C" suffix, which the caller
        // already states.
        let s = self.to_string();
        match s.rfind(" at line ") {
            Some(i) => s[..i].to_string(),
            None => s,
        }
    }
}

fn record_error(
    path: &str,
    i: usize,
    e: &serde_path_to_error::Error<serde_json::Error>,
) -> SourceError {
    SourceError::File {
        path: path.into(),
        message: format!(
            "field `Records[{i}].{}`: {}",
            e.path(),
            e.inner().classify_msg()
        ),
    }
}

fn convert(path: &str, i: usize, r: Record, out: &mut Records) -> Result<(), SourceError> {
    let Some(event_id) = r.event_id.clone() else {
        return Ok(());
    };
    let Some(when) = r.event_time.as_deref() else {
        return Err(SourceError::File {
            path: path.into(),
            message: format!("field `Records[{i}].eventTime`: missing"),
        });
    };
    let at: Timestamp = castellan_model::parse_ts(when).map_err(|_| SourceError::File {
        path: path.into(),
        message: format!(
            "field `Records[{i}].eventTime`: {} is not an RFC 3339 time",
            show_value(when)
        ),
    })?;
    let u = r.user_identity.unwrap_or_default();
    if u.kind.as_deref() == Some("AWSService") {
        return Ok(());
    }
    let name = r.event_name.clone().unwrap_or_default();
    let caller_id = caller(&u);
    let account = caller_id
        .as_ref()
        .map(|(_, a)| a.clone())
        .or_else(|| u.account_id.clone())
        .or_else(|| r.recipient_account_id.clone());
    let req = r.request_parameters.as_ref();
    let resp = r.response_elements.as_ref();

    let mut attributes = Attributes::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            attributes.insert(k.into(), v);
        }
    };
    put("event_name", Some(json!(name)));
    put("event_source", r.event_source.clone().map(Value::from));
    put("region", r.aws_region.clone().map(Value::from));
    put("source_ip", r.source_ip_address.clone().map(Value::from));
    put("user_agent", r.user_agent.clone().map(Value::from));
    put("error_code", r.error_code.clone().map(Value::from));
    put(
        "error_message",
        r.error_message
            .as_deref()
            .map(|m| Value::from(m.chars().take(300).collect::<String>())),
    );
    put("read_only", r.read_only.map(Value::from));
    put("event_type", r.event_type.clone().map(Value::from));
    put("caller_type", u.kind.clone().map(Value::from));
    put("caller_arn", u.arn.clone().map(Value::from));
    put("invoked_by", u.invoked_by.clone().map(Value::from));
    if let Some(sc) = &u.session_context {
        put(
            "mfa_authenticated",
            sc.attributes
                .as_ref()
                .and_then(|a| a.mfa_authenticated.as_deref())
                .map(|m| Value::from(m == "true")),
        );
        put(
            "source_identity",
            sc.source_identity.clone().map(Value::from),
        );
    }
    put(
        "mfa_used",
        r.additional_event_data
            .as_ref()
            .and_then(|d| d.get("MFAUsed"))
            .and_then(Value::as_str)
            .map(|m| Value::from(m == "Yes")),
    );
    put(
        "recipient_account",
        r.recipient_account_id.clone().map(Value::from),
    );

    // The caller's credential.
    let mut credential_id = None;
    if let Some(key) = u.access_key_id.as_deref().filter(|k| !k.is_empty()) {
        match key_kind(key) {
            Some("long-term") => {
                if let Some(acct) = &account {
                    credential_id = Some(format!("aws:{acct}:access-key/{key}"));
                }
                put("access_key_id", Some(json!(key)));
            }
            _ => put("session_key_id", Some(json!(key))),
        }
    }

    // What the call did to another identity or credential.
    let target_user = text(req, "userName");
    let target_role = text(req, "roleName");
    let target_group = text(req, "groupName");
    let target_key = text(req, "accessKeyId").or_else(|| {
        resp.and_then(|v| v.get("accessKey"))
            .and_then(|k| text(Some(k), "accessKeyId"))
    });
    if let Some(p) = text(req, "policyArn") {
        put("policy_arn", Some(json!(p)));
    }
    if let Some(p) = text(req, "policyName") {
        put("policy_name", Some(json!(p)));
    }
    if let Some(g) = &target_group {
        put("group", Some(json!(g)));
    }
    let status_to = text(req, "status");
    if let Some(s) = &status_to {
        put("new_status", Some(json!(s)));
    }
    let login = resp
        .and_then(|v| v.get("ConsoleLogin"))
        .and_then(Value::as_str)
        .map(str::to_string);

    let action =
        if r.error_code.as_deref().is_some_and(is_denial) || login.as_deref() == Some("Failure") {
            "failed-use"
        } else if r.error_code.is_some() {
            // A failed request that was not a refusal (throttling, validation): still a use.
            "used"
        } else if ISSUANCE.contains(&name.as_str()) {
            "issued"
        } else if PRIVILEGE.contains(&name.as_str()) {
            "privilege-changed"
        } else if REVOCATION.contains(&name.as_str()) {
            "revoked"
        } else if STATUS_UPDATES.contains(&name.as_str()) {
            match status_to.as_deref() {
                Some("Inactive") | Some("Expired") => "revoked",
                Some("Active") => "reactivated",
                _ => "used",
            }
        } else if name == "ConsoleLogin" || r.user_agent.as_deref().is_some_and(is_browser) {
            "human-use"
        } else {
            "used"
        };

    // STS: the role assumed and the temporary key handed out (never the session token).
    let mut assumed_role: Option<String> = None;
    if STS_SESSIONS.contains(&name.as_str()) && r.error_code.is_none() {
        if let Some(role_arn) = text(req, "roleArn") {
            put("role_arn", Some(json!(role_arn)));
            if let (Some(acct), Some(n)) = (account_of_arn(&role_arn), arn_name(&role_arn)) {
                assumed_role = Some(ids::aws_role(acct, n));
            }
        }
        if let Some(creds) = resp.and_then(|v| v.get("credentials")) {
            put("issued_session_key_id", creds.get("accessKeyId").cloned());
            put("session_expires", creds.get("expiration").cloned());
        }
        if let Some(s) = text(req, "roleSessionName") {
            put("role_session_name", Some(json!(s)));
        }
        if name == "AssumeRoleWithWebIdentity" {
            put(
                "web_identity_provider",
                text(resp, "provider").map(Value::from),
            );
            put(
                "web_identity_subject",
                text(resp, "subjectFromWebIdentityToken").map(Value::from),
            );
        }
    }

    // The identity acted upon, when it is not the caller.
    let target_identity = match (&account, &target_user, &target_role) {
        (Some(acct), Some(u), _) => Some(ids::aws_user(acct, u)),
        (Some(acct), None, Some(role)) => Some(ids::aws_role(acct, role)),
        _ => None,
    };
    let target_credential = match (&account, &target_key) {
        (Some(acct), Some(k)) if key_kind(k) == Some("long-term") => {
            put("target_access_key_id", Some(json!(k)));
            Some(format!("aws:{acct}:access-key/{k}"))
        }
        _ => None,
    };
    if let Some(t) = &target_identity {
        put("target", Some(json!(t)));
    }
    let actor = caller_id
        .as_ref()
        .map(|(id, _)| id.clone())
        .or_else(|| u.arn.clone())
        .or_else(|| u.kind.clone());

    let lifecycle = matches!(
        action,
        "issued" | "privilege-changed" | "revoked" | "reactivated"
    );
    if lifecycle && (target_identity.is_some() || target_credential.is_some()) {
        // The subject is the identity or key acted upon; the caller is the actor. The caller's
        // own use of its credential is kept as a second event.
        let mut target_attrs = attributes.clone();
        if let Some(k) = target_attrs.remove("access_key_id") {
            target_attrs.insert("caller_access_key_id".into(), k);
        }
        if let Some(k) = target_attrs.get("target_access_key_id").cloned() {
            target_attrs.insert("access_key_id".into(), k);
        }
        out.events.push(Event {
            id: format!("cloudtrail:{event_id}#target"),
            source: SOURCE.into(),
            at,
            action: action.into(),
            identity_id: target_identity.clone(),
            credential_id: target_credential.clone(),
            actor: actor.clone(),
            attributes: target_attrs,
        });
        if caller_id.is_some() {
            out.events.push(Event {
                id: format!("cloudtrail:{event_id}"),
                source: SOURCE.into(),
                at,
                action: "used".into(),
                identity_id: caller_id.as_ref().map(|(id, _)| id.clone()),
                credential_id,
                actor,
                attributes,
            });
        }
        return Ok(());
    }
    if caller_id.is_none() && credential_id.is_none() {
        // Federated users, Identity Center users, anonymous calls: not an identity of the
        // account's inventory.
        return Ok(());
    }
    if let Some(role) = &assumed_role {
        let mut role_attrs = attributes.clone();
        role_attrs.insert("assumed_by".into(), json!(actor));
        out.events.push(Event {
            id: format!("cloudtrail:{event_id}#role"),
            source: SOURCE.into(),
            at,
            action: "assumed".into(),
            identity_id: Some(role.clone()),
            credential_id: None,
            actor: actor.clone(),
            attributes: role_attrs,
        });
    }
    out.events.push(Event {
        id: format!("cloudtrail:{event_id}"),
        source: SOURCE.into(),
        at,
        action: action.into(),
        identity_id: caller_id.map(|(id, _)| id),
        credential_id,
        actor,
        attributes,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &[u8] = include_bytes!("../../castellan/tests/fixtures/aws/cloudtrail.json");

    fn ev<'a>(r: &'a Records, id: &str) -> &'a Event {
        r.events.iter().find(|e| e.id == id).unwrap_or_else(|| {
            panic!(
                "no event {id}: {:?}",
                r.events.iter().map(|e| &e.id).collect::<Vec<_>>()
            )
        })
    }

    #[test]
    fn recognises_trail_files_and_lookup_output() {
        let head = std::str::from_utf8(&FIXTURE[..2000.min(FIXTURE.len())]).expect("utf8");
        assert!(looks_like(head));
        assert!(looks_like(
            r#"{"Events": [{"EventId": "x", "CloudTrailEvent": "{}"}]}"#
        ));
        assert!(!looks_like(r#"{"UserDetailList": []}"#));
        assert!(!looks_like(
            r#"{"apiVersion": "v1", "kind": "List", "items": []}"#
        ));
    }

    #[test]
    fn classifies_lifecycle_use_failure_and_human_use() {
        let r = parse("ct.json", FIXTURE).expect("parse");
        // CreateAccessKey by terraform-prod for queue-worker: issuance of the target, use by the caller
        let issued = ev(&r, "cloudtrail:3d1e6f0a-1111-4c1b-9a51-0a8c1e000001#target");
        assert_eq!(issued.action, "issued");
        assert_eq!(
            issued.identity_id.as_deref(),
            Some("aws:123456789012:user/queue-worker")
        );
        assert_eq!(
            issued.credential_id.as_deref(),
            Some("aws:123456789012:access-key/AKIAQNWDEXAMPLE0QW01")
        );
        assert_eq!(
            issued.actor.as_deref(),
            Some("aws:123456789012:user/terraform-prod")
        );
        let by = ev(&r, "cloudtrail:3d1e6f0a-1111-4c1b-9a51-0a8c1e000001");
        assert_eq!(by.action, "used");
        assert_eq!(
            by.credential_id.as_deref(),
            Some("aws:123456789012:access-key/AKIAQNWDEXAMPLE0TF01")
        );
        // privilege change
        let p = ev(&r, "cloudtrail:3d1e6f0a-1111-4c1b-9a51-0a8c1e000002#target");
        assert_eq!(p.action, "privilege-changed");
        assert_eq!(
            p.attributes["policy_arn"],
            "arn:aws:iam::aws:policy/AdministratorAccess"
        );
        // deactivation
        let rv = ev(&r, "cloudtrail:3d1e6f0a-1111-4c1b-9a51-0a8c1e000003#target");
        assert_eq!(rv.action, "revoked");
        assert_eq!(rv.attributes["new_status"], "Inactive");
        // failed use: AccessDenied
        let f = ev(&r, "cloudtrail:3d1e6f0a-1111-4c1b-9a51-0a8c1e000004");
        assert_eq!(f.action, "failed-use");
        assert_eq!(
            f.identity_id.as_deref(),
            Some("aws:123456789012:user/vendor-globex-etl")
        );
        // console login by a workload identity
        let h = ev(&r, "cloudtrail:3d1e6f0a-1111-4c1b-9a51-0a8c1e000005");
        assert_eq!(h.action, "human-use");
        // failed console login
        let fl = ev(&r, "cloudtrail:3d1e6f0a-1111-4c1b-9a51-0a8c1e000006");
        assert_eq!(fl.action, "failed-use");
        // assume role: use by the caller, the role assumed, session key kept, token not
        let a = ev(&r, "cloudtrail:3d1e6f0a-1111-4c1b-9a51-0a8c1e000007#role");
        assert_eq!(a.action, "assumed");
        assert_eq!(
            a.identity_id.as_deref(),
            Some("aws:123456789012:role/github-actions-deploy")
        );
        assert_eq!(
            a.attributes["issued_session_key_id"],
            "ASIAQNWDEXAMPLESES01"
        );
        // ordinary use with a long-term key
        let u = ev(&r, "cloudtrail:3d1e6f0a-1111-4c1b-9a51-0a8c1e000008");
        assert_eq!(u.action, "used");
        assert_eq!(u.attributes["access_key_id"], "AKIAQNWDEXAMPLE0GX01");
        // an assumed-role session's call belongs to the role
        let s = ev(&r, "cloudtrail:3d1e6f0a-1111-4c1b-9a51-0a8c1e000009");
        assert_eq!(
            s.identity_id.as_deref(),
            Some("aws:123456789012:role/github-actions-deploy")
        );
        assert_eq!(s.attributes["session_key_id"], "ASIAQNWDEXAMPLESES01");
        // AWS service records are skipped
        assert!(!r.events.iter().any(|e| e.id.contains("000010")));
    }

    #[test]
    fn session_tokens_are_never_kept() {
        let r = parse("ct.json", FIXTURE).expect("parse");
        let text = serde_json::to_string(&r).expect("json");
        assert!(!text.contains("FQoGZXIvYXdzEXAMPLESESSIONTOKEN"), "{text}");
        assert!(!format!("{r:?}").contains("FQoGZXIvYXdzEXAMPLESESSIONTOKEN"));
    }

    #[test]
    fn gzip_and_lookup_events_give_the_same_events() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(FIXTURE).expect("gzip");
        let gz = gz.finish().expect("gzip");
        assert!(is_gzip(&gz));
        assert!(looks_like(&String::from_utf8_lossy(&gunzip_head(
            &gz, 4096
        ))));
        let a = parse("ct.json", FIXTURE).expect("plain");
        let b = parse("ct.json", &gz).expect("gz");
        assert_eq!(a, b);

        let top: Value = serde_json::from_slice(FIXTURE).expect("json");
        let events: Vec<Value> = top["Records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| json!({"EventId": r["eventID"], "CloudTrailEvent": r.to_string()}))
            .collect();
        let lookup = serde_json::to_vec(&json!({ "Events": events })).expect("json");
        let c = parse("ct.json", &lookup).expect("lookup");
        assert_eq!(a, c);
    }

    #[test]
    fn gzip_bombs_stop_at_the_limit() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..8 {
            gz.write_all(&zeros).expect("gzip");
        }
        let gz = gz.finish().expect("gzip");
        let e = gunzip_limited("bomb.json.gz", &gz, 1 << 20).expect_err("bomb");
        assert!(e.to_string().contains("gzip bomb"), "{e}");
        let e = parse("junk.json.gz", &[0x1f, 0x8b, 8, 0, 1, 2, 3]).expect_err("junk");
        assert!(e.to_string().contains("junk.json.gz"), "{e}");
    }

    #[test]
    fn bad_input_names_file_and_field() {
        let e = parse(
            "t.json",
            b"{\"Records\": [{\"eventID\": \"x\", \"eventTime\": 5}]}",
        )
        .expect_err("type");
        let s = e.to_string();
        assert!(
            s.contains("t.json") && s.contains("Records[0].eventTime"),
            "{s}"
        );
        let e = parse(
            "t.json",
            b"{\"Records\": [{\"eventID\": \"x\", \"eventTime\": \"yesterday\"}]}",
        )
        .expect_err("time");
        assert!(e.to_string().contains("eventTime"), "{e}");
        let e = parse("t.json", b"{\"Records\": [").expect_err("truncated");
        assert!(e.to_string().starts_with("t.json:1:"), "{e}");
        let e = parse("t.json", b"{\"other\": 1}").expect_err("shape");
        assert!(e.to_string().contains("Records"), "{e}");
        let e = parse("t.json", &[0xff, 0xfe, 0, 1]).expect_err("binary");
        assert!(e.to_string().contains("t.json"), "{e}");
        let deep = format!("{{\"Records\": {}{}}}", "[".repeat(5000), "]".repeat(5000));
        assert!(parse("deep.json", deep.as_bytes()).is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = parse("p.json", &bytes);
        }

        #[test]
        fn arbitrary_records_never_panic(name in "[A-Za-z]{0,20}", code in proptest::option::of("[A-Za-z.]{0,20}"), kind in "(IAMUser|AssumedRole|Root|AWSService|FederatedUser|x)") {
            let rec = json!({"Records": [{"eventVersion": "1.08", "eventID": "e", "eventTime": "2026-11-30T10:00:00Z", "eventSource": "iam.amazonaws.com", "eventName": name, "errorCode": code, "userIdentity": {"type": kind, "accountId": "123456789012", "userName": "u", "accessKeyId": "AKIAX", "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "r"}}}, "requestParameters": {"userName": "t", "status": "Inactive"}}]});
            let _ = parse("p.json", rec.to_string().as_bytes());
        }
    }
}
