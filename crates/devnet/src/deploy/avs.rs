//! Middleware v1.3.1 and the Incredible Squaring AVS over EigenLayer core, and the AVS's
//! permissions: the second half of [`super::deploy_all`].

#[allow(clippy::wildcard_imports)]
use super::*;

/// The middleware's and the AVS's addresses.
pub(super) struct Avs {
    /// SquaringServiceManager.
    pub(super) service_manager: Address,
    /// StakeRegistry.
    pub(super) stake_registry: Address,
    /// SquaringTask (the task manager).
    pub(super) task_manager: Address,
    /// SlashingRegistryCoordinator.
    pub(super) rc: Address,
    /// BLSApkRegistry.
    pub(super) bls_apk_registry: Address,
    /// IndexRegistry.
    pub(super) index_registry: Address,
    /// SocketRegistry.
    pub(super) socket_registry: Address,
    /// OperatorStateRetriever.
    pub(super) osr: Address,
}

/// Middleware v1.3.1 and the Incredible Squaring AVS over `core`.
pub(super) async fn deploy_middleware_and_avs(
    d: &Deployer<'_>,
    core: &Core,
    aggregator: Address,
) -> Result<Avs> {
    let (chain, owner, p) = (d.chain, d.from, d.chain.provider.clone());
    let v = || VERSION.to_string();
    let Core {
        dm,
        avsd,
        am,
        rewards,
        pc,
        pauser,
        ..
    } = *core;
    let zero = U256::ZERO;
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

    Ok(Avs {
        service_manager,
        stake_registry,
        task_manager,
        rc,
        bls_apk_registry,
        index_registry,
        socket_registry,
        osr,
    })
}

/// Permissions: the AVS (service manager) appoints the owner to set the registrar and the
/// metadata, and the coordinator to create operator sets (notes §8: InvalidPermissions).
pub(super) async fn grant_avs_permissions(
    chain: &Chain,
    owner: Address,
    core: &Core,
    avs: &Avs,
) -> Result<()> {
    let (am, service_manager, rc) = (core.am, avs.service_manager, avs.rc);
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

    Ok(())
}
