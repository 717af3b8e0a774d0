//! The keys' side of a search's checks, from each key's product with its coefficient.
//!
//! A check of a range pairs each message with `Σ wᵢrᵢ·pkᵢ` over the range's items of that
//! message, for the check's weights `wᵢ` (one, the item's position, or its squared position
//! in the range). A search checks parts of the batch again and again with the same `rᵢ`, so
//! the products `rᵢ·pkᵢ` are made once for the batch ([`crate::msm::products`], ten
//! additions each from the key's whole-multiples table) and every sum after that is one to
//! three additions per item ([`crate::msm::moment_sums`]) instead of a fixed-base MSM's
//! eleven and its bucket sum.

use std::ops::Range;

use ark_bn254::{G2Affine, G2Projective};
use ark_ec::PrimeGroup;
use ark_ff::{AdditiveGroup, Zero};

use super::Batch;
use crate::msm::{moment_sums, products};

/// The public weights `wᵢ` of a check, on top of the secret coefficients `rᵢ`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Weight {
    /// `1`: the plain check `A`.
    One,
    /// `i + 1`, the item's position in the whole batch: the walk's `B`.
    Position,
    /// `(i − s + 1)²` for a range starting at `s`: the pair walk's `C`.
    LocalSquare,
}

impl Weight {
    /// The weight of item `i` in a range starting at `start`.
    pub(super) fn at(self, i: usize, start: usize) -> u64 {
        match self {
            Self::One => 1,
            Self::Position => i as u64 + 1,
            Self::LocalSquare => {
                let x = (i + 1).saturating_sub(start) as u64;
                x * x
            }
        }
    }
}

impl Batch<'_> {
    /// `rᵢ·pkᵢ` for every item, made on first use; infinity for key-side items, which are
    /// paired on their keys' cached lines instead.
    pub(super) fn products(&self) -> &[G2Affine] {
        self.products.get_or_init(|| {
            let tables: Vec<Option<&[G2Affine]>> = self
                .keys
                .iter()
                .zip(&self.solo)
                .map(|(key, solo)| solo.is_none().then(|| key.multiples_table()))
                .collect();
            products(&tables, &self.coeffs)
        })
    }

    /// Per message group, `Σ wᵢrᵢ·pkᵢ` over the group's message-side items in `range`.
    pub(super) fn key_sums(&self, range: Range<usize>, weight: Weight) -> Vec<G2Projective> {
        let products = self.products();
        let mut sums = vec![G2Projective::zero(); self.messages.len()];
        // Message-side groups are contiguous: the range is a few runs of one group each.
        let mut run_start = range.start;
        while run_start < range.end {
            let group = self.groups.get(run_start).copied();
            let message_side = self.solo.get(run_start).is_some_and(Option::is_none);
            let run_end = (run_start + 1..range.end)
                .find(|&i| self.groups.get(i).copied() != group)
                .unwrap_or(range.end);
            let points = products.get(run_start..run_end).unwrap_or_default();
            if let (true, Some(sum)) = (message_side, group.and_then(|g| sums.get_mut(g))) {
                *sum += run_sum(points, run_start, range.start, weight);
            }
            run_start = run_end;
        }
        sums
    }
}

/// `Σ wᵢ·Qᵢ` over one run of products starting at batch position `run_start`, in a range
/// starting at `range_start`. With `y` the position in the run (from 1), an item's batch
/// position is `i = run_start + y − 1` and its position in the range `y + o`, `o = run_start
/// − range_start`; the moment sums give `Σ Q`, `Σ y·Q` and `Σ y(y+1)/2·Q`.
fn run_sum(
    points: &[G2Affine],
    run_start: usize,
    range_start: usize,
    weight: Weight,
) -> G2Projective {
    match weight {
        Weight::One => moment_sums(points, 0)[0],
        Weight::Position => {
            // i + 1 = run_start + y.
            let [s0, s1, _] = moment_sums(points, 1);
            s1 + s0.mul_bigint([run_start as u64])
        }
        Weight::LocalSquare => {
            // (y + o)² = y² + 2o·y + o², and y² = 2·y(y+1)/2 − y.
            let [s0, s1, s2] = moment_sums(points, 2);
            let squares = s2.double() - s1;
            let o = run_start.saturating_sub(range_start) as u64;
            if o == 0 {
                squares
            } else {
                squares + s1.mul_bigint([2 * o]) + s0.mul_bigint([o * o])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyPair;
    use crate::msm::msm_u128;
    use ark_bn254::G1Affine;
    use ark_ec::{AffineRepr, CurveGroup};
    use rand::SeedableRng;

    #[test]
    fn key_sums_equal_msms_of_the_weighted_coefficients() {
        let rng = &mut rand_chacha::ChaCha20Rng::seed_from_u64(61);
        let keys: Vec<KeyPair> = (0..12).map(|_| KeyPair::random(rng)).collect();
        let messages: Vec<G1Affine> = (1..=3u8)
            .map(|t| crate::points::MessagePoint::hash(&[t; 32]).0)
            .collect();
        // Three messages of four signers each, interleaved: the batch makes each contiguous.
        let groups: Vec<usize> = (0..12).map(|i| i % 3).collect();
        let sigs = vec![G1Affine::zero(); 12];
        let g2 = keys.iter().map(|k| k.public_g2()).collect();
        let batch = Batch::new(rng, sigs, g2, groups, messages);
        for range in [0..12, 0..5, 3..9, 7..12, 4..5] {
            for weight in [Weight::One, Weight::Position, Weight::LocalSquare] {
                // The oracle: a variable-base MSM per group over the keys themselves.
                let expected: Vec<G2Projective> = (0..3)
                    .map(|g| {
                        let (bases, scalars): (Vec<G2Affine>, Vec<u128>) = range
                            .clone()
                            .filter(|&i| batch.groups[i] == g)
                            .map(|i| {
                                let w = weight.at(i, range.start);
                                (
                                    *batch.keys[i].as_affine(),
                                    u128::from(batch.coeffs[i]) * u128::from(w),
                                )
                            })
                            .unzip();
                        msm_u128(&bases, &scalars)
                    })
                    .collect();
                let got = batch.key_sums(range.clone(), weight);
                let normalize = |v: &[G2Projective]| G2Projective::normalize_batch(v);
                assert_eq!(
                    normalize(&got),
                    normalize(&expected),
                    "{range:?} {weight:?}"
                );
            }
        }
    }
}
