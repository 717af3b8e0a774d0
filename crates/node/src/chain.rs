//! Chain mode (`--rpc-url` with `--addresses`): the operator registry and the submitter are
//! the chain adapter's, over the contracts named in a devnet-style address file.
//!
//! Tasks are Incredible Squaring tasks: a task's payload is `0x` + hex of
//! `abi.encode(Task, uint32 taskIndex)` for a task already created on the task manager;
//! operators (`quorate operator run --compute squaring-task`) sign
//! `keccak256(abi.encode(TaskResponse))`, and the node submits `respondToSquaringTask`.

use std::path::Path;
use std::sync::Arc;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::client::ClientBuilder;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolValue;
use quorate_bls::Bn254Scheme;
use quorate_chain_adapter::contracts::TaskManager;
use quorate_chain_adapter::{
    ChainOperatorRegistry, ChainRegistryConfig, ChainSubmitter, RegistryAddresses,
    RetryTimeoutLayer, RpcRetryConfig, SquaringTaskCall, SubmitterConfig,
};
use quorate_domain::{OperatorRegistry, QuorumNumber, ResponseSubmitter};
use serde::Deserialize;

/// Any operator registry, behind one type the aggregator can be generic over (the port is
/// implemented for `Arc<dyn OperatorRegistry>` by its `auto_impl`, so no forwarding code).
pub type DynRegistry = Arc<dyn OperatorRegistry<Bn254Scheme>>;

