//! Kubeconfig files (`~/.kube/config`, `*kubeconfig*`, kubeadm's `admin.conf`…, or any YAML with
//! `kind: Config` and `users:`): per user, `client-key-data` (base64 PEM private key), `token`,
//! `password`, auth-provider `client-secret`/`id-token`/`refresh-token`, and exec plugin env.
//! `client-certificate-data` is public and not reported.

use std::collections::BTreeMap;

use super::refs::assignments;
use super::tree::{self, Node, Scalar};
use super::util::{self, MatchExt};
use super::{Emit, Extracted, File};
use crate::rules::Confidence;

const RULE: &str = "extract.kubeconfig";

pub(crate) fn applies(f: &File) -> bool {
    if f.path_ends(".kube/config") || f.name.contains("kubeconfig") {
        return true;
    }
    if matches!(
        f.name.as_str(),
        "admin.conf"
            | "kubelet.conf"
            | "controller-manager.conf"
            | "scheduler.conf"
            | "super-admin.conf"
    ) {
        return true;
    }
    (f.is_yaml() || f.ext().is_empty())
        && f.text.contains("kind: Config")
        && f.text.contains("users:")
        && f.text.contains("clusters:")
}

pub(crate) fn run(f: &File, out: &mut Extracted) {
    for doc in tree::parse_yaml(f.text) {
        document(f, &doc, out);
    }
}

fn document(f: &File, doc: &Node, out: &mut Extracted) {
    let servers: BTreeMap<&str, &str> = doc
        .get("clusters")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|c| Some((c.get_str("name")?, c.get("cluster")?.get_str("server")?)))
        .collect();
    // user name → (context, cluster)
    let mut contexts: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for c in doc.get("contexts").map(Node::items).unwrap_or_default() {
        if let (Some(name), Some(ctx)) = (c.get_str("name"), c.get("context"))
            && let Some(user) = ctx.get_str("user")
        {
            contexts
                .entry(user)
                .or_insert((name, ctx.get_str("cluster").unwrap_or("")));
        }
    }
    for u in doc.get("users").map(Node::items).unwrap_or_default() {
        let name = u.get_str("name").unwrap_or("");
        let Some(user) = u.get("user") else { continue };
        let (context, cluster) = contexts.get(name).copied().unwrap_or(("", ""));
        let server = servers.get(cluster).copied().unwrap_or("");
        let report = |out: &mut Extracted, s: &Scalar, secret: String, kind: &str, field: &str| {
            out.push(
                util::secret_match(RULE, kind, "kubernetes", secret, s.offset, s.len)
                    .id(name)
                    .ctx("user", name)
                    .ctx("context", context)
                    .ctx("cluster", cluster)
                    .ctx("server", server)
                    .ctx("field", field),
            );
        };
        if let Some(s) = user.get("client-key-data").and_then(Node::scalar)
            && !util::is_placeholder(&s.value, false)
        {
            let secret = util::b64_text(&s.value)
                .filter(|t| t.contains("PRIVATE KEY"))
                .unwrap_or_else(|| s.value.clone());
            report(out, s, secret, "private-key", "client-key-data");
        }
        for (field, kind) in [("token", "token"), ("password", "password")] {
            if let Some(s) = user.get(field).and_then(Node::scalar)
                && !util::is_placeholder(&s.value, false)
            {
                report(out, s, s.value.clone(), kind, field);
            }
        }
        if let Some(cfg) = user.at(&["auth-provider", "config"]) {
            for (field, kind) in [
                ("client-secret", "client-secret"),
                ("id-token", "token"),
                ("refresh-token", "token"),
                ("access-token", "token"),
            ] {
                if let Some(s) = cfg.get(field).and_then(Node::scalar)
                    && !util::is_placeholder(&s.value, false)
                {
                    report(out, s, s.value.clone(), kind, field);
                }
            }
        }
        if let Some(exec) = user.get("exec") {
            let consumer = format!("user/{name}");
            for a in assignments(exec.get("env").unwrap_or(&Node::Null)) {
                super::emit(
                    f,
                    &a,
                    &Emit {
                        rule: RULE,
                        provider: None,
                        confidence: Confidence::Medium,
                        var_store: None,
                        consumer: Some(&consumer),
                    },
                    out,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    const KEY_B64: &str = "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFcEFJQkFBS0NBUUVBeHl6CkFCQ0RFRkdISUpLTE1OT1AKLS0tLS1FTkQgUlNBIFBSSVZBVEUgS0VZLS0tLS0K";

    #[test]
    fn users_tokens_and_keys() {
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster:\n    server: https://k8s.prod.example:6443\n    certificate-authority-data: LS0tQ0E=\ncontexts:\n- name: prod-admin\n  context:\n    cluster: prod\n    user: admin\nusers:\n- name: admin\n  user:\n    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t\n    client-key-data: {KEY_B64}\n- name: ci\n  user:\n    token: eyJhbGciOiJSUzI1NiIsImtpZCI6ImNpIn0.eyJzdWIiOiJzeXN0ZW06c2EifQ.sIgNaTuRe_x9\n- name: old\n  user:\n    username: admin\n    password: \"Lq8!vZ3#pT\"\n- name: eks\n  user:\n    exec:\n      command: aws\n      env:\n      - name: AWS_PROFILE\n        value: prod\n      - name: AWS_SECRET_ACCESS_KEY\n        value: wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8vR2xT1k\n- name: templated\n  user:\n    token: ${{KUBE_TOKEN}}\n    password: \"\"\n"
        );
        let ex = run("home/.kube/config", &text);
        let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAxyz\nABCDEFGHIJKLMNOP\n-----END RSA PRIVATE KEY-----";
        let k = expect_secret(&ex, &text, key, 17, Some(KEY_B64));
        assert_eq!(k.kind, "private-key");
        assert_eq!(
            k.context.get("server").map(String::as_str),
            Some("https://k8s.prod.example:6443")
        );
        assert_eq!(
            k.context.get("context").map(String::as_str),
            Some("prod-admin")
        );
        expect_secret(
            &ex,
            &text,
            "eyJhbGciOiJSUzI1NiIsImtpZCI6ImNpIn0.eyJzdWIiOiJzeXN0ZW06c2EifQ.sIgNaTuRe_x9",
            20,
            None,
        );
        expect_secret(&ex, &text, "Lq8!vZ3#pT", 24, None);
        let e = expect_secret(
            &ex,
            &text,
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8vR2xT1k",
            33,
            None,
        );
        assert_eq!(
            e.context.get("consumer").map(String::as_str),
            Some("user/eks")
        );
        expect_no_secret(&ex, "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t");
        assert_eq!(ex.matches.len(), 4);
    }
}
