//! Full submissions: a task created on the Incredible Squaring task manager, signed by the
//! operators, aggregated by the runtime and sent by the chain submitter, then read back.

use std::time::Duration;

use alloy::primitives::{B256, U256};
use alloy::sol_types::{SolCall, SolEvent, SolValue};
use anyhow::{anyhow, bail, Result};
use quorate_chain_adapter::contracts::{ISquaringTask, TaskManager};
use quorate_chain_adapter::{ChainSubmitter, SquaringTaskCall, SubmitterConfig};
use quorate_domain::{ResponseDigest, SubmissionRequest};
use rand::Rng;
use rand_chacha::ChaCha20Rng;

use super::env::Env;
use super::scenarios::{live_quorums, pick_quorums, pick_signers};

/// One full submission; returns a log line.
pub async fn submit_one(env: &Env, rng: &mut ChaCha20Rng) -> Result<String> {
    let info = &env.devnet.info;
    let chain = &env.devnet.chain;
    let head = chain_head(env).await?;
    let quorums = pick_quorums(rng, &live_quorums(env, head));
    let threshold: u8 = rng.gen_range(10..=67);
    let number = U256::from(rng.gen_range(2u64..1_000_000));
    let (index, task, response) = create_squaring_task(env, &quorums, threshold, number).await?;
    // checkSignatures needs referenceBlock < block.number; the response lands later anyway,
    // but simulation runs at the head.
    chain.mine(1).await?;

    let digest = ResponseDigest(SquaringTaskCall::digest(&response));
    let block = u64::from(task.taskCreatedBlock);
    let (signers, thresholds, operators) =
        pick_signers(env, rng, block, &quorums, Some(threshold)).await?;
    let agg = env
        .aggregate(env.task_id(), block, &thresholds, digest, &signers)
        .await?;

    let submitter = ChainSubmitter::new(
        chain.provider.clone(),
        info.aggregator.address,
        SquaringTaskCall {
            task_manager: info.contracts.task_manager,
        },
        SubmitterConfig {
            poll_interval: Duration::from_millis(10),
            ..SubmitterConfig::default()
        },
    );
    let request = SubmissionRequest {
        aggregate: (*agg).clone(),
        payload: SquaringTaskCall::payload(&task, &response),
    };
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
    // Sending it again must come back as a typed revert with the contract's reason.
    match quorate_domain::ResponseSubmitter::submit(&submitter, &request).await {
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
    use alloy::providers::Provider;
    Ok(env.devnet.chain.provider.get_block_number().await?)
}
