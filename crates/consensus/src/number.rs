//! Exact decimal numbers: every digit of a JSON number or numeric string is kept.
//!
//! A [`Decimal`] is `mantissa × 10^-scale` with an arbitrary-precision mantissa, so integers of
//! 256 bits and beyond, and decimals of any precision up to [`MAX_SCALE`] fraction digits, are
//! represented exactly — nothing ever passes through `f64`.
//!
//! The scale is part of the *representation* (`1.50` has scale 2, `1.5` scale 1) but not of the
//! value: equality and ordering compare values, so `1.50 == 1.5`.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use num_bigint::{BigInt, Sign};
use num_traits::{Signed, Zero};
use serde::{Serialize, Serializer};

use crate::error::NumberError;

/// The most integer digits a number may have (2^256 has 78; this leaves room for int256 sums).
pub const MAX_INTEGER_DIGITS: usize = 128;
/// The most fraction digits a number may have, after applying any exponent.
pub const MAX_SCALE: u32 = 128;

/// An exact decimal number: `mantissa × 10^-scale`.
#[derive(Clone, Debug)]
pub struct Decimal {
    mantissa: BigInt,
    scale: u32,
}

/// 10^n as a big integer.
pub(crate) fn pow10(n: u32) -> BigInt {
    BigInt::from(10u32).pow(n)
}

impl Decimal {
    /// The number `mantissa × 10^-scale`, within the same limits as parsed numbers (at most
    /// [`MAX_SCALE`] fraction digits and [`MAX_INTEGER_DIGITS`] integer digits).
    pub fn new(mantissa: BigInt, scale: u32) -> Result<Self, NumberError> {
        let too_big = || NumberError::TooLarge {
            text: format!("{}e-{scale}", truncate(&mantissa.to_string(), 40)),
            max_integer_digits: MAX_INTEGER_DIGITS,
            max_scale: MAX_SCALE,
        };
        if scale > MAX_SCALE {
            return Err(too_big());
        }
        let max_int = u32::try_from(MAX_INTEGER_DIGITS).unwrap_or(u32::MAX);
        if *mantissa.magnitude() >= *pow10(max_int.saturating_add(scale)).magnitude() {
            return Err(too_big());
        }
        Ok(Self::from_parts(mantissa, scale))
    }

    /// Unchecked constructor for internal arithmetic (whose results stay bounded).
    pub(crate) fn from_parts(mantissa: BigInt, scale: u32) -> Self {
        Self { mantissa, scale }
    }

    /// Zero, with scale 0.
    pub fn zero() -> Self {
        Self::from_parts(BigInt::zero(), 0)
    }

    /// The unscaled integer.
    pub fn mantissa(&self) -> &BigInt {
        &self.mantissa
    }

    /// The number of fraction digits this representation carries.
    pub fn scale(&self) -> u32 {
        self.scale
    }

    /// Whether the value is zero (at any scale, and whatever its sign was written as).
    pub fn is_zero(&self) -> bool {
        self.mantissa.is_zero()
    }

