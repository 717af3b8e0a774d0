//! `quorate-soak`: steady load on an `AggregatorCore` with a churn of tasks and every kind of bad
//! or badly timed signature, judged on memory and exact accounting.
//!
//! Uses the fake signature scheme (cheap arithmetic instead of pairings), so the run exercises the
//! runtime's bookkeeping (task maps, pending buffer, result store, queues) at hundreds of tasks per
//! second rather than the BLS arithmetic. Run it as a release build (`cargo xtask soak` does):
//! memory figures of a debug build say little about production.
//!
//! The load runs in three legs: until the run warms up (result store full, no new resident-memory
//! high for five seconds; at most a third of the run), then half of the rest, then the rest. After
//! each leg the core drains and the live heap is read from a counting allocator. The run fails when
//! - the live heap grew by more than `--heap-slack-kib` in *both* intervals between drained
//!   checkpoints (a leak grows with every task; a one-off capacity step does not), or
//! - resident memory after warm-up grows faster than `--max-slope` % of its mean per minute *and*
//!   by more than `--rss-noise-mib` over the window (smaller steps are the allocator's arenas), or
//! - any bound is exceeded or the accounting is off: a task that does not end exactly once, a
//!   waiter with no answer or an answer about another task, anything left after the drain.
//!
//! Writes a memory-over-time PNG (default `target/soak/memory.png`).

// Every dependency in Cargo.toml is used (CI: clippy -D warnings); dev-dependencies are
// exempt because each test binary uses only some of them.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod chart;
mod heap;
mod judge;
mod load;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, bail, Context};
use clap::Parser;

use crate::heap::CountingAllocator;
use crate::judge::{memory_problems, rss_trend, Limits};
use crate::load::World;
use quorate_domain::sync::lock;

#[global_allocator]
static HEAP: CountingAllocator = CountingAllocator::new();

/// Live heap bytes of this process.
fn live_heap_bytes() -> i64 {
    HEAP.live_bytes()
}

/// Resident memory of this process, KiB.
fn rss_kib() -> anyhow::Result<u64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow!("no VmRSS in /proc/self/status"))
}

