use std::collections::{BTreeMap, BTreeSet};

use castellan_model::{
    Attribution, Contract, Credential, Exception, Finding, FindingStatus, Identity, Person,
    PersonStatus, Status, Supplier, format_ts, ids,
};
use globset::Glob;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::Catalogue;

/// Thresholds in force for one evaluation (catalogue defaults, then the estate's overrides).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Thresholds {
    /// NHI-GOV-005.
    pub rotation_max_age_days: u32,
    /// NHI-GOV-007.
    pub dormant_days: u32,
    /// NHI-GOV-002.
    pub orphan_reassignment_grace_days: u32,
    /// NHI-GOV-001.
    pub max_sync_age_hours: u32,
    /// NHI-GOV-024.
    pub max_exception_days: u32,
    /// NHI-GOV-004.
    pub review_interval_days: u32,
    /// NHI-GOV-004, for administrator-equivalent identities.
    pub privileged_review_interval_days: u32,
    /// NHI-GOV-008.
    pub revoke_within_hours: u32,
    /// NHI-GOV-008.
    pub rotate_known_secrets_within_days: u32,
    /// NHI-GOV-010: how often a trust granted to a third party must be reviewed.
    pub third_party_review_interval_days: u32,
    /// NHI-GOV-014: interactive sessions tolerated on a workload identity.
    pub interactive_nhi_sessions_allowed: u32,
    /// NHI-GOV-021: refused uses that make a burst…
    pub auth_failure_burst_count: u32,
    /// …within this many minutes.
    pub auth_failure_burst_window_minutes: u32,
    /// NHI-GOV-014 and NHI-GOV-021: how far back imported events are judged.
    pub activity_lookback_days: u32,
}

impl Thresholds {
    /// Defaults from the catalogue.
    pub fn from_catalogue(c: &Catalogue) -> Thresholds {
        Thresholds::for_profile(c, "standard")
    }

    /// Catalogue defaults under an assessment profile (`standard`, `micro_entity`, `high_assurance`).
    pub fn for_profile(c: &Catalogue, profile: &str) -> Thresholds {
        let t = |control: &str, name: &str, default: u32| {
            c.threshold_for(control, name, profile).unwrap_or(default)
        };
        Thresholds {
            rotation_max_age_days: t("NHI-GOV-005", "rotation_max_age_days", 90),
            dormant_days: t("NHI-GOV-007", "dormant_days", 45),
            orphan_reassignment_grace_days: t("NHI-GOV-002", "orphan_reassignment_grace_days", 7),
            max_sync_age_hours: t("NHI-GOV-001", "max_sync_age_hours", 24),
            max_exception_days: t("NHI-GOV-024", "max_exception_days", 180),
            review_interval_days: t("NHI-GOV-004", "review_interval_days", 90),
            privileged_review_interval_days: t(
                "NHI-GOV-004",
                "privileged_review_interval_days",
                90,
            ),
            revoke_within_hours: t("NHI-GOV-008", "revoke_within_hours", 24),
            rotate_known_secrets_within_days: t(
                "NHI-GOV-008",
                "rotate_known_secrets_within_days",
                7,
            ),
            third_party_review_interval_days: t("NHI-GOV-010", "review_interval_days", 365),
            interactive_nhi_sessions_allowed: t(
                "NHI-GOV-014",
                "interactive_nhi_sessions_allowed",
                0,
            ),
            auth_failure_burst_count: t("NHI-GOV-021", "auth_failure_burst_count", 3),
            auth_failure_burst_window_minutes: t(
                "NHI-GOV-021",
                "auth_failure_burst_window_minutes",
                15,
            ),
            activity_lookback_days: t("NHI-GOV-021", "activity_lookback_days", 90),
        }
    }
}

/// An identity with what the evaluators need around it.
#[derive(Clone, Debug, PartialEq)]
pub struct IdentityView {
    /// The identity.
    pub identity: Identity,
    /// Its owner, custodian, service and supplier.
    pub attribution: Attribution,
    /// Its credentials.
    pub credentials: Vec<Credential>,
    /// What imported logs say it did, as far as the controls need it.
    pub activity: Activity,
}

/// The events of an identity (and its credentials) that controls judge: sessions a person
/// opened with it and refused uses, each oldest first, within the look-back window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Activity {
    /// `human-use` events: console sign-ins, browser sessions.
    pub human_use: Vec<castellan_model::Event>,
    /// `failed-use` events: refused authentication or authorisation.
    pub failed_use: Vec<castellan_model::Event>,
}

impl Activity {
    /// Adds an event when a control needs it (other actions are ignored).
    pub fn add(&mut self, e: castellan_model::Event) {
        match e.action.as_str() {
            "human-use" => self.human_use.push(e),
            "failed-use" => self.failed_use.push(e),
            _ => {}
        }
    }

    /// Whether there is nothing to judge.
    pub fn is_empty(&self) -> bool {
        self.human_use.is_empty() && self.failed_use.is_empty()
    }
}

/// A recorded access review, as the evaluators need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewRecord {
    /// Identity id or glob over ids.
    pub subject: String,
    /// Reviewer e-mail.
    pub reviewer: String,
    /// When.
    pub date: Timestamp,
    /// `keep`, `reduce` or `revoke`.
    pub decision: String,
}

/// How current the data of one imported scope is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFreshness {
    /// The scope (e.g. `aws:123456789012`).
    pub scope: String,
    /// The source format.
    pub source: String,
    /// The file last imported for it.
    pub path: String,
    /// When the data was produced (the export's own timestamp, else the import time).
    pub data_as_of: Timestamp,
    /// When it was imported.
    pub imported_at: Timestamp,
}

/// Everything an evaluation reads.
#[derive(Clone, Debug)]
pub struct Estate {
    /// The evaluation instant.
    pub now: Timestamp,
    /// Present identities (gone ones excluded), ordered by id.
    pub identities: Vec<IdentityView>,
    /// People by id.
    pub people: BTreeMap<String, Person>,
    /// Suppliers by id.
    pub suppliers: BTreeMap<String, Supplier>,
    /// All contracts.
    pub contracts: Vec<Contract>,
    /// All exceptions.
    pub exceptions: Vec<Exception>,
    /// The latest import of every scope.
    pub sources: Vec<SourceFreshness>,
    /// Access reviews from the governance file.
    pub reviews: Vec<ReviewRecord>,
    /// Thresholds in force.
    pub thresholds: Thresholds,
    /// Present credentials no identity holds: secrets a scan found that the inventory does not
    /// know (unmanaged), CA certificates, CI secrets.
    pub unheld: Vec<Credential>,
}

/// The controls evaluated by [`evaluate`] (the catalogue marks exactly these `builtin`).
pub const BUILTIN: &[&str] = &[
    "NHI-GOV-001",
    "NHI-GOV-002",
    "NHI-GOV-004",
    "NHI-GOV-005",
    "NHI-GOV-007",
    "NHI-GOV-008",
    "NHI-GOV-009",
    "NHI-GOV-010",
    "NHI-GOV-011",
    "NHI-GOV-012",
    "NHI-GOV-014",
    "NHI-GOV-016",
    "NHI-GOV-021",
    "NHI-GOV-024",
];

/// Kinds of credential that are static, long-lived secrets (subject to rotation).
const STATIC_SECRET_KINDS: &[&str] = &[
    "access-key",
    "api-key",
    "client-secret",
    "token",
    "secret",
    "service-account-key",
    "service-credential",
];

/// A long-lived secret its holder must rotate: a static kind, and not one the provider rotates
/// itself (GCP system-managed keys, Azure managed identities' certificates).
fn is_static_secret(c: &Credential) -> bool {
    STATIC_SECRET_KINDS.contains(&c.kind.as_str())
        && !matches!(
            c.attributes.get("rotation").and_then(Value::as_str),
            Some("google-managed" | "azure-managed" | "not-applicable")
        )
}

fn days(d: SignedDuration) -> i64 {
    d.as_secs() / 86_400
}

