//! Dotenv files (`.env`, `.env.*`, `*.env`, `.envrc`): `[export] KEY=VALUE` lines with single,
//! double (escapes, multi-line) or back-quoted values and ` #` comments. A KEY whose name says
//! credential with a literal value is a match; `${OTHER}` is a reference to the environment.
//! Encrypted variants (`.env.vault`, `.env.enc`, `.env.gpg`, `.env.age`) are not read.

use super::refs::Assign;
use super::tree::Scalar;
use super::{Emit, Extracted, File};
use crate::rules::Confidence;

const RULE: &str = "extract.dotenv";

pub(crate) fn applies(f: &File) -> bool {
    let n = f.name.as_str();
    if n.ends_with(".vault") || n.ends_with(".enc") || n.ends_with(".gpg") || n.ends_with(".age") {
        return false;
    }
    n == ".env"
        || n.starts_with(".env.")
        || n == ".envrc"
        || n == ".flaskenv"
        || (n.ends_with(".env") && n.len() > 4)
}

/// One parsed `KEY=value`.
pub(crate) struct Var {
    pub key: String,
    pub value: String,
    pub offset: usize,
    pub len: usize,
    pub verbatim: bool,
}

/// The variables of a dotenv text.
pub(crate) fn parse(text: &str) -> Vec<Var> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0usize;
    while i < b.len() {
        let line_end = text
            .get(i..)
            .and_then(|t| t.find('\n'))
            .map_or(b.len(), |p| i + p);
        let line = super::util::slice(text, i, line_end);
        let mut body = line.trim_start_matches([' ', '\t', '\u{feff}']);
        let mut at = i + (line.len() - body.len());
        if let Some(rest) = body
            .strip_prefix("export ")
            .or_else(|| body.strip_prefix("set "))
        {
            let r = rest.trim_start();
            at += body.len() - r.len();
            body = r;
        }
        let key_len = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-'))
            .unwrap_or(body.len());
        let key = super::util::slice(body, 0, key_len);
        let after = super::util::slice(body, key_len, body.len());
        let after_trim = after.trim_start_matches([' ', '\t']);
        if key.is_empty() || key.starts_with('#') || !after_trim.starts_with(['=', ':']) {
            i = line_end + 1;
            continue;
        }
        let mut vstart = at + key_len + (after.len() - after_trim.len()) + 1;
        while matches!(b.get(vstart), Some(b' ' | b'\t')) {
            vstart += 1;
        }
        let quote = b
            .get(vstart)
            .copied()
            .filter(|c| matches!(c, b'"' | b'\'' | b'`'));
        match quote {
            Some(q) => {
                let mut value = String::new();
                let mut j = vstart + 1;
                let mut verbatim = true;
                let mut closed = None;
                let rest = super::util::slice(text, j, b.len());
                let mut chars = rest.char_indices();
                while let Some((k, c)) = chars.next() {
                    if c as u32 == u32::from(q) {
                        closed = Some(j + k);
                        break;
                    }
                    if c == '\\' && q == b'"' {
                        verbatim = false;
                        match chars.next() {
                            Some((_, 'n')) => value.push('\n'),
                            Some((_, 't')) => value.push('\t'),
                            Some((_, 'r')) => value.push('\r'),
                            Some((_, o)) => value.push(o),
                            None => {}
                        }
                        continue;
                    }
                    if c == '\n' {
                        verbatim = false;
                    }
                    value.push(c);
                }
                match closed {
                    Some(end) => {
                        out.push(Var {
                            key: key.to_string(),
                            value,
                            offset: j,
                            len: end - j,
                            verbatim,
                        });
                        j = end + 1;
                        i = text
                            .get(j..)
                            .and_then(|t| t.find('\n'))
                            .map_or(b.len(), |p| j + p)
                            + 1;
                    }
                    None => i = line_end + 1,
                }
            }
            None => {
                let raw = super::util::slice(text, vstart, line_end).trim_end_matches('\r');
                let cut = raw
                    .char_indices()
                    .find(|&(k, c)| {
                        c == '#' && (k == 0 || super::util::slice(raw, 0, k).ends_with([' ', '\t']))
                    })
                    .map_or(raw.len(), |(k, _)| k);
                let v = super::util::slice(raw, 0, cut).trim_end();
                out.push(Var {
                    key: key.to_string(),
                    value: v.to_string(),
                    offset: vstart,
                    len: v.len(),
                    verbatim: true,
                });
                i = line_end + 1;
            }
        }
    }
    out
}

