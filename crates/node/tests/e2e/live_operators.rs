//! Live operator sets, against a running `quorate node` in chain mode: an operator registered
//! after the node started can sign in, and its signature counts (the task's threshold is one
//! that only its stake makes reachable, and the contract checks it); an operator that
//! deregisters is refused at sign-in afterwards. No restart in between.

use std::time::{Duration, Instant};

use alloy::primitives::U256;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use anyhow::{anyhow, bail, Result};
use eigenlayer_contract_deployer::bindings::core::allocation_manager::IAllocationManagerTypes::DeregisterParams;
use eigenlayer_contract_deployer::bindings::AllocationManager;
use quorate_api::pb;
use quorate_api::pb::operator_service_client::OperatorServiceClient;
use quorate_bls::KeyPair;
use quorate_devnet::operators::{make_operators, register_operators, OperatorPlan};
use quorate_devnet::tx::Chain;
use quorate_domain::{OperatorId, OperatorRegistry, QuorumNumber, U256 as Stake};

use super::env::Env;
use super::node::{self, Avs, Children};

/// Whether the node gives `id` a sign-in challenge (`Ok(false)`: refused as unregistered).
async fn may_sign_in(grpc: &str, id: &OperatorId) -> Result<bool> {
    let mut op = OperatorServiceClient::connect(grpc.to_owned()).await?;
    match op
        .get_operator_challenge(pb::OperatorChallengeRequest {
            operator_id: id.as_bytes().to_vec(),
        })
        .await
    {
        Ok(_) => Ok(true),
        Err(s) if s.code() == tonic::Code::PermissionDenied => Ok(false),
        Err(s) => bail!("challenge for {id}: {s}"),
    }
}

/// Waits (up to 20 s, while blocks are mined) until the node's answer for `id` is `want`;
/// returns how long that took.
async fn until_sign_in(env: &Env, grpc: &str, id: &OperatorId, want: bool) -> Result<Duration> {
    let started = Instant::now();
    let what = format!("operator {id}: sign-in allowed = {want}");
    node::mine_until(env, Duration::from_secs(20), &what, || async {
        Ok((may_sign_in(grpc, id).await? == want).then_some(()))
    })
    .await?;
    Ok(started.elapsed())
}

/// Runs the scenario; returns a log line.
pub async fn run(env: &Env) -> Result<String> {
    let avs = Avs::IncrediblySquaring;
    let info = &env.devnet.info;
    let bin = node::quorate_bin()?;
    let dir = std::env::temp_dir().join(format!("quorate-e2e-live-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let (config, _) = node::write_client_config(&dir)?;
    let mut children = Children::default();
    let config_file = super::env::example_avs_path(avs.name());
    let (_, grpc) = node::start_node(
        &mut children,
        &bin,
        env,
        &config_file,
        &dir.join("node.redb"),
        &config,
    )?;

    // A new operator, with more stake than any other, registered while the node runs.
    let (keys, _) = node::signers(env).await?;
    let biggest = info
        .operators
        .iter()
        .map(|o| o.deposit)
        .max()
        .unwrap_or_default();
    let plan = OperatorPlan {
        signer: PrivateKeySigner::random(),
        bls: KeyPair::random(&mut rand::thread_rng()),
        deposit: biggest * U256::from(3u8),
        quorums: vec![0],
        slashable_magnitude: 0,
    };
    let newcomer = plan.bls.operator_id();
    if may_sign_in(&grpc, &newcomer).await? {
        bail!("operator {newcomer} may sign in before it registered");
    }
    // Its own account only (MockERC20 mints to anyone): another provider sending as the devnet
    // owner would leave the devnet's cached owner nonce behind.
    let chain = Chain::connect(&info.rpc_url, std::slice::from_ref(&plan.signer))?;
    let own = plan.signer.address();
    make_operators(&chain, own, &info.contracts, std::slice::from_ref(&plan)).await?;
    let registered = register_operators(&chain, &info.contracts, std::slice::from_ref(&plan), None)
        .await?
        .first()
        .copied()
        .ok_or_else(|| anyhow!("no registration block"))?;
    let waited = until_sign_in(env, &grpc, &newcomer, true).await?;

    // Its signature must count: the threshold is above what the three largest others hold.
    env.devnet.chain.mine(1).await?;
    let block = alloy::providers::Provider::get_block_number(&env.devnet.chain.provider).await? - 1;
    let state = env
        .core
        .registry()
        .operator_state(block, &[QuorumNumber(0)])
        .await
        .map_err(|e| anyhow!("operator state: {e}"))?;
    let stake_of = |id: &OperatorId| {
        state
            .operators
            .get(id)
            .and_then(|o| o.stakes.get(&QuorumNumber(0)).copied())
            .unwrap_or_default()
    };
    let total = state
        .quorum(QuorumNumber(0))
        .map(|q| q.total_stake)
        .ok_or_else(|| anyhow!("quorum 0 missing"))?;
    let old_ids: Vec<OperatorId> = keys
        .iter()
        .map(|k| KeyPair::from_secret_str(k).map(|kp| kp.operator_id()))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow!("devnet key: {e}"))?;
    let old: Stake = old_ids.iter().map(stake_of).sum();
    let with_new = old + stake_of(&newcomer);
    let threshold = (with_new * Stake::from(100u8) / total).saturating_to::<u32>();
    if old * Stake::from(100u8) >= Stake::from(threshold) * total || threshold == 0 {
        bail!("precondition: the three others alone ({old} of {total}) would meet {threshold}%");
    }
    let mut signing = keys.clone();
    signing.push(plan.bls.secret().expose_scalar().to_string());
    node::spawn_operators(&mut children, &bin, &grpc, &signing, avs)?;
    let task = avs.create(env, threshold, 77).await?;
    env.devnet.chain.mine(2).await?;
    let answer = avs.answered(env, task, Duration::from_secs(90)).await?;

    // One of the old signers leaves quorum 0: it is refused at sign-in from then on.
    let leaver = info
        .operators
        .iter()
        .find(|o| OperatorId::from_hex(&o.operator_id).ok() == old_ids.first().copied())
        .ok_or_else(|| anyhow!("no devnet record of the largest signer"))?;
    let deregister = AllocationManager::deregisterFromOperatorSetsCall {
        params: DeregisterParams {
            operator: leaver.address,
            avs: info.contracts.service_manager,
            operatorSetIds: vec![0],
        },
    };
    env.devnet
        .chain
        .call(
            leaver.address,
            info.contracts.allocation_manager,
            deregister.abi_encode().into(),
            "deregister from quorum 0",
        )
        .await?;
    let leaver_id = old_ids[0];
    let refused_after = until_sign_in(env, &grpc, &leaver_id, false).await?;
    drop(children);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(format!(
        "live operator set: operator {newcomer} registered at block {registered} while the node ran; sign-in allowed {waited:.1?} later; task {task} at {threshold}% (unreachable without it: others hold {old} of {total}) answered on chain ({answer}); operator {leaver_id} deregistered -> sign-in refused {refused_after:.1?} later"
    ))
}