struct Ctx<'a> {
    estate: &'a Estate,
    catalogue: &'a Catalogue,
    /// Per control: the indices of its exceptions and one compiled set of their subject globs.
    matchers: BTreeMap<String, (Vec<usize>, globset::GlobSet)>,
    /// Review subjects, compiled once.
    reviews: globset::GlobSet,
    out: Vec<Finding>,
}

impl Ctx<'_> {
    fn raise(
        &mut self,
        control: &str,
        subject: &str,
        identity: &str,
        title: String,
        evidence: Value,
    ) {
        let severity = self
            .catalogue
            .get(control)
            .map(|c| c.severity)
            .unwrap_or(castellan_model::Severity::Medium);
        let mut status = FindingStatus::Open;
        let mut exception = None;
        let mut evidence = evidence;
        if let Some((indices, set)) = self.matchers.get(control) {
            // Exceptions in file order: the first unexpired one that matches applies.
            let mut hits: Vec<usize> = set.matches(subject);
            hits.extend(set.matches(identity));
            hits.sort_unstable();
            hits.dedup();
            for e in hits
                .into_iter()
                .map(|h| &self.estate.exceptions[indices[h]])
            {
                if e.expires_at > self.estate.now {
                    status = FindingStatus::Excepted;
                    exception = Some(e.id.clone());
                    break;
                }
                if let Value::Object(map) = &mut evidence {
                    map.insert(
                        "expired_exception".into(),
                        json!({ "id": e.id, "expired_at": format_ts(e.expires_at) }),
                    );
                }
            }
        }
        self.out.push(Finding {
            id: ids::finding(control, subject),
            control: control.to_string(),
            subject: subject.to_string(),
            severity,
            status,
            title,
            evidence,
            exception,
            first_seen: None,
            last_seen: None,
        });
    }
}

/// Applies the estate's exceptions to findings produced elsewhere (custom Rego controls): a
/// finding whose control and subject an unexpired exception covers becomes `excepted`.
pub fn apply_exceptions(findings: &mut [Finding], estate: &Estate) {
    let matchers = exception_matchers(&estate.exceptions);
    for f in findings {
        let Some((indices, set)) = matchers.get(&f.control) else {
            continue;
        };
        let mut hits = set.matches(&f.subject);
        hits.sort_unstable();
        if let Some(e) = hits
            .into_iter()
            .map(|h| &estate.exceptions[indices[h]])
            .find(|e| e.expires_at > estate.now)
        {
            f.status = FindingStatus::Excepted;
            f.exception = Some(e.id.clone());
        }
    }
}

fn review_matcher(reviews: &[ReviewRecord]) -> globset::GlobSet {
    let mut b = globset::GlobSetBuilder::new();
    for r in reviews {
        // An invalid glob (rejected when the file was read) matches nothing.
        b.add(
            Glob::new(&r.subject)
                .unwrap_or_else(|_| Glob::new("\u{0}").unwrap_or_else(|_| unreachable!())),
        );
    }
    b.build().unwrap_or_else(|_| globset::GlobSet::empty())
}

fn exception_matchers(
    exceptions: &[Exception],
) -> BTreeMap<String, (Vec<usize>, globset::GlobSet)> {
    let mut by_control: BTreeMap<String, (Vec<usize>, globset::GlobSetBuilder)> = BTreeMap::new();
    for (i, e) in exceptions.iter().enumerate() {
        // Globs were validated when the governance file was read; a bad one matches nothing.
        let Ok(glob) = Glob::new(&e.subject) else {
            continue;
        };
        let entry = by_control
            .entry(e.control.clone())
            .or_insert_with(|| (Vec::new(), globset::GlobSetBuilder::new()));
        entry.0.push(i);
        entry.1.add(glob);
    }
    by_control
        .into_iter()
        .filter_map(|(control, (idx, builder))| {
            builder.build().ok().map(|set| (control, (idx, set)))
        })
        .collect()
}

/// Evaluates every built-in control over `estate` and returns the failing (control, subject)
/// pairs as findings, ordered by id. Excepted findings are included with status `excepted`.
pub fn evaluate(estate: &Estate, catalogue: &Catalogue) -> Vec<Finding> {
    let mut ev = Evaluator::new(estate, catalogue);
    for view in &estate.identities {
        ev.identity(view);
    }
    for c in &estate.unheld {
        ev.unheld(c);
    }
    ev.finish()
}

/// Streaming evaluation: feed identities one at a time (the estate's own `identities` are not
/// read), so an inventory of millions never has to be in memory at once.
#[allow(missing_debug_implementations)]
pub struct Evaluator<'a> {
    cx: Ctx<'a>,
}

impl<'a> Evaluator<'a> {
    /// Starts an evaluation; estate-wide controls (source freshness) are evaluated here.
    pub fn new(estate: &'a Estate, catalogue: &'a Catalogue) -> Evaluator<'a> {
        let mut cx = Ctx {
            estate,
            catalogue,
            matchers: exception_matchers(&estate.exceptions),
            reviews: review_matcher(&estate.reviews),
            out: Vec::new(),
        };
        freshness(&mut cx);
        Evaluator { cx }
    }

    /// Evaluates the per-identity controls on one identity.
    pub fn identity(&mut self, view: &IdentityView) {
        let cx = &mut self.cx;
        owner_present(cx, view);
        rotation(cx, view);
        dormancy(cx, view);
        supplier_contract(cx, view);
        privileged_hardening(cx, view);
        least_privilege(cx, view);
        third_party_trust(cx, view);
        interactive_use(cx, view);
        failed_use_bursts(cx, view);
        recertification(cx, view);
        offboarding(cx, view);
        for c in &view.credentials {
            exposure(cx, c, &view.identity.id);
        }
    }

    /// Evaluates the credential-level controls on a credential no identity holds.
    pub fn unheld(&mut self, c: &Credential) {
        exposure(&mut self.cx, c, "");
    }

    /// Ends the evaluation (exceptions' own control) and returns the findings ordered by id.
    pub fn finish(mut self) -> Vec<Finding> {
        exceptions_time_bound(&mut self.cx);
        self.cx.out.sort_by(|a, b| a.id.cmp(&b.id));
        // One finding per control and subject (the first reason raised wins).
        self.cx.out.dedup_by(|later, first| later.id == first.id);
        self.cx.out
    }
}

/// NHI-GOV-004 (recertification).
fn recertification(cx: &mut Ctx<'_>, v: &IdentityView) {
    if !usable(v) {
        return; // nothing usable left to recertify
    }
    let privileged = v.identity.privilege == castellan_model::Privilege::Admin;
    let t = &cx.estate.thresholds;
    let max = if privileged {
        t.privileged_review_interval_days
    } else {
        t.review_interval_days
    };
    let now = cx.estate.now;
    let last = cx
        .reviews
        .matches(&v.identity.id)
        .into_iter()
        .map(|i| &cx.estate.reviews[i])
        .filter(|r| r.date <= now)
        .max_by_key(|r| r.date);
    match last {
        None => cx.raise(
            "NHI-GOV-004",
            &v.identity.id,
            &v.identity.id,
            format!("{} has never been recertified", v.identity.name),
            json!({ "last_review": null, "review_interval_days": max, "privileged": privileged }),
        ),
        Some(r) => {
            let age = days(now.duration_since(r.date));
            if age > i64::from(max) {
                cx.raise(
                    "NHI-GOV-004",
                    &v.identity.id,
                    &v.identity.id,
                    format!("{} was last recertified {age} days ago (limit {max})", v.identity.name),
                    json!({ "last_review": format_ts(r.date), "reviewer": r.reviewer, "decision": r.decision,
                            "age_days": age, "review_interval_days": max, "privileged": privileged }),
                );
            } else if r.decision == "revoke" {
                // NHI-GOV-008 judges the revocation deadline; recorded here for the trail.
                let hours = now.duration_since(r.date).as_secs() / 3600;
                if hours > i64::from(t.revoke_within_hours) {
                    cx.raise(
                        "NHI-GOV-008",
                        &v.identity.id,
                        &v.identity.id,
                        format!("{} was marked for revocation in review on {} but still has active credentials", v.identity.name, &format_ts(r.date)[..10]),
                        json!({ "trigger": "review decision revoke", "reviewer": r.reviewer, "decided_at": format_ts(r.date),
                                "hours_since": hours, "revoke_within_hours": t.revoke_within_hours }),
                    );
                }
            }
        }
    }
}

