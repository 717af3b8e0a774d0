//! The share of invalid signatures among those checked lately, so a search knows how many
//! to expect.
//!
//! A failing batch's search reads one invalid signature straight out of the whole batch's
//! check, which is the cheapest start when there is one; with several (a few percent invalid
//! at random) it is cheaper to check parts of the batch straight away (see
//! `quorate_bls::verify_same_digest_expecting`). The verdicts never depend on the estimate.

use std::sync::atomic::{AtomicU32, Ordering};

/// The estimate's scale (one in a million).
const SCALE: u32 = 1_000_000;
/// Each batch moves the estimate by 1/16 of its distance to the batch's own share.
const WEIGHT_SHIFT: u32 = 4;

/// An exponentially weighted share of invalid signatures per checked batch, shared by every
/// verification thread.
#[derive(Debug, Default)]
pub(crate) struct InvalidShare {
    /// Invalid signatures per million checked, `0..=SCALE`.
    per_million: AtomicU32,
}

impl InvalidShare {
    /// How many invalid signatures to expect among `n` (rounded).
    pub(crate) fn expected(&self, n: usize) -> usize {
        let share = u64::from(self.per_million.load(Ordering::Relaxed));
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        let expected =
            n.saturating_mul(share).saturating_add(u64::from(SCALE / 2)) / u64::from(SCALE);
        usize::try_from(expected).unwrap_or(usize::MAX)
    }

    /// Records a checked batch of `n` signatures with `invalid` of them invalid.
    pub(crate) fn record(&self, n: usize, invalid: usize) {
        if n == 0 {
            return;
        }
        let share = (invalid.min(n) as u64 * u64::from(SCALE) / n as u64) as i64;
        // A lost update under a race only delays the estimate by one batch.
        let old = i64::from(self.per_million.load(Ordering::Relaxed));
        let new = old + ((share - old) >> WEIGHT_SHIFT);
        self.per_million.store(
            u32::try_from(new.clamp(0, i64::from(SCALE))).unwrap_or(0),
            Ordering::Relaxed,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_follows_the_share_of_recent_batches() {
        let share = InvalidShare::default();
        assert_eq!(share.expected(100), 0);
        for _ in 0..100 {
            share.record(100, 5);
        }
        assert_eq!(share.expected(100), 5);
        assert_eq!(share.expected(1000), 50);
        for _ in 0..100 {
            share.record(200, 2);
        }
        assert_eq!(share.expected(100), 1);
        for _ in 0..200 {
            share.record(50, 0);
        }
        assert_eq!(share.expected(100), 0);
        share.record(0, 3);
        assert_eq!(share.expected(100), 0);
    }
}
