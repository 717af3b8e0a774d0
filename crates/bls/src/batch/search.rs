//! The search for the invalid items of a failing batch: a tree of ranges, each carrying two
//! GT values, most of them derived rather than checked.
//!
//! Write a check's GT value additively, as arkworks does: item `i`'s error is
//! `eᵢ = e(σᵢ, −G2)·e(Hᵢ, pkᵢ)` (zero for a valid signature), and a check of a range with
//! weights `wᵢ` has the value `Σ wᵢ·eᵢ`, since the multi-pairing is linear in the sums. A
//! range carries
//!
//! - `A = Σ rᵢeᵢ`, its plain check (zero: every item valid, but with probability ≤ 2⁻⁶⁴), and
//! - `B = Σ kᵢrᵢeᵢ`, with `kᵢ = i + 1` the item's position in the whole batch.
//!
//! With exactly one invalid item, at `j`, `B = kⱼ·A`: the walk ([`walk_to`]) reads `j` out of
//! the two values (Law–Matt exponent test). Because the weights are positions in the whole
//! batch, both values are additive over ranges: a split checks the left half (`A` and, when
//! it is needed, `B`) and derives the right half's as the parent's minus the left's, with no
//! check. A half known to pass has `B = 0`, and a single failing item has `B = kⱼ·A`, so the
//! weighted check is needed only when both halves fail and both hold two or more items.
//!
//! A walk's match is a guess until [`Batch::confirm`] shows, for all of them at once, that the
//! candidate's own error accounts for its range's value; the rest of that range is then valid.
//!
//! A failing range of at most [`super::pair::PAIR_MAX_ITEMS`] items whose walk finds nothing
//! holds two or more invalid items; it pays one more check, weighted by squared positions, and
//! two invalid items are read out of three values ([`super::pair`]).
//!
//! Cost, counted by the tests: one invalid item among `n` takes three final exponentiations
//! (`A`, `B`, the confirmation), two among 16 take four; 5 among 95 take about 12, where
//! bisection that checks only `A` and tries the locator on every failing range (the search up
//! to `8170213`) took 21.

use std::collections::HashMap;
use std::ops::Range;

use ark_bn254::Bn254;
use ark_ec::pairing::PairingOutput;
use ark_ec::PrimeGroup;
use ark_ff::Zero;

use super::key_sums::Weight;
use super::pair::{pair_walk, worth_a_pair_walk};
use super::Batch;

/// An element of GT, written additively (`ZERO` is 1).
pub(super) type Gt = PairingOutput<Bn254>;

/// What is known of a range's plain check.
// A GT element is 384 bytes; a value lives on the stack for one search step, cheaper than a
// heap allocation per check.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug)]
pub(super) enum Value {
    /// `Σ rᵢeᵢ = 0`: every item of the range is valid (but with probability ≤ 2⁻⁶⁴).
    Pass,
    /// The range fails, with this GT value.
    Fail(Gt),
    /// The range fails, but the final exponentiation gave no value (unreachable for curve
    /// points), so nothing can be derived from it.
    Opaque,
}

impl Value {
    /// The value of a final exponentiation's result.
    pub(super) fn of(value: Option<Gt>) -> Self {
        match value {
            Some(v) if v.is_zero() => Self::Pass,
            Some(v) => Self::Fail(v),
            None => Self::Opaque,
        }
    }

    /// The GT value, `ZERO` for a pass.
    fn gt(self) -> Option<Gt> {
        match self {
            Self::Pass => Some(Gt::zero()),
            Self::Fail(v) => Some(v),
            Self::Opaque => None,
        }
    }
}

/// A walk's guess: `items` (one or two) are the only invalid items of `range`, whose plain
/// value is `a`.
#[derive(Clone, Debug)]
pub(super) struct Located {
    /// The candidates' positions in the batch.
    pub(super) items: Vec<usize>,
    /// The range it was read from.
    pub(super) range: Range<usize>,
    /// The range's plain value, `A`.
    pub(super) a: Gt,
}

/// What a search found.
#[derive(Debug, Default)]
pub(super) struct Found {
    /// Positions certainly invalid (a failing single item).
    pub(super) bad: Vec<usize>,
    /// Walks' guesses, to be confirmed.
    pub(super) located: Vec<Located>,
}

