//! Ansible variables: YAML under `group_vars/`, `host_vars/`, `vars/`, role `defaults/`, and
//! inventories (YAML, or INI `host key=value …` lines and `[group:vars]` sections).
//! `ansible_password`, `ansible_become_password`, `*_password`, `*_token`… with literal values
//! are matches; `!vault`-encrypted values are references (store `ansible-vault`), as are
//! `{{ vault_* }}` indirections and `hashi_vault` lookups (store `vault`).

use std::sync::LazyLock;

use regex::Regex;

use super::refs::{Assign, assignments};
use super::tree::{self, Scalar};
use super::util;
use super::{Emit, Extracted, File};
use crate::rules::Confidence;

const RULE: &str = "extract.ansible";

fn is_inventory(f: &File) -> bool {
    f.in_dir("inventory")
        || f.in_dir("inventories")
        || f.name.starts_with("inventory")
        || f.name == "hosts"
        || f.name == "hosts.ini"
}

pub(crate) fn applies(f: &File) -> bool {
    let yamlish = f.is_yaml() || f.ext().is_empty() || f.ext() == "json";
    ((f.in_dir("group_vars") || f.in_dir("host_vars")) && yamlish)
        || (f.is_yaml() && (f.in_dir("vars") || (f.in_dir("defaults") && f.in_dir("roles"))))
        || (is_inventory(f) && (f.is_yaml() || f.ext().is_empty() || f.ext() == "ini"))
}

static JINJA_VAULT_VAR: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^\{\{\s*(vault_[A-Za-z0-9_]+)\s*(?:\|[^}]*)?\}\}$").ok());

/// The group or host the file belongs to (`group_vars/web.yml` → `web`).
fn scope(f: &File) -> Option<String> {
    let parts: Vec<&str> = f.path.split('/').collect();
    let pos = parts.iter().position(|p| {
        p.eq_ignore_ascii_case("group_vars") || p.eq_ignore_ascii_case("host_vars")
    })?;
    let next = parts.get(pos + 1)?;
    Some(
        next.rsplit_once('.')
            .filter(|(s, _)| !s.is_empty())
            .map_or(*next, |(s, _)| s)
            .to_string(),
    )
}

fn provider(name: &str) -> &'static str {
    if name.starts_with("ansible_") {
        "ssh"
    } else {
        util::provider_for_name(name)
    }
}

fn one(f: &File, a: &Assign, consumer: Option<&str>, ident: Option<String>, out: &mut Extracted) {
    if a.scalar.tag.as_deref() == Some("!vault")
        || a.value.trim_start().starts_with("$ANSIBLE_VAULT")
    {
        out.reference(f, "ansible-vault", &a.name, a.scalar.offset, consumer);
        return;
    }
    if let Some(v) = JINJA_VAULT_VAR
        .as_ref()
        .and_then(|re| re.captures(a.value.trim()))
        .and_then(|c| c.get(1))
    {
        if util::secret_kind(&a.name).is_some() {
            out.reference(f, "ansible-vault", v.as_str(), a.scalar.offset, consumer);
        }
        return;
    }
    let emit = Emit {
        rule: RULE,
        provider: Some(provider(&a.name)),
        confidence: Confidence::Medium,
        var_store: None,
        consumer,
    };
    if let Some(i) = super::emit(f, a, &emit, out)
        && let Some(m) = out.matches.get_mut(i)
    {
        if a.name.starts_with("ansible_") {
            m.confidence = Confidence::High;
        }
        if m.identifier.is_none() {
            m.identifier = ident;
        }
        if a.path.len() > 1 {
            m.context.insert("key".into(), a.path.join("."));
        }
    }
}

pub(crate) fn run(f: &File, out: &mut Extracted) {
    let scope = scope(f);
    let looks_ini = !f.is_yaml()
        && f.ext() != "json"
        && (f.text.contains("ansible_") || f.text.trim_start().starts_with('['))
        && !f.text.contains(":\n  ");
    if is_inventory(f) && looks_ini {
        ini_inventory(f, out);
        return;
    }
    for doc in tree::parse_yaml(f.text) {
        for a in assignments(&doc) {
            // In YAML inventories a host's variables sit under `hosts: <host>:`.
            let host = a
                .path
                .iter()
                .position(|p| p == "hosts")
                .and_then(|i| a.path.get(i + 1))
                .cloned();
            let consumer = host.clone().or_else(|| scope.clone());
            one(f, &a, consumer.as_deref(), host, out);
        }
    }
}

