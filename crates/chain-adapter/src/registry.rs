//! `OperatorRegistry<Bn254Scheme>` over `OperatorStateRetriever`, with keys from the event-fed
//! [`PubkeyCache`].
//!
//! Calls per read: one `getOperatorState`, plus an `eth_getLogs` only when an operator
//! registered since the last sync; `getCheckSignaturesIndices` per aggregate. States are not
//! cached here: the runtime's `CachedRegistry` wrapper caches them per (block, quorums) for
//! every registry, so a second task at a block costs no call.

use std::collections::BTreeMap;
use std::sync::Arc;

use alloy::primitives::{Address, Bytes};
use alloy::providers::Provider;
use async_trait::async_trait;
use quorate_bls::{Bn254Scheme, G1PublicKey};
use quorate_domain::{
    BlockNumber, CheckSignaturesIndices, OperatorId, OperatorInfo, OperatorRegistry, OperatorState,
    QuorumNumber, QuorumState, RegistryError, SchemeOperatorState, SignatureScheme, Stake,
};

use crate::contracts::IOperatorStateRetriever;
use crate::convert::{indices_from_sol, operator_ids_to_sol, stake_from_u96};
use crate::error::registry_error;
use crate::pubkeys::PubkeyCache;

/// Where the registry contracts of one AVS live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RegistryAddresses {
    /// The (Slashing)RegistryCoordinator proxy.
    pub registry_coordinator: Address,
    /// The OperatorStateRetriever.
    pub operator_state_retriever: Address,
    /// The BLSApkRegistry proxy (source of key registration events).
    pub bls_apk_registry: Address,
}

/// Tuning of [`ChainOperatorRegistry`].
#[derive(Clone, Debug)]
pub struct ChainRegistryConfig {
    /// The contracts.
    pub addresses: RegistryAddresses,
    /// First block to read key registrations from (the registry's deployment block).
    pub from_block: BlockNumber,
    /// Blocks per `eth_getLogs` request.
    pub log_chunk: u64,
}

impl ChainRegistryConfig {
    /// Defaults for the given contracts: logs from genesis in 10k chunks.
    pub fn new(addresses: RegistryAddresses) -> Self {
        Self {
            addresses,
            from_block: 0,
            log_chunk: 10_000,
        }
    }
}

type State = SchemeOperatorState<Bn254Scheme>;

/// The chain-backed operator registry.
pub struct ChainOperatorRegistry<P> {
    provider: P,
    config: ChainRegistryConfig,
    pubkeys: Arc<PubkeyCache<P>>,
}

impl<P: Provider + Clone + 'static> ChainOperatorRegistry<P> {
    /// A registry reading through `provider`.
    pub fn new(provider: P, config: ChainRegistryConfig) -> Self {
        let pubkeys = Arc::new(PubkeyCache::new(
            provider.clone(),
            config.addresses.bls_apk_registry,
            config.from_block,
            config.log_chunk,
        ));
        Self {
            provider,
            config,
            pubkeys,
        }
    }

    /// The key cache (to backfill eagerly, or to follow blocks with a poller).
    pub fn pubkeys(&self) -> &Arc<PubkeyCache<P>> {
        &self.pubkeys
    }

    async fn fetch_state(
        &self,
        block: BlockNumber,
        quorums: &[QuorumNumber],
    ) -> Result<Arc<State>, RegistryError> {
        let (block32, quorum_bytes) = retriever_args(block, quorums)?;
        let retriever = IOperatorStateRetriever::new(
            self.config.addresses.operator_state_retriever,
            self.provider.clone(),
        );
        let per_quorum = retriever
            .getOperatorState(
                self.config.addresses.registry_coordinator,
                quorum_bytes,
                block32,
            )
            .call()
            .await
            .map_err(|e| registry_error("getOperatorState", block, quorums, &e))?;
        if per_quorum.len() != quorums.len() {
            return Err(RegistryError::InvalidData {
                reason: format!(
                    "getOperatorState at block {block}: {} quorum lists for {} quorums",
                    per_quorum.len(),
                    quorums.len()
                ),
            });
        }
        // Keys of operators registered after the last sync: one getLogs, then retry.
        let unknown = per_quorum.iter().flatten().any(|op| {
            OperatorId::try_from(op.operatorId).is_ok_and(|id| self.pubkeys.get(&id).is_none())
        });
        if unknown {
            self.pubkeys.sync_to(block).await?;
        }
        let scheme = Bn254Scheme;
        let mut operators: BTreeMap<OperatorId, OperatorInfo<_, _>> = BTreeMap::new();
        let mut quorum_states = Vec::with_capacity(quorums.len());
        for (&quorum, members) in quorums.iter().zip(&per_quorum) {
            let mut total = Stake::ZERO;
            let mut member_keys: Vec<G1PublicKey> = Vec::with_capacity(members.len());
            for op in members {
                let id = OperatorId::try_from(op.operatorId).map_err(|e| {
                    RegistryError::InvalidData {
                        reason: format!("quorum {quorum} at block {block}: {e}"),
                    }
                })?;
                let keys = self.pubkeys.get(&id).ok_or_else(|| RegistryError::InvalidData {
                    reason: format!(
                        "operator {id} ({}) in quorum {quorum} at block {block} has no registered key",
                        op.operator
                    ),
                })?;
                let stake = stake_from_u96(op.stake);
                total += stake;
                member_keys.push(keys.g1);
                operators
                    .entry(id)
                    .or_insert_with(|| OperatorInfo {
                        id,
                        pubkey_g1: keys.g1,
                        pubkey_g2: keys.g2.clone(),
                        stakes: BTreeMap::new(),
                    })
                    .stakes
                    .insert(quorum, stake);
            }
            // The quorum apk at `block` is the sum of the keys of its members at `block`:
            // BLSApkRegistry adds a key on registration and subtracts it on deregistration.
            let weighted: Vec<(&G1PublicKey, i64)> = member_keys.iter().map(|k| (k, 1)).collect();
            let apk = scheme.aggregate_g1(&weighted);
            quorum_states.push(QuorumState {
                quorum,
                total_stake: total,
                apk,
            });
        }
        Ok(Arc::new(OperatorState {
            block,
            quorums: quorum_states,
            operators,
        }))
    }
}

