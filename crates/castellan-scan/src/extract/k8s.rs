//! Kubernetes manifests (YAML or JSON with `apiVersion` and `kind`, several documents, `List`s)
//! and Helm values files (`values*.yaml`).
//!
//! * `Secret`: every `data` (base64, decoded) and `stringData` value is a match; a
//!   `.dockerconfigjson` is read as a docker config; certificates are not reported;
//! * `ConfigMap` data, container `env` `value`s and Helm values under credential-like names with
//!   literal values are matches; so is a Secret kept in a
//!   `kubectl.kubernetes.io/last-applied-configuration` annotation;
//! * `secretKeyRef` (`secret/key`), `envFrom.secretRef`, `secret` volumes, `imagePullSecrets`
//!   and Helm `existingSecret` are references (store `kubernetes-secret`, consumer
//!   `kind/name`); Vault agent annotations are Vault references; `SealedSecret` keys,
//!   `ExternalSecret` remote keys are references too.

use super::docker;
use super::refs::{self, assignments};
use super::tree::{self, Node, Scalar};
use super::util::{self, MatchExt};
use super::{Emit, Extracted, File};
use crate::rules::Confidence;

const RULE: &str = "extract.kubernetes";
const HELM: &str = "extract.helm-values";

fn is_helm_values(f: &File) -> bool {
    f.is_yaml() && f.name.starts_with("values")
}

pub(crate) fn applies(f: &File) -> bool {
    if is_helm_values(f) {
        return true;
    }
    match f.ext() {
        "yml" | "yaml" => f.text.contains("apiVersion:") && f.text.contains("kind:"),
        "json" => f.text.contains("\"apiVersion\"") && f.text.contains("\"kind\""),
        _ => false,
    }
}

pub(crate) fn run(f: &File, out: &mut Extracted) {
    let docs = if f.ext() == "json" {
        tree::parse_json(f.text).into_iter().collect()
    } else {
        tree::parse_yaml(f.text)
    };
    if is_helm_values(f)
        && !docs
            .iter()
            .any(|d| d.get("apiVersion").is_some() && d.get("kind").is_some())
    {
        for d in &docs {
            helm(f, d, out);
        }
        return;
    }
    for d in &docs {
        manifest(f, d, None, out, 0);
    }
}

/// Where matches go when the manifest was itself read out of a string (an annotation).
type Relocate = Option<(usize, usize)>;

fn place(s: &Scalar, at: Relocate) -> (usize, usize) {
    at.unwrap_or((s.offset, s.len))
}

fn manifest(f: &File, doc: &Node, at: Relocate, out: &mut Extracted, depth: usize) {
    if depth > 4 {
        return;
    }
    let kind = doc.get_str("kind").unwrap_or("");
    if kind == "List" || kind.ends_with("List") {
        for item in doc.get("items").map(Node::items).unwrap_or_default() {
            manifest(f, item, at, out, depth + 1);
        }
        return;
    }
    let meta = doc.get("metadata").unwrap_or(&Node::Null);
    let name = meta.get_str("name").unwrap_or("");
    let namespace = meta.get_str("namespace").unwrap_or("");
    let consumer = format!("{}/{}", kind.to_ascii_lowercase(), name);
    let consumer = (!kind.is_empty()).then_some(consumer.as_str());
    // A copy of the object as last applied by kubectl: often a Secret with its data.
    if let Some(s) = meta
        .get("annotations")
        .and_then(|a| a.get("kubectl.kubernetes.io/last-applied-configuration"))
        .and_then(Node::scalar)
        && let Some(inner) = tree::parse_json(&s.value)
    {
        manifest(f, &inner, Some(place(s, at)), out, depth + 1);
    }
    match kind {
        "Secret" => secret(doc, name, namespace, at, out),
        "SealedSecret" => {
            for e in doc
                .at(&["spec", "encryptedData"])
                .map(Node::entries)
                .unwrap_or_default()
            {
                out.reference(
                    f,
                    "sealed-secrets",
                    &format!("{name}/{}", e.key),
                    e.key_offset,
                    None,
                );
            }
        }
        "ExternalSecret" => {
            let spec = doc.get("spec").unwrap_or(&Node::Null);
            let store = spec
                .at(&["secretStoreRef", "name"])
                .and_then(Node::str)
                .unwrap_or("");
            let store = if store.is_empty() {
                "external-secrets".to_string()
            } else {
                format!("external-secrets:{store}")
            };
            for d in spec.get("data").map(Node::items).unwrap_or_default() {
                if let Some(k) = d.at(&["remoteRef", "key"]).and_then(Node::scalar) {
                    let n = match d.at(&["remoteRef", "property"]).and_then(Node::str) {
                        Some(p) => format!("{}#{p}", k.value),
                        None => k.value.clone(),
                    };
                    out.reference(f, &store, &n, k.offset, consumer);
                }
            }
            for d in spec.get("dataFrom").map(Node::items).unwrap_or_default() {
                if let Some(k) = d.at(&["extract", "key"]).and_then(Node::scalar) {
                    out.reference(f, &store, &k.value, k.offset, consumer);
                }
            }
        }
        "ConfigMap" => {
            let emit = Emit {
                rule: RULE,
                provider: None,
                confidence: Confidence::Medium,
                var_store: None,
                consumer,
            };
            for a in assignments(doc.get("data").unwrap_or(&Node::Null)) {
                if let Some(i) = super::emit(f, &a, &emit, out) {
                    relocate(out, i, at);
                }
            }
        }
        _ => workload(f, doc, consumer, at, RULE, out),
    }
}

