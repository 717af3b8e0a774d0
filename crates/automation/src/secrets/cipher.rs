//! Sealing and opening secrets with XChaCha20-Poly1305.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use super::{SecretError, SecretKey, SecretName, SecretScope, SecretValue};

/// Leading byte of [`SealedSecret::to_bytes`] for the current format:
/// `0x01 || nonce (24) || ciphertext || tag (16)`. A new algorithm or layout gets a new byte, so
/// stored records stay readable across upgrades.
pub const SEALED_FORMAT_V1: u8 = 1;

/// XChaCha20's extended nonce length. 192 random bits make nonce reuse under one key negligible
/// for any realistic number of seals, so no counter state is needed.
const NONCE_LEN: usize = 24;
/// Poly1305 tag length.
const TAG_LEN: usize = 16;
/// Domain separation: these AAD bytes can never be mistaken for another protocol's.
const AAD_DOMAIN: &[u8] = b"quorate/workflow-secret/aad/v1";

/// Encrypts and decrypts secret values under the node's [`SecretKey`].
///
/// The inner cipher zeroizes its key copy on drop. `Debug` shows nothing of the key.
pub struct SecretCipher {
    aead: XChaCha20Poly1305,
}

impl SecretCipher {
    /// Builds a cipher; the [`SecretKey`] is consumed and zeroized here.
    pub fn new(key: SecretKey) -> Self {
        let aead = XChaCha20Poly1305::new(key.as_bytes().into());
        Self { aead }
    }

    /// Encrypts `value` for the record described by `aad`, with a fresh random nonce.
    pub fn seal(&self, value: &SecretValue, aad: &SecretAad) -> Result<SealedSecret, SecretError> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng
            .try_fill_bytes(&mut nonce)
            .map_err(|_| SecretError::Rng)?;
        let aad_bytes = aad.encode();
        let ciphertext = self
            .aead
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: value.expose().as_bytes(),
                    aad: &aad_bytes,
                },
            )
            .map_err(|_| SecretError::Encrypt)?;
        Ok(SealedSecret { nonce, ciphertext })
    }

    /// Decrypts a sealed secret. Fails with [`SecretError::Decrypt`], and no detail, for a wrong
    /// key, any tampering, or an `aad` other than the one it was sealed with.
    pub fn open(&self, sealed: &SealedSecret, aad: &SecretAad) -> Result<SecretValue, SecretError> {
        let aad_bytes = aad.encode();
        let mut plaintext = Zeroizing::new(
            self.aead
                .decrypt(
                    XNonce::from_slice(&sealed.nonce),
                    Payload {
                        msg: &sealed.ciphertext,
                        aad: &aad_bytes,
                    },
                )
                .map_err(|_| SecretError::Decrypt)?,
        );
        // Move the buffer out (no copy) so the String below owns the only plaintext bytes.
        let bytes = std::mem::take(&mut *plaintext);
        match String::from_utf8(bytes) {
            Ok(text) => Ok(SecretValue::from_opened(Zeroizing::new(text))),
            Err(e) => {
                // Authenticated but not UTF-8: only we seal, so this is a bug, not an attack.
                // The bytes are still plaintext: wipe them.
                drop(Zeroizing::new(e.into_bytes()));
                Err(SecretError::Format {
                    reason: "decrypted secret is not UTF-8",
                })
            }
        }
    }
}

impl fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretCipher(<redacted>)")
    }
}

/// The record a secret belongs to, bound into its ciphertext as associated data.
///
/// Encoded unambiguously (domain tag, then each field length-prefixed, scope tagged), so no two
/// distinct (owner, scope, name) triples share an encoding: a sealed secret copied into another
/// owner's, workflow's or name's record fails to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretAad {
    owner: String,
    scope: SecretScope,
    name: SecretName,
}

impl SecretAad {
    /// Describes the record. `owner` is ASCII-lowercased, because EVM addresses arrive both
    /// checksummed and lowercase and one owner must not lock themselves out by casing.
    pub fn new(owner: &str, scope: SecretScope, name: SecretName) -> Self {
        Self {
            owner: owner.to_ascii_lowercase(),
            scope,
            name,
        }
    }