pub(crate) fn run(f: &File, out: &mut Extracted) {
    let emit = Emit {
        rule: RULE,
        provider: None,
        confidence: Confidence::Medium,
        var_store: Some("environment"),
        consumer: None,
    };
    for v in parse(f.text) {
        let scalar = Scalar {
            value: v.value.clone(),
            offset: v.offset,
            len: v.len,
            tag: None,
            verbatim: v.verbatim,
            block: false,
        };
        let a = Assign {
            path: vec![v.key.clone()],
            name: v.key,
            value: v.value,
            offset: v.offset,
            len: v.len,
            verbatim: v.verbatim,
            scalar: &scalar,
        };
        super::emit(f, &a, &emit, out);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn credentials_placeholders_and_references() {
        let text = "# app\nAPP_NAME=shop\nexport STRIPE_SECRET_KEY=sk_live_51HqLyjWDarjtT1zdp7dcXmPq0\nDB_PASSWORD=\"Rk8 #not-a-comment\" # trailing\nDB_USER=app\nDATABASE_URL=postgres://app:Vb7-x2Qm@db.internal:5432/shop\nREDIS_PASSWORD=${REDIS_PASS}\nAPI_TOKEN=changeme\nJWT_SECRET=\nSESSION_SECRET='9fK2#mQ7$vL'\nPRIVATE_KEY=\"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBx\n-----END EC PRIVATE KEY-----\"\nAWS_ACCESS_KEY_ID=AKIAQWERTYUIOPASDFGH\nGITHUB_TOKEN=your_github_token\n";
        let ex = run("app/.env", text);
        let s = expect_secret(&ex, text, "sk_live_51HqLyjWDarjtT1zdp7dcXmPq0", 3, None);
        assert_eq!(
            (s.kind.as_str(), s.provider.as_str()),
            ("secret-key", "stripe")
        );
        assert_eq!(
            s.context.get("variable").map(String::as_str),
            Some("STRIPE_SECRET_KEY")
        );
        expect_secret(&ex, text, "Rk8 #not-a-comment", 4, None);
        let u = expect_secret(&ex, text, "Vb7-x2Qm", 6, None);
        assert_eq!(
            u.context.get("url").map(String::as_str),
            Some("postgres://app@db.internal:5432/shop")
        );
        assert_eq!(u.identifier.as_deref(), Some("app@db.internal"));
        assert_eq!(u.provider, "postgres");
        expect_secret(&ex, text, "9fK2#mQ7$vL", 10, None);
        let k = expect_secret(
            &ex,
            text,
            "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBx\n-----END EC PRIVATE KEY-----",
            11,
            Some("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBx\n-----END EC PRIVATE KEY-----"),
        );
        assert_eq!(k.kind, "private-key");
        expect_ref(&ex, "environment", "REDIS_PASS", 7, None);
        expect_no_secret(&ex, "changeme");
        expect_no_secret(&ex, "AKIAQWERTYUIOPASDFGH");
        expect_no_secret(&ex, "your_github_token");
        assert_eq!(ex.matches.len(), 5);
    }

    #[test]
    fn unterminated_quote_and_variants() {
        assert!(super::applies(&super::File::new(
            std::path::Path::new("x/.env.production"),
            ""
        )));
        assert!(super::applies(&super::File::new(
            std::path::Path::new("x/prod.env"),
            ""
        )));
        assert!(!super::applies(&super::File::new(
            std::path::Path::new("x/.env.vault"),
            ""
        )));
        let ex = run(".env", "A_TOKEN=\"abc\nB=");
        assert!(ex.matches.is_empty());
    }
}
