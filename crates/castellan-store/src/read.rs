//! Read queries over the inventory graph.

use castellan_model::{
    Attribution, Credential, Effect, Finding, FindingStatus, Fingerprint, Grant, Identity,
    Privilege, Redacted, Severity, Status, parse_ts,
};
use jiff::Timestamp;
use serde::Serialize;

use crate::{Store, StoreError, Val};

/// Where and when a record was seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// When it was first imported.
    pub first_seen: String,
    /// When it was last reported by its source.
    pub last_seen: String,
    /// Import run that first reported it.
    pub first_run: i64,
    /// Import run that last reported it.
    pub last_run: i64,
    /// When its source stopped reporting it.
    pub gone_at: Option<String>,
}

/// An identity with its attribution and provenance.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredIdentity {
    /// The record.
    pub identity: Identity,
    /// Owner, custodian, service, supplier.
    pub attribution: Attribution,
    /// Provenance (merged over its sources: first seen by any, last seen by any, gone only when
    /// every source has stopped reporting it).
    pub provenance: Provenance,
    /// Every source that reports (or reported) it, present ones first.
    pub sources: Vec<String>,
}

/// A grant with provenance.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredGrant {
    /// The record.
    pub grant: Grant,
    /// Provenance.
    pub provenance: Provenance,
}

/// A credential with provenance.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredCredential {
    /// The record.
    pub credential: Credential,
    /// Provenance (merged over its sources, like [`StoredIdentity::provenance`]).
    pub provenance: Provenance,
    /// Every source that reports (or reported) it, present ones first.
    pub sources: Vec<String>,
    /// Every identity a present sighting ties it to (the same SSH key authorised for two
    /// accounts), the merged `identity_id` first.
    pub identities: Vec<String>,
    /// Each source's and scope's own view, when there are several (empty otherwise).
    pub sightings: Vec<Sighting>,
}

/// A lifecycle event reported by a source, with the import run that first brought it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    /// The event.
    pub event: castellan_model::Event,
    /// When Castellan first imported it.
    pub first_seen: String,
    /// The import run that first reported it.
    pub first_run: i64,
}

/// A governance record.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEntity {
    /// Id.
    pub id: String,
    /// Kind (`service`, `person`…).
    pub kind: String,
    /// Name.
    pub name: String,
    /// The record as JSON.
    pub data: serde_json::Value,
    /// Provenance.
    pub provenance: Provenance,
}

/// Record counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Identities present (not gone).
    pub identities: u64,
    /// Credentials present (not gone).
    pub credentials: u64,
    /// Grants present (not gone).
    pub grants: u64,
    /// Lifecycle events imported.
    pub events: u64,
    /// Ledger entries.
    pub ledger_entries: u64,
}

