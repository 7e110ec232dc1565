//! The ledger tables: head, entries, checkpoints, and verification.

use castellan_ledger::{Checkpoint, Head, LedgerKey, Verifier, VerifyError, VerifyReport};
use serde::Serialize;

use crate::{Store, StoreError, Val};

/// The ledger's current state, as `castellan ledger checkpoint` prints it.
#[derive(Clone, Debug, Serialize)]
pub struct LedgerStatus {
    /// Number of entries.
    pub size: u64,
    /// Merkle root (hex).
    pub root: String,
    /// Chain hash of the last entry (hex).
    pub chain_head: String,
}

const PAGE: i64 = 20_000;

impl Store {
    pub(crate) fn read_head(&mut self) -> Result<Head, StoreError> {
        let rows = self.conn.query(
            "SELECT size, chain, frontier FROM ledger_head WHERE id = 1",
            &[],
        )?;
        match rows.into_iter().next() {
            None => Ok(Head::default()),
            Some(row) => {
                let mut it = row.into_iter();
                let size = it.next().and_then(|v| v.as_int()).unwrap_or(-1);
                let chain = it.next().and_then(Val::into_text).unwrap_or_default();
                let frontier = it.next().and_then(Val::into_text).unwrap_or_default();
                if size < 0 {
                    return Err(StoreError::corrupt("ledger head", "negative size"));
                }
                Ok(Head::from_stored(size as u64, &chain, &frontier)?)
            }
        }
    }

    /// The current ledger state.
    pub fn ledger_status(&mut self) -> Result<LedgerStatus, StoreError> {
        let head = self.read_head()?;
        Ok(LedgerStatus {
            size: head.size,
            root: hex::encode(head.root()),
            chain_head: hex::encode(head.chain),
        })
    }

    /// Signs a checkpoint of the current head and stores it (idempotent per size).
    pub fn checkpoint(
        &mut self,
        key: &LedgerKey,
        timestamp: &str,
    ) -> Result<Checkpoint, StoreError> {
        let head = self.read_head()?;
        if let Some(existing) = self
            .checkpoints()?
            .into_iter()
            .find(|c| c.tree_size == head.size)
        {
            return Ok(existing);
        }
        let origin = self.origin().to_string();
        let cp = key.sign(&origin, &head, timestamp);
        self.conn.exec(
            "INSERT INTO ledger_checkpoints (tree_size, body) VALUES ($1, $2) ON CONFLICT (tree_size) DO NOTHING",
            &[Val::Int(cp.tree_size as i64), cp.to_json().into()],
        )?;
        Ok(cp)
    }

    /// Stored checkpoints, smallest first.
    pub fn checkpoints(&mut self) -> Result<Vec<Checkpoint>, StoreError> {
        let rows = self.conn.query(
            "SELECT body FROM ledger_checkpoints ORDER BY tree_size",
            &[],
        )?;
        rows.into_iter()
            .map(|r| {
                let body = r
                    .into_iter()
                    .next()
                    .and_then(Val::into_text)
                    .unwrap_or_default();
                serde_json::from_str(&body)
                    .map_err(|e| StoreError::corrupt("ledger checkpoint", e.to_string()))
            })
            .collect()
    }

    /// Calls `f(seq, body, hash)` for every ledger entry in seq order, in pages.
    pub fn for_each_entry<E: From<StoreError>>(
        &mut self,
        mut f: impl FnMut(u64, &str, &str) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut from: i64 = -1;
        loop {
            let mut n = 0i64;
            let mut last = from;
            self.conn.query_each(
                "SELECT seq, body, hash FROM ledger WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[Val::Int(from), Val::Int(PAGE)],
                &mut |row| {
                    let seq = row.first().and_then(|v| v.int()).unwrap_or(-1);
                    let body = row.get(1).and_then(|v| v.text()).unwrap_or_default();
                    let hash = row.get(2).and_then(|v| v.text()).unwrap_or_default();
                    n += 1;
                    last = seq;
                    f(seq.max(0) as u64, body, hash)
                },
            )?;
            from = last;
            if n < PAGE {
                return Ok(());
            }
        }
    }

    /// Verifies the whole ledger against its stored checkpoints, the `witness` checkpoints kept
    /// outside the database, and the head, all signed by `key`.
    pub fn verify_ledger(
        &mut self,
        key: &LedgerKey,
        witness: Vec<Checkpoint>,
    ) -> Result<Result<VerifyReport, VerifyError>, StoreError> {
        let mut checkpoints = self.checkpoints()?;
        for w in witness {
            if !checkpoints.contains(&w) {
                checkpoints.push(w);
            }
        }
        let mut verifier = match Verifier::new(&key.verifying(), checkpoints) {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        let head = self
            .conn
            .query("SELECT size, chain FROM ledger_head WHERE id = 1", &[])?
            .into_iter()
            .next()
            .map(|r| {
                let mut it = r.into_iter();
                (
                    it.next().and_then(|v| v.as_int()).unwrap_or(0) as u64,
                    it.next().and_then(Val::into_text).unwrap_or_default(),
                )
            });
        enum Stop {
            Store(StoreError),
            Verify(VerifyError),
        }
        impl From<StoreError> for Stop {
            fn from(e: StoreError) -> Stop {
                Stop::Store(e)
            }
        }
        let walked = self
            .for_each_entry(|seq, body, hash| verifier.feed(seq, body, hash).map_err(Stop::Verify));
        match walked {
            Ok(()) => {}
            Err(Stop::Store(e)) => return Err(e),
            Err(Stop::Verify(e)) => return Ok(Err(e)),
        }
        Ok(verifier.finish(head.as_ref().map(|(s, c)| (*s, c.as_str()))))
    }
}
