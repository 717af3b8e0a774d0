//! The `faults` step of `cargo xtask e2e`: fault injection against the same devnet.
//!
//! A second runtime (the "rig") reads the chain through a [`FaultProxy`] with the chain
//! adapter's retry/timeout layer, so faults hit exactly the path a deployment uses, while the
//! oracle (`checkSignatures`, task creation, mining) talks to anvil directly. Scenarios:
//! transient faults of every kind are retried; persistent ones give a typed error within the
//! retry budget while a task with a cached operator set completes; anvil killed and restarted
//! from a state dump; a reorg that replaces the reference block; reverting submissions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::primitives::{B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::ClientBuilder;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use anyhow::{anyhow, bail, ensure, Context, Result};
use quorate_bls::Bn254Scheme;
use quorate_chain_adapter::contracts::{IOperatorStateRetriever, ISquaringTask, TaskManager};
use quorate_chain_adapter::convert::non_signer_stakes_and_signature;
use quorate_chain_adapter::{
    ChainOperatorRegistry, ChainRegistryConfig, ChainSubmitter, RegistryAddresses,
    RetryTimeoutLayer, RpcRetryConfig, SubmitterConfig,
};
use quorate_domain::{
    AggregatedResponse, AggregationError, OperatorId, OperatorRegistry, RegistryError,
    ResponseDigest, ResponseSubmitter, SignedTaskResponse, SubmissionRequest, SubmitError, TaskId,
    TaskMetadata,
};
use quorate_runtime::{AggregatorConfig, AggregatorCore};

use super::env::{quorum_numbers, Core, Env};
use super::scenarios::{check_on_chain, live_quorums};
use quorate_devnet::fault_proxy::{Fault, FaultPlan, FaultProxy};

mod chain;

/// The runtime under test, reading through the fault proxy.
pub struct Rig {
    proxy: FaultProxy,
    core: Arc<Core>,
    registry: Arc<ChainOperatorRegistry<DynProvider>>,
    submitter: ChainSubmitter<DynProvider, std::sync::Arc<quorate_chain_adapter::AvsProfile>>,
    retry: RpcRetryConfig,
    /// `getOperatorState`'s selector in hex: faults aimed at operator-set reads only.
    state_selector: String,
}

/// Short limits so a dead endpoint is declared dead in ~2.5 s (the defaults allow ~41 s).
fn rig_retry() -> RpcRetryConfig {
    RpcRetryConfig {
        request_timeout: Duration::from_millis(800),
        max_attempts: 3,
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        ..RpcRetryConfig::default()
    }
}

impl Rig {
    async fn new(env: &Env) -> Result<Self> {
        let info = &env.devnet.info;
        let proxy = FaultProxy::start(&info.rpc_url).await?;
        let retry = rig_retry();
        let url: alloy::transports::http::reqwest::Url = proxy.url.parse().context("proxy url")?;
        let client = ClientBuilder::default()
            .layer(RetryTimeoutLayer::new(retry.clone()))
            .http(url.clone());
        let provider = ProviderBuilder::new().connect_client(client).erased();
        let c = &info.contracts;
        let registry = Arc::new(ChainOperatorRegistry::new(
            provider,
            ChainRegistryConfig::new(RegistryAddresses {
                registry_coordinator: c.registry_coordinator,
                operator_state_retriever: c.operator_state_retriever,
                bls_apk_registry: c.bls_apk_registry,
            }),
        ));
        registry
            .pubkeys()
            .sync_latest()
            .await
            .map_err(|e| anyhow!("pubkey backfill through the proxy: {e}"))?;
        let core = Arc::new(
            AggregatorCore::new(
                AggregatorConfig {
                    verification_threads: 1,
                    ..AggregatorConfig::default()
                },
                Arc::clone(&registry),
                Arc::new(Bn254Scheme),
            )
            .unwrap(),
        );
        let signer: PrivateKeySigner = info.aggregator.private_key.parse()?;
        let client = ClientBuilder::default()
            .layer(RetryTimeoutLayer::new(retry.clone()))
            .http(url);
        let wallet_provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect_client(client)
            .erased();
        let submitter = ChainSubmitter::new(
            wallet_provider,
            info.aggregator.address,
            super::submit::squaring_profile(env)?,
            SubmitterConfig {
                poll_interval: Duration::from_millis(10),
                resend_after: Duration::from_secs(5),
                timeout: Duration::from_secs(20),
                ..SubmitterConfig::default()
            },
        );
        Ok(Self {
            proxy,
            core,
            registry,
            submitter,
            retry,
            state_selector: alloy::hex::encode(
                IOperatorStateRetriever::getOperatorStateCall::SELECTOR,
            ),
        })
    }

