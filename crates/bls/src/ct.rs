//! Constant-time (in the scalar) multiplication for secret scalars: scalar blinding plus a
//! Montgomery ladder over a fixed number of bits with branch-free conditional swaps.
//!
//! The secret `s` is never used directly. Each call draws a fresh 64-bit `m` and multiplies by
//! `k = s + (m + C)·r`, where `r` is the group order and `C = ⌈2^318 / r⌉`, so `k·P = s·P` for
//! any `P` of order `r` and `k ∈ [2^318, 2^319)`: every blinded scalar has exactly 319 bits, the
//! top bit is known to be set, and the ladder always runs the same 318 steps (one addition and
//! one doubling each). The bits of `k` select operands only through [`subtle`] conditional swaps
//! on the coordinate limbs, never through a branch or a secret-dependent memory index.
//!
//! Residual caveats, inherited from arkworks field and curve arithmetic:
//! - arkworks' Montgomery multiplication ends with a conditional final subtraction (a branch on
//!   the intermediate value), so individual field operations are not strictly constant-time;
//!   blinding makes the operands of each run unrelated to the operands of another run;
//! - the projective addition has branches for the point at infinity and for equal inputs; the
//!   ladder keeps `R1 − R0 = P`, so these are not taken (except with negligible probability,
//!   when an intermediate multiple of `P` is a multiple of `r`);
//! - the blinded scalar and the ladder state are plain stack values; the scalar limbs are
//!   zeroised after use, intermediate points are not (they are public-key-like values).

use ark_bn254::{Fq, Fq2, Fr};
use ark_ec::short_weierstrass::{Projective, SWCurveConfig};
use ark_ff::{AdditiveGroup, PrimeField};
use rand_core::{CryptoRng, RngCore};
use subtle::{Choice, ConditionallySelectable};
use zeroize::Zeroize;

/// `⌈2^318 / r⌉` (65 bits), the offset that fixes the blinded scalar's bit length.
const C: u128 = 0x1_5291_d189_88e8_129f;
/// Limbs of the blinded scalar (384 bits hold 319).
const K_LIMBS: usize = 6;
/// Index of the blinded scalar's top bit, always set.
const TOP_BIT: usize = 318;

/// Base fields whose elements can be swapped without branching on the condition.
pub(crate) trait CtSwap {
    /// Swaps `a` and `b` when `choice` is 1, in constant time.
    fn ct_swap(a: &mut Self, b: &mut Self, choice: Choice);
}

impl CtSwap for Fq {
    fn ct_swap(a: &mut Self, b: &mut Self, choice: Choice) {
        for (x, y) in a.0 .0.iter_mut().zip(b.0 .0.iter_mut()) {
            u64::conditional_swap(x, y, choice);
        }
    }
}

impl CtSwap for Fq2 {
    fn ct_swap(a: &mut Self, b: &mut Self, choice: Choice) {
        Fq::ct_swap(&mut a.c0, &mut b.c0, choice);
        Fq::ct_swap(&mut a.c1, &mut b.c1, choice);
    }
}

fn ct_swap_points<P: SWCurveConfig>(a: &mut Projective<P>, b: &mut Projective<P>, choice: Choice)
where
    P::BaseField: CtSwap,
{
    P::BaseField::ct_swap(&mut a.x, &mut b.x, choice);
    P::BaseField::ct_swap(&mut a.y, &mut b.y, choice);
    P::BaseField::ct_swap(&mut a.z, &mut b.z, choice);
}

/// `s + (m + C)·r` as little-endian limbs, branch-free (carries through `u128`).
fn blinded_scalar(s: &[u64; 4], m: u64) -> [u64; K_LIMBS] {
    let r = Fr::MODULUS.0;
    let mc = u128::from(m) + C; // < 2^66
    let mc_limbs = [mc as u64, (mc >> 64) as u64];
    let mut k = [0u64; K_LIMBS];
    // k = mc · r (schoolbook, 2 × 4 limbs).
    for (i, &a) in mc_limbs.iter().enumerate() {
        let mut carry: u128 = 0;
        for (j, &b) in r.iter().enumerate() {
            let t = u128::from(k[i + j]) + u128::from(a) * u128::from(b) + carry;
            k[i + j] = t as u64;
            carry = t >> 64;
        }
        k[i + 4] = carry as u64;
    }
    // k += s.
    let mut carry: u128 = 0;
    for (i, limb) in k.iter_mut().enumerate() {
        let t = u128::from(*limb) + u128::from(s.get(i).copied().unwrap_or(0)) + carry;
        *limb = t as u64;
        carry = t >> 64;
    }
    k
}

