//! Each point times its own 64-bit scalar, all at once, from per-point tables of whole
//! multiples; and sums of such products weighted by small positions.
//!
//! A failing batch check is searched over parts of the batch, and every part's check sums its
//! keys again with the same coefficients (`Σ rᵢ·pkᵢ`), weighted by position for the walks
//! (`Σ kᵢrᵢ·pkᵢ`, `Σ xᵢ²rᵢ·pkᵢ`): a task's search sums each key about twice, at a fixed-base
//! MSM's cost every time. Computing each product `rᵢ·pkᵢ` once instead makes every later sum
//! a handful of additions per key: a plain sum one, a position-weighted sum two, a sum
//! weighted by squared positions three (running sums, [`moment_sums`]).
//!
//! A product takes one table entry per 6-bit signed digit of its scalar, eleven for 64 bits:
//! the table holds `d·2^(6j)·P` for every digit `d` in `1..=32` and window `j`, so a product
//! is ten additions, which run in affine coordinates with shared inversions across all the
//! products ([`super::affine::bucket_sums`], one bucket per point).

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::CurveGroup;
use ark_ff::{AdditiveGroup, Zero};

use super::affine::bucket_sums;
use super::{signed_digits, FIXED_WINDOW};

/// Windows of a whole-multiples table: eleven 6-bit signed digits cover a 64-bit scalar and
/// its top digit's carry.
const MULTIPLE_WINDOWS: usize = 11;

/// Multiples per window: the signed digits' magnitudes, `1..=32`.
const MULTIPLES: usize = 1 << (FIXED_WINDOW - 1);

/// Entries of a whole-multiples table: 352 affine points, about 48 KB in G2.
pub(crate) const MULTIPLES_TABLE_LEN: usize = MULTIPLE_WINDOWS * MULTIPLES;

/// `[d·2^(6j)·P]` for `j <` 11 and `d` in `1..=32`, entry `32·j + d − 1`, affine: 352
/// additions and 55 doublings, once per point.
pub(crate) fn multiples_table<P: SWCurveConfig>(base: &Affine<P>) -> Vec<Affine<P>> {
    let mut entries: Vec<Projective<P>> = Vec::with_capacity(MULTIPLES_TABLE_LEN);
    let mut window: Projective<P> = (*base).into();
    for _ in 0..MULTIPLE_WINDOWS {
        let mut multiple = window;
        for _ in 0..MULTIPLES {
            entries.push(multiple);
            multiple += window;
        }
        for _ in 0..FIXED_WINDOW {
            window.double_in_place();
        }
    }
    Projective::normalize_batch(&entries)
}

/// `sᵢ·Pᵢ` for every point, from its [`multiples_table`], affine; the point at infinity where
/// the table is missing or too short (a caller's item with no key to multiply).
pub(crate) fn products<P: SWCurveConfig>(
    tables: &[Option<&[Affine<P>]>],
    scalars: &[u64],
) -> Vec<Affine<P>> {
    let n = tables.len().min(scalars.len());
    let wide: Vec<u128> = scalars.iter().take(n).map(|&s| u128::from(s)).collect();
    let digits = signed_digits(&wide, FIXED_WINDOW, MULTIPLE_WINDOWS);
    let entries = tables.iter().take(n).enumerate().flat_map(|(i, table)| {
        let table = table.filter(|t| t.len() >= MULTIPLES_TABLE_LEN);
        let digits = digits
            .get(i * MULTIPLE_WINDOWS..(i + 1) * MULTIPLE_WINDOWS)
            .unwrap_or_default();
        digits.iter().enumerate().filter_map(move |(j, &d)| {
            let table = table?;
            // Digit `d` reads window `j`'s `|d|`-th multiple, negated for a negative digit.
            // Digit 0 reads nothing.
            let magnitude = (d.unsigned_abs() as usize).checked_sub(1)?;
            let entry = table.get(j * MULTIPLES + magnitude)?;
            Some((i, if d > 0 { *entry } else { -*entry }))
        })
    });
    let sums = bucket_sums(entries, n);
    Projective::normalize_batch(&sums)
}

