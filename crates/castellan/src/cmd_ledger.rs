use crate::Failure;
use crate::args::{Global, LedgerCmd};
use crate::output;

pub fn run(g: &Global, cmd: &LedgerCmd) -> Result<u8, Failure> {
    let mut ctx = output::open(g)?;
    match cmd {
        LedgerCmd::Verify => match ctx.verify_ledger()? {
            Ok(report) => {
                if g.json {
                    output::print_json(&serde_json::json!({
                        "ok": true,
                        "entries": report.entries,
                        "checkpoints": report.checkpoints,
                        "root": report.root,
                        "chain_head": report.chain_head,
                    }));
                } else if !g.quiet {
                    println!(
                        "ledger OK: {} entries, {} signed checkpoints verified, root {}",
                        report.entries, report.checkpoints, report.root
                    );
                }
                Ok(crate::exit::OK)
            }
            Err(e) => {
                if g.json {
                    output::print_json(&serde_json::json!({
                        "ok": false,
                        "error": e.to_string(),
                        "first_bad_entry": e.first_bad_entry(),
                    }));
                }
                Err(Failure {
                    code: crate::exit::FINDINGS,
                    error: anyhow::anyhow!("ledger verification FAILED: {e}"),
                })
            }
        },
        LedgerCmd::Checkpoint => {
            let cp = ctx.checkpoint()?;
            if g.json || !g.quiet {
                output::print_json(&serde_json::to_value(&cp)?);
            }
            Ok(crate::exit::OK)
        }
    }
}
