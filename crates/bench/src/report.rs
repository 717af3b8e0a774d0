//! Medians, ratios and the Markdown page (targets: `targets.rs`; the chart: `chart.rs`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::driver::{Measured, MAX_OUTSTANDING};
use super::orchestrate::Spec;
use super::targets::targets;
use super::workload::Invalid;
use super::{Impl, WorkerOutput};

/// Signatures settled per CPU-second (one-core runs are pinned to one core).
pub fn throughput(m: &Measured) -> f64 {
    if m.cpu_s > 0.0 {
        m.settled as f64 / m.cpu_s
    } else {
        0.0
    }
}

/// Signatures settled per wall-second.
pub fn wall_throughput(m: &Measured) -> f64 {
    if m.wall_s > 0.0 {
        m.settled as f64 / m.wall_s
    } else {
        0.0
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    v.sort_by(f64::total_cmp);
    v.get(v.len().checked_sub(1)? / 2).copied()
}

/// Medians of one implementation's repeats on one workload.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Signatures settled per core-second.
    pub thr: f64,
    /// Signatures settled per wall-second (the scaling comparison).
    pub wall: f64,
    /// Latency (ms) p50 / p99 / max, medians over repeats.
    pub p50: Option<f64>,
    /// See `p50`.
    pub p99: Option<f64>,
    /// See `p50`.
    pub max: Option<f64>,
    /// Peak RSS growth, bytes.
    pub mem: f64,
    /// Most tasks open at once.
    pub open: u64,
    /// Invalid signatures handed in / rejected (or excluded from aggregates), summed.
    pub invalid: u64,
    /// See `invalid`.
    pub invalid_rejected: u64,
    /// Correctness violations (valid rejected, invalid accepted, early responses, errors).
    pub violations: u64,
    /// Runs measured a prefix of the stream.
    pub truncated: bool,
    /// Repeats.
    pub runs: usize,
    /// 2-pairing check cost measured in the same processes, µs (median).
    pub pairing_us: f64,
    /// Offered rate (paced runs).
    pub rate: Option<f64>,
    /// Delivered aggregates checked after the timed part, per run (Quorate).
    pub checked: Vec<u64>,
}

/// One workload's results.
pub struct Row {
    /// The workload.
    pub spec: Spec,
    /// Per implementation.
    pub per: BTreeMap<Impl, Stats>,
}

impl Row {
    /// `imp`'s throughput per core-second ÷ eigensdk's on this workload.
    pub fn ratio(&self, imp: Impl) -> Option<f64> {
        let base = self.per.get(&Impl::Eigensdk)?.thr;
        let q = self.per.get(&imp)?.thr;
        (base > 0.0 && q > 0.0).then(|| q / base)
    }
}

