//! Telling a reference to a managed secret from an inline literal.
//!
//! [`store_refs`] finds references to secret stores inside any string (`${{ secrets.X }}`, Vault
//! paths and CLI calls, AWS Secrets Manager and SSM ARNs, Azure Key Vault, GCP Secret Manager,
//! 1Password); [`judge`] decides what a `NAME = value` assignment holds; [`assignments`] finds
//! the assignments of a YAML/JSON tree (`key: value`, `{name: X, value: Y}`, `- KEY=value`).

use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::tree::{Node, Scalar};
use super::util::{self, UrlCred};

/// A reference found inside a string.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct StoreRef {
    pub store: &'static str,
    pub name: String,
    /// Byte index of the reference in the string.
    pub at: usize,
}

type Namer = fn(&Captures) -> Option<String>;

fn group(c: &Captures, i: usize) -> Option<String> {
    c.get(i).map(|m| {
        m.as_str()
            .trim_matches(|c| c == '"' || c == '\'')
            .to_string()
    })
}

static PATTERNS: LazyLock<Vec<(Regex, &'static str, Namer)>> = LazyLock::new(|| {
    let table: Vec<(&str, &'static str, Namer)> = vec![
        (
            r#"\bvault\s+(?:kv\s+get|kv\s+read|read)((?:\s+-{1,2}[A-Za-z-]+(?:=\S+)?)*)\s+["']?([A-Za-z0-9_][A-Za-z0-9_./@:-]*)"#,
            "vault",
            |c| {
                let flags = c.get(1).map_or("", |m| m.as_str());
                let flag = |f: &str| {
                    flags
                        .split_whitespace()
                        .find_map(|x| {
                            x.trim_start_matches('-')
                                .strip_prefix(f)
                                .and_then(|v| v.strip_prefix('='))
                        })
                        .map(|v| v.trim_matches(|c| c == '"' || c == '\'').to_string())
                };
                let path = group(c, 2)?;
                let mut name = match flag("mount") {
                    Some(m) => format!("{}/{path}", m.trim_end_matches('/')),
                    None => path,
                };
                if let Some(f) = flag("field") {
                    name = format!("{name}#{f}");
                }
                Some(name)
            },
        ),
        (
            r"\bvault:([A-Za-z0-9_][A-Za-z0-9_./-]*/[A-Za-z0-9_./-]*(?:#[A-Za-z0-9_.-]+)?)",
            "vault",
            |c| group(c, 1),
        ),
        (
            r#"hashi_vault['"]?\s*,\s*['"][^'"]*?secret=([^\s:'"]+)(?::([A-Za-z0-9_.-]+))?"#,
            "vault",
            |c| {
                let p = group(c, 1)?;
                Some(match group(c, 2) {
                    Some(f) => format!("{p}#{f}"),
                    None => p,
                })
            },
        ),
        (
            r"arn:aws[a-zA-Z-]*:secretsmanager:[a-z0-9-]*:[0-9]*:secret:[A-Za-z0-9/_+=.@-]+",
            "aws-secrets-manager",
            |c| group(c, 0),
        ),
        (
            r"arn:aws[a-zA-Z-]*:ssm:[a-z0-9-]*:[0-9]*:parameter(/?[A-Za-z0-9/_.-]+)",
            "aws-ssm",
            |c| {
                group(c, 1).map(|p| {
                    if p.starts_with('/') {
                        p
                    } else {
                        format!("/{p}")
                    }
                })
            },
        ),
        (
            r"\{\{resolve:secretsmanager:([^:}]+)",
            "aws-secrets-manager",
            |c| group(c, 1).filter(|n| n != "arn"),
        ),
        (r"\{\{resolve:ssm(?:-secure)?:([^:}]+)", "aws-ssm", |c| {
            group(c, 1)
        }),
        (
            r#"(?:^|[\s"'=(\{])ssm:(/[A-Za-z0-9/_.-]+)"#,
            "aws-ssm",
            |c| group(c, 1),
        ),
        (
            r#"\baws\s+secretsmanager\s+get-secret-value\b[^\n]*?--secret-id[=\s]+["']?([^\s"';|)]+)"#,
            "aws-secrets-manager",
            |c| group(c, 1),
        ),
        (
            r#"\baws\s+ssm\s+get-parameters?(?:-by-path)?\b[^\n]*?--(?:names?|path)[=\s]+["']?([^\s"';|)]+)"#,
            "aws-ssm",
            |c| group(c, 1),
        ),
        (
            r#"\bgcloud\s+secrets\s+versions\s+access\b[^\n]*?--secret[=\s]+["']?([^\s"';|)]+)"#,
            "gcp-secret-manager",
            |c| group(c, 1),
        ),
        (
            r"\bprojects/[A-Za-z0-9_-]+/secrets/[A-Za-z0-9_-]+",
            "gcp-secret-manager",
            |c| group(c, 0),
        ),
        (
            r"@Microsoft\.KeyVault\((?:SecretUri=https://([A-Za-z0-9-]+)\.vault\.azure\.net/secrets/([A-Za-z0-9-]+)|VaultName=([A-Za-z0-9-]+);\s*SecretName=([A-Za-z0-9-]+))",
            "azure-keyvault",
            |c| match (group(c, 1), group(c, 2), group(c, 3), group(c, 4)) {
                (Some(v), Some(s), _, _) | (_, _, Some(v), Some(s)) => Some(format!("{v}/{s}")),
                _ => None,
            },
        ),
        (
            r"https://([A-Za-z0-9-]+)\.vault\.azure\.net/secrets/([A-Za-z0-9-]+)",
            "azure-keyvault",
            |c| Some(format!("{}/{}", group(c, 1)?, group(c, 2)?)),
        ),
        (
            r"\baz\s+keyvault\s+secret\s+(?:show|download)\b[^\n]*",
            "azure-keyvault",
            |c| {
                let line = c.get(0)?.as_str();
                let arg = |flags: &[&str]| {
                    let toks: Vec<&str> = line.split_whitespace().collect();
                    toks.iter().enumerate().find_map(|(i, t)| {
                        flags.iter().find_map(|f| {
                            if *t == *f {
                                toks.get(i + 1).map(|v| v.to_string())
                            } else {
                                t.strip_prefix(&format!("{f}=")).map(str::to_string)
                            }
                        })
                    })
                };
                let clean = |s: String| s.trim_matches(|c| c == '"' || c == '\'').to_string();
                let vault = arg(&["--vault-name"]).map(clean)?;
                let name = arg(&["--name", "-n"]).map(clean)?;
                Some(format!("{vault}/{name}"))
            },
        ),
        (r#"op://([^\s"'}]+)"#, "1password", |c| group(c, 1)),
        (
            r"\bkubectl\s+(?:-n\s+\S+\s+)?get\s+secrets?\s+([a-z0-9][a-z0-9.-]*)",
            "kubernetes-secret",
            |c| group(c, 1),
        ),
    ];
    table
        .into_iter()
        .filter_map(|(p, store, f)| Regex::new(p).ok().map(|r| (r, store, f)))
        .collect()
});

