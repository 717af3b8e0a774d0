//! Pairing checks: single verification and the on-chain γ-trick aggregate check.

use std::sync::LazyLock;

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::pairing::{Pairing, PairingOutput};
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::{AdditiveGroup, PrimeField};
use quorate_domain::ResponseDigest;
use sha3::{Digest, Keccak256};

use crate::hash::hash_to_g1;
use crate::points::{G1PublicKey, G2Prepared, G2PublicKey, MessagePoint, Signature};

/// `−G2` (the negated G2 generator), prepared once for every Miller loop.
static NEG_G2_PREPARED: LazyLock<G2Prepared> =
    LazyLock::new(|| G2Prepared::from(-G2Affine::generator()));

/// A clone of the cached `−G2` line coefficients (arkworks' Miller loop consumes them).
pub(crate) fn neg_g2_prepared() -> G2Prepared {
    NEG_G2_PREPARED.clone()
}

/// `∏ e(g1ᵢ, g2ᵢ)` in GT (written additively by arkworks: `ZERO` is 1), with one multi-Miller
/// loop and one final exponentiation (ours, [`crate::final_exp`]: arkworks' with a shorter
/// chain); `None` if the lengths differ or the Miller loop's output is not invertible
/// (unreachable for curve points, but not worth a panic).
pub(crate) fn pairing_product(
    g1: Vec<G1Affine>,
    g2: Vec<G2Prepared>,
) -> Option<PairingOutput<Bn254>> {
    if g1.len() != g2.len() {
        return None;
    }
    crate::final_exp::final_exponentiation(Bn254::multi_miller_loop(g1, g2))
}

/// Whether `∏ e(g1ᵢ, g2ᵢ) = 1`, with one multi-Miller loop and one final exponentiation.
pub(crate) fn pairing_product_is_one(g1: Vec<G1Affine>, g2: Vec<G2Prepared>) -> bool {
    pairing_product(g1, g2).is_some_and(|out| out == PairingOutput::<Bn254>::ZERO)
}

/// Checks one signature: `e(σ, −G2) · e(H(m), pk₂) = 1`, one multi-Miller loop over the two
/// pairs and one final exponentiation; `−G2` and the key's line coefficients are cached.
pub fn verify(message: &MessagePoint, signature: &Signature, key: &G2PublicKey) -> bool {
    pairing_product_is_one(
        vec![signature.0, message.0],
        vec![neg_g2_prepared(), key.prepared().clone()],
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
        vec![left.into_affine(), right.into_affine()],
        vec![neg_g2_prepared(), G2Prepared::from(*apk_g2.as_affine())],
    )
}