/// Sums of `points` (`Q_y` at positions `y = 1..=n`) up to the given degree: `[Σ Q_y,
/// Σ y·Q_y, Σ y(y+1)/2·Q_y]`, the unused ones zero. Running sums from the top: after `Q_y`,
/// the first holds `Σ_{z≥y} Q_z`, the second the sum of the first's values so far, which at
/// the end is `Σ z·Q_z`, and the third the second's, `Σ z(z+1)/2·Q_z`. One, two or three
/// additions per point.
pub(crate) fn moment_sums<P: SWCurveConfig>(
    points: &[Affine<P>],
    degree: usize,
) -> [Projective<P>; 3] {
    let mut sums = [Projective::<P>::zero(); 3];
    for q in points.iter().rev() {
        sums[0] += q;
        if degree >= 1 {
            sums[1] += sums[0];
        }
        if degree >= 2 {
            sums[2] += sums[1];
        }
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{g1, g2, Fr};
    use ark_ec::PrimeGroup;
    use ark_ff::UniformRand;
    use rand::{RngCore, SeedableRng};

    fn check_products<P: SWCurveConfig<ScalarField = Fr>>(seed: u64, n: usize) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let points: Vec<Affine<P>> = (0..n)
            .map(|_| (Projective::<P>::generator() * Fr::rand(&mut rng)).into_affine())
            .collect();
        let tables: Vec<Vec<Affine<P>>> = points.iter().map(multiples_table).collect();
        let mut scalars: Vec<u64> = (0..n).map(|_| rng.next_u64()).collect();
        // Edge scalars: zero, one, the largest, and a run of top digits that carries.
        for (i, s) in [0, 1, u64::MAX, 0xffff_ffff_0000_0000]
            .into_iter()
            .enumerate()
        {
            if let Some(slot) = scalars.get_mut(i) {
                *slot = s;
            }
        }
        // One item without a table: its product is the point at infinity.
        let mut borrowed: Vec<Option<&[Affine<P>]>> =
            tables.iter().map(|t| Some(t.as_slice())).collect();
        if let Some(last) = borrowed.last_mut() {
            *last = None;
        }
        let got = products(&borrowed, &scalars);
        assert_eq!(got.len(), n);
        for (i, (p, s)) in points.iter().zip(&scalars).enumerate() {
            // The oracle: arkworks' scalar multiplication.
            let expected = if i + 1 == n {
                Projective::<P>::zero()
            } else {
                *p * Fr::from(*s)
            };
            assert_eq!(
                Projective::<P>::from(got[i]),
                expected,
                "seed {seed}, item {i}"
            );
        }
    }

    #[test]
    fn products_are_arkworks_scalar_multiplications() {
        for seed in 0..4 {
            for n in [1, 2, 5, 40] {
                check_products::<g1::Config>(seed, n);
                check_products::<g2::Config>(seed, n);
            }
        }
    }

    #[test]
    fn moment_sums_weigh_by_position() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let points: Vec<ark_bn254::G2Affine> = (0..9)
            .map(|_| (ark_bn254::G2Projective::generator() * Fr::rand(&mut rng)).into_affine())
            .collect();
        let weighted = |w: &dyn Fn(u64) -> u64| {
            points
                .iter()
                .zip(1u64..)
                .fold(ark_bn254::G2Projective::zero(), |acc, (p, y)| {
                    acc + *p * Fr::from(w(y))
                })
        };
        let [s0, s1, s2] = moment_sums(&points, 2);
        assert_eq!(s0, weighted(&|_| 1));
        assert_eq!(s1, weighted(&|y| y));
        assert_eq!(s2, weighted(&|y| y * (y + 1) / 2));
        let [p0, p1, p2] = moment_sums(&points, 0);
        assert_eq!(p0, s0);
        assert!(p1.is_zero() && p2.is_zero());
        assert_eq!(moment_sums::<g2::Config>(&[], 2), [Projective::zero(); 3]);
    }
}
