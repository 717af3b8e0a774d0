//! Pairing checks: single verification and the on-chain γ-trick aggregate check.

use std::sync::LazyLock;

use ark_bn254::{Bn254, Fq12, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::bn::{g2::EllCoeff, BnConfig};
use ark_ec::pairing::{MillerLoopOutput, PairingOutput};
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::{AdditiveGroup, CyclotomicMultSubgroup, Field, One, PrimeField};
use quorate_domain::ResponseDigest;
use sha3::{Digest, Keccak256};

use crate::hash::hash_to_g1;
use crate::points::{G1PublicKey, G2Prepared, G2PublicKey, MessagePoint, Signature};

/// `−G2` (the negated G2 generator), prepared once for every Miller loop.
static NEG_G2_PREPARED: LazyLock<G2Prepared> =
    LazyLock::new(|| G2Prepared::from(-G2Affine::generator()));

/// The cached `−G2` line coefficients.
pub(crate) fn neg_g2_prepared() -> &'static G2Prepared {
    &NEG_G2_PREPARED
}

/// `∏ e(g1ᵢ, g2ᵢ)` in GT (written additively by arkworks: `ZERO` is 1), with one multi-Miller
/// loop and one final exponentiation (ours, [`crate::final_exp`]: arkworks' with a shorter
/// chain); `None` if the lengths differ or the Miller loop's output is not invertible
/// (unreachable for curve points, but not worth a panic). The G2 side is borrowed: cached line
/// coefficients (`−G2`, every key's) are read in place, never copied.
pub(crate) fn pairing_product(g1: &[G1Affine], g2: &[&G2Prepared]) -> Option<PairingOutput<Bn254>> {
    if g1.len() != g2.len() {
        return None;
    }
    crate::final_exp::final_exponentiation(multi_miller_loop(g1, g2))
}

/// BN254's multi-Miller loop, `∏ᵢ f(g1ᵢ, g2ᵢ)`, with one accumulator for all pairs.
///
/// arkworks' (0.5, without its `parallel` feature) runs the pairs in chunks of four, each with
/// its own accumulator, squared at every step, and multiplies the chunks' results at the end:
/// a check of 101 pairs (a batch's signatures and 100 keys) squares 26 times as often as one
/// accumulator needs to. The lines and their order per pair are arkworks'; tested against it.
fn multi_miller_loop(g1: &[G1Affine], g2: &[&G2Prepared]) -> MillerLoopOutput<Bn254> {
    type Config = ark_bn254::Config;
    let mut pairs: Vec<_> = g1
        .iter()
        .zip(g2)
        // A pair with a point at infinity contributes 1.
        .filter(|(p, q)| !p.is_zero() && !q.infinity)
        .map(|(p, q)| (p, q.ell_coeffs.iter()))
        .collect();
    let mut step = |f: &mut Fq12| {
        for (p, lines) in &mut pairs {
            if let Some(line) = lines.next() {
                line_at(f, line, p);
            }
        }
    };
    let count = <Config as BnConfig>::ATE_LOOP_COUNT;
    let mut f = Fq12::one();
    for i in (1..count.len()).rev() {
        if i != count.len() - 1 {
            f.square_in_place();
        }
        step(&mut f);
        if matches!(count.get(i - 1), Some(1 | -1)) {
            step(&mut f);
        }
    }
    if <Config as BnConfig>::X_IS_NEGATIVE {
        f.cyclotomic_inverse_in_place();
    }
    // The two Frobenius lines.
    step(&mut f);
    step(&mut f);
    MillerLoopOutput(f)
}

/// Multiplies `f` by the line with coefficients `line` evaluated at `p` (BN254's twist is of
/// type D: the line is sparse in positions 0, 3 and 4).
fn line_at(f: &mut Fq12, line: &EllCoeff<ark_bn254::Config>, p: &G1Affine) {
    let (mut c0, mut c1, c2) = *line;
    c0.mul_assign_by_fp(&p.y);
    c1.mul_assign_by_fp(&p.x);
    f.mul_by_034(&c0, &c1, &c2);
}

