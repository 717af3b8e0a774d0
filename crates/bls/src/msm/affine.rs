//! Bucket sums in affine coordinates with shared inversions ("batch-affine" accumulation).
//!
//! A fixed-base MSM adds every window's table entry to one of a few buckets: about eleven
//! additions per 64-bit scalar. Added one at a time to a projective bucket, each costs a
//! mixed addition (7 multiplications and 4 squarings of the base field). Added in affine
//! coordinates, `P + Q` costs one inversion, two multiplications and a squaring; and the
//! inversions of many independent additions share one field inversion (Montgomery's trick,
//! three multiplications each). So each bucket's points are summed as a tree: every round
//! pairs up the points of every bucket and adds all the pairs at once, halving the points.
//! Rounds with few pairs, where the one inversion would not pay, are left to projective
//! additions.

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::AffineRepr;
use ark_ff::{batch_inversion, Field, Zero};

/// Below this many pairs in a round, one inversion costs more than the additions it saves.
const MIN_AFFINE_PAIRS: usize = 16;

/// How a pair of points adds.
enum PairSum {
    /// `x` differs: the chord. The denominator is `x_b − x_a`.
    Chord,
    /// The same point: the tangent. The denominator is `2y` (`y ≠ 0`: no point of order two
    /// on a prime-order curve).
    Tangent,
    /// Opposite points: the sum is the point at infinity.
    Cancel,
}

/// The sum of each bucket's points: `buckets[k]` is the sum of the points given with bucket
/// `k`. Points at infinity and buckets out of range are ignored.
pub(crate) fn bucket_sums<P: SWCurveConfig>(
    entries: impl IntoIterator<Item = (usize, Affine<P>)>,
    buckets: usize,
) -> Vec<Projective<P>> {
    let mut lists: Vec<Vec<Affine<P>>> = vec![Vec::new(); buckets];
    for (k, point) in entries {
        if let (Some(list), false) = (lists.get_mut(k), point.is_zero()) {
            list.push(point);
        }
    }
    while lists.iter().map(|l| l.len() / 2).sum::<usize>() >= MIN_AFFINE_PAIRS {
        halve(&mut lists);
    }
    lists
        .iter()
        .map(|list| list.iter().fold(Projective::<P>::zero(), |acc, p| acc + p))
        .collect()
}

/// One round: every bucket's points added in pairs (an odd one carried over), all the pairs'
/// inversions in one.
fn halve<P: SWCurveConfig>(lists: &mut [Vec<Affine<P>>]) {
    let mut kinds = Vec::new();
    let mut denominators = Vec::new();
    for list in lists.iter() {
        for pair in list.chunks_exact(2) {
            let (a, b) = (pair[0], pair[1]);
            let (kind, denominator) = if a.x != b.x {
                (PairSum::Chord, b.x - a.x)
            } else if a.y == b.y {
                (PairSum::Tangent, a.y + a.y)
            } else {
                // Nothing to invert: a placeholder that `batch_inversion` keeps invertible.
                (PairSum::Cancel, P::BaseField::ONE)
            };
            kinds.push(kind);
            denominators.push(denominator);
        }
    }
    batch_inversion(&mut denominators);
    let mut sums = kinds.iter().zip(&denominators);
    for list in lists.iter_mut() {
        let odd = (list.len() % 2 == 1)
            .then(|| list.last().copied())
            .flatten();
        let mut next = Vec::with_capacity(list.len().div_ceil(2));
        for pair in list.chunks_exact(2) {
            let Some((kind, inverse)) = sums.next() else {
                // One kind and denominator was pushed per pair above.
                continue;
            };
            let (a, b) = (pair[0], pair[1]);
            let slope = match kind {
                PairSum::Chord => (b.y - a.y) * inverse,
                PairSum::Tangent => {
                    (a.x.square() * P::BaseField::from(3u64) + P::COEFF_A) * inverse
                }
                PairSum::Cancel => continue,
            };
            let x = slope.square() - a.x - b.x;
            let y = slope * (a.x - x) - a.y;
            next.push(Affine::new_unchecked(x, y));
        }
        next.extend(odd);
        *list = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{g1, g2, Fr};
    use ark_ec::{CurveGroup, PrimeGroup};
    use ark_ff::UniformRand;
    use rand::{Rng, SeedableRng};

    /// The oracle: each bucket's points summed one by one in projective coordinates.
    fn plain<P: SWCurveConfig>(
        entries: &[(usize, Affine<P>)],
        buckets: usize,
    ) -> Vec<Projective<P>> {
        let mut sums = vec![Projective::<P>::zero(); buckets];
        for (k, p) in entries {
            if let Some(s) = sums.get_mut(*k) {
                *s += p;
            }
        }
        sums
    }

    fn check<P: SWCurveConfig>(seed: u64, n: usize, buckets: usize) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let points: Vec<Affine<P>> = (0..n.div_ceil(4).max(1))
            .map(|_| (Projective::<P>::generator() * P::ScalarField::rand(&mut rng)).into_affine())
            .collect();
        // Points repeat and meet their negations, so every kind of pair occurs.
        let entries: Vec<(usize, Affine<P>)> = (0..n)
            .map(|_| {
                let p = points[rng.gen_range(0..points.len())];
                let p = if rng.gen_bool(0.3) { -p } else { p };
                (rng.gen_range(0..buckets), p)
            })
            .collect();
        assert_eq!(
            bucket_sums(entries.iter().copied(), buckets),
            plain(&entries, buckets),
            "seed {seed}, {n} points, {buckets} buckets"
        );
    }

    #[test]
    fn equals_projective_sums_with_repeats_and_negations() {
        for seed in 0..20 {
            for (n, buckets) in [(0, 4), (1, 1), (40, 1), (100, 3), (700, 32), (1100, 32)] {
                check::<g1::Config>(seed, n, buckets);
                check::<g2::Config>(seed, n, buckets);
            }
        }
    }

    #[test]
    fn infinity_and_stray_buckets_are_ignored() {
        let g = ark_bn254::G2Affine::generator();
        let entries = vec![(0, g); 40]
            .into_iter()
            .chain([(1, ark_bn254::G2Affine::zero()), (7, g)]);
        let sums = bucket_sums(entries, 2);
        assert_eq!(
            sums[0],
            ark_bn254::G2Projective::generator() * Fr::from(40u64)
        );
        assert!(sums[1].is_zero());
    }
}
