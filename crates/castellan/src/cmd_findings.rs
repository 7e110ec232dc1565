use castellan_model::FindingStatus;

use crate::Failure;
use crate::args::{FindingsCmd, Global, StatusFilter};
use crate::output;

pub fn run(g: &Global, cmd: &FindingsCmd) -> Result<u8, Failure> {
    let mut ctx = output::open(g)?;
    let FindingsCmd::List { status, control } = cmd;
    let catalogue =
        castellan_policy::Catalogue::builtin().map_err(|e| anyhow::anyhow!(e.to_string()))?;
    let mut findings: Vec<_> = ctx
        .store
        .findings()?
        .into_iter()
        .filter(|f| match status {
            StatusFilter::Open => f.status == FindingStatus::Open,
            StatusFilter::Excepted => f.status == FindingStatus::Excepted,
            StatusFilter::Closed => f.status == FindingStatus::Closed,
            StatusFilter::All => true,
        })
        .filter(|f| {
            control
                .as_ref()
                .is_none_or(|c| c.eq_ignore_ascii_case(&f.control))
        })
        .collect();
    castellan_report::sort_findings(&mut findings);
    if g.json {
        let v: Vec<serde_json::Value> = findings
            .iter()
            .map(|f| castellan_report::finding_json(f, &catalogue))
            .collect();
        output::print_json(&serde_json::Value::Array(v));
    } else if !g.quiet {
        let mut t = output::table(&["severity", "status", "control", "subject", "finding"]);
        for f in &findings {
            t.add_row(vec![
                f.severity.as_str().to_string(),
                f.status.as_str().to_string(),
                f.control.clone(),
                f.subject.clone(),
                f.title.clone(),
            ]);
        }
        println!("{t}");
        println!("{} findings", findings.len());
    }
    Ok(crate::exit::OK)
}
