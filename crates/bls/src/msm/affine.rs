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

use ark_bn254::{G2Affine, G2Projective};
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::AffineRepr;
use ark_ff::{batch_inversion, Field, Zero};

/// Below this many pairs in a round, one inversion costs more than the additions it saves.
const MIN_AFFINE_PAIRS: usize = 16;

/// The sum of each bucket's points: `buckets[k]` is the sum of the points given with bucket
/// `k`. Points at infinity and buckets out of range are ignored.
pub(crate) fn bucket_sums<P: SWCurveConfig>(
    entries: impl IntoIterator<Item = (usize, Affine<P>)>,
    buckets: usize,
) -> Vec<Projective<P>> {
    let entries: Vec<(usize, Affine<P>)> = entries
        .into_iter()
        .filter(|(k, p)| *k < buckets && !p.is_zero())
        .collect();
    // One vector, each bucket's points contiguous from `starts[k]`, `lens[k]` of them.
    let mut lens = vec![0usize; buckets];
    for (k, _) in &entries {
        lens[*k] += 1;
    }
    let starts: Vec<usize> = lens
        .iter()
        .scan(0, |next, &len| {
            let start = *next;
            *next += len;
            Some(start)
        })
        .collect();
    let mut points = vec![Affine::<P>::identity(); entries.len()];
    let mut fill = starts.clone();
    for (k, p) in entries {
        points[fill[k]] = p;
        fill[k] += 1;
    }
    let mut denominators = Vec::with_capacity(points.len() / 2);
    while lens.iter().map(|l| l / 2).sum::<usize>() >= MIN_AFFINE_PAIRS {
        halve(&mut points, &starts, &mut lens, &mut denominators);
    }
    starts
        .iter()
        .zip(&lens)
        .map(|(&start, &len)| {
            points[start..start + len]
                .iter()
                .fold(Projective::<P>::zero(), |acc, p| acc + p)
        })
        .collect()
}

/// The same sums with one projective mixed addition per point: the tests' oracle and the
/// benchmark's baseline.
pub(crate) fn projective_bucket_sums<P: SWCurveConfig>(
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

/// [`bucket_sums`] in G2, for `benches/bls.rs` (`msm_buckets`).
#[doc(hidden)]
pub fn g2_bucket_sums(entries: &[(usize, G2Affine)], buckets: usize) -> Vec<G2Projective> {
    bucket_sums(entries.iter().copied(), buckets)
}

/// [`projective_bucket_sums`] in G2, for the same benchmark.
#[doc(hidden)]
pub fn g2_projective_bucket_sums(
    entries: &[(usize, G2Affine)],
    buckets: usize,
) -> Vec<G2Projective> {
    projective_bucket_sums(entries, buckets)
}

/// One round: every bucket's points added in pairs (an odd one carried over), in place, all
/// the pairs' inversions in one.
fn halve<P: SWCurveConfig>(
    points: &mut [Affine<P>],
    starts: &[usize],
    lens: &mut [usize],
    denominators: &mut Vec<P::BaseField>,
) {
    denominators.clear();
    for (&start, &len) in starts.iter().zip(lens.iter()) {
        for pair in points[start..start + len].chunks_exact(2) {
            denominators.push(denominator(&pair[0], &pair[1]));
        }
    }
    batch_inversion(denominators);
    let mut inverses = denominators.iter();
    for (&start, len) in starts.iter().zip(lens.iter_mut()) {
        let end = start + *len;
        // Sums are written from `start` on, never past the pair being read.
        let mut out = start;
        let mut i = start;
        while i + 1 < end {
            let Some(inverse) = inverses.next() else {
                // One denominator was pushed per pair above.
                return;
            };
            if let Some(sum) = add_with_inverse(&points[i], &points[i + 1], inverse) {
                points[out] = sum;
                out += 1;
            }
            i += 2;
        }
        if i < end {
            points[out] = points[i];
            out += 1;
        }
        *len = out - start;
    }
}

/// What `a + b` divides by: `x_b − x_a` for the chord; `2y` for the tangent when `b = a`
/// (`y ≠ 0`: no point of order two on a prime-order curve); nothing (one) when `b = −a`.
fn denominator<P: SWCurveConfig>(a: &Affine<P>, b: &Affine<P>) -> P::BaseField {
    if a.x != b.x {
        b.x - a.x
    } else if a.y == b.y {
        a.y + a.y
    } else {
        P::BaseField::ONE
    }
}

/// `a + b` given the inverse of their [`denominator`]; `None` for the point at infinity.
fn add_with_inverse<P: SWCurveConfig>(
    a: &Affine<P>,
    b: &Affine<P>,
    inverse: &P::BaseField,
) -> Option<Affine<P>> {
    let slope = if a.x != b.x {
        (b.y - a.y) * inverse
    } else if a.y == b.y {
        (a.x.square() * P::BaseField::from(3u64) + P::COEFF_A) * inverse
    } else {
        // Opposite points.
        return None;
    };
    let x = slope.square() - a.x - b.x;
    let y = slope * (a.x - x) - a.y;
    Some(Affine::new_unchecked(x, y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{g1, g2, Fr};
    use ark_ec::{CurveGroup, PrimeGroup};
    use ark_ff::UniformRand;
    use rand::{Rng, SeedableRng};

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
            projective_bucket_sums(&entries, buckets),
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
