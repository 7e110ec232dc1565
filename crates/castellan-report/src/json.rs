use std::collections::BTreeMap;

use castellan_model::{Finding, FindingStatus, Severity, format_ts};
use castellan_policy::Catalogue;
use castellan_store::{Store, StoreError, StoredCredential, StoredIdentity};
use serde_json::{Value, json};

use crate::EvidenceInput;

fn strip<'a>(prefix: &str, v: &'a Option<String>) -> Option<&'a str> {
    v.as_deref().map(|s| s.strip_prefix(prefix).unwrap_or(s))
}

/// The inventory JSON object of one identity with its credentials (the stable format of
/// `castellan inventory --json` and `inventory.json`, documented in docs/data-model.md).
pub fn inventory_item(
    si: &StoredIdentity,
    creds: &[StoredCredential],
    risk: &castellan_policy::Risk,
) -> Value {
    let i = &si.identity;
    let a = &si.attribution;
    let status = if si.provenance.gone_at.is_some() {
        "gone"
    } else {
        i.status.as_str()
    };
    json!({
        "id": i.id,
        "kind": i.kind,
        "source": i.source,
        "sources": si.sources,
        "name": i.name,
        "account": i.account,
        "status": status,
        "privilege": i.privilege.as_str(),
        "owner": strip("person:", &a.owner),
        "custodian": strip("person:", &a.custodian),
        "service": strip("service:", &a.service),
        "supplier": strip("supplier:", &a.supplier),
        "attributed_via": a.via,
        "risk": risk,
        "created_at": i.created_at.map(format_ts),
        "last_used_at": i.last_used_at.map(format_ts),
        "tags": i.tags,
        "attributes": i.attributes,
        "provenance": si.provenance,
        "credentials": creds.iter().map(credential_json).collect::<Vec<_>>(),
    })
}

/// One credential as JSON, with its sources, sightings and provenance (`inventory show`,
/// `inventory.json`).
pub fn credential_json(sc: &StoredCredential) -> Value {
    let c = &sc.credential;
    let status = if sc.provenance.gone_at.is_some() {
        "gone"
    } else {
        c.status.as_str()
    };
    json!({
        "id": c.id,
        "kind": c.kind,
        "name": c.name,
        "status": status,
        "created_at": c.created_at.map(format_ts),
        "last_rotated_at": c.last_rotated_at.map(format_ts),
        "last_used_at": c.last_used_at.map(format_ts),
        "ever_used": c.ever_used,
        "expires_at": c.expires_at.map(format_ts),
        "fingerprint": c.fingerprint,
        "preview": c.preview,
        "attributes": c.attributes,
        "sources": sc.sources,
        "identities": sc.identities,
        "sightings": (!sc.sightings.is_empty()).then_some(&sc.sightings),
        "provenance": sc.provenance,
    })
}

/// One lifecycle event as JSON (`inventory show`, incident timelines).
pub fn event_json(e: &castellan_model::Event) -> Value {
    json!({
        "id": e.id,
        "at": format_ts(e.at),
        "action": e.action,
        "identity": e.identity_id,
        "credential": e.credential_id,
        "actor": e.actor,
        "source": e.source,
        "attributes": e.attributes,
    })
}

/// One grant as JSON (`inventory show`, `inventory.json`).
pub fn grant_json(g: &castellan_model::Grant) -> Value {
    json!({
        "id": g.id,
        "holder": g.holder,
        "effect": g.effect.as_str(),
        "privilege": g.privilege.as_str(),
        "actions": g.actions,
        "resources": g.resources,
        "via": g.via,
        "source": g.source,
        "attributes": g.attributes,
    })
}

/// `inventory.json`: every identity (gone ones included, marked) with its credentials.
pub fn inventory_json(store: &mut Store, generated_at: &str) -> Result<Value, StoreError> {
    let mut by_identity: BTreeMap<String, Vec<StoredCredential>> = BTreeMap::new();
    for c in store.credentials()? {
        for id in &c.identities {
            by_identity.entry(id.clone()).or_default().push(c.clone());
        }
    }
    let risks = RiskContext::load(store)?;
    let identities: Vec<Value> = store
        .identities()?
        .iter()
        .map(|si| {
            let creds = by_identity
                .get(&si.identity.id)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            inventory_item(si, creds, &risks.risk(si, creds))
        })
        .collect();
    Ok(json!({
        "generated_at": generated_at,
        "identities": identities,
    }))
}

