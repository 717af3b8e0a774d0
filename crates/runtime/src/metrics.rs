//! The runtime's metrics, declared once: every event is counted by one [`RuntimeMetrics`]
//! method, which both bumps the counter that [`crate::AggregatorCore::stats`] reads and
//! records the metric through the `metrics` facade (the embedding application picks the
//! exporter). Label values come from one function per label, so every place that counts an
//! event uses the same spelling. `docs/metrics.md` lists every metric, type and label value;
//! a test keeps it in step with this file.

use std::sync::atomic::{AtomicU64, Ordering};

use quorate_domain::{AggregationError, LimitKind, SignatureVerificationError};

use crate::operator_metrics::OperatorMetrics;
pub use crate::operator_metrics::{
    OPERATOR_INVALID, OPERATOR_LATE, OPERATOR_MISSED, OPERATOR_SIGNATURES,
    OPERATOR_SIGNING_LATENCY, OTHER_OPERATORS,
};

/// Counter: tasks initialized.
pub const TASKS_INITIALIZED: &str = "quorate_tasks_initialized_total";
/// Counter: tasks that produced an aggregate.
pub const TASKS_AGGREGATED: &str = "quorate_tasks_aggregated_total";
/// Counter: tasks that expired without reaching their thresholds.
pub const TASKS_EXPIRED: &str = "quorate_tasks_expired_total";
/// Counter: tasks that ended otherwise, label `reason` ([`FAILURE_REASONS`]).
pub const TASKS_FAILED: &str = "quorate_tasks_failed_total";
/// Counter: signatures counted.
pub const SIGNATURES_ACCEPTED: &str = "quorate_signatures_accepted_total";
/// Counter: signatures refused, label `reason` ([`REJECTION_REASONS`]).
pub const SIGNATURES_REJECTED: &str = "quorate_signatures_rejected_total";
/// Counter: signatures buffered for tasks not yet initialized.
pub const SIGNATURES_BUFFERED: &str = "quorate_signatures_buffered_total";
/// Counter: buffered signatures dropped (timeout, eviction, full task queue at replay).
pub const PENDING_DROPPED: &str = "quorate_pending_signatures_dropped_total";
/// Counter: equivocations (an operator's two valid signatures on different digests of a task).
pub const EQUIVOCATIONS: &str = "quorate_equivocations_total";
/// Counter: failed checks recorded against an operator by the quarantine (each may quarantine
/// it), label `reason` ([`REJECTION_REASONS`]).
pub const QUARANTINE_STRIKES: &str = "quorate_quarantine_strikes_total";
/// Gauge: operators the quarantine tracks (quarantined, or remembered for a recent failure),
/// as of the last strike; `AggregatorCore::quarantined()` lists the quarantined ones.
pub const QUARANTINED_OPERATORS: &str = "quorate_quarantined_operators";
/// Counter: optimistic aggregate checks that failed (each costs per-signature checks).
pub const AGGREGATE_CHECKS_FAILED: &str = "quorate_aggregate_checks_failed_total";
/// Counter: optimistic aggregate checks skipped because most fail lately (the task searched
/// its signers straight away).
pub const AGGREGATE_CHECKS_SKIPPED: &str = "quorate_aggregate_checks_skipped_total";
/// Counter: limits reached, label `limit` ([`LIMITS`]).
pub const LIMITS_REACHED: &str = "quorate_limits_reached_total";
/// Histogram: signatures per verification batch.
pub const VERIFICATION_BATCH_SIZE: &str = "quorate_verification_batch_size";
/// Histogram: seconds from task initialization to its aggregate.
pub const AGGREGATION_LATENCY: &str = "quorate_aggregation_latency_seconds";
/// Gauge: tasks aggregating now.
pub const ACTIVE_TASKS: &str = "quorate_active_tasks";
/// Gauge: tasks with buffered signatures.
pub const PENDING_TASKS: &str = "quorate_pending_tasks";
/// Gauge: buffered signatures.
pub const PENDING_SIGNATURES: &str = "quorate_pending_signatures";
/// Counter: aggregates submitted, label `outcome` (`ok`, `error`).
pub const SUBMISSIONS: &str = "quorate_submissions_total";
/// Histogram: seconds a submission took (until its receipt or its error), label `outcome`.
pub const SUBMISSION_LATENCY: &str = "quorate_submission_latency_seconds";
/// Gauge: submissions waiting for their receipt.
pub const SUBMISSIONS_IN_FLIGHT: &str = "quorate_submissions_in_flight";

