//! `cargo xtask soak --minutes N`: steady load on an `AggregatorCore` with a churn of tasks and
//! every kind of bad or badly timed signature, sampling resident memory and the core's map sizes
//! every second.
//!
//! Uses the fake signature scheme (cheap arithmetic instead of pairings), so the run exercises
//! the runtime's bookkeeping (task maps, pending buffer, result store, queues) at hundreds of
//! tasks per second rather than the BLS arithmetic. Fails when
//! - resident memory grows over the second half of the run by more than 1 % of its mean per
//!   minute (least-squares slope), or
//! - any accounting mismatch appears: a task that does not end exactly once, a waiter with no
//!   answer or an answer about another task, or a configured bound exceeded.
//!
//! Writes a memory-over-time PNG (default `target/soak/memory.png`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use plotters::prelude::*;
use quorate_bls::fake::{FakeKeyPair, FakePoint, FakeScheme};
use quorate_domain::{
    OperatorId, QuorumNumber, ResponseDigest, SignedTaskResponse, Stake, TaskId, TaskMetadata,
};
use quorate_runtime::memory::{InMemoryOperator, InMemoryRegistry};
use quorate_runtime::{AggregatorConfig, AggregatorCore, VerificationMode};
use rand::{Rng, SeedableRng};

/// Arguments of `cargo xtask soak`.
#[derive(clap::Args, Debug)]
pub struct SoakArgs {
    /// Minutes of load.
    #[arg(long, default_value_t = 10)]
    pub minutes: u64,
    /// Seconds of load (overrides --minutes; for CI).
    #[arg(long)]
    pub seconds: Option<u64>,
    /// New tasks per second.
    #[arg(long, default_value_t = 200)]
    pub rate: u64,
    /// Allowed memory growth over the second half, in % of mean RSS per minute.
    #[arg(long, default_value_t = 1.0)]
    pub max_slope: f64,
    /// Where the memory chart goes.
    #[arg(long, default_value = "target/soak/memory.png")]
    pub png: PathBuf,
}

const OPERATORS: usize = 12;
const BLOCK: u64 = 1;

type Core = AggregatorCore<FakeScheme, InMemoryRegistry<FakeScheme>>;

fn config(mode: VerificationMode) -> AggregatorConfig {
    AggregatorConfig {
        verification_mode: mode,
        max_active_tasks: 2_000,
        max_pending_tasks: 200,
        max_pending_signatures_per_task: 16,
        pending_signature_timeout: Duration::from_millis(500),
        max_digests_per_task: 4,
        max_stored_responses: 500,
        task_queue_capacity: 64,
        max_recorded_errors_per_task: 16,
        verification_threads: 1,
        pending_cleanup_interval: Duration::from_millis(100),
        ..AggregatorConfig::default()
    }
}

/// Counts kept by the load generator, checked against the core's own.
#[derive(Default)]
struct Ledger {
    initialized: AtomicU64,
    waiters: AtomicU64,
    answers: AtomicU64,
    wrong_task: AtomicU64,
    signatures: AtomicU64,
}

struct World {
    core: Core,
    keys: Vec<FakeKeyPair>,
    ids: Vec<OperatorId>,
    ledger: Ledger,
}

/// One sample per second.
#[derive(Clone, Copy, Debug)]
struct Sample {
    t: f64,
    rss_mib: f64,
    active: usize,
    pending_tasks: usize,
    pending_sigs: usize,
    stored: usize,
}

fn rss_kib() -> anyhow::Result<u64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow!("no VmRSS in /proc/self/status"))
}

/// Least-squares slope of y over x.
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    let (num, den) = points.iter().fold((0.0, 0.0), |(a, b), (x, y)| {
        (a + (x - mx) * (y - my), b + (x - mx) * (x - mx))
    });
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}

impl World {
    fn signed(&self, op: usize, task: TaskId, d: ResponseDigest) -> SignedTaskResponse<FakePoint> {
        SignedTaskResponse {
            task_id: task,
            digest: d,
            signature: self.keys[op].sign(&d),
            operator_id: self.ids[op],
        }
    }

