//! `quorate-bench` (run by `cargo xtask bench` as a release build): Quorate's runtime against
//! eigensdk-rs 2.0's `BlsAggregatorService` on identical workloads, one process per
//! (implementation, workload) run, alternating A/B.
//!
//! `quorate-bench run [OPTIONS]` plans the runs and starts this same executable as
//! `quorate-bench worker ...` once per run, pinned to one CPU (two for the scaling runs).

// Every dependency in Cargo.toml is used (CI: clippy -D warnings).
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod audit;
mod chart;
mod driver;
mod eigen;
pub mod orchestrate;
mod quorate;
mod report;
mod sys;
mod targets;
mod workload;

/// Both aggregators run on mimalloc, as the `quorate` binary does: glibc's malloc costs
/// Quorate about a quarter of its per-signature time in optimistic mode at 100 × 100 (arena
/// locks and chunk merging when a request allocated by the driver is freed by a task's actor).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Turns transparent huge pages off for this process, as the `quorate` binary does (its
/// `disable_transparent_huge_pages` says why), so the bench runs the aggregator as the node does.
fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use anyhow::{anyhow, bail, Result};
use ark_ec::pairing::Pairing;
use ark_ec::AffineRepr;
use serde::{Deserialize, Serialize};

pub use orchestrate::BenchArgs;

/// The benchmark's commands.
#[derive(clap::Parser)]
#[command(name = "quorate-bench")]
enum Command {
    /// Quorate vs eigensdk-rs on identical workloads; writes docs/performance.{md,png}.
    Run(BenchArgs),
    /// One measured run (internal: prints JSON).
    #[command(hide = true)]
    Worker(WorkerArgs),
}

fn main() -> Result<()> {
    disable_transparent_huge_pages();
    match <Command as clap::Parser>::parse() {
        Command::Run(args) => orchestrate::run(args),
        Command::Worker(args) => worker(args),
    }
}

use driver::{Data, Drive, Measured};
use workload::{Invalid, Keys};

/// Which aggregator a worker drives.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
pub enum Impl {
    /// eigensdk-rs 2.0 `BlsAggregatorService` + `FakeAvsRegistryService`.
    Eigensdk,
    /// Quorate, `VerificationMode::Eager` (batched verification).
    Eager,
    /// Quorate, `VerificationMode::Optimistic`.
    Optimistic,
}

impl Impl {
    /// Display name.
    pub fn label(self) -> &'static str {
        match self {
            Impl::Eigensdk => "eigensdk",
            Impl::Eager => "Quorate eager",
            Impl::Optimistic => "Quorate optimistic",
        }
    }
}

/// One measured run: `quorate-bench worker`'s arguments.
#[derive(Clone, Debug, Serialize, Deserialize, clap::Args)]
pub struct WorkerArgs {
    /// Aggregator to drive.
    #[arg(long, value_enum)]
    pub imp: Impl,
    /// Operators per task (all sign every task).
    #[arg(long)]
    pub ops: usize,
    /// Tasks open at once.
    #[arg(long)]
    pub inflight: usize,
    /// Tasks in the stream.
    #[arg(long)]
    pub tasks: usize,
    /// Invalid signatures, per mille, from operators drawn at random per task.
    #[arg(long, default_value_t = 0)]
    pub invalid_permille: u32,
    /// Operators whose signatures are invalid in every task (the same ones every time).
    #[arg(long, default_value_t = 0)]
    #[serde(default)]
    pub faulty_operators: u32,
    /// Quorums (1 or 2); every operator is in all of them.
    #[arg(long, default_value_t = 1)]
    pub quorums: u8,
    /// Stop after this many signatures (throughput only).
    #[arg(long)]
    pub truncate: Option<usize>,
    /// Offered signatures per second (default: saturated).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Stop feeding after this many seconds.
    #[arg(long)]
    pub max_seconds: Option<f64>,
    /// Arrivals handed in before the measured window opens (untimed warm-up).
    #[arg(long, default_value_t = 0)]
    #[serde(default)]
    pub warmup: usize,
    /// Seed of keys, digests and invalid positions.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Threads: 1 runs everything on a current-thread tokio runtime with one verification
    /// thread; more builds a multi-thread runtime with that many workers and gives Quorate as
    /// many verification threads (the scaling runs).
    #[arg(long, default_value_t = 1)]
    #[serde(default = "one")]
    pub threads: usize,
    /// Quorate eager mode's `verification_linger`, in milliseconds (0: off).
    #[arg(long, default_value_t = 0)]
    #[serde(default)]
    pub linger_ms: u64,
}

fn one() -> usize {
    1
}

impl WorkerArgs {
    /// The invalid-signature pattern.
    pub fn invalid(&self) -> Invalid {
        match (self.faulty_operators, self.invalid_permille) {
            (k, _) if k > 0 => Invalid::FixedOperators(k),
            (_, p) if p > 0 => Invalid::RandomPermille(p),
            _ => Invalid::None,
        }
    }
}