/// What risk scoring needs besides an identity: its findings and its service's criticality.
#[derive(Debug)]
pub struct RiskContext {
    findings: Vec<Finding>,
    services: BTreeMap<String, castellan_model::Criticality>,
}

impl RiskContext {
    /// Loads findings and services from the store.
    pub fn load(store: &mut Store) -> Result<RiskContext, StoreError> {
        let services = store
            .entities("service")?
            .into_iter()
            .filter_map(|e| serde_json::from_value::<castellan_model::Service>(e.data).ok())
            .map(|s| (s.id, s.criticality))
            .collect();
        Ok(RiskContext {
            findings: store.findings()?,
            services,
        })
    }

    /// The risk of one identity (gone identities score 0).
    pub fn risk(&self, si: &StoredIdentity, creds: &[StoredCredential]) -> castellan_policy::Risk {
        if si.provenance.gone_at.is_some() {
            return castellan_policy::Risk::default();
        }
        let id = &si.identity.id;
        let prefix = format!("{id}/");
        let mine: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|f| &f.subject == id || f.subject.starts_with(&prefix))
            .collect();
        let credentials: Vec<castellan_model::Credential> = creds
            .iter()
            .filter(|c| c.provenance.gone_at.is_none())
            .map(|c| c.credential.clone())
            .collect();
        let service = si
            .attribution
            .service
            .as_ref()
            .and_then(|s| self.services.get(s))
            .copied();
        castellan_policy::risk(&si.identity, &si.attribution, &credentials, &mine, service)
    }
}

/// One finding as JSON, with its control's title.
pub fn finding_json(f: &Finding, catalogue: &Catalogue) -> Value {
    json!({
        "id": f.id,
        "control": f.control,
        "control_title": catalogue.get(&f.control).map(|c| c.title.as_str()),
        "subject": f.subject,
        "severity": f.severity,
        "status": f.status,
        "title": f.title,
        "evidence": f.evidence,
        "exception": f.exception,
        "first_seen": f.first_seen.map(format_ts),
        "last_seen": f.last_seen.map(format_ts),
    })
}

/// `findings.json`: all findings, open first, then by severity and id.
pub fn findings_json(
    store: &mut Store,
    catalogue: &Catalogue,
    generated_at: &str,
) -> Result<Value, StoreError> {
    let mut findings = store.findings()?;
    sort_findings(&mut findings);
    Ok(json!({
        "generated_at": generated_at,
        "findings": findings.iter().map(|f| finding_json(f, catalogue)).collect::<Vec<_>>(),
    }))
}

/// Open first, then excepted, then closed; within each, most severe first, then by id.
pub fn sort_findings(f: &mut [Finding]) {
    let rank = |s: FindingStatus| match s {
        FindingStatus::Open => 0,
        FindingStatus::Excepted => 1,
        FindingStatus::Closed => 2,
    };
    f.sort_by(|a, b| {
        rank(a.status)
            .cmp(&rank(b.status))
            .then(b.severity.cmp(&a.severity))
            .then(a.id.cmp(&b.id))
    });
}

