//! Project automation: `cargo xtask ci|devnet|bench|e2e|fuzz`.

// Every dependency in Cargo.toml is used (CI: clippy -D warnings); dev-dependencies are
// exempt because each test binary uses only some of them.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

use clap::Parser;

mod bench;
mod devnet;
mod e2e;
mod fuzz;
mod soak;
mod test_suite;

/// Quorate's project tasks.
#[derive(Parser)]
#[command(name = "xtask")]
enum Task {
    /// Quorate vs eigensdk-rs on identical workloads; writes docs/performance.{md,png}.
    Bench(bench::BenchArgs),
    /// One measured run of `bench` (internal: prints JSON).
    #[command(hide = true)]
    BenchWorker(bench::WorkerArgs),
    /// A local EigenLayer devnet (anvil from npm, core + middleware + Incredible Squaring AVS).
    Devnet(devnet::DevnetArgs),
    /// End-to-end checks against a fresh devnet: on-chain checkSignatures is the oracle.
    E2e(e2e::E2eArgs),
    /// The whole test suite (what README.md documents and CI runs).
    Test(test_suite::TestArgs),
    /// Builds the cargo-fuzz targets in fuzz/ and runs each for --seconds.
    Fuzz(fuzz::FuzzArgs),
    /// Steady churn on the aggregator; fails on memory growth or accounting mismatches.
    Soak(soak::SoakArgs),
}

fn main() -> anyhow::Result<()> {
    match Task::parse() {
        Task::Bench(args) => bench::orchestrate::run(args),
        Task::BenchWorker(args) => bench::worker(args),
        Task::Devnet(args) => devnet::run(args),
        Task::E2e(args) => e2e::run(args),
        Task::Test(args) => test_suite::run_all(args),
        Task::Fuzz(args) => fuzz::run(args),
        Task::Soak(args) => soak::run(args),
    }
}
