//! Private key files: OpenSSH (`id_rsa`, `id_ed25519`…, `ssh_host_*_key`), PEM (`*.pem`,
//! `*.key`: PKCS#1 RSA/DSA/EC, PKCS#8, encrypted PKCS#8, PGP private key blocks) and PuTTY
//! `*.ppk`, also recognised by content (a file that starts with `-----BEGIN`). The secret is
//! the whole key block; context tells the format, algorithm and whether it is encrypted, and an
//! unencrypted OpenSSH key's comment (`user@host`) is its identifier.

use super::util::{self, MatchExt};
use super::{Extracted, File};

const RULE: &str = "extract.private-key";

pub(crate) fn applies(f: &File) -> bool {
    let n = f.name.as_str();
    if n.ends_with(".pub") {
        return false;
    }
    (n.starts_with("id_") && !n.contains('.'))
        || (n.starts_with("ssh_host_") && n.ends_with("_key"))
        || n.ends_with("_rsa")
        || n.ends_with("_ed25519")
        || n.ends_with("_ecdsa")
        || n.ends_with("_dsa")
        || matches!(
            f.ext(),
            "pem" | "key" | "ppk" | "p8" | "pk8" | "pkcs8" | "asc" | "gpg"
        )
        || f.text.trim_start().starts_with("-----BEGIN")
        || f.text.starts_with("PuTTY-User-Key-File-")
}

/// A big-endian length-prefixed SSH string at `*i`.
fn ssh_string<'b>(b: &'b [u8], i: &mut usize) -> Option<&'b [u8]> {
    let len = u32::from_be_bytes(b.get(*i..*i + 4)?.try_into().ok()?) as usize;
    let s = b.get(*i + 4..(*i + 4).checked_add(len)?)?;
    *i += 4 + len;
    Some(s)
}

struct OpenSsh {
    cipher: String,
    algorithm: String,
    comment: Option<String>,
}

/// Reads the header (and, when unencrypted, the comment) of an `openssh-key-v1` blob.
fn openssh(blob: &[u8]) -> Option<OpenSsh> {
    let magic = b"openssh-key-v1\0";
    let rest = blob.strip_prefix(magic.as_slice())?;
    let mut i = 0usize;
    let cipher = String::from_utf8_lossy(ssh_string(rest, &mut i)?).into_owned();
    let _kdf = ssh_string(rest, &mut i)?;
    let _kdfopts = ssh_string(rest, &mut i)?;
    i += 4; // number of keys
    let pubkey = ssh_string(rest, &mut i)?;
    let mut j = 0usize;
    let algorithm = String::from_utf8_lossy(ssh_string(pubkey, &mut j)?).into_owned();
    let mut comment = None;
    if cipher == "none"
        && let Some(private) = ssh_string(rest, &mut i)
    {
        let mut k = 8usize; // two check integers
        if let Some(kt) = ssh_string(private, &mut k) {
            let fields = match kt {
                b"ssh-ed25519" => 2,
                b"ssh-rsa" => 6,
                b"ssh-dss" => 5,
                t if t.starts_with(b"ecdsa-sha2-") => 3,
                _ => 0,
            };
            let mut ok = fields > 0;
            for _ in 0..fields {
                ok &= ssh_string(private, &mut k).is_some();
            }
            if ok {
                comment = ssh_string(private, &mut k)
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .filter(|c| !c.is_empty() && c.chars().all(|ch| !ch.is_control()));
            }
        }
    }
    Some(OpenSsh {
        cipher,
        algorithm,
        comment,
    })
}

fn pem_algorithm(label: &str) -> &'static str {
    if label.starts_with("RSA") {
        "rsa"
    } else if label.starts_with("EC") {
        "ec"
    } else if label.starts_with("DSA") {
        "dsa"
    } else {
        "unknown"
    }
}