static GH_SECRET: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"\bsecrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_-]*)|\[\s*['"]([^'"]+)['"]\s*\])"#).ok()
});

/// Every managed-store reference in `s`, deduplicated, in order.
pub(crate) fn store_refs(s: &str) -> Vec<StoreRef> {
    let mut out: Vec<StoreRef> = Vec::new();
    let mut push = |store: &'static str, name: String, at: usize| {
        if !name.is_empty() && !out.iter().any(|r| r.store == store && r.name == name) {
            out.push(StoreRef { store, name, at });
        }
    };
    // ${{ secrets.X }} (GitHub Actions and compatible runners).
    if let Some(re) = GH_SECRET.as_ref() {
        let mut from = 0;
        while let Some(p) = s.get(from..).and_then(|r| r.find("${{")) {
            let open = from + p;
            let close = s
                .get(open..)
                .and_then(|r| r.find("}}"))
                .map_or(s.len(), |c| open + c);
            let inner = util::slice(s, open, close);
            for c in re.captures_iter(inner) {
                if let Some(m) = c.get(1).or_else(|| c.get(2)) {
                    push("github-actions", m.as_str().to_string(), open + m.start());
                }
            }
            from = close.max(open + 3);
        }
    }
    if s.len() < 4 {
        return out;
    }
    for (re, store, namer) in PATTERNS.iter() {
        for c in re.captures_iter(s) {
            if let (Some(name), Some(m)) = (namer(&c), c.get(0)) {
                push(store, name, m.start());
            }
        }
    }
    out.sort_by_key(|r| r.at);
    out
}

