//! The same per-task registry reads done by eigensdk-rs's `AvsRegistryServiceChainCaller`
//! (what its BLS aggregation service calls for each task), counted through a loopback proxy.

use alloy::primitives::FixedBytes;
use anyhow::{anyhow, Result};
use eigen_client_avsregistry::reader::AvsRegistryChainReader;
use eigen_crypto_bls::BlsKeyPair;
use eigen_services_avsregistry::chaincaller::AvsRegistryServiceChainCaller;
use eigen_services_avsregistry::AvsRegistryService;
use eigen_services_operatorsinfo::fake_operator_info::FakeOperatorInfoService;

use super::env::Env;
use super::proxy::CountingProxy;

/// RPC calls eigensdk-rs makes for one task at `block` over `quorums` with `non_signers`.
///
/// Its operator-info service is given an in-memory fake (its real one subscribes over a
/// websocket and answers from memory too), so the count is only the chain caller's own reads:
/// a lower bound for eigensdk.
pub async fn calls_per_task(
    env: &Env,
    block: u64,
    quorums: &[u8],
    non_signers: &[[u8; 32]],
) -> Result<(u64, usize)> {
    let proxy = CountingProxy::start(&env.devnet.info.rpc_url).await?;
    let c = &env.devnet.info.contracts;
    let reader = AvsRegistryChainReader::new(
        c.registry_coordinator,
        c.operator_state_retriever,
        proxy.url.clone(),
    )
    .await
    .map_err(|e| anyhow!("eigensdk reader: {e:?}"))?;
    let any_key = BlsKeyPair::new("1".into()).map_err(|e| anyhow!("{e:?}"))?;
    let caller = AvsRegistryServiceChainCaller::new(
        reader,
        FakeOperatorInfoService::new(any_key, Some("127.0.0.1:0".into())),
    );
    proxy.counter.reset();
    // eigensdk's BlsAggregatorService::initialize_new_task, then the final indices lookup.
    let operators = caller
        .get_operators_avs_state_at_block(block, quorums)
        .await
        .map_err(|e| anyhow!("eigensdk operators state: {e:?}"))?;
    caller
        .get_quorums_avs_state_at_block(quorums, block)
        .await
        .map_err(|e| anyhow!("eigensdk quorums state: {e:?}"))?;
    let ids: Vec<FixedBytes<32>> = non_signers.iter().map(|b| FixedBytes::from(*b)).collect();
    caller
        .get_check_signatures_indices(block, quorums.to_vec(), ids)
        .await
        .map_err(|e| anyhow!("eigensdk indices: {e:?}"))?;
    Ok((proxy.counter.total(), operators.len()))
}