#[async_trait]
impl<P: Provider + Clone + Send + Sync + 'static> OperatorRegistry<Bn254Scheme>
    for ChainOperatorRegistry<P>
{
    async fn operator_state(
        &self,
        block: BlockNumber,
        quorums: &[QuorumNumber],
    ) -> Result<Arc<State>, RegistryError> {
        let mut sorted = quorums.to_vec();
        sorted.sort();
        sorted.dedup();
        self.fetch_state(block, &sorted).await
    }

    async fn check_signatures_indices(
        &self,
        block: BlockNumber,
        quorums: &[QuorumNumber],
        non_signer_ids: &[OperatorId],
    ) -> Result<CheckSignaturesIndices, RegistryError> {
        let (block32, quorum_bytes) = retriever_args(block, quorums)?;
        let retriever = IOperatorStateRetriever::new(
            self.config.addresses.operator_state_retriever,
            self.provider.clone(),
        );
        let indices = retriever
            .getCheckSignaturesIndices(
                self.config.addresses.registry_coordinator,
                block32,
                quorum_bytes,
                operator_ids_to_sol(non_signer_ids),
            )
            .call()
            .await
            .map_err(|e| registry_error("getCheckSignaturesIndices", block, quorums, &e))?;
        Ok(indices_from_sol(&indices))
    }
}