static SHELL_VAR: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))").ok()
});
static MACRO_VAR: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\$\(([A-Za-z_][A-Za-z0-9_.]*)\)").ok());

/// Shell-style `$NAME` / `${NAME}` uses in `s` whose name looks like a credential: (name, at).
/// `$$NAME` (escaped) is not a use.
pub(crate) fn credential_vars(s: &str) -> Vec<(String, usize)> {
    let Some(re) = SHELL_VAR.as_ref() else {
        return Vec::new();
    };
    let mut out: Vec<(String, usize)> = Vec::new();
    for c in re.captures_iter(s) {
        let (Some(m), Some(whole)) = (c.get(1).or_else(|| c.get(2)), c.get(0)) else {
            continue;
        };
        if whole.start() > 0 && s.as_bytes().get(whole.start() - 1) == Some(&b'$') {
            continue;
        }
        let name = m.as_str();
        if util::secret_kind(name).is_some() && !out.iter().any(|(n, _)| n == name) {
            out.push((name.to_string(), whole.start()));
        }
    }
    out
}

/// Azure Pipelines macro uses `$(name)` in `s` whose name looks like a credential.
pub(crate) fn credential_macros(s: &str) -> Vec<(String, usize)> {
    let Some(re) = MACRO_VAR.as_ref() else {
        return Vec::new();
    };
    let mut out: Vec<(String, usize)> = Vec::new();
    for c in re.captures_iter(s) {
        let (Some(m), Some(whole)) = (c.get(1), c.get(0)) else {
            continue;
        };
        let name = m.as_str();
        if util::secret_kind(name).is_some() && !out.iter().any(|(n, _)| n == name) {
            out.push((name.to_string(), whole.start()));
        }
    }
    out
}

/// A literal secret in an assignment.
pub(crate) struct Literal {
    pub kind: &'static str,
    pub secret: String,
    pub offset: usize,
    pub len: usize,
    /// Set when the secret is the password of a URL.
    pub url: Option<UrlCred>,
}

/// What `NAME = value` holds.
pub(crate) enum Verdict {
    /// An inline secret.
    Literal(Literal),
    /// A plain variable reference (`${DB_PASSWORD}`, `$(token)`), for a credential name.
    Variable(String),
    /// References to managed stores.
    Stores(Vec<StoreRef>),
    Nothing,
}

