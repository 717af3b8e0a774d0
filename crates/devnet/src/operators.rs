//! Quorums (operator sets) and operators: deposits, EigenLayer registration, allocations for
//! the slashable quorum, and BLS key registration through `registerForOperatorSets`.

use alloy::primitives::{Address, Bytes, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{sol_data, SolCall, SolType};
use anyhow::{anyhow, Context, Result};
use eigen_utils::slashing::sdk::mock_erc20::MockERC20;
use eigenlayer_contract_deployer::bindings::core::allocation_manager::AllocationManager::OperatorSet;
use eigenlayer_contract_deployer::bindings::core::allocation_manager::IAllocationManagerTypes::{
    AllocateParams, RegisterParams,
};
use eigenlayer_contract_deployer::bindings::core::slashing_registry_coordinator::{
    ISlashingRegistryCoordinatorTypes::OperatorSetParam, IStakeRegistryTypes::StrategyParams,
};
use eigenlayer_contract_deployer::bindings::{
    AllocationManager, DelegationManager, SlashingRegistryCoordinator, StrategyManager,
};
use quorate_bls::{Bn254Scheme, KeyPair, MessagePoint};
use quorate_chain_adapter::contracts::BN254;
use quorate_chain_adapter::convert::{g1_from_sol, g1_to_sol, g2_to_sol};
use quorate_domain::SignatureScheme;
use serde::{Deserialize, Serialize};

use super::deploy::Contracts;
use super::tx::Chain;

alloy::sol! {
    /// `IBLSApkRegistryTypes.PubkeyRegistrationParams`.
    struct PubkeyRegistrationParams {
        BN254.G1Point pubkeyRegistrationSignature;
        BN254.G1Point pubkeyG1;
        BN254.G2Point pubkeyG2;
    }
}

/// 1e18: `StrategyParams.multiplier` is divided by this, so weight = shares (notes §4).
const WAD: u64 = 1_000_000_000_000_000_000;
/// Explicit gas for `registerForOperatorSets` (anvil's estimate is short, notes §8).
const REGISTER_GAS: u64 = 3_000_000;

/// How a quorum weighs stake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuorumKind {
    /// Delegated shares × multiplier.
    TotalDelegated,
    /// Allocated (slashable) magnitude × shares, look-ahead 1 block.
    Slashable,
}

/// One operator as the devnet made it (keys included: this is a throwaway chain).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DevnetOperator {
    /// ECDSA address.
    pub address: Address,
    /// ECDSA key, 0x-hex.
    pub ecdsa_private_key: String,
    /// BLS secret, decimal (what `quorate_bls::SecretKey::parse` reads).
    pub bls_private_key: String,
    /// keccak256(G1 key).
    pub operator_id: String,
    /// Quorums it registered for.
    pub quorums: Vec<u8>,
    /// Tokens deposited (wei), i.e. its delegated shares.
    pub deposit: U256,
    /// Magnitude allocated to the slashable quorum (0 if not a member), out of 1e18.
    pub slashable_magnitude: u64,
    /// Block of its `registerForOperatorSets`.
    pub registered_block: u64,
}

/// Creates `kinds.len()` quorums in order.
pub async fn create_quorums(
    chain: &Chain,
    owner: Address,
    c: &Contracts,
    kinds: &[QuorumKind],
) -> Result<()> {
    for (q, kind) in kinds.iter().enumerate() {
        let params = OperatorSetParam {
            maxOperatorCount: 10_000,
            kickBIPsOfOperatorStake: 15_000,
            kickBIPsOfTotalStake: 100,
        };
        let strategies = vec![StrategyParams {
            strategy: c.strategy,
            multiplier: alloy::primitives::Uint::<96, 2>::from(WAD),
        }];
        let data = match kind {
            QuorumKind::TotalDelegated => {
                SlashingRegistryCoordinator::createTotalDelegatedStakeQuorumCall {
                    operatorSetParams: params,
                    minimumStake: alloy::primitives::Uint::<96, 2>::ZERO,
                    strategyParams: strategies,
                }
                .abi_encode()
            }
            QuorumKind::Slashable => SlashingRegistryCoordinator::createSlashableStakeQuorumCall {
                operatorSetParams: params,
                minimumStake: alloy::primitives::Uint::<96, 2>::ZERO,
                strategyParams: strategies,
                lookAheadPeriod: 1,
            }
            .abi_encode(),
        };
        chain
            .call(
                owner,
                c.registry_coordinator,
                data.into(),
                &format!("create quorum {q} ({kind:?})"),
            )
            .await?;
    }
    Ok(())
}

/// An operator to be made: keys, deposit, quorums.
pub struct OperatorPlan {
    /// ECDSA key.
    pub signer: PrivateKeySigner,
    /// BLS keys.
    pub bls: KeyPair,
    /// Tokens to deposit.
    pub deposit: U256,
    /// Quorums to join, ascending.
    pub quorums: Vec<u8>,
    /// Magnitude for the slashable quorum (used if it is joined).
    pub slashable_magnitude: u64,
}

