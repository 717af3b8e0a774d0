//! Quarantine of faulty operators: an operator whose signature failed a check is verified on
//! its own for a while (never inside a batch or an optimistic aggregate), so one faulty key
//! cannot make every task it signs fall back to per-signature checks, and its honest peers
//! stay batched. The period doubles with each failure inside it (up to 16× the base) and the
//! record is forgotten after a clean stretch of 16× the base: a transient fault decays.

use std::sync::Mutex;
use std::time::Duration;

use dashmap::DashMap;
use quorate_domain::OperatorId;
use tokio::time::Instant;

use crate::util::lock;

/// The longest period, as a multiple of the base: 2^4.
const MAX_DOUBLINGS: u32 = 4;

/// One quarantined operator, as [`crate::AggregatorCore::quarantined`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuarantinedOperator {
    /// The operator.
    pub operator_id: OperatorId,
    /// Failed checks counted since its record was last forgotten.
    pub strikes: u32,
    /// How long its signatures are still checked alone.
    pub remaining: Duration,
    /// Why: the last failure's reason label (e.g. `incorrect_signature`).
    pub reason: &'static str,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    strikes: u32,
    until: Instant,
    reason: &'static str,
}

/// The runtime-wide quarantine list, bounded.
#[derive(Debug)]
pub(crate) struct Quarantine {
    /// The period after one failure; zero disables quarantine.
    base: Duration,
    /// Most operators tracked; a new one beyond it evicts the one released soonest.
    capacity: usize,
    /// Sharded: [`Self::contains`] runs for every signature of every task, so it must not
    /// take a runtime-wide lock.
    entries: DashMap<OperatorId, Entry>,
    /// Serializes strikes (rare: one per failed check) so the capacity bound is exact.
    strikes: Mutex<()>,
}

impl Quarantine {
    pub(crate) fn new(base: Duration, capacity: usize) -> Self {
        Self {
            base,
            capacity,
            entries: DashMap::new(),
            strikes: Mutex::new(()),
        }
    }

    fn forget_after(&self) -> Duration {
        self.base * (1 << MAX_DOUBLINGS)
    }

    /// Records a failed check of one of the operator's signatures; returns how many operators
    /// are listed now, or `None` when quarantine is off (nothing recorded).
    pub(crate) fn strike(&self, operator_id: OperatorId, reason: &'static str) -> Option<usize> {
        if self.base.is_zero() || self.capacity == 0 {
            return None;
        }
        let _serial = lock(&self.strikes);
        let now = Instant::now();
        let entries = &self.entries;
        let remembered = entries
            .get(&operator_id)
            .filter(|e| now < e.until + self.forget_after())
            .map(|e| e.strikes);
        // Still remembered: the period grows.
        let strikes = remembered.map_or(1, |n| n.saturating_add(1));
        if !entries.contains_key(&operator_id) && entries.len() >= self.capacity {
            // Full: forget the records whose clean stretch has passed, then, if still full,
            // the one released soonest.
            entries.retain(|_, e| now < e.until + self.forget_after());
            if entries.len() >= self.capacity {
                let soonest = entries.iter().min_by_key(|e| e.until).map(|e| *e.key());
                if let Some(id) = soonest {
                    entries.remove(&id);
                }
            }
        }
        let period = self.base * (1 << (strikes - 1).min(MAX_DOUBLINGS));
        entries.insert(
            operator_id,
            Entry {
                strikes,
                until: now + period,
                reason,
            },
        );
        Some(entries.len())
    }

    /// Whether the operator's signatures must be checked alone now.
    pub(crate) fn contains(&self, operator_id: &OperatorId) -> bool {
        if self.base.is_zero() {
            return false;
        }
        // Forgotten records are dropped when a strike finds the list full, not here: this
        // runs for every signature and only reads.
        self.entries
            .get(operator_id)
            .is_some_and(|e| Instant::now() < e.until)
    }

    /// The operators quarantined now.
    pub(crate) fn list(&self) -> Vec<QuarantinedOperator> {
        let now = Instant::now();
        let mut out: Vec<_> = self
            .entries
            .iter()
            .filter(|e| now < e.until)
            .map(|e| QuarantinedOperator {
                operator_id: *e.key(),
                strikes: e.strikes,
                remaining: e.until - now,
                reason: e.reason,
            })
            .collect();
        out.sort_by_key(|q| q.operator_id);
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn id(b: u8) -> OperatorId {
        OperatorId::new([b; 32]).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn periods_double_then_decay_and_the_list_is_bounded() {
        let q = Quarantine::new(Duration::from_secs(10), 2);
        q.strike(id(1), "incorrect_signature");
        assert!(q.contains(&id(1)));
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(!q.contains(&id(1)), "released after the base period");
        // A second failure while remembered: twice the period.
        q.strike(id(1), "incorrect_signature");
        assert_eq!(q.list()[0].strikes, 2);
        tokio::time::advance(Duration::from_secs(15)).await;
        assert!(q.contains(&id(1)));
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(!q.contains(&id(1)));
        // After a clean 16× stretch the record is forgotten: back to one strike.
        tokio::time::advance(Duration::from_secs(170)).await;
        q.strike(id(1), "incorrect_signature");
        assert_eq!(q.list()[0].strikes, 1);
        // Bounded: a third operator evicts the one released soonest.
        tokio::time::advance(Duration::from_secs(1)).await;
        q.strike(id(2), "incorrect_signature");
        q.strike(id(3), "incorrect_signature");
        let ids: Vec<_> = q.list().into_iter().map(|e| e.operator_id).collect();
        assert_eq!(ids.len(), 2);
        assert!(!ids.contains(&id(1)));
        // Disabled with a zero period.
        let off = Quarantine::new(Duration::ZERO, 2);
        off.strike(id(1), "incorrect_signature");
        assert!(!off.contains(&id(1)));
    }
}
