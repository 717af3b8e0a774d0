//! Caller identification: a wallet JWT (`authorization: Bearer <jwt>`, role client, named by
//! its address) or an API key with a role (`x-api-key`, or `authorization: Bearer <key>`).
//! API keys are kept only as SHA-256 hashes and compared in constant time. A caller without
//! credentials is refused, except on a `--dev` node bound to loopback with no client
//! authentication configured, where it is the admin `dev`; credentials that are sent are
//! always checked.

use crate::secret::Secret;
use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tonic::metadata::MetadataMap;

use crate::error::NodeError;
use crate::record::TaskRecord;
use crate::wallet::WalletAuth;

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, on every task.
    Admin,
    /// Create tasks and read or cancel its own.
    Client,
    /// Read every task; change nothing.
    Readonly,
}

/// One configured API key: the key itself (hashed when loaded, then dropped) or its SHA-256.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    /// Who holds it: the creator name of its tasks.
    pub name: String,
    /// The secret sent by the caller (hashed at start; prefer `key_sha256` in files).
    #[serde(default)]
    pub key: Option<Secret>,
    /// SHA-256 of the key, 64 hex digits: the file then holds no usable secret.
    #[serde(default)]
    pub key_sha256: Option<String>,
    /// What it may do.
    pub role: Role,
    /// The holder's Ethereum address: the owner of its smart wallets (a wallet sign-in's
    /// address plays this part for wallet callers). Without one, wallet calls are refused.
    #[serde(default)]
    pub address: Option<alloy_primitives::Address>,
}

impl ApiKey {
    /// The key's SHA-256, from whichever of `key` / `key_sha256` is given (exactly one).
    pub fn hash(&self) -> Result<[u8; 32], NodeError> {
        let bad = |why: &str| NodeError::InvalidArgument(format!("API key {}: {why}", self.name));
        match (&self.key, &self.key_sha256) {
            (Some(key), None) => Ok(sha256(key.expose().as_bytes())),
            (None, Some(hex_hash)) => {
                let bytes = hex::decode(hex_hash.trim_start_matches("0x"))
                    .map_err(|_| bad("key_sha256 is not hex"))?;
                bytes
                    .try_into()
                    .map_err(|_| bad("key_sha256 must be 32 bytes (64 hex digits)"))
            }
            _ => Err(bad("give exactly one of key and key_sha256")),
        }
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// Name (creator of its tasks).
    pub name: String,
    /// Role.
    pub role: Role,
    /// The caller's Ethereum address, owner of its smart wallets: a wallet sign-in's address,
    /// or an API key's `address`.
    pub address: Option<alloy_primitives::Address>,
}
impl Caller {
    /// Whether it may read the task.
    pub fn can_read(&self, task: &TaskRecord) -> bool {
        matches!(self.role, Role::Admin | Role::Readonly) || task.creator == self.name
    }

    /// Whether it may change (cancel) the task.
    pub fn can_write(&self, task: &TaskRecord) -> bool {
        self.role == Role::Admin || (self.role == Role::Client && task.creator == self.name)
    }

    /// Refuses read-only callers.
    pub fn require_writer(&self) -> Result<(), NodeError> {
        if self.role == Role::Readonly {
            return Err(NodeError::PermissionDenied(format!(
                "API key {} is read-only",
                self.name
            )));
        }
        Ok(())
    }
}

struct KeyEntry {
    hash: [u8; 32],
    caller: Caller,
}

/// Checks callers' keys.
#[derive(Clone, Default)]
pub struct Authenticator {
    keys: Arc<Vec<KeyEntry>>,
    wallet: Option<Arc<WalletAuth>>,
    anonymous_admin: bool,
}

impl Authenticator {
    /// From the configured keys (each hashed; a malformed one is an error). No credentials
    /// is refused unless [`Self::allow_anonymous_admin`] is called.
    pub fn new(keys: &[ApiKey]) -> Result<Self, NodeError> {
        let keys = keys
            .iter()
            .map(|k| {
                Ok(KeyEntry {
                    hash: k.hash()?,
                    caller: Caller {
                        name: k.name.clone(),
                        role: k.role,
                        address: k.address,
                    },
                })
            })
            .collect::<Result<Vec<_>, NodeError>>()?;
        Ok(Self {
            keys: Arc::new(keys),
            wallet: None,
            anonymous_admin: false,
        })
    }

    /// Also accepts wallet JWTs checked by `wallet`.
    pub fn with_wallet(mut self, wallet: Arc<WalletAuth>) -> Self {
        self.wallet = Some(wallet);
        self
    }

