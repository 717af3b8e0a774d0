//! Chain mode (`--rpc-url` with `--avs`): the operator registry, the submitter and the task
//! intake are the chain adapter's, over the contracts and calls of an AVS configuration
//! ([`AvsProfile`], `docs/avs-integration.md`). Nothing here is specific to one AVS.

use std::path::Path;
use std::sync::Arc;

use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::ClientBuilder;
use alloy::signers::local::PrivateKeySigner;
use quorate_bls::Bn254Scheme;
use quorate_chain_adapter::{
    AvsProfile, AvsSpec, ChainOperatorRegistry, ChainRegistryConfig, ChainSubmitter,
    RegistryAddresses, RetryTimeoutLayer, RpcRetryConfig, SubmitterConfig, TaskIntake,
};
use quorate_domain::{OperatorRegistry, QuorumNumber, ResponseSubmitter};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Any operator registry, behind one type the aggregator can be generic over (the port is
/// implemented for `Arc<dyn OperatorRegistry>` by its `auto_impl`, so no forwarding code).
pub type DynRegistry = Arc<dyn OperatorRegistry<Bn254Scheme>>;

/// Why chain mode could not start.
#[derive(Debug, thiserror::Error)]
pub enum ChainSetupError {
    /// The AVS configuration could not be read, parsed or compiled.
    #[error("avs configuration {path}: {reason}")]
    AvsFile {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// No submitter key in the flags, the environment or the address file.
    #[error("no submitter key: give --submitter-key-file (or QUORATE_SUBMITTER_KEY)")]
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

/// Reads and compiles an AVS configuration (TOML, see `docs/avs-integration.md`).
pub fn load_profile(path: &Path) -> Result<AvsProfile, ChainSetupError> {
    let err = |reason: String| ChainSetupError::AvsFile {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let spec: AvsSpec = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
    let errors_abi = match &spec.respond.errors_abi {
        Some(abi) => {
            let abi_path = path.parent().unwrap_or(Path::new(".")).join(abi);
            Some(
                std::fs::read_to_string(&abi_path)
                    .map_err(|e| err(format!("respond.errors_abi {}: {e}", abi_path.display())))?,
            )
        }
        None => None,
    };
    AvsProfile::compile(spec, errors_abi.as_deref()).map_err(|e| err(e.to_string()))
}

/// The chain side of a node.
pub struct ChainParts {
    /// `ChainOperatorRegistry` over the AVS's contracts.
    pub registry: Arc<DynRegistry>,
    /// `ChainSubmitter` sending the AVS's configured respond call.
    pub submitter: Arc<dyn ResponseSubmitter>,
    /// The block operators sign in against: one below the chain head, followed.
    pub sign_in_block: watch::Receiver<u64>,
    /// Quorums an operator may be in to sign in.
    pub auth_quorums: Vec<QuorumNumber>,
    /// The task intake, if the AVS configures one.
    pub intake: Option<TaskIntake<DynProvider>>,
    /// The provider (contract reads of workflow steps).
    pub provider: DynProvider,
}

/// Connects to `rpc_url` and builds the registry, the submitter and the intake of `profile`;
/// the head follower runs until `stop`.
pub async fn connect(
    rpc_url: &str,
    profile: Arc<AvsProfile>,
    submitter_key: Option<&str>,
    stop: CancellationToken,
) -> Result<ChainParts, ChainSetupError> {
    let key = submitter_key.ok_or(ChainSetupError::NoSubmitterKey)?;
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
    let c = &profile.spec().contracts;
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
    let intake = profile
        .spec()
        .intake
        .clone()
        .map(|config| TaskIntake::new(provider.clone(), Arc::clone(&profile), config));
    let head_interval = profile.spec().intake.as_ref().map_or(HEAD_POLL, |i| {
        Duration::from_millis(i.poll_interval_ms.max(100))
    });
    let auth_quorums = profile
        .spec()
        .sign_in_quorums
        .iter()
        .map(|q| QuorumNumber(*q))
        .collect();
    let submitter =
        ChainSubmitter::new(provider.clone(), from, profile, SubmitterConfig::default());
    Ok(ChainParts {
        registry: Arc::new(Arc::new(registry) as DynRegistry),
        submitter: Arc::new(submitter),
        sign_in_block: follow_head(provider.clone(), head, head_interval, stop),
        auth_quorums,
        intake,
        provider,
    })
}

/// How often the head is read when the AVS configures no intake (whose poll interval is
/// used otherwise).
const HEAD_POLL: Duration = Duration::from_secs(1);

/// Publishes the block below the chain head every `interval` until `stop` (a failed read
/// keeps the last): the newest block whose operator set is final to read.
fn follow_head(
    provider: DynProvider,
    head: u64,
    interval: Duration,
    stop: CancellationToken,
) -> watch::Receiver<u64> {
    let (tx, rx) = watch::channel(head.saturating_sub(1));
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
            match provider.get_block_number().await {
                Ok(n) => {
                    let block = n.saturating_sub(1);
                    tx.send_if_modified(|b| {
                        let newer = block > *b;
                        *b = (*b).max(block);
                        newer
                    });
                }
                Err(e) => tracing::debug!(error = %e, "head read failed; keeping the last"),
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_example_avs_configurations_compile() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples/avs");
        for name in ["incredible-squaring.toml", "attestation.toml"] {
            let profile = load_profile(&dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                profile.spec().intake.is_some(),
                "{name} follows its task event"
            );
        }
        let err = load_profile(&dir.join("absent.toml"))
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("absent.toml")));
    }
}
