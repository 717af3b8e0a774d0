//! Locating a single invalid signature with two final exponentiations (Law–Matt style
//! exponent test).
//!
//! Write a check's GT value additively, as arkworks does: the items' errors are
//! `eᵢ = e(σᵢ, −G2)·e(Hᵢ, pkᵢ)` (zero for a valid signature) and a range's check with weights
//! `wᵢ` has the value `Σ wᵢ·eᵢ`, since the multi-pairing is linear in the sums. A failing range
//! has `A = Σ rᵢeᵢ ≠ 0`; one more check with the weights `k·rᵢ` (`k` the item's 1-based position
//! in the range) gives `B = Σ k·rᵢeᵢ`. With exactly one invalid item, at position `k`, `B = k·A`,
//! found by walking `A, 2A, …` (GT multiplications, far cheaper than a final exponentiation);
//! no match means two or more invalid items, and the range is bisected.
//!
//! A match is only a guess, confirmed by one more final exponentiation: item `j`'s own error
//! `eⱼ` (two pairs, the key's cached line coefficients) must satisfy `rⱼ·eⱼ = A`. Then
//! `Σ_{i≠j} rᵢeᵢ = 0`, which is the random-coefficient batch check of the other items (a false
//! accept has probability ≤ 2⁻⁶⁴ per candidate, at most one candidate per range), and `eⱼ ≠ 0`
//! because `A ≠ 0`, so `j` is certainly invalid.
//!
//! Soundness of the weights: the multipliers `k` are public, but they only steer the guess; the
//! `rᵢ` stay secret CSPRNG output, and every accepting decision (a passing range, a confirmed
//! guess) is a check with the plain `rᵢ`, so an attacker who knows the `k` still cannot make
//! errors cancel, and a wrong guess costs a bisection, never a wrong answer.
//!
//! Cost (see [`LOCATE_MIN_ITEMS`]): two final exponentiations, one weighted set of MSMs, up to
//! `n` GT multiplications and one 64-bit GT exponentiation, against about `log₂ n` checks (one
//! per level: the right half's value is the parent's divided by the left's) for bisection.

use ark_bn254::Bn254;
use ark_ec::pairing::PairingOutput;
use ark_ec::PrimeGroup;
use ark_ff::Zero;
use std::ops::Range;

use super::Batch;
use crate::pairing::{neg_g2_prepared, pairing_product};

/// An element of GT, written additively (`ZERO` is 1).
pub(super) type Gt = PairingOutput<Bn254>;

/// Failing ranges of at least this many items try the locator before bisecting.
///
/// From `cargo bench -p quorate-bls --bench locate` (one invalid signature among `n` of one
/// digest, both searches in the same run, the whole verification timed): the locator takes
/// 0.97 of bisection's time at `n = 4` (a tie: two checks either way), 0.86 at 8, 0.55 at 32
/// and 0.60 at 128 (the walk and the weighted MSM grow with `n`, bisection's checks with
/// `log₂ n`). Below 8 it does not win on one invalid item and wastes a check on two, so
/// shorter ranges are bisected.
pub(super) const LOCATE_MIN_ITEMS: usize = 8;

/// The outcome of a batched check.
// A GT element is 384 bytes; an outcome lives on the stack for one search step, cheaper than a
// heap allocation per check.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug)]
pub(super) enum Outcome {
    Pass,
    /// Fails, with the GT value when the final exponentiation produced one.
    Fail(Option<Gt>),
}

impl Outcome {
    /// The outcome of a final exponentiation's result.
    pub(super) fn of(value: Option<Gt>) -> Self {
        match value {
            Some(v) if v.is_zero() => Self::Pass,
            v => Self::Fail(v),
        }
    }

    /// The GT value, `ZERO` for a pass.
    fn value(self) -> Option<Gt> {
        match self {
            Self::Pass => Some(Gt::zero()),
            Self::Fail(v) => v,
        }
    }

    /// The outcome of `parent − left` when it follows without a check: the values' difference
    /// (the multi-pairing is a homomorphism), or "fails" for a failing parent whose left half
    /// passes when the parent's value is unknown.
    pub(super) fn rest(parent: Self, left: Self) -> Option<Self> {
        match (parent.value(), left.value()) {
            (Some(p), Some(l)) => Some(Self::of(Some(p - l))),
            (None, Some(l)) if l.is_zero() => Some(Self::Fail(None)),
            _ => None,
        }
    }
}

impl Batch<'_> {
    /// If `range`, whose check's value is `a ≠ 0`, holds exactly one invalid item, its index
    /// (confirmed); `None` when it holds more (or the guess does not confirm): bisect.
    pub(super) fn locate(&self, range: Range<usize>, a: Gt) -> Option<usize> {
        let start = range.start;
        let weighted = self.weighted_sums(range.clone(), |i| (i - start + 1) as u64);
        let Outcome::Fail(Some(b)) = self.check(&weighted) else {
            // B = 0 while A ≠ 0 means two or more invalid items (one at k gives B = k·A ≠ 0);
            // a missing value leaves nothing to compare.
            return None;
        };
        let mut multiple = a;
        for j in range {
            if multiple == b {
                // A has prime order r > n: no other k can match.
                return self.confirm(j, a).then_some(j);
            }
            multiple += a;
        }
        None
    }

    /// Whether item `j` alone accounts for the value `a` of its range: `rⱼ·eⱼ = a`, one
    /// multi-Miller loop over two pairs and one final exponentiation.
    fn confirm(&self, j: usize, a: Gt) -> bool {
        self.checks.set(self.checks.get() + 1);
        let message = self.groups.get(j).and_then(|&g| self.messages.get(g));
        let (Some(sig), Some(key), Some(message), Some(&r)) = (
            self.sigs.get(j),
            self.keys.get(j),
            message,
            self.coeffs.get(j),
        ) else {
            // No such item: nothing to confirm.
            return false;
        };
        pairing_product(
            vec![*sig, *message],
            vec![neg_g2_prepared(), key.prepared().clone()],
        )
        .is_some_and(|e| e.mul_bigint([r]) == a)
    }
}
