//! The rule catalogue: YAML data embedded in the binary, plus user rules from `--rules DIR`.
//!
//! A rule file holds `rules:`, a list of:
//!
//! ```yaml
//! - id: castellan.github.pat-classic        # unique, dotted, stable (baselines refer to it)
//!   name: GitHub personal access token (classic)
//!   pattern: '\b(?P<secret>ghp_[A-Za-z0-9]{36})\b'   # Rust regex; named group `secret` and/or `id`
//!   keywords: [ghp_]                        # literals, any case; a rule runs only where one occurs
//!   kind: token                             # credential kind
//!   provider: github
//!   confidence: high                        # high | medium | low
//!   min_entropy: 3.0                        # optional: Shannon bits/char the secret must reach
//!   placeholders: true                      # optional: drop values that look like placeholders
//!   references: [https://docs.github.com/…]
//!   examples: ['token = ghp_…']             # each must be found by this rule
//!   negative_examples: ['ghp_example']      # none may be found by this rule
//! ```
//!
//! The group `secret` is the confidential value (fingerprinted, previewed, never kept); the group
//! `id` is a non-secret identifier found with it (an access key id), kept as it is.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::matcher::{Matcher, RegexMatcher};

/// The rule files compiled into the binary.
pub const BUILTIN: &[(&str, &str)] = &[
    ("aws.yaml", include_str!("../data/rules/aws.yaml")),
    ("gcp.yaml", include_str!("../data/rules/gcp.yaml")),
    ("azure.yaml", include_str!("../data/rules/azure.yaml")),
    (
        "cloud-other.yaml",
        include_str!("../data/rules/cloud-other.yaml"),
    ),
    (
        "source-ci.yaml",
        include_str!("../data/rules/source-ci.yaml"),
    ),
    (
        "registries.yaml",
        include_str!("../data/rules/registries.yaml"),
    ),
    ("chat.yaml", include_str!("../data/rules/chat.yaml")),
    ("saas.yaml", include_str!("../data/rules/saas.yaml")),
    (
        "databases.yaml",
        include_str!("../data/rules/databases.yaml"),
    ),
    ("keys.yaml", include_str!("../data/rules/keys.yaml")),
    ("hashes.yaml", include_str!("../data/rules/hashes.yaml")),
    ("generic.yaml", include_str!("../data/rules/generic.yaml")),
];

/// How sure a rule is that a match is a real credential.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Generic shapes (`password=…`) that need context to confirm.
    Low,
    /// Provider-specific shapes that other strings can share.
    Medium,
    /// Shapes with a provider prefix or checksum that almost nothing else has.
    High,
}

impl Confidence {
    /// `low`, `medium` or `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }

    /// Parses `low|medium|high`.
    pub fn parse(s: &str) -> Option<Confidence> {
        match s {
            "low" => Some(Confidence::Low),
            "medium" => Some(Confidence::Medium),
            "high" => Some(Confidence::High),
            _ => None,
        }
    }
}

/// One detection rule, as written in a rule file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique, stable id.
    pub id: String,
    /// Name for people.
    pub name: String,
    /// Rust regular expression with a named group `secret` and/or `id`.
    pub pattern: String,
    /// Literals (matched in any case) of which at least one occurs wherever the rule can match.
    pub keywords: Vec<String>,
    /// Credential kind (`access-key`, `token`, `api-key`, `password`, `private-key`…).
    pub kind: String,
    /// Provider (`aws`, `github`, `generic`…).
    pub provider: String,
    /// How sure a match is.
    pub confidence: Confidence,
    /// Minimum Shannon entropy (bits per character) of the secret.
    #[serde(default)]
    pub min_entropy: Option<f64>,
    /// Drop values that look like placeholders (`changeme`, `${VAR}`, `<token>`, `xxxx`).
    #[serde(default)]
    pub placeholders: bool,
    /// Where the format is documented.
    #[serde(default)]
    pub references: Vec<String>,
    /// Texts the rule must find.
    #[serde(default)]
    pub examples: Vec<String>,
    /// Texts the rule must not find.
    #[serde(default)]
    pub negative_examples: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    rules: Vec<Rule>,
}

/// A rule file or rule that cannot be used; the message names the file, the rule and the fix.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The file could not be read.
    #[error("rule file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The YAML does not follow the rule schema.
    #[error("rule file {file}: {reason}")]
    Syntax {
        /// The file.
        file: String,
        /// What the parser said.
        reason: String,
    },
    /// A rule is wrong.
    #[error("rule {rule} ({file}): {reason}")]
    Invalid {
        /// The file.
        file: String,
        /// The rule id.
        rule: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
}

/// A checked rule set: ids unique, patterns compiled, groups present.
#[derive(Debug, Clone)]
pub struct Rules {
    rules: Vec<Rule>,
    files: Vec<String>,
}

impl Rules {
    /// The built-in rules.
    pub fn builtin() -> Result<Rules, RuleError> {
        let mut rules = Rules {
            rules: Vec::new(),
            files: Vec::new(),
        };
        for (name, text) in BUILTIN {
            // Built-in patterns are proven by the test suite; they compile on first use.
            rules.add(&format!("builtin:{name}"), text, false)?;
        }
        Ok(rules)
    }

