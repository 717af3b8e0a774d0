//! BN254 BLS signatures with EigenLayer's exact conventions (hash-to-G1, encodings, operator ids).

#[cfg(feature = "fake")]
pub mod fake;
