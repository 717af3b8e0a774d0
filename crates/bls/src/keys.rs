//! Secret keys and key pairs: parsing, generation, public-key derivation and signing.

use std::fmt;

use ark_bn254::{Fr, G1Projective, G2Projective};
use ark_ec::{CurveGroup, PrimeGroup};
use ark_ff::{BigInt, PrimeField, Zero};
use quorate_domain::{OperatorId, ResponseDigest};
use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::ct::ct_mul;
use crate::error::KeyError;
use crate::points::{G1PublicKey, G2PublicKey, MessagePoint, Signature};

/// A BLS secret key: a non-zero scalar below the group order r.
///
/// Zeroised on drop; its `Debug` output is a redacted placeholder. Not `Clone`, so copies are
/// deliberate (see [`SecretKey::expose_scalar`]).
pub struct SecretKey(Fr);

impl SecretKey {
    /// Parses a decimal or `0x`-hex (case-insensitive) string; surrounding whitespace is
    /// ignored. Refuses empty strings, other characters, zero and values ≥ r, and never echoes
    /// the input in errors.
    pub fn parse(s: &str) -> Result<Self, KeyError> {
        let trimmed = s.trim();
        let offset = s.len() - s.trim_start().len();
        let (digits, radix, offset) = match trimmed
            .strip_prefix("0x")
            .or_else(|| trimmed.strip_prefix("0X"))
        {
            Some(rest) => (rest, 16u64, offset + 2),
            None => (trimmed, 10u64, offset),
        };
        if digits.is_empty() {
            return Err(KeyError::Empty);
        }
        // Accumulate into 320 bits; anything reaching the fifth limb is ≥ 2^256 > r.
        let mut acc = [0u64; 5];
        let mut overflow = false;
        for (i, c) in digits.char_indices() {
            let Some(d) = c.to_digit(radix as u32) else {
                acc.zeroize();
                return Err(KeyError::NotANumber {
                    position: offset + i,
                });
            };
            let mut carry = u128::from(d);
            for limb in acc.iter_mut() {
                let t = u128::from(*limb) * u128::from(radix) + carry;
                *limb = t as u64;
                carry = t >> 64;
            }
            overflow |= carry != 0 || acc[4] != 0;
        }
        let mut limbs = BigInt::new([acc[0], acc[1], acc[2], acc[3]]);
        acc.zeroize();
        let scalar = if overflow {
            None
        } else {
            Fr::from_bigint(limbs)
        };
        limbs.0.zeroize();
        match scalar {
            None => Err(KeyError::OutOfRange),
            Some(s) => Self::from_scalar(s),
        }
    }

    /// Wraps a scalar, refusing zero.
    pub fn from_scalar(scalar: Fr) -> Result<Self, KeyError> {
        if scalar.is_zero() {
            return Err(KeyError::Zero);
        }
        Ok(Self(scalar))
    }

    /// A uniformly random non-zero secret.
    pub fn random<R: CryptoRng + RngCore>(rng: &mut R) -> Self {
        loop {
            let mut wide = [0u8; 64];
            rng.fill_bytes(&mut wide);
            let s = Fr::from_le_bytes_mod_order(&wide);
            wide.zeroize();
            if !s.is_zero() {
                return Self(s);
            }
        }
    }

    /// The secret scalar itself, for deliberate export (e.g. to a keystore). Handle with care.
    pub fn expose_scalar(&self) -> Fr {
        self.0
    }
}

impl std::str::FromStr for SecretKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::parse(s)
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for SecretKey {}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// A BLS key pair: the secret and its public keys in G1 and G2.
///
/// Public-key derivation and signing multiply by the secret in constant time with respect to
/// it: each multiplication is scalar-blinded with fresh randomness and runs a fixed-length
/// Montgomery ladder with branch-free conditional swaps. Residual caveats: arkworks' field
/// arithmetic (Montgomery reduction's final conditional subtraction, inversions when converting
/// to affine) is not strictly constant-time, and the blinding only decorrelates those leaks from
/// the secret statistically; the public outputs themselves are of course public.
pub struct KeyPair {
    secret: SecretKey,
    g1: G1PublicKey,
    g2: G2PublicKey,
}

impl KeyPair {
    /// A key pair from a secret given as a decimal or `0x`-hex string (EigenLayer keystores and
    /// `BlsKeyPair::new` use decimal). Blinding randomness comes from `rand::thread_rng`.
    pub fn from_secret_str(s: &str) -> Result<Self, KeyError> {
        let secret = SecretKey::parse(s)?;
        Ok(Self::from_secret_with_rng(secret, &mut rand::thread_rng()))
    }

    /// A fresh random key pair.
    pub fn random<R: CryptoRng + RngCore>(rng: &mut R) -> Self {
        let secret = SecretKey::random(rng);
        Self::from_secret_with_rng(secret, rng)
    }

    /// A key pair from a secret; `rng` only supplies the blinding of the derivation.
    pub fn from_secret_with_rng<R: CryptoRng + RngCore>(secret: SecretKey, rng: &mut R) -> Self {
        let g1 = ct_mul(&G1Projective::generator(), &secret.0, rng).into_affine();
        let g2 = ct_mul(&G2Projective::generator(), &secret.0, rng).into_affine();
        Self {
            secret,
            g1: G1PublicKey(g1),
            g2: G2PublicKey::new_unchecked(g2),
        }
    }

