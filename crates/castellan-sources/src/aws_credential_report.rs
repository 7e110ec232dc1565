//! The AWS IAM credential report.
//!
//! `aws iam generate-credential-report` then `aws iam get-credential-report` returns a CSV with 22
//! columns (below), one row per IAM user and a first row for `<root_account>`. Absent values use
//! the sentinels `N/A` (no such credential / never used), `no_information` (no record of use) and
//! `not_supported` (root password fields). Access key ids are not in the report, so credentials
//! are named by slot: `aws:<account>:user/<name>/access-key-1`.
//!
//! Both the raw CSV and the CLI's JSON envelope (`{"Content": base64, "ReportFormat": "text/csv",
//! "GeneratedTime": …}`) are accepted; rows are parsed one at a time, so a report of a million
//! users streams in constant memory.

use std::collections::BTreeMap;
use std::io::{BufRead, Cursor};

use base64::Engine;
use castellan_model::{Attributes, Credential, Identity, Privilege, Status, ids};
use jiff::Timestamp;
use serde_json::json;

use crate::{Records, SourceError, show_value};

/// Source name in provenance.
pub const SOURCE: &str = "aws-credential-report";

/// How every credential report starts.
pub const HEADER_PREFIX: &str = "user,arn,user_creation_time";

/// The 22 columns, in the order AWS writes them.
pub const COLUMNS: [&str; 22] = [
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
];

const USER: usize = 0;
const ARN: usize = 1;
const CREATED: usize = 2;
const PW_ENABLED: usize = 3;
const PW_LAST_USED: usize = 4;
const PW_CHANGED: usize = 5;
const PW_NEXT: usize = 6;
const MFA: usize = 7;
const KEY1: usize = 8;
const KEY2: usize = 13;
const CERT1: usize = 18;
const CERT2: usize = 20;

/// A streaming reader over the rows of one report.
pub struct Reader<R: BufRead> {
    path: String,
    csv: csv::Reader<R>,
    record: csv::StringRecord,
    /// `GeneratedTime` from the JSON envelope, when the report came in one.
    pub generated_at: Option<Timestamp>,
}

impl<R: BufRead> std::fmt::Debug for Reader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Opens a CSV report, checking its header.
pub fn open_csv<R: BufRead>(path: &str, mut input: R) -> Result<Reader<R>, SourceError> {
    let io = |source| SourceError::Io {
        path: path.to_string(),
        source,
    };
    // Look at the first bytes before handing the stream to the CSV parser, so that a binary or
    // unrelated file is refused at once instead of being buffered as one giant record.
    let head = input.fill_buf().map_err(io)?;
    if head.is_empty() {
        return Err(SourceError::File {
            path: path.to_string(),
            message: "the file is empty; expected an AWS credential report starting with the header `user,arn,user_creation_time,…`".into(),
        });
    }
    let bom = head.starts_with(b"\xEF\xBB\xBF");
    let body = if bom { &head[3..] } else { head };
    if !body.starts_with(HEADER_PREFIX.as_bytes()) {
        return Err(SourceError::Line {
            path: path.to_string(),
            line: 1,
            message: "not an AWS IAM credential report: the first line must be the 22-column header `user,arn,user_creation_time,…` (get it with `aws iam get-credential-report --query Content --output text | base64 -d`)".into(),
        });
    }
    if bom {
        input.consume(3);
    }
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(input);
    let headers = csv.headers().map_err(|e| csv_error(path, e))?.clone();
    if headers.len() != COLUMNS.len() {
        return Err(SourceError::Line {
            path: path.to_string(),
            line: 1,
            message: format!(
                "the header has {} columns; an AWS credential report has {} ({})",
                headers.len(),
                COLUMNS.len(),
                COLUMNS.join(",")
            ),
        });
    }
    for (i, (got, want)) in headers.iter().zip(COLUMNS).enumerate() {
        if got.trim() != want {
            return Err(SourceError::Field {
                path: path.to_string(),
                line: 1,
                field: format!("column {}", i + 1),
                message: format!("header is {}, expected `{want}`", show_value(got)),
            });
        }
    }
    Ok(Reader {
        path: path.to_string(),
        csv,
        record: csv::StringRecord::new(),
        generated_at: None,
    })
}