/// Funds, deposits and registers each operator with EigenLayer (no AVS yet).
pub async fn make_operators(
    chain: &Chain,
    owner: Address,
    c: &Contracts,
    plans: &[OperatorPlan],
) -> Result<()> {
    for (i, plan) in plans.iter().enumerate() {
        let op = plan.signer.address();
        chain
            .set_balance(op, U256::from(100u64) * U256::from(WAD))
            .await?;
        chain
            .call(
                owner,
                c.token,
                MockERC20::mintCall {
                    account: op,
                    amount: plan.deposit,
                }
                .abi_encode()
                .into(),
                &format!("mint to operator {i}"),
            )
            .await?;
        chain
            .call(
                op,
                c.token,
                MockERC20::approveCall {
                    spender: c.strategy_manager,
                    amount: plan.deposit,
                }
                .abi_encode()
                .into(),
                &format!("approve for operator {i}"),
            )
            .await?;
        chain
            .call(
                op,
                c.strategy_manager,
                StrategyManager::depositIntoStrategyCall {
                    strategy: c.strategy,
                    token: c.token,
                    amount: plan.deposit,
                }
                .abi_encode()
                .into(),
                &format!("deposit of operator {i}"),
            )
            .await?;
        chain
            .call(
                op,
                c.delegation_manager,
                DelegationManager::registerAsOperatorCall {
                    initDelegationApprover: Address::ZERO,
                    allocationDelay: 0,
                    metadataURI: format!("quorate-devnet-operator-{i}"),
                }
                .abi_encode()
                .into(),
                &format!("registerAsOperator {i}"),
            )
            .await?;
    }
    // The allocation delay takes effect ALLOCATION_CONFIGURATION_DELAY + 1 blocks later.
    chain.mine(2).await
}

/// Allocates to the slashable quorum and registers each operator for its quorums; returns the
/// block of each registration.
pub async fn register_operators(
    chain: &Chain,
    c: &Contracts,
    plans: &[OperatorPlan],
    slashable: Option<u8>,
) -> Result<Vec<u64>> {
    let mut blocks = Vec::with_capacity(plans.len());
    let scheme = Bn254Scheme;
    let rc = SlashingRegistryCoordinator::new(c.registry_coordinator, chain.provider.clone());
    for (i, plan) in plans.iter().enumerate() {
        let op = plan.signer.address();
        if let Some(q) = slashable.filter(|q| plan.quorums.contains(q)) {
            let params = vec![AllocateParams {
                operatorSet: OperatorSet {
                    avs: c.service_manager,
                    id: u32::from(q),
                },
                strategies: vec![c.strategy],
                newMagnitudes: vec![plan.slashable_magnitude],
            }];
            chain
                .call(
                    op,
                    c.allocation_manager,
                    AllocationManager::modifyAllocationsCall {
                        operator: op,
                        params,
                    }
                    .abi_encode()
                    .into(),
                    &format!("allocate operator {i}"),
                )
                .await?;
        }
        // The message depends on the RC proxy address and chain id: always read it from chain.
        let h = rc
            .pubkeyRegistrationMessageHash(op)
            .call()
            .await
            .context("pubkeyRegistrationMessageHash")?;
        let h = g1_from_sol(&BN254::G1Point { X: h.X, Y: h.Y });
        let point = MessagePoint::from_point(&h)
            .map_err(|e| anyhow!("registration hash not on curve: {e}"))?;
        let sig = plan.bls.sign_hashed_point(&point);
        let params = PubkeyRegistrationParams {
            pubkeyRegistrationSignature: g1_to_sol(&scheme.encode_signature(&sig)),
            pubkeyG1: g1_to_sol(&scheme.encode_g1(plan.bls.public_g1())),
            pubkeyG2: g2_to_sol(&scheme.encode_g2(plan.bls.public_g2())),
        };
        // abi.encode(uint8 NORMAL = 0, string socket, PubkeyRegistrationParams).
        type RegistrationData = (
            sol_data::Uint<8>,
            sol_data::String,
            PubkeyRegistrationParams,
        );
        let data: Bytes =
            RegistrationData::abi_encode_params(&(0u8, format!("127.0.0.1:{}", 9000 + i), params))
                .into();
        let register = AllocationManager::registerForOperatorSetsCall {
            operator: op,
            params: RegisterParams {
                avs: c.service_manager,
                operatorSetIds: plan.quorums.iter().map(|&q| u32::from(q)).collect(),
                data,
            },
        };
        let tx = alloy::rpc::types::TransactionRequest::default()
            .to(c.allocation_manager)
            .input(register.abi_encode().into());
        let receipt = chain
            .send(
                op,
                tx,
                Some(REGISTER_GAS),
                &format!("registerForOperatorSets {i} {:?}", plan.quorums),
            )
            .await?;
        blocks.push(
            receipt
                .block_number
                .ok_or_else(|| anyhow!("registration {i}: receipt without block"))?,
        );
    }
    // checkSignatures needs referenceBlock < block.number: leave a block after the last change.
    chain.mine(1).await?;
    Ok(blocks)
}