/// Groups runs by workload and implementation.
pub fn rows(results: &[(Spec, WorkerOutput)]) -> Vec<Row> {
    let mut groups: BTreeMap<Spec, BTreeMap<Impl, Vec<&WorkerOutput>>> = BTreeMap::new();
    for (spec, out) in results {
        groups
            .entry(*spec)
            .or_default()
            .entry(out.args.imp)
            .or_default()
            .push(out);
    }
    let mut rows: Vec<Row> = groups
        .into_iter()
        .map(|(spec, per)| {
            let per = per
                .into_iter()
                .map(|(imp, outs)| {
                    let ms = |f: fn(&Measured) -> Option<f64>| {
                        median(outs.iter().filter_map(|o| f(&o.measured)).collect())
                            .map(|us| us / 1000.0)
                    };
                    fn m<'a>(o: &&'a WorkerOutput) -> &'a Measured {
                        &o.measured
                    }
                    let stats = Stats {
                        thr: median(outs.iter().map(|o| throughput(m(o))).collect()).unwrap_or(0.0),
                        wall: median(outs.iter().map(|o| wall_throughput(m(o))).collect())
                            .unwrap_or(0.0),
                        p50: ms(|m| m.lat_p50_us),
                        p99: ms(|m| m.lat_p99_us),
                        max: ms(|m| m.lat_max_us),
                        mem: median(outs.iter().map(|o| m(o).peak_mem_bytes as f64).collect())
                            .unwrap_or(0.0),
                        open: outs.iter().map(|o| m(o).max_open_tasks).max().unwrap_or(0),
                        invalid: outs.iter().map(|o| m(o).submitted_invalid).sum(),
                        invalid_rejected: outs
                            .iter()
                            .map(|o| {
                                let m = m(o);
                                if m.unverified > 0 {
                                    // Optimistic: an invalid signature is rejected when it is
                                    // left out of its task's checked aggregate.
                                    m.submitted_invalid.saturating_sub(m.invalid_in_aggregates)
                                } else {
                                    m.rejected_invalid - m.valid_rejected
                                }
                            })
                            .sum(),
                        violations: outs
                            .iter()
                            .map(|o| {
                                let m = m(o);
                                m.valid_rejected
                                    + m.invalid_verified
                                    + m.invalid_in_aggregates
                                    + m.early
                                    + m.other_errors
                                    + m.tasks_failed
                            })
                            .sum(),
                        truncated: outs.iter().any(|o| o.args.truncate.is_some()),
                        runs: outs.len(),
                        pairing_us: median(outs.iter().map(|o| o.pairing_check_us).collect())
                            .unwrap_or(0.0),
                        rate: outs.iter().find_map(|o| o.args.rate),
                        checked: outs.iter().map(|o| o.aggregates_checked).collect(),
                    };
                    (imp, stats)
                })
                .collect();
            Row { spec, per }
        })
        .collect();
    // Invalid patterns last: each workload's rows with invalid signatures come right after
    // its all-valid row.
    rows.sort_by_key(|r| {
        (
            r.spec.paced,
            r.spec.cores,
            r.spec.quorums,
            r.spec.ops,
            r.spec.inflight,
            r.spec.invalid,
        )
    });
    rows
}

/// A workload's name in tables and the chart.
pub fn workload(s: &Spec) -> String {
    let mut w = format!("{} ops × {} in flight", s.ops, s.inflight);
    if s.invalid != Invalid::None {
        let _ = write!(w, ", {}", s.invalid.describe());
    }
    if s.quorums > 1 {
        let _ = write!(w, ", {} quorums", s.quorums);
    }
    if s.cores > 1 {
        let _ = write!(w, ", {} cores", s.cores);
    }
    match s.paced {
        0 => {}
        2 => w.push_str(", paced at ½ max"),
        4 => w.push_str(", paced at ¼ max"),
        n => {
            let _ = write!(w, ", paced at 1/{n} max");
        }
    }
    w
}

fn fmt_thr(s: Option<&Stats>) -> String {
    match s {
        Some(s) if s.thr > 0.0 => {
            let mark = if s.truncated { "†" } else { "" };
            format!("{:.0}{mark}", s.thr)
        }
        _ => "n/a".into(),
    }
}

/// A ratio, or n/a.
pub fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or("n/a".into(), |r| format!("{r:.1}×"))
}

/// A two-core scaling ratio: two decimals, since the target (1.8×) sits where one decimal
/// would round a miss up to it (1.78 printed as "1.8×, missed").
pub fn fmt_scaling(r: Option<f64>) -> String {
    r.map_or("n/a".into(), |r| format!("{r:.2}×"))
}

/// Milliseconds, or —.
pub fn fmt_ms(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| {
        if v < 10.0 {
            format!("{v:.2}")
        } else {
            format!("{v:.0}")
        }
    })
}