pub(crate) fn run(f: &File, out: &mut Extracted) {
    let text = f.text;
    if let Some(start) = text.find("PuTTY-User-Key-File-") {
        let block = util::slice(text, start, text.len()).trim_end();
        let header = |k: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(k))
                .map(|v| v.trim().to_string())
        };
        let alg = block
            .lines()
            .next()
            .and_then(|l| l.split_once(':'))
            .map(|(_, a)| a.trim().to_string());
        let enc = header("Encryption:").unwrap_or_default();
        out.push(
            util::secret_match(RULE, "private-key", "ssh", block, start, block.len())
                .id_opt(header("Comment:").filter(|c| !c.is_empty()))
                .ctx("format", "putty")
                .ctx_opt("algorithm", alg)
                .ctx("encrypted", if enc == "none" { "no" } else { "yes" }),
        );
        return;
    }
    let mut from = 0usize;
    while let Some(p) = text.get(from..).and_then(|t| t.find("-----BEGIN ")) {
        let begin = from + p;
        let label_start = begin + "-----BEGIN ".len();
        let Some(label_end) = text
            .get(label_start..)
            .and_then(|t| t.find("-----"))
            .map(|e| label_start + e)
        else {
            break;
        };
        let label = util::slice(text, label_start, label_end);
        from = label_end;
        if !(label.ends_with("PRIVATE KEY") || label == "PGP PRIVATE KEY BLOCK") || label.len() > 40
        {
            continue;
        }
        let end_marker = format!("-----END {label}-----");
        let (end, truncated) = match text.get(label_end..).and_then(|t| t.find(&end_marker)) {
            Some(e) => (label_end + e + end_marker.len(), false),
            None => (text.len(), true),
        };
        from = end.max(from);
        let block = util::slice(text, begin, end);
        let body: String = block
            .lines()
            .skip(1)
            .filter(|l| !l.starts_with("-----") && !l.contains(':'))
            .collect::<Vec<_>>()
            .concat();
        let (format, algorithm, encrypted, comment) = if label == "OPENSSH PRIVATE KEY" {
            match util::b64_decode(&body).as_deref().and_then(openssh) {
                Some(o) => {
                    let alg = o.algorithm.trim_start_matches("ssh-").to_string();
                    (
                        "openssh",
                        alg,
                        if o.cipher == "none" { "no" } else { "yes" },
                        o.comment,
                    )
                }
                None => ("openssh", "unknown".into(), "unknown", None),
            }
        } else if label == "ENCRYPTED PRIVATE KEY" {
            ("pkcs8", "unknown".into(), "yes", None)
        } else if label == "PRIVATE KEY" {
            ("pkcs8", "unknown".into(), "no", None)
        } else if label == "PGP PRIVATE KEY BLOCK" {
            ("pgp", "unknown".into(), "unknown", None)
        } else {
            let enc = if block.contains("Proc-Type: 4,ENCRYPTED") {
                "yes"
            } else {
                "no"
            };
            ("pkcs1", pem_algorithm(label).to_string(), enc, None)
        };
        let provider = if format == "openssh"
            || f.name.starts_with("id_")
            || f.name.starts_with("ssh_host_")
        {
            "ssh"
        } else if format == "pgp" {
            "pgp"
        } else {
            "tls"
        };
        out.push(
            util::secret_match(RULE, "private-key", provider, block, begin, block.len())
                .id_opt(comment)
                .ctx("format", format)
                .ctx("algorithm", algorithm)
                .ctx("encrypted", encrypted)
                .ctx_opt("truncated", truncated.then_some("yes")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    fn ssh_str(out: &mut Vec<u8>, s: &[u8]) {
        out.extend_from_slice(&(s.len() as u32).to_be_bytes());
        out.extend_from_slice(s);
    }

    fn b64(data: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in data.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for k in 0..4 {
                if k <= c.len() {
                    s.push(A[((n >> (18 - 6 * k)) & 63) as usize] as char);
                } else {
                    s.push('=');
                }
            }
        }
        s
    }

    /// A structurally valid, unencrypted OpenSSH ed25519 key with synthetic key material.
    fn openssh_key(comment: &str, cipher: &str) -> String {
        let mut pubkey = Vec::new();
        ssh_str(&mut pubkey, b"ssh-ed25519");
        ssh_str(&mut pubkey, &[7u8; 32]);
        let mut private = vec![1, 2, 3, 4, 1, 2, 3, 4];
        ssh_str(&mut private, b"ssh-ed25519");
        ssh_str(&mut private, &[7u8; 32]);
        ssh_str(&mut private, &[9u8; 64]);
        ssh_str(&mut private, comment.as_bytes());
        let mut blob = b"openssh-key-v1\0".to_vec();
        ssh_str(&mut blob, cipher.as_bytes());
        ssh_str(
            &mut blob,
            if cipher == "none" { b"none" } else { b"bcrypt" },
        );
        ssh_str(&mut blob, b"");
        blob.extend_from_slice(&1u32.to_be_bytes());
        ssh_str(&mut blob, &pubkey);
        ssh_str(&mut blob, &private);
        let body = b64(&blob);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(70)
            .map(|c| std::str::from_utf8(c).unwrap_or(""))
            .collect();
        format!(
            "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
            lines.join("\n")
        )
    }

    #[test]
    fn openssh_key_with_comment() {
        let text = openssh_key("deploy@ci-runner-07", "none");
        let ex = run("home/.ssh/id_ed25519", &text);
        let block = text.trim_end();
        let m = expect_secret(&ex, &text, block, 1, None);
        assert_eq!(m.identifier.as_deref(), Some("deploy@ci-runner-07"));
        assert_eq!(
            m.context.get("algorithm").map(String::as_str),
            Some("ed25519")
        );
        assert_eq!(m.context.get("encrypted").map(String::as_str), Some("no"));
        assert_eq!(m.provider, "ssh");
        let enc = openssh_key("x@y", "aes256-ctr");
        let ex = run("home/.ssh/id_ed25519", &enc);
        assert_eq!(
            ex.matches
                .first()
                .and_then(|m| m.context.get("encrypted"))
                .map(String::as_str),
            Some("yes")
        );
        assert!(ex.matches.first().is_some_and(|m| m.identifier.is_none()));
        assert!(
            run("home/.ssh/id_ed25519.pub", "ssh-ed25519 AAAA x@y")
                .matches
                .is_empty()
        );
    }

    #[test]
    fn pem_keys_certificates_and_truncation() {
        let text = "subject=CN=api\n-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0A1B2C3D4E5F60718293A4B5C6D7E8F9\n\nMIIEowIBAAKCAQEAq7Zt\n-----END RSA PRIVATE KEY-----\n-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n";
        let ex = run("certs/api.pem", text);
        let block = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0A1B2C3D4E5F60718293A4B5C6D7E8F9\n\nMIIEowIBAAKCAQEAq7Zt\n-----END RSA PRIVATE KEY-----";
        let secret = super::util::normalize_pem(block);
        let r = expect_secret(&ex, text, &secret, 5, Some(block));
        assert_eq!(r.context.get("encrypted").map(String::as_str), Some("yes"));
        assert_eq!(r.context.get("format").map(String::as_str), Some("pkcs1"));
        let t = ex.matches.get(1).expect("truncated key");
        assert_eq!(t.context.get("truncated").map(String::as_str), Some("yes"));
        assert_eq!(line_of(text, t.offset), 11);
        assert_eq!(ex.matches.len(), 2);
    }

    #[test]
    fn putty_key() {
        let text = "PuTTY-User-Key-File-3: ssh-rsa\nEncryption: none\nComment: ops@jumpbox\nPublic-Lines: 1\nAAAAB3NzaC1yc2E=\nPrivate-Lines: 1\nAAABAQCx9fakefake=\nPrivate-MAC: 0a1b2c\n";
        let ex = run("keys/ops.ppk", text);
        let m = ex.matches.first().expect("ppk");
        assert_eq!(m.identifier.as_deref(), Some("ops@jumpbox"));
        assert_eq!(m.context.get("encrypted").map(String::as_str), Some("no"));
        assert_eq!(line_of(text, m.offset), 1);
    }
}
