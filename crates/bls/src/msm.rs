//! Multi-scalar multiplication for short scalars: the random coefficients of batch checks are
//! 64-bit (up to 77 bits with the search's position weights), and arkworks' `msm_bigint`
//! always walks the scalar field's 254 bits, paying the per-window bucket sums and doublings
//! of the bits that are zero. This Pippenger variant sizes its windows to the longest scalar
//! and uses signed digits (half the buckets; negating a point is free).
//!
//! Small sums (a search's halves of a few items) take interleaved windowed NAF (Straus)
//! instead: one shared chain of doublings and a few additions per point, where Pippenger's
//! per-window bucket sums cost more than the points themselves. A cost model in additions picks
//! the cheaper of the two.
//!
//! Tested against arkworks' `msm_bigint` (the oracle) on random inputs.

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::CurveGroup;
use ark_ff::{AdditiveGroup, Zero};

mod affine;
mod multiples;

pub use affine::{g2_bucket_sums, g2_projective_bucket_sums};
pub(crate) use multiples::{moment_sums, multiples_table, products};

/// `Σ sᵢ·Pᵢ` over the pairs of `bases` and `scalars` (the shorter one bounds the sum).
pub(crate) fn msm_u128<P: SWCurveConfig>(bases: &[Affine<P>], scalars: &[u128]) -> Projective<P> {
    let n = bases.len().min(scalars.len());
    let (bases, scalars) = (&bases[..n], &scalars[..n]);
    let bits = digit_bits(scalars);
    if bits == 1 {
        // Every scalar is zero.
        return Projective::zero();
    }
    let c = window_bits(n, bits);
    // Pippenger's empty buckets cost little, which the model does not see: measured, Straus
    // wins up to about 25 G2 points of 64 bits (1.4× at 1 to 8, 1.2× at 16), where its
    // modelled cost is under 0.7 of Pippenger's.
    if let Some((w, _)) =
        straus_window(n, bits).filter(|&(_, cost)| cost * 10 < pippenger_cost(n, bits, c) * 7)
    {
        return straus::<Projective<P>>(bases, scalars, bits, w);
    }
    let windows = bits.div_ceil(c);
    let digits = signed_digits(scalars, c, windows);
    let half = 1usize << (c - 1);
    let mut result = Projective::<P>::zero();
    for w in (0..windows).rev() {
        for _ in 0..c {
            result.double_in_place();
        }
        let entries = bases.iter().enumerate().filter_map(|(i, base)| {
            let d = digits.get(i * windows + w).copied().unwrap_or(0);
            bucket_entry(d, base)
        });
        result += bucket_sum(&affine::bucket_sums(entries, half));
    }
    result
}

/// Where signed digit `d` puts `point`: bucket `|d| − 1`, negated for a negative digit;
/// digit 0 puts it nowhere.
fn bucket_entry<P: SWCurveConfig>(d: i32, point: &Affine<P>) -> Option<(usize, Affine<P>)> {
    let bucket = (d.unsigned_abs() as usize).checked_sub(1)?;
    Some((bucket, if d > 0 { *point } else { -*point }))
}

/// `Σ k·bucket[k−1]`, as running sums from the top bucket down.
fn bucket_sum<G: CurveGroup>(buckets: &[G]) -> G {
    let mut running = G::zero();
    let mut sum = G::zero();
    for b in buckets.iter().rev() {
        running += b;
        sum += running;
    }
    sum
}

/// Width of a fixed-base table's windows (signed digits in `[−32, 32]`: 32 buckets).
const FIXED_WINDOW: usize = 6;

/// Entries of a fixed-base table: `2^(6j)·P` for `j < 13` covers scalars of up to 77 bits with
/// the signed top digit's carry. A batch's first check sums its keys with their plain 64-bit
/// coefficients (eleven windows); the search's position-weighted sums, up to 77 bits in a batch
/// of under 8 192 items, now take the keys' products instead (`msm::multiples`), so the two
/// further windows are headroom, not needed by any caller today.
pub(crate) const FIXED_WINDOWS: usize = 13;

