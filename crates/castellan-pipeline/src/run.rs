use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use castellan_model::{Contract, Exception, Finding, FindingStatus, Person, Supplier};
use castellan_policy::{Catalogue, Estate, IdentityView, Thresholds, evaluate};
use castellan_store::Tx;
use serde::Serialize;
use serde_json::json;

use crate::import::{
    ImportReport, Skipped, attribute_and_keep, discover, import_files, load_governance,
};
use crate::{Context, PipelineError, Progress};

/// What an assessment did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AssessReport {
    /// Identities evaluated.
    pub identities: u64,
    /// Findings open or excepted after the assessment.
    pub findings: Vec<Finding>,
    /// Findings newly opened.
    pub opened: u64,
    /// Findings closed (the control passes now).
    pub closed: u64,
    /// Identities whose owner/custodian/service/supplier changed.
    pub attribution_changes: u64,
    /// Thresholds in force.
    pub thresholds: Option<Thresholds>,
    /// Custom (Rego) controls that were evaluated.
    pub custom_controls: Vec<castellan_policy::custom::CustomMetadata>,
    /// Custom policies that could not be loaded or evaluated (their previous findings are kept).
    pub policy_errors: Vec<castellan_policy::custom::PolicyError>,
}

/// What `run` did.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// The estate folder.
    pub estate: String,
    /// Files imported.
    pub imports: Vec<ImportReport>,
    /// Files skipped.
    pub skipped: Vec<Skipped>,
    /// What scanning `ESTATE/repos/` found, when the estate has that folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan: Option<crate::scan::ScanSummary>,
    /// The assessment.
    pub assessment: AssessReport,
    /// The signed checkpoint after the run.
    pub checkpoint: castellan_ledger::Checkpoint,
    /// The evidence folder.
    pub out_dir: PathBuf,
    /// Files written there.
    pub files: Vec<PathBuf>,
}

fn catalogue() -> Result<Catalogue, PipelineError> {
    Catalogue::builtin().map_err(|e| PipelineError::Internal(e.to_string()))
}

fn entities<T: serde::de::DeserializeOwned>(
    tx: &mut Tx<'_>,
    kind: &str,
) -> Result<Vec<T>, PipelineError> {
    tx.store()?
        .entities(kind)?
        .into_iter()
        .map(|e| {
            serde_json::from_value(e.data).map_err(|err| {
                PipelineError::Store(castellan_store::StoreError::Corrupt {
                    what: format!("{kind} {}", e.id),
                    reason: err.to_string(),
                })
            })
        })
        .collect()
}

/// Exceptions, dated by the file's `granted` or else by the day Castellan first saw them.
fn exceptions(tx: &mut Tx<'_>) -> Result<Vec<Exception>, PipelineError> {
    let mut out = Vec::new();
    for e in tx.store()?.entities("exception")? {
        let first_seen = castellan_model::parse_ts(&e.provenance.first_seen).ok();
        let mut ex: Exception = serde_json::from_value(e.data).map_err(|err| {
            PipelineError::Store(castellan_store::StoreError::Corrupt {
                what: format!("exception {}", e.id),
                reason: err.to_string(),
            })
        })?;
        ex.granted_at = ex.granted_at.or(first_seen);
        out.push(ex);
    }
    Ok(out)
}

