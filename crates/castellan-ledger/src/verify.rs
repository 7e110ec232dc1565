//! Replays stored entries and names the first thing that is wrong.

use ed25519_dalek::VerifyingKey;

use crate::{Checkpoint, CheckpointError, Frontier, GENESIS, Hash, chain_hash, leaf_hash};

/// Why a ledger failed verification. Each variant names the first bad entry or checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// An entry was deleted: the sequence jumps.
    #[error(
        "ledger entry {expected} is missing (next entry found is {found}): entries were deleted"
    )]
    Missing {
        /// The seq that should come next.
        expected: u64,
        /// The seq found instead.
        found: u64,
    },
    /// Entries are out of order or duplicated.
    #[error(
        "ledger entry {found} appears where entry {expected} should be: entries were reordered or inserted"
    )]
    OutOfOrder {
        /// The seq that should come next.
        expected: u64,
        /// The seq found instead.
        found: u64,
    },
    /// An entry's content does not produce its stored hash.
    #[error(
        "ledger entry {seq} does not match its hash: its content was edited, or an entry was inserted before it"
    )]
    Edited {
        /// The entry.
        seq: u64,
    },
    /// An entry's body is not a ledger event, or claims another position.
    #[error("ledger entry {seq} is malformed: {reason}")]
    Malformed {
        /// The entry.
        seq: u64,
        /// Why.
        reason: String,
    },
    /// The entries do not hash to the root a checkpoint signed.
    #[error(
        "the first {tree_size} ledger entries differ from the checkpoint signed at {timestamp}: entries up to {last} were rewritten and re-hashed"
    )]
    CheckpointMismatch {
        /// Entries covered by the checkpoint.
        tree_size: u64,
        /// When it was signed.
        timestamp: String,
        /// The last entry it covers.
        last: u64,
    },
    /// Fewer entries than a checkpoint or the head covers.
    #[error(
        "ledger is truncated: {what} covers {expected} entries but only {found} remain (entry {found} onwards was deleted)"
    )]
    Truncated {
        /// Which record proves it (`the checkpoint signed at …`, `the ledger head`).
        what: String,
        /// Entries it covers.
        expected: u64,
        /// Entries present.
        found: u64,
    },
    /// The head row disagrees with the entries.
    #[error("ledger head is inconsistent with the entries: {0}")]
    Head(String),
    /// A checkpoint signature failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

impl VerifyError {
    /// The first bad entry, when one can be named.
    pub fn first_bad_entry(&self) -> Option<u64> {
        match self {
            VerifyError::Missing { expected, .. } | VerifyError::OutOfOrder { expected, .. } => {
                Some(*expected)
            }
            VerifyError::Edited { seq } | VerifyError::Malformed { seq, .. } => Some(*seq),
            VerifyError::Truncated { found, .. } => Some(*found),
            VerifyError::CheckpointMismatch { .. }
            | VerifyError::Head(_)
            | VerifyError::Checkpoint(_) => None,
        }
    }
}

/// What a successful verification established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries checked.
    pub entries: u64,
    /// Checkpoints whose signature and root were checked.
    pub checkpoints: usize,
    /// Merkle root over all entries (hex).
    pub root: String,
    /// Chain hash of the last entry (hex).
    pub chain_head: String,
}