/// A point's fixed-base table, `[2^(6j)·P]` for `j <` [`FIXED_WINDOWS`], affine: 78 doublings,
/// once per point, for sums over the same points with fresh scalars (an operator's key in
/// every batch check).
pub(crate) fn fixed_base_table<G: CurveGroup>(base: &G::Affine) -> Vec<G::Affine> {
    let mut entries: Vec<G> = Vec::with_capacity(FIXED_WINDOWS);
    let mut p: G = (*base).into();
    for _ in 0..FIXED_WINDOWS {
        entries.push(p);
        for _ in 0..FIXED_WINDOW {
            p.double_in_place();
        }
    }
    G::normalize_batch(&entries)
}

/// `Σ sᵢ·Pᵢ` from each point's [`fixed_base_table`]: every window's signed digit adds the
/// window's entry to one shared set of 32 buckets, so there are no doublings and one bucket
/// sum for the whole MSM (Pippenger has one per window). The buckets are filled in affine
/// coordinates with shared inversions ([`affine::bucket_sums`]). `None` when a scalar is too
/// long for the tables.
pub(crate) fn msm_fixed<P: SWCurveConfig>(
    tables: &[&[Affine<P>]],
    scalars: &[u128],
) -> Option<Projective<P>> {
    let n = tables.len().min(scalars.len());
    let (tables, scalars) = (&tables[..n], &scalars[..n]);
    let bits = digit_bits(scalars);
    let windows = bits.div_ceil(FIXED_WINDOW);
    if windows > FIXED_WINDOWS || tables.iter().any(|t| t.len() < windows) {
        // Longer than the tables reach: the caller falls back to a variable-base MSM.
        return None;
    }
    let digits = signed_digits(scalars, FIXED_WINDOW, windows);
    let entries = tables.iter().enumerate().flat_map(|(i, table)| {
        let digits = digits
            .get(i * windows..(i + 1) * windows)
            .unwrap_or_default();
        table
            .iter()
            .zip(digits)
            .filter_map(|(entry, &d)| bucket_entry(d, entry))
    });
    let buckets = affine::bucket_sums(entries, 1 << (FIXED_WINDOW - 1));
    Some(bucket_sum(&buckets))
}

/// Pippenger's cost in additions (a doubling counted as one): per window, one addition per
/// point and two per bucket; then the doublings between windows.
fn pippenger_cost(n: usize, bits: usize, c: usize) -> usize {
    bits.div_ceil(c) * (n + (1usize << c)) + bits
}

/// Straus's best NAF width for `n` points of `bits`-bit scalars, with its cost in additions:
/// the shared doublings, then per point its table (a doubling and `2^(w−2) − 1` additions,
/// plus about a third of an addition each to make it affine) and one addition per nonzero
/// digit (one in `w + 1` on average). `None` for scalars too long for the NAF's headroom.
fn straus_window(n: usize, bits: usize) -> Option<(usize, usize)> {
    if bits > STRAUS_MAX_BITS {
        return None;
    }
    (3..=6usize)
        .map(|w| {
            let table = 1usize << (w - 2);
            let per_point = table + table / 3 + bits.div_ceil(w + 1);
            (w, bits + n * per_point)
        })
        .min_by_key(|&(_, cost)| cost)
}

/// Longest scalar (with its carry bit) that [`straus`] takes: its NAF adds up to `2^(w−1)`
/// to a scalar, which must not overflow a `u128`.
const STRAUS_MAX_BITS: usize = 120;

