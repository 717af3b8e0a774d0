//! `cargo xtask fuzz --seconds N`: builds every cargo-fuzz target in `fuzz/` once and runs
//! each for N seconds from the committed seed corpus.
//!
//! cargo-fuzz needs nightly compiler flags; on a stable toolchain they are unlocked with
//! `RUSTC_BOOTSTRAP=1`. Targets build without a sanitizer (the workspace forbids `unsafe`, so
//! ASan adds cost and little coverage) but with debug assertions, so arithmetic overflow
//! panics. New corpus entries go to `fuzz/target/corpus/<target>` (ignored by git), crashes to
//! `fuzz/artifacts/<target>`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};

/// Arguments of `cargo xtask fuzz`.
#[derive(clap::Args, Debug)]
pub struct FuzzArgs {
    /// Seconds each target runs.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Only these targets (default: every target in fuzz/Cargo.toml).
    #[arg(long = "target")]
    pub targets: Vec<String>,
    /// Parallel fuzzing jobs per target (libFuzzer `-fork`); 0 runs in-process.
    #[arg(long, default_value_t = 0)]
    pub fork: u32,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn cargo() -> Command {
    let mut c = crate::cargo::cargo();
    // The fuzz project is its own workspace with its own target dir (fuzz/target).
    c.env_remove("CARGO_TARGET_DIR")
        .env("RUSTC_BOOTSTRAP", "1")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    c
}

/// Flags shared by `build` and `run`, so `run` never rebuilds.
const BUILD_FLAGS: [&str; 3] = ["--sanitizer", "none", "--debug-assertions"];

fn ensure_cargo_fuzz() -> anyhow::Result<()> {
    let ok = cargo()
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Ok(());
    }
    println!("==> installing cargo-fuzz");
    let status = cargo()
        .args(["install", "--locked", "cargo-fuzz"])
        .status()
        .context("running cargo install cargo-fuzz")?;
    if !status.success() {
        bail!("cargo install cargo-fuzz failed ({status})");
    }
    Ok(())
}

fn list_targets(fuzz_dir: &Path) -> anyhow::Result<Vec<String>> {
    let out = cargo()
        .args(["fuzz", "list"])
        .current_dir(fuzz_dir)
        .output()
        .context("running cargo fuzz list")?;
    if !out.status.success() {
        bail!(
            "cargo fuzz list failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}

/// One target's run.
struct Run {
    target: String,
    execs: u64,
    seconds: f64,
    ok: bool,
}

/// `Done 123 runs in 10 second(s)` or `stat::number_of_executed_units: 123`.
fn executed(log: &str) -> u64 {
    let stat = log
        .lines()
        .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|v| v.trim().parse().ok());
    let done = log
        .lines()
        .filter_map(|l| l.strip_prefix("Done "))
        .find_map(|l| l.split_whitespace().next().and_then(|n| n.parse().ok()));
    stat.or(done).unwrap_or(0)
}

/// Runs the fuzzers; fails if any target crashes.
pub fn run(args: FuzzArgs) -> anyhow::Result<()> {
    let fuzz_dir = root().join("fuzz");
    ensure_cargo_fuzz()?;
    let targets = if args.targets.is_empty() {
        list_targets(&fuzz_dir)?
    } else {
        args.targets.clone()
    };
    let started = Instant::now();
    println!("==> cargo fuzz build ({} targets)", targets.len());
    let status = cargo()
        .args(["fuzz", "build"])
        .args(BUILD_FLAGS)
        .current_dir(&fuzz_dir)
        .status()
        .context("running cargo fuzz build")?;
    if !status.success() {
        bail!("cargo fuzz build failed ({status})");
    }
    let build_secs = started.elapsed().as_secs_f64();
    let mut runs = Vec::new();
    for target in &targets {
        let work = fuzz_dir.join("target").join("corpus").join(target);
        let seeds = fuzz_dir.join("corpus").join(target);
        std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
        std::fs::create_dir_all(&seeds).with_context(|| format!("creating {}", seeds.display()))?;
        let mut cmd = cargo();
        cmd.args(["fuzz", "run"])
            .args(BUILD_FLAGS)
            .arg(target)
            .arg(&work)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={}", args.seconds))
            .args([
                "-print_final_stats=1",
                "-timeout=20",
                "-rss_limit_mb=2048",
                "-max_len=4096",
            ])
            .current_dir(&fuzz_dir);
        if args.fork > 0 {
            cmd.arg(format!("-fork={}", args.fork));
        }
        println!("==> fuzz {target} for {}s", args.seconds);
        let t = Instant::now();
        let out = cmd
            .output()
            .with_context(|| format!("running cargo fuzz run {target}"))?;
        let log = String::from_utf8_lossy(&out.stderr);
        let run = Run {
            target: target.clone(),
            execs: executed(&log),
            seconds: t.elapsed().as_secs_f64(),
            ok: out.status.success(),
        };
        if !run.ok {
            // Show the crash report (the tail of libFuzzer's output).
            let lines: Vec<&str> = log.lines().collect();
            for l in &lines[lines.len().saturating_sub(60)..] {
                eprintln!("{l}");
            }
        }
        println!(
            "    {}: {} execs in {:.0}s{}",
            run.target,
            run.execs,
            run.seconds,
            if run.ok { "" } else { "  CRASH" }
        );
        runs.push(run);
    }
    let total: u64 = runs.iter().map(|r| r.execs).sum();
    let failed: Vec<&str> = runs
        .iter()
        .filter(|r| !r.ok)
        .map(|r| r.target.as_str())
        .collect();
    println!(
        "fuzz summary: {} targets, {} execs, build {:.0}s, total {:.0}s, crashes: {}",
        runs.len(),
        total,
        build_secs,
        started.elapsed().as_secs_f64(),
        if failed.is_empty() {
            "none".to_string()
        } else {
            failed.join(", ")
        }
    );
    if !failed.is_empty() {
        bail!(
            "fuzz targets crashed: {} (inputs in fuzz/artifacts/)",
            failed.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libfuzzer_exec_counts() {
        assert_eq!(
            executed("#2 INITED\nDone 1234 runs in 10 second(s)\n"),
            1234
        );
        assert_eq!(
            executed("stat::number_of_executed_units: 77\nDone 1 runs in 1 second(s)"),
            77
        );
        assert_eq!(executed("nothing"), 0);
    }
}
