//! Deploys EigenLayer core (v1.3.0) and the Incredible Squaring AVS on middleware v1.3.1 from
//! the bytecode shipped by `eigenlayer-contract-deployer`, in the order of its `core.rs` and
//! `deploy.rs`, but through our own sender-aware provider (see `tx.rs`), and with only the
//! contracts the BLS flow needs (no rewards coordinator logic, no EigenPods, no slasher).

use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::SolCall;
use anyhow::Result;
use eigen_utils::slashing::sdk::mock_erc20::MockERC20;
use eigenlayer_contract_deployer::bindings::{
    AVSDirectory, AllocationManager, BLSApkRegistry, DelegationManager, EigenPodManager,
    EmptyContract, IndexRegistry, OperatorStateRetriever, PauserRegistry, PermissionController,
    ProxyAdmin, SlashingRegistryCoordinator, SocketRegistry, SquaringServiceManager, SquaringTask,
    StakeRegistry, StrategyBase, StrategyManager, TransparentUpgradeableProxy,
};
use serde::{Deserialize, Serialize};

use super::tx::Chain;

mod attestation;
mod avs;
mod wallets;
pub use attestation::creation_bytecode as attestation_task_manager_bytecode;
use avs::{deploy_middleware_and_avs, grant_avs_permissions};
pub use wallets::{deploy_wallet_contracts, WalletContracts};

/// Constructor `_version` of every core contract (2..=31 bytes, see notes §8).
const VERSION: &str = "v1.3.0";
/// `AllocationManager.DEALLOCATION_DELAY`: must exceed the slashable quorum's look-ahead.
pub const DEALLOCATION_DELAY: u32 = 5;
/// Blocks the aggregator has to respond to a SquaringTask task.
const TASK_RESPONSE_WINDOW_BLOCKS: u32 = 100_000;

/// Every deployed address (proxies where there is one).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Contracts {
    pub proxy_admin: Address,
    pub pauser_registry: Address,
    pub delegation_manager: Address,
    pub strategy_manager: Address,
    pub allocation_manager: Address,
    pub avs_directory: Address,
    pub permission_controller: Address,
    pub eigen_pod_manager: Address,
    pub rewards_coordinator: Address,
    pub token: Address,
    pub strategy: Address,
    pub service_manager: Address,
    pub registry_coordinator: Address,
    pub stake_registry: Address,
    pub bls_apk_registry: Address,
    pub index_registry: Address,
    pub socket_registry: Address,
    pub operator_state_retriever: Address,
    pub task_manager: Address,
    /// Our own `AttestationTaskManager` (`contracts/src`), deployed last.
    pub attestation_task_manager: Address,
}

struct Deployer<'a> {
    chain: &'a Chain,
    from: Address,
    proxy_admin: Address,
    empty: Address,
}

impl Deployer<'_> {
    async fn proxy(&self, what: &str) -> Result<Address> {
        let p = self.chain.provider.clone();
        let code = TransparentUpgradeableProxy::deploy_builder(
            p,
            self.empty,
            self.proxy_admin,
            Bytes::new(),
        )
        .calldata()
        .clone();
        self.chain
            .deploy(self.from, code, &format!("proxy for {what}"))
            .await
    }

    async fn upgrade(
        &self,
        proxy: Address,
        implementation: Address,
        init: Option<Vec<u8>>,
        what: &str,
    ) -> Result<()> {
        let data = match init {
            Some(init) => ProxyAdmin::upgradeAndCallCall {
                proxy,
                implementation,
                data: init.into(),
            }
            .abi_encode(),
            None => ProxyAdmin::upgradeCall {
                proxy,
                implementation,
            }
            .abi_encode(),
        };
        self.chain
            .call(
                self.from,
                self.proxy_admin,
                data.into(),
                &format!("upgrade {what}"),
            )
            .await?;
        Ok(())
    }
}