/// The latest import of every scope, with the date its data describes.
fn freshness(tx: &mut Tx<'_>) -> Result<Vec<castellan_policy::SourceFreshness>, PipelineError> {
    let mut latest: BTreeMap<String, castellan_policy::SourceFreshness> = BTreeMap::new();
    for run in tx.store()?.import_runs()? {
        let Ok(imported_at) = castellan_model::parse_ts(&run.started_at) else {
            continue;
        };
        let data_as_of = run.summary["data_as_of"]
            .as_str()
            .and_then(|t| castellan_model::parse_ts(t).ok())
            .unwrap_or(imported_at);
        for scope in run.summary["scopes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str())
        {
            if scope == "governance" {
                continue;
            }
            latest.insert(
                scope.to_string(),
                castellan_policy::SourceFreshness {
                    scope: scope.to_string(),
                    source: run.source.clone(),
                    path: run.path.clone(),
                    data_as_of,
                    imported_at,
                },
            );
        }
    }
    Ok(latest.into_values().collect())
}

/// Evaluates the controls inside `tx` and records the findings.
pub(crate) fn assess_in_tx(
    tx: &mut Tx<'_>,
    now: jiff::Timestamp,
    only: Option<&BTreeSet<String>>,
    policies: Option<&Path>,
    progress: &dyn Progress,
) -> Result<AssessReport, PipelineError> {
    progress.message("assessing controls");
    let catalogue = catalogue()?;
    let (attribution_changes, stored_identities) = attribute_and_keep(tx)?;
    let gov = load_governance(tx.store()?)?;
    let profile = match gov.profile {
        castellan_sources::governance::Profile::Standard => "standard",
        castellan_sources::governance::Profile::MicroEntity => "micro_entity",
        castellan_sources::governance::Profile::HighAssurance => "high_assurance",
    };
    let mut thresholds = Thresholds::for_profile(&catalogue, profile);
    if let Some(v) = gov.thresholds.rotation_max_age_days {
        thresholds.rotation_max_age_days = v;
    }
    if let Some(v) = gov.thresholds.dormant_days {
        thresholds.dormant_days = v;
    }
    if let Some(v) = gov.thresholds.max_sync_age_hours {
        thresholds.max_sync_age_hours = v;
    }
    if let Some(v) = gov.thresholds.max_exception_days {
        thresholds.max_exception_days = v;
    }

    let mut creds: BTreeMap<String, Vec<castellan_model::Credential>> = BTreeMap::new();
    let mut unheld = Vec::new();
    for c in tx.store()?.credentials()? {
        if c.provenance.gone_at.is_some() {
            continue;
        }
        if c.identities.is_empty() {
            unheld.push(c.credential.clone());
        }
        // A credential tied to several identities (one SSH key authorised for two accounts)
        // counts for each of them.
        for owner in &c.identities {
            creds
                .entry(owner.clone())
                .or_default()
                .push(c.credential.clone());
        }
    }
    // What the logs say: the events the activity controls judge, per identity (an event naming
    // only a credential counts for the credential's identity), within the look-back window.
    let mut activity: BTreeMap<String, castellan_policy::Activity> = BTreeMap::new();
    {
        let owner_of: BTreeMap<&str, &str> = creds
            .iter()
            .flat_map(|(owner, cs)| cs.iter().map(move |c| (c.id.as_str(), owner.as_str())))
            .collect();
        let from = now
            .checked_sub(jiff::SignedDuration::from_hours(
                i64::from(thresholds.activity_lookback_days) * 24,
            ))
            .unwrap_or(now);
        let wanted = tx
            .store()?
            .events_between(from, now, &["human-use", "failed-use"])?;
        for e in wanted {
            let who = e.identity_id.clone().or_else(|| {
                e.credential_id
                    .as_deref()
                    .and_then(|c| owner_of.get(c))
                    .map(|o| o.to_string())
            });
            if let Some(who) = who {
                activity.entry(who).or_default().add(e);
            }
        }
    }
    let identities: Vec<IdentityView> = stored_identities
        .into_iter()
        .map(|s| IdentityView {
            credentials: creds.remove(&s.identity.id).unwrap_or_default(),
            activity: activity.remove(&s.identity.id).unwrap_or_default(),
            identity: s.identity,
            attribution: s.attribution,
        })
        .collect();
    let people: Vec<Person> = entities(tx, "person")?;
    let suppliers: Vec<Supplier> = entities(tx, "supplier")?;
    let estate = Estate {
        now,
        people: people.into_iter().map(|p| (p.id.clone(), p)).collect(),
        suppliers: suppliers.into_iter().map(|s| (s.id.clone(), s)).collect(),
        contracts: entities::<Contract>(tx, "contract")?,
        exceptions: exceptions(tx)?,
        sources: freshness(tx)?,
        reviews: gov
            .reviews
            .iter()
            .map(|r| castellan_policy::ReviewRecord {
                subject: r.subject.clone(),
                reviewer: r.reviewer.clone(),
                date: r.date,
                decision: serde_json::to_value(r.decision)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
            })
            .collect(),
        thresholds: thresholds.clone(),
        identities,
        unheld,
    };
    let mut findings = evaluate(&estate, &catalogue);
    if let Some(only) = only {
        findings.retain(|f| only.contains(&f.control));
    }
    // The controls whose verdicts this run replaces (findings of others are left as they are).
    let mut evaluated: BTreeSet<String> = match only {
        Some(only) => only.clone(),
        None => castellan_policy::BUILTIN
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    let mut custom_controls = Vec::new();
    let mut policy_errors = Vec::new();
    if let Some(dir) = policies.filter(|_| only.is_none()) {
        progress.message("evaluating custom policies");
        let (mut loaded, errors) = castellan_policy::custom::load_dir(dir);
        policy_errors.extend(errors);
        if !loaded.is_empty() {
            let inventory =
                castellan_report::inventory_json(tx.store()?, &castellan_model::format_ts(now))?;
            let input = json!({ "now": castellan_model::format_ts(now), "identities": inventory["identities"] });
            let input = serde_json::to_string(&input)
                .map_err(|e| PipelineError::Internal(e.to_string()))?;
            let input = castellan_policy::custom::input_value(&input)
                .map_err(|e| PipelineError::Internal(e.to_string()))?;
            for policy in &mut loaded {
                match policy.evaluate(&input) {
                    Ok(mut found) => {
                        castellan_policy::apply_exceptions(&mut found, &estate);
                        evaluated.insert(policy.metadata.id.clone());
                        custom_controls.push(policy.metadata.clone());
                        findings.extend(found);
                    }
                    Err(e) => policy_errors.push(e),
                }
            }
            findings.sort_by(|a, b| a.id.cmp(&b.id));
        }
    }
    let mut opened = 0;
    let mut current = BTreeSet::new();
    let stored = tx.finding_statuses()?;
    for f in &findings {
        if tx.write_finding(f, stored.get(&f.id).copied())?
            == castellan_store::FindingChange::Opened
        {
            opened += 1;
        }
        current.insert(f.id.clone());
    }
    let closed = tx.close_findings_except(&current, Some(&evaluated))?.len() as u64;
    let open = findings
        .iter()
        .filter(|f| f.status == FindingStatus::Open)
        .count();
    let excepted = findings
        .iter()
        .filter(|f| f.status == FindingStatus::Excepted)
        .count();
    tx.append(
        "assessment.run",
        "controls",
        json!({
            "controls": evaluated,
            "custom_controls": custom_controls.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
            "policy_errors": policy_errors.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            "not_evaluated": catalogue.controls.iter().filter(|c| c.automation == castellan_policy::Automation::Planned).map(|c| c.id.clone()).collect::<Vec<_>>(),
            "manual": catalogue.controls.iter().filter(|c| c.automation == castellan_policy::Automation::Manual).map(|c| c.id.clone()).collect::<Vec<_>>(),
            "thresholds": thresholds,
            "identities": estate.identities.len(),
            "open": open,
            "excepted": excepted,
            "opened": opened,
            "closed": closed,
        }),
    )?;
    Ok(AssessReport {
        identities: estate.identities.len() as u64,
        findings,
        opened,
        closed,
        attribution_changes,
        thresholds: Some(thresholds),
        custom_controls,
        policy_errors,
    })
}

/// Re-evaluates the controls over the stored inventory, in one transaction, then signs a
/// checkpoint.
/// With `only`, just those controls are evaluated (and only their findings can close); an id that
/// is not a built-in control is a usage error.
pub fn assess(
    ctx: &mut Context,
    only: &[String],
    policies: Option<&Path>,
    progress: &dyn Progress,
) -> Result<AssessReport, PipelineError> {
    let only: Option<BTreeSet<String>> = if only.is_empty() {
        None
    } else {
        let mut set = BTreeSet::new();
        for id in only {
            let id = id.trim().to_ascii_uppercase();
            if !castellan_policy::BUILTIN.contains(&id.as_str()) {
                return Err(PipelineError::Usage(format!(
                    "--control {id}: not a control Castellan evaluates (evaluated: {})",
                    castellan_policy::BUILTIN.join(", ")
                )));
            }
            set.insert(id);
        }
        Some(set)
    };
    let now = ctx.clock.now();
    let mut tx = ctx.store.begin(now)?;
    let report = assess_in_tx(&mut tx, now, only.as_ref(), policies, progress)?;
    tx.commit()?;
    ctx.checkpoint()?;
    Ok(report)
}

/// The main job: import everything recognised under `estate`, assess, commit (all or nothing),
/// sign a checkpoint, and write the evidence folder `out`.
///
/// Custom Rego policies are read from `policies`, or else from `ESTATE/policies/` when it exists.
pub fn run_estate(
    ctx: &mut Context,
    estate: &Path,
    out: &Path,
    policies: Option<&Path>,
    progress: &dyn Progress,
) -> Result<RunReport, PipelineError> {
    let (files, skipped) = discover(estate)?;
    let now = ctx.clock.now();
    let env = crate::import::ImportEnv {
        key: &ctx.fingerprint_key,
        cluster: None,
        account: None,
        p12_password: ctx.p12_password.as_deref(),
    };
    let mut scan = crate::scan::scan_estate_repos(
        estate,
        &ctx.fingerprint_key,
        &ctx.data_dir.join("scan-cache"),
        progress,
    )?;
    let mut tx = ctx.store.begin(now)?;
    let imports = import_files(&mut tx, &files, env, progress)?;
    if let Some(outcome) = &mut scan {
        progress.message("recording scan sightings");
        crate::scan::store_scan(&mut tx, outcome)?;
    }
    let default_policies = estate.join("policies");
    let policies = policies.or_else(|| {
        default_policies
            .is_dir()
            .then_some(default_policies.as_path())
    });
    let assessment = assess_in_tx(&mut tx, now, None, policies, progress)?;
    tx.commit()?;
    let checkpoint = ctx.checkpoint()?;
    progress.message("writing evidence");
    let input = castellan_report::EvidenceInput {
        generated_at: castellan_model::format_ts(now),
        estate: estate.display().to_string(),
        database: ctx.store.display_url(),
        imports: serde_json::to_value(&imports).unwrap_or_default(),
        skipped: serde_json::to_value(&skipped).unwrap_or_default(),
        thresholds: serde_json::to_value(&assessment.thresholds).unwrap_or_default(),
        custom_controls: serde_json::to_value(&assessment.custom_controls).unwrap_or_default(),
        policy_errors: serde_json::to_value(&assessment.policy_errors).unwrap_or_default(),
        scan: serde_json::to_value(scan.as_ref().map(|o| o.summary())).unwrap_or_default(),
        checkpoint: checkpoint.clone(),
    };
    let mut files_written =
        castellan_report::write_evidence(&mut ctx.store, out, &input).map_err(|e| match e {
            castellan_report::ReportError::Store(s) => PipelineError::Store(s),
            castellan_report::ReportError::Write { path, source } => {
                PipelineError::Write { path, source }
            }
        })?;
    if let Some(outcome) = &scan {
        files_written.push(crate::scan::write_sarif(outcome, &out.join("scan.sarif"))?);
    }
    Ok(RunReport {
        estate: estate.display().to_string(),
        imports,
        skipped,
        scan: scan.map(|o| o.summary()),
        assessment,
        checkpoint,
        out_dir: out.to_path_buf(),
        files: files_written,
    })
}