    /// How long a failing request may take: the retry budget plus scheduling slack.
    fn bound(&self) -> Duration {
        self.retry.worst_case() + Duration::from_millis(1500)
    }
}

/// Mines one block and returns the one before the head (`checkSignatures` wants ref < head).
async fn fresh_block(env: &Env) -> Result<u64> {
    env.devnet.chain.mine(1).await?;
    Ok(env
        .devnet
        .chain
        .provider
        .get_block_number()
        .await?
        .saturating_sub(1))
}

/// Every member of `quorums` at `block` (read directly from anvil) signs; thresholds 100%.
async fn all_members(
    env: &Env,
    registry: &impl OperatorRegistry<Bn254Scheme>,
    block: u64,
    quorums: &[u8],
) -> Result<(Vec<OperatorId>, Vec<(u8, u8)>)> {
    let state = registry
        .operator_state(block, &quorum_numbers(quorums))
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let signers: Vec<OperatorId> = state
        .operators
        .keys()
        .copied()
        .filter(|id| env.key(id).is_some())
        .collect();
    ensure!(!signers.is_empty(), "no members at block {block}");
    Ok((signers, quorums.iter().map(|&q| (q, 100)).collect()))
}

fn metadata(task_id: TaskId, block: u64, thresholds: &[(u8, u8)]) -> Result<TaskMetadata> {
    Ok(
        TaskMetadata::from_raw(task_id, block, thresholds, Duration::from_secs(60))?
            .with_window(Duration::from_millis(300)),
    )
}

/// Signs `digest` for `task_id` with each of `signers`; every verdict must be positive.
async fn sign(
    env: &Env,
    core: &Core,
    task_id: TaskId,
    digest: ResponseDigest,
    signers: &[OperatorId],
) -> Result<()> {
    for id in signers {
        let kp = env.key(id).ok_or_else(|| anyhow!("no key for {id}"))?;
        core.process_signed_response(SignedTaskResponse {
            task_id,
            digest,
            signature: kp.sign_digest(&digest),
            operator_id: *id,
        })
        .await
        .map_err(|e| anyhow!("signature of {id} for task {task_id}: {e}"))?;
    }
    Ok(())
}

/// The aggregate must pass `checkSignatures` with the runtime's stakes.
async fn accepted(env: &Env, agg: &AggregatedResponse) -> Result<()> {
    match check_on_chain(env, agg, non_signer_stakes_and_signature(agg)).await {
        Ok((signed, total)) if signed == agg.signed_stake && total == agg.total_stake => Ok(()),
        Ok(_) => bail!("task {}: stakes differ from the chain's", agg.task_id),
        Err(e) => bail!("task {}: checkSignatures reverted: {e}", agg.task_id),
    }
}

/// A whole task on the rig at `block` over `quorums`, checked by the oracle.
async fn task_ok(env: &Env, rig: &Rig, block: u64, quorums: &[u8]) -> Result<TaskId> {
    let (signers, thresholds) = all_members(env, env.core.registry(), block, quorums).await?;
    let task_id = env.task_id();
    let digest = random_digest();
    let agg = env
        .aggregate_on(&rig.core, task_id, block, &thresholds, digest, &signers)
        .await?;
    accepted(env, &agg).await?;
    Ok(task_id)
}

/// The initialization failed with the registry's typed "unavailable", for this task and
/// block, within the retry budget.
fn expect_unavailable(
    rig: &Rig,
    res: Result<(), AggregationError>,
    task_id: TaskId,
    block: u64,
    elapsed: Duration,
    needle: &str,
) -> Result<String> {
    match res {
        Err(AggregationError::Registry {
            task_id: t,
            source: RegistryError::Unavailable { reason },
        }) if t == task_id => {
            ensure!(
                reason.contains(&format!("at block {block}")) && reason.contains("quorums"),
                "reason lacks block/quorums: {reason}"
            );
            ensure!(reason.contains(needle), "reason lacks '{needle}': {reason}");
            ensure!(
                elapsed <= rig.bound(),
                "typed error after {elapsed:?}, budget {:?}",
                rig.bound()
            );
            Ok(format!("typed Unavailable in {elapsed:.1?}"))
        }
        other => {
            bail!("task {task_id}: expected a typed Registry/Unavailable error, got {other:?}")
        }
    }
}

/// Transient faults on the first two operator-set reads: retried, the task succeeds.
async fn transient(env: &Env, rig: &Rig, fault: Fault) -> Result<String> {
    let block = fresh_block(env).await?;
    let quorums = live_quorums(env, block);
    rig.proxy
        .set(FaultPlan::next(fault.clone(), 2).matching(&rig.state_selector));
    let started = Instant::now();
    let res = task_ok(env, rig, block, &quorums).await;
    let injected = rig.proxy.injected();
    rig.proxy.heal();
    let task_id = res?;
    ensure!(injected == 2, "{injected} faults injected, expected 2");
    Ok(format!(
        "transient {fault:?} x2 on getOperatorState: retried, task {task_id} accepted by checkSignatures ({:.1?})",
        started.elapsed()
    ))
}

