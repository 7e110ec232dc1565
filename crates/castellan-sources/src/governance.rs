//! The governance file, `castellan.yaml`: what people decide and Castellan cannot discover.
//!
//! It declares business services (with NIS2 criticality), people (active or left), suppliers
//! and their contracts, mapping rules (`tag service=payments ⇒ service payments`, `name
//! vendor-acme-* ⇒ supplier acme`), explicit owner/custodian assignments, exceptions and
//! threshold overrides. It lives in the user's repository, so its history is itself evidence.
//! The full schema is in `docs/governance.md`. Unknown keys are errors with line numbers.

use std::collections::{BTreeMap, BTreeSet};

use castellan_model::{
    Attribution, Contract, Criticality, Exception, Identity, Person, PersonStatus, Service,
    Supplier, ids,
};
use globset::{Glob, GlobMatcher};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::{SourceError, show_value};

/// The assessment profile, which changes default thresholds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// The default.
    #[default]
    Standard,
    /// Micro-entities (annual reviews).
    MicroEntity,
    /// High assurance (shorter rotation and review).
    HighAssurance,
}

/// Threshold overrides for this estate (unset values keep the catalogue defaults).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Maximum age of a static secret (NHI-GOV-005).
    pub rotation_max_age_days: Option<u32>,
    /// Idle days after which an enabled NHI or credential is dormant (NHI-GOV-007).
    pub dormant_days: Option<u32>,
    /// Days a newly issued, never-used credential is left alone (NHI-GOV-007).
    pub new_credential_grace_days: Option<u32>,
    /// Maximum age of a source's data before the inventory counts as stale (NHI-GOV-001).
    pub max_sync_age_hours: Option<u32>,
    /// Longest an exception may run (NHI-GOV-024).
    pub max_exception_days: Option<u32>,
}

/// Which identities a rule or assignment applies to. All given conditions must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selector {
    /// Glob over the identity id.
    pub id: Option<String>,
    /// Glob over the identity name.
    pub name: Option<String>,
    /// `key=value` with a glob value, over the identity's tags.
    pub tag: Option<String>,
    /// Exact identity kind (`aws-iam-user`…).
    pub kind: Option<String>,
    /// Exact account / cluster / organisation.
    pub account: Option<String>,
}

/// What a rule or assignment sets on the identities it selects.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Owner's e-mail.
    pub owner: Option<String>,
    /// Custodian's e-mail.
    pub custodian: Option<String>,
    /// Service name.
    pub service: Option<String>,
    /// Supplier name.
    pub supplier: Option<String>,
}

/// A mapping rule or an explicit assignment, validated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    /// `rule:<n>` or `assignment:<n>` (1-based, in file order) with the file line.
    pub label: String,
    /// Which identities.
    pub selector: Selector,
    /// What it sets.
    pub set: Settings,
}

/// A validated governance file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Governance {
    /// Organisation name.
    pub organisation: Option<String>,
    /// Assessment profile.
    pub profile: Profile,
    /// Business services.
    pub services: Vec<Service>,
    /// People.
    pub people: Vec<Person>,
    /// Suppliers.
    pub suppliers: Vec<Supplier>,
    /// Contracts, with their supplier ids.
    pub contracts: Vec<Contract>,
    /// Mapping rules, in order (first rule that sets a field wins).
    pub rules: Vec<Mapping>,
    /// Explicit assignments (beat rules; first matching assignment wins per field).
    pub assignments: Vec<Mapping>,
    /// Exceptions.
    pub exceptions: Vec<Exception>,
    /// Threshold overrides.
    pub thresholds: Thresholds,
    /// Human attestations for controls that need one (e.g. management approval of the policy).
    #[serde(default)]
    pub attestations: Vec<Attestation>,
    /// Access reviews (recertifications) of identities.
    #[serde(default)]
    pub reviews: Vec<Review>,
}

/// What a reviewer decided about an identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    /// Still needed as it is.
    Keep,
    /// Still needed, with less access.
    Reduce,
    /// No longer needed: revoke it.
    Revoke,
}

/// A recorded access review of the identities a subject (id or glob) selects.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// Identity id or glob over ids.
    pub subject: String,
    /// Who reviewed (e-mail).
    pub reviewer: String,
    /// When.
    pub date: Timestamp,
    /// The decision.
    pub decision: ReviewDecision,
    /// Free text (ticket, campaign).
    pub note: Option<String>,
}

