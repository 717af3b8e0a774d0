//! The node's secret vault: seals secrets under the node's key before they are stored, and
//! opens an owner's secrets only for the execution that needs them. Values are never
//! returned by any call, logged or put in an error.

use std::path::Path;
use std::sync::Arc;

use quorate_automation::secrets::{
    SealedSecret, SecretAad, SecretCipher, SecretError, SecretKey, SecretName, SecretScope,
    SecretSet, SecretValue,
};

use crate::error::NodeError;
use crate::record::now_ms;
use crate::state::off_async;
use crate::store::{SecretKey as StoreKey, Store, StoredSecret};

/// Environment variable holding the sealing key itself.
pub const AUTOMATION_KEY_ENV: &str = "QUORATE_AUTOMATION_KEY";

/// Seals, stores and opens secrets.
#[derive(Clone)]
pub(crate) struct SecretVault {
    /// The database.
    store: Store,
    /// `None`: no key configured; every secret call is refused.
    cipher: Option<Arc<SecretCipher>>,
    /// Most secrets per owner.
    max_per_owner: usize,
}

/// Loads the sealing key: the file, else the environment, else (`--dev` only) a key file
/// created beside the database.
pub(crate) fn load_key(
    file: Option<&Path>,
    dev_db: Option<&Path>,
) -> anyhow::Result<Option<SecretKey>> {
    if let Some(path) = file {
        return Ok(Some(SecretKey::from_file(path)?));
    }
    if std::env::var_os(AUTOMATION_KEY_ENV).is_some() {
        return Ok(Some(SecretKey::from_env(AUTOMATION_KEY_ENV)?));
    }
    let Some(db) = dev_db else { return Ok(None) };
    let path = db.with_extension("automation-key");
    if !path.exists() {
        let key = SecretKey::generate()?;
        std::fs::write(&path, key.to_hex().as_bytes())?;
        crate::secret::restrict_to_owner(&path)?;
    }
    Ok(Some(SecretKey::from_file(&path)?))
}

impl SecretVault {
    /// A vault over `store`; without a key every call is refused.
    pub(crate) fn new(store: Store, key: Option<SecretKey>, max_per_owner: usize) -> Self {
        Self {
            store,
            cipher: key.map(|k| Arc::new(SecretCipher::new(k))),
            max_per_owner,
        }
    }

    fn cipher(&self) -> Result<&SecretCipher, NodeError> {
        self.cipher.as_deref().ok_or_else(|| {
            NodeError::FailedPrecondition(
                "this node has no secrets key (automation.secrets_key_file or QUORATE_AUTOMATION_KEY)".into(),
            )
        })
    }

    /// Seals and stores `value`; `exists`: `Some(false)` create only, `Some(true)` update only.
    pub(crate) async fn put(
        &self,
        owner: &str,
        workflow_id: Option<&str>,
        name: &str,
        value: String,
        exists: Option<bool>,
    ) -> Result<u64, NodeError> {
        let parsed = SecretName::parse(name).map_err(secret_error)?;
        let value = SecretValue::new(value).map_err(secret_error)?;
        let aad = SecretAad::new(owner, scope(workflow_id), parsed);
        let sealed = self.cipher()?.seal(&value, &aad).map_err(secret_error)?;
        let stored = StoredSecret {
            sealed: hex::encode(sealed.to_bytes()),
            updated_at: now_ms() / 1000,
        };
        let updated_at = stored.updated_at;
        let (store, owner, workflow_id, key_name, max) = (
            self.store.clone(),
            owner.to_owned(),
            workflow_id.map(str::to_owned),
            name.to_owned(),
            self.max_per_owner,
        );
        let done = off_async(move || {
            let key = StoreKey {
                owner: &owner,
                workflow_id: workflow_id.as_deref(),
                name: &key_name,
            };
            store.put_secret(&key, &stored, exists, max)
        })
        .await?;
        match (done, exists) {
            (true, _) => Ok(updated_at),
            (false, Some(false)) => Err(NodeError::AlreadyExists(format!(
                "secret {name} exists; update it instead"
            ))),
            (false, Some(true)) => Err(NodeError::NotFound(format!("secret {name}"))),
            (false, None) => Err(NodeError::ResourceExhausted(format!(
                "at most {} secrets per owner",
                self.max_per_owner
            ))),
        }
    }

    /// The owner's secrets for one execution: owner-scoped ones, overridden by the
    /// workflow's own of the same name.
    pub(crate) async fn open_for(
        &self,
        owner: &str,
        workflow_id: &str,
    ) -> Result<SecretSet, NodeError> {
        let (store, who) = (self.store.clone(), owner.to_owned());
        let entries = off_async(move || store.secrets_of(&who)).await?;
        let mut set = SecretSet::new();
        if entries.is_empty() {
            return Ok(set);
        }
        let cipher = self.cipher()?;
        // Owner scope first, so a workflow's own secret of the same name replaces it.
        let mut ordered: Vec<_> = entries
            .into_iter()
            .filter(|e| e.workflow_id.as_deref().is_none_or(|w| w == workflow_id))
            .collect();
        ordered.sort_by_key(|e| e.workflow_id.is_some());
        for entry in ordered {
            let name = SecretName::parse(&entry.name).map_err(secret_error)?;
            let aad = SecretAad::new(owner, scope(entry.workflow_id.as_deref()), name.clone());
            let bytes = hex::decode(&entry.sealed).map_err(|_| {
                NodeError::Internal(format!("secret {name}: stored record is not hex"))
            })?;
            let sealed = SealedSecret::from_bytes(&bytes).map_err(secret_error)?;
            let value = cipher.open(&sealed, &aad).map_err(|e| {
                NodeError::Internal(format!(
                    "secret {name} does not open ({e}); was the key changed?"
                ))
            })?;
            set.insert(name, value);
        }
        Ok(set)
    }
}

fn scope(workflow_id: Option<&str>) -> SecretScope {
    match workflow_id {
        Some(id) => SecretScope::Workflow {
            workflow_id: id.to_owned(),
        },
        None => SecretScope::User,
    }
}

/// Secret errors never carry values (the automation crate guarantees it), so their text is
/// safe to return.
fn secret_error(e: SecretError) -> NodeError {
    NodeError::InvalidArgument(e.to_string())
}
