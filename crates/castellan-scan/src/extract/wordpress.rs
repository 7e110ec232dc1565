//! WordPress `wp-config.php`: `define( 'DB_PASSWORD', '…' )` with `DB_USER`, `DB_HOST`,
//! `DB_NAME` as context, the authentication keys and salts (`AUTH_KEY`… `NONCE_SALT`), and any
//! other `define` whose name says credential (`SMTP_PASSWORD`, `WP_REDIS_PASSWORD`).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::util::{self, Escapes, MatchExt};
use super::{Extracted, File};
use crate::rules::Confidence;

const RULE: &str = "extract.wordpress";

const SALTS: &[&str] = &[
    "AUTH_KEY",
    "SECURE_AUTH_KEY",
    "LOGGED_IN_KEY",
    "NONCE_KEY",
    "AUTH_SALT",
    "SECURE_AUTH_SALT",
    "LOGGED_IN_SALT",
    "NONCE_SALT",
];

pub(crate) fn applies(f: &File) -> bool {
    f.name.starts_with("wp-config") && f.ext() == "php"
}

static DEFINE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?i)\bdefine\s*\(\s*(['"])([A-Za-z_][A-Za-z0-9_]*)['"]\s*,\s*(['"])"#).ok()
});

pub(crate) fn run(f: &File, out: &mut Extracted) {
    let Some(re) = DEFINE.as_ref() else { return };
    let mut defs: Vec<(String, util::CodeString)> = Vec::new();
    for c in re.captures_iter(f.text) {
        let (Some(name), Some(q)) = (c.get(2), c.get(3)) else {
            continue;
        };
        let line_start = f
            .text
            .get(..name.start())
            .and_then(|t| t.rfind('\n'))
            .map_or(0, |p| p + 1);
        let before = util::slice(f.text, line_start, name.start());
        if before.trim_start().starts_with("//")
            || before.trim_start().starts_with('#')
            || before.trim_start().starts_with('*')
        {
            continue;
        }
        let esc = if q.as_str() == "'" {
            Escapes::QuoteOnly
        } else {
            Escapes::C
        };
        if let Some(s) = util::code_string(f.text, q.start(), esc) {
            defs.push((name.as_str().to_string(), s));
        }
    }
    let get = |n: &str| {
        defs.iter()
            .find(|(k, _)| k == n)
            .map(|(_, s)| s.value.clone())
    };
    let db: BTreeMap<&str, String> = [
        ("DB_USER", "user"),
        ("DB_HOST", "host"),
        ("DB_NAME", "database"),
    ]
    .into_iter()
    .filter_map(|(k, c)| get(k).map(|v| (c, v)))
    .collect();
    for (name, s) in &defs {
        let salt = SALTS.contains(&name.as_str());
        let kind = if salt {
            Some("secret-key")
        } else {
            util::secret_kind(name)
        };
        let Some(kind) = kind else { continue };
        if util::is_placeholder(&s.value, name == "DB_PASSWORD") {
            continue;
        }
        let mut m = util::secret_match(
            RULE,
            kind,
            if salt { "wordpress" } else { "mysql" },
            s.value.clone(),
            s.offset,
            s.len,
        )
        .ctx("variable", name.clone());
        if name == "DB_PASSWORD" {
            for (k, v) in &db {
                m = m.ctx(k, v.clone());
            }
            if let (Some(u), Some(h)) = (db.get("user"), db.get("host")) {
                m = m.id(format!("{u}@{h}"));
            }
        } else if !salt {
            m.provider = util::provider_for_name(name).to_string();
            m = m.conf(Confidence::Medium);
        }
        out.push(m);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn database_and_salts() {
        let text = "<?php\n/** The name of the database for WordPress */\ndefine( 'DB_NAME', 'shop' );\ndefine( 'DB_USER', 'wp_shop' );\ndefine( 'DB_PASSWORD', 'Pq7\\'s#Kv2!x' );\ndefine( 'DB_HOST', 'mysql.internal' );\ndefine('AUTH_KEY',         'y]9%Lq!0 v;tH7@k=Zs4 _R{m8W|eB2c/Dx6+Gn1');\ndefine('SECURE_AUTH_KEY',  'put your unique phrase here');\n// define('DB_PASSWORD', 'old-Pw-in-comment');\ndefine( 'SMTP_PASSWORD', getenv('SMTP_PASSWORD') );\ndefine( \"WP_REDIS_PASSWORD\", \"Rr5\\$tY8uI9\" );\n";
        let ex = run("site/wp-config.php", text);
        let m = expect_secret(&ex, text, "Pq7's#Kv2!x", 5, Some("Pq7\\'s#Kv2!x"));
        assert_eq!(m.identifier.as_deref(), Some("wp_shop@mysql.internal"));
        assert_eq!(m.context.get("database").map(String::as_str), Some("shop"));
        let k = expect_secret(
            &ex,
            text,
            "y]9%Lq!0 v;tH7@k=Zs4 _R{m8W|eB2c/Dx6+Gn1",
            7,
            None,
        );
        assert_eq!(
            (k.kind.as_str(), k.provider.as_str()),
            ("secret-key", "wordpress")
        );
        expect_secret(&ex, text, "Rr5$tY8uI9", 11, Some("Rr5\\$tY8uI9"));
        expect_no_secret(&ex, "unique phrase");
        expect_no_secret(&ex, "old-Pw");
        assert_eq!(ex.matches.len(), 3);
    }
}