/// A person's statement that a manual control is met, with a pointer to the evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attestation {
    /// The control attested.
    pub control: String,
    /// What is attested.
    pub statement: String,
    /// Who attests (e-mail).
    pub attested_by: String,
    /// When.
    pub date: Timestamp,
    /// Where the evidence is (document, minutes, ticket).
    pub evidence: String,
    /// When the attestation must be renewed.
    pub expires: Option<Timestamp>,
}

impl Attestation {
    /// Whether it is in force at `now`.
    pub fn is_current(&self, now: Timestamp) -> bool {
        self.date <= now && self.expires.is_none_or(|e| now < e)
    }
}

// ---- the file as written ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    castellan: Spanned<u32>,
    organisation: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    profile: Profile,
    #[serde(default, deserialize_with = "null_as_default")]
    services: Vec<ServiceDecl>,
    #[serde(default, deserialize_with = "null_as_default")]
    people: Vec<PersonDecl>,
    #[serde(default, deserialize_with = "null_as_default")]
    suppliers: Vec<SupplierDecl>,
    #[serde(default, deserialize_with = "null_as_default")]
    rules: Vec<RuleDecl>,
    #[serde(default, deserialize_with = "null_as_default")]
    assignments: Vec<AssignmentDecl>,
    #[serde(default, deserialize_with = "null_as_default")]
    exceptions: Vec<ExceptionDecl>,
    #[serde(default, deserialize_with = "null_as_default")]
    thresholds: ThresholdsDecl,
    #[serde(default, deserialize_with = "null_as_default")]
    attestations: Vec<AttestationDecl>,
    #[serde(default, deserialize_with = "null_as_default")]
    reviews: Vec<ReviewDecl>,
}

