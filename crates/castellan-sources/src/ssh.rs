//! OpenSSH public keys: `authorized_keys` files (options, key, comment per line; `#` comments and
//! blank lines) and single `.pub` files, including FIDO (`sk-…`) keys and certificates
//! (`…-cert-v01@openssh.com`).
//!
//! Yields:
//! - every key as an `ssh-key` credential `ssh:sha256:<fingerprint>`, the SHA-256 fingerprint
//!   `ssh-keygen -l` prints (base64 of the SHA-256 of the key blob, without padding; for a
//!   certificate, of its public key, as `ssh-keygen -l` does), so the same key authorised in two
//!   files, or on two hosts, is one credential. With it: key type and size, weakness (RSA under
//!   2048 bits, DSA), comment and the owner it suggests (`user@host`, e-mail), the line, the
//!   options (`from` source restriction, forced `command`, `restrict`, `no-pty`…, `principals`,
//!   `cert-authority`, `expiry-time` ⇒ `expires_at`; `environment` values are never kept), and
//!   for a certificate its key id, serial, principals, validity and signing CA;
//! - the account the file opens as an `ssh-account` identity `ssh:<host-or-path>:<user>`, from
//!   the path (see [`account_from_path`]) or given by the caller ([`parse_for`]). `root` is
//!   `admin`; the rights of other accounts are not in the file.
//!
//! The scope of an import ([`scope_for`]) is the account `ssh:<host>:<user>` when its host is
//! known, else the file name and a hash of the file's canonical path: never the path as spelt,
//! so importing the same file under another spelling does not make a second sighting. Options
//! are kept as written and matched case-insensitively, as sshd matches them.
//!
//! Private keys are refused without being read. A malformed line is an error naming file:line;
//! nothing is skipped silently.

use std::collections::BTreeMap;

use base64::Engine;
use castellan_model::{Credential, Identity, Privilege, Redacted, Status};
use jiff::Timestamp;
use jiff::civil::DateTime;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{Records, SourceError, show_value};

/// The source name.
pub const SOURCE: &str = "ssh";

/// At most this many key lines are read from one file.
const MAX_KEYS: usize = 100_000;

/// Plain key types (their certificate forms add `-cert-v01@openssh.com`).
const KEY_TYPES: [&str; 8] = [
    "ssh-rsa",
    "ssh-dss",
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

const FLAG_OPTIONS: [&str; 14] = [
    "agent-forwarding",
    "cert-authority",
    "no-agent-forwarding",
    "no-port-forwarding",
    "no-pty",
    "no-user-rc",
    "no-x11-forwarding",
    "port-forwarding",
    "pty",
    "user-rc",
    "x11-forwarding",
    "restrict",
    "no-touch-required",
    "verify-required",
];

const VALUE_OPTIONS: [&str; 8] = [
    "command",
    "environment",
    "expiry-time",
    "from",
    "permitlisten",
    "permitopen",
    "principals",
    "tunnel",
];

/// Whether the first bytes of a file look like OpenSSH public keys: the first line that is not
/// blank or a `#` comment is `[options] <key type> <base64 blob> [comment]` and the blob starts
/// with its key type. An OpenSSH private key is recognised too, so that it is refused with a
/// clear message.
pub fn looks_like(head: &str) -> bool {
    let head = head.trim_start_matches('\u{feff}');
    if head.contains("-----BEGIN OPENSSH PRIVATE KEY-----") {
        return true;
    }
    let Some(line) = head
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
    else {
        return false;
    };
    let Ok((opts, rest)) = split_options(line) else {
        return false;
    };
    if parse_options(opts).is_err() {
        return false;
    }
    let mut words = rest.split_ascii_whitespace();
    let (Some(kind), Some(b64)) = (words.next(), words.next()) else {
        return false;
    };
    if base_type(kind).is_none() {
        return false;
    }
    // the head may end inside the blob: its first bytes are enough
    let take = b64.len().min(64) / 4 * 4;
    // (bytes, not chars: the head is lossy text and the cut may fall inside a character)
    let Ok(blob) = base64::engine::general_purpose::STANDARD.decode(&b64.as_bytes()[..take]) else {
        return false;
    };
    Reader::new(&blob).string().ok() == Some(kind.as_bytes())
}

/// Parses an `authorized_keys` or `.pub` file; the account comes from the path.
pub fn parse(path: &str, bytes: &[u8]) -> Result<Records, SourceError> {
    parse_for(path, bytes, None)
}

/// Parses an `authorized_keys` or `.pub` file for `account`: `user@host`, or `user` (the host
/// then comes from the path, else the path stands for it). Without `account` the account is
/// derived from the path ([`account_from_path`]); when that fails the keys have no identity.
pub fn parse_for(path: &str, bytes: &[u8], account: Option<&str>) -> Result<Records, SourceError> {
    let file_err = |message: String| SourceError::File {
        path: path.into(),
        message,
    };
    let text = String::from_utf8_lossy(bytes);
    if text.contains("PRIVATE KEY-----") {
        return Err(file_err(
            "is a private key: Castellan does not import private keys; give it the public half \
             (`ssh-keygen -y -f <key> > <key>.pub`) or the authorized_keys file"
                .into(),
        ));
    }
    if text.contains("---- BEGIN SSH2 PUBLIC KEY ----") {
        return Err(file_err(
            "is an RFC 4716 (SSH2) public key: convert it with `ssh-keygen -i -f <file>`".into(),
        ));
    }
    let mut keys: Vec<Key> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i as u64 + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let key = parse_line(l).map_err(|(field, message)| match field {
            Some(field) => SourceError::Field {
                path: path.into(),
                line,
                field: field.into(),
                message,
            },
            None => SourceError::Line {
                path: path.into(),
                line,
                message,
            },
        })?;
        match index.get(&key.fingerprint) {
            Some(&k) => keys[k].lines.push(line),
            None => {
                if keys.len() >= MAX_KEYS {
                    return Err(SourceError::Line {
                        path: path.into(),
                        line,
                        message: format!("more than {MAX_KEYS} keys in one file"),
                    });
                }
                index.insert(key.fingerprint.clone(), keys.len());
                keys.push(Key {
                    lines: vec![line],
                    ..key
                });
            }
        }
    }
    if keys.is_empty() {
        return Err(file_err(
            "no public key in the file (only blank lines and comments)".into(),
        ));
    }
    Ok(build(path, keys, account))
}

// ---------------------------------------------------------------------------------------------
// Accounts.

