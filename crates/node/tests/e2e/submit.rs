//! Full submissions: a task created on the Incredible Squaring task manager, signed by the
//! operators, aggregated by the runtime and sent by the chain submitter, then read back.

use std::time::Duration;

use alloy::primitives::{B256, U256};
use alloy::providers::Provider;
use alloy::sol_types::{SolCall, SolEvent, SolValue};
use anyhow::{anyhow, bail, Result};
use quorate_chain_adapter::contracts::{ISquaringTask, TaskManager};
use quorate_chain_adapter::{AvsProfile, AvsResponseCall, ChainSubmitter, SubmitterConfig};
use quorate_domain::{ResponseDigest, SubmissionRequest};
use rand::Rng;
use rand_chacha::ChaCha20Rng;

use super::env::Env;
use super::scenarios::{live_quorums, pick_quorums, pick_signers};

/// A squaring task created on chain and aggregated by the runtime, ready to submit.
struct Signed {
    index: u32,
    quorums: Vec<u8>,
    threshold: u8,
    operators: usize,
    request: SubmissionRequest,
}

/// Creates a random squaring task at the head and aggregates its operators' signatures.
async fn create_and_sign(env: &Env, rng: &mut ChaCha20Rng) -> Result<Signed> {
    let head = chain_head(env).await?;
    let quorums = pick_quorums(rng, &live_quorums(env, head));
    let threshold: u8 = rng.gen_range(10..=67);
    let number = U256::from(rng.gen_range(2u64..1_000_000));
    let (index, task, response) = create_squaring_task(env, &quorums, threshold, number).await?;
    let digest = squaring_digest(&response);
    let block = u64::from(task.taskCreatedBlock);
    let (signers, thresholds, operators) =
        pick_signers(env, rng, block, &quorums, Some(threshold)).await?;
    let agg = env
        .aggregate(env.task_id(), block, &thresholds, digest, &signers)
        .await?;
    Ok(Signed {
        index,
        quorums,
        threshold,
        operators,
        request: SubmissionRequest {
            aggregate: (*agg).clone(),
            payload: squaring_payload(index, &task, &response),
        },
    })
}

/// The digest operators sign for a squaring response: keccak256(abi.encode(response)).
pub fn squaring_digest(response: &TaskManager::TaskResponse) -> ResponseDigest {
    ResponseDigest(alloy::primitives::keccak256(response.abi_encode()))
}

/// What the node hands the submitter for a squaring task and its response.
pub fn squaring_payload(
    index: u32,
    task: &TaskManager::Task,
    response: &TaskManager::TaskResponse,
) -> Vec<u8> {
    AvsProfile::submission_payload(
        &(index, task.clone()).abi_encode_params(),
        &response.abi_encode(),
    )
}

/// Incredible Squaring's respond call, from the committed example configuration.
pub fn squaring_profile(env: &Env) -> Result<std::sync::Arc<AvsProfile>> {
    let task_manager = env.devnet.info.contracts.task_manager;
    super::env::example_avs("incredible-squaring", task_manager, &env.devnet)
}

/// The submitter of the devnet's aggregator account, polling receipts every `poll`.
fn submitter(
    env: &Env,
    poll: Duration,
) -> Result<ChainSubmitter<alloy::providers::DynProvider, std::sync::Arc<AvsProfile>>> {
    let info = &env.devnet.info;
    Ok(ChainSubmitter::new(
        env.devnet.chain.provider.clone(),
        info.aggregator.address,
        squaring_profile(env)?,
        SubmitterConfig {
            poll_interval: poll,
            ..SubmitterConfig::default()
        },
    ))
}

/// Receipt polling when anvil mines on arrival.
const AUTOMINE_POLL: Duration = Duration::from_millis(10);

/// The squaring call without its answered-task record: every submission is sent.
struct WithoutRecord(std::sync::Arc<AvsProfile>);

impl AvsResponseCall for WithoutRecord {
    fn target(&self) -> alloy::primitives::Address {
        self.0.target()
    }

    fn calldata(&self, request: &SubmissionRequest) -> Result<alloy::primitives::Bytes, String> {
        self.0.calldata(request)
    }
}

/// One full submission; returns a log line.
pub async fn submit_one(env: &Env, rng: &mut ChaCha20Rng) -> Result<String> {
    let info = &env.devnet.info;
    let chain = &env.devnet.chain;
    let Signed {
        index,
        quorums,
        threshold,
        operators,
        request,
    } = create_and_sign(env, rng).await?;
    // checkSignatures needs referenceBlock < block.number; the response lands later anyway,
    // but simulation runs at the head.
    chain.mine(1).await?;
    let submitter = submitter(env, AUTOMINE_POLL)?;
    let agg = &request.aggregate;
    let sent = quorate_domain::ResponseSubmitter::submit(&submitter, &request).await?;

    // Read back: the task manager stored a response hash for the task.
    let tm = ISquaringTask::new(info.contracts.task_manager, chain.provider.clone());
    let stored = tm.allTaskResponses(index).call().await?;
    if stored == B256::ZERO {
        bail!(
            "task {index}: no response stored after tx {:?}",
            sent.tx_hash
        );
    }
    // Sending it again sends nothing: the submitter sees the stored response first.
    match quorate_domain::ResponseSubmitter::submit(&submitter, &request).await {
        Ok(again) if again.tx_hash.is_none() => {}
        other => bail!(
            "task {index}: a second submission should find the stored response and send nothing, got {other:?}"
        ),
    }
    // Without that check the contract itself refuses, with a readable reason.
    let blind = ChainSubmitter::new(
        chain.provider.clone(),
        info.aggregator.address,
        WithoutRecord(squaring_profile(env)?),
        SubmitterConfig::default(),
    );
    match quorate_domain::ResponseSubmitter::submit(&blind, &request).await {
        Err(quorate_domain::SubmitError::Reverted { reason, .. })
            if reason.contains("already responded") => {}
        other => bail!(
            "task {index}: a second response should revert with 'already responded', got {other:?}"
        ),
    }
    Ok(format!(
        "task {index}: quorums {quorums:?} threshold {threshold}% signers {}/{operators} -> tx {} (block {:?}, gas {:?}), stored {stored}",
        agg.signer_ids.len(),
        sent.tx_hash.map(|h| h.to_string()).unwrap_or_default(),
        sent.block,
        sent.gas_used,
    ))
}

