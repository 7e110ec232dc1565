//! Write transactions: idempotent upserts with provenance, gone-sweeps, findings, and the ledger
//! appends that go with them.

use std::collections::BTreeMap;

use castellan_ledger::Head;
use castellan_model::{Attribution, Credential, Finding, FindingStatus, Identity, format_ts};
use jiff::Timestamp;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::backend::{Dual, Engine};
use crate::{Store, StoreError, Val};

/// What an upsert did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// New record.
    Added,
    /// Content changed (or it came back after being gone).
    Changed,
    /// Same content; only `last_seen` moved.
    Unchanged,
}

impl Outcome {
    fn event(self) -> &'static str {
        match self {
            Outcome::Added => "inventory.added",
            Outcome::Changed => "inventory.changed",
            Outcome::Unchanged => "inventory.unchanged",
        }
    }
}

/// What happened to a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindingChange {
    /// First seen, or seen again after being closed.
    Opened,
    /// Its status changed (open ↔ excepted).
    StatusChanged,
    /// Still there with the same status.
    Unchanged,
}

/// Counts of a transaction's inventory changes.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct TxSummary {
    /// Records added.
    pub added: u64,
    /// Records changed.
    pub changed: u64,
    /// Records unchanged.
    pub unchanged: u64,
    /// Records gone.
    pub gone: u64,
    /// Lifecycle events added (events already stored are not counted).
    pub events_added: u64,
    /// Ledger entries appended.
    pub ledger_appended: u64,
    /// Ledger size after commit.
    pub ledger_size: u64,
}

struct Table {
    name: &'static str,
    /// Columns written from the record (the first is `id`), excluding provenance.
    cols: &'static [&'static str],
    /// Indexes into `cols` of the primary key (`id`, and `source` where several sources may
    /// report the same record).
    keys: &'static [usize],
    /// Multi-row insert of [`BATCH`] rows, returning the ids actually inserted.
    insert_batch: Dual,
    /// The same for one row (the remainder of a flush).
    insert_one: Dual,
    update: Dual,
    touch_same: Dual,
}

/// Rows per multi-row insert (well under both engines' parameter limits).
const BATCH: usize = 64;

impl Table {
    fn new(name: &'static str, cols: &'static [&'static str], keys: &'static [usize]) -> Table {
        let n = cols.len();
        let key_match = |first: usize| -> String {
            keys.iter()
                .enumerate()
                .map(|(k, &i)| format!("{} = ${}", cols[i], first + k))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        let update_where: String = keys
            .iter()
            .map(|&i| format!("{} = ${}", cols[i], i + 1))
            .collect::<Vec<_>>()
            .join(" AND ");
        // update parameters: $1..$n the columns, then hash, last_seen, last_run
        let sets: Vec<String> = cols
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, c)| format!("{c} = ${}", i + 1))
            .collect();
        let update = format!(
            "UPDATE {name} SET {}, content_hash = ${h}, last_seen = ${ls}, last_run = ${lr}, gone_at = NULL WHERE {update_where} AND (content_hash <> ${h} OR gone_at IS NOT NULL)",
            sets.join(", "),
            h = n + 1,
            ls = n + 2,
            lr = n + 3,
        );
        // touch parameters: the key values, then last_seen, last_run, hash
        let k = keys.len();
        let touch_same = format!(
            "UPDATE {name} SET last_seen = ${}, last_run = ${} WHERE {} AND content_hash = ${} AND gone_at IS NULL",
            k + 1,
            k + 2,
            key_match(1),
            k + 3
        );
        let conflict: Vec<&str> = keys.iter().map(|&i| cols[i]).collect();
        Table {
            name,
            cols,
            keys,
            insert_batch: Dual::new(insert_sql(name, cols, &conflict, BATCH)),
            insert_one: Dual::new(insert_sql(name, cols, &conflict, 1)),
            update: Dual::new(update),
            touch_same: Dual::new(touch_same),
        }
    }
}