/// `summary.json`: counts, findings by severity and control, imports, ledger head.
pub fn summary_json(
    store: &mut Store,
    catalogue: &Catalogue,
    input: &EvidenceInput,
    findings: &Value,
) -> Result<Value, StoreError> {
    let counts = store.counts()?;
    let ledger = store.ledger_status()?;
    let mut by_severity: BTreeMap<&str, u64> =
        Severity::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    let mut by_control: BTreeMap<String, BTreeMap<&str, u64>> = BTreeMap::new();
    let (mut open, mut excepted, mut closed) = (0u64, 0u64, 0u64);
    for f in findings["findings"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let status = f["status"].as_str().unwrap_or("open");
        let control = f["control"].as_str().unwrap_or("").to_string();
        *by_control
            .entry(control)
            .or_default()
            .entry(match status {
                "open" => "open",
                "excepted" => "excepted",
                _ => "closed",
            })
            .or_default() += 1;
        match status {
            "open" => {
                open += 1;
                if let Some(s) = f["severity"].as_str()
                    && let Some(n) = by_severity.get_mut(s)
                {
                    *n += 1;
                }
            }
            "excepted" => excepted += 1,
            _ => closed += 1,
        }
    }
    let now = castellan_model::parse_ts(&input.generated_at).ok();
    let attestations: Vec<Value> = store
        .entities("attestation")?
        .into_iter()
        .map(|e| e.data)
        .collect();
    let current_attestation =
        |control: &str| -> Option<Value> {
            attestations
            .iter()
            .filter(|a| a["control"] == control)
            .filter(|a| {
                let date = a["date"].as_str().and_then(|t| castellan_model::parse_ts(t).ok());
                let expires = a["expires"].as_str().and_then(|t| castellan_model::parse_ts(t).ok());
                matches!((now, date), (Some(n), Some(d)) if d <= n && expires.is_none_or(|e| n < e))
            })
            .max_by_key(|a| a["date"].as_str().unwrap_or("").to_string())
            .cloned()
        };
    let identities = store.identities()?;
    let present: Vec<&StoredIdentity> = identities
        .iter()
        .filter(|i| i.provenance.gone_at.is_none())
        .collect();
    let owned = present
        .iter()
        .filter(|i| i.attribution.owner.is_some())
        .count();
    Ok(json!({
        "castellan_version": env!("CARGO_PKG_VERSION"),
        "generated_at": input.generated_at,
        "estate": input.estate,
        "database": input.database,
        "inventory": {
            "identities": counts.identities,
            "credentials": counts.credentials,
            "identities_with_owner": owned,
            "owner_coverage": if present.is_empty() { 1.0 } else { owned as f64 / present.len() as f64 },
        },
        "findings": {
            "open": open,
            "excepted": excepted,
            "closed": closed,
            "open_by_severity": by_severity,
            "by_control": by_control,
        },
        "controls": catalogue.controls.iter().map(|c| {
            let by = by_control.get(&c.id);
            let count = |k: &str| by.and_then(|m| m.get(k)).copied().unwrap_or(0);
            json!({
                "id": c.id,
                "title": c.title,
                "severity": c.severity,
                "automation": c.automation,
                // Only built-in controls are decided; the others are never reported as passing.
                "status": match c.automation {
                    castellan_policy::Automation::Builtin if count("open") > 0 => "failing",
                    castellan_policy::Automation::Builtin => "passing",
                    castellan_policy::Automation::Planned => "not_evaluated",
                    castellan_policy::Automation::Manual if current_attestation(&c.id).is_some() => "attested",
                    castellan_policy::Automation::Manual => "manual_attestation_required",
                },
                "attestation": current_attestation(&c.id),
                "open": count("open"),
                "excepted": count("excepted"),
            })
        }).chain(input.custom_controls.as_array().into_iter().flatten().map(|c| {
            let id = c["id"].as_str().unwrap_or("");
            let by = by_control.get(id);
            let count = |k: &str| by.and_then(|m| m.get(k)).copied().unwrap_or(0);
            json!({
                "id": id,
                "title": c["title"],
                "severity": c["severity"],
                "automation": "custom",
                "status": if count("open") > 0 { "failing" } else { "passing" },
                "attestation": null,
                "open": count("open"),
                "excepted": count("excepted"),
            })
        })).collect::<Vec<_>>(),
        "policy_errors": input.policy_errors,
        "thresholds": input.thresholds,
        "imports": input.imports,
        "skipped": input.skipped,
        "scan": input.scan,
        "ledger": {
            "size": ledger.size,
            "root": ledger.root,
            "chain_head": ledger.chain_head,
            "checkpoint": input.checkpoint,
        },
    }))
}
