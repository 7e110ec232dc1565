//! DBeaver: `data-sources*.json` connections (a plaintext `configuration.password` when one
//! was saved there, with host, port, database, user and driver as context; connections that
//! save their password elsewhere are references to DBeaver's credential store) and
//! `credentials-config.json`, which DBeaver encrypts with a key that ships in DBeaver itself.
//! That file is reported as a credential-store sighting, without decrypting it.

use std::collections::BTreeMap;

use super::tree::{self, Node};
use super::util::{self, MatchExt};
use super::{Extracted, File};
use crate::Match;
use crate::rules::Confidence;

const RULE: &str = "extract.dbeaver";

pub(crate) fn applies(f: &File) -> bool {
    (f.name.starts_with("data-sources") && f.ext() == "json") || f.name == "credentials-config.json"
}

fn provider(p: &str) -> &'static str {
    let p = p.to_ascii_lowercase();
    match p.as_str() {
        s if s.contains("postgres") => "postgres",
        s if s.contains("mysql") || s.contains("mariadb") => "mysql",
        s if s.contains("oracle") => "oracle",
        s if s.contains("mssql") || s.contains("sqlserver") => "mssql",
        s if s.contains("mongo") => "mongodb",
        s if s.contains("redis") => "redis",
        s if s.contains("snowflake") => "snowflake",
        _ => "generic",
    }
}

pub(crate) fn run(f: &File, out: &mut Extracted) {
    if f.name == "credentials-config.json" {
        let mut context = BTreeMap::new();
        context.insert("encrypted".to_string(), "yes".to_string());
        context.insert(
            "note".to_string(),
            "AES-encrypted with DBeaver's built-in default key: anyone who can read this file can decrypt the saved passwords".to_string(),
        );
        out.push(Match {
            rule_id: RULE.to_string(),
            secret: None,
            identifier: Some(format!("dbeaver-credentials:{}", f.path)),
            offset: 0,
            len: f.text.len(),
            kind: "credential-store".to_string(),
            provider: "dbeaver".to_string(),
            confidence: Confidence::High,
            context,
        });
        return;
    }
    let Some(root) = tree::parse_json(f.text) else {
        return;
    };
    for conn in root
        .get("connections")
        .map(Node::entries)
        .unwrap_or_default()
    {
        let c = &conn.value;
        let cfg = c.get("configuration").unwrap_or(&Node::Null);
        let name = c.get_str("name").unwrap_or(&conn.key);
        let host = cfg.get_str("host").unwrap_or("");
        let user = cfg.get_str("user").unwrap_or("");
        let prov = provider(c.get_str("provider").or(c.get_str("driver")).unwrap_or(""));
        match cfg.get("password").and_then(Node::scalar) {
            Some(s) if !util::is_placeholder(&s.value, true) => {
                out.push(
                    util::secret_match(RULE, "password", prov, s.value.clone(), s.offset, s.len)
                        .id(format!("{user}@{host}"))
                        .ctx("connection", name)
                        .ctx("host", host)
                        .ctx("port", cfg.get_str("port").unwrap_or(""))
                        .ctx("database", cfg.get_str("database").unwrap_or(""))
                        .ctx("user", user)
                        .ctx(
                            "url",
                            cfg.get_str("url")
                                .filter(|u| util::url_credentials(u).is_none())
                                .unwrap_or(""),
                        ),
                );
            }
            _ => {
                if c.get_str("save-password") == Some("true") {
                    out.reference(
                        f,
                        "dbeaver-credentials",
                        &conn.key,
                        conn.key_offset,
                        Some(name),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn data_sources_and_credentials_store() {
        let text = "{\n\t\"folders\": {},\n\t\"connections\": {\n\t\t\"postgres-jdbc-18c5a1\": {\n\t\t\t\"provider\": \"postgresql\",\n\t\t\t\"driver\": \"postgres-jdbc\",\n\t\t\t\"name\": \"prod orders\",\n\t\t\t\"save-password\": true,\n\t\t\t\"configuration\": {\n\t\t\t\t\"host\": \"pg.prod.internal\",\n\t\t\t\t\"port\": \"5432\",\n\t\t\t\t\"database\": \"orders\",\n\t\t\t\t\"user\": \"analyst\",\n\t\t\t\t\"password\": \"Mv6#tQ1!zR\"\n\t\t\t}\n\t\t},\n\t\t\"mysql8-19d2\": {\n\t\t\t\"provider\": \"mysql\",\n\t\t\t\"name\": \"billing\",\n\t\t\t\"save-password\": true,\n\t\t\t\"configuration\": { \"host\": \"mysql.internal\", \"user\": \"ro\" }\n\t\t}\n\t}\n}\n";
        let ex = run(
            "DBeaverData/workspace6/General/.dbeaver/data-sources.json",
            text,
        );
        let m = expect_secret(&ex, text, "Mv6#tQ1!zR", 14, None);
        assert_eq!(m.identifier.as_deref(), Some("analyst@pg.prod.internal"));
        assert_eq!(m.provider, "postgres");
        expect_ref(
            &ex,
            "dbeaver-credentials",
            "mysql8-19d2",
            17,
            Some("billing"),
        );

        let ex = run(
            ".dbeaver/credentials-config.json",
            "\u{7f}E\u{1}garbled-ciphertext",
        );
        let s = ex.matches.first().expect("store sighting");
        assert!(s.secret.is_none());
        assert_eq!(s.kind, "credential-store");
        assert_eq!(s.context.get("encrypted").map(String::as_str), Some("yes"));
    }
}