/// The account an `authorized_keys` file opens, from its path: `(host or path, user)`.
///
/// - `…/<host>/home/<user>/.ssh/<file>` and `…/<host>/root/.ssh/<file>` (a tree collected from
///   several hosts) ⇒ that host; `/home/<user>/.ssh/<file>`, `/root/.ssh/<file>` and other homes
///   (`/var/lib/jenkins/.ssh/<file>`) ⇒ the user, and the path stands for the host;
/// - `…/<host>/<user>/authorized_keys[2]` ⇒ host and user (`<user>/authorized_keys` alone: the
///   path stands for the host);
/// - `…/<host>/etc/ssh/authorized_keys/<user>` (the `AuthorizedKeysFile
///   /etc/ssh/authorized_keys/%u` layout) ⇒ host (when given) and user;
/// - anything else (a `.pub` file) ⇒ none.
pub fn account_from_path(path: &str) -> Option<(String, String)> {
    let norm = path.replace('\\', "/");
    let c: Vec<&str> = norm
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    let n = c.len();
    let file = *c.last()?;
    let by_path = |user: &str| Some((path.to_string(), user.to_string()));
    let with_host = |host: Option<&&str>, user: &str| match host {
        Some(h) => Some((h.to_string(), user.to_string())),
        None => by_path(user),
    };
    if let Some(k) = c.iter().rposition(|s| *s == ".ssh") {
        if k == 0 {
            return None;
        }
        let user = c[k - 1];
        if k >= 2 && matches!(c[k - 2], "home" | "Users") {
            return with_host(k.checked_sub(3).and_then(|h| c.get(h)), user);
        }
        if user == "root" {
            return with_host(k.checked_sub(2).and_then(|h| c.get(h)), user);
        }
        return by_path(user);
    }
    if matches!(file, "authorized_keys" | "authorized_keys2") {
        return match n {
            0 | 1 => None,
            2 => by_path(c[0]),
            _ => with_host(c.get(n - 3), c[n - 2]),
        };
    }
    if n >= 2 && c[n - 2] == "authorized_keys" && !file.ends_with(".pub") {
        let host = c
            .iter()
            .position(|s| *s == "etc")
            .and_then(|e| e.checked_sub(1))
            .and_then(|h| c.get(h));
        return with_host(host, file);
    }
    None
}

fn resolve_account(path: &str, account: Option<&str>) -> Option<(String, String, &'static str)> {
    match account.map(str::trim).filter(|a| !a.is_empty()) {
        Some(a) => match a.rsplit_once('@') {
            Some((user, host)) if !user.is_empty() && !host.is_empty() => {
                Some((host.to_string(), user.to_string(), "given"))
            }
            _ => {
                let host = account_from_path(path)
                    .map(|(h, _)| h)
                    .unwrap_or_else(|| path.to_string());
                Some((host, a.to_string(), "given"))
            }
        },
        None => account_from_path(path).map(|(h, u)| (h, u, "path")),
    }
}

// ---------------------------------------------------------------------------------------------
// Lines.

/// One key line, parsed.
#[derive(Debug, Default)]
struct Key {
    fingerprint: String,
    key_type: String,
    bits: Option<u64>,
    comment: String,
    lines: Vec<u64>,
    options: Vec<(String, Option<String>)>,
    cert: Option<Cert>,
}

#[derive(Debug, Default)]
struct Cert {
    kind: u32,
    serial: u64,
    key_id: String,
    principals: Vec<String>,
    valid_after: u64,
    valid_before: u64,
    critical: Vec<(String, Option<String>)>,
    extensions: Vec<String>,
    ca_fingerprint: String,
    ca_type: String,
}

type LineError = (Option<&'static str>, String);

/// The plain key type of a key or certificate type name.
fn base_type(kind: &str) -> Option<&'static str> {
    let plain = match kind.strip_suffix("-cert-v01@openssh.com") {
        Some(p) if p.starts_with("sk-") => format!("{p}@openssh.com"),
        Some(p) => p.to_string(),
        None => kind.to_string(),
    };
    KEY_TYPES.iter().copied().find(|t| *t == plain)
}

/// Splits the options (if any) off a line: `(options text, the rest)`.
fn split_options(line: &str) -> Result<(&str, &str), LineError> {
    let first = line.split_ascii_whitespace().next().unwrap_or("");
    if base_type(first).is_some() {
        return Ok(("", line));
    }
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, ch) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match ch {
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            c if c.is_ascii_whitespace() && !in_quotes => {
                return Ok((&line[..i], line[i..].trim_start()));
            }
            _ => {}
        }
    }
    if in_quotes {
        return Err((Some("options"), "unterminated quoted option value".into()));
    }
    Err((
        None,
        "no key: expected `[options] <key type> <base64 key> [comment]`".into(),
    ))
}

fn parse_options(text: &str) -> Result<Vec<(String, Option<String>)>, LineError> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let name_end = rest.find(['=', ',']).unwrap_or(rest.len());
        // kept as written; sshd matches option names case-insensitively, and so does Castellan
        let name = rest[..name_end].to_string();
        let lower = name.to_ascii_lowercase();
        rest = &rest[name_end..];
        let value = if let Some(r) = rest.strip_prefix('=') {
            let Some(r) = r.strip_prefix('"') else {
                return Err((
                    Some("options"),
                    format!("the value of option {} must be quoted", show_value(&name)),
                ));
            };
            let mut v = String::new();
            let mut escaped = false;
            let mut end = None;
            for (i, ch) in r.char_indices() {
                if escaped {
                    if ch != '"' {
                        v.push('\\');
                    }
                    v.push(ch);
                    escaped = false;
                } else if ch == '\\' {
                    escaped = true;
                } else if ch == '"' {
                    end = Some(i);
                    break;
                } else {
                    v.push(ch);
                }
            }
            let Some(end) = end else {
                return Err((Some("options"), "unterminated quoted option value".into()));
            };
            rest = &r[end + 1..];
            Some(v)
        } else {
            None
        };
        let known = if value.is_some() {
            VALUE_OPTIONS.contains(&lower.as_str())
        } else {
            FLAG_OPTIONS.contains(&lower.as_str())
        };
        if !known {
            let message = if VALUE_OPTIONS.contains(&lower.as_str()) {
                format!("option {} needs a value", show_value(&name))
            } else if FLAG_OPTIONS.contains(&lower.as_str()) {
                format!("option {} takes no value", show_value(&name))
            } else {
                format!(
                    "unknown option {} (sshd would reject this line)",
                    show_value(&name)
                )
            };
            return Err((Some("options"), message));
        }
        out.push((name, value));
        match rest.strip_prefix(',') {
            Some(r) if !r.is_empty() => rest = r,
            None if rest.is_empty() => {}
            _ => {
                return Err((
                    Some("options"),
                    "options must be separated by single commas".into(),
                ));
            }
        }
    }
    Ok(out)
}

fn parse_line(line: &str) -> Result<Key, LineError> {
    let (opts, rest) = split_options(line)?;
    let options = parse_options(opts)?;
    for (name, value) in &options {
        if let Some(v) = value
            && name.eq_ignore_ascii_case("expiry-time")
            && expiry_time(v).is_none()
        {
            return Err((
                Some("expiry-time"),
                format!("{} is not a date `YYYYMMDD[HHMM[SS]][Z]`", show_value(v)),
            ));
        }
    }
    let mut parts = rest.splitn(3, |c: char| c.is_ascii_whitespace());
    let kind = parts.next().unwrap_or("");
    if base_type(kind).is_none() {
        return Err((
            Some("key type"),
            format!("unknown key type {}", show_value(kind)),
        ));
    }
    let b64 = parts.next().unwrap_or("").trim();
    if b64.is_empty() {
        return Err((Some("key"), "the base64 key is missing".into()));
    }
    let comment = parts.next().unwrap_or("").trim().to_string();
    let blob = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| {
            (
                Some("key"),
                "the key is not valid base64 (truncated?)".into(),
            )
        })?;
    let mut key = decode_blob(kind, &blob).map_err(|m| (Some("key"), m))?;
    key.comment = comment;
    key.options = options;
    Ok(key)
}