/// Creates a SquaringTask task (mined in its own block, which is its reference block) and
/// returns its index, the task and the correct response (`number²`).
pub async fn create_squaring_task(
    env: &Env,
    quorums: &[u8],
    threshold: u8,
    number: U256,
) -> Result<(u32, TaskManager::Task, TaskManager::TaskResponse)> {
    let info = &env.devnet.info;
    let create = ISquaringTask::createSquaringTaskCall {
        number,
        quorumThresholdPercentage: u32::from(threshold),
        quorumNumbers: quorums.to_vec().into(),
    };
    let receipt = env
        .devnet
        .chain
        .call(
            info.owner.address,
            info.contracts.task_manager,
            create.abi_encode().into(),
            "createSquaringTask",
        )
        .await?;
    task_from_receipt(&receipt, number)
}

/// The task announced in a `createSquaringTask` receipt, and its correct response.
pub fn task_from_receipt(
    receipt: &alloy::rpc::types::TransactionReceipt,
    number: U256,
) -> Result<(u32, TaskManager::Task, TaskManager::TaskResponse)> {
    let created = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| ISquaringTask::NewTaskCreated::decode_log(&l.inner).ok())
        .ok_or_else(|| anyhow!("no NewTaskCreated event"))?;
    let index = created.data.taskIndex;
    let response = TaskManager::TaskResponse {
        referenceTaskIndex: index,
        message: (number * number).abi_encode().into(),
    };
    Ok((index, created.data.task.clone(), response))
}

async fn chain_head(env: &Env) -> Result<u64> {
    Ok(env.devnet.chain.provider.get_block_number().await?)
}

/// Tasks that finish together are submitted together: `n` aggregates sent at once from one
/// account while anvil mines a block every `interval_s` seconds (as a real chain does) must
/// land in a few blocks, not one per block. With `sequential`, each waits for the previous
/// one's receipt instead (the behaviour before nonces were pipelined), for comparison.
/// Returns a log line with the blocks used.
pub async fn submit_together(
    env: &Env,
    rng: &mut ChaCha20Rng,
    n: usize,
    interval_s: u64,
    sequential: bool,
) -> Result<String> {
    let chain = &env.devnet.chain;
    let mut signed = Vec::with_capacity(n);
    for _ in 0..n {
        signed.push(create_and_sign(env, rng).await?);
    }
    chain.mine(1).await?;
    // The default receipt polling (200 ms): 50 submitters polling at 10 ms would load anvil
    // enough to delay the sends themselves past a block.
    let submitter = submitter(env, SubmitterConfig::default().poll_interval)?;
    let set_mining = |auto: bool, interval: u64| async move {
        let _: serde_json::Value = chain
            .provider
            .raw_request("evm_setIntervalMining".into(), (interval,))
            .await?;
        let _: serde_json::Value = chain
            .provider
            .raw_request("evm_setAutomine".into(), (auto,))
            .await?;
        Ok::<_, anyhow::Error>(())
    };
    set_mining(false, interval_s).await?;
    let started = std::time::Instant::now();
    let receipts = if sequential {
        let mut out = Vec::with_capacity(n);
        for s in &signed {
            out.push(quorate_domain::ResponseSubmitter::submit(&submitter, &s.request).await);
        }
        out
    } else {
        futures::future::join_all(
            signed
                .iter()
                .map(|s| quorate_domain::ResponseSubmitter::submit(&submitter, &s.request)),
        )
        .await
    };
    let took = started.elapsed();
    set_mining(true, 0).await?;
    let mut blocks = std::collections::BTreeSet::new();
    for (s, r) in signed.iter().zip(receipts) {
        let r = r.map_err(|e| anyhow!("task {}: {e}", s.index))?;
        blocks.insert(
            r.block
                .ok_or_else(|| anyhow!("task {}: no block in receipt", s.index))?,
        );
        let tm = ISquaringTask::new(
            env.devnet.info.contracts.task_manager,
            chain.provider.clone(),
        );
        if tm.allTaskResponses(s.index).call().await? == B256::ZERO {
            bail!("task {}: no response stored", s.index);
        }
    }
    let mode = if sequential {
        "one after another"
    } else {
        "together"
    };
    let line = format!(
        "{n} submissions sent {mode}, a block every {interval_s} s: {} block(s) used {blocks:?}, {took:.1?}",
        blocks.len()
    );
    if !sequential && blocks.len() > 2 {
        bail!("{line}: more than 2 blocks");
    }
    Ok(line)
}
