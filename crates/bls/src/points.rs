//! Validated point types: G1 and G2 public keys, signatures and hashed messages.
//!
//! All are affine for compact storage and cheap mixed additions; aggregation sums them in
//! projective form. Values decoded from outside are fully validated; values produced by this
//! crate (keys, signatures, aggregates) are valid by construction. An aggregate may be the point
//! at infinity (e.g. keys that cancel), which encodes as zeros as on chain.

use std::fmt;
use std::sync::{Arc, OnceLock};

use ark_bn254::{Bn254, G1Affine, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::AffineRepr;
use quorate_domain::{G1Point, G2Point, OperatorId, PointDecodingError};
use sha3::{Digest, Keccak256};

use crate::encoding::{
    decode_g1_affine, decode_g1_bytes, decode_g2_affine, decode_g2_bytes, encode_g1_affine,
    encode_g2_affine,
};

/// The Miller-loop line coefficients of a G2 point, as arkworks precomputes them.
pub(crate) type G2Prepared = <Bn254 as Pairing>::G2Prepared;

macro_rules! g1_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub(crate) G1Affine);

        impl $name {
            /// Wraps an arkworks point after checking it is on the curve and not infinity.
            pub fn from_affine(point: G1Affine) -> Result<Self, PointDecodingError> {
                if point.is_zero() {
                    return Err(PointDecodingError::Identity);
                }
                if !point.is_on_curve() {
                    return Err(PointDecodingError::NotOnCurve);
                }
                Ok(Self(point))
            }

            /// Decodes and validates the contract encoding.
            pub fn from_point(point: &G1Point) -> Result<Self, PointDecodingError> {
                decode_g1_affine(point).map(Self)
            }

            /// Decodes and validates the 64-byte ABI encoding `X ‖ Y`.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, PointDecodingError> {
                decode_g1_bytes(bytes).map(Self)
            }

            /// The contract encoding (`(0, 0)` for infinity).
            pub fn to_point(&self) -> G1Point {
                encode_g1_affine(&self.0)
            }

            /// The 64-byte ABI encoding `X ‖ Y`.
            pub fn to_bytes(&self) -> [u8; 64] {
                self.to_point().to_bytes()
            }

            /// The arkworks point.
            pub fn as_affine(&self) -> &G1Affine {
                &self.0
            }

            /// Whether this is the point at infinity (only an aggregate can be).
            pub fn is_identity(&self) -> bool {
                self.0.is_zero()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let p = self.to_point();
                write!(f, concat!(stringify!($name), "(x: {:#x}, y: {:#x})"), p.x, p.y)
            }
        }
    };
}

g1_type!(
    /// A public key in G1 (what operator ids and quorum apks are made of).
    G1PublicKey
);
g1_type!(
    /// A signature `σ = sk·H(m)`, a point in G1.
    Signature
);
g1_type!(
    /// A message hashed to G1: [`crate::hash_to_g1`] of a digest, or an already-hashed point
    /// such as `RegistryCoordinator.pubkeyRegistrationMessageHash(operator)`.
    MessagePoint
);

impl G1PublicKey {
    /// `keccak256(X ‖ Y)` of the 32-byte big-endian coordinates, as `BLSApkRegistry` derives
    /// operator ids.
    pub fn operator_id(&self) -> OperatorId {
        let hash: [u8; 32] = Keccak256::digest(self.to_bytes()).into();
        OperatorId::from_key_hash(hash)
    }
}

impl MessagePoint {
    /// Hashes a digest to G1 as Solidity `BN254.hashToG1` does.
    pub fn hash(digest: &[u8; 32]) -> Self {
        Self(crate::hash::hash_to_g1(digest))
    }
}