/// NHI-GOV-008 (offboarding: the owner or custodian left).
fn offboarding(cx: &mut Ctx<'_>, v: &IdentityView) {
    let t = &cx.estate.thresholds;
    let now = cx.estate.now;
    let active: Vec<&Credential> = v
        .credentials
        .iter()
        .filter(|c| c.status == Status::Active)
        .collect();
    if active.is_empty() {
        return;
    }
    let mut reasons = Vec::new();
    let mut evidence = serde_json::Map::new();
    for (role, who) in [
        ("owner", &v.attribution.owner),
        ("custodian", &v.attribution.custodian),
    ] {
        let Some(p) = who.as_ref().and_then(|w| cx.estate.people.get(w)) else {
            continue;
        };
        if p.status != PersonStatus::Left {
            continue;
        }
        let Some(left) = p.left_at else { continue };
        let hours = now.duration_since(left).as_secs() / 3600;
        if role == "owner" && hours > i64::from(t.revoke_within_hours) {
            reasons.push(format!(
                "owner {} left {} days ago and the identity was neither reassigned nor revoked",
                p.name,
                hours / 24
            ));
        }
        let known: Vec<&str> = active
            .iter()
            .filter(|c| is_static_secret(c) || c.kind == "password")
            .filter(|c| c.last_rotated_at.or(c.created_at).is_none_or(|r| r < left))
            .map(|c| c.id.as_str())
            .collect();
        if !known.is_empty() && hours > 24 * i64::from(t.rotate_known_secrets_within_days) {
            reasons.push(format!(
                "{} secret(s) the departed {role} {} could know were not rotated",
                known.len(),
                p.name
            ));
        }
        evidence.insert(
            role.into(),
            json!({ "person": p.id, "left_at": format_ts(left), "unrotated_secrets": known }),
        );
    }
    if !reasons.is_empty() {
        evidence.insert("reasons".into(), json!(reasons));
        evidence.insert("revoke_within_hours".into(), json!(t.revoke_within_hours));
        evidence.insert(
            "rotate_known_secrets_within_days".into(),
            json!(t.rotate_known_secrets_within_days),
        );
        cx.raise(
            "NHI-GOV-008",
            &v.identity.id,
            &v.identity.id,
            format!("{}: {}", v.identity.name, reasons.join("; ")),
            Value::Object(evidence),
        );
    }
}

/// NHI-GOV-001 (source freshness).
fn freshness(cx: &mut Ctx<'_>) {
    let max = cx.estate.thresholds.max_sync_age_hours;
    let now = cx.estate.now;
    for s in &cx.estate.sources.clone() {
        let age = now.duration_since(s.data_as_of).as_secs() / 3600;
        if age > i64::from(max) {
            cx.raise(
                "NHI-GOV-001",
                &s.scope,
                &s.scope,
                format!("the {} data for {} is {age} hours old (limit {max})", s.source, s.scope),
                json!({ "source": s.source, "path": s.path, "data_as_of": format_ts(s.data_as_of),
                        "imported_at": format_ts(s.imported_at), "age_hours": age, "max_sync_age_hours": max }),
            );
        }
    }
}

/// Whether the provider itself manages the identity (an AWS service-linked role, a Kubernetes
/// control-plane service account or an unused auto-created `default` one): nobody in the
/// organisation can own, narrow or remove it, so governance controls do not judge it.
fn provider_managed(v: &IdentityView) -> bool {
    matches!(
        v.identity
            .attributes
            .get("managed_by")
            .and_then(Value::as_str),
        Some("aws" | "kubernetes" | "google" | "microsoft")
    )
}

/// Whether the identity can be used at all: an active credential, or a role that can be assumed.
fn usable(v: &IdentityView) -> bool {
    v.credentials.iter().any(|c| c.status == Status::Active)
        || ((v.identity.kind.ends_with("-role") || v.identity.kind == "k8s-service-account")
            && v.identity.status == Status::Active
            && !provider_managed(v))
}

/// NHI-GOV-011 (administrator-equivalent rights must be approved).
fn least_privilege(cx: &mut Ctx<'_>, v: &IdentityView) {
    if v.identity.privilege != castellan_model::Privilege::Admin
        || v.identity.kind == "aws-root"
        || provider_managed(v)
    {
        return; // the root user is judged by NHI-GOV-012
    }
    let attr = |k: &str| v.identity.attributes.get(k).cloned().unwrap_or(Value::Null);
    let reason = attr("privilege_reason");
    cx.raise(
        "NHI-GOV-011",
        &v.identity.id,
        &v.identity.id,
        format!(
            "{} holds administrator-equivalent rights{}",
            v.identity.name,
            reason.as_str().map(|r| format!(" ({r})")).unwrap_or_default()
        ),
        json!({
            "privilege": "admin",
            "reason": reason,
            "managed_policies": attr("managed_policies"),
            "inline_policies": attr("inline_policies"),
            "groups": attr("groups"),
            "approval": "none: approve broad access with a time-bound NHI-GOV-011 exception, or narrow it",
        }),
    );
}

/// NHI-GOV-010 (trust granted to third parties: external accounts, federation, public).
fn third_party_trust(cx: &mut Ctx<'_>, v: &IdentityView) {
    let Some(exposure) = v
        .identity
        .attributes
        .get("external_trust")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    else {
        return;
    };
    let exposure = exposure.clone();
    let now = cx.estate.now;
    let max = cx.estate.thresholds.third_party_review_interval_days;
    let last = cx
        .reviews
        .matches(&v.identity.id)
        .into_iter()
        .map(|i| &cx.estate.reviews[i])
        .filter(|r| r.date <= now)
        .max_by_key(|r| r.date)
        .map(|r| (r.date, r.reviewer.clone()));
    let mut reasons = Vec::new();
    if let Some(weak) = v
        .identity
        .attributes
        .get("trust_weaknesses")
        .and_then(Value::as_array)
    {
        for w in weak.iter().filter_map(Value::as_str) {
            reasons.push(format!("unrestricted trust: {w}"));
        }
    }
    if v.attribution.supplier.is_none() {
        reasons.push("the trusted party is not a registered supplier".to_string());
    }
    match last {
        None => reasons.push("the trust has never been reviewed".to_string()),
        Some((date, _)) if days(now.duration_since(date)) > i64::from(max) => {
            reasons.push(format!(
                "the trust was last reviewed {} days ago (limit {max})",
                days(now.duration_since(date))
            ))
        }
        Some(_) => {}
    }
    if reasons.is_empty() {
        return;
    }
    cx.raise(
        "NHI-GOV-010",
        &v.identity.id,
        &v.identity.id,
        format!("{}: {}", v.identity.name, reasons.join("; ")),
        json!({
            "external_trust": exposure,
            "supplier": v.attribution.supplier,
            "last_review": last.as_ref().map(|(d, _)| format_ts(*d)),
            "reviewer": last.map(|(_, r)| r),
            "review_interval_days": max,
            "reasons": reasons,
        }),
    );
}