    /// The associated-data bytes: `domain || lp(owner) || scope || lp(name)` where `lp` is a
    /// big-endian u64 length then the bytes, and scope is `0x00` (user) or `0x01 || lp(id)`.
    fn encode(&self) -> Vec<u8> {
        fn lp(out: &mut Vec<u8>, field: &[u8]) {
            // usize -> u64 is lossless on every platform Rust supports.
            out.extend_from_slice(&(field.len() as u64).to_be_bytes());
            out.extend_from_slice(field);
        }
        let mut out = Vec::with_capacity(AAD_DOMAIN.len() + 64 + self.owner.len());
        out.extend_from_slice(AAD_DOMAIN);
        lp(&mut out, self.owner.as_bytes());
        match &self.scope {
            SecretScope::User => out.push(0),
            SecretScope::Workflow { workflow_id } => {
                out.push(1);
                lp(&mut out, workflow_id.as_bytes());
            }
        }
        lp(&mut out, self.name.as_str().as_bytes());
        out
    }
}

/// An encrypted secret as stored: nonce and ciphertext-with-tag. Not secret itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedSecret {
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
}

impl SealedSecret {
    /// Smallest valid encoding: version, nonce, and the tag of an empty value.
    const MIN_LEN: usize = 1 + NONCE_LEN + TAG_LEN;

    /// Storage encoding: `SEALED_FORMAT_V1 || nonce || ciphertext || tag`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + NONCE_LEN + self.ciphertext.len());
        out.push(SEALED_FORMAT_V1);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Parses [`SealedSecret::to_bytes`] output, refusing unknown versions and short input.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SecretError> {
        let Some((&version, rest)) = bytes.split_first() else {
            return Err(SecretError::Truncated {
                len: 0,
                min: Self::MIN_LEN,
            });
        };
        if version != SEALED_FORMAT_V1 {
            return Err(SecretError::UnknownVersion { version });
        }
        if bytes.len() < Self::MIN_LEN {
            return Err(SecretError::Truncated {
                len: bytes.len(),
                min: Self::MIN_LEN,
            });
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SecretError::Format {
            reason: "nonce length",
        })?;
        Ok(Self {
            nonce,
            ciphertext: ciphertext.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: &str = "0xAbC0000000000000000000000000000000000001";

    fn cipher(seed: u8) -> SecretCipher {
        SecretCipher::new(SecretKey::from_bytes([seed; 32]))
    }
    fn name(n: &str) -> SecretName {
        SecretName::parse(n).unwrap()
    }
    fn wf(id: &str) -> SecretScope {
        SecretScope::Workflow {
            workflow_id: id.into(),
        }
    }
    fn value(v: &str) -> SecretValue {
        SecretValue::new(v.into()).unwrap()
    }

    #[test]
    fn seal_open_round_trip_through_bytes() {
        let c = cipher(7);
        let aad = SecretAad::new(OWNER, wf("wf-1"), name("API_KEY"));
        for v in ["sk_live_123", "", "ünïcødé 🔑", &"x".repeat(MAX_LEN)] {
            let sealed = c.seal(&value(v), &aad).unwrap();
            let stored = sealed.to_bytes();
            assert_eq!(stored[0], SEALED_FORMAT_V1);
            if !v.is_empty() {
                assert!(!stored.windows(v.len()).any(|w| w == v.as_bytes()));
            }
            let back = SealedSecret::from_bytes(&stored).unwrap();
            assert_eq!(back, sealed);
            assert_eq!(c.open(&back, &aad).unwrap().expose(), v);
        }
    }
    const MAX_LEN: usize = crate::secrets::MAX_SECRET_VALUE_LEN;

    #[test]
    fn wrong_key_fails_with_decrypt() {
        let aad = SecretAad::new(OWNER, SecretScope::User, name("K"));
        let sealed = cipher(1).seal(&value("secret"), &aad).unwrap();
        assert!(matches!(
            cipher(2).open(&sealed, &aad),
            Err(SecretError::Decrypt)
        ));
    }

    #[test]
    fn every_flipped_bit_fails() {
        let c = cipher(3);
        let aad = SecretAad::new(OWNER, SecretScope::User, name("K"));
        let bytes = c.seal(&value("abc"), &aad).unwrap().to_bytes();
        // Skip the version byte: flipping it is an UnknownVersion, tested separately.
        for i in 1..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                let s = SealedSecret::from_bytes(&b).unwrap();
                assert!(
                    matches!(c.open(&s, &aad), Err(SecretError::Decrypt)),
                    "byte {i} bit {bit}"
                );
            }
        }
    }

    #[test]
    fn moved_to_other_owner_scope_or_name_fails() {
        let c = cipher(4);
        let aad = SecretAad::new(OWNER, wf("wf-1"), name("API_KEY"));
        let sealed = c.seal(&value("secret"), &aad).unwrap();
        let others = [
            SecretAad::new(
                "0xabc0000000000000000000000000000000000002",
                wf("wf-1"),
                name("API_KEY"),
            ),
            SecretAad::new(OWNER, wf("wf-2"), name("API_KEY")),
            SecretAad::new(OWNER, SecretScope::User, name("API_KEY")),
            SecretAad::new(OWNER, wf("wf-1"), name("API_KEY2")),
            SecretAad::new(OWNER, wf("wf-1"), name("api_key")),
        ];
        for other in &others {
            assert!(
                matches!(c.open(&sealed, other), Err(SecretError::Decrypt)),
                "{other:?}"
            );
        }
        // Same owner in another casing is the same owner.
        let lower = SecretAad::new(&OWNER.to_lowercase(), wf("wf-1"), name("API_KEY"));
        assert_eq!(c.open(&sealed, &lower).unwrap().expose(), "secret");
    }

    #[test]
    fn aad_encoding_is_unambiguous_at_field_boundaries() {
        // Shifting characters between adjacent fields must change the encoding.
        let a = SecretAad::new("ab", wf("c"), name("D"));
        let b = SecretAad::new("a", wf("bc"), name("D"));
        let c = SecretAad::new("ab", wf("cD"), name("E"));
        let d = SecretAad::new("ab", wf(""), name("D"));
        let e = SecretAad::new("ab", SecretScope::User, name("D"));
        let all = [a.encode(), b.encode(), c.encode(), d.encode(), e.encode()];
        for i in 0..all.len() {
            for j in i + 1..all.len() {
                assert_ne!(all[i], all[j], "{i} vs {j}");
            }
        }
    }

    #[test]
    fn two_seals_of_one_value_differ() {
        let c = cipher(5);
        let aad = SecretAad::new(OWNER, SecretScope::User, name("K"));
        let v = value("same value");
        let a = c.seal(&v, &aad).unwrap();
        let b = c.seal(&v, &aad).unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.to_bytes(), b.to_bytes());
    }

