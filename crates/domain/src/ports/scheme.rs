//! The signature scheme port: BLS over BN254 in production, a fake in fast tests.

use std::fmt::Debug;

use crate::error::PointDecodingError;
use crate::ids::{OperatorId, ResponseDigest};
use crate::points::{G1Point, G2Point};

/// Bounds every key, signature and message type of a scheme carries.
pub trait SchemeValue: Clone + PartialEq + Debug + Send + Sync + 'static {}
impl<T: Clone + PartialEq + Debug + Send + Sync + 'static> SchemeValue for T {}

/// One item of a cross-digest batch: `signature` claims that `key` signed `digest`.
#[derive(Debug)]
pub struct BatchItem<'a, S: SignatureScheme + ?Sized> {
    /// The signed digest (items are grouped by it).
    pub digest: &'a ResponseDigest,
    /// `hash_to_g1(digest)`, computed once per digest by the caller.
    pub message: &'a S::MessagePoint,
    /// The signature.
    pub signature: &'a S::Signature,
    /// The signer's G2 key.
    pub key: &'a S::G2PublicKey,
}

/// A BLS-style aggregate signature scheme with EigenLayer's conventions: signatures and message
/// points in G1, keys in G1 and G2 with the same secret.
///
/// All methods are synchronous and CPU-bound; async callers run them off the executor.
/// Aggregation takes multiplicities because an operator in `k` of a task's quorums counts `k`
/// times in `sigma` and `apkG2` on chain.
pub trait SignatureScheme: Send + Sync + 'static {
    /// A public key in G1 (what operator ids and quorum apks are made of).
    type G1PublicKey: SchemeValue;
    /// A public key in G2 (what signatures are checked against).
    type G2PublicKey: SchemeValue;
    /// A signature (a G1 point).
    type Signature: SchemeValue;
    /// A digest hashed to the curve; computed once per digest and reused.
    type MessagePoint: SchemeValue;

    /// Hashes a digest exactly as Solidity `BN254.hashToG1` does.
    fn hash_to_g1(&self, digest: &ResponseDigest) -> Self::MessagePoint;

    /// Checks one signature.
    fn verify(
        &self,
        message: &Self::MessagePoint,
        signature: &Self::Signature,
        key: &Self::G2PublicKey,
    ) -> bool;

    /// Checks `n` signatures of one message at once; returns the indices of the invalid ones
    /// (empty when all are valid). Uses random coefficients, so invalid signatures cannot cancel.
    fn verify_same_digest(
        &self,
        message: &Self::MessagePoint,
        items: &[(&Self::Signature, &Self::G2PublicKey)],
    ) -> Vec<usize>;

    /// Checks signatures over many digests at once; returns the indices of the invalid items.
    fn verify_batch(&self, items: &[BatchItem<'_, Self>]) -> Vec<usize>;

    /// [`Self::verify_same_digest`] told how many invalid items to expect (from the caller's
    /// recent history). A cost hint for the search, never a verdict: the answer is the same.
    fn verify_same_digest_expecting(
        &self,
        message: &Self::MessagePoint,
        items: &[(&Self::Signature, &Self::G2PublicKey)],
        expected_invalid: usize,
    ) -> Vec<usize> {
        let _ = expected_invalid;
        self.verify_same_digest(message, items)
    }

    /// [`Self::verify_batch`] told how many invalid items to expect, as
    /// [`Self::verify_same_digest_expecting`].
    fn verify_batch_expecting(
        &self,
        items: &[BatchItem<'_, Self>],
        expected_invalid: usize,
    ) -> Vec<usize> {
        let _ = expected_invalid;
        self.verify_batch(items)
    }

    /// Σ kᵢ·σᵢ.
    fn aggregate_signatures(&self, items: &[(&Self::Signature, u64)]) -> Self::Signature;

    /// Σ kᵢ·pkᵢ in G1; negative multiplicities subtract (the checker's apk arithmetic).
    fn aggregate_g1(&self, items: &[(&Self::G1PublicKey, i64)]) -> Self::G1PublicKey;

    /// Σ kᵢ·pkᵢ in G2; negative multiplicities subtract (the signers' apk as the whole set's
    /// minus the non-signers').
    fn aggregate_g2(&self, items: &[(&Self::G2PublicKey, i64)]) -> Self::G2PublicKey;

    /// `BLSSignatureChecker.trySignatureAndApkVerification`: the γ-trick check of an aggregate
    /// `sigma` against the G1 apk (derived on chain) and the claimed G2 apk.
    fn check_aggregate(
        &self,
        digest: &ResponseDigest,
        apk_g1: &Self::G1PublicKey,
        apk_g2: &Self::G2PublicKey,
        sigma: &Self::Signature,
    ) -> bool;

    /// keccak256(X ‖ Y) of the G1 key, as `BLSApkRegistry` derives operator ids.
    fn operator_id(&self, key: &Self::G1PublicKey) -> OperatorId;

    /// The contract encoding of a G1 key.
    fn encode_g1(&self, key: &Self::G1PublicKey) -> G1Point;
    /// The contract encoding of a G2 key (imaginary parts first).
    fn encode_g2(&self, key: &Self::G2PublicKey) -> G2Point;
    /// The contract encoding of a signature.
    fn encode_signature(&self, signature: &Self::Signature) -> G1Point;

    /// Decodes and validates a G1 key (on curve, canonical, not infinity).
    fn decode_g1(&self, point: &G1Point) -> Result<Self::G1PublicKey, PointDecodingError>;
    /// Decodes and validates a G2 key (on curve, in the subgroup, canonical, not infinity).
    fn decode_g2(&self, point: &G2Point) -> Result<Self::G2PublicKey, PointDecodingError>;
    /// Decodes and validates a signature (on curve, canonical, not infinity).
    fn decode_signature(&self, point: &G1Point) -> Result<Self::Signature, PointDecodingError>;
}
