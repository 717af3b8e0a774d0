//! Plans the runs, builds the release worker, runs it once per (implementation, workload,
//! repeat) pinned to one CPU, alternating the implementations' order, then the scaling runs
//! on two CPUs and the paced runs, and hands the results to the report.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use super::chart;
use super::report::{self, Row};
use super::workload::Invalid;
use super::{Impl, WorkerArgs, WorkerOutput};

/// `cargo xtask bench` options.
#[derive(Clone, Debug, clap::Args)]
pub struct BenchArgs {
    /// CI-sized run (< 2 minutes): fewer workloads, one repeat, shorter runs.
    #[arg(long)]
    pub quick: bool,
    /// Repeats per (implementation, workload); the table shows medians.
    #[arg(long)]
    pub repeats: Option<usize>,
    /// CPU every worker is pinned to (`taskset -c`).
    #[arg(long, default_value_t = 1)]
    pub cpu: usize,
    /// CPUs of the two-core scaling runs (`taskset -c` list); they are skipped when the
    /// machine has fewer than two.
    #[arg(long, default_value = "0,1")]
    pub cpus2: String,
    /// Only the workloads of the targets (100 ops × 100 in flight: all valid, faulty
    /// operators, random invalid) plus the scaling and paced runs: the smallest useful run.
    #[arg(long)]
    pub targets_only: bool,
    /// Where performance.md and performance.png go.
    #[arg(long, default_value = "docs")]
    pub out: PathBuf,
    /// Where raw JSON results go.
    #[arg(long, default_value = "target/bench")]
    pub raw: PathBuf,
}

/// A workload: the same for every implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Spec {
    /// Operators per task.
    pub ops: usize,
    /// Tasks in flight.
    pub inflight: usize,
    /// Which signatures are invalid.
    pub invalid: Invalid,
    /// Quorums.
    pub quorums: u8,
    /// Offered at 1/`paced` of the measured maximum throughput (latency/memory runs; the
    /// target is at ½), or saturated when 0.
    pub paced: u8,
    /// CPUs the run may use (1, or 2 for the scaling runs).
    pub cores: u8,
}

/// No invalid signatures.
const VALID: Invalid = Invalid::None;
/// 5% of the signatures invalid, from operators drawn at random per task.
const RANDOM_5: Invalid = Invalid::RandomPermille(50);
/// The same operator invalid in every task.
const FAULTY_1: Invalid = Invalid::FixedOperators(1);
/// The same 5 operators invalid in every task.
const FAULTY_5: Invalid = Invalid::FixedOperators(5);

impl Spec {
    const fn sat(ops: usize, inflight: usize, invalid: Invalid, quorums: u8) -> Self {
        Self {
            ops,
            inflight,
            invalid,
            quorums,
            paced: 0,
            cores: 1,
        }
    }
}

/// The workloads of the targets: 100 ops × 100 in flight, valid and with invalid signatures.
fn target_specs() -> Vec<Spec> {
    [VALID, FAULTY_1, FAULTY_5, RANDOM_5]
        .into_iter()
        .map(|inv| Spec::sat(100, 100, inv, 1))
        .collect()
}

fn specs(quick: bool, targets_only: bool) -> Vec<Spec> {
    if targets_only {
        return target_specs();
    }
    if quick {
        let mut v = vec![
            Spec::sat(10, 1, VALID, 1),
            Spec::sat(10, 100, VALID, 1),
            Spec::sat(100, 1, VALID, 1),
        ];
        v.extend(target_specs());
        v.push(Spec::sat(100, 100, VALID, 2));
        return v;
    }
    let mut v = Vec::new();
    for ops in [10, 100, 1000] {
        for inflight in [1, 100, 10_000] {
            v.push(Spec::sat(ops, inflight, VALID, 1));
        }
    }
    for ops in [10, 100, 1000] {
        v.push(Spec::sat(ops, 100, RANDOM_5, 1));
        v.push(Spec::sat(ops, 100, VALID, 2));
    }
    v.push(Spec::sat(100, 100, FAULTY_1, 1));
    v.push(Spec::sat(100, 100, FAULTY_5, 1));
    v.push(Spec::sat(100, 100, RANDOM_5, 2));
    v.push(Spec::sat(100, 10_000, RANDOM_5, 1));
    v
}

