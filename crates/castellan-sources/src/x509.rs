//! X.509 certificates as they lie on disk: PEM files (one or many `-----BEGIN CERTIFICATE-----`
//! blocks: a single certificate, a chain, a CA bundle), DER files (`.cer`, `.crt`, `.der`) and
//! PKCS#12 files (`.p12`, `.pfx`, opened with a password: see [`parse_with_password`]).
//!
//! Yields:
//! - every certificate as a `certificate` credential `x509:sha256:<hex SHA-256 of the DER>`
//!   (the fingerprint `openssl x509 -fingerprint -sha256` prints, lower-case, without colons),
//!   issued at `notBefore`, expiring at `notAfter` (none for the RFC 5280 "no well-defined
//!   expiration" date 9999-12-31T23:59:59Z), with its subject, SANs, issuer, serial, key
//!   algorithm and size, signature algorithm, CA flag, key usages, whether it is self-signed,
//!   its position in the file's chain (leaf, intermediate, root, and the certificate of the same
//!   file that issued it), its weaknesses (RSA under 2048 bits, DSA, curves under 256 bits,
//!   MD2/MD5/SHA-1 signatures) and who can issue, revoke and use it;
//! - one `x509-subject` identity `x509:subject:<CN or first SAN, lower-case>` per distinct
//!   end-entity (non-CA) subject; CA certificates have none.
//!
//! Status is always `active`: a pure parser does not read the clock, controls judge expiry from
//! `expires_at`. A private key found in the same file (a PEM `… PRIVATE KEY` block, the key bag of
//! a PKCS#12) is never decoded nor kept: its certificates get `private_key_in_file: true`, and
//! `exposed: true` when the key is not encrypted. Signatures are not verified: "self-signed" means
//! issuer equals subject and the key identifiers (when present) agree.
//!
//! The scope is `x509:<path>`, the path made canonical when the file exists (see
//! `canonical_path`), so the way the caller spells the path does not split one file into two
//! scopes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use base64::Engine;
use castellan_model::{Credential, Identity, Privilege, Status};
use jiff::Timestamp;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;

use crate::{Records, SourceError};

/// The source name.
pub const SOURCE: &str = "x509";

/// The environment variable the CLI reads a PKCS#12 password from.
pub const P12_PASSWORD_ENV: &str = "CASTELLAN_P12_PASSWORD";

/// At most this many certificates are read from one file.
const MAX_CERTS: usize = 10_000;

/// Above this PBKDF iteration count a PKCS#12 MAC is refused (OpenSSL uses 2048, Java 10000).
const MAX_P12_ITERATIONS: u64 = 1_000_000;

/// `notAfter` meaning "no well-defined expiration date" (RFC 5280 §4.1.2.5).
const NO_EXPIRY: i64 = 253_402_300_799;

const PEM_CERT_LABELS: [&str; 3] = ["CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"];

/// Whether the first bytes of a file, as text, hold a PEM certificate (a
/// `-----BEGIN CERTIFICATE-----` line starting in the first column; an embedded, indented or
/// quoted PEM inside JSON or YAML does not count). DER and PKCS#12 files are recognised by
/// [`looks_like_bytes`].
pub fn looks_like(head: &str) -> bool {
    head.trim_start_matches('\u{feff}').lines().any(|l| {
        PEM_CERT_LABELS
            .iter()
            .any(|label| l.trim_end() == format!("-----BEGIN {label}-----"))
    })
}

/// Whether the first bytes of a binary file are a DER certificate (an ASN.1 SEQUENCE whose first
/// element is the `tbsCertificate` SEQUENCE, starting with a version or a serial) or a PKCS#12
/// PFX (a SEQUENCE starting with `INTEGER 3`).
pub fn looks_like_bytes(head: &[u8]) -> bool {
    der_kind(head).is_some()
}

/// Parses a certificate file without a PKCS#12 password: a PKCS#12 file is refused with an error
/// that asks for [`P12_PASSWORD_ENV`].
pub fn parse(path: &str, bytes: &[u8]) -> Result<Records, SourceError> {
    parse_with_password(path, bytes, None)
}

/// Parses a PEM, DER or PKCS#12 certificate file; `p12_password` opens a PKCS#12 file.
pub fn parse_with_password(
    path: &str,
    bytes: &[u8],
    p12_password: Option<&str>,
) -> Result<Records, SourceError> {
    let file_err = |message: String| SourceError::File {
        path: path.into(),
        message,
    };
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(file_err("the file is empty".into()));
    }
    let found = match der_kind(bytes) {
        Some(DerKind::Certificate) => Found {
            certs: vec![Entry {
                der: bytes.to_vec(),
                line: None,
                format: "der",
                friendly_name: None,
                key_in_file: None,
            }],
            key_in_file: None,
        },
        Some(DerKind::Pkcs12) => read_p12(path, bytes, p12_password)?,
        None => {
            let text = String::from_utf8_lossy(bytes);
            if !text.contains("-----BEGIN ") {
                return Err(file_err(
                    "not a certificate file: neither PEM (`-----BEGIN CERTIFICATE-----`) nor DER \
                     nor PKCS#12"
                        .into(),
                ));
            }
            read_pem(path, &text)?
        }
    };
    build(path, found)
}

/// The scope of the certificates a live TLS endpoint presented: `x509:tls:HOST:PORT`, the same
/// on every read (unlike the path of the file a read is kept in).
pub fn endpoint_scope(endpoint: &str) -> String {
    format!("x509:tls:{endpoint}")
}

/// Parses the certificates a TLS endpoint (`HOST:PORT`) presented, as a PEM bundle (leaf first):
/// the same facts as for a file, with the scope [`endpoint_scope`] (instead of `x509:<path>`) and
/// an `endpoint` attribute on every certificate. Errors name the endpoint.
pub fn parse_endpoint(endpoint: &str, bytes: &[u8]) -> Result<Records, SourceError> {
    let mut records = parse(endpoint, bytes)?;
    let scope = endpoint_scope(endpoint);
    for i in &mut records.identities {
        i.scope.clone_from(&scope);
    }
    for c in &mut records.credentials {
        c.scope.clone_from(&scope);
        c.attributes.insert("endpoint".into(), json!(endpoint));
    }
    Ok(records)
}

// ---------------------------------------------------------------------------------------------
// DER framing.

#[derive(Clone, Copy, Debug, PartialEq)]
enum DerKind {
    Certificate,
    Pkcs12,
}

/// A DER header: (tag, header length, content length; `None` for BER indefinite length).
fn der_header(b: &[u8]) -> Option<(u8, usize, Option<usize>)> {
    let tag = *b.first()?;
    let first = *b.get(1)?;
    if first < 0x80 {
        return Some((tag, 2, Some(first as usize)));
    }
    if first == 0x80 {
        return Some((tag, 2, None));
    }
    let n = (first & 0x7f) as usize;
    if n > 4 {
        return None;
    }
    let mut len = 0usize;
    for i in 0..n {
        len = (len << 8) | *b.get(2 + i)? as usize;
    }
    Some((tag, 2 + n, Some(len)))
}

