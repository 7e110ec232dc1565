use crate::Failure;
use crate::args::{Global, RunArgs};
use crate::output::{self, Bar};

pub fn run(g: &Global, a: &RunArgs) -> Result<u8, Failure> {
    let mut ctx = output::open(g)?;
    ctx.p12_password = output::p12_password(std::slice::from_ref(&a.estate))?;
    let bar = Bar::new(g);
    let report =
        castellan_pipeline::run_estate(&mut ctx, &a.estate, &a.out, a.policies.as_deref(), &bar);
    bar.finish();
    let report = report?;
    if g.json {
        let summary = std::fs::read_to_string(a.out.join("summary.json"))?;
        let v: serde_json::Value = serde_json::from_str(&summary)?;
        output::print_json(&v);
    } else if !g.quiet {
        let counts = ctx.store.counts()?;
        let findings = &report.assessment.findings;
        let excepted = findings
            .iter()
            .filter(|f| f.status == castellan_model::FindingStatus::Excepted)
            .count();
        println!(
            "Castellan run of {} as of {}",
            report.estate, report.checkpoint.timestamp
        );
        let mut t = output::table(&["", ""]);
        t.set_header(vec!["run", "result"]);
        t.add_row(vec![
            "files imported".to_string(),
            format!(
                "{} ({} not recognised)",
                report.imports.len(),
                report.skipped.len()
            ),
        ]);
        t.add_row(vec![
            "identities".to_string(),
            counts.identities.to_string(),
        ]);
        t.add_row(vec![
            "credentials".to_string(),
            counts.credentials.to_string(),
        ]);
        for (sev, n) in output::severity_counts(findings) {
            t.add_row(vec![
                format!("open findings: {}", sev.as_str()),
                n.to_string(),
            ]);
        }
        t.add_row(vec!["excepted findings".to_string(), excepted.to_string()]);
        if let Some(scan) = &report.scan {
            t.add_row(vec![
                "repositories scanned".to_string(),
                format!(
                    "{}: {} secret(s) found, {} inventoried credential(s) exposed, {} reference(s) to managed secrets",
                    scan.roots.len(),
                    scan.secrets,
                    scan.exposed_inventory,
                    scan.references
                ),
            ]);
        }
        t.add_row(vec![
            "ledger".to_string(),
            format!(
                "{} entries, root {}…",
                report.checkpoint.tree_size,
                &report.checkpoint.root_hash[..16]
            ),
        ]);
        t.add_row(vec![
            "evidence".to_string(),
            report.out_dir.display().to_string(),
        ]);
        println!("{t}");
        println!(
            "Next: `castellan findings list`, `castellan inventory list --unowned`, `castellan ledger verify`."
        );
    }
    if output::report_policy_errors(&report.assessment.policy_errors) {
        return Ok(crate::exit::INPUT);
    }
    Ok(output::fail_code(&report.assessment.findings, a.fail_on))
}
