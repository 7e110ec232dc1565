use castellan_store::StoredCredential;

use crate::Failure;
use crate::args::{Global, InventoryCmd};
use crate::output;

/// How many of an identity's most recent events `inventory show` prints.
const EVENTS_SHOWN: usize = 200;

pub fn run(g: &Global, cmd: &InventoryCmd) -> Result<u8, Failure> {
    let mut ctx = output::open(g)?;
    match cmd {
        InventoryCmd::List { kind, unowned, all } => {
            let mut creds: std::collections::HashMap<String, Vec<StoredCredential>> =
                std::collections::HashMap::new();
            for c in ctx.store.credentials()? {
                for owner in &c.identities {
                    creds.entry(owner.clone()).or_default().push(c.clone());
                }
            }
            let risks = castellan_report::RiskContext::load(&mut ctx.store)?;
            let mut items = Vec::new();
            for si in ctx.store.identities()? {
                if !all && si.provenance.gone_at.is_some() {
                    continue;
                }
                if kind.as_ref().is_some_and(|k| k != &si.identity.kind) {
                    continue;
                }
                if *unowned && si.attribution.owner.is_some() {
                    continue;
                }
                let mine: Vec<StoredCredential> = creds.remove(&si.identity.id).unwrap_or_default();
                items.push(castellan_report::inventory_item(
                    &si,
                    &mine,
                    &risks.risk(&si, &mine),
                ));
            }
            if g.json {
                output::print_json(&serde_json::Value::Array(items));
            } else if !g.quiet {
                let mut t = output::table(&[
                    "id",
                    "kind",
                    "status",
                    "risk",
                    "owner",
                    "service",
                    "supplier",
                    "credentials",
                    "last used",
                ]);
                for it in &items {
                    let text = |k: &str| it[k].as_str().unwrap_or("-").to_string();
                    t.add_row(vec![
                        text("id"),
                        text("kind"),
                        text("status"),
                        it["risk"]["score"].to_string(),
                        text("owner"),
                        text("service"),
                        text("supplier"),
                        it["credentials"].as_array().map_or(0, Vec::len).to_string(),
                        text("last_used_at"),
                    ]);
                }
                println!("{t}");
                println!("{} identities", items.len());
            }
            Ok(crate::exit::OK)
        }
        InventoryCmd::Show { id } => {
            let identity = match ctx.store.identity(id)? {
                Some(i) => Some(i),
                None => match ctx
                    .store
                    .credential(id)?
                    .and_then(|c| c.credential.identity_id)
                {
                    Some(owner) => ctx.store.identity(&owner)?,
                    None => None,
                },
            };
            let Some(si) = identity else {
                // A credential no identity holds (a CA certificate, a CI secret): show it alone.
                if let Some(sc) = ctx.store.credential(id)? {
                    let events = ctx.store.events_of(None, &[id.as_str()])?;
                    let mut item = serde_json::json!({
                        "id": sc.credential.id,
                        "identity": null,
                        "credential": castellan_report::credential_json(&sc),
                    });
                    item["events"] = serde_json::Value::Array(
                        events
                            .iter()
                            .map(|se| castellan_report::event_json(&se.event))
                            .collect(),
                    );
                    if g.json || !g.quiet {
                        output::print_json(&item);
                    }
                    return Ok(crate::exit::OK);
                }
                return Err(Failure {
                    code: crate::exit::INPUT,
                    error: anyhow::anyhow!(
                        "no identity or credential with id `{id}`; list them with `castellan inventory list`"
                    ),
                });
            };
            let creds = ctx.store.credentials_of(&si.identity.id)?;
            let risks = castellan_report::RiskContext::load(&mut ctx.store)?;
            let mut item = castellan_report::inventory_item(&si, &creds, &risks.risk(&si, &creds));
            let catalogue = castellan_policy::Catalogue::builtin()
                .map_err(|e| anyhow::anyhow!(e.to_string()))?;
            let findings: Vec<serde_json::Value> = ctx
                .store
                .findings()?
                .iter()
                .filter(|f| {
                    f.subject == si.identity.id
                        || f.subject.starts_with(&format!("{}/", si.identity.id))
                })
                .map(|f| castellan_report::finding_json(f, &catalogue))
                .collect();
            item["findings"] = serde_json::Value::Array(findings);
            // What it may do: its own grants and those of its groups.
            let mut holders = vec![si.identity.id.clone()];
            if let Some(groups) = si
                .identity
                .attributes
                .get("groups")
                .and_then(|g| g.as_array())
            {
                holders.extend(groups.iter().filter_map(|g| g.as_str().map(str::to_string)));
            }
            let refs: Vec<&str> = holders.iter().map(String::as_str).collect();
            let grants: Vec<serde_json::Value> = ctx
                .store
                .grants_of(&refs)?
                .iter()
                .map(|sg| castellan_report::grant_json(&sg.grant))
                .collect();
            item["grants"] = serde_json::Value::Array(grants);
            // Who may issue, rotate and revoke its credentials, as far as the sources prove it.
            item["lifecycle_authority"] = si
                .identity
                .attributes
                .get("lifecycle_authority")
                .cloned()
                .unwrap_or(serde_json::Value::Null);
            // What it did: lifecycle events of the identity and its credentials, newest last.
            let cred_ids: Vec<&str> = creds.iter().map(|c| c.credential.id.as_str()).collect();
            let events = ctx.store.events_of(Some(&si.identity.id), &cred_ids)?;
            let total = events.len();
            let events: Vec<serde_json::Value> = events
                .into_iter()
                .skip(total.saturating_sub(EVENTS_SHOWN))
                .map(|se| castellan_report::event_json(&se.event))
                .collect();
            item["events"] = serde_json::Value::Array(events);
            item["events_total"] = serde_json::json!(total);
            if g.json || !g.quiet {
                output::print_json(&item);
            }
            Ok(crate::exit::OK)
        }
    }
}
