//! The tamper-evident ledger.
//!
//! Every state change Castellan makes is an [`Entry`]: a small JSON object
//! (`seq`, `ts`, `kind`, `subject`, `data`) serialised as RFC 8785 canonical JSON. Entries are
//! linked twice:
//!
//! - a **hash chain**: `hash[n] = SHA-256(hash[n-1] ‖ canonical[n])`, `hash[-1] = 0³²`, which
//!   pins the order and content of every entry;
//! - an **RFC 6962 Merkle tree** over the canonical entries, whose root at a given size is signed
//!   with ed25519 in a [`Checkpoint`]. A checkpoint kept outside the database (the witness file in
//!   the data directory, an evidence bundle, an auditor's copy) makes truncation and rewriting
//!   detectable even by someone who controls the database.
//!
//! This crate is pure: the store persists [`StoredEntry`] rows and the [`Head`]; [`Verifier`]
//! replays them and names the first bad entry.

mod checkpoint;
mod merkle;
mod verify;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use checkpoint::{Checkpoint, CheckpointError, LedgerKey, read_witness, write_witness};
pub use merkle::{Frontier, leaf_hash, node_hash, reference_root};
pub use verify::{Verifier, VerifyError, VerifyReport};

/// A 32-byte SHA-256 digest.
pub type Hash = [u8; 32];

/// The chain value before the first entry.
pub const GENESIS: Hash = [0u8; 32];

/// One ledger event, as it is hashed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the ledger, from 0.
    pub seq: u64,
    /// When Castellan recorded it (RFC 3339 UTC).
    pub ts: String,
    /// What happened, e.g. `import.run`, `inventory.added`, `finding.opened`.
    pub kind: String,
    /// What it happened to (an id, a scope, a file).
    pub subject: String,
    /// The details.
    pub data: serde_json::Value,
}

/// An entry as stored: its canonical JSON text and its chain hash (hex).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEntry {
    /// Position in the ledger.
    pub seq: u64,
    /// RFC 8785 canonical JSON of the [`Entry`].
    pub body: String,
    /// Hex chain hash after this entry.
    pub hash: String,
}

/// Errors while building an entry.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The event data could not be canonicalised (e.g. a non-finite number).
    #[error("ledger event `{kind}` cannot be written as canonical JSON: {reason}")]
    Canonical {
        /// The event kind.
        kind: String,
        /// Why.
        reason: String,
    },
    /// The stored head is unreadable.
    #[error("ledger head is corrupt: {0}. Run `castellan ledger verify` to locate the damage")]
    BadHead(String),
}

/// The state needed to append: size, last chain hash and the Merkle frontier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// Number of entries.
    pub size: u64,
    /// Chain hash of the last entry ([`GENESIS`] when empty).
    pub chain: Hash,
    /// Merkle frontier over all entries.
    pub frontier: Frontier,
}

impl Default for Head {
    fn default() -> Self {
        Head {
            size: 0,
            chain: GENESIS,
            frontier: Frontier::default(),
        }
    }
}

impl Head {
    /// Appends an event and returns the row to store. The head moves only if this succeeds.
    pub fn append(
        &mut self,
        ts: &str,
        kind: &str,
        subject: &str,
        data: serde_json::Value,
    ) -> Result<StoredEntry, LedgerError> {
        let entry = Entry {
            seq: self.size,
            ts: ts.to_string(),
            kind: kind.to_string(),
            subject: subject.to_string(),
            data,
        };
        let body = serde_jcs::to_string(&entry).map_err(|e| LedgerError::Canonical {
            kind: kind.to_string(),
            reason: e.to_string(),
        })?;
        let chain = chain_hash(&self.chain, body.as_bytes());
        self.frontier.push(leaf_hash(body.as_bytes()));
        self.chain = chain;
        self.size += 1;
        Ok(StoredEntry {
            seq: entry.seq,
            body,
            hash: hex::encode(chain),
        })
    }

    /// The Merkle root over all entries.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// Serialises the frontier for storage.
    pub fn frontier_text(&self) -> String {
        self.frontier.to_text()
    }

    /// Rebuilds a head from its stored parts.
    pub fn from_stored(size: u64, chain_hex: &str, frontier: &str) -> Result<Head, LedgerError> {
        let chain =
            decode_hash(chain_hex).ok_or_else(|| LedgerError::BadHead("chain hash".into()))?;
        let frontier = Frontier::from_text(frontier)
            .ok_or_else(|| LedgerError::BadHead("merkle frontier".into()))?;
        if frontier.size() != size {
            return Err(LedgerError::BadHead(format!(
                "frontier covers {} entries, head says {size}",
                frontier.size()
            )));
        }
        Ok(Head {
            size,
            chain,
            frontier,
        })
    }
}

/// `SHA-256(prev ‖ body)`.
pub fn chain_hash(prev: &Hash, body: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(body);
    h.finalize().into()
}

/// Decodes a 64-digit hex hash.
pub fn decode_hash(s: &str) -> Option<Hash> {
    let v = hex::decode(s).ok()?;
    v.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn append_produces_canonical_bodies_and_chains() {
        let mut head = Head::default();
        let a = head
            .append(
                "2026-12-03T10:00:00Z",
                "import.run",
                "file.csv",
                json!({"z": 1, "a": [2, 1]}),
            )
            .expect("append");
        assert_eq!(
            a.body,
            r#"{"data":{"a":[2,1],"z":1},"kind":"import.run","seq":0,"subject":"file.csv","ts":"2026-12-03T10:00:00Z"}"#
        );
        assert_eq!(a.hash, hex::encode(chain_hash(&GENESIS, a.body.as_bytes())));
        let b = head
            .append("2026-12-03T10:00:01Z", "x", "y", json!(null))
            .expect("append");
        assert_eq!(b.seq, 1);
        assert_eq!(head.size, 2);
        let stored =
            Head::from_stored(2, &hex::encode(head.chain), &head.frontier_text()).expect("head");
        assert_eq!(stored, head);
    }

    #[test]
    fn corrupt_head_is_refused() {
        assert!(Head::from_stored(1, "00", "").is_err());
        assert!(Head::from_stored(3, &hex::encode(GENESIS), "0:").is_err());
    }
}
