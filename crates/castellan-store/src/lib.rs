//! Persistence for Castellan: the inventory graph, findings and the ledger.
//!
//! One API over two engines: embedded SQLite (the default, `./castellan.db`; WAL, STRICT tables)
//! and PostgreSQL (`postgres://…`, for teams). SQL is portable, written once with `$N`
//! placeholders; each engine has its own versioned migrations under `migrations/`.
//!
//! Writes happen in a [`Tx`]: one database transaction that also appends the ledger, so an import
//! and its evidence commit together or not at all. Upserts are idempotent: a record whose content
//! did not change only moves `last_seen`/`last_run`.

mod backend;
mod ledger;
mod read;
mod tx;

use castellan_model::FingerprintKey;

use backend::Conn;
pub use backend::{Engine, Val};
pub use ledger::LedgerStatus;
pub use read::{
    Counts, ImportRun, Provenance, Sighting, StoredCredential, StoredEntity, StoredEvent,
    StoredGrant, StoredIdentity,
};
pub use tx::{FindingChange, Outcome, Tx, TxSummary};

/// Schema migrations: (version, name, SQLite DDL, PostgreSQL DDL).
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "sources and grants",
        include_str!("../migrations/sqlite/0002_sources_and_grants.sql"),
        include_str!("../migrations/postgres/0002_sources_and_grants.sql"),
    ),
    (
        3,
        "events and credential sources",
        include_str!("../migrations/sqlite/0003_events_and_credential_sources.sql"),
        include_str!("../migrations/postgres/0003_events_and_credential_sources.sql"),
    ),
];

/// Errors from the store. Messages name the database (with any password removed) and the fix.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("SQLite: {0}")]
    Sqlite(String),
    /// PostgreSQL failed.
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    /// The database could not be opened.
    #[error("cannot open database {url}: {reason}")]
    Open {
        /// The database, password removed.
        url: String,
        /// Why.
        reason: String,
    },
    /// The database belongs to another fingerprint key.
    #[error(
        "database {url} was created with fingerprint key {expected}, but the data directory holds key {found}: point --data-dir at the directory created with this database"
    )]
    KeyMismatch {
        /// The database.
        url: String,
        /// Key id recorded in the database.
        expected: String,
        /// Key id found in the data directory.
        found: String,
    },
    /// The schema is newer than this program.
    #[error(
        "database schema version {found} is newer than this Castellan supports ({supported}); upgrade Castellan"
    )]
    TooNew {
        /// Version in the database.
        found: i64,
        /// Newest version known here.
        supported: i64,
    },
    /// A stored value cannot be read back.
    #[error("stored {what} is corrupt: {reason}")]
    Corrupt {
        /// Which record.
        what: String,
        /// Why.
        reason: String,
    },
    /// Ledger failure.
    #[error(transparent)]
    Ledger(#[from] castellan_ledger::LedgerError),
}

impl StoreError {
    pub(crate) fn sqlite(e: rusqlite::Error) -> StoreError {
        StoreError::Sqlite(e.to_string())
    }

    pub(crate) fn postgres(e: postgres::Error) -> StoreError {
        // `postgres::Error`'s Display omits the server's detail; include it when present.
        let detail = e
            .as_db_error()
            .map(|d| format!("{} ({})", d.message(), d.code().code()))
            .unwrap_or_else(|| e.to_string());
        StoreError::Postgres(detail)
    }

    pub(crate) fn corrupt(what: impl Into<String>, reason: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            what: what.into(),
            reason: reason.into(),
        }
    }
}

/// Removes the password from a database URL for display.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((userinfo, host)) = rest.split_once('@')
    {
        let user = userinfo.split(':').next().unwrap_or("");
        let masked = if userinfo.contains(':') {
            format!("{user}:***")
        } else {
            user.to_string()
        };
        return format!("{scheme}://{masked}@{host}");
    }
    url.to_string()
}

/// An open Castellan database.
pub struct Store {
    conn: Conn,
    url: String,
    origin: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("url", &redact_url(&self.url))
            .field("engine", &self.conn.engine())
            .finish()
    }
}