fn relocate(out: &mut Extracted, i: usize, at: Relocate) {
    if let (Some((o, l)), Some(m)) = (at, out.matches.get_mut(i)) {
        m.offset = o;
        m.len = l;
    }
}

fn secret(doc: &Node, name: &str, namespace: &str, at: Relocate, out: &mut Extracted) {
    let stype = doc.get_str("type").unwrap_or("Opaque");
    for (field, encoded) in [("data", true), ("stringData", false)] {
        for e in doc.get(field).map(Node::entries).unwrap_or_default() {
            let Some(s) = e.value.scalar() else { continue };
            let (off, len) = place(s, at);
            let value = if encoded {
                match util::b64_decode(&s.value) {
                    Some(b) => match String::from_utf8(b) {
                        Ok(t) => t,
                        Err(_) => s.value.clone(),
                    },
                    None => s.value.clone(),
                }
            } else {
                s.value.clone()
            };
            if e.key == ".dockerconfigjson" || e.key == ".dockercfg" {
                if let Some(root) = tree::parse_json(&value) {
                    for a in docker::auths(&root) {
                        let ident = match &a.user {
                            Some(u) => format!("{u}@{}", a.registry),
                            None => a.registry.clone(),
                        };
                        out.push(
                            util::secret_match(RULE, a.kind, "docker", a.secret, off, len)
                                .id(ident)
                                .ctx("secret", name)
                                .ctx("namespace", namespace)
                                .ctx("key", e.key.clone())
                                .ctx("registry", a.registry.clone())
                                .ctx("type", stype),
                        );
                    }
                }
                continue;
            }
            let v = value.trim();
            let cert = v.contains("BEGIN CERTIFICATE") && !v.contains("PRIVATE KEY");
            if cert || e.key.ends_with(".crt") || e.key == "ca.crt" || util::is_placeholder(v, true)
            {
                continue;
            }
            if let Some(u) = util::url_credentials(v) {
                if util::is_placeholder(&u.password, true) {
                    continue;
                }
                let lead = s.value.len() - s.value.trim_start().len();
                let (o, l) = if !encoded && s.verbatim && at.is_none() {
                    (s.offset + lead + u.pw_start, u.pw_len)
                } else {
                    (off, len)
                };
                out.push(
                    util::secret_match(
                        RULE,
                        "password",
                        util::provider_for_scheme(&u.scheme, &u.host),
                        u.password.clone(),
                        o,
                        l,
                    )
                    .id(format!("{}@{}", u.user, u.host))
                    .ctx("secret", name)
                    .ctx("namespace", namespace)
                    .ctx("key", e.key.clone())
                    .ctx("url", u.redacted.clone())
                    .ctx("type", stype),
                );
                continue;
            }
            if util::secret_kind(&e.key).is_none() && util::names_non_secret(&e.key) {
                continue;
            }
            let kind = if v.contains("PRIVATE KEY") {
                "private-key"
            } else if stype == "kubernetes.io/service-account-token" && e.key == "token" {
                "token"
            } else {
                util::secret_kind(&e.key).unwrap_or("secret")
            };
            let provider = match util::provider_for_name(&e.key) {
                "generic" if stype.contains("service-account") => "kubernetes",
                p => p,
            };
            out.push(
                util::secret_match(RULE, kind, provider, v.to_string(), off, len)
                    .id(format!("{name}/{}", e.key))
                    .ctx("secret", name)
                    .ctx("namespace", namespace)
                    .ctx("key", e.key.clone())
                    .ctx("type", stype)
                    .ctx("encoding", if encoded { "base64" } else { "plain" }),
            );
        }
    }
}

