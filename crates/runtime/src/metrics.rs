//! Metric names (through the `metrics` facade; the embedding application picks the exporter).

/// Counter: tasks initialized.
pub const TASKS_INITIALIZED: &str = "quorate_tasks_initialized_total";
/// Counter: tasks that produced an aggregate.
pub const TASKS_AGGREGATED: &str = "quorate_tasks_aggregated_total";
/// Counter: tasks that expired without reaching their thresholds.
pub const TASKS_EXPIRED: &str = "quorate_tasks_expired_total";
/// Counter: tasks that failed otherwise (registry error, panic, cancellation), label `reason`.
pub const TASKS_FAILED: &str = "quorate_tasks_failed_total";
/// Counter: signatures counted.
pub const SIGNATURES_ACCEPTED: &str = "quorate_signatures_accepted_total";
/// Counter: signatures refused, label `reason`.
pub const SIGNATURES_REJECTED: &str = "quorate_signatures_rejected_total";
/// Counter: equivocations (an operator's two valid signatures on different digests of a task).
pub const EQUIVOCATIONS: &str = "quorate_equivocations_total";
/// Counter: failed checks that (re)quarantined an operator, label `reason`.
pub const QUARANTINE_STRIKES: &str = "quorate_quarantine_strikes_total";
/// Gauge: operators on the quarantine list (checked alone while their period runs).
pub const QUARANTINED_OPERATORS: &str = "quorate_quarantined_operators";
/// Counter: optimistic aggregate checks that failed (each costs per-signature checks).
pub const AGGREGATE_CHECKS_FAILED: &str = "quorate_aggregate_checks_failed_total";
/// Counter: signatures buffered for tasks not yet initialized.
pub const SIGNATURES_BUFFERED: &str = "quorate_signatures_buffered_total";
/// Counter: limits reached, label `limit`.
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
/// Counter: aggregates submitted, label `outcome`.
pub const SUBMISSIONS: &str = "quorate_submissions_total";
