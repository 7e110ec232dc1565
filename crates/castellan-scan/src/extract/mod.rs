//! Format-aware extractors: credential-bearing files parsed by their structure.
//!
//! Each extractor recognises its files by name/path (and, where names are ambiguous, by content),
//! then parses them and reports [`Match`]es (inline secrets) and [`Reference`]s (names of secrets
//! held in a managed store). Extractors never fail: content they cannot parse yields nothing here
//! and is still searched by the rules.
//!
//! One submodule per family:
//!
//! | module | files | rule ids |
//! |---|---|---|
//! | [`netrc`] | `.netrc`, `_netrc` | `extract.netrc` |
//! | [`pgpass`] | `.pgpass`, `pgpass.conf` | `extract.pgpass` |
//! | [`gitcreds`] | `.git-credentials` | `extract.git-credentials` |
//! | [`npmrc`] | `.npmrc` | `extract.npmrc` |
//! | [`pypirc`] | `.pypirc` | `extract.pypirc` |
//! | [`docker`] | `.docker/config.json`, `.dockercfg`, `containers/auth.json` | `extract.docker-config` |
//! | [`kubeconfig`] | `.kube/config`, `*kubeconfig*` | `extract.kubeconfig` |
//! | [`dotenv`] | `.env`, `.env.*`, `*.env`, `.envrc` | `extract.dotenv` |
//! | [`spring`] | `application*.properties/yml`, `bootstrap*`; other `*.properties` | `extract.spring`, `extract.properties` |
//! | [`wordpress`] | `wp-config.php` | `extract.wordpress` |
//! | [`django`] | `settings.py`, `settings/*.py`, `local_settings.py` | `extract.django` |
//! | [`rails`] | `config/database.yml`, `secrets.yml`, `credentials.yml`, `master.key` | `extract.rails` |
//! | [`filezilla`] | `recentservers.xml`, `sitemanager.xml` | `extract.filezilla` |
//! | [`winscp`] | `WinSCP.ini` | `extract.winscp` |
//! | [`dbeaver`] | `data-sources*.json`, `credentials-config.json` | `extract.dbeaver` |
//! | [`hashes`] | `.htpasswd`, `shadow` | `extract.htpasswd`, `extract.shadow` |
//! | [`keys`] | `id_rsa`, `id_ed25519`, `*.pem`, `*.key`, `*.ppk`, PEM content | `extract.private-key` |
//! | [`ghcli`] | `gh/hosts.yml`, `.config/hub` | `extract.gh-cli` |
//! | [`ide`] | VS Code `settings.json` & `.vscode/*.json`, JetBrains `*.xml` | `extract.vscode`, `extract.jetbrains` |
//! | [`terraform`] | `*.tfvars`, `*.tfvars.json`, `*.tfstate` | `extract.tfvars`, `extract.tfstate` |
//! | [`ansible`] | `group_vars/`, `host_vars/`, `vars/`, `defaults/`, inventories | `extract.ansible` |
//! | [`ci`] | GitHub Actions, GitLab CI, Jenkinsfile, CircleCI, Azure Pipelines, Bitbucket | `extract.github-actions`… |
//! | [`compose`] | `docker-compose*.yml`, `compose*.yaml` | `extract.docker-compose` |
//! | [`k8s`] | Kubernetes manifests (content), Helm `values*.yaml` | `extract.kubernetes`, `extract.helm-values` |

use std::path::Path;

use crate::rules::Confidence;
use crate::{Match, Reference};

mod ansible;
mod ci;
mod compose;
mod dbeaver;
mod django;
mod docker;
mod dotenv;
mod filezilla;
mod ghcli;
mod gitcreds;
mod hashes;
mod ide;
mod k8s;
mod keys;
mod kubeconfig;
mod netrc;
mod npmrc;
mod pgpass;
mod pypirc;
mod rails;
pub(crate) mod refs;
mod spring;
mod terraform;
pub(crate) mod tree;
pub(crate) mod util;
mod winscp;
mod wordpress;

use refs::{Assign, Verdict};
use util::MatchExt;

/// What the extractors found in one file.
#[derive(Debug, Default)]
pub struct Extracted {
    /// Inline secrets.
    pub matches: Vec<Match>,
    /// References to secrets held elsewhere (CI secrets, Vault paths, `secretKeyRef`).
    pub references: Vec<Reference>,
}