    /// Whether the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.mantissa.sign() == Sign::Minus
    }

    /// The absolute value, same scale.
    pub fn abs(&self) -> Self {
        Self::from_parts(self.mantissa.abs(), self.scale)
    }

    /// The mantissa expressed at a scale at least as large as this one's (exact).
    pub(crate) fn mantissa_at(&self, scale: u32) -> BigInt {
        debug_assert!(scale >= self.scale);
        &self.mantissa * pow10(scale.saturating_sub(self.scale))
    }

    /// Exact sum, at the larger of the two scales.
    pub fn add(&self, other: &Self) -> Self {
        let s = self.scale.max(other.scale);
        Self::from_parts(self.mantissa_at(s) + other.mantissa_at(s), s)
    }

    /// Exact difference, at the larger of the two scales.
    pub fn sub(&self, other: &Self) -> Self {
        let s = self.scale.max(other.scale);
        Self::from_parts(self.mantissa_at(s) - other.mantissa_at(s), s)
    }

    /// Exact product, at the sum of the two scales.
    pub fn mul(&self, other: &Self) -> Self {
        Self::from_parts(
            &self.mantissa * &other.mantissa,
            self.scale.saturating_add(other.scale),
        )
    }

    /// The mean of two numbers, rounded to `scale` fraction digits, **half away from zero**.
    ///
    /// `scale` (capped at [`MAX_SCALE`]) should be at least both operands' scales (the caller
    /// passes the field's scale; a smaller one is raised to the operands');
    /// the exact mean then has at most one more digit, a trailing 5 when a tie occurs, so the
    /// rounding is the only inexact step and it is deterministic and sign-symmetric:
    /// `mean(1, 2) = 2`, `mean(-1, -2) = -2`, `mean(1.25, 1.26) @2 = 1.26`.
    pub fn midpoint(a: &Self, b: &Self, scale: u32) -> Self {
        let s = scale.min(MAX_SCALE).max(a.scale).max(b.scale);
        let sum = a.mantissa_at(s) + b.mantissa_at(s);
        let two = BigInt::from(2u8);
        let mut q = &sum / &two; // truncates toward zero
        if !(&sum % &two).is_zero() {
            // Exactly half way: step away from zero.
            if sum.sign() == Sign::Minus {
                q -= 1;
            } else {
                q += 1;
            }
        }
        Self::from_parts(q, s)
    }

    /// Renders at this number's own scale: `-12.340`, `0`, `0.00`. Zero never has a sign.
    pub fn to_plain_string(&self) -> String {
        render(&self.mantissa, self.scale)
    }

    /// The same value at a larger scale (exact), or unchanged for a smaller one.
    pub(crate) fn with_scale(&self, scale: u32) -> Self {
        if scale <= self.scale {
            return self.clone();
        }
        Self::from_parts(self.mantissa_at(scale), scale)
    }

    /// The canonical text of the value: no exponent, no leading zeros, no trailing fraction
    /// zeros, no `.` when the value is an integer, no sign on zero. `1.50` → `1.5`, `1e3` →
    /// `1000`, `-0.0` → `0`. Two numbers are equal exactly when their canonical texts are.
    pub fn canonical_string(&self) -> String {
        let mut m = self.mantissa.clone();
        let mut s = self.scale;
        let ten = BigInt::from(10u8);
        while s > 0 && !m.is_zero() && (&m % &ten).is_zero() {
            m /= &ten;
            s -= 1;
        }
        if m.is_zero() {
            s = 0;
        }
        render(&m, s)
    }

    /// Parses a JSON number exactly (`-?int(.frac)?([eE][+-]?exp)?`). The exponent is applied,
    /// so `1.5e2` is `150` (scale 0) and `15e-1` is `1.5` (scale 1).
    pub fn parse_json_number(text: &str) -> Result<Self, NumberError> {
        let (body, exp) = match text.find(['e', 'E']) {
            Some(i) => (&text[..i], Some(&text[i + 1..])),
            None => (text, None),
        };
        let (negative, int, frac) = split_plain(body).ok_or_else(|| syntax(text))?;
        let exp: i64 = match exp {
            None => 0,
            Some(e) => parse_exponent(e).ok_or_else(|| syntax(text))?,
        };
        build(text, negative, int, frac, exp)
    }

    /// Parses a numeric string: a JSON number without exponent (`-?(0|[1-9][0-9]*)(.[0-9]+)?`).
    /// Returns `None` for any other text, including numbers beyond the size limits: such
    /// strings are ordinary text to the consensus, compared for identity.
    pub fn parse_numeric_string(text: &str) -> Option<Self> {
        let (negative, int, frac) = split_plain(text)?;
        build(text, negative, int, frac, 0).ok()
    }
}

fn syntax(text: &str) -> NumberError {
    NumberError::Syntax {
        text: truncate(text, 40),
    }
}

/// Shortens text for error messages.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max).collect();
    out.push('…');
    out
}