/// Every metric name, for documentation checks and dashboards.
pub const ALL: &[&str] = &[
    TASKS_INITIALIZED,
    TASKS_AGGREGATED,
    TASKS_EXPIRED,
    TASKS_FAILED,
    SIGNATURES_ACCEPTED,
    SIGNATURES_REJECTED,
    SIGNATURES_BUFFERED,
    PENDING_DROPPED,
    EQUIVOCATIONS,
    QUARANTINE_STRIKES,
    QUARANTINED_OPERATORS,
    AGGREGATE_CHECKS_FAILED,
    AGGREGATE_CHECKS_SKIPPED,
    LIMITS_REACHED,
    VERIFICATION_BATCH_SIZE,
    AGGREGATION_LATENCY,
    ACTIVE_TASKS,
    PENDING_TASKS,
    PENDING_SIGNATURES,
    SUBMISSIONS,
    SUBMISSION_LATENCY,
    SUBMISSIONS_IN_FLIGHT,
    OPERATOR_SIGNATURES,
    OPERATOR_INVALID,
    OPERATOR_LATE,
    OPERATOR_MISSED,
    OPERATOR_SIGNING_LATENCY,
];

/// Values of the `reason` label of [`SIGNATURES_REJECTED`] and [`QUARANTINE_STRIKES`].
pub const REJECTION_REASONS: &[&str] = &[
    "incorrect_signature",
    "duplicate_signature",
    "operator_not_found",
    "operator_not_in_quorums",
    "unexpected_digest",
    "equivocation",
    "task_completed",
    "limit_reached",
];

/// Values of the `limit` label of [`LIMITS_REACHED`].
pub const LIMITS: &[&str] = &[
    "active_tasks",
    "pending_tasks",
    "pending_signatures_per_task",
    "digests_per_task",
    "stored_responses",
    "task_queue",
];

/// Values of the `reason` label of [`TASKS_FAILED`].
pub const FAILURE_REASONS: &[&str] = &[
    "cancelled",
    "registry",
    "timeout",
    "limit_reached",
    "quorum_without_stake",
    "internal",
    "panicked",
    "channel_closed",
    "other",
];

/// Why a signature was refused.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Rejection<'a> {
    /// Its check or its admission failed.
    Signature(&'a SignatureVerificationError),
    /// Its task has finished.
    TaskCompleted,
    /// A configured limit refused it.
    LimitReached,
}

impl Rejection<'_> {
    /// The `reason` label ([`REJECTION_REASONS`]).
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Signature(e) => signature_error_label(e),
            Self::TaskCompleted => "task_completed",
            Self::LimitReached => "limit_reached",
        }
    }
}

/// The `reason` label of a signature error (also the reason shown for a quarantine).
pub(crate) fn signature_error_label(reason: &SignatureVerificationError) -> &'static str {
    match reason {
        SignatureVerificationError::IncorrectSignature => "incorrect_signature",
        SignatureVerificationError::DuplicateSignature => "duplicate_signature",
        SignatureVerificationError::OperatorNotFound => "operator_not_found",
        SignatureVerificationError::OperatorNotInQuorums => "operator_not_in_quorums",
        SignatureVerificationError::UnexpectedDigest => "unexpected_digest",
        SignatureVerificationError::Equivocation => "equivocation",
    }
}

/// The `limit` label ([`LIMITS`]).
pub(crate) fn limit_label(limit: LimitKind) -> &'static str {
    match limit {
        LimitKind::ActiveTasks => "active_tasks",
        LimitKind::PendingTasks => "pending_tasks",
        LimitKind::PendingSignaturesPerTask => "pending_signatures_per_task",
        LimitKind::DigestsPerTask => "digests_per_task",
        LimitKind::StoredResponses => "stored_responses",
        LimitKind::TaskQueue => "task_queue",
    }
}

