//! Operator public keys, fed by `BLSApkRegistry.NewPubkeyRegistration` events.
//!
//! A key is registered once per operator and never changes, so the cache backfills the events
//! once and then only reads new blocks: the registry never asks the chain for a key per operator
//! per task (eigensdk-rs does, at 2 calls per operator).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use alloy::primitives::Address;
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use quorate_bls::{Bn254Scheme, G1PublicKey, G2PublicKey};
use quorate_domain::{BlockNumber, OperatorId, RegistryError, SignatureScheme};
use tokio::sync::Mutex;
use tracing::{debug, warn};

use crate::contracts::IBLSApkRegistry::NewPubkeyRegistration;
use crate::convert::{g1_from_sol, g2_from_sol};
use crate::error::transport_error;

/// One operator's registered keys.
#[derive(Clone, Debug, PartialEq)]
pub struct OperatorKeys {
    /// The operator's address.
    pub operator: Address,
    /// G1 key (what operator ids and apks are made of).
    pub g1: G1PublicKey,
    /// G2 key (what signatures are checked against).
    pub g2: G2PublicKey,
}

#[derive(Default)]
struct Inner {
    keys: HashMap<OperatorId, Arc<OperatorKeys>>,
    /// Last block whose events are in `keys`.
    synced_to: Option<BlockNumber>,
}

/// The event-fed key cache of one `BLSApkRegistry`.
pub struct PubkeyCache<P> {
    provider: P,
    apk_registry: Address,
    from_block: BlockNumber,
    chunk: u64,
    inner: RwLock<Inner>,
    /// Serializes syncs so concurrent misses cause one `eth_getLogs`, not many.
    sync: Mutex<()>,
}

impl<P: Provider + Clone + 'static> PubkeyCache<P> {
    /// A cache that reads events of `apk_registry` from `from_block` on, `chunk` blocks per
    /// `eth_getLogs` (public endpoints cap the range).
    pub fn new(provider: P, apk_registry: Address, from_block: BlockNumber, chunk: u64) -> Self {
        Self {
            provider,
            apk_registry,
            from_block,
            chunk: chunk.max(1),
            inner: RwLock::new(Inner::default()),
            sync: Mutex::new(()),
        }
    }

    /// The keys of an operator, if its registration event has been read.
    pub fn get(&self, id: &OperatorId) -> Option<Arc<OperatorKeys>> {
        self.read().keys.get(id).cloned()
    }

    /// How many keys are known.
    pub fn len(&self) -> usize {
        self.read().keys.len()
    }

    /// Whether no key is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The last block whose events have been read.
    pub fn synced_to(&self) -> Option<BlockNumber> {
        self.read().synced_to
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        // A poisoned lock only means a panic elsewhere mid-insert; the map is still usable.
        quorate_domain::sync::read(&self.inner)
    }

    /// Reads events up to the chain head.
    pub async fn sync_latest(&self) -> Result<(), RegistryError> {
        let head = self
            .provider
            .get_block_number()
            .await
            .map_err(|e| transport_error("eth_blockNumber", &e))?;
        self.sync_to(head).await
    }

    /// Reads events up to `target` (inclusive), if not already done.
    pub async fn sync_to(&self, target: BlockNumber) -> Result<(), RegistryError> {
        let _guard = self.sync.lock().await;
        let mut from = match self.synced_to() {
            Some(done) if done >= target => return Ok(()),
            Some(done) => done + 1,
            None => self.from_block,
        };
        let scheme = Bn254Scheme;
        while from <= target {
            let to = target.min(from.saturating_add(self.chunk - 1));
            let filter = Filter::new()
                .address(self.apk_registry)
                .event_signature(NewPubkeyRegistration::SIGNATURE_HASH)
                .from_block(from)
                .to_block(to);
            let logs = self.provider.get_logs(&filter).await.map_err(|e| {
                transport_error(
                    &format!("eth_getLogs NewPubkeyRegistration blocks {from}..={to}"),
                    &e,
                )
            })?;
            let mut fresh = Vec::with_capacity(logs.len());
            for log in &logs {
                let event = match NewPubkeyRegistration::decode_log(&log.inner) {
                    Ok(ev) => ev.data,
                    Err(e) => {
                        warn!(error = %e, "undecodable NewPubkeyRegistration log skipped");
                        continue;
                    }
                };
                // The registry checked the proof of possession; we still decode with full
                // curve and subgroup checks, once per operator, never per signature.
                let g1 = scheme.decode_g1(&g1_from_sol(&event.pubkeyG1));
                let g2 = scheme.decode_g2(&g2_from_sol(&event.pubkeyG2));
                match (g1, g2) {
                    (Ok(g1), Ok(g2)) => {
                        let id = scheme.operator_id(&g1);
                        fresh.push((
                            id,
                            Arc::new(OperatorKeys {
                                operator: event.operator,
                                g1,
                                g2,
                            }),
                        ));
                    }
                    (Err(e), _) | (_, Err(e)) => {
                        warn!(operator = %event.operator, error = %e, "invalid registered key skipped");
                    }
                }
            }
            let mut inner = quorate_domain::sync::write(&self.inner);
            for (id, keys) in fresh {
                inner.keys.insert(id, keys);
            }
            inner.synced_to = Some(to);
            debug!(from, to, total = inner.keys.len(), "pubkey cache synced");
            from = to + 1;
        }
        Ok(())
    }

    /// Follows new blocks by polling every `interval` until the returned handle is aborted.
    /// Optional: the registry also syncs on demand when it meets an unknown operator.
    pub fn spawn_follower(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()>
    where
        P: Send + Sync,
    {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            loop {
                tick.tick().await;
                if let Err(e) = this.sync_latest().await {
                    warn!(error = %e, "pubkey cache poll failed; retrying next tick");
                }
            }
        })
    }
}
