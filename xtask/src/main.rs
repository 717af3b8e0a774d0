//! Project automation: `cargo xtask ci|devnet|bench|e2e|fuzz`.

use clap::Parser;

/// Quorate's project tasks.
#[derive(Parser)]
#[command(name = "xtask")]
enum Task {}

fn main() -> anyhow::Result<()> {
    match Task::parse() {}
}