/// The retriever's block and quorum arguments: the contracts take a `uint32` block number and
/// the quorums as an ascending byte string.
fn retriever_args(
    block: BlockNumber,
    quorums: &[QuorumNumber],
) -> Result<(u32, Bytes), RegistryError> {
    let block32 = u32::try_from(block).map_err(|_| RegistryError::BlockUnavailable {
        block,
        reason: "block number does not fit the contracts' uint32".into(),
    })?;
    Ok((
        block32,
        quorums.iter().map(|q| q.0).collect::<Vec<u8>>().into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contracts::IBLSApkRegistry::NewPubkeyRegistration;
    use crate::contracts::{IOperatorStateRetriever as Osr, OperatorStateRetrieverTypes as T};
    use crate::convert::{g1_to_sol, g2_to_sol};
    use alloy::primitives::{Log as PrimLog, Uint};
    use alloy::providers::ProviderBuilder;
    use alloy::sol_types::{SolCall, SolEvent};
    use alloy::transports::mock::Asserter;
    use quorate_bls::KeyPair;
    use rand::SeedableRng;

    #[tokio::test]
    async fn state_is_fetched_once_per_block_and_quorums_and_keys_come_from_events() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let kp = KeyPair::random(&mut rng);
        let scheme = Bn254Scheme;
        let asserter = Asserter::new();
        let provider = ProviderBuilder::new().connect_mocked_client(asserter.clone());
        let addresses = RegistryAddresses {
            registry_coordinator: Address::repeat_byte(1),
            operator_state_retriever: Address::repeat_byte(2),
            bls_apk_registry: Address::repeat_byte(3),
        };
        let registry = ChainOperatorRegistry::new(provider, ChainRegistryConfig::new(addresses));

        // 1: getOperatorState; 2: the key's registration event (unknown operator → one sync).
        let op_again = T::Operator {
            operator: Address::repeat_byte(9),
            operatorId: kp.operator_id().to_b256(),
            stake: Uint::<96, 2>::from(42u64),
        };
        let op = T::Operator {
            operator: Address::repeat_byte(9),
            operatorId: kp.operator_id().to_b256(),
            stake: Uint::<96, 2>::from(42u64),
        };
        asserter.push_success(&Bytes::from(Osr::getOperatorStateCall::abi_encode_returns(
            &vec![vec![op]],
        )));
        let event = NewPubkeyRegistration {
            operator: Address::repeat_byte(9),
            pubkeyG1: g1_to_sol(&scheme.encode_g1(kp.public_g1())),
            pubkeyG2: g2_to_sol(&scheme.encode_g2(kp.public_g2())),
        };
        let log = alloy::rpc::types::Log {
            inner: PrimLog {
                address: addresses.bls_apk_registry,
                data: event.encode_log_data(),
            },
            block_number: Some(5),
            ..Default::default()
        };
        asserter.push_success(&vec![log]);

        let q = [QuorumNumber(0)];
        let state = registry.operator_state(10, &q).await.unwrap();
        assert_eq!(state.quorums[0].total_stake, Stake::from(42u8));
        assert_eq!(state.quorums[0].apk, *kp.public_g1());
        assert_eq!(
            state.operators[&kp.operator_id()].pubkey_g2,
            *kp.public_g2()
        );
        assert_eq!(registry.pubkeys().synced_to(), Some(10));
        // Same (block, quorums) again: read again (caching is `CachedRegistry`'s job, in the
        // runtime), and the key is known now, so no getLogs.
        asserter.push_success(&Bytes::from(Osr::getOperatorStateCall::abi_encode_returns(
            &vec![vec![op_again]],
        )));
        let again = registry.operator_state(10, &q).await.unwrap();
        assert_eq!(again, state);
        assert!(asserter.read_q().is_empty());

        // A failing endpoint is a retryable, typed error.
        asserter.push_failure_msg("boom");
        let err = registry.operator_state(11, &q).await.unwrap_err();
        assert!(err.is_retryable(), "{err}");
        // The reason names the call, the block and the quorums.
        let text = err.to_string();
        assert!(
            text.contains("getOperatorState(quorums [0]) at block 11"),
            "{text}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn with_the_retry_layer_transient_errors_are_retried_and_persistent_ones_typed() {
        use crate::rpc_retry::{RetryTimeoutLayer, RpcRetryConfig};
        use alloy::rpc::client::ClientBuilder;
        use alloy::rpc::json_rpc::ErrorPayload;
        use alloy::transports::mock::MockTransport;
        use std::time::Duration;

        let asserter = Asserter::new();
        let config = RpcRetryConfig {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(10),
            ..RpcRetryConfig::default()
        };
        let client = ClientBuilder::default()
            .layer(RetryTimeoutLayer::new(config))
            .transport(MockTransport::new(asserter.clone()), true);
        let provider = ProviderBuilder::new().connect_client(client);
        let addresses = RegistryAddresses {
            registry_coordinator: Address::repeat_byte(1),
            operator_state_retriever: Address::repeat_byte(2),
            bls_apk_registry: Address::repeat_byte(3),
        };
        let registry = ChainOperatorRegistry::new(provider, ChainRegistryConfig::new(addresses));
        let internal = || ErrorPayload {
            code: -32603,
            message: "internal error".into(),
            data: None,
        };
        // Two internal errors, then an empty quorum: the third attempt answers.
        asserter.push_failure(internal());
        asserter.push_failure(internal());
        asserter.push_success(&Bytes::from(Osr::getOperatorStateCall::abi_encode_returns(
            &vec![Vec::<T::Operator>::new()],
        )));
        let q = [QuorumNumber(1)];
        let state = registry.operator_state(7, &q).await.unwrap();
        assert_eq!(state.quorums[0].total_stake, Stake::ZERO);
        assert!(asserter.read_q().is_empty());

        // Three internal errors: out of attempts, a retryable typed error with context.
        for _ in 0..3 {
            asserter.push_failure(internal());
        }
        let err = registry.operator_state(8, &q).await.unwrap_err();
        assert!(err.is_retryable(), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("at block 8") && text.contains("3 attempts"),
            "{text}"
        );

        // A revert is an answer: one attempt, no retry.
        asserter.push_failure(ErrorPayload {
            code: 3,
            message: "execution reverted".into(),
            data: None,
        });
        let err = registry.operator_state(9, &q).await.unwrap_err();
        assert!(
            matches!(err, RegistryError::BlockUnavailable { block: 9, .. }),
            "{err}"
        );
        assert!(asserter.read_q().is_empty());
    }
}
