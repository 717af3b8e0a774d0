//! A lock-free exponentially weighted moving average: the runtime's recent-history cost
//! estimates (how often aggregate checks fail, the share of invalid signatures).

use std::sync::atomic::{AtomicU32, Ordering};

/// Each sample moves the average by 1/16 of its distance to it: about the last 16 count.
const WEIGHT_SHIFT: u32 = 4;

/// An average of samples in `0..=SCALE`, shared by threads without a lock.
#[derive(Debug, Default)]
pub(crate) struct Ewma {
    /// The average, `0..=SCALE`.
    value: AtomicU32,
}

impl Ewma {
    /// Full scale: samples and the average lie in `0..=SCALE`.
    pub(crate) const SCALE: u32 = 1 << 20;

    /// The average now.
    pub(crate) fn get(&self) -> u32 {
        self.value.load(Ordering::Relaxed)
    }

    /// Moves the average toward `sample` (clamped to [`Self::SCALE`]): by 1/16 of the
    /// distance, at least one step, never past it.
    pub(crate) fn record(&self, sample: u32) {
        let sample = sample.min(Self::SCALE);
        let step = |distance: u32| (distance >> WEIGHT_SHIFT).max(1).min(distance);
        // A lost update under a race only delays the average by one sample.
        let old = self.get();
        let new = if sample >= old {
            old + step(sample - old)
        } else {
            old - step(old - sample)
        };
        self.value.store(new, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_moves_a_sixteenth_of_the_way_and_settles_on_a_steady_sample() {
        let avg = Ewma::default();
        avg.record(Ewma::SCALE);
        assert_eq!(avg.get(), Ewma::SCALE / 16);
        avg.record(u32::MAX);
        assert_eq!(
            avg.get(),
            Ewma::SCALE / 16 + (Ewma::SCALE - Ewma::SCALE / 16) / 16
        );
        for _ in 0..1_000 {
            avg.record(1_000);
        }
        assert_eq!(avg.get(), 1_000);
        avg.record(1_000);
        assert_eq!(avg.get(), 1_000);
    }
}