    #[test]
    fn from_bytes_refuses_truncated_and_unknown_versions() {
        let c = cipher(6);
        let aad = SecretAad::new(OWNER, SecretScope::User, name("K"));
        let bytes = c.seal(&value(""), &aad).unwrap().to_bytes();
        assert_eq!(bytes.len(), SealedSecret::MIN_LEN);
        assert!(matches!(
            SealedSecret::from_bytes(&[]),
            Err(SecretError::Truncated { len: 0, .. })
        ));
        for len in 1..bytes.len() {
            assert!(matches!(
                SealedSecret::from_bytes(&bytes[..len]),
                Err(SecretError::Truncated { .. })
            ));
        }
        for version in [0u8, 2, 0xff] {
            let mut b = bytes.clone();
            b[0] = version;
            assert!(matches!(
                SealedSecret::from_bytes(&b),
                Err(SecretError::UnknownVersion { version: v }) if v == version
            ));
        }
        // A valid sealed secret with its last byte cut parses but fails to open.
        let full = c.seal(&value("abcdef"), &aad).unwrap().to_bytes();
        let cut = SealedSecret::from_bytes(&full[..full.len() - 1]).unwrap();
        assert!(matches!(c.open(&cut, &aad), Err(SecretError::Decrypt)));
    }

    #[test]
    fn cipher_debug_is_redacted() {
        assert_eq!(format!("{:?}", cipher(9)), "SecretCipher(<redacted>)");
    }
}