fn der_kind(b: &[u8]) -> Option<DerKind> {
    let (tag, hl, _) = der_header(b)?;
    if tag != 0x30 {
        return None;
    }
    let inner = b.get(hl..)?;
    if inner.starts_with(&[0x02, 0x01, 0x03]) {
        // PFX: version 3, then the authSafe ContentInfo (a SEQUENCE)
        return (inner.get(3) == Some(&0x30)).then_some(DerKind::Pkcs12);
    }
    let (tag, hl, _) = der_header(inner)?;
    if tag != 0x30 {
        return None;
    }
    let tbs = inner.get(hl..)?;
    // version [0] EXPLICIT INTEGER, or a v1 certificate starting with the serial INTEGER
    let ok = tbs.starts_with(&[0xa0, 0x03, 0x02, 0x01]) || tbs.first() == Some(&0x02);
    ok.then_some(DerKind::Certificate)
}

/// The PBKDF iteration count of a PFX's MAC, when it has one.
fn p12_mac_iterations(b: &[u8]) -> Option<u64> {
    let (_, hl, _) = der_header(b)?;
    let mut rest = b.get(hl..)?;
    // skip version and authSafe
    for _ in 0..2 {
        let (_, hl, len) = der_header(rest)?;
        rest = rest.get(hl + len?..)?;
    }
    let (tag, hl, _) = der_header(rest)?;
    if tag != 0x30 {
        return None;
    }
    rest = rest.get(hl..)?;
    // skip the DigestInfo and the salt
    for _ in 0..2 {
        let (_, hl, len) = der_header(rest)?;
        rest = rest.get(hl + len?..)?;
    }
    let (tag, hl, len) = der_header(rest)?;
    let len = len?;
    if tag != 0x02 || len == 0 || len > 8 {
        return Some(1);
    }
    Some(
        rest.get(hl..hl + len)?
            .iter()
            .fold(0u64, |n, &b| (n << 8) | b as u64),
    )
}

// ---------------------------------------------------------------------------------------------
// Reading the file.

/// One certificate as found in the file.
struct Entry {
    der: Vec<u8>,
    /// PEM: the line of its `BEGIN`.
    line: Option<u64>,
    format: &'static str,
    friendly_name: Option<String>,
    /// PKCS#12: whether this certificate's private key is in the file (always encrypted there).
    key_in_file: Option<bool>,
}

/// A private key found next to the certificates: never decoded, only noted.
#[derive(Clone, Copy, Debug)]
struct KeyInFile {
    encrypted: bool,
}

struct Found {
    certs: Vec<Entry>,
    /// PEM: a private key block somewhere in the file (applies to all its certificates).
    key_in_file: Option<KeyInFile>,
}

fn read_pem(path: &str, text: &str) -> Result<Found, SourceError> {
    let mut certs = Vec::new();
    let mut key: Option<KeyInFile> = None;
    let mut lines = text.trim_start_matches('\u{feff}').lines().enumerate();
    while let Some((i, raw)) = lines.next() {
        let l = raw.trim();
        let Some(label) = l
            .strip_prefix("-----BEGIN ")
            .and_then(|r| r.strip_suffix("-----"))
        else {
            continue;
        };
        let start = i as u64 + 1;
        let is_cert = PEM_CERT_LABELS.contains(&label);
        let is_key = label.ends_with("PRIVATE KEY");
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut encrypted = label.starts_with("ENCRYPTED");
        let mut closed = false;
        for (_, raw) in lines.by_ref() {
            let l = raw.trim();
            if l == end {
                closed = true;
                break;
            }
            if l.starts_with("-----BEGIN ") {
                break;
            }
            if is_key {
                if l.starts_with("Proc-Type:") && l.contains("ENCRYPTED") {
                    encrypted = true;
                }
                // an OpenSSH key says its cipher in the first bytes; nothing else is looked at
                if label == "OPENSSH PRIVATE KEY" && body.len() < 64 {
                    body.push_str(l);
                }
            } else if is_cert {
                if l.contains(':') {
                    continue; // RFC 1421 headers
                }
                body.push_str(l);
            }
        }
        if !closed {
            let what = if is_key {
                "a private key block".to_string()
            } else {
                format!("the {label} block")
            };
            return Err(SourceError::Line {
                path: path.into(),
                line: start,
                message: format!("{what} has no `{end}` line (truncated?)"),
            });
        }
        if is_key {
            if label == "OPENSSH PRIVATE KEY" {
                encrypted = openssh_key_encrypted(&body).unwrap_or(encrypted);
            }
            body.clear();
            let k = key.get_or_insert(KeyInFile { encrypted });
            // one clear key exposes the file
            k.encrypted &= encrypted;
            continue;
        }
        if !is_cert {
            continue;
        }
        if certs.len() >= MAX_CERTS {
            return Err(SourceError::Line {
                path: path.into(),
                line: start,
                message: format!("more than {MAX_CERTS} certificates in one file"),
            });
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map_err(|e| SourceError::Line {
                path: path.into(),
                line: start,
                message: format!("the {label} block is not valid base64 ({e})"),
            })?;
        certs.push(Entry {
            der,
            line: Some(start),
            format: "pem",
            friendly_name: None,
            key_in_file: None,
        });
    }
    if certs.is_empty() {
        let message = if key.is_some() {
            "holds a private key but no certificate: Castellan does not import private keys \
             (give it the certificate file)"
        } else {
            "no `-----BEGIN CERTIFICATE-----` block in the file"
        };
        return Err(SourceError::File {
            path: path.into(),
            message: message.into(),
        });
    }
    Ok(Found {
        certs,
        key_in_file: key,
    })
}

/// Whether an `openssh-key-v1` key is encrypted: its cipher name, read from the start of the
/// base64 body (the key itself is not decoded).
fn openssh_key_encrypted(b64_head: &str) -> Option<bool> {
    let take = b64_head.len().min(64) / 4 * 4;
    let head = base64::engine::general_purpose::STANDARD
        .decode(b64_head.get(..take)?)
        .ok()?;
    let rest = head.strip_prefix(b"openssh-key-v1\0")?;
    let n = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let cipher = rest.get(4..4 + n)?;
    Some(cipher != b"none")
}

fn read_p12(path: &str, bytes: &[u8], password: Option<&str>) -> Result<Found, SourceError> {
    let file_err = |message: String| SourceError::File {
        path: path.into(),
        message,
    };
    let Some(password) = password else {
        return Err(file_err(format!(
            "is a PKCS#12 (.p12/.pfx) file, which is password-protected: set {P12_PASSWORD_ENV} \
             to its password"
        )));
    };
    if let Some(n) = p12_mac_iterations(bytes)
        && n > MAX_P12_ITERATIONS
    {
        return Err(file_err(format!(
            "PKCS#12 MAC iteration count {n} is above {MAX_P12_ITERATIONS}: refused"
        )));
    }
    let archive = p12_keystore::Pkcs12Archive::from_pkcs12(bytes, password).map_err(|e| {
        use p12_keystore::error::Error as E;
        match e {
            E::MacError(_) => file_err(format!(
                "the PKCS#12 password does not open this file (MAC check failed): check \
                 {P12_PASSWORD_ENV}"
            )),
            E::UnpadError => file_err(format!(
                "the PKCS#12 contents cannot be decrypted (wrong password?): check \
                 {P12_PASSWORD_ENV}"
            )),
            other => file_err(format!("not a readable PKCS#12 file: {other}")),
        }
    })?;
    let key_ids: BTreeSet<Vec<u8>> = archive
        .keys
        .iter()
        .filter_map(|k| k.local_key_id.as_ref().map(|id| id.0.clone()))
        .collect();
    let single_key = archive.keys.len() == 1;
    let mut certs = Vec::new();
    for bag in &archive.certs {
        if certs.len() >= MAX_CERTS {
            return Err(file_err(format!(
                "more than {MAX_CERTS} certificates in one file"
            )));
        }
        let has_key = match &bag.local_key_id {
            Some(id) => key_ids.contains(id) || (single_key && key_ids.is_empty()),
            None => false,
        };
        certs.push(Entry {
            der: bag.cert.as_der().to_vec(),
            line: None,
            format: "pkcs12",
            friendly_name: bag.friendly_name.clone(),
            key_in_file: Some(has_key),
        });
    }
    drop(archive);
    if certs.is_empty() {
        return Err(file_err("the PKCS#12 file holds no certificate".into()));
    }
    Ok(Found {
        certs,
        key_in_file: None,
    })
}

// ---------------------------------------------------------------------------------------------
// Facts of one certificate.

#[derive(Debug, Default)]
struct Facts {
    fingerprint: String,
    subject: String,
    subject_raw: Vec<u8>,
    issuer: String,
    issuer_raw: Vec<u8>,
    common_name: Option<String>,
    sans: BTreeMap<&'static str, Vec<String>>,
    serial: String,
    not_before: Option<Timestamp>,
    not_after: Option<Timestamp>,
    no_expiry: bool,
    key_algorithm: String,
    key_bits: Option<u64>,
    key_curve: Option<String>,
    signature_algorithm: String,
    ca: bool,
    path_len: Option<u32>,
    key_usage: Vec<&'static str>,
    extended_key_usage: Vec<String>,
    ski: Option<Vec<u8>>,
    aki: Option<Vec<u8>>,
    weak: Vec<String>,
}

impl Facts {
    fn self_signed(&self) -> bool {
        self.issuer_raw == self.subject_raw
            && match (&self.aki, &self.ski) {
                (Some(a), Some(s)) => a == s,
                _ => true,
            }
    }

    fn issued(&self, child: &Facts) -> bool {
        child.issuer_raw == self.subject_raw
            && match (&child.aki, &self.ski) {
                (Some(a), Some(s)) => a == s,
                _ => true,
            }
    }

    /// The name an identity is keyed on: the common name, else the first SAN.
    fn subject_key(&self) -> Option<String> {
        let first_san = ["dns", "email", "uri", "ip"]
            .iter()
            .find_map(|k| self.sans.get(k).and_then(|v| v.first()).cloned());
        self.common_name
            .clone()
            .filter(|s| !s.trim().is_empty())
            .or(first_san)
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn bit_len(be: &[u8]) -> u64 {
    let trimmed: &[u8] = match be.iter().position(|&b| b != 0) {
        Some(i) => &be[i..],
        None => &[],
    };
    match trimmed.first() {
        None => 0,
        Some(&top) => (trimmed.len() as u64 - 1) * 8 + (8 - top.leading_zeros() as u64),
    }
}

fn signature_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "1.2.840.113549.1.1.2" => "md2WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.2.840.10040.4.3" => "dsa-with-sha1",
        "2.16.840.1.101.3.4.3.2" => "dsa-with-sha256",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        _ => return None,
    })
}

