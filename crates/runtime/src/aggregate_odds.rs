//! How often optimistic aggregate checks fail lately, and so whether one is worth making.
//!
//! An optimistic task checks its signers' aggregate once (a cheap sum, no random
//! coefficients) and only searches for invalid signatures when it fails. When most aggregates
//! fail (invalid signatures in most tasks: a faulty operator in every task, or a few percent
//! invalid at random) that check only delays the search, whose first step checks the same
//! signatures again with random coefficients: it costs a pairing check per task and tells
//! nothing. So while the recent failure rate is above one half, a task searches straight away;
//! a search that finds nothing has checked every signature, and counts as a passing aggregate,
//! so the rate falls back when the invalid signatures stop.

use crate::ewma::Ewma;

/// An exponentially weighted failure rate of aggregate checks (about the last 16; eleven
/// failures in a row from zero cross one half, as do eleven passes in a row from one), shared
/// by every task.
#[derive(Debug, Default)]
pub(crate) struct AggregateOdds {
    /// The failure rate, `0..=Ewma::SCALE`.
    failing: Ewma,
}

impl AggregateOdds {
    /// Whether most aggregates fail lately (skip the check, search straight away).
    pub(crate) fn likely_to_fail(&self) -> bool {
        self.failing.get() > Ewma::SCALE / 2
    }

    /// Records an aggregate's outcome (or a search's: nothing invalid found counts as a pass).
    pub(crate) fn record(&self, passed: bool) {
        self.failing.record(if passed { 0 } else { Ewma::SCALE });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_failures_turns_it_on_and_a_run_of_passes_off() {
        let odds = AggregateOdds::default();
        assert!(!odds.likely_to_fail());
        // One failure now and then (1 in 5) never crosses one half.
        for i in 0..200 {
            odds.record(i % 5 != 0);
            assert!(!odds.likely_to_fail(), "after {i}");
        }
        let mut failures = 0;
        while !odds.likely_to_fail() {
            odds.record(false);
            failures += 1;
        }
        assert!((5..=16).contains(&failures), "{failures}");
        let mut passes = 0;
        while odds.likely_to_fail() {
            odds.record(true);
            passes += 1;
        }
        assert!((1..=16).contains(&passes), "{passes}");
    }
}
