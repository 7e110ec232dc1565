//! AWS IAM list outputs, as the AWS CLI prints them (`--output json`), one response or several
//! concatenated in one file (e.g. a shell loop over users appending to the same file):
//!
//! | command | yields |
//! |---|---|
//! | `aws iam list-access-keys --user-name U` (`AccessKeyMetadata`) | an `access-key` credential per key, with its **key id**, status and creation date; `AccessKeyLastUsed` merged into an item (see below) adds last use |
//! | `aws iam list-roles` (`Roles`) | role identities with `RoleLastUsed` (last use and region) and the trust policy's principals |
//! | `aws iam list-ssh-public-keys --user-name U` (`SSHPublicKeys`) | an `ssh-key` credential per key (id, status, upload date) |
//! | `aws iam list-server-certificates` (`ServerCertificateMetadataList`) | a `certificate` credential per server certificate, with its expiry |
//! | `aws iam list-service-specific-credentials --user-name U` (`ServiceSpecificCredentials`) | a `service-credential` per credential (CodeCommit, Keyspaces, Bedrock), with its expiry |
//!
//! Access keys with their last use, for every user, in one file:
//!
//! ```sh
//! for u in $(aws iam list-users --query 'Users[].UserName' --output text); do
//!   aws iam list-access-keys --user-name "$u" --output json | jq -c '.AccessKeyMetadata[]' |
//!   while read -r k; do
//!     id=$(jq -r .AccessKeyId <<<"$k")
//!     jq -c --argjson k "$k" '{AccessKeyMetadata: [$k + {AccessKeyLastUsed: .AccessKeyLastUsed}]}' \
//!       <(aws iam get-access-key-last-used --access-key-id "$id" --output json)
//!   done
//! done > 123456789012-access-keys.json
//! ```
//!
//! These responses do not name the account (only ARNs do, and access keys and SSH keys have
//! none): the account is the 12-digit number in the file's name (`123456789012-access-keys.json`)
//! or in an ARN of the file, or the one given to `castellan import --account`.
//!
//! Ids: keys are named like the credential report's slots when the import can match them (same
//! user, creation date equal to the slot's last rotation), so the two sources describe one
//! credential; otherwise `aws:<account>:user/<name>/access-key/<AKIA…>`. The key id itself is
//! public (it is printed in every CloudTrail record) and is kept as `access_key_id`.

use castellan_model::{Attributes, Credential, Identity, Privilege, Status, ids};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::json_input::Lines;
use crate::{Records, SourceError, show_value};

/// The source name.
pub const SOURCE: &str = "aws-iam-lists";

const KEYS: [&str; 5] = [
    "\"AccessKeyMetadata\"",
    "\"Roles\"",
    "\"SSHPublicKeys\"",
    "\"ServerCertificateMetadataList\"",
    "\"ServiceSpecificCredentials\"",
];

/// Whether the first bytes of a file look like one of these list outputs.
pub fn looks_like(head: &str) -> bool {
    let t = head.trim_start();
    t.starts_with('{') && KEYS.iter().any(|k| t[..t.len().min(200)].contains(k))
}