/// `Σ sᵢ·Pᵢ` by interleaved width-`w` NAF: each point's odd multiples `P, 3P, …,
/// (2^(w−1)−1)P` (made affine together), then one pass over the digit positions from the top,
/// doubling once and adding each point's nonzero digit's multiple.
fn straus<G: CurveGroup>(bases: &[G::Affine], scalars: &[u128], bits: usize, w: usize) -> G {
    let odd = 1usize << (w - 2);
    let mut multiples: Vec<G> = Vec::with_capacity(bases.len() * odd);
    for base in bases {
        let p: G = (*base).into();
        let twice = p.double();
        let mut m = p;
        multiples.push(m);
        for _ in 1..odd {
            m += twice;
            multiples.push(m);
        }
    }
    let table = G::normalize_batch(&multiples);
    let nafs: Vec<Vec<i8>> = scalars.iter().map(|&s| naf(s, w, bits + 1)).collect();
    let mut acc = G::zero();
    for i in (0..=bits).rev() {
        acc.double_in_place();
        for (j, digits) in nafs.iter().enumerate() {
            let d = digits.get(i).copied().unwrap_or(0);
            // Digit 0 adds nothing; ±k adds or subtracts the k-th odd multiple, k = 2t + 1.
            let Some(m) = table.get(j * odd + (d.unsigned_abs() as usize) / 2) else {
                continue;
            };
            if d > 0 {
                acc += m;
            } else if d < 0 {
                acc -= m;
            }
        }
    }
    acc
}

/// The width-`w` non-adjacent form of `s`, `len` digits, least significant first: odd digits
/// in `(−2^(w−1), 2^(w−1))` with at least `w − 1` zeros after each, `s = Σ dᵢ·2^i`. `s` must
/// leave `2^(w−1)` of headroom below `u128::MAX` (see [`STRAUS_MAX_BITS`]).
fn naf(mut s: u128, w: usize, len: usize) -> Vec<i8> {
    let modulus = 1i64 << w;
    let half = 1i64 << (w - 1);
    let mut digits = Vec::with_capacity(len);
    while s != 0 && digits.len() < len {
        let d = if s & 1 == 1 {
            let r = (s & (modulus as u128 - 1)) as i64;
            let d = if r >= half { r - modulus } else { r };
            if d >= 0 {
                s -= d as u128;
            } else {
                s += d.unsigned_abs() as u128;
            }
            d
        } else {
            0
        };
        digits.push(d as i8);
        s >>= 1;
    }
    digits
}

/// The window width that minimizes (windows × (points + 2 × buckets)) additions.
fn window_bits(n: usize, bits: usize) -> usize {
    (1..=16usize)
        .min_by_key(|&c| bits.div_ceil(c) * (n + (1usize << c)))
        .unwrap_or(4)
}

/// Bits the signed digits of `scalars` must cover: one more than the longest scalar's, since a
/// signed top digit may carry into it (1 when every scalar is zero).
fn digit_bits(scalars: &[u128]) -> usize {
    let longest = scalars.iter().fold(0u128, |acc, s| acc | s);
    (u128::BITS - longest.leading_zeros()) as usize + 1
}

