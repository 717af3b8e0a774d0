//! [`Bn254Scheme`]: the crate as a [`SignatureScheme`].

use quorate_domain::{
    BatchItem, G1Point, G2Point, OperatorId, PointDecodingError, ResponseDigest, SignatureScheme,
};

use crate::points::{G1PublicKey, G2PublicKey, MessagePoint, Signature};
use crate::{aggregate, batch, pairing};

/// BN254 BLS with EigenLayer's conventions, on arkworks.
///
/// Keys, signatures and message points are affine (compact, cheap mixed additions); sums are
/// taken in projective form. Verification caches `−G2` and each key's Miller-loop coefficients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bn254Scheme;

impl SignatureScheme for Bn254Scheme {
    type G1PublicKey = G1PublicKey;
    type G2PublicKey = G2PublicKey;
    type Signature = Signature;
    type MessagePoint = MessagePoint;

    fn hash_to_g1(&self, digest: &ResponseDigest) -> MessagePoint {
        MessagePoint::hash(digest.as_bytes())
    }

    fn verify(&self, message: &MessagePoint, signature: &Signature, key: &G2PublicKey) -> bool {
        pairing::verify(message, signature, key)
    }

    fn verify_same_digest(
        &self,
        message: &MessagePoint,
        items: &[(&Signature, &G2PublicKey)],
    ) -> Vec<usize> {
        batch::verify_same_digest(message, items)
    }

    fn verify_batch(&self, items: &[BatchItem<'_, Self>]) -> Vec<usize> {
        batch::verify_batch(items)
    }

    fn verify_same_digest_expecting(
        &self,
        message: &MessagePoint,
        items: &[(&Signature, &G2PublicKey)],
        expected_invalid: usize,
    ) -> Vec<usize> {
        batch::verify_same_digest_expecting(message, items, expected_invalid)
    }

    fn verify_batch_expecting(
        &self,
        items: &[BatchItem<'_, Self>],
        expected_invalid: usize,
    ) -> Vec<usize> {
        batch::verify_batch_expecting(items, expected_invalid)
    }

    fn aggregate_signatures(&self, items: &[(&Signature, u64)]) -> Signature {
        aggregate::aggregate_signatures(items)
    }

    fn aggregate_g1(&self, items: &[(&G1PublicKey, i64)]) -> G1PublicKey {
        aggregate::aggregate_g1(items)
    }

    fn aggregate_g2(&self, items: &[(&G2PublicKey, i64)]) -> G2PublicKey {
        aggregate::aggregate_g2(items)
    }

    fn check_aggregate(
        &self,
        digest: &ResponseDigest,
        apk_g1: &G1PublicKey,
        apk_g2: &G2PublicKey,
        sigma: &Signature,
    ) -> bool {
        pairing::check_aggregate(digest, apk_g1, apk_g2, sigma)
    }

    fn operator_id(&self, key: &G1PublicKey) -> OperatorId {
        key.operator_id()
    }

    fn encode_g1(&self, key: &G1PublicKey) -> G1Point {
        key.to_point()
    }

    fn encode_g2(&self, key: &G2PublicKey) -> G2Point {
        key.to_point()
    }

    fn encode_signature(&self, signature: &Signature) -> G1Point {
        signature.to_point()
    }

    fn decode_g1(&self, point: &G1Point) -> Result<G1PublicKey, PointDecodingError> {
        G1PublicKey::from_point(point)
    }

    fn decode_g2(&self, point: &G2Point) -> Result<G2PublicKey, PointDecodingError> {
        G2PublicKey::from_point(point)
    }

    fn decode_signature(&self, point: &G1Point) -> Result<Signature, PointDecodingError> {
        Signature::from_point(point)
    }
}
