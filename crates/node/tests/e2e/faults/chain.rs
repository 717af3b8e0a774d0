//! Faults of the chain itself: anvil killed and restarted from a state dump, and a reorg that
//! replaces a task's reference block.
//!
//! What Quorate does about reorgs (docs/chain-adapter.md, "Reorgs"): operator sets are cached
//! per (block number, quorums) in the adapter and in the runtime, so a reference block must be
//! final. If it is not and a reorg replaces it, the cached set is stale; the chain's own
//! `checkSignatures` (inside `respondToSquaringTask`) then refuses the aggregate, and the
//! submitter reports a typed `SubmitError::Reverted`. Tasks at blocks fetched after the reorg
//! see the new state.

use std::io::Read;
use std::time::{Duration, Instant};

use alloy::network::TransactionBuilder;
use alloy::primitives::{Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use anyhow::{anyhow, bail, ensure, Context, Result};
use eigenlayer_contract_deployer::bindings::core::allocation_manager::IAllocationManagerTypes::DeregisterParams;
use eigenlayer_contract_deployer::bindings::AllocationManager;
use quorate_chain_adapter::contracts::ISquaringTask;
use quorate_domain::{OperatorId, OperatorRegistry, ResponseSubmitter, SubmitError};

use super::{
    aggregate_chain_task, all_members, chain_task, expect_unavailable, fresh_block, metadata, sign,
    stored, task_ok, Rig,
};
use crate::env::{quorum_numbers, Env};
use crate::scenarios::live_quorums;
use quorate_devnet::repo_root;

/// `anvil_dumpState` (gzipped JSON, hex) written as the JSON `--load-state` reads.
async fn dump_state(env: &Env, path: &std::path::Path) -> Result<()> {
    let hex: Bytes = env
        .devnet
        .chain
        .provider
        .raw_request("anvil_dumpState".into(), ())
        .await?;
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(hex.as_ref())
        .read_to_end(&mut json)
        .context("anvil_dumpState is not gzip")?;
    std::fs::write(path, json)?;
    Ok(())
}

/// Waits until anvil answers again on its (unchanged) port.
async fn wait_up(env: &Env) -> Result<u64> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match env.devnet.chain.provider.get_block_number().await {
            Ok(n) => return Ok(n),
            Err(e) if Instant::now() > deadline => bail!("anvil not back after restart: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// anvil is killed (SIGKILL) mid-run and restarted on the same port from a state dump. During
/// the outage: signatures for a task with a cached set are still verified and counted, a new
/// task fails typed and in time, a submission fails with `RpcUnavailable`. After the restart:
/// the held task completes, the same submission lands, new tasks succeed.
pub async fn anvil_restart(env: &mut Env, rig: &Rig) -> Result<String> {
    let pending = chain_task(env, rig, &[0], 777).await?;
    let b1 = fresh_block(env).await?;
    let quorums = live_quorums(env, b1);
    let (signers, thresholds) = all_members(env, env.core.registry(), b1, &quorums).await?;
    let (held, early) = signers
        .split_last()
        .ok_or_else(|| anyhow!("no signers at block {b1}"))?;
    let cached = env.task_id();
    rig.core
        .initialize_task(metadata(cached, b1, &thresholds)?)
        .await?;
    let head = env.devnet.chain.provider.get_block_number().await?;

    let state = repo_root().join(".devnet").join("faults-anvil-state.json");
    dump_state(env, &state).await?;
    env.devnet.anvil.kill();
    let outage = Instant::now();

    // The runtime keeps serving: signatures are verified locally.
    let digest = super::random_digest();
    sign(env, &rig.core, cached, digest, early).await?;
    // A task needing a fetch fails typed. (ready_block: a key the rig has not cached.)
    let block = env.devnet.info.ready_block;
    let qs = live_quorums(env, block);
    let loose: Vec<(u8, u8)> = qs.iter().map(|&q| (q, 1)).collect();
    let failing = env.task_id();
    let started = Instant::now();
    let res = rig
        .core
        .initialize_task(metadata(failing, block, &loose)?)
        .await;
    let typed = expect_unavailable(rig, res, failing, block, started.elapsed(), "")?;
    let task_id = pending.request.aggregate.task_id;
    match rig.submitter.submit(&pending.request).await {
        Err(SubmitError::RpcUnavailable { task_id: t, .. }) if t == task_id => {}
        other => bail!("submission during the outage: expected RpcUnavailable, got {other:?}"),
    }

    env.devnet.anvil.restart(&state)?;
    // The dump is ~8 MB and only needed to start.
    let _ = std::fs::remove_file(&state);
    let after = wait_up(env).await?;
    let down_for = outage.elapsed();
    ensure!(
        after == head,
        "restarted at block {after}, dumped at {head}"
    );

    sign(env, &rig.core, cached, digest, std::slice::from_ref(held)).await?;
    let agg = rig
        .core
        .wait_for_aggregation(cached, Duration::from_secs(30))
        .await?;
    super::accepted(env, &agg).await?;
    let receipt = rig
        .submitter
        .submit(&pending.request)
        .await
        .map_err(|e| anyhow!("the same submission after the restart: {e}"))?;
    ensure!(stored(env, pending.index).await?, "response not stored");
    let b2 = fresh_block(env).await?;
    let fresh = task_ok(env, rig, b2, &live_quorums(env, b2)).await?;
    Ok(format!(
        "anvil down {down_for:.1?}: {} signatures counted, task {failing} {typed}, submission RpcUnavailable; after restart (block {after}) held task {cached} completed, submission landed in block {:?}, new task {fresh} accepted",
        early.len(),
        receipt.block
    ))
}

/// Sends without waiting for a receipt (automine is off while building a block). The nonce
/// is read from the chain: the provider's nonce cache still counts transactions that the
/// revert undid.
async fn send_unmined(
    env: &Env,
    from: alloy::primitives::Address,
    to: alloy::primitives::Address,
    data: Bytes,
) -> Result<alloy::primitives::B256> {
    let nonce = env
        .devnet
        .chain
        .provider
        .get_transaction_count(from)
        .pending()
        .await?;
    let tx = TransactionRequest::default()
        .from(from)
        .to(to)
        .input(data.into())
        .with_nonce(nonce)
        .with_gas_limit(3_000_000);
    let pending = env.devnet.chain.provider.send_transaction(tx).await?;
    Ok(*pending.tx_hash())
}

/// A reorg replaces reference block R: in the new R an operator deregisters from quorum 0 and
/// a new task is created. The stale cached operator set gives an aggregate that the chain
/// refuses: a typed `Reverted`, no panic. A task at a block after the reorg sees the new set
/// and lands.
pub async fn reorg(env: &Env, rig: &Rig) -> Result<String> {
    let chain = &env.devnet.chain;
    let info = &env.devnet.info;
    let snapshot: U256 = chain
        .provider
        .raw_request("evm_snapshot".into(), ())
        .await?;

    // Original branch: task T1 created in block R; Quorate aggregates it, caching (R, [0]).
    let number = U256::from(99u64);
    let (i1, task1, resp1) =
        super::super::submit::create_squaring_task(env, &[0], 50, number).await?;
    let r = u64::from(task1.taskCreatedBlock);
    chain.mine(1).await?;
    let t1 = aggregate_chain_task(env, rig, env.core.registry(), i1, &task1, &resp1).await?;
    super::accepted(env, &t1.request.aggregate).await?;
    // The operator that will leave: a signer of T1 in quorum 0.
    let state = rig
        .registry
        .operator_state(r, &quorum_numbers(&[0]))
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let leaver: OperatorId = *t1
        .request
        .aggregate
        .signer_ids
        .iter()
        .find(|id| {
            state
                .operators
                .get(id)
                .is_some_and(|o| o.stakes.contains_key(&quorate_domain::QuorumNumber(0)))
        })
        .ok_or_else(|| anyhow!("no signer in quorum 0"))?;
    let leaver_address = info
        .operators
        .iter()
        .find(|o| OperatorId::from_hex(&o.operator_id).ok() == Some(leaver))
        .map(|o| o.address)
        .ok_or_else(|| anyhow!("leaver not in the devnet description"))?;

    // Reorg: back before R, and a different block R.
    let reverted: bool = chain
        .provider
        .raw_request("evm_revert".into(), (snapshot,))
        .await?;
    ensure!(reverted, "evm_revert refused");
    ensure!(
        chain.provider.get_block_number().await? == r.saturating_sub(1),
        "head after revert is not R-1"
    );
    let _: serde_json::Value = chain
        .provider
        .raw_request("evm_setAutomine".into(), (false,))
        .await?;
    let deregister = AllocationManager::deregisterFromOperatorSetsCall {
        params: DeregisterParams {
            operator: leaver_address,
            avs: info.contracts.service_manager,
            operatorSetIds: vec![0],
        },
    };
    let number2 = U256::from(98u64);
    let create = ISquaringTask::createSquaringTaskCall {
        number: number2,
        quorumThresholdPercentage: 50,
        quorumNumbers: vec![0u8].into(),
    };
    let sent = async {
        let h1 = send_unmined(
            env,
            leaver_address,
            info.contracts.allocation_manager,
            deregister.abi_encode().into(),
        )
        .await?;
        let h2 = send_unmined(
            env,
            info.owner.address,
            info.contracts.task_manager,
            create.abi_encode().into(),
        )
        .await?;
        chain.mine(1).await?;
        Ok::<_, anyhow::Error>((h1, h2))
    }
    .await;
    let _: serde_json::Value = chain
        .provider
        .raw_request("evm_setAutomine".into(), (true,))
        .await?;
    let (h1, h2) = sent?;
    let r1 = chain
        .provider
        .get_transaction_receipt(h1)
        .await?
        .ok_or_else(|| anyhow!("deregistration not mined"))?;
    let r2 = chain
        .provider
        .get_transaction_receipt(h2)
        .await?
        .ok_or_else(|| anyhow!("task creation not mined"))?;
    ensure!(
        r1.status() && r2.status(),
        "replacing block's transactions failed"
    );
    ensure!(
        r1.block_number == Some(r) && r2.block_number == Some(r),
        "replacing transactions not in block {r}: {:?} {:?}",
        r1.block_number,
        r2.block_number
    );
    let (i2, task2, resp2) = super::super::submit::task_from_receipt(&r2, number2)?;
    ensure!(u64::from(task2.taskCreatedBlock) == r, "task 2 not at R");
    chain.mine(1).await?;

    // Quorate at R again: the set cached before the reorg (with the leaver) is used.
    let t2 = aggregate_chain_task(env, rig, env.core.registry(), i2, &task2, &resp2).await?;
    ensure!(
        t2.request.aggregate.signer_ids.contains(&leaver),
        "the stale set should still hold the leaver"
    );
    let task_id = t2.request.aggregate.task_id;
    let stale = match rig.submitter.submit(&t2.request).await {
        Err(SubmitError::Reverted { task_id: t, reason }) if t == task_id => reason,
        other => bail!("stale aggregate at a replaced block: expected Reverted, got {other:?}"),
    };
    ensure!(!stored(env, i2).await?, "a stale aggregate was stored");

    // After the reorg, a task at a new block sees the leaver gone and lands.
    let t3 = chain_task(env, rig, &[0], 97).await?;
    let b3 = t3.request.aggregate.reference_block;
    let state3 = rig
        .registry
        .operator_state(b3, &quorum_numbers(&[0]))
        .await
        .map_err(|e| anyhow!("{e}"))?;
    ensure!(
        !state3.operators.contains_key(&leaver),
        "leaver still a member at block {b3}"
    );
    rig.submitter
        .submit(&t3.request)
        .await
        .map_err(|e| anyhow!("submission after the reorg: {e}"))?;
    ensure!(
        stored(env, t3.index).await?,
        "post-reorg response not stored"
    );
    Ok(format!(
        "block {r} replaced (operator {leaver} deregistered from quorum 0): stale aggregate for task {task_id} -> Reverted({stale}); task at block {b3} without it landed"
    ))
}