    async fn send(&self, s: SignedTaskResponse<FakePoint>) {
        let task = s.task_id;
        self.ledger.signatures.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = self.core.process_signed_response(s).await {
            if e.task_id() != Some(task) {
                self.ledger.wrong_task.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    async fn init(&self, id: TaskId, threshold: u8, expiry: Duration) -> bool {
        let Ok(meta) = TaskMetadata::from_raw(id, BLOCK, &[(0, threshold), (1, threshold)], expiry)
        else {
            return false;
        };
        match self.core.initialize_task(meta).await {
            Ok(()) => {
                self.ledger.initialized.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(e) => {
                if e.task_id() != Some(id) {
                    self.ledger.wrong_task.fetch_add(1, Ordering::Relaxed);
                }
                false
            }
        }
    }

    async fn wait(&self, id: TaskId, timeout: Duration) {
        self.ledger.waiters.fetch_add(1, Ordering::Relaxed);
        let answer = self.core.wait_for_aggregation(id, timeout).await;
        self.ledger.answers.fetch_add(1, Ordering::Relaxed);
        let named = match &answer {
            Ok(agg) => Some(agg.task_id),
            Err(e) => e.task_id(),
        };
        if named != Some(id) {
            self.ledger.wrong_task.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// One task's life, chosen at random: honest, expiring, early, orphaned, noisy.
async fn life(world: Arc<World>, n: u64, seed: u64) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let id = TaskId::from(u32::try_from(n % u64::from(u32::MAX)).unwrap_or(1).max(1));
    let d = ResponseDigest::new({
        let mut b = [0u8; 32];
        b[..8].copy_from_slice(&n.to_be_bytes());
        b
    });
    let other = ResponseDigest::new([0xee; 32]);
    let kind = rng.gen_range(0..100u32);
    let ms = |a: u64, b: u64, rng: &mut rand_chacha::ChaCha8Rng| {
        Duration::from_millis(rng.gen_range(a..b))
    };
    if kind < 8 {
        // Orphan: early signatures for a task that never comes (dropped by the pending timeout).
        for op in 0..rng.gen_range(1..4) {
            world.send(world.signed(op, id, d)).await;
        }
        return;
    }
    if kind < 20 {
        // Early: signatures before the task exists, replayed at initialization.
        for op in 0..3 {
            world.send(world.signed(op, id, d)).await;
        }
        tokio::time::sleep(ms(10, 300, &mut rng)).await;
    }
    let expiring = (20..35).contains(&kind);
    let expiry = if expiring {
        ms(100, 600, &mut rng)
    } else {
        Duration::from_secs(5)
    };
    if !world.init(id, 60, expiry).await {
        return;
    }
    let waiter = {
        let w = Arc::clone(&world);
        let timeout = ms(50, 3_000, &mut rng);
        tokio::spawn(async move { w.wait(id, timeout).await })
    };
    let signers = if expiring { 2 } else { OPERATORS };
    for op in 0..signers {
        tokio::time::sleep(ms(0, 20, &mut rng)).await;
        match rng.gen_range(0..10u32) {
            0 => {
                // Invalid signature, then the honest one.
                let mut bad = world.signed(op, id, d);
                bad.signature = FakePoint(bad.signature.0 ^ 3);
                world.send(bad).await;
                world.send(world.signed(op, id, d)).await;
            }
            1 => {
                // Duplicate.
                world.send(world.signed(op, id, d)).await;
                world.send(world.signed(op, id, d)).await;
            }
            2 => world.send(world.signed(op, id, other)).await, // a different digest
            3 => {
                // Unknown operator.
                let mut s = world.signed(op, id, d);
                s.operator_id = OperatorId::new([0x5a; 32]).unwrap_or(s.operator_id);
                world.send(s).await;
            }
            _ => world.send(world.signed(op, id, d)).await,
        }
    }
    // Late: after completion or expiry.
    tokio::time::sleep(expiry + Duration::from_millis(50)).await;
    world.send(world.signed(0, id, d)).await;
    world.wait(id, Duration::from_millis(10)).await;
    let _ = waiter.await;
}

/// Runs the soak.
pub fn run(args: SoakArgs) -> anyhow::Result<()> {
    let secs = args.seconds.unwrap_or(args.minutes * 60).max(10);
    if cfg!(debug_assertions) {
        println!("note: xtask is a debug build; `cargo run --release -p xtask -- soak` for release figures");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (samples, world) = rt.block_on(soak(secs, args.rate))?;
    drop(rt);
    let s = world.core.stats();
    let l = &world.ledger;
    let first = samples
        .first()
        .copied()
        .ok_or_else(|| anyhow!("no samples"))?;
    let last = samples
        .last()
        .copied()
        .ok_or_else(|| anyhow!("no samples"))?;
    let half: Vec<(f64, f64)> = samples
        .iter()
        .filter(|x| x.t >= secs as f64 / 2.0)
        .map(|x| (x.t / 60.0, x.rss_mib))
        .collect();
    let mean = half.iter().map(|p| p.1).sum::<f64>() / half.len().max(1) as f64;
    let slope_pct = slope(&half) / mean.max(1e-9) * 100.0;
    let peak = samples.iter().map(|x| x.rss_mib).fold(0.0, f64::max);
    draw(&samples, &args.png, slope_pct)?;
    println!(
        "soak summary: {secs}s, {} tasks initialized ({} aggregated, {} expired, {} failed), {} signatures sent \
         ({} accepted, {} rejected, {} buffered, {} pending dropped), {} waiters / {} answers; \
         RSS start {:.1} MiB, end {:.1} MiB, peak {:.1} MiB, slope over last half {:+.3} %/min (limit {}); chart {}",
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
        first.rss_mib,
        last.rss_mib,
        peak,
        slope_pct,
        args.max_slope,
        args.png.display()
    );
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
    if last.active + last.pending_tasks + last.pending_sigs > 0 {
        problems.push(format!("left over after drain: {last:?}"));
    }
    if slope_pct > args.max_slope {
        problems.push(format!(
            "memory grows {slope_pct:.3} %/min over the last half (limit {})",
            args.max_slope
        ));
    }
    if !problems.is_empty() {
        bail!("soak failed: {}", problems.join("; "));
    }
    println!("soak passed");
    Ok(())
}

async fn soak(secs: u64, rate: u64) -> anyhow::Result<(Vec<Sample>, Arc<World>)> {
    let scheme = Arc::new(FakeScheme);
    let registry = Arc::new(InMemoryRegistry::new(Arc::clone(&scheme), 2));
    let keys: Vec<FakeKeyPair> = (0..OPERATORS)
        .map(|i| FakeKeyPair::new(77 + i as u64))
        .collect();
    let ops = keys
        .iter()
        .enumerate()
        .map(|(i, k)| InMemoryOperator {
            pubkey_g1: k.public_g1(),
            pubkey_g2: k.public_g2(),
            stakes: (0..2u8)
                .filter(|q| i % 4 != usize::from(*q))
                .map(|q| (QuorumNumber(q), Stake::from(100 + i as u64)))
                .collect::<BTreeMap<_, _>>(),
            proof_of_possession: k.proof_of_possession(),
        })
        .collect();
    let ids = registry.set_operators(BLOCK, ops)?;
    let cfg = config(VerificationMode::Eager);
    let core = AggregatorCore::new(cfg.clone(), Arc::clone(&registry), scheme);
    let world = Arc::new(World {
        core,
        keys,
        ids,
        ledger: Ledger::default(),
    });
    let start = Instant::now();
    let load_for = Duration::from_secs(secs);

    // Sampler: once a second until the load stops and the core has drained.
    let sampler = {
        let w = Arc::clone(&world);
        let cfg = cfg.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut bound_error = None;
            loop {
                tick.tick().await;
                let (pending_tasks, pending_sigs) = w.core.pending_sizes();
                let s = Sample {
                    t: start.elapsed().as_secs_f64(),
                    rss_mib: rss_kib().unwrap_or(0) as f64 / 1024.0,
                    active: w.core.active_tasks(),
                    pending_tasks,
                    pending_sigs,
                    stored: w.core.stored_results(),
                };
                let st = w.core.stats();
                if s.active > cfg.max_active_tasks
                    || s.pending_tasks > cfg.max_pending_tasks
                    || s.stored > cfg.max_stored_responses
                {
                    bound_error = Some(format!("bound exceeded: {s:?}"));
                }
                // Finished tasks are counted before they leave the active map.
                if st.tasks_finished() > st.tasks_initialized
                    || st.tasks_finished() + (s.active as u64) < st.tasks_initialized
                {
                    bound_error = Some(format!(
                        "accounting mismatch at {:.0}s: {st:?}, {} active",
                        s.t, s.active
                    ));
                }
                samples.push(s);
                let drained = s.active == 0 && s.pending_tasks == 0;
                if start.elapsed() > load_for + Duration::from_secs(2) && drained {
                    break;
                }
                if start.elapsed() > load_for + Duration::from_secs(30) {
                    bound_error.get_or_insert_with(|| format!("did not drain: {s:?}"));
                    break;
                }
            }
            (samples, bound_error)
        })
    };

    // Load: `rate` task lives started per second.
    let mut lives = tokio::task::JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
    let mut n = 0u64;
    while start.elapsed() < load_for {
        tick.tick().await;
        n += 1;
        lives.spawn(life(
            Arc::clone(&world),
            n,
            n.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        ));
        while lives.try_join_next().is_some() {}
        if start.elapsed().as_secs() % 10 == 0 && n % rate.max(1) == 0 {
            println!(
                "  {:>4}s  tasks started {n:>8}  active {:>5}  stored {:>5}  rss {:.1} MiB",
                start.elapsed().as_secs(),
                world.core.active_tasks(),
                world.core.stored_results(),
                rss_kib().unwrap_or(0) as f64 / 1024.0
            );
        }
    }
    while let Some(r) = lives.join_next().await {
        r.context("a task life panicked")?;
    }
    let (samples, bound_error) = sampler.await.context("sampler panicked")?;
    world.core.shutdown().await;
    if let Some(e) = bound_error {
        bail!("soak failed: {e}");
    }
    Ok((samples, world))
}

fn draw(samples: &[Sample], path: &std::path::Path, slope_pct: f64) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let font = [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
    ]
    .iter()
    .find_map(|p| std::fs::read(p).ok());
    let Some(font) = font else {
        println!("no DejaVuSans.ttf found: skipping the chart (apt-get install fonts-dejavu-core)");
        return Ok(());
    };
    let font: &'static [u8] = Box::leak(font.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, font)
        .map_err(|_| anyhow!("could not load the chart font"))?;
    let t_max = samples.last().map_or(1.0, |s| s.t).max(1.0);
    let rss_max = samples.iter().map(|s| s.rss_mib).fold(1.0, f64::max) * 1.2;
    let count_max = samples
        .iter()
        .map(|s| (s.active + s.stored) as f64)
        .fold(1.0, f64::max)
        * 1.2;
    let root = BitMapBackend::new(path, (1200, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("Soak: resident memory over time (slope over last half {slope_pct:+.2} %/min)"),
            ("sans-serif", 24),
        )
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .right_y_label_area_size(70)
        .build_cartesian_2d(0f64..t_max, 0f64..rss_max)
        .map_err(|e| anyhow!("{e}"))?
        .set_secondary_coord(0f64..t_max, 0f64..count_max);
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc("VmRSS (MiB)")
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .configure_secondary_axes()
        .y_desc("tasks")
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .draw_series(LineSeries::new(
            samples.iter().map(|s| (s.t, s.rss_mib)),
            RED.stroke_width(2),
        ))
        .map_err(|e| anyhow!("{e}"))?
        .label("RSS (MiB)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    chart
        .draw_secondary_series(LineSeries::new(
            samples.iter().map(|s| (s.t, s.active as f64)),
            BLUE,
        ))
        .map_err(|e| anyhow!("{e}"))?
        .label("active tasks")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    chart
        .draw_secondary_series(LineSeries::new(
            samples.iter().map(|s| (s.t, s.stored as f64)),
            GREEN,
        ))
        .map_err(|e| anyhow!("{e}"))?
        .label("stored results")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREEN));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    root.present().map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_a_line() {
        let pts: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 3.0 * i as f64 + 1.0)).collect();
        assert!((slope(&pts) - 3.0).abs() < 1e-9);
        assert_eq!(slope(&[(1.0, 1.0)]), 0.0);
    }
}