/// NHI-GOV-012 (administrator-equivalent identities).
fn privileged_hardening(cx: &mut Ctx<'_>, v: &IdentityView) {
    if v.identity.privilege != castellan_model::Privilege::Admin {
        return;
    }
    let mut reasons = Vec::new();
    let keys: Vec<&str> = v
        .credentials
        .iter()
        .filter(|c| c.status == Status::Active && is_static_secret(c))
        .map(|c| c.id.as_str())
        .collect();
    if !keys.is_empty() {
        reasons.push(format!(
            "holds {} long-lived static credential(s)",
            keys.len()
        ));
    }
    let password = v
        .credentials
        .iter()
        .any(|c| c.status == Status::Active && c.kind == "password");
    let mfa = v
        .identity
        .attributes
        .get("mfa_active")
        .and_then(Value::as_bool);
    if password && mfa == Some(false) {
        reasons.push("signs in with a password and no MFA".to_string());
    }
    if !reasons.is_empty() {
        cx.raise(
            "NHI-GOV-012",
            &v.identity.id,
            &v.identity.id,
            format!("administrator identity {} {}", v.identity.name, reasons.join(" and ")),
            json!({ "privilege": "admin", "active_static_keys": keys, "password": password, "mfa_active": mfa, "reasons": reasons }),
        );
    }
}

/// Whether an identity is a workload rather than a person's account: it is a role, service
/// account, app or token holder, or it has programmatic credentials. An IAM user with nothing but
/// a console password is a person's account and is not judged as an NHI by log evidence.
fn is_workload(v: &IdentityView) -> bool {
    !(v.identity.kind == "aws-iam-user"
        && !v.credentials.is_empty()
        && v.credentials.iter().all(|c| c.kind == "password"))
        && v.identity.kind != "aws-root"
}

/// The events of `list` inside the look-back window ending at `now`.
fn recent<'e>(cx: &Ctx<'_>, list: &'e [castellan_model::Event]) -> Vec<&'e castellan_model::Event> {
    let now = cx.estate.now;
    let from = now
        .checked_sub(SignedDuration::from_hours(
            i64::from(cx.estate.thresholds.activity_lookback_days) * 24,
        ))
        .unwrap_or(now);
    list.iter()
        .filter(|e| e.at >= from && e.at <= now)
        .collect()
}

fn event_evidence(e: &castellan_model::Event) -> Value {
    let a = |k: &str| e.attributes.get(k).cloned().unwrap_or(Value::Null);
    json!({ "event": e.id, "at": format_ts(e.at), "source": e.source, "credential": e.credential_id,
            "name": a("event_name"), "source_ip": a("source_ip"), "user_agent": a("user_agent"),
            "error_code": a("error_code") })
}

/// NHI-GOV-014 (a person can sign in as, or did use, a workload identity).
fn interactive_use(cx: &mut Ctx<'_>, v: &IdentityView) {
    if v.identity.privilege == castellan_model::Privilege::Admin && v.identity.kind == "aws-root" {
        return; // the root user is judged by NHI-GOV-012
    }
    let password = v
        .credentials
        .iter()
        .find(|c| c.status == Status::Active && c.kind == "password");
    let keys: Vec<&str> = v
        .credentials
        .iter()
        .filter(|c| c.status == Status::Active && is_static_secret(c))
        .map(|c| c.id.as_str())
        .collect();
    // Sessions seen in the logs weigh more than the possibility: they come first.
    let sessions = recent(cx, &v.activity.human_use);
    let allowed = cx.estate.thresholds.interactive_nhi_sessions_allowed as usize;
    if is_workload(v) && sessions.len() > allowed {
        let shown: Vec<Value> = sessions
            .iter()
            .rev()
            .take(20)
            .map(|e| event_evidence(e))
            .collect();
        let last = sessions.last().map(|e| format_ts(e.at)).unwrap_or_default();
        cx.raise(
            "NHI-GOV-014",
            &v.identity.id,
            &v.identity.id,
            format!(
                "{} was used interactively {} time(s) in the last {} days (last {}): a person is using this workload identity",
                v.identity.name,
                sessions.len(),
                cx.estate.thresholds.activity_lookback_days,
                &last[..last.len().min(10)]
            ),
            json!({ "interactive_sessions": sessions.len(), "interactive_sessions_allowed": allowed,
                    "lookback_days": cx.estate.thresholds.activity_lookback_days,
                    "sessions": shown, "console_password": password.map(|p| p.id.clone()),
                    "active_keys": keys }),
        );
        return;
    }
    if let Some(pw) = password
        && !keys.is_empty()
    {
        cx.raise(
            "NHI-GOV-014",
            &v.identity.id,
            &v.identity.id,
            format!("{} has programmatic keys and a console password: people can sign in as this workload identity", v.identity.name),
            json!({ "console_password": pw.id, "password_last_used_at": pw.last_used_at.map(format_ts),
                    "active_keys": keys, "interactive_sessions_allowed": allowed }),
        );
    }
}

