//! Conversions between the domain's contract-shaped types and the ABI types of [`crate::contracts`].
//!
//! The domain already stores G2 coordinates imaginary-part first (`[c1, c0]`), as the contracts
//! take them, so these are field-for-field copies; no reordering happens here.

use alloy::primitives::{FixedBytes, Uint, U256};
use quorate_domain::{
    AggregatedResponse, CheckSignaturesIndices, G1Point, G2Point, OperatorId, Stake,
};

use crate::contracts::{IBLSSignatureCheckerTypes, OperatorStateRetrieverTypes, BN254};

/// Domain G1 point to `BN254.G1Point`.
pub fn g1_to_sol(p: &G1Point) -> BN254::G1Point {
    BN254::G1Point { X: p.x, Y: p.y }
}

/// `BN254.G1Point` to the domain G1 point.
pub fn g1_from_sol(p: &BN254::G1Point) -> G1Point {
    G1Point { x: p.X, y: p.Y }
}

/// Domain G2 point (already `[c1, c0]`) to `BN254.G2Point`.
pub fn g2_to_sol(p: &G2Point) -> BN254::G2Point {
    BN254::G2Point { X: p.x, Y: p.y }
}

/// `BN254.G2Point` to the domain G2 point.
pub fn g2_from_sol(p: &BN254::G2Point) -> G2Point {
    G2Point { x: p.X, y: p.Y }
}

/// A `uint96` stake as the domain's 256-bit stake.
pub fn stake_from_u96(v: Uint<96, 2>) -> Stake {
    U256::from(v)
}

/// The retriever's index arrays as the domain type.
pub fn indices_from_sol(
    i: &OperatorStateRetrieverTypes::CheckSignaturesIndices,
) -> CheckSignaturesIndices {
    CheckSignaturesIndices {
        non_signer_quorum_bitmap_indices: i.nonSignerQuorumBitmapIndices.clone(),
        quorum_apk_indices: i.quorumApkIndices.clone(),
        total_stake_indices: i.totalStakeIndices.clone(),
        non_signer_stake_indices: i.nonSignerStakeIndices.clone(),
    }
}

/// Operator ids as the `bytes32[]` the retriever takes.
pub fn operator_ids_to_sol(ids: &[OperatorId]) -> Vec<FixedBytes<32>> {
    ids.iter().map(|id| id.to_b256()).collect()
}

/// The `NonSignerStakesAndSignature` argument of `checkSignatures` for an aggregate.
pub fn non_signer_stakes_and_signature(
    agg: &AggregatedResponse,
) -> IBLSSignatureCheckerTypes::NonSignerStakesAndSignature {
    IBLSSignatureCheckerTypes::NonSignerStakesAndSignature {
        nonSignerQuorumBitmapIndices: agg.indices.non_signer_quorum_bitmap_indices.clone(),
        nonSignerPubkeys: agg.non_signer_pubkeys_g1.iter().map(g1_to_sol).collect(),
        quorumApks: agg.quorum_apks_g1.iter().map(g1_to_sol).collect(),
        apkG2: g2_to_sol(&agg.signers_apk_g2),
        sigma: g1_to_sol(&agg.signers_agg_sig_g1),
        quorumApkIndices: agg.indices.quorum_apk_indices.clone(),
        totalStakeIndices: agg.indices.total_stake_indices.clone(),
        nonSignerStakeIndices: agg.indices.non_signer_stake_indices.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::SolValue;
    use quorate_bls::KeyPair;
    use quorate_domain::SignatureScheme;
    use rand::SeedableRng;

    #[test]
    fn g2_keeps_imaginary_part_first_in_the_abi() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let kp = KeyPair::random(&mut rng);
        let scheme = quorate_bls::Bn254Scheme;
        let g2 = scheme.encode_g2(kp.public_g2());
        let sol = g2_to_sol(&g2);
        // The ABI encoding of a static G2Point is X[0] X[1] Y[0] Y[1]: identical to the
        // domain's byte layout, which the bls crate cross-checks against eigensdk.
        assert_eq!(sol.abi_encode(), g2.to_bytes().to_vec());
        assert_eq!(g2_from_sol(&sol), g2);
        let g1 = scheme.encode_g1(kp.public_g1());
        assert_eq!(g1_to_sol(&g1).abi_encode(), g1.to_bytes().to_vec());
        assert_eq!(g1_from_sol(&g1_to_sol(&g1)), g1);
    }

    #[test]
    fn stakes_and_indices_round_trip() {
        let max96 = Uint::<96, 2>::MAX;
        assert_eq!(
            stake_from_u96(max96),
            (U256::from(1u8) << 96) - U256::from(1u8)
        );
        let sol = OperatorStateRetrieverTypes::CheckSignaturesIndices {
            nonSignerQuorumBitmapIndices: vec![1, 2],
            quorumApkIndices: vec![3],
            totalStakeIndices: vec![4],
            nonSignerStakeIndices: vec![vec![5, 6]],
        };
        let d = indices_from_sol(&sol);
        assert_eq!(d.non_signer_stake_indices, vec![vec![5, 6]]);
        assert_eq!(d.quorum_apk_indices, vec![3]);
    }
}