/// One file as the extractors see it.
pub(crate) struct File<'a> {
    /// The path with `/` separators.
    pub path: String,
    /// The path, lower-cased.
    pub lower: String,
    /// The file name, lower-cased.
    pub name: String,
    /// The content as text (invalid UTF-8 bytes read as `?`, offsets unchanged).
    pub text: &'a str,
    /// Offsets of line starts.
    starts: Vec<usize>,
}

impl<'a> File<'a> {
    pub(crate) fn new(path: &Path, text: &'a str) -> Self {
        let path = path.to_string_lossy().replace('\\', "/");
        let lower = path.to_lowercase();
        let name = lower.rsplit('/').next().unwrap_or("").to_string();
        File {
            path,
            lower,
            name,
            text,
            starts: std::iter::once(0)
                .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|p| p + 1))
                .collect(),
        }
    }

    /// The 1-based line of a byte offset.
    pub(crate) fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).max(1)
    }

    /// The offset where 1-based `line` starts (the end of the text past the last line).
    pub(crate) fn line_start(&self, line: usize) -> usize {
        self.starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len())
    }

    /// The content offset of byte `i` of a scalar's value: exact for verbatim scalars and, line
    /// by line, for literal block scalars; the scalar's start otherwise.
    pub(crate) fn at(&self, s: &tree::Scalar, i: usize) -> usize {
        if s.verbatim {
            return s.offset + i;
        }
        if !s.block {
            return s.offset;
        }
        let before = s.value.get(..i).unwrap_or("");
        let k = before.matches('\n').count();
        let col = before.len() - before.rfind('\n').map_or(0, |p| p + 1);
        let first = self.line(s.offset);
        let indent = s.offset.saturating_sub(self.line_start(first));
        (self.line_start(first + k) + indent + col).min(self.text.len())
    }

    /// The lower-cased extension of the file name (`yml`), or `""`.
    pub(crate) fn ext(&self) -> &str {
        match self.name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => ext,
            _ => "",
        }
    }

    /// Whether a directory of the path (lower-cased) is named `dir`.
    pub(crate) fn in_dir(&self, dir: &str) -> bool {
        let mut parts: Vec<&str> = self.lower.split('/').collect();
        parts.pop();
        parts.contains(&dir)
    }

    /// Whether the lower-cased path ends with `suffix` at a path-component boundary.
    pub(crate) fn path_ends(&self, suffix: &str) -> bool {
        self.lower == suffix || self.lower.ends_with(&format!("/{suffix}"))
    }

    pub(crate) fn is_yaml(&self) -> bool {
        matches!(self.ext(), "yml" | "yaml")
    }

    /// The file name with its original case, without extension.
    pub(crate) fn stem(&self) -> String {
        let n = self.path.rsplit('/').next().unwrap_or("");
        match n.rsplit_once('.') {
            Some((s, _)) if !s.is_empty() => s.to_string(),
            _ => n.to_string(),
        }
    }
}

impl Extracted {
    /// Adds a reference (duplicates are dropped when the file is done).
    pub(crate) fn reference(
        &mut self,
        f: &File,
        store: &str,
        name: &str,
        offset: usize,
        consumer: Option<&str>,
    ) {
        let name = name.trim();
        if name.is_empty() {
            return;
        }
        self.references.push(Reference {
            store: store.to_string(),
            name: name.to_string(),
            line: f.line(offset),
            consumer: consumer.map(str::to_string),
        });
    }

    /// Adds a match and returns its index (a match with the same rule over the same bytes as
    /// an earlier one is dropped when the file is done).
    pub(crate) fn push(&mut self, m: Match) -> Option<usize> {
        self.matches.push(m);
        Some(self.matches.len() - 1)
    }

    /// Drops repeated matches (same rule, same bytes) and references, keeping the first.
    fn dedup(&mut self) {
        let mut seen = std::collections::HashSet::new();
        self.matches
            .retain(|m| seen.insert((m.offset, m.len, m.rule_id.clone())));
        let mut seen = std::collections::BTreeSet::new();
        self.references.retain(|r| seen.insert(r.clone()));
    }
}

/// How [`emit`] reports what an assignment holds.
pub(crate) struct Emit<'a> {
    pub rule: &'a str,
    /// The provider, when the file implies one; otherwise it comes from the URL or the name.
    pub provider: Option<&'a str>,
    pub confidence: Confidence,
    /// The store a bare `$VAR` reference points to (`gitlab-ci`, `environment`), if any.
    pub var_store: Option<&'a str>,
    pub consumer: Option<&'a str>,
}

