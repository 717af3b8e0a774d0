//! The load: task lives of every kind, started at a steady rate, in legs separated by drains.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use quorate_bls::fake::FakePoint;
use quorate_domain::{OperatorId, ResponseDigest, SignedTaskResponse, TaskId, TaskMetadata};
use quorate_runtime::{AggregatorConfig, VerificationMode};
use quorate_testkit::{fixture_by, Fixture, BLOCK};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::judge::{warmed_up, Checkpoint, Sample};
use crate::{live_heap_bytes, rss_kib};
use quorate_domain::sync::lock;

const OPERATORS: usize = 12;
/// Samples without a new resident-memory high that end the warm-up.
const WARM_WINDOW: usize = 5;

/// The core's limits for the soak: small, so that every bound is reached and held.
pub(crate) fn config() -> AggregatorConfig {
    AggregatorConfig {
        verification_mode: VerificationMode::Eager,
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
pub(crate) struct Ledger {
    /// Initializations the core accepted.
    pub(crate) initialized: AtomicU64,
    /// Calls to `wait_for_aggregation`.
    pub(crate) waiters: AtomicU64,
    /// Answers those calls returned.
    pub(crate) answers: AtomicU64,
    /// Answers or errors that named another task than the one asked about.
    pub(crate) wrong_task: AtomicU64,
    /// Signed responses sent.
    pub(crate) signatures: AtomicU64,
}

/// Everything the task lives share.
pub(crate) struct World {
    /// The core under load, its operators and their keys.
    pub(crate) fx: Fixture,
    /// The load generator's own counts.
    pub(crate) ledger: Ledger,
    /// One sample a second (preallocated, so sampling does not grow the heap being judged).
    pub(crate) samples: Mutex<Vec<Sample>>,
    /// The first bound exceeded or accounting mismatch the sampler saw.
    pub(crate) sampler_error: Mutex<Option<String>>,
}

impl World {
    /// A core with `OPERATORS` operators over two quorums: operator i has stake 100 + i in
    /// the quorums q < 2 with i % 4 != q.
    pub(crate) fn new(secs: u64) -> Arc<Self> {
        let stake = |i: usize, q: u8| (i % 4 != usize::from(q)).then_some(100 + i as u64);
        let capacity = usize::try_from(secs)
            .unwrap_or(usize::MAX)
            .saturating_add(600);
        Arc::new(Self {
            fx: fixture_by(OPERATORS, 2, stake, config()),
            ledger: Ledger::default(),
            samples: Mutex::new(Vec::with_capacity(capacity)),
            sampler_error: Mutex::new(None),
        })
    }

    async fn send(&self, s: SignedTaskResponse<FakePoint>) {
        let task = s.task_id;
        self.ledger.signatures.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = self.fx.core.process_signed_response(s).await {
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
        match self.fx.core.initialize_task(meta).await {
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
        let answer = self.fx.core.wait_for_aggregation(id, timeout).await;
        self.ledger.answers.fetch_add(1, Ordering::Relaxed);
        let named = match &answer {
            Ok(agg) => Some(agg.task_id),
            Err(e) => e.task_id(),
        };
        if named != Some(id) {
            self.ledger.wrong_task.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn drained(&self) -> bool {
        let (pending_tasks, pending_sigs) = self.fx.core.pending_sizes();
        self.fx.core.active_tasks() == 0 && pending_tasks == 0 && pending_sigs == 0
    }

    pub(crate) fn lock_samples(&self) -> std::sync::MutexGuard<'_, Vec<Sample>> {
        lock(&self.samples)
    }
}

/// One task's life, chosen at random: honest, expiring, early, orphaned, noisy.
async fn life(world: Arc<World>, n: u64, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let task = u32::try_from(n % u64::from(u32::MAX)).unwrap_or(1).max(1);
    let id = TaskId::from(task);
    let d = ResponseDigest::new({
        let mut b = [0u8; 32];
        b[..8].copy_from_slice(&n.to_be_bytes());
        b
    });
    let other = ResponseDigest::new([0xee; 32]);
    let kind = rng.gen_range(0..100u32);
    let ms = |a: u64, b: u64, rng: &mut ChaCha8Rng| Duration::from_millis(rng.gen_range(a..b));
    if kind < 8 {
        // Orphan: early signatures for a task that never comes (dropped by the pending timeout).
        for op in 0..rng.gen_range(1..4) {
            world.send(world.fx.signed(op, task, d)).await;
        }
        return;
    }
    if kind < 20 {
        // Early: signatures before the task exists, replayed at initialization.
        for op in 0..3 {
            world.send(world.fx.signed(op, task, d)).await;
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
                let mut bad = world.fx.signed(op, task, d);
                bad.signature = FakePoint(bad.signature.0 ^ 3);
                world.send(bad).await;
                world.send(world.fx.signed(op, task, d)).await;
            }
            1 => {
                // Duplicate.
                world.send(world.fx.signed(op, task, d)).await;
                world.send(world.fx.signed(op, task, d)).await;
            }
            2 => world.send(world.fx.signed(op, task, other)).await, // a different digest
            3 => {
                // Unknown operator.
                let mut s = world.fx.signed(op, task, d);
                s.operator_id = OperatorId::new([0x5a; 32]).unwrap_or(s.operator_id);
                world.send(s).await;
            }
            _ => world.send(world.fx.signed(op, task, d)).await,
        }
    }
    // Late: after completion or expiry.
    tokio::time::sleep(expiry + Duration::from_millis(50)).await;
    world.send(world.fx.signed(0, task, d)).await;
    world.wait(id, Duration::from_millis(10)).await;
    let _ = waiter.await;
}

/// Samples once a second until `stop` is set; checks the bounds and the accounting each time.
pub(crate) async fn sample(world: Arc<World>, start: Instant, stop: Arc<tokio::sync::Notify>) {
    let cfg = config();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.notified() => return,
        }
        let (pending_tasks, _) = world.fx.core.pending_sizes();
        let s = Sample {
            t: start.elapsed().as_secs_f64(),
            rss_mib: rss_kib().unwrap_or(0) as f64 / 1024.0,
            heap_mib: live_heap_bytes() as f64 / (1024.0 * 1024.0),
            active: world.fx.core.active_tasks(),
            pending_tasks,
            stored: world.fx.core.stored_results(),
        };
        let st = world.fx.core.stats();
        let mut problem = None;
        if s.active > cfg.max_active_tasks
            || s.pending_tasks > cfg.max_pending_tasks
            || s.stored > cfg.max_stored_responses
        {
            problem = Some(format!("bound exceeded: {s:?}"));
        }
        // Finished tasks are counted before they leave the active map.
        if st.tasks_finished() > st.tasks_initialized
            || st.tasks_finished() + (s.active as u64) < st.tasks_initialized
        {
            problem = Some(format!(
                "accounting mismatch at {:.0}s: {st:?}, {} active",
                s.t, s.active
            ));
        }
        if let Some(p) = problem {
            lock(&world.sampler_error).get_or_insert(p);
        }
        world.lock_samples().push(s);
    }
}

/// Runs the load for `secs` seconds in three legs: until the run warms up (at most a third),
/// half of the rest, the rest. After each leg it stops starting lives, lets every life end and
/// the core drain, and records a checkpoint of the live heap. Returns the checkpoints and the
/// time the warm-up ended.
pub(crate) async fn drive(
    world: &Arc<World>,
    start: Instant,
    secs: u64,
    rate: u64,
) -> anyhow::Result<(Vec<Checkpoint>, f64)> {
    let total = Duration::from_secs(secs);
    let mut loaded = Duration::ZERO;
    let mut n = 0u64;
    let mut checkpoints = Vec::new();
    let cap = config().max_stored_responses;
    // Leg 1 ends at warm-up (detected) or a third of the load, whichever comes first.
    let leg1 = run_leg(world, start, &mut n, rate, total / 3, |w| {
        warmed_up(&w.lock_samples(), cap, WARM_WINDOW)
    })
    .await?;
    loaded += leg1;
    checkpoints.push(checkpoint(world, start).await?);
    let warm_t = start.elapsed().as_secs_f64();
    let rest = total.saturating_sub(loaded);
    let leg2 = run_leg(world, start, &mut n, rate, rest / 2, |_| false).await?;
    loaded += leg2;
    checkpoints.push(checkpoint(world, start).await?);
    run_leg(
        world,
        start,
        &mut n,
        rate,
        total.saturating_sub(loaded),
        |_| false,
    )
    .await?;
    checkpoints.push(checkpoint(world, start).await?);
    Ok((checkpoints, warm_t))
}

/// Starts `rate` lives a second for `length` or until `done`; waits for every life to end.
async fn run_leg(
    world: &Arc<World>,
    start: Instant,
    n: &mut u64,
    rate: u64,
    length: Duration,
    done: impl Fn(&World) -> bool,
) -> anyhow::Result<Duration> {
    let leg_start = Instant::now();
    let mut lives = tokio::task::JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
    while leg_start.elapsed() < length && !done(world) {
        tick.tick().await;
        *n += 1;
        lives.spawn(life(
            Arc::clone(world),
            *n,
            n.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        ));
        while lives.try_join_next().is_some() {}
        if *n % (rate.max(1) * 10) == 0 {
            println!(
                "  {:>4}s  tasks started {n:>8}  active {:>5}  stored {:>5}  rss {:.1} MiB  heap {:.1} MiB",
                start.elapsed().as_secs(),
                world.fx.core.active_tasks(),
                world.fx.core.stored_results(),
                rss_kib().unwrap_or(0) as f64 / 1024.0,
                live_heap_bytes() as f64 / (1024.0 * 1024.0),
            );
        }
    }
    let loaded = leg_start.elapsed();
    while let Some(r) = lives.join_next().await {
        r.context("a task life panicked")?;
    }
    Ok(loaded)
}

/// Waits for the core to drain, then reads the live heap.
async fn checkpoint(world: &World, start: Instant) -> anyhow::Result<Checkpoint> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !world.drained() {
        if Instant::now() > deadline {
            let (pending_tasks, pending_sigs) = world.fx.core.pending_sizes();
            bail!(
                "did not drain within 30 s: {} active, {pending_tasks} pending tasks, {pending_sigs} pending signatures",
                world.fx.core.active_tasks()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let c = Checkpoint {
        t: start.elapsed().as_secs_f64(),
        heap_bytes: live_heap_bytes(),
        tasks: world.fx.core.stats().tasks_initialized,
    };
    println!(
        "  {:>4}s  drained: live heap {} bytes after {} tasks",
        c.t as u64, c.heap_bytes, c.tasks
    );
    Ok(c)
}
