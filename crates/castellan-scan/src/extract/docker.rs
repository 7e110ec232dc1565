//! Docker client credentials: `~/.docker/config.json` (`auths`: base64 `auth` of
//! `user:password`, `identitytoken`, `registrytoken`; `credsStore`/`credHelpers` are references
//! to a credential helper), the legacy `.dockercfg`, and podman's `containers/auth.json`.

use super::tree::{self, Node};
use super::util::{self, MatchExt};
use super::{Extracted, File};

const RULE: &str = "extract.docker-config";

pub(crate) fn applies(f: &File) -> bool {
    let json = f.ext() == "json";
    f.name == ".dockercfg"
        || f.name == ".dockerconfigjson"
        || (f.name == "config.json" && f.in_dir(".docker"))
        || (f.path_ends("containers/auth.json"))
        || (json
            && (f.name == "config.json" || f.name == "auth.json")
            && f.text.contains("\"auths\""))
}

/// One credential of a docker config.
pub(crate) struct DockerAuth {
    pub registry: String,
    pub user: Option<String>,
    pub secret: String,
    pub kind: &'static str,
    pub field: &'static str,
    /// Where the raw value lies in the parsed text.
    pub offset: usize,
    pub len: usize,
}

/// `https://index.docker.io/v1/` → `index.docker.io`.
pub(crate) fn registry_name(raw: &str) -> String {
    let r = raw.split_once("://").map_or(raw, |(_, r)| r);
    let r = r.trim_end_matches('/');
    let r = r
        .strip_suffix("/v1")
        .or_else(|| r.strip_suffix("/v2"))
        .unwrap_or(r);
    r.to_string()
}

/// The credentials of a parsed docker config (`{"auths": {…}}` or a legacy top-level map).
pub(crate) fn auths(root: &Node) -> Vec<DockerAuth> {
    let regs = root.get("auths").unwrap_or(root);
    let mut out = Vec::new();
    for e in regs.entries() {
        let registry = registry_name(&e.key);
        let explicit_user = e.value.get_str("username").map(str::to_string);
        for (field, kind) in [
            ("auth", "password"),
            ("identitytoken", "token"),
            ("registrytoken", "token"),
            ("password", "password"),
        ] {
            let Some(s) = e.value.get(field).and_then(Node::scalar) else {
                continue;
            };
            let v = s.value.trim();
            if v.is_empty() {
                continue;
            }
            let (user, secret) = if field == "auth" {
                match util::b64_text(v).as_deref().and_then(|t| t.split_once(':')) {
                    Some((u, p)) => (Some(u.to_string()), p.to_string()),
                    None => (explicit_user.clone(), v.to_string()),
                }
            } else {
                (explicit_user.clone(), v.to_string())
            };
            if util::is_placeholder(&secret, true) {
                continue;
            }
            let kind = if field == "auth" {
                util::password_or_token(user.as_deref().unwrap_or(""), &secret)
            } else {
                kind
            };
            out.push(DockerAuth {
                registry: registry.clone(),
                user,
                secret,
                kind,
                field,
                offset: s.offset,
                len: s.len,
            });
        }
    }
    out
}

pub(crate) fn run(f: &File, out: &mut Extracted) {
    let Some(root) = tree::parse_json(f.text) else {
        return;
    };
    for a in auths(&root) {
        let ident = match &a.user {
            Some(u) => format!("{u}@{}", a.registry),
            None => a.registry.clone(),
        };
        let provider = match util::provider_for_host(&a.registry) {
            "generic" => "docker",
            p => p,
        };
        out.push(
            util::secret_match(RULE, a.kind, provider, a.secret, a.offset, a.len)
                .id(ident)
                .ctx("registry", a.registry.clone())
                .ctx_opt("user", a.user.clone())
                .ctx("field", a.field),
        );
    }
    // Credentials kept by a helper: references, not leaks.
    if let Some(store) = root.get_str("credsStore").filter(|s| !s.is_empty()) {
        let helper = format!("docker-credential-{store}");
        for e in root.get("auths").map(Node::entries).unwrap_or_default() {
            if e.value.get("auth").is_none() && e.value.get("identitytoken").is_none() {
                out.reference(f, &helper, &registry_name(&e.key), e.key_offset, None);
            }
        }
    }
    for e in root
        .get("credHelpers")
        .map(Node::entries)
        .unwrap_or_default()
    {
        if let Some(h) = e.value.str() {
            out.reference(
                f,
                &format!("docker-credential-{h}"),
                &registry_name(&e.key),
                e.key_offset,
                None,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn auths_tokens_and_helpers() {
        // auth = base64("robot$ci:Dk8#qLz2Wv5n")
        let text = r#"{
  "auths": {
    "https://index.docker.io/v1/": {
      "auth": "cm9ib3QkY2k6RGs4I3FMejJXdjVu"
    },
    "registry.corp.example:5000": {
      "identitytoken": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJlLXZhbHVl"
    },
    "ghcr.io": {}
  },
  "credsStore": "desktop",
  "credHelpers": { "123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login" }
}"#;
        let ex = run("home/.docker/config.json", text);
        let m = expect_secret(
            &ex,
            text,
            "Dk8#qLz2Wv5n",
            4,
            Some("cm9ib3QkY2k6RGs4I3FMejJXdjVu"),
        );
        assert_eq!(m.identifier.as_deref(), Some("robot$ci@index.docker.io"));
        assert_eq!(m.provider, "docker");
        let t = expect_secret(
            &ex,
            text,
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJlLXZhbHVl",
            7,
            None,
        );
        assert_eq!(t.kind, "token");
        expect_ref(&ex, "docker-credential-desktop", "ghcr.io", 9, None);
        expect_ref(
            &ex,
            "docker-credential-ecr-login",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            12,
            None,
        );
        assert_eq!(ex.matches.len(), 2);
    }

    #[test]
    fn malformed_json_yields_nothing() {
        let ex = run(
            "home/.docker/config.json",
            "{\"auths\": {\"x\": {\"auth\": \"abc",
        );
        assert!(ex.matches.is_empty());
    }
}