/// Reports one assignment: a literal secret as a match (with `variable`, `consumer`, `url`,
/// `user`, `host` context), a variable or store reference as a reference. Returns the index
/// of the match added.
pub(crate) fn emit(f: &File, a: &Assign, e: &Emit, out: &mut Extracted) -> Option<usize> {
    match refs::judge(&a.name, &a.value, a.offset, a.len, a.verbatim) {
        Verdict::Literal(l) => {
            let provider = e.provider.unwrap_or_else(|| match &l.url {
                Some(u) => util::provider_for_scheme(&u.scheme, &u.host),
                None => util::provider_for_name(&a.name),
            });
            let mut m = util::secret_match(e.rule, l.kind, provider, l.secret, l.offset, l.len)
                .conf(e.confidence)
                .ctx("variable", a.name.clone())
                .ctx_opt("consumer", e.consumer);
            if let Some(u) = &l.url {
                m = m
                    .ctx("url", u.redacted.clone())
                    .ctx("user", u.user.clone())
                    .ctx("host", u.host.clone());
                if !u.user.is_empty() {
                    m = m.id(format!("{}@{}", u.user, u.host));
                }
            }
            out.push(m)
        }
        Verdict::Variable(v) => {
            if let Some(store) = e.var_store {
                out.reference(f, store, &v, a.offset, e.consumer);
            }
            None
        }
        Verdict::Stores(rs) => {
            for r in rs {
                out.reference(f, r.store, &r.name, f.at(a.scalar, r.at), e.consumer);
            }
            None
        }
        Verdict::Nothing => None,
    }
}

type Applies = fn(&File) -> bool;
type Run = fn(&File, &mut Extracted);

/// The extractors, most specific first; the first whose files these are runs.
const PRIMARY: &[(Applies, Run)] = &[
    (netrc::applies, netrc::run),
    (pgpass::applies, pgpass::run),
    (gitcreds::applies, gitcreds::run),
    (npmrc::applies, npmrc::run),
    (pypirc::applies, pypirc::run),
    (hashes::applies, hashes::run),
    (winscp::applies, winscp::run),
    (filezilla::applies, filezilla::run),
    (dbeaver::applies, dbeaver::run),
    (wordpress::applies, wordpress::run),
    (django::applies, django::run),
    (dotenv::applies, dotenv::run),
    (terraform::applies, terraform::run),
    (ci::applies, ci::run),
    (compose::applies, compose::run),
    (ghcli::applies, ghcli::run),
    (kubeconfig::applies, kubeconfig::run),
    (rails::applies, rails::run),
    (spring::applies, spring::run),
    (ansible::applies, ansible::run),
    (docker::applies, docker::run),
    (ide::applies, ide::run),
    (k8s::applies, k8s::run),
];

/// Runs every extractor that applies to `path` over `content`. Never panics on any input.
pub fn extract(path: &Path, content: &[u8]) -> Extracted {
    // Defence in depth: a bug on one odd file must not abort a scan of thousands.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        extract_unguarded(path, content)
    }))
    .unwrap_or_default()
}

/// Whether the extractors read this file even though it looks binary: DBeaver's
/// `credentials-config.json` is AES ciphertext (usually with NUL bytes) and is reported as a
/// credential-store sighting. A scanner that skips binary files can ask this first.
pub fn reads_binary(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.eq_ignore_ascii_case("credentials-config.json"))
}

/// [`extract`] without the panic guard (what the property tests exercise).
pub(crate) fn extract_unguarded(path: &Path, content: &[u8]) -> Extracted {
    let mut out = Extracted::default();
    if content.is_empty() {
        return out;
    }
    let text = util::to_text(content);
    let f = File::new(path, &text);
    if let Some((_, run)) = PRIMARY.iter().find(|(applies, _)| applies(&f)) {
        run(&f, &mut out);
    }
    if keys::applies(&f) {
        keys::run(&f, &mut out);
    }
    out.dedup();
    out
}

