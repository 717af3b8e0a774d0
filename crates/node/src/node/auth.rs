//! Caller identification: a wallet JWT (`authorization: Bearer <jwt>`, role client, named by
//! its address) or an API key with a role (`x-api-key`, or `authorization: Bearer <key>`).
//! With no API keys configured (dev mode) a caller without credentials is the admin `dev`;
//! credentials that are sent are always checked.

use super::secret::Secret;
use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;
use tonic::metadata::MetadataMap;

use crate::node::error::NodeError;
use crate::node::record::TaskRecord;
use crate::node::wallet::WalletAuth;

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, on every task.
    Admin,
    /// Create tasks and read or cancel its own.
    Client,
    /// Read every task; change nothing.
    Readonly,
}

/// One configured API key.
#[derive(Clone, Debug, Deserialize)]
pub struct ApiKey {
    /// Who holds it: the creator name of its tasks.
    pub name: String,
    /// The secret sent by the caller.
    pub key: Secret,
    /// What it may do.
    pub role: Role,
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// Name (creator of its tasks).
    pub name: String,
    /// Role.
    pub role: Role,
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

/// Checks callers' keys.
#[derive(Clone, Default)]
pub struct Authenticator {
    keys: HashMap<String, Caller>,
    wallet: Option<Arc<WalletAuth>>,
}

impl Authenticator {
    /// From the configured keys; none means authentication is off (dev).
    pub fn new(keys: &[ApiKey]) -> Self {
        let keys = keys
            .iter()
            .map(|k| {
                let caller = Caller {
                    name: k.name.clone(),
                    role: k.role,
                };
                (k.key.expose().to_string(), caller)
            })
            .collect();
        Self { keys, wallet: None }
    }

    /// Also accepts wallet JWTs checked by `wallet`.
    pub fn with_wallet(mut self, wallet: Arc<WalletAuth>) -> Self {
        self.wallet = Some(wallet);
        self
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
                name: claims.sub,
                role: Role::Client,
            });
        }
        if self.keys.is_empty() && bearer.is_none() && metadata.get("x-api-key").is_none() {
            return Ok(Caller {
                name: "dev".into(),
                role: Role::Admin,
            });
        }
        let key = metadata
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| {
                metadata
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .map(str::to_string)
            })
            .ok_or_else(|| NodeError::Unauthenticated("no API key sent (x-api-key)".into()))?;
        self.keys
            .get(&key)
            .cloned()
            .ok_or_else(|| NodeError::Unauthenticated("unknown API key".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_roles_and_missing_credentials() {
        let auth = Authenticator::new(&[
            ApiKey {
                name: "ops".into(),
                key: "k1".into(),
                role: Role::Readonly,
            },
            ApiKey {
                name: "alice".into(),
                key: "k2".into(),
                role: Role::Client,
            },
        ]);
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
}