/// Most signatures in a full wave measured instead of a prefix (optimistic mode, and eager mode
/// with random invalid signatures): about 15 s at the measured rates, a tenth of it with invalid
/// signatures, which cost a search.
const FULL_WAVE_MAX_SIGS: usize = 1_000_000;

/// Most signatures in a full wave (or, with random invalid signatures, in three: see [`plan`])
/// for a workload with `invalid` signatures.
fn full_wave_cap(invalid: Invalid) -> usize {
    FULL_WAVE_MAX_SIGS / if invalid == Invalid::None { 1 } else { 10 }
}

/// Estimated single-core cost per signature (µs), to size runs to a time budget.
fn cost_us(imp: Impl, spec: &Spec) -> f64 {
    // Measured in the full runs for `7acac7d` and `5a6406b` (CPU µs per signature), rounded
    // up. Random invalid signatures cost Quorate a search per task, about 300 µs per signature
    // at 5 %; a fixed faulty operator is quarantined after its second failure, and each of its
    // signatures then costs one check of its own (about a millisecond) per task. Optimistic
    // mode pays one aggregate check per task: a whole one with one task in flight, about a
    // tenth of one when many tasks' checks merge. A model that overestimates sizes runs
    // shorter than the budget: optimistic runs used to last 0.1–0.2 s, where thread start-up
    // and warm-up weigh on the two-core runs most.
    let extra = match (imp, spec.invalid) {
        (Impl::Eigensdk, _) => 0.0,
        (_, Invalid::RandomPermille(_)) => return 300.0,
        (_, Invalid::FixedOperators(k)) => 1000.0 * f64::from(k) / spec.ops as f64,
        (_, Invalid::None) => 0.0,
    };
    extra
        + match imp {
            Impl::Eigensdk => 1900.0,
            Impl::Eager => {
                if spec.inflight >= 10_000 {
                    100.0
                } else {
                    30.0
                }
            }
            Impl::Optimistic => {
                let check = if spec.inflight == 1 { 1200.0 } else { 100.0 };
                3.0 + check / spec.ops as f64
            }
        }
}

/// Quorate eager mode's `verification_linger` in every run (milliseconds): a task holds its
/// signatures up to this long so that they are checked together (see `docs/runtime.md`).
pub const EAGER_LINGER_MS: u64 = 500;

