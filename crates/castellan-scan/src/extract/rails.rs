//! Rails configuration: `config/database.yml` (per environment `password`, with `adapter`,
//! `username`, `host`, `database`), `config/secrets.yml`, unencrypted `config/credentials*.yml`,
//! `config/storage.yml`, and the key files that decrypt `credentials.yml.enc`
//! (`config/master.key`, `config/credentials/*.key`). ERB `<%= ENV['X'] %>` and
//! `ENV.fetch("X")` are references to the environment; encrypted `*.yml.enc` files are not read.

use std::sync::LazyLock;

use regex::Regex;

use super::refs::assignments;
use super::tree::{self, Node};
use super::util::{self, MatchExt};
use super::{Emit, Extracted, File};
use crate::rules::Confidence;

const RULE: &str = "extract.rails";

pub(crate) fn applies(f: &File) -> bool {
    if !f.in_dir("config") {
        return false;
    }
    if f.name == "master.key" || (f.in_dir("credentials") && f.ext() == "key") {
        return true;
    }
    f.is_yaml()
        && (matches!(
            f.name.as_str(),
            "database.yml" | "secrets.yml" | "storage.yml" | "cable.yml"
        ) || f.name.starts_with("credentials")
            || f.in_dir("credentials"))
}

static ERB_ENV: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"ENV(?:\.fetch\(\s*|\[\s*)["']([A-Za-z_][A-Za-z0-9_]*)["']"#).ok()
});

fn adapter_provider(a: &str) -> &'static str {
    match a {
        "postgresql" | "postgis" => "postgres",
        "mysql2" | "trilogy" | "mysql" => "mysql",
        "sqlserver" => "mssql",
        "oracle_enhanced" => "oracle",
        _ => "generic",
    }
}

pub(crate) fn run(f: &File, out: &mut Extracted) {
    if f.ext() == "key" {
        let t = f.text.trim();
        if t.len() >= 32 && t.len() <= 128 && t.chars().all(|c| c.is_ascii_hexdigit()) {
            let off = f.text.len() - f.text.trim_start().len();
            out.push(
                util::secret_match(RULE, "encryption-key", "rails", t, off, t.len())
                    .ctx("note", "decrypts the matching credentials.yml.enc"),
            );
        }
        return;
    }
    // ERB references first: they are not YAML values a parser keeps whole.
    if let Some(re) = ERB_ENV.as_ref() {
        for c in re.captures_iter(f.text) {
            if let Some(m) = c.get(1) {
                let line_start = f
                    .text
                    .get(..m.start())
                    .and_then(|t| t.rfind('\n'))
                    .map_or(0, |p| p + 1);
                let line = util::slice(f.text, line_start, m.start());
                let key = line.trim_start().split(':').next().unwrap_or("");
                if util::secret_kind(m.as_str()).is_some() || util::secret_kind(key).is_some() {
                    out.reference(f, "environment", m.as_str(), m.start(), None);
                }
            }
        }
    }
    let database = f.name == "database.yml";
    for doc in tree::parse_yaml(f.text) {
        for env in doc.entries() {
            let cfg = &env.value;
            let adapter = cfg.get_str("adapter").unwrap_or("");
            let emit = Emit {
                rule: RULE,
                provider: if database {
                    Some(adapter_provider(adapter)).filter(|p| *p != "generic")
                } else {
                    None
                },
                confidence: Confidence::Medium,
                var_store: Some("environment"),
                consumer: None,
            };
            let mut all = assignments(cfg);
            if let Node::Scalar(s) = cfg {
                all.push(super::refs::Assign {
                    path: vec![],
                    name: env.key.clone(),
                    value: s.value.clone(),
                    offset: s.offset,
                    len: s.len,
                    verbatim: s.verbatim,
                    scalar: s,
                });
            }
            for a in all {
                if a.value.contains("<%") {
                    continue;
                }
                let Some(i) = super::emit(f, &a, &emit, out) else {
                    continue;
                };
                let Some(m) = out.matches.get_mut(i) else {
                    continue;
                };
                m.context.insert("environment".into(), env.key.clone());
                if !a.path.is_empty() {
                    m.context.insert("key".into(), a.path.join("."));
                }
                if a.name == "secret_key_base" {
                    m.kind = "secret-key".into();
                    m.provider = "rails".into();
                    m.confidence = Confidence::High;
                }
                if database && a.name == "password" {
                    m.confidence = Confidence::High;
                    let user = cfg.get_str("username").unwrap_or("");
                    let host = cfg.get_str("host").unwrap_or("localhost");
                    if !user.is_empty() && m.identifier.is_none() {
                        m.identifier = Some(format!("{user}@{host}"));
                    }
                    for (k, c) in [
                        ("username", "user"),
                        ("host", "host"),
                        ("database", "database"),
                        ("adapter", "adapter"),
                    ] {
                        if let Some(v) = cfg.get_str(k).filter(|v| !v.contains("<%")) {
                            m.context.insert(c.into(), v.to_string());
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn database_yml() {
        let text = "default: &default\n  adapter: postgresql\n  encoding: unicode\n  pool: <%= ENV.fetch(\"RAILS_MAX_THREADS\") { 5 } %>\n\ndevelopment:\n  <<: *default\n  database: app_dev\n\nproduction:\n  adapter: postgresql\n  database: app_prod\n  username: app\n  password: <%= ENV['APP_DATABASE_PASSWORD'] %>\n  host: db.prod\n\nstaging:\n  adapter: mysql2\n  username: stage\n  password: \"Ks8!pL3#vQ\"\n  host: mysql.stage\n";
        let ex = run("config/database.yml", text);
        let m = expect_secret(&ex, text, "Ks8!pL3#vQ", 20, None);
        assert_eq!(m.identifier.as_deref(), Some("stage@mysql.stage"));
        assert_eq!(m.provider, "mysql");
        assert_eq!(
            m.context.get("environment").map(String::as_str),
            Some("staging")
        );
        expect_ref(&ex, "environment", "APP_DATABASE_PASSWORD", 14, None);
        assert!(!ex.references.iter().any(|r| r.name == "RAILS_MAX_THREADS"));
        assert_eq!(ex.matches.len(), 1);
    }

    #[test]
    fn secrets_and_master_key() {
        let text = "production:\n  secret_key_base: 5f1c9a7e3b2d8f4a6c0e1b9d7f3a5c2e8b4d6f0a1c3e5b7d9f2a4c6e8b0d1f3a5c7e9b2d4f6a8c0e\n  stripe_api_key: <%= ENV[\"STRIPE_API_KEY\"] %>\n";
        let ex = run("config/secrets.yml", text);
        let m = expect_secret(
            &ex,
            text,
            "5f1c9a7e3b2d8f4a6c0e1b9d7f3a5c2e8b4d6f0a1c3e5b7d9f2a4c6e8b0d1f3a5c7e9b2d4f6a8c0e",
            2,
            None,
        );
        assert_eq!(
            (m.kind.as_str(), m.provider.as_str()),
            ("secret-key", "rails")
        );
        expect_ref(&ex, "environment", "STRIPE_API_KEY", 3, None);

        let text = "9b3f5a1c7e2d4b6f8a0c1e3d5f7b9a2c\n";
        let ex = run("app/config/master.key", text);
        let k = expect_secret(&ex, text, "9b3f5a1c7e2d4b6f8a0c1e3d5f7b9a2c", 1, None);
        assert_eq!(k.kind, "encryption-key");
    }
}
