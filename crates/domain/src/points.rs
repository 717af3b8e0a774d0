//! Curve points in the form the EigenLayer contracts take them (`BN254.G1Point`, `G2Point`).
//!
//! These are plain coordinates, not checked points: a signature scheme decodes them (with its
//! own curve and subgroup checks) before doing any arithmetic.

use alloy_primitives::U256;
use serde::{Deserialize, Serialize};

/// `BN254.G1Point { X, Y }`. The point at infinity is (0, 0), as in Solidity.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
pub struct G1Point {
    /// X coordinate.
    pub x: U256,
    /// Y coordinate.
    pub y: U256,
}

/// `BN254.G2Point { X[2], Y[2] }` with the imaginary part first: `X = [x.c1, x.c0]`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
pub struct G2Point {
    /// `[x.c1, x.c0]`.
    pub x: [U256; 2],
    /// `[y.c1, y.c0]`.
    pub y: [U256; 2],
}

impl G1Point {
    /// The 64-byte big-endian ABI encoding `X ‖ Y`.
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.x.to_be_bytes::<32>());
        out[32..].copy_from_slice(&self.y.to_be_bytes::<32>());
        out
    }

    /// Reads the 64-byte ABI encoding; coordinates are not range-checked here.
    pub fn from_bytes(bytes: &[u8; 64]) -> Self {
        Self {
            x: U256::from_be_slice(&bytes[..32]),
            y: U256::from_be_slice(&bytes[32..]),
        }
    }
}

/// The digest an operator signs to prove it holds the secret of its G1 key:
/// `keccak256("QUORATE_BLS_POP_V1" ‖ X ‖ Y)`. Checked with the γ-trick pairing
/// (`SignatureScheme::check_aggregate` with the key pair as the apks), which is how
/// `BLSApkRegistry` checks a registration: it proves the G1 and G2 keys share one secret *and*
/// that the registrant knows it, so a rogue key `pk − Σ others` cannot be registered.
pub fn proof_of_possession_digest(key: &G1Point) -> crate::ResponseDigest {
    let mut bytes = Vec::with_capacity(18 + 64);
    bytes.extend_from_slice(b"QUORATE_BLS_POP_V1");
    bytes.extend_from_slice(&key.to_bytes());
    crate::ResponseDigest::new(alloy_primitives::keccak256(&bytes).0)
}

impl G2Point {
    /// The 128-byte big-endian ABI encoding `X[0] ‖ X[1] ‖ Y[0] ‖ Y[1]`.
    pub fn to_bytes(&self) -> [u8; 128] {
        let mut out = [0u8; 128];
        for (i, word) in self.x.iter().chain(self.y.iter()).enumerate() {
            out[i * 32..(i + 1) * 32].copy_from_slice(&word.to_be_bytes::<32>());
        }
        out
    }

    /// Reads the 128-byte ABI encoding; coordinates are not range-checked here.
    pub fn from_bytes(bytes: &[u8; 128]) -> Self {
        let word = |i: usize| U256::from_be_slice(&bytes[i * 32..(i + 1) * 32]);
        Self {
            x: [word(0), word(1)],
            y: [word(2), word(3)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_round_trips() {
        let g1 = G1Point {
            x: U256::from(5u8),
            y: U256::MAX,
        };
        let b = g1.to_bytes();
        assert_eq!(b[31], 5);
        assert_eq!(G1Point::from_bytes(&b), g1);
        let g2 = G2Point {
            x: [U256::from(1u8), U256::from(2u8)],
            y: [U256::from(3u8), U256::from(4u8)],
        };
        let b = g2.to_bytes();
        assert_eq!((b[31], b[63], b[95], b[127]), (1, 2, 3, 4));
        assert_eq!(G2Point::from_bytes(&b), g2);
    }
}
