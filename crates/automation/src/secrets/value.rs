//! Plaintext secret values.

use std::fmt;

use zeroize::Zeroizing;

use super::SecretError;

/// Largest accepted secret value in bytes. API keys and tokens are far smaller; the cap bounds
/// storage per secret and the work of redaction, which scans every stored text for every value.
pub const MAX_SECRET_VALUE_LEN: usize = 4096;

/// A plaintext secret value.
///
/// Zeroized on drop (clones too). `Debug` and `Display` print `<redacted>`, and there is
/// deliberately no `Serialize` impl, so a value cannot reach an API response or a log through
/// derive-based formatting; the only way to the text is the explicit [`SecretValue::expose`].
#[derive(Clone)]
pub struct SecretValue(Zeroizing<String>);

impl SecretValue {
    /// Takes ownership of a value, refusing one larger than [`MAX_SECRET_VALUE_LEN`] bytes. The
    /// string is zeroized whether or not it is accepted.
    pub fn new(value: String) -> Result<Self, SecretError> {
        let value = Zeroizing::new(value);
        if value.len() > MAX_SECRET_VALUE_LEN {
            return Err(SecretError::ValueTooLarge {
                len: value.len(),
                max: MAX_SECRET_VALUE_LEN,
            });
        }
        Ok(Self(value))
    }

    /// Wraps a decrypted value without the size check: a value sealed under a larger limit must
    /// still open after the limit shrinks.
    pub(super) fn from_opened(value: Zeroizing<String>) -> Self {
        Self(value)
    }

    /// The plaintext. Call only where the value is used (substitution into a request, redaction).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length in bytes; not secret enough to hide, and lets callers budget without exposing.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_value() {
        let v = SecretValue::new("sk_live_hunter2hunter2".into()).unwrap();
        for shown in [
            format!("{v}"),
            format!("{v:?}"),
            format!("{v:#?}"),
            format!("{:?}", Some(&v)),
        ] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("<redacted>"));
        }
        assert_eq!(v.expose(), "sk_live_hunter2hunter2");
    }

    #[test]
    fn size_limit() {
        assert!(SecretValue::new("a".repeat(MAX_SECRET_VALUE_LEN)).is_ok());
        let err = SecretValue::new("a".repeat(MAX_SECRET_VALUE_LEN + 1)).unwrap_err();
        assert!(matches!(
            err,
            SecretError::ValueTooLarge {
                len: 4097,
                max: 4096
            }
        ));
        assert!(!err.to_string().contains("aaaa"));
    }
}