struct Cols(std::vec::IntoIter<Val>, &'static str);

impl Cols {
    fn text(&mut self) -> Result<String, StoreError> {
        self.0
            .next()
            .and_then(Val::into_text)
            .ok_or_else(|| StoreError::corrupt(self.1, "missing text column"))
    }
    fn opt(&mut self) -> Option<String> {
        self.0.next().and_then(Val::into_text)
    }
    fn int(&mut self) -> Result<i64, StoreError> {
        self.0
            .next()
            .and_then(|v| v.as_int())
            .ok_or_else(|| StoreError::corrupt(self.1, "missing integer column"))
    }
    fn opt_int(&mut self) -> Option<i64> {
        self.0.next().and_then(|v| v.as_int())
    }
    fn ts(&mut self) -> Result<Option<Timestamp>, StoreError> {
        match self.opt() {
            None => Ok(None),
            Some(s) => parse_ts(&s)
                .map(Some)
                .map_err(|e| StoreError::corrupt(self.1, e.to_string())),
        }
    }
    fn json<T: serde::de::DeserializeOwned>(&mut self) -> Result<T, StoreError> {
        let s = self.text()?;
        serde_json::from_str(&s).map_err(|e| StoreError::corrupt(self.1, e.to_string()))
    }
    fn provenance(&mut self) -> Result<Provenance, StoreError> {
        Ok(Provenance {
            first_seen: self.text()?,
            last_seen: self.text()?,
            first_run: self.int()?,
            last_run: self.int()?,
            gone_at: self.opt(),
        })
    }
}

const IDENTITY_SELECT: &str = "SELECT id, kind, source, scope, name, account, status, privilege, created_at, last_used_at, tags, attributes, first_seen, last_seen, first_run, last_run, gone_at, owner, custodian, service, supplier, attributed_via FROM identities";
const CREDENTIAL_SELECT: &str = "SELECT id, identity_id, kind, source, scope, name, status, created_at, last_rotated_at, last_used_at, ever_used, expires_at, fingerprint, preview, attributes, first_seen, last_seen, first_run, last_run, gone_at FROM credentials";

fn identity_row(row: Vec<Val>) -> Result<StoredIdentity, StoreError> {
    let mut c = Cols(row.into_iter(), "identity");
    let identity = Identity {
        id: c.text()?,
        kind: c.text()?,
        source: c.text()?,
        scope: c.text()?,
        name: c.text()?,
        account: c.opt(),
        status: Status::parse(&c.text()?),
        privilege: Privilege::parse(&c.text()?),
        created_at: c.ts()?,
        last_used_at: c.ts()?,
        tags: c.json()?,
        attributes: c.json()?,
    };
    let provenance = c.provenance()?;
    let attribution = Attribution {
        owner: c.opt(),
        custodian: c.opt(),
        service: c.opt(),
        supplier: c.opt(),
        via: c
            .opt()
            .and_then(|v| serde_json::from_str(&v).ok())
            .unwrap_or_default(),
    };
    let sources = vec![identity.source.clone()];
    Ok(StoredIdentity {
        identity,
        attribution,
        provenance,
        sources,
    })
}

fn status_rank(s: Status) -> u8 {
    match s {
        Status::Active => 4,
        Status::Inactive => 3,
        Status::Expired => 2,
        Status::Unknown => 1,
        Status::Gone => 0,
    }
}

/// Merges the row of another source into `into` (rows of one id, in source order). A present
/// row beats a gone one; each source adds what it knows: the strongest proven privilege, the
/// earliest creation, the latest use, the union of tags and attributes (first source wins a clash).
fn merge_identity(into: &mut StoredIdentity, other: StoredIdentity) {
    let into_present = into.provenance.gone_at.is_none();
    let other_present = other.provenance.gone_at.is_none();
    let o = other.identity;
    if other_present && !into_present {
        // The present source's view leads.
        into.identity.kind = o.kind.clone();
        into.identity.name = o.name.clone();
        into.identity.source = o.source.clone();
        into.identity.scope = o.scope.clone();
        into.sources.retain(|s| s != &o.source);
        into.sources.insert(0, o.source.clone());
    } else if !into.sources.contains(&o.source) {
        into.sources.push(o.source.clone());
    }
    let i = &mut into.identity;
    if i.account.is_none() {
        i.account = o.account;
    }
    if (other_present || !into_present) && status_rank(o.status) > status_rank(i.status) {
        i.status = o.status;
    }
    if (other_present && !into_present)
        || (other_present == into_present && o.privilege.rank() > i.privilege.rank())
    {
        i.privilege = o.privilege;
    }
    i.created_at = match (i.created_at, o.created_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    i.last_used_at = match (i.last_used_at, o.last_used_at) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    for (k, v) in o.tags {
        i.tags.entry(k).or_insert(v);
    }
    for (k, v) in o.attributes {
        i.attributes.entry(k).or_insert(v);
    }
    merge_provenance(&mut into.provenance, other.provenance);
    if into.attribution == Attribution::default() {
        into.attribution = other.attribution;
    }
}

/// Folds rows ordered by (id, source) into one identity per id.
fn merge_rows(rows: Vec<Vec<Val>>) -> Result<Vec<StoredIdentity>, StoreError> {
    let mut out: Vec<StoredIdentity> = Vec::with_capacity(rows.len());
    for row in rows {
        let si = identity_row(row)?;
        match out.last_mut() {
            Some(last) if last.identity.id == si.identity.id => merge_identity(last, si),
            _ => out.push(si),
        }
    }
    Ok(out)
}

const GRANT_SELECT: &str = "SELECT id, holder, source, scope, effect, privilege, actions, resources, via, attributes, first_seen, last_seen, first_run, last_run, gone_at FROM grants";

fn grant_row(row: Vec<Val>) -> Result<StoredGrant, StoreError> {
    let mut c = Cols(row.into_iter(), "grant");
    let grant = Grant {
        id: c.text()?,
        holder: c.text()?,
        source: c.text()?,
        scope: c.text()?,
        effect: Effect::parse(&c.text()?),
        privilege: Privilege::parse(&c.text()?),
        actions: c.json()?,
        resources: c.json()?,
        via: c.text()?,
        attributes: c.json()?,
    };
    Ok(StoredGrant {
        grant,
        provenance: c.provenance()?,
    })
}

fn credential_row(row: Vec<Val>) -> Result<StoredCredential, StoreError> {
    let mut c = Cols(row.into_iter(), "credential");
    let credential = Credential {
        id: c.text()?,
        identity_id: c.opt(),
        kind: c.text()?,
        source: c.text()?,
        scope: c.text()?,
        name: c.text()?,
        status: Status::parse(&c.text()?),
        created_at: c.ts()?,
        last_rotated_at: c.ts()?,
        last_used_at: c.ts()?,
        ever_used: c.opt_int().map(|v| v != 0),
        expires_at: c.ts()?,
        fingerprint: c.opt().map(Fingerprint::from_stored),
        preview: c
            .opt()
            .map(|p| serde_json::from_value::<Redacted>(serde_json::Value::String(p)))
            .transpose()
            .map_err(|e| StoreError::corrupt("credential preview", e.to_string()))?,
        attributes: c.json()?,
    };
    let sources = vec![credential.source.clone()];
    let identities = credential.identity_id.iter().cloned().collect();
    Ok(StoredCredential {
        credential,
        provenance: c.provenance()?,
        sources,
        identities,
        sightings: Vec::new(),
    })
}

fn merge_provenance(p: &mut Provenance, q: Provenance) {
    if q.first_seen < p.first_seen {
        p.first_seen = q.first_seen;
    }
    if q.last_seen > p.last_seen {
        p.last_seen = q.last_seen;
    }
    p.first_run = p.first_run.min(q.first_run);
    p.last_run = p.last_run.max(q.last_run);
    p.gone_at = match (p.gone_at.take(), q.gone_at) {
        (Some(a), Some(b)) => Some(a.max(b)),
        _ => None,
    };
}

/// One source's view of a credential in one scope (a file, an account), kept when a credential
/// has several so that what each says stays apart (a forced command in one `authorized_keys`
/// file, none in another).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sighting {
    /// The source.
    pub source: String,
    /// The scope (file, account, cluster…).
    pub scope: String,
    /// The identity this sighting ties the credential to.
    pub identity_id: Option<String>,
    /// The status this source reports.
    pub status: Status,
    /// When this source stopped reporting it.
    pub gone_at: Option<String>,
    /// What this source says about it.
    pub attributes: castellan_model::Attributes,
}

/// Attributes that one sighting alone establishes for the credential as a whole (another scope of
/// the same source not saying so does not undo them).
const STICKY: &[&str] = &[
    "exposed",
    "exposure",
    "compromised",
    "private_key_in_file",
    "private_key_encrypted",
    "weak_key",
    "weak_reasons",
];

fn sighting_of(sc: &StoredCredential) -> Sighting {
    Sighting {
        source: sc.credential.source.clone(),
        scope: sc.credential.scope.clone(),
        identity_id: sc.credential.identity_id.clone(),
        status: sc.credential.status,
        gone_at: sc.provenance.gone_at.clone(),
        attributes: sc.credential.attributes.clone(),
    }
}

/// Adds the principals of another sighting's `lifecycle_authority` (whoever may act on the
/// credential anywhere it is sighted may act on it).
fn union_authority(into: &mut castellan_model::Attributes, other: Option<&serde_json::Value>) {
    let Some(other) = other
        .and_then(|o| o.get("principals"))
        .and_then(|p| p.as_array())
    else {
        return;
    };
    let entry = into
        .entry("lifecycle_authority".to_string())
        .or_insert_with(|| serde_json::json!({ "principals": [] }));
    if !entry.is_object() {
        return;
    }
    if entry.get("principals").and_then(|p| p.as_array()).is_none() {
        entry["principals"] = serde_json::json!([]);
    }
    if let Some(list) = entry.get_mut("principals").and_then(|p| p.as_array_mut()) {
        for p in other {
            if !list.contains(p) {
                list.push(p.clone());
            }
        }
    }
}

/// Folds the sightings of one credential (present ones first, then those that know its state,
/// then source and scope order) into one credential: the first leads (kind, name, status,
/// attributes); the others add the earliest issue, the latest rotation and use, the earliest
/// expiry, a fingerprint, the attributes of other *sources* (another scope of the same source
/// is a separate sighting, listed in `sightings`, not mixed in), the principals of their
/// lifecycle authority, and the most restrictive status a present source reports.
fn fold_credential(mut group: Vec<StoredCredential>) -> Option<StoredCredential> {
    group.sort_by_key(|s| {
        (
            s.provenance.gone_at.is_some(),
            s.credential.status == Status::Unknown,
        )
    });
    let several = group.len() > 1;
    let mut it = group.into_iter();
    let mut base = it.next()?;
    if several {
        base.sightings = vec![sighting_of(&base)];
    }
    let base_present = base.provenance.gone_at.is_none();
    for o in it {
        let other_present = o.provenance.gone_at.is_none();
        base.sightings.push(sighting_of(&o));
        let new_source = !base.sources.contains(&o.credential.source);
        if new_source {
            base.sources.push(o.credential.source.clone());
        }
        if let Some(i) = &o.credential.identity_id
            && (other_present || !base_present)
            && !base.identities.contains(i)
        {
            base.identities.push(i.clone());
        }
        let c = &mut base.credential;
        let oc = o.credential;
        if other_present
            && base_present
            && oc.status != Status::Unknown
            && (c.status == Status::Unknown || status_rank(oc.status) < status_rank(c.status))
        {
            // The most restrictive present view wins: a key one source saw revoked is revoked.
            c.status = oc.status;
        }
        if c.identity_id.is_none() && (other_present || !base_present) {
            c.identity_id = oc.identity_id;
        }
        let min = |a: Option<Timestamp>, b: Option<Timestamp>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let max = |a: Option<Timestamp>, b: Option<Timestamp>| match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        c.created_at = min(c.created_at, oc.created_at);
        c.last_rotated_at = max(c.last_rotated_at, oc.last_rotated_at);
        c.last_used_at = max(c.last_used_at, oc.last_used_at);
        c.expires_at = min(c.expires_at, oc.expires_at);
        c.ever_used = match (c.ever_used, oc.ever_used) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (a, b) => a.or(b),
        };
        if c.last_used_at.is_some() {
            c.ever_used = Some(true);
        }
        if c.fingerprint.is_none() {
            c.fingerprint = oc.fingerprint;
        }
        if c.preview.is_none() {
            c.preview = oc.preview;
        }
        if other_present || !base_present {
            union_authority(&mut c.attributes, oc.attributes.get("lifecycle_authority"));
        }
        if new_source {
            for (k, v) in oc.attributes {
                c.attributes.entry(k).or_insert(v);
            }
        } else if other_present || !base_present {
            // Exposure found in any file is exposure of the credential.
            for k in STICKY {
                if let Some(v) = oc.attributes.get(*k)
                    && !c.attributes.contains_key(*k)
                    && v != &serde_json::Value::Bool(false)
                {
                    c.attributes.insert((*k).to_string(), v.clone());
                }
            }
        }
        merge_provenance(&mut base.provenance, o.provenance);
    }
    Some(base)
}