/// Why chain mode could not start.
#[derive(Debug, thiserror::Error)]
pub enum ChainSetupError {
    /// The address file could not be read or parsed.
    #[error("address file {path}: {reason}")]
    AddressFile {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// No submitter key in the flags, the environment or the address file.
    #[error("no submitter key: give --submitter-key-file (or QUORATE_SUBMITTER_KEY) or `aggregator.private_key` in the address file")]
    NoSubmitterKey,
    /// The submitter key is not a secp256k1 secret key.
    #[error("submitter key: {0}")]
    BadSubmitterKey(String),
    /// The RPC URL is not a URL.
    #[error("--rpc-url {url}: {reason}")]
    BadRpcUrl {
        /// The URL given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The chain could not be reached.
    #[error("rpc {what}: {reason}")]
    Rpc {
        /// The call.
        what: &'static str,
        /// The error.
        reason: String,
    },
}

/// Contracts of the address file (the devnet's `contracts` object; other keys are ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct ContractAddresses {
    /// The (Slashing)RegistryCoordinator proxy.
    pub registry_coordinator: Address,
    /// The OperatorStateRetriever.
    pub operator_state_retriever: Address,
    /// The BLSApkRegistry proxy.
    pub bls_apk_registry: Address,
    /// The Incredible Squaring task manager (the AVS contract responses go to).
    pub task_manager: Address,
}

/// The key of the account that sends responses.
#[derive(Debug, Clone, Deserialize)]
pub struct SubmitterAccount {
    /// 0x-hex secp256k1 secret key.
    pub private_key: String,
}

/// The address file: `.devnet/devnet.json` as `cargo xtask devnet` writes it, or the subset
/// `{"contracts": {registry_coordinator, operator_state_retriever, bls_apk_registry,
/// task_manager}}` plus optionally `aggregator.private_key` and `quorums`.
#[derive(Debug, Clone, Deserialize)]
pub struct AddressFile {
    /// The contracts.
    pub contracts: ContractAddresses,
    /// The account allowed to respond to tasks (used when no `--submitter-key-file` is given).
    #[serde(default)]
    pub aggregator: Option<SubmitterAccount>,
    /// One entry per quorum (only the count is used: operators may sign in if they are in
    /// any of them). Default: quorum 0 only.
    #[serde(default)]
    pub quorums: Vec<serde_json::Value>,
}

impl AddressFile {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Self, ChainSetupError> {
        let err = |reason: String| ChainSetupError::AddressFile {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| err(e.to_string()))
    }
}

/// The chain side of a node.
pub struct ChainParts {
    /// `ChainOperatorRegistry` over the address file's contracts.
    pub registry: Arc<DynRegistry>,
    /// `ChainSubmitter` sending `respondToSquaringTask`.
    pub submitter: Arc<dyn ResponseSubmitter>,
    /// Block operator sign-ins are checked at (head − 1 at start).
    pub auth_block: u64,
    /// Quorums an operator may be in to sign in.
    pub auth_quorums: Vec<QuorumNumber>,
}

/// Connects to `rpc_url` and builds the registry and the submitter.
pub async fn connect(
    rpc_url: &str,
    file: &AddressFile,
    submitter_key: Option<&str>,
) -> Result<ChainParts, ChainSetupError> {
    let key = submitter_key
        .map(str::to_owned)
        .or_else(|| file.aggregator.as_ref().map(|a| a.private_key.clone()))
        .ok_or(ChainSetupError::NoSubmitterKey)?;
    let signer: PrivateKeySigner = key
        .trim()
        .parse()
        .map_err(|e| ChainSetupError::BadSubmitterKey(format!("{e}")))?;
    let from = signer.address();
    let url = rpc_url.parse().map_err(|e| ChainSetupError::BadRpcUrl {
        url: crate::secret::redact_url(rpc_url),
        reason: format!("{e}"),
    })?;
    // Transient RPC faults (dropped connections, 5xx, stalls) are retried with backoff and a
    // per-attempt timeout; sends are never retried (see docs/chain-adapter.md).
    let client = ClientBuilder::default()
        .layer(RetryTimeoutLayer::new(RpcRetryConfig::default()))
        .http(url);
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_client(client)
        .erased();
    let head = provider
        .get_block_number()
        .await
        .map_err(|e| ChainSetupError::Rpc {
            what: "eth_blockNumber",
            reason: e.to_string(),
        })?;
    let c = &file.contracts;
    let registry = ChainOperatorRegistry::new(
        provider.clone(),
        ChainRegistryConfig::new(RegistryAddresses {
            registry_coordinator: c.registry_coordinator,
            operator_state_retriever: c.operator_state_retriever,
            bls_apk_registry: c.bls_apk_registry,
        }),
    );
    registry
        .pubkeys()
        .sync_latest()
        .await
        .map_err(|e| ChainSetupError::Rpc {
            what: "pubkey backfill",
            reason: e.to_string(),
        })?;
    let submitter = ChainSubmitter::new(
        provider,
        from,
        SquaringTaskCall {
            task_manager: c.task_manager,
        },
        SubmitterConfig::default(),
    );
    let quorum_count = u8::try_from(file.quorums.len().max(1)).unwrap_or(u8::MAX);
    Ok(ChainParts {
        registry: Arc::new(Arc::new(registry) as DynRegistry),
        submitter: Arc::new(submitter),
        auth_block: head.saturating_sub(1),
        auth_quorums: (0..quorum_count).map(QuorumNumber).collect(),
    })
}

/// Decodes a squaring task payload: `0x` + hex of `abi.encode(Task, uint32 taskIndex)`.
pub fn decode_task_payload(payload: &[u8]) -> Option<(TaskManager::Task, u32)> {
    let text = std::str::from_utf8(payload).ok()?.trim();
    let bytes = hex::decode(text.strip_prefix("0x").unwrap_or(text)).ok()?;
    <(TaskManager::Task, u32)>::abi_decode_params(&bytes).ok()
}

/// The operator's response to a squaring task payload: `abi.encode(TaskResponse)` with the
/// square of the task's number; `None` if the payload is not a squaring task.
pub fn squaring_response(payload: &[u8]) -> Option<Vec<u8>> {
    let (task, index) = decode_task_payload(payload)?;
    let number = U256::abi_decode(&task.message).ok()?;
    let square = number.checked_mul(number)?;
    let response = TaskManager::TaskResponse {
        referenceTaskIndex: index,
        message: square.abi_encode().into(),
    };
    Some(response.abi_encode())
}

/// What is submitted for a squaring task: `abi.encode(Task, TaskResponse)` from the task's
/// payload and the response its signers signed; `None` if either does not decode.
pub fn squaring_submission(task_payload: &[u8], response: &[u8]) -> Option<Vec<u8>> {
    let (task, _) = decode_task_payload(task_payload)?;
    let response = TaskManager::TaskResponse::abi_decode(response).ok()?;
    Some(SquaringTaskCall::payload(&task, &response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squaring_payload_round_trip() {
        let task = TaskManager::Task {
            taskCreatedBlock: 10,
            quorumThresholdPercentage: 50,
            message: U256::from(12u64).abi_encode().into(),
            quorumNumbers: vec![0u8, 1].into(),
        };
        let payload = format!(
            "0x{}",
            hex::encode((task.clone(), 3u32).abi_encode_params())
        );
        let response = squaring_response(payload.as_bytes()).unwrap();
        let decoded = TaskManager::TaskResponse::abi_decode(&response).unwrap();
        assert_eq!(decoded.referenceTaskIndex, 3);
        assert_eq!(
            U256::abi_decode(&decoded.message).unwrap(),
            U256::from(144u64)
        );
        let submission = squaring_submission(payload.as_bytes(), &response).unwrap();
        assert_eq!(submission, SquaringTaskCall::payload(&task, &decoded));
        assert!(squaring_response(b"12").is_none());
    }

    #[test]
    fn address_file_subset_parses() {
        let f: AddressFile = serde_json::from_str(
            r#"{"contracts": {"registry_coordinator": "0x0000000000000000000000000000000000000001",
            "operator_state_retriever": "0x0000000000000000000000000000000000000002",
            "bls_apk_registry": "0x0000000000000000000000000000000000000003",
            "task_manager": "0x0000000000000000000000000000000000000004", "token": "0x0000000000000000000000000000000000000005"}}"#,
        )
        .unwrap();
        assert!(f.aggregator.is_none());
        assert!(f.quorums.is_empty());
    }
}
