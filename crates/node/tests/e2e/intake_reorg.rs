//! A reorg under the task intake: a task the node took from a confirmed block is cancelled
//! when a reorg removes that block (anvil's `evm_revert` back past it, then new blocks).

use std::time::Duration;

use alloy::primitives::U256;
use alloy::providers::Provider;
use anyhow::{ensure, Result};

use super::env::Env;
use super::node::{self, Avs, Children};

/// Waits (up to 30 s, while blocks are mined) until a node task from the chain satisfies
/// `done`.
async fn wait_for_task(
    env: &Env,
    list: impl Fn() -> Result<Vec<serde_json::Value>>,
    done: impl Fn(&serde_json::Value) -> bool,
    what: &str,
) -> Result<serde_json::Value> {
    let what = format!("a node task {what}");
    node::mine_until(env, Duration::from_secs(30), &what, || {
        let found = list().map(|tasks| tasks.into_iter().find(|t| done(t)));
        async move { found }
    })
    .await
}

/// Runs the scenario; returns a log line.
pub async fn run(env: &Env) -> Result<String> {
    let avs = Avs::IncrediblySquaring;
    let chain = &env.devnet.chain;
    let bin = node::quorate_bin()?;
    let dir = std::env::temp_dir().join(format!("quorate-e2e-reorg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let (config, api_key) = node::write_client_config(&dir)?;
    let mut children = Children::default();
    let config_file = super::env::example_avs_path(avs.name());
    // No operators: the task stays collecting until the reorg removes it.
    let (_, grpc) = node::start_node(
        &mut children,
        &bin,
        env,
        &config_file,
        &dir.join("node.redb"),
        &config,
    )?;
    let list = || node::chain_tasks(&bin, &grpc, &api_key, avs);
    let before = list()?.len();
    // Let the intake record a block hash first, so the reorg is below what it has read.
    chain.mine(2).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let snapshot: U256 = chain
        .provider
        .raw_request("evm_snapshot".into(), ())
        .await?;
    // Sent through a provider of its own: the revert rolls the owner's nonce back, and the
    // devnet provider's cached nonce must not have moved past it.
    let owner: alloy::signers::local::PrivateKeySigner =
        env.devnet.info.owner.private_key.parse()?;
    let scratch = quorate_devnet::tx::Chain::connect(&env.devnet.info.rpc_url, &[owner])?;
    let index = avs.create_via(env, &scratch, 100, 991).await?;
    let created_in = chain.provider.get_block_number().await?;
    let taken = wait_for_task(
        env,
        list,
        |t| t["status"] == "collecting",
        "collecting (taken from the confirmed block)",
    )
    .await?;
    ensure!(
        list()?.len() == before + 1,
        "expected exactly one new node task"
    );

    let reverted: bool = chain
        .provider
        .raw_request("evm_revert".into(), (snapshot,))
        .await?;
    ensure!(reverted, "evm_revert refused");
    let cancelled = wait_for_task(
        env,
        list,
        |t| t["status"] == "cancelled" && t["error"].as_str().is_some_and(|e| e.contains("reorg")),
        "cancelled by the reorg",
    )
    .await?;
    ensure!(
        taken["task_id"] == cancelled["task_id"],
        "a different task was cancelled: {cancelled}"
    );
    drop(children);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(format!(
        "intake reorg: squaring task {index} (block {created_in}) taken once confirmed, then its block was reorged away -> node task cancelled: {}",
        cancelled["error"].as_str().unwrap_or_default()
    ))
}
