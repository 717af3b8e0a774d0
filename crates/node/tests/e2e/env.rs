//! The e2e environment: the devnet, the runtime wired to the chain adapter, and the oracle.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::ClientBuilder;
use anyhow::{anyhow, Context, Result};
use quorate_bls::{Bn254Scheme, KeyPair};
use quorate_chain_adapter::contracts::IBLSSignatureChecker;
use quorate_chain_adapter::{
    CallCounter, ChainOperatorRegistry, ChainRegistryConfig, CountingLayer, RegistryAddresses,
    RetryTimeoutLayer, RpcRetryConfig,
};
use quorate_domain::{
    OperatorId, QuorumNumber, ResponseDigest, SignedTaskResponse, TaskId, TaskMetadata,
};
use quorate_runtime::{AggregatorConfig, AggregatorCore};

use quorate_devnet::Devnet;

/// The runtime over the chain registry.
pub type Core = AggregatorCore<Bn254Scheme, ChainOperatorRegistry<DynProvider>>;

/// Everything a scenario needs.
pub struct Env {
    /// The devnet (owns anvil).
    pub devnet: Devnet,
    /// The aggregator runtime.
    pub core: Arc<Core>,
    /// RPC calls made by the registry (and only by it).
    pub registry_calls: CallCounter,
    /// `checkSignatures` on the task manager (a `BLSSignatureChecker`).
    pub checker: IBLSSignatureChecker::IBLSSignatureCheckerInstance<DynProvider>,
    keys: HashMap<OperatorId, usize>,
    next_task: AtomicU64,
}

impl Env {
    /// Wires the runtime to a fresh chain registry over `devnet`.
    pub async fn new(devnet: Devnet) -> Result<Self> {
        let registry_calls = CallCounter::new();
        // Retries outermost, so the counter sees every attempt (none on a healthy devnet).
        let client = ClientBuilder::default()
            .layer(RetryTimeoutLayer::new(RpcRetryConfig::default()))
            .layer(CountingLayer::new(registry_calls.clone()))
            .http(devnet.info.rpc_url.parse().context("rpc url")?);
        let provider = ProviderBuilder::new().connect_client(client).erased();
        let c = &devnet.info.contracts;
        let config = ChainRegistryConfig::new(RegistryAddresses {
            registry_coordinator: c.registry_coordinator,
            operator_state_retriever: c.operator_state_retriever,
            bls_apk_registry: c.bls_apk_registry,
        });
        let registry = Arc::new(ChainOperatorRegistry::new(provider, config));
        // Backfill the key cache once; tasks then cost no key lookups.
        registry
            .pubkeys()
            .sync_latest()
            .await
            .map_err(|e| anyhow!("pubkey backfill: {e}"))?;
        let config = AggregatorConfig {
            verification_threads: 2,
            ..AggregatorConfig::default()
        };
        let core = Arc::new(
            AggregatorCore::new(config, Arc::clone(&registry), Arc::new(Bn254Scheme)).unwrap(),
        );
        let checker = IBLSSignatureChecker::new(c.task_manager, devnet.chain.provider.clone());
        let keys = devnet
            .plans
            .iter()
            .enumerate()
            .map(|(i, p)| (p.bls.operator_id(), i))
            .collect();
        Ok(Self {
            devnet,
            core,
            registry_calls,
            checker,
            keys,
            next_task: AtomicU64::new(1),
        })
    }

    /// A fresh task id.
    pub fn task_id(&self) -> TaskId {
        TaskId::from(self.next_task.fetch_add(1, Ordering::Relaxed))
    }

    /// The BLS keys of an operator.
    pub fn key(&self, id: &OperatorId) -> Option<&KeyPair> {
        self.keys.get(id).map(|&i| &self.devnet.plans[i].bls)
    }

    /// Runs one task through the runtime: initialize, sign with `signers` concurrently, wait.
    pub async fn aggregate(
        &self,
        task_id: TaskId,
        reference_block: u64,
        thresholds: &[(u8, u8)],
        digest: ResponseDigest,
        signers: &[OperatorId],
    ) -> Result<Arc<quorate_domain::AggregatedResponse>> {
        self.aggregate_on(
            &self.core,
            task_id,
            reference_block,
            thresholds,
            digest,
            signers,
        )
        .await
    }

    /// [`Self::aggregate`] on another runtime (e.g. one reading through a fault proxy).
    pub async fn aggregate_on(
        &self,
        core: &Arc<Core>,
        task_id: TaskId,
        reference_block: u64,
        thresholds: &[(u8, u8)],
        digest: ResponseDigest,
        signers: &[OperatorId],
    ) -> Result<Arc<quorate_domain::AggregatedResponse>> {
        // The window lets every signature we send land before the aggregate is cut.
        let meta = TaskMetadata::from_raw(
            task_id,
            reference_block,
            thresholds,
            Duration::from_secs(120),
        )?
        .with_window(Duration::from_millis(300));
        core.initialize_task(meta).await?;
        let mut handles = Vec::with_capacity(signers.len());
        for id in signers {
            let kp = self
                .key(id)
                .ok_or_else(|| anyhow!("no key for operator {id}"))?;
            let signed = SignedTaskResponse {
                task_id,
                digest,
                signature: kp.sign_digest(&digest),
                operator_id: *id,
            };
            let core = Arc::clone(core);
            handles.push(tokio::spawn(async move {
                core.process_signed_response(signed).await
            }));
        }
        // A signature may arrive after the window closed (it is then refused as late); the
        // aggregate is what the oracle judges, so per-signature refusals are not failures.
        for h in handles {
            if let Err(e) = h.await? {
                let _ = e;
            }
        }
        Ok(core
            .wait_for_aggregation(task_id, Duration::from_secs(120))
            .await?)
    }
}

/// Quorum numbers as the domain type.
pub fn quorum_numbers(qs: &[u8]) -> Vec<QuorumNumber> {
    qs.iter().copied().map(QuorumNumber).collect()
}

/// The committed example configuration of an AVS (`docs/examples/avs/<name>.toml`).
pub fn example_avs_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/examples/avs")
        .join(format!("{name}.toml"))
}

/// The example configuration of `name`, checked against the devnet it runs on: the node is
/// pointed at the committed file itself, so its addresses must be the devnet's.
pub fn example_avs(
    name: &str,
    task_manager: alloy::primitives::Address,
    devnet: &Devnet,
) -> Result<Arc<quorate_chain_adapter::AvsProfile>> {
    let path = example_avs_path(name);
    let spec: quorate_chain_adapter::AvsSpec = toml::from_str(
        &std::fs::read_to_string(&path).with_context(|| path.display().to_string())?,
    )
    .with_context(|| path.display().to_string())?;
    let c = &devnet.info.contracts;
    let want = (
        c.registry_coordinator,
        c.operator_state_retriever,
        c.bls_apk_registry,
        task_manager,
    );
    let got = &spec.contracts;
    let have = (
        got.registry_coordinator,
        got.operator_state_retriever,
        got.bls_apk_registry,
        got.task_manager,
    );
    anyhow::ensure!(
        have == want,
        "{}: contract addresses {have:?} are not the devnet's {want:?}",
        path.display()
    );
    Ok(Arc::new(
        quorate_chain_adapter::AvsProfile::compile(spec, None).map_err(|e| anyhow!("{e}"))?,
    ))
}
