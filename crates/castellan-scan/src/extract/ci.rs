//! CI/CD definitions: GitHub Actions (`.github/workflows/*.yml`, composite `action.yml`),
//! GitLab CI (`.gitlab-ci.yml`, `*.gitlab-ci.yml`, `.gitlab/ci/*.yml`), Jenkinsfiles, CircleCI
//! (`.circleci/config.yml`), Azure Pipelines (`azure-pipelines*.yml`) and Bitbucket Pipelines
//! (`bitbucket-pipelines.yml`).
//!
//! A *reference* to a managed secret becomes a [`crate::Reference`] with the consumer the file
//! describes (workflow/job, job, stage, step):
//!
//! * GitHub: `${{ secrets.X }}` (store `github-actions`), `hashicorp/vault-action` secrets
//!   (`vault`), `aws-secretsmanager-get-secrets` ids, `get-keyvault-secrets`;
//! * GitLab: `$VAR`/`${VAR}` uses of credential-like names (`gitlab-ci`), job `secrets:` from
//!   Vault, Azure Key Vault, GCP Secret Manager, AWS Secrets Manager;
//! * Jenkins: `credentials('id')`, `withCredentials([... credentialsId: 'id' ...])`,
//!   `sshagent(['id'])`, `withRegistry(url, 'id')` (`jenkins`), `withVault` paths (`vault`);
//! * CircleCI: `$VAR` (`circleci`), workflow job `context:` (`circleci-context`);
//! * Azure: `$(var)` macros (`azure-pipelines`), variable `group:`s
//!   (`azure-devops-variable-group`), the `AzureKeyVault` task (`azure-keyvault`);
//! * Bitbucket: `$VAR` (`bitbucket-pipelines`);
//! * everywhere: Vault CLI paths, AWS Secrets Manager / SSM ARNs and CLI calls, GCP Secret
//!   Manager, Azure Key Vault, 1Password references.
//!
//! An inline literal under a credential-like name (`env: {API_TOKEN: "…"}`, `variables:`,
//! `environment { X = '…' }`) is a [`crate::Match`].

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

use super::refs::{self, Assign, Verdict, assignments};
use super::tree::{self, Node, Scalar};
use super::util;
use super::{Emit, Extracted, File};
use crate::rules::Confidence;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum System {
    GitHub,
    GitLab,
    Jenkins,
    CircleCi,
    Azure,
    Bitbucket,
}

pub(crate) fn system(f: &File) -> Option<System> {
    let n = f.name.as_str();
    if f.is_yaml()
        && (f.lower.contains(".github/workflows/")
            || (f.in_dir(".github") && n.starts_with("action.")))
    {
        return Some(System::GitHub);
    }
    if (f.is_yaml()
        && (n == ".gitlab-ci.yml"
            || n.ends_with(".gitlab-ci.yml")
            || n.ends_with(".gitlab-ci.yaml")))
        || (f.is_yaml() && f.lower.contains(".gitlab/ci/"))
    {
        return Some(System::GitLab);
    }
    if n == "jenkinsfile"
        || n.starts_with("jenkinsfile.")
        || n.ends_with(".jenkinsfile")
        || (f.ext() == "groovy" && f.in_dir("jenkins"))
    {
        return Some(System::Jenkins);
    }
    if f.is_yaml() && f.in_dir(".circleci") {
        return Some(System::CircleCi);
    }
    if f.is_yaml()
        && (n.starts_with("azure-pipelines")
            || f.in_dir(".azure-pipelines")
            || f.in_dir(".azuredevops"))
    {
        return Some(System::Azure);
    }
    if n == "bitbucket-pipelines.yml" || n == "bitbucket-pipelines.yaml" {
        return Some(System::Bitbucket);
    }
    None
}

pub(crate) fn applies(f: &File) -> bool {
    system(f).is_some()
}

pub(crate) fn run(f: &File, out: &mut Extracted) {
    match system(f) {
        Some(System::GitHub) => github(f, out),
        Some(System::GitLab) => gitlab(f, out),
        Some(System::Jenkins) => jenkins(f, out),
        Some(System::CircleCi) => circleci(f, out),
        Some(System::Azure) => azure(f, out),
        Some(System::Bitbucket) => bitbucket(f, out),
        None => {}
    }
}

/// Keys whose sequence items are `KEY=value` assignments.
const ENV_LISTS: &[&str] = &[
    "environment",
    "env",
    "variables",
    "args",
    "build-args",
    "build_args",
];
/// Keys whose content is never a credential assignment.
const SKIP_KEYS: &[&str] = &[
    "permissions",
    "on",
    "true",
    "rules",
    "only",
    "except",
    "needs",
    "cache",
    "artifacts",
];

