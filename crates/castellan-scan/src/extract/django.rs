//! Django settings (`settings.py`, `*_settings.py`, `settings/*.py`): `SECRET_KEY = '…'`, other
//! `NAME = '…'` assignments whose name says credential (`EMAIL_HOST_PASSWORD`,
//! `AWS_SECRET_ACCESS_KEY`), and `'PASSWORD': '…'` entries of `DATABASES` (with `USER`, `HOST`,
//! `NAME`, `ENGINE` as context). `os.environ['X']`, `os.getenv('X')`, `env('X')`, `config('X')`
//! are references to the environment.

use std::sync::LazyLock;

use regex::Regex;

use super::util::{self, Escapes, MatchExt};
use super::{Extracted, File};
use crate::rules::Confidence;

const RULE: &str = "extract.django";

pub(crate) fn applies(f: &File) -> bool {
    f.ext() == "py" && (f.name.ends_with("settings.py") || f.in_dir("settings"))
}

static ASSIGN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?m)^[ \t]*([A-Z][A-Z0-9_]*)[ \t]*(?::[^=\n]*)?=[ \t]*([rRbBuU]{0,2})(['"])"#)
        .ok()
});
static DICT_KEY: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"['"]([A-Za-z_][A-Za-z0-9_]*)['"][ \t]*:[ \t]*([rRbBuU]{0,2})(['"])"#).ok()
});
static ENV_CALL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?m)^[ \t]*['"]?([A-Za-z_][A-Za-z0-9_]*)['"]?[ \t]*[:=][ \t]*(?:os\.environ\.get|os\.getenv|os\.environ\[|env(?:\.str)?|config|getenv)\(?[ \t]*['"]([A-Za-z_][A-Za-z0-9_]*)['"]"#).ok()
});

fn engine_provider(engine: &str) -> &'static str {
    let e = engine.to_ascii_lowercase();
    if e.contains("postgres") {
        "postgres"
    } else if e.contains("mysql") {
        "mysql"
    } else if e.contains("oracle") {
        "oracle"
    } else if e.contains("mssql") || e.contains("sql_server") {
        "mssql"
    } else {
        "generic"
    }
}

fn in_comment(text: &str, at: usize) -> bool {
    let ls = text
        .get(..at)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |p| p + 1);
    util::slice(text, ls, at).contains('#')
}

/// The `{…}` span enclosing `at` (ignoring braces in strings, good enough for settings dicts).
fn enclosing_dict(text: &str, at: usize) -> (usize, usize) {
    let b = text.as_bytes();
    let mut depth = 0i32;
    let mut open = None;
    let mut i = at;
    while i > 0 {
        i -= 1;
        match b.get(i) {
            Some(b'}') => depth += 1,
            Some(b'{') if depth == 0 => {
                open = Some(i);
                break;
            }
            Some(b'{') => depth -= 1,
            _ => {}
        }
    }
    let Some(open) = open else { return (at, at) };
    let mut depth = 0i32;
    for (j, c) in b.iter().enumerate().skip(open) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return (open, j);
                }
            }
            _ => {}
        }
    }
    (open, b.len())
}

/// The string value of `'key': '…'` in a dict's text.
fn dict_string(dict: &str, key: &str) -> Option<String> {
    for q in ['\'', '"'] {
        let needle = format!("{q}{key}{q}");
        let mut from = 0;
        while let Some(p) = dict.get(from..).and_then(|t| t.find(&needle)) {
            let after = from + p + needle.len();
            from = after;
            let rest = util::slice(dict, after, dict.len()).trim_start();
            let Some(rest) = rest.strip_prefix(':') else {
                continue;
            };
            let rest = rest.trim_start();
            let open = dict.len() - rest.len();
            if let Some(s) = util::code_string(dict, open, Escapes::C) {
                return Some(s.value);
            }
        }
    }
    None
}

fn escapes(prefix: &str) -> Escapes {
    if prefix.to_ascii_lowercase().contains('r') {
        Escapes::Raw
    } else {
        Escapes::C
    }
}