/// Opens the JSON envelope printed by `aws iam get-credential-report --output json`.
pub fn open_json(path: &str, bytes: &[u8]) -> Result<Reader<Cursor<Vec<u8>>>, SourceError> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Envelope {
        content: String,
        report_format: Option<String>,
        generated_time: Option<String>,
    }
    let env: Envelope = serde_json::from_slice(bytes).map_err(|e| SourceError::Line {
        path: path.to_string(),
        line: e.line() as u64,
        message: format!(
            "not a `get-credential-report` JSON object ({}); expected {{\"Content\": <base64>, \"ReportFormat\": \"text/csv\", \"GeneratedTime\": …}}",
            json_error_kind(&e)
        ),
    })?;
    if let Some(fmt) = env.report_format.as_deref()
        && fmt != "text/csv"
    {
        return Err(SourceError::Field {
            path: path.to_string(),
            line: 1,
            field: "ReportFormat".into(),
            message: format!("is {}, only `text/csv` reports exist", show_value(fmt)),
        });
    }
    let generated_at = match env.generated_time.as_deref() {
        None => None,
        Some(t) => Some(
            castellan_model::parse_ts(t).map_err(|_| SourceError::Field {
                path: path.to_string(),
                line: 1,
                field: "GeneratedTime".into(),
                message: format!("{} is not an RFC 3339 timestamp", show_value(t)),
            })?,
        ),
    };
    let csv = base64::engine::general_purpose::STANDARD
        .decode(env.content.trim())
        .map_err(|e| SourceError::Field {
            path: path.to_string(),
            line: 1,
            field: "Content".into(),
            message: format!("is not valid base64 ({e})"),
        })?;
    let inner = format!("{path} (Content)");
    let mut reader = open_csv(&inner, Cursor::new(csv))?;
    reader.generated_at = generated_at;
    Ok(reader)
}

fn json_error_kind(e: &serde_json::Error) -> String {
    // serde_json messages quote unknown field names and types, never input values; keep only the
    // category and position to be safe.
    match e.classify() {
        serde_json::error::Category::Io => "I/O error".into(),
        serde_json::error::Category::Syntax => {
            format!("JSON syntax error at column {}", e.column())
        }
        serde_json::error::Category::Data => "missing or mistyped field `Content`".into(),
        serde_json::error::Category::Eof => "the JSON ends too early: the file is truncated".into(),
    }
}

fn csv_error(path: &str, e: csv::Error) -> SourceError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "this row has {len} columns, the report has {expected_len}; the file is truncated or not a credential report"
        ),
        csv::ErrorKind::Utf8 { err, .. } => format!(
            "column {} is not valid UTF-8: the file is binary or in another encoding (credential reports are UTF-8)",
            err.field() + 1
        ),
        csv::ErrorKind::Io(err) => format!("read error: {err}"),
        _ => "malformed CSV".into(),
    };
    SourceError::Line {
        path: path.to_string(),
        line,
        message,
    }
}

/// A date column's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Date {
    At(Timestamp),
    /// `N/A`: no such credential, or never used.
    NotApplicable,
    /// `no_information`: AWS has no record.
    NoInformation,
    /// `not_supported`: root password fields.
    NotSupported,
}

