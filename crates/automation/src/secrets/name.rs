//! Secret names and scopes.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::SecretError;

/// Longest accepted secret name, in characters (all ASCII, so also bytes). Long enough for
/// descriptive names like `COINGECKO_API_KEY_PRODUCTION`, short enough to keep storage keys and
/// error messages bounded.
pub const MAX_SECRET_NAME_LEN: usize = 64;

/// How much of a rejected name an error repeats; a pasted value in the name field must not be
/// copied into logs in full.
const NAME_ECHO_LEN: usize = 80;

/// A validated secret name: `[A-Za-z0-9_]`, 1 to [`MAX_SECRET_NAME_LEN`] characters.
///
/// The charset keeps `{{secrets.NAME}}` references unambiguous to parse and names safe to use in
/// storage keys and logs. Names are case-sensitive. Serde validates on deserialization.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SecretName(String);

impl SecretName {
    /// Validates a name.
    pub fn parse(name: &str) -> Result<Self, SecretError> {
        let reason = if name.is_empty() {
            Some("must not be empty")
        } else if name.len() > MAX_SECRET_NAME_LEN {
            Some("must be at most 64 characters")
        } else if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            Some("may contain only ASCII letters, digits and '_'")
        } else {
            None
        };
        match reason {
            None => Ok(Self(name.to_owned())),
            Some(reason) => Err(SecretError::BadName {
                name: name.chars().take(NAME_ECHO_LEN).collect(),
                reason,
            }),
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SecretName {
    type Error = SecretError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<SecretName> for String {
    fn from(name: SecretName) -> Self {
        name.0
    }
}

impl fmt::Display for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretName({:?})", self.0)
    }
}

/// Who a secret belongs to below its owner.
///
/// Serialized internally tagged: `{"kind":"user"}`, `{"kind":"workflow","workflow_id":"…"}`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SecretScope {
    /// Usable by every workflow of the owner.
    User,
    /// Usable only by one workflow of the owner; shadows a user secret of the same name.
    Workflow {
        /// The workflow's id.
        workflow_id: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Regex-free oracle, written independently of `parse`.
    fn oracle(s: &str) -> bool {
        let n = s.chars().count();
        (1..=64).contains(&n)
            && s.chars()
                .all(|c| matches!(c, 'a'..='z' | 'A'..='Z' | '0'..='9' | '_'))
    }

    #[test]
    fn name_examples() {
        for ok in [
            "A",
            "api_key",
            "COINGECKO_API_KEY",
            "_",
            "0",
            &"x".repeat(64),
        ] {
            assert_eq!(SecretName::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "a-b",
            "a.b",
            "a b",
            "é",
            "a\n",
            &"x".repeat(65),
            "{{x}}",
        ] {
            assert!(matches!(
                SecretName::parse(bad),
                Err(SecretError::BadName { .. })
            ));
        }
    }

    #[test]
    fn bad_name_error_is_bounded() {
        let long = "y".repeat(10_000);
        let msg = SecretName::parse(&long).unwrap_err().to_string();
        assert!(msg.len() < 200, "{msg}");
    }

    #[test]
    fn name_serde_validates() {
        let n: SecretName = serde_json::from_str("\"API_KEY\"").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"API_KEY\"");
        assert!(serde_json::from_str::<SecretName>("\"a-b\"").is_err());
    }

    #[test]
    fn scope_serde_shape() {
        let s = SecretScope::Workflow {
            workflow_id: "wf1".into(),
        };
        let j = serde_json::to_string(&s).unwrap();
        assert_eq!(j, r#"{"kind":"workflow","workflow_id":"wf1"}"#);
        assert_eq!(serde_json::from_str::<SecretScope>(&j).unwrap(), s);
        assert_eq!(
            serde_json::to_string(&SecretScope::User).unwrap(),
            r#"{"kind":"user"}"#
        );
    }

    proptest! {
        #[test]
        fn name_matches_oracle_arbitrary(s in any::<String>()) {
            prop_assert_eq!(SecretName::parse(&s).is_ok(), oracle(&s));
        }

        #[test]
        fn name_matches_oracle_near_valid(s in "[A-Za-z0-9_.\\- é]{0,70}") {
            prop_assert_eq!(SecretName::parse(&s).is_ok(), oracle(&s));
        }
    }
}