fn curve_name(oid: &str) -> Option<(&'static str, u64)> {
    Some(match oid {
        "1.2.840.10045.3.1.1" => ("P-192", 192),
        "1.3.132.0.33" => ("P-224", 224),
        "1.2.840.10045.3.1.7" => ("P-256", 256),
        "1.3.132.0.34" => ("P-384", 384),
        "1.3.132.0.35" => ("P-521", 521),
        "1.3.132.0.10" => ("secp256k1", 256),
        "1.3.36.3.3.2.8.1.1.7" => ("brainpoolP256r1", 256),
        "1.3.36.3.3.2.8.1.1.11" => ("brainpoolP384r1", 384),
        "1.3.36.3.3.2.8.1.1.13" => ("brainpoolP512r1", 512),
        _ => return None,
    })
}

fn facts_of(path: &str, entry: &Entry, index: usize) -> Result<(Facts, usize), SourceError> {
    let place = match entry.line {
        Some(l) => format!("the certificate at line {l}"),
        None => format!("certificate {}", index + 1),
    };
    let bad = |message: String| match entry.line {
        Some(line) => SourceError::Line {
            path: path.into(),
            line,
            message,
        },
        None => SourceError::File {
            path: path.into(),
            message,
        },
    };
    let (rest, cert) = X509Certificate::from_der(&entry.der)
        .map_err(|e| bad(format!("{place} is not a valid X.509 certificate: {e}")))?;
    let der_len = entry.der.len() - rest.len();
    let der = &entry.der[..der_len];
    let mut f = Facts {
        fingerprint: hex(&Sha256::digest(der)),
        subject: cert.subject().to_string(),
        subject_raw: cert.subject().as_raw().to_vec(),
        issuer: cert.issuer().to_string(),
        issuer_raw: cert.issuer().as_raw().to_vec(),
        common_name: cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|a| a.as_str().ok())
            .map(str::to_string),
        ..Facts::default()
    };
    let serial = cert.raw_serial();
    let serial = match serial.iter().position(|&b| b != 0) {
        Some(i) => &serial[i..],
        None => serial.get(..1).unwrap_or(&[]),
    };
    f.serial = hex(serial).to_uppercase();
    let ts = |t: i64| Timestamp::from_second(t).ok();
    f.not_before = ts(cert.validity().not_before.timestamp());
    let not_after = cert.validity().not_after.timestamp();
    f.no_expiry = not_after == NO_EXPIRY;
    f.not_after = if f.no_expiry { None } else { ts(not_after) };

    // key
    let spki = cert.public_key();
    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => {
            f.key_algorithm = "RSA".into();
            if let Ok(PublicKey::RSA(k)) = spki.parsed() {
                f.key_bits = Some(bit_len(k.modulus));
            }
        }
        "1.2.840.10045.2.1" => {
            f.key_algorithm = "EC".into();
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string());
            match curve.as_deref().and_then(curve_name) {
                Some((name, bits)) => {
                    f.key_curve = Some(name.into());
                    f.key_bits = Some(bits);
                }
                None => {
                    f.key_curve = curve;
                    if let Ok(k) = spki.parsed() {
                        f.key_bits = Some(k.key_size() as u64).filter(|&b| b > 0);
                    }
                }
            }
        }
        "1.2.840.10040.4.1" => {
            f.key_algorithm = "DSA".into();
            // the size of a DSA key is the size of p, the first domain parameter
            f.key_bits = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| dsa_p_bits(p.data));
        }
        "1.3.101.112" => {
            f.key_algorithm = "Ed25519".into();
            f.key_bits = Some(256);
        }
        "1.3.101.113" => {
            f.key_algorithm = "Ed448".into();
            f.key_bits = Some(456);
        }
        other => f.key_algorithm = other.to_string(),
    }
    let sig = cert.signature_algorithm.algorithm.to_id_string();
    f.signature_algorithm = signature_name(&sig).map(str::to_string).unwrap_or(sig);

    // extensions
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::BasicConstraints(bc) => {
                f.ca = bc.ca;
                f.path_len = bc.path_len_constraint;
            }
            ParsedExtension::KeyUsage(ku) => {
                let all = [
                    (ku.digital_signature(), "digitalSignature"),
                    (ku.non_repudiation(), "nonRepudiation"),
                    (ku.key_encipherment(), "keyEncipherment"),
                    (ku.data_encipherment(), "dataEncipherment"),
                    (ku.key_agreement(), "keyAgreement"),
                    (ku.key_cert_sign(), "keyCertSign"),
                    (ku.crl_sign(), "cRLSign"),
                    (ku.encipher_only(), "encipherOnly"),
                    (ku.decipher_only(), "decipherOnly"),
                ];
                f.key_usage = all.iter().filter(|(on, _)| *on).map(|(_, n)| *n).collect();
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                let all = [
                    (eku.any, "anyExtendedKeyUsage"),
                    (eku.server_auth, "serverAuth"),
                    (eku.client_auth, "clientAuth"),
                    (eku.code_signing, "codeSigning"),
                    (eku.email_protection, "emailProtection"),
                    (eku.time_stamping, "timeStamping"),
                    (eku.ocsp_signing, "OCSPSigning"),
                ];
                f.extended_key_usage = all
                    .iter()
                    .filter(|(on, _)| *on)
                    .map(|(_, n)| n.to_string())
                    .chain(eku.other.iter().map(|o| o.to_id_string()))
                    .collect();
            }
            ParsedExtension::SubjectAlternativeName(san) => {
                for n in &san.general_names {
                    let (k, v) = match n {
                        GeneralName::DNSName(s) => ("dns", s.to_string()),
                        GeneralName::RFC822Name(s) => ("email", s.to_string()),
                        GeneralName::URI(s) => ("uri", s.to_string()),
                        GeneralName::IPAddress(b) => match ip(b) {
                            Some(ip) => ("ip", ip),
                            None => continue,
                        },
                        _ => continue,
                    };
                    f.sans.entry(k).or_default().push(v);
                }
            }
            ParsedExtension::SubjectKeyIdentifier(k) => f.ski = Some(k.0.to_vec()),
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                f.aki = a.key_identifier.as_ref().map(|k| k.0.to_vec());
            }
            _ => {}
        }
    }

    // weaknesses
    match (f.key_algorithm.as_str(), f.key_bits) {
        ("RSA", Some(b)) if b < 2048 => f.weak.push(format!("RSA key of {b} bits (< 2048)")),
        ("DSA", _) => f.weak.push("DSA key".into()),
        ("EC", Some(b)) if b < 256 => f.weak.push(format!("EC key of {b} bits (< 256)")),
        _ => {}
    }
    let s = f.signature_algorithm.to_ascii_lowercase();
    if s.starts_with("md2") || s.starts_with("md5") {
        f.weak
            .push(format!("{} signature (MD5/MD2)", f.signature_algorithm));
    } else if s.starts_with("sha1") || s.ends_with("sha1") {
        f.weak
            .push(format!("{} signature (SHA-1)", f.signature_algorithm));
    }
    Ok((f, der_len))
}

