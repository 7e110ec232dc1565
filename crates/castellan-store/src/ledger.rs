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
const VERIFY_BATCH: usize = 4096;

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
        // Two stages on two threads: this one reads rows, the other hashes them. Batches keep
        // the channel cheap; a bounded channel keeps memory flat on 10⁸ entries.
        // Batches are recycled through a second channel, so the steady state allocates nothing.
        type Batch = (usize, Vec<(u64, String, String)>);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(4);
        let (back_tx, back_rx) = std::sync::mpsc::channel::<Batch>();
        let outcome = std::thread::scope(|scope| {
            let worker = scope.spawn(move || -> Result<Verifier, VerifyError> {
                for (len, batch) in rx {
                    for (seq, body, hash) in &batch[..len] {
                        verifier.feed(*seq, body, hash)?;
                    }
                    let _ = back_tx.send((0, batch));
                }
                Ok(verifier)
            });
            let mut current: Batch = (0, Vec::with_capacity(VERIFY_BATCH));
            let mut stopped = false;
            let read = self.for_each_entry(|seq, body, hash| {
                if stopped {
                    return Ok(());
                }
                let (len, rows) = &mut current;
                if *len < rows.len() {
                    let slot = &mut rows[*len];
                    slot.0 = seq;
                    slot.1.clear();
                    slot.1.push_str(body);
                    slot.2.clear();
                    slot.2.push_str(hash);
                } else {
                    rows.push((seq, body.to_string(), hash.to_string()));
                }
                *len += 1;
                if *len == VERIFY_BATCH {
                    let next = back_rx
                        .try_recv()
                        .unwrap_or_else(|_| (0, Vec::with_capacity(VERIFY_BATCH)));
                    let full = std::mem::replace(&mut current, next);
                    // A closed channel means the verifier already found a problem.
                    stopped = tx.send(full).is_err();
                }
                Ok::<(), StoreError>(())
            });
            if current.0 > 0 && !stopped {
                let _ = tx.send(current);
            }
            drop(tx);
            let verified = worker
                .join()
                .map_err(|_| StoreError::corrupt("ledger", "verifier thread panicked"))?;
            read.map(|()| verified)
        })?;
        let verifier = match outcome {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        Ok(verifier.finish(head.as_ref().map(|(s, c)| (*s, c.as_str()))))
    }
}
