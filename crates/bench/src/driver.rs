//! The load driver shared by both aggregators: feeds the arrival stream with at most
//! `inflight` tasks open and at most [`MAX_OUTSTANDING`] signatures awaiting a verdict,
//! saturated or paced, and measures throughput, latency and memory.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use super::sys;
use super::workload::{Arrival, Keys, TaskSigs};

/// Signatures handed in and not yet answered, at most (like a server's request concurrency).
pub const MAX_OUTSTANDING: usize = 8192;

/// A run that makes no progress for this long fails instead of hanging (a lost response).
const STALL: Duration = Duration::from_secs(60);

/// A boxed, non-`Send` future (everything runs on one thread).
pub type LocalFut<T> = Pin<Box<dyn Future<Output = T>>>;

/// The answer to one handed-in signature.
#[derive(Debug)]
pub enum Verdict {
    /// Verified and counted.
    Verified,
    /// Counted without verification (Quorate's optimistic mode).
    Unverified,
    /// Rejected as an incorrect signature.
    RejectedInvalid,
    /// Any other error.
    Other(String),
}

/// A task's final response as seen by the consumer.
pub struct Delivery {
    /// Task index.
    pub task: u32,
    /// Whether it is an aggregate (not an error).
    pub ok: bool,
    /// Invalid signatures that made it into the aggregate (must be 0).
    pub invalid_included: usize,
}

/// The workload, shared by the driver and an aggregator adapter.
pub struct Data {
    /// Operator keys.
    pub keys: Keys,
    /// Signatures per task (`None` for tasks outside a truncated stream).
    pub tasks: Vec<Option<TaskSigs>>,
    /// Quorums (1 or 2); every operator is in all of them with equal stake.
    pub quorums: u8,
}

/// What the driver needs from an aggregator.
pub trait Target {
    /// Starts aggregating task `task`.
    fn init(&self, task: u32) -> LocalFut<Result<()>>;
    /// Hands in operator `op`'s signature for `task`.
    fn submit(&self, task: u32, op: u32) -> LocalFut<Verdict>;
    /// Spawns (with `spawn_local`) a consumer of final responses calling `deliver` for each.
    fn collect(&self, deliver: Rc<dyn Fn(Delivery)>);
}

/// How to drive.
pub struct Drive {
    /// Tasks open at once.
    pub inflight: usize,
    /// Offered signatures per second; `None` = as fast as the aggregator answers.
    pub rate: Option<f64>,
    /// Stop after this many signatures, without waiting for tasks to finish; the first
    /// `inflight` tasks are initialized before the timed part.
    pub truncate: Option<usize>,
    /// Stop feeding after this long (paced runs); tasks finished by then are reported.
    pub max_seconds: Option<f64>,
    /// Arrivals handed in before the measured window opens (0: none). Throughput, CPU time
    /// and latencies count from then on; correctness counters cover the whole run.
    pub warmup: usize,
}

/// One run's measurements.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Measured {
    /// Signatures handed in.
    pub submitted: u64,
    /// Invalid signatures among them.
    pub submitted_invalid: u64,
    /// Verdicts: verified / counted unverified / rejected as incorrect / other errors.
    pub verified: u64,
    /// See `verified`.
    pub unverified: u64,
    /// See `verified`.
    pub rejected_invalid: u64,
    /// See `verified`.
    pub other_errors: u64,
    /// First other error, if any.
    pub first_error: Option<String>,
    /// Valid signatures rejected (must be 0).
    pub valid_rejected: u64,
    /// Invalid signatures accepted as verified (must be 0).
    pub invalid_verified: u64,
    /// Invalid signatures inside delivered aggregates (must be 0).
    pub invalid_in_aggregates: u64,
    /// Tasks delivered with an aggregate / with an error.
    pub tasks_ok: u64,
    /// See `tasks_ok`.
    pub tasks_failed: u64,
    /// Responses delivered before their last signature was handed in (must be 0).
    pub early: u64,
    /// Signatures settled: verdict given (eager) or inside a delivered task (optimistic).
    pub settled: u64,
    /// Timed wall seconds and process CPU seconds (all threads).
    pub wall_s: f64,
    /// See `wall_s`.
    pub cpu_s: f64,
    /// Latencies (µs) from handing in a task's threshold-completing signature to its response.
    pub lat_p50_us: Option<f64>,
    /// See `lat_p50_us`.
    pub lat_p99_us: Option<f64>,
    /// See `lat_p50_us`.
    pub lat_max_us: Option<f64>,
    /// Latency samples.
    pub lat_samples: u64,
    /// Peak RSS above the RSS with the workload generated and before the aggregator started.
    pub peak_mem_bytes: u64,
    /// RSS before the aggregator started (the pre-generated workload).
    pub baseline_rss_bytes: u64,
    /// Most tasks open at once.
    pub max_open_tasks: u64,
}

