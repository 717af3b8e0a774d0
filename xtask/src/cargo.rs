//! Running cargo from xtask: one way to find it and one way to run a step.

use std::process::Command;

use anyhow::{bail, Context};

/// The cargo that runs this xtask (or `cargo` from `PATH`).
pub(crate) fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Runs `cmd` to completion; an error names `step` and the exit status.
pub(crate) fn run(step: &str, mut cmd: Command) -> anyhow::Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("{step}: could not start {cmd:?}"))?;
    if !status.success() {
        bail!("{step} failed ({status})");
    }
    Ok(())
}

/// `cargo run [--release] -p <package> -- <args>`; release for the programs whose figures only
/// mean something optimised (bench, soak).
pub(crate) fn run_program(package: &str, release: bool, args: &[String]) -> anyhow::Result<()> {
    let mut cmd = cargo();
    cmd.args(["run", "--quiet", "-p", package]);
    if release {
        cmd.arg("--release");
    }
    cmd.arg("--").args(args);
    run(package, cmd)
}

/// Arguments passed through unchanged to the program a subcommand runs (see its `--help`).
#[derive(clap::Args, Debug)]
pub(crate) struct PassThrough {
    /// Arguments for the program.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub(crate) args: Vec<String>,
}
