//! `cargo xtask soak [ARGS]`: builds and runs the `quorate-soak` program (crates/soak) as a
//! release build, passing ARGS through (`--minutes N`, `--seconds N`, `--rate N`, ...).
//!
//! Release, because memory figures of a debug build (unoptimised code, different inlining and
//! allocation patterns) say little about what an AVS runs.

use std::process::Command;

use anyhow::{bail, Context};

/// Arguments of `cargo xtask soak`: passed to `quorate-soak` unchanged (see its `--help`).
#[derive(clap::Args, Debug)]
pub struct SoakArgs {
    /// Arguments for `quorate-soak`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Runs the soak.
pub fn run(args: SoakArgs) -> anyhow::Result<()> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["run", "--quiet", "--release", "-p", "quorate-soak", "--"])
        .args(&args.args)
        .status()
        .context("starting cargo run -p quorate-soak")?;
    if !status.success() {
        bail!("soak failed ({status})");
    }
    Ok(())
}