/// Folds credential rows ordered by id into one credential per id.
fn merge_credential_rows(rows: Vec<Vec<Val>>) -> Result<Vec<StoredCredential>, StoreError> {
    let mut out: Vec<StoredCredential> = Vec::with_capacity(rows.len());
    let mut group: Vec<StoredCredential> = Vec::new();
    for row in rows {
        let sc = credential_row(row)?;
        if group
            .last()
            .is_some_and(|g| g.credential.id != sc.credential.id)
        {
            out.extend(fold_credential(std::mem::take(&mut group)));
        }
        group.push(sc);
    }
    out.extend(fold_credential(group));
    Ok(out)
}

const EVENT_SELECT: &str = "SELECT id, source, at, action, identity_id, credential_id, actor, attributes, first_seen, first_run FROM events";

fn event_row(row: Vec<Val>) -> Result<StoredEvent, StoreError> {
    let mut c = Cols(row.into_iter(), "event");
    let id = c.text()?;
    let source = c.text()?;
    let at = c
        .ts()?
        .ok_or_else(|| StoreError::corrupt("event", "missing time"))?;
    Ok(StoredEvent {
        event: castellan_model::Event {
            id,
            source,
            at,
            action: c.text()?,
            identity_id: c.opt(),
            credential_id: c.opt(),
            actor: c.opt(),
            attributes: c.json()?,
        },
        first_seen: c.text()?,
        first_run: c.int()?,
    })
}