    /// Adds every `*.yaml`/`*.yml` file of `dir` (user rules). A user rule with the id of a
    /// built-in rule is refused: choose a new id.
    pub fn add_dir(&mut self, dir: &Path) -> Result<(), RuleError> {
        let io = |source| RuleError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|source| RuleError::Io {
                path: path.clone(),
                source,
            })?;
            self.add_text(&path.display().to_string(), &text)?;
        }
        Ok(())
    }

    /// Parses and validates one rule file's text (every pattern is compiled).
    pub fn add_text(&mut self, file: &str, text: &str) -> Result<(), RuleError> {
        self.add(file, text, true)
    }

    fn add(&mut self, file: &str, text: &str, compile: bool) -> Result<(), RuleError> {
        let parsed: RuleFile = serde_saphyr::from_str(text).map_err(|e| RuleError::Syntax {
            file: file.to_string(),
            reason: e.to_string(),
        })?;
        let mut seen: BTreeSet<&str> = self.rules.iter().map(|r| r.id.as_str()).collect();
        for rule in &parsed.rules {
            let invalid = |reason: String| RuleError::Invalid {
                file: file.to_string(),
                rule: rule.id.clone(),
                reason,
            };
            if !seen.insert(&rule.id) {
                return Err(invalid(
                    "this id is already used; give the rule a new id".into(),
                ));
            }
            let has_group = if compile {
                let re = regex::bytes::RegexBuilder::new(&rule.pattern)
                    .size_limit(1 << 24)
                    .build()
                    .map_err(|e| invalid(format!("pattern does not compile: {e}")))?;
                let names: Vec<&str> = re.capture_names().flatten().collect();
                names.contains(&"secret") || names.contains(&"id")
            } else {
                rule.pattern.contains("?P<secret>")
                    || rule.pattern.contains("?P<id>")
                    || rule.pattern.contains("?<secret>")
                    || rule.pattern.contains("?<id>")
            };
            if !has_group {
                return Err(invalid(
                    "pattern needs a named group (?P<secret>…) or (?P<id>…)".into(),
                ));
            }
            if rule.keywords.is_empty() || rule.keywords.iter().any(|k| k.len() < 2) {
                return Err(invalid(
                    "list at least one keyword of two or more characters that every match contains"
                        .into(),
                ));
            }
        }
        self.rules.extend(parsed.rules);
        self.files.push(file.to_string());
        Ok(())
    }

    /// The rules.
    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter()
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// No rules at all.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rule with this id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The files the rules came from.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// Proves every rule against its own examples: each example is found by the rule through the
    /// whole engine (prefilter, regex, entropy and placeholder filters), no negative example is.
    /// Returns one line per failure; empty means every rule passed.
    pub fn check(&self) -> Result<Vec<String>, RuleError> {
        let matcher = RegexMatcher::new(self)?;
        let mut failures = Vec::new();
        let mut found = Vec::new();
        for rule in &self.rules {
            match regex::bytes::RegexBuilder::new(&rule.pattern)
                .size_limit(1 << 24)
                .build()
            {
                Ok(re) => {
                    if !re
                        .capture_names()
                        .flatten()
                        .any(|n| n == "secret" || n == "id")
                    {
                        failures.push(format!("{}: no (?P<secret>…) or (?P<id>…) group", rule.id));
                    }
                }
                Err(e) => failures.push(format!("{}: pattern does not compile: {e}", rule.id)),
            }
            for ex in &rule.examples {
                let lower = ex.to_ascii_lowercase();
                if !rule
                    .keywords
                    .iter()
                    .any(|k| lower.contains(&k.to_ascii_lowercase()))
                {
                    failures.push(format!(
                        "{}: an example holds none of the keywords, so the prefilter would skip it",
                        rule.id
                    ));
                }
            }
            if rule.examples.is_empty() {
                failures.push(format!("{}: has no examples", rule.id));
            }
            for (i, ex) in rule.examples.iter().enumerate() {
                found.clear();
                matcher.find(ex.as_bytes(), &mut found);
                if !found.iter().any(|m| m.rule_id == rule.id) {
                    failures.push(format!("{}: example {} is not found", rule.id, i + 1));
                }
            }
            for (i, ex) in rule.negative_examples.iter().enumerate() {
                found.clear();
                matcher.find(ex.as_bytes(), &mut found);
                if found.iter().any(|m| m.rule_id == rule.id) {
                    failures.push(format!("{}: negative example {} is found", rule.id, i + 1));
                }
            }
        }
        Ok(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_load_and_prove_their_examples() {
        let rules = Rules::builtin().expect("builtin rules load");
        let failures = rules.check().expect("compile");
        assert!(
            failures.is_empty(),
            "rule check failures:\n{}",
            failures.join("\n")
        );
    }

    #[test]
    fn a_rule_without_secret_group_is_refused() {
        let mut rules = Rules::builtin().expect("builtin");
        let err = rules
            .add_text(
                "user.yaml",
                "rules:\n- id: u.x\n  name: x\n  pattern: 'abc[0-9]+'\n  keywords: [abc]\n  kind: token\n  provider: x\n  confidence: low\n",
            )
            .expect_err("refused");
        assert!(err.to_string().contains("named group"), "{err}");
        assert!(err.to_string().contains("user.yaml"), "{err}");
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let mut rules = Rules::builtin().expect("builtin");
        let id = rules.iter().next().expect("one rule").id.clone();
        let text = format!(
            "rules:\n- id: {id}\n  name: x\n  pattern: '(?P<secret>abc[0-9]+)'\n  keywords: [abc]\n  kind: token\n  provider: x\n  confidence: low\n"
        );
        let err = rules.add_text("user.yaml", &text).expect_err("refused");
        assert!(err.to_string().contains("already used"), "{err}");
    }
}
