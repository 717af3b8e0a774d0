//! BN254 BLS signatures with EigenLayer's exact conventions (hash-to-G1, encodings, operator ids).
//!
//! Signatures and message points live in G1, public keys in G1 and G2 under the same secret, as
//! in EigenLayer's `BLSApkRegistry` and `BLSSignatureChecker`:
//!
//! - [`hash_to_g1`] is Solidity `BN254.hashToG1` (try-and-increment, root `β^((p+1)/4)`);
//! - [`KeyPair`] signs digests and already-hashed points (key registration), with
//!   constant-time, blinded scalar multiplication (see [`KeyPair`] for the caveats);
//! - [`verify`] is one multi-Miller loop over two pairs and one final exponentiation;
//! - [`verify_same_digest`] and [`verify_batch`] check many signatures with random 64-bit
//!   coefficients and find the invalid ones by bisection;
//! - [`check_aggregate`] is `BLSSignatureChecker.trySignatureAndApkVerification` (γ-trick);
//! - [`G1PublicKey`], [`G2PublicKey`] and [`Signature`] decode from the contract encodings
//!   ([`quorate_domain::G1Point`], [`quorate_domain::G2Point`]) with canonicity, curve and
//!   subgroup checks, and encode back.
//!
//! [`Bn254Scheme`] bundles all of it as a [`quorate_domain::SignatureScheme`].

// Every dependency in Cargo.toml is used (CI: clippy -D warnings); dev-dependencies are
// exempt because each test binary uses only some of them.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod aggregate;
mod batch;
mod ct;
mod encoding;
mod error;
mod final_exp;
mod hash;
mod keys;
mod msm;
mod pairing;
mod points;
mod scheme;

#[cfg(feature = "fake")]
pub mod fake;

pub use aggregate::{aggregate_g1, aggregate_g2, aggregate_signatures};
#[doc(hidden)]
pub use batch::verify_same_digest_locating_from;
pub use batch::{
    verify_batch, verify_batch_expecting, verify_batch_with_rng, verify_same_digest,
    verify_same_digest_expecting, verify_same_digest_with_rng,
};
pub use encoding::{
    decode_g1_affine, decode_g1_bytes, decode_g2_affine, decode_g2_bytes, encode_g1_affine,
    encode_g2_affine, G1_ENCODED_LEN, G2_ENCODED_LEN,
};
pub use error::KeyError;
#[doc(hidden)]
pub use final_exp::final_exponentiation;
pub use hash::hash_to_g1;
pub use keys::{KeyPair, SecretKey};
#[doc(hidden)]
pub use msm::{g2_bucket_sums, g2_projective_bucket_sums};
pub use pairing::{check_aggregate, check_aggregate_gamma, verify};
pub use points::{G1PublicKey, G2PublicKey, MessagePoint, Signature};
pub use scheme::Bn254Scheme;

/// The arkworks curve types this crate is built on, for callers that need raw arithmetic.
pub mod ark {
    pub use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
}
