//! `.netrc` / `_netrc`: `machine HOST login USER password PASS [account ACCT]`, `default`,
//! `macdef` bodies skipped, `#` comments, `"quoted tokens"`.

use super::util::{self, MatchExt};
use super::{Extracted, File};

const RULE: &str = "extract.netrc";

pub(crate) fn applies(f: &File) -> bool {
    matches!(f.name.as_str(), ".netrc" | "_netrc" | "netrc")
}

struct Token<'t> {
    text: String,
    raw: &'t str,
    offset: usize,
}

fn tokens(text: &str) -> Vec<Token<'_>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0usize;
    let mut in_macdef = false;
    while i < b.len() {
        let c = b.get(i).copied().unwrap_or(b' ');
        if in_macdef {
            // A macro body runs to the first empty line.
            if c == b'\n' && matches!(b.get(i + 1), Some(b'\n') | None)
                || (c == b'\n' && b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n'))
            {
                in_macdef = false;
            }
            i += 1;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'#' {
            while i < b.len() && b.get(i) != Some(&b'\n') {
                i += 1;
            }
            continue;
        }
        let start = i;
        let mut value = String::new();
        if c == b'"' {
            i += 1;
            let s = i;
            while i < b.len() && b.get(i) != Some(&b'"') {
                if b.get(i) == Some(&b'\\') {
                    i += 1;
                }
                i += 1;
            }
            let raw = util::slice(text, s, i.min(b.len()));
            let mut chars = raw.chars();
            while let Some(ch) = chars.next() {
                if ch == '\\' {
                    if let Some(n) = chars.next() {
                        value.push(n);
                    }
                } else {
                    value.push(ch);
                }
            }
            out.push(Token {
                text: value,
                raw,
                offset: s,
            });
            i += 1;
            continue;
        }
        while i < b.len() && !b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        let raw = util::slice(text, start, i);
        if out.last().is_some_and(|t: &Token| t.text == "macdef") {
            // name follows; the body starts after this line
            out.push(Token {
                text: raw.to_string(),
                raw,
                offset: start,
            });
            while i < b.len() && b.get(i) != Some(&b'\n') {
                i += 1;
            }
            in_macdef = true;
            continue;
        }
        out.push(Token {
            text: raw.to_string(),
            raw,
            offset: start,
        });
    }
    out
}

#[derive(Default)]
struct Entry<'a> {
    machine: Option<String>,
    login: Option<String>,
    password: Option<&'a Token<'a>>,
    account: Option<&'a Token<'a>>,
    port: Option<String>,
}

pub(crate) fn run(f: &File, out: &mut Extracted) {
    let toks = tokens(f.text);
    let mut entries: Vec<Entry> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let Some(t) = toks.get(i) else { break };
        let next = toks.get(i + 1);
        match t.text.as_str() {
            "machine" => {
                entries.push(Entry {
                    machine: next.map(|n| n.text.clone()),
                    ..Entry::default()
                });
                i += 2;
            }
            "default" => {
                entries.push(Entry {
                    machine: Some("default".into()),
                    ..Entry::default()
                });
                i += 1;
            }
            key @ ("login" | "password" | "passwd" | "account" | "port") => {
                if entries.is_empty() {
                    entries.push(Entry::default());
                }
                if let (Some(e), Some(n)) = (entries.last_mut(), next) {
                    match key {
                        "login" => e.login = Some(n.text.clone()),
                        "account" => e.account = Some(n),
                        "port" => e.port = Some(n.text.clone()),
                        _ => e.password = Some(n),
                    }
                }
                i += 2;
            }
            "macdef" => i += 2,
            _ => i += 1,
        }
    }
    for e in entries {
        let host = e.machine.clone().unwrap_or_default();
        let user = e.login.clone().unwrap_or_default();
        for (tok, field) in [(e.password, "password"), (e.account, "account")] {
            let Some(tok) = tok else { continue };
            if util::is_placeholder(&tok.text, true) {
                continue;
            }
            let kind = util::password_or_token(&user, &tok.text);
            let ident = if user.is_empty() {
                host.clone()
            } else {
                format!("{user}@{host}")
            };
            out.push(
                util::secret_match(
                    RULE,
                    kind,
                    util::provider_for_host(&host),
                    tok.text.clone(),
                    tok.offset,
                    tok.raw.len(),
                )
                .id(ident)
                .ctx("host", host.clone())
                .ctx("user", user.clone())
                .ctx_opt("port", e.port.clone())
                .ctx("field", field),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn machines_logins_and_passwords() {
        let text = "# work\nmachine api.github.com\n  login deploy-bot\n  password ghp_Zx81kQm2Lr5Tn7Wv3Yb9Pc4Hd6Jf0Gs1Ke2A\n\nmachine ftp.example.net login alice password \"p@ss word\\\"9\"\nmacdef init\ncd /pub\npassword notsecret\n\ndefault login anonymous password changeme\nmachine db.internal login bob password Hx7-q2\n";
        let ex = run("home/.netrc", text);
        let m = expect_secret(
            &ex,
            text,
            "ghp_Zx81kQm2Lr5Tn7Wv3Yb9Pc4Hd6Jf0Gs1Ke2A",
            4,
            None,
        );
        assert_eq!(m.identifier.as_deref(), Some("deploy-bot@api.github.com"));
        assert_eq!((m.kind.as_str(), m.provider.as_str()), ("token", "github"));
        let q = expect_secret(&ex, text, "p@ss word\"9", 6, Some("p@ss word\\\"9"));
        assert_eq!(
            q.context.get("host").map(String::as_str),
            Some("ftp.example.net")
        );
        expect_secret(&ex, text, "Hx7-q2", 12, None);
        expect_no_secret(&ex, "notsecret");
        expect_no_secret(&ex, "changeme");
        assert_eq!(ex.matches.len(), 3);
    }

    #[test]
    fn windows_name_and_truncation() {
        let ex = run("C:\\Users\\a\\_netrc", "machine h login u password");
        assert!(ex.matches.is_empty());
        let text = "machine h\r\nlogin u\r\npassword Qw9!zXc7\r\n";
        let ex = run("C:\\Users\\a\\_netrc", text);
        expect_secret(&ex, text, "Qw9!zXc7", 3, None);
    }
}