/// Deploys everything; `owner` owns all contracts, `aggregator` may respond to tasks. In
/// dependency order: EigenLayer core, the staked token and its strategy, middleware and the
/// AVS, then the AVS's permissions, and last our own `AttestationTaskManager` (so it moves no
/// address deployed before it).
pub async fn deploy_all(chain: &Chain, owner: Address, aggregator: Address) -> Result<Contracts> {
    let p = chain.provider.clone();
    let proxy_admin = chain
        .deploy(
            owner,
            ProxyAdmin::deploy_builder(p.clone()).calldata().clone(),
            "ProxyAdmin",
        )
        .await?;
    let empty = chain
        .deploy(
            owner,
            EmptyContract::deploy_builder(p.clone()).calldata().clone(),
            "EmptyContract",
        )
        .await?;
    let d = Deployer {
        chain,
        from: owner,
        proxy_admin,
        empty,
    };

    let core = deploy_core(&d).await?;
    let (token, strategy) = deploy_token_and_strategy(&d, &core).await?;
    let avs = deploy_middleware_and_avs(&d, &core, aggregator).await?;
    grant_avs_permissions(chain, owner, &core, &avs).await?;
    let attestation_task_manager =
        attestation::deploy_attestation_task_manager(chain, owner, avs.rc, aggregator).await?;

    Ok(Contracts {
        proxy_admin,
        pauser_registry: core.pauser,
        delegation_manager: core.dm,
        strategy_manager: core.sm,
        allocation_manager: core.am,
        avs_directory: core.avsd,
        permission_controller: core.pc,
        eigen_pod_manager: core.epm,
        rewards_coordinator: core.rewards,
        token,
        strategy,
        service_manager: avs.service_manager,
        registry_coordinator: avs.rc,
        stake_registry: avs.stake_registry,
        bls_apk_registry: avs.bls_apk_registry,
        index_registry: avs.index_registry,
        socket_registry: avs.socket_registry,
        operator_state_retriever: avs.osr,
        task_manager: avs.task_manager,
        attestation_task_manager,
    })
}

/// EigenLayer core's addresses (proxies), as the middleware's constructors need them.
#[derive(Clone, Copy)]
struct Core {
    /// DelegationManager.
    dm: Address,
    /// AVSDirectory.
    avsd: Address,
    /// StrategyManager.
    sm: Address,
    /// AllocationManager.
    am: Address,
    /// RewardsCoordinator (a bare proxy: nothing here pays rewards).
    rewards: Address,
    /// EigenPodManager.
    epm: Address,
    /// PermissionController.
    pc: Address,
    /// PauserRegistry.
    pauser: Address,
}