/// An SSH wire-format reader (RFC 4251 §5).
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn new(b: &'a [u8]) -> Self {
        Reader(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("the key blob is truncated".into());
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    fn string(&mut self) -> Result<&'a [u8], String> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn text(&mut self) -> Result<String, String> {
        Ok(String::from_utf8_lossy(self.string()?).into_owned())
    }
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

fn fingerprint(blob: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(Sha256::digest(blob))
}

/// Reads the public key fields of `plain` (a plain key type) and returns their size in bits.
fn key_fields(plain: &str, r: &mut Reader<'_>) -> Result<Option<u64>, String> {
    let curve = |r: &mut Reader<'_>, want: &str| -> Result<u64, String> {
        let c = r.string()?;
        if c != want.as_bytes() {
            return Err(format!(
                "curve {} does not match the key type",
                show_value(&String::from_utf8_lossy(c))
            ));
        }
        r.string()?;
        Ok(match want {
            "nistp384" => 384,
            "nistp521" => 521,
            _ => 256,
        })
    };
    Ok(Some(match plain {
        "ssh-rsa" => {
            r.string()?; // e
            bit_len(r.string()?)
        }
        "ssh-dss" => {
            let p = r.string()?;
            r.string()?;
            r.string()?;
            r.string()?;
            bit_len(p)
        }
        "ssh-ed25519" => {
            if r.string()?.len() != 32 {
                return Err("an Ed25519 key is 32 bytes".into());
            }
            256
        }
        "sk-ssh-ed25519@openssh.com" => {
            if r.string()?.len() != 32 {
                return Err("an Ed25519 key is 32 bytes".into());
            }
            r.string()?; // application
            256
        }
        "ecdsa-sha2-nistp256" => curve(r, "nistp256")?,
        "ecdsa-sha2-nistp384" => curve(r, "nistp384")?,
        "ecdsa-sha2-nistp521" => curve(r, "nistp521")?,
        "sk-ecdsa-sha2-nistp256@openssh.com" => {
            let b = curve(r, "nistp256")?;
            r.string()?; // application
            b
        }
        _ => return Ok(None),
    }))
}

fn decode_blob(kind: &str, blob: &[u8]) -> Result<Key, String> {
    let mut r = Reader::new(blob);
    let inner = r.string()?;
    if inner != kind.as_bytes() {
        return Err(format!(
            "the key says it is {} but its type field is {}",
            show_value(kind),
            show_value(&String::from_utf8_lossy(inner))
        ));
    }
    let plain = base_type(kind).ok_or_else(|| format!("unknown key type {}", show_value(kind)))?;
    if plain == kind {
        let bits = key_fields(plain, &mut r)?;
        return Ok(Key {
            fingerprint: fingerprint(blob),
            key_type: kind.into(),
            bits,
            ..Key::default()
        });
    }
    // certificate: nonce, the key's fields, then the certificate's own fields
    r.string()?; // nonce
    let before = r.0;
    let bits = key_fields(plain, &mut r)?;
    let fields = &before[..before.len() - r.0.len()];
    let mut plain_blob = Vec::with_capacity(4 + plain.len() + fields.len());
    plain_blob.extend_from_slice(&(plain.len() as u32).to_be_bytes());
    plain_blob.extend_from_slice(plain.as_bytes());
    plain_blob.extend_from_slice(fields);
    let mut c = Cert {
        serial: r.u64()?,
        kind: r.u32()?,
        key_id: r.text()?,
        ..Cert::default()
    };
    let mut p = Reader::new(r.string()?);
    while !p.0.is_empty() {
        c.principals.push(p.text()?);
    }
    c.valid_after = r.u64()?;
    c.valid_before = r.u64()?;
    let mut o = Reader::new(r.string()?);
    while !o.0.is_empty() {
        let name = o.text()?;
        let data = o.string()?;
        let value = Reader::new(data).text().ok();
        c.critical.push((name, value));
    }
    let mut e = Reader::new(r.string()?);
    while !e.0.is_empty() {
        c.extensions.push(e.text()?);
        e.string()?;
    }
    r.string()?; // reserved
    let ca = r.string()?;
    c.ca_type = Reader::new(ca).text().unwrap_or_default();
    c.ca_fingerprint = fingerprint(ca);
    r.string()?; // signature
    Ok(Key {
        fingerprint: fingerprint(&plain_blob),
        key_type: kind.into(),
        bits,
        cert: Some(c),
        ..Key::default()
    })
}

