//! Multi-scalar multiplication for short scalars: the random coefficients of batch checks are
//! 64-bit (71 bits with the locator's weights), and arkworks' `msm_bigint` always walks the
//! scalar field's 254 bits, paying the per-window bucket sums and doublings of 190 bits that
//! are zero. This Pippenger variant sizes its windows to the longest scalar and uses signed
//! digits (half the buckets; negating a point is free).
//!
//! Tested against arkworks' `msm_bigint` (the oracle) on random inputs.

use ark_ec::CurveGroup;

/// `Σ sᵢ·Pᵢ` over the pairs of `bases` and `scalars` (the shorter one bounds the sum).
pub(crate) fn msm_u128<G: CurveGroup>(bases: &[G::Affine], scalars: &[u128]) -> G {
    let n = bases.len().min(scalars.len());
    let (bases, scalars) = (&bases[..n], &scalars[..n]);
    let longest = scalars.iter().fold(0u128, |acc, s| acc | s);
    if longest == 0 {
        return G::zero();
    }
    // One more bit than the longest scalar: a signed top digit may carry into it.
    let bits = (u128::BITS - longest.leading_zeros()) as usize + 1;
    let c = window_bits(n, bits);
    let windows = bits.div_ceil(c);
    let digits = signed_digits(scalars, c, windows);
    let half = 1usize << (c - 1);
    let mut result = G::zero();
    let mut buckets = vec![G::zero(); half];
    for w in (0..windows).rev() {
        for _ in 0..c {
            result.double_in_place();
        }
        buckets.fill(G::zero());
        for (i, base) in bases.iter().enumerate() {
            let d = digits.get(i * windows + w).copied().unwrap_or(0);
            // Digit 0 adds nothing; ±k goes to bucket k, negated for −k.
            let Some(bucket) = (d.unsigned_abs() as usize)
                .checked_sub(1)
                .and_then(|k| buckets.get_mut(k))
            else {
                continue;
            };
            if d > 0 {
                *bucket += base;
            } else {
                *bucket -= base;
            }
        }
        // Σ k·bucket[k−1], as running sums from the top bucket down.
        let mut running = G::zero();
        let mut window_sum = G::zero();
        for b in buckets.iter().rev() {
            running += b;
            window_sum += running;
        }
        result += window_sum;
    }
    result
}

/// The window width that minimizes (windows × (points + 2 × buckets)) additions.
fn window_bits(n: usize, bits: usize) -> usize {
    (1..=16usize)
        .min_by_key(|&c| bits.div_ceil(c) * (n + (1usize << c)))
        .unwrap_or(4)
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

    fn check<G: CurveGroup + VariableBaseMSM<MulBase = <G as CurveGroup>::Affine>>(
        seed: u64,
        n: usize,
        bits: u32,
    ) where
        G::ScalarField: ark_ff::PrimeField<BigInt = BigInt<4>>,
    {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let bases: Vec<G::Affine> = (0..n)
            .map(|_| (G::generator() * G::ScalarField::rand(&mut rng)).into_affine())
            .collect();
        let scalars: Vec<u128> = (0..n)
            .map(|_| {
                let s = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
                if bits >= 128 {
                    s
                } else {
                    s & ((1u128 << bits) - 1)
                }
            })
            .collect();
        let big: Vec<BigInt<4>> = scalars
            .iter()
            .map(|s| BigInt::new([*s as u64, (s >> 64) as u64, 0, 0]))
            .collect();
        assert_eq!(msm_u128::<G>(&bases, &scalars), G::msm_bigint(&bases, &big));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn equals_arkworks_msm_on_g1(seed: u64, n in 0usize..70, bits in 1u32..=128) {
            check::<G1Projective>(seed, n, bits);
        }

        #[test]
        fn equals_arkworks_msm_on_g2(seed: u64, n in 0usize..40, bits in 1u32..=128) {
            check::<G2Projective>(seed, n, bits);
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
            assert_eq!(
                msm_u128::<G1Projective>(&[g, h], &[s, 1]),
                expected,
                "s = {s}"
            );
        }
        assert_eq!(
            msm_u128::<G1Projective>(&[g], &[u128::from(u64::MAX)]),
            G1Projective::generator() * Fr::from(u64::MAX)
        );
        assert!(msm_u128::<G1Projective>(&[], &[]).is_zero());
    }
}
