//! What happens to operators that disagree: the outlier policy and how agreement is weighed.

use std::fmt;

use num_bigint::{BigInt, BigUint, Sign};
use num_traits::Zero;
use quorate_domain::Stake;
use serde::Serialize;

use crate::error::ConsensusError;
use crate::median::at_least_fraction;
use crate::number::Decimal;

/// What to do when some operators disagree.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum OutlierPolicy {
    /// Any disagreement, anywhere, means no consensus.
    #[default]
    Strict,
    /// Drop every operator with any disagreeing field; consensus only if the remaining
    /// operators still reach `min_agreeing`.
    ExcludeOutliers {
        /// The minimum share of responders (or of their stake) that must agree.
        min_agreeing: MinAgreeing,
    },
}

/// The minimum agreeing share under [`OutlierPolicy::ExcludeOutliers`], a fraction in `0..=1`
/// compared with `≥` (`0.67` of 3 operators needs 3, of 100 needs 67).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MinAgreeing {
    /// A fraction of the number of responding operators.
    Responders(Decimal),
    /// A fraction of the responders' total stake (every response must carry a stake).
    Stake(Decimal),
}

impl MinAgreeing {
    /// The fraction.
    pub fn fraction(&self) -> &Decimal {
        match self {
            Self::Responders(f) | Self::Stake(f) => f,
        }
    }

    /// What is weighed.
    pub fn measure(&self) -> WeightMeasure {
        match self {
            Self::Responders(_) => WeightMeasure::Responders,
            Self::Stake(_) => WeightMeasure::Stake,
        }
    }
}

impl OutlierPolicy {
    /// `ExcludeOutliers` weighed by responder count.
    pub fn exclude_by_responders(fraction: Decimal) -> Result<Self, ConsensusError> {
        let p = Self::ExcludeOutliers {
            min_agreeing: MinAgreeing::Responders(fraction),
        };
        p.validate()?;
        Ok(p)
    }

    /// `ExcludeOutliers` weighed by stake.
    pub fn exclude_by_stake(fraction: Decimal) -> Result<Self, ConsensusError> {
        let p = Self::ExcludeOutliers {
            min_agreeing: MinAgreeing::Stake(fraction),
        };
        p.validate()?;
        Ok(p)
    }

    /// Checks the fraction is within `0..=1`.
    pub fn validate(&self) -> Result<(), ConsensusError> {
        if let Self::ExcludeOutliers { min_agreeing } = self {
            let f = min_agreeing.fraction();
            if f.is_negative() || *f > Decimal::from(1u64) {
                return Err(ConsensusError::InvalidConfig {
                    reason: format!("min_agreeing must be a fraction within 0..=1, got {f}"),
                });
            }
        }
        Ok(())
    }

    /// How disagreement groups and the minimum are weighed.
    pub fn measure(&self) -> WeightMeasure {
        match self {
            Self::Strict => WeightMeasure::Responders,
            Self::ExcludeOutliers { min_agreeing } => min_agreeing.measure(),
        }
    }
}

/// Whether operators count one each or by stake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightMeasure {
    /// One per operator.
    Responders,
    /// Each operator's stake.
    Stake,
}

impl fmt::Display for WeightMeasure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Responders => "responders",
            Self::Stake => "stake",
        })
    }
}

/// An operator's weight as a big integer.
pub(crate) fn weight_of(measure: WeightMeasure, stake: Option<Stake>) -> BigInt {
    match measure {
        WeightMeasure::Responders => BigInt::from(1u8),
        WeightMeasure::Stake => {
            let bytes: [u8; 32] = stake.unwrap_or_default().to_be_bytes();
            BigInt::from_biguint(Sign::Plus, BigUint::from_bytes_be(&bytes))
        }
    }
}

/// Whether `agreeing` weight reaches `fraction` of `total`. A zero total (all stakes zero)
/// is reached only by a zero fraction.
pub(crate) fn reaches(agreeing: &BigInt, total: &BigInt, fraction: &Decimal) -> bool {
    if total.is_zero() {
        return fraction.is_zero();
    }
    at_least_fraction(agreeing, total, fraction)
}