/// The throughput table for the terminal.
pub fn terminal_table(rows: &[Row]) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{:<56} {:>12} {:>14} {:>8} {:>14} {:>8}",
        "workload", "eigensdk", "Q eager", "ratio", "Q optimistic", "ratio"
    );
    for r in rows
        .iter()
        .filter(|r| r.spec.paced == 0 && r.spec.cores == 1)
    {
        let _ = writeln!(
            t,
            "{:<56} {:>12} {:>14} {:>8} {:>14} {:>8}",
            workload(&r.spec),
            fmt_thr(r.per.get(&Impl::Eigensdk)),
            fmt_thr(r.per.get(&Impl::Eager)),
            fmt_ratio(r.ratio(Impl::Eager)),
            fmt_thr(r.per.get(&Impl::Optimistic)),
            fmt_ratio(r.ratio(Impl::Optimistic)),
        );
    }
    for r in rows.iter().filter(|r| r.spec.paced > 0) {
        for (imp, s) in &r.per {
            let _ = writeln!(
                t,
                "{:<56} {:<18} p50 {} ms, p99 {} ms, max {} ms; {:.1} KiB/task; 2-pairing check {:.2} ms",
                workload(&r.spec),
                imp.label(),
                fmt_ms(s.p50),
                fmt_ms(s.p99),
                fmt_ms(s.max),
                s.mem / 1024.0 / s.open.max(1) as f64,
                s.pairing_us / 1000.0
            );
        }
    }
    t
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|r| r.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// Two-core runs against the one-core runs of the same workload: per implementation, the
/// wall-clock throughput on one core and on two (sig/s).
pub fn scaling(rows: &[Row]) -> Vec<(Impl, f64, f64)> {
    let Some(two) = rows.iter().find(|r| r.spec.cores > 1 && r.spec.paced == 0) else {
        return Vec::new();
    };
    let one_spec = Spec {
        cores: 1,
        ..two.spec
    };
    let Some(one) = rows.iter().find(|r| r.spec == one_spec) else {
        return Vec::new();
    };
    two.per
        .iter()
        .filter_map(|(imp, s2)| Some((*imp, one.per.get(imp)?.wall, s2.wall)))
        .collect()
}

/// The scaling lines of the terminal summary.
pub fn terminal_scaling(rows: &[Row]) -> String {
    let mut t = String::new();
    for (imp, one, two) in scaling(rows) {
        let _ = writeln!(
            t,
            "two cores vs one, {:<18} {one:>9.0} → {two:>9.0} sig/s (wall): {}",
            imp.label(),
            fmt_scaling((one > 0.0).then(|| two / one))
        );
    }
    t
}

/// The Markdown page.
pub fn markdown(
    rows: &[Row],
    results: &[(Spec, WorkerOutput)],
    command: &str,
    seconds: f64,
    (cpu, cpus2): (usize, &str),
) -> String {
    let mut md = String::new();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let pairing = median(results.iter().map(|(_, o)| o.pairing_check_us).collect()).unwrap_or(0.0);
    let _ = writeln!(md, "# Performance: Quorate vs eigensdk-rs\n");
    let _ = writeln!(
        md,
        "Generated by `{command}` ({seconds:.0} s) on {} ({cores} cores, shared with other work), every \
         measured process pinned to CPU {cpu} (the two-core runs: CPUs {cpus2}). One 2-pairing \
         check (multi-Miller loop + final exponentiation, arkworks ark-bn254 0.5) took **{:.2} ms** \
         (median over all runs): that is the physical floor of one response's latency.\n",
        cpu_model(),
        pairing / 1000.0
    );
    let _ = writeln!(
        md,
        "What the figures mean, what profiling found and what was changed because of it: \
         [performance-analysis.md](performance-analysis.md).\n"
    );
    let _ = writeln!(md, "![throughput per core](performance.png)\n");
    let _ = writeln!(md, "## Targets\n");
    md.push_str(&targets(rows));
    let _ = writeln!(
        md,
        "\n## Throughput: signatures settled per core-second (median of repeats)\n"
    );
    let _ = writeln!(
        md,
        "Settled: eigensdk and Quorate eager give each signature its own verdict (verified or \
         rejected); Quorate optimistic accepts signatures unverified and settles them when their \
         task completes, by checking the task's aggregate (and locating the invalid ones if that \
         check fails): its signatures are settled, not individually verified. Each workload's \
         rows with invalid signatures follow its all-valid row.\n"
    );
    let _ = writeln!(
        md,
        "| workload | eigensdk | Quorate eager | eager ÷ eigensdk | Quorate optimistic | optimistic ÷ eigensdk | runs |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    for r in rows
        .iter()
        .filter(|r| r.spec.paced == 0 && r.spec.cores == 1)
    {
        let runs = r.per.values().map(|s| s.runs).max().unwrap_or(0);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {runs} |",
            workload(&r.spec),
            fmt_thr(r.per.get(&Impl::Eigensdk)),
            fmt_thr(r.per.get(&Impl::Eager)),
            fmt_ratio(r.ratio(Impl::Eager)),
            fmt_thr(r.per.get(&Impl::Optimistic)),
            fmt_ratio(r.ratio(Impl::Optimistic)),
        );
    }
    let _ = writeln!(
        md,
        "\n† measured on a prefix of the workload (its first signatures, with all its tasks \
         opened before timing), rate extrapolated: a whole wave would not fit the time budget. \
         eigensdk verifies each signature inline, one at a time, so its rate does not depend on \
         how many signatures follow. n/a: an optimistic run would need a prefix too, and a prefix \
         settles no optimistic task (signatures are checked when their task completes); the \
         paced run below measures optimistic mode at 10 000 in flight. Eager runs with random \
         invalid signatures get a full wave where it fits, as optimistic ones do: a prefix ends \
         with every task holding a few signatures, flushed as one small search per task.\n"
    );
    md.push_str(&scaling_section(rows, cpu, cpus2));
    md.push_str(&latency_section(rows));
    md.push_str(&checked_section(rows));
    md.push_str(&METHOD.replace("{linger}", &crate::orchestrate::EAGER_LINGER_MS.to_string()));
    md
}

