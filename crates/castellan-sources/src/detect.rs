use std::path::Path;

/// The formats Castellan recognises in an estate folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// The governance file (`castellan.yaml`).
    Governance,
    /// AWS IAM credential report CSV.
    AwsCredentialReport,
    /// `aws iam get-credential-report` JSON output (base64 CSV inside).
    AwsCredentialReportJson,
    /// `aws iam get-account-authorization-details` JSON output.
    AwsAuthorizationDetails,
    /// Kubernetes objects: `kubectl get … -o json` (a v1 List) or manifest YAML.
    Kubernetes,
    /// AWS IAM list outputs (`list-access-keys`, `list-roles`, `list-ssh-public-keys`…).
    AwsIamLists,
    /// AWS CloudTrail log files (JSON or gzip'd) and `lookup-events` output.
    AwsCloudTrail,
    /// GCP: `gcloud iam service-accounts list / keys list`, `projects get-iam-policy` JSON.
    Gcp,
    /// Azure / Entra: `az ad sp list`, `az ad app list`, `az role assignment list` JSON.
    Azure,
    /// GitHub organisation export (apps, fine-grained PATs, deploy keys, Actions secrets, audit log).
    GitHub,
    /// HashiCorp Vault / OpenBao: token accessor lookups and file audit device logs.
    Vault,
    /// X.509 certificates: PEM, DER, bundles, PKCS#12.
    X509,
    /// OpenSSH `authorized_keys` and public key files.
    Ssh,
}

impl SourceKind {
    /// The source name used in provenance and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Governance => "governance",
            SourceKind::AwsCredentialReport | SourceKind::AwsCredentialReportJson => {
                "aws-credential-report"
            }
            SourceKind::AwsAuthorizationDetails => "aws-authorization-details",
            SourceKind::Kubernetes => crate::k8s::SOURCE,
            SourceKind::AwsIamLists => crate::aws_iam_lists::SOURCE,
            SourceKind::AwsCloudTrail => crate::aws_cloudtrail::SOURCE,
            SourceKind::Gcp => crate::gcp::SOURCE,
            SourceKind::Azure => crate::azure::SOURCE,
            SourceKind::GitHub => crate::github::SOURCE,
            SourceKind::Vault => crate::vault::SOURCE,
            SourceKind::X509 => crate::x509::SOURCE,
            SourceKind::Ssh => crate::ssh::SOURCE,
        }
    }

    /// Import order within one transaction: the governance file first (attribution), then the
    /// inventories, then the sources that refer to what the inventories hold (key ids, logs).
    pub fn order(self) -> u8 {
        match self {
            SourceKind::Governance => 0,
            SourceKind::AwsCredentialReport | SourceKind::AwsCredentialReportJson => 1,
            SourceKind::AwsIamLists => 3,
            SourceKind::AwsCloudTrail => 9,
            _ => 2,
        }
    }
}

/// Recognises a file by its first bytes (`head`, a few KiB), falling back on the name only for
/// the governance file. Returns `None` for anything Castellan does not import.
pub fn detect(path: &Path, head: &[u8]) -> Option<SourceKind> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if head.starts_with(crate::aws_credential_report::HEADER_PREFIX.as_bytes()) {
        return Some(SourceKind::AwsCredentialReport);
    }
    if crate::aws_cloudtrail::is_gzip(head) {
        let inner = crate::aws_cloudtrail::gunzip_head(head, 8192);
        return crate::aws_cloudtrail::looks_like(&String::from_utf8_lossy(&inner))
            .then_some(SourceKind::AwsCloudTrail);
    }
    if crate::x509::looks_like_bytes(head) {
        return Some(SourceKind::X509);
    }
    let text = String::from_utf8_lossy(head);
    let trimmed = text.trim_start();
    if trimmed.starts_with('{')
        && text.contains("\"Content\"")
        // base64 of "user,arn,": the report's header inside the JSON envelope
        && text.contains("dXNlcixhcm4s")
    {
        return Some(SourceKind::AwsCredentialReportJson);
    }
    if trimmed.starts_with('{')
        && [
            "\"UserDetailList\"",
            "\"RoleDetailList\"",
            "\"GroupDetailList\"",
        ]
        .iter()
        .any(|k| text.contains(k))
    {
        return Some(SourceKind::AwsAuthorizationDetails);
    }
    if crate::aws_cloudtrail::looks_like(&text) {
        return Some(SourceKind::AwsCloudTrail);
    }
    if crate::aws_iam_lists::looks_like(&text) {
        return Some(SourceKind::AwsIamLists);
    }
    type Recogniser = (fn(&str) -> bool, SourceKind);
    let others: [Recogniser; 6] = [
        (crate::gcp::looks_like, SourceKind::Gcp),
        (crate::azure::looks_like, SourceKind::Azure),
        (crate::github::looks_like, SourceKind::GitHub),
        (crate::vault::looks_like, SourceKind::Vault),
        (crate::x509::looks_like, SourceKind::X509),
        (crate::ssh::looks_like, SourceKind::Ssh),
    ];
    if let Some((_, kind)) = others.iter().find(|(f, _)| f(&text)) {
        return Some(*kind);
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let yaml_name = name.ends_with(".yaml") || name.ends_with(".yml");
    let has_marker = text.lines().any(|l| {
        l.starts_with("castellan:") && l[10..].trim().starts_with(|c: char| c.is_ascii_digit())
    });
    if (yaml_name && has_marker) || matches!(name, "castellan.yaml" | "castellan.yml") {
        return Some(SourceKind::Governance);
    }
    let json_name = name.ends_with(".json");
    if (yaml_name || json_name || trimmed.starts_with('{')) && crate::k8s::looks_like(&text) {
        return Some(SourceKind::Kubernetes);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_by_content() {
        let p = Path::new("whatever.txt");
        assert_eq!(
            detect(p, b"user,arn,user_creation_time,password_enabled"),
            Some(SourceKind::AwsCredentialReport)
        );
        assert_eq!(
            detect(p, b"\xEF\xBB\xBFuser,arn,user_creation_time"),
            Some(SourceKind::AwsCredentialReport)
        );
        assert_eq!(
            detect(p, br#"{"Content": "dXNlcixhcm4sdXNlcl9jcmVhdGlvbl90aW1l", "ReportFormat": "text/csv"}"#),
            Some(SourceKind::AwsCredentialReportJson)
        );
        assert_eq!(
            detect(Path::new("gov.yml"), b"# x\ncastellan: 1\n"),
            Some(SourceKind::Governance)
        );
        assert_eq!(
            detect(Path::new("castellan.yaml"), b""),
            Some(SourceKind::Governance)
        );
        assert_eq!(detect(Path::new("other.yml"), b"name: x\n"), None);
        assert_eq!(detect(p, b"\x00\x01binary"), None);
        assert_eq!(
            detect(p, b"{\n    \"UserDetailList\": [\n"),
            Some(SourceKind::AwsAuthorizationDetails)
        );
        assert_eq!(
            detect(
                p,
                b"{\"apiVersion\": \"v1\", \"items\": [], \"kind\": \"List\"}"
            ),
            Some(SourceKind::Kubernetes)
        );
        assert_eq!(
            detect(
                Path::new("deploy.yaml"),
                b"apiVersion: apps/v1\nkind: Deployment\n"
            ),
            Some(SourceKind::Kubernetes)
        );
        assert_eq!(
            detect(Path::new("notes.txt"), b"apiVersion: v1\nkind: Pod\n"),
            None
        );
    }
}