/// Judges one assignment whose value lies at `offset..offset+len` in the content (`verbatim`:
/// the raw text equals `value`, so positions inside it are exact).
pub(crate) fn judge(name: &str, value: &str, offset: usize, len: usize, verbatim: bool) -> Verdict {
    let v = value.trim();
    if v.is_empty() {
        return Verdict::Nothing;
    }
    let lead = if verbatim {
        value.find(v).unwrap_or(0)
    } else {
        0
    };
    let at = |i: usize| if verbatim { offset + lead + i } else { offset };
    let refs = store_refs(v);
    if !refs.is_empty() {
        return Verdict::Stores(refs);
    }
    // VAULT_SECRET_PATH=secret/data/app: a Vault path handed to the job.
    let upper = name.to_ascii_uppercase();
    if upper.starts_with("VAULT_")
        && (upper.contains("PATH") || upper.contains("SECRET"))
        && v.contains('/')
        && !v.contains("://")
        && !v.contains(char::is_whitespace)
        && util::variable_name(v).is_none()
    {
        return Verdict::Stores(vec![StoreRef {
            store: "vault",
            name: v.to_string(),
            at: 0,
        }]);
    }
    let kind = util::secret_kind(name);
    if let Some(u) = util::url_credentials(v)
        && !util::is_placeholder(&u.password, true)
        && u.password != "***"
    {
        let (o, l) = if verbatim {
            (at(u.pw_start), u.pw_len)
        } else {
            (offset, len)
        };
        return Verdict::Literal(Literal {
            kind: "password",
            secret: u.password.clone(),
            offset: o,
            len: l,
            url: Some(u),
        });
    }
    let Some(kind) = kind else {
        return Verdict::Nothing;
    };
    if let Some(var) = util::variable_name(v) {
        return Verdict::Variable(var);
    }
    if kind == "connection-string" {
        return match util::connection_string_password(v) {
            Some((pw, s, l)) if !util::is_placeholder(&pw, true) => {
                let (o, l) = if verbatim { (at(s), l) } else { (offset, len) };
                Verdict::Literal(Literal {
                    kind: "password",
                    secret: pw,
                    offset: o,
                    len: l,
                    url: None,
                })
            }
            _ => Verdict::Nothing,
        };
    }
    if util::is_placeholder(v, false) {
        return Verdict::Nothing;
    }
    let (o, l) = if verbatim {
        (at(0), v.len())
    } else {
        (offset, len)
    };
    Verdict::Literal(Literal {
        kind,
        secret: v.to_string(),
        offset: o,
        len: l,
        url: None,
    })
}

/// One assignment found in a tree.
pub(crate) struct Assign<'n> {
    /// Keys leading to the assignment (sequence items as indexes).
    pub path: Vec<String>,
    pub name: String,
    pub value: String,
    pub offset: usize,
    pub len: usize,
    pub verbatim: bool,
    pub scalar: &'n Scalar,
}