/// The `seq` an entry's canonical body claims. In RFC 8785 form the top-level keys are sorted
/// (`data`, `kind`, `seq`, `subject`, `ts`) and only strings follow `seq`, in which a quote is
/// always escaped, so the last `,"seq":` is the top-level one. Cheaper than a JSON parse, which
/// matters when verifying 10⁸ entries.
fn body_seq(body: &str) -> Option<u64> {
    if !body.starts_with('{') || !body.ends_with('}') {
        return None;
    }
    let at = body.rfind(",\"seq\":")? + 7;
    let digits: &str = &body[at..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 || !digits[end..].starts_with(",\"subject\":") {
        return None;
    }
    digits[..end].parse().ok()
}

/// Streaming verifier: [`Verifier::feed`] every stored entry in seq order, then
/// [`Verifier::finish`].
#[derive(Debug)]
pub struct Verifier {
    next: u64,
    prev: Hash,
    frontier: Frontier,
    checkpoints: Vec<Checkpoint>,
    cp_idx: usize,
}

impl Verifier {
    /// Starts a verification against `checkpoints` (from the database and the witness file), each
    /// of which must carry a valid signature by `key`.
    pub fn new(
        key: &VerifyingKey,
        mut checkpoints: Vec<Checkpoint>,
    ) -> Result<Verifier, VerifyError> {
        for cp in &checkpoints {
            cp.verify(key)?;
        }
        checkpoints.sort_by_key(|c| c.tree_size);
        let mut v = Verifier {
            next: 0,
            prev: GENESIS,
            frontier: Frontier::default(),
            checkpoints,
            cp_idx: 0,
        };
        v.check_checkpoints()?;
        Ok(v)
    }

    /// Checks the next stored entry.
    pub fn feed(&mut self, seq: u64, body: &str, hash_hex: &str) -> Result<(), VerifyError> {
        if seq != self.next {
            return Err(if seq > self.next {
                VerifyError::Missing {
                    expected: self.next,
                    found: seq,
                }
            } else {
                VerifyError::OutOfOrder {
                    expected: self.next,
                    found: seq,
                }
            });
        }
        let chain = chain_hash(&self.prev, body.as_bytes());
        if !hex_eq(&chain, hash_hex) {
            return Err(VerifyError::Edited { seq });
        }
        let claimed = body_seq(body).ok_or_else(|| VerifyError::Malformed {
            seq,
            reason: "not a canonical ledger event (no top-level `seq`)".into(),
        })?;
        if claimed != seq {
            return Err(VerifyError::OutOfOrder {
                expected: seq,
                found: claimed,
            });
        }
        self.frontier.push(leaf_hash(body.as_bytes()));
        self.prev = chain;
        self.next += 1;
        self.check_checkpoints()
    }

    fn check_checkpoints(&mut self) -> Result<(), VerifyError> {
        while let Some(cp) = self.checkpoints.get(self.cp_idx) {
            if cp.tree_size != self.next {
                break;
            }
            let prev_hex = hex::encode(self.prev);
            if cp.root_hash != hex::encode(self.frontier.root()) || cp.chain_head != prev_hex {
                return Err(VerifyError::CheckpointMismatch {
                    tree_size: cp.tree_size,
                    timestamp: cp.timestamp.clone(),
                    last: cp.tree_size.saturating_sub(1),
                });
            }
            self.cp_idx += 1;
        }
        Ok(())
    }

    /// Ends the replay. `head` is the stored (size, chain hash hex) the database claims.
    pub fn finish(self, head: Option<(u64, &str)>) -> Result<VerifyReport, VerifyError> {
        if let Some(cp) = self.checkpoints.get(self.cp_idx) {
            return Err(VerifyError::Truncated {
                what: format!("the checkpoint signed at {}", cp.timestamp),
                expected: cp.tree_size,
                found: self.next,
            });
        }
        if let Some((size, chain)) = head {
            if size > self.next {
                return Err(VerifyError::Truncated {
                    what: "the ledger head".into(),
                    expected: size,
                    found: self.next,
                });
            }
            if size < self.next {
                return Err(VerifyError::Head(format!(
                    "head says {size} entries but {} are present: entries were appended outside Castellan",
                    self.next
                )));
            }
            if !hex_eq(&self.prev, chain) {
                return Err(VerifyError::Head(
                    "head chain hash differs from the last entry's".into(),
                ));
            }
        }
        Ok(VerifyReport {
            entries: self.next,
            checkpoints: self.cp_idx,
            root: hex::encode(self.frontier.root()),
            chain_head: hex::encode(self.prev),
        })
    }
}

fn hex_eq(h: &Hash, hex_text: &str) -> bool {
    let mut buf = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut buf).is_ok() && &buf == h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Head, LedgerKey, StoredEntry};
    use serde_json::json;

    fn ledger(n: u64) -> (LedgerKey, Head, Vec<StoredEntry>) {
        let key = LedgerKey::from_seed([3; 32]);
        let mut head = Head::default();
        let entries = (0..n)
            .map(|i| {
                head.append(
                    "2026-12-03T10:00:00Z",
                    "test",
                    &format!("s{i}"),
                    json!({ "i": i }),
                )
                .expect("append")
            })
            .collect();
        (key, head, entries)
    }

    fn run(
        key: &LedgerKey,
        cps: Vec<Checkpoint>,
        entries: &[StoredEntry],
        head: Option<(u64, &str)>,
    ) -> Result<VerifyReport, VerifyError> {
        let mut v = Verifier::new(&key.verifying(), cps)?;
        for e in entries {
            v.feed(e.seq, &e.body, &e.hash)?;
        }
        v.finish(head)
    }

    #[test]
    fn sound_ledger_verifies() {
        let (key, head, entries) = ledger(10);
        let cp = key.sign("o", &head, "t");
        let chain = hex::encode(head.chain);
        let r = run(&key, vec![cp], &entries, Some((10, &chain))).expect("ok");
        assert_eq!(r.entries, 10);
        assert_eq!(r.checkpoints, 1);
    }

    #[test]
    fn each_kind_of_tampering_is_named() {
        let (key, head, entries) = ledger(6);
        let cp = key.sign("o", &head, "t");
        let chain = hex::encode(head.chain);
        let head_ref = Some((6, chain.as_str()));

        // edit
        let mut edited = entries.clone();
        edited[2].body = edited[2].body.replace("s2", "sX");
        let e = run(&key, vec![cp.clone()], &edited, head_ref).expect_err("edit");
        assert_eq!(e.first_bad_entry(), Some(2), "{e}");

        // delete
        let mut deleted = entries.clone();
        deleted.remove(3);
        let e = run(&key, vec![cp.clone()], &deleted, head_ref).expect_err("delete");
        assert!(
            matches!(
                e,
                VerifyError::Missing {
                    expected: 3,
                    found: 4
                }
            ),
            "{e}"
        );

        // reorder (swap the contents of two rows, keeping the seq column)
        let mut swapped = entries.clone();
        let (b1, h1) = (swapped[1].body.clone(), swapped[1].hash.clone());
        swapped[1].body = swapped[4].body.clone();
        swapped[1].hash = swapped[4].hash.clone();
        swapped[4].body = b1;
        swapped[4].hash = h1;
        let e = run(&key, vec![cp.clone()], &swapped, head_ref).expect_err("reorder");
        assert_eq!(e.first_bad_entry(), Some(1), "{e}");

        // insert (a well-formed entry spliced in after entry 1, the chain recomputed)
        let mut fake_head = Head::default();
        let subjects = ["s0", "s1", "inserted", "s2", "s3", "s4", "s5"];
        let inserted: Vec<StoredEntry> = subjects
            .iter()
            .enumerate()
            .map(|(i, subject)| {
                let i = if i > 2 { i - 1 } else { i };
                fake_head
                    .append("2026-12-03T10:00:00Z", "test", subject, json!({ "i": i }))
                    .expect("append")
            })
            .collect();
        let e = run(&key, vec![cp.clone()], &inserted, head_ref).expect_err("insert");
        assert!(
            matches!(e, VerifyError::CheckpointMismatch { tree_size: 6, .. }),
            "{e}"
        );
        // ... and without the recomputation, the row after the inserted one breaks the chain
        let mut spliced = entries[..2].to_vec();
        spliced.push(inserted[2].clone());
        spliced.extend(entries[2..].iter().cloned().map(|mut e| {
            e.seq += 1;
            e
        }));
        let e = run(&key, vec![cp.clone()], &spliced, head_ref).expect_err("splice");
        assert!(e.first_bad_entry().is_some(), "{e}");

        // truncate
        let e = run(&key, vec![cp.clone()], &entries[..4], None).expect_err("truncate");
        assert!(
            matches!(
                e,
                VerifyError::Truncated {
                    expected: 6,
                    found: 4,
                    ..
                }
            ),
            "{e}"
        );

        // truncate with the checkpoint gone too: the head still says 6
        let e = run(&key, vec![], &entries[..4], head_ref).expect_err("truncate");
        assert!(matches!(e, VerifyError::Truncated { .. }), "{e}");

        // forged checkpoint
        let mut forged = cp.clone();
        forged.root_hash = hex::encode([9u8; 32]);
        let e = run(&key, vec![forged], &entries, head_ref).expect_err("forged");
        assert!(matches!(e, VerifyError::Checkpoint(_)), "{e}");
    }

    #[test]
    fn rewritten_history_with_recomputed_chain_fails_the_checkpoint() {
        let (key, head, entries) = ledger(5);
        let cp = key.sign("o", &head, "t");
        // The attacker rewrites entry 1 and recomputes every chain hash after it.
        let mut forged_head = Head::default();
        let mut rewritten = Vec::new();
        for i in 0..entries.len() {
            let subject = if i == 1 {
                "rewritten".to_string()
            } else {
                format!("s{i}")
            };
            rewritten.push(
                forged_head
                    .append("2026-12-03T10:00:00Z", "test", &subject, json!({ "i": i }))
                    .expect("append"),
            );
        }
        let chain = hex::encode(forged_head.chain);
        let e = run(&key, vec![cp], &rewritten, Some((5, &chain))).expect_err("rewritten");
        assert!(
            matches!(e, VerifyError::CheckpointMismatch { tree_size: 5, .. }),
            "{e}"
        );
    }

    #[test]
    fn body_seq_reads_the_top_level_seq_only() {
        let mut head = Head::default();
        let e = head
            .append(
                "t",
                "k",
                "s",
                json!({ "seq": 99, "subject": "x", "nested": { "seq": 7 } }),
            )
            .expect("append");
        assert_eq!(body_seq(&e.body), Some(0));
        assert_eq!(body_seq("{\"data\":1}"), None);
        assert_eq!(body_seq("not json"), None);
    }

    proptest::proptest! {
        #[test]
        fn any_single_byte_edit_is_detected(n in 1u64..20, pick in 0usize..1000, byte in 0usize..1000) {
            let (key, head, mut entries) = ledger(n);
            let cp = key.sign("o", &head, "t");
            let i = pick % entries.len();
            let mut bytes = entries[i].body.clone().into_bytes();
            let j = byte % bytes.len();
            bytes[j] = if bytes[j] == b'a' { b'b' } else { b'a' };
            if let Ok(s) = String::from_utf8(bytes)
                && s != entries[i].body
            {
                entries[i].body = s;
                let chain = hex::encode(head.chain);
                proptest::prop_assert!(run(&key, vec![cp], &entries, Some((n, &chain))).is_err());
            }
        }
    }
}