/// Sizes one run to `budget` seconds of work.
fn plan(imp: Impl, spec: &Spec, budget: f64, rate: Option<f64>, paced_seconds: f64) -> WorkerArgs {
    let sigs = (budget * 1e6 / cost_us(imp, spec)) as usize;
    let (ops, k) = (spec.ops, spec.inflight);
    let mut args = WorkerArgs {
        imp,
        ops,
        inflight: k,
        tasks: (sigs / ops).max(2),
        invalid_permille: match spec.invalid {
            Invalid::RandomPermille(p) => p,
            _ => 0,
        },
        faulty_operators: match spec.invalid {
            Invalid::FixedOperators(k) => k,
            _ => 0,
        },
        quorums: spec.quorums,
        truncate: None,
        rate,
        max_seconds: None,
        seed: 7,
        threads: usize::from(spec.cores),
        warmup: 0,
        linger_ms: if imp == Impl::Eager {
            EAGER_LINGER_MS
        } else {
            0
        },
    };
    if spec.paced > 0 {
        // More tasks per slot than the time allows (at least two), so the run stops while
        // every slot is busy: once slots run out of tasks, rounds shrink and the last
        // completions arrive bunched, which measured the ramp-down, not the steady state.
        // The first task of a slot completes after about k·ops/2 arrivals (the staggered
        // start): at a low rate that alone can exceed the run, so the run gets that warm-up
        // plus half its time on top.
        let rate = rate.unwrap_or(0.0).max(1.0);
        let warm_up = (k * ops) as f64 / 2.0 / rate;
        let seconds = paced_seconds.max(warm_up + paced_seconds / 2.0);
        let per_slot = (rate * seconds / (k * ops).max(1) as f64).ceil() as usize + 1;
        args.tasks = k * per_slot.max(2);
        args.max_seconds = Some(seconds);
        return args;
    }
    if let (Invalid::FixedOperators(_), false) = (spec.invalid, imp == Impl::Eigensdk) {
        // Quorate quarantines an operator at its second failed check, but the first wave of
        // tasks has taken the faulty signatures in before any check failed, and with staggered
        // slots its last tasks complete (failing their aggregate checks) during the second
        // wave's arrivals: two waves are an untimed warm-up, three more are measured.
        args.warmup = 2 * k * ops;
        args.tasks = args.tasks.max(5 * k);
        return args;
    }
    let random = matches!(spec.invalid, Invalid::RandomPermille(_));
    if random && imp != Impl::Eigensdk && 3 * k * ops <= full_wave_cap(spec.invalid) {
        // Quorate learns the fault rate from its own checks (how often an aggregate check
        // fails, how many invalid signatures a failing batch holds) and starts its searches
        // accordingly; a single wave measures that learning and the staggered start and drain
        // (at 100 × 100, 5 %, optimistic: 5 680 signatures per core-second for one wave, 6 830
        // for the two after it). One wave is an untimed warm-up, two more are measured.
        args.warmup = k * ops;
        args.tasks = args.tasks.max(3 * k);
        return args;
    }
    if k > 1 {
        args.tasks = args.tasks.max(k);
        // A full wave would exceed the budget: measure a prefix (throughput and memory only).
        if args.tasks * ops > 3 * sigs.max(ops) {
            args.tasks = k;
            // A prefix settles no optimistic task (its signatures are only checked when a task
            // completes), so optimistic runs get one full wave while that stays affordable. So
            // do eager runs with random invalid signatures: a prefix ends with every task
            // holding a few signatures, and their flush is a small search per task (a prefix of
            // 583 signatures at 100 × 100 measured 2 010 per core-second, one of 1 666 measured
            // 2 731, the full wave 3 165).
            let full_wave = match imp {
                Impl::Optimistic => true,
                Impl::Eager => matches!(spec.invalid, Invalid::RandomPermille(_)),
                Impl::Eigensdk => false,
            };
            if !full_wave || k * ops > full_wave_cap(spec.invalid) {
                args.truncate = Some(sigs.max(ops));
            }
        }
    }
    args
}

/// This executable: the orchestrator starts itself as each run's worker.
fn worker_exe() -> Result<PathBuf> {
    if cfg!(debug_assertions) {
        bail!("a debug build measures nothing useful: run `cargo xtask bench` (a release build)");
    }
    std::env::current_exe().context("locating the quorate-bench executable")
}

