//! Project automation: `cargo xtask ci|devnet|bench|e2e|fuzz`.

use clap::Parser;

mod devnet;
mod e2e;

/// Quorate's project tasks.
#[derive(Parser)]
#[command(name = "xtask")]
enum Task {
    /// A local EigenLayer devnet (anvil from npm, core + middleware + Incredible Squaring AVS).
    Devnet(devnet::DevnetArgs),
    /// End-to-end checks against a fresh devnet: on-chain checkSignatures is the oracle.
    E2e(e2e::E2eArgs),
}

fn main() -> anyhow::Result<()> {
    match Task::parse() {
        Task::Devnet(args) => devnet::run(args),
        Task::E2e(args) => e2e::run(args),
    }
}