/// The `reason` label of a failed task ([`FAILURE_REASONS`]).
pub(crate) fn failure_label(e: &AggregationError) -> &'static str {
    match e {
        AggregationError::Cancelled { .. } => "cancelled",
        AggregationError::Registry { .. } => "registry",
        AggregationError::Timeout { .. } => "timeout",
        AggregationError::LimitReached { .. } => "limit_reached",
        AggregationError::QuorumWithoutStake { .. } => "quorum_without_stake",
        AggregationError::Internal { .. } => "internal",
        AggregationError::Panicked { .. } => "panicked",
        AggregationError::ChannelClosed { .. } => "channel_closed",
        _ => "other",
    }
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
    /// Optimistic aggregate checks skipped because most failed lately.
    pub aggregate_checks_skipped: u64,
}

impl StatsSnapshot {
    /// Tasks that have ended, whatever the outcome.
    pub fn tasks_finished(&self) -> u64 {
        self.tasks_aggregated + self.tasks_expired + self.tasks_failed
    }
}

/// The runtime's counters: one method per event, each counted once here and once through
/// the facade. Shared by the core and every task actor.
#[derive(Debug)]
pub(crate) struct RuntimeMetrics {
    /// Per-operator series (bounded labels).
    pub(crate) operators: OperatorMetrics,
    /// [`SUBMISSIONS_IN_FLIGHT`].
    submissions_in_flight: AtomicU64,
    /// [`TASKS_INITIALIZED`].
    tasks_initialized: AtomicU64,
    /// [`TASKS_AGGREGATED`].
    tasks_aggregated: AtomicU64,
    /// [`TASKS_EXPIRED`].
    tasks_expired: AtomicU64,
    /// [`TASKS_FAILED`].
    tasks_failed: AtomicU64,
    /// [`SIGNATURES_ACCEPTED`].
    signatures_accepted: AtomicU64,
    /// [`SIGNATURES_REJECTED`].
    signatures_rejected: AtomicU64,
    /// [`SIGNATURES_BUFFERED`].
    signatures_buffered: AtomicU64,
    /// [`PENDING_DROPPED`].
    pending_dropped: AtomicU64,
    /// [`LIMITS_REACHED`].
    limits_reached: AtomicU64,
    /// [`EQUIVOCATIONS`].
    equivocations: AtomicU64,
    /// [`QUARANTINE_STRIKES`].
    quarantine_strikes: AtomicU64,
    /// [`AGGREGATE_CHECKS_FAILED`].
    aggregate_checks_failed: AtomicU64,
    /// [`AGGREGATE_CHECKS_SKIPPED`].
    aggregate_checks_skipped: AtomicU64,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl RuntimeMetrics {
    /// Counters at zero; at most `max_operator_labels` operators get their own series.
    pub(crate) fn new(max_operator_labels: usize) -> Self {
        Self {
            operators: OperatorMetrics::new(max_operator_labels),
            submissions_in_flight: AtomicU64::new(0),
            tasks_initialized: AtomicU64::new(0),
            tasks_aggregated: AtomicU64::new(0),
            tasks_expired: AtomicU64::new(0),
            tasks_failed: AtomicU64::new(0),
            signatures_accepted: AtomicU64::new(0),
            signatures_rejected: AtomicU64::new(0),
            signatures_buffered: AtomicU64::new(0),
            pending_dropped: AtomicU64::new(0),
            limits_reached: AtomicU64::new(0),
            equivocations: AtomicU64::new(0),
            quarantine_strikes: AtomicU64::new(0),
            aggregate_checks_failed: AtomicU64::new(0),
            aggregate_checks_skipped: AtomicU64::new(0),
        }
    }

    /// A task started aggregating; `active` tasks are aggregating now.
    pub(crate) fn task_initialized(&self, active: usize) {
        add(&self.tasks_initialized, 1);
        metrics::counter!(TASKS_INITIALIZED).increment(1);
        self.active_tasks(active);
    }

    /// `active` tasks are aggregating now.
    pub(crate) fn active_tasks(&self, active: usize) {
        metrics::gauge!(ACTIVE_TASKS).set(active as f64);
    }

    /// A task ended with `result`.
    pub(crate) fn task_finished<T>(&self, result: &Result<T, AggregationError>) {
        match result {
            Ok(_) => {
                add(&self.tasks_aggregated, 1);
                metrics::counter!(TASKS_AGGREGATED).increment(1);
            }
            Err(AggregationError::TaskExpired { .. }) => {
                add(&self.tasks_expired, 1);
                metrics::counter!(TASKS_EXPIRED).increment(1);
            }
            Err(e) => {
                add(&self.tasks_failed, 1);
                metrics::counter!(TASKS_FAILED, "reason" => failure_label(e)).increment(1);
            }
        }
    }

    /// A signature was counted.
    pub(crate) fn signature_accepted(&self) {
        add(&self.signatures_accepted, 1);
        metrics::counter!(SIGNATURES_ACCEPTED).increment(1);
    }

    /// A signature was refused.
    pub(crate) fn signature_rejected(&self, why: Rejection<'_>) {
        add(&self.signatures_rejected, 1);
        metrics::counter!(SIGNATURES_REJECTED, "reason" => why.label()).increment(1);
    }

    /// A signature was buffered for a task not initialized yet.
    pub(crate) fn signature_buffered(&self) {
        add(&self.signatures_buffered, 1);
        metrics::counter!(SIGNATURES_BUFFERED).increment(1);
    }

    /// `n` buffered signatures were dropped.
    pub(crate) fn pending_dropped(&self, n: u64) {
        if n == 0 {
            return;
        }
        add(&self.pending_dropped, n);
        metrics::counter!(PENDING_DROPPED).increment(n);
    }

    /// The pending buffer now holds `signatures` signatures of `tasks` tasks.
    pub(crate) fn pending_size(&self, tasks: usize, signatures: usize) {
        metrics::gauge!(PENDING_TASKS).set(tasks as f64);
        metrics::gauge!(PENDING_SIGNATURES).set(signatures as f64);
    }

    /// A configured limit refused or evicted something.
    pub(crate) fn limit_reached(&self, limit: LimitKind) {
        add(&self.limits_reached, 1);
        metrics::counter!(LIMITS_REACHED, "limit" => limit_label(limit)).increment(1);
    }

    /// An operator signed two different digests of one task.
    pub(crate) fn equivocation(&self) {
        add(&self.equivocations, 1);
        metrics::counter!(EQUIVOCATIONS).increment(1);
    }

    /// A failed check was recorded against an operator; `listed` operators are tracked now.
    pub(crate) fn quarantine_strike(&self, reason: &'static str, listed: usize) {
        add(&self.quarantine_strikes, 1);
        metrics::counter!(QUARANTINE_STRIKES, "reason" => reason).increment(1);
        metrics::gauge!(QUARANTINED_OPERATORS).set(listed as f64);
    }

    /// An optimistic aggregate check failed.
    pub(crate) fn aggregate_check_failed(&self) {
        add(&self.aggregate_checks_failed, 1);
        metrics::counter!(AGGREGATE_CHECKS_FAILED).increment(1);
    }

    /// An optimistic aggregate check was skipped (see [`AGGREGATE_CHECKS_SKIPPED`]).
    pub(crate) fn aggregate_check_skipped(&self) {
        add(&self.aggregate_checks_skipped, 1);
        metrics::counter!(AGGREGATE_CHECKS_SKIPPED).increment(1);
    }

    /// A verification batch of `signatures` signatures was checked.
    pub(crate) fn verification_batch(signatures: usize) {
        metrics::histogram!(VERIFICATION_BATCH_SIZE).record(signatures as f64);
    }

    /// A task reached its aggregate `seconds` after initialization.
    pub(crate) fn aggregation_latency(&self, seconds: f64) {
        metrics::histogram!(AGGREGATION_LATENCY).record(seconds);
    }

    /// A submission starts; pass what this returns to [`Self::submission_ended`].
    pub(crate) fn submission_started(&self) -> std::time::Instant {
        let now = self.submissions_in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        metrics::gauge!(SUBMISSIONS_IN_FLIGHT).set(now as f64);
        std::time::Instant::now()
    }

    /// The submission begun at `started` landed (`ok`) or failed.
    pub(crate) fn submission_ended(&self, started: std::time::Instant, ok: bool) {
        let now = self
            .submissions_in_flight
            .fetch_sub(1, Ordering::Relaxed)
            .saturating_sub(1);
        metrics::gauge!(SUBMISSIONS_IN_FLIGHT).set(now as f64);
        let outcome = if ok { "ok" } else { "error" };
        metrics::counter!(SUBMISSIONS, "outcome" => outcome).increment(1);
        metrics::histogram!(SUBMISSION_LATENCY, "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
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
            aggregate_checks_skipped: r(&self.aggregate_checks_skipped),
        }
    }
}
