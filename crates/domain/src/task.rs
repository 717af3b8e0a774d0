//! What a task asks for: reference block, quorums, thresholds and timing.

use std::time::Duration;

use alloy_primitives::U512;
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::ids::{BlockNumber, QuorumNumber, ResponseDigest, Stake, TaskId};

/// The share of a quorum's stake that must sign, in whole percent (1..=100).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub struct QuorumThreshold(u8);

impl QuorumThreshold {
    /// Accepts 1..=100; 0 would make an empty signer set "succeed".
    pub fn new(percent: u8) -> Result<Self, ValidationError> {
        if !(1..=100).contains(&percent) {
            return Err(ValidationError::ThresholdOutOfRange { percent });
        }
        Ok(Self(percent))
    }

    /// The percentage.
    pub fn percent(self) -> u8 {
        self.0
    }

    /// `signed × 100 ≥ total × percent`, computed in 512 bits so it can never overflow.
    /// A quorum with no stake is never met: `0 ≥ 0` would deliver an aggregate that nobody
    /// signed (eigensdk-rs expires such a task).
    pub fn is_met(self, signed: Stake, total: Stake) -> bool {
        if total.is_zero() {
            return false;
        }
        let lhs = U512::from(signed) * U512::from(100u8);
        let rhs = U512::from(total) * U512::from(self.0);
        lhs >= rhs
    }
}

/// One quorum a task is checked against, with its threshold.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct QuorumRequirement {
    /// The quorum.
    pub quorum: QuorumNumber,
    /// The share of its stake that must sign.
    pub threshold: QuorumThreshold,
}

/// A validated task description: everything the aggregator needs to decide it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TaskMetadata {
    task_id: TaskId,
    reference_block: BlockNumber,
    /// Sorted ascending by quorum number, as `checkSignatures` requires.
    quorums: Vec<QuorumRequirement>,
    time_to_expiry: Duration,
    window: Duration,
    /// When set, only signatures over this digest are counted (two-phase consensus: operators
    /// sign the agreed, normalized response).
    #[serde(default)]
    expected_digest: Option<ResponseDigest>,
}

impl TaskMetadata {
    /// Validates and builds a task. Quorums may come in any order; they are stored ascending
    /// (the on-chain `quorumNumbers` byte string must be ascending).
    pub fn new(
        task_id: TaskId,
        reference_block: BlockNumber,
        quorum_numbers: Vec<QuorumNumber>,
        thresholds: Vec<QuorumThreshold>,
        time_to_expiry: Duration,
    ) -> Result<Self, ValidationError> {
        if quorum_numbers.is_empty() {
            return Err(ValidationError::EmptyQuorums { task_id });
        }
        if quorum_numbers.len() != thresholds.len() {
            return Err(ValidationError::ThresholdCountMismatch {
                task_id,
                quorums: quorum_numbers.len(),
                thresholds: thresholds.len(),
            });
        }
        if time_to_expiry.is_zero() {
            return Err(ValidationError::ZeroExpiry { task_id });
        }
        let mut quorums: Vec<QuorumRequirement> = quorum_numbers
            .into_iter()
            .zip(thresholds)
            .map(|(quorum, threshold)| QuorumRequirement { quorum, threshold })
            .collect();
        quorums.sort_by_key(|q| q.quorum);
        for q in &quorums {
            if q.quorum.0 > QuorumNumber::MAX {
                return Err(ValidationError::QuorumNumberTooLarge {
                    task_id,
                    quorum: q.quorum,
                });
            }
        }
        if let Some(w) = quorums.windows(2).find(|w| w[0].quorum == w[1].quorum) {
            return Err(ValidationError::DuplicateQuorum {
                task_id,
                quorum: w[0].quorum,
            });
        }
        Ok(Self {
            task_id,
            reference_block,
            quorums,
            time_to_expiry,
            window: Duration::ZERO,
            expected_digest: None,
        })
    }

    /// Convenience constructor from raw numbers: `(quorum, threshold %)` pairs.
    pub fn from_raw(
        task_id: TaskId,
        reference_block: BlockNumber,
        quorums: &[(u8, u8)],
        time_to_expiry: Duration,
    ) -> Result<Self, ValidationError> {
        let thresholds = quorums
            .iter()
            .map(|&(_, t)| QuorumThreshold::new(t))
            .collect::<Result<Vec<_>, _>>()?;
        let numbers = quorums.iter().map(|&(q, _)| QuorumNumber(q)).collect();
        Self::new(
            task_id,
            reference_block,
            numbers,
            thresholds,
            time_to_expiry,
        )
    }