/// The 12-digit account id in a file name or path, if there is exactly one run of 12 digits.
pub fn account_from_path(path: &str) -> Option<String> {
    let name = std::path::Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(path);
    let mut found = None;
    for run in name.split(|c: char| !c.is_ascii_digit()) {
        if run.len() == 12 {
            if found.is_some() {
                return None;
            }
            found = Some(run.to_string());
        }
    }
    found
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Page {
    access_key_metadata: Option<Vec<AccessKey>>,
    roles: Option<Vec<Role>>,
    #[serde(rename = "SSHPublicKeys")]
    ssh_public_keys: Option<Vec<SshKey>>,
    server_certificate_metadata_list: Option<Vec<ServerCert>>,
    service_specific_credentials: Option<Vec<ServiceCredential>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AccessKey {
    user_name: String,
    access_key_id: String,
    status: String,
    create_date: String,
    access_key_last_used: Option<LastUsed>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LastUsed {
    last_used_date: Option<String>,
    service_name: Option<String>,
    region: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Role {
    role_name: String,
    arn: String,
    create_date: String,
    role_id: Option<String>,
    path: Option<String>,
    description: Option<String>,
    max_session_duration: Option<u64>,
    assume_role_policy_document: Option<Value>,
    role_last_used: Option<RoleLastUsed>,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleLastUsed {
    last_used_date: Option<String>,
    region: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SshKey {
    user_name: String,
    #[serde(rename = "SSHPublicKeyId")]
    ssh_public_key_id: String,
    status: String,
    upload_date: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ServerCert {
    server_certificate_name: String,
    server_certificate_id: Option<String>,
    arn: String,
    upload_date: Option<String>,
    expiration: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ServiceCredential {
    user_name: String,
    service_specific_credential_id: String,
    status: String,
    service_name: Option<String>,
    service_user_name: Option<String>,
    create_date: Option<String>,
    expiration_date: Option<String>,
}

fn ts(path: &str, field: &str, s: &str) -> Result<Timestamp, SourceError> {
    castellan_model::parse_ts(s).map_err(|_| SourceError::File {
        path: path.into(),
        message: format!("field `{field}`: {} is not an ISO 8601 time", show_value(s)),
    })
}

fn opt_ts(path: &str, field: &str, s: Option<&str>) -> Result<Option<Timestamp>, SourceError> {
    match s {
        None | Some("N/A") | Some("") => Ok(None),
        Some(s) => ts(path, field, s).map(Some),
    }
}

fn status(s: &str) -> Status {
    match s {
        "Active" => Status::Active,
        "Inactive" => Status::Inactive,
        "Expired" => Status::Expired,
        _ => Status::Unknown,
    }
}

/// The account named by ARNs in the file, when any.
fn account_in(pages: &[Page]) -> Option<String> {
    pages.iter().find_map(|p| {
        let arn = p
            .roles
            .as_ref()
            .and_then(|r| r.first())
            .map(|r| r.arn.as_str())
            .or_else(|| {
                p.server_certificate_metadata_list
                    .as_ref()
                    .and_then(|c| c.first())
                    .map(|c| c.arn.as_str())
            })?;
        arn.split(':')
            .nth(4)
            .filter(|a| a.len() == 12)
            .map(str::to_string)
    })
}

/// Parses one or more concatenated list responses. `account` is the account the file covers
/// when the caller knows it; otherwise it comes from the file name or an ARN inside.
pub fn parse(path: &str, bytes: &[u8], account: Option<&str>) -> Result<Records, SourceError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut pages = Vec::new();
    let mut lines = Lines::new(bytes);
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<Value>();
    loop {
        let offset = stream.byte_offset();
        match stream.next() {
            None => break,
            Some(Err(e)) => {
                return Err(SourceError::Line {
                    path: path.into(),
                    line: e.line() as u64,
                    message: format!("not valid JSON (column {}): {e}", e.column()),
                });
            }
            Some(Ok(v)) => {
                let start = offset
                    + bytes[offset..]
                        .iter()
                        .take_while(|b| b.is_ascii_whitespace())
                        .count();
                let line = lines.at(start);
                let page: Page =
                    serde_path_to_error::deserialize(&v).map_err(|e| SourceError::Field {
                        path: path.into(),
                        line,
                        field: e.path().to_string(),
                        message: e.inner().to_string(),
                    })?;
                pages.push(page);
            }
        }
    }
    if pages.is_empty() {
        return Err(SourceError::File {
            path: path.into(),
            message: "empty: expected the JSON output of an `aws iam list-…` command".into(),
        });
    }
    let account = account
        .map(str::to_string)
        .or_else(|| account_in(&pages))
        .or_else(|| account_from_path(path))
        .ok_or_else(|| SourceError::File {
            path: path.into(),
            message: "no account: these responses do not name the AWS account; put the 12-digit account id in the file name (123456789012-access-keys.json) or pass --account".into(),
        })?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SourceError::File {
            path: path.into(),
            message: format!(
                "account {} is not a 12-digit AWS account id",
                show_value(&account)
            ),
        });
    }
    let scope = format!("aws:{account}");
    let mut out = Records::default();
    let cred =
        |id: String, identity: Option<String>, kind: &str, name: String, st: Status| Credential {
            id,
            identity_id: identity,
            kind: kind.into(),
            source: SOURCE.into(),
            scope: scope.clone(),
            name,
            status: st,
            created_at: None,
            last_rotated_at: None,
            last_used_at: None,
            ever_used: None,
            expires_at: None,
            fingerprint: None,
            preview: None,
            attributes: Attributes::new(),
        };
    for page in pages {
        for k in page.access_key_metadata.unwrap_or_default() {
            let user = ids::aws_user(&account, &k.user_name);
            let created = ts(path, "AccessKeyMetadata[].CreateDate", &k.create_date)?;
            let mut c = cred(
                format!("{user}/access-key/{}", k.access_key_id),
                Some(user),
                "access-key",
                format!("{} access key {}", k.user_name, k.access_key_id),
                status(&k.status),
            );
            c.created_at = Some(created);
            c.last_rotated_at = Some(created);
            c.attributes
                .insert("access_key_id".into(), json!(k.access_key_id));
            if let Some(lu) = k.access_key_last_used {
                let used = opt_ts(
                    path,
                    "AccessKeyMetadata[].AccessKeyLastUsed.LastUsedDate",
                    lu.last_used_date.as_deref(),
                )?;
                c.last_used_at = used;
                c.ever_used = Some(used.is_some());
                for (key, v) in [
                    ("last_used_service", lu.service_name),
                    ("last_used_region", lu.region),
                ] {
                    if let Some(v) = v.filter(|v| v != "N/A") {
                        c.attributes.insert(key.into(), json!(v));
                    }
                }
            }
            out.credentials.push(c);
        }
        for r in page.roles.unwrap_or_default() {
            let created = ts(path, "Roles[].CreateDate", &r.create_date)?;
            let last = r.role_last_used.as_ref();
            let mut attributes = Attributes::new();
            attributes.insert("arn".into(), json!(r.arn));
            if let Some(v) = &r.role_id {
                attributes.insert("role_id".into(), json!(v));
            }
            if let Some(v) = &r.path {
                attributes.insert("path".into(), json!(v));
            }
            if let Some(v) = &r.description {
                attributes.insert("description".into(), json!(v));
            }
            if let Some(v) = r.max_session_duration {
                attributes.insert("max_session_duration".into(), json!(v));
            }
            if let Some(region) = last.and_then(|l| l.region.clone()) {
                attributes.insert("last_used_region".into(), json!(region));
            }
            if let Some(doc) = &r.assume_role_policy_document {
                attributes.insert("trust_principals".into(), trust_principals(doc));
            }
            if r.path
                .as_deref()
                .is_some_and(|p| p.starts_with("/aws-service-role/"))
            {
                attributes.insert("managed_by".into(), json!("aws"));
            }
            out.identities.push(Identity {
                id: ids::aws_role(&account, &r.role_name),
                kind: "aws-iam-role".into(),
                source: SOURCE.into(),
                scope: scope.clone(),
                name: r.role_name.clone(),
                account: Some(account.clone()),
                status: Status::Active,
                privilege: Privilege::Unknown,
                created_at: Some(created),
                last_used_at: opt_ts(
                    path,
                    "Roles[].RoleLastUsed.LastUsedDate",
                    last.and_then(|l| l.last_used_date.as_deref()),
                )?,
                tags: r.tags.into_iter().map(|t| (t.key, t.value)).collect(),
                attributes,
            });
        }
        for k in page.ssh_public_keys.unwrap_or_default() {
            let user = ids::aws_user(&account, &k.user_name);
            let uploaded = ts(path, "SSHPublicKeys[].UploadDate", &k.upload_date)?;
            let mut c = cred(
                format!("{user}/ssh-key/{}", k.ssh_public_key_id),
                Some(user),
                "ssh-key",
                format!("{} SSH key {}", k.user_name, k.ssh_public_key_id),
                status(&k.status),
            );
            c.created_at = Some(uploaded);
            c.last_rotated_at = Some(uploaded);
            c.attributes
                .insert("ssh_public_key_id".into(), json!(k.ssh_public_key_id));
            out.credentials.push(c);
        }
        for s in page.server_certificate_metadata_list.unwrap_or_default() {
            let mut c = cred(
                format!(
                    "aws:{account}:server-certificate/{}",
                    s.server_certificate_name
                ),
                None,
                "certificate",
                s.server_certificate_name.clone(),
                Status::Active,
            );
            c.created_at = opt_ts(
                path,
                "ServerCertificateMetadataList[].UploadDate",
                s.upload_date.as_deref(),
            )?;
            c.last_rotated_at = c.created_at;
            c.expires_at = opt_ts(
                path,
                "ServerCertificateMetadataList[].Expiration",
                s.expiration.as_deref(),
            )?;
            c.attributes.insert("arn".into(), json!(s.arn));
            if let Some(id) = s.server_certificate_id {
                c.attributes
                    .insert("server_certificate_id".into(), json!(id));
            }
            out.credentials.push(c);
        }
        for s in page.service_specific_credentials.unwrap_or_default() {
            let user = ids::aws_user(&account, &s.user_name);
            let mut c = cred(
                format!(
                    "{user}/service-credential/{}",
                    s.service_specific_credential_id
                ),
                Some(user),
                "service-credential",
                format!(
                    "{} {} credential",
                    s.user_name,
                    s.service_name.as_deref().unwrap_or("service")
                ),
                status(&s.status),
            );
            c.created_at = opt_ts(
                path,
                "ServiceSpecificCredentials[].CreateDate",
                s.create_date.as_deref(),
            )?;
            c.last_rotated_at = c.created_at;
            c.expires_at = opt_ts(
                path,
                "ServiceSpecificCredentials[].ExpirationDate",
                s.expiration_date.as_deref(),
            )?;
            for (k, v) in [
                ("service_name", s.service_name),
                ("service_user_name", s.service_user_name),
            ] {
                if let Some(v) = v {
                    c.attributes.insert(k.into(), json!(v));
                }
            }
            out.credentials.push(c);
        }
    }
    Ok(out)
}

/// The principals a trust policy names (the CLI prints the document decoded; an URL-encoded
/// string is decoded first).
fn trust_principals(doc: &Value) -> Value {
    let decoded;
    let doc = match doc {
        Value::String(s) => {
            decoded = serde_json::from_str::<Value>(&percent_decode(s)).unwrap_or(Value::Null);
            &decoded
        }
        v => v,
    };
    let mut out = Vec::new();
    let statements = match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(v) => vec![v.clone()],
        None => Vec::new(),
    };
    for s in statements {
        if s.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        match s.get("Principal") {
            Some(Value::String(p)) => out.push(json!(p)),
            Some(Value::Object(m)) => {
                for v in m.values() {
                    match v {
                        Value::String(p) => out.push(json!(p)),
                        Value::Array(a) => out.extend(a.iter().cloned()),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Value::Array(out)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS_FIXTURE: &[u8] =
        include_bytes!("../../castellan/tests/fixtures/aws/123456789012-iam-lists.json");

    #[test]
    fn keys_roles_ssh_certificates_and_service_credentials() {
        assert!(looks_like(
            std::str::from_utf8(&KEYS_FIXTURE[..200]).expect("utf8")
        ));
        let r = parse("fixtures/123456789012-iam-lists.json", KEYS_FIXTURE, None).expect("parse");
        let k = r
            .credentials
            .iter()
            .find(|c| c.attributes.get("access_key_id") == Some(&json!("AKIAQNWDEXAMPLE0TF01")))
            .expect("key");
        assert_eq!(
            k.id,
            "aws:123456789012:user/terraform-prod/access-key/AKIAQNWDEXAMPLE0TF01"
        );
        assert_eq!(k.status, Status::Active);
        assert_eq!(k.ever_used, Some(true));
        assert_eq!(k.attributes["last_used_service"], "iam");
        let unused = r
            .credentials
            .iter()
            .find(|c| c.attributes.get("access_key_id") == Some(&json!("AKIAQNWDEXAMPLE0OI01")))
            .expect("unused key");
        assert_eq!(unused.ever_used, Some(false));
        assert_eq!(unused.last_used_at, None);
        let inactive = r
            .credentials
            .iter()
            .find(|c| c.attributes.get("access_key_id") == Some(&json!("AKIAQNWDEXAMPLE0TF02")))
            .expect("inactive");
        assert_eq!(inactive.status, Status::Inactive);
        let role = r
            .identities
            .iter()
            .find(|i| i.id == "aws:123456789012:role/github-actions-deploy")
            .expect("role");
        assert!(role.last_used_at.is_some());
        assert_eq!(
            role.attributes["trust_principals"][0],
            "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
        );
        assert!(r.credentials.iter().any(|c| c.kind == "ssh-key"));
        let cert = r
            .credentials
            .iter()
            .find(|c| c.kind == "certificate")
            .expect("cert");
        assert!(cert.expires_at.is_some());
        assert!(r.credentials.iter().any(|c| c.kind == "service-credential"));
    }

    #[test]
    fn account_comes_from_the_name_an_arn_or_the_caller() {
        assert_eq!(
            account_from_path("x/123456789012-keys.json").as_deref(),
            Some("123456789012")
        );
        assert_eq!(account_from_path("keys.json"), None);
        let doc = br#"{"AccessKeyMetadata": [{"UserName": "a", "AccessKeyId": "AKIAX", "Status": "Active", "CreateDate": "2026-01-01T00:00:00+00:00"}]}"#;
        let e = parse("keys.json", doc, None).expect_err("no account");
        assert!(e.to_string().contains("--account"), "{e}");
        let r = parse("keys.json", doc, Some("210987654321")).expect("given");
        assert_eq!(r.credentials[0].scope, "aws:210987654321");
    }

    #[test]
    fn bad_input_names_file_line_and_field() {
        let e = parse(
            "123456789012.json",
            b"{\"AccessKeyMetadata\": []}\n{\"AccessKeyMetadata\": [{\"UserName\": 5}]}",
            None,
        )
        .expect_err("type");
        let s = e.to_string();
        assert!(
            s.starts_with("123456789012.json:2:") && s.contains("AccessKeyMetadata[0].UserName"),
            "{s}"
        );
        let e = parse("123456789012.json", b"{\"Roles\": [", None).expect_err("truncated");
        assert!(e.to_string().contains("not valid JSON"), "{e}");
        let e = parse(
            "123456789012.json",
            br#"{"AccessKeyMetadata": [{"UserName": "a", "AccessKeyId": "AKIAX", "Status": "Active", "CreateDate": "soon"}]}"#,
            None,
        )
        .expect_err("date");
        assert!(e.to_string().contains("CreateDate"), "{e}");
        assert!(parse("123456789012.json", b"", None).is_err());
        assert!(parse("123456789012.json", &[0, 159, 146, 150], None).is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = parse("123456789012.json", &bytes, None);
        }
        #[test]
        fn percent_decoding_never_panics(s in ".{0,40}") {
            let _ = percent_decode(&s);
        }
    }
}
