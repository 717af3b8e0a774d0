//! `quorate node`: the aggregator as a gRPC service with durable state. This module wires the
//! pieces together in order — backend (chain or dev), state and recovery, listeners, services,
//! background tasks — and stops them in reverse order.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use alloy::providers::DynProvider;
use anyhow::Context;
use quorate_api::pb::auth_service_server::AuthServiceServer;
use quorate_api::pb::client_service_server::ClientServiceServer;
use quorate_api::pb::operator_service_server::OperatorServiceServer;
use quorate_bls::Bn254Scheme;
use quorate_chain_adapter::TaskIntake;
use quorate_runtime::memory::{InMemoryRegistry, InMemorySubmitter};
use quorate_runtime::{AggregatorConfig, AggregatorCore};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::automation::{self, Automation, AutomationParts};
use crate::chain::{self, DynRegistry};
use crate::config::{NodeArgs, NodeConfig};
use crate::secret::{redact_url, Secret};
use crate::state::{NodeState, ServiceLimits, SubmissionPayload, Submitter};
use crate::store::Store;
use crate::{
    access, dev, dev_ledger, equivocation, faults, http, intake, lifecycle, operator_auth,
    operator_config, operator_svc, quota, ratelimit, transport,
};

/// Most operators the operator pool keeps (beyond it the longest-silent one is forgotten).
const OPERATOR_POOL_CAPACITY: usize = 10_000;

/// How long each server gets to finish its in-flight requests at shutdown.
const SERVER_STOP_GRACE: Duration = Duration::from_secs(5);

fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Runs the node until SIGTERM or Ctrl-C.
pub fn run(args: NodeArgs) -> anyhow::Result<ExitCode> {
    let config = NodeConfig::load(&args)?;
    // Built (and checked) before anything starts, so a bad value stops the node with its key
    // named.
    let aggregator = config.runtime.to_aggregator_config()?;
    if args.print_config {
        print!("{}", toml::to_string_pretty(&config)?);
        return Ok(ExitCode::SUCCESS);
    }
    init_logs(config.log_json);
    check_mode(&config)?;
    access::check_exposure(&config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(config, aggregator))?;
    Ok(ExitCode::SUCCESS)
}

/// Exactly one mode: `--dev`, or chain mode with its AVS configuration.
fn check_mode(config: &NodeConfig) -> anyhow::Result<()> {
    anyhow::ensure!(
        !(config.dev && config.rpc_url.is_some()),
        "--dev and --rpc-url exclude each other"
    );
    anyhow::ensure!(
        config.dev || config.rpc_url.is_some(),
        "give --dev, or --rpc-url URL --avs FILE for chain mode"
    );
    anyhow::ensure!(
        config.rpc_url.is_none() || config.avs.is_some(),
        "--rpc-url needs --avs FILE (the AVS configuration, docs/avs-integration.md)"
    );
    Ok(())
}

/// The registry, submitter and operator sign-in rules of one mode.
struct Backend {
    /// Who may sign, with what keys and stake.
    registry: Arc<DynRegistry>,
    /// Where aggregates go.
    submitter: Arc<Submitter>,
    /// Operators sign in against the registry at this block (followed in chain mode, so
    /// registrations and deregistrations count without a restart) ...
    sign_in_block: watch::Receiver<u64>,
    /// ... in any of these quorums.
    auth_quorums: Vec<quorate_domain::QuorumNumber>,
    /// `--dev` only: the keys of the simulated operators.
    dev_keys: Vec<quorate_bls::KeyPair>,
    /// What the submitter is sent for each task.
    payload: SubmissionPayload,
    /// Chain mode with an intake: follows the AVS's task-created event.
    intake: Option<TaskIntake<DynProvider>>,
    /// Chain mode: contract reads of workflow steps.
    chain_reader: Option<Arc<dyn quorate_automation::ContractReader>>,
}

