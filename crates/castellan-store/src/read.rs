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
    /// Provenance.
    pub provenance: Provenance,
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
        into.sources.insert(0, o.source.clone());
    } else {
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
    let p = &mut into.provenance;
    let q = other.provenance;
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
    Ok(StoredCredential {
        credential,
        provenance: c.provenance()?,
    })
}

impl Store {
    /// All identities, ordered by id (gone ones included, with `gone_at`). An identity reported
    /// by several sources comes once, merged.
    pub fn identities(&mut self) -> Result<Vec<StoredIdentity>, StoreError> {
        let rows = self
            .conn
            .query(&format!("{IDENTITY_SELECT} ORDER BY id, source"), &[])?;
        merge_rows(rows)
    }

    /// One identity (merged over its sources).
    pub fn identity(&mut self, id: &str) -> Result<Option<StoredIdentity>, StoreError> {
        let rows = self.conn.query(
            &format!("{IDENTITY_SELECT} WHERE id = $1 ORDER BY source"),
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

    /// All credentials, ordered by id.
    pub fn credentials(&mut self) -> Result<Vec<StoredCredential>, StoreError> {
        let rows = self
            .conn
            .query(&format!("{CREDENTIAL_SELECT} ORDER BY id"), &[])?;
        rows.into_iter().map(credential_row).collect()
    }

    /// One credential.
    pub fn credential(&mut self, id: &str) -> Result<Option<StoredCredential>, StoreError> {
        let rows = self
            .conn
            .query(&format!("{CREDENTIAL_SELECT} WHERE id = $1"), &[id.into()])?;
        rows.into_iter().next().map(credential_row).transpose()
    }

    /// The credentials of one identity.
    pub fn credentials_of(
        &mut self,
        identity_id: &str,
    ) -> Result<Vec<StoredCredential>, StoreError> {
        let rows = self.conn.query(
            &format!("{CREDENTIAL_SELECT} WHERE identity_id = $1 ORDER BY id"),
            &[identity_id.into()],
        )?;
        rows.into_iter().map(credential_row).collect()
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
            credentials: one("SELECT COUNT(*) FROM credentials WHERE gone_at IS NULL")?,
            grants: one("SELECT COUNT(*) FROM grants WHERE gone_at IS NULL")?,
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
