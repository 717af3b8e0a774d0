//! Workflow secrets, encrypted at rest.
//!
//! Workflow owners store secrets (API keys, tokens…) that steps reference as
//! `{{secrets.NAME}}`. A secret is scoped to its owner ([`SecretScope::User`]) or to one of the
//! owner's workflows ([`SecretScope::Workflow`]). At rest it is a [`SealedSecret`]:
//! XChaCha20-Poly1305 under the node's [`SecretKey`], with a random 24-byte nonce and the
//! (owner, scope, name) triple bound as associated data ([`SecretAad`]), so a sealed record copied
//! into another owner's, workflow's or name's slot fails to open instead of leaking.
//!
//! Plaintext only exists as a [`SecretValue`], which has no `Serialize` impl, prints as
//! `<redacted>` and is zeroized on drop. Anything an execution stores or logs passes through a
//! [`Redactor`] built from the secrets that execution used.

mod cipher;
mod key;
mod name;
mod redact;
mod value;

pub use cipher::{SealedSecret, SecretAad, SecretCipher, SEALED_FORMAT_V1};
pub use key::{SecretKey, SECRET_KEY_LEN};
pub use name::{SecretName, SecretScope, MAX_SECRET_NAME_LEN};
pub use redact::{Redactor, REDACTION};
pub use value::{SecretValue, MAX_SECRET_VALUE_LEN};

use std::path::PathBuf;

/// Everything that can go wrong with secrets.
///
/// No variant ever carries key material or a secret value: these errors end up in logs and API
/// responses.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum SecretError {
    /// A secret name is not `[A-Za-z0-9_]{1,64}`.
    #[error("invalid secret name '{name}': {reason}")]
    BadName {
        /// The rejected name (names are not secret; long names are cut to 80 chars).
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A secret value is larger than [`MAX_SECRET_VALUE_LEN`].
    #[error("secret value is {len} bytes, more than the maximum of {max} bytes")]
    ValueTooLarge {
        /// Size of the rejected value in bytes.
        len: usize,
        /// The limit, [`MAX_SECRET_VALUE_LEN`].
        max: usize,
    },
    /// The key file could not be used.
    #[error("secret key file {}: {reason}", path.display())]
    KeyFile {
        /// Path of the key file.
        path: PathBuf,
        /// What is wrong with it (never its contents).
        reason: String,
    },
    /// The key environment variable could not be used.
    #[error("secret key environment variable {var}: {reason}")]
    KeyEnv {
        /// Name of the variable.
        var: String,
        /// What is wrong with it (never its contents).
        reason: String,
    },
    /// The operating system's random number generator failed.
    #[error("operating system random number generator failed")]
    Rng,
    /// Encryption failed (only possible for absurdly large inputs).
    #[error("secret encryption failed")]
    Encrypt,
    /// Authenticated decryption failed: wrong key, tampered ciphertext, or a record opened with
    /// another owner/scope/name than it was sealed for. Deliberately carries no detail.
    #[error("secret decryption failed")]
    Decrypt,
    /// A sealed secret is shorter than the fixed header and tag.
    #[error("sealed secret is truncated: {len} bytes, at least {min} needed")]
    Truncated {
        /// Length of the input.
        len: usize,
        /// Minimum length of a well-formed sealed secret.
        min: usize,
    },
    /// A sealed secret starts with a format version this build does not know.
    #[error("sealed secret has unknown format version {version}")]
    UnknownVersion {
        /// The leading version byte found.
        version: u8,
    },
    /// Malformed data that is not covered by a more specific variant.
    #[error("malformed secret data: {reason}")]
    Format {
        /// What is malformed.
        reason: &'static str,
    },
}

/// The secrets opened for one execution, by name: the owner's, overlaid by the workflow's.
pub type SecretSet = std::collections::BTreeMap<SecretName, SecretValue>;
