//! Custom controls written in Rego (evaluated with `regorus`).
//!
//! A policy folder holds `.rego` files, one control each:
//!
//! ```rego
//! package castellan.custom.ci_no_console
//!
//! metadata := {
//!     "id": "CUSTOM-001",
//!     "title": "CI identities cannot sign in to the console",
//!     "severity": "medium",
//!     "remediation": "Delete the console password of CI identities.",
//!     "mappings": {"nis2": ["Art.21(2)(i)"]},
//! }
//!
//! findings contains f if {
//!     some i in input.identities
//!     i.attributes.path == "/ci/"
//!     i.attributes.console_access
//!     f := {"subject": i.id, "title": sprintf("%s has a console password", [i.name])}
//! }
//! ```
//!
//! `input` is `{"now": RFC 3339, "identities": [inventory objects]}` (the format of
//! `castellan inventory list --json`). Each policy runs in its own engine with a wall-clock limit,
//! so a broken or endless policy is reported and the others still run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use castellan_model::{Finding, FindingStatus, Severity, ids};
use serde::{Deserialize, Serialize};

/// A custom control's metadata (the policy's `metadata` rule).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomMetadata {
    /// Control id, e.g. `CUSTOM-001` (must not start with `NHI-`).
    pub id: String,
    /// Title.
    pub title: String,
    /// Severity of its findings.
    pub severity: Severity,
    /// How to fix a finding.
    #[serde(default)]
    pub remediation: Option<String>,
    /// Framework references, keyed like the catalogue's (`nis2`, `nist_csf_2`…).
    #[serde(default)]
    pub mappings: std::collections::BTreeMap<String, Vec<String>>,
}

/// One loaded custom control.
#[derive(Debug)]
pub struct CustomPolicy {
    /// The `.rego` file.
    pub path: PathBuf,
    /// Its package (`castellan.custom.<name>`).
    pub package: String,
    /// Its metadata.
    pub metadata: CustomMetadata,
    engine: regorus::Engine,
}

/// A custom policy that could not be loaded or evaluated. The message names the file (and the
/// line, when the parser gives one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{path}: {message}")]
pub struct PolicyError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Default wall-clock limit for one policy's evaluation (`CASTELLAN_POLICY_TIMEOUT_MS` overrides).
pub const POLICY_TIME_LIMIT: Duration = Duration::from_secs(10);

