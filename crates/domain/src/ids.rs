//! Identifiers: tasks, operators, quorums, blocks and response digests.

use std::fmt;

use alloy_primitives::B256;
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// A block number on the chain the AVS lives on.
pub type BlockNumber = u64;

/// Stake (EigenLayer weight) of an operator or a quorum, as the contracts store it.
pub type Stake = alloy_primitives::U256;

macro_rules! bytes32_id {
    ($(#[$doc:meta])* $name:ident, $what:literal, $zero_err:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(B256);

        impl $name {
            /// Wraps 32 bytes, rejecting the all-zero value, which the contracts never produce.
            pub fn new(bytes: [u8; 32]) -> Result<Self, ValidationError> {
                if bytes == [0u8; 32] {
                    return Err(ValidationError::$zero_err);
                }
                Ok(Self(B256::from(bytes)))
            }

            /// Parses a 0x-prefixed (or bare) 64-digit hex string.
            pub fn from_hex(s: &str) -> Result<Self, ValidationError> {
                let digits = s.strip_prefix("0x").unwrap_or(s);
                let mut out = [0u8; 32];
                hex::decode_to_slice(digits, &mut out).map_err(|e| ValidationError::BadHex {
                    what: $what,
                    reason: e.to_string(),
                })?;
                Self::new(out)
            }

            /// The 32 raw bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0 .0
            }

            /// The value as an alloy `B256`.
            pub fn to_b256(self) -> B256 {
                self.0
            }
        }

        impl TryFrom<B256> for $name {
            type Error = ValidationError;
            fn try_from(value: B256) -> Result<Self, ValidationError> {
                Self::new(value.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "0x{}", hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }
    };
}

bytes32_id!(
    /// A task's id: 32 bytes, never zero. Small integer ids (as eigensdk's `TaskIndex`)
    /// convert big-endian into the low bytes.
    TaskId,
    "task id",
    ZeroTaskId
);

bytes32_id!(
    /// An operator's id: keccak256 of its G1 public key's (X, Y), as `BLSApkRegistry` computes it.
    OperatorId,
    "operator id",
    ZeroOperatorId
);

impl OperatorId {
    /// An operator id from keccak256 of a key. A zero hash cannot occur in practice (and would
    /// be refused on chain); it maps to 0x…01 so this constructor never fails or panics.
    pub fn from_key_hash(hash: [u8; 32]) -> Self {
        let mut bytes = hash;
        if bytes == [0u8; 32] {
            bytes[31] = 1;
        }
        Self(B256::from(bytes))
    }
}

impl TaskId {
    /// Builds a task id from a non-zero integer, big-endian in the low bytes.
    pub fn from_index(index: u64) -> Result<Self, ValidationError> {
        let mut out = [0u8; 32];
        out[24..].copy_from_slice(&index.to_be_bytes());
        Self::new(out)
    }
}

// `From` cannot fail, so index 0 (the only rejected integer) maps to the id 2^256-1 instead of
// panicking. Use `TaskId::from_index` to have zero rejected.
impl From<u64> for TaskId {
    fn from(index: u64) -> Self {
        Self::from_index(index).unwrap_or(Self(B256::repeat_byte(0xff)))
    }
}

impl From<u32> for TaskId {
    fn from(index: u32) -> Self {
        Self::from(u64::from(index))
    }
}

/// A quorum number (0..=191 on chain; the registry coordinator's bitmap is 192 bits wide).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub struct QuorumNumber(pub u8);

impl QuorumNumber {
    /// The largest quorum number the registry coordinator accepts.
    pub const MAX: u8 = 191;
}

impl fmt::Display for QuorumNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The 32-byte digest of a task response: the message that operators sign (`msgHash` on chain).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResponseDigest(pub B256);

impl ResponseDigest {
    /// Wraps 32 bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(B256::from(bytes))
    }

    /// The 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0 .0
    }
}

impl fmt::Display for ResponseDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for ResponseDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResponseDigest({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_ids_are_rejected() {
        assert_eq!(TaskId::new([0; 32]), Err(ValidationError::ZeroTaskId));
        assert_eq!(
            OperatorId::new([0; 32]),
            Err(ValidationError::ZeroOperatorId)
        );
        assert_eq!(TaskId::from_index(0), Err(ValidationError::ZeroTaskId));
    }

    #[test]
    fn integer_task_ids_are_big_endian_in_the_low_bytes() {
        let id = TaskId::from(0x0102_0304u32);
        assert_eq!(&id.as_bytes()[28..], &[1, 2, 3, 4]);
        assert_eq!(&id.as_bytes()[..28], &[0; 28]);
        assert_eq!(TaskId::from(7u64), TaskId::from(7u32));
        assert_ne!(TaskId::from(0u64).as_bytes(), &[0; 32]);
    }

    #[test]
    fn hex_round_trip_and_errors() {
        let id = OperatorId::from_hex(&format!("0x{}", "ab".repeat(32))).unwrap();
        assert_eq!(OperatorId::from_hex(&id.to_string()).unwrap(), id);
        assert!(matches!(
            OperatorId::from_hex("0x12"),
            Err(ValidationError::BadHex {
                what: "operator id",
                ..
            })
        ));
        assert!(matches!(
            TaskId::from_hex(&"00".repeat(32)),
            Err(ValidationError::ZeroTaskId)
        ));
    }
}