/// Secret references and inline env literals anywhere in an object.
fn workload(
    f: &File,
    doc: &Node,
    consumer: Option<&str>,
    at: Relocate,
    rule: &str,
    out: &mut Extracted,
) {
    doc.visit(&mut Vec::new(), &mut |path, n| {
        let Node::Map(entries) = n else { return };
        let key = path.last().map(String::as_str).unwrap_or("");
        if key == "secretKeyRef" {
            if let (Some(sn), Some(k)) = (n.get("name").and_then(Node::scalar), n.get_str("key")) {
                out.reference(
                    f,
                    "kubernetes-secret",
                    &format!("{}/{k}", sn.value),
                    sn.offset,
                    consumer,
                );
            }
            return;
        }
        if key == "secretRef" || (key == "secret" && n.get("secretName").is_none()) {
            if let Some(sn) = n.get("name").and_then(Node::scalar) {
                out.reference(f, "kubernetes-secret", &sn.value, sn.offset, consumer);
            }
            return;
        }
        if let Some(sn) = n.get("secretName").and_then(Node::scalar) {
            out.reference(f, "kubernetes-secret", &sn.value, sn.offset, consumer);
        }
        if path
            .iter()
            .rev()
            .nth(1)
            .is_some_and(|p| p == "imagePullSecrets")
            && let Some(sn) = n.get("name").and_then(Node::scalar)
        {
            out.reference(f, "kubernetes-secret", &sn.value, sn.offset, consumer);
        }
        if key == "annotations" {
            for e in entries {
                if e.key
                    .starts_with("vault.hashicorp.com/agent-inject-secret-")
                    && let Some(s) = e.value.scalar()
                {
                    out.reference(f, "vault", &s.value, s.offset, consumer);
                }
            }
            return;
        }
        if key == "labels" || key == "matchLabels" {
            return;
        }
        // {name: X, value: Y} env entries and plain key: value pairs.
        let emit = Emit {
            rule,
            provider: None,
            confidence: Confidence::Medium,
            var_store: None,
            consumer,
        };
        let mut pairs = Vec::new();
        if let (Some(name), Some(v)) = (n.get_str("name"), n.get("value").and_then(Node::scalar)) {
            pairs.push((name.to_string(), v));
        }
        for e in entries {
            if let Node::Scalar(s) = &e.value
                && !(e.key == "value" && n.get("name").is_some())
            {
                if matches!(e.key.as_str(), "existingSecret" | "existingSecretName")
                    && !s.value.is_empty()
                {
                    out.reference(f, "kubernetes-secret", &s.value, s.offset, consumer);
                    continue;
                }
                pairs.push((e.key.clone(), s));
            }
        }
        for (name, s) in pairs {
            let a = refs::Assign {
                path: vec![name.clone()],
                name,
                value: s.value.clone(),
                offset: s.offset,
                len: s.len,
                verbatim: s.verbatim,
                scalar: s,
            };
            if let Some(i) = super::emit(f, &a, &emit, out) {
                relocate(out, i, at);
                if rule == HELM
                    && let Some(m) = out.matches.get_mut(i)
                {
                    let mut p = path.to_vec();
                    p.push(a.name.clone());
                    m.context.insert("key".into(), p.join("."));
                }
            }
        }
    });
}

