//! `quorate node`: the aggregator as a gRPC service with durable state.

pub mod access;
pub mod auth;
pub mod auth_svc;
pub mod chain;
pub mod client_svc;
pub mod config;
pub mod dev;
pub mod dev_ledger;
pub mod equivocation;
pub mod error;
pub mod faults;
pub mod http;
pub mod lifecycle;
pub mod operator_auth;
pub mod operator_config;
pub mod operator_svc;
pub mod quota;
pub mod ratelimit;
pub mod record;
pub mod secret;
pub mod siwe;
pub mod state;
pub mod store;
pub mod transport;
pub mod wallet;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use quorate_bls::Bn254Scheme;
use quorate_runtime::memory::{InMemoryRegistry, InMemorySubmitter};
use quorate_runtime::{AggregatorConfig, AggregatorCore};
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::node::config::{NodeArgs, NodeConfig};
use crate::node::state::{NodeState, ServiceLimits, SubmissionPayload, Submitter};
use crate::node::store::Store;
use quorate_api::pb::auth_service_server::AuthServiceServer;
use quorate_api::pb::client_service_server::ClientServiceServer;
use quorate_api::pb::operator_service_server::OperatorServiceServer;
use secret::redact_url;

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
    init_logs(config.log_json);
    anyhow::ensure!(
        !(config.dev && config.rpc_url.is_some()),
        "--dev and --rpc-url exclude each other"
    );
    anyhow::ensure!(
        config.dev || config.rpc_url.is_some(),
        "give --dev, or --rpc-url URL --addresses FILE for chain mode"
    );
    anyhow::ensure!(
        config.rpc_url.is_none() || config.addresses.is_some(),
        "--rpc-url needs --addresses FILE (the devnet's address file or a subset of it)"
    );
    access::check_exposure(&config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(config))?;
    Ok(ExitCode::SUCCESS)
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// The registry, submitter and operator sign-in rules of one mode.
struct Backend {
    registry: Arc<chain::DynRegistry>,
    submitter: Arc<Submitter>,
    auth_block: u64,
    auth_quorums: Vec<quorate_domain::QuorumNumber>,
    /// `--dev` only: the keys of the simulated operators.
    dev_keys: Vec<quorate_bls::KeyPair>,
    payload: SubmissionPayload,
}

async fn serve(mut config: NodeConfig) -> anyhow::Result<()> {
    let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .ok();
    let scheme = Arc::new(Bn254Scheme);
    let backend = match (&config.rpc_url, &config.addresses) {
        (Some(url), Some(path)) => {
            let file = chain::AddressFile::load(path)?;
            let parts = chain::connect(
                url,
                &file,
                config.submitter_key.as_ref().map(secret::Secret::expose),
            )
            .await
            .context("chain mode")?;
            info!(rpc = %redact_url(url), addresses = %path.display(), auth_block = parts.auth_block, "chain mode");
            Backend {
                registry: parts.registry,
                submitter: parts.submitter,
                auth_block: parts.auth_block,
                auth_quorums: parts.auth_quorums,
                dev_keys: Vec::new(),
                payload: SubmissionPayload::SquaringTask,
            }
        }
        _ => {
            let registry = Arc::new(InMemoryRegistry::new(Arc::clone(&scheme), 1));
            let dev_keys = dev::register_dev_operators(
                &registry,
                config.reference_block,
                config.dev_seed,
                config.dev_operators,
            )?;
            // The ledger remembers answered tasks across restarts, as a chain would.
            let submitter: Arc<Submitter> = Arc::new(dev_ledger::LedgerSubmitter::open(
                Arc::new(InMemorySubmitter::new(
                    Arc::clone(&scheme),
                    Arc::clone(&registry),
                )),
                dev_ledger::ledger_path(&config.db),
            )?);
            let failures = faults::registry_failures_from_env(config.dev);
            let registry: chain::DynRegistry = if failures > 0 {
                Arc::new(faults::FlakyRegistry {
                    inner: registry,
                    failures: failures.into(),
                })
            } else {
                registry
            };
            Backend {
                registry: Arc::new(registry),
                submitter,
                auth_block: config.reference_block,
                auth_quorums: vec![quorate_domain::QuorumNumber(0)],
                dev_keys,
                payload: SubmissionPayload::Response,
            }
        }
    };
    let core = AggregatorCore::new(
        AggregatorConfig::default(),
        Arc::clone(&backend.registry),
        Arc::clone(&scheme),
    );
    lifecycle::ignore_file_size_signal();
    let store =
        Store::open(&config.db).with_context(|| format!("opening {}", config.db.display()))?;
    let state = NodeState::new(
        core,
        store,
        backend.submitter,
        ServiceLimits {
            default_reference_block: config.reference_block,
            max_payload_bytes: config.max_payload_bytes,
            max_response_bytes: config.max_payload_bytes,
            max_expiry_ms: config.max_expiry_ms,
        },
    )
    .with_submission_payload(backend.payload)
    .with_crash_point(faults::crash_point_from_env(config.dev));
    equivocation::spawn_recorder(state.clone(), config.max_equivocations);
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

    let stop = CancellationToken::new();
    let simulated = config
        .simulated_operators
        .unwrap_or(config.dev_operators)
        .min(config.dev_operators) as usize;
    if !backend.dev_keys.is_empty() {
        dev::spawn_simulated(
            state.clone(),
            backend.dev_keys.into_iter().take(simulated).collect(),
            stop.clone(),
        );
    }

    let limit = config.max_message_bytes;
    let operator_api = operator_svc::OperatorApi {
        state: state.clone(),
        auth: Arc::new(operator_auth::OperatorAuth::new(
            state.core.clone(),
            backend.auth_block,
            backend.auth_quorums,
            operator_config::auth_limits(&config),
        )),
        streams: Arc::new(quota::WatcherLimit::new(config.max_streams_per_operator)),
        peers: Arc::new(ratelimit::RateLimiter::new(
            config.peer_rate_limit,
            config.peer_rate_burst,
        )),
    };
    let (client_api, auth_api) = access::client_apis(&mut config, &state, &stop)?;
    let services = transport::Services {
        operator: OperatorServiceServer::new(operator_api)
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
        client: ClientServiceServer::new(client_api)
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
        auth: AuthServiceServer::new(auth_api).max_decoding_message_size(limit),
    };
    let grpc_tasks = transport::spawn(&config, listeners, services, &stop)?;
    let operator_field = operator_url
        .map(|u| format!(" operator_grpc={u}"))
        .unwrap_or_default();
    println!("quorate node listening grpc={grpc_url}{operator_field} http=http://{http_addr} recovered_tasks={} recovered_signatures={}", report.tasks, report.signatures);
    let _ = std::io::stdout().flush();
    let http_stop = stop.clone();
    let http_server = axum::serve(http, http::router(state.clone(), prometheus))
        .with_graceful_shutdown(async move { http_stop.cancelled().await });
    let http_task = tokio::spawn(async move { http_server.await });

    lifecycle::spawn_pruner(state.store.clone(), &config, stop.clone());

    let grace = std::time::Duration::from_millis(config.storage_failure_grace_ms);
    let outcome = lifecycle::stop_or_storage_failure(&state.store, grace).await;
    info!("shutting down: finishing in-flight writes");
    stop.cancel();
    state.shutdown().await;
    for grpc_task in grpc_tasks {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), grpc_task).await;
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), http_task).await;
    info!("stopped");
    // A storage failure exits non-zero so a supervisor restarts the node on the last
    // committed state.
    outcome.map_err(|reason| anyhow::anyhow!("storage failed: {reason}"))
}