/// NHI-GOV-021 (bursts of refused use: brute force, a revoked or stolen credential tried, a
/// workload probing beyond its rights).
fn failed_use_bursts(cx: &mut Ctx<'_>, v: &IdentityView) {
    let failed = recent(cx, &v.activity.failed_use);
    let count = cx.estate.thresholds.auth_failure_burst_count.max(1) as usize;
    let minutes = cx.estate.thresholds.auth_failure_burst_window_minutes;
    if failed.len() < count {
        return;
    }
    let window = SignedDuration::from_mins(i64::from(minutes));
    // The largest burst: the most failures inside any window of the given length.
    let mut best: Option<(usize, usize)> = None;
    let mut start = 0;
    for end in 0..failed.len() {
        while failed[end].at.duration_since(failed[start].at) > window {
            start += 1;
        }
        let n = end - start + 1;
        if n >= count && best.is_none_or(|(s, e)| n > e - s + 1) {
            best = Some((start, end));
        }
    }
    let Some((s, e)) = best else { return };
    let burst = &failed[s..=e];
    let creds: BTreeSet<&str> = burst
        .iter()
        .filter_map(|e| e.credential_id.as_deref())
        .collect();
    let ips: BTreeSet<String> = burst
        .iter()
        .filter_map(|e| {
            e.attributes
                .get("source_ip")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    let first = format_ts(burst[0].at);
    cx.raise(
        "NHI-GOV-021",
        &v.identity.id,
        &v.identity.id,
        format!(
            "{} refused uses of {} within {} minutes from {}: investigate as a possible misuse",
            burst.len(),
            v.identity.name,
            minutes,
            &first[..first.len().min(16)]
        ),
        json!({ "failures_in_burst": burst.len(), "burst_count": count, "window_minutes": minutes,
                "first": first, "last": format_ts(burst[burst.len() - 1].at),
                "credentials": creds, "source_ips": ips,
                "failures_in_lookback": failed.len(),
                "events": burst.iter().take(20).map(|e| event_evidence(e)).collect::<Vec<_>>() }),
    );
}

/// NHI-GOV-024 (exceptions are time-bound).
fn exceptions_time_bound(cx: &mut Ctx<'_>) {
    let max = cx.estate.thresholds.max_exception_days;
    let now = cx.estate.now;
    for e in &cx.estate.exceptions.clone() {
        if e.expires_at <= now {
            cx.raise(
                "NHI-GOV-024",
                &e.id,
                &e.id,
                format!("exception {} expired on {}; the findings it covered are open again", e.id.trim_start_matches("exception:"), &format_ts(e.expires_at)[..10]),
                json!({ "exception": e.id, "control": e.control, "expired_at": format_ts(e.expires_at) }),
            );
        } else if let Some(granted) = e.granted_at {
            let span = days(e.expires_at.duration_since(granted));
            if span > i64::from(max) {
                cx.raise(
                    "NHI-GOV-024",
                    &e.id,
                    &e.id,
                    format!("exception {} runs {span} days (limit {max})", e.id.trim_start_matches("exception:")),
                    json!({ "exception": e.id, "control": e.control, "granted_at": format_ts(granted),
                            "expires_at": format_ts(e.expires_at), "duration_days": span, "max_exception_days": max }),
                );
            }
        }
    }
}

/// NHI-GOV-002.
fn owner_present(cx: &mut Ctx<'_>, v: &IdentityView) {
    if provider_managed(v) {
        return;
    }
    let id = &v.identity.id;
    let now = cx.estate.now;
    let grace = cx.estate.thresholds.orphan_reassignment_grace_days;
    match &v.attribution.owner {
        None => cx.raise(
            "NHI-GOV-002",
            id,
            id,
            format!("{} has no accountable owner", v.identity.name),
            json!({ "owner": null, "reason": "no assignment or mapping rule names an owner" }),
        ),
        Some(owner) => match cx.estate.people.get(owner) {
            None => cx.raise(
                "NHI-GOV-002",
                id,
                id,
                format!("{}'s owner {} is not a declared person", v.identity.name, owner.trim_start_matches("person:")),
                json!({ "owner": owner, "reason": "owner is not declared under `people` (a group, a mailbox or a typo)" }),
            ),
            Some(p) if p.status == PersonStatus::Left => {
                let left = p.left_at;
                let overdue = left.is_none_or(|l| now.duration_since(l) > SignedDuration::from_hours(24 * i64::from(grace)));
                if overdue {
                    cx.raise(
                        "NHI-GOV-002",
                        id,
                        id,
                        format!("{}'s owner {} has left the organisation", v.identity.name, p.name),
                        json!({
                            "owner": owner,
                            "owner_status": "left",
                            "left_at": left.map(format_ts),
                            "days_since_left": left.map(|l| days(now.duration_since(l))),
                            "grace_days": grace,
                            "reason": "owner left and the identity was not reassigned within the grace period",
                        }),
                    );
                }
            }
            Some(_) => {}
        },
    }
}

/// NHI-GOV-005.
fn rotation(cx: &mut Ctx<'_>, v: &IdentityView) {
    let max = cx.estate.thresholds.rotation_max_age_days;
    let now = cx.estate.now;
    for c in &v.credentials {
        if c.status != Status::Active || !is_static_secret(c) {
            continue;
        }
        match c.last_rotated_at.or(c.created_at) {
            None => cx.raise(
                "NHI-GOV-005",
                &c.id,
                &v.identity.id,
                format!("{} has no known issue or rotation date", c.name),
                json!({ "credential_kind": c.kind, "last_rotated_at": null, "max_age_days": max,
                        "reason": "the source does not say when the secret was issued or rotated" }),
            ),
            Some(at) => {
                let age = days(now.duration_since(at));
                if age > i64::from(max) {
                    cx.raise(
                        "NHI-GOV-005",
                        &c.id,
                        &v.identity.id,
                        format!("{} was last rotated {age} days ago (limit {max})", c.name),
                        json!({ "credential_kind": c.kind, "last_rotated_at": format_ts(at), "age_days": age, "max_age_days": max }),
                    );
                }
            }
        }
    }
}

/// NHI-GOV-016: a secret found outside an approved store (a scan sighting in a file, a
/// repository's history, CI configuration) that still works. A revoked, disabled or deleted
/// credential is no longer a finding; an unmanaged one (no inventory record) always is, as
/// nobody can show it was revoked.
fn exposure(cx: &mut Ctx<'_>, c: &Credential, identity: &str) {
    if c.attributes.get("exposed") != Some(&Value::Bool(true)) {
        return;
    }
    if matches!(c.status, Status::Inactive | Status::Expired | Status::Gone) {
        return;
    }
    let locations = c
        .attributes
        .get("locations")
        .cloned()
        .unwrap_or(Value::Null);
    let first = locations
        .as_array()
        .and_then(|l| l.first())
        .and_then(|v| v.as_str())
        .unwrap_or("a scanned file")
        .to_string();
    let unmanaged = c.attributes.get("unmanaged") == Some(&Value::Bool(true));
    let title = if unmanaged {
        format!(
            "unmanaged secret found at {first}: {} (no inventory record)",
            c.name
        )
    } else {
        format!("{} is exposed at {first} and still active", c.name)
    };
    cx.raise(
        "NHI-GOV-016",
        &c.id,
        identity,
        title,
        json!({
            "credential_kind": c.kind,
            "locations": locations,
            "still_present": c.attributes.get("present").cloned().unwrap_or(Value::Null),
            "first_commit": c.attributes.get("first_commit").cloned().unwrap_or(Value::Null),
            "rule": c.attributes.get("rule").cloned().unwrap_or(Value::Null),
            "unmanaged": unmanaged,
            "preview": c.preview.as_ref().map(|p| p.as_str().to_string()),
            "verified": false,
            "revoke_within_hours": cx.catalogue.get("NHI-GOV-016").and_then(|k| k.thresholds.get("leaked_secret_revoke_hours")).cloned(),
        }),
    );
}

/// NHI-GOV-007.
fn dormancy(cx: &mut Ctx<'_>, v: &IdentityView) {
    if v.identity.kind == "aws-root" {
        return;
    }
    let max = cx.estate.thresholds.dormant_days;
    let now = cx.estate.now;
    for c in &v.credentials {
        if c.status != Status::Active {
            continue;
        }
        let (since, usage) = match (c.last_used_at, c.ever_used) {
            (Some(t), _) => (Some(t), "last_used"),
            (None, Some(false)) => (c.created_at.or(c.last_rotated_at), "never_used"),
            // The source does not record use of this credential (e.g. IAM signing certificates):
            // dormancy cannot be decided from it, so no verdict rather than a false one.
            (None, _) => continue,
        };
        let Some(since) = since else { continue };
        let idle = days(now.duration_since(since));
        if idle <= i64::from(max) {
            continue;
        }
        let title = match usage {
            "last_used" => format!("{} has not been used for {idle} days (limit {max})", c.name),
            _ => format!(
                "{} was issued {idle} days ago and never used (limit {max})",
                c.name
            ),
        };
        cx.raise(
            "NHI-GOV-007",
            &c.id,
            &v.identity.id,
            title,
            json!({ "credential_kind": c.kind, "usage": usage, "idle_since": format_ts(since), "idle_days": idle, "dormant_days": max }),
        );
    }
}

/// NHI-GOV-009.
fn supplier_contract(cx: &mut Ctx<'_>, v: &IdentityView) {
    let Some(supplier) = &v.attribution.supplier else {
        return;
    };
    let id = &v.identity.id;
    let now = cx.estate.now;
    let name = supplier.trim_start_matches("supplier:");
    if !cx.estate.suppliers.contains_key(supplier) {
        cx.raise(
            "NHI-GOV-009",
            id,
            id,
            format!(
                "{} belongs to supplier {name}, which is not registered",
                v.identity.name
            ),
            json!({ "supplier": supplier, "reason": "supplier not declared under `suppliers`" }),
        );
        return;
    }
    let contracts: Vec<&Contract> = cx
        .estate
        .contracts
        .iter()
        .filter(|c| &c.supplier_id == supplier)
        .collect();
    let active: Vec<&&Contract> = contracts.iter().filter(|c| c.is_active(now)).collect();
    if contracts.is_empty() {
        cx.raise(
            "NHI-GOV-009",
            id,
            id,
            format!("{} belongs to supplier {name}, which has no contract on record", v.identity.name),
            json!({ "supplier": supplier, "contracts": [], "reason": "no contract declared for the supplier" }),
        );
        return;
    }
    let summary: Vec<Value> = contracts
        .iter()
        .map(|c| json!({ "id": c.id, "start": format_ts(c.start), "end": c.ends_at().map(format_ts) }))
        .collect();
    if active.is_empty() {
        let last_end = contracts
            .iter()
            .filter_map(|c| c.ends_at())
            .filter(|e| *e <= now)
            .max();
        let title = match last_end {
            Some(end) => format!(
                "{} still exists {} days after supplier {name}'s contract ended",
                v.identity.name,
                days(now.duration_since(end))
            ),
            None => format!(
                "{} belongs to supplier {name}, whose contract has not started",
                v.identity.name
            ),
        };
        let active_creds: Vec<&str> = v
            .credentials
            .iter()
            .filter(|c| c.status == Status::Active)
            .map(|c| c.id.as_str())
            .collect();
        cx.raise(
            "NHI-GOV-009",
            id,
            id,
            title,
            json!({ "supplier": supplier, "contracts": summary, "contract_ended_at": last_end.map(format_ts),
                    "active_credentials": active_creds, "revoke_after_contract_end_hours": 24 }),
        );
        return;
    }
    // Credentials that outlive every active contract.
    let latest_end = active.iter().map(|c| c.ends_at()).max().flatten();
    if let Some(end) = latest_end {
        for c in &v.credentials {
            if c.status == Status::Active
                && let Some(exp) = c.expires_at
                && exp > end
            {
                cx.raise(
                    "NHI-GOV-009",
                    &c.id,
                    id,
                    format!("{} expires {} days after supplier {name}'s contract ends", c.name, days(exp.duration_since(end))),
                    json!({ "supplier": supplier, "expires_at": format_ts(exp), "contract_end": format_ts(end) }),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use castellan_model::{PersonStatus, Privilege, parse_ts};

    fn t(s: &str) -> Timestamp {
        parse_ts(s).expect("ts")
    }

    fn estate(views: Vec<IdentityView>) -> Estate {
        let mut people = BTreeMap::new();
        for (email, status, left) in [
            ("a@x", PersonStatus::Active, None),
            ("l@x", PersonStatus::Left, Some(t("2026-09-30T00:00:00Z"))),
        ] {
            people.insert(
                ids::person(email),
                Person {
                    id: ids::person(email),
                    name: email.into(),
                    email: email.into(),
                    team: None,
                    status,
                    left_at: left,
                },
            );
        }
        let mut suppliers = BTreeMap::new();
        for s in ["acme", "globex"] {
            suppliers.insert(
                ids::supplier(s),
                Supplier {
                    id: ids::supplier(s),
                    name: s.into(),
                    contact: None,
                },
            );
        }
        Estate {
            unheld: Vec::new(),
            now: t("2026-12-01T00:00:00Z"),
            identities: views,
            people,
            suppliers,
            contracts: vec![
                Contract {
                    id: "contract:A".into(),
                    supplier_id: ids::supplier("acme"),
                    start: t("2025-01-01T00:00:00Z"),
                    end: Some(t("2027-01-01T00:00:00Z")),
                    notice_days: None,
                    offboarding_contact: None,
                    terminated_at: None,
                },
                Contract {
                    id: "contract:G".into(),
                    supplier_id: ids::supplier("globex"),
                    start: t("2023-01-01T00:00:00Z"),
                    end: Some(t("2026-06-30T00:00:00Z")),
                    notice_days: None,
                    offboarding_contact: None,
                    terminated_at: None,
                },
            ],
            exceptions: vec![],
            sources: vec![],
            // everyone reviewed recently unless a test says otherwise
            reviews: vec![ReviewRecord {
                subject: "*".into(),
                reviewer: "ciso@x".into(),
                date: t("2026-11-15T00:00:00Z"),
                decision: "keep".into(),
            }],
            thresholds: Thresholds {
                rotation_max_age_days: 90,
                dormant_days: 45,
                orphan_reassignment_grace_days: 7,
                max_sync_age_hours: 24,
                max_exception_days: 180,
                review_interval_days: 90,
                privileged_review_interval_days: 90,
                revoke_within_hours: 24,
                rotate_known_secrets_within_days: 7,
                third_party_review_interval_days: 365,
                interactive_nhi_sessions_allowed: 0,
                auth_failure_burst_count: 3,
                auth_failure_burst_window_minutes: 15,
                activity_lookback_days: 90,
            },
        }
    }

    fn event(id: &str, at: &str, action: &str) -> castellan_model::Event {
        castellan_model::Event {
            id: id.into(),
            source: "aws-cloudtrail".into(),
            at: t(at),
            action: action.into(),
            identity_id: None,
            credential_id: Some("aws:1:user/probe/access-key-1".into()),
            actor: None,
            attributes: [("source_ip".to_string(), json!("192.0.2.44"))]
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn console_sessions_on_a_workload_identity_fail_nhi_gov_014() {
        let cat = Catalogue::builtin().expect("catalogue");
        let mut v = view(
            "probe",
            Some("a@x"),
            None,
            Some((
                "2026-11-01T00:00:00Z",
                Some("2026-11-30T00:00:00Z"),
                Some(true),
            )),
        );
        // a session older than the look-back window does not count
        v.activity
            .add(event("old", "2026-01-02T10:00:00Z", "human-use"));
        let f = evaluate(&estate(vec![v.clone()]), &cat);
        assert!(
            !controls_for(&f, "probe").contains(&"NHI-GOV-014".to_string()),
            "{f:?}"
        );
        v.activity
            .add(event("new", "2026-11-26T07:15:42Z", "human-use"));
        // a session after `now` is not known yet
        v.activity
            .add(event("future", "2026-12-24T07:15:42Z", "human-use"));
        let f = evaluate(&estate(vec![v.clone()]), &cat);
        let g = f
            .iter()
            .find(|x| x.control == "NHI-GOV-014")
            .expect("finding");
        assert_eq!(g.evidence["interactive_sessions"], 1, "{g:?}");
        assert_eq!(g.evidence["sessions"][0]["event"], "new");
        // a person's own IAM user (console password only) is not judged by log evidence
        let mut person = v.clone();
        person
            .credentials
            .iter_mut()
            .for_each(|c| c.kind = "password".into());
        let f = evaluate(&estate(vec![person]), &cat);
        assert!(!f.iter().any(|x| x.control == "NHI-GOV-014"), "{f:?}");
        // a tolerance set in the thresholds lets one session pass
        let mut e = estate(vec![v]);
        e.thresholds.interactive_nhi_sessions_allowed = 1;
        assert!(
            !evaluate(&e, &cat)
                .iter()
                .any(|x| x.control == "NHI-GOV-014")
        );
    }

    #[test]
    fn refused_use_bursts_fail_nhi_gov_021() {
        let cat = Catalogue::builtin().expect("catalogue");
        let mut v = view(
            "probe",
            Some("a@x"),
            None,
            Some((
                "2026-11-01T00:00:00Z",
                Some("2026-11-30T00:00:00Z"),
                Some(true),
            )),
        );
        // three failures spread over 40 minutes: no burst
        for (i, at) in [
            "2026-11-25T02:00:00Z",
            "2026-11-25T02:20:00Z",
            "2026-11-25T02:40:00Z",
        ]
        .iter()
        .enumerate()
        {
            v.activity.add(event(&format!("f{i}"), at, "failed-use"));
        }
        let f = evaluate(&estate(vec![v.clone()]), &cat);
        assert!(!f.iter().any(|x| x.control == "NHI-GOV-021"), "{f:?}");
        // four more within nine minutes: a burst of four, at exactly the window's edge
        for (i, at) in [
            "2026-11-25T03:00:00Z",
            "2026-11-25T03:05:00Z",
            "2026-11-25T03:09:00Z",
            "2026-11-25T03:15:00Z",
        ]
        .iter()
        .enumerate()
        {
            v.activity.add(event(&format!("g{i}"), at, "failed-use"));
        }
        let f = evaluate(&estate(vec![v]), &cat);
        let g = f
            .iter()
            .find(|x| x.control == "NHI-GOV-021")
            .expect("burst");
        assert_eq!(g.evidence["failures_in_burst"], 4, "{g:?}");
        assert_eq!(g.evidence["first"], "2026-11-25T03:00:00Z");
        assert_eq!(g.evidence["source_ips"][0], "192.0.2.44");
        assert_eq!(g.severity, castellan_model::Severity::High);
    }

    fn view(
        name: &str,
        owner: Option<&str>,
        supplier: Option<&str>,
        key: Option<(&str, Option<&str>, Option<bool>)>,
    ) -> IdentityView {
        let id = format!("aws:1:user/{name}");
        let credentials = key
            .map(|(rot, used, ever)| Credential {
                id: format!("{id}/access-key-1"),
                identity_id: Some(id.clone()),
                kind: "access-key".into(),
                source: "t".into(),
                scope: "aws:1".into(),
                name: format!("{name} access-key-1"),
                status: Status::Active,
                created_at: Some(t(rot)),
                last_rotated_at: Some(t(rot)),
                last_used_at: used.map(t),
                ever_used: ever,
                expires_at: None,
                fingerprint: None,
                preview: None,
                attributes: Default::default(),
            })
            .into_iter()
            .collect();
        IdentityView {
            identity: Identity {
                id,
                kind: "aws-iam-user".into(),
                source: "t".into(),
                scope: "aws:1".into(),
                name: name.into(),
                account: Some("1".into()),
                status: Status::Active,
                privilege: Privilege::Unknown,
                created_at: None,
                last_used_at: None,
                tags: Default::default(),
                attributes: Default::default(),
            },
            attribution: Attribution {
                owner: owner.map(ids::person),
                supplier: supplier.map(ids::supplier),
                ..Default::default()
            },
            credentials,
            activity: Activity::default(),
        }
    }

    fn controls_for(findings: &[Finding], subject_part: &str) -> Vec<String> {
        findings
            .iter()
            .filter(|f| f.subject.contains(subject_part))
            .map(|f| f.control.clone())
            .collect()
    }

    #[test]
    fn each_control_fires_on_its_case_and_only_there() {
        let cat = Catalogue::builtin().expect("catalogue");
        let e = estate(vec![
            view(
                "healthy",
                Some("a@x"),
                None,
                Some((
                    "2026-10-20T00:00:00Z",
                    Some("2026-11-30T00:00:00Z"),
                    Some(true),
                )),
            ),
            view("orphan", None, None, None),
            view("leaver", Some("l@x"), None, None),
            view("ghost-owner", Some("nobody@x"), None, None),
            view(
                "old-key",
                Some("a@x"),
                None,
                Some((
                    "2025-06-02T00:00:00Z",
                    Some("2026-11-30T00:00:00Z"),
                    Some(true),
                )),
            ),
            view(
                "idle",
                Some("a@x"),
                None,
                Some((
                    "2026-10-01T00:00:00Z",
                    Some("2026-09-01T00:00:00Z"),
                    Some(true),
                )),
            ),
            view(
                "fresh-unused",
                Some("a@x"),
                None,
                Some(("2026-11-20T00:00:00Z", None, Some(false))),
            ),
            view(
                "old-unused",
                Some("a@x"),
                None,
                Some(("2026-10-01T00:00:00Z", None, Some(false))),
            ),
            view("vendor-acme", Some("a@x"), Some("acme"), None),
            view("vendor-globex", Some("a@x"), Some("globex"), None),
            view("vendor-unknown", Some("a@x"), Some("initech"), None),
        ]);
        let f = evaluate(&e, &cat);
        assert!(controls_for(&f, "/healthy").is_empty(), "{f:#?}");
        assert_eq!(controls_for(&f, "/orphan"), ["NHI-GOV-002"]);
        assert_eq!(controls_for(&f, "/leaver"), ["NHI-GOV-002"]);
        assert_eq!(controls_for(&f, "/ghost-owner"), ["NHI-GOV-002"]);
        assert_eq!(controls_for(&f, "/old-key"), ["NHI-GOV-005"]);
        assert_eq!(controls_for(&f, "/idle"), ["NHI-GOV-007"]);
        assert!(controls_for(&f, "/fresh-unused").is_empty());
        let old_unused: Vec<&Finding> = f
            .iter()
            .filter(|x| x.subject.contains("/old-unused"))
            .collect();
        assert_eq!(old_unused.len(), 1);
        assert_eq!(old_unused[0].evidence["usage"], "never_used");
        assert!(controls_for(&f, "/vendor-acme").is_empty());
        assert_eq!(controls_for(&f, "/vendor-globex"), ["NHI-GOV-009"]);
        assert_eq!(controls_for(&f, "/vendor-unknown"), ["NHI-GOV-009"]);
        // deterministic order
        assert_eq!(f, evaluate(&e, &cat));
    }

    #[test]
    fn leaver_within_grace_is_not_yet_a_finding() {
        let cat = Catalogue::builtin().expect("catalogue");
        let mut e = estate(vec![view("leaver", Some("l@x"), None, None)]);
        e.now = t("2026-10-03T00:00:00Z");
        assert!(evaluate(&e, &cat).is_empty());
    }

    #[test]
    fn exceptions_apply_until_they_expire() {
        let cat = Catalogue::builtin().expect("catalogue");
        let mut e = estate(vec![view(
            "old-key",
            Some("a@x"),
            None,
            Some((
                "2025-06-02T00:00:00Z",
                Some("2026-11-30T00:00:00Z"),
                Some(true),
            )),
        )]);
        e.exceptions.push(Exception {
            id: "exception:EX-1".into(),
            control: "NHI-GOV-005".into(),
            subject: "aws:1:user/old-*".into(),
            justification: "legacy".into(),
            compensating_controls: vec![],
            approver: "ciso".into(),
            requested_by: None,
            granted_at: None,
            expires_at: t("2027-01-01T00:00:00Z"),
        });
        let f = evaluate(&e, &cat);
        assert_eq!(f[0].status, FindingStatus::Excepted);
        assert_eq!(f[0].exception.as_deref(), Some("exception:EX-1"));
        e.now = t("2027-01-02T00:00:00Z");
        let f = evaluate(&e, &cat);
        assert_eq!(f[0].status, FindingStatus::Open);
        assert_eq!(f[0].evidence["expired_exception"]["id"], "exception:EX-1");
    }

    fn with_password(mut v: IdentityView, mfa: bool) -> IdentityView {
        let mut pw = v.credentials.first().cloned().unwrap_or_else(|| {
            view(
                "x",
                None,
                None,
                Some(("2026-11-01T00:00:00Z", None, Some(true))),
            )
            .credentials[0]
                .clone()
        });
        pw.id = format!("{}/password", v.identity.id);
        pw.kind = "password".into();
        pw.last_used_at = Some(t("2026-11-30T00:00:00Z"));
        v.credentials.push(pw);
        v.identity
            .attributes
            .insert("mfa_active".into(), json!(mfa));
        v
    }

    #[test]
    fn stale_sources_fail_inventory_freshness() {
        let cat = Catalogue::builtin().expect("catalogue");
        let mut e = estate(vec![]);
        for (scope, at) in [
            ("aws:1", "2026-11-30T12:00:00Z"),
            ("aws:2", "2026-11-27T00:00:00Z"),
        ] {
            e.sources.push(SourceFreshness {
                scope: scope.into(),
                source: "aws-credential-report".into(),
                path: "r.csv".into(),
                data_as_of: t(at),
                imported_at: t("2026-11-30T23:00:00Z"),
            });
        }
        let f = evaluate(&e, &cat);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].id, "NHI-GOV-001@aws:2");
        assert_eq!(f[0].evidence["age_hours"], 96);
    }

    #[test]
    fn administrators_need_no_keys_and_mfa() {
        let cat = Catalogue::builtin().expect("catalogue");
        let mut root = view(
            "root",
            Some("a@x"),
            None,
            Some((
                "2026-11-20T00:00:00Z",
                Some("2026-11-30T00:00:00Z"),
                Some(true),
            )),
        );
        root.identity.kind = "aws-root".into();
        root.identity.privilege = castellan_model::Privilege::Admin;
        let root = with_password(root, false);
        let mut safe = view("admin2", Some("a@x"), None, None);
        safe.identity.privilege = castellan_model::Privilege::Admin;
        let safe = with_password(safe, true);
        let f = evaluate(&estate(vec![root, safe]), &cat);
        let hits: Vec<&Finding> = f.iter().filter(|x| x.control == "NHI-GOV-012").collect();
        assert_eq!(hits.len(), 1, "{f:#?}");
        assert_eq!(
            hits[0].evidence["reasons"].as_array().map(Vec::len),
            Some(2)
        );
    }

    #[test]
    fn administrator_rights_need_approval_and_service_linked_roles_are_skipped() {
        let cat = Catalogue::builtin().expect("catalogue");
        let mut admin = view("deployer", Some("a@x"), None, None);
        admin.identity.privilege = castellan_model::Privilege::Admin;
        admin.identity.attributes.insert(
            "privilege_reason".into(),
            json!("privilege escalation: may iam:AttachUserPolicy on any principal or policy"),
        );
        let mut linked = view("AWSServiceRoleForSupport", None, None, None);
        linked.identity.kind = "aws-iam-role".into();
        linked.identity.privilege = castellan_model::Privilege::Admin;
        linked
            .identity
            .attributes
            .insert("managed_by".into(), json!("aws"));
        let writer = view("writer", Some("a@x"), None, None);
        let f = evaluate(&estate(vec![admin, linked, writer]), &cat);
        let hits: Vec<&str> = f
            .iter()
            .filter(|x| x.control == "NHI-GOV-011")
            .map(|x| x.subject.as_str())
            .collect();
        assert_eq!(hits, vec!["aws:1:user/deployer"]);
        let hit = f.iter().find(|x| x.control == "NHI-GOV-011").expect("hit");
        assert!(hit.title.contains("iam:AttachUserPolicy"), "{}", hit.title);
        // provider-managed roles need no owner either
        assert!(
            !f.iter()
                .any(|x| x.subject.contains("AWSServiceRoleForSupport")
                    && x.control == "NHI-GOV-002")
        );
    }

    #[test]
    fn third_party_trust_needs_a_supplier_and_a_review() {
        let cat = Catalogue::builtin().expect("catalogue");
        let trusting = |name: &str, supplier: Option<&str>| {
            let mut v = view(name, Some("a@x"), supplier, None);
            v.identity.kind = "aws-iam-role".into();
            v.identity.attributes.insert(
                "external_trust".into(),
                json!(["trusts external account 444455556666 without an ExternalId condition"]),
            );
            v
        };
        let unknown = trusting("unknown-party", None);
        let known = trusting("known-party", Some("acme"));
        let mut e = estate(vec![unknown, known]);
        let f = evaluate(&e, &cat);
        let hits: Vec<&Finding> = f.iter().filter(|x| x.control == "NHI-GOV-010").collect();
        assert_eq!(hits.len(), 1, "{hits:#?}");
        assert!(hits[0].subject.ends_with("unknown-party"));
        // an old review fails the registered one too
        e.reviews[0].date = t("2025-06-01T00:00:00Z");
        let f = evaluate(&e, &cat);
        let hits: Vec<&Finding> = f.iter().filter(|x| x.control == "NHI-GOV-010").collect();
        assert_eq!(hits.len(), 2, "{hits:#?}");
        assert!(hits.iter().any(|h| h.title.contains("last reviewed")));
    }

    #[test]
    fn console_password_on_a_keyed_identity_is_human_use() {
        let cat = Catalogue::builtin().expect("catalogue");
        let both = with_password(
            view(
                "both",
                Some("a@x"),
                None,
                Some((
                    "2026-11-20T00:00:00Z",
                    Some("2026-11-30T00:00:00Z"),
                    Some(true),
                )),
            ),
            true,
        );
        let person = with_password(view("anna", Some("a@x"), None, None), true);
        let f = evaluate(&estate(vec![both, person]), &cat);
        let hits: Vec<&str> = f
            .iter()
            .filter(|x| x.control == "NHI-GOV-014")
            .map(|x| x.subject.as_str())
            .collect();
        assert_eq!(hits, ["aws:1:user/both"]);
    }

    #[test]
    fn exceptions_must_be_short_and_unexpired() {
        let cat = Catalogue::builtin().expect("catalogue");
        let mut e = estate(vec![]);
        let ex = |id: &str, granted: Option<&str>, expires: &str| Exception {
            id: format!("exception:{id}"),
            control: "NHI-GOV-005".into(),
            subject: "*".into(),
            justification: "j".into(),
            compensating_controls: vec![],
            approver: "ciso".into(),
            requested_by: None,
            granted_at: granted.map(t),
            expires_at: t(expires),
        };
        e.exceptions = vec![
            ex("OK", Some("2026-11-01T00:00:00Z"), "2027-03-01T00:00:00Z"),
            ex("LONG", Some("2026-11-01T00:00:00Z"), "2028-01-01T00:00:00Z"),
            ex("OLD", None, "2026-10-01T00:00:00Z"),
        ];
        let f = evaluate(&e, &cat);
        let ids: Vec<&str> = f.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(
            ids,
            ["NHI-GOV-024@exception:LONG", "NHI-GOV-024@exception:OLD"]
        );
    }

    #[test]
    fn identities_need_a_recent_review() {
        let cat = Catalogue::builtin().expect("catalogue");
        let key = Some((
            "2026-11-20T00:00:00Z",
            Some("2026-11-30T00:00:00Z"),
            Some(true),
        ));
        let mut e = estate(vec![
            view("reviewed", Some("a@x"), None, key),
            view("forgotten", Some("a@x"), None, key),
        ]);
        e.reviews = vec![
            ReviewRecord {
                subject: "aws:1:user/reviewed".into(),
                reviewer: "r@x".into(),
                date: t("2026-10-01T00:00:00Z"),
                decision: "keep".into(),
            },
            ReviewRecord {
                subject: "aws:1:user/forgotten".into(),
                reviewer: "r@x".into(),
                date: t("2026-05-01T00:00:00Z"),
                decision: "keep".into(),
            },
        ];
        let f = evaluate(&e, &cat);
        let ids: Vec<&str> = f.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(ids, ["NHI-GOV-004@aws:1:user/forgotten"]);
        e.reviews[0].decision = "revoke".into();
        let f = evaluate(&e, &cat);
        assert!(
            f.iter().any(|x| x.id == "NHI-GOV-008@aws:1:user/reviewed"),
            "{f:#?}"
        );
        e.reviews.clear();
        assert_eq!(
            evaluate(&e, &cat)
                .iter()
                .filter(|x| x.control == "NHI-GOV-004")
                .count(),
            2
        );
    }

    #[test]
    fn a_leavers_identities_are_reassigned_and_their_secrets_rotated() {
        let cat = Catalogue::builtin().expect("catalogue");
        // owner l@x left 2026-09-30; key last rotated before that
        let stale = view(
            "stale",
            Some("l@x"),
            None,
            Some((
                "2026-09-01T00:00:00Z",
                Some("2026-11-30T00:00:00Z"),
                Some(true),
            )),
        );
        // key rotated after the departure, but the owner was never replaced
        let rotated = view(
            "rotated",
            Some("l@x"),
            None,
            Some((
                "2026-10-05T00:00:00Z",
                Some("2026-11-30T00:00:00Z"),
                Some(true),
            )),
        );
        let mut custodian_left = view(
            "cust",
            Some("a@x"),
            None,
            Some((
                "2026-09-01T00:00:00Z",
                Some("2026-11-30T00:00:00Z"),
                Some(true),
            )),
        );
        custodian_left.attribution.custodian = Some(ids::person("l@x"));
        let f = evaluate(&estate(vec![stale, rotated, custodian_left]), &cat);
        let off: Vec<&Finding> = f.iter().filter(|x| x.control == "NHI-GOV-008").collect();
        assert_eq!(off.len(), 3, "{off:#?}");
        let by = |n: &str| {
            off.iter()
                .find(|x| x.subject.ends_with(n))
                .expect("finding")
        };
        assert_eq!(
            by("/stale").evidence["reasons"].as_array().map(Vec::len),
            Some(2)
        );
        assert_eq!(
            by("/rotated").evidence["reasons"].as_array().map(Vec::len),
            Some(1)
        );
        assert!(
            by("/cust").title.contains("custodian"),
            "{}",
            by("/cust").title
        );
    }
}