/// A worker's JSON output.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WorkerOutput {
    /// What ran.
    pub args: WorkerArgs,
    /// What was measured.
    pub measured: Measured,
    /// Median cost of one 2-pairing check (multi-Miller loop + final exponentiation) in this
    /// process, µs.
    pub pairing_check_us: f64,
    /// Seconds spent generating the workload (not timed).
    pub setup_s: f64,
    /// Delivered aggregates checked after the timed part (Quorate; 0 for eigensdk).
    #[serde(default)]
    pub aggregates_checked: u64,
}

/// Median µs of one 2-pairing check `e(σ, −g2)·e(H(m), pk) = 1` with arkworks.
fn pairing_check_us(keys: &Keys, t: &workload::TaskSigs) -> f64 {
    let h = quorate_bls::hash_to_g1(&t.digest);
    let neg_g2 = -ark_bn254::G2Affine::generator();
    let mut samples: Vec<f64> = (0..31)
        .map(|_| {
            let start = Instant::now();
            let r = ark_bn254::Bn254::multi_pairing([t.sigs[0], h], [neg_g2, keys.g2[0]]);
            let _ = std::hint::black_box(r);
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Runs one measured run and prints its JSON on stdout.
pub fn worker(args: WorkerArgs) -> Result<()> {
    let setup = Instant::now();
    let keys = Keys::generate(args.ops, args.seed);
    let full = workload::stream(args.tasks, args.ops, args.inflight);
    let stream = match args.truncate {
        Some(m) => &full[..m.min(full.len())],
        None => &full[..],
    };
    let mut touched = vec![false; args.tasks];
    for a in stream {
        touched[a.task as usize] = true;
    }
    let tasks: Vec<_> = touched
        .iter()
        .enumerate()
        .map(|(t, on)| on.then(|| keys.sign_task(t, args.invalid(), args.seed)))
        .collect();
    let first = tasks
        .iter()
        .flatten()
        .next()
        .ok_or_else(|| anyhow!("empty workload"))?;
    let pairing = pairing_check_us(&keys, first);
    let data = Rc::new(Data {
        keys,
        tasks,
        quorums: args.quorums,
    });
    let stream: Vec<_> = stream.to_vec();
    drop(full);
    let setup_s = setup.elapsed().as_secs_f64();
    let drive = Drive {
        inflight: args.inflight,
        rate: args.rate,
        truncate: args.truncate,
        max_seconds: args.max_seconds,
        warmup: args.warmup,
    };
    // Room for the delivered aggregates' check, reserved before the baseline memory reading.
    let kept = Rc::new(RefCell::new(audit::Kept::new(
        if args.imp == Impl::Eigensdk {
            0
        } else {
            args.tasks
        },
        args.ops,
    )));
    // One thread runs the async side; Quorate's verification pool adds one blocking thread.
    // The orchestrator pins the whole process to one CPU, so everything shares one core.
    // Scaling runs (`--threads` > 1, several CPUs) use a multi-thread runtime instead: the
    // driver stays on this thread, the aggregator's spawned tasks go to the workers.
    let rt = if args.threads > 1 {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    };
    let local = tokio::task::LocalSet::new();
    let measured = local.block_on(&rt, async {
        let baseline = sys::rss_bytes()?;
        match args.imp {
            Impl::Eigensdk => {
                let ids = data
                    .keys
                    .g1
                    .iter()
                    .map(|g| {
                        quorate_bls::G1PublicKey::from_affine(*g).map(|k| k.operator_id().to_b256())
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| anyhow!("{e}"))?;
                let target = Rc::new(eigen::Eigen::start(Rc::clone(&data), ids)?);
                driver::run(target, Rc::clone(&data), &stream, &drive, baseline).await
            }
            Impl::Eager | Impl::Optimistic => {
                let mode = if args.imp == Impl::Eager {
                    quorate_runtime::VerificationMode::Eager
                } else {
                    quorate_runtime::VerificationMode::Optimistic
                };
                let target = Rc::new(quorate::Quorate::start(
                    Rc::clone(&data),
                    mode,
                    args.inflight,
                    args.threads,
                    std::time::Duration::from_millis(args.linger_ms),
                    Rc::clone(&kept),
                )?);
                driver::run(target, Rc::clone(&data), &stream, &drive, baseline).await
            }
        }
    })?;
    // After the timed part: every delivered aggregate must verify and hold exactly the
    // task's valid signers, or the run fails (its figures would count wrong answers).
    let aggregates_checked = kept.borrow().check(&data)?;
    if args.imp != Impl::Eigensdk && aggregates_checked != measured.tasks_ok {
        bail!(
            "{} tasks delivered an aggregate but {aggregates_checked} aggregates were kept for the check",
            measured.tasks_ok
        );
    }
    let out = WorkerOutput {
        args,
        measured,
        pairing_check_us: pairing,
        setup_s,
        aggregates_checked,
    };
    println!("{}", serde_json::to_string(&out)?);
    // Skip tearing down tens of thousands of tasks: the measurement is done.
    std::process::exit(0)
}
