//! Reading two invalid items out of three values of a range (Law–Matt exponent test, second
//! degree).
//!
//! In the notation of [`super::search`], write a range `[s, e)`'s items by their local
//! positions `xᵢ = i − s + 1` and their weighted errors `aᵢ = rᵢeᵢ`. Besides its plain value
//! `A = Σ aᵢ` the range has
//!
//! - `B' = Σ xᵢaᵢ`, its weighted value `B` moved to local positions (`B' = B − s·A`), and
//! - `C = Σ xᵢ²aᵢ`, one more check, weighted by the squared local positions.
//!
//! With exactly two invalid items, at `x < y`, every item's `(xᵢ − x)(xᵢ − y)·aᵢ` is zero, so
//! `C − (x + y)·B' + xy·A = 0`, that is `C − x·B' = y·(B' − x·A)`: the walk ([`pair_walk`])
//! tries every `x` and, for each, every `y` above it, one GT addition per pair. The search asks
//! for it only once the single-item walk has failed, so the range holds at least two invalid
//! items; with more than two, a match needs the secret `rᵢ` to meet one equation, at most
//! `2⁻⁶⁴` per pair tried, and a wrong match is refused by the confirmation like a single guess.
//!
//! The weights stay short: local positions of a range of at most [`PAIR_MAX_ITEMS`] items
//! square to at most 256, so `C`'s signature-side scalars (64-bit `rᵢ` times the weight) stay
//! under 73 bits, and its keys' side is three additions per key from the batch's products
//! ([`super::key_sums`]).

use std::ops::Range;

use ark_ec::PrimeGroup;
use ark_ff::Zero;

use super::search::Gt;

/// Failing ranges of at most this many items (and at least [`PAIR_MIN_ITEMS`]), whose
/// single-item walk found nothing, pay one more weighted check (`C`) and are walked for two
/// invalid items before being split.
///
/// The walk costs about `n²/2` GT multiplications of about 1.9 µs each: half a check's time at
/// 16 items, a whole check at 24, where the check it may save (a split's two to four, when the
/// range holds exactly two) no longer pays for it and the check for `C`.
pub(super) const PAIR_MAX_ITEMS: usize = 16;

/// The two positions `x < y` in `range` that account for its values (see the module
/// documentation): `a` the plain value `A`, `b` the weighted value `B` (global positions
/// `i + 1`), `c` the value weighted by squared local positions. `None` when no pair does.
pub(super) fn pair_walk(range: Range<usize>, a: Gt, b: Gt, c: Gt) -> Option<(usize, usize)> {
    if a.is_zero() {
        // A passing range: every pair would match zero with zero.
        return None;
    }
    let n = range.len();
    // B' = B − s·A: the weighted value at local positions 1..=n.
    let b = b - a.mul_bigint([range.start as u64]);
    // For x = 1: X = C − x·B', Y = B' − x·A, and the first y's multiple (x + 1)·Y.
    let mut target = c - b;
    let mut step = b - a;
    let mut first = step + step;
    // What the first multiple grows by from one x to the next: B' − 2(x + 1)·A.
    let double_a = a + a;
    let mut first_growth = b - double_a - double_a;
    for x in 1..n {
        let mut multiple = first;
        for y in x + 1..=n {
            if multiple == target {
                return Some((range.start + x - 1, range.start + y - 1));
            }
            multiple += step;
        }
        target -= b;
        step -= a;
        first += first_growth;
        first_growth -= double_a;
    }
    // No pair matches: zero, one or three or more invalid items.
    None
}

/// Failing ranges of fewer items are split instead: at three, one check of a half names an
/// item either way. Ranges this short get the walk only with `B` derived from their parent's
/// (a check for it is paid from [`super::search::LOCATE_MIN_ITEMS`] items).
///
/// Counted by a throwaway test over the batch (200 draws of 100 signatures at 5 %, 4 parts):
/// 11.68 final exponentiations per search from 4 items, 11.92 from 8, the same items summed.
const PAIR_MIN_ITEMS: usize = 4;

/// Whether the pair walk is worth a check for a failing range of `len` items.
pub(super) fn worth_a_pair_walk(len: usize) -> bool {
    (PAIR_MIN_ITEMS..=PAIR_MAX_ITEMS).contains(&len)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `A`, `B` (global positions `i + 1`) and `C` (squared local positions, which may lie
    /// outside the range) of `errors`, given as (position, `aᵢ`).
    fn values(range: &Range<usize>, errors: &[(usize, Gt)]) -> (Gt, Gt, Gt) {
        let sum = |weight: &dyn Fn(usize) -> u64| {
            errors
                .iter()
                .fold(Gt::zero(), |acc, (i, e)| acc + e.mul_bigint([weight(*i)]))
        };
        let local = |i: usize| (i as i64 - range.start as i64 + 1).unsigned_abs();
        (
            sum(&|_| 1),
            sum(&|i| i as u64 + 1),
            sum(&|i| local(i) * local(i)),
        )
    }

    /// A non-zero GT element drawn from `k`.
    fn error(k: u64) -> Gt {
        // Two limbs: arkworks 0.5 gets a one-limb exponent above 2⁶³ wrong in GT.
        Gt::generator().mul_bigint([k.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1, 0])
    }

    #[test]
    fn the_walk_reads_the_two_indices_out_of_three_values() {
        for range in [0..2, 0..8, 3..20, 40..64, 100..124] {
            let last = range.end - 1;
            for (x, y) in [
                (range.start, range.start + 1),
                (range.start, last),
                (last - 1, last),
                (range.start + 1, (range.start + range.end) / 2),
            ] {
                if x >= y {
                    continue;
                }
                let (a, b, c) = values(&range, &[(x, error(1)), (y, error(2))]);
                assert_eq!(pair_walk(range.clone(), a, b, c), Some((x, y)), "{range:?}");
            }
        }
    }

    #[test]
    fn three_invalid_items_or_a_partner_outside_the_range_match_no_pair() {
        let range = 10..30;
        let (a, b, c) = values(&range, &[(12, error(1)), (17, error(2)), (25, error(3))]);
        assert_eq!(pair_walk(range.clone(), a, b, c), None);
        // Two invalid items, one just outside the range at either end.
        for outside in [9, 30] {
            let (a, b, c) = values(&range, &[(15, error(4)), (outside, error(5))]);
            assert_eq!(pair_walk(range.clone(), a, b, c), None, "{outside}");
        }
        // A passing range's values are all zero: refused rather than matched.
        let zero = Gt::zero();
        assert_eq!(pair_walk(range, zero, zero, zero), None);
    }
}
