//! Project automation: `cargo xtask ci|devnet|bench|e2e|fuzz`.

use clap::Parser;

mod bench;
mod devnet;
mod e2e;

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
}

fn main() -> anyhow::Result<()> {
    match Task::parse() {
        Task::Bench(args) => bench::orchestrate::run(args),
        Task::BenchWorker(args) => bench::worker(args),
        Task::Devnet(args) => devnet::run(args),
        Task::E2e(args) => e2e::run(args),
    }
}