pub(crate) fn run(f: &File, out: &mut Extracted) {
    let text = f.text;
    if let Some(re) = ASSIGN.as_ref() {
        for c in re.captures_iter(text) {
            let (Some(name), Some(prefix), Some(q)) = (c.get(1), c.get(2), c.get(3)) else {
                continue;
            };
            let name = name.as_str();
            let kind = if name == "SECRET_KEY" {
                Some("secret-key")
            } else {
                util::secret_kind(name)
            };
            let Some(kind) = kind else { continue };
            let Some(s) = util::code_string(text, q.start(), escapes(prefix.as_str())) else {
                continue;
            };
            // `'a' + os.environ[...]` and friends are expressions, not literals.
            let tail = util::slice(
                text,
                s.end,
                text.get(s.end..)
                    .and_then(|t| t.find('\n'))
                    .map_or(text.len(), |p| s.end + p),
            );
            if tail.trim_start().starts_with(['+', '%', '.'])
                || util::is_placeholder(&s.value, false)
            {
                continue;
            }
            let provider = if name == "SECRET_KEY" {
                "django"
            } else {
                util::provider_for_name(name)
            };
            let conf = if name == "SECRET_KEY" {
                Confidence::High
            } else {
                Confidence::Medium
            };
            out.push(
                util::secret_match(RULE, kind, provider, s.value, s.offset, s.len)
                    .ctx("variable", name)
                    .conf(conf),
            );
        }
    }
    if let Some(re) = DICT_KEY.as_ref() {
        for c in re.captures_iter(text) {
            let (Some(key), Some(prefix), Some(q)) = (c.get(1), c.get(2), c.get(3)) else {
                continue;
            };
            let Some(kind) = util::secret_kind(key.as_str()) else {
                continue;
            };
            if in_comment(text, key.start()) {
                continue;
            }
            let Some(s) = util::code_string(text, q.start(), escapes(prefix.as_str())) else {
                continue;
            };
            if util::is_placeholder(&s.value, false) {
                continue;
            }
            let (a, b) = enclosing_dict(text, key.start());
            let dict = util::slice(text, a, b);
            let field = |k: &str| dict_string(dict, k);
            let engine = field("ENGINE");
            let provider = match &engine {
                Some(e) => engine_provider(e),
                None => util::provider_for_name(key.as_str()),
            };
            let user = field("USER");
            let host = field("HOST");
            let mut m = util::secret_match(RULE, kind, provider, s.value, s.offset, s.len)
                .ctx("variable", key.as_str())
                .ctx_opt("user", user.clone())
                .ctx_opt("host", host.clone())
                .ctx_opt("database", field("NAME"))
                .ctx_opt("engine", engine.clone())
                .conf(if engine.is_some() {
                    Confidence::High
                } else {
                    Confidence::Medium
                });
            if let Some(u) = user {
                m = m.id(match host {
                    Some(h) if !h.is_empty() => format!("{u}@{h}"),
                    _ => u,
                });
            }
            out.push(m);
        }
    }
    if let Some(re) = ENV_CALL.as_ref() {
        for c in re.captures_iter(text) {
            let (Some(name), Some(var)) = (c.get(1), c.get(2)) else {
                continue;
            };
            if util::secret_kind(name.as_str()).is_some()
                || util::secret_kind(var.as_str()).is_some()
                || name.as_str() == "SECRET_KEY"
            {
                out.reference(f, "environment", var.as_str(), var.start(), None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn secret_key_databases_and_env() {
        let text = "import os\n\n# SECURITY WARNING: keep the secret key used in production secret!\nSECRET_KEY = 'django-insecure-7#q!x2m@p9$kz+w3r&v8^t5b0n=l4c6d1f(y)h'\n\nDATABASES = {\n    'default': {\n        'ENGINE': 'django.db.backends.postgresql',\n        'NAME': 'shop',\n        'USER': 'shop_app',\n        'PASSWORD': r'Wn4\\Kd8#Zq',\n        'HOST': 'pg.internal',\n    },\n    'replica': {\n        'ENGINE': 'django.db.backends.postgresql',\n        'PASSWORD': os.environ['REPLICA_DB_PASSWORD'],\n    }\n}\nEMAIL_HOST_PASSWORD = os.getenv('EMAIL_HOST_PASSWORD')\nAWS_SECRET_ACCESS_KEY = \"\"\"Gk2/Lm9+Qr7/Ts1+Vw4/Xy6+Za8/Bc3+De5/Fg0=\"\"\"\nSTATIC_URL = '/static/'\n";
        let ex = run("shop/settings.py", text);
        let k = expect_secret(
            &ex,
            text,
            "django-insecure-7#q!x2m@p9$kz+w3r&v8^t5b0n=l4c6d1f(y)h",
            4,
            None,
        );
        assert_eq!(
            (k.kind.as_str(), k.provider.as_str()),
            ("secret-key", "django")
        );
        let p = expect_secret(&ex, text, "Wn4\\Kd8#Zq", 11, None);
        assert_eq!(p.identifier.as_deref(), Some("shop_app@pg.internal"));
        assert_eq!(p.provider, "postgres");
        assert_eq!(p.context.get("database").map(String::as_str), Some("shop"));
        expect_secret(
            &ex,
            text,
            "Gk2/Lm9+Qr7/Ts1+Vw4/Xy6+Za8/Bc3+De5/Fg0=",
            20,
            None,
        );
        expect_ref(&ex, "environment", "REPLICA_DB_PASSWORD", 16, None);
        expect_ref(&ex, "environment", "EMAIL_HOST_PASSWORD", 19, None);
        assert_eq!(ex.matches.len(), 3);
    }
}