fn dsa_p_bits(params: &[u8]) -> Option<u64> {
    // Dss-Parms ::= SEQUENCE { p INTEGER, q INTEGER, g INTEGER }; `params` is its content or
    // the whole SEQUENCE depending on the parser
    let inner = match der_header(params) {
        Some((0x30, hl, _)) => params.get(hl..)?,
        _ => params,
    };
    let (tag, hl, len) = der_header(inner)?;
    if tag != 0x02 {
        return None;
    }
    Some(bit_len(inner.get(hl..hl + len?)?))
}

fn ip(b: &[u8]) -> Option<String> {
    match b.len() {
        4 => {
            let a: [u8; 4] = b.try_into().ok()?;
            Some(std::net::Ipv4Addr::from(a).to_string())
        }
        16 => {
            let a: [u8; 16] = b.try_into().ok()?;
            Some(std::net::Ipv6Addr::from(a).to_string())
        }
        _ => None,
    }
}

fn cred_id(fingerprint: &str) -> String {
    format!("x509:sha256:{fingerprint}")
}

// ---------------------------------------------------------------------------------------------
// Records.

/// The path as the file system names it: absolute, with `.`, `..` and symbolic links resolved,
/// when the file exists; else the path as given. Scopes built from it do not depend on how the
/// caller spelt the path (`certs/a.pem`, `./certs/a.pem`, `/srv/estate/certs/a.pem`).
pub(crate) fn canonical_path(path: &str) -> String {
    let Some(abs_path) = std::fs::canonicalize(path).ok() else {
        return path.to_string();
    };
    // Inside the working directory, relative to it: the same file however it is spelt, and the
    // same scope for the same estate wherever it is checked out (evidence stays reproducible).
    if let Some(rel) = std::env::current_dir()
        .ok()
        .and_then(|d| std::fs::canonicalize(d).ok())
        .and_then(|d| abs_path.strip_prefix(d).ok().map(|r| r.to_path_buf()))
        .and_then(|r| r.to_str().map(|s| s.replace('\\', "/")))
    {
        return rel;
    }
    let Some(abs) = abs_path.to_str().map(str::to_string) else {
        return path.to_string();
    };
    // Windows: `\\?\C:\…` ⇒ `C:\…` (a `\\?\UNC\…` share path is kept whole)
    match abs.strip_prefix(r"\\?\") {
        Some(rest) if !rest.starts_with("UNC\\") => rest.to_string(),
        _ => abs,
    }
}

