//! Docker Compose (`docker-compose*.yml`, `compose*.yaml`): per service, `environment` (map or
//! `KEY=value` list) and build `args` with credential-like names and literal values are
//! matches; `${VAR}` interpolations are references to the environment, service `secrets:` are
//! references to Docker secrets, and top-level `secrets:` declare where each comes from
//! (`environment:` → environment, `external:` → docker-secret).

use super::ci::Walk;
use super::tree::{self, Node};
use super::{Extracted, File};
use crate::rules::Confidence;

const RULE: &str = "extract.docker-compose";

pub(crate) fn applies(f: &File) -> bool {
    f.is_yaml()
        && (f.name.starts_with("docker-compose")
            || f.name.starts_with("compose")
            || f.name.starts_with("podman-compose"))
}

pub(crate) fn run(f: &File, out: &mut Extracted) {
    for doc in tree::parse_yaml(f.text) {
        let w = Walk {
            f,
            rule: RULE,
            system: None,
            var_store: Some("environment"),
            macro_store: None,
            defined: Walk::defined_in(&doc),
            confidence: Confidence::Medium,
        };
        for e in doc.entries() {
            match e.key.as_str() {
                "services" => {
                    for svc in e.value.entries() {
                        let name = svc.key.as_str();
                        for s in svc
                            .value
                            .get("secrets")
                            .map(Node::items)
                            .unwrap_or_default()
                        {
                            let src = s
                                .scalar()
                                .or_else(|| s.get("source").and_then(Node::scalar));
                            if let Some(src) = src {
                                out.reference(
                                    f,
                                    "docker-secret",
                                    &src.value,
                                    src.offset,
                                    Some(name),
                                );
                            }
                        }
                        w.node(&svc.value, name, Some(name), out, 0);
                    }
                }
                "secrets" => {
                    for s in e.value.entries() {
                        if let Some(v) = s.value.get("environment").and_then(Node::scalar) {
                            out.reference(f, "environment", &v.value, v.offset, None);
                        } else if s.value.get("external").is_some() {
                            let name = s.value.get("name").and_then(Node::str).unwrap_or(&s.key);
                            out.reference(f, "docker-secret", name, s.key_offset, None);
                        }
                    }
                }
                _ => w.node(&e.value, &e.key, None, out, 0),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn services_env_and_secrets() {
        let text = "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_USER: shop\n      POSTGRES_PASSWORD: s3cr3t\n      POSTGRES_DB: shop\n  api:\n    build:\n      context: .\n      args:\n        - NPM_TOKEN=npm_Zy1Xw2Vu3Ts4Rq5Po6Nm7Lk8Ji9Hg0Fe1Dc2\n    environment:\n      - DATABASE_URL=postgres://shop:Db-Pw-77x@db:5432/shop\n      - STRIPE_API_KEY=${STRIPE_API_KEY}\n      - JWT_SECRET=changeme\n    secrets:\n      - source: api_signing_key\n    command: [\"--redis-password\", \"${REDIS_PASSWORD:?required}\"]\nsecrets:\n  api_signing_key:\n    external: true\n  github_token:\n    environment: GH_TOKEN\n";
        let ex = run("repo/docker-compose.yml", text);
        let m = expect_secret(&ex, text, "s3cr3t", 6, None);
        assert_eq!(
            (m.provider.as_str(), m.rule_id.as_str()),
            ("postgres", "extract.docker-compose")
        );
        assert_eq!(m.context.get("consumer").map(String::as_str), Some("db"));
        expect_secret(
            &ex,
            text,
            "npm_Zy1Xw2Vu3Ts4Rq5Po6Nm7Lk8Ji9Hg0Fe1Dc2",
            12,
            None,
        );
        let u = expect_secret(&ex, text, "Db-Pw-77x", 14, None);
        assert_eq!(
            u.context.get("url").map(String::as_str),
            Some("postgres://shop@db:5432/shop")
        );
        expect_ref(&ex, "environment", "STRIPE_API_KEY", 15, Some("api"));
        expect_ref(&ex, "environment", "REDIS_PASSWORD", 19, Some("api"));
        expect_ref(&ex, "docker-secret", "api_signing_key", 18, Some("api"));
        expect_ref(&ex, "docker-secret", "api_signing_key", 21, None);
        expect_ref(&ex, "environment", "GH_TOKEN", 24, None);
        expect_no_secret(&ex, "changeme");
        assert_eq!(ex.matches.len(), 3);
    }
}
