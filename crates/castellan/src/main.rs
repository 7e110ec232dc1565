//! The `castellan` binary: argument parsing and one module per verb. All logic lives in the
//! library crates; this file only maps results to output and exit codes.

mod args;
mod cmd_assess;
mod cmd_controls;
mod cmd_findings;
mod cmd_import;
mod cmd_inventory;
mod cmd_ledger;
mod cmd_run;
mod cmd_scan;
mod output;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

/// Exit codes (documented in the README).
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// Findings at or above --fail-on.
    pub const FINDINGS: u8 = 1;
    /// Usage or input error.
    pub const INPUT: u8 = 2;
    /// Internal error.
    pub const INTERNAL: u8 = 3;
}

/// An error with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Failure {
        let error = e.into();
        let code = match error.downcast_ref::<castellan_pipeline::PipelineError>() {
            Some(p) if p.is_input() => exit::INPUT,
            Some(_) => exit::INTERNAL,
            None => exit::INPUT,
        };
        Failure { code, error }
    }
}

fn main() -> ExitCode {
    // A panic must not print its payload (it could hold input data): report the location only.
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_else(|| "unknown location".into());
        eprintln!("castellan: internal error at {at}; nothing was committed. Please report this.");
    }));
    let cli = Cli::parse();
    let result = std::panic::catch_unwind(|| dispatch(&cli));
    match result {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(f)) => {
            eprintln!("error: {}", chain(&f.error));
            ExitCode::from(f.code)
        }
        Err(_) => ExitCode::from(exit::INTERNAL),
    }
}

fn chain(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

fn dispatch(cli: &Cli) -> Result<u8, Failure> {
    match &cli.command {
        Command::Run(a) => cmd_run::run(&cli.global, a),
        Command::Import(a) => cmd_import::run(&cli.global, a),
        Command::Assess(a) => cmd_assess::run(&cli.global, a),
        Command::Inventory(c) => cmd_inventory::run(&cli.global, c),
        Command::Findings(c) => cmd_findings::run(&cli.global, c),
        Command::Ledger(c) => cmd_ledger::run(&cli.global, c),
        Command::Controls(c) => cmd_controls::run(&cli.global, c),
        Command::Scan(a) => cmd_scan::run(&cli.global, a),
        Command::Rules(c) => cmd_scan::rules(&cli.global, c),
    }
}
