//! Live AWS IAM (cargo feature `aws`): reads the same data as the exports, through the IAM API,
//! read-only, and hands back the documents the AWS CLI would have printed — the credential
//! report, `get-account-authorization-details` pages and the IAM list outputs (access keys with
//! their last use, SSH public keys, server certificates) — so the live path and the file path go
//! through the same parsers and a live import leaves the exact documents it read as evidence.
//!
//! Credentials and endpoint come from the standard AWS chain (`AWS_PROFILE`, `AWS_ACCESS_KEY_ID`…,
//! SSO, instance roles) and `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_IAM`. IAM is global; when no
//! region is configured `us-east-1` is used to sign requests. Only `Get*`, `List*` and
//! `GenerateCredentialReport` (which asks AWS to build the report, changing nothing in the
//! account) are called.

use std::time::Duration;

use aws_sdk_iam::Client;
use aws_sdk_iam::error::DisplayErrorContext;
use aws_sdk_iam::primitives::{DateTime, DateTimeFormat};
use serde_json::{Value, json};

/// What a live read returns: the account and the documents read, each with a file name that
/// says what it is (`<account>-credential-report.csv`, `<account>-authorization-details-1.json`,
/// `<account>-iam-lists.json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveExports {
    /// The 12-digit account id.
    pub account: String,
    /// (file name, content), in import order.
    pub documents: Vec<(String, Vec<u8>)>,
}

/// A live read that failed: what was being read, and why.
#[derive(Debug, thiserror::Error)]
#[error("AWS IAM (live): {step}: {message}")]
pub struct LiveError {
    /// The call or step.
    pub step: String,
    /// The provider's message (never a credential).
    pub message: String,
}

fn err<E: std::error::Error>(step: &str, e: E) -> LiveError {
    LiveError {
        step: step.into(),
        message: format!("{}", DisplayErrorContext(e)),
    }
}

fn ts(t: Option<&DateTime>) -> Value {
    t.and_then(|t| t.fmt(DateTimeFormat::DateTime).ok())
        .map_or(Value::Null, Value::String)
}

/// Reads the account's IAM data. `progress` is told what is being read.
pub fn fetch(progress: &dyn Fn(&str)) -> Result<LiveExports, LiveError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| err("starting the async runtime", e))?;
    rt.block_on(fetch_async(progress))
}