/// Arguments of the soak.
#[derive(Parser, Debug)]
#[command(name = "quorate-soak", about = "Soak test of the Quorate runtime")]
struct Args {
    /// Minutes of load.
    #[arg(long, default_value_t = 10)]
    minutes: u64,
    /// Seconds of load (overrides --minutes; for CI).
    #[arg(long)]
    seconds: Option<u64>,
    /// New tasks per second.
    #[arg(long, default_value_t = 200)]
    rate: u64,
    /// Allowed resident-memory growth after warm-up, in % of mean RSS per minute.
    #[arg(long, default_value_t = 1.0)]
    max_slope: f64,
    /// Resident-memory growth over the judged window that counts as allocator noise, MiB.
    #[arg(long, default_value_t = 1.0)]
    rss_noise_mib: f64,
    /// Live-heap growth allowed between two drained checkpoints, KiB.
    #[arg(long, default_value_t = 128)]
    heap_slack_kib: i64,
    /// Where the memory chart goes.
    #[arg(long, default_value = "target/soak/memory.png")]
    png: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let secs = args.seconds.unwrap_or(args.minutes * 60).max(30);
    if cfg!(debug_assertions) {
        println!("note: a debug build; `cargo xtask soak` runs the release build");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    // The core spawns its actors and verification pool: it is built inside the runtime.
    let world = {
        let _entered = rt.enter();
        World::new(secs)
    };
    let start = Instant::now();
    let stop = Arc::new(tokio::sync::Notify::new());
    let sampler = rt.spawn(load::sample(Arc::clone(&world), start, Arc::clone(&stop)));
    let (checkpoints, warm_t) = rt.block_on(load::drive(&world, start, secs, args.rate))?;
    stop.notify_one();
    rt.block_on(sampler).context("the sampler panicked")?;
    rt.block_on(world.fx.core.shutdown());
    drop(rt);

    let samples = world.lock_samples().clone();
    let limits = Limits {
        max_rss_slope_pct: args.max_slope,
        rss_noise_mib: args.rss_noise_mib,
        heap_slack_bytes: args.heap_slack_kib.saturating_mul(1024),
    };
    let (slope_pct, grown_mib) = rss_trend(&samples, warm_t);
    chart::draw(&samples, &args.png, slope_pct)?;
    report(
        &world,
        &samples,
        &checkpoints,
        warm_t,
        slope_pct,
        grown_mib,
        &args,
    );

    let mut problems = accounting_problems(&world);
    if let Some(e) = lock(&world.sampler_error).clone() {
        problems.push(e);
    }
    problems.extend(memory_problems(&samples, &checkpoints, warm_t, limits));
    if !problems.is_empty() {
        bail!("soak failed: {}", problems.join("; "));
    }
    println!("soak passed");
    Ok(())
}

/// Prints the run's figures.
fn report(
    world: &World,
    samples: &[judge::Sample],
    checkpoints: &[judge::Checkpoint],
    warm_t: f64,
    slope_pct: f64,
    grown_mib: f64,
    args: &Args,
) {
    let s = world.fx.core.stats();
    let l = &world.ledger;
    let rss = |x: Option<&judge::Sample>| x.map_or(0.0, |x| x.rss_mib);
    let peak = samples.iter().map(|x| x.rss_mib).fold(0.0, f64::max);
    println!(
        "soak summary: {} tasks initialized ({} aggregated, {} expired, {} failed), {} signatures sent \
         ({} accepted, {} rejected, {} buffered, {} pending dropped), {} waiters / {} answers",
        s.tasks_initialized,
        s.tasks_aggregated,
        s.tasks_expired,
        s.tasks_failed,
        l.signatures.load(Ordering::Relaxed),
        s.signatures_accepted,
        s.signatures_rejected,
        s.signatures_buffered,
        s.pending_dropped,
        l.waiters.load(Ordering::Relaxed),
        l.answers.load(Ordering::Relaxed),
    );
    for w in checkpoints.windows(2) {
        let tasks = w[1].tasks.saturating_sub(w[0].tasks).max(1);
        let grown = w[1].heap_bytes - w[0].heap_bytes;
        println!(
            "  live heap {:>4.0}s -> {:>4.0}s: {grown:+} bytes over {tasks} tasks ({:+.2} bytes/task; slack {} KiB)",
            w[0].t,
            w[1].t,
            grown as f64 / tasks as f64,
            args.heap_slack_kib
        );
    }
    println!(
        "  RSS start {:.1} MiB, end {:.1} MiB, peak {:.1} MiB; warm after {warm_t:.0}s; after warm-up \
         {slope_pct:+.3} %/min, {grown_mib:+.2} MiB (limits {} %/min and {} MiB); chart {}",
        rss(samples.first()),
        rss(samples.last()),
        peak,
        args.max_slope,
        args.rss_noise_mib,
        args.png.display()
    );
}

/// The load generator's counts against the core's.
fn accounting_problems(world: &World) -> Vec<String> {
    let s = world.fx.core.stats();
    let l = &world.ledger;
    let mut problems = Vec::new();
    if s.tasks_initialized != l.initialized.load(Ordering::Relaxed) {
        problems.push(format!(
            "core counted {} initializations, load generator {}",
            s.tasks_initialized,
            l.initialized.load(Ordering::Relaxed)
        ));
    }
    if s.tasks_finished() != s.tasks_initialized {
        problems.push(format!(
            "{} tasks initialized but {} finished",
            s.tasks_initialized,
            s.tasks_finished()
        ));
    }
    if l.waiters.load(Ordering::Relaxed) != l.answers.load(Ordering::Relaxed) {
        problems.push("a waiter got no answer".into());
    }
    if l.wrong_task.load(Ordering::Relaxed) > 0 {
        problems.push(format!(
            "{} answers named another task",
            l.wrong_task.load(Ordering::Relaxed)
        ));
    }
    let (pending_tasks, pending_sigs) = world.fx.core.pending_sizes();
    if world.fx.core.active_tasks() + pending_tasks + pending_sigs > 0 {
        problems.push(format!(
            "left over after drain: {} active, {pending_tasks} pending tasks, {pending_sigs} pending signatures",
            world.fx.core.active_tasks()
        ));
    }
    problems
}
