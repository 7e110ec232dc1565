//! Framework items (NIS2, CIR 2024/2690, NIST CSF 2.0, OWASP NHI, CIS v8, ISO 27001) and the
//! coverage of each by the control catalogue, including the items no control covers.

use serde::{Deserialize, Serialize};

use crate::{Catalogue, CatalogueError, Mappings};

/// One item of a framework (an article, annex point, subcategory, risk, safeguard or control).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameworkItem {
    /// Id in the form the catalogue's mappings use (`Art.21(2)(i)`, `PR.AA-01`, `A.5.16`…).
    pub id: String,
    /// Short title.
    pub title: String,
}

/// A framework and its items.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    /// Key used in the catalogue's mappings (`nis2`, `nist_csf_2`…).
    pub id: String,
    /// Full name.
    pub name: String,
    /// Items.
    pub items: Vec<FrameworkItem>,
}

/// All frameworks, from the embedded `data/frameworks.yaml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Frameworks {
    /// The frameworks.
    pub frameworks: Vec<Framework>,
}

/// One row of a coverage matrix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// The framework item.
    pub item: FrameworkItem,
    /// Controls mapped to it (empty: not covered).
    pub controls: Vec<String>,
    /// Of those, the controls Castellan evaluates today.
    pub evaluated: Vec<String>,
}

impl Frameworks {
    /// The frameworks built into this binary.
    pub fn builtin() -> Result<Frameworks, CatalogueError> {
        serde_saphyr::from_str(include_str!("../data/frameworks.yaml"))
            .map_err(|e| CatalogueError::new(e.to_string()))
    }

    /// A framework by key or by its short command-line name (`nis2`, `cir`, `csf2`, `owasp-nhi`,
    /// `cis8`, `iso27001`).
    pub fn get(&self, name: &str) -> Option<&Framework> {
        let key = match name.to_ascii_lowercase().as_str() {
            "nis2" => "nis2",
            "cir" | "cir2024" | "cir-2024-2690" | "cir_2024_2690" => "cir_2024_2690",
            "csf" | "csf2" | "nist-csf-2" | "nist_csf_2" => "nist_csf_2",
            "owasp" | "owasp-nhi" | "owasp_nhi_2025" => "owasp_nhi_2025",
            "cis" | "cis8" | "cis_v8" => "cis_v8",
            "iso" | "iso27001" | "iso27001_2022" => "iso27001_2022",
            _ => return None,
        };
        self.frameworks.iter().find(|f| f.id == key)
    }

    /// The coverage matrix of one framework: every item with the controls mapped to it.
    pub fn coverage(&self, framework: &Framework, catalogue: &Catalogue) -> Vec<Coverage> {
        framework
            .items
            .iter()
            .map(|item| {
                let mapped: Vec<&crate::Control> = catalogue
                    .controls
                    .iter()
                    .filter(|c| {
                        mapping(&c.mappings, &framework.id)
                            .iter()
                            .any(|m| m == &item.id)
                    })
                    .collect();
                Coverage {
                    item: item.clone(),
                    controls: mapped.iter().map(|c| c.id.clone()).collect(),
                    evaluated: mapped
                        .iter()
                        .filter(|c| c.automation == crate::Automation::Builtin)
                        .map(|c| c.id.clone())
                        .collect(),
                }
            })
            .collect()
    }
}

/// The mapping list of a control for a framework key.
pub fn mapping<'m>(m: &'m Mappings, framework: &str) -> &'m [String] {
    match framework {
        "nis2" => &m.nis2,
        "cir_2024_2690" => &m.cir_2024_2690,
        "nist_csf_2" => &m.nist_csf_2,
        "owasp_nhi_2025" => &m.owasp_nhi_2025,
        "cis_v8" => &m.cis_v8,
        "iso27001_2022" => &m.iso27001_2022,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapping_names_a_known_framework_item() {
        let c = Catalogue::builtin().expect("catalogue");
        let f = Frameworks::builtin().expect("frameworks");
        assert_eq!(f.frameworks.len(), 6);
        for fw in &f.frameworks {
            let mut ids: Vec<&str> = fw.items.iter().map(|i| i.id.as_str()).collect();
            ids.sort_unstable();
            let n = ids.len();
            ids.dedup();
            assert_eq!(ids.len(), n, "duplicate items in {}", fw.id);
            for ctl in &c.controls {
                for m in mapping(&ctl.mappings, &fw.id) {
                    assert!(
                        fw.items.iter().any(|i| &i.id == m),
                        "{} maps to unknown {} item {m}",
                        ctl.id,
                        fw.id
                    );
                }
            }
        }
    }

    #[test]
    fn coverage_lists_uncovered_items_too() {
        let c = Catalogue::builtin().expect("catalogue");
        let f = Frameworks::builtin().expect("frameworks");
        let nis2 = f.get("nis2").expect("nis2");
        let cov = f.coverage(nis2, &c);
        assert_eq!(cov.len(), nis2.items.len());
        let i = cov
            .iter()
            .find(|r| r.item.id == "Art.21(2)(i)")
            .expect("21(2)(i)");
        assert!(i.controls.contains(&"NHI-GOV-002".to_string()));
        assert!(i.evaluated.contains(&"NHI-GOV-002".to_string()));
        assert!(
            cov.iter().any(|r| r.controls.is_empty()),
            "some NIS2 item is uncovered"
        );
        assert!(f.get("csf2").is_some() && f.get("owasp-nhi").is_some() && f.get("cis8").is_some());
        assert!(f.get("iso27001").is_some() && f.get("cir").is_some() && f.get("sox").is_none());
    }
}