async fn fetch_async(progress: &dyn Fn(&str)) -> Result<LiveExports, LiveError> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none()
    {
        loader = loader.region(aws_config::Region::new("us-east-1"));
    }
    let config = loader.load().await;
    let client = Client::new(&config);

    progress("reading get-account-authorization-details");
    let mut pages = Vec::new();
    let mut marker: Option<String> = None;
    let mut users: Vec<String> = Vec::new();
    let mut account: Option<String> = None;
    loop {
        let out = client
            .get_account_authorization_details()
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| err("GetAccountAuthorizationDetails", e))?;
        let user_list: Vec<Value> = out
            .user_detail_list()
            .iter()
            .map(|u| {
                if let Some(name) = u.user_name() {
                    users.push(name.to_string());
                }
                json!({
                    "Path": u.path(),
                    "UserName": u.user_name(),
                    "UserId": u.user_id(),
                    "Arn": u.arn(),
                    "CreateDate": ts(u.create_date()),
                    "UserPolicyList": u.user_policy_list().iter().map(|p| json!({"PolicyName": p.policy_name(), "PolicyDocument": p.policy_document()})).collect::<Vec<_>>(),
                    "GroupList": u.group_list(),
                    "AttachedManagedPolicies": u.attached_managed_policies().iter().map(|p| json!({"PolicyName": p.policy_name(), "PolicyArn": p.policy_arn()})).collect::<Vec<_>>(),
                    "PermissionsBoundary": u.permissions_boundary().map(|b| json!({"PermissionsBoundaryArn": b.permissions_boundary_arn()})),
                    "Tags": u.tags().iter().map(|t| json!({"Key": t.key(), "Value": t.value()})).collect::<Vec<_>>(),
                })
            })
            .collect();
        let group_list: Vec<Value> = out
            .group_detail_list()
            .iter()
            .map(|g| {
                json!({
                    "Path": g.path(),
                    "GroupName": g.group_name(),
                    "GroupId": g.group_id(),
                    "Arn": g.arn(),
                    "CreateDate": ts(g.create_date()),
                    "GroupPolicyList": g.group_policy_list().iter().map(|p| json!({"PolicyName": p.policy_name(), "PolicyDocument": p.policy_document()})).collect::<Vec<_>>(),
                    "AttachedManagedPolicies": g.attached_managed_policies().iter().map(|p| json!({"PolicyName": p.policy_name(), "PolicyArn": p.policy_arn()})).collect::<Vec<_>>(),
                })
            })
            .collect();
        let role_list: Vec<Value> = out
            .role_detail_list()
            .iter()
            .map(|r| {
                json!({
                    "Path": r.path(),
                    "RoleName": r.role_name(),
                    "RoleId": r.role_id(),
                    "Arn": r.arn(),
                    "CreateDate": ts(r.create_date()),
                    "AssumeRolePolicyDocument": r.assume_role_policy_document(),
                    "InstanceProfileList": r.instance_profile_list().iter().map(|p| json!({"InstanceProfileName": p.instance_profile_name(), "Arn": p.arn()})).collect::<Vec<_>>(),
                    "RolePolicyList": r.role_policy_list().iter().map(|p| json!({"PolicyName": p.policy_name(), "PolicyDocument": p.policy_document()})).collect::<Vec<_>>(),
                    "AttachedManagedPolicies": r.attached_managed_policies().iter().map(|p| json!({"PolicyName": p.policy_name(), "PolicyArn": p.policy_arn()})).collect::<Vec<_>>(),
                    "PermissionsBoundary": r.permissions_boundary().map(|b| json!({"PermissionsBoundaryArn": b.permissions_boundary_arn()})),
                    "Tags": r.tags().iter().map(|t| json!({"Key": t.key(), "Value": t.value()})).collect::<Vec<_>>(),
                    "RoleLastUsed": r.role_last_used().map(|l| json!({"LastUsedDate": ts(l.last_used_date()), "Region": l.region()})),
                })
            })
            .collect();
        let policies: Vec<Value> = out
            .policies()
            .iter()
            .map(|p| {
                json!({
                    "PolicyName": p.policy_name(),
                    "PolicyId": p.policy_id(),
                    "Arn": p.arn(),
                    "Path": p.path(),
                    "DefaultVersionId": p.default_version_id(),
                    "AttachmentCount": p.attachment_count(),
                    "IsAttachable": p.is_attachable(),
                    "PolicyVersionList": p.policy_version_list().iter().map(|v| json!({"Document": v.document(), "VersionId": v.version_id(), "IsDefaultVersion": v.is_default_version()})).collect::<Vec<_>>(),
                })
            })
            .collect();
        for arn in user_list
            .iter()
            .chain(role_list.iter())
            .filter_map(|v| v["Arn"].as_str())
        {
            if account.is_none() {
                account = arn.split(':').nth(4).map(str::to_string);
            }
        }
        pages.push(json!({
            "UserDetailList": user_list,
            "GroupDetailList": group_list,
            "RoleDetailList": role_list,
            "Policies": policies,
            "IsTruncated": out.is_truncated(),
        }));
        marker = out.marker().map(str::to_string);
        if !out.is_truncated() || marker.is_none() {
            break;
        }
    }

    progress("generating the credential report");
    let mut report: Option<Vec<u8>> = None;
    for attempt in 0..30 {
        let state = client
            .generate_credential_report()
            .send()
            .await
            .map_err(|e| err("GenerateCredentialReport", e))?;
        let complete = state
            .state()
            .is_some_and(|s| s.as_str().eq_ignore_ascii_case("COMPLETE"));
        if complete {
            let out = client
                .get_credential_report()
                .send()
                .await
                .map_err(|e| err("GetCredentialReport", e))?;
            report = out.content().map(|b| b.as_ref().to_vec());
            break;
        }
        tokio::time::sleep(Duration::from_millis(500 + 250 * attempt)).await;
    }
    let report = report.ok_or_else(|| LiveError {
        step: "GetCredentialReport".into(),
        message: "the credential report was not ready after 30 attempts; try again in a minute"
            .into(),
    })?;
    if account.is_none() {
        account = String::from_utf8_lossy(&report)
            .lines()
            .nth(1)
            .and_then(|l| l.split(',').nth(1))
            .and_then(|arn| arn.split(':').nth(4))
            .map(str::to_string);
    }
    let account = account.filter(|a| !a.is_empty()).ok_or_else(|| LiveError {
        step: "finding the account".into(),
        message: "the account has no IAM users or roles whose ARN names it".into(),
    })?;

    progress("listing access keys and their last use");
    let mut lists = String::new();
    for user in &users {
        let keys = client
            .list_access_keys()
            .user_name(user)
            .send()
            .await
            .map_err(|e| err(&format!("ListAccessKeys {user}"), e))?;
        let mut items = Vec::new();
        for k in keys.access_key_metadata() {
            let Some(id) = k.access_key_id() else {
                continue;
            };
            let last = client
                .get_access_key_last_used()
                .access_key_id(id)
                .send()
                .await
                .map_err(|e| err(&format!("GetAccessKeyLastUsed {id}"), e))?;
            let used = last.access_key_last_used().map(|l| {
                json!({"LastUsedDate": ts(l.last_used_date()), "ServiceName": l.service_name(), "Region": l.region()})
            });
            items.push(json!({
                "UserName": k.user_name().unwrap_or(user),
                "AccessKeyId": id,
                "Status": k.status().map(|s| s.as_str()),
                "CreateDate": ts(k.create_date()),
                "AccessKeyLastUsed": used,
            }));
        }
        if !items.is_empty() {
            lists.push_str(&json!({ "AccessKeyMetadata": items }).to_string());
            lists.push('\n');
        }
        let ssh = client
            .list_ssh_public_keys()
            .user_name(user)
            .send()
            .await
            .map_err(|e| err(&format!("ListSSHPublicKeys {user}"), e))?;
        let ssh: Vec<Value> = ssh
            .ssh_public_keys()
            .iter()
            .map(|k| {
                json!({"UserName": k.user_name(), "SSHPublicKeyId": k.ssh_public_key_id(),
                       "Status": k.status().as_str(), "UploadDate": ts(Some(k.upload_date()))})
            })
            .collect();
        if !ssh.is_empty() {
            lists.push_str(&json!({ "SSHPublicKeys": ssh }).to_string());
            lists.push('\n');
        }
    }
    progress("listing server certificates");
    let certs = client
        .list_server_certificates()
        .send()
        .await
        .map_err(|e| err("ListServerCertificates", e))?;
    let certs: Vec<Value> = certs
        .server_certificate_metadata_list()
        .iter()
        .map(|c| {
            json!({"Path": c.path(), "ServerCertificateName": c.server_certificate_name(),
                   "ServerCertificateId": c.server_certificate_id(), "Arn": c.arn(),
                   "UploadDate": ts(c.upload_date()), "Expiration": ts(c.expiration())})
        })
        .collect();
    if !certs.is_empty() {
        lists.push_str(&json!({ "ServerCertificateMetadataList": certs }).to_string());
        lists.push('\n');
    }

    let mut documents = vec![(format!("{account}-credential-report.csv"), report)];
    for (i, p) in pages.into_iter().enumerate() {
        documents.push((
            format!("{account}-authorization-details-{}.json", i + 1),
            serde_json::to_vec_pretty(&p).map_err(|e| err("writing the export", e))?,
        ));
    }
    if !lists.is_empty() {
        documents.push((format!("{account}-iam-lists.json"), lists.into_bytes()));
    }
    Ok(LiveExports { account, documents })
}