impl Backend {
    /// Chain mode: the registry, submitter and intake of the AVS configuration at `path`.
    async fn chain(
        config: &NodeConfig,
        url: &str,
        path: &std::path::Path,
        stop: &CancellationToken,
    ) -> anyhow::Result<Self> {
        let profile = Arc::new(chain::load_profile(path)?);
        let key = config.submitter_key.as_ref().map(Secret::expose);
        let parts = chain::connect(url, Arc::clone(&profile), key, stop.clone())
            .await
            .context("chain mode")?;
        info!(
            rpc = %redact_url(url),
            avs = %profile.spec().name,
            respond = %profile.respond_signature(),
            intake = parts.intake.is_some(),
            sign_in_block = *parts.sign_in_block.borrow(),
            "chain mode"
        );
        Ok(Self {
            registry: parts.registry,
            submitter: parts.submitter,
            sign_in_block: parts.sign_in_block,
            auth_quorums: parts.auth_quorums,
            dev_keys: Vec::new(),
            payload: SubmissionPayload::Avs(profile),
            intake: parts.intake,
            chain_reader: Some(Arc::new(automation::ProviderReader {
                provider: parts.provider,
            })),
        })
    }

    /// `--dev`: simulated operators in an in-memory registry, and a submitter that checks
    /// aggregates as the contract would and remembers answered tasks across restarts.
    fn dev(config: &NodeConfig, scheme: &Arc<Bn254Scheme>) -> anyhow::Result<Self> {
        let registry = Arc::new(InMemoryRegistry::new(Arc::clone(scheme), 1));
        let dev_keys = dev::register_dev_operators(
            &registry,
            config.reference_block,
            config.dev_seed,
            config.dev_operators,
        )?;
        let checker = InMemorySubmitter::new(Arc::clone(scheme), Arc::clone(&registry));
        let submitter: Arc<Submitter> = Arc::new(dev_ledger::LedgerSubmitter::open(
            Arc::new(checker),
            dev_ledger::ledger_path(&config.db),
        )?);
        let failures = faults::registry_failures_from_env(config.dev);
        let registry: DynRegistry = if failures > 0 {
            Arc::new(faults::FlakyRegistry {
                inner: registry,
                failures: failures.into(),
            })
        } else {
            registry
        };
        Ok(Self {
            registry: Arc::new(registry),
            submitter,
            sign_in_block: watch::channel(config.reference_block).1,
            auth_quorums: vec![quorate_domain::QuorumNumber(0)],
            dev_keys,
            payload: SubmissionPayload::Response,
            intake: None,
            chain_reader: None,
        })
    }
}

/// The aggregator, its storage and what recovery found in it.
async fn open_state(
    config: &NodeConfig,
    aggregator: AggregatorConfig,
    backend: &Backend,
    scheme: Arc<Bn254Scheme>,
) -> anyhow::Result<NodeState> {
    let core = AggregatorCore::new(aggregator, Arc::clone(&backend.registry), scheme)?;
    lifecycle::ignore_file_size_signal();
    let store =
        Store::open(&config.db).with_context(|| format!("opening {}", config.db.display()))?;
    let limits = ServiceLimits {
        default_reference_block: config.reference_block,
        max_payload_bytes: config.max_payload_bytes,
        max_response_bytes: config.max_payload_bytes,
        max_expiry_ms: config.max_expiry_ms,
    };
    let state = NodeState::new(core, store, Arc::clone(&backend.submitter), limits)
        .with_submission_payload(backend.payload.clone())
        .with_crash_point(faults::crash_point_from_env(config.dev));
    equivocation::spawn_recorder(state.clone(), config.max_equivocations);
    Ok(state)
}

