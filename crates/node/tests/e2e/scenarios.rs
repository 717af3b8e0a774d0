//! Seeded random scenarios checked by the on-chain `checkSignatures`, and tampered aggregates
//! that it must reject.

use std::collections::BTreeSet;

use alloy::primitives::{Bytes, U256};
use anyhow::{anyhow, bail, Result};
use quorate_chain_adapter::contracts::IBLSSignatureCheckerTypes::NonSignerStakesAndSignature;
use quorate_chain_adapter::convert::{non_signer_stakes_and_signature, stake_from_u96};
use quorate_domain::{AggregatedResponse, OperatorId, OperatorRegistry, ResponseDigest, Stake};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha20Rng;

use super::env::{quorum_numbers, Env};

/// What one scenario task showed.
pub struct TaskReport {
    /// On-chain `checkSignatures` accepted it with the runtime's stakes.
    pub accepted: bool,
    /// Why not, if not.
    pub failure: Option<String>,
    /// Registry RPC calls spent on it.
    pub rpc_calls: u64,
    /// Operators in the task's quorums.
    pub operators: usize,
    /// Tampered variants tried and how many were rejected.
    pub tampered: (u32, u32),
    /// Quorums and thresholds, for the log line.
    pub shape: String,
}

/// Calls `checkSignatures`; `Ok((signed, total))` or the revert text.
pub async fn check_on_chain(
    env: &Env,
    agg: &AggregatedResponse,
    params: NonSignerStakesAndSignature,
) -> Result<(Vec<Stake>, Vec<Stake>), String> {
    let reference = u32::try_from(agg.reference_block).map_err(|e| e.to_string())?;
    let quorums: Bytes = agg.quorum_numbers_bytes().into();
    match env
        .checker
        .checkSignatures(agg.digest.0, quorums, reference, params)
        .call()
        .await
    {
        Ok(ret) => Ok((
            ret._0
                .signedStakeForQuorum
                .iter()
                .map(|s| stake_from_u96(*s))
                .collect(),
            ret._0
                .totalStakeForQuorum
                .iter()
                .map(|s| stake_from_u96(*s))
                .collect(),
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Operators the devnet registered in any of `quorums` by `block` (independent of the registry).
fn expected_members(env: &Env, block: u64, quorums: &[u8]) -> Result<BTreeSet<OperatorId>> {
    env.devnet
        .info
        .operators
        .iter()
        .filter(|o| o.registered_block <= block && o.quorums.iter().any(|q| quorums.contains(q)))
        .map(|o| OperatorId::from_hex(&o.operator_id).map_err(|e| anyhow!("{e}")))
        .collect()
}

/// Quorums with at least one member at `block`.
pub fn live_quorums(env: &Env, block: u64) -> Vec<u8> {
    (0..env.devnet.info.quorums.len() as u8)
        .filter(|q| {
            env.devnet
                .info
                .operators
                .iter()
                .any(|o| o.registered_block <= block && o.quorums.contains(q))
        })
        .collect()
}

/// Picks signers (some random fraction offline) so that every quorum keeps ≥ 1% signed, and
/// thresholds each quorum can meet; `fixed` forces one threshold for all quorums.
pub async fn pick_signers(
    env: &Env,
    rng: &mut ChaCha20Rng,
    block: u64,
    quorums: &[u8],
    fixed: Option<u8>,
) -> Result<(Vec<OperatorId>, Vec<(u8, u8)>, usize)> {
    let qn = quorum_numbers(quorums);
    let state = env
        .core
        .registry()
        .operator_state(block, &qn)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let members: BTreeSet<OperatorId> = state.operators.keys().copied().collect();
    let expected = expected_members(env, block, quorums)?;
    if members != expected {
        bail!("registry membership at block {block} for {quorums:?} differs from the devnet's: {} vs {}", members.len(), expected.len());
    }
    let offline = if rng.gen_bool(0.15) {
        0.0
    } else {
        rng.gen_range(0.0..0.6)
    };
    let mut signers: BTreeSet<OperatorId> = members
        .iter()
        .filter(|_| !rng.gen_bool(offline))
        .copied()
        .collect();
    let signed_pct = |signers: &BTreeSet<OperatorId>, q: &quorate_domain::QuorumState<_>| -> u64 {
        let signed: Stake = signers
            .iter()
            .filter_map(|id| {
                state
                    .operators
                    .get(id)
                    .and_then(|o| o.stakes.get(&q.quorum))
            })
            .fold(Stake::ZERO, |a, s| a + *s);
        if q.total_stake.is_zero() {
            return 100;
        }
        (signed * U256::from(100u8) / q.total_stake).saturating_to::<u64>()
    };
    let need = u64::from(fixed.unwrap_or(1));
    for q in &state.quorums {
        let mut candidates: Vec<OperatorId> = state
            .operators
            .values()
            .filter(|o| o.stakes.contains_key(&q.quorum) && !signers.contains(&o.id))
            .map(|o| o.id)
            .collect();
        candidates.shuffle(rng);
        while signed_pct(&signers, q) < need {
            let Some(id) = candidates.pop() else { break };
            signers.insert(id);
        }
    }
    let thresholds = state
        .quorums
        .iter()
        .map(|q| {
            let max = signed_pct(&signers, q).clamp(1, 100) as u8;
            (
                q.quorum.0,
                fixed.unwrap_or_else(|| {
                    if rng.gen_bool(0.2) {
                        max
                    } else {
                        rng.gen_range(1..=max)
                    }
                }),
            )
        })
        .collect();
    Ok((
        signers.into_iter().collect(),
        thresholds,
        state.operators.len(),
    ))
}

/// One random task at `block` over `quorums`, checked on chain, plus tampered variants.
pub async fn run_task(
    env: &Env,
    rng: &mut ChaCha20Rng,
    block: u64,
    quorums: &[u8],
) -> Result<TaskReport> {
    let before = env.registry_calls.total();
    let (signers, thresholds, operators) = pick_signers(env, rng, block, quorums, None).await?;
    let digest = ResponseDigest::new(rng.gen());
    let task_id = env.task_id();
    let agg = env
        .aggregate(task_id, block, &thresholds, digest, &signers)
        .await?;
    let rpc_calls = env.registry_calls.total() - before;
    let shape = format!(
        "block {block} quorums/thresholds {thresholds:?} signers {}/{operators}",
        agg.signer_ids.len()
    );

    let params = non_signer_stakes_and_signature(&agg);
    let (accepted, failure) = match check_on_chain(env, &agg, params.clone()).await {
        Ok((signed, total)) if signed == agg.signed_stake && total == agg.total_stake => {
            (true, None)
        }
        Ok((signed, total)) => (
            false,
            Some(format!(
                "stakes differ: chain signed {signed:?} total {total:?}, runtime {:?} {:?}",
                agg.signed_stake, agg.total_stake
            )),
        ),
        Err(e) => (false, Some(format!("checkSignatures reverted: {e}"))),
    };

    // Tampering: one bit of sigma; one non-signer dropped (with its index entries).
    let mut tried = 0;
    let mut rejected = 0;
    let mut flipped = params.clone();
    flipped.sigma.X ^= U256::from(1u8);
    tried += 1;
    if check_on_chain(env, &agg, flipped).await.is_err() {
        rejected += 1;
    }
    if let Some(dropped) = agg.non_signer_ids.first() {
        let state = env
            .core
            .registry()
            .operator_state(block, &quorum_numbers(quorums))
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let mut fewer = params.clone();
        fewer.nonSignerPubkeys.remove(0);
        fewer.nonSignerQuorumBitmapIndices.remove(0);
        for (i, q) in agg.quorum_numbers.iter().enumerate() {
            let member = state
                .operators
                .get(dropped)
                .is_some_and(|o| o.stakes.contains_key(q));
            if member {
                if let Some(list) = fewer.nonSignerStakeIndices.get_mut(i) {
                    if !list.is_empty() {
                        list.remove(0);
                    }
                }
            }
        }
        tried += 1;
        if check_on_chain(env, &agg, fewer).await.is_err() {
            rejected += 1;
        }
    }
    Ok(TaskReport {
        accepted,
        failure,
        rpc_calls,
        operators,
        tampered: (tried, rejected),
        shape,
    })
}

/// A random non-empty ascending subset of `from` with at most 3 quorums.
pub fn pick_quorums(rng: &mut ChaCha20Rng, from: &[u8]) -> Vec<u8> {
    let k = rng.gen_range(1..=from.len().min(3));
    let mut qs: Vec<u8> = from.choose_multiple(rng, k).copied().collect();
    qs.sort_unstable();
    qs
}