/// Splits `-?(0|[1-9][0-9]*)(.[0-9]+)?` into sign, integer digits, fraction digits.
fn split_plain(body: &str) -> Option<(bool, &str, &str)> {
    let (negative, rest) = match body.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, body),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => {
            if f.is_empty() {
                return None;
            }
            (i, f)
        }
        None => (rest, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) {
        return None;
    }
    if int.len() > 1 && int.starts_with('0') {
        return None;
    }
    Some((negative, int, frac))
}

/// Parses an exponent `[+-]?[0-9]+`, saturating far beyond any accepted magnitude.
fn parse_exponent(e: &str) -> Option<i64> {
    let (neg, digits) = match e.as_bytes().first() {
        Some(b'-') => (true, &e[1..]),
        Some(b'+') => (false, &e[1..]),
        _ => (false, e),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let trimmed = digits.trim_start_matches('0');
    let magnitude: i64 = if trimmed.len() > 12 {
        i64::from(u32::MAX) // far beyond the limits: rejected by `build`
    } else if trimmed.is_empty() {
        0
    } else {
        trimmed.parse().ok()?
    };
    Some(if neg { -magnitude } else { magnitude })
}

fn build(
    text: &str,
    negative: bool,
    int: &str,
    frac: &str,
    exp: i64,
) -> Result<Decimal, NumberError> {
    let frac_len = i64::try_from(frac.len()).unwrap_or(i64::MAX);
    let scale = frac_len.saturating_sub(exp);
    let mut digits = String::with_capacity(int.len() + frac.len());
    digits.push_str(int);
    digits.push_str(frac);
    let significant = digits.trim_start_matches('0');
    let too_big = || NumberError::TooLarge {
        text: truncate(text, 40),
        max_integer_digits: MAX_INTEGER_DIGITS,
        max_scale: MAX_SCALE,
    };
    if scale > i64::from(MAX_SCALE) {
        return Err(too_big());
    }
    // Integer digits of the value = significant digits − scale.
    let sig_len = i64::try_from(significant.len()).unwrap_or(i64::MAX);
    let max_int = i64::try_from(MAX_INTEGER_DIGITS).unwrap_or(i64::MAX);
    if !significant.is_empty() && sig_len.saturating_sub(scale) > max_int {
        return Err(too_big());
    }
    let mut mantissa: BigInt = if significant.is_empty() {
        BigInt::zero()
    } else {
        BigInt::parse_bytes(significant.as_bytes(), 10).ok_or_else(|| syntax(text))?
    };
    let scale = if scale < 0 {
        // Bounded by the integer-digit check above (or the mantissa is zero).
        let shift = u32::try_from(-scale).map_err(|_| too_big())?;
        if !mantissa.is_zero() {
            mantissa *= pow10(shift);
        }
        0
    } else {
        u32::try_from(scale).map_err(|_| too_big())?
    };
    if negative {
        mantissa = -mantissa;
    }
    Ok(Decimal::from_parts(mantissa, scale))
}

fn render(mantissa: &BigInt, scale: u32) -> String {
    let digits = mantissa.magnitude().to_str_radix(10);
    let negative = mantissa.sign() == Sign::Minus;
    let scale = scale as usize;
    let mut out = String::with_capacity(digits.len() + scale + 3);
    if negative {
        out.push('-');
    }
    if scale == 0 {
        out.push_str(&digits);
    } else if digits.len() > scale {
        let (i, f) = digits.split_at(digits.len() - scale);
        out.push_str(i);
        out.push('.');
        out.push_str(f);
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(&digits);
    }
    out
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Decimal {}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        let s = self.scale.max(other.scale);
        self.mantissa_at(s).cmp(&other.mantissa_at(s))
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_plain_string())
    }
}

impl FromStr for Decimal {
    type Err = NumberError;

    /// Parses JSON-number syntax (exponent allowed).
    fn from_str(s: &str) -> Result<Self, NumberError> {
        Self::parse_json_number(s)
    }
}

impl From<u64> for Decimal {
    fn from(v: u64) -> Self {
        Self::from_parts(BigInt::from(v), 0)
    }
}