/// A public key in G2 (what signatures are checked against), subgroup-checked on decoding.
///
/// Carries three lazily computed, shared caches: its Miller-loop line coefficients (~17 KB,
/// made on the first single-signature verification against this key), so repeated single
/// verifications against the same key skip the G2 preparation; its fixed-base table (13
/// points, ~1.8 KB, made the first time a batch check sums it), so the random-coefficient
/// sums of the keys in every later batch take no doublings; and its whole-multiples table
/// (352 points, ~48 KB, made the first time a failing batch is searched with this key in it),
/// from which the search takes `rᵢ·pkᵢ` in ten additions. Clones share the caches; equality
/// and hashing look at the point only.
#[derive(Clone)]
pub struct G2PublicKey {
    /// The key itself (what equality and hashing look at).
    point: G2Affine,
    /// Its Miller-loop line coefficients, for pairings on the key's side.
    prepared: Arc<OnceLock<G2Prepared>>,
    /// `[2^(6j)·pk]`, for the fixed-base MSM of a batch's first check.
    fixed_base: Arc<OnceLock<Box<[G2Affine]>>>,
    /// `[d·2^(6j)·pk]`, for a searched batch's products `rᵢ·pkᵢ`.
    multiples: Arc<OnceLock<Box<[G2Affine]>>>,
}

impl G2PublicKey {
    /// Wraps a point known to be on the curve and in the subgroup.
    pub(crate) fn new_unchecked(point: G2Affine) -> Self {
        Self {
            point,
            prepared: Arc::new(OnceLock::new()),
            fixed_base: Arc::new(OnceLock::new()),
            multiples: Arc::new(OnceLock::new()),
        }
    }

    /// Wraps an arkworks point after checking it is on the twist, in the prime-order
    /// subgroup, and not infinity.
    pub fn from_affine(point: G2Affine) -> Result<Self, PointDecodingError> {
        if point.is_zero() {
            return Err(PointDecodingError::Identity);
        }
        if !point.is_on_curve() {
            return Err(PointDecodingError::NotOnCurve);
        }
        if !point.is_in_correct_subgroup_assuming_on_curve() {
            return Err(PointDecodingError::NotInSubgroup);
        }
        Ok(Self::new_unchecked(point))
    }

    /// Decodes and validates the contract encoding (`X = [x.c1, x.c0]`, `Y = [y.c1, y.c0]`).
    pub fn from_point(point: &G2Point) -> Result<Self, PointDecodingError> {
        decode_g2_affine(point).map(Self::new_unchecked)
    }

    /// Decodes and validates the 128-byte ABI encoding `X[0] ‖ X[1] ‖ Y[0] ‖ Y[1]`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PointDecodingError> {
        decode_g2_bytes(bytes).map(Self::new_unchecked)
    }

    /// The contract encoding (imaginary parts first; all zeros for infinity).
    pub fn to_point(&self) -> G2Point {
        encode_g2_affine(&self.point)
    }

    /// The 128-byte ABI encoding.
    pub fn to_bytes(&self) -> [u8; 128] {
        self.to_point().to_bytes()
    }

    /// The arkworks point.
    pub fn as_affine(&self) -> &G2Affine {
        &self.point
    }

    /// Whether this is the point at infinity (only an aggregate can be).
    pub fn is_identity(&self) -> bool {
        self.point.is_zero()
    }

    /// The Miller-loop coefficients, computed once and cached.
    pub(crate) fn prepared(&self) -> &G2Prepared {
        self.prepared.get_or_init(|| G2Prepared::from(self.point))
    }

    /// The fixed-base table `[2^(6j)·pk]` (see `msm::msm_fixed`), computed once and cached.
    pub(crate) fn fixed_base_table(&self) -> &[G2Affine] {
        self.fixed_base.get_or_init(|| {
            crate::msm::fixed_base_table::<ark_bn254::G2Projective>(&self.point).into_boxed_slice()
        })
    }

    /// The whole-multiples table `[d·2^(6j)·pk]` (see `msm::multiples_table`), computed once
    /// and cached.
    pub(crate) fn multiples_table(&self) -> &[G2Affine] {
        self.multiples
            .get_or_init(|| crate::msm::multiples_table(&self.point).into_boxed_slice())
    }
}

impl PartialEq for G2PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.point == other.point
    }
}

impl Eq for G2PublicKey {}

impl std::hash::Hash for G2PublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.point.hash(state);
    }
}

impl fmt::Debug for G2PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.to_point();
        write!(
            f,
            "G2PublicKey(x: [{:#x}, {:#x}], y: [{:#x}, {:#x}])",
            p.x[0], p.x[1], p.y[0], p.y[1]
        )
    }
}
