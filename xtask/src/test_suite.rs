//! `cargo xtask test`: the whole test suite, as README.md documents it and CI runs it.

use std::path::PathBuf;
use std::process::Command;

use crate::cargo::{cargo, run};

/// Arguments of `cargo xtask test`.
#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// Only the unit, integration and doc tests (no devnet, fuzzing or soak).
    #[arg(long)]
    pub fast: bool,
}

fn has_nextest() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs one step, announcing it first.
fn step(name: &str, cmd: std::process::Command) -> anyhow::Result<()> {
    println!("\n==> {name}: {cmd:?}");
    run(name, cmd)
}

/// `cargo xtask e2e [ARGS]`: the e2e test target, built with the workspace's test features
/// (`--workspace`), so after the unit tests nothing but its own binary is compiled.
pub fn e2e(args: &[String]) -> anyhow::Result<()> {
    let mut cmd = cargo();
    cmd.args(["test", "--workspace", "--test", "e2e", "--"])
        .args(args);
    run("e2e", cmd)
}

/// `contracts/` (our Solidity and its committed build artifacts).
fn contracts_dir() -> PathBuf {
    let xtask = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().unwrap_or(xtask).join("contracts")
}

/// Proves `contracts/out` is the build of `contracts/src`: installs the pinned solc-js and contract packages from
/// `contracts/package-lock.json` if it is missing, then recompiles with `build.mjs --check`.
fn contracts_check() -> anyhow::Result<()> {
    let dir = contracts_dir();
    if !dir
        .join("node_modules/@account-abstraction/contracts/package.json")
        .exists()
    {
        let mut npm = Command::new("npm");
        npm.args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir);
        step("install solc-js for contracts/", npm)?;
    }
    let mut node = Command::new("node");
    node.arg(dir.join("build.mjs")).arg("--check");
    step("contracts/out is the build of contracts/src", node)
}

/// Runs every step; stops at the first failure.
pub fn run_all(args: TestArgs) -> anyhow::Result<()> {
    contracts_check()?;
    let mut unit = cargo();
    if has_nextest() {
        unit.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        unit.args(["test", "--workspace", "--no-fail-fast"]);
    }
    step("unit and integration tests", unit)?;
    let mut doc = cargo();
    doc.args(["test", "--workspace", "--doc"]);
    step("doc tests", doc)?;
    if !args.fast {
        for (step, extra) in long_steps() {
            let mut cmd = cargo();
            cmd.arg("xtask").args(extra);
            self::step(step, cmd)?;
        }
    }
    println!("\nall test steps passed");
    Ok(())
}

/// The steps beyond cargo's own tests, each a subcommand of this xtask.
fn long_steps() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        // A fresh local EigenLayer devnet (anvil from npm); on-chain checkSignatures is the
        // oracle, and the node runs in chain mode against it.
        ("e2e against a local devnet", vec!["e2e"]),
        // One fuzz build, then each target for 15 s from the committed seed corpus.
        ("fuzz (short)", vec!["fuzz", "--seconds", "15"]),
        ("soak (short)", vec!["soak", "--seconds", "90"]),
    ]
}