/// `secret · base` in constant time with respect to `secret` (see the module docs).
pub(crate) fn ct_mul<P, R>(base: &Projective<P>, secret: &Fr, rng: &mut R) -> Projective<P>
where
    P: SWCurveConfig<ScalarField = Fr>,
    P::BaseField: CtSwap,
    R: CryptoRng + RngCore,
{
    let mut s = secret.into_bigint();
    let mut k = blinded_scalar(&s.0, rng.next_u64());
    s.0.zeroize();

    // Bit TOP_BIT of k is set: start from R0 = P, R1 = 2P and walk the remaining bits.
    let mut r0 = *base;
    let mut r1 = *base;
    r1.double_in_place();
    for i in (0..TOP_BIT).rev() {
        let bit = Choice::from(((k[i / 64] >> (i % 64)) & 1) as u8);
        ct_swap_points(&mut r0, &mut r1, bit);
        r1 += &r0;
        r0.double_in_place();
        ct_swap_points(&mut r0, &mut r1, bit);
    }
    k.zeroize();
    r0
}

/// Whether `k` has its top bit exactly at [`TOP_BIT`] (test helper).
#[cfg(test)]
fn bit_length(k: &[u64; K_LIMBS]) -> usize {
    use ark_ff::BigInteger;
    ark_ff::BigInt::<K_LIMBS>(*k).num_bits() as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{G1Projective, G2Projective};
    use ark_ec::PrimeGroup;
    use ark_ff::{BigInteger, UniformRand, Zero};
    use num_bigint::BigUint;
    use rand::SeedableRng;

    #[test]
    fn offset_is_ceil_of_two_pow_318_over_r() {
        let r = BigUint::from_bytes_le(&Fr::MODULUS.to_bytes_le());
        let c = ((BigUint::from(1u8) << 318usize) + &r - 1u8) / &r;
        assert_eq!(c, BigUint::from(C));
    }

    #[test]
    fn blinded_scalars_have_fixed_length_and_the_right_residue() {
        let r = BigUint::from_bytes_le(&Fr::MODULUS.to_bytes_le());
        let max_s = Fr::MODULUS.0;
        let mut max_s = max_s;
        max_s[0] -= 1; // r − 1
        for (s, m) in [
            ([0u64; 4], 0u64),
            ([0; 4], u64::MAX),
            (max_s, 0),
            (max_s, u64::MAX),
            ([1, 2, 3, 4], 77),
        ] {
            let k = blinded_scalar(&s, m);
            assert_eq!(bit_length(&k), TOP_BIT + 1);
            let kb = BigUint::from_slice(
                &k.iter()
                    .flat_map(|l| [*l as u32, (*l >> 32) as u32])
                    .collect::<Vec<_>>(),
            );
            let sb = BigUint::from_slice(
                &s.iter()
                    .flat_map(|l| [*l as u32, (*l >> 32) as u32])
                    .collect::<Vec<_>>(),
            );
            assert_eq!(&kb % &r, &sb % &r);
        }
    }

    #[test]
    fn ladder_matches_plain_multiplication() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        for _ in 0..8 {
            let s = Fr::rand(&mut rng);
            let g1 = G1Projective::generator();
            assert_eq!(ct_mul(&g1, &s, &mut rng), g1 * s);
            let g2 = G2Projective::generator();
            assert_eq!(ct_mul(&g2, &s, &mut rng), g2 * s);
        }
        let one = Fr::from(1u8);
        assert_eq!(
            ct_mul(&G1Projective::generator(), &one, &mut rng),
            G1Projective::generator()
        );
        assert!(ct_mul(&G1Projective::generator(), &Fr::zero(), &mut rng).is_zero());
    }
}