fn scaling_section(rows: &[Row], cpu: usize, cpus2: &str) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "## Two cores vs one\n");
    let sc = scaling(rows);
    let Some(two) = rows.iter().find(|r| r.spec.cores > 1 && r.spec.paced == 0) else {
        let _ = writeln!(md, "Not measured in this run (fewer than two CPUs).\n");
        return md;
    };
    let _ = writeln!(
        md,
        "{}: one core (CPU {cpu}; current-thread tokio runtime, Quorate with \
         `verification_threads: 1`) against two (CPUs {cpus2}; multi-thread tokio runtime with 2 \
         workers, Quorate with `verification_threads: 2`). Signatures settled per wall-clock \
         second, because the point is what a second core adds; the other tenants of this \
         machine share both CPUs, so these are noisier than the per-core figures. Quorate's \
         runs on both sides last four times the common budget, and a full run adds two rounds \
         of them (each one-core run right before its two-core run), so each side's median is \
         taken over five runs.\n",
        workload(&Spec {
            cores: 1,
            ..two.spec
        })
    );
    let _ = writeln!(
        md,
        "| implementation | one core, sig/s | two cores, sig/s | two ÷ one |\n|---|---:|---:|---:|"
    );
    for (imp, one, two) in sc {
        let _ = writeln!(
            md,
            "| {} | {one:.0} | {two:.0} | {} |",
            imp.label(),
            fmt_ratio((one > 0.0).then(|| two / one))
        );
    }
    md.push('\n');
    md
}

