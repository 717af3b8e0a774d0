//! The quorate binary: standalone aggregator service, demo and command-line tools.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// Quorate: fast BLS signature aggregation for EigenLayer AVSs.
#[derive(Parser)]
#[command(name = "quorate", version, about)]
enum Cli {
    /// Run the whole aggregation pipeline in memory on real BN254 keys and print a summary.
    Demo(cli::demo::DemoArgs),
    /// Normalize operators' numeric responses to one consensus document (median + tolerance).
    Consensus(cli::consensus::ConsensusArgs),
}

fn main() -> ExitCode {
    let result = match Cli::parse() {
        Cli::Demo(args) => cli::demo::run(args),
        Cli::Consensus(args) => cli::consensus::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