/// `INSERT INTO t (cols…, provenance…) VALUES (…), (…) ON CONFLICT (keys) DO NOTHING RETURNING id`.
/// All rows of one statement come from one import run, hence one source, so the returned ids
/// identify the inserted rows.
fn insert_sql(name: &str, cols: &[&str], conflict: &[&str], rows: usize) -> String {
    // Each tuple binds its columns and content hash; the provenance (now, run) is shared by all
    // tuples of the statement and bound once, after them.
    let per_row = cols.len() + 1;
    let now = rows * per_row + 1;
    let run = now + 1;
    let tuples: Vec<String> = (0..rows)
        .map(|r| {
            let ph: Vec<String> = (1..=per_row)
                .map(|i| format!("${}", r * per_row + i))
                .collect();
            format!("({}, ${now}, ${now}, ${run}, ${run})", ph.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO {name} ({}, content_hash, first_seen, last_seen, first_run, last_run) VALUES {} ON CONFLICT ({}) DO NOTHING RETURNING id",
        cols.join(", "),
        tuples.join(", "),
        conflict.join(", ")
    )
}

const IDENTITY_COLS: &[&str] = &[
    "id",
    "kind",
    "source",
    "scope",
    "name",
    "account",
    "status",
    "privilege",
    "created_at",
    "last_used_at",
    "tags",
    "attributes",
];
const CREDENTIAL_COLS: &[&str] = &[
    "id",
    "identity_id",
    "kind",
    "source",
    "scope",
    "name",
    "status",
    "created_at",
    "last_rotated_at",
    "last_used_at",
    "ever_used",
    "expires_at",
    "fingerprint",
    "preview",
    "attributes",
];
const GRANT_COLS: &[&str] = &[
    "id",
    "holder",
    "source",
    "scope",
    "effect",
    "privilege",
    "actions",
    "resources",
    "via",
    "attributes",
];
const ENTITY_COLS: &[&str] = &["id", "kind", "source", "scope", "name", "data"];

/// Tables with staged (batched) writes come first, in the order of [`Tx::staged`].
const STAGED: usize = 3;
const ENTITIES: usize = 3;

fn tables() -> &'static [Table; 4] {
    static TABLES: std::sync::OnceLock<[Table; 4]> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        [
            Table::new("identities", IDENTITY_COLS, &[0, 2, 3]),
            Table::new("credentials", CREDENTIAL_COLS, &[0, 3, 4]),
            Table::new("grants", GRANT_COLS, &[0]),
            Table::new("entities", ENTITY_COLS, &[0]),
        ]
    })
}

fn ts(t: Option<Timestamp>) -> Val {
    t.map_or(Val::Null, |t| Val::Text(format_ts(t)))
}

