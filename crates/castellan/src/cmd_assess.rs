use crate::Failure;
use crate::args::{AssessArgs, Global};
use crate::output::{self, Bar};

pub fn run(g: &Global, a: &AssessArgs) -> Result<u8, Failure> {
    let mut ctx = output::open(g)?;
    let bar = Bar::new(g);
    let report = castellan_pipeline::assess(&mut ctx, &a.controls, a.policies.as_deref(), &bar);
    bar.finish();
    let report = report?;
    let catalogue =
        castellan_policy::Catalogue::builtin().map_err(|e| anyhow::anyhow!(e.to_string()))?;
    if g.json {
        let v = serde_json::json!({
            "identities": report.identities,
            "opened": report.opened,
            "closed": report.closed,
            "attribution_changes": report.attribution_changes,
            "thresholds": report.thresholds,
            "custom_controls": report.custom_controls,
            "policy_errors": report.policy_errors,
            "findings": report.findings.iter().map(|f| castellan_report::finding_json(f, &catalogue)).collect::<Vec<_>>(),
        });
        output::print_json(&v);
    } else if !g.quiet {
        println!(
            "Assessed {} identities: {} findings ({} newly opened, {} closed)",
            report.identities,
            report.findings.len(),
            report.opened,
            report.closed
        );
        for (sev, n) in output::severity_counts(&report.findings) {
            if n > 0 {
                println!("  open {}: {n}", sev.as_str());
            }
        }
    }
    if output::report_policy_errors(&report.policy_errors) {
        return Ok(crate::exit::INPUT);
    }
    Ok(output::fail_code(&report.findings, a.fail_on))
}