/// Runs one worker pinned to `cpus` (a `taskset -c` list) and parses its output.
fn run_worker(exe: &PathBuf, cpus: &str, args: &WorkerArgs) -> Result<WorkerOutput> {
    let mut cmd = Command::new("taskset");
    cmd.arg("-c").arg(cpus).arg(exe).arg("worker");
    cmd.args(["--imp", &format!("{:?}", args.imp).to_lowercase()]);
    cmd.args([
        "--ops",
        &args.ops.to_string(),
        "--inflight",
        &args.inflight.to_string(),
    ]);
    cmd.args([
        "--tasks",
        &args.tasks.to_string(),
        "--quorums",
        &args.quorums.to_string(),
    ]);
    cmd.args([
        "--invalid-permille",
        &args.invalid_permille.to_string(),
        "--faulty-operators",
        &args.faulty_operators.to_string(),
    ]);
    cmd.args([
        "--seed",
        &args.seed.to_string(),
        "--threads",
        &args.threads.to_string(),
    ]);
    if let Some(t) = args.truncate {
        cmd.args(["--truncate", &t.to_string()]);
    }
    if let Some(r) = args.rate {
        cmd.args(["--rate", &format!("{r:.1}")]);
    }
    if let Some(s) = args.max_seconds {
        cmd.args(["--max-seconds", &format!("{s:.1}")]);
    }
    if args.warmup > 0 {
        cmd.args(["--warmup", &args.warmup.to_string()]);
    }
    if args.linger_ms > 0 {
        cmd.args(["--linger-ms", &args.linger_ms.to_string()]);
    }
    let out = cmd
        .output()
        .with_context(|| format!("running worker {args:?}"))?;
    if !out.status.success() {
        bail!(
            "worker {:?} failed: {}",
            args,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The result is the last JSON line: eigensdk's service prints its own errors to stdout
    // when its background tasks see the channels close at teardown (multi-thread runs).
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .context("worker printed no result line")?;
    serde_json::from_str(line).with_context(|| format!("parsing worker output {line}"))
}

/// The two-core scaling workload: the headline one.
fn scaling_spec() -> Spec {
    Spec {
        cores: 2,
        ..Spec::sat(100, 100, VALID, 1)
    }
}

/// The two-core comparison's sides: the one-core run, then the two-core run it is compared to.
fn scaling_sides() -> [Spec; 2] {
    let two = scaling_spec();
    [Spec { cores: 1, ..two }, two]
}

/// How much longer than the others Quorate's runs of the two-core comparison are (both its
/// sides): at the common budget an optimistic run lasts about half a second, or a quarter on two
/// cores, where thread start-up and scheduling weigh. Four two-core runs of 2 500 tasks at
/// 100 × 100 measured 725 000 to 950 000 signatures per second; four of 10 000 tasks, alternated
/// with them, 790 000 to 835 000.
fn scaling_factor(imp: Impl, spec: &Spec) -> f64 {
    if imp != Impl::Eigensdk && scaling_sides().contains(spec) {
        4.0
    } else {
        1.0
    }
}

/// Rounds of the two-core comparison's two sides (Quorate only) added to a run of three or
/// more repeats: its ratio sits near the 1.8× target, and on a shared host three runs a side
/// let one slow stretch decide the verdict (the run for `b698771` paired 1.74, 1.25 and 1.60
/// where alternated worker pairs of the same binary gave 1.83–2.11).
const SCALING_EXTRA_ROUNDS: usize = 2;

/// The extra runs of the two-core comparison, in order: per round, for each Quorate mode (their
/// order flipping every round), the one-core run right before the two-core run it is compared
/// to. None for a run of fewer than three repeats or without a second CPU.
fn scaling_rounds(repeats: usize, two_cpus: bool) -> Vec<(Impl, Spec)> {
    if !two_cpus || repeats < 3 {
        return Vec::new();
    }
    let [one, two] = scaling_sides();
    let mut runs = Vec::new();
    for round in 0..SCALING_EXTRA_ROUNDS {
        let mut modes = [Impl::Eager, Impl::Optimistic];
        if round % 2 == 1 {
            modes.reverse();
        }
        for imp in modes {
            runs.push((imp, one));
            runs.push((imp, two));
        }
    }
    runs
}

/// `cargo xtask bench`.
pub fn run(args: BenchArgs) -> Result<()> {
    let started = Instant::now();
    let exe = worker_exe()?;
    // --targets-only is sized like --quick.
    let small = args.quick || args.targets_only;
    let repeats = args.repeats.unwrap_or(if small { 1 } else { 3 });
    let budget = if small { 0.35 } else { 1.0 };
    let one_cpu = args.cpu.to_string();
    let two_cpus = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
    if !two_cpus {
        eprintln!("one CPU only: the two-core scaling runs are skipped");
    }
    let impls = [Impl::Eigensdk, Impl::Eager, Impl::Optimistic];
    let mut results: Vec<(Spec, WorkerOutput)> = Vec::new();
    let mut specs = specs(args.quick, args.targets_only);
    // Scaling runs last in every repeat, right after the one-core runs they are compared to.
    if two_cpus {
        specs.push(scaling_spec());
    }
    let extra = scaling_rounds(repeats, two_cpus);
    let total = specs.len() * impls.len() * repeats + extra.len();
    let mut done = 0;
    // Runs one worker for `imp` on `spec` at its budget and records it, with a progress line.
    let mut measure = |imp: Impl, spec: &Spec| -> Result<()> {
        let cpus = if spec.cores > 1 {
            args.cpus2.as_str()
        } else {
            one_cpu.as_str()
        };
        let plan = plan(imp, spec, budget * scaling_factor(imp, spec), None, 0.0);
        let out = run_worker(&exe, cpus, &plan)?;
        done += 1;
        eprintln!(
            "[{done}/{total} {:>5.0}s] {:<18} {:<52} cpus {cpus:<4} → {:>7.0} sig/s/core, {:>7.0} sig/s wall, {} aggregates checked",
            started.elapsed().as_secs_f64(),
            imp.label(),
            report::workload(spec),
            report::throughput(&out.measured),
            report::wall_throughput(&out.measured),
            out.aggregates_checked,
        );
        results.push((*spec, out));
        Ok(())
    };
    for r in 0..repeats {
        for (i, spec) in specs.iter().enumerate() {
            // A/B alternation: the order of the implementations flips every run.
            let mut order = impls.to_vec();
            if (r + i) % 2 == 1 {
                order.reverse();
            }
            for imp in order {
                measure(imp, spec)?;
            }
        }
    }
    for (imp, spec) in &extra {
        measure(*imp, spec)?;
    }
    // Latency and memory at half the measured maximum throughput, 10 000 tasks in flight
    // (100 × 100 in --quick and --targets-only).
    let (ops, k) = if small { (100, 100) } else { (100, 10_000) };
    let paced_seconds = if small { 5.0 } else { 75.0 };
    for imp in [Impl::Eager, Impl::Optimistic] {
        let sat = Spec::sat(ops, k, VALID, 1);
        let mut rates: Vec<f64> = results
            .iter()
            .filter(|(s, o)| *s == sat && o.args.imp == imp && o.args.truncate.is_none())
            .map(|(_, o)| report::wall_throughput(&o.measured))
            .collect();
        rates.sort_by(f64::total_cmp);
        let max = match rates.get(rates.len() / 2) {
            Some(&max) => max,
            None => {
                // Every saturated run of this workload measured a prefix (a full wave exceeds
                // its budget), and a prefix settles no optimistic task: measure the maximum
                // with one full wave, one task per slot.
                let mut probe = plan(imp, &sat, budget, None, 0.0);
                probe.tasks = k;
                probe.truncate = None;
                let out = run_worker(&exe, &one_cpu, &probe)?;
                let max = report::wall_throughput(&out.measured);
                eprintln!(
                    "[probe {:>5.0}s] {:<18} ops={ops} inflight={k} full wave → {max:.0} sig/s",
                    started.elapsed().as_secs_f64(),
                    imp.label(),
                );
                max
            }
        };
        // The target's ½, and (full run) ¼ to show how latency falls with load.
        let fractions: &[u8] = if small { &[2] } else { &[2, 4] };
        for &paced in fractions {
            let spec = Spec { paced, ..sat };
            let rate = max / f64::from(paced);
            let plan = plan(imp, &spec, budget, Some(rate), paced_seconds);
            let out = run_worker(&exe, &one_cpu, &plan)?;
            eprintln!(
                "[paced {:>5.0}s] {:<18} ops={ops} inflight={k} at {rate:.0} sig/s → p99 {:?} µs, {} aggregates checked",
                started.elapsed().as_secs_f64(),
                imp.label(),
                out.measured.lat_p99_us,
                out.aggregates_checked,
            );
            results.push((spec, out));
        }
    }
    std::fs::create_dir_all(&args.raw)?;
    let raw: Vec<&WorkerOutput> = results.iter().map(|(_, o)| o).collect();
    let raw_path = args.raw.join(if args.targets_only {
        "targets.json"
    } else if args.quick {
        "quick.json"
    } else {
        "full.json"
    });
    std::fs::write(&raw_path, serde_json::to_string_pretty(&raw)?)?;
    let rows: Vec<Row> = report::rows(&results);
    let command = if args.targets_only {
        "cargo xtask bench -- --targets-only"
    } else if args.quick {
        "cargo xtask bench -- --quick"
    } else {
        "cargo xtask bench"
    };
    let md = report::markdown(
        &rows,
        &results,
        command,
        started.elapsed().as_secs_f64(),
        (args.cpu, &args.cpus2),
    );
    println!("{}", report::terminal_table(&rows));
    println!("{}", report::terminal_scaling(&rows));
    println!("{}", super::targets::targets(&rows));
    std::fs::create_dir_all(&args.out)?;
    std::fs::write(args.out.join("performance.md"), md)?;
    chart::chart(&rows, &args.out.join("performance.png"))?;
    eprintln!(
        "wrote {} and {} (raw: {}) in {:.0} s",
        args.out.join("performance.md").display(),
        args.out.join("performance.png").display(),
        raw_path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorate_learns_a_random_fault_rate_in_an_untimed_wave_where_three_fit() {
        let random = Spec::sat(100, 100, RANDOM_5, 1);
        for imp in [Impl::Eager, Impl::Optimistic] {
            let args = plan(imp, &random, 1.0, None, 0.0);
            assert_eq!(args.warmup, 100 * 100, "{imp:?}");
            assert!(args.tasks >= 3 * 100, "{imp:?}: {} tasks", args.tasks);
            assert_eq!(args.truncate, None);
        }
        // eigensdk keeps no history: no warm-up.
        assert_eq!(plan(Impl::Eigensdk, &random, 1.0, None, 0.0).warmup, 0);
        // Three waves of 1000 × 100 do not fit: one wave, no warm-up.
        let large = Spec::sat(1000, 100, RANDOM_5, 1);
        let args = plan(Impl::Optimistic, &large, 1.0, None, 0.0);
        assert_eq!((args.warmup, args.truncate), (0, None));
        // All valid: nothing to learn.
        let valid = Spec::sat(100, 100, VALID, 1);
        assert_eq!(plan(Impl::Optimistic, &valid, 1.0, None, 0.0).warmup, 0);
    }

    #[test]
    fn only_quorates_runs_of_the_two_core_comparison_are_longer() {
        let one_core = Spec::sat(100, 100, VALID, 1);
        for spec in [one_core, scaling_spec()] {
            assert_eq!(scaling_factor(Impl::Optimistic, &spec), 4.0);
            assert_eq!(scaling_factor(Impl::Eager, &spec), 4.0);
            assert_eq!(scaling_factor(Impl::Eigensdk, &spec), 1.0);
        }
        let other = Spec::sat(100, 100, RANDOM_5, 1);
        assert_eq!(scaling_factor(Impl::Optimistic, &other), 1.0);
    }

    #[test]
    fn a_full_run_gives_each_side_of_the_two_core_comparison_two_more_runs_in_pairs() {
        let runs = scaling_rounds(3, true);
        assert_eq!(runs.len(), 2 * 2 * SCALING_EXTRA_ROUNDS);
        for pair in runs.chunks(2) {
            // The one-core run right before the two-core run of the same mode.
            assert_eq!(pair[0].0, pair[1].0);
            assert_eq!(pair[0].1.cores, 1);
            assert_eq!(pair[1].1, scaling_spec());
            assert_eq!(
                pair[0].1,
                Spec {
                    cores: 1,
                    ..scaling_spec()
                }
            );
            assert_ne!(pair[0].0, Impl::Eigensdk);
        }
        // The modes' order flips between rounds.
        assert_ne!(runs[0].0, runs[4].0);
        // Quick and targets-only runs (one repeat), and a machine with one CPU: none.
        assert!(scaling_rounds(1, true).is_empty());
        assert!(scaling_rounds(3, false).is_empty());
    }
}
