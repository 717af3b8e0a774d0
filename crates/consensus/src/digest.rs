//! The two digests of a document: keccak256 of its codec encoding without attestations (the
//! consensus digest, which operators sign) and with them (the full digest).

use quorate_domain::ResponseDigest;
use serde::Serialize;
use serde_json::Value;
use sha3::{Digest, Keccak256};

use crate::codec::Codec;
use crate::error::CodecError;
use crate::path::AttestationPaths;

/// keccak256 of bytes (Ethereum's, not NIST SHA3-256).
pub fn keccak256(bytes: &[u8]) -> [u8; 32] {
    Keccak256::digest(bytes).into()
}

/// The consensus digest and the full digest of one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Digests {
    /// Over the encoding with attestation subtrees removed.
    pub consensus: ResponseDigest,
    /// Over the encoding of the whole document.
    pub full: ResponseDigest,
}

/// Both digests of `doc` under `codec`.
pub fn digests<C: Codec + ?Sized>(
    doc: &Value,
    attestations: &AttestationPaths,
    codec: &C,
) -> Result<Digests, CodecError> {
    Ok(Digests {
        consensus: consensus_digest(doc, attestations, codec)?,
        full: full_digest(doc, codec)?,
    })
}

/// keccak256 of the encoding of `doc` with its attestation subtrees removed.
pub fn consensus_digest<C: Codec + ?Sized>(
    doc: &Value,
    attestations: &AttestationPaths,
    codec: &C,
) -> Result<ResponseDigest, CodecError> {
    let stripped = attestations.strip(doc)?;
    Ok(ResponseDigest::new(keccak256(&codec.encode(&stripped)?)))
}

/// keccak256 of the encoding of the whole of `doc`.
pub fn full_digest<C: Codec + ?Sized>(
    doc: &Value,
    codec: &C,
) -> Result<ResponseDigest, CodecError> {
    Ok(ResponseDigest::new(keccak256(&codec.encode(doc)?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::CanonicalJson;

    #[test]
    fn keccak_of_empty_is_ethereums() {
        assert_eq!(
            hex_str(&keccak256(b"")),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }

    fn hex_str(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn attestation_changes_only_the_full_digest() {
        let att = AttestationPaths::default();
        let a = serde_json::json!({"p": 1, "attestation": "x"});
        let b = serde_json::json!({"p": 1, "attestation": "y"});
        let (da, db) = (
            digests(&a, &att, &CanonicalJson).unwrap(),
            digests(&b, &att, &CanonicalJson).unwrap(),
        );
        assert_eq!(da.consensus, db.consensus);
        assert_ne!(da.full, db.full);
        let plain = serde_json::json!({"p": 1});
        assert_eq!(da.consensus, full_digest(&plain, &CanonicalJson).unwrap());
    }
}