impl Date {
    fn at(self) -> Option<Timestamp> {
        match self {
            Date::At(t) => Some(t),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flag {
    True,
    False,
    NotSupported,
}

struct Row<'a> {
    path: &'a str,
    rec: &'a csv::StringRecord,
    line: u64,
}

impl Row<'_> {
    fn text(&self, i: usize) -> &str {
        self.rec.get(i).unwrap_or("").trim()
    }

    fn err(&self, i: usize, message: String) -> SourceError {
        SourceError::Field {
            path: self.path.to_string(),
            line: self.line,
            field: COLUMNS[i].to_string(),
            message,
        }
    }

    fn date(&self, i: usize) -> Result<Date, SourceError> {
        match self.text(i) {
            "N/A" | "" => Ok(Date::NotApplicable),
            "no_information" => Ok(Date::NoInformation),
            "not_supported" => Ok(Date::NotSupported),
            v => castellan_model::parse_ts(v).map(Date::At).map_err(|_| {
                self.err(
                    i,
                    format!(
                        "{} is not a timestamp; expected RFC 3339 (e.g. 2025-03-14T09:21:07+00:00) or N/A, no_information, not_supported",
                        show_value(v)
                    ),
                )
            }),
        }
    }

    fn flag(&self, i: usize) -> Result<Flag, SourceError> {
        match self.text(i) {
            v if v.eq_ignore_ascii_case("true") => Ok(Flag::True),
            v if v.eq_ignore_ascii_case("false") => Ok(Flag::False),
            "not_supported" => Ok(Flag::NotSupported),
            v => Err(self.err(
                i,
                format!(
                    "{} is not a flag; expected true, false or not_supported",
                    show_value(v)
                ),
            )),
        }
    }

    fn optional_text(&self, i: usize) -> Option<String> {
        match self.text(i) {
            "N/A" | "" | "no_information" | "not_supported" => None,
            v => Some(v.to_string()),
        }
    }
}

impl<R: BufRead> Reader<R> {
    /// The file being read.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Gives back the underlying reader (after the last row).
    pub fn into_inner(self) -> R {
        self.csv.into_inner()
    }