fn latency_section(rows: &[Row]) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "## Latency and memory\n");
    let _ = writeln!(
        md,
        "Latency: from handing in a task's threshold-completing signature to its response \
         arriving at the consumer (eigensdk: `AggregateReceiver`; Quorate: `subscribe()`), in ms, \
         for 1 task in flight and for the paced run. With 1 task in flight the driver hands in \
         the task's signatures as a burst of n signatures (it does not wait for verdicts), so the \
         figure includes working through that burst: eigensdk verifies the n signatures one by \
         one, Quorate eager verifies them in batches, Quorate optimistic accepts them and checks \
         one aggregate when the task completes. Saturated runs with many tasks in flight only \
         measure queueing behind up to {MAX_OUTSTANDING} outstanding signatures, so their latency \
         is not shown. Memory: peak resident set size (VmHWM, reset before the timed part) minus \
         the resident set size with the workload pre-generated, divided by the most tasks open \
         at once.\n"
    );
    let _ = writeln!(
        md,
        "| workload | implementation | p50 | p99 | max | p99 ÷ eigensdk | peak MiB | KiB per open task | memory ÷ eigensdk |\n|---|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in rows.iter().filter(|r| r.spec.cores == 1) {
        let base = r.per.get(&Impl::Eigensdk);
        let show_lat = r.spec.inflight == 1 || r.spec.paced > 0;
        for (imp, s) in &r.per {
            let per_task = s.mem / 1024.0 / s.open.max(1) as f64;
            let lat_ratio = if *imp != Impl::Eigensdk && show_lat {
                s.p99.zip(base.and_then(|b| b.p99)).map(|(a, b)| a / b)
            } else {
                None
            };
            let mem_ratio = if *imp == Impl::Eigensdk {
                None
            } else {
                base.filter(|b| b.mem > 0.0 && b.open == s.open)
                    .map(|b| s.mem / b.mem)
            };
            let lat = |v: Option<f64>| if show_lat { fmt_ms(v) } else { "—".into() };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {:.1} | {:.1} | {} |",
                workload(&r.spec),
                imp.label(),
                lat(s.p50),
                lat(s.p99),
                lat(s.max),
                lat_ratio.map_or("—".into(), |r| format!("{r:.2}×")),
                s.mem / (1024.0 * 1024.0),
                per_task,
                mem_ratio.map_or("—".into(), |r| format!("{r:.2}×"))
            );
        }
    }
    md.push('\n');
    md
}

fn checked_section(rows: &[Row]) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "## Correctness\n");
    let violations: u64 = rows
        .iter()
        .flat_map(|r| r.per.values())
        .map(|s| s.violations)
        .sum();
    let (inv, rej): (u64, u64) = rows
        .iter()
        .flat_map(|r| r.per.values())
        .fold((0, 0), |(a, b), s| (a + s.invalid, b + s.invalid_rejected));
    let _ = writeln!(
        md,
        "Over every run: {rej} of {inv} invalid signatures rejected (eager modes: by the verdict; \
         optimistic: left out of the checked aggregate); {violations} violations (valid signature \
         rejected, invalid one accepted or aggregated, response before its last signature, task \
         error).\n"
    );
    let _ = writeln!(
        md,
        "After the timed part of every Quorate run, the worker checks every aggregate it \
         delivered: the aggregate signature must pass the BLS crate's `check_aggregate` \
         (`BLSSignatureChecker`'s equation) against its signers' keys, and its signers must be \
         exactly the task's valid signers; any mismatch fails the run, naming the task. \
         Aggregates checked, per run:\n"
    );
    let _ = writeln!(
        md,
        "| workload | Quorate eager | Quorate optimistic |\n|---|---:|---:|"
    );
    let per_run = |r: &Row, imp: Impl| {
        r.per.get(&imp).map_or("—".into(), |s| {
            let v: Vec<String> = s.checked.iter().map(u64::to_string).collect();
            v.join(", ")
        })
    };
    for r in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            workload(&r.spec),
            per_run(r, Impl::Eager),
            per_run(r, Impl::Optimistic)
        );
    }
    let _ = writeln!(
        md,
        "\nA run measured on a prefix (†) checks the tasks it completed, often none.\n"
    );
    md
}

