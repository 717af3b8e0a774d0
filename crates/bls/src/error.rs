//! Typed errors of key handling. Point decoding uses [`quorate_domain::PointDecodingError`].

use thiserror::Error;

/// Why a secret key was refused. Never echoes the secret (or any part of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum KeyError {
    /// The string was empty (or only whitespace, or only a `0x` prefix).
    #[error("secret key string is empty")]
    Empty,
    /// A character is not a digit of the string's base (decimal, or hex after `0x`).
    #[error("secret key is not a decimal or 0x-hex number (bad character at position {position})")]
    NotANumber {
        /// Byte offset of the first offending character in the string.
        position: usize,
    },
    /// Zero is not a valid secret key.
    #[error("secret key must not be zero")]
    Zero,
    /// The value is not below the group order r.
    #[error("secret key is not below the BN254 group order r")]
    OutOfRange,
}
