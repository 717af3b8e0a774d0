//! Fixed-time triggers: a list of unix times.

use serde::{Deserialize, Serialize};

use super::{TriggerError, TriggerLimits};

/// Fires once at each listed unix time (seconds, UTC).
///
/// Order and duplicates in `epochs` do not matter: each distinct epoch fires once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedTimeTrigger {
    /// The fire times, unix seconds.
    pub epochs: Vec<u64>,
}

impl FixedTimeTrigger {
    /// Refuses an empty list or more than [`TriggerLimits::max_epochs`] epochs.
    ///
    /// Epochs in the past are allowed (they simply never fire after
    /// registration), because whether they are past depends on when the
    /// check runs and validation must give the same answer on every operator.
    pub fn validate(&self, limits: &TriggerLimits) -> Result<(), TriggerError> {
        if self.epochs.is_empty() {
            return Err(TriggerError::EmptyEpochs);
        }
        if self.epochs.len() > limits.max_epochs {
            return Err(TriggerError::TooManyEpochs {
                count: self.epochs.len(),
                max: limits.max_epochs,
            });
        }
        Ok(())
    }

    /// The smallest epoch strictly after `after`, if any.
    pub fn next_after(&self, after: u64) -> Option<u64> {
        self.epochs.iter().copied().filter(|&e| e > after).min()
    }

    /// The epochs sorted and de-duplicated, the form the scheduler keeps.
    pub(crate) fn sorted_epochs(&self) -> Vec<u64> {
        let mut epochs = self.epochs.clone();
        epochs.sort_unstable();
        epochs.dedup();
        epochs
    }
}