/// `expiry-time`: `YYYYMMDD[HHMM[SS]][Z]`; without `Z` sshd reads it in the host's time zone,
/// which the file does not tell: it is read as UTC.
fn expiry_time(v: &str) -> Option<(Timestamp, bool)> {
    let (digits, utc) = match v.strip_suffix(['Z', 'z']) {
        Some(d) => (d, true),
        None => (v, false),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |a: usize, b: usize| digits.get(a..b).and_then(|s| s.parse::<i16>().ok());
    let (h, mi, s) = match digits.len() {
        8 => (0, 0, 0),
        12 => (num(8, 10)?, num(10, 12)?, 0),
        14 => (num(8, 10)?, num(10, 12)?, num(12, 14)?),
        _ => return None,
    };
    let dt = DateTime::new(
        num(0, 4)?,
        num(4, 6)? as i8,
        num(6, 8)? as i8,
        h as i8,
        mi as i8,
        s as i8,
        0,
    )
    .ok()?;
    let ts = jiff::tz::TimeZone::UTC.to_timestamp(dt).ok()?;
    Some((ts, utc))
}

/// A forced command with arguments that look like secrets replaced by a redacted preview.
fn safe_command(cmd: &str) -> String {
    cmd.split(' ')
        .enumerate()
        .map(|(i, w)| {
            let lower = w.to_ascii_lowercase();
            let secretish = ["password", "passwd", "secret", "token", "apikey", "api-key"]
                .iter()
                .any(|k| lower.contains(k) && lower.contains('='))
                || (w.chars().filter(|c| c.is_ascii_digit()).count() >= 4
                    && w.chars().filter(|c| c.is_ascii_alphabetic()).count() >= 8
                    && !w.contains('/'));
            if i > 0 && secretish {
                format!("[{}]", Redacted::of(w))
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn suggested_owner(comment: &str) -> Option<String> {
    let (user, host) = comment.split_once('@')?;
    let ok = |s: &str, extra: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c) || extra.contains(c))
    };
    (ok(user, "+%") && ok(host, "") && !host.contains('@')).then(|| comment.to_lowercase())
}

fn ts_of_secs(s: u64) -> Option<Timestamp> {
    i64::try_from(s)
        .ok()
        .and_then(|s| Timestamp::from_second(s).ok())
}

// ---------------------------------------------------------------------------------------------
// Records.

/// The scope of one file's import, independent of how its path is spelt:
///
/// - the account's id `ssh:<host>:<user>` when the host is known (given, or in the path): a
///   tree collected twice from two places, or named once relatively and once absolutely, is the
///   same account, so a key deleted from its file is gone on the next import however it is named;
/// - else (a `.pub` file, or an account whose host only the path stands for)
///   `ssh:<file name>#<12 hex digits of the SHA-256 of the canonical absolute path>`, the path
///   as given when the file does not exist here.
pub fn scope_for(path: &str, account: Option<&str>) -> String {
    scope_of(path, resolve_account(path, account).as_ref())
}

fn scope_of(path: &str, account: Option<&(String, String, &'static str)>) -> String {
    if let Some((host, user, _)) = account
        && host != path
    {
        return format!("ssh:{host}:{user}");
    }
    let name = path
        .rsplit(['/', '\\'])
        .find(|s| !s.is_empty())
        .unwrap_or(path);
    let digest = Sha256::digest(crate::x509::canonical_path(path).as_bytes());
    let hash: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("ssh:{name}#{hash}")
}

fn build(path: &str, keys: Vec<Key>, account: Option<&str>) -> Records {
    let account = resolve_account(path, account);
    let scope = scope_of(path, account.as_ref());
    let account_id = account.as_ref().map(|(h, u, _)| format!("ssh:{h}:{u}"));
    let mut records = Records::default();

    let mut authority = Vec::new();
    if let Some((host, user, _)) = &account {
        authority.push(json!({
            "principal": format!("ssh:{host}:{user}"),
            "can": ["issue", "revoke"],
            "via": ["owns its authorized_keys (sshd StrictModes: the user or root)"],
        }));
        if user != "root" {
            authority.push(json!({
                "principal": format!("ssh:{host}:root"),
                "can": ["issue", "revoke"],
                "via": ["root can write every authorized_keys"],
            }));
        }
    }
    let note = format!(
        "whoever can write {path} can add (issue) or remove (revoke) keys; who else can (sudo, \
         configuration management) and where sshd's AuthorizedKeysFile points are not in the \
         file; the holder of the private key uses it"
    );

    for k in keys {
        let mut a = BTreeMap::new();
        a.insert("key_type".into(), json!(k.key_type));
        if let Some(b) = k.bits {
            a.insert("key_bits".into(), json!(b));
        }
        a.insert(
            "fingerprint".into(),
            json!(format!("SHA256:{}", k.fingerprint)),
        );
        if !k.comment.is_empty() {
            a.insert("comment".into(), json!(k.comment));
            if let Some(o) = suggested_owner(&k.comment) {
                a.insert("suggested_owner".into(), json!(o));
            }
        }
        a.insert("line".into(), json!(k.lines[0]));
        if k.lines.len() > 1 {
            a.insert("lines".into(), json!(k.lines));
        }
        if k.key_type.starts_with("sk-") {
            a.insert("hardware_backed".into(), json!(true));
        }
        let mut weak = Vec::new();
        let plain = base_type(&k.key_type).unwrap_or("");
        match (plain, k.bits) {
            ("ssh-rsa", Some(b)) if b < 2048 => weak.push(format!("RSA key of {b} bits (< 2048)")),
            ("ssh-dss", b) => weak.push(format!(
                "DSA key ({} bits; disabled by default since OpenSSH 7.0)",
                b.unwrap_or(0)
            )),
            _ => {}
        }
        a.insert("weak_key".into(), json!(!weak.is_empty()));
        if !weak.is_empty() {
            a.insert("weak_reasons".into(), json!(weak));
        }

        // options
        let mut expires_at = None;
        let mut restricted = false;
        let names: Vec<&str> = k.options.iter().map(|(n, _)| n.as_str()).collect();
        if !names.is_empty() {
            a.insert("options".into(), json!(names));
        }
        let list = |v: &str| -> Vec<String> {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        for (name, value) in &k.options {
            let v = value.as_deref().unwrap_or("");
            match name.to_ascii_lowercase().as_str() {
                "from" => {
                    a.insert("from".into(), json!(list(v)));
                }
                "command" => {
                    restricted = true;
                    a.insert("forced_command".into(), json!(safe_command(v)));
                }
                "restrict" => restricted = true,
                "principals" => {
                    a.insert("principals".into(), json!(list(v)));
                }
                "cert-authority" => {
                    a.insert("cert_authority".into(), json!(true));
                }
                "environment" => {
                    let name = v.split('=').next().unwrap_or("");
                    push(&mut a, "environment_names", json!(name));
                }
                key @ ("permitopen" | "permitlisten" | "tunnel") => {
                    push(&mut a, key, json!(v));
                }
                "expiry-time" => {
                    // checked while parsing the line
                    if let Some((t, utc)) = expiry_time(v) {
                        expires_at = Some(t);
                        if !utc {
                            a.insert(
                                "expiry_time_zone".into(),
                                json!("host local time, read as UTC"),
                            );
                        }
                    }
                }
                // the canonical (lower-case) name: `restrictions` is compared, `options` is
                // the record of what the line says
                key @ ("no-pty"
                | "no-port-forwarding"
                | "no-agent-forwarding"
                | "no-x11-forwarding"
                | "no-user-rc") => push(&mut a, "restrictions", json!(key)),
                _ => {}
            }
        }
        a.insert("restricted".into(), json!(restricted));
        a.insert("source_restricted".into(), json!(a.contains_key("from")));

        // certificate
        let mut created_at = None;
        let mut ca_principal = None;
        if let Some(c) = &k.cert {
            let valid_after = (c.valid_after > 0)
                .then(|| ts_of_secs(c.valid_after))
                .flatten();
            let valid_before = (c.valid_before != u64::MAX)
                .then(|| ts_of_secs(c.valid_before))
                .flatten();
            created_at = valid_after;
            if let Some(vb) = valid_before {
                expires_at = Some(expires_at.map_or(vb, |e: Timestamp| e.min(vb)));
            }
            let critical: BTreeMap<&str, Value> = c
                .critical
                .iter()
                .map(|(n, v)| {
                    let v = match (n.as_str(), v) {
                        ("force-command", Some(cmd)) => json!(safe_command(cmd)),
                        ("source-address", Some(s)) => json!(list(s)),
                        _ => Value::Bool(true),
                    };
                    (n.as_str(), v)
                })
                .collect();
            if critical.contains_key("force-command") {
                a.insert("restricted".into(), json!(true));
            }
            a.insert(
                "certificate".into(),
                json!({
                    "type": match c.kind { 1 => "user", 2 => "host", _ => "unknown" },
                    "key_id": c.key_id,
                    "serial": c.serial,
                    "principals": c.principals,
                    "valid_after": valid_after.map(castellan_model::format_ts),
                    "valid_before": valid_before.map(castellan_model::format_ts),
                    "critical_options": critical,
                    "extensions": c.extensions,
                    "signing_ca": format!("ssh:sha256:{}", c.ca_fingerprint),
                    "signing_ca_type": c.ca_type,
                }),
            );
            ca_principal = Some(json!({
                "principal": format!("ssh:sha256:{}", c.ca_fingerprint),
                "can": ["issue"],
                "via": ["signing CA of the certificate: issues its replacement; revocation is a KRL on the server"],
            }));
        }
        if let Some(id) = &account_id {
            a.insert("authorized_for".into(), json!(id));
        }
        let mut principals = authority.clone();
        principals.extend(ca_principal);
        a.insert(
            "lifecycle_authority".into(),
            json!({ "principals": principals, "note": note }),
        );

        let id = format!("ssh:sha256:{}", k.fingerprint);
        let name = if k.comment.is_empty() {
            format!("{} SHA256:{}", k.key_type, k.fingerprint)
        } else {
            k.comment.clone()
        };
        records.credentials.push(Credential {
            id,
            identity_id: account_id.clone(),
            kind: "ssh-key".into(),
            source: SOURCE.into(),
            scope: scope.clone(),
            name,
            status: Status::Active,
            created_at,
            last_rotated_at: None,
            last_used_at: None,
            ever_used: None,
            expires_at,
            fingerprint: None,
            preview: None,
            attributes: a,
        });
    }

    if let (Some((host, user, how)), Some(id)) = (account, account_id) {
        let (privilege, reason) = if user == "root" {
            (
                Privilege::Admin,
                "the root account: a key here administers the host".to_string(),
            )
        } else {
            (
                Privilege::Unknown,
                format!("the rights of {user} on its host are not in authorized_keys"),
            )
        };
        let mut a = BTreeMap::new();
        a.insert("privilege_reason".into(), json!(reason));
        a.insert("user".into(), json!(user));
        a.insert("host".into(), json!(host));
        a.insert("authorized_keys".into(), json!(path));
        a.insert(
            "account_from".into(),
            json!(if how == "path" { "path" } else { "given" }),
        );
        a.insert(
            "authorized_keys_count".into(),
            json!(records.credentials.len()),
        );
        a.insert(
            "lifecycle_authority".into(),
            json!({ "principals": authority, "note": note }),
        );
        let name = if host == path {
            user.clone()
        } else {
            format!("{user}@{host}")
        };
        records.identities.push(Identity {
            id,
            kind: "ssh-account".into(),
            source: SOURCE.into(),
            scope,
            name,
            account: (host != path).then_some(host),
            status: Status::Active,
            privilege,
            created_at: None,
            last_used_at: None,
            tags: BTreeMap::new(),
            attributes: a,
        });
    }
    records
}

fn push(attrs: &mut BTreeMap<String, Value>, key: &str, v: Value) {
    let list = attrs.entry(key.into()).or_insert_with(|| json!([]));
    if let Value::Array(items) = list
        && !items.contains(&v)
    {
        items.push(v);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn recognising_a_head_cut_inside_a_character_does_not_panic() {
        // found by the fuzz target: a multi-byte character across the 64-byte cut
        let head = format!("ssh-dss {}\u{fffd}\u{fffd}", "A".repeat(62));
        assert!(!super::looks_like(&head));
        let crash = b"ssh-dss\x0cA\xff\xff\xff\xc0\xff\xff\xff\xb7\xff\xe6\xe4A";
        let _ = super::looks_like(&String::from_utf8_lossy(crash));
        let _ = super::parse("crash", crash);
    }

    use super::*;
    use castellan_model::format_ts;

    const WEB: &[u8] =
        include_bytes!("../../castellan/tests/fixtures/ssh/hosts/web-01/deploy/authorized_keys");
    const DB: &[u8] =
        include_bytes!("../../castellan/tests/fixtures/ssh/hosts/db-01/root/.ssh/authorized_keys");
    const CERT: &[u8] = include_bytes!("../../castellan/tests/fixtures/ssh/release-bot-cert.pub");
    const WEB_PATH: &str = "collected/hosts/web-01/deploy/authorized_keys";
    const DB_PATH: &str = "collected/hosts/db-01/root/.ssh/authorized_keys";

    // as `ssh-keygen -lf <file>` prints them
    const CI: &str = "ssh:sha256:3j9aFpi+R9X0JmektfzNsAMKeI2mSQ1KTBui4JAdV2A";
    const ALICE: &str = "ssh:sha256:u3K3PM9I2dcwb8ATN1LKXFL0LG0u7jBzhnQo/mL3cPE";
    const LEGACY: &str = "ssh:sha256:7qgYVlm27Jj9gHTLVddq8I+2PTBQRsnmVeIQ1r23FE0";
    const MON: &str = "ssh:sha256:CCD76lIsbhdHzDmFxmJmrgzoXq00wxoBhFAQbBiCFmQ";
    const NAGIOS: &str = "ssh:sha256:h9P/r/+2Zbb6YIv6pt9NZ3oqYpg3gqxoNs8lrp3Wcy0";
    const FIDO: &str = "ssh:sha256:/lnck58C4fMAR75z/ROWgadUnTtThgJQ+bWewevPZo8";
    const USER_CA: &str = "ssh:sha256:jHc7PmF/3db5E5WbjELEtIDabliAqo7Nkr/PRAB6O8w";
    const DBA: &str = "ssh:sha256:ljddMRurLUmN9jYvts/5UZPzudSGuAea9Hj/xNWQEeo";
    const VAULT: &str = "ssh:sha256:Eyc6d+K+XilS23IjlNERktDNZNIto4yi/UhbVUOG2cY";
    const RELEASE: &str = "ssh:sha256:gg1NBYKoquF4A0yF4fJDxZTtX+agAjkoqAjIFq5v6OU";

    fn cred<'a>(r: &'a Records, id: &str) -> &'a Credential {
        r.credentials
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no {id} in {:?}", r.credentials))
    }

    #[test]
    fn an_authorized_keys_file() {
        let r = parse(WEB_PATH, WEB).expect("parse");
        assert_eq!(r.credentials.len(), 7);
        assert_eq!(r.identities.len(), 1);
        let acct = &r.identities[0];
        assert_eq!(acct.id, "ssh:web-01:deploy");
        assert_eq!(acct.kind, "ssh-account");
        assert_eq!(acct.name, "deploy@web-01");
        assert_eq!(acct.account.as_deref(), Some("web-01"));
        assert_eq!(acct.scope, "ssh:web-01:deploy");
        assert_eq!(acct.privilege, Privilege::Unknown);
        assert_eq!(acct.attributes["account_from"], "path");
        assert_eq!(acct.attributes["authorized_keys_count"], 7);

        let ci = cred(&r, CI);
        assert_eq!(ci.kind, "ssh-key");
        assert_eq!(ci.source, "ssh");
        assert_eq!(ci.identity_id.as_deref(), Some("ssh:web-01:deploy"));
        assert_eq!(ci.name, "ci-deployer@build-01");
        assert_eq!(ci.status, Status::Active);
        assert_eq!(ci.expires_at, None);
        let a = &ci.attributes;
        assert_eq!(a["key_type"], "ssh-ed25519");
        assert_eq!(a["key_bits"], 256);
        assert_eq!(a["line"], 3);
        assert_eq!(a["comment"], "ci-deployer@build-01");
        assert_eq!(a["suggested_owner"], "ci-deployer@build-01");
        assert_eq!(a["from"], json!(["10.20.0.0/16", "!10.20.9.9"]));
        assert_eq!(a["source_restricted"], true);
        assert_eq!(a["forced_command"], "/usr/local/bin/deploy --env prod");
        assert_eq!(a["restricted"], true);
        assert_eq!(
            a["restrictions"],
            json!(["no-pty", "no-port-forwarding", "no-agent-forwarding"])
        );
        assert_eq!(a["weak_key"], false);
        let la = &a["lifecycle_authority"];
        assert_eq!(la["principals"][0]["principal"], "ssh:web-01:deploy");
        assert_eq!(la["principals"][0]["can"], json!(["issue", "revoke"]));
        assert_eq!(la["principals"][1]["principal"], "ssh:web-01:root");
        assert!(
            la["note"]
                .as_str()
                .is_some_and(|n| n.contains("not in the"))
        );

        let alice = cred(&r, ALICE);
        assert_eq!(alice.attributes["key_type"], "ssh-rsa");
        assert_eq!(alice.attributes["key_bits"], 4096);
        assert_eq!(alice.attributes["suggested_owner"], "alice@example.eu");
        assert_eq!(alice.attributes["restricted"], false);
        assert!(!alice.attributes.contains_key("options"));

        let legacy = cred(&r, LEGACY);
        assert_eq!(legacy.attributes["key_bits"], 1024);
        assert_eq!(legacy.attributes["weak_key"], true);
        assert!(!legacy.attributes.contains_key("suggested_owner"));

        let mon = cred(&r, MON);
        assert_eq!(mon.attributes["key_type"], "ecdsa-sha2-nistp256");
        assert_eq!(mon.attributes["key_bits"], 256);
        assert_eq!(mon.attributes["restricted"], true);
        assert_eq!(
            mon.expires_at.map(format_ts).as_deref(),
            Some("2027-01-01T00:00:00Z")
        );
        assert_eq!(
            mon.attributes["expiry_time_zone"],
            "host local time, read as UTC"
        );
        assert_eq!(mon.attributes["environment_names"], json!(["MON_TOKEN"]));

        let dsa = cred(&r, NAGIOS);
        assert_eq!(dsa.attributes["key_type"], "ssh-dss");
        assert_eq!(dsa.attributes["key_bits"], 1024);
        assert_eq!(dsa.attributes["weak_key"], true);

        let fido = cred(&r, FIDO);
        assert_eq!(fido.attributes["key_type"], "sk-ssh-ed25519@openssh.com");
        assert_eq!(fido.attributes["hardware_backed"], true);
        assert_eq!(fido.attributes["options"], json!(["no-touch-required"]));

        let ca = cred(&r, USER_CA);
        assert_eq!(ca.attributes["cert_authority"], true);
        assert_eq!(ca.attributes["principals"], json!(["deploy", "release"]));
        assert_eq!(ca.attributes["line"], 11);
    }

    #[test]
    fn root_is_admin_and_a_shared_key_is_one_credential() {
        let web = parse(WEB_PATH, WEB).expect("web");
        let db = parse(DB_PATH, DB).expect("db");
        let acct = &db.identities[0];
        assert_eq!(acct.id, "ssh:db-01:root");
        assert_eq!(acct.privilege, Privilege::Admin);
        assert!(acct.attributes["privilege_reason"].is_string());
        // the CI key opens both accounts: same id in both imports
        assert_eq!(cred(&web, CI).id, cred(&db, CI).id);
        assert_eq!(cred(&db, CI).identity_id.as_deref(), Some("ssh:db-01:root"));
        assert_eq!(cred(&db, DBA).attributes["key_bits"], 384);
        let vault = cred(&db, VAULT);
        assert_eq!(vault.attributes["key_bits"], 521);
        assert_eq!(
            vault.expires_at.map(format_ts).as_deref(),
            Some("2026-12-31T23:59:00Z")
        );
        assert!(!vault.attributes.contains_key("expiry_time_zone"));
        assert_eq!(
            vault.attributes["forced_command"],
            "/usr/bin/vault-ssh-helper -mode otp"
        );
        // root needs no second "root can write" principal
        assert_eq!(
            vault.attributes["lifecycle_authority"]["principals"]
                .as_array()
                .map(Vec::len),
            Some(1)
        );
    }

    #[test]
    fn a_certificate_pub_file() {
        let r = parse("keys/release-bot-cert.pub", CERT).expect("parse");
        assert!(r.identities.is_empty(), "a .pub file names no account");
        let c = cred(&r, RELEASE);
        assert_eq!(c.identity_id, None);
        assert_eq!(c.attributes["key_type"], "ssh-ed25519-cert-v01@openssh.com");
        assert_eq!(
            c.created_at.map(format_ts).as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        let cert = &c.attributes["certificate"];
        assert_eq!(cert["type"], "user");
        assert_eq!(cert["key_id"], "release-bot@ci");
        assert_eq!(cert["serial"], 4711);
        assert_eq!(cert["principals"], json!(["deploy", "release"]));
        assert_eq!(cert["signing_ca"], USER_CA);
        assert_eq!(cert["signing_ca_type"], "ssh-ed25519");
        assert!(
            cert["extensions"]
                .as_array()
                .is_some_and(|e| e.contains(&json!("permit-pty"))
                    && !e.contains(&json!("permit-port-forwarding")))
        );
        assert!(c.expires_at.is_some());
        assert_eq!(
            c.attributes["lifecycle_authority"]["principals"][0]["principal"],
            USER_CA
        );

        // explicit account
        let r = parse_for("release-bot-cert.pub", CERT, Some("release@web-01")).expect("parse");
        assert_eq!(r.identities[0].id, "ssh:web-01:release");
        assert_eq!(r.identities[0].attributes["account_from"], "given");
        assert_eq!(
            r.credentials[0].identity_id.as_deref(),
            Some("ssh:web-01:release")
        );
    }

    #[test]
    fn accounts_from_paths() {
        let a = |p: &str| account_from_path(p);
        let own = |h: &str, u: &str| Some((h.to_string(), u.to_string()));
        assert_eq!(
            a("/home/alice/.ssh/authorized_keys"),
            own("/home/alice/.ssh/authorized_keys", "alice")
        );
        assert_eq!(
            a("/root/.ssh/authorized_keys"),
            own("/root/.ssh/authorized_keys", "root")
        );
        assert_eq!(
            a("dump/web-01/home/alice/.ssh/authorized_keys2"),
            own("web-01", "alice")
        );
        assert_eq!(
            a("dump/db-01/root/.ssh/authorized_keys"),
            own("db-01", "root")
        );
        assert_eq!(
            a("/var/lib/jenkins/.ssh/authorized_keys"),
            own("/var/lib/jenkins/.ssh/authorized_keys", "jenkins")
        );
        assert_eq!(
            a("inv/web-01/deploy/authorized_keys"),
            own("web-01", "deploy")
        );
        assert_eq!(
            a("deploy/authorized_keys"),
            own("deploy/authorized_keys", "deploy")
        );
        assert_eq!(
            a("web-02/etc/ssh/authorized_keys/backup"),
            own("web-02", "backup")
        );
        assert_eq!(
            a("C:\\dump\\web-03\\ops\\authorized_keys"),
            own("web-03", "ops")
        );
        assert_eq!(a("authorized_keys"), None);
        assert_eq!(a(".ssh/authorized_keys"), None);
        assert_eq!(
            a("/home/alice/.ssh/id_ed25519.pub").map(|x| x.1),
            Some("alice".into())
        );
        assert_eq!(a("keys/id_ed25519.pub"), None);
        // the caller's account wins
        let r = parse_for("authorized_keys", WEB, Some("deploy")).expect("parse");
        assert_eq!(r.identities[0].id, "ssh:authorized_keys:deploy");
        assert_eq!(r.identities[0].name, "deploy");
        let r = parse("authorized_keys", WEB).expect("parse");
        assert!(r.identities.is_empty());
        assert!(r.credentials.iter().all(|c| c.identity_id.is_none()));
    }

    #[test]
    fn option_parsing() {
        let o = parse_options(r#"command="echo \"hi, there\"",no-pty,from="a,b""#).expect("ok");
        assert_eq!(o[0], ("command".into(), Some("echo \"hi, there\"".into())));
        assert_eq!(o[1], ("no-pty".into(), None));
        assert_eq!(o[2], ("from".into(), Some("a,b".into())));
        assert!(parse_options("bogus").is_err());
        assert!(parse_options("command").is_err());
        assert!(parse_options("no-pty=\"x\"").is_err());
        assert!(parse_options("from=a").is_err());
        assert!(parse_options("no-pty,,restrict").is_err());
        assert!(parse_options("no-pty,").is_err());
        assert_eq!(
            parse_options("NO-PTY").expect("sshd ignores case"),
            [("NO-PTY".to_string(), None)],
            "kept as written"
        );
        assert!(parse_options("No-Pty=\"x\"").is_err());
        assert!(parse_options("FROM").is_err());

        assert_eq!(
            expiry_time("20270101").map(|(t, z)| (format_ts(t), z)),
            Some(("2027-01-01T00:00:00Z".into(), false))
        );
        assert_eq!(
            expiry_time("20270101123045Z").map(|(t, z)| (format_ts(t), z)),
            Some(("2027-01-01T12:30:45Z".into(), true))
        );
        assert_eq!(expiry_time("2027-01-01"), None);
        assert_eq!(expiry_time("20271301"), None);

        assert_eq!(
            safe_command("/usr/bin/backup --token=ghp_abcdefghij0123456789 --dir /srv"),
            "/usr/bin/backup [--to…6789 (32 chars)] --dir /srv"
        );
        assert_eq!(
            suggested_owner("alice@example.eu"),
            Some("alice@example.eu".into())
        );
        assert_eq!(suggested_owner("Bob@Laptop"), Some("bob@laptop".into()));
        assert_eq!(suggested_owner("my laptop key"), None);
        assert_eq!(suggested_owner("a@b@c"), None);
    }

    #[test]
    fn malformed_lines_are_errors_naming_file_and_line() {
        let text = String::from_utf8_lossy(WEB);
        let mut lines: Vec<&str> = text.lines().collect();
        lines[3] = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAACAQCrfi";
        let e = parse("ak", lines.join("\n").as_bytes()).expect_err("truncated");
        let s = e.to_string();
        assert!(s.starts_with("ak:4: field `key`"), "{s}");

        let e = parse("ak", b"# c\n\nbogus-opt ssh-ed25519 AAAA x\n").expect_err("opt");
        let s = e.to_string();
        assert!(s.starts_with("ak:3: field `options`"), "{s}");
        assert!(s.contains("unknown option `bogus-opt`"), "{s}");

        let e = parse("ak", b"ssh-ed25519\n").expect_err("no key");
        assert!(e.to_string().starts_with("ak:1:"), "{e}");

        let e = parse("ak", b"just some words here\n").expect_err("words");
        assert!(e.to_string().starts_with("ak:1:"), "{e}");

        let e = parse("ak", b"expiry-time=\"tomorrow\" ssh-ed25519 AAAA\n").expect_err("exp");
        assert!(e.to_string().contains("field `expiry-time`"), "{e}");

        // the blob's type must match the declared type
        let ed = "AAAAC3NzaC1lZDI1NTE5AAAAIF1KgzLdHLXJOUhMcT4wrPSQUjrD8PSJ2w/OzSuxm3gz";
        let e = parse("ak", format!("ssh-rsa {ed}\n").as_bytes()).expect_err("mismatch");
        assert!(e.to_string().contains("type field"), "{e}");
        assert!(parse("ak", format!("ssh-ed25519 {ed} ca\n").as_bytes()).is_ok());

        let e = parse("ak", b"# only comments\n\n").expect_err("empty");
        assert!(e.to_string().contains("no public key"), "{e}");
        let e = parse("ak", b"").expect_err("empty");
        assert!(e.to_string().contains("no public key"), "{e}");
        let e = parse("ak", b"\xff\xfe\x00\x01junk\n").expect_err("binary");
        assert!(e.to_string().starts_with("ak:1:"), "{e}");
        // a known_hosts file is not an authorized_keys file
        let e = parse(
            "kh",
            format!("web-01,10.0.0.1 ssh-ed25519 {ed}\n").as_bytes(),
        )
        .expect_err("known_hosts");
        assert!(e.to_string().contains("unknown option"), "{e}");
    }

    #[test]
    fn private_keys_are_refused_without_echo() {
        let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n";
        assert!(looks_like(key));
        let e = parse("id_ed25519", key.as_bytes()).expect_err("private");
        let s = e.to_string();
        assert!(s.contains("does not import private keys"), "{s}");
        assert!(!s.contains("b3BlbnNzaC1rZXktdjEA"), "{s}");
        let e = parse(
            "k.pub",
            b"---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n---- END SSH2 PUBLIC KEY ----\n",
        )
        .expect_err("rfc4716");
        assert!(e.to_string().contains("ssh-keygen -i"), "{e}");
    }

    #[test]
    fn planted_secrets_never_appear() {
        let ed = "AAAAC3NzaC1lZDI1NTE5AAAAIF1KgzLdHLXJOUhMcT4wrPSQUjrD8PSJ2w/OzSuxm3gz";
        let line = format!(
            "environment=\"DB_PASSWORD=Sup3rS3cretValue42\",command=\"/opt/sync --password=Hunter2Hunter2Hunter2\" ssh-ed25519 {ed} sync@example.eu\n"
        );
        let r = parse("/home/sync/.ssh/authorized_keys", line.as_bytes()).expect("parse");
        let mut all = format!("{r:?}");
        all.push_str(&serde_json::to_string(&r).expect("json"));
        assert!(!all.contains("Sup3rS3cretValue42"), "{all}");
        assert!(!all.contains("Hunter2Hunter2Hunter2"), "{all}");
        assert!(all.contains("DB_PASSWORD"));
        let web = parse(WEB_PATH, WEB).expect("web");
        let all = serde_json::to_string(&web).expect("json");
        assert!(!all.contains("placeholder-not-a-secret"));
        // errors quote no option value
        let bad = format!("environment=\"X=Sup3rS3cretValue42\",nope ssh-ed25519 {ed}\n");
        let e = parse("ak", bad.as_bytes()).expect_err("bad");
        assert!(!e.to_string().contains("Sup3rS3cret"), "{e}");
    }

    #[test]
    fn recognised_by_content() {
        assert!(looks_like(&String::from_utf8_lossy(WEB)));
        assert!(looks_like(&String::from_utf8_lossy(DB)));
        assert!(looks_like(&String::from_utf8_lossy(CERT)));
        // a head cut inside the first key still counts
        let web = String::from_utf8_lossy(WEB);
        let cut = &web[..web.find("AAAAC3").map_or(0, |i| i + 30)];
        assert!(looks_like(cut));
        assert!(!looks_like("# only a comment\n"));
        assert!(!looks_like("castellan: 1\nservices: []\n"));
        assert!(!looks_like("{\"UserDetailList\": []}"));
        assert!(!looks_like("apiVersion: v1\nkind: List\nitems: []\n"));
        assert!(!looks_like("Report,generated_time\n"));
        assert!(!looks_like(
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        ));
        assert!(!looks_like(
            "web-01 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF1KgzLdHLXJOUhMcT4wrPSQUjrD8PSJ2w/OzSuxm3gz\n"
        ));
        assert!(!looks_like("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIF1K\n"));
    }

    #[test]
    fn the_scope_is_the_account_however_the_path_is_spelt() {
        let dir = env!("CARGO_MANIFEST_DIR");
        let spellings = [
            WEB_PATH.to_string(),
            format!("./{WEB_PATH}"),
            "/srv/estate/collected/hosts/web-01/deploy/authorized_keys".to_string(),
            "C:\\estate\\hosts\\web-01\\deploy\\authorized_keys".to_string(),
            // the same account in the home-directory layout
            "dump/web-01/home/deploy/.ssh/authorized_keys".to_string(),
            format!("{dir}/../castellan/tests/fixtures/ssh/hosts/web-01/deploy/authorized_keys"),
        ];
        let first = parse(WEB_PATH, WEB).expect("parse");
        for p in &spellings {
            let r = parse(p, WEB).expect("parse");
            assert_eq!(r.identities[0].id, "ssh:web-01:deploy", "{p}");
            assert_eq!(r.identities[0].scope, "ssh:web-01:deploy", "{p}");
            assert!(
                r.credentials.iter().all(|c| c.scope == "ssh:web-01:deploy"),
                "{p}"
            );
            // the ids are unchanged: the fingerprints
            let ids = |r: &Records| {
                r.credentials
                    .iter()
                    .map(|c| c.id.clone())
                    .collect::<Vec<_>>()
            };
            assert_eq!(ids(&r), ids(&first), "{p}");
        }
        // an account given by the caller is the scope too
        let r =
            parse_for("keys/release-bot-cert.pub", CERT, Some("release@web-01")).expect("parse");
        assert_eq!(r.credentials[0].scope, "ssh:web-01:release");
        assert_eq!(r.identities[0].scope, "ssh:web-01:release");
        assert_eq!(
            scope_for("keys/release-bot-cert.pub", Some("release@web-01")),
            "ssh:web-01:release"
        );
        assert_eq!(scope_for(DB_PATH, None), "ssh:db-01:root");
    }

    #[test]
    fn without_a_host_the_scope_is_the_file_and_a_hash_of_its_real_path() {
        let hashed = |s: &str, name: &str| {
            let Some(hash) = s.strip_prefix(&format!("ssh:{name}#")) else {
                return false;
            };
            hash.len() == 12 && hash.bytes().all(|b| b.is_ascii_hexdigit())
        };
        // an existing file: every spelling of its path is one scope
        let dir = env!("CARGO_MANIFEST_DIR");
        let rel = "../castellan/tests/fixtures/ssh/release-bot-cert.pub";
        let spellings = [
            rel.to_string(),
            format!("./{rel}"),
            format!("{dir}/{rel}"),
            format!("{dir}/../castellan/tests/fixtures/ssh/../ssh/./release-bot-cert.pub"),
        ];
        let want = scope_for(rel, None);
        assert!(hashed(&want, "release-bot-cert.pub"), "{want}");
        for p in &spellings {
            let r = parse(p, CERT).expect("parse");
            assert!(r.identities.is_empty());
            assert_eq!(r.credentials[0].scope, want, "{p}");
            assert_eq!(r.credentials[0].id, RELEASE, "{p}");
        }
        // another file of the same name is another scope
        let elsewhere = parse("elsewhere/release-bot-cert.pub", CERT).expect("parse");
        assert!(hashed(
            &elsewhere.credentials[0].scope,
            "release-bot-cert.pub"
        ));
        assert_ne!(elsewhere.credentials[0].scope, want);
        // the path stands for the host: the id keeps the path, the scope does not carry it
        let p = "/home/alice/.ssh/authorized_keys";
        let r = parse(p, WEB).expect("parse");
        assert_eq!(
            r.identities[0].id,
            "ssh:/home/alice/.ssh/authorized_keys:alice"
        );
        assert!(
            hashed(&r.identities[0].scope, "authorized_keys"),
            "{:?}",
            r.identities[0].scope
        );
        assert!(
            r.credentials
                .iter()
                .all(|c| c.scope == r.identities[0].scope)
        );
        let r = parse_for("authorized_keys", WEB, Some("deploy")).expect("parse");
        assert_eq!(r.identities[0].id, "ssh:authorized_keys:deploy");
        assert!(hashed(&r.identities[0].scope, "authorized_keys"));
        // a Windows path: the name is its last component
        assert!(hashed(&scope_for("C:\\keys\\ops.pub", None), "ops.pub"));
    }

    #[test]
    fn options_are_recorded_as_written() {
        let ed = "AAAAC3NzaC1lZDI1NTE5AAAAIF1KgzLdHLXJOUhMcT4wrPSQUjrD8PSJ2w/OzSuxm3gz";
        let line = format!(
            "FROM=\"10.0.0.0/8\",Command=\"/usr/bin/backup --dir /srv\",NO-PTY,No-Port-Forwarding,\
             Expiry-Time=\"20270101Z\",PermitOpen=\"db:5432\",Environment=\"MODE=x\",Cert-Authority,\
             Principals=\"ops\" ssh-ed25519 {ed} backup@example.eu\n"
        );
        assert!(looks_like(&line));
        let r = parse("/srv/backup/.ssh/authorized_keys", line.as_bytes()).expect("parse");
        let a = &r.credentials[0].attributes;
        assert_eq!(
            a["options"],
            json!([
                "FROM",
                "Command",
                "NO-PTY",
                "No-Port-Forwarding",
                "Expiry-Time",
                "PermitOpen",
                "Environment",
                "Cert-Authority",
                "Principals"
            ])
        );
        // matched case-insensitively, as sshd does
        assert_eq!(a["from"], json!(["10.0.0.0/8"]));
        assert_eq!(a["source_restricted"], true);
        assert_eq!(a["forced_command"], "/usr/bin/backup --dir /srv");
        assert_eq!(a["restricted"], true);
        assert_eq!(a["restrictions"], json!(["no-pty", "no-port-forwarding"]));
        assert_eq!(a["permitopen"], json!(["db:5432"]));
        assert_eq!(a["environment_names"], json!(["MODE"]));
        assert_eq!(a["cert_authority"], true);
        assert_eq!(a["principals"], json!(["ops"]));
        assert_eq!(
            r.credentials[0].expires_at.map(format_ts).as_deref(),
            Some("2027-01-01T00:00:00Z")
        );
        // a bad value of a differently-cased option is still checked
        let e = parse(
            "ak",
            format!("EXPIRY-TIME=\"soon\" ssh-ed25519 {ed}\n").as_bytes(),
        )
        .expect_err("expiry");
        assert!(e.to_string().contains("field `expiry-time`"), "{e}");
        // an unknown option is named as written
        let e = parse("ak", format!("No-Such ssh-ed25519 {ed}\n").as_bytes()).expect_err("opt");
        assert!(e.to_string().contains("unknown option `No-Such`"), "{e}");
    }

    #[test]
    fn duplicate_lines_are_one_key() {
        let text = String::from_utf8_lossy(WEB);
        let alice = text.lines().find(|l| l.contains("alice@")).expect("alice");
        let twice = format!("{alice}\n{alice}\n");
        let r = parse("/home/x/.ssh/authorized_keys", twice.as_bytes()).expect("parse");
        assert_eq!(r.credentials.len(), 1);
        assert_eq!(r.credentials[0].attributes["lines"], json!([1, 2]));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = parse("p", &bytes);
            let _ = looks_like(&String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn mutated_lines_never_panic(i in 0usize..4000, b in proptest::num::u8::ANY) {
            let mut w = WEB.to_vec();
            let n = w.len();
            w[i % n] = b;
            let _ = parse(WEB_PATH, &w);
            let mut c = CERT.to_vec();
            let n = c.len();
            c[i % n] = b;
            let _ = parse("c.pub", &c);
        }

        #[test]
        fn any_blob_never_panics(blob in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            for kind in ["ssh-ed25519-cert-v01@openssh.com", "ssh-rsa", "sk-ecdsa-sha2-nistp256@openssh.com"] {
                let mut b = (kind.len() as u32).to_be_bytes().to_vec();
                b.extend_from_slice(kind.as_bytes());
                b.extend_from_slice(&blob);
                let _ = decode_blob(kind, &b);
            }
        }
    }
}
