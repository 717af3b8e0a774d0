//! Project automation: `cargo xtask test|e2e|devnet|bench|fuzz|soak`.
//!
//! Command wiring only: the devnet is `crates/devnet`, the e2e suite a test target of
//! `crates/node`, the benchmark `crates/bench`, the soak `crates/soak`. So xtask builds in
//! seconds, and the e2e is built with the same features as the workspace's tests (one build of
//! the dependencies in CI instead of three).

// Every dependency in Cargo.toml is used (CI: clippy -D warnings).
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

use clap::Parser;

mod cargo;
mod fuzz;
mod test_suite;

use cargo::{run_program, PassThrough};

/// Quorate's project tasks.
#[derive(Parser)]
#[command(name = "xtask")]
enum Task {
    /// Quorate vs eigensdk-rs on identical workloads; writes docs/performance.{md,png}
    /// (`quorate-bench run`, release build; `cargo xtask bench -- --help`).
    Bench(PassThrough),
    /// A local EigenLayer devnet (anvil from npm, core + middleware + Incredible Squaring AVS)
    /// (`quorate-devnet`; `cargo xtask devnet -- --help`).
    Devnet(PassThrough),
    /// End-to-end checks against a fresh devnet: on-chain checkSignatures is the oracle
    /// (`cargo test --workspace --test e2e`; `cargo xtask e2e -- --help`).
    E2e(PassThrough),
    /// The whole test suite (what README.md documents and CI runs).
    Test(test_suite::TestArgs),
    /// Builds the cargo-fuzz targets in fuzz/ and runs each for --seconds.
    Fuzz(fuzz::FuzzArgs),
    /// Steady churn on the aggregator; fails on a leak or an accounting mismatch
    /// (`quorate-soak`, release build; `cargo xtask soak -- --help`).
    Soak(PassThrough),
}

fn main() -> anyhow::Result<()> {
    match Task::parse() {
        Task::Bench(p) => {
            let mut args = vec!["run".to_string()];
            args.extend(p.args);
            run_program("quorate-bench", true, &args)
        }
        Task::Devnet(p) => run_program("quorate-devnet", false, &p.args),
        Task::E2e(p) => test_suite::e2e(&p.args),
        Task::Test(args) => test_suite::run_all(args),
        Task::Fuzz(args) => fuzz::run(args),
        Task::Soak(p) => run_program("quorate-soak", true, &p.args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_pass_through_with_or_without_a_separator() {
        for argv in [
            &["xtask", "soak", "--seconds", "90"][..],
            &["xtask", "soak", "--", "--seconds", "90"][..],
        ] {
            match Task::try_parse_from(argv) {
                Ok(Task::Soak(p)) => assert_eq!(p.args, ["--seconds", "90"]),
                _ => panic!("{argv:?} did not parse as soak"),
            }
        }
        match Task::try_parse_from(["xtask", "devnet", "--operators", "10", "--quorums", "3"]) {
            Ok(Task::Devnet(p)) => assert_eq!(p.args, ["--operators", "10", "--quorums", "3"]),
            _ => panic!("devnet options did not pass through"),
        }
    }
}
