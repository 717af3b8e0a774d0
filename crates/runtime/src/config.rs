//! Every limit and interval of the aggregator, with documented defaults.

use std::time::Duration;

/// When signatures are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum VerificationMode {
    /// Verify every signature as it arrives (batched with random coefficients across the
    /// signatures and tasks waiting at that moment). Callers get a definite verdict.
    #[default]
    Eager,
    /// Count signatures unverified; when a digest reaches its thresholds, check its aggregate
    /// once and bisect only if that fails. Cheapest when operators are honest; callers are told
    /// their signature was accepted unverified.
    Optimistic,
}

/// Configuration of an [`AggregatorCore`](crate::AggregatorCore). Every bound on memory is here.
#[derive(Clone, Debug)]
pub struct AggregatorConfig {
    /// How signatures are verified. Default: [`VerificationMode::Eager`].
    pub verification_mode: VerificationMode,
    /// Tasks aggregating at once; `initialize_task` beyond it is rejected with
    /// `LimitReached(ActiveTasks)`. Default 10 000.
    pub max_active_tasks: usize,
    /// Not-yet-initialized tasks for which signatures are buffered; a new one beyond it evicts
    /// the oldest buffered task (FIFO). Default 1 000.
    pub max_pending_tasks: usize,
    /// Buffered signatures per not-yet-initialized task; more are rejected. Default 1 000.
    pub max_pending_signatures_per_task: usize,
    /// How long buffered signatures wait for their task. Default 5 s.
    pub pending_signature_timeout: Duration,
    /// Distinct response digests one task may track; a new digest beyond it is rejected.
    /// Default 100.
    pub max_digests_per_task: usize,
    /// Finished task results kept for `wait_for_aggregation` callers that come late; the oldest
    /// is evicted (FIFO). Default 10 000.
    pub max_stored_responses: usize,
    /// Signatures queued for one task's actor; more are rejected. Default 4 096.
    pub task_queue_capacity: usize,
    /// Signature errors remembered per task (reported with `Timeout`). Default 256.
    pub max_recorded_errors_per_task: usize,
    /// Operator sets cached per (block, quorums). Default 64.
    pub operator_state_cache_size: usize,
    /// Worker threads verifying signatures (CPU-bound, off the async executor).
    /// Default: the number of available cores.
    pub verification_threads: usize,
    /// Most signatures verified in one batch (one multi-pairing). Default 1 024: with many
    /// tasks in flight a batch holds about one signature per task, grouped by operator key, so
    /// its pairing cost is per operator and larger batches amortize it.
    pub max_verification_batch: usize,
    /// Verification jobs queued for the pool before senders wait. Default 4 096.
    pub verification_queue_capacity: usize,
    /// Merged work (optimistic mode's aggregate checks, eager mode's fresh signatures) queued
    /// while a batch of merged work is being checked waits to join the next batch (one final
    /// exponentiation and one `−G2` pair for all of it) unless at least this many checks or
    /// signatures are queued; then it starts on a free verification thread. A batch of one
    /// aggregate check costs a whole pairing check, each further one about a tenth, so a second
    /// thread started for a little work spends CPU that the per-signature work needs on a busy
    /// node. One starts all work as soon as a thread is free. Searches and quarantined
    /// operators' checks always start on a free thread. Default 64.
    pub min_concurrent_merged_batch: usize,
    /// How often expired pending signatures are dropped. Default 1 s.
    pub pending_cleanup_interval: Duration,
    /// Finished-task events kept for [`subscribe`](crate::AggregatorCore::subscribe)rs; a
    /// subscriber further behind loses the oldest (`Lagged`). Allocated up front. Default 1 024.
    pub event_buffer: usize,
    /// Eager mode: how long a task may hold a stream of signatures so that they are checked
    /// together (one batch of one digest shares one Miller-loop pair) instead of one batch
    /// per arrival. A signature that could complete a threshold, with the held and counted
    /// stake of its digest, releases the hold at once, so a task's answer is never delayed;
    /// what waits, at most this long, is the verdict of signatures that could not yet complete
    /// anything. Adaptive: holding starts only while signatures stream in (the previous one
    /// arrived less than this long ago), so a lone signature is checked at once. At most
    /// `max_verification_batch` signatures are held per task. Zero (the default) checks each
    /// arrival at once. Optimistic mode never holds.
    pub verification_linger: Duration,
    /// How long a quarantined operator is verified on its own (never in a batch or an
    /// optimistic aggregate); doubles with each failure while its record is remembered, up to
    /// 16×, and the record is forgotten after a clean 16× stretch. Zero disables quarantine.
    /// Default 60 s.
    pub quarantine_period: Duration,
    /// Clean checks that clear an operator's failure. An operator is quarantined when a check
    /// of its signature fails again before this many of its signatures passed since its
    /// previous failure, and released early once this many pass in a row while it is checked
    /// alone. So an operator that fails often is checked alone, and one that fails now and
    /// then (a flaky key, or random faults) stays batched, where an invalid signature costs a
    /// few checks of a search, not a whole check for each of its signatures. Zero quarantines
    /// at the first failure and releases only at the end of the period. Default 1: two failed
    /// checks in a row quarantine, one clean check releases. At 5 % invalid signatures at
    /// random, 3 quarantined an operator at one failure in seven and held it for about three
    /// single checks, and cost 7 % of the throughput (`docs/performance-analysis.md`).
    pub quarantine_clean_checks: u32,
    /// Operators tracked by the quarantine at most; a new one beyond it evicts the one
    /// released soonest. Default 10 000.
    pub max_quarantined_operators: usize,
    /// Operators with their own per-operator metric series (label `operator`); later ones
    /// share the `other` series, so label cardinality stays bounded. Default 1 024.
    pub max_operator_labels: usize,
}

impl Default for AggregatorConfig {
    fn default() -> Self {
        Self {
            verification_mode: VerificationMode::Eager,
            max_active_tasks: 10_000,
            max_pending_tasks: 1_000,
            max_pending_signatures_per_task: 1_000,
            pending_signature_timeout: Duration::from_secs(5),
            max_digests_per_task: 100,
            max_stored_responses: 10_000,
            task_queue_capacity: 4_096,
            max_recorded_errors_per_task: 256,
            operator_state_cache_size: 64,
            verification_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_verification_batch: 1_024,
            verification_queue_capacity: 4_096,
            min_concurrent_merged_batch: 64,
            pending_cleanup_interval: Duration::from_secs(1),
            event_buffer: 1_024,
            verification_linger: Duration::ZERO,
            quarantine_period: Duration::from_secs(60),
            quarantine_clean_checks: 1,
            max_quarantined_operators: 10_000,
            max_operator_labels: 1_024,
        }
    }
}
