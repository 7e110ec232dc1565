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