/// EigenLayer core: proxies first (constructors reference each other), then implementations,
/// then upgrades with initialization.
async fn deploy_core(d: &Deployer<'_>) -> Result<Core> {
    let (chain, owner, p) = (d.chain, d.from, d.chain.provider.clone());
    let v = || VERSION.to_string();
    let empty = d.empty;
    let dm = d.proxy("DelegationManager").await?;
    let avsd = d.proxy("AVSDirectory").await?;
    let sm = d.proxy("StrategyManager").await?;
    let am = d.proxy("AllocationManager").await?;
    let rewards = d.proxy("RewardsCoordinator").await?;
    let epm = d.proxy("EigenPodManager").await?;
    let pc = d.proxy("PermissionController").await?;
    let pauser = chain
        .deploy(
            owner,
            PauserRegistry::deploy_builder(p.clone(), vec![owner], owner)
                .calldata()
                .clone(),
            "PauserRegistry",
        )
        .await?;

    let dm_impl = chain
        .deploy(
            owner,
            DelegationManager::deploy_builder(p.clone(), sm, epm, am, pauser, pc, 0, v())
                .calldata()
                .clone(),
            "DelegationManager impl",
        )
        .await?;
    let pc_impl = chain
        .deploy(
            owner,
            PermissionController::deploy_builder(p.clone(), v())
                .calldata()
                .clone(),
            "PermissionController impl",
        )
        .await?;
    let avsd_impl = chain
        .deploy(
            owner,
            AVSDirectory::deploy_builder(p.clone(), dm, pauser, v())
                .calldata()
                .clone(),
            "AVSDirectory impl",
        )
        .await?;
    let sm_impl = chain
        .deploy(
            owner,
            StrategyManager::deploy_builder(p.clone(), dm, pauser, v())
                .calldata()
                .clone(),
            "StrategyManager impl",
        )
        .await?;
    // Allocation configuration delay 0: an operator's allocation delay is set one block after
    // it registers; deallocation delay 5 so a slashable quorum with look-ahead 1 can exist.
    let am_impl = chain
        .deploy(
            owner,
            AllocationManager::deploy_builder(
                p.clone(),
                dm,
                pauser,
                pc,
                DEALLOCATION_DELAY,
                0,
                v(),
            )
            .calldata()
            .clone(),
            "AllocationManager impl",
        )
        .await?;
    // No beacon chain here: the pod beacon is a placeholder contract, the deposit contract zero.
    let epm_impl = chain
        .deploy(
            owner,
            EigenPodManager::deploy_builder(p.clone(), Address::ZERO, empty, dm, pauser, v())
                .calldata()
                .clone(),
            "EigenPodManager impl",
        )
        .await?;

    let zero = U256::ZERO;
    d.upgrade(
        dm,
        dm_impl,
        Some(
            DelegationManager::initializeCall {
                initialOwner: owner,
                initialPausedStatus: zero,
            }
            .abi_encode(),
        ),
        "DelegationManager",
    )
    .await?;
    d.upgrade(
        sm,
        sm_impl,
        Some(
            StrategyManager::initializeCall {
                initialOwner: owner,
                initialStrategyWhitelister: owner,
                initialPausedStatus: zero,
            }
            .abi_encode(),
        ),
        "StrategyManager",
    )
    .await?;
    d.upgrade(pc, pc_impl, None, "PermissionController").await?;
    d.upgrade(
        epm,
        epm_impl,
        Some(
            EigenPodManager::initializeCall {
                initialOwner: owner,
                _initPausedStatus: zero,
            }
            .abi_encode(),
        ),
        "EigenPodManager",
    )
    .await?;
    d.upgrade(
        avsd,
        avsd_impl,
        Some(
            AVSDirectory::initializeCall {
                initialOwner: owner,
                initialPausedStatus: zero,
            }
            .abi_encode(),
        ),
        "AVSDirectory",
    )
    .await?;
    d.upgrade(
        am,
        am_impl,
        Some(
            AllocationManager::initializeCall {
                initialOwner: owner,
                initialPausedStatus: zero,
            }
            .abi_encode(),
        ),
        "AllocationManager",
    )
    .await?;

    Ok(Core {
        dm,
        avsd,
        sm,
        am,
        rewards,
        epm,
        pc,
        pauser,
    })
}

/// The staked token and its strategy (proxy initialized in its constructor), whitelisted.
async fn deploy_token_and_strategy(d: &Deployer<'_>, core: &Core) -> Result<(Address, Address)> {
    let (chain, owner, p) = (d.chain, d.from, d.chain.provider.clone());
    let v = || VERSION.to_string();
    let (sm, pauser, proxy_admin) = (core.sm, core.pauser, d.proxy_admin);
    let token = chain
        .deploy(
            owner,
            MockERC20::deploy_builder(p.clone()).calldata().clone(),
            "MockERC20",
        )
        .await?;
    let strategy_impl = chain
        .deploy(
            owner,
            StrategyBase::deploy_builder(p.clone(), sm, pauser, v())
                .calldata()
                .clone(),
            "StrategyBase impl",
        )
        .await?;
    let init = StrategyBase::initializeCall {
        _underlyingToken: token,
    }
    .abi_encode();
    let strategy = chain
        .deploy(
            owner,
            TransparentUpgradeableProxy::deploy_builder(
                p.clone(),
                strategy_impl,
                proxy_admin,
                init.into(),
            )
            .calldata()
            .clone(),
            "StrategyBase proxy",
        )
        .await?;
    chain
        .call(
            owner,
            sm,
            StrategyManager::addStrategiesToDepositWhitelistCall {
                strategiesToWhitelist: vec![strategy],
            }
            .abi_encode()
            .into(),
            "whitelist strategy",
        )
        .await?;

    Ok((token, strategy))
}
