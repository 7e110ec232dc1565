use castellan_policy::{Catalogue, Frameworks};

use crate::Failure;
use crate::args::{ControlsCmd, Global};
use crate::output;

fn load() -> Result<(Catalogue, Frameworks), Failure> {
    let internal = |e: castellan_policy::CatalogueError| Failure {
        code: crate::exit::INTERNAL,
        error: anyhow::anyhow!(e.to_string()),
    };
    Ok((
        Catalogue::builtin().map_err(internal)?,
        Frameworks::builtin().map_err(internal)?,
    ))
}

pub fn run(g: &Global, cmd: &ControlsCmd) -> Result<u8, Failure> {
    let (catalogue, frameworks) = load()?;
    match cmd {
        ControlsCmd::List => {
            if g.json {
                output::print_json(&serde_json::to_value(&catalogue.controls)?);
            } else if !g.quiet {
                let mut t = output::table(&["control", "severity", "automation", "title", "NIS2"]);
                for c in &catalogue.controls {
                    t.add_row(vec![
                        c.id.clone(),
                        c.severity.as_str().to_string(),
                        c.automation.as_str().to_string(),
                        c.title.clone(),
                        c.mappings.nis2.join(", "),
                    ]);
                }
                println!("{t}");
                let builtin = catalogue
                    .controls
                    .iter()
                    .filter(|c| c.automation == castellan_policy::Automation::Builtin)
                    .count();
                println!(
                    "{} controls; {builtin} evaluated by Castellan today, the others are reported as not evaluated or manual, never as passed",
                    catalogue.controls.len()
                );
            }
            Ok(crate::exit::OK)
        }
        ControlsCmd::Show { id } => {
            let Some(c) = catalogue
                .controls
                .iter()
                .find(|c| c.id.eq_ignore_ascii_case(id))
            else {
                return Err(Failure {
                    code: crate::exit::INPUT,
                    error: anyhow::anyhow!("no control `{id}`; see `castellan controls list`"),
                });
            };
            if g.json {
                output::print_json(&serde_json::to_value(c)?);
            } else if !g.quiet {
                println!("{} — {}", c.id, c.title);
                println!(
                    "severity: {}   automation: {}",
                    c.severity.as_str(),
                    c.automation.as_str()
                );
                println!(
                    "\nobjective: {}\n\ncheck: {}\n\nremediation: {}",
                    c.objective,
                    c.check.trim(),
                    c.remediation
                );
                if !c.thresholds.is_empty() {
                    println!("\nthresholds:");
                    for (k, v) in &c.thresholds {
                        println!("  {k}: {v}");
                    }
                }
                println!("\nmappings:");
                let m = &c.mappings;
                for (name, list) in [
                    ("NIS2", &m.nis2),
                    ("CIR 2024/2690", &m.cir_2024_2690),
                    ("NIST CSF 2.0", &m.nist_csf_2),
                    ("OWASP NHI 2025", &m.owasp_nhi_2025),
                    ("CIS v8", &m.cis_v8),
                    ("ISO 27001:2022", &m.iso27001_2022),
                ] {
                    println!(
                        "  {name:<15} {}",
                        if list.is_empty() {
                            "—".to_string()
                        } else {
                            list.join(", ")
                        }
                    );
                }
            }
            Ok(crate::exit::OK)
        }
        ControlsCmd::Map {
            framework,
            uncovered,
        } => {
            let Some(fw) = frameworks.get(framework) else {
                return Err(Failure {
                    code: crate::exit::INPUT,
                    error: anyhow::anyhow!(
                        "unknown framework `{framework}`; use nis2, cir, csf2, owasp-nhi, cis8 or iso27001"
                    ),
                });
            };
            let rows: Vec<castellan_policy::Coverage> = frameworks
                .coverage(fw, &catalogue)
                .into_iter()
                .filter(|r| !uncovered || r.controls.is_empty())
                .collect();
            let all = frameworks.coverage(fw, &catalogue);
            let covered = all.iter().filter(|r| !r.controls.is_empty()).count();
            let evaluated = all.iter().filter(|r| !r.evaluated.is_empty()).count();
            if g.json {
                output::print_json(&serde_json::json!({
                    "framework": fw.id,
                    "name": fw.name,
                    "items": all.len(),
                    "covered": covered,
                    "covered_by_evaluated_controls": evaluated,
                    "rows": rows,
                }));
            } else if !g.quiet {
                println!("{}", fw.name);
                let mut t = output::table(&["item", "title", "controls", "evaluated today"]);
                for r in &rows {
                    t.add_row(vec![
                        r.item.id.clone(),
                        r.item.title.clone(),
                        if r.controls.is_empty() {
                            "NOT COVERED".to_string()
                        } else {
                            r.controls.join(", ")
                        },
                        r.evaluated.join(", "),
                    ]);
                }
                println!("{t}");
                println!(
                    "{covered} of {} items covered by the catalogue; {evaluated} by controls Castellan evaluates today",
                    all.len()
                );
            }
            Ok(crate::exit::OK)
        }
    }
}