/// Which of a range's values the search reads positions out of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reading {
    /// None: plain bisection, the fallback when a guess does not confirm.
    Bisect,
    /// One invalid item out of `A` and `B`, and two out of `A`, `B` and `C` ([`super::pair`]).
    SinglesAndPairs,
    /// One invalid item only: the range holds exactly the invalid items of an ancestor whose
    /// pair walk found nothing, so another would find nothing either.
    Singles,
}

/// Failing ranges of at least this many items whose `B` is not known yet pay a weighted check
/// for it; shorter ones are bisected.
///
/// From `cargo bench -p quorate-bls --bench locate` (one invalid signature among `n` of one
/// digest, both searches in the same run, the whole verification timed): the locator takes
/// 0.97 of bisection's time at `n = 4` (a tie: two checks either way), 0.86 at 8, 0.55 at 32
/// and 0.60 at 128 (the walk and the weighted MSM grow with `n`, bisection's checks with
/// `log₂ n`). Below 8 it does not win on one invalid item and wastes a check on two. Inside a
/// search `B` is mostly derived for free, and then every range is walked.
pub(super) const LOCATE_MIN_ITEMS: usize = 8;

/// Ranges shorter than this are walked one step at a time; longer ones by baby-step
/// giant-step (about `2√n` GT multiplications and a hash table instead of `n`).
const GIANT_STEPS_FROM: usize = 24;

/// The position `j` in `range` with `kⱼ·a = b` (`kⱼ = j + 1`), if any. There is at most one:
/// `a ≠ 0` has prime order, far above any position.
pub(super) fn walk_to(range: Range<usize>, a: Gt, b: Gt) -> Option<usize> {
    let start = range.start;
    let n = range.len();
    // b − k_start·a = t·a for the candidate at start + t.
    let target = b - a.mul_bigint([start as u64 + 1]);
    if n < GIANT_STEPS_FROM {
        let mut multiple = Gt::zero();
        for t in 0..n {
            if multiple == target {
                return Some(start + t);
            }
            multiple += a;
        }
        return None;
    }
    let s = n.isqrt() + 1;
    let mut baby: HashMap<Gt, usize> = HashMap::with_capacity(s);
    let mut multiple = Gt::zero();
    for t in 0..s {
        baby.entry(multiple).or_insert(t);
        multiple += a;
    }
    // `multiple` is now s·a, the giant step.
    let mut rest = target;
    for q in 0..=n / s {
        if let Some(&t) = baby.get(&rest) {
            let offset = q * s + t;
            return (offset < n).then_some(start + offset);
        }
        rest -= multiple;
    }
    None
}

