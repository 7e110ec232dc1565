//! Terraform: variable files (`*.tfvars`, `*.auto.tfvars`, HCL; `*.tfvars.json`), where a
//! variable whose name says credential holds a literal, and state (`*.tfstate`,
//! `*.tfstate.backup`, JSON): resource instance attributes such as `password`, `secret`,
//! `access_key`, `private_key_pem`, `token`, attributes the state marks sensitive,
//! `random_password` results, secret-version payloads, sensitive outputs, and backend
//! credentials in `.terraform/terraform.tfstate`.

use super::refs::{Assign, assignments};
use super::tree::{self, Node, Scalar};
use super::util::{self, MatchExt};
use super::{Emit, Extracted, File};
use crate::rules::Confidence;

const TFVARS: &str = "extract.tfvars";
const TFSTATE: &str = "extract.tfstate";

fn is_state(f: &File) -> bool {
    f.name.ends_with(".tfstate") || f.name.ends_with(".tfstate.backup")
}

pub(crate) fn applies(f: &File) -> bool {
    is_state(f) || f.name.ends_with(".tfvars") || f.name.ends_with(".tfvars.json")
}

pub(crate) fn run(f: &File, out: &mut Extracted) {
    if is_state(f) {
        state(f, out);
    } else {
        tfvars(f, out);
    }
}

// ---------------------------------------------------------------------------------------------
// tfvars

/// HCL tokens enough for `name = value` files.
enum Tok {
    Ident(String),
    Str(Scalar),
    Punct(u8),
}

fn hcl_tokens(text: &str) -> Vec<Tok> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0usize;
    while let Some(&c) = b.get(i) {
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'#' => {
                i = text
                    .get(i..)
                    .and_then(|t| t.find('\n'))
                    .map_or(b.len(), |p| i + p)
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = text
                    .get(i..)
                    .and_then(|t| t.find('\n'))
                    .map_or(b.len(), |p| i + p)
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = text
                    .get(i + 2..)
                    .and_then(|t| t.find("*/"))
                    .map_or(b.len(), |p| i + 2 + p + 2);
            }
            b'"' => match util::code_string(text, i, util::Escapes::C) {
                Some(s) => {
                    out.push(Tok::Str(Scalar {
                        value: s.value,
                        offset: s.offset,
                        len: s.len,
                        tag: None,
                        verbatim: s.verbatim,
                        block: false,
                    }));
                    i = s.end;
                }
                None => i += 1,
            },
            b'<' if b.get(i + 1) == Some(&b'<') => {
                // Heredoc: <<EOF or <<-EOF … EOF
                let rest = util::slice(text, i + 2, b.len());
                let rest = rest.strip_prefix('-').unwrap_or(rest);
                let word_len = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                let word = util::slice(rest, 0, word_len);
                let Some(nl) = text.get(i..).and_then(|t| t.find('\n')).map(|p| i + p + 1) else {
                    break;
                };
                if word.is_empty() {
                    i = nl;
                    continue;
                }
                let mut pos = nl;
                let mut end = None;
                for line in util::slice(text, nl, b.len()).split_inclusive('\n') {
                    if line.trim() == word {
                        end = Some(pos);
                        break;
                    }
                    pos += line.len();
                }
                let stop = end.unwrap_or(b.len());
                let body = util::slice(text, nl, stop).trim_end();
                out.push(Tok::Str(Scalar {
                    value: body.lines().map(str::trim).collect::<Vec<_>>().join("\n"),
                    offset: nl,
                    len: body.len(),
                    tag: None,
                    verbatim: false,
                    block: false,
                }));
                i = end.map_or(b.len(), |e| {
                    text.get(e..)
                        .and_then(|t| t.find('\n'))
                        .map_or(b.len(), |p| e + p)
                });
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let s = i;
                while b
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
                {
                    i += 1;
                }
                out.push(Tok::Ident(util::slice(text, s, i).to_string()));
            }
            c => {
                out.push(Tok::Punct(c));
                i += 1;
            }
        }
    }
    out
}

