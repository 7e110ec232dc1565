//! Signed checkpoints: `(origin, tree size, Merkle root, chain head, time)` signed with ed25519.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Head;

const KEY_FILE: &str = "ledger-signing.key";
const PUB_FILE: &str = "ledger-signing.pub";
const WITNESS_FILE: &str = "checkpoints.jsonl";

/// Problems with keys, checkpoints or the witness file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Key file problem.
    #[error(transparent)]
    Key(#[from] castellan_model::KeyError),
    /// The checkpoint's signature does not verify with the ledger's public key.
    #[error(
        "checkpoint for {tree_size} entries (signed {timestamp}) has a signature that does not verify with the ledger key {key_id}: it was forged or altered"
    )]
    BadSignature {
        /// Size it claims.
        tree_size: u64,
        /// When it claims to be signed.
        timestamp: String,
        /// The verifying key's id.
        key_id: String,
    },
    /// Malformed checkpoint text.
    #[error("malformed checkpoint: {0}")]
    Malformed(String),
    /// Witness file I/O.
    #[error("witness file {path}: {reason}")]
    Witness {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// The ledger's ed25519 key pair, kept in the data directory (`ledger-signing.key`, mode 0600;
/// the public half also in `ledger-signing.pub` for auditors).
#[derive(Debug)]
pub struct LedgerKey {
    signing: SigningKey,
}

impl LedgerKey {
    /// Loads the key from `dir`, generating it on first use.
    pub fn load_or_create(dir: &Path) -> Result<LedgerKey, CheckpointError> {
        let seed = castellan_model::load_or_create_key_file(dir, KEY_FILE)?;
        let key = LedgerKey {
            signing: SigningKey::from_bytes(&seed),
        };
        let pub_path = dir.join(PUB_FILE);
        let expected = format!("{}\n", hex::encode(key.verifying().as_bytes()));
        if std::fs::read_to_string(&pub_path).ok().as_deref() != Some(expected.as_str()) {
            std::fs::write(&pub_path, expected).map_err(|e| CheckpointError::Witness {
                path: pub_path,
                reason: e.to_string(),
            })?;
        }
        Ok(key)
    }

    /// A key from a fixed seed (tests, benchmarks).
    pub fn from_seed(seed: [u8; 32]) -> LedgerKey {
        LedgerKey {
            signing: SigningKey::from_bytes(&seed),
        }
    }

    /// The public key.
    pub fn verifying(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// Short id of the public key (first 16 hex digits of its SHA-256).
    pub fn key_id(&self) -> String {
        key_id(&self.verifying())
    }

    /// Signs the current state of the ledger.
    pub fn sign(&self, origin: &str, head: &Head, timestamp: &str) -> Checkpoint {
        let mut cp = Checkpoint {
            origin: origin.to_string(),
            tree_size: head.size,
            root_hash: hex::encode(head.root()),
            chain_head: hex::encode(head.chain),
            timestamp: timestamp.to_string(),
            key_id: self.key_id(),
            signature: String::new(),
        };
        let sig = self.signing.sign(cp.signed_message().as_bytes());
        cp.signature = B64.encode(sig.to_bytes());
        cp
    }
}

fn key_id(k: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(k.as_bytes())[..8])
}

/// A signed statement of the ledger's state at a size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Which ledger (a per-database id).
    pub origin: String,
    /// Number of entries covered.
    pub tree_size: u64,
    /// RFC 6962 Merkle root (hex) over those entries.
    pub root_hash: String,
    /// Chain hash (hex) of the last covered entry.
    pub chain_head: String,
    /// When it was signed (RFC 3339 UTC).
    pub timestamp: String,
    /// Id of the signing key.
    pub key_id: String,
    /// ed25519 signature (base64) over [`Checkpoint::signed_message`].
    pub signature: String,
}

impl Checkpoint {
    /// The exact text that is signed.
    pub fn signed_message(&self) -> String {
        format!(
            "castellan-checkpoint/v1\n{}\n{}\n{}\n{}\n{}\n",
            self.origin, self.tree_size, self.root_hash, self.chain_head, self.timestamp
        )
    }

    /// Checks the signature with `key`.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), CheckpointError> {
        let bad = || CheckpointError::BadSignature {
            tree_size: self.tree_size,
            timestamp: self.timestamp.clone(),
            key_id: key_id(key),
        };
        let raw = B64.decode(&self.signature).map_err(|_| bad())?;
        let raw: [u8; 64] = raw.try_into().map_err(|_| bad())?;
        key.verify_strict(
            self.signed_message().as_bytes(),
            &Signature::from_bytes(&raw),
        )
        .map_err(|_| bad())
    }

    /// Single-line JSON form.
    pub fn to_json(&self) -> String {
        // A struct of strings and an integer always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Appends a checkpoint to the witness file `DIR/checkpoints.jsonl`: a copy outside the database,
/// so that truncating or rewriting the database ledger is still detected.
pub fn write_witness(dir: &Path, cp: &Checkpoint) -> Result<(), CheckpointError> {
    let path = dir.join(WITNESS_FILE);
    let err = |e: std::io::Error| CheckpointError::Witness {
        path: path.clone(),
        reason: e.to_string(),
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(err)?;
    writeln!(f, "{}", cp.to_json()).map_err(err)?;
    f.sync_all().map_err(err)
}

/// Reads the witness checkpoints of `origin` (other ledgers' lines are skipped).
pub fn read_witness(dir: &Path, origin: &str) -> Result<Vec<Checkpoint>, CheckpointError> {
    let path = dir.join(WITNESS_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(CheckpointError::Witness {
                path,
                reason: e.to_string(),
            });
        }
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let cp: Checkpoint = serde_json::from_str(line).map_err(|e| CheckpointError::Witness {
            path: path.clone(),
            reason: format!("line {}: {e}", i + 1),
        })?;
        if cp.origin == origin {
            out.push(cp);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sign_and_verify_and_detect_forgery() {
        let key = LedgerKey::from_seed([7; 32]);
        let mut head = Head::default();
        head.append("t", "k", "s", json!(1)).expect("append");
        let cp = key.sign("castellan:test", &head, "2026-12-03T10:00:00Z");
        cp.verify(&key.verifying()).expect("valid");

        let mut forged = cp.clone();
        forged.tree_size = 5;
        assert!(forged.verify(&key.verifying()).is_err());

        let other = LedgerKey::from_seed([8; 32]);
        let by_other = other.sign("castellan:test", &head, "2026-12-03T10:00:00Z");
        assert!(by_other.verify(&key.verifying()).is_err());
    }

    #[test]
    fn witness_roundtrip_filters_by_origin() {
        let dir = tempfile::tempdir().expect("tmp");
        let key = LedgerKey::load_or_create(dir.path()).expect("key");
        let head = Head::default();
        write_witness(dir.path(), &key.sign("a", &head, "t1")).expect("w");
        write_witness(dir.path(), &key.sign("b", &head, "t2")).expect("w");
        let got = read_witness(dir.path(), "a").expect("read");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].timestamp, "t1");
        assert!(dir.path().join(PUB_FILE).exists());
    }
}