/// The three gRPC services with their authentication and limits.
fn services(
    config: &mut NodeConfig,
    state: &NodeState,
    backend: &Backend,
    automation: Option<&Automation>,
    wallets: Option<&Arc<crate::smart_wallet::SmartWallets>>,
    pool: &Arc<crate::operator_pool::OperatorPool>,
    stop: &CancellationToken,
) -> anyhow::Result<transport::Services> {
    let operator_api = operator_svc::OperatorApi {
        state: state.clone(),
        auth: Arc::new(operator_auth::OperatorAuth::new(
            state.core.clone(),
            backend.sign_in_block.clone(),
            backend.auth_quorums.clone(),
            operator_config::auth_limits(config),
        )),
        streams: Arc::new(quota::WatcherLimit::new(config.max_streams_per_operator)),
        peers: Arc::new(ratelimit::RateLimiter::new(
            config.peer_rate_limit,
            config.peer_rate_burst,
        )),
        automation: automation.cloned(),
        pool: Arc::clone(pool),
    };
    let (client_api, auth_api) = access::client_apis(config, state, stop)?;
    let limit = config.max_message_bytes;
    let workflow = automation.map(|automation| {
        quorate_api::pb::workflow_service_server::WorkflowServiceServer::new(
            automation::WorkflowApi {
                automation: automation.clone(),
                auth: Arc::clone(&client_api.auth),
                peers: Arc::clone(&client_api.peers),
                pool: Arc::clone(pool),
            },
        )
        .max_decoding_message_size(limit)
        .max_encoding_message_size(limit)
    });
    let wallet = wallets.map(|wallets| {
        quorate_api::pb::wallet_service_server::WalletServiceServer::new(
            crate::smart_wallet::WalletApi {
                wallets: Arc::clone(wallets),
                automation: automation.cloned(),
                auth: Arc::clone(&client_api.auth),
                peers: Arc::clone(&client_api.peers),
            },
        )
        .max_decoding_message_size(limit)
        .max_encoding_message_size(limit)
    });
    Ok(transport::Services {
        wallet,
        operator: OperatorServiceServer::new(operator_api)
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
        client: ClientServiceServer::new(client_api)
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
        auth: AuthServiceServer::new(auth_api).max_decoding_message_size(limit),
        workflow,
    })
}

/// Workflow automation, unless disabled: the executor and the live triggers, and the sink of
/// trigger attestations.
async fn start_automation(
    config: &NodeConfig,
    state: &NodeState,
    backend: &mut Backend,
    pool: &Arc<crate::operator_pool::OperatorPool>,
    wallets: Option<Arc<crate::smart_wallet::SmartWallets>>,
    stop: &CancellationToken,
) -> anyhow::Result<Option<Automation>> {
    if !config.automation.enabled {
        return Ok(None);
    }
    let key = automation::secrets::load_key(
        config.automation.secrets_key_file.as_deref(),
        config.dev.then_some(config.db.as_path()),
    )
    .context("automation secrets key")?;
    let parts = AutomationParts {
        config: config.automation.clone(),
        key,
        reference_block: backend.sign_in_block.clone(),
        chain: backend.chain_reader.take(),
        pool: Arc::clone(pool),
        wallets,
    };
    Ok(Some(
        Automation::start(state.clone(), parts, stop.clone()).await?,
    ))
}

/// `--dev`: the simulated operators (at most `--simulated-operators` of them) sign every task.
fn spawn_simulated_operators(
    config: &NodeConfig,
    state: &NodeState,
    dev_keys: Vec<quorate_bls::KeyPair>,
    stop: &CancellationToken,
) {
    if dev_keys.is_empty() {
        return;
    }
    let simulated = config
        .simulated_operators
        .unwrap_or(config.dev_operators)
        .min(config.dev_operators) as usize;
    let keys = dev_keys.into_iter().take(simulated).collect();
    dev::spawn_simulated(state.clone(), keys, stop.clone());
}

/// The HTTP server (health, metrics) on its own listener, stopped with `stop`.
fn spawn_http(
    listener: tokio::net::TcpListener,
    state: &NodeState,
    prometheus: Option<metrics_exporter_prometheus::PrometheusHandle>,
    stop: &CancellationToken,
) -> JoinHandle<std::io::Result<()>> {
    let stop = stop.clone();
    let server = axum::serve(listener, http::router(state.clone(), prometheus))
        .with_graceful_shutdown(async move { stop.cancelled().await });
    tokio::spawn(async move { server.await })
}

