//! Medians, ratios, target checks, the Markdown page and the PNG chart.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use plotters::prelude::*;

use super::driver::{Measured, MAX_OUTSTANDING};
use super::orchestrate::Spec;
use super::{Impl, WorkerOutput};

/// Signatures settled per CPU-second (the worker is pinned to one core).
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
    /// Signatures per core-second.
    pub thr: f64,
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
}

/// One workload's results.
pub struct Row {
    /// The workload.
    pub spec: Spec,
    /// Per implementation.
    pub per: BTreeMap<Impl, Stats>,
}

impl Row {
    fn ratio(&self, imp: Impl) -> Option<f64> {
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
                    };
                    (imp, stats)
                })
                .collect();
            Row { spec, per }
        })
        .collect();
    rows.sort_by_key(|r| {
        (
            r.spec.paced,
            r.spec.invalid_permille,
            r.spec.quorums,
            r.spec.ops,
            r.spec.inflight,
        )
    });
    rows
}

fn workload(s: &Spec) -> String {
    let mut w = format!("{} ops × {} in flight", s.ops, s.inflight);
    if s.invalid_permille > 0 {
        let _ = write!(w, ", {}% invalid", s.invalid_permille as f64 / 10.0);
    }
    if s.quorums > 1 {
        let _ = write!(w, ", {} quorums", s.quorums);
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

fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or("n/a".into(), |r| format!("{r:.1}×"))
}

fn fmt_ms(v: Option<f64>) -> String {
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
        "{:<48} {:>12} {:>14} {:>8} {:>14} {:>8}",
        "workload", "eigensdk", "Q eager", "ratio", "Q optimistic", "ratio"
    );
    for r in rows.iter().filter(|r| r.spec.paced == 0) {
        let _ = writeln!(
            t,
            "{:<48} {:>12} {:>14} {:>8} {:>14} {:>8}",
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
                "{:<48} {:<18} p50 {} ms, p99 {} ms, max {} ms; {:.1} KiB/task; 2-pairing check {:.2} ms",
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

fn find(rows: &[Row], ops: usize, inflight: usize, invalid: u32, paced: u8) -> Option<&Row> {
    rows.iter().find(|r| {
        r.spec.ops == ops
            && r.spec.inflight == inflight
            && r.spec.invalid_permille == invalid
            && r.spec.quorums == 1
            && r.spec.paced == paced
    })
}

fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "**holds**",
        Some(false) => "**missed**",
        None => "not measured in this run",
    }
}

/// The targets of the issue, checked against the measured rows.
fn targets(rows: &[Row]) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "| target | mode | measured | verdict |\n|---|---|---|---|"
    );
    for imp in [Impl::Eager, Impl::Optimistic] {
        let r = find(rows, 100, 100, 0, 0).and_then(|r| r.ratio(imp));
        let _ = writeln!(
            t,
            "| 100 ops/task, 100 in flight: throughput ≥ 50× eigensdk | {} | {} | {} |",
            imp.label(),
            fmt_ratio(r),
            verdict(r.map(|r| r >= 50.0))
        );
    }
    for imp in [Impl::Eager, Impl::Optimistic] {
        let r = find(rows, 10, 100, 0, 0).and_then(|r| r.ratio(imp));
        let _ = writeln!(
            t,
            "| 10 ops/task (100 in flight): throughput ≥ 5× eigensdk | {} | {} | {} |",
            imp.label(),
            fmt_ratio(r),
            verdict(r.map(|r| r >= 5.0))
        );
    }
    for imp in [Impl::Eager, Impl::Optimistic] {
        let row = find(rows, 100, 100, 50, 0);
        let r = row.and_then(|r| r.ratio(imp));
        let s = row.and_then(|r| r.per.get(&imp));
        let all = s.map(|s| s.invalid_rejected == s.invalid && s.violations == 0);
        let _ = writeln!(
            t,
            "| 5% invalid, 100 ops/task: throughput ≥ 20× eigensdk and every invalid signature rejected | {} | {}; {} of {} invalid rejected | {} |",
            imp.label(),
            fmt_ratio(r),
            s.map_or(0, |s| s.invalid_rejected),
            s.map_or(0, |s| s.invalid),
            verdict(r.zip(all).map(|(r, all)| r >= 20.0 && all))
        );
    }
    let paced = rows.iter().find(|r| r.spec.paced == 2);
    for imp in [Impl::Eager, Impl::Optimistic] {
        let s = paced.and_then(|r| r.per.get(&imp));
        let label = paced.map_or(String::new(), |r| {
            format!("{} ops × {} in flight", r.spec.ops, r.spec.inflight)
        });
        let (lat, bound) = (
            s.and_then(|s| s.p99),
            s.map(|s| 2.0 * s.pairing_us / 1000.0),
        );
        let _ = writeln!(
            t,
            "| {label} at ½ max throughput: p99 ≤ 2 × one 2-pairing check | {} | p99 {} ms vs bound {} ms (offered {:.0} sig/s) | {} |",
            imp.label(),
            fmt_ms(lat),
            fmt_ms(bound),
            s.and_then(|s| s.rate).unwrap_or(0.0),
            verdict(lat.zip(bound).map(|(l, b)| l <= b))
        );
        let kib = s.map(|s| s.mem / 1024.0 / s.open.max(1) as f64);
        let _ = writeln!(
            t,
            "| {label} at ½ max throughput: peak memory ≤ 20 KiB per active task | {} | {} KiB/task ({} tasks open) | {} |",
            imp.label(),
            kib.map_or("n/a".into(), |k| format!("{k:.1}")),
            s.map_or(0, |s| s.open),
            verdict(kib.map(|k| k <= 20.0))
        );
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

/// The Markdown page.
pub fn markdown(
    rows: &[Row],
    results: &[(Spec, WorkerOutput)],
    command: &str,
    seconds: f64,
    cpu: usize,
) -> String {
    let mut md = String::new();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let pairing = median(results.iter().map(|(_, o)| o.pairing_check_us).collect()).unwrap_or(0.0);
    let _ = writeln!(md, "# Performance: Quorate vs eigensdk-rs\n");
    let _ = writeln!(
        md,
        "Generated by `{command}` ({seconds:.0} s) on {} ({cores} cores, shared with other work), every \
         measured process pinned to CPU {cpu}. One 2-pairing check (multi-Miller loop + final \
         exponentiation, arkworks ark-bn254 0.5) took **{:.2} ms** (median over all runs): that is \
         the physical floor of one response's latency.\n",
        cpu_model(),
        pairing / 1000.0
    );
    let _ = writeln!(
        md,
        "What the figures mean, what profiling found and what was changed because of it: \
         [performance-analysis.md](performance-analysis.md).\n"
    );
    let _ = writeln!(md, "![throughput per core](performance.png)\n");
    let _ = writeln!(
        md,
        "## Throughput: signatures per core-second (median of repeats)\n"
    );
    let _ = writeln!(
        md,
        "| workload | eigensdk | Quorate eager | eager ÷ eigensdk | Quorate optimistic | optimistic ÷ eigensdk | runs |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    for r in rows.iter().filter(|r| r.spec.paced == 0) {
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
         paced run below measures optimistic mode at 10 000 in flight.\n"
    );
    let _ = writeln!(md, "## Latency and memory\n");
    let _ = writeln!(
        md,
        "Latency: from handing in a task's threshold-completing signature to its response \
         arriving at the consumer (eigensdk: `AggregateReceiver`; Quorate: `subscribe()`), in ms. \
         Shown for 1 task in flight (closed loop, no queueing) and for the paced run; saturated \
         runs with many tasks in flight only measure queueing behind up to {MAX_OUTSTANDING} \
         outstanding signatures, so their latency is not shown. Memory: peak resident set size \
         (VmHWM, reset before the timed part) minus the resident set size with the workload \
         pre-generated, divided by the most tasks open at once.\n"
    );
    let _ = writeln!(
        md,
        "| workload | implementation | p50 | p99 | max | p99 ÷ eigensdk | peak MiB | KiB per open task | memory ÷ eigensdk |\n|---|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in rows {
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
    let _ = writeln!(md, "\n## Targets\n");
    md.push_str(&targets(rows));
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
        "\nCorrectness over every run: {rej} of {inv} invalid signatures rejected (eager modes: \
         by the verdict; optimistic: left out of the checked aggregate); {violations} violations \
         (valid signature rejected, invalid one accepted or aggregated, response before its last \
         signature, task error).\n"
    );
    md.push_str(METHOD);
    md
}

const METHOD: &str = "## Method\n\n\
- **Same workload for all three.** Operators have equal stake in every quorum; each task has a \
distinct digest and every operator signs it. The quorum threshold of a task is exactly the share \
of its valid signatures, so a task completes with its last valid signature and every signature is \
processed before completion (the last one to arrive is always valid). Invalid signatures are \
on-curve G1 points that do not verify (valid signature + generator), spread evenly over tasks \
(5% at 10 ops/task: one invalid signature in every other task).\n\
- **Arrival order.** `inflight` slots each run tasks back to back; rounds visit every busy slot \
once. Slots start late by different numbers of rounds so that completions are spread evenly \
(steady state) rather than all in one round: slot *j* starts ⌊*j*·ops/inflight⌋ rounds late \
when there are fewer slots than operators, else *j* mod ops rounds late, so the slots that \
finish in one round are ops apart in its order, not back to back. A task is initialized just before its first \
signature; with `inflight` tasks open the driver waits for a response before opening another. \
At most 8 192 signatures await a verdict at once (like an RPC server's concurrency).\n\
- **One core.** Each run is its own process, pinned with `taskset -c` to one CPU: a current-thread \
tokio runtime drives everything; Quorate runs with `verification_threads: 1` (its one blocking \
verification thread shares the same CPU); eigensdk verifies inline on the same runtime. \
Throughput is signatures settled ÷ process CPU time (user + system, all threads) over the timed \
part, which keeps other tenants of the machine out of the figure. A signature is settled when it \
gets a verdict (eigensdk, eager) or when its task's checked aggregate is delivered (optimistic: \
its per-signature answer is 'accepted unverified').\n\
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

/// Throughput per workload, log scale, one bar per implementation.
pub fn chart(rows: &[Row], path: &Path) -> Result<()> {
    let font = [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
    ]
    .iter()
    .find_map(|p| std::fs::read(p).ok())
    .context("no DejaVuSans.ttf found (apt-get install fonts-dejavu-core)")?;
    let font: &'static [u8] = Box::leak(font.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, font)
        .map_err(|_| anyhow!("could not load the chart font"))?;
    let rows: Vec<&Row> = rows.iter().filter(|r| r.spec.paced == 0).collect();
    let max = rows
        .iter()
        .flat_map(|r| r.per.values())
        .map(|s| s.thr)
        .fold(1.0, f64::max);
    let root = BitMapBackend::new(path, (1400, 800)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Signatures verified per core-second (log scale)",
            ("sans-serif", 28),
        )
        .margin(20)
        .x_label_area_size(230)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..rows.len() as f64, (10f64..max * 3.0).log_scale())
        .map_err(|e| anyhow!("{e}"))?;
    let labels: Vec<String> = rows.iter().map(|r| workload(&r.spec)).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(rows.len() * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            if (x - i as f64 - 0.5).abs() < 0.01 {
                labels.get(i).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .x_label_style(
            ("sans-serif", 15)
                .into_font()
                .transform(FontTransform::Rotate90),
        )
        .y_desc("signatures / core-second")
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    let colors = [
        (Impl::Eigensdk, RGBColor(150, 150, 150)),
        (Impl::Eager, RGBColor(31, 119, 180)),
        (Impl::Optimistic, RGBColor(255, 127, 14)),
    ];
    for (k, &(imp, color)) in colors.iter().enumerate() {
        let bars = rows.iter().enumerate().filter_map(|(i, r)| {
            let s = r.per.get(&imp)?;
            (s.thr > 0.0).then(|| {
                let x0 = i as f64 + 0.12 + k as f64 * 0.26;
                Rectangle::new([(x0, 10.0), (x0 + 0.24, s.thr)], color.filled())
            })
        });
        chart
            .draw_series(bars)
            .map_err(|e| anyhow!("{e}"))?
            .label(imp.label())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 18))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    root.present().map_err(|e| anyhow!("{e}"))?;
    Ok(())
}