fn build(path: &str, found: Found) -> Result<Records, SourceError> {
    let scope = format!("x509:{}", canonical_path(path));
    // parse everything first; identical certificates (same fingerprint) are one credential
    let mut certs: Vec<(Facts, Vec<&Entry>)> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, e) in found.certs.iter().enumerate() {
        let (f, _) = facts_of(path, e, i)?;
        match seen.get(&f.fingerprint) {
            Some(&j) => certs[j].1.push(e),
            None => {
                seen.insert(f.fingerprint.clone(), certs.len());
                certs.push((f, vec![e]));
            }
        }
    }

    // chain: who issued whom, within the file
    let issuer_of: Vec<Option<usize>> = (0..certs.len())
        .map(|i| {
            if certs[i].0.self_signed() {
                return None;
            }
            (0..certs.len()).find(|&j| j != i && certs[j].0.issued(&certs[i].0))
        })
        .collect();
    let reaches_root = |mut i: usize| {
        for _ in 0..=certs.len() {
            if certs[i].0.self_signed() {
                return true;
            }
            match issuer_of[i] {
                Some(j) => i = j,
                None => return false,
            }
        }
        false
    };

    let mut records = Records::default();
    let mut identities: BTreeMap<String, Identity> = BTreeMap::new();
    for (i, (f, entries)) in certs.iter().enumerate() {
        let id = cred_id(&f.fingerprint);
        let self_signed = f.self_signed();
        let position = if !f.ca {
            "leaf"
        } else if self_signed {
            "root"
        } else {
            "intermediate"
        };
        let key_in_file =
            entries.iter().any(|e| e.key_in_file == Some(true)) || found.key_in_file.is_some();
        let key_encrypted = match found.key_in_file {
            Some(k) => k.encrypted,
            None => true, // PKCS#12 keys are always encrypted
        };
        let exposed = key_in_file && !key_encrypted;

        let mut a = BTreeMap::new();
        a.insert("subject".into(), json!(f.subject));
        a.insert("issuer".into(), json!(f.issuer));
        if let Some(cn) = &f.common_name {
            a.insert("common_name".into(), json!(cn));
        }
        if !f.sans.is_empty() {
            a.insert("sans".into(), json!(f.sans));
        }
        a.insert("serial".into(), json!(f.serial));
        a.insert("sha256_fingerprint".into(), json!(f.fingerprint));
        a.insert("key_algorithm".into(), json!(f.key_algorithm));
        if let Some(b) = f.key_bits {
            a.insert("key_bits".into(), json!(b));
        }
        if let Some(c) = &f.key_curve {
            a.insert("key_curve".into(), json!(c));
        }
        a.insert("signature_algorithm".into(), json!(f.signature_algorithm));
        a.insert("self_signed".into(), json!(self_signed));
        a.insert("ca".into(), json!(f.ca));
        if let Some(p) = f.path_len {
            a.insert("path_len".into(), json!(p));
        }
        if !f.key_usage.is_empty() {
            a.insert("key_usage".into(), json!(f.key_usage));
        }
        if !f.extended_key_usage.is_empty() {
            a.insert("extended_key_usage".into(), json!(f.extended_key_usage));
        }
        if let (Some(nb), Some(na)) = (f.not_before, f.not_after) {
            let days = (na.as_second() - nb.as_second()).div_euclid(86_400);
            a.insert("validity_days".into(), json!(days));
        }
        if f.no_expiry {
            a.insert("no_expiry".into(), json!(true));
        }
        a.insert("chain_position".into(), json!(position));
        a.insert("issuer_in_file".into(), json!(issuer_of[i].is_some()));
        if let Some(j) = issuer_of[i] {
            a.insert("issued_by".into(), json!(cred_id(&certs[j].0.fingerprint)));
        }
        if !f.ca {
            a.insert("chain_to_root_in_file".into(), json!(reaches_root(i)));
        }
        a.insert("weak_key".into(), json!(!f.weak.is_empty()));
        if !f.weak.is_empty() {
            a.insert("weak_reasons".into(), json!(f.weak));
        }
        a.insert("file_format".into(), json!(entries[0].format));
        let lines: Vec<u64> = entries.iter().filter_map(|e| e.line).collect();
        if !lines.is_empty() {
            a.insert("lines".into(), json!(lines));
        }
        if let Some(n) = entries.iter().find_map(|e| e.friendly_name.as_ref()) {
            a.insert("pkcs12_friendly_name".into(), json!(n));
        }
        if key_in_file {
            a.insert("private_key_in_file".into(), json!(true));
            a.insert("private_key_encrypted".into(), json!(key_encrypted));
        }
        if exposed {
            a.insert("exposed".into(), json!(true));
            a.insert(
                "exposure".into(),
                json!(format!(
                    "an unencrypted private key is stored in the same file ({path})"
                )),
            );
        }

        // lifecycle authority
        let mut principals = Vec::new();
        if self_signed {
            principals.push(json!({
                "principal": id,
                "can": ["issue", "use"],
                "via": ["self-signed: whoever holds its private key can re-issue it"],
            }));
        } else {
            let issuer = issuer_of[i]
                .map(|j| cred_id(&certs[j].0.fingerprint))
                .unwrap_or_else(|| format!("x509:issuer:{}", f.issuer));
            principals.push(json!({
                "principal": issuer,
                "can": ["issue", "revoke"],
                "via": ["issuing CA (revocation by CRL/OCSP)"],
            }));
        }
        if exposed {
            principals.push(json!({
                "principal": format!("readers of {path}"),
                "can": ["use"],
                "via": ["unencrypted private key in the same file"],
            }));
        }
        let note = if self_signed {
            "a self-signed certificate cannot be revoked: it stops being trusted only when it is \
             removed from every trust store; who holds its private key is not in the file"
        } else {
            "the issuing CA can revoke it and issue its replacement; whoever holds the private key \
             uses it; who holds the key is not in the file"
        };
        a.insert(
            "lifecycle_authority".into(),
            json!({ "principals": principals, "note": note }),
        );

        let identity_id = if f.ca {
            None
        } else {
            f.subject_key().map(|key| {
                let iid = format!("x509:subject:{key}");
                let ident = identities.entry(iid.clone()).or_insert_with(|| Identity {
                    id: iid.clone(),
                    kind: "x509-subject".into(),
                    source: SOURCE.into(),
                    scope: scope.clone(),
                    name: key.clone(),
                    account: None,
                    status: Status::Active,
                    privilege: Privilege::Unknown,
                    created_at: None,
                    last_used_at: None,
                    tags: BTreeMap::new(),
                    attributes: BTreeMap::from([
                        ("subject".into(), json!(f.subject)),
                        (
                            "privilege_reason".into(),
                            json!(
                                "a certificate proves who its holder is; what it may do is \
                                 decided by the systems that trust it, which the file does not \
                                 show"
                            ),
                        ),
                    ]),
                });
                ident.created_at = match (ident.created_at, f.not_before) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                push_unique(&mut ident.attributes, "certificates", json!(id));
                for v in f.sans.values().flatten() {
                    push_unique(&mut ident.attributes, "sans", json!(v));
                }
                for v in &f.extended_key_usage {
                    push_unique(&mut ident.attributes, "extended_key_usage", json!(v));
                }
                iid
            })
        };

        let name = f
            .common_name
            .clone()
            .or_else(|| f.subject_key())
            .unwrap_or_else(|| f.subject.clone());
        records.credentials.push(Credential {
            id,
            identity_id,
            kind: "certificate".into(),
            source: SOURCE.into(),
            scope: scope.clone(),
            name,
            status: Status::Active,
            created_at: f.not_before,
            last_rotated_at: None,
            last_used_at: None,
            ever_used: None,
            expires_at: f.not_after,
            fingerprint: None,
            preview: None,
            attributes: a,
        });
    }
    records.identities = identities.into_values().collect();
    Ok(records)
}