async fn serve(mut config: NodeConfig, aggregator: AggregatorConfig) -> anyhow::Result<()> {
    let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .ok();
    let scheme = Arc::new(Bn254Scheme);
    // Stops the background work; cancelled once shutdown begins.
    let stop = CancellationToken::new();
    let mut backend = match (&config.rpc_url, &config.avs) {
        (Some(url), Some(path)) => Backend::chain(&config, url, path, &stop).await?,
        _ => Backend::dev(&config, &scheme)?,
    };
    let state = open_state(&config, aggregator, &backend, scheme).await?;
    // Before recovery: an attestation aggregated before a crash is handed to it again.
    let pool = Arc::new(crate::operator_pool::OperatorPool::new(
        OPERATOR_POOL_CAPACITY,
    ));
    let wallets = match config.wallets.enabled {
        true => Some(
            crate::smart_wallet::SmartWallets::start(
                &config.wallets,
                config.rpc_url.as_deref(),
                state.store.clone(),
            )
            .await
            .context("smart wallets")?,
        ),
        false => None,
    };
    let automation =
        start_automation(&config, &state, &mut backend, &pool, wallets.clone(), &stop).await?;
    let report = state.recover().await?;
    info!(
        tasks = report.tasks,
        signatures = report.signatures,
        resubmitted = report.resubmitted,
        "recovered unfinished tasks"
    );

    let listeners = transport::Listeners::bind(&config).await?;
    let http = tokio::net::TcpListener::bind(config.http_addr).await?;
    let http_addr = http.local_addr()?;
    let (grpc_url, operator_url) = listeners.urls()?;

    let services = services(
        &mut config,
        &state,
        &backend,
        automation.as_ref(),
        wallets.as_ref(),
        &pool,
        &stop,
    )?;
    if let (Some(automation), Some(first)) = (&automation, backend.dev_keys.first()) {
        let key = crate::compute::dev_key(config.dev_seed, 0);
        debug_assert_eq!(key.operator_id(), first.operator_id());
        automation::spawn_dev_triggers(automation.clone(), key, &config.automation, stop.clone())
            .await;
    }
    spawn_simulated_operators(&config, &state, backend.dev_keys, &stop);
    let grpc_tasks = transport::spawn(&config, listeners, services, &stop)?;
    let operator_field = operator_url
        .map(|u| format!(" operator_grpc={u}"))
        .unwrap_or_default();
    // The one line scripts and tests wait for: where the node listens.
    println!("quorate node listening grpc={grpc_url}{operator_field} http=http://{http_addr} recovered_tasks={} recovered_signatures={}", report.tasks, report.signatures);
    let _ = std::io::stdout().flush();
    let http_task = spawn_http(http, &state, prometheus, &stop);
    lifecycle::spawn_pruner(state.store.clone(), &config, stop.clone());
    if let Some(intake) = backend.intake.take() {
        intake::spawn(state.clone(), intake, stop.clone());
    }

    let grace = Duration::from_millis(config.storage_failure_grace_ms);
    let outcome = lifecycle::stop_or_storage_failure(&state.store, grace).await;
    info!("shutting down: finishing in-flight writes");
    stop.cancel();
    state.shutdown().await;
    for grpc_task in grpc_tasks {
        let _ = tokio::time::timeout(SERVER_STOP_GRACE, grpc_task).await;
    }
    let _ = tokio::time::timeout(SERVER_STOP_GRACE, http_task).await;
    info!("stopped");
    // A storage failure exits non-zero so a supervisor restarts the node on the last
    // committed state.
    outcome.map_err(|reason| anyhow::anyhow!("storage failed: {reason}"))
}
