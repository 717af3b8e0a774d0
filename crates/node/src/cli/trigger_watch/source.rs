//! Where blocks and logs come from: the [`BlockSource`] port, and its JSON-RPC implementation.

use std::collections::BTreeSet;

use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::ClientBuilder;
use alloy::rpc::types::{Filter, Log};
use alloy_primitives::{Address, B256};
use quorate_automation::trigger::LogEvent;
use quorate_chain_adapter::{RetryTimeoutLayer, RpcRetryConfig};

/// Which logs an `eth_getLogs` call asks for, besides the block range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogScope {
    /// Logs emitted by any of these contracts.
    Addresses(BTreeSet<Address>),
    /// Logs whose topic0 (event signature) is any of these.
    Topic0(BTreeSet<B256>),
    /// Every log of the range (some matcher names neither address nor topic0).
    Any,
}

/// Why the chain could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The RPC URL is not a URL.
    #[error("--rpc-url {url}: {reason}")]
    BadUrl {
        /// The URL, credentials redacted.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// A JSON-RPC call failed.
    #[error("rpc {call}: {reason}")]
    Rpc {
        /// The method.
        call: &'static str,
        /// The error.
        reason: String,
    },
}

/// The chain as the trigger watcher needs it: the head, and the logs of a block range.
#[async_trait::async_trait]
pub trait BlockSource: Send + Sync {
    /// The latest block number.
    async fn head(&self) -> Result<u64, SourceError>;

    /// Logs of blocks `from..=to` within `scope`, in chain order. Logs without a block
    /// number, index or transaction hash (pending) or removed by a reorg are left out.
    async fn logs(
        &self,
        from: u64,
        to: u64,
        scope: &LogScope,
    ) -> Result<Vec<LogEvent>, SourceError>;
}

/// A [`BlockSource`] over JSON-RPC, retrying transient faults with a per-attempt timeout (so
/// a stalled endpoint cannot stall the watcher).
#[derive(Debug, Clone)]
pub struct RpcSource {
    provider: DynProvider,
}

impl RpcSource {
    /// A source over `url`; connects lazily (nothing is sent until the first call).
    pub fn new(url: &str) -> Result<Self, SourceError> {
        let parsed = url.parse().map_err(|e| SourceError::BadUrl {
            url: crate::secret::redact_url(url),
            reason: format!("{e}"),
        })?;
        let client = ClientBuilder::default()
            .layer(RetryTimeoutLayer::new(RpcRetryConfig::default()))
            .http(parsed);
        let provider = ProviderBuilder::new().connect_client(client).erased();
        Ok(Self { provider })
    }
}

#[async_trait::async_trait]
impl BlockSource for RpcSource {
    async fn head(&self) -> Result<u64, SourceError> {
        self.provider
            .get_block_number()
            .await
            .map_err(|e| SourceError::Rpc {
                call: "eth_blockNumber",
                reason: e.to_string(),
            })
    }

    async fn logs(
        &self,
        from: u64,
        to: u64,
        scope: &LogScope,
    ) -> Result<Vec<LogEvent>, SourceError> {
        let filter = Filter::new().from_block(from).to_block(to);
        let filter = match scope {
            LogScope::Addresses(a) => filter.address(a.iter().copied().collect::<Vec<_>>()),
            LogScope::Topic0(t) => filter.event_signature(t.iter().copied().collect::<Vec<_>>()),
            LogScope::Any => filter,
        };
        let logs = self
            .provider
            .get_logs(&filter)
            .await
            .map_err(|e| SourceError::Rpc {
                call: "eth_getLogs",
                reason: e.to_string(),
            })?;
        Ok(logs.into_iter().filter_map(to_log_event).collect())
    }
}

/// A mined, canonical log as the event watcher takes it.
fn to_log_event(log: Log) -> Option<LogEvent> {
    if log.removed {
        return None;
    }
    Some(LogEvent {
        address: log.address(),
        topics: log.topics().to_vec(),
        data: log.data().data.clone(),
        block_number: log.block_number?,
        log_index: log.log_index?,
        transaction_hash: log.transaction_hash?,
    })
}