    /// Keeps collecting signatures for `window` after every quorum's threshold is first met.
    pub fn with_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Counts only signatures over `digest`; others get `UnexpectedDigest`.
    pub fn with_expected_digest(mut self, digest: ResponseDigest) -> Self {
        self.expected_digest = Some(digest);
        self
    }

    /// The only digest counted, if the task restricts it.
    pub fn expected_digest(&self) -> Option<ResponseDigest> {
        self.expected_digest
    }

    /// The task's id.
    pub fn task_id(&self) -> TaskId {
        self.task_id
    }

    /// The block whose operator state the task is checked against.
    pub fn reference_block(&self) -> BlockNumber {
        self.reference_block
    }

    /// The quorums with their thresholds, ascending by quorum number.
    pub fn quorums(&self) -> &[QuorumRequirement] {
        &self.quorums
    }

    /// The quorum numbers, ascending.
    pub fn quorum_numbers(&self) -> Vec<QuorumNumber> {
        self.quorums.iter().map(|q| q.quorum).collect()
    }

    /// The quorum numbers as the on-chain `bytes quorumNumbers` (ascending).
    pub fn quorum_numbers_bytes(&self) -> Vec<u8> {
        self.quorums.iter().map(|q| q.quorum.0).collect()
    }

    /// How long after initialization the task expires.
    pub fn time_to_expiry(&self) -> Duration {
        self.time_to_expiry
    }

    /// How long to keep collecting after the thresholds are met.
    pub fn window(&self) -> Duration {
        self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> TaskId {
        TaskId::from(1u32)
    }

    #[test]
    fn thresholds_outside_1_to_100_are_rejected() {
        assert_eq!(
            QuorumThreshold::new(0),
            Err(ValidationError::ThresholdOutOfRange { percent: 0 })
        );
        assert!(QuorumThreshold::new(101).is_err());
        assert!(QuorumThreshold::new(1).is_ok());
        assert!(QuorumThreshold::new(100).is_ok());
    }

    #[test]
    fn threshold_arithmetic_is_exact_at_the_edge() {
        let t = QuorumThreshold::new(67).unwrap();
        assert!(t.is_met(Stake::from(67u8), Stake::from(100u8)));
        assert!(!t.is_met(Stake::from(66u8), Stake::from(100u8)));
        // No stake in the quorum: never met, whatever was signed.
        assert!(!t.is_met(Stake::ZERO, Stake::ZERO));
        assert!(!QuorumThreshold::new(1)
            .unwrap()
            .is_met(Stake::MAX, Stake::ZERO));
        // Near 2^256 a naive u256 product would overflow.
        let big = Stake::MAX;
        assert!(QuorumThreshold::new(100).unwrap().is_met(big, big));
        assert!(!QuorumThreshold::new(100)
            .unwrap()
            .is_met(big - Stake::from(1u8), big));
    }

    #[test]
    fn metadata_validation_errors() {
        let hour = Duration::from_secs(3600);
        assert_eq!(
            TaskMetadata::from_raw(id(), 1, &[], hour),
            Err(ValidationError::EmptyQuorums { task_id: id() })
        );
        assert_eq!(
            TaskMetadata::from_raw(id(), 1, &[(0, 50), (0, 60)], hour),
            Err(ValidationError::DuplicateQuorum {
                task_id: id(),
                quorum: QuorumNumber(0)
            })
        );
        assert_eq!(
            TaskMetadata::from_raw(id(), 1, &[(0, 50)], Duration::ZERO),
            Err(ValidationError::ZeroExpiry { task_id: id() })
        );
        assert_eq!(
            TaskMetadata::from_raw(id(), 1, &[(192, 50)], hour),
            Err(ValidationError::QuorumNumberTooLarge {
                task_id: id(),
                quorum: QuorumNumber(192)
            })
        );
        assert!(matches!(
            TaskMetadata::new(id(), 1, vec![QuorumNumber(0)], vec![], hour),
            Err(ValidationError::ThresholdCountMismatch { .. })
        ));
    }

    #[test]
    fn quorums_are_sorted_with_their_thresholds() {
        let m = TaskMetadata::from_raw(id(), 9, &[(3, 40), (1, 90)], Duration::from_secs(1))
            .unwrap()
            .with_window(Duration::from_millis(5));
        assert_eq!(m.quorum_numbers_bytes(), vec![1, 3]);
        assert_eq!(m.quorums()[0].threshold.percent(), 90);
        assert_eq!(m.window(), Duration::from_millis(5));
    }
}
