//! What the soak concludes from its samples: pure functions, unit-tested below.

/// One sample of the process and the core, taken once a second.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sample {
    /// Seconds since the load started.
    pub(crate) t: f64,
    /// Resident memory (VmRSS), MiB.
    pub(crate) rss_mib: f64,
    /// Live heap bytes (counting allocator), MiB.
    pub(crate) heap_mib: f64,
    /// Tasks in the core's active map.
    pub(crate) active: usize,
    /// Tasks with early signatures waiting for their initialization.
    pub(crate) pending_tasks: usize,
    /// Results in the core's result store.
    pub(crate) stored: usize,
}

/// Live heap at a moment when the core had drained (no active or pending task).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Checkpoint {
    /// Seconds since the load started.
    pub(crate) t: f64,
    /// Live heap bytes.
    pub(crate) heap_bytes: i64,
    /// Tasks the core had initialized by then.
    pub(crate) tasks: u64,
}

/// The limits the run is judged against.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Allowed resident-memory growth after warm-up, % of mean RSS per minute.
    pub(crate) max_rss_slope_pct: f64,
    /// Resident-memory growth (MiB, over the judged window) below which a slope is allocator
    /// noise: glibc grows and trims its arenas in steps of that order.
    pub(crate) rss_noise_mib: f64,
    /// Live-heap growth (bytes) allowed between two drained checkpoints: capacity a map or the
    /// scheduler keeps after a new peak of concurrency, which happens once and not per task.
    pub(crate) heap_slack_bytes: i64,
}

