//! Quarantine of faulty operators: an operator whose signatures keep failing checks is
//! verified on its own for a while (never inside a batch or an optimistic aggregate), so one
//! faulty key cannot make every task it signs fall back to a search for the invalid signature,
//! and its honest peers stay batched.
//!
//! Who is quarantined follows a cost model. A signature checked alone costs a whole pairing
//! check; an invalid one inside a batch costs that batch's search for it, a few checks. So
//! quarantine pays for an operator that fails often, and costs more than it saves for one that
//! fails now and then (a flaky key, or 5 % of all signatures failing at random: quarantining
//! at every first failure would soon put every operator on single checks). The record is a
//! run of clean checks: an operator is quarantined when a check of its signature fails again
//! before `clean_checks` of its signatures passed since its previous failure, and released
//! early once that many pass in a row while it is checked alone. The period doubles with each
//! failure while remembered (up to 16× the base), and the record is forgotten after a clean
//! stretch of 16× the base.

use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// How long its signatures are still checked alone (unless a clean run releases it).
    pub remaining: Duration,
    /// Why: the last failure's reason label (e.g. `incorrect_signature`).
    pub reason: &'static str,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Failed checks since the record was last forgotten.
    strikes: u32,
    /// Checked alone until then (the last failure's time when it was not quarantined).
    until: Instant,
    /// When the last failure was recorded: the record is forgotten a clean 16× base later.
    failed_at: Instant,
    /// Clean checks of its signatures since its last failure.
    clean: u32,
    /// The last failure's reason label.
    reason: &'static str,
}

/// The runtime-wide quarantine list, bounded.
#[derive(Debug)]
pub(crate) struct Quarantine {
    /// The period after one failure; zero disables quarantine.
    base: Duration,
    /// Clean checks that clear a failure: fewer between two failures quarantines the
    /// operator, this many in a row while quarantined releases it. Zero quarantines at the
    /// first failure and releases only at the end of the period.
    clean_checks: u32,
    /// Most operators tracked; a new one beyond it evicts the one released soonest.
    capacity: usize,
    /// Sharded: [`Self::contains`] and [`Self::clean`] run for every signature of every task,
    /// so they must not take a runtime-wide lock.
    entries: DashMap<OperatorId, Entry>,
    /// `entries.len()`, kept beside it so that [`Self::clean`] of an operator with no record
    /// (nearly always) costs one atomic load, not a look at every shard.
    tracked: AtomicUsize,
    /// Serializes strikes (rare: one per failed check) so the capacity bound is exact.
    strikes: Mutex<()>,
}

impl Quarantine {
    pub(crate) fn new(base: Duration, clean_checks: u32, capacity: usize) -> Self {
        Self {
            base,
            clean_checks,
            capacity,
            entries: DashMap::new(),
            tracked: AtomicUsize::new(0),
            strikes: Mutex::new(()),
        }
    }

    fn forget_after(&self) -> Duration {
        self.base * (1 << MAX_DOUBLINGS)
    }

    /// Whether the record still counts: its last failure is less than 16× the base ago.
    fn remembered(&self, e: &Entry, now: Instant) -> bool {
        now < e.failed_at.max(e.until) + self.forget_after()
    }

    /// Records a failed check of one of the operator's signatures; returns how many operators
    /// the list tracks now (quarantined, or remembered for a recent failure), or `None` when
    /// quarantine is off (nothing recorded).
    pub(crate) fn strike(&self, operator_id: OperatorId, reason: &'static str) -> Option<usize> {
        if self.base.is_zero() || self.capacity == 0 {
            return None;
        }
        let _serial = lock(&self.strikes);
        let now = Instant::now();
        let entries = &self.entries;
        let remembered = entries
            .get(&operator_id)
            .filter(|e| self.remembered(e, now))
            .map(|e| *e);
        // Still remembered: the period grows.
        let strikes = remembered.map_or(1, |e| e.strikes.saturating_add(1));
        // Failing again before a clean run (or at all, with `clean_checks` 0) quarantines.
        let relapsed = remembered.is_some_and(|e| e.clean < self.clean_checks);
        let quarantined = self.clean_checks == 0 || relapsed;
        if !entries.contains_key(&operator_id) && entries.len() >= self.capacity {
            // Full: forget the records whose clean stretch has passed, then, if still full,
            // the one released soonest.
            entries.retain(|_, e| self.remembered(e, now));
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
                until: if quarantined { now + period } else { now },
                failed_at: now,
                clean: 0,
                reason,
            },
        );
        let tracked = entries.len();
        self.tracked.store(tracked, Ordering::Release);
        Some(tracked)
    }

    /// Records a check that one of the operator's signatures passed; a clean run of
    /// `clean_checks` releases a quarantined operator.
    pub(crate) fn clean(&self, operator_id: &OperatorId) {
        if self.tracked.load(Ordering::Acquire) == 0 {
            return;
        }
        if let Some(mut e) = self.entries.get_mut(operator_id) {
            e.clean = e.clean.saturating_add(1);
            if self.clean_checks > 0 && e.clean >= self.clean_checks {
                let now = Instant::now();
                if now < e.until {
                    e.until = now;
                }
            }
        }
    }

    /// Whether the operator's signatures must be checked alone now.
    pub(crate) fn contains(&self, operator_id: &OperatorId) -> bool {
        if self.base.is_zero() || self.tracked.load(Ordering::Acquire) == 0 {
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
        let q = Quarantine::new(Duration::from_secs(10), 0, 2);
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
        let off = Quarantine::new(Duration::ZERO, 0, 2);
        off.strike(id(1), "incorrect_signature");
        assert!(!off.contains(&id(1)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_relapse_quarantines_and_a_clean_run_releases() {
        let q = Quarantine::new(Duration::from_secs(10), 3, 100);
        // A first failure is remembered, not quarantined.
        q.strike(id(1), "incorrect_signature");
        assert!(!q.contains(&id(1)));
        // Three clean checks clear it: the next failure is again only remembered.
        for _ in 0..3 {
            q.clean(&id(1));
        }
        q.strike(id(1), "incorrect_signature");
        assert!(
            !q.contains(&id(1)),
            "a failure after a clean run stays batched"
        );
        // Two clean, then a failure: a relapse, quarantined for 2^(3−1) × the base.
        q.clean(&id(1));
        q.clean(&id(1));
        q.strike(id(1), "incorrect_signature");
        assert!(q.contains(&id(1)));
        let listed = q.list();
        assert_eq!(
            (listed[0].strikes, listed[0].remaining),
            (3, Duration::from_secs(40))
        );
        // Checked alone, two passes do not release it; the third in a row does.
        q.clean(&id(1));
        q.clean(&id(1));
        assert!(q.contains(&id(1)));
        q.clean(&id(1));
        assert!(!q.contains(&id(1)));
        assert!(q.list().is_empty());
        // Other operators' passes touch nothing.
        q.clean(&id(2));
        assert!(q.list().is_empty());
    }
}