/// Every second call of any method answers 502: every request succeeds on its retry.
async fn every_other_call(env: &Env, rig: &Rig) -> Result<String> {
    let block = fresh_block(env).await?;
    let quorums = live_quorums(env, block);
    rig.proxy.set(FaultPlan::always(Fault::Http(502)).every(2));
    let res = task_ok(env, rig, block, &quorums).await;
    let injected = rig.proxy.injected();
    rig.proxy.heal();
    let task_id = res?;
    ensure!(injected >= 1, "no fault injected");
    Ok(format!(
        "HTTP 502 on every 2nd call ({injected} injected): task {task_id} accepted"
    ))
}

/// Persistent 503 on operator-set reads: a new task fails typed and in time, a task whose set
/// is cached keeps aggregating and completes meanwhile, and after healing new tasks succeed.
async fn persistent_isolated(env: &Env, rig: &Rig) -> Result<String> {
    let b1 = fresh_block(env).await?;
    let quorums = live_quorums(env, b1);
    let (signers, thresholds) = all_members(env, env.core.registry(), b1, &quorums).await?;
    let cached = env.task_id();
    rig.core
        .initialize_task(metadata(cached, b1, &thresholds)?)
        .await?;

    rig.proxy
        .set(FaultPlan::always(Fault::Http(503)).matching(&rig.state_selector));
    let b2 = fresh_block(env).await?;
    let failing = env.task_id();
    let loose: Vec<(u8, u8)> = quorums.iter().map(|&q| (q, 1)).collect();
    let digest = random_digest();
    let started = Instant::now();
    let (init, served) = tokio::join!(
        async {
            let r = rig
                .core
                .initialize_task(metadata(failing, b2, &loose)?)
                .await;
            Ok::<_, anyhow::Error>((r, started.elapsed()))
        },
        async {
            sign(env, &rig.core, cached, digest, &signers).await?;
            let agg = rig
                .core
                .wait_for_aggregation(cached, Duration::from_secs(30))
                .await?;
            accepted(env, &agg).await
        }
    );
    let injected = rig.proxy.injected();
    rig.proxy.heal();
    let (init, elapsed) = init?;
    let typed = expect_unavailable(rig, init, failing, b2, elapsed, "503")?;
    served.context("the task with a cached operator set")?;
    let healed = task_ok(env, rig, b2, &quorums).await?;
    Ok(format!(
        "persistent 503 on getOperatorState ({injected} injected): task {failing} {typed}; cached task {cached} completed meanwhile; healed task {healed} accepted"
    ))
}

/// An endpoint that never answers: per-attempt timeouts bound the wait.
async fn persistent_stall(env: &Env, rig: &Rig) -> Result<String> {
    let block = fresh_block(env).await?;
    let quorums = live_quorums(env, block);
    let loose: Vec<(u8, u8)> = quorums.iter().map(|&q| (q, 1)).collect();
    rig.proxy
        .set(FaultPlan::always(Fault::Delay(Duration::from_secs(3))));
    let task_id = env.task_id();
    let started = Instant::now();
    let res = rig
        .core
        .initialize_task(metadata(task_id, block, &loose)?)
        .await;
    let elapsed = started.elapsed();
    rig.proxy.heal();
    let typed = expect_unavailable(rig, res, task_id, block, elapsed, "no response within")?;
    let healed = task_ok(env, rig, block, &quorums).await?;
    Ok(format!(
        "stalled endpoint (3 s delay > {:?} timeout): task {task_id} {typed}; healed task {healed} accepted",
        rig.retry.request_timeout
    ))
}

/// A SquaringTask created on chain and aggregated by the rig, ready to submit.
struct ChainTask {
    index: u32,
    request: SubmissionRequest,
}

async fn chain_task(env: &Env, rig: &Rig, quorums: &[u8], number: u64) -> Result<ChainTask> {
    let (index, task, response) =
        super::submit::create_squaring_task(env, quorums, 50, U256::from(number)).await?;
    env.devnet.chain.mine(1).await?;
    aggregate_chain_task(env, rig, env.core.registry(), index, &task, &response).await
}