/// Counters when the measured window opens (after the warm-up).
#[derive(Default)]
struct Window {
    /// When it opened.
    at: Option<Instant>,
    /// Process CPU seconds then.
    cpu_s: f64,
    /// Signatures with a verdict (verified or rejected) then.
    verdicts: u64,
    /// Signatures in delivered tasks then.
    delivered_sigs: u64,
}

#[derive(Default)]
struct State {
    last_submit: Vec<Option<Instant>>,
    permits: Vec<Option<OwnedSemaphorePermit>>,
    sizes: Vec<u32>,
    latencies: Vec<f64>,
    /// (delivery time, latency µs), for `QUORATE_BENCH_LATENCY_CSV`.
    timeline: Vec<(Instant, f64)>,
    delivered: usize,
    delivered_sigs: u64,
    answered: usize,
    open: u64,
    m: Measured,
}

/// Percentile (nearest rank) of sorted samples.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Runs the stream against `target` and measures. `stream` must hold every signature of
/// every task it touches unless `drive.truncate` or `drive.max_seconds` is set.
pub async fn run<T: Target + 'static>(
    target: Rc<T>,
    data: Rc<Data>,
    stream: &[Arrival],
    drive: &Drive,
    baseline_rss: u64,
) -> Result<Measured> {
    let ntasks = data.tasks.len();
    let n = data.keys.len();
    let state = Rc::new(RefCell::new(State {
        last_submit: vec![None; ntasks],
        permits: (0..ntasks).map(|_| None).collect(),
        sizes: data
            .tasks
            .iter()
            .map(|t| t.as_ref().map_or(0, |t| t.sigs.len() as u32))
            .collect(),
        ..State::default()
    }));
    let slots = Arc::new(Semaphore::new(drive.inflight.max(1)));
    let outstanding = Arc::new(Semaphore::new(MAX_OUTSTANDING));
    let done = Rc::new(Notify::new());
    {
        let (state, done) = (Rc::clone(&state), Rc::clone(&done));
        let deliver = move |d: Delivery| {
            let now = Instant::now();
            let mut s = state.borrow_mut();
            s.delivered += 1;
            s.open = s.open.saturating_sub(1);
            if let Some(p) = s.permits.get_mut(d.task as usize) {
                p.take();
            }
            if d.ok {
                s.m.tasks_ok += 1;
                let size = s.sizes.get(d.task as usize).copied().unwrap_or(0);
                s.delivered_sigs += u64::from(size);
            } else {
                s.m.tasks_failed += 1;
            }
            s.m.invalid_in_aggregates += d.invalid_included as u64;
            match s.last_submit.get(d.task as usize).copied().flatten() {
                Some(at) => {
                    let us = now.saturating_duration_since(at).as_secs_f64() * 1e6;
                    s.latencies.push(us);
                    s.timeline.push((now, us));
                }
                None => s.m.early += 1,
            }
            drop(s);
            done.notify_one();
        };
        target.collect(Rc::new(deliver));
    }

    let mut touched = vec![false; ntasks];
    let stream = match drive.truncate {
        Some(m) => &stream[..m.min(stream.len())],
        None => stream,
    };
    if drive.truncate.is_some() {
        // Open the first `inflight` tasks before timing, and let their aggregators start.
        for a in stream.iter().filter(|a| a.nth == 0).take(drive.inflight) {
            let permit = Arc::clone(&slots).acquire_owned().await?;
            open_task(&state, &target, a.task, permit).await?;
            touched[a.task as usize] = true;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    sys::reset_peak()?;
    let (t0, cpu0) = (Instant::now(), sys::cpu_seconds()?);
    let deadline = drive.max_seconds.map(|s| t0 + Duration::from_secs_f64(s));
    let mut submitted = 0usize;
    let mut window = Window::default();
    let feeder = Feeder {
        state: Rc::clone(&state),
        target: Rc::clone(&target),
        data: Rc::clone(&data),
        outstanding: Arc::clone(&outstanding),
        done: Rc::clone(&done),
        n,
    };
    // Tasks waiting for a slot, in the order they arrived, with their held-back arrivals.
    let mut backlog: Vec<(u32, Vec<u32>)> = Vec::new();
    for (i, a) in stream.iter().enumerate() {
        if i == drive.warmup && drive.warmup > 0 {
            // Every warm-up arrival is handed in before the window opens, so work the
            // warm-up caused (a first wave's searches) is not billed to the measured part.
            submitted += drain(
                &mut backlog,
                |_| false,
                &slots,
                &done,
                &feeder,
                &mut touched,
            )
            .await?;
            let mut s = state.borrow_mut();
            window = Window {
                at: Some(Instant::now()),
                cpu_s: sys::cpu_seconds()?,
                verdicts: s.m.verified + s.m.rejected_invalid,
                delivered_sigs: s.delivered_sigs,
            };
            s.latencies.clear();
            s.timeline.clear();
        }
        if let Some(rate) = drive.rate {
            let due = t0 + Duration::from_secs_f64(i as f64 / rate);
            if due > Instant::now() + Duration::from_micros(500) {
                tokio::time::sleep_until(due.into()).await;
            }
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        // Tasks whose slot has freed up since, with the arrivals held back for them; and no
        // running ahead of the aggregator by more than a task per slot: when the oldest
        // waiting task has all its arrivals held, wait for its slot.
        let ahead = |waiting: &[(u32, Vec<u32>)]| waiting.first().is_none_or(|(_, h)| h.len() < n);
        submitted += drain(&mut backlog, ahead, &slots, &done, &feeder, &mut touched).await?;
        if let Some((_, held)) = backlog.iter_mut().find(|(t, _)| *t == a.task) {
            // Its task is still waiting for a slot: keep the arrival's order behind it.
            held.push(a.nth);
            continue;
        }
        let t = a.task as usize;
        if a.nth == 0 && !touched[t] {
            // A slot's next task opens when the slot's previous task is delivered. While it
            // waits, the other slots' signatures keep arriving, as independent clients'
            // would: blocking the whole stream here would make every slot wait for one
            // task's answer (one aggregate check at a time), which no real deployment does.
            match Arc::clone(&slots).try_acquire_owned() {
                Ok(permit) => {
                    open_task(&state, &target, a.task, permit).await?;
                    touched[t] = true;
                }
                Err(_) => {
                    backlog.push((a.task, vec![a.nth]));
                    continue;
                }
            }
        }
        feeder.submit(a.task, a.nth).await?;
        submitted += 1;
    }
    // The tasks still waiting for a slot, each as soon as one frees up.
    submitted += drain(
        &mut backlog,
        |_| false,
        &slots,
        &done,
        &feeder,
        &mut touched,
    )
    .await?;
    // Wait for the end: every verdict (truncated or time-boxed runs) or every task delivered.
    let opened = touched.iter().filter(|t| **t).count();
    let mut progress = (0, 0, Instant::now());
    loop {
        {
            let s = state.borrow();
            if (s.answered, s.delivered) != (progress.0, progress.1) {
                progress = (s.answered, s.delivered, Instant::now());
            } else if progress.2.elapsed() > STALL {
                bail!(
                    "no progress for {STALL:?}: {} of {submitted} verdicts, {} of {opened} tasks delivered",
                    s.answered,
                    s.delivered
                );
            }
            let finished = if drive.truncate.is_some() || drive.max_seconds.is_some() {
                s.answered >= submitted
                    && (drive.max_seconds.is_none()
                        || deadline.is_some_and(|d| Instant::now() >= d))
            } else {
                s.answered >= submitted && s.delivered >= opened
            };
            if finished {
                break;
            }
        }
        tokio::select! {
            _ = done.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    let (wall, cpu1) = (
        window.at.unwrap_or(t0).elapsed().as_secs_f64(),
        sys::cpu_seconds()?,
    );
    let cpu0 = if window.at.is_some() {
        window.cpu_s
    } else {
        cpu0
    };
    let peak = sys::peak_rss_bytes()?;
    let mut s = state.borrow_mut();
    if let Ok(path) = std::env::var("QUORATE_BENCH_LATENCY_CSV") {
        // Latency over time (seconds since the timed part began), to look for stalls.
        let csv: String = s
            .timeline
            .iter()
            .map(|(at, us)| {
                format!(
                    "{:.4},{us:.0}\n",
                    at.saturating_duration_since(t0).as_secs_f64()
                )
            })
            .collect();
        std::fs::write(path, csv)?;
    }
    let mut lat = std::mem::take(&mut s.latencies);
    lat.sort_by(f64::total_cmp);
    let mut m = std::mem::take(&mut s.m);
    m.wall_s = wall;
    m.cpu_s = cpu1 - cpu0;
    m.lat_samples = lat.len() as u64;
    m.lat_p50_us = percentile(&lat, 50.0);
    m.lat_p99_us = percentile(&lat, 99.0);
    m.lat_max_us = lat.last().copied();
    m.peak_mem_bytes = peak.saturating_sub(baseline_rss);
    m.baseline_rss_bytes = baseline_rss;
    // Eager modes settle a signature with its verdict; optimistic mode only inside a
    // delivered (checked) aggregate, counted at delivery.
    m.settled = if m.unverified > 0 {
        s.delivered_sigs.saturating_sub(window.delivered_sigs)
    } else {
        (m.verified + m.rejected_invalid).saturating_sub(window.verdicts)
    };
    Ok(m)
}

/// Hands arrivals to the aggregator and records their verdicts.
struct Feeder<T> {
    /// The run's counters.
    state: Rc<RefCell<State>>,
    /// The aggregator.
    target: Rc<T>,
    /// The workload.
    data: Rc<Data>,
    /// Bounds the signatures awaiting a verdict ([`MAX_OUTSTANDING`]).
    outstanding: Arc<Semaphore>,
    /// Woken by every verdict and delivery.
    done: Rc<Notify>,
    /// Signatures per task.
    n: usize,
}

impl<T: Target + 'static> Feeder<T> {
    /// Hands in the `nth` signature of `task`; its verdict is recorded when it comes.
    async fn submit(&self, task: u32, nth: u32) -> Result<()> {
        let t = task as usize;
        let Some(sigs) = self.data.tasks.get(t).and_then(Option::as_ref) else {
            bail!("task {t} has no signatures");
        };
        let Some(&op) = sigs.order.get(nth as usize) else {
            bail!("task {t} has no arrival {nth}");
        };
        let invalid = sigs.invalid.get(op as usize).copied().unwrap_or(false);
        if nth as usize + 1 == self.n {
            self.state.borrow_mut().last_submit[t] = Some(Instant::now());
        }
        let permit = Arc::clone(&self.outstanding).acquire_owned().await?;
        let fut = self.target.submit(task, op);
        let (state, done) = (Rc::clone(&self.state), Rc::clone(&self.done));
        tokio::task::spawn_local(async move {
            let verdict = fut.await;
            drop(permit);
            let mut s = state.borrow_mut();
            s.answered += 1;
            let m = &mut s.m;
            match verdict {
                Verdict::Verified => {
                    m.verified += 1;
                    m.invalid_verified += u64::from(invalid);
                }
                Verdict::Unverified => m.unverified += 1,
                Verdict::RejectedInvalid => {
                    m.rejected_invalid += 1;
                    m.valid_rejected += u64::from(!invalid);
                }
                Verdict::Other(e) => {
                    m.other_errors += 1;
                    m.first_error.get_or_insert(e);
                }
            }
            drop(s);
            done.notify_one();
        });
        let mut s = self.state.borrow_mut();
        s.m.submitted += 1;
        s.m.submitted_invalid += u64::from(invalid);
        Ok(())
    }
}

/// Opens the waiting tasks that free slots admit, oldest first, and hands in the arrivals
/// held back for them, until `enough` holds for what still waits (waiting for slots to free
/// up meanwhile); returns how many arrivals were handed in.
async fn drain<T: Target + 'static>(
    backlog: &mut Vec<(u32, Vec<u32>)>,
    enough: impl Fn(&[(u32, Vec<u32>)]) -> bool,
    slots: &Arc<Semaphore>,
    done: &Notify,
    feeder: &Feeder<T>,
    touched: &mut [bool],
) -> Result<usize> {
    let mut handed = 0;
    while !backlog.is_empty() {
        let Ok(permit) = Arc::clone(slots).try_acquire_owned() else {
            if enough(backlog) {
                break;
            }
            tokio::select! {
                _ = done.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(5)) => {}
            }
            continue;
        };
        let (task, held) = backlog.remove(0);
        open_task(&feeder.state, &feeder.target, task, permit).await?;
        if let Some(t) = touched.get_mut(task as usize) {
            *t = true;
        }
        for nth in held {
            feeder.submit(task, nth).await?;
            handed += 1;
        }
    }
    Ok(handed)
}

async fn open_task<T: Target>(
    state: &Rc<RefCell<State>>,
    target: &Rc<T>,
    task: u32,
    permit: OwnedSemaphorePermit,
) -> Result<()> {
    {
        let mut s = state.borrow_mut();
        s.permits[task as usize] = Some(permit);
        s.open += 1;
        s.m.max_open_tasks = s.m.max_open_tasks.max(s.open);
    }
    target.init(task).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{stream, Invalid};
    use std::collections::HashMap;

    /// The consumer's callback for final responses.
    type Deliver = Rc<dyn Fn(Delivery)>;

    /// Answers every signature at once and delivers a task with its last signature, except
    /// task 0, which it delivers only after task 3: a slow answer in one slot.
    #[derive(Default)]
    struct SlowFirst {
        /// Signatures handed in per task.
        seen: RefCell<HashMap<u32, usize>>,
        /// Deliveries, in order.
        order: Rc<RefCell<Vec<u32>>>,
        /// The consumer's callback.
        deliver: RefCell<Option<Deliver>>,
    }

    impl Target for SlowFirst {
        fn init(&self, _task: u32) -> LocalFut<Result<()>> {
            Box::pin(async { Ok(()) })
        }

        fn submit(&self, task: u32, _op: u32) -> LocalFut<Verdict> {
            let count = {
                let mut seen = self.seen.borrow_mut();
                let c = seen.entry(task).or_default();
                *c += 1;
                *c
            };
            if count == 2 {
                let deliver = self.deliver.borrow().clone();
                let done = |t: u32| {
                    self.order.borrow_mut().push(t);
                    if let Some(d) = &deliver {
                        d(Delivery {
                            task: t,
                            ok: true,
                            invalid_included: 0,
                        });
                    }
                };
                match task {
                    0 => {}
                    3 => {
                        done(3);
                        done(0);
                    }
                    t => done(t),
                }
            }
            Box::pin(async { Verdict::Verified })
        }

        fn collect(&self, deliver: Rc<dyn Fn(Delivery)>) {
            *self.deliver.borrow_mut() = Some(deliver);
        }
    }

    #[test]
    fn a_slow_answer_holds_back_only_its_own_slot() {
        let keys = Keys::generate(2, 1);
        let tasks = (0..6)
            .map(|t| Some(keys.sign_task(t, Invalid::None, 1)))
            .collect();
        let data = Rc::new(Data {
            keys,
            tasks,
            quorums: 1,
        });
        // Two slots of two-signature tasks: slot 0 runs tasks 0, 2, 4; slot 1 runs 1, 3, 5.
        let arrivals = stream(6, 2, 2);
        let target = Rc::new(SlowFirst::default());
        let order = Rc::clone(&target.order);
        let drive = Drive {
            inflight: 2,
            rate: None,
            truncate: None,
            max_seconds: None,
            warmup: 0,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        let m = local
            .block_on(&rt, run(target, data, &arrivals, &drive, 0))
            .unwrap();
        // Slot 1 went on to task 3 while task 0 waited; blocking the stream on task 2's slot
        // would have left task 0 unanswered forever (a stall).
        assert_eq!(m.tasks_ok, 6);
        let position = |t: u32| order.borrow().iter().position(|&x| x == t);
        assert!(position(3) < position(0), "{:?}", order.borrow());
        assert_eq!(m.max_open_tasks, 2);
    }
}