fn tfvars(f: &File, out: &mut Extracted) {
    let emit = Emit {
        rule: TFVARS,
        provider: None,
        confidence: Confidence::Medium,
        var_store: None,
        consumer: None,
    };
    let report = |out: &mut Extracted, path: &[String], name: &str, s: &Scalar| {
        let a = Assign {
            path: path.to_vec(),
            name: name.to_string(),
            value: s.value.clone(),
            offset: s.offset,
            len: s.len,
            verbatim: s.verbatim,
            scalar: s,
        };
        if let Some(i) = super::emit(f, &a, &emit, out)
            && let Some(m) = out.matches.get_mut(i)
        {
            m.context.insert("variable".into(), path.join("."));
        }
    };
    if f.name.ends_with(".json") {
        if let Some(root) = tree::parse_json(f.text) {
            for a in assignments(&root) {
                report(out, &a.path, &a.name, a.scalar);
            }
        }
        return;
    }
    let toks = hcl_tokens(f.text);
    let mut stack: Vec<String> = Vec::new();
    let mut pending: Option<String> = None;
    let mut i = 0;
    while let Some(t) = toks.get(i) {
        match t {
            Tok::Ident(name) | Tok::Str(Scalar { value: name, .. })
                if matches!(toks.get(i + 1), Some(Tok::Punct(b'=' | b':'))) =>
            {
                let name = name.clone();
                match toks.get(i + 2) {
                    Some(Tok::Str(s)) => {
                        let mut path = stack.clone();
                        path.push(name.clone());
                        report(out, &path, &name, s);
                        i += 3;
                    }
                    Some(Tok::Punct(b'{' | b'[')) => {
                        pending = Some(name);
                        i += 2;
                    }
                    _ => i += 2,
                }
            }
            Tok::Punct(b'{' | b'[') => {
                stack.push(pending.take().unwrap_or_else(|| "-".into()));
                i += 1;
            }
            Tok::Punct(b'}' | b']') => {
                stack.pop();
                i += 1;
            }
            _ => i += 1,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// tfstate

fn provider_of(rtype: &str) -> &'static str {
    match rtype.split('_').next().unwrap_or("") {
        "aws" => "aws",
        "azurerm" | "azuread" => "azure",
        "google" => "gcp",
        "kubernetes" | "helm" => "kubernetes",
        "tls" => "tls",
        "random" => "terraform",
        "vault" => "vault",
        "github" => "github",
        "gitlab" => "gitlab",
        "datadog" => "datadog",
        "cloudflare" => "cloudflare",
        "postgresql" => "postgres",
        "mysql" => "mysql",
        "digitalocean" => "digitalocean",
        _ => "generic",
    }
}

fn is_access_key_id(v: &str) -> bool {
    v.len() == 20
        && (v.starts_with("AKIA") || v.starts_with("ASIA"))
        && v.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// Top-level attribute names the state marks sensitive (`sensitive_attributes`).
fn sensitive_names(inst: &Node) -> Vec<String> {
    let mut out = Vec::new();
    for path in inst
        .get("sensitive_attributes")
        .map(Node::items)
        .unwrap_or_default()
    {
        // [[{"type":"get_attr","value":"password"}, …]] or [{"type":"get_attr",…}] (newer)
        let first = match path {
            Node::Seq(steps) => steps.first(),
            n => Some(n),
        };
        if let Some(v) = first.and_then(|s| s.get_str("value")) {
            out.push(v.to_string());
        }
    }
    out
}

const SECRET_PAYLOAD: &[&str] = &[
    "secret_string",
    "secret_data",
    "secret_binary",
    "data_json",
    "value",
    "data",
    "secret",
];

fn state(f: &File, out: &mut Extracted) {
    let Some(root) = tree::parse_json(f.text) else {
        return;
    };
    let push = |out: &mut Extracted,
                s: &Scalar,
                kind: &str,
                provider: &str,
                resource: &str,
                attr: &str,
                ident: Option<String>| {
        if util::is_placeholder(&s.value, false) || is_access_key_id(&s.value) {
            return;
        }
        out.push(
            util::secret_match(TFSTATE, kind, provider, s.value.clone(), s.offset, s.len)
                .id_opt(ident)
                .ctx("resource", resource)
                .ctx("attribute", attr),
        );
    };
    for r in root.get("resources").map(Node::items).unwrap_or_default() {
        if r.get_str("mode") == Some("data")
            && r.get_str("type").is_some_and(|t| !t.contains("secret"))
        {
            continue;
        }
        let rtype = r.get_str("type").unwrap_or("");
        let rname = r.get_str("name").unwrap_or("");
        let module = r
            .get_str("module")
            .map(|m| format!("{m}."))
            .unwrap_or_default();
        let data = if r.get_str("mode") == Some("data") {
            "data."
        } else {
            ""
        };
        let provider = provider_of(rtype);
        for inst in r.get("instances").map(Node::items).unwrap_or_default() {
            let key = inst
                .get("index_key")
                .and_then(Node::str)
                .map(|k| format!("[{k}]"))
                .unwrap_or_default();
            let resource = format!("{module}{data}{rtype}.{rname}{key}");
            let Some(attrs) = inst.get("attributes") else {
                continue;
            };
            let sensitive = sensitive_names(inst);
            let user = [
                "username",
                "user",
                "login",
                "administrator_login",
                "master_username",
                "admin_username",
            ]
            .iter()
            .find_map(|k| attrs.get_str(k))
            .filter(|u| !u.is_empty());
            let host = ["address", "endpoint", "host", "fqdn", "hostname"]
                .iter()
                .find_map(|k| attrs.get_str(k))
                .filter(|h| !h.is_empty());
            let ident = match (rtype, user, host) {
                ("aws_iam_access_key", _, _) => attrs.get_str("id").map(str::to_string),
                (_, Some(u), Some(h)) => Some(format!("{u}@{h}")),
                (_, Some(u), None) => Some(u.to_string()),
                _ => None,
            };
            let secret_resource = rtype.ends_with("_secret")
                || rtype.ends_with("_secret_version")
                || rtype.contains("secret_version");
            for e in attrs.entries() {
                let name = e.key.as_str();
                let kind = if sensitive.iter().any(|s| s == name) {
                    Some(util::secret_kind(name).unwrap_or("secret"))
                } else if rtype.starts_with("random_")
                    && name == "result"
                    && (rtype == "random_password" || sensitive.is_empty())
                {
                    (rtype == "random_password").then_some("password")
                } else if secret_resource && SECRET_PAYLOAD.contains(&name) {
                    Some("secret")
                } else if name.starts_with("encrypted_")
                    || name.ends_with("_fingerprint")
                    || name == "key_fingerprint"
                {
                    None
                } else {
                    util::secret_kind(name)
                };
                let Some(kind) = kind else { continue };
                let mut path = Vec::new();
                e.value.visit(&mut path, &mut |p, n| {
                    if let Node::Scalar(s) = n {
                        let attr = if p.is_empty() {
                            name.to_string()
                        } else {
                            format!("{name}.{}", p.join("."))
                        };
                        push(out, s, kind, provider, &resource, &attr, ident.clone());
                    }
                });
            }
        }
    }
    for o in root.get("outputs").map(Node::entries).unwrap_or_default() {
        if o.value.get_str("sensitive") != Some("true") {
            continue;
        }
        let kind = util::secret_kind(&o.key).unwrap_or("secret");
        o.value
            .get("value")
            .unwrap_or(&Node::Null)
            .visit(&mut Vec::new(), &mut |_, n| {
                if let Node::Scalar(s) = n {
                    push(
                        out,
                        s,
                        kind,
                        "terraform",
                        &format!("output.{}", o.key),
                        "value",
                        None,
                    );
                }
            });
    }
    // .terraform/terraform.tfstate: the backend's configuration.
    if let Some(b) = root.get("backend") {
        let btype = b.get_str("type").unwrap_or("");
        for e in b.get("config").map(Node::entries).unwrap_or_default() {
            if let (Some(kind), Some(s)) = (util::secret_kind(&e.key), e.value.scalar()) {
                push(
                    out,
                    s,
                    kind,
                    provider_of(btype),
                    &format!("backend.{btype}"),
                    &e.key,
                    None,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn tfvars_hcl() {
        let text = "region = \"eu-west-1\"\ndb_password = \"Tf7#pQ2!vN\"\n# api_token = \"old-Xy9-token\"\ndatadog_api_key = var.dd\nsettings = {\n  admin_password = \"Nm3$kL8@wQ\"\n  replicas       = 3\n}\ntls_private_key = <<-EOT\n  -----BEGIN EC PRIVATE KEY-----\n  MHcCAQEEIAb\n  -----END EC PRIVATE KEY-----\nEOT\ngithub_token = \"${local.gh}\"\n";
        let ex = run("env/prod.tfvars", text);
        expect_secret(&ex, text, "Tf7#pQ2!vN", 2, None);
        let n = expect_secret(&ex, text, "Nm3$kL8@wQ", 6, None);
        assert_eq!(
            n.context.get("variable").map(String::as_str),
            Some("settings.admin_password")
        );
        let k = ex
            .matches
            .iter()
            .find(|m| m.kind == "private-key")
            .expect("heredoc key");
        assert_eq!(line_of(text, k.offset), 10);
        expect_no_secret(&ex, "old-Xy9");
        assert_eq!(ex.matches.len(), 3);
    }

    #[test]
    fn tfstate_resources_and_outputs() {
        let text = r#"{
  "version": 4,
  "terraform_version": "1.7.5",
  "outputs": {
    "db_password": { "value": "Op9#xL2!mK", "type": "string", "sensitive": true },
    "endpoint": { "value": "db.example", "type": "string" }
  },
  "resources": [
    {
      "mode": "managed",
      "type": "aws_iam_access_key",
      "name": "ci",
      "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
      "instances": [
        {
          "schema_version": 0,
          "attributes": {
            "id": "AKIAIOSFODNN7SYNTH01",
            "secret": "kF8sJ2mN5qR7tV0wY3zB6cE9gH1jL4oP7sU0xA3d",
            "encrypted_secret": null,
            "ses_smtp_password_v4": "BPx4Rk9Lm2Qw7Zt5Vn8Hc3Jf6Gd1Sa0Ye4Uo7Ib2Nc5",
            "user": "ci-deployer"
          },
          "sensitive_attributes": []
        }
      ]
    },
    {
      "mode": "managed",
      "type": "aws_db_instance",
      "name": "main",
      "module": "module.data",
      "instances": [
        {
          "attributes": {
            "address": "main.c9xyz.eu-west-1.rds.amazonaws.com",
            "username": "dbadmin",
            "password": "Rd5!sQ8#wE",
            "password_wo_version": null,
            "manage_master_user_password": false
          },
          "sensitive_attributes": [[{ "type": "get_attr", "value": "password" }]]
        }
      ]
    },
    {
      "mode": "managed",
      "type": "random_password",
      "name": "app",
      "instances": [ { "attributes": { "length": 24, "result": "w9!Hk3@Lp7#Qz2$Vx5%Bn8^M", "special": true } } ]
    }
  ]
}
"#;
        let ex = run("infra/terraform.tfstate", text);
        let s = expect_secret(
            &ex,
            text,
            "kF8sJ2mN5qR7tV0wY3zB6cE9gH1jL4oP7sU0xA3d",
            19,
            None,
        );
        assert_eq!(s.identifier.as_deref(), Some("AKIAIOSFODNN7SYNTH01"));
        assert_eq!(
            s.context.get("resource").map(String::as_str),
            Some("aws_iam_access_key.ci")
        );
        assert_eq!(s.provider, "aws");
        expect_secret(
            &ex,
            text,
            "BPx4Rk9Lm2Qw7Zt5Vn8Hc3Jf6Gd1Sa0Ye4Uo7Ib2Nc5",
            21,
            None,
        );
        let d = expect_secret(&ex, text, "Rd5!sQ8#wE", 38, None);
        assert_eq!(
            d.identifier.as_deref(),
            Some("dbadmin@main.c9xyz.eu-west-1.rds.amazonaws.com")
        );
        assert_eq!(
            d.context.get("resource").map(String::as_str),
            Some("module.data.aws_db_instance.main")
        );
        expect_secret(&ex, text, "w9!Hk3@Lp7#Qz2$Vx5%Bn8^M", 50, None);
        expect_secret(&ex, text, "Op9#xL2!mK", 5, None);
        expect_no_secret(&ex, "AKIAIOSFODNN7SYNTH01");
        expect_no_secret(&ex, "db.example");
        assert_eq!(ex.matches.len(), 5);
    }
}