impl From<i64> for Decimal {
    fn from(v: i64) -> Self {
        Self::from_parts(BigInt::from(v), 0)
    }
}

impl Serialize for Decimal {
    /// Serialized as its plain string, so no digit is lost by a JSON consumer.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_plain_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_renders_exactly() {
        assert_eq!(d("1.50").to_plain_string(), "1.50");
        assert_eq!(d("1.50").canonical_string(), "1.5");
        assert_eq!(d("1.5e2").to_plain_string(), "150");
        assert_eq!(d("15e-1").to_plain_string(), "1.5");
        assert_eq!(d("-0.0").canonical_string(), "0");
        assert_eq!(d("-0").to_plain_string(), "0");
        assert_eq!(d("0.001").to_plain_string(), "0.001");
        assert_eq!(d("1E+3").canonical_string(), "1000");
        let big = "57896044618658097711785492504343953926634992332820282019728792003956564819967";
        assert_eq!(d(big).to_plain_string(), big);
        assert_eq!(d(big).add(&d("1")).sub(&d("1")).to_plain_string(), big);
    }

    #[test]
    fn rejects_bad_syntax_and_huge_numbers() {
        for bad in [
            "", "-", "01", "1.", ".5", "1e", "1e+", "+1", "1.2.3", "0x10", "NaN",
        ] {
            assert!(
                matches!(
                    Decimal::parse_json_number(bad),
                    Err(NumberError::Syntax { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            d_err("1e1000000000000000"),
            NumberError::TooLarge { .. }
        ));
        assert!(matches!(d_err("1e-200"), NumberError::TooLarge { .. }));
        assert_eq!(d("0e1000000").to_plain_string(), "0");
        assert!(Decimal::parse_numeric_string("1e3").is_none());
        assert!(Decimal::parse_numeric_string("007").is_none());
        assert!(Decimal::parse_numeric_string(&"9".repeat(200)).is_none());
        assert_eq!(
            Decimal::parse_numeric_string("-2.50")
                .unwrap()
                .to_plain_string(),
            "-2.50"
        );
    }

    fn d_err(s: &str) -> NumberError {
        Decimal::parse_json_number(s).unwrap_err()
    }

    #[test]
    fn midpoint_rounds_half_away_from_zero() {
        assert_eq!(
            Decimal::midpoint(&d("1"), &d("2"), 0).to_plain_string(),
            "2"
        );
        assert_eq!(
            Decimal::midpoint(&d("-1"), &d("-2"), 0).to_plain_string(),
            "-2"
        );
        assert_eq!(
            Decimal::midpoint(&d("-1"), &d("2"), 0).to_plain_string(),
            "1"
        );
        assert_eq!(
            Decimal::midpoint(&d("1"), &d("-2"), 0).to_plain_string(),
            "-1"
        );
        assert_eq!(
            Decimal::midpoint(&d("1.25"), &d("1.26"), 2).to_plain_string(),
            "1.26"
        );
        assert_eq!(
            Decimal::midpoint(&d("1.2"), &d("1.26"), 2).to_plain_string(),
            "1.23"
        );
        assert_eq!(
            Decimal::midpoint(&d("1"), &d("3"), 0).to_plain_string(),
            "2"
        );
    }

    #[test]
    fn checked_constructor_enforces_the_limits() {
        assert_eq!(
            Decimal::new(BigInt::from(-150), 2)
                .unwrap()
                .to_plain_string(),
            "-1.50"
        );
        assert!(Decimal::new(BigInt::from(1), MAX_SCALE + 1).is_err());
        assert!(Decimal::new(pow10(128), 0).is_err());
        assert!(Decimal::new(pow10(128) - 1, 0).is_ok());
        assert!(Decimal::new(pow10(130), 2).is_err());
    }

    #[test]
    fn ordering_ignores_scale() {
        assert_eq!(d("1.5"), d("1.500"));
        assert!(d("-2") < d("-1.99"));
        assert!(d("10") > d("9.999"));
    }
}
