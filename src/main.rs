//! The `mimic` binary: one program, several faces (daemon, terminal, demo, tools).
//! Errors become `anyhow` reports only here, at the edge.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let started = std::time::Instant::now();
    let cli = mimic::cli::Cli::parse();
    match mimic::cli::run(cli, started) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mimic: {e:#}");
            ExitCode::FAILURE
        }
    }
}