const METHOD: &str = "## Method\n\n\
- **Same workload for all three.** Operators have equal stake in every quorum; each task has a \
distinct digest and every operator signs it. The quorum threshold of a task is exactly the share \
of its valid signatures, so a task completes with its last valid signature and every signature is \
processed before completion (the last one to arrive is always valid). Invalid signatures are \
on-curve G1 points that do not verify (valid signature + generator), in one of two patterns: \
*at random* (a share of all signatures, spread evenly over tasks, from operators drawn anew for \
every task; 5% at 10 ops/task: one invalid signature in every other task) or *fixed faulty \
operators* (the same k operators sign invalidly in every task, like a misconfigured or \
malicious key: the case Quorate's quarantine of failed operators targets).\n\
- **Arrival order.** `inflight` slots each run tasks back to back; rounds visit every busy slot \
once. Slots start late by different numbers of rounds so that completions are spread evenly \
(steady state) rather than all in one round: slot *j* starts ⌊*j*·ops/inflight⌋ rounds late \
when there are fewer slots than operators, else *j* mod ops rounds late, so the slots that \
finish in one round are ops apart in its order, not back to back. A task is initialized just before its first \
signature, and a slot's next task opens when the slot's previous task has been answered; until \
then that slot's arrivals are held back while the other slots' keep coming, as independent \
clients' would (at most one task per slot held back; up to `80313b4` the driver blocked the \
whole stream on one slot's answer, so at 100 × 100 only one task could complete at a time and \
tasks' aggregate checks could neither overlap nor share a final exponentiation). \
At most 8 192 signatures await a verdict at once (like an RPC server's concurrency).\n\
- **One core.** Each run is its own process, pinned with `taskset -c` to one CPU: a current-thread \
tokio runtime drives everything; Quorate runs with `verification_threads: 1` (its one blocking \
verification thread shares the same CPU); eigensdk verifies inline on the same runtime. \
Throughput is signatures settled ÷ process CPU time (user + system, all threads) over the timed \
part, which keeps other tenants of the machine out of the figure. A signature is settled when it \
gets a verdict (eigensdk, eager) or when its task's checked aggregate is delivered (optimistic: \
its per-signature answer is 'accepted unverified'). The two-core runs are the exception \
(see *Two cores vs one*).\n\
- **Eager mode's linger.** Quorate eager runs with `verification_linger` = {linger} ms: a task \
holds its streaming signatures up to that long and checks them together, and the signature \
that could complete the task releases them at once (so a task's answer is not delayed; the \
verdicts of the signatures before it are, by at most the linger). The default is 0 (each \
arrival checked at once).\n\
- **Warm-up with fixed faulty operators.** Quorate quarantines an operator at its second failed \
check with no clean check between (an operator that fails now and then stays batched), but by then the first wave of tasks (one per slot) has taken the faulty signatures in \
unchecked. For Quorate on those workloads the first two waves are handed in untimed (with \
staggered slots, a first-wave task completes, and pays its failed aggregate check, up to a \
wave after its slot started; the window opens only once every warm-up arrival is handed in, \
so those checks are not billed to it) and the next three waves are measured (the steady state a \
long-running aggregator is in); eigensdk's cost does not depend on history.\n\
- **Warm-up with random invalid signatures.** Quorate estimates the fault rate from its own \
recent checks (how often an aggregate check fails, how many invalid signatures a failing batch \
holds) and starts each search accordingly, so its first wave of tasks pays for that learning. \
Where three waves fit in 100 000 signatures (10 × 100 and 100 × 100), Quorate's runs hand the \
first wave in untimed and measure the next two; larger workloads (1000 × 100, 100 × 10 000) measure one wave or a \
prefix, which understates Quorate.\n\
- **Alternating A/B.** Every repeat runs all workloads; the order of the three implementations \
flips from one run to the next. Tables show medians.\n\
- **Setup is not timed.** Keys and signatures are generated before the timed part; secrets form \
an arithmetic progression so that each key and signature costs one group addition (neither \
aggregator can tell; verification is unaffected). eigensdk gets the same secrets through its \
own `BlsKeyPair` and `FakeAvsRegistryService`, both implementations the same operator ids.\n\
- **Paced run.** The latency and memory targets are measured with signatures offered on a fixed \
schedule at half the maximum throughput measured (median wall-clock rate of the saturated runs \
of the same workload and mode, or, when those measured only a prefix, of one saturated full wave \
with one task per slot), stopping after a fixed time; latencies of the tasks completed by \
then are reported. The stream holds more tasks per slot than that time allows, so the run ends \
with every slot busy (steady state), before slots run out of tasks.\n";
