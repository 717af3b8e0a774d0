//! Per-operator counters and signing latency, with bounded label cardinality: the first
//! `max_operator_labels` operators seen get their own series (labelled with their id), every
//! later one shares the `other` series, so a registry of any size (or an attacker cycling
//! ids) cannot grow the metrics without bound. Handles are registered once per operator, so
//! a signature costs an atomic add, not a label lookup.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use metrics::{Counter, Histogram};
use quorate_domain::OperatorId;

/// Counter: signatures counted, label `operator`.
pub const OPERATOR_SIGNATURES: &str = "quorate_operator_signatures_total";
/// Counter: signatures that failed their check, label `operator`.
pub const OPERATOR_INVALID: &str = "quorate_operator_invalid_signatures_total";
/// Counter: signatures for tasks that had finished, label `operator`.
pub const OPERATOR_LATE: &str = "quorate_operator_late_signatures_total";
/// Counter: finished tasks of the operator's quorums it did not sign, label `operator`.
pub const OPERATOR_MISSED: &str = "quorate_operator_missed_tasks_total";
/// Histogram: seconds from task initialization to the operator's counted signature, label
/// `operator`.
pub const OPERATOR_SIGNING_LATENCY: &str = "quorate_operator_signing_latency_seconds";

/// The label of every operator beyond the cap.
pub const OTHER_OPERATORS: &str = "other";

/// One operator's series.
#[derive(Clone)]
struct Series {
    /// [`OPERATOR_SIGNATURES`].
    signatures: Counter,
    /// [`OPERATOR_INVALID`].
    invalid: Counter,
    /// [`OPERATOR_LATE`].
    late: Counter,
    /// [`OPERATOR_MISSED`].
    missed: Counter,
    /// [`OPERATOR_SIGNING_LATENCY`].
    latency: Histogram,
}

impl Series {
    fn register(label: String) -> Self {
        Self {
            signatures: metrics::counter!(OPERATOR_SIGNATURES, "operator" => label.clone()),
            invalid: metrics::counter!(OPERATOR_INVALID, "operator" => label.clone()),
            late: metrics::counter!(OPERATOR_LATE, "operator" => label.clone()),
            missed: metrics::counter!(OPERATOR_MISSED, "operator" => label.clone()),
            latency: metrics::histogram!(OPERATOR_SIGNING_LATENCY, "operator" => label),
        }
    }
}

/// The per-operator series of one aggregator.
pub(crate) struct OperatorMetrics {
    /// Operators with their own series (at most `cap`).
    series: DashMap<OperatorId, Series>,
    /// `series.len()`, kept apart: `DashMap::len` locks every shard, and operators beyond
    /// the cap would pay that on every signature.
    labelled: AtomicUsize,
    /// The series every operator beyond the cap shares (registered on first use).
    other: std::sync::OnceLock<Series>,
    /// `max_operator_labels`.
    cap: usize,
}

impl std::fmt::Debug for OperatorMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorMetrics")
            .field("labelled", &self.labelled.load(Ordering::Relaxed))
            .field("cap", &self.cap)
            .finish()
    }
}

impl OperatorMetrics {
    /// Series for at most `cap` operators; the rest are `other`.
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            series: DashMap::new(),
            labelled: AtomicUsize::new(0),
            other: std::sync::OnceLock::new(),
            cap,
        }
    }

    fn with(&self, operator: &OperatorId, f: impl FnOnce(&Series)) {
        if let Some(s) = self.series.get(operator) {
            return f(&s);
        }
        // Racing first sightings may overshoot the cap by the number of racing threads; the
        // bound stays O(cap).
        if self.labelled.load(Ordering::Relaxed) < self.cap {
            let s = self.series.entry(*operator).or_insert_with(|| {
                self.labelled.fetch_add(1, Ordering::Relaxed);
                Series::register(operator.to_string())
            });
            return f(&s);
        }
        f(self
            .other
            .get_or_init(|| Series::register(OTHER_OPERATORS.to_string())))
    }

    /// The operator's signature was counted `after` the task started.
    pub(crate) fn signed(&self, operator: &OperatorId, after: Duration) {
        self.with(operator, |s| {
            s.signatures.increment(1);
            s.latency.record(after.as_secs_f64());
        });
    }

    /// The operator's signature failed its check.
    pub(crate) fn invalid(&self, operator: &OperatorId) {
        self.with(operator, |s| s.invalid.increment(1));
    }

    /// The operator signed a task that had finished.
    pub(crate) fn late(&self, operator: &OperatorId) {
        self.with(operator, |s| s.late.increment(1));
    }

    /// A task of the operator's quorums finished without its signature.
    pub(crate) fn missed(&self, operator: &OperatorId) {
        self.with(operator, |s| s.missed.increment(1));
    }

    /// Operators with their own series.
    #[cfg(test)]
    pub(crate) fn labelled(&self) -> usize {
        self.labelled.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_beyond_the_cap_share_one_series() {
        let m = OperatorMetrics::new(2);
        for i in 1..=10u8 {
            let id = OperatorId::new([i; 32]).expect("non-zero");
            m.signed(&id, Duration::from_millis(5));
            m.invalid(&id);
        }
        assert_eq!(m.labelled(), 2);
        assert!(m.other.get().is_some());
    }
}
