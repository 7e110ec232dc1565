//! Java configuration: Spring `application*.properties|yml|yaml` and `bootstrap*` files
//! (`spring.datasource.password`, `*.password`, `*.secret`, `client-secret`…, with the
//! datasource URL and user as context), and any other `*.properties` file
//! (`gradle.properties` signing and repository passwords, `db.properties`…).
//! `${VAR}` / `${VAR:default}` placeholders are references to the environment.

use std::collections::BTreeMap;

use super::refs::Assign;
use super::tree::{self, Node, Scalar};
use super::util;
use super::{Emit, Extracted, File};
use crate::rules::Confidence;

const RULE_SPRING: &str = "extract.spring";
const RULE_PROPS: &str = "extract.properties";

fn is_spring_name(n: &str) -> bool {
    n.starts_with("application") || n.starts_with("bootstrap")
}

pub(crate) fn applies(f: &File) -> bool {
    f.ext() == "properties" || (f.is_yaml() && is_spring_name(&f.name))
}

/// A `.properties` entry: (key, value, value offset, raw length, verbatim).
struct Prop {
    key: String,
    value: String,
    offset: usize,
    len: usize,
    verbatim: bool,
}

fn unescape(raw: &str) -> (String, bool) {
    if !raw.contains('\\') {
        return (raw.to_string(), true);
    }
    let mut out = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('u') => {
                let hex: String = (0..4)
                    .filter_map(|_| chars.next_if(char::is_ascii_hexdigit))
                    .collect();
                if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(ch);
                }
            }
            Some('\n') | Some('\r') => while chars.next_if(|c| c.is_whitespace()).is_some() {},
            Some(o) => out.push(o),
            None => {}
        }
    }
    (out, false)
}

fn properties(text: &str) -> Vec<Prop> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut i = 0;
    while let Some(raw) = lines.get(i) {
        let start = pos;
        pos += raw.len();
        i += 1;
        let line = raw.trim_end_matches(['\n', '\r']);
        let body = line.trim_start_matches([' ', '\t', '\u{c}', '\u{feff}']);
        if body.is_empty() || body.starts_with('#') || body.starts_with('!') {
            continue;
        }
        let lead = line.len() - body.len();
        // The key ends at the first unescaped '=', ':' or whitespace.
        let bytes = body.as_bytes();
        let mut k = 0;
        while let Some(&c) = bytes.get(k) {
            if c == b'\\' {
                k += 2;
                continue;
            }
            if matches!(c, b'=' | b':' | b' ' | b'\t') {
                break;
            }
            k += 1;
        }
        let k = k.min(bytes.len());
        let key = unescape(util::slice(body, 0, k)).0;
        let mut v = k;
        while matches!(bytes.get(v), Some(b' ' | b'\t')) {
            v += 1;
        }
        if matches!(bytes.get(v), Some(b'=' | b':')) {
            v += 1;
        }
        while matches!(bytes.get(v), Some(b' ' | b'\t')) {
            v += 1;
        }
        let mut raw_value = util::slice(body, v, body.len()).to_string();
        let mut end = start + lead + body.len();
        // Continuation lines: an odd number of trailing backslashes.
        let trailing = |s: &str| s.len() - s.trim_end_matches('\\').len();
        while trailing(&raw_value) % 2 == 1 {
            let Some(next) = lines.get(i) else { break };
            raw_value.push('\n');
            raw_value.push_str(next.trim_end_matches(['\n', '\r']));
            end = pos + next.trim_end_matches(['\n', '\r']).len();
            pos += next.len();
            i += 1;
        }
        let (value, verbatim) = unescape(&raw_value);
        let offset = start + lead + v;
        out.push(Prop {
            key,
            value,
            offset,
            len: end.saturating_sub(offset),
            verbatim,
        });
    }
    out
}

fn jdbc_provider(url: &str) -> Option<&'static str> {
    let u = url.to_ascii_lowercase();
    let rest = u.strip_prefix("jdbc:")?;
    Some(match rest.split(':').next().unwrap_or("") {
        "postgresql" => "postgres",
        "mysql" | "mariadb" => "mysql",
        "sqlserver" => "mssql",
        "oracle" => "oracle",
        "db2" => "db2",
        "h2" => "h2",
        _ => "jdbc",
    })
}