/// Whether `∏ e(g1ᵢ, g2ᵢ) = 1`, with one multi-Miller loop and one final exponentiation.
pub(crate) fn pairing_product_is_one(g1: &[G1Affine], g2: &[&G2Prepared]) -> bool {
    pairing_product(g1, g2).is_some_and(|out| out == PairingOutput::<Bn254>::ZERO)
}

/// Checks one signature: `e(σ, −G2) · e(H(m), pk₂) = 1`, one multi-Miller loop over the two
/// pairs and one final exponentiation; `−G2` and the key's line coefficients are cached.
pub fn verify(message: &MessagePoint, signature: &Signature, key: &G2PublicKey) -> bool {
    pairing_product_is_one(
        &[signature.0, message.0],
        &[neg_g2_prepared(), key.prepared()],
    )
}

/// `γ = uint256(keccak256(abi.encodePacked(msgHash, apk.X, apk.Y, apkG2.X[0], apkG2.X[1],
/// apkG2.Y[0], apkG2.Y[1], sigma.X, sigma.Y))) mod r`, as `BLSSignatureChecker` computes it.
pub fn check_aggregate_gamma(
    digest: &ResponseDigest,
    apk_g1: &G1PublicKey,
    apk_g2: &G2PublicKey,
    sigma: &Signature,
) -> Fr {
    let mut h = Keccak256::new();
    h.update(digest.as_bytes());
    h.update(apk_g1.to_bytes());
    h.update(apk_g2.to_bytes());
    h.update(sigma.to_bytes());
    Fr::from_be_bytes_mod_order(&h.finalize())
}

/// `BLSSignatureChecker.trySignatureAndApkVerification`: with γ from
/// [`check_aggregate_gamma`], whether `e(σ + γ·apk, −G2) · e(H(m) + γ·G1, apkG2) = 1`.
///
/// `apk_g1` is the G1 aggregate the contract derives (quorum apks minus non-signers, with
/// multiplicities); `apk_g2` and `sigma` carry each signer once per quorum it signs for.
pub fn check_aggregate(
    digest: &ResponseDigest,
    apk_g1: &G1PublicKey,
    apk_g2: &G2PublicKey,
    sigma: &Signature,
) -> bool {
    let gamma = check_aggregate_gamma(digest, apk_g1, apk_g2, sigma);
    let left = G1Projective::from(sigma.0) + apk_g1.0 * gamma;
    let right =
        G1Projective::from(hash_to_g1(digest.as_bytes())) + G1Projective::generator() * gamma;
    pairing_product_is_one(
        &[left.into_affine(), right.into_affine()],
        &[neg_g2_prepared(), &G2Prepared::from(*apk_g2.as_affine())],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::pairing::Pairing;
    use ark_ff::UniformRand;
    use rand::SeedableRng;

    #[test]
    fn the_miller_loop_is_arkworks_for_any_number_of_pairs() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(51);
        for n in [0usize, 1, 2, 3, 4, 5, 8, 9, 13] {
            let g1: Vec<G1Affine> = (0..n)
                .map(|i| match i {
                    // A point at infinity among them contributes 1 in both.
                    3 => G1Affine::zero(),
                    _ => (G1Projective::generator() * Fr::rand(&mut rng)).into_affine(),
                })
                .collect();
            let g2: Vec<G2Affine> = (0..n)
                .map(|_| (G2Affine::generator() * Fr::rand(&mut rng)).into_affine())
                .collect();
            let prepared: Vec<G2Prepared> = g2.iter().map(|q| G2Prepared::from(*q)).collect();
            // The oracle: arkworks' loop (the same product, accumulated in chunks of four) and
            // arkworks' pairing.
            let borrowed: Vec<&G2Prepared> = prepared.iter().collect();
            let ours = multi_miller_loop(&g1, &borrowed);
            let theirs = Bn254::multi_miller_loop(g1.clone(), prepared.clone());
            assert_eq!(ours.0, theirs.0, "{n} pairs");
            assert_eq!(
                Bn254::final_exponentiation(ours),
                Some(Bn254::multi_pairing(g1, g2)),
                "{n} pairs"
            );
        }
    }
}
