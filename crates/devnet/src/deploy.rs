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

/// Deploys everything; `owner` owns all contracts, `aggregator` may respond to tasks.
pub async fn deploy_all(chain: &Chain, owner: Address, aggregator: Address) -> Result<Contracts> {
    let p = chain.provider.clone();
    let v = || VERSION.to_string();
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

    // Core: proxies first (constructors reference each other), then implementations.
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

    // The staked token and its strategy (proxy initialized in its constructor), whitelisted.
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

    // Middleware and the AVS.
    let service_manager = d.proxy("SquaringServiceManager").await?;
    let stake_registry = d.proxy("StakeRegistry").await?;
    let task_manager = d.proxy("SquaringTask").await?;
    let rc = d.proxy("SlashingRegistryCoordinator").await?;
    let bls_apk_registry = d.proxy("BLSApkRegistry").await?;
    let index_registry = d.proxy("IndexRegistry").await?;
    let socket_registry = d.proxy("SocketRegistry").await?;
    let osr = chain
        .deploy(
            owner,
            OperatorStateRetriever::deploy_builder(p.clone())
                .calldata()
                .clone(),
            "OperatorStateRetriever",
        )
        .await?;
    let stake_impl = chain
        .deploy(
            owner,
            StakeRegistry::deploy_builder(p.clone(), rc, dm, avsd, am)
                .calldata()
                .clone(),
            "StakeRegistry impl",
        )
        .await?;
    let apk_impl = chain
        .deploy(
            owner,
            BLSApkRegistry::deploy_builder(p.clone(), rc)
                .calldata()
                .clone(),
            "BLSApkRegistry impl",
        )
        .await?;
    let index_impl = chain
        .deploy(
            owner,
            IndexRegistry::deploy_builder(p.clone(), rc)
                .calldata()
                .clone(),
            "IndexRegistry impl",
        )
        .await?;
    let socket_impl = chain
        .deploy(
            owner,
            SocketRegistry::deploy_builder(p.clone(), rc)
                .calldata()
                .clone(),
            "SocketRegistry impl",
        )
        .await?;
    // The deployer crate links QuorumBitmapHistoryLib and SignatureCheckerLib into the
    // coordinator's creation code (deploying both libraries on the way).
    let rc_code = eigenlayer_contract_deployer::slashing_registry_coordinator::deploy_builder(
        p.clone(),
        stake_registry,
        bls_apk_registry,
        index_registry,
        socket_registry,
        am,
        pauser,
        v(),
    )
    .await?
    .calldata()
    .clone();
    let rc_impl = chain
        .deploy(owner, rc_code, "SlashingRegistryCoordinator impl")
        .await?;
    d.upgrade(stake_registry, stake_impl, None, "StakeRegistry")
        .await?;
    d.upgrade(bls_apk_registry, apk_impl, None, "BLSApkRegistry")
        .await?;
    d.upgrade(index_registry, index_impl, None, "IndexRegistry")
        .await?;
    d.upgrade(socket_registry, socket_impl, None, "SocketRegistry")
        .await?;
    let rc_init = SlashingRegistryCoordinator::initializeCall {
        initialOwner: owner,
        churnApprover: owner,
        ejector: owner,
        initialPausedStatus: zero,
        avs: service_manager,
    };
    d.upgrade(
        rc,
        rc_impl,
        Some(rc_init.abi_encode()),
        "SlashingRegistryCoordinator",
    )
    .await?;

    let smgr_impl = chain
        .deploy(
            owner,
            SquaringServiceManager::deploy_builder(
                p.clone(),
                avsd,
                rc,
                stake_registry,
                rewards,
                task_manager,
                pc,
                am,
            )
            .calldata()
            .clone(),
            "SquaringServiceManager impl",
        )
        .await?;
    let task_impl = chain
        .deploy(
            owner,
            SquaringTask::deploy_builder(p.clone(), rc, TASK_RESPONSE_WINDOW_BLOCKS)
                .calldata()
                .clone(),
            "SquaringTask impl",
        )
        .await?;
    d.upgrade(
        service_manager,
        smgr_impl,
        Some(
            SquaringServiceManager::initializeCall {
                initialOwner: owner,
                rewardsInitiator: owner,
            }
            .abi_encode(),
        ),
        "SquaringServiceManager",
    )
    .await?;
    d.upgrade(
        task_manager,
        task_impl,
        Some(
            SquaringTask::initializeCall {
                _aggregator: aggregator,
                _generator: owner,
                initialOwner: owner,
            }
            .abi_encode(),
        ),
        "SquaringTask",
    )
    .await?;

    // Permissions: the AVS (service manager) appoints the owner to set the registrar and the
    // metadata, and the coordinator to create operator sets (notes §8: InvalidPermissions).
    let appoint = |who: Address, selector: [u8; 4]| {
        SquaringServiceManager::setAppointeeCall {
            appointee: who,
            target: am,
            selector: selector.into(),
        }
        .abi_encode()
    };
    chain
        .call(
            owner,
            service_manager,
            appoint(owner, AllocationManager::setAVSRegistrarCall::SELECTOR).into(),
            "appoint owner: setAVSRegistrar",
        )
        .await?;
    chain
        .call(
            owner,
            am,
            AllocationManager::setAVSRegistrarCall {
                avs: service_manager,
                registrar: rc,
            }
            .abi_encode()
            .into(),
            "setAVSRegistrar",
        )
        .await?;
    chain
        .call(
            owner,
            service_manager,
            appoint(rc, AllocationManager::createOperatorSetsCall::SELECTOR).into(),
            "appoint RC: createOperatorSets",
        )
        .await?;
    chain
        .call(
            owner,
            service_manager,
            appoint(owner, AllocationManager::updateAVSMetadataURICall::SELECTOR).into(),
            "appoint owner: updateAVSMetadataURI",
        )
        .await?;
    chain
        .call(
            owner,
            am,
            AllocationManager::updateAVSMetadataURICall {
                avs: service_manager,
                metadataURI: "quorate-devnet".into(),
            }
            .abi_encode()
            .into(),
            "updateAVSMetadataURI",
        )
        .await?;

    Ok(Contracts {
        proxy_admin,
        pauser_registry: pauser,
        delegation_manager: dm,
        strategy_manager: sm,
        allocation_manager: am,
        avs_directory: avsd,
        permission_controller: pc,
        eigen_pod_manager: epm,
        rewards_coordinator: rewards,
        token,
        strategy,
        service_manager,
        registry_coordinator: rc,
        stake_registry,
        bls_apk_registry,
        index_registry,
        socket_registry,
        operator_state_retriever: osr,
        task_manager,
    })
}