/// Every assignment in `node`: `key: scalar`, `{name: X, value: Y}` pairs (Kubernetes env,
/// Azure variables) and `- KEY=value` items (compose environment lists).
pub(crate) fn assignments<'n>(node: &'n Node) -> Vec<Assign<'n>> {
    let mut out = Vec::new();
    node.visit(&mut Vec::new(), &mut |path, n| match n {
        Node::Map(entries) => {
            let name = n.get_str("name");
            let value = n.get("value").and_then(Node::scalar);
            if let (Some(name), Some(v)) = (name, value) {
                out.push(Assign {
                    path: path.to_vec(),
                    name: name.to_string(),
                    value: v.value.clone(),
                    offset: v.offset,
                    len: v.len,
                    verbatim: v.verbatim,
                    scalar: v,
                });
            }
            for e in entries {
                if let Node::Scalar(s) = &e.value {
                    if e.key == "value" && name.is_some() {
                        continue;
                    }
                    let mut p = path.to_vec();
                    p.push(e.key.clone());
                    out.push(Assign {
                        path: p,
                        name: e.key.clone(),
                        value: s.value.clone(),
                        offset: s.offset,
                        len: s.len,
                        verbatim: s.verbatim,
                        scalar: s,
                    });
                }
            }
        }
        Node::Seq(items) => {
            for (i, it) in items.iter().enumerate() {
                let Some(s) = it.scalar() else { continue };
                let Some((k, v)) = s.value.split_once('=') else {
                    continue;
                };
                let k = k.trim();
                if k.is_empty()
                    || !k
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
                {
                    continue;
                }
                let vstart = s.value.len() - v.len();
                let mut p = path.to_vec();
                p.push(i.to_string());
                out.push(Assign {
                    path: p,
                    name: k.to_string(),
                    value: v.to_string(),
                    offset: s.offset_of(vstart),
                    len: if s.verbatim { v.len() } else { s.len },
                    verbatim: s.verbatim,
                    scalar: s,
                });
            }
        }
        _ => {}
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &str) -> Vec<(String, String)> {
        store_refs(s)
            .into_iter()
            .map(|r| (r.store.to_string(), r.name))
            .collect()
    }

    fn pair(a: &str, b: &str) -> (String, String) {
        (a.to_string(), b.to_string())
    }

    #[test]
    fn store_references() {
        assert_eq!(
            names("${{ secrets.NPM_TOKEN }}"),
            [pair("github-actions", "NPM_TOKEN")]
        );
        assert_eq!(
            names("${{ secrets['A-B'] }} x ${{ github.sha }}"),
            [pair("github-actions", "A-B")]
        );
        assert_eq!(
            names("export PW=$(vault kv get -mount=secret -field=password app/db)"),
            [pair("vault", "secret/app/db#password")]
        );
        assert_eq!(
            names("vault read database/creds/readonly"),
            [pair("vault", "database/creds/readonly")]
        );
        assert_eq!(
            names("arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf"),
            [pair(
                "aws-secrets-manager",
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf"
            )]
        );
        assert_eq!(
            names("${ssm:/prod/api/key}"),
            [pair("aws-ssm", "/prod/api/key")]
        );
        assert_eq!(
            names("aws secretsmanager get-secret-value --secret-id prod/db --query SecretString"),
            [pair("aws-secrets-manager", "prod/db")]
        );
        assert_eq!(
            names(
                "@Microsoft.KeyVault(SecretUri=https://kv-prod.vault.azure.net/secrets/DbPassword/)"
            ),
            [pair("azure-keyvault", "kv-prod/DbPassword")]
        );
        assert_eq!(
            names("az keyvault secret show --vault-name kv1 --name api-key --query value"),
            [pair("azure-keyvault", "kv1/api-key")]
        );
        assert_eq!(
            names("op://Engineering/Stripe/credential"),
            [pair("1password", "Engineering/Stripe/credential")]
        );
        assert!(names("plain value").is_empty());
    }

    #[test]
    fn credential_variables() {
        let v = credential_vars(
            "docker login -u $CI_REGISTRY_USER -p $CI_REGISTRY_PASSWORD ${DEPLOY_TOKEN} $$ESCAPED_TOKEN $HOME",
        );
        let n: Vec<&str> = v.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(n, ["CI_REGISTRY_PASSWORD", "DEPLOY_TOKEN"]);
        let m = credential_macros("curl -H \"Authorization: $(apiToken)\" $(Build.BuildId)");
        assert_eq!(m.first().map(|(n, _)| n.as_str()), Some("apiToken"));
    }

    #[test]
    fn judging_assignments() {
        match judge("DB_PASSWORD", "Zq8#vL2!pR", 10, 10, true) {
            Verdict::Literal(l) => assert_eq!((l.kind, l.offset, l.len), ("password", 10, 10)),
            _ => panic!("literal expected"),
        }
        assert!(
            matches!(judge("DB_PASSWORD", "${DB_PASSWORD}", 0, 14, true), Verdict::Variable(v) if v == "DB_PASSWORD")
        );
        assert!(matches!(
            judge("DB_PASSWORD", "changeme", 0, 8, true),
            Verdict::Nothing
        ));
        assert!(matches!(
            judge("LOG_LEVEL", "debug-verbose", 0, 13, true),
            Verdict::Nothing
        ));
        let url = "postgres://app:Rt5-wQ9z@db:5432/x";
        match judge("DATABASE_URL", url, 100, url.len(), true) {
            Verdict::Literal(l) => {
                assert_eq!(l.secret, "Rt5-wQ9z");
                assert_eq!(l.offset, 100 + 15);
            }
            _ => panic!("url literal expected"),
        }
        assert!(matches!(
            judge("DB_PASSWORD", "vault:secret/data/db#pw", 0, 1, true),
            Verdict::Stores(_)
        ));
    }
}