    /// The secret key.
    pub fn secret(&self) -> &SecretKey {
        &self.secret
    }

    /// The public key in G1.
    pub fn public_g1(&self) -> &G1PublicKey {
        &self.g1
    }

    /// The public key in G2.
    pub fn public_g2(&self) -> &G2PublicKey {
        &self.g2
    }

    /// The operator id: `keccak256(X ‖ Y)` of the G1 public key.
    pub fn operator_id(&self) -> OperatorId {
        self.g1.operator_id()
    }

    /// Signs a 32-byte digest: `σ = sk·hashToG1(digest)`.
    pub fn sign(&self, digest: &[u8; 32]) -> Signature {
        self.sign_hashed_point(&MessagePoint::hash(digest))
    }

    /// The proof of possession a registry asks for: a signature over
    /// [`quorate_domain::proof_of_possession_digest`] of the G1 key.
    pub fn proof_of_possession(&self) -> Signature {
        self.sign_digest(&quorate_domain::proof_of_possession_digest(
            &self.g1.to_point(),
        ))
    }

    /// Signs a response digest.
    pub fn sign_digest(&self, digest: &ResponseDigest) -> Signature {
        self.sign(digest.as_bytes())
    }

    /// Signs an already-hashed G1 point, e.g. the key-registration message
    /// `RegistryCoordinator.pubkeyRegistrationMessageHash(operator)` (decode it with
    /// [`MessagePoint::from_point`], which refuses off-curve points).
    pub fn sign_hashed_point(&self, message: &MessagePoint) -> Signature {
        self.sign_hashed_point_with_rng(message, &mut rand::thread_rng())
    }

    /// [`KeyPair::sign_hashed_point`] with caller-supplied blinding randomness.
    pub fn sign_hashed_point_with_rng<R: CryptoRng + RngCore>(
        &self,
        message: &MessagePoint,
        rng: &mut R,
    ) -> Signature {
        let base = G1Projective::from(message.0);
        Signature(ct_mul(&base, &self.secret.0, rng).into_affine())
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("secret", &self.secret)
            .field("public_g1", &self.g1)
            .field("operator_id", &self.operator_id())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::AffineRepr;

    const R_DEC: &str =
        "21888242871839275222246405745257275088548364400416034343698204186575808495617";

    #[test]
    fn parses_decimal_and_hex() {
        let a = SecretKey::parse("255").unwrap();
        let b = SecretKey::parse(" 0xFf ").unwrap();
        let c = SecretKey::parse("0X00ff").unwrap();
        assert_eq!(a.expose_scalar(), Fr::from(255u32));
        assert_eq!(b.expose_scalar(), a.expose_scalar());
        assert_eq!(c.expose_scalar(), a.expose_scalar());
        let r_minus_one =
            "21888242871839275222246405745257275088548364400416034343698204186575808495616";
        assert_eq!(
            SecretKey::parse(r_minus_one).unwrap().expose_scalar(),
            -Fr::from(1u8)
        );
    }

    #[test]
    fn rejects_bad_secrets_with_typed_errors() {
        use KeyError::*;
        let e = |s: &str| SecretKey::parse(s).err();
        assert_eq!(e(""), Some(Empty));
        assert_eq!(e("   "), Some(Empty));
        assert_eq!(e("0x"), Some(Empty));
        assert_eq!(e("12a"), Some(NotANumber { position: 2 }));
        assert_eq!(e("0xzz"), Some(NotANumber { position: 2 }));
        assert_eq!(e("-1"), Some(NotANumber { position: 0 }));
        assert_eq!(e("0"), Some(Zero));
        assert_eq!(e("0x000"), Some(Zero));
        assert_eq!(e(R_DEC), Some(OutOfRange));
        assert_eq!(
            e(&format!("{R_DEC}0000000000000000000000000000")),
            Some(OutOfRange)
        );
        assert_eq!(e(&format!("0x1{}", "0".repeat(64))), Some(OutOfRange));
        assert_eq!(e(&"f".repeat(200)), Some(NotANumber { position: 0 }));
    }

    #[test]
    fn debug_is_redacted() {
        let kp = KeyPair::from_secret_str("123456789123456789").unwrap();
        let dbg = format!("{:?} {:?}", kp, kp.secret());
        assert!(!dbg.contains("123456789"), "{dbg}");
        assert!(dbg.contains("redacted"));
    }

    #[test]
    fn public_keys_match_plain_multiplication() {
        let kp = KeyPair::from_secret_str("987654321").unwrap();
        let s = Fr::from(987654321u64);
        assert_eq!(
            *kp.public_g1().as_affine(),
            (ark_bn254::G1Affine::generator() * s).into_affine()
        );
        assert_eq!(
            *kp.public_g2().as_affine(),
            (ark_bn254::G2Affine::generator() * s).into_affine()
        );
        let m = MessagePoint::hash(&[9; 32]);
        assert_eq!(kp.sign(&[9; 32]).0, (m.0 * s).into_affine());
    }
}