async fn aggregate_chain_task(
    env: &Env,
    rig: &Rig,
    members_from: &impl OperatorRegistry<Bn254Scheme>,
    index: u32,
    task: &TaskManager::Task,
    response: &TaskManager::TaskResponse,
) -> Result<ChainTask> {
    let block = u64::from(task.taskCreatedBlock);
    let quorums: Vec<u8> = task.quorumNumbers.to_vec();
    let (signers, thresholds) = all_members(env, members_from, block, &quorums).await?;
    let digest = super::submit::squaring_digest(response);
    let agg = env
        .aggregate_on(
            &rig.core,
            env.task_id(),
            block,
            &thresholds,
            digest,
            &signers,
        )
        .await?;
    Ok(ChainTask {
        index,
        request: SubmissionRequest {
            aggregate: (*agg).clone(),
            payload: super::submit::squaring_payload(index, task, response),
        },
    })
}

async fn stored(env: &Env, index: u32) -> Result<bool> {
    let tm = ISquaringTask::new(
        env.devnet.info.contracts.task_manager,
        env.devnet.chain.provider.clone(),
    );
    Ok(tm.allTaskResponses(index).call().await? != B256::ZERO)
}

/// A tampered aggregate and a duplicate response revert with typed errors and reasons; the
/// next submission still lands (the nonce survived).
async fn reverting_submissions(env: &Env, rig: &Rig) -> Result<String> {
    let first = chain_task(env, rig, &[0], 1234).await?;
    let second = chain_task(env, rig, &[0], 4321).await?;
    let task_id = first.request.aggregate.task_id;

    let mut tampered = first.request.clone();
    // The G1 generator: a valid point, but not the signers' aggregate signature.
    tampered.aggregate.signers_agg_sig_g1 = quorate_domain::G1Point {
        x: U256::from(1u8),
        y: U256::from(2u8),
    };
    let bad = match rig.submitter.submit(&tampered).await {
        Err(SubmitError::Reverted { task_id: t, reason })
            if t == task_id
                && (reason.contains("InvalidBLSSignature") || reason.contains("ab1b236b")) =>
        {
            reason
        }
        other => bail!("tampered sigma: expected Reverted(InvalidBLSSignature), got {other:?}"),
    };

    // The same response twice at once: one lands, the other reverts (in simulation or on
    // chain, depending on timing), typed either way.
    let (a, b) = tokio::join!(
        rig.submitter.submit(&first.request),
        rig.submitter.submit(&first.request)
    );
    let duplicate = match (a, b) {
        (Ok(_), Err(SubmitError::Reverted { reason, .. }))
        | (Err(SubmitError::Reverted { reason, .. }), Ok(_)) => reason,
        other => bail!("concurrent duplicates: expected one Ok and one Reverted, got {other:?}"),
    };
    ensure!(stored(env, first.index).await?, "first response not stored");
    let receipt = rig
        .submitter
        .submit(&second.request)
        .await
        .map_err(|e| anyhow!("submission after the reverts: {e}"))?;
    ensure!(
        stored(env, second.index).await?,
        "second response not stored"
    );
    Ok(format!(
        "reverting submissions: tampered sigma -> Reverted({bad}); duplicate -> Reverted({duplicate}); next submission landed in block {:?}",
        receipt.block
    ))
}

/// Runs every fault scenario; returns (passed, failed).
pub async fn run(env: &mut Env) -> Result<(u32, u32)> {
    let started = Instant::now();
    let rig = Rig::new(env).await?;
    let (mut passed, mut failed) = (0u32, 0u32);
    let mut record = |name: &str, r: Result<String>| match r {
        Ok(line) => {
            passed += 1;
            println!("ok   faults/{name}: {line}");
        }
        Err(e) => {
            failed += 1;
            println!("FAIL faults/{name}: {e:#}");
        }
    };
    let kinds = [
        Fault::Drop,
        Fault::Http(503),
        Fault::Corrupt,
        Fault::Truncate,
        Fault::RpcError(-32603),
        Fault::Delay(Duration::from_secs(2)),
    ];
    for fault in kinds {
        record("transient", transient(env, &rig, fault).await);
    }
    record("every-2nd-call", every_other_call(env, &rig).await);
    record("persistent-503", persistent_isolated(env, &rig).await);
    record("persistent-stall", persistent_stall(env, &rig).await);
    record("revert", reverting_submissions(env, &rig).await);
    record("anvil-restart", chain::anvil_restart(env, &rig).await);
    // Last: the reorg deregisters an operator, which the devnet description does not know.
    record("reorg", chain::reorg(env, &rig).await);
    rig.core.shutdown().await;
    println!(
        "faults: {passed} passed, {failed} failed ({:.0?}, {} proxied calls)",
        started.elapsed(),
        rig.proxy.calls()
    );
    Ok((passed, failed))
}

/// A fresh random response digest.
fn random_digest() -> ResponseDigest {
    ResponseDigest::new(rand::random())
}