/// Each scalar as `windows` signed digits of `c` bits, in `[−2^(c−1), 2^(c−1)]`, least
/// significant first: `s = Σ dᵥ·2^(c·w)`.
fn signed_digits(scalars: &[u128], c: usize, windows: usize) -> Vec<i32> {
    let mask = (1u128 << c) - 1;
    let half = 1i64 << (c - 1);
    let full = 1i64 << c;
    let mut digits = Vec::with_capacity(scalars.len() * windows);
    for &s in scalars {
        let mut carry = 0i64;
        for w in 0..windows {
            let chunk = s.checked_shr((w * c) as u32).unwrap_or(0) & mask;
            let mut d = chunk as i64 + carry;
            if d > half {
                d -= full;
                carry = 1;
            } else {
                carry = 0;
            }
            digits.push(d as i32);
        }
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fr, G1Projective, G2Projective};
    use ark_ec::{PrimeGroup, VariableBaseMSM};
    use ark_ff::{BigInt, UniformRand, Zero};
    use proptest::prelude::*;
    use rand::{RngCore, SeedableRng};

    /// `n` random points of `G`, scalars of at most `bits` bits, and the scalars as arkworks
    /// big integers (for the oracle).
    fn inputs<G: CurveGroup>(
        seed: u64,
        n: usize,
        bits: u32,
    ) -> (Vec<G::Affine>, Vec<u128>, Vec<BigInt<4>>) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let bases: Vec<G::Affine> = (0..n)
            .map(|_| (G::generator() * G::ScalarField::rand(&mut rng)).into_affine())
            .collect();
        let mask = if bits >= 128 {
            u128::MAX
        } else {
            (1u128 << bits) - 1
        };
        let scalars: Vec<u128> = (0..n)
            .map(|_| ((u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())) & mask)
            .collect();
        let big = scalars
            .iter()
            .map(|s| BigInt::new([*s as u64, (s >> 64) as u64, 0, 0]))
            .collect();
        (bases, scalars, big)
    }

    fn check<P: SWCurveConfig>(seed: u64, n: usize, bits: u32)
    where
        P::ScalarField: ark_ff::PrimeField<BigInt = BigInt<4>>,
    {
        let (bases, scalars, big) = inputs::<Projective<P>>(seed, n, bits);
        assert_eq!(
            msm_u128::<P>(&bases, &scalars),
            Projective::<P>::msm_bigint(&bases, &big)
        );
    }

    /// Straus alone (whatever the cost model picks) against arkworks.
    fn check_straus(seed: u64, n: usize, bits: u32, w: usize) {
        let (bases, scalars, big) = inputs::<G2Projective>(seed, n, bits);
        assert_eq!(
            straus::<G2Projective>(&bases, &scalars, digit_bits(&scalars), w),
            G2Projective::msm_bigint(&bases, &big)
        );
    }

    /// The fixed-base MSM against arkworks; `None` only for scalars beyond the tables.
    fn check_fixed(seed: u64, n: usize, bits: u32) {
        let (bases, scalars, big) = inputs::<G2Projective>(seed, n, bits);
        let tables: Vec<Vec<ark_bn254::G2Affine>> =
            bases.iter().map(fixed_base_table::<G2Projective>).collect();
        let refs: Vec<&[ark_bn254::G2Affine]> = tables.iter().map(|t| t.as_slice()).collect();
        let top = digit_bits(&scalars);
        match msm_fixed(&refs, &scalars) {
            Some(sum) => assert_eq!(sum, G2Projective::msm_bigint(&bases, &big)),
            None => assert!(top > FIXED_WINDOW * FIXED_WINDOWS, "refused {top} bits"),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn fixed_base_equals_arkworks_msm(seed: u64, n in 0usize..20, bits in 1u32..=90) {
            check_fixed(seed, n, bits);
        }

        #[test]
        fn straus_equals_arkworks_msm(seed: u64, n in 0usize..12, bits in 1u32..=119, w in 3usize..=6) {
            check_straus(seed, n, bits, w);
        }

        #[test]
        fn equals_arkworks_msm_on_g1(seed: u64, n in 0usize..70, bits in 1u32..=128) {
            check::<ark_bn254::g1::Config>(seed, n, bits);
        }

        #[test]
        fn equals_arkworks_msm_on_many_g1_points(seed: u64, n in 200usize..1200, bits in 60u32..=80) {
            check::<ark_bn254::g1::Config>(seed, n, bits);
        }

        #[test]
        fn equals_arkworks_msm_on_g2(seed: u64, n in 0usize..40, bits in 1u32..=128) {
            check::<ark_bn254::g2::Config>(seed, n, bits);
        }
    }

    #[test]
    fn edge_scalars() {
        let g = G1Projective::generator().into_affine();
        let h = (G1Projective::generator() * Fr::from(7u64)).into_affine();
        for s in [
            0u128,
            1,
            2,
            3,
            u128::from(u64::MAX),
            u128::MAX,
            1 << 127,
            (1 << 64) + 1,
        ] {
            let expected = G1Projective::msm_bigint(
                &[g, h],
                &[
                    BigInt::new([s as u64, (s >> 64) as u64, 0, 0]),
                    BigInt::new([1, 0, 0, 0]),
                ],
            );
            assert_eq!(msm_u128(&[g, h], &[s, 1]), expected, "s = {s}");
        }
        assert_eq!(
            msm_u128(&[g], &[u128::from(u64::MAX)]),
            G1Projective::generator() * Fr::from(u64::MAX)
        );
        assert!(msm_u128::<ark_bn254::g1::Config>(&[], &[]).is_zero());
    }
}