impl Batch<'_> {
    /// The plain check of `range`: one set of sums and one final exponentiation.
    pub(super) fn value(&self, range: Range<usize>) -> Value {
        Value::of(self.check(&self.sums(range)))
    }

    /// The weighted check `B` of `range`.
    fn weighted_value(&self, range: Range<usize>) -> Option<Gt> {
        self.check(&self.weighted_sums(range, Weight::Position))
    }

    /// The check `C` of `range`, weighted by squared local positions ([`super::pair`]).
    fn squared_value(&self, range: Range<usize>) -> Option<Gt> {
        self.check(&self.weighted_sums(range, Weight::LocalSquare))
    }

    /// Finds the invalid items of `range`, whose plain value is `a` and weighted value `b`
    /// when known, reading positions out of the values as `reading` allows.
    pub(super) fn search(
        &self,
        range: Range<usize>,
        a: Value,
        b: Option<Gt>,
        reading: Reading,
        found: &mut Found,
    ) {
        if range.is_empty() || matches!(a, Value::Pass) {
            // Nothing to find: an empty range, or one whose check passes.
            return;
        }
        if range.len() == 1 {
            // A failing single item is the invalid one.
            found.bad.push(range.start);
            return;
        }
        let mid = self.split_point(&range);
        let (left, right) = (range.start..mid, mid..range.end);
        let Value::Fail(a) = a else {
            // Fails without a value: nothing derives from it, so both halves are checked.
            let (l, r) = (self.value(left.clone()), self.value(right.clone()));
            self.search(left, l, None, reading, found);
            self.search(right, r, None, reading, found);
            return;
        };
        let walk = reading != Reading::Bisect;
        let b = match b {
            Some(b) if walk => Some(b),
            None if walk && range.len() >= self.locate_min => self.weighted_value(range.clone()),
            _ => None,
        };
        if let Some(item) = b.and_then(|b| walk_to(range.clone(), a, b)) {
            found.located.push(Located {
                items: vec![item],
                range,
                a,
            });
            return;
        }
        // No single item accounts for the values: two or more are invalid.
        let pair_walked =
            reading == Reading::SinglesAndPairs && b.is_some() && worth_a_pair_walk(range.len());
        if pair_walked {
            let c = self.squared_value(range.clone());
            let pair = b
                .zip(c)
                .and_then(|(b, c)| pair_walk(range.clone(), a, b, c));
            if let Some((x, y)) = pair {
                found.located.push(Located {
                    items: vec![x, y],
                    range,
                    a,
                });
                return;
            }
        }
        let l = self.value(left.clone());
        let r = match l.gt() {
            Some(lv) => Value::of(Some(a - lv)),
            None => self.value(right.clone()),
        };
        let (lb, rb) = match b {
            Some(b) => self.split_weighted(b, (&left, l), (&right, r)),
            None => (None, None),
        };
        // A half whose sibling passes holds all of this range's invalid items.
        let inherits = pair_walked || reading == Reading::Singles;
        let child = |sibling: Value| match (reading, sibling) {
            (Reading::Bisect, _) => Reading::Bisect,
            (_, Value::Pass) if inherits => Reading::Singles,
            _ => Reading::SinglesAndPairs,
        };
        let (left_reading, right_reading) = (child(r), child(l));
        self.search(left, l, lb, left_reading, found);
        self.search(right, r, rb, right_reading, found);
    }

    /// The halves' weighted values from the parent's `b`: derived when a half passes (its
    /// `B` is zero) or is a single item (`B = k·A`), else one weighted check of the left half.
    fn split_weighted(
        &self,
        b: Gt,
        (left, l): (&Range<usize>, Value),
        (right, r): (&Range<usize>, Value),
    ) -> (Option<Gt>, Option<Gt>) {
        let single = |range: &Range<usize>, v: Value| match v {
            Value::Fail(v) if range.len() == 1 => Some(v.mul_bigint([range.start as u64 + 1])),
            _ => None,
        };
        let lb = match (l, r) {
            (Value::Pass, _) => Some(Gt::zero()),
            (_, Value::Pass) => Some(b),
            _ => match (single(left, l), single(right, r)) {
                (Some(lb), _) => Some(lb),
                (None, Some(rb)) => Some(b - rb),
                (None, None) => self.weighted_value(left.clone()),
            },
        };
        (lb, lb.map(|lb| b - lb))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::tests::{run_seeded, same_digest_batch, signed};
    use rand::seq::index::sample;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn the_walk_reads_the_one_index_out_of_two_values() {
        let a = Gt::generator().mul_bigint([0x1234_5678_9abc_def1]);
        for range in [0..5, 3..20, 0..24, 7..100, 40..1000] {
            for j in [
                range.start,
                range.start + 1,
                range.end - 1,
                (range.start + range.end) / 2,
            ] {
                let b = a.mul_bigint([j as u64 + 1]);
                assert_eq!(walk_to(range.clone(), a, b), Some(j), "{range:?} {j}");
            }
            // An index just outside the range, and two invalid items' sum, match nothing.
            let outside = a.mul_bigint([range.end as u64 + 1]);
            assert_eq!(walk_to(range.clone(), a, outside), None);
            let two = a.mul_bigint([range.start as u64 + 1]) + Gt::generator();
            assert_eq!(walk_to(range.clone(), a, two), None);
        }
    }

    #[test]
    fn five_invalid_among_95_take_fewer_checks_than_bisection() {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let draws = 10;
        let (mut tree, mut bisection) = (0, 0);
        for draw in 0..draws {
            let mut bad = sample(&mut rng, 95, 5).into_vec();
            bad.sort_unstable();
            let (found, checks) = run_seeded(draw, 95, &bad, LOCATE_MIN_ITEMS);
            assert_eq!(found, bad);
            tree += checks;
            let (found, checks) = run_seeded(draw, 95, &bad, usize::MAX);
            assert_eq!(found, bad);
            bisection += checks;
        }
        // Measured: 11.8 final exponentiations per draw against 24.3 for bisection (12.6
        // before the pair walk).
        assert!(
            tree <= 15 * draws as usize,
            "{tree} checks in {draws} draws"
        );
        assert!(tree * 3 <= bisection * 2, "{tree} against {bisection}");
    }

    #[test]
    fn two_invalid_in_a_short_range_take_four_checks() {
        for bad in [[0, 1], [3, 11], [14, 15], [0, 15]] {
            // A, B (the single walk finds nothing), C (the pair walk matches), the confirmation.
            assert_eq!(run_seeded(5, 16, &bad, LOCATE_MIN_ITEMS), (bad.to_vec(), 4));
        }
        // Longer than PAIR_MAX_ITEMS: split first, then each half walked.
        let (found, checks) = run_seeded(5, 40, &[3, 30], LOCATE_MIN_ITEMS);
        assert_eq!(found, vec![3, 30]);
        // A, B, the left half's A and B, the confirmation of both singles.
        assert_eq!(checks, 5);
        // Three invalid among 12: A, B, C (no pair matches), the left half's A and B; that
        // half of 6 holds two, read out of its C (derived B, one more check); the right
        // half's one is walked; one confirmation. Bisecting the half of 6 took three checks.
        assert_eq!(
            run_seeded(5, 12, &[1, 2, 9], LOCATE_MIN_ITEMS),
            (vec![1, 2, 9], 7)
        );
    }

    #[test]
    fn starting_from_parts_halves_the_sums_when_several_are_invalid() {
        let mut rng = ChaCha20Rng::seed_from_u64(12);
        let draws = 8;
        let mut totals = [(0, 0); 2];
        for draw in 0..draws {
            let mut bad = sample(&mut rng, 95, 5).into_vec();
            bad.sort_unstable();
            let batch_rng = &mut ChaCha20Rng::seed_from_u64(draw);
            let (keys, sigs, m) = signed(batch_rng, 95, &bad);
            for (total, parts) in totals.iter_mut().zip([1, 4]) {
                let mut batch =
                    same_digest_batch(batch_rng, &keys, sigs.clone(), &m, LOCATE_MIN_ITEMS);
                batch.top_parts = parts;
                assert_eq!(batch.run(batch_rng), bad);
                total.0 += batch.checks.get();
                total.1 += batch.summed.get();
            }
        }
        let [(whole_checks, whole_sums), (parts_checks, parts_sums)] = totals;
        // Measured, four parts against the whole batch: 11.9 against 11.3 final
        // exponentiations per draw, 209 against 380 items summed (12.9 against 12.3 before the
        // pair walk).
        assert!(
            parts_checks * 10 <= whole_checks * 11,
            "{parts_checks} against {whole_checks}"
        );
        assert!(
            parts_sums * 10 <= whole_sums * 6,
            "{parts_sums} against {whole_sums}"
        );
    }

    #[test]
    fn a_wrong_guess_is_refused_and_its_range_bisected() {
        let rng = &mut ChaCha20Rng::seed_from_u64(21);
        let bad = [3, 40, 41, 70];
        let (keys, sigs, m) = signed(rng, 80, &bad);
        let batch = same_digest_batch(rng, &keys, sigs, &m, LOCATE_MIN_ITEMS);
        let mut found = Found::default();
        batch.search(
            0..80,
            batch.value(0..80),
            None,
            Reading::SinglesAndPairs,
            &mut found,
        );
        assert!(!found.located.is_empty());
        // Enough candidates of the one message that the confirmation pairs them on its side.
        let candidates: usize = found.located.iter().map(|l| l.items.len()).sum();
        assert!(candidates >= crate::batch::confirm::MESSAGE_SIDE_CANDIDATES);
        assert!(batch.confirm(rng, &found.located));
        // Each guess's first candidate moved to a valid item of its range: the confirmation
        // fails, and the fallback bisects every guessed range.
        let mut wrong = found.located.clone();
        for l in &mut wrong {
            let moved = (l.range.start..l.range.end)
                .find(|i| !l.items.contains(i))
                .expect("a range longer than its guess");
            l.items[0] = moved;
        }
        assert!(!batch.confirm(rng, &wrong));
        let mut settled = Found {
            bad: found.bad.clone(),
            located: Vec::new(),
        };
        batch.settle(rng, wrong, &mut settled);
        let mut names: Vec<usize> = settled
            .bad
            .iter()
            .filter_map(|&p| batch.order.get(p).copied())
            .collect();
        names.sort_unstable();
        assert_eq!(names, bad);
    }
}