pub(crate) fn run(f: &File, out: &mut Extracted) {
    let spring = is_spring_name(&f.name);
    let rule = if spring { RULE_SPRING } else { RULE_PROPS };
    // (dotted key, scalar) for every value.
    let mut values: Vec<(String, Scalar)> = Vec::new();
    if f.is_yaml() {
        for doc in tree::parse_yaml(f.text) {
            doc.visit(&mut Vec::new(), &mut |path, n| {
                if let Node::Scalar(s) = n {
                    values.push((dotted(path), s.clone()));
                }
            });
        }
    } else {
        for p in properties(f.text) {
            values.push((
                p.key,
                Scalar {
                    value: p.value,
                    offset: p.offset,
                    len: p.len,
                    tag: None,
                    verbatim: p.verbatim,
                    block: false,
                },
            ));
        }
    }
    let by_key: BTreeMap<&str, &str> = values
        .iter()
        .map(|(k, s)| (k.as_str(), s.value.as_str()))
        .collect();
    for (key, s) in &values {
        let parent = key.rsplit_once('.').map_or("", |(p, _)| p);
        let sibling = |names: &[&str]| {
            names.iter().find_map(|n| {
                let k = if parent.is_empty() {
                    n.to_string()
                } else {
                    format!("{parent}.{n}")
                };
                by_key.get(k.as_str()).copied()
            })
        };
        let url = sibling(&["url", "jdbc-url", "jdbcUrl", "uri", "host"]);
        let user = sibling(&["username", "user", "userName", "login"]);
        let provider = url.and_then(jdbc_provider);
        let emit = Emit {
            rule,
            provider,
            confidence: Confidence::Medium,
            var_store: Some("environment"),
            consumer: None,
        };
        let last = key.rsplit('.').next().unwrap_or(key);
        let name = if util::secret_kind(last).is_some() {
            last.to_string()
        } else {
            key.clone()
        };
        let a = Assign {
            path: vec![key.clone()],
            name,
            value: s.value.clone(),
            offset: s.offset,
            len: s.len,
            verbatim: s.verbatim,
            scalar: s,
        };
        if let Some(i) = super::emit(f, &a, &emit, out)
            && let Some(m) = out.matches.get_mut(i)
        {
            m.context.insert("property".into(), key.clone());
            if let Some(u) = url.filter(|u| util::url_credentials(u).is_none()) {
                m.context.entry("url".into()).or_insert(u.to_string());
            }
            if let Some(user) = user.filter(|u| !util::is_placeholder(u, true)) {
                m.context.entry("user".into()).or_insert(user.to_string());
                if m.identifier.is_none() {
                    m.identifier = Some(user.to_string());
                }
            }
            if spring && key.contains("datasource") && m.kind == "password" {
                m.confidence = Confidence::High;
            }
        }
    }
}

fn dotted(path: &[String]) -> String {
    let mut s = String::new();
    for p in path {
        if p.chars().all(|c| c.is_ascii_digit()) && !s.is_empty() {
            s.push('[');
            s.push_str(p);
            s.push(']');
        } else {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(p);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn spring_properties() {
        let text = "spring.datasource.url=jdbc:postgresql://db.prod:5432/orders\nspring.datasource.username=orders_app\nspring.datasource.password=Gx7#kP2v!Q\nspring.security.oauth2.client.registration.github.client-secret=${GITHUB_CLIENT_SECRET}\napp.jwt.secret = c2VjcmV0LWtleS1mb3Itand0LXNpZ25pbmctOTk=\napp.jwt.expiration=3600\nmail.password: ${MAIL_PASSWORD:}\n# db.password=commented-out-Pw9\nkey\\ with\\ space=value\n";
        let ex = run("src/main/resources/application.properties", text);
        let m = expect_secret(&ex, text, "Gx7#kP2v!Q", 3, None);
        assert_eq!(
            (m.provider.as_str(), m.rule_id.as_str()),
            ("postgres", "extract.spring")
        );
        assert_eq!(
            m.context.get("user").map(String::as_str),
            Some("orders_app")
        );
        assert_eq!(
            m.context.get("url").map(String::as_str),
            Some("jdbc:postgresql://db.prod:5432/orders")
        );
        expect_secret(
            &ex,
            text,
            "c2VjcmV0LWtleS1mb3Itand0LXNpZ25pbmctOTk=",
            5,
            None,
        );
        expect_ref(&ex, "environment", "GITHUB_CLIENT_SECRET", 4, None);
        expect_ref(&ex, "environment", "MAIL_PASSWORD", 7, None);
        expect_no_secret(&ex, "commented-out");
        assert_eq!(ex.matches.len(), 2);
    }

    #[test]
    fn spring_yaml_and_gradle() {
        let text = "spring:\n  datasource:\n    url: jdbc:mysql://mysql.internal/app\n    username: app\n    password: \"Tz9!mW4#qL\"\n  rabbitmq:\n    password: ${RABBIT_PW}\nmanagement:\n  endpoints: health\n";
        let ex = run("config/application-prod.yml", text);
        let m = expect_secret(&ex, text, "Tz9!mW4#qL", 5, None);
        assert_eq!(m.provider, "mysql");
        assert_eq!(
            m.context.get("property").map(String::as_str),
            Some("spring.datasource.password")
        );
        expect_ref(&ex, "environment", "RABBIT_PW", 7, None);

        let text = "org.gradle.jvmargs=-Xmx2g\nsigning.keyId=24875D73\nsigning.password=Hq4$rT8!wZ\nsonatypePassword = Nn2-Ab9-Cd7\n";
        let ex = run("gradle.properties", text);
        let m = expect_secret(&ex, text, "Hq4$rT8!wZ", 3, None);
        assert_eq!(m.rule_id, "extract.properties");
        expect_secret(&ex, text, "Nn2-Ab9-Cd7", 4, None);
        assert_eq!(ex.matches.len(), 2);
    }
}