impl Store {
    /// All identities, ordered by id (gone ones included, with `gone_at`). An identity reported
    /// by several sources comes once, merged.
    pub fn identities(&mut self) -> Result<Vec<StoredIdentity>, StoreError> {
        let rows = self.conn.query(
            &format!("{IDENTITY_SELECT} ORDER BY id, source, scope"),
            &[],
        )?;
        merge_rows(rows)
    }

    /// One identity (merged over its sources).
    pub fn identity(&mut self, id: &str) -> Result<Option<StoredIdentity>, StoreError> {
        let rows = self.conn.query(
            &format!("{IDENTITY_SELECT} WHERE id = $1 ORDER BY source, scope"),
            &[id.into()],
        )?;
        Ok(merge_rows(rows)?.into_iter().next())
    }

    /// Present grants, ordered by holder then id.
    pub fn grants(&mut self) -> Result<Vec<StoredGrant>, StoreError> {
        let rows = self.conn.query(
            &format!("{GRANT_SELECT} WHERE gone_at IS NULL ORDER BY holder, id"),
            &[],
        )?;
        rows.into_iter().map(grant_row).collect()
    }

    /// Present grants held by any of `holders` (an identity and the groups it belongs to).
    pub fn grants_of(&mut self, holders: &[&str]) -> Result<Vec<StoredGrant>, StoreError> {
        let mut out = Vec::new();
        for h in holders {
            let rows = self.conn.query(
                &format!("{GRANT_SELECT} WHERE holder = $1 AND gone_at IS NULL ORDER BY id"),
                &[(*h).into()],
            )?;
            for row in rows {
                out.push(grant_row(row)?);
            }
        }
        Ok(out)
    }

