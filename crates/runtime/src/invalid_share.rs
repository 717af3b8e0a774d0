//! The share of invalid signatures among those checked lately, so a search knows how many
//! to expect.
//!
//! A failing batch's search reads one invalid signature straight out of the whole batch's
//! check, which is the cheapest start when there is one; with several (a few percent invalid
//! at random) it is cheaper to check parts of the batch straight away (see
//! `quorate_bls::verify_same_digest_expecting`). The verdicts never depend on the estimate.

use crate::ewma::Ewma;

/// An exponentially weighted share of invalid signatures per checked batch (about the last
/// 16 batches), shared by every verification thread.
#[derive(Debug, Default)]
pub(crate) struct InvalidShare {
    /// Invalid signatures per checked one, `0..=Ewma::SCALE`.
    share: Ewma,
}

impl InvalidShare {
    /// How many invalid signatures to expect among `n` (rounded).
    pub(crate) fn expected(&self, n: usize) -> usize {
        let scale = u64::from(Ewma::SCALE);
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        let expected = n
            .saturating_mul(u64::from(self.share.get()))
            .saturating_add(scale / 2)
            / scale;
        usize::try_from(expected).unwrap_or(usize::MAX)
    }

    /// Records a checked batch of `n` signatures with `invalid` of them invalid.
    pub(crate) fn record(&self, n: usize, invalid: usize) {
        if n == 0 {
            return;
        }
        let share = invalid.min(n) as u64 * u64::from(Ewma::SCALE) / n as u64;
        self.share
            .record(u32::try_from(share).unwrap_or(Ewma::SCALE));
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