/// An empty section (`services:` with nothing under it) reads as YAML null: treat it as empty.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewDecl {
    subject: Spanned<String>,
    reviewer: Spanned<String>,
    date: Spanned<String>,
    decision: ReviewDecision,
    note: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdsDecl {
    rotation_max_age_days: Option<Spanned<u32>>,
    dormant_days: Option<Spanned<u32>>,
    new_credential_grace_days: Option<Spanned<u32>>,
    max_sync_age_hours: Option<Spanned<u32>>,
    max_exception_days: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttestationDecl {
    control: Spanned<String>,
    statement: String,
    attested_by: Spanned<String>,
    date: Spanned<String>,
    evidence: String,
    expires: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceDecl {
    name: Spanned<String>,
    criticality: Criticality,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonDecl {
    name: String,
    email: Spanned<String>,
    team: Option<String>,
    #[serde(default = "active")]
    status: PersonStatus,
    left_at: Option<Spanned<String>>,
}

fn active() -> PersonStatus {
    PersonStatus::Active
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SupplierDecl {
    name: Spanned<String>,
    contact: Option<String>,
    #[serde(default)]
    contracts: Vec<ContractDecl>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContractDecl {
    id: Spanned<String>,
    start: Spanned<String>,
    end: Option<Spanned<String>>,
    notice_days: Option<u32>,
    offboarding_contact: Option<String>,
    terminated_at: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SelectorDecl {
    id: Option<Spanned<String>>,
    name: Option<Spanned<String>>,
    tag: Option<Spanned<String>>,
    kind: Option<String>,
    account: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsDecl {
    owner: Option<Spanned<String>>,
    custodian: Option<Spanned<String>>,
    service: Option<Spanned<String>>,
    supplier: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDecl {
    #[serde(rename = "match")]
    selector: Spanned<SelectorDecl>,
    set: Spanned<SettingsDecl>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignmentDecl {
    subject: Spanned<String>,
    owner: Option<Spanned<String>>,
    custodian: Option<Spanned<String>>,
    service: Option<Spanned<String>>,
    supplier: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExceptionDecl {
    id: Spanned<String>,
    control: Spanned<String>,
    subject: Spanned<String>,
    justification: String,
    #[serde(default)]
    compensating_controls: Vec<String>,
    approver: Spanned<String>,
    requested_by: Option<String>,
    granted: Option<Spanned<String>>,
    expires: Spanned<String>,
}

struct Ctx<'a> {
    path: &'a str,
}

impl Ctx<'_> {
    fn err<T>(&self, at: &Spanned<T>, field: &str, message: String) -> SourceError {
        SourceError::Field {
            path: self.path.to_string(),
            line: at.referenced.line(),
            field: field.to_string(),
            message,
        }
    }

    fn date(&self, v: &Spanned<String>, field: &str) -> Result<Timestamp, SourceError> {
        parse_date(&v.value).ok_or_else(|| {
            self.err(
                v,
                field,
                format!(
                    "{} is not a date; write YYYY-MM-DD or an RFC 3339 timestamp",
                    show_value(&v.value)
                ),
            )
        })
    }

    fn glob(&self, v: &Spanned<String>, field: &str) -> Result<(), SourceError> {
        Glob::new(&v.value).map(|_| ()).map_err(|e| {
            self.err(
                v,
                field,
                format!("{} is not a valid glob: {}", show_value(&v.value), e.kind()),
            )
        })
    }
}

/// Parser messages quote offending values (`invalid type: string "…"`, ``unknown variant `…` ``);
/// quoted text passes through [`show_value`] so a secret pasted into the wrong key is not echoed.
fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find(['"', '`']) {
        out.push_str(&rest[..start]);
        let quote = if rest[start..].starts_with('"') {
            '"'
        } else {
            '`'
        };
        let after = &rest[start + 1..];
        match after.find(quote) {
            Some(end) => {
                out.push_str(&show_value(&after[..end]));
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&show_value(after));
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// `2026-09-30` (midnight UTC) or any RFC 3339 timestamp.
pub fn parse_date(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if let Ok(d) = s.parse::<jiff::civil::Date>() {
        return jiff::tz::TimeZone::UTC
            .to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
            .ok();
    }
    castellan_model::parse_ts(s).ok()
}

/// Parses and validates a governance file (control ids are only checked for their form).
pub fn parse(path: &str, bytes: &[u8]) -> Result<Governance, SourceError> {
    parse_checked(path, bytes, None)
}

/// Parses and validates a governance file; with `controls`, every control id it names
/// (exceptions, attestations) must be one of them.
pub fn parse_checked(
    path: &str,
    bytes: &[u8],
    controls: Option<&[&str]>,
) -> Result<Governance, SourceError> {
    let text = std::str::from_utf8(bytes).map_err(|e| SourceError::Line {
        path: path.to_string(),
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64,
        message: "not valid UTF-8: the governance file must be UTF-8 text".into(),
    })?;
    if text.trim().is_empty() {
        return Err(SourceError::File {
            path: path.to_string(),
            message: "the governance file is empty; it must at least contain `castellan: 1`".into(),
        });
    }
    let file: File = serde_saphyr::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line()).unwrap_or(0);
        // The rendered message carries a snippet of the file; the first line is the message.
        let rendered = e.to_string();
        let message = rendered
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("invalid YAML")
            .trim()
            .trim_start_matches("error: ");
        // Drop the parser's own "line N column M: " prefix; the position is in `line`.
        let message = match message.split_once(": ") {
            Some((pos, rest)) if pos.starts_with("line ") && pos.contains(" column ") => rest,
            _ => message,
        };
        let message = redact_quoted(message);
        SourceError::Line {
            path: path.to_string(),
            line,
            message,
        }
    })?;
    let cx = Ctx { path };
    if file.castellan.value != 1 {
        return Err(cx.err(
            &file.castellan,
            "castellan",
            format!(
                "format version {} is not supported; this Castellan reads version 1",
                file.castellan.value
            ),
        ));
    }

    let t = &file.thresholds;
    let range = |v: &Option<Spanned<u32>>,
                 name: &str,
                 lo: u32,
                 hi: u32|
     -> Result<Option<u32>, SourceError> {
        match v {
            None => Ok(None),
            Some(v) if (lo..=hi).contains(&v.value) => Ok(Some(v.value)),
            Some(v) => Err(cx.err(
                v,
                &format!("thresholds.{name}"),
                format!("{} is out of range ({lo}–{hi})", v.value),
            )),
        }
    };
    let thresholds = Thresholds {
        rotation_max_age_days: range(&t.rotation_max_age_days, "rotation_max_age_days", 1, 3650)?,
        dormant_days: range(&t.dormant_days, "dormant_days", 1, 3650)?,
        new_credential_grace_days: range(
            &t.new_credential_grace_days,
            "new_credential_grace_days",
            0,
            365,
        )?,
        max_sync_age_hours: range(&t.max_sync_age_hours, "max_sync_age_hours", 1, 8760)?,
        max_exception_days: range(&t.max_exception_days, "max_exception_days", 1, 3650)?,
    };
    let mut g = Governance {
        organisation: file.organisation,
        profile: file.profile,
        thresholds,
        ..Governance::default()
    };

    let mut seen = BTreeSet::new();
    for s in file.services {
        let name = s.name.value.trim().to_string();
        if name.is_empty() || !seen.insert(name.clone()) {
            return Err(cx.err(
                &s.name,
                "services.name",
                format!("service {} is empty or declared twice", show_value(&name)),
            ));
        }
        g.services.push(Service {
            id: ids::service(&name),
            name,
            criticality: s.criticality,
            description: s.description,
        });
    }

    let mut emails = BTreeSet::new();
    for p in file.people {
        let email = p.email.value.trim().to_ascii_lowercase();
        if !email.contains('@') || !emails.insert(email.clone()) {
            return Err(cx.err(
                &p.email,
                "people.email",
                format!(
                    "{} is not an e-mail address or is declared twice",
                    show_value(&email)
                ),
            ));
        }
        let left_at = match &p.left_at {
            Some(v) => Some(cx.date(v, "people.left_at")?),
            None => None,
        };
        g.people.push(Person {
            id: ids::person(&email),
            name: p.name,
            email,
            team: p.team,
            status: p.status,
            left_at,
        });
    }

    let mut suppliers = BTreeSet::new();
    let mut contract_ids = BTreeSet::new();
    for s in file.suppliers {
        let name = s.name.value.trim().to_string();
        if name.is_empty() || !suppliers.insert(name.clone()) {
            return Err(cx.err(
                &s.name,
                "suppliers.name",
                format!("supplier {} is empty or declared twice", show_value(&name)),
            ));
        }
        for c in s.contracts {
            if !contract_ids.insert(c.id.value.clone()) {
                return Err(cx.err(
                    &c.id,
                    "contracts.id",
                    format!("contract {} is declared twice", show_value(&c.id.value)),
                ));
            }
            let start = cx.date(&c.start, "contracts.start")?;
            let end = match &c.end {
                Some(v) => Some(cx.date(v, "contracts.end")?),
                None => None,
            };
            if let (Some(e), Some(v)) = (end, &c.end)
                && e < start
            {
                return Err(cx.err(v, "contracts.end", "ends before it starts".into()));
            }
            let terminated_at = match &c.terminated_at {
                Some(v) => Some(cx.date(v, "contracts.terminated_at")?),
                None => None,
            };
            g.contracts.push(Contract {
                id: ids::contract(&c.id.value),
                supplier_id: ids::supplier(&name),
                start,
                end,
                notice_days: c.notice_days,
                offboarding_contact: c.offboarding_contact,
                terminated_at,
            });
        }
        g.suppliers.push(Supplier {
            id: ids::supplier(&name),
            name,
            contact: s.contact,
        });
    }

    let services: BTreeSet<String> = g.services.iter().map(|s| s.name.clone()).collect();
    let check_settings = |set: &SettingsDecl| -> Result<Settings, SourceError> {
        if let Some(s) = &set.service
            && !services.contains(&s.value)
        {
            return Err(cx.err(
                s,
                "service",
                format!(
                    "service {} is not declared under `services`",
                    show_value(&s.value)
                ),
            ));
        }
        if let Some(s) = &set.supplier
            && !suppliers.contains(&s.value)
        {
            return Err(cx.err(
                s,
                "supplier",
                format!(
                    "supplier {} is not declared under `suppliers`",
                    show_value(&s.value)
                ),
            ));
        }
        for (field, v) in [("owner", &set.owner), ("custodian", &set.custodian)] {
            if let Some(v) = v
                && !v.value.contains('@')
            {
                return Err(cx.err(
                    v,
                    field,
                    format!("{} is not an e-mail address", show_value(&v.value)),
                ));
            }
        }
        Ok(Settings {
            owner: set
                .owner
                .as_ref()
                .map(|v| v.value.trim().to_ascii_lowercase()),
            custodian: set
                .custodian
                .as_ref()
                .map(|v| v.value.trim().to_ascii_lowercase()),
            service: set.service.as_ref().map(|v| v.value.clone()),
            supplier: set.supplier.as_ref().map(|v| v.value.clone()),
        })
    };

    for (i, r) in file.rules.iter().enumerate() {
        let m = &r.selector.value;
        for (field, v) in [("match.id", &m.id), ("match.name", &m.name)] {
            if let Some(v) = v {
                cx.glob(v, field)?;
            }
        }
        if let Some(t) = &m.tag {
            match t.value.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    Glob::new(v.trim()).map_err(|e| {
                        cx.err(
                            t,
                            "match.tag",
                            format!("value glob is invalid: {}", e.kind()),
                        )
                    })?;
                }
                _ => {
                    return Err(cx.err(
                        t,
                        "match.tag",
                        format!("{} must be `key=value`", show_value(&t.value)),
                    ));
                }
            }
        }
        if m.id.is_none()
            && m.name.is_none()
            && m.tag.is_none()
            && m.kind.is_none()
            && m.account.is_none()
        {
            return Err(cx.err(
                &r.selector,
                "match",
                "matches everything; give at least one of id, name, tag, kind, account".into(),
            ));
        }
        let set = check_settings(&r.set.value)?;
        if set == Settings::default() {
            return Err(cx.err(
                &r.set,
                "set",
                "sets nothing; give owner, custodian, service or supplier".into(),
            ));
        }
        g.rules.push(Mapping {
            label: format!("rule {} (line {})", i + 1, r.selector.referenced.line()),
            selector: Selector {
                id: m.id.as_ref().map(|v| v.value.clone()),
                name: m.name.as_ref().map(|v| v.value.clone()),
                tag: m.tag.as_ref().map(|v| v.value.clone()),
                kind: m.kind.clone(),
                account: m.account.clone(),
            },
            set,
        });
    }

    for (i, a) in file.assignments.iter().enumerate() {
        cx.glob(&a.subject, "assignments.subject")?;
        let set = check_settings(&SettingsDecl {
            owner: a.owner.clone(),
            custodian: a.custodian.clone(),
            service: a.service.clone(),
            supplier: a.supplier.clone(),
        })?;
        if set == Settings::default() {
            return Err(cx.err(
                &a.subject,
                "assignments",
                "assigns nothing; give owner, custodian, service or supplier".into(),
            ));
        }
        g.assignments.push(Mapping {
            label: format!(
                "assignment {} (line {})",
                i + 1,
                a.subject.referenced.line()
            ),
            selector: Selector {
                id: Some(a.subject.value.clone()),
                ..Selector::default()
            },
            set,
        });
    }

    let mut exception_ids = BTreeSet::new();
    for e in file.exceptions {
        if !exception_ids.insert(e.id.value.clone()) {
            return Err(cx.err(
                &e.id,
                "exceptions.id",
                format!("exception {} is declared twice", show_value(&e.id.value)),
            ));
        }
        let control = e.control.value.trim();
        // Catalogue ids (NHI-…) must exist; other ids name custom Rego controls.
        if control.is_empty()
            || (control.starts_with("NHI-")
                && controls.is_some_and(|known| !known.contains(&control)))
        {
            return Err(cx.err(
                &e.control,
                "exceptions.control",
                format!(
                    "{} is not a control of the catalogue (e.g. NHI-GOV-005; see `castellan controls list`)",
                    show_value(control)
                ),
            ));
        }
        cx.glob(&e.subject, "exceptions.subject")?;
        if e.justification.trim().is_empty() || e.approver.value.trim().is_empty() {
            return Err(cx.err(
                &e.id,
                "exceptions",
                "an exception needs a justification and an approver".into(),
            ));
        }
        if let Some(req) = &e.requested_by
            && req.trim().eq_ignore_ascii_case(e.approver.value.trim())
        {
            return Err(cx.err(
                &e.approver,
                "exceptions.approver",
                "the approver is also the requester; a risk acceptance needs a second person"
                    .into(),
            ));
        }
        let granted_at = match &e.granted {
            Some(v) => Some(cx.date(v, "exceptions.granted")?),
            None => None,
        };
        let expires_at = cx.date(&e.expires, "exceptions.expires")?;
        if let (Some(g), Some(v)) = (granted_at, &e.granted)
            && expires_at <= g
        {
            return Err(cx.err(
                v,
                "exceptions.granted",
                "the exception expires before it was granted".into(),
            ));
        }
        g.exceptions.push(Exception {
            id: ids::exception(&e.id.value),
            control: control.to_string(),
            subject: e.subject.value.clone(),
            justification: e.justification,
            compensating_controls: e.compensating_controls,
            approver: e.approver.value.clone(),
            requested_by: e.requested_by.clone(),
            granted_at,
            expires_at,
        });
    }
    for a in file.attestations {
        let control = a.control.value.trim();
        if !control.starts_with("NHI-") || controls.is_some_and(|known| !known.contains(&control)) {
            return Err(cx.err(
                &a.control,
                "attestations.control",
                format!(
                    "{} is not a control of the catalogue (see `castellan controls list`)",
                    show_value(control)
                ),
            ));
        }
        if !a.attested_by.value.contains('@') {
            return Err(cx.err(
                &a.attested_by,
                "attestations.attested_by",
                "must be the attesting person's e-mail".into(),
            ));
        }
        if a.evidence.trim().is_empty() || a.statement.trim().is_empty() {
            return Err(cx.err(
                &a.control,
                "attestations",
                "an attestation needs a statement and a pointer to its evidence".into(),
            ));
        }
        let date = cx.date(&a.date, "attestations.date")?;
        let expires = match &a.expires {
            Some(v) => Some(cx.date(v, "attestations.expires")?),
            None => None,
        };
        g.attestations.push(Attestation {
            control: control.to_string(),
            statement: a.statement,
            attested_by: a.attested_by.value.trim().to_ascii_lowercase(),
            date,
            evidence: a.evidence,
            expires,
        });
    }
    for r in file.reviews {
        cx.glob(&r.subject, "reviews.subject")?;
        if !r.reviewer.value.contains('@') {
            return Err(cx.err(
                &r.reviewer,
                "reviews.reviewer",
                "must be the reviewer's e-mail".into(),
            ));
        }
        g.reviews.push(Review {
            subject: r.subject.value.clone(),
            reviewer: r.reviewer.value.trim().to_ascii_lowercase(),
            date: cx.date(&r.date, "reviews.date")?,
            decision: r.decision,
            note: r.note,
        });
    }
    Ok(g)
}

/// Compiled selectors of a governance file, ready to attribute identities.
#[derive(Debug)]
pub struct Attributor<'g> {
    gov: &'g Governance,
    rules: Vec<Compiled>,
    assignments: Vec<Compiled>,
}

#[derive(Debug)]
struct Compiled {
    id: Option<GlobMatcher>,
    name: Option<GlobMatcher>,
    tag: Option<(String, GlobMatcher)>,
}

fn compile(sel: &Selector) -> Compiled {
    // Globs were validated at parse time; a stored file that no longer compiles matches nothing.
    let glob = |g: &Option<String>| {
        g.as_ref().map(|s| {
            Glob::new(s)
                .map(|g| g.compile_matcher())
                .unwrap_or_else(|_| never())
        })
    };
    Compiled {
        id: glob(&sel.id),
        name: glob(&sel.name),
        tag: sel.tag.as_ref().and_then(|t| {
            let (k, v) = t.split_once('=')?;
            let m = Glob::new(v.trim())
                .map(|g| g.compile_matcher())
                .unwrap_or_else(|_| never());
            Some((k.trim().to_string(), m))
        }),
    }
}

fn never() -> GlobMatcher {
    // A glob no id can match (ids never contain NUL).
    Glob::new("\u{0}")
        .map(|g| g.compile_matcher())
        .unwrap_or_else(|_| unreachable!("literal glob"))
}

impl Mapping {
    fn matches(&self, c: &Compiled, identity: &Identity) -> bool {
        let sel = &self.selector;
        c.id.as_ref().is_none_or(|m| m.is_match(&identity.id))
            && c.name.as_ref().is_none_or(|m| m.is_match(&identity.name))
            && c.tag
                .as_ref()
                .is_none_or(|(k, m)| identity.tags.get(k).is_some_and(|v| m.is_match(v)))
            && sel.kind.as_ref().is_none_or(|k| k == &identity.kind)
            && sel
                .account
                .as_ref()
                .is_none_or(|a| identity.account.as_deref() == Some(a.as_str()))
    }
}

impl<'g> Attributor<'g> {
    /// Compiles the rules and assignments of `gov`.
    pub fn new(gov: &'g Governance) -> Self {
        Attributor {
            gov,
            rules: gov.rules.iter().map(|m| compile(&m.selector)).collect(),
            assignments: gov
                .assignments
                .iter()
                .map(|m| compile(&m.selector))
                .collect(),
        }
    }

    /// Who owns `identity`, who operates it, which service and which supplier: explicit
    /// assignments first, then rules in file order; the first mapping that sets a field wins.
    pub fn attribute(&self, identity: &Identity) -> Attribution {
        let mut a = Attribution::default();
        let lists = [
            (&self.gov.assignments, &self.assignments),
            (&self.gov.rules, &self.rules),
        ];
        for (mappings, compiled) in lists {
            for (m, c) in mappings.iter().zip(compiled) {
                if !m.matches(c, identity) {
                    continue;
                }
                let mut used = false;
                let mut fill =
                    |slot: &mut Option<String>, v: &Option<String>, f: fn(&str) -> String| {
                        if slot.is_none()
                            && let Some(v) = v
                        {
                            *slot = Some(f(v));
                            used = true;
                        }
                    };
                fill(&mut a.owner, &m.set.owner, ids::person);
                fill(&mut a.custodian, &m.set.custodian, ids::person);
                fill(&mut a.service, &m.set.service, ids::service);
                fill(&mut a.supplier, &m.set.supplier, ids::supplier);
                if used {
                    a.via.push(m.label.clone());
                }
            }
        }
        a
    }
}

impl Governance {
    /// People by id.
    pub fn people_by_id(&self) -> BTreeMap<&str, &Person> {
        self.people.iter().map(|p| (p.id.as_str(), p)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use castellan_model::{Privilege, Status};

    const GOOD: &str = r#"
castellan: 1
organisation: Example
services:
  - name: payments
    criticality: essential
people:
  - name: Anna
    email: Anna@Example.com
    team: platform
  - name: Lukas
    email: lukas@example.com
    status: left
    left_at: 2026-09-30
suppliers:
  - name: acme
    contracts:
      - id: ACME-1
        start: 2025-01-01
        end: 2026-06-30
rules:
  - match: { name: "vendor-acme-*" }
    set: { supplier: acme, owner: lukas@example.com }
  - match: { tag: "service=pay*" }
    set: { service: payments }
assignments:
  - subject: "aws:*:user/vendor-acme-sync"
    owner: anna@example.com
exceptions:
  - id: EX-1
    control: NHI-GOV-005
    subject: "aws:1:user/x"
    justification: legacy
    compensating_controls: [segmentation]
    approver: ciso@example.com
    expires: 2027-01-01
"#;

    fn identity(name: &str) -> Identity {
        Identity {
            id: format!("aws:123456789012:user/{name}"),
            kind: "aws-iam-user".into(),
            source: "test".into(),
            scope: "aws:123456789012".into(),
            name: name.into(),
            account: Some("123456789012".into()),
            status: Status::Active,
            privilege: Privilege::Unknown,
            created_at: None,
            last_used_at: None,
            tags: BTreeMap::new(),
            attributes: BTreeMap::new(),
        }
    }

    #[test]
    fn parses_and_attributes() {
        let g = parse("castellan.yaml", GOOD.as_bytes()).expect("valid");
        assert_eq!(g.people[0].id, "person:anna@example.com");
        assert_eq!(g.contracts[0].supplier_id, "supplier:acme");
        let at = Attributor::new(&g);
        let a = at.attribute(&identity("vendor-acme-sync"));
        assert_eq!(
            a.owner.as_deref(),
            Some("person:anna@example.com"),
            "assignment beats rule"
        );
        assert_eq!(a.supplier.as_deref(), Some("supplier:acme"));
        assert_eq!(a.via.len(), 2);
        let mut tagged = identity("api");
        tagged.tags.insert("service".into(), "payments".into());
        assert_eq!(
            at.attribute(&tagged).service.as_deref(),
            Some("service:payments")
        );
        assert_eq!(at.attribute(&identity("other")), Attribution::default());
    }

    #[test]
    fn unknown_key_is_an_error_with_its_line() {
        let bad = GOOD.replace("    team: platform", "    team: platform\n    tema: typo");
        let e = parse("g.yaml", bad.as_bytes()).expect_err("unknown key");
        let msg = e.to_string();
        assert!(msg.starts_with("g.yaml:11: unknown field `tema`"), "{msg}");
        assert!(msg.contains("tema"), "{msg}");
    }

    #[test]
    fn bad_references_and_dates_name_the_line() {
        let bad = GOOD.replace("set: { service: payments }", "set: { service: payroll }");
        let e = parse("g.yaml", bad.as_bytes())
            .expect_err("bad ref")
            .to_string();
        assert!(e.starts_with("g.yaml:25:") && e.contains("payroll"), "{e}");
        let bad = GOOD.replace("left_at: 2026-09-30", "left_at: 2026-13-30");
        let e = parse("g.yaml", bad.as_bytes())
            .expect_err("bad date")
            .to_string();
        assert!(e.starts_with("g.yaml:14: field `people.left_at`"), "{e}");
    }

    #[test]
    fn empty_binary_and_wrong_version_are_refused() {
        assert!(parse("g.yaml", b"").is_err());
        assert!(parse("g.yaml", b"\xff\xfe\x00junk").is_err());
        let e = parse("g.yaml", b"castellan: 2\n")
            .expect_err("version")
            .to_string();
        assert!(e.contains("version 2"), "{e}");
        assert!(parse("g.yaml", b"castellan: 1\n").is_ok());
    }

    #[test]
    fn an_exception_needs_two_people_and_a_sane_window() {
        let same = GOOD.replace(
            "    approver: ciso@example.com",
            "    approver: ciso@example.com\n    requested_by: CISO@example.com",
        );
        let e = parse("g.yaml", same.as_bytes())
            .expect_err("same person")
            .to_string();
        assert!(
            e.contains("exceptions.approver") && e.contains("second person"),
            "{e}"
        );
        let backwards = GOOD.replace(
            "    expires: 2027-01-01",
            "    granted: 2027-06-01\n    expires: 2027-01-01",
        );
        let e = parse("g.yaml", backwards.as_bytes())
            .expect_err("backwards")
            .to_string();
        assert!(e.contains("exceptions.granted"), "{e}");
        let ok = GOOD.replace(
            "    expires: 2027-01-01",
            "    granted: 2026-11-01\n    requested_by: ops@example.com\n    expires: 2027-01-01",
        );
        let g = parse("g.yaml", ok.as_bytes()).expect("valid");
        assert!(g.exceptions[0].granted_at.is_some());
    }

    #[test]
    fn empty_sections_are_empty() {
        let g = parse(
            "g.yaml",
            b"castellan: 1\nservices:\npeople:\nthresholds:\nreviews:\n",
        )
        .expect("valid");
        assert!(g.services.is_empty() && g.people.is_empty() && g.reviews.is_empty());
    }

    #[test]
    fn thresholds_out_of_range_name_their_line() {
        let bad = format!("{GOOD}thresholds:\n  rotation_max_age_days: 0\n");
        let e = parse("g.yaml", bad.as_bytes())
            .expect_err("zero")
            .to_string();
        assert!(
            e.contains("thresholds.rotation_max_age_days") && e.contains("out of range"),
            "{e}"
        );
        let ok =
            format!("{GOOD}thresholds:\n  rotation_max_age_days: 30\n  max_exception_days: 90\n");
        let g = parse("g.yaml", ok.as_bytes()).expect("valid");
        assert_eq!(g.thresholds.rotation_max_age_days, Some(30));
        let neg = format!("{GOOD}thresholds:\n  dormant_days: -5\n");
        assert!(parse("g.yaml", neg.as_bytes()).is_err());
    }

    #[test]
    fn values_in_parser_errors_are_redacted() {
        let bad = GOOD.replace(
            "end: 2026-06-30",
            "end: 2026-06-30\n        notice_days: ghp_R2d2C3poXwingYodaLuke1234567890abcd",
        );
        let e = parse("g.yaml", bad.as_bytes())
            .expect_err("bad type")
            .to_string();
        assert!(!e.contains("XwingYodaLuke"), "{e}");
        assert!(e.starts_with("g.yaml:"), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
            let _ = parse("p.yaml", s.as_bytes());
        }
    }
}