    /// All credentials, ordered by id. A credential reported by several sources comes once,
    /// merged.
    pub fn credentials(&mut self) -> Result<Vec<StoredCredential>, StoreError> {
        let rows = self.conn.query(
            &format!("{CREDENTIAL_SELECT} ORDER BY id, source, scope"),
            &[],
        )?;
        merge_credential_rows(rows)
    }

    /// One credential (merged over its sources).
    pub fn credential(&mut self, id: &str) -> Result<Option<StoredCredential>, StoreError> {
        let rows = self.conn.query(
            &format!("{CREDENTIAL_SELECT} WHERE id = $1 ORDER BY source, scope"),
            &[id.into()],
        )?;
        Ok(merge_credential_rows(rows)?.into_iter().next())
    }

    /// The credentials of one identity (each merged over its sources, including the rows of
    /// sources that do not know the identity).
    pub fn credentials_of(
        &mut self,
        identity_id: &str,
    ) -> Result<Vec<StoredCredential>, StoreError> {
        let rows = self.conn.query(
            &format!(
                "{CREDENTIAL_SELECT} WHERE id IN (SELECT id FROM credentials WHERE identity_id = $1) ORDER BY id, source, scope"
            ),
            &[identity_id.into()],
        )?;
        let mut creds = merge_credential_rows(rows)?;
        // Not those whose only tie to this identity is a sighting that is gone.
        creds.retain(|c| c.identities.iter().any(|i| i == identity_id));
        Ok(creds)
    }