fn ini_inventory(f: &File, out: &mut Extracted) {
    let mut pos = 0usize;
    let mut section = String::new();
    for raw in f.text.split_inclusive('\n') {
        let start = pos;
        pos += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if t.starts_with('[') {
            section = t.trim_matches(['[', ']']).to_string();
            continue;
        }
        let lead = line.len() - t.len();
        // Tokens: whitespace-separated, quotes respected.
        let mut toks: Vec<(usize, usize)> = Vec::new();
        let b = t.as_bytes();
        let mut i = 0usize;
        while i < b.len() {
            while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
                i += 1;
            }
            let s = i;
            let mut q: Option<u8> = None;
            while let Some(&c) = b.get(i) {
                match q {
                    Some(qc) if c == qc => q = None,
                    Some(_) => {}
                    None if c == b'"' || c == b'\'' => q = Some(c),
                    None if c.is_ascii_whitespace() => break,
                    None if c == b'#' && i == s => {
                        i = b.len();
                        break;
                    }
                    None => {}
                }
                i += 1;
            }
            if i > s {
                toks.push((s, i.min(b.len())));
            }
        }
        let vars_section = section.ends_with(":vars");
        let host = if vars_section {
            None
        } else {
            toks.first()
                .map(|(s, e)| util::slice(t, *s, *e).to_string())
        };
        let kv: Vec<(&str, &str, usize)> = toks
            .iter()
            .filter_map(|(s, e)| {
                let tok = util::slice(t, *s, *e);
                let (k, v) = tok.split_once('=')?;
                let (v, voff) = match v
                    .strip_prefix(['"', '\''])
                    .and_then(|x| x.strip_suffix(['"', '\'']))
                {
                    Some(inner) => (inner, start + lead + s + k.len() + 2),
                    None => (v, start + lead + s + k.len() + 1),
                };
                Some((k, v, voff))
            })
            .collect();
        let user = kv
            .iter()
            .find(|(k, _, _)| matches!(*k, "ansible_user" | "ansible_ssh_user"))
            .map(|(_, v, _)| *v);
        let addr = kv
            .iter()
            .find(|(k, _, _)| matches!(*k, "ansible_host" | "ansible_ssh_host"))
            .map(|(_, v, _)| *v);
        let target = addr.map(str::to_string).or_else(|| host.clone());
        let ident = match (user, &target) {
            (Some(u), Some(h)) => Some(format!("{u}@{h}")),
            (Some(u), None) => Some(u.to_string()),
            _ => None,
        };
        let consumer = host
            .clone()
            .unwrap_or_else(|| section.trim_end_matches(":vars").to_string());
        for (k, v, off) in kv {
            let s = Scalar {
                value: v.to_string(),
                offset: off,
                len: v.len(),
                tag: None,
                verbatim: true,
                block: false,
            };
            let a = Assign {
                path: vec![k.to_string()],
                name: k.to_string(),
                value: v.to_string(),
                offset: off,
                len: v.len(),
                verbatim: true,
                scalar: &s,
            };
            one(f, &a, Some(&consumer), ident.clone(), out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn group_vars_with_vault_and_literals() {
        let text = "---\nansible_user: deploy\nansible_become_password: \"Bx4!rT9#kL\"\ndb_password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  62313365396662343061393464336163383764373764613633653634306231386433626436623361\napi_token: \"{{ vault_api_token }}\"\nslack_webhook_token: \"{{ lookup('community.hashi_vault.hashi_vault', 'secret=secret/data/ci:slack') }}\"\nredis_password: changeme\napp_port: 8080\n";
        let ex = run("inventories/prod/group_vars/webservers.yml", text);
        let m = expect_secret(&ex, text, "Bx4!rT9#kL", 3, None);
        assert_eq!(
            (m.provider.as_str(), m.confidence),
            ("ssh", crate::rules::Confidence::High)
        );
        assert_eq!(
            m.context.get("consumer").map(String::as_str),
            Some("webservers")
        );
        expect_ref(&ex, "ansible-vault", "db_password", 5, Some("webservers"));
        expect_ref(
            &ex,
            "ansible-vault",
            "vault_api_token",
            7,
            Some("webservers"),
        );
        expect_ref(&ex, "vault", "secret/data/ci#slack", 8, Some("webservers"));
        expect_no_secret(&ex, "changeme");
        expect_no_secret(&ex, "ANSIBLE_VAULT");
        assert_eq!(ex.matches.len(), 1);
    }

    #[test]
    fn ini_inventory() {
        let text = "[web]\nweb1 ansible_host=10.0.0.11 ansible_user=ops ansible_password='Wq8#nM3!zX'\nweb2 ansible_host=10.0.0.12\n\n[db:vars]\nansible_become_pass=Hy6$tR2@pL\n";
        let ex = run("inventory/hosts", text);
        let m = expect_secret(&ex, text, "Wq8#nM3!zX", 2, None);
        assert_eq!(m.identifier.as_deref(), Some("ops@10.0.0.11"));
        let b = expect_secret(&ex, text, "Hy6$tR2@pL", 6, None);
        assert_eq!(b.context.get("consumer").map(String::as_str), Some("db"));
        assert_eq!(ex.matches.len(), 2);
    }
}