const NAMES: &[(&str, &str)] = &[
    ("extract.netrc", "netrc machine password"),
    ("extract.pgpass", "PostgreSQL password file"),
    ("extract.git-credentials", "Git credential store"),
    ("extract.npmrc", "npm registry credential (.npmrc)"),
    (
        "extract.pypirc",
        "Python package index credential (.pypirc)",
    ),
    ("extract.docker-config", "Docker registry credential"),
    ("extract.kubeconfig", "Kubernetes kubeconfig credential"),
    ("extract.dotenv", "Credential in a dotenv file"),
    ("extract.spring", "Spring configuration credential"),
    ("extract.properties", "Credential in a Java properties file"),
    ("extract.wordpress", "WordPress wp-config.php credential"),
    ("extract.django", "Django settings credential"),
    ("extract.rails", "Rails configuration credential"),
    ("extract.filezilla", "FileZilla saved server password"),
    ("extract.winscp", "WinSCP saved session password"),
    ("extract.dbeaver", "DBeaver saved connection credential"),
    ("extract.htpasswd", "htpasswd password hash"),
    ("extract.shadow", "Unix shadow password hash"),
    ("extract.private-key", "Private key file"),
    ("extract.gh-cli", "GitHub CLI OAuth token"),
    ("extract.vscode", "VS Code settings credential"),
    ("extract.jetbrains", "JetBrains IDE settings credential"),
    ("extract.tfvars", "Terraform variables credential"),
    ("extract.tfstate", "Secret in Terraform state"),
    ("extract.ansible", "Ansible variable credential"),
    (
        "extract.github-actions",
        "Inline credential in a GitHub Actions workflow",
    ),
    (
        "extract.gitlab-ci",
        "Inline credential in GitLab CI configuration",
    ),
    ("extract.jenkins", "Inline credential in a Jenkinsfile"),
    (
        "extract.circleci",
        "Inline credential in CircleCI configuration",
    ),
    (
        "extract.azure-pipelines",
        "Inline credential in an Azure Pipelines definition",
    ),
    (
        "extract.bitbucket-pipelines",
        "Inline credential in Bitbucket Pipelines configuration",
    ),
    (
        "extract.docker-compose",
        "Inline credential in a Docker Compose file",
    ),
    ("extract.kubernetes", "Credential in a Kubernetes manifest"),
    ("extract.helm-values", "Credential in Helm values"),
];