/// The tree walk shared by the YAML CI systems.
pub(crate) struct Walk<'f, 'a> {
    pub f: &'f File<'a>,
    pub rule: &'static str,
    pub system: Option<System>,
    /// The store of `$VAR` / `${VAR}` uses (`gitlab-ci`, `environment`…), if they are references.
    pub var_store: Option<&'static str>,
    /// The store of `$(var)` macro uses (Azure).
    pub macro_store: Option<&'static str>,
    /// Names the file itself sets to a literal: their `$NAME` uses are not references.
    pub defined: BTreeSet<String>,
    pub confidence: Confidence,
}

const MAX_WALK: usize = 200;

impl Walk<'_, '_> {
    /// Names the document assigns literal values to.
    pub(crate) fn defined_in(doc: &Node) -> BTreeSet<String> {
        assignments(doc)
            .into_iter()
            .filter(|a| {
                matches!(
                    refs::judge(&a.name, &a.value, a.offset, a.len, a.verbatim),
                    Verdict::Literal(_)
                )
            })
            .map(|a| a.name)
            .collect()
    }

    fn emit(&self) -> Emit<'static> {
        Emit {
            rule: self.rule,
            provider: None,
            confidence: self.confidence,
            var_store: None,
            consumer: None,
        }
    }

    fn assign(&self, a: &Assign, consumer: Option<&str>, out: &mut Extracted) {
        let mut e = self.emit();
        e.consumer = consumer;
        // `$(x)` is Azure's macro syntax; `$X` / `${X}` the shell's.
        e.var_store = if a.value.trim_start().starts_with("$(") {
            self.macro_store
        } else {
            self.var_store
        };
        super::emit(self.f, a, &e, out);
    }

    /// References inside any string: managed stores, and `$VAR` / `$(var)` uses.
    pub(crate) fn scalar(&self, s: &Scalar, consumer: Option<&str>, out: &mut Extracted) {
        for r in refs::store_refs(&s.value) {
            out.reference(self.f, r.store, &r.name, self.f.at(s, r.at), consumer);
        }
        if let Some(store) = self.var_store {
            for (name, at) in refs::credential_vars(&s.value) {
                if !self.defined.contains(&name) {
                    out.reference(self.f, store, &name, self.f.at(s, at), consumer);
                }
            }
        }
        if let Some(store) = self.macro_store {
            for (name, at) in refs::credential_macros(&s.value) {
                if !self.defined.contains(&name) {
                    out.reference(self.f, store, &name, self.f.at(s, at), consumer);
                }
            }
        }
    }

    pub(crate) fn node(
        &self,
        n: &Node,
        key: &str,
        consumer: Option<&str>,
        out: &mut Extracted,
        depth: usize,
    ) {
        if depth > MAX_WALK || SKIP_KEYS.contains(&key) {
            return;
        }
        match n {
            Node::Scalar(s) => self.scalar(s, consumer, out),
            Node::Map(entries) => {
                let own = self.consumer_of(n);
                let consumer = own.as_deref().or(consumer);
                self.hook(n, consumer, out);
                if let (Some(name), Some(v)) =
                    (n.get_str("name"), n.get("value").and_then(Node::scalar))
                {
                    self.assign(&one(name, v), consumer, out);
                }
                for e in entries {
                    match &e.value {
                        Node::Scalar(s) => {
                            if !(e.key == "value" && n.get("name").is_some()) {
                                self.assign(&one(&e.key, s), consumer, out);
                            }
                            self.scalar(s, consumer, out);
                        }
                        Node::Map(_) if key == "variables" => {
                            // GitLab: KEY: {value: …, description: …}
                            match e.value.get("value").and_then(Node::scalar) {
                                Some(s) => {
                                    self.assign(&one(&e.key, s), consumer, out);
                                    self.scalar(s, consumer, out);
                                }
                                None => self.node(&e.value, &e.key, consumer, out, depth + 1),
                            }
                        }
                        v => self.node(v, &e.key, consumer, out, depth + 1),
                    }
                }
            }
            Node::Seq(items) => {
                for it in items {
                    match it {
                        Node::Scalar(s) if ENV_LISTS.contains(&key) => {
                            if let Some((k, v)) = s.value.split_once('=')
                                && !k.is_empty()
                                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                            {
                                let vstart = s.value.len() - v.len();
                                let a = Assign {
                                    path: vec![k.to_string()],
                                    name: k.to_string(),
                                    value: v.to_string(),
                                    offset: s.offset_of(vstart),
                                    len: if s.verbatim { v.len() } else { s.len },
                                    verbatim: s.verbatim,
                                    scalar: s,
                                };
                                self.assign(&a, consumer, out);
                            }
                            self.scalar(s, consumer, out);
                        }
                        v => self.node(v, key, consumer, out, depth + 1),
                    }
                }
            }
            Node::Null => {}
        }
    }

    fn consumer_of(&self, n: &Node) -> Option<String> {
        match self.system {
            Some(System::Azure) => ["job", "deployment", "stage"]
                .iter()
                .find_map(|k| n.get_str(k))
                .map(str::to_string),
            Some(System::Bitbucket) => n
                .get("step")
                .and_then(|s| s.get_str("name"))
                .map(str::to_string),
            _ => None,
        }
    }

    /// System-specific references.
    fn hook(&self, n: &Node, consumer: Option<&str>, out: &mut Extracted) {
        let f = self.f;
        match self.system {
            Some(System::GitHub) => {
                let uses = n.get_str("uses").unwrap_or("");
                let with = n.get("with");
                if uses.starts_with("hashicorp/vault-action") {
                    if let Some(s) = with.and_then(|w| w.get("secrets")).and_then(Node::scalar) {
                        for (line, at) in lines_of(&s.value) {
                            // "secret/data/ci/npm token | NPM_TOKEN ;"
                            let spec = line
                                .split('|')
                                .next()
                                .unwrap_or("")
                                .trim()
                                .trim_end_matches(';')
                                .trim();
                            let mut parts = spec.split_whitespace();
                            if let (Some(path), Some(key)) = (parts.next(), parts.next()) {
                                out.reference(
                                    f,
                                    "vault",
                                    &format!("{path}#{key}"),
                                    f.at(s, at),
                                    consumer,
                                );
                            }
                        }
                    }
                } else if uses.starts_with("aws-actions/aws-secretsmanager-get-secrets") {
                    if let Some(s) = with
                        .and_then(|w| w.get("secret-ids"))
                        .and_then(Node::scalar)
                    {
                        for (line, at) in lines_of(&s.value) {
                            let id = line.rsplit(',').next().unwrap_or("").trim();
                            if !id.is_empty() && !id.starts_with("arn:") {
                                out.reference(f, "aws-secrets-manager", id, f.at(s, at), consumer);
                            }
                        }
                    }
                } else if uses.starts_with("azure/get-keyvault-secrets")
                    && let Some(w) = with
                    && let (Some(vault), Some(s)) = (
                        w.get_str("keyvault"),
                        w.get("secrets").and_then(Node::scalar),
                    )
                {
                    for name in s.value.split(',').map(str::trim).filter(|x| !x.is_empty()) {
                        out.reference(
                            f,
                            "azure-keyvault",
                            &format!("{vault}/{name}"),
                            s.offset,
                            consumer,
                        );
                    }
                }
            }
            Some(System::GitLab) => {
                for sec in n.get("secrets").map(Node::entries).unwrap_or_default() {
                    let v = &sec.value;
                    if let Some(vault) = v.get("vault") {
                        let (name, at) = match vault {
                            // path/to/secret/field@engine
                            Node::Scalar(s) => {
                                let (p, engine) = s.value.split_once('@').unwrap_or((&s.value, ""));
                                let (path, field) = p.rsplit_once('/').unwrap_or((p, ""));
                                (vault_name(engine, path, field), s.offset)
                            }
                            m => {
                                let engine =
                                    m.at(&["engine", "path"]).and_then(Node::str).unwrap_or("");
                                let path = m.get("path").and_then(Node::scalar);
                                let field = m.get_str("field").unwrap_or("");
                                (
                                    vault_name(
                                        engine,
                                        path.map_or("", |p| p.value.as_str()),
                                        field,
                                    ),
                                    path.map_or(sec.key_offset, |p| p.offset),
                                )
                            }
                        };
                        out.reference(f, "vault", &name, at, consumer);
                    }
                    for (store, k, field) in [
                        ("azure-keyvault", "azure_key_vault", "name"),
                        ("gcp-secret-manager", "gcp_secret_manager", "name"),
                        ("aws-secrets-manager", "aws_secrets_manager", "secret_id"),
                    ] {
                        let Some(a) = v.get(k) else { continue };
                        if let Some(s) = a
                            .get(field)
                            .or(a.get("name"))
                            .and_then(Node::scalar)
                            .or(a.scalar())
                        {
                            out.reference(f, store, &s.value, s.offset, consumer);
                        }
                    }
                }
            }
            Some(System::Azure) => {
                if let Some(s) = n.get("group").and_then(Node::scalar) {
                    out.reference(
                        f,
                        "azure-devops-variable-group",
                        &s.value,
                        s.offset,
                        consumer,
                    );
                }
                if n.get_str("task")
                    .is_some_and(|t| t.to_ascii_lowercase().starts_with("azurekeyvault"))
                    && let Some(inputs) = n.get("inputs")
                {
                    let vault = inputs
                        .get_ci("KeyVaultName")
                        .and_then(Node::str)
                        .unwrap_or("");
                    if let Some(s) = inputs.get_ci("SecretsFilter").and_then(Node::scalar) {
                        for name in s.value.split(',').map(str::trim).filter(|x| !x.is_empty()) {
                            out.reference(
                                f,
                                "azure-keyvault",
                                &format!("{vault}/{name}"),
                                s.offset,
                                consumer,
                            );
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// `engine/path#field` for a GitLab Vault secret.
fn vault_name(engine: &str, path: &str, field: &str) -> String {
    let base = if engine.is_empty() {
        path.to_string()
    } else {
        format!("{engine}/{path}")
    };
    if field.is_empty() {
        base
    } else {
        format!("{base}#{field}")
    }
}

/// An assignment of `name` to scalar `s`.
fn one<'n>(name: &str, s: &'n Scalar) -> Assign<'n> {
    Assign {
        path: vec![name.to_string()],
        name: name.to_string(),
        value: s.value.clone(),
        offset: s.offset,
        len: s.len,
        verbatim: s.verbatim,
        scalar: s,
    }
}

/// Non-empty lines of a value with their byte index.
fn lines_of(v: &str) -> Vec<(&str, usize)> {
    let mut out = Vec::new();
    let mut at = 0usize;
    for l in v.split_inclusive('\n') {
        let t = l.trim();
        if !t.is_empty() {
            out.push((t, at + (l.len() - l.trim_start().len())));
        }
        at += l.len();
    }
    out
}

fn walk<'f, 'a>(
    f: &'f File<'a>,
    doc: &Node,
    system: System,
    rule: &'static str,
    var_store: Option<&'static str>,
) -> Walk<'f, 'a> {
    Walk {
        f,
        rule,
        system: Some(system),
        var_store,
        macro_store: None,
        defined: Walk::defined_in(doc),
        confidence: Confidence::Medium,
    }
}

// ---------------------------------------------------------------------------------------------

fn github(f: &File, out: &mut Extracted) {
    for doc in tree::parse_yaml(f.text) {
        let wf = doc
            .get_str("name")
            .map(str::to_string)
            .unwrap_or_else(|| f.stem());
        let w = walk(f, &doc, System::GitHub, "extract.github-actions", None);
        for e in doc.entries() {
            if e.key == "jobs" {
                for job in e.value.entries() {
                    let consumer = format!("{wf}/{}", job.key);
                    w.node(&job.value, &job.key, Some(&consumer), out, 0);
                }
            } else {
                w.node(&e.value, &e.key, Some(&wf), out, 0);
            }
        }
    }
}

/// Top-level GitLab keys that are not jobs.
const GITLAB_GLOBAL: &[&str] = &[
    "image",
    "services",
    "stages",
    "types",
    "before_script",
    "after_script",
    "variables",
    "cache",
    "include",
    "default",
    "workflow",
    "spec",
];

fn gitlab(f: &File, out: &mut Extracted) {
    for doc in tree::parse_yaml(f.text) {
        let w = walk(
            f,
            &doc,
            System::GitLab,
            "extract.gitlab-ci",
            Some("gitlab-ci"),
        );
        for e in doc.entries() {
            let job = !GITLAB_GLOBAL.contains(&e.key.as_str()) && matches!(e.value, Node::Map(_));
            w.node(&e.value, &e.key, job.then_some(e.key.as_str()), out, 0);
        }
    }
}

fn circleci(f: &File, out: &mut Extracted) {
    for doc in tree::parse_yaml(f.text) {
        let w = walk(
            f,
            &doc,
            System::CircleCi,
            "extract.circleci",
            Some("circleci"),
        );
        for e in doc.entries() {
            match e.key.as_str() {
                "jobs" | "executors" | "commands" => {
                    for j in e.value.entries() {
                        w.node(&j.value, &j.key, Some(&j.key), out, 0);
                    }
                }
                "workflows" => {
                    for wf in e.value.entries() {
                        for item in wf.value.get("jobs").map(Node::items).unwrap_or_default() {
                            for (job, cfg) in
                                item.entries().iter().map(|j| (j.key.as_str(), &j.value))
                            {
                                for ctx in cfg
                                    .get("context")
                                    .map(|c| match c {
                                        Node::Seq(v) => {
                                            v.iter().filter_map(Node::scalar).collect::<Vec<_>>()
                                        }
                                        n => n.scalar().into_iter().collect(),
                                    })
                                    .unwrap_or_default()
                                {
                                    out.reference(
                                        f,
                                        "circleci-context",
                                        &ctx.value,
                                        ctx.offset,
                                        Some(job),
                                    );
                                }
                                w.node(cfg, job, Some(job), out, 0);
                            }
                        }
                    }
                }
                _ => w.node(&e.value, &e.key, None, out, 0),
            }
        }
    }
}

fn azure(f: &File, out: &mut Extracted) {
    for doc in tree::parse_yaml(f.text) {
        let mut w = walk(f, &doc, System::Azure, "extract.azure-pipelines", None);
        w.macro_store = Some("azure-pipelines");
        w.node(&doc, "", None, out, 0);
    }
}

fn bitbucket(f: &File, out: &mut Extracted) {
    for doc in tree::parse_yaml(f.text) {
        let w = walk(
            f,
            &doc,
            System::Bitbucket,
            "extract.bitbucket-pipelines",
            Some("bitbucket-pipelines"),
        );
        w.node(&doc, "", None, out, 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Jenkins (Groovy): read as text.

static JENKINS_REFS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r#"\bcredentials\(\s*['"]([^'"]+)['"]\s*\)"#,
        r#"\bcredentialsId\s*:\s*['"]([^'"]+)['"]"#,
        r#"\bwithRegistry\(\s*['"][^'"]*['"]\s*,\s*['"]([^'"]+)['"]"#,
        r#"\bgit\s*\(?\s*url\s*:[^\n]*?credentialsId\s*:\s*['"]([^'"]+)['"]"#,
    ]
    .iter()
    .filter_map(|p| Regex::new(p).ok())
    .collect()
});
static SSHAGENT: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"\bsshagent\s*\(\s*(?:credentials\s*:\s*)?\[([^\]]*)\]"#).ok());
static QUOTED: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r#"['"]([^'"]+)['"]"#).ok());
static VAULT_PATH: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"\bpath\s*:\s*['"]([^'"]+)['"]"#).ok());
static STAGE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"\bstage\s*\(\s*['"]([^'"]+)['"]"#).ok());
static GROOVY_ASSIGN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?m)^[ \t]*(?:def[ \t]+|env\.)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*(['"])"#).ok()
});
static WITH_ENV: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"['"]([A-Za-z_][A-Za-z0-9_]*)=([^'"\n]*)['"]"#).ok());

fn jenkins(f: &File, out: &mut Extracted) {
    let text = f.text;
    let stages: Vec<(usize, String)> = STAGE
        .as_ref()
        .map(|re| {
            re.captures_iter(text)
                .filter_map(|c| Some((c.get(0)?.start(), c.get(1)?.as_str().to_string())))
                .collect()
        })
        .unwrap_or_default();
    let stage_at = |off: usize| {
        stages
            .iter()
            .rev()
            .find(|(s, _)| *s <= off)
            .map(|(_, n)| n.as_str())
    };
    let commented = |off: usize| {
        let ls = text
            .get(..off)
            .and_then(|t| t.rfind('\n'))
            .map_or(0, |p| p + 1);
        util::slice(text, ls, off).contains("//")
    };
    for re in JENKINS_REFS.iter() {
        for c in re.captures_iter(text) {
            if let Some(m) = c.get(1)
                && !commented(m.start())
            {
                out.reference(f, "jenkins", m.as_str(), m.start(), stage_at(m.start()));
            }
        }
    }
    if let (Some(re), Some(q)) = (SSHAGENT.as_ref(), QUOTED.as_ref()) {
        for c in re.captures_iter(text) {
            let Some(list) = c.get(1) else { continue };
            for id in q.captures_iter(list.as_str()) {
                if let Some(m) = id.get(1) {
                    let at = list.start() + m.start();
                    out.reference(f, "jenkins", m.as_str(), at, stage_at(at));
                }
            }
        }
    }
    if text.contains("withVault")
        && let Some(re) = VAULT_PATH.as_ref()
    {
        for c in re.captures_iter(text) {
            if let Some(m) = c.get(1) {
                out.reference(f, "vault", m.as_str(), m.start(), stage_at(m.start()));
            }
        }
    }
    // Vault/AWS/Azure/GCP CLI calls in `sh` steps.
    let mut pos = 0usize;
    for line in text.split_inclusive('\n') {
        for r in refs::store_refs(line) {
            let at = pos + r.at;
            out.reference(f, r.store, &r.name, at, stage_at(at));
        }
        pos += line.len();
    }
    // Literals: `environment { TOKEN = '…' }`, `def password = "…"`, `env.X = '…'`.
    let emit =
        |name: &str, value: String, off: usize, len: usize, verbatim: bool, out: &mut Extracted| {
            let s = Scalar {
                value: value.clone(),
                offset: off,
                len,
                tag: None,
                verbatim,
                block: false,
            };
            let a = Assign {
                path: vec![name.to_string()],
                name: name.to_string(),
                value,
                offset: off,
                len,
                verbatim,
                scalar: &s,
            };
            let e = Emit {
                rule: "extract.jenkins",
                provider: None,
                confidence: Confidence::Medium,
                var_store: None,
                consumer: stage_at(off),
            };
            super::emit(f, &a, &e, out);
        };
    if let Some(re) = GROOVY_ASSIGN.as_ref() {
        for c in re.captures_iter(text) {
            let (Some(name), Some(q)) = (c.get(1), c.get(2)) else {
                continue;
            };
            let esc = if q.as_str() == "'" {
                util::Escapes::QuoteOnly
            } else {
                util::Escapes::C
            };
            if let Some(s) = util::code_string(text, q.start(), esc) {
                // "${x}" interpolations are not literals.
                if q.as_str() == "\"" && s.value.contains('$') {
                    continue;
                }
                emit(name.as_str(), s.value, s.offset, s.len, s.verbatim, out);
            }
        }
    }
    if text.contains("withEnv")
        && let Some(re) = WITH_ENV.as_ref()
    {
        for c in re.captures_iter(text) {
            if let (Some(k), Some(v)) = (c.get(1), c.get(2)) {
                emit(
                    k.as_str(),
                    v.as_str().to_string(),
                    v.start(),
                    v.len(),
                    true,
                    out,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn github_actions() {
        let text = r#"name: Deploy
on:
  push:
    branches: [main]
permissions:
  id-token: write
env:
  REGISTRY: ghcr.io
  SENTRY_AUTH_TOKEN: sntrys_eyJpYXQiOjE3MDAwMDAwMDB9_Zk3Lq9Vb2Nm7Xw
jobs:
  build:
    runs-on: ubuntu-latest
    env: { API_TOKEN: "tok_9Hq2Lm7Vz4Rx8Kb3", DEBUG: "1" }
    steps:
      - uses: actions/checkout@v4
      - name: Login
        uses: docker/login-action@v3
        with:
          username: ${{ vars.DOCKER_USER }}
          password: ${{ secrets.DOCKERHUB_TOKEN }}
      - name: Publish
        run: |
          echo "//registry.npmjs.org/:_authToken=${NODE_AUTH_TOKEN}" > .npmrc
          npm publish
        env:
          NODE_AUTH_TOKEN: ${{ secrets['NPM_TOKEN'] }}
          PLACEHOLDER_PASSWORD: changeme
  deploy:
    needs: build
    secrets: inherit
    runs-on: ubuntu-latest
    steps:
      - uses: hashicorp/vault-action@v3
        with:
          url: https://vault.corp.example
          secrets: |
            secret/data/ci/aws accessKey | AWS_ACCESS_KEY_ID ;
            secret/data/ci/aws secretKey | AWS_SECRET_ACCESS_KEY
      - run: aws secretsmanager get-secret-value --secret-id prod/db/password --query SecretString
"#;
        let ex = run("repo/.github/workflows/deploy.yml", text);
        let a = expect_secret(&ex, text, "tok_9Hq2Lm7Vz4Rx8Kb3", 13, None);
        assert_eq!(a.rule_id, "extract.github-actions");
        assert_eq!(
            a.context.get("consumer").map(String::as_str),
            Some("Deploy/build")
        );
        assert_eq!(
            a.context.get("variable").map(String::as_str),
            Some("API_TOKEN")
        );
        let s = expect_secret(
            &ex,
            text,
            "sntrys_eyJpYXQiOjE3MDAwMDAwMDB9_Zk3Lq9Vb2Nm7Xw",
            9,
            None,
        );
        assert_eq!(
            s.context.get("consumer").map(String::as_str),
            Some("Deploy")
        );
        expect_ref(
            &ex,
            "github-actions",
            "DOCKERHUB_TOKEN",
            20,
            Some("Deploy/build"),
        );
        expect_ref(&ex, "github-actions", "NPM_TOKEN", 26, Some("Deploy/build"));
        expect_ref(
            &ex,
            "vault",
            "secret/data/ci/aws#accessKey",
            37,
            Some("Deploy/deploy"),
        );
        expect_ref(
            &ex,
            "vault",
            "secret/data/ci/aws#secretKey",
            38,
            Some("Deploy/deploy"),
        );
        expect_ref(
            &ex,
            "aws-secrets-manager",
            "prod/db/password",
            39,
            Some("Deploy/deploy"),
        );
        expect_no_secret(&ex, "changeme");
        expect_no_secret(&ex, "inherit");
        expect_no_secret(&ex, "write");
        assert_eq!(
            ex.matches.len(),
            2,
            "{:?}",
            ex.matches
                .iter()
                .map(|m| m.context.clone())
                .collect::<Vec<_>>()
        );
        assert!(!ex.references.iter().any(|r| r.name == "DOCKER_USER"));
    }

    #[test]
    fn gitlab_ci() {
        let text = "variables:\n  DOCKER_DRIVER: overlay2\n  SONAR_TOKEN: \"squ_1f2e3d4c5b6a79880706f5e4d3c2b1a0f9e8d7c6\"\n  DEPLOY_PASSWORD:\n    value: \"$VAULT_DEPLOY_PW\"\n    description: from vault\n\nstages: [build, deploy]\n\ndeploy-prod:\n  stage: deploy\n  image: alpine\n  secrets:\n    DATABASE_PASSWORD:\n      vault: production/db/password@ops\n    API_KEY:\n      azure_key_vault:\n        name: prod-api-key\n  script:\n    - docker login -u $CI_REGISTRY_USER -p $CI_REGISTRY_PASSWORD $CI_REGISTRY\n    - curl -H \"PRIVATE-TOKEN: ${GITLAB_API_TOKEN}\" https://gitlab.example/api/v4/projects\n    - sonar-scanner -Dsonar.token=$SONAR_TOKEN\n";
        let ex = run(".gitlab-ci.yml", text);
        let m = expect_secret(
            &ex,
            text,
            "squ_1f2e3d4c5b6a79880706f5e4d3c2b1a0f9e8d7c6",
            3,
            None,
        );
        assert_eq!(m.rule_id, "extract.gitlab-ci");
        expect_ref(&ex, "gitlab-ci", "VAULT_DEPLOY_PW", 5, None);
        expect_ref(
            &ex,
            "vault",
            "ops/production/db#password",
            15,
            Some("deploy-prod"),
        );
        expect_ref(
            &ex,
            "azure-keyvault",
            "prod-api-key",
            18,
            Some("deploy-prod"),
        );
        expect_ref(
            &ex,
            "gitlab-ci",
            "CI_REGISTRY_PASSWORD",
            20,
            Some("deploy-prod"),
        );
        expect_ref(
            &ex,
            "gitlab-ci",
            "GITLAB_API_TOKEN",
            21,
            Some("deploy-prod"),
        );
        assert!(
            !ex.references.iter().any(|r| r.name == "SONAR_TOKEN"),
            "defined inline: a match, not a reference"
        );
        assert!(
            !ex.references
                .iter()
                .any(|r| r.name == "CI_REGISTRY_USER" || r.name == "CI_REGISTRY")
        );
        assert_eq!(ex.matches.len(), 1);
    }

    #[test]
    fn jenkinsfile() {
        let text = "pipeline {\n  agent any\n  environment {\n    REGISTRY_CREDS = credentials('dockerhub-creds')\n    SLACK_TOKEN = 'xoxb-2048-4096-Zq7Lm2Vb9Nx4Rt8Kc1Wd'\n    APP_ENV = 'prod'\n  }\n  stages {\n    stage('Build') {\n      steps {\n        withCredentials([usernamePassword(credentialsId: 'nexus-deploy', usernameVariable: 'U', passwordVariable: 'P')]) {\n          sh './gradlew publish'\n        }\n      }\n    }\n    stage('Deploy') {\n      steps {\n        sshagent(['prod-ssh-key', \"bastion-key\"]) {\n          sh 'vault kv get -field=token secret/deploy/api'\n        }\n        // credentials('old-unused')\n      }\n    }\n  }\n}\n";
        let ex = run("Jenkinsfile", text);
        expect_ref(&ex, "jenkins", "dockerhub-creds", 4, None);
        expect_ref(&ex, "jenkins", "nexus-deploy", 11, Some("Build"));
        expect_ref(&ex, "jenkins", "prod-ssh-key", 18, Some("Deploy"));
        expect_ref(&ex, "jenkins", "bastion-key", 18, Some("Deploy"));
        expect_ref(&ex, "vault", "secret/deploy/api#token", 19, Some("Deploy"));
        assert!(!ex.references.iter().any(|r| r.name == "old-unused"));
        let m = expect_secret(&ex, text, "xoxb-2048-4096-Zq7Lm2Vb9Nx4Rt8Kc1Wd", 5, None);
        assert_eq!(
            (m.rule_id.as_str(), m.provider.as_str()),
            ("extract.jenkins", "slack")
        );
        assert_eq!(ex.matches.len(), 1);
    }

    #[test]
    fn circleci() {
        let text = "version: 2.1\njobs:\n  build:\n    docker:\n      - image: cimg/node:20.11\n        auth:\n          username: mybot\n          password: $DOCKERHUB_PASSWORD\n    environment:\n      NPM_TOKEN: npm_Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3Wx5\n    steps:\n      - run: curl -H \"Authorization: Bearer $CODECOV_TOKEN\" https://codecov.io\nworkflows:\n  main:\n    jobs:\n      - build:\n          context:\n            - org-global\n            - aws-prod\n";
        let ex = run(".circleci/config.yml", text);
        expect_secret(
            &ex,
            text,
            "npm_Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3Wx5",
            10,
            None,
        );
        expect_ref(&ex, "circleci", "DOCKERHUB_PASSWORD", 8, Some("build"));
        expect_ref(&ex, "circleci", "CODECOV_TOKEN", 12, Some("build"));
        expect_ref(&ex, "circleci-context", "org-global", 18, Some("build"));
        expect_ref(&ex, "circleci-context", "aws-prod", 19, Some("build"));
    }

    #[test]
    fn azure_pipelines() {
        let text = "trigger:\n- main\nvariables:\n- group: prod-secrets\n- name: buildConfiguration\n  value: Release\n- name: sqlPassword\n  value: 'Az7#kQ2!mW9'\nstages:\n- stage: Deploy\n  jobs:\n  - job: Web\n    steps:\n    - task: AzureKeyVault@2\n      inputs:\n        azureSubscription: prod-conn\n        KeyVaultName: kv-prod\n        SecretsFilter: 'DbPassword,ApiKey'\n    - script: ./deploy.sh --token $(deployToken) --build $(Build.BuildId)\n";
        let ex = run("azure-pipelines.yml", text);
        let m = expect_secret(&ex, text, "Az7#kQ2!mW9", 8, None);
        assert_eq!(m.rule_id, "extract.azure-pipelines");
        expect_ref(&ex, "azure-devops-variable-group", "prod-secrets", 4, None);
        expect_ref(&ex, "azure-keyvault", "kv-prod/DbPassword", 18, Some("Web"));
        expect_ref(&ex, "azure-keyvault", "kv-prod/ApiKey", 18, Some("Web"));
        expect_ref(&ex, "azure-pipelines", "deployToken", 19, Some("Web"));
        assert!(!ex.references.iter().any(|r| r.name == "Build.BuildId"));
        assert_eq!(ex.matches.len(), 1);
    }

    #[test]
    fn bitbucket_pipelines() {
        let text = "image: node:20\ndefinitions:\n  services:\n    postgres:\n      image: postgres:16\n      variables:\n        POSTGRES_PASSWORD: Pg5-tR8-wQ2\npipelines:\n  default:\n    - step:\n        name: Deploy to S3\n        script:\n          - pipe: atlassian/aws-s3-deploy:1.1.0\n            variables:\n              AWS_SECRET_ACCESS_KEY: $AWS_SECRET_ACCESS_KEY\n              S3_BUCKET: my-bucket\n          - curl -u \"ci:$BB_APP_PASSWORD\" https://api.bitbucket.org/2.0/user\n";
        let ex = run("bitbucket-pipelines.yml", text);
        let m = expect_secret(&ex, text, "Pg5-tR8-wQ2", 7, None);
        assert_eq!(m.provider, "postgres");
        expect_ref(
            &ex,
            "bitbucket-pipelines",
            "AWS_SECRET_ACCESS_KEY",
            15,
            Some("Deploy to S3"),
        );
        expect_ref(
            &ex,
            "bitbucket-pipelines",
            "BB_APP_PASSWORD",
            17,
            Some("Deploy to S3"),
        );
    }
}