fn time_limit() -> Duration {
    std::env::var("CASTELLAN_POLICY_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(POLICY_TIME_LIMIT, Duration::from_millis)
}

fn first_lines(e: &impl std::fmt::Display) -> String {
    // regorus renders "file:line:col: error: …" plus a source excerpt; keep the diagnosis.
    let text = e.to_string();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(4)
        .collect();
    lines.join(" | ")
}

impl CustomPolicy {
    /// Loads and checks one policy file.
    pub fn load(path: &Path) -> Result<CustomPolicy, PolicyError> {
        let shown = path.display().to_string();
        let err = |message: String| PolicyError {
            path: shown.clone(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
        let mut engine = regorus::Engine::new();
        engine.set_rego_v0(false);
        engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
            limit: time_limit(),
            check_interval: std::num::NonZeroU32::MIN.saturating_add(99),
        });
        let package = engine
            .add_policy(shown.clone(), text)
            .map_err(|e| err(format!("syntax error: {}", first_lines(&e))))?;
        let package = package.trim_start_matches("data.").to_string();
        if !package.starts_with("castellan.custom.") {
            return Err(err(format!(
                "package `{package}` must be `castellan.custom.<name>`"
            )));
        }
        let meta = engine
            .eval_rule(format!("data.{package}.metadata"))
            .map_err(|e| err(format!("cannot evaluate `metadata`: {}", first_lines(&e))))?;
        let meta_json = meta.to_json_str().map_err(|e| err(e.to_string()))?;
        let metadata: CustomMetadata = serde_json::from_str(&meta_json).map_err(|e| {
            err(format!(
                "`metadata` must be an object with id, title, severity (info|low|medium|high|critical), optional remediation and mappings: {e}"
            ))
        })?;
        if metadata.id.starts_with("NHI-") || metadata.id.trim().is_empty() {
            return Err(err(format!(
                "control id `{}` is reserved or empty; use your own prefix such as CUSTOM-001",
                metadata.id
            )));
        }
        Ok(CustomPolicy {
            path: path.to_path_buf(),
            package,
            metadata,
            engine,
        })
    }

    /// Evaluates the policy over `input` (JSON text) and returns its findings.
    pub fn evaluate(&mut self, input: &regorus::Value) -> Result<Vec<Finding>, PolicyError> {
        let shown = self.path.display().to_string();
        let err = |message: String| PolicyError {
            path: shown.clone(),
            message,
        };
        self.engine.set_input(input.clone());
        let out = self
            .engine
            .eval_rule(format!("data.{}.findings", self.package))
            .map_err(|e| err(format!("evaluation failed: {}", first_lines(&e))))?;
        let out: serde_json::Value =
            serde_json::from_str(&out.to_json_str().map_err(|e| err(e.to_string()))?)
                .map_err(|e| err(e.to_string()))?;
        let items = match out {
            serde_json::Value::Array(a) => a,
            serde_json::Value::Null => Vec::new(),
            other => {
                return Err(err(format!(
                    "`findings` must be a set of objects, got {}",
                    kind(&other)
                )));
            }
        };
        let mut findings = Vec::new();
        for item in items {
            let subject = item["subject"]
                .as_str()
                .ok_or_else(|| err("a finding has no string `subject`".into()))?;
            let title = item["title"]
                .as_str()
                .unwrap_or(&self.metadata.title)
                .to_string();
            findings.push(Finding {
                id: ids::finding(&self.metadata.id, subject),
                control: self.metadata.id.clone(),
                subject: subject.to_string(),
                severity: self.metadata.severity,
                status: FindingStatus::Open,
                title,
                evidence: item
                    .get("evidence")
                    .cloned()
                    .unwrap_or_else(|| serde_json::json!({})),
                exception: None,
                first_seen: None,
                last_seen: None,
            });
        }
        findings.sort_by(|a, b| a.id.cmp(&b.id));
        findings.dedup_by(|a, b| a.id == b.id);
        Ok(findings)
    }
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Loads every `.rego` file of `dir` (sorted). Broken files are returned as errors next to the
/// policies that loaded, so the rest can still run.
pub fn load_dir(dir: &Path) -> (Vec<CustomPolicy>, Vec<PolicyError>) {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "rego"))
            .collect(),
        Err(e) => {
            return (
                Vec::new(),
                vec![PolicyError {
                    path: dir.display().to_string(),
                    message: format!("cannot read the policy folder: {e}"),
                }],
            );
        }
    };
    files.sort();
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for f in files {
        match CustomPolicy::load(&f) {
            Ok(p) if !seen.insert(p.metadata.id.clone()) => errors.push(PolicyError {
                path: f.display().to_string(),
                message: format!("control id `{}` is used by another policy", p.metadata.id),
            }),
            Ok(p) => ok.push(p),
            Err(e) => errors.push(e),
        }
    }
    (ok, errors)
}

