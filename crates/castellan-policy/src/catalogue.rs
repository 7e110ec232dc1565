use std::collections::BTreeMap;

use castellan_model::Severity;
use serde::{Deserialize, Serialize};

/// Framework references of a control.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mappings {
    /// NIS2 Directive articles.
    #[serde(default)]
    pub nis2: Vec<String>,
    /// Commission Implementing Regulation 2024/2690 Annex points.
    #[serde(default)]
    pub cir_2024_2690: Vec<String>,
    /// NIST CSF 2.0 subcategories.
    #[serde(default)]
    pub nist_csf_2: Vec<String>,
    /// OWASP Non-Human Identities Top 10 (2025).
    #[serde(default)]
    pub owasp_nhi_2025: Vec<String>,
    /// CIS Controls v8 safeguards.
    #[serde(default)]
    pub cis_v8: Vec<String>,
    /// ISO/IEC 27001:2022 Annex A controls.
    #[serde(default)]
    pub iso27001_2022: Vec<String>,
}

/// How a control is decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Automation {
    /// Evaluated by Castellan over the inventory.
    Builtin,
    /// Decidable from inventory and events, not evaluated yet: reported as not evaluated, never
    /// as passed.
    Planned,
    /// Needs a human attestation (e.g. management approval): reported as manual.
    Manual,
}

impl Automation {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Automation::Builtin => "builtin",
            Automation::Planned => "planned",
            Automation::Manual => "manual",
        }
    }
}

/// A threshold value: a number or a flag.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Threshold {
    /// A flag.
    Flag(bool),
    /// A number (days, hours, counts, ratios).
    Number(f64),
}

impl std::fmt::Display for Threshold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Threshold::Flag(b) => write!(f, "{b}"),
            Threshold::Number(n) => write!(f, "{n}"),
        }
    }
}

/// One control of the catalogue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// `NHI-GOV-nnn`.
    pub id: String,
    /// Short title.
    pub title: String,
    /// What it achieves.
    pub objective: String,
    /// Exactly what is checked.
    pub check: String,
    /// Severity of its findings.
    pub severity: Severity,
    /// How to fix a finding.
    pub remediation: String,
    /// Whether Castellan decides it, will decide it, or needs a human.
    pub automation: Automation,
    /// For built-in controls whose check is only partly automated: exactly what is decided today.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluated: Option<String>,
    /// Default thresholds.
    #[serde(default)]
    pub thresholds: BTreeMap<String, Threshold>,
    /// Framework references.
    pub mappings: Mappings,
}

/// The control catalogue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// Threshold overrides per assessment profile (`standard`, `micro_entity`, `high_assurance`).
    #[serde(default)]
    pub profiles: BTreeMap<String, BTreeMap<String, Threshold>>,
    /// Controls, by id order.
    pub controls: Vec<Control>,
}

/// The embedded catalogue failed to load (a build defect, caught by the tests).
#[derive(Debug, thiserror::Error)]
#[error("control catalogue: {0}")]
pub struct CatalogueError(String);

impl CatalogueError {
    pub(crate) fn new(msg: String) -> CatalogueError {
        CatalogueError(msg)
    }
}

impl Catalogue {
    /// The catalogue built into this binary.
    pub fn builtin() -> Result<Catalogue, CatalogueError> {
        serde_saphyr::from_str(include_str!("../data/catalogue.yaml"))
            .map_err(|e| CatalogueError(e.to_string()))
    }

    /// A control by id.
    pub fn get(&self, id: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.id == id)
    }

    /// A default threshold of a control, as a whole number (days, hours, counts).
    pub fn threshold(&self, control: &str, name: &str) -> Option<u32> {
        self.threshold_for(control, name, "standard")
    }

    /// A threshold under an assessment profile: the profile's value for that name, else the
    /// control's default.
    pub fn threshold_for(&self, control: &str, name: &str, profile: &str) -> Option<u32> {
        let value = self
            .profiles
            .get(profile)
            .and_then(|p| p.get(name))
            .or_else(|| self.get(control)?.thresholds.get(name))?;
        match value {
            Threshold::Number(n) if *n >= 0.0 && n.fract() == 0.0 && *n <= f64::from(u32::MAX) => {
                Some(*n as u32)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogue_loads_and_is_consistent() {
        let c = Catalogue::builtin().expect("catalogue");
        assert_eq!(c.controls.len(), 24);
        let mut ids: Vec<&str> = c.controls.iter().map(|c| c.id.as_str()).collect();
        ids.dedup();
        assert_eq!(ids.len(), 24, "duplicate control ids");
        let builtin: Vec<&str> = c
            .controls
            .iter()
            .filter(|c| c.automation == Automation::Builtin)
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(
            builtin,
            crate::evaluate::BUILTIN,
            "catalogue and evaluators disagree"
        );
        for ctl in &c.controls {
            assert!(ctl.id.starts_with("NHI-GOV-"), "{}", ctl.id);
            assert!(
                !ctl.mappings.nis2.is_empty(),
                "{} has no NIS2 mapping",
                ctl.id
            );
            // CSF 2.0 ids only (no CSF 1.1 PR.AC-*).
            assert!(
                ctl.mappings
                    .nist_csf_2
                    .iter()
                    .all(|s| !s.starts_with("PR.AC")),
                "{}",
                ctl.id
            );
        }
        assert_eq!(
            c.threshold("NHI-GOV-005", "rotation_max_age_days"),
            Some(90)
        );
        assert_eq!(c.threshold("NHI-GOV-007", "dormant_days"), Some(45));
        assert_eq!(
            c.threshold_for("NHI-GOV-005", "rotation_max_age_days", "high_assurance"),
            Some(30)
        );
        assert_eq!(
            c.threshold_for("NHI-GOV-005", "rotation_max_age_days", "micro_entity"),
            Some(90)
        );
        for p in ["standard", "micro_entity", "high_assurance"] {
            assert!(c.profiles.contains_key(p), "{p}");
        }
    }
}
