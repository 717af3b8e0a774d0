//! The median of a field's values and the tolerance test against it.
//!
//! # Rules
//! - **Odd count**: the middle value of the sorted values.
//! - **Even count**: the mean of the two middle values, rounded to the field's scale (the
//!   largest number of fraction digits any of its values carries; 0 for integers) **half away
//!   from zero** — see [`Decimal::midpoint`]. The mean of two numbers of scale `s` has at most
//!   `s + 1` digits, so this is the only rounding that ever happens, and it only happens on an
//!   exact tie (`mean(1, 2) = 2`, `mean(-1, -2) = -2`, `mean(1.25, 1.26) = 1.26`).
//! - **Agreement**: a value `v` agrees with the median `m` when `|v − m| × 100 ≤ p × |m|` for a
//!   tolerance of `p` percent, or, when `m = 0`, when `|v| ≤ a` for the absolute tolerance `a`.
//!   All of it in exact arithmetic.

use num_bigint::BigInt;
use serde::Serialize;

use crate::error::ConsensusError;
use crate::number::Decimal;

/// How far a value may be from the median and still agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tolerance {
    /// Allowed relative deviation, in percent of `|median|` (`1` = 1 %, `0.5` = 0.5 %).
    pub percent: Decimal,
    /// Allowed absolute deviation when the median is zero (where a percentage is meaningless).
    pub absolute: Decimal,
}

impl Tolerance {
    /// A relative tolerance in percent, with an absolute tolerance of zero.
    pub fn percent(percent: Decimal) -> Result<Self, ConsensusError> {
        let t = Self {
            percent,
            absolute: Decimal::zero(),
        };
        t.validate()?;
        Ok(t)
    }

    /// Sets the absolute tolerance used when the median is zero.
    pub fn with_absolute(mut self, absolute: Decimal) -> Result<Self, ConsensusError> {
        self.absolute = absolute;
        self.validate()?;
        Ok(self)
    }

    /// Checks both tolerances are non-negative.
    pub fn validate(&self) -> Result<(), ConsensusError> {
        if self.percent.is_negative() || self.absolute.is_negative() {
            return Err(ConsensusError::InvalidConfig {
                reason: format!(
                    "tolerances must not be negative (percent {}, absolute {})",
                    self.percent, self.absolute
                ),
            });
        }
        Ok(())
    }

    /// Whether `value` agrees with `median`.
    pub fn accepts(&self, value: &Decimal, median: &Decimal) -> bool {
        let deviation = value.sub(median).abs();
        if median.is_zero() {
            return deviation <= self.absolute;
        }
        deviation.mul(&Decimal::from(100u64)) <= self.percent.mul(&median.abs())
    }
}

/// The median of `values` at `scale` fraction digits (see the module docs; `scale` is capped
/// at [`crate::number::MAX_SCALE`]); `None` when empty. The values are sorted in place.
pub fn median(values: &mut [Decimal], scale: u32) -> Option<Decimal> {
    if values.is_empty() {
        return None;
    }
    let scale = scale.min(crate::number::MAX_SCALE);
    values.sort();
    let n = values.len();
    let mid = n / 2;
    if n % 2 == 1 {
        values.get(mid).map(|v| v.with_scale(scale))
    } else {
        let lo = values.get(mid.checked_sub(1)?)?;
        let hi = values.get(mid)?;
        Some(Decimal::midpoint(lo, hi, scale))
    }
}

/// The largest scale among the values (the field's scale).
pub(crate) fn field_scale<'a>(values: impl IntoIterator<Item = &'a Decimal>) -> u32 {
    values.into_iter().map(Decimal::scale).max().unwrap_or(0)
}

/// `numerator / 10^scale` as an exact fraction helper: `a ≥ f × b` for a decimal fraction `f`.
pub(crate) fn at_least_fraction(a: &BigInt, b: &BigInt, fraction: &Decimal) -> bool {
    a * crate::number::pow10(fraction.scale()) >= fraction.mantissa() * b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(v: &[&str]) -> Vec<Decimal> {
        v.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn odd_even_and_empty() {
        assert_eq!(
            median(&mut ds(&["3", "1", "2"]), 0)
                .unwrap()
                .to_plain_string(),
            "2"
        );
        assert_eq!(
            median(&mut ds(&["4", "1", "2", "3"]), 0)
                .unwrap()
                .to_plain_string(),
            "3"
        );
        assert_eq!(
            median(&mut ds(&["-4", "-1", "-2", "-3"]), 0)
                .unwrap()
                .to_plain_string(),
            "-3"
        );
        assert_eq!(
            median(&mut ds(&["1.5", "1.25"]), 2)
                .unwrap()
                .to_plain_string(),
            "1.38"
        );
        assert_eq!(
            median(&mut ds(&["1.5", "1.2", "9"]), 2)
                .unwrap()
                .to_plain_string(),
            "1.50"
        );
        assert!(median(&mut [], 0).is_none());
    }

    #[test]
    fn tolerance_relative_and_absolute() {
        let t = Tolerance::percent("10".parse().unwrap())
            .unwrap()
            .with_absolute("0.5".parse().unwrap())
            .unwrap();
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert!(t.accepts(&d("110"), &d("100")));
        assert!(!t.accepts(&d("110.0001"), &d("100")));
        assert!(t.accepts(&d("-90"), &d("-100")));
        assert!(t.accepts(&d("0.5"), &d("0")));
        assert!(!t.accepts(&d("-0.51"), &d("0")));
        assert!(Tolerance::percent(d("-1")).is_err());
    }
}