impl Store {
    /// Opens (creating and migrating if needed) the database at `url`: a file path or
    /// `sqlite://path` for SQLite, `postgres://…` or `postgresql://…` for PostgreSQL.
    pub fn open(url: &str) -> Result<Store, StoreError> {
        let open_err = |reason: String| StoreError::Open {
            url: redact_url(url),
            reason,
        };
        let conn = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let client = postgres::Client::connect(url, postgres::NoTls)
                .map_err(|e| open_err(StoreError::postgres(e).to_string()))?;
            let mut conn = Conn::Postgres {
                client: Box::new(client),
                statements: Default::default(),
            };
            conn.batch("SET client_min_messages TO WARNING")?;
            conn
        } else {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            if let Some(parent) = std::path::Path::new(path).parent()
                && !parent.as_os_str().is_empty()
                && !parent.exists()
            {
                return Err(open_err(format!(
                    "directory {} does not exist",
                    parent.display()
                )));
            }
            let c = rusqlite::Connection::open(path).map_err(|e| open_err(e.to_string()))?;
            c.busy_timeout(std::time::Duration::from_secs(10))
                .map_err(|e| open_err(e.to_string()))?;
            let mut conn = Conn::Sqlite {
                conn: c,
                translated: Default::default(),
            };
            conn.batch(
                "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-262144; PRAGMA temp_store=MEMORY;",
            )
            .map_err(|e| open_err(format!("{e} (is it a SQLite database?)")))?;
            conn
        };
        let mut store = Store {
            conn,
            url: url.to_string(),
            origin: String::new(),
        };
        store.migrate()?;
        store.origin = match store.meta("ledger_origin")? {
            Some(o) => o,
            None => {
                let mut raw = [0u8; 8];
                getrandom::fill(&mut raw)
                    .map_err(|e| StoreError::corrupt("ledger origin", e.to_string()))?;
                let o = format!("castellan:{}", hex::encode(raw));
                store.set_meta("ledger_origin", &o)?;
                o
            }
        };
        Ok(store)
    }

    /// Which engine this store runs on.
    pub fn engine(&self) -> Engine {
        self.conn.engine()
    }

    /// The database URL with any password removed.
    pub fn display_url(&self) -> String {
        redact_url(&self.url)
    }

    /// The ledger's origin: a random id fixed when the database was created, named in every
    /// checkpoint so checkpoints of different ledgers cannot be confused.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        // Two processes opening a fresh PostgreSQL database at once must not both migrate it.
        if self.conn.engine() == Engine::Postgres {
            self.conn
                .query("SELECT pg_advisory_lock(7418870463)::text", &[])?;
            let result = self.migrate_locked();
            self.conn
                .query("SELECT pg_advisory_unlock(7418870463)::text", &[])?;
            return result;
        }
        self.migrate_locked()
    }

    fn migrate_locked(&mut self) -> Result<(), StoreError> {
        let exists = match self.conn.engine() {
            Engine::Sqlite => !self
                .conn
                .query(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
                    &[],
                )?
                .is_empty(),
            Engine::Postgres => {
                let r = self.conn.query("SELECT to_regclass('meta')::text", &[])?;
                r.first()
                    .and_then(|row| row.first())
                    .is_some_and(|v| *v != Val::Null)
            }
        };
        let current = if exists {
            self.meta("schema_version")?
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0)
        } else {
            0
        };
        let newest = MIGRATIONS.last().map_or(0, |m| m.0);
        if current > newest {
            return Err(StoreError::TooNew {
                found: current,
                supported: newest,
            });
        }
        for (version, _name, sqlite, pg) in MIGRATIONS {
            if *version <= current {
                continue;
            }
            let ddl = match self.conn.engine() {
                Engine::Sqlite => sqlite,
                Engine::Postgres => pg,
            };
            self.conn.batch("BEGIN")?;
            let result = self.conn.batch(ddl).and_then(|()| {
                self.conn.exec(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    &[Val::Text(version.to_string())],
                )
            });
            match result {
                Ok(_) => self.conn.batch("COMMIT")?,
                Err(e) => {
                    let _ = self.conn.batch("ROLLBACK");
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Reads a metadata value.
    pub fn meta(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        let rows = self
            .conn
            .query("SELECT value FROM meta WHERE key = $1", &[key.into()])?;
        Ok(rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .and_then(Val::into_text))
    }

    /// Writes a metadata value.
    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.exec(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[key.into(), value.into()],
        )?;
        Ok(())
    }

    /// Binds the database to a fingerprint key on first use and refuses any other key later, so
    /// fingerprints in one database are always comparable.
    pub fn bind_key(&mut self, key: &FingerprintKey) -> Result<(), StoreError> {
        let id = key.key_id();
        match self.meta("fingerprint_key_id")? {
            None => self.set_meta("fingerprint_key_id", &id),
            Some(existing) if existing == id => Ok(()),
            Some(existing) => Err(StoreError::KeyMismatch {
                url: self.display_url(),
                expected: existing,
                found: id,
            }),
        }
    }

    /// Empties every table (tests only: PostgreSQL test databases are shared between runs).
    #[doc(hidden)]
    pub fn reset_for_tests(&mut self) -> Result<(), StoreError> {
        self.conn.batch(
            "DELETE FROM identities; DELETE FROM credentials; DELETE FROM grants; DELETE FROM events; DELETE FROM entities; DELETE FROM findings; DELETE FROM ledger; DELETE FROM ledger_head; DELETE FROM ledger_checkpoints; DELETE FROM import_runs; DELETE FROM meta WHERE key NOT IN ('schema_version', 'ledger_origin');",
        )
    }

    /// Runs raw SQL (tests use it to tamper with the ledger).
    #[doc(hidden)]
    pub fn execute_raw(&mut self, sql: &str) -> Result<(), StoreError> {
        self.conn.batch(sql)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_removed_from_urls() {
        assert_eq!(
            super::redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(super::redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(super::redact_url("./castellan.db"), "./castellan.db");
    }
}
