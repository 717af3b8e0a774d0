//! `quorate node`: the aggregator as a gRPC service with durable state.

pub mod auth;
pub mod auth_svc;
pub mod chain;
pub mod client_svc;
pub mod config;
pub mod dev;
pub mod error;
pub mod http;
pub mod operator_auth;
pub mod operator_svc;
pub mod ratelimit;
pub mod record;
pub mod secret;
pub mod state;
pub mod store;
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

use crate::node::auth::Authenticator;
use crate::node::config::{NodeArgs, NodeConfig};
use crate::node::ratelimit::RateLimiter;
use crate::node::state::{NodeState, ServiceLimits, SubmissionPayload, Submitter};
use crate::node::store::Store;
use crate::node::wallet::WalletAuth;
use quorate_api::pb::auth_service_server::AuthServiceServer;
use quorate_api::pb::client_service_server::ClientServiceServer;
use quorate_api::pb::operator_service_server::OperatorServiceServer;

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

async fn serve(config: NodeConfig) -> anyhow::Result<()> {
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
            info!(rpc = %url, addresses = %path.display(), auth_block = parts.auth_block, "chain mode");
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
            let submitter = Arc::new(InMemorySubmitter::new(
                Arc::clone(&scheme),
                Arc::clone(&registry),
            ));
            Backend {
                registry: Arc::new(chain::DynRegistry(registry)),
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
    .with_submission_payload(backend.payload);
    let report = state.recover().await?;
    info!(
        tasks = report.tasks,
        signatures = report.signatures,
        resubmitted = report.resubmitted,
        "recovered unfinished tasks"
    );

    let grpc = tokio::net::TcpListener::bind(config.grpc_addr).await?;
    let http = tokio::net::TcpListener::bind(config.http_addr).await?;
    let (grpc_addr, http_addr) = (grpc.local_addr()?, http.local_addr()?);
    println!("quorate node listening grpc=http://{grpc_addr} http=http://{http_addr} recovered_tasks={} recovered_signatures={}", report.tasks, report.signatures);
    let _ = std::io::stdout().flush();

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
        auth: Arc::new(operator_auth::OperatorAuth {
            registry: Arc::clone(&backend.registry),
            block: backend.auth_block,
            quorums: backend.auth_quorums,
        }),
    };
    let secret = match &config.jwt_secret {
        Some(s) => s.expose().as_bytes().to_vec(),
        None => rand::random::<[u8; 32]>().to_vec(),
    };
    let wallet = Arc::new(WalletAuth::new(
        secret,
        config.chain_id,
        config.sign_in_ttl_ms,
        config.token_ttl_ms,
    ));
    let client_api = client_svc::ClientApi {
        state: state.clone(),
        auth: Arc::new(Authenticator::new(&config.api_keys).with_wallet(Arc::clone(&wallet))),
        limiter: Arc::new(RateLimiter::new(config.rate_limit, config.rate_burst)),
    };
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(quorate_api::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let grpc_stop = stop.clone();
    let grpc_server = tonic::transport::Server::builder()
        .add_service(
            OperatorServiceServer::new(operator_api)
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        )
        .add_service(
            ClientServiceServer::new(client_api)
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        )
        .add_service(
            AuthServiceServer::new(auth_svc::AuthApi { wallet }).max_decoding_message_size(limit),
        )
        .add_service(reflection)
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(grpc),
            async move { grpc_stop.cancelled().await },
        );
    let http_stop = stop.clone();
    let http_server = axum::serve(http, http::router(state.clone(), prometheus))
        .with_graceful_shutdown(async move { http_stop.cancelled().await });
    let grpc_task = tokio::spawn(grpc_server);
    let http_task = tokio::spawn(async move { http_server.await });

    shutdown_signal().await;
    info!("shutting down: finishing in-flight writes");
    stop.cancel();
    state.shutdown().await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), grpc_task).await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), http_task).await;
    info!("stopped");
    Ok(())
}