    /// Parses the next row into an identity and its credentials; `None` at the end.
    pub fn next_row(&mut self) -> Option<Result<Records, SourceError>> {
        match self.csv.read_record(&mut self.record) {
            Ok(false) => None,
            Ok(true) => {
                let line = self.record.position().map(|p| p.line()).unwrap_or(0);
                let row = Row {
                    path: &self.path,
                    rec: &self.record,
                    line,
                };
                Some(parse_row(&row))
            }
            Err(e) => Some(Err(csv_error(&self.path, e))),
        }
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<Records, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_row()
    }
}

/// `arn:<partition>:iam::<account>:user/<path/>name` or `…:root` → account id.
fn account_of(row: &Row<'_>) -> Result<String, SourceError> {
    let arn = row.text(ARN);
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && (parts[5] == "root" || parts[5].starts_with("user/"));
    if !ok {
        return Err(row.err(
            ARN,
            format!(
                "{} is not an IAM user ARN (arn:aws:iam::<12-digit account>:user/<name> or :root)",
                show_value(arn)
            ),
        ));
    }
    Ok(parts[4].to_string())
}

fn parse_row(row: &Row<'_>) -> Result<Records, SourceError> {
    let user = row.text(USER);
    if user.is_empty() {
        return Err(row.err(USER, "is empty; every row names an IAM user".into()));
    }
    let account = account_of(row)?;
    let scope = format!("aws:{account}");
    let is_root = user == "<root_account>";
    let arn = row.text(ARN).to_string();
    let (id, kind, name, privilege) = if is_root {
        (
            ids::aws_root(&account),
            "aws-root",
            "root".to_string(),
            Privilege::Admin,
        )
    } else {
        (
            ids::aws_user(&account, user),
            "aws-iam-user",
            user.to_string(),
            Privilege::Unknown,
        )
    };
    let created_at = row.date(CREATED)?.at();
    let pw_enabled = row.flag(PW_ENABLED)?;
    let pw_last_used = row.date(PW_LAST_USED)?;
    let pw_changed = row.date(PW_CHANGED)?;
    let pw_next = row.date(PW_NEXT)?;
    let mfa = row.flag(MFA)? == Flag::True;

    let mut credentials = Vec::new();
    let cred = |slot: &str, kind: &str, status: Status| Credential {
        id: ids::credential_of(&id, slot),
        identity_id: Some(id.clone()),
        kind: kind.to_string(),
        source: SOURCE.to_string(),
        scope: scope.clone(),
        name: format!("{name} {slot}"),
        status,
        created_at: None,
        last_rotated_at: None,
        last_used_at: None,
        ever_used: None,
        expires_at: None,
        fingerprint: None,
        preview: None,
        attributes: Attributes::new(),
    };

    // Console password: present when enabled; the root user always has one.
    if pw_enabled == Flag::True || (is_root && pw_enabled == Flag::NotSupported) {
        let mut c = cred("password", "password", Status::Active);
        c.last_rotated_at = pw_changed.at();
        c.last_used_at = pw_last_used.at();
        c.ever_used = match pw_last_used {
            Date::At(_) => Some(true),
            // "N/A" on an enabled password means it was never used; no_information means AWS
            // has no record (never used, or last used before tracking began).
            Date::NotApplicable => Some(false),
            Date::NoInformation | Date::NotSupported => None,
        };
        c.expires_at = pw_next.at();
        c.attributes.insert("mfa_active".into(), json!(mfa));
        credentials.push(c);
    }

    for (n, base) in [(1, KEY1), (2, KEY2)] {
        let active = row.flag(base)?;
        let rotated = row.date(base + 1)?;
        let used = row.date(base + 2)?;
        if active != Flag::True && rotated.at().is_none() {
            continue; // empty slot
        }
        let status = if active == Flag::True {
            Status::Active
        } else {
            Status::Inactive
        };
        let mut c = cred(&format!("access-key-{n}"), "access-key", status);
        c.created_at = rotated.at();
        c.last_rotated_at = rotated.at();
        c.last_used_at = used.at();
        c.ever_used = match used {
            Date::At(_) => Some(true),
            Date::NotApplicable => Some(false),
            _ => None,
        };
        if let Some(region) = row.optional_text(base + 3) {
            c.attributes
                .insert("last_used_region".into(), json!(region));
        }
        if let Some(service) = row.optional_text(base + 4) {
            c.attributes
                .insert("last_used_service".into(), json!(service));
        }
        credentials.push(c);
    }

    for (n, base) in [(1, CERT1), (2, CERT2)] {
        let active = row.flag(base)?;
        let rotated = row.date(base + 1)?;
        if active != Flag::True && rotated.at().is_none() {
            continue;
        }
        let status = if active == Flag::True {
            Status::Active
        } else {
            Status::Inactive
        };
        let mut c = cred(&format!("certificate-{n}"), "signing-certificate", status);
        c.created_at = rotated.at();
        c.last_rotated_at = rotated.at();
        credentials.push(c);
    }

    let last_used_at = credentials.iter().filter_map(|c| c.last_used_at).max();
    let has_keys = credentials.iter().any(|c| c.kind == "access-key");
    let console = credentials.iter().any(|c| c.kind == "password");
    let mut attributes: Attributes = BTreeMap::new();
    attributes.insert("arn".into(), json!(arn));
    attributes.insert("mfa_active".into(), json!(mfa));
    attributes.insert("console_access".into(), json!(console));
    attributes.insert("programmatic_access".into(), json!(has_keys));
    if let Some(path) = arn.split_once(":user").map(|(_, rest)| rest) {
        // `/ci/ci-deployer` → path `/ci/`
        if let Some(idx) = path.rfind('/') {
            attributes.insert("path".into(), json!(&path[..=idx]));
        }
    }
    let identity = Identity {
        id,
        kind: kind.to_string(),
        source: SOURCE.to_string(),
        scope,
        name,
        account: Some(account),
        status: Status::Active,
        privilege,
        created_at,
        last_used_at,
        tags: BTreeMap::new(),
        attributes,
    };
    Ok(Records {
        identities: vec![identity],
        credentials,
        ..Records::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

    fn parse(body: &str) -> Result<Vec<Records>, SourceError> {
        let text = format!("{HEADER}\n{body}");
        open_csv("r.csv", Cursor::new(text.into_bytes()))?.collect()
    }

    #[test]
    fn root_and_users_become_identities_and_credentials() {
        let rows = parse(concat!(
            "<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,2026-04-02T08:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
            "ci,arn:aws:iam::123456789012:user/ci/ci,2024-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2026-10-20T10:00:00+00:00,2026-11-30T10:00:00+00:00,eu-central-1,s3,false,2024-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A\n",
        ))
        .expect("valid");
        assert_eq!(rows.len(), 2);
        let root = &rows[0];
        assert_eq!(root.identities[0].id, "aws:123456789012:root");
        assert_eq!(root.identities[0].privilege, Privilege::Admin);
        assert_eq!(root.credentials.len(), 1);
        assert_eq!(root.credentials[0].kind, "password");
        assert_eq!(root.credentials[0].last_rotated_at, None);

        let ci = &rows[1];
        assert_eq!(ci.identities[0].id, "aws:123456789012:user/ci");
        assert_eq!(ci.identities[0].attributes["path"], json!("/ci/"));
        assert_eq!(ci.credentials.len(), 2, "{:?}", ci.credentials);
        let k1 = &ci.credentials[0];
        assert_eq!(k1.id, "aws:123456789012:user/ci/access-key-1");
        assert_eq!(k1.status, Status::Active);
        assert_eq!(k1.ever_used, Some(true));
        assert_eq!(k1.attributes["last_used_service"], json!("s3"));
        let k2 = &ci.credentials[1];
        assert_eq!(k2.status, Status::Inactive);
        assert_eq!(k2.ever_used, Some(false));
        assert_eq!(
            ci.identities[0]
                .last_used_at
                .map(castellan_model::format_ts)
                .as_deref(),
            Some("2026-11-30T10:00:00Z")
        );
    }

    #[test]
    fn bad_date_names_line_and_field_without_echoing_secrets() {
        let err = parse("u,arn:aws:iam::123456789012:user/u,2024-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n")
            .expect_err("bad date");
        let msg = err.to_string();
        assert!(
            msg.starts_with("r.csv:2: field `access_key_1_last_rotated`"),
            "{msg}"
        );
        assert!(!msg.contains("XUtnFEMIK7MDENG"), "{msg}");
    }

    #[test]
    fn wrong_column_count_names_the_line() {
        let err = parse("u,arn:aws:iam::123456789012:user/u,2024\n").expect_err("short row");
        assert!(err.to_string().starts_with("r.csv:2:"), "{err}");
    }

    #[test]
    fn empty_binary_and_foreign_files_are_refused() {
        assert!(open_csv("e.csv", Cursor::new(Vec::new())).is_err());
        assert!(open_csv("b.bin", Cursor::new(vec![0u8, 159, 146, 150])).is_err());
        let e = open_csv(
            "h.csv",
            Cursor::new(b"user,arn,user_creation_time,x\n".to_vec()),
        )
        .expect_err("header");
        assert!(e.to_string().contains("22"), "{e}");
    }

    #[test]
    fn json_envelope_is_decoded() {
        let csv = format!(
            "{HEADER}\n<root_account>,arn:aws:iam::210987654321:root,2020-01-01T00:00:00+00:00,not_supported,no_information,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"
        );
        let b64 = base64::engine::general_purpose::STANDARD.encode(csv);
        let json = format!(
            r#"{{"Content": "{b64}", "ReportFormat": "text/csv", "GeneratedTime": "2026-12-01T06:00:00+00:00"}}"#
        );
        let mut r = open_json("r.json", json.as_bytes()).expect("open");
        assert!(r.generated_at.is_some());
        let row = r.next().expect("row").expect("valid");
        assert_eq!(row.identities[0].id, "aws:210987654321:root");
        assert_eq!(row.credentials[0].ever_used, None);
        assert!(open_json("t.json", br#"{"Content": "dXNl"#).is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(0u8..=255, 0..400)) {
            let mut input = HEADER.as_bytes().to_vec();
            input.push(b'\n');
            input.extend(bytes);
            if let Ok(r) = open_csv("p.csv", Cursor::new(input)) {
                for row in r {
                    let _ = row;
                }
            }
        }
    }
}
