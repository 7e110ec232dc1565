//! Password hashes: Apache `.htpasswd` (`user:hash`, also plaintext entries) and `.htdigest`
//! (`user:realm:md5`), and `/etc/shadow`-style files (`user:hash:…`; locked `!`/`*` entries
//! without a hash are skipped). Kind `password-hash`; the secret is the hash.

use super::util::{self, MatchExt};
use super::{Extracted, File};
use crate::rules::Confidence;

pub(crate) fn applies(f: &File) -> bool {
    is_htpasswd(f) || is_shadow(f)
}

fn is_htpasswd(f: &File) -> bool {
    let n = f.name.as_str();
    n == ".htpasswd"
        || n == "htpasswd"
        || n.ends_with(".htpasswd")
        || n == ".htdigest"
        || n.ends_with(".htdigest")
}

fn is_shadow(f: &File) -> bool {
    matches!(
        f.name.as_str(),
        "shadow" | "shadow-" | "gshadow" | "master.passwd" | "shadow.bak"
    )
}

/// The hash algorithm a stored value shows, if it is a hash.
pub(crate) fn algorithm(h: &str) -> Option<&'static str> {
    let pre = |p: &str| h.starts_with(p);
    Some(if pre("$apr1$") {
        "apr1-md5"
    } else if pre("$2a$") || pre("$2b$") || pre("$2y$") || pre("$2x$") {
        "bcrypt"
    } else if pre("$1$") {
        "md5-crypt"
    } else if pre("$5$") {
        "sha256-crypt"
    } else if pre("$6$") {
        "sha512-crypt"
    } else if pre("$y$") {
        "yescrypt"
    } else if pre("$gy$") {
        "gost-yescrypt"
    } else if pre("$7$") {
        "scrypt"
    } else if pre("$argon2") {
        "argon2"
    } else if pre("$sha1$") {
        "sha1-crypt"
    } else if pre("$md5") {
        "sun-md5"
    } else if pre("{SHA}") {
        "sha1"
    } else if pre("{SSHA}") {
        "salted-sha1"
    } else if h.len() == 13
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '/')
    {
        "des-crypt"
    } else {
        return None;
    })
}

pub(crate) fn run(f: &File, out: &mut Extracted) {
    let ht = is_htpasswd(f);
    let digest = f.name.contains("htdigest");
    let (rule, provider) = if ht {
        ("extract.htpasswd", "apache")
    } else {
        ("extract.shadow", "unix")
    };
    let mut pos = 0usize;
    for raw in f.text.split_inclusive('\n') {
        let start = pos;
        pos += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(':').collect();
        let (user, idx) = if digest {
            (fields.first(), 2)
        } else {
            (fields.first(), 1)
        };
        let (Some(user), Some(value)) = (user, fields.get(idx)) else {
            continue;
        };
        let offset = start + fields.iter().take(idx).map(|s| s.len() + 1).sum::<usize>();
        let mut hash = *value;
        let mut off = offset;
        let locked = hash.starts_with('!');
        if !ht {
            hash = hash.trim_start_matches('!');
            off += value.len() - hash.len();
            if hash.is_empty() || hash.starts_with('*') || hash == "x" {
                continue;
            }
        }
        if hash.is_empty() || user.is_empty() {
            continue;
        }
        let alg = if digest && hash.len() == 32 && hash.chars().all(|c| c.is_ascii_hexdigit()) {
            Some("md5-digest")
        } else {
            algorithm(hash)
        };
        let m = match alg {
            Some(a) => util::secret_match(rule, "password-hash", provider, hash, off, hash.len())
                .ctx("algorithm", a),
            None if ht && !digest && !util::is_placeholder(hash, true) => {
                // htpasswd -p stores plaintext.
                util::secret_match(rule, "password", provider, hash, off, hash.len())
                    .ctx("algorithm", "plaintext")
                    .conf(Confidence::Medium)
            }
            None => continue,
        };
        let m = m
            .id(user.to_string())
            .ctx("user", user.to_string())
            .ctx_opt(
                "realm",
                if digest {
                    fields.get(1).map(|s| s.to_string())
                } else {
                    None
                },
            )
            .ctx_opt("locked", (locked && !ht).then_some("yes"));
        out.push(m);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn htpasswd_entries() {
        let text = "admin:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/\nbob:$2y$05$c4WoMPo3SXsafkva.HHa6uXQZWr7oboPiC2bT/r7q1BB8I2s0BRqC\nlegacy:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\nplain:Tr0ub4dor&3x\n# comment:line\n";
        let ex = run("site/.htpasswd", text);
        let a = expect_secret(&ex, text, "$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/", 1, None);
        assert_eq!(
            (a.kind.as_str(), a.identifier.as_deref()),
            ("password-hash", Some("admin"))
        );
        assert_eq!(
            a.context.get("algorithm").map(String::as_str),
            Some("apr1-md5")
        );
        expect_secret(
            &ex,
            text,
            "$2y$05$c4WoMPo3SXsafkva.HHa6uXQZWr7oboPiC2bT/r7q1BB8I2s0BRqC",
            2,
            None,
        );
        expect_secret(&ex, text, "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", 3, None);
        let p = expect_secret(&ex, text, "Tr0ub4dor&3x", 4, None);
        assert_eq!(p.kind, "password");
        assert_eq!(ex.matches.len(), 4);
    }

    #[test]
    fn shadow_entries() {
        let text = "root:$6$Qx3bLk9s$T1cQ0a9v8nXwYz7p6LkJh5Gf4Ds3Aq2Ws1Ed0Rf9Tg8Yh7Uj6Ik5Ol4P3mN2bV1cX0zL9kJ8hG7fD6sA5qW4eR3t:19500:0:99999:7:::\ndaemon:*:19500:0:99999:7:::\nsvc:!:19500::::::\nold:!$y$j9T$abcdEFGH1234ijkl$QWErty0987uiopASDF1234ghjkLZXC5678vbnm./1:19000:0:99999:7:::\n";
        let ex = run("etc/shadow", text);
        let r = expect_secret(
            &ex,
            text,
            "$6$Qx3bLk9s$T1cQ0a9v8nXwYz7p6LkJh5Gf4Ds3Aq2Ws1Ed0Rf9Tg8Yh7Uj6Ik5Ol4P3mN2bV1cX0zL9kJ8hG7fD6sA5qW4eR3t",
            1,
            None,
        );
        assert_eq!(r.rule_id, "extract.shadow");
        assert_eq!(
            r.context.get("algorithm").map(String::as_str),
            Some("sha512-crypt")
        );
        let o = expect_secret(
            &ex,
            text,
            "$y$j9T$abcdEFGH1234ijkl$QWErty0987uiopASDF1234ghjkLZXC5678vbnm./1",
            4,
            None,
        );
        assert_eq!(o.context.get("locked").map(String::as_str), Some("yes"));
        assert_eq!(ex.matches.len(), 2);
    }
}