/// Parses the evaluation input once for all policies.
pub fn input_value(input_json: &str) -> Result<regorus::Value, PolicyError> {
    regorus::Value::from_json_str(input_json).map_err(|e| PolicyError {
        path: "<input>".into(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"package castellan.custom.ci_no_console

metadata := {"id": "CUSTOM-001", "title": "CI identities cannot sign in", "severity": "medium", "mappings": {"nis2": ["Art.21(2)(i)"]}}

findings contains f if {
    some i in input.identities
    i.attributes.path == "/ci/"
    i.attributes.console_access
    f := {"subject": i.id, "title": sprintf("%s has a console password", [i.name]), "evidence": {"path": i.attributes.path}}
}
"#;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    fn input() -> regorus::Value {
        input_value(
            r#"{"now": "2026-12-01T00:00:00Z", "identities": [
                {"id": "aws:1:user/ci-a", "name": "ci-a", "attributes": {"path": "/ci/", "console_access": true}},
                {"id": "aws:1:user/ci-b", "name": "ci-b", "attributes": {"path": "/ci/", "console_access": false}},
                {"id": "aws:1:user/app", "name": "app", "attributes": {"path": "/", "console_access": true}}]}"#,
        )
        .expect("input")
    }

    #[test]
    fn a_policy_returns_findings_with_its_metadata() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut p = CustomPolicy::load(&write(dir.path(), "a.rego", GOOD)).expect("load");
        assert_eq!(p.metadata.id, "CUSTOM-001");
        let f = p.evaluate(&input()).expect("eval");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].id, "CUSTOM-001@aws:1:user/ci-a");
        assert_eq!(f[0].severity, Severity::Medium);
        assert_eq!(f[0].evidence["path"], "/ci/");
    }

    #[test]
    fn broken_policies_are_reported_and_the_others_still_load() {
        let dir = tempfile::tempdir().expect("tmp");
        write(dir.path(), "a.rego", GOOD);
        write(
            dir.path(),
            "b.rego",
            "package castellan.custom.broken\n\nfindings contains f if {\n    f := \n}\n",
        );
        write(dir.path(), "c.rego", "package other\n\nmetadata := {}\n");
        write(dir.path(), "d.rego", &GOOD.replace("ci_no_console", "dup"));
        let (ok, errors) = load_dir(dir.path());
        assert_eq!(ok.len(), 1);
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors[0].path.ends_with("b.rego") && errors[0].message.contains("syntax error"),
            "{errors:?}"
        );
        assert!(
            errors[0].message.contains(":4") || errors[0].message.contains(":5"),
            "no line: {errors:?}"
        );
        assert!(errors[1].message.contains("castellan.custom"), "{errors:?}");
        assert!(
            errors[2].message.contains("used by another policy"),
            "{errors:?}"
        );
    }

    #[test]
    fn runtime_errors_are_reported() {
        let dir = tempfile::tempdir().expect("tmp");
        // A complete rule with two different values is a runtime error in Rego.
        let conflicting = r#"package castellan.custom.conflict

metadata := {"id": "CUSTOM-002", "title": "conflict", "severity": "low"}

level := 1 if { count(input.identities) > 0 }
level := 2 if { count(input.identities) > 1 }

findings contains f if {
    level == 1
    f := {"subject": "x"}
}
"#;
        let mut p = CustomPolicy::load(&write(dir.path(), "r.rego", conflicting)).expect("load");
        let e = p.evaluate(&input()).expect_err("conflicting values");
        assert!(
            e.path.ends_with("r.rego") && e.message.contains("evaluation failed"),
            "{e}"
        );
        let wrong = GOOD.replace("f := {\"subject\": i.id,", "f := {\"subject\": 42,");
        let mut p = CustomPolicy::load(&write(dir.path(), "w.rego", &wrong)).expect("load");
        let e = p.evaluate(&input()).expect_err("non-string subject");
        assert!(e.message.contains("subject"), "{e}");
    }

    #[test]
    fn endless_policies_are_stopped() {
        let dir = tempfile::tempdir().expect("tmp");
        let slow = r#"package castellan.custom.slow

metadata := {"id": "CUSTOM-SLOW", "title": "slow", "severity": "low"}

findings contains f if {
    some a in numbers.range(1, 100000)
    some b in numbers.range(1, 100000)
    some c in numbers.range(1, 100000)
    a + b + c == -1
    f := {"subject": "x"}
}
"#;
        let mut p = CustomPolicy::load(&write(dir.path(), "s.rego", slow)).expect("load");
        p.engine
            .set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
                limit: Duration::from_millis(300),
                check_interval: std::num::NonZeroU32::MIN,
            });
        let started = std::time::Instant::now();
        let e = p.evaluate(&input()).expect_err("time limit");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "not stopped in time"
        );
        assert!(e.message.contains("evaluation failed"), "{e}");
    }
}