    /// The last use one sighting (id, source, scope) of a credential records, if stored.
    pub fn sighting_last_used(
        &mut self,
        id: &str,
        source: &str,
        scope: &str,
    ) -> Result<Option<Timestamp>, StoreError> {
        let rows = self.conn.query(
            "SELECT last_used_at FROM credentials WHERE id = $1 AND source = $2 AND scope = $3",
            &[id.into(), source.into(), scope.into()],
        )?;
        match rows.into_iter().next().and_then(|r| r.into_iter().next()) {
            Some(Val::Text(t)) => parse_ts(&t)
                .map(Some)
                .map_err(|e| StoreError::corrupt("credential", e.to_string())),
            _ => Ok(None),
        }
    }

    /// Present credentials that carry a provider key id (`access_key_id`), by key id.
    pub fn access_key_ids(
        &mut self,
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let rows = self.conn.query(
            "SELECT id, attributes FROM credentials WHERE kind = 'access-key' AND gone_at IS NULL AND source <> 'aws-cloudtrail' AND attributes LIKE '%\"access_key_id\"%' ORDER BY id, source, scope",
            &[],
        )?;
        let mut out: std::collections::HashMap<String, String> = std::collections::HashMap::new();
        for row in rows {
            let mut c = Cols(row.into_iter(), "credential");
            let id = c.text()?;
            let attributes: serde_json::Value = c.json()?;
            if let Some(k) = attributes.get("access_key_id").and_then(|v| v.as_str()) {
                // A slot-named credential (credential report) wins over a key-named one.
                let slot = !id.contains("/access-key/");
                match out.get(k) {
                    Some(existing) if !slot || !existing.contains("/access-key/") => {}
                    _ => {
                        out.insert(k.to_string(), id);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Events about an identity or any of the given credentials, oldest first.
    pub fn events_of(
        &mut self,
        identity_id: Option<&str>,
        credential_ids: &[&str],
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        let mut take =
            |rows: Vec<Vec<Val>>, out: &mut Vec<StoredEvent>| -> Result<(), StoreError> {
                for row in rows {
                    let e = event_row(row)?;
                    if seen.insert(e.event.id.clone()) {
                        out.push(e);
                    }
                }
                Ok(())
            };
        if let Some(id) = identity_id {
            let rows = self.conn.query(
                &format!("{EVENT_SELECT} WHERE identity_id = $1 ORDER BY at, id"),
                &[id.into()],
            )?;
            take(rows, &mut out)?;
        }
        for c in credential_ids {
            let rows = self.conn.query(
                &format!("{EVENT_SELECT} WHERE credential_id = $1 ORDER BY at, id"),
                &[(*c).into()],
            )?;
            take(rows, &mut out)?;
        }
        out.sort_by(|a, b| (a.event.at, &a.event.id).cmp(&(b.event.at, &b.event.id)));
        Ok(out)
    }

    /// Events with one of `actions` between `from` and `to` (inclusive), oldest first.
    pub fn events_between(
        &mut self,
        from: Timestamp,
        to: Timestamp,
        actions: &[&str],
    ) -> Result<Vec<castellan_model::Event>, StoreError> {
        let mut out = Vec::new();
        for a in actions {
            let rows = self.conn.query(
                &format!("{EVENT_SELECT} WHERE at >= $1 AND at <= $2 AND action = $3"),
                &[
                    castellan_model::format_ts(from).into(),
                    castellan_model::format_ts(to).into(),
                    (*a).into(),
                ],
            )?;
            for row in rows {
                out.push(event_row(row)?.event);
            }
        }
        out.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        Ok(out)
    }

    /// Every event, oldest first, passed to `f` one at a time (streamed: the event table can be
    /// large).
    pub fn for_each_event(
        &mut self,
        mut f: impl FnMut(StoredEvent) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut after: Option<(String, String)> = None;
        loop {
            let rows = match &after {
                None => self.conn.query(
                    &format!("{EVENT_SELECT} ORDER BY at, id LIMIT 10000"),
                    &[],
                )?,
                Some((at, id)) => self.conn.query(
                    &format!(
                        "{EVENT_SELECT} WHERE at > $1 OR (at = $1 AND id > $2) ORDER BY at, id LIMIT 10000"
                    ),
                    &[at.clone().into(), id.clone().into()],
                )?,
            };
            if rows.is_empty() {
                return Ok(());
            }
            for row in rows {
                let e = event_row(row)?;
                after = Some((castellan_model::format_ts(e.event.at), e.event.id.clone()));
                f(e)?;
            }
        }
    }

    /// Governance records of one kind (`service`, `person`, `supplier`, `contract`, `exception`,
    /// `governance`), present ones only, ordered by id.
    pub fn entities(&mut self, kind: &str) -> Result<Vec<StoredEntity>, StoreError> {
        let rows = self.conn.query(
            "SELECT id, kind, name, data, first_seen, last_seen, first_run, last_run, gone_at FROM entities WHERE kind = $1 AND gone_at IS NULL ORDER BY id",
            &[kind.into()],
        )?;
        rows.into_iter()
            .map(|row| {
                let mut c = Cols(row.into_iter(), "entity");
                Ok(StoredEntity {
                    id: c.text()?,
                    kind: c.text()?,
                    name: c.text()?,
                    data: c.json()?,
                    provenance: c.provenance()?,
                })
            })
            .collect()
    }

    /// All findings (closed ones included), ordered by id.
    pub fn findings(&mut self) -> Result<Vec<Finding>, StoreError> {
        let rows = self.conn.query(
            "SELECT id, control, subject, severity, status, title, evidence, exception, first_seen, last_seen FROM findings ORDER BY id",
            &[],
        )?;
        rows.into_iter()
            .map(|row| {
                let mut c = Cols(row.into_iter(), "finding");
                let id = c.text()?;
                let control = c.text()?;
                let subject = c.text()?;
                let severity = Severity::parse(&c.text()?).unwrap_or(Severity::Medium);
                let status = FindingStatus::parse(&c.text()?);
                Ok(Finding {
                    id,
                    control,
                    subject,
                    severity,
                    status,
                    title: c.text()?,
                    evidence: c.json()?,
                    exception: c.opt(),
                    first_seen: c.ts()?,
                    last_seen: c.ts()?,
                })
            })
            .collect()
    }

    /// Counts of present records and ledger entries.
    pub fn counts(&mut self) -> Result<Counts, StoreError> {
        let mut one = |sql: &str| -> Result<u64, StoreError> {
            let rows = self.conn.query(sql, &[])?;
            Ok(rows
                .first()
                .and_then(|r| r.first())
                .and_then(Val::as_int)
                .unwrap_or(0) as u64)
        };
        Ok(Counts {
            identities: one("SELECT COUNT(DISTINCT id) FROM identities WHERE gone_at IS NULL")?,
            credentials: one("SELECT COUNT(DISTINCT id) FROM credentials WHERE gone_at IS NULL")?,
            grants: one("SELECT COUNT(*) FROM grants WHERE gone_at IS NULL")?,
            events: one("SELECT COUNT(*) FROM events")?,
            ledger_entries: one("SELECT COUNT(*) FROM ledger")?,
        })
    }

    /// All import runs, oldest first: (id, source, path, started_at, summary).
    pub fn import_runs(&mut self) -> Result<Vec<ImportRun>, StoreError> {
        let rows = self.conn.query(
            "SELECT id, source, path, started_at, summary FROM import_runs ORDER BY id",
            &[],
        )?;
        rows.into_iter()
            .map(|row| {
                let mut c = Cols(row.into_iter(), "import run");
                Ok(ImportRun {
                    id: c.int()?,
                    source: c.text()?,
                    path: c.text()?,
                    started_at: c.text()?,
                    summary: c.json()?,
                })
            })
            .collect()
    }
}

/// One recorded import.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImportRun {
    /// Run id.
    pub id: i64,
    /// Source format.
    pub source: String,
    /// File.
    pub path: String,
    /// When it ran (RFC 3339).
    pub started_at: String,
    /// What it did (records, scopes, data_as_of…).
    pub summary: serde_json::Value,
}