/// The display name of an extractor id (`extract.pgpass` → "PostgreSQL password file").
pub fn name_of(id: &str) -> &str {
    NAMES.iter().find(|(i, _)| *i == id).map_or(id, |(_, n)| n)
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;

    /// Runs the extractors on `text` labelled `path`.
    pub(crate) fn run(path: &str, text: &str) -> Extracted {
        extract_unguarded(Path::new(path), text.as_bytes())
    }

    /// 1-based line of `offset` in `text`.
    pub(crate) fn line_of(text: &str, offset: usize) -> usize {
        text.get(..offset)
            .map_or(0, |s| s.matches('\n').count() + 1)
    }

    /// The match holding `secret`; asserts it is on `line` and, when `raw` is given, that its
    /// offset/len cover exactly `raw` in `text`.
    #[track_caller]
    pub(crate) fn expect_secret<'e>(
        ex: &'e Extracted,
        text: &str,
        secret: &str,
        line: usize,
        raw: Option<&str>,
    ) -> &'e Match {
        let m = ex
            .matches
            .iter()
            .find(|m| m.secret.as_ref().is_some_and(|s| s.expose() == secret))
            .unwrap_or_else(|| {
                panic!(
                    "secret not found among {} matches: {:?}",
                    ex.matches.len(),
                    ex.matches
                        .iter()
                        .map(|m| (&m.rule_id, &m.context, line_of(text, m.offset)))
                        .collect::<Vec<_>>()
                )
            });
        assert_eq!(line_of(text, m.offset), line, "line of {}", m.rule_id);
        let raw = raw.unwrap_or(secret);
        assert_eq!(
            text.get(m.offset..m.offset + m.len),
            Some(raw),
            "offset/len of {}",
            m.rule_id
        );
        assert!(m.rule_id.starts_with("extract."), "{}", m.rule_id);
        assert_ne!(name_of(&m.rule_id), m.rule_id, "name for {}", m.rule_id);
        m
    }

    /// Asserts no match holds `value`.
    #[track_caller]
    pub(crate) fn expect_no_secret(ex: &Extracted, value: &str) {
        assert!(
            !ex.matches.iter().any(|m| m
                .secret
                .as_ref()
                .is_some_and(|s| s.expose().contains(value))),
            "{value} reported as a secret"
        );
    }

    /// Asserts a reference exists.
    #[track_caller]
    pub(crate) fn expect_ref(
        ex: &Extracted,
        store: &str,
        name: &str,
        line: usize,
        consumer: Option<&str>,
    ) {
        let want = Reference {
            store: store.into(),
            name: name.into(),
            line,
            consumer: consumer.map(str::to_string),
        };
        assert!(
            ex.references.contains(&want),
            "missing {want:?} in {:#?}",
            ex.references
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file name an extractor recognises, for the property test.
    const NAMES_SEEN: &[&str] = &[
        "home/.netrc",
        "home/_netrc",
        "home/.pgpass",
        "home/.git-credentials",
        "home/.npmrc",
        "home/.pypirc",
        "home/.docker/config.json",
        "home/.kube/config",
        "app/.env",
        "app/.env.production",
        "app/prod.env",
        "src/main/resources/application.properties",
        "src/main/resources/application.yml",
        "wp-config.php",
        "proj/settings.py",
        "config/database.yml",
        "config/secrets.yml",
        "config/master.key",
        "FileZilla/recentservers.xml",
        "FileZilla/sitemanager.xml",
        "WinSCP.ini",
        ".dbeaver/data-sources.json",
        ".dbeaver/credentials-config.json",
        ".htpasswd",
        "etc/shadow",
        ".ssh/id_rsa",
        "certs/server.key",
        "key.ppk",
        ".config/gh/hosts.yml",
        ".vscode/settings.json",
        ".idea/workspace.xml",
        "prod.tfvars",
        "terraform.tfstate",
        "group_vars/all.yml",
        "inventory/hosts",
        ".github/workflows/ci.yml",
        ".gitlab-ci.yml",
        "Jenkinsfile",
        ".circleci/config.yml",
        "azure-pipelines.yml",
        "bitbucket-pipelines.yml",
        "docker-compose.yml",
        "k8s/deploy.yaml",
        "chart/values.yaml",
    ];

    #[test]
    fn every_rule_id_has_a_name() {
        for (id, name) in NAMES {
            assert!(id.starts_with("extract."));
            assert_eq!(name_of(id), *name);
        }
        assert_eq!(name_of("extract.unknown"), "extract.unknown");
    }

    #[test]
    fn binary_and_truncated_content_never_panics() {
        let samples: [&[u8]; 6] = [
            b"\xff\xfe\x00\x01garbage",
            b"machine",
            b"auths: {\"",
            b"- - - [ { \"",
            b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn",
            b"\xef\xbb\xbfkey: |\n",
        ];
        for name in NAMES_SEEN {
            for s in samples {
                let _ = extract_unguarded(Path::new(name), s);
            }
        }
    }

    #[test]
    fn pathological_inputs_stay_fast() {
        let unterminated: String = (0..20_000).map(|i| format!("k{i}: \"x{i}\n")).collect();
        let flows: String = (0..20_000).map(|i| format!("k{i}: [1, {{a: 2\n")).collect();
        let braces = "{".repeat(100_000);
        let long_line = format!("password: {}\n", "Zq9".repeat(300_000));
        let deep: String = (0..3000)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect();
        let dashes = "- ".repeat(50_000);
        let secrets: String = (0..5_000)
            .map(|i| format!("DB_PASSWORD_{i}=Vx{i}-Qm7!z\n"))
            .collect();
        let start = std::time::Instant::now();
        for text in [
            &unterminated,
            &flows,
            &braces,
            &long_line,
            &deep,
            &dashes,
            &secrets,
        ] {
            for name in [
                "values.yaml",
                ".github/workflows/x.yml",
                "x.json",
                "terraform.tfstate",
                ".env",
                "Jenkinsfile",
                ".netrc",
            ] {
                let _ = extract_unguarded(Path::new(name), text.as_bytes());
            }
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "took {:?}",
            start.elapsed()
        );
        assert_eq!(
            extract_unguarded(Path::new(".env"), secrets.as_bytes())
                .matches
                .len(),
            5_000
        );
    }

    proptest::proptest! {
        // EXTRACT_FUZZ_CASES=5000 cargo test -p castellan-scan extract::tests for a longer run.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
            std::env::var("EXTRACT_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64)
        ))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            for name in NAMES_SEEN {
                let _ = extract_unguarded(Path::new(name), &bytes);
            }
        }

        #[test]
        fn structured_noise_never_panics(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "key: ", "- ", "  ", "\n", "\"", "'", "{", "}", "[", "]", ",", ":", "|", ">-",
                    "#", "=", "password", "token: ", "auth", "é", "\\u00", "\\", "${{ secrets.X }}",
                    "$(", "-----BEGIN RSA PRIVATE KEY-----", "machine ", "login ", "<Pass encoding=\"base64\">",
                    "apiVersion: v1\nkind: Secret\n", "data:", "\"auths\"", "!vault", "---\n", "\t",
                ]),
                0..80,
            )
        ) {
            let text: String = parts.concat();
            for name in NAMES_SEEN {
                let ex = extract_unguarded(Path::new(name), text.as_bytes());
                for m in &ex.matches {
                    proptest::prop_assert!(m.offset <= text.len());
                }
            }
        }
    }
}