fn json_text(v: &impl serde::Serialize) -> String {
    // Maps are BTreeMaps and structs serialise in declaration order, so this is stable.
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn content_hash(vals: &[Val]) -> String {
    let mut h = Sha256::new();
    for v in vals {
        match v {
            Val::Null => h.update([0u8]),
            Val::Int(i) => {
                h.update([1u8]);
                h.update(i.to_le_bytes());
            }
            Val::Text(s) => {
                h.update([2u8]);
                h.update((s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
        }
    }
    hex::encode(&h.finalize()[..16])
}

const EVENT_CHUNK: usize = 1000;

/// Event rows per multi-row insert (10 parameters each).
const EVENT_BATCH: usize = 64;

fn event_sql(rows: usize) -> String {
    let tuples: Vec<String> = (0..rows)
        .map(|r| {
            let ph: Vec<String> = (1..=10).map(|i| format!("${}", r * 10 + i)).collect();
            format!("({})", ph.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO events (id, source, at, action, identity_id, credential_id, actor, attributes, first_seen, first_run) VALUES {} ON CONFLICT (id) DO NOTHING RETURNING id",
        tuples.join(", ")
    )
}

/// A write transaction. Dropping it without [`Tx::commit`] rolls everything back, ledger included.
pub struct Tx<'s> {
    store: &'s mut Store,
    head: Head,
    now: String,
    pending: BTreeMap<(&'static str, &'static str), Vec<String>>,
    /// Finding status changes waiting to be written to the ledger, per event kind.
    pending_findings: BTreeMap<&'static str, Vec<Value>>,
    /// Rows waiting for a multi-row write, per table (identities, credentials, grants).
    staged: [Vec<Vec<Val>>; STAGED],
    staged_run: i64,
    /// Event rows waiting for a multi-row insert, with the run that reported them.
    staged_events: Vec<(i64, Vec<Val>)>,
    summary: TxSummary,
    done: bool,
}

impl std::fmt::Debug for Tx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx")
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.store.conn.batch("ROLLBACK");
        }
    }
}

impl Store {
    /// Starts a write transaction at time `now` (the timestamp recorded in provenance and ledger).
    pub fn begin(&mut self, now: Timestamp) -> Result<Tx<'_>, StoreError> {
        match self.conn.engine() {
            Engine::Sqlite => self.conn.batch("BEGIN IMMEDIATE")?,
            Engine::Postgres => self
                .conn
                .batch("BEGIN; LOCK TABLE ledger_head IN EXCLUSIVE MODE")?,
        }
        let head = match self.read_head() {
            Ok(h) => h,
            Err(e) => {
                let _ = self.conn.batch("ROLLBACK");
                return Err(e);
            }
        };
        Ok(Tx {
            store: self,
            head,
            now: format_ts(now),
            pending: BTreeMap::new(),
            pending_findings: BTreeMap::new(),
            staged: Default::default(),
            staged_run: 0,
            staged_events: Vec::new(),
            summary: TxSummary::default(),
            done: false,
        })
    }
}

impl Tx<'_> {
    /// The store, for reads inside the transaction.
    pub fn store(&mut self) -> Result<&mut Store, StoreError> {
        self.flush()?;
        Ok(self.store)
    }

    /// Counts so far.
    pub fn summary(&mut self) -> Result<TxSummary, StoreError> {
        self.flush()?;
        Ok(self.summary.clone())
    }

    /// Records the content hash of a run's input once it is known (streamed inputs).
    pub fn set_run_hash(&mut self, run: i64, sha256: &str) -> Result<(), StoreError> {
        self.store.conn.exec(
            "UPDATE import_runs SET content_sha256 = $2 WHERE id = $1",
            &[Val::Int(run), sha256.into()],
        )?;
        Ok(())
    }

    /// The transaction's timestamp (RFC 3339).
    pub fn now(&self) -> &str {
        &self.now
    }

    /// Records the start of an import run and returns its id.
    pub fn start_run(&mut self, source: &str, path: &str, sha256: &str) -> Result<i64, StoreError> {
        self.flush()?;
        let rows = self
            .store
            .conn
            .query("SELECT COALESCE(MAX(id), 0) + 1 FROM import_runs", &[])?;
        let id = rows
            .first()
            .and_then(|r| r.first())
            .and_then(Val::as_int)
            .unwrap_or(1);
        self.store.conn.exec(
            "INSERT INTO import_runs (id, source, path, content_sha256, started_at) VALUES ($1, $2, $3, $4, $5)",
            &[Val::Int(id), source.into(), path.into(), sha256.into(), self.now.clone().into()],
        )?;
        Ok(id)
    }

    /// Stores the summary of an import run and appends its `import.run` ledger event.
    pub fn finish_run(
        &mut self,
        run: i64,
        source: &str,
        path: &str,
        summary: Value,
    ) -> Result<(), StoreError> {
        self.flush()?;
        self.store.conn.exec(
            "UPDATE import_runs SET summary = $2 WHERE id = $1",
            &[Val::Int(run), json_text(&summary).into()],
        )?;
        let mut data = json!({ "run": run, "source": source });
        if let (Value::Object(d), Value::Object(s)) = (&mut data, summary) {
            d.extend(s);
        }
        self.append("import.run", path, data)
    }

    /// Appends the content hash to a row's column values.
    fn hashed(mut vals: Vec<Val>) -> Vec<Val> {
        let hash = content_hash(&vals);
        vals.push(Val::Text(hash));
        vals
    }

    /// Writes rows (each: the table's columns, then the content hash) for import run `run`:
    /// full chunks with one multi-row insert, the remainder row by row; then the rows that
    /// already existed are touched (unchanged) or updated (changed). Returns one outcome per row.
    fn write_rows(
        &mut self,
        table: &Table,
        rows: Vec<Vec<Val>>,
        run: i64,
    ) -> Result<Vec<Outcome>, StoreError> {
        let n = table.cols.len();
        let now = Val::Text(self.now.clone());
        let mut outcomes = Vec::with_capacity(rows.len());
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<Vec<Val>> = rows.by_ref().take(BATCH).collect();
            let full = chunk.len() == BATCH;
            let ids: Vec<String> = chunk
                .iter()
                .map(|r| r[0].as_text().unwrap_or_default().to_string())
                .collect();
            let mut inserted = std::collections::HashSet::new();
            // The rows move into the parameter list; only the ids are copied.
            let mut params: Vec<Val> = Vec::with_capacity(chunk.len() * (n + 1) + 2);
            params.extend(chunk.into_iter().flatten());
            if full {
                params.extend([now.clone(), Val::Int(run)]);
                inserted.extend(
                    self.store
                        .conn
                        .query_texts_dual(&table.insert_batch, &params)?,
                );
                params.truncate(BATCH * (n + 1));
            } else {
                let mut one: Vec<Val> = Vec::with_capacity(n + 3);
                for row in params.chunks(n + 1) {
                    one.clear();
                    one.extend(row.iter().cloned());
                    one.extend([now.clone(), Val::Int(run)]);
                    inserted.extend(self.store.conn.query_texts_dual(&table.insert_one, &one)?);
                }
            }
            for (row, id) in params.chunks(n + 1).zip(ids) {
                let outcome = if inserted.contains(&id) {
                    Outcome::Added
                } else {
                    // Most re-imported rows are unchanged: try the cheap touch first.
                    let hash = row[n].clone();
                    let mut touch: Vec<Val> = table.keys.iter().map(|&k| row[k].clone()).collect();
                    touch.extend([now.clone(), Val::Int(run), hash.clone()]);
                    if self.store.conn.exec_dual(&table.touch_same, &touch)? == 1 {
                        Outcome::Unchanged
                    } else {
                        let mut update: Vec<Val> = row[..n].to_vec();
                        update.extend([hash, now.clone(), Val::Int(run)]);
                        if self.store.conn.exec_dual(&table.update, &update)? == 1 {
                            Outcome::Changed
                        } else {
                            Outcome::Unchanged
                        }
                    }
                };
                match outcome {
                    Outcome::Added => self.summary.added += 1,
                    Outcome::Changed => self.summary.changed += 1,
                    Outcome::Unchanged => self.summary.unchanged += 1,
                }
                if outcome != Outcome::Unchanged {
                    self.note(table.name, outcome.event(), id)?;
                }
                outcomes.push(outcome);
            }
        }
        Ok(outcomes)
    }

    fn stage(&mut self, which: usize, run: i64, vals: Vec<Val>) -> Result<(), StoreError> {
        if self.staged_run != run {
            self.flush()?;
        }
        self.staged_run = run;
        self.staged[which].push(Self::hashed(vals));
        if self.staged[which].len() >= BATCH * 8 {
            // Only this table, and only whole chunks: the remainder waits for the next batch.
            let rows = std::mem::take(&mut self.staged[which]);
            self.write_rows(&tables()[which], rows, run)?;
        }
        Ok(())
    }

    /// Records a lifecycle event reported by import run `run`. Events are facts: an event
    /// already stored (same id) is left as it is, so re-importing a log adds nothing.
    pub fn insert_event(&mut self, run: i64, e: &castellan_model::Event) -> Result<(), StoreError> {
        let vals = vec![
            e.id.clone().into(),
            e.source.clone().into(),
            Val::Text(format_ts(e.at)),
            e.action.clone().into(),
            Val::opt(e.identity_id.clone()),
            Val::opt(e.credential_id.clone()),
            Val::opt(e.actor.clone()),
            json_text(&e.attributes).into(),
        ];
        self.staged_events.push((run, vals));
        if self.staged_events.len() >= EVENT_BATCH * 8 {
            self.flush_events()?;
        }
        Ok(())
    }

    fn flush_events(&mut self) -> Result<(), StoreError> {
        static SQL: std::sync::OnceLock<(Dual, Dual)> = std::sync::OnceLock::new();
        let (many, one) =
            SQL.get_or_init(|| (Dual::new(event_sql(EVENT_BATCH)), Dual::new(event_sql(1))));
        let rows = std::mem::take(&mut self.staged_events);
        let now = Val::Text(self.now.clone());
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<(i64, Vec<Val>)> = rows.by_ref().take(EVENT_BATCH).collect();
            let full = chunk.len() == EVENT_BATCH;
            let mut inserted = Vec::new();
            if full {
                let mut params = Vec::with_capacity(EVENT_BATCH * 10);
                for (run, vals) in chunk {
                    params.extend(vals);
                    params.extend([now.clone(), Val::Int(run)]);
                }
                inserted.extend(self.store.conn.query_texts_dual(many, &params)?);
            } else {
                for (run, mut vals) in chunk {
                    vals.extend([now.clone(), Val::Int(run)]);
                    inserted.extend(self.store.conn.query_texts_dual(one, &vals)?);
                }
            }
            for id in inserted {
                self.summary.events_added += 1;
                self.note("events", "events.added", id)?;
            }
        }
        Ok(())
    }

    /// Writes the staged identity, credential and grant rows. Every other operation of the
    /// transaction flushes first, so nothing ever reads around an unwritten row.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        if !self.staged_events.is_empty() {
            self.flush_events()?;
        }
        for which in 0..STAGED {
            let rows = std::mem::take(&mut self.staged[which]);
            if !rows.is_empty() {
                self.write_rows(&tables()[which], rows, self.staged_run)?;
            }
        }
        Ok(())
    }

    fn note(
        &mut self,
        table: &'static str,
        event: &'static str,
        id: String,
    ) -> Result<(), StoreError> {
        let list = self.pending.entry((table, event)).or_default();
        list.push(id);
        if list.len() >= EVENT_CHUNK {
            let ids = std::mem::take(list);
            self.append(event, table, json!({ "ids": ids }))?;
        }
        Ok(())
    }

    /// Inserts or updates an identity from a source.
    pub fn upsert_identity(&mut self, run: i64, i: &Identity) -> Result<(), StoreError> {
        let vals = vec![
            i.id.clone().into(),
            i.kind.clone().into(),
            i.source.clone().into(),
            i.scope.clone().into(),
            i.name.clone().into(),
            Val::opt(i.account.clone()),
            i.status.as_str().into(),
            i.privilege.as_str().into(),
            ts(i.created_at),
            ts(i.last_used_at),
            json_text(&i.tags).into(),
            json_text(&i.attributes).into(),
        ];
        self.stage(0, run, vals)
    }

    /// Inserts or updates a credential from a source.
    pub fn upsert_credential(&mut self, run: i64, c: &Credential) -> Result<(), StoreError> {
        let vals = vec![
            c.id.clone().into(),
            Val::opt(c.identity_id.clone()),
            c.kind.clone().into(),
            c.source.clone().into(),
            c.scope.clone().into(),
            c.name.clone().into(),
            c.status.as_str().into(),
            ts(c.created_at),
            ts(c.last_rotated_at),
            ts(c.last_used_at),
            c.ever_used.map_or(Val::Null, |b| Val::Int(i64::from(b))),
            ts(c.expires_at),
            Val::opt(c.fingerprint.as_ref().map(|f| f.as_str().to_string())),
            Val::opt(c.preview.as_ref().map(|p| p.as_str().to_string())),
            json_text(&c.attributes).into(),
        ];
        self.stage(1, run, vals)
    }

    /// Inserts or updates a grant from a source.
    pub fn upsert_grant(&mut self, run: i64, g: &castellan_model::Grant) -> Result<(), StoreError> {
        let vals = vec![
            g.id.clone().into(),
            g.holder.clone().into(),
            g.source.clone().into(),
            g.scope.clone().into(),
            g.effect.as_str().into(),
            g.privilege.as_str().into(),
            json_text(&g.actions).into(),
            json_text(&g.resources).into(),
            g.via.clone().into(),
            json_text(&g.attributes).into(),
        ];
        self.stage(2, run, vals)
    }

    /// Inserts or updates a governance record (service, person, supplier, contract, exception…).
    #[allow(clippy::too_many_arguments)]
    pub fn upsert_entity(
        &mut self,
        run: i64,
        kind: &str,
        id: &str,
        name: &str,
        source: &str,
        scope: &str,
        data: &impl serde::Serialize,
    ) -> Result<Outcome, StoreError> {
        let vals = vec![
            id.into(),
            kind.into(),
            source.into(),
            scope.into(),
            name.into(),
            json_text(data).into(),
        ];
        self.flush()?;
        let outcomes = self.write_rows(&tables()[ENTITIES], vec![Self::hashed(vals)], run)?;
        Ok(outcomes.first().copied().unwrap_or(Outcome::Unchanged))
    }

    /// Marks every record of `source` in `scope` that no run since `since_run` reported as gone
    /// (kept, with `gone_at`, so history survives); the runs of one transaction are numbered
    /// upwards, so pass the first run of the source in this transaction. Other sources' rows of the same scope are left alone:
    /// an identity is gone only when every source that reported it has stopped. Returns how many.
    pub fn sweep_gone(
        &mut self,
        since_run: i64,
        source: &str,
        scope: &str,
    ) -> Result<u64, StoreError> {
        let run = since_run;
        self.flush()?;
        let mut total = 0;
        for table in tables() {
            let rows = self.store.conn.query(
                &format!(
                    "SELECT id FROM {} WHERE scope = $1 AND source = $3 AND last_run < $2 AND gone_at IS NULL",
                    table.name
                ),
                &[scope.into(), Val::Int(run), source.into()],
            )?;
            let status = if table.name == "identities" || table.name == "credentials" {
                ", status = 'gone'"
            } else {
                ""
            };
            let sql = format!(
                "UPDATE {} SET gone_at = $2{status} WHERE id = $1 AND source = $3 AND scope = $4",
                table.name
            );
            for row in rows {
                if let Some(Val::Text(id)) = row.into_iter().next() {
                    self.store.conn.exec(
                        &sql,
                        &[
                            id.clone().into(),
                            self.now.clone().into(),
                            source.into(),
                            scope.into(),
                        ],
                    )?;
                    self.note(table.name, "inventory.gone", id)?;
                    total += 1;
                }
            }
        }
        self.summary.gone += total;
        Ok(total)
    }

    /// Stores the resolved owner/custodian/service/supplier of an identity. Returns the previous
    /// attribution when it changed (and appends `attribution.changed`), `None` when it did not.
    pub fn set_attribution(
        &mut self,
        id: &str,
        a: &Attribution,
    ) -> Result<Option<Attribution>, StoreError> {
        self.flush()?;
        let rows = self.store.conn.query(
            "SELECT owner, custodian, service, supplier, attributed_via FROM identities WHERE id = $1 ORDER BY source",
            &[id.into()],
        )?;
        let Some(row) = rows.into_iter().next() else {
            return Err(StoreError::corrupt(format!("identity {id}"), "not found"));
        };
        let mut it = row.into_iter();
        let mut next = || it.next().and_then(Val::into_text);
        let old = Attribution {
            owner: next(),
            custodian: next(),
            service: next(),
            supplier: next(),
            via: next()
                .and_then(|v| serde_json::from_str(&v).ok())
                .unwrap_or_default(),
        };
        self.update_attribution(id, &old, a)
    }

    /// Like [`Tx::set_attribution`] when the caller already read the stored attribution (bulk
    /// re-attribution reads all identities once instead of one query each).
    pub fn update_attribution(
        &mut self,
        id: &str,
        old: &Attribution,
        a: &Attribution,
    ) -> Result<Option<Attribution>, StoreError> {
        self.flush()?;
        let old = old.clone();
        let same_fields = old.owner == a.owner
            && old.custodian == a.custodian
            && old.service == a.service
            && old.supplier == a.supplier;
        if same_fields && old.via == a.via {
            return Ok(None);
        }
        self.store.conn.exec(
            "UPDATE identities SET owner = $2, custodian = $3, service = $4, supplier = $5, attributed_via = $6 WHERE id = $1",
            &[
                id.into(),
                Val::opt(a.owner.clone()),
                Val::opt(a.custodian.clone()),
                Val::opt(a.service.clone()),
                Val::opt(a.supplier.clone()),
                json_text(&a.via).into(),
            ],
        )?;
        if same_fields {
            return Ok(None); // only the explanation moved
        }
        self.append(
            "attribution.changed",
            id,
            json!({
                "owner": { "from": old.owner, "to": a.owner },
                "custodian": { "from": old.custodian, "to": a.custodian },
                "service": { "from": old.service, "to": a.service },
                "supplier": { "from": old.supplier, "to": a.supplier },
                "via": a.via,
            }),
        )?;
        Ok(Some(old))
    }

    /// Records a finding from the current evaluation. Status changes are ledger events
    /// (`finding.opened`, `finding.excepted`, `finding.reopened`); re-confirming only moves `last_seen`.
    pub fn upsert_finding(&mut self, f: &Finding) -> Result<FindingChange, StoreError> {
        self.flush()?;
        let rows = self.store.conn.query(
            "SELECT status FROM findings WHERE id = $1",
            &[f.id.clone().into()],
        )?;
        let old = rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .and_then(Val::into_text)
            .map(|s| FindingStatus::parse(&s));
        self.write_finding(f, old)
    }

    /// The status of every stored finding, for bulk assessment (one query instead of one per
    /// finding); pass each finding's entry to [`Tx::write_finding`].
    pub fn finding_statuses(
        &mut self,
    ) -> Result<std::collections::HashMap<String, FindingStatus>, StoreError> {
        self.flush()?;
        let mut out = std::collections::HashMap::new();
        self.store
            .conn
            .query_each("SELECT id, status FROM findings", &[], &mut |row| {
                if let (Some(id), Some(st)) = (
                    row.first().and_then(|v| v.text()),
                    row.get(1).and_then(|v| v.text()),
                ) {
                    out.insert(id.to_string(), FindingStatus::parse(st));
                }
                Ok::<(), StoreError>(())
            })?;
        Ok(out)
    }

    /// Records a finding given its previously stored status (`None`: new).
    pub fn write_finding(
        &mut self,
        f: &Finding,
        old: Option<FindingStatus>,
    ) -> Result<FindingChange, StoreError> {
        self.flush()?;
        let evidence = json_text(&f.evidence);
        let params = [
            f.id.clone().into(),
            f.control.clone().into(),
            f.subject.clone().into(),
            f.severity.as_str().into(),
            f.status.as_str().into(),
            f.title.clone().into(),
            evidence.into(),
            Val::opt(f.exception.clone()),
            self.now.clone().into(),
        ];
        let change = match old {
            None => {
                self.store.conn.exec(
                    "INSERT INTO findings (id, control, subject, severity, status, title, evidence, exception, first_seen, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
                    &params,
                )?;
                FindingChange::Opened
            }
            Some(prev) => {
                self.store.conn.exec(
                    "UPDATE findings SET control = $2, subject = $3, severity = $4, status = $5, title = $6, evidence = $7, exception = $8, last_seen = $9, closed_at = NULL WHERE id = $1",
                    &params,
                )?;
                if prev == FindingStatus::Closed {
                    FindingChange::Opened
                } else if prev != f.status {
                    FindingChange::StatusChanged
                } else {
                    FindingChange::Unchanged
                }
            }
        };
        if change != FindingChange::Unchanged {
            let kind = match (change, f.status) {
                (_, FindingStatus::Excepted) => "finding.excepted",
                (FindingChange::Opened, _) => "finding.opened",
                _ => "finding.reopened",
            };
            // Batched per kind (up to EVENT_CHUNK per ledger event): a first assessment of a
            // large estate opens hundreds of thousands of findings at once.
            let entry = json!({
                "id": f.id,
                "severity": f.severity,
                "title": f.title,
                "exception": f.exception,
            });
            self.note_finding(kind, entry)?;
        }
        Ok(change)
    }

    fn note_finding(&mut self, kind: &'static str, entry: Value) -> Result<(), StoreError> {
        let list = self.pending_findings.entry(kind).or_default();
        list.push(entry);
        if list.len() >= EVENT_CHUNK {
            let findings = std::mem::take(list);
            self.append(kind, "findings", json!({ "findings": findings }))?;
        }
        Ok(())
    }

    /// Closes every open or excepted finding not in `current` (the ids the evaluation produced),
    /// restricted to `only_controls` when the evaluation covered only some controls.
    /// Returns the ids closed.
    pub fn close_findings_except(
        &mut self,
        current: &std::collections::BTreeSet<String>,
        only_controls: Option<&std::collections::BTreeSet<String>>,
    ) -> Result<Vec<String>, StoreError> {
        self.flush()?;
        // Collect only what must close (not every open finding) while streaming.
        let mut to_close = Vec::new();
        self.store.conn.query_each(
            "SELECT id, control FROM findings WHERE status <> 'closed' ORDER BY id",
            &[],
            &mut |row| {
                if let (Some(id), Some(control)) = (
                    row.first().and_then(|v| v.text()),
                    row.get(1).and_then(|v| v.text()),
                ) && !current.contains(id)
                    && only_controls.is_none_or(|only| only.contains(control))
                {
                    to_close.push(id.to_string());
                }
                Ok::<(), StoreError>(())
            },
        )?;
        let mut closed = Vec::new();
        for id in to_close {
            self.store.conn.exec(
                "UPDATE findings SET status = 'closed', closed_at = $2 WHERE id = $1",
                &[id.clone().into(), self.now.clone().into()],
            )?;
            self.note_finding("finding.closed", json!({ "id": id }))?;
            closed.push(id);
        }
        Ok(closed)
    }

    /// Appends a ledger event inside this transaction.
    pub fn append(&mut self, kind: &str, subject: &str, data: Value) -> Result<(), StoreError> {
        let mut head = self.head.clone();
        let entry = head.append(&self.now, kind, subject, data)?;
        self.store.conn.exec(
            "INSERT INTO ledger (seq, body, hash) VALUES ($1, $2, $3)",
            &[
                Val::Int(entry.seq as i64),
                entry.body.into(),
                entry.hash.into(),
            ],
        )?;
        self.head = head;
        self.summary.ledger_appended += 1;
        Ok(())
    }

    /// Flushes pending inventory events, stores the ledger head and commits.
    pub fn commit(mut self) -> Result<TxSummary, StoreError> {
        self.flush()?;
        let findings = std::mem::take(&mut self.pending_findings);
        for (kind, list) in findings {
            if !list.is_empty() {
                self.append(kind, "findings", json!({ "findings": list }))?;
            }
        }
        let pending = std::mem::take(&mut self.pending);
        for ((table, event), ids) in pending {
            if !ids.is_empty() {
                self.append(event, table, json!({ "ids": ids }))?;
            }
        }
        self.store.conn.exec(
            "INSERT INTO ledger_head (id, size, chain, frontier) VALUES (1, $1, $2, $3) ON CONFLICT (id) DO UPDATE SET size = excluded.size, chain = excluded.chain, frontier = excluded.frontier",
            &[
                Val::Int(self.head.size as i64),
                hex::encode(self.head.chain).into(),
                self.head.frontier_text().into(),
            ],
        )?;
        self.store.conn.batch("COMMIT")?;
        self.done = true;
        let mut summary = std::mem::take(&mut self.summary);
        summary.ledger_size = self.head.size;
        Ok(summary)
    }
}