fn push_unique(attrs: &mut BTreeMap<String, Value>, key: &str, v: Value) {
    let list = attrs.entry(key.into()).or_insert_with(|| json!([]));
    if let Value::Array(items) = list
        && !items.contains(&v)
    {
        items.push(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use castellan_model::format_ts;

    const CHAIN: &[u8] =
        include_bytes!("../../castellan/tests/fixtures/x509/api.example.eu-fullchain.pem");
    const ROOT: &[u8] = include_bytes!("../../castellan/tests/fixtures/x509/root-ca.pem");
    const CLIENT_DER: &[u8] =
        include_bytes!("../../castellan/tests/fixtures/x509/backup-agent.cer");
    const LEGACY: &[u8] = include_bytes!("../../castellan/tests/fixtures/x509/intranet-legacy.pem");
    const P12: &[u8] = include_bytes!("../../castellan/tests/fixtures/x509/api.example.eu.p12");
    const P12_LEGACY: &[u8] =
        include_bytes!("../../castellan/tests/fixtures/x509/backup-agent-legacy.pfx");
    const PASSWORD: &str = "castellan-test";

    const LEAF_FP: &str = "9c672541a73cadfcb8096af5f53d5d1b2a6bb1d38491445817c308e0e984c635";
    const INTER_FP: &str = "6fbf12c1a4c1c3647452f33aabec1a78b1e43c4747c228e20397ff3dad5ec5d1";
    const ROOT_FP: &str = "8e5bf3cc8a9aa781a27b4139bc8e99a9e1f9c69b8f83f316bb2e96605014bbd7";
    const CLIENT_FP: &str = "6cadfb4ba38d1bb3c073ec125c1a79e94e11a6446b67561ec4c94464e10df4b3";
    const LEGACY_FP: &str = "669a6b960e76a5df9e64eef54c30eff7a2eb952ecaa1bc15f609fe61546c4431";

    fn cred<'a>(r: &'a Records, fp: &str) -> &'a Credential {
        let id = cred_id(fp);
        r.credentials
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no {id} in {:?}", r.credentials))
    }

    fn ts(c: Option<Timestamp>) -> Option<String> {
        c.map(format_ts)
    }

    #[test]
    fn a_full_chain_bundle() {
        let r = parse("/etc/ssl/api.example.eu-fullchain.pem", CHAIN).expect("parse");
        assert_eq!(r.credentials.len(), 3);
        let leaf = cred(&r, LEAF_FP);
        assert_eq!(leaf.kind, "certificate");
        assert_eq!(leaf.source, "x509");
        assert_eq!(leaf.scope, "x509:/etc/ssl/api.example.eu-fullchain.pem");
        assert_eq!(leaf.name, "api.example.eu");
        assert_eq!(leaf.status, Status::Active);
        assert_eq!(ts(leaf.created_at).as_deref(), Some("2025-03-01T00:00:00Z"));
        assert_eq!(ts(leaf.expires_at).as_deref(), Some("2027-03-01T00:00:00Z"));
        assert_eq!(
            leaf.identity_id.as_deref(),
            Some("x509:subject:api.example.eu")
        );
        let a = &leaf.attributes;
        assert_eq!(
            a["subject"],
            "C=DE, O=Example Payments GmbH, CN=api.example.eu"
        );
        assert_eq!(
            a["issuer"],
            "C=DE, O=Example Payments GmbH, CN=Example Payments Issuing CA 1"
        );
        assert_eq!(a["serial"], "3A01F0");
        assert_eq!(
            a["sans"],
            json!({"dns": ["api.example.eu", "api-eu-west.example.eu"], "ip": ["203.0.113.10"]})
        );
        assert_eq!(a["key_algorithm"], "RSA");
        assert_eq!(a["key_bits"], 2048);
        assert_eq!(a["signature_algorithm"], "ecdsa-with-SHA256");
        assert_eq!(a["ca"], false);
        assert_eq!(a["self_signed"], false);
        assert_eq!(
            a["key_usage"],
            json!(["digitalSignature", "keyEncipherment"])
        );
        assert_eq!(a["extended_key_usage"], json!(["serverAuth"]));
        assert_eq!(a["chain_position"], "leaf");
        assert_eq!(a["issuer_in_file"], true);
        assert_eq!(a["issued_by"], cred_id(INTER_FP));
        assert_eq!(a["chain_to_root_in_file"], true);
        assert_eq!(a["validity_days"], 730);
        assert_eq!(a["weak_key"], false);
        assert_eq!(a["lines"], json!([1]));
        assert_eq!(a["file_format"], "pem");
        assert!(!a.contains_key("private_key_in_file"));
        let la = &a["lifecycle_authority"];
        assert_eq!(la["principals"][0]["principal"], cred_id(INTER_FP));
        assert_eq!(la["principals"][0]["can"], json!(["issue", "revoke"]));

        let inter = cred(&r, INTER_FP);
        assert_eq!(inter.identity_id, None, "CA certificates have no identity");
        assert_eq!(inter.attributes["chain_position"], "intermediate");
        assert_eq!(inter.attributes["ca"], true);
        assert_eq!(inter.attributes["path_len"], 0);
        assert_eq!(inter.attributes["key_algorithm"], "EC");
        assert_eq!(inter.attributes["key_curve"], "P-256");
        assert_eq!(inter.attributes["key_bits"], 256);
        assert_eq!(inter.attributes["issued_by"], cred_id(ROOT_FP));
        assert_eq!(
            inter.attributes["key_usage"],
            json!(["keyCertSign", "cRLSign"])
        );

        let root = cred(&r, ROOT_FP);
        assert_eq!(root.attributes["chain_position"], "root");
        assert_eq!(root.attributes["self_signed"], true);
        assert_eq!(root.attributes["issuer_in_file"], false);
        assert_eq!(root.attributes["key_bits"], 3072);
        assert_eq!(root.attributes["serial"], "1000");
        assert_eq!(
            root.attributes["lifecycle_authority"]["principals"][0]["principal"],
            cred_id(ROOT_FP)
        );

        assert_eq!(r.identities.len(), 1);
        let ident = &r.identities[0];
        assert_eq!(ident.id, "x509:subject:api.example.eu");
        assert_eq!(ident.kind, "x509-subject");
        assert_eq!(ident.privilege, Privilege::Unknown);
        assert!(ident.attributes["privilege_reason"].is_string());
        assert_eq!(ident.attributes["certificates"], json!([cred_id(LEAF_FP)]));
        assert_eq!(
            ts(ident.created_at).as_deref(),
            Some("2025-03-01T00:00:00Z")
        );
        assert!(r.grants.is_empty() && r.events.is_empty());
    }

    #[test]
    fn the_same_root_alone_has_the_same_id() {
        let r = parse("root-ca.pem", ROOT).expect("parse");
        assert_eq!(r.credentials.len(), 1);
        assert_eq!(r.credentials[0].id, cred_id(ROOT_FP));
        assert!(r.identities.is_empty());
    }

    #[test]
    fn a_der_client_certificate_that_expired() {
        assert!(looks_like_bytes(CLIENT_DER));
        let r = parse("backup-agent.cer", CLIENT_DER).expect("parse");
        let c = cred(&r, CLIENT_FP);
        assert_eq!(c.status, Status::Active, "no clock in a parser");
        assert_eq!(ts(c.expires_at).as_deref(), Some("2024-01-15T00:00:00Z"));
        assert_eq!(ts(c.created_at).as_deref(), Some("2023-01-15T00:00:00Z"));
        let a = &c.attributes;
        assert_eq!(a["file_format"], "der");
        assert_eq!(a["key_algorithm"], "Ed25519");
        assert_eq!(a["key_bits"], 256);
        assert_eq!(a["extended_key_usage"], json!(["clientAuth"]));
        assert_eq!(
            a["sans"],
            json!({"email": ["backup-agent@example.eu"], "uri": ["spiffe://example.eu/backup-agent"]})
        );
        assert_eq!(a["issuer_in_file"], false);
        assert_eq!(a["chain_to_root_in_file"], false);
        assert_eq!(
            a["lifecycle_authority"]["principals"][0]["principal"],
            "x509:issuer:C=DE, O=Example Payments GmbH, CN=Example Payments Issuing CA 1"
        );
        assert_eq!(c.identity_id.as_deref(), Some("x509:subject:backup-agent"));
    }

    #[test]
    fn a_weak_self_signed_certificate_with_its_key_in_the_file() {
        let r = parse("intranet-legacy.pem", LEGACY).expect("parse");
        let c = cred(&r, LEGACY_FP);
        let a = &c.attributes;
        assert_eq!(a["self_signed"], true);
        assert_eq!(a["ca"], false);
        assert_eq!(a["chain_position"], "leaf");
        assert_eq!(a["signature_algorithm"], "sha1WithRSAEncryption");
        assert_eq!(a["key_bits"], 1024);
        assert_eq!(a["weak_key"], true);
        assert_eq!(
            a["weak_reasons"],
            json!([
                "RSA key of 1024 bits (< 2048)",
                "sha1WithRSAEncryption signature (SHA-1)"
            ])
        );
        assert_eq!(a["private_key_in_file"], true);
        assert_eq!(a["private_key_encrypted"], false);
        assert_eq!(a["exposed"], true);
        let p = a["lifecycle_authority"]["principals"]
            .as_array()
            .expect("principals");
        assert_eq!(p[1]["can"], json!(["use"]));
        assert_eq!(
            c.identity_id.as_deref(),
            Some("x509:subject:intranet.example.eu")
        );

        // the key never leaves the parser
        let text = String::from_utf8_lossy(LEGACY);
        let key_body: Vec<&str> = text
            .split("-----BEGIN PRIVATE KEY-----")
            .nth(1)
            .expect("key")
            .lines()
            .filter(|l| l.len() > 20 && !l.starts_with("-----"))
            .collect();
        assert!(!key_body.is_empty());
        let debug = format!("{r:?}");
        let json = serde_json::to_string(&r).expect("json");
        for l in key_body {
            assert!(!debug.contains(&l[..20]), "key leaked in Debug");
            assert!(!json.contains(&l[..20]), "key leaked in JSON");
        }
    }

    #[test]
    fn an_encrypted_key_is_not_an_exposure() {
        let text = String::from_utf8_lossy(ROOT).to_string()
            + "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkq\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let r = parse("root.pem", text.as_bytes()).expect("parse");
        let a = &r.credentials[0].attributes;
        assert_eq!(a["private_key_in_file"], true);
        assert_eq!(a["private_key_encrypted"], true);
        assert!(!a.contains_key("exposed"));
    }

    #[test]
    fn pkcs12_modern_and_legacy() {
        assert!(looks_like_bytes(P12));
        assert!(looks_like_bytes(P12_LEGACY));
        let e = parse("api.p12", P12).expect_err("no password");
        assert!(e.to_string().contains("CASTELLAN_P12_PASSWORD"), "{e}");

        let r = parse_with_password("api.p12", P12, Some(PASSWORD)).expect("aes");
        assert_eq!(r.credentials.len(), 3);
        let leaf = cred(&r, LEAF_FP);
        assert_eq!(leaf.attributes["file_format"], "pkcs12");
        assert_eq!(leaf.attributes["pkcs12_friendly_name"], "api.example.eu");
        assert_eq!(leaf.attributes["private_key_in_file"], true);
        assert_eq!(leaf.attributes["private_key_encrypted"], true);
        assert!(!leaf.attributes.contains_key("exposed"));
        assert_eq!(leaf.attributes["chain_to_root_in_file"], true);
        let root = &cred(&r, ROOT_FP).attributes;
        assert!(!root.contains_key("private_key_in_file"));

        let r = parse_with_password("agent.pfx", P12_LEGACY, Some(PASSWORD)).expect("3des/rc2");
        assert_eq!(r.credentials.len(), 2);
        assert_eq!(cred(&r, CLIENT_FP).attributes["private_key_in_file"], true);
        assert_eq!(
            cred(&r, INTER_FP).attributes["chain_position"],
            "intermediate"
        );

        let e = parse_with_password("api.p12", P12, Some("wrong")).expect_err("wrong password");
        let s = e.to_string();
        assert!(s.contains("password does not open"), "{s}");
        assert!(!s.contains("wrong"), "{s}");
    }

    #[test]
    fn recognised_by_content() {
        assert!(looks_like(&String::from_utf8_lossy(CHAIN)));
        assert!(looks_like(&String::from_utf8_lossy(LEGACY)));
        assert!(looks_like(
            "Certificate:\n    Data: …\n-----BEGIN CERTIFICATE-----\nMIIB\n"
        ));
        assert!(!looks_like(&String::from_utf8_lossy(CLIENT_DER)));
        assert!(!looks_like(
            "{\"certificate\": \"-----BEGIN CERTIFICATE-----\\nMIIB\"}"
        ));
        assert!(!looks_like(
            "apiVersion: v1\nkind: Secret\nstringData:\n  tls.crt: |\n    -----BEGIN CERTIFICATE-----\n"
        ));
        assert!(!looks_like("castellan: 1\nservices: []\n"));
        assert!(!looks_like("{\"UserDetailList\": []}"));
        assert!(!looks_like(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
        ));
        assert!(!looks_like_bytes(b"{\"a\": 1}"));
        assert!(!looks_like_bytes(b"\x30\x03\x02\x01\x05"));
        assert!(!looks_like_bytes(b""));
        assert!(!looks_like_bytes(CHAIN));
    }

    #[test]
    fn bad_inputs_name_the_file_and_line() {
        let e = parse("c.pem", b"").expect_err("empty");
        assert!(e.to_string().contains("c.pem: the file is empty"), "{e}");

        let e = parse("c.pem", b"\xff\xfe\x00junk\x01\x02").expect_err("junk");
        assert!(e.to_string().contains("not a certificate file"), "{e}");

        let half = &CHAIN[..CHAIN.len() / 2];
        let e = parse("c.pem", half).expect_err("truncated");
        let s = e.to_string();
        assert!(s.starts_with("c.pem:"), "{s}");
        assert!(s.contains("truncated"), "{s}");

        let text = String::from_utf8_lossy(CHAIN).replacen("MII", "M!I", 1);
        let e = parse("c.pem", text.as_bytes()).expect_err("base64");
        assert!(e.to_string().starts_with("c.pem:1:"), "{e}");

        let garbage = "junk\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let e = parse("c.pem", garbage.as_bytes()).expect_err("not x509");
        assert!(e.to_string().starts_with("c.pem:2:"), "{e}");
        assert!(e.to_string().contains("not a valid X.509"), "{e}");

        let e = parse("c.der", &CLIENT_DER[..CLIENT_DER.len() - 40]).expect_err("short der");
        assert!(e.to_string().contains("not a valid X.509"), "{e}");

        let key_only = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
        let e = parse("k.pem", key_only.as_bytes()).expect_err("key only");
        let s = e.to_string();
        assert!(s.contains("does not import private keys"), "{s}");
        assert!(!s.contains("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"), "{s}");

        let e = parse_with_password("x.p12", &P12[..P12.len() / 2], Some(PASSWORD))
            .expect_err("truncated p12");
        assert!(e.to_string().contains("PKCS#12"), "{e}");
    }

    #[test]
    fn a_byte_order_mark_and_crlf_are_fine() {
        let mut text = String::from("\u{feff}");
        text.push_str(&String::from_utf8_lossy(ROOT).replace('\n', "\r\n"));
        assert!(looks_like(&text));
        let r = parse("root.pem", text.as_bytes()).expect("parse");
        assert_eq!(r.credentials[0].id, cred_id(ROOT_FP));
    }

    #[test]
    fn duplicates_in_a_bundle_are_one_credential() {
        let mut twice = ROOT.to_vec();
        twice.extend_from_slice(ROOT);
        let r = parse("dup.pem", &twice).expect("parse");
        assert_eq!(r.credentials.len(), 1);
        assert_eq!(
            r.credentials[0].attributes["lines"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
    }

    #[test]
    fn der_lengths_and_iterations() {
        assert_eq!(
            der_header(&[0x30, 0x82, 0x01, 0x00]),
            Some((0x30, 4, Some(256)))
        );
        assert_eq!(der_header(&[0x30, 0x80]), Some((0x30, 2, None)));
        assert_eq!(der_header(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(p12_mac_iterations(P12), Some(2048));
        assert_eq!(p12_mac_iterations(P12_LEGACY), Some(2048));
        assert_eq!(bit_len(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bit_len(&[0x01]), 1);
        assert_eq!(bit_len(&[]), 0);
        let clear = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW";
        assert_eq!(openssh_key_encrypted(clear), Some(false));
        let aes = "b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABC";
        assert_eq!(openssh_key_encrypted(aes), Some(true));
    }

    #[test]
    fn the_scope_does_not_depend_on_how_the_path_is_spelt() {
        // cargo runs tests in the package directory
        let rel = "../castellan/tests/fixtures/x509/api.example.eu-fullchain.pem";
        let dir = env!("CARGO_MANIFEST_DIR");
        let spellings = [
            rel.to_string(),
            format!("./{rel}"),
            format!("{dir}/{rel}"),
            format!(
                "{dir}/../castellan/tests/fixtures/../fixtures/x509/./api.example.eu-fullchain.pem"
            ),
        ];
        let canonical = std::fs::canonicalize(format!("{dir}/{rel}")).expect("fixture");
        let want = format!("x509:{}", canonical_path(&canonical.to_string_lossy()));
        assert!(
            std::path::Path::new(&want["x509:".len()..]).is_absolute(),
            "{want}"
        );
        for p in &spellings {
            let r = parse(p, CHAIN).expect("parse");
            assert_eq!(r.credentials.len(), 3);
            for c in &r.credentials {
                assert_eq!(c.scope, want, "{p}");
            }
            for i in &r.identities {
                assert_eq!(i.scope, want, "{p}");
            }
            // ids do not depend on the path at all
            assert!(r.credentials.iter().any(|c| c.id == cred_id(LEAF_FP)));
        }
        // a path that does not exist (a file read from elsewhere) keeps its spelling
        let r = parse("no/such/dir/fullchain.pem", CHAIN).expect("parse");
        assert_eq!(r.credentials[0].scope, "x509:no/such/dir/fullchain.pem");
    }

    #[test]
    fn an_endpoint_has_a_stable_scope_and_names_itself() {
        let r = parse_endpoint("api.example.eu:443", CHAIN).expect("parse");
        assert_eq!(r.credentials.len(), 3);
        for c in &r.credentials {
            assert_eq!(c.scope, "x509:tls:api.example.eu:443");
            assert_eq!(c.attributes["endpoint"], "api.example.eu:443");
        }
        for i in &r.identities {
            assert_eq!(i.scope, "x509:tls:api.example.eu:443");
        }
        // the same facts as the file
        let file = parse("fullchain.pem", CHAIN).expect("parse");
        let leaf = cred(&r, LEAF_FP);
        let mut a = leaf.attributes.clone();
        a.remove("endpoint");
        assert_eq!(a, cred(&file, LEAF_FP).attributes);
        assert_eq!(cred(&r, ROOT_FP).attributes["chain_position"], "root");

        let e = parse_endpoint("api.example.eu:443", b"HTTP/1.1 400 Bad Request\r\n")
            .expect_err("not a certificate");
        assert!(e.to_string().starts_with("api.example.eu:443:"), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = parse("p.pem", &bytes);
            let _ = parse_with_password("p.p12", &bytes, Some(PASSWORD));
            let _ = looks_like_bytes(&bytes);
            let _ = looks_like(&String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn mutated_certificates_never_panic(i in 0usize..547, b in proptest::num::u8::ANY) {
            let mut der = CLIENT_DER.to_vec();
            if i < der.len() { der[i] = b; }
            let _ = parse("p.cer", &der);
            let mut pem = CHAIN.to_vec();
            let n = pem.len();
            pem[i * 7 % n] = b;
            let _ = parse("p.pem", &pem);
        }
    }
}