/// Least-squares slope of y over x.
pub(crate) fn slope(points: &[(f64, f64)]) -> f64 {
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

/// Whether the run has warmed up: the result store is full (its steady size) and resident memory
/// has set no new high over the last `window` samples.
pub(crate) fn warmed_up(samples: &[Sample], stored_cap: usize, window: usize) -> bool {
    let Some(last) = samples.last() else {
        return false;
    };
    if last.stored < stored_cap || samples.len() <= window {
        return false;
    }
    let (before, recent) = samples.split_at(samples.len() - window);
    let high_before = before.iter().map(|s| s.rss_mib).fold(0.0, f64::max);
    recent.iter().all(|s| s.rss_mib <= high_before)
}

/// Resident-memory slope over the samples from `from_t` on: (% of mean per minute, MiB grown
/// over that window according to the fit).
pub(crate) fn rss_trend(samples: &[Sample], from_t: f64) -> (f64, f64) {
    let points: Vec<(f64, f64)> = samples
        .iter()
        .filter(|s| s.t >= from_t)
        .map(|s| (s.t / 60.0, s.rss_mib))
        .collect();
    let mean = points.iter().map(|p| p.1).sum::<f64>() / points.len().max(1) as f64;
    let per_min = slope(&points);
    let minutes = match (points.first(), points.last()) {
        (Some(a), Some(b)) => b.0 - a.0,
        _ => 0.0,
    };
    (per_min / mean.max(1e-9) * 100.0, per_min * minutes)
}

/// Live-heap growth between consecutive checkpoints, bytes.
pub(crate) fn heap_growth(checkpoints: &[Checkpoint]) -> Vec<i64> {
    checkpoints
        .windows(2)
        .map(|w| w[1].heap_bytes - w[0].heap_bytes)
        .collect()
}

/// The memory verdict: the problems found, empty when the run passes.
///
/// - A leak grows the live heap in *every* interval between drained checkpoints (a per-task
///   leak is proportional to the tasks run); a one-off capacity step grows it once. So the heap
///   fails when every interval grew by more than the slack.
/// - Resident memory fails when its post-warm-up slope is over the limit *and* the growth it
///   implies is larger than allocator noise.
pub(crate) fn memory_problems(
    samples: &[Sample],
    checkpoints: &[Checkpoint],
    warm_t: f64,
    limits: Limits,
) -> Vec<String> {
    let mut problems = Vec::new();
    let growth = heap_growth(checkpoints);
    if growth.is_empty() {
        problems.push("fewer than two drained checkpoints: the run is too short to judge".into());
    } else if growth.iter().all(|g| *g > limits.heap_slack_bytes) {
        problems.push(format!(
            "live heap grew in every interval between drained checkpoints: {growth:?} bytes \
             (slack {} bytes)",
            limits.heap_slack_bytes
        ));
    }
    let (pct, mib) = rss_trend(samples, warm_t);
    if pct > limits.max_rss_slope_pct && mib > limits.rss_noise_mib {
        problems.push(format!(
            "resident memory grows {pct:.3} %/min after warm-up ({mib:.2} MiB over the window; \
             limits {} %/min and {} MiB)",
            limits.max_rss_slope_pct, limits.rss_noise_mib
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: f64, rss_mib: f64, stored: usize) -> Sample {
        Sample {
            t,
            rss_mib,
            heap_mib: 0.0,
            active: 0,
            pending_tasks: 0,
            stored,
        }
    }

    fn checkpoint(heap_bytes: i64) -> Checkpoint {
        Checkpoint {
            t: 0.0,
            heap_bytes,
            tasks: 0,
        }
    }

    const LIMITS: Limits = Limits {
        max_rss_slope_pct: 1.0,
        rss_noise_mib: 1.0,
        heap_slack_bytes: 128 * 1024,
    };

    #[test]
    fn slope_of_a_line() {
        let pts: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 3.0 * i as f64 + 1.0)).collect();
        assert!((slope(&pts) - 3.0).abs() < 1e-9);
        assert_eq!(slope(&[(1.0, 1.0)]), 0.0);
    }

    #[test]
    fn warm_up_needs_a_full_store_and_no_new_rss_high() {
        let rising: Vec<Sample> = (0..20)
            .map(|i| sample(i as f64, 10.0 + i as f64, 500))
            .collect();
        assert!(!warmed_up(&rising, 500, 5));
        let mut flat = rising.clone();
        flat.extend((20..26).map(|i| sample(i as f64, 25.0, 500)));
        assert!(warmed_up(&flat, 500, 5));
        let mut not_full = flat.clone();
        if let Some(last) = not_full.last_mut() {
            last.stored = 499;
        }
        assert!(!warmed_up(&not_full, 500, 5));
    }

    #[test]
    fn a_per_task_leak_fails_and_a_one_off_step_does_not() {
        let leak = [
            checkpoint(1_000_000),
            checkpoint(1_400_000),
            checkpoint(1_800_000),
        ];
        assert_eq!(memory_problems(&[], &leak, 0.0, LIMITS).len(), 1);
        let step = [
            checkpoint(1_000_000),
            checkpoint(1_400_000),
            checkpoint(1_410_000),
        ];
        assert!(memory_problems(&[], &step, 0.0, LIMITS).is_empty());
        assert_eq!(memory_problems(&[], &leak[..1], 0.0, LIMITS).len(), 1);
    }

    #[test]
    fn rss_fails_only_beyond_both_the_slope_and_the_noise_floor() {
        let creeping: Vec<Sample> = (0..60)
            .map(|i| sample(i as f64, 20.0 + 0.004 * i as f64, 500))
            .collect();
        let ok = [checkpoint(0), checkpoint(0)];
        // +1.2 %/min but 0.24 MiB in all: allocator noise.
        assert!(memory_problems(&creeping, &ok, 0.0, LIMITS).is_empty());
        let leaking: Vec<Sample> = (0..60)
            .map(|i| sample(i as f64, 20.0 + 0.05 * i as f64, 500))
            .collect();
        assert_eq!(memory_problems(&leaking, &ok, 0.0, LIMITS).len(), 1);
        // The same growth before warm-up is not judged.
        assert!(memory_problems(&leaking, &ok, 61.0, LIMITS).is_empty());
    }
}
