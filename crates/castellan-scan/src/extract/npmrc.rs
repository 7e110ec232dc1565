//! `.npmrc`: `//registry/path/:_authToken=…`, `_auth=` (base64
//! `user:password`), `_password=` (base64 password) with `username=`, and the same keys
//! unscoped. `${VAR}` values are references to the environment.

use std::collections::BTreeMap;

use super::util::{self, MatchExt};
use super::{Extracted, File};

const RULE: &str = "extract.npmrc";
const DEFAULT_REGISTRY: &str = "registry.npmjs.org";

pub(crate) fn applies(f: &File) -> bool {
    matches!(f.name.as_str(), ".npmrc" | "npmrc")
}

fn provider(registry: &str) -> &'static str {
    match util::provider_for_host(registry.split('/').next().unwrap_or(registry)) {
        "generic" => "npm",
        p => p,
    }
}

/// `//host/path/:key` → (`host/path`, key); `key` → (default, key).
fn split_key(key: &str, default: &str) -> (String, String) {
    match key.strip_prefix("//").and_then(|k| k.rsplit_once(':')) {
        Some((reg, k)) => (reg.trim_end_matches('/').to_string(), k.to_string()),
        None => (default.to_string(), key.to_string()),
    }
}

pub(crate) fn run(f: &File, out: &mut Extracted) {
    let entries = util::ini_sep(f.text, &['=']);
    let default = entries
        .iter()
        .find(|e| e.key == "registry")
        .map(|e| {
            let v = e.value.trim_matches('"');
            v.split_once("://")
                .map_or(v, |(_, r)| r)
                .trim_end_matches('/')
                .to_string()
        })
        .unwrap_or_else(|| DEFAULT_REGISTRY.to_string());
    let mut users: BTreeMap<String, String> = BTreeMap::new();
    for e in &entries {
        let (reg, k) = split_key(e.key, &default);
        if k == "username" {
            users.insert(reg, e.value.trim_matches('"').to_string());
        }
    }
    for e in &entries {
        let (reg, k) = split_key(e.key, &default);
        let (value, off) = match e.value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(v) => (v, e.value_offset + 1),
            None => (e.value, e.value_offset),
        };
        if !matches!(
            k.as_str(),
            "_authToken" | "_auth" | "_password" | "npmAuthToken" | "_authtoken"
        ) {
            continue;
        }
        if let Some(var) = util::variable_name(value) {
            out.reference(f, "environment", &var, off, None);
            continue;
        }
        if util::is_placeholder(value, false) {
            continue;
        }
        let base = |secret: String, kind: &str| {
            util::secret_match(RULE, kind, provider(&reg), secret, off, value.len())
                .ctx("registry", reg.clone())
                .ctx("field", k.clone())
        };
        let m = match k.as_str() {
            "_auth" => match util::b64_text(value).and_then(|t| {
                t.split_once(':')
                    .map(|(u, p)| (u.to_string(), p.to_string()))
            }) {
                Some((user, pw)) if !util::is_placeholder(&pw, true) => base(pw, "password")
                    .id(format!("{user}@{reg}"))
                    .ctx("user", user)
                    .ctx("encoding", "base64"),
                Some(_) => continue,
                None => base(value.to_string(), "password").id(reg.clone()),
            },
            "_password" => {
                let user = users.get(&reg).cloned();
                let pw = util::b64_text(value).unwrap_or_else(|| value.to_string());
                base(pw, "password")
                    .id(match &user {
                        Some(u) => format!("{u}@{reg}"),
                        None => reg.clone(),
                    })
                    .ctx_opt("user", user)
                    .ctx("encoding", "base64")
            }
            _ => base(value.to_string(), "token").id(reg.clone()),
        };
        out.push(m);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn tokens_auth_and_passwords() {
        // _auth = base64("ci-user:Np7!rT2qX"), _password = base64("Lk3#vB8mW")
        let text = "registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=npm_Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8\n@corp:registry=https://npm.corp.example/repo/\n//npm.corp.example/repo/:_auth=\"Y2ktdXNlcjpOcDchclQycVg=\"\n//npm.pkg.github.com/:_authToken=${GITHUB_PACKAGES_TOKEN}\n//nexus.example/:username=deployer\n//nexus.example/:_password=TGszI3ZCOG1X\n//other/:_authToken=your_token_here\n";
        let ex = run("repo/.npmrc", text);
        let t = expect_secret(
            &ex,
            text,
            "npm_Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8",
            2,
            None,
        );
        assert_eq!((t.kind.as_str(), t.provider.as_str()), ("token", "npm"));
        assert_eq!(t.identifier.as_deref(), Some("registry.npmjs.org"));
        let a = expect_secret(&ex, text, "Np7!rT2qX", 4, Some("Y2ktdXNlcjpOcDchclQycVg="));
        assert_eq!(
            a.identifier.as_deref(),
            Some("ci-user@npm.corp.example/repo")
        );
        let p = expect_secret(&ex, text, "Lk3#vB8mW", 7, Some("TGszI3ZCOG1X"));
        assert_eq!(p.identifier.as_deref(), Some("deployer@nexus.example"));
        expect_ref(&ex, "environment", "GITHUB_PACKAGES_TOKEN", 5, None);
        assert_eq!(ex.matches.len(), 3);
    }
}
