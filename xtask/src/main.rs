//! Project automation: `cargo xtask ci|devnet|bench|e2e|fuzz`.

use clap::Parser;

mod bench;

/// Quorate's project tasks.
#[derive(Parser)]
#[command(name = "xtask")]
enum Task {
    /// Quorate vs eigensdk-rs on identical workloads; writes docs/performance.{md,png}.
    Bench(bench::BenchArgs),
    /// One measured run of `bench` (internal: prints JSON).
    #[command(hide = true)]
    BenchWorker(bench::WorkerArgs),
}

fn main() -> anyhow::Result<()> {
    match Task::parse() {
        Task::Bench(args) => bench::orchestrate::run(args),
        Task::BenchWorker(args) => bench::worker(args),
    }
}
