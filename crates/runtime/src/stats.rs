//! Counters every task and signature passes through exactly once: the accounting that demos,
//! soak tests and dashboards read.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters.
#[derive(Default, Debug)]
pub(crate) struct Stats {
    pub(crate) tasks_initialized: AtomicU64,
    pub(crate) tasks_aggregated: AtomicU64,
    pub(crate) tasks_expired: AtomicU64,
    pub(crate) tasks_failed: AtomicU64,
    pub(crate) signatures_accepted: AtomicU64,
    pub(crate) signatures_rejected: AtomicU64,
    pub(crate) signatures_buffered: AtomicU64,
    pub(crate) pending_dropped: AtomicU64,
    pub(crate) limits_reached: AtomicU64,
    pub(crate) equivocations: AtomicU64,
    pub(crate) quarantine_strikes: AtomicU64,
    pub(crate) aggregate_checks_failed: AtomicU64,
}

/// A snapshot of the counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Tasks initialized.
    pub tasks_initialized: u64,
    /// Tasks that produced an aggregate.
    pub tasks_aggregated: u64,
    /// Tasks that expired below threshold.
    pub tasks_expired: u64,
    /// Tasks that ended otherwise (cancelled, registry error, panic).
    pub tasks_failed: u64,
    /// Signatures answered with `Accepted` (in optimistic mode, before the aggregate check).
    pub signatures_accepted: u64,
    /// Signatures answered with an error.
    pub signatures_rejected: u64,
    /// Signatures buffered before their task existed.
    pub signatures_buffered: u64,
    /// Buffered signatures dropped (timeout or eviction).
    pub pending_dropped: u64,
    /// Times a configured limit refused or evicted something.
    pub limits_reached: u64,
    /// Equivocations seen (two valid signatures by one operator on different digests).
    pub equivocations: u64,
    /// Failed checks that quarantined (or re-quarantined) an operator.
    pub quarantine_strikes: u64,
    /// Optimistic aggregate checks that failed (each is followed by per-signature checks).
    pub aggregate_checks_failed: u64,
}

impl StatsSnapshot {
    /// Tasks that have ended, whatever the outcome.
    pub fn tasks_finished(&self) -> u64 {
        self.tasks_aggregated + self.tasks_expired + self.tasks_failed
    }
}

impl Stats {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads every counter.
    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            tasks_initialized: r(&self.tasks_initialized),
            tasks_aggregated: r(&self.tasks_aggregated),
            tasks_expired: r(&self.tasks_expired),
            tasks_failed: r(&self.tasks_failed),
            signatures_accepted: r(&self.signatures_accepted),
            signatures_rejected: r(&self.signatures_rejected),
            signatures_buffered: r(&self.signatures_buffered),
            pending_dropped: r(&self.pending_dropped),
            limits_reached: r(&self.limits_reached),
            equivocations: r(&self.equivocations),
            quarantine_strikes: r(&self.quarantine_strikes),
            aggregate_checks_failed: r(&self.aggregate_checks_failed),
        }
    }
}