    /// Callers without credentials become the admin `dev`: only for a `--dev` node on
    /// loopback without client authentication (the start-up check enforces it).
    pub fn allow_anonymous_admin(mut self) -> Self {
        self.anonymous_admin = true;
        self
    }

    /// The caller whose key hashes to `presented`: every entry is compared in constant time
    /// and none is skipped, so timing tells nothing about which keys exist.
    fn by_key(&self, presented: &str) -> Option<Caller> {
        let hash = sha256(presented.as_bytes());
        let mut found = None;
        for entry in self.keys.iter() {
            if bool::from(entry.hash.ct_eq(&hash)) {
                found = Some(entry.caller.clone());
            }
        }
        found
    }

    /// The caller of a request.
    pub fn caller(&self, metadata: &MetadataMap) -> Result<Caller, NodeError> {
        let bearer = metadata
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if let Some(token) = bearer.filter(|t| t.matches('.').count() == 2) {
            let wallet = self.wallet.as_ref().ok_or_else(|| {
                NodeError::Unauthenticated("wallet tokens are not enabled".into())
            })?;
            let claims = wallet.verify(token)?;
            return Ok(Caller {
                address: claims.sub.parse().ok(),
                name: claims.sub,
                role: Role::Client,
            });
        }
        let api_key = metadata.get("x-api-key");
        if self.anonymous_admin && bearer.is_none() && api_key.is_none() {
            return Ok(Caller {
                name: "dev".into(),
                role: Role::Admin,
                address: None,
            });
        }
        let key = api_key
            .and_then(|v| v.to_str().ok())
            .or(bearer)
            .ok_or_else(|| {
                NodeError::Unauthenticated(
                    "no credentials sent (x-api-key, or authorization: Bearer <wallet JWT>)".into(),
                )
            })?;
        self.by_key(key)
            .ok_or_else(|| NodeError::Unauthenticated("unknown API key".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, key: &str, role: Role) -> ApiKey {
        ApiKey {
            name: name.into(),
            key: Some(key.into()),
            key_sha256: None,
            role,
            address: None,
        }
    }

    #[test]
    fn keys_roles_and_missing_credentials() {
        let auth = Authenticator::new(&[
            key("ops", "k1", Role::Readonly),
            ApiKey {
                name: "alice".into(),
                key: None,
                key_sha256: Some(hex::encode(sha256(b"k2"))),
                role: Role::Client,
                address: None,
            },
        ])
        .unwrap();
        let mut md = MetadataMap::new();
        assert!(matches!(
            auth.caller(&md),
            Err(NodeError::Unauthenticated(_))
        ));
        md.insert("x-api-key", "nope".parse().unwrap());
        assert!(matches!(
            auth.caller(&md),
            Err(NodeError::Unauthenticated(_))
        ));
        md.insert("x-api-key", "k1".parse().unwrap());
        let ops = auth.caller(&md).unwrap();
        assert!(ops.require_writer().is_err());
        let mut md = MetadataMap::new();
        md.insert("authorization", "Bearer k2".parse().unwrap());
        assert_eq!(auth.caller(&md).unwrap().name, "alice");
    }

    #[test]
    fn no_credentials_is_admin_only_when_allowed() {
        let md = MetadataMap::new();
        let closed = Authenticator::new(&[]).unwrap();
        assert!(matches!(
            closed.caller(&md),
            Err(NodeError::Unauthenticated(_))
        ));
        let dev = Authenticator::new(&[]).unwrap().allow_anonymous_admin();
        assert_eq!(dev.caller(&md).unwrap().role, Role::Admin);
        // Credentials that are sent are checked even then.
        let mut md = MetadataMap::new();
        md.insert("x-api-key", "guess".parse().unwrap());
        assert!(dev.caller(&md).is_err());
    }

    #[test]
    fn malformed_key_entries_are_refused() {
        let both = ApiKey {
            key_sha256: Some(hex::encode([0u8; 32])),
            ..key("a", "k", Role::Admin)
        };
        let neither = ApiKey {
            key: None,
            ..key("b", "k", Role::Admin)
        };
        let short = ApiKey {
            key: None,
            key_sha256: Some("abcd".into()),
            ..key("c", "k", Role::Admin)
        };
        for bad in [both, neither, short] {
            assert!(matches!(
                Authenticator::new(&[bad]),
                Err(NodeError::InvalidArgument(_))
            ));
        }
    }
}
