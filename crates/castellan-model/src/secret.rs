use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A raw secret value held only in memory while it is fingerprinted and previewed.
///
/// It has no `Serialize` implementation, and `Debug`/`Display` print the redacted preview,
/// so a secret cannot reach a log line, an error message, a report or a panic by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a raw secret.
    pub fn new(raw: impl Into<String>) -> Self {
        Secret(raw.into())
    }

    /// The raw value, for fingerprinting only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The redacted preview of this secret.
    pub fn redacted(&self) -> Redacted {
        Redacted::of(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.redacted())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.redacted(), f)
    }
}

/// A preview of a secret that is safe to store and print: at most a 4-character prefix and the
/// last 4 characters of values of 16 characters or more, and only the length of shorter ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Redacted(String);

impl Redacted {
    /// Builds the preview of `raw`.
    pub fn of(raw: &str) -> Self {
        let chars: Vec<char> = raw.chars().collect();
        let n = chars.len();
        if n < 16 {
            return Redacted(format!("[redacted, {n} chars]"));
        }
        let head: String = chars[..4].iter().collect();
        let tail: String = chars[n - 4..].iter().collect();
        Redacted(format!("{head}…{tail} ({n} chars)"))
    }

    /// The preview text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A keyed hash of a secret: `hmac-sha256:<64 hex>`. Equal secrets in one database have equal
/// fingerprints (so a leaked key found twice is one key), yet the value cannot be recovered or
/// brute-forced without the per-database key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The textual form, `hmac-sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Rebuilds a fingerprint read back from storage.
    pub fn from_stored(s: impl Into<String>) -> Self {
        Fingerprint(s.into())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Failure to load or create a key file in the data directory.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file exists but could not be read or has the wrong content.
    #[error(
        "key file {path}: {reason}. Restore it from backup, or point --data-dir at the directory that holds it"
    )]
    Invalid {
        /// Path of the key file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// I/O while creating the key.
    #[error("cannot create key file {path}: {source}")]
    Io {
        /// Path of the key file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The per-database HMAC key behind every [`Fingerprint`], kept in the data directory
/// (`fingerprint.key`, mode 0600) and never in the database itself.
#[derive(Clone)]
pub struct FingerprintKey([u8; 32]);

impl fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FingerprintKey(id={})", self.key_id())
    }
}

const KEY_FILE: &str = "fingerprint.key";

impl FingerprintKey {
    /// A key from fixed bytes (tests and benchmarks).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        FingerprintKey(bytes)
    }

    /// Loads `DIR/fingerprint.key`, creating it with 32 random bytes on first use.
    pub fn load_or_create(dir: &Path) -> Result<Self, KeyError> {
        let bytes = load_or_create_key_file(dir, KEY_FILE)?;
        Ok(FingerprintKey(bytes))
    }

    /// Fingerprints a secret.
    pub fn fingerprint(&self, secret: &Secret) -> Fingerprint {
        self.fingerprint_bytes(secret.expose().as_bytes())
    }

    /// Fingerprints raw bytes (e.g. a private key block).
    pub fn fingerprint_bytes(&self, raw: &[u8]) -> Fingerprint {
        // HMAC accepts keys of any length, so this cannot fail for a 32-byte key.
        let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC-SHA256 accepts 32-byte keys"),
        };
        mac.update(raw);
        Fingerprint(format!(
            "hmac-sha256:{}",
            hex::encode(mac.finalize().into_bytes())
        ))
    }

    /// A public identifier of the key (not the key): the first 16 hex digits of its SHA-256.
    /// Stored in the database so that a database opened with the wrong key is refused.
    pub fn key_id(&self) -> String {
        let digest = Sha256::digest(self.0);
        hex::encode(&digest[..8])
    }
}

/// Reads a 32-byte hex key from `dir/name`, or creates one (mode 0600) if absent.
/// Shared by the fingerprint key and the ledger signing key.
pub fn load_or_create_key_file(dir: &Path, name: &str) -> Result<[u8; 32], KeyError> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let raw = hex::decode(text.trim()).map_err(|_| KeyError::Invalid {
                path: path.clone(),
                reason: "not a hex-encoded key".into(),
            })?;
            raw.try_into().map_err(|_| KeyError::Invalid {
                path,
                reason: "a key must be 32 bytes".into(),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let io = |source| KeyError::Io {
                path: path.clone(),
                source,
            };
            std::fs::create_dir_all(dir).map_err(io)?;
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| KeyError::Io {
                path: path.clone(),
                source: std::io::Error::other(e.to_string()),
            })?;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&path).map_err(io)?;
            f.write_all(hex::encode(bytes).as_bytes()).map_err(io)?;
            f.write_all(b"\n").map_err(io)?;
            f.sync_all().map_err(io)?;
            Ok(bytes)
        }
        Err(e) => Err(KeyError::Io { path, source: e }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints_itself() {
        let s = Secret::new("AKIAIOSFODNN7EXAMPLEwJalrXUtnFEMI");
        assert!(!format!("{s:?}").contains("IOSFODNN7EXAMPLEwJalr"));
        assert!(!format!("{s}").contains("IOSFODNN7EXAMPLEwJalr"));
        assert_eq!(s.redacted().as_str(), "AKIA…FEMI (33 chars)");
    }

    #[test]
    fn short_secrets_show_only_length() {
        assert_eq!(Redacted::of("hunter2").as_str(), "[redacted, 7 chars]");
    }

    #[test]
    fn fingerprint_is_keyed_and_stable() {
        let a = FingerprintKey::from_bytes([1; 32]);
        let b = FingerprintKey::from_bytes([2; 32]);
        let s = Secret::new("correct horse battery staple");
        assert_eq!(a.fingerprint(&s), a.fingerprint(&s));
        assert_ne!(a.fingerprint(&s), b.fingerprint(&s));
        assert!(a.fingerprint(&s).as_str().starts_with("hmac-sha256:"));
        assert_eq!(a.fingerprint(&s).as_str().len(), "hmac-sha256:".len() + 64);
    }

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let k1 = FingerprintKey::load_or_create(dir.path()).expect("create");
        let k2 = FingerprintKey::load_or_create(dir.path()).expect("load");
        assert_eq!(k1.key_id(), k2.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn corrupt_key_file_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(KEY_FILE), "zz").expect("write");
        assert!(FingerprintKey::load_or_create(dir.path()).is_err());
    }

    proptest::proptest! {
        #[test]
        fn redaction_never_reveals_the_middle(s in "[A-Za-z0-9]{16,80}") {
            let r = Redacted::of(&s);
            let middle = &s[4..s.len() - 4];
            if middle.len() >= 4 {
                proptest::prop_assert!(!r.as_str().contains(middle));
            }
        }
    }
}