fn helm(f: &File, doc: &Node, out: &mut Extracted) {
    workload(f, doc, None, None, HELM, out);
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn secret_manifest_and_deployment() {
        // data: password = base64("Pw-9xQ2!kL"), api-key = base64("ak_4Jt7Vn2Ws9Xq")
        let text = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-creds\n  namespace: shop\ntype: Opaque\ndata:\n  username: c2hvcA==\n  password: UHctOXhRMiFrTA==\n  api-key: YWtfNEp0N1ZuMldzOVhx\nstringData:\n  DATABASE_URL: postgres://shop:Ur1-Pw-55@pg:5432/shop\n  placeholder: changeme\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  annotations:\n    vault.hashicorp.com/agent-inject-secret-config: secret/data/shop/api\nspec:\n  template:\n    spec:\n      imagePullSecrets:\n        - name: regcred\n      containers:\n        - name: api\n          image: shop/api:1.4\n          env:\n            - name: DB_PASSWORD\n              valueFrom:\n                secretKeyRef:\n                  name: db-creds\n                  key: password\n            - name: SENTRY_DSN\n              value: https://pub:Sn7-Qx2-Lp9@o1.ingest.sentry.io/42\n            - name: FEATURE_FLAG_TOKEN\n              value: \"ff_8Kd3Ls9Qw2Ez7Rt\"\n            - name: LOG_LEVEL\n              value: info\n          envFrom:\n            - secretRef:\n                name: api-env\n      volumes:\n        - name: tls\n          secret:\n            secretName: api-tls\n";
        let ex = run("k8s/deployment.yaml", text);
        let p = expect_secret(&ex, text, "Pw-9xQ2!kL", 9, Some("UHctOXhRMiFrTA=="));
        assert_eq!(p.identifier.as_deref(), Some("db-creds/password"));
        assert_eq!(p.context.get("namespace").map(String::as_str), Some("shop"));
        expect_secret(
            &ex,
            text,
            "ak_4Jt7Vn2Ws9Xq",
            10,
            Some("YWtfNEp0N1ZuMldzOVhx"),
        );
        let u = expect_secret(&ex, text, "Ur1-Pw-55", 12, None);
        assert_eq!(u.identifier.as_deref(), Some("shop@pg"));
        expect_no_secret(&ex, "changeme");
        let d = expect_secret(&ex, text, "Sn7-Qx2-Lp9", 36, None);
        assert_eq!(
            d.context.get("consumer").map(String::as_str),
            Some("deployment/api")
        );
        expect_secret(&ex, text, "ff_8Kd3Ls9Qw2Ez7Rt", 38, None);
        expect_ref(
            &ex,
            "kubernetes-secret",
            "db-creds/password",
            33,
            Some("deployment/api"),
        );
        expect_ref(
            &ex,
            "kubernetes-secret",
            "regcred",
            25,
            Some("deployment/api"),
        );
        expect_ref(
            &ex,
            "kubernetes-secret",
            "api-env",
            43,
            Some("deployment/api"),
        );
        expect_ref(
            &ex,
            "kubernetes-secret",
            "api-tls",
            47,
            Some("deployment/api"),
        );
        expect_ref(
            &ex,
            "vault",
            "secret/data/shop/api",
            20,
            Some("deployment/api"),
        );
        expect_no_secret(&ex, "shop");
        assert_eq!(ex.matches.len(), 5);
    }

    #[test]
    fn docker_pull_secret_and_last_applied() {
        // .dockerconfigjson = base64({"auths":{"ghcr.io":{"auth":"base64(bot:ghp_…)"}}})
        let inner = r#"{"auths":{"ghcr.io":{"auth":"Ym90OmdocF9UMWsyTDNtNE41bzZQN3E4UjlzMFQxdTJWM3c0WDV5Nlo3YTg="}}}"#;
        let b64 = b64(inner.as_bytes());
        let applied = r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"app"},"stringData":{"token":"tk-Q8w7E6r5T4y3"}}"#;
        let text = format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ghcr\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{applied}'\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {b64}\n"
        );
        let ex = run("k8s/pull-secret.yml", &text);
        let m = expect_secret(
            &ex,
            &text,
            "ghp_T1k2L3m4N5o6P7q8R9s0T1u2V3w4X5y6Z7a8",
            9,
            Some(&b64),
        );
        assert_eq!(m.identifier.as_deref(), Some("bot@ghcr.io"));
        let a = ex
            .matches
            .iter()
            .find(|m| {
                m.secret
                    .as_ref()
                    .is_some_and(|s| s.expose() == "tk-Q8w7E6r5T4y3")
            })
            .expect("last-applied secret");
        assert_eq!(line_of(&text, a.offset), 6);
    }

    #[test]
    fn helm_values() {
        let text = "image:\n  repository: bitnami/postgresql\nauth:\n  postgresPassword: \"Hv3#mK8!qZ\"\n  existingSecret: \"\"\n  secretKeys:\n    adminPasswordKey: postgres-password\nredis:\n  auth:\n    existingSecret: redis-creds\n    password: \"\"\nsmtp:\n  password: \"{{ .Values.global.smtpPassword }}\"\n";
        let ex = run("chart/values.yaml", text);
        let m = expect_secret(&ex, text, "Hv3#mK8!qZ", 4, None);
        assert_eq!(m.rule_id, "extract.helm-values");
        assert_eq!(
            m.context.get("key").map(String::as_str),
            Some("auth.postgresPassword")
        );
        expect_ref(&ex, "kubernetes-secret", "redis-creds", 10, None);
        expect_no_secret(&ex, "postgres-password");
        assert_eq!(ex.matches.len(), 1);
    }

    fn b64(data: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in data.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for k in 0..4 {
                s.push(if k <= c.len() {
                    A[((n >> (18 - 6 * k)) & 63) as usize] as char
                } else {
                    '='
                });
            }
        }
        s
    }
}
