//! gRPC listeners: TLS (rustls) with optional client certificates for operators, per-connection
//! stream and request limits, request timeouts, and OperatorService on its own listener when
//! `--operator-grpc-addr` is given (Client and Auth services then stay on the main one).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use crate::auth_svc::AuthApi;
use crate::client_svc::ClientApi;
use crate::config::NodeConfig;
use crate::operator_svc::OperatorApi;
use quorate_api::pb::auth_service_server::AuthServiceServer;
use quorate_api::pb::client_service_server::ClientServiceServer;
use quorate_api::pb::operator_service_server::OperatorServiceServer;

/// Streams a client may reset before the connection is closed (HTTP/2 "rapid reset").
const MAX_PENDING_RESETS: usize = 32;

/// The bound gRPC listeners, before serving.
pub struct Listeners {
    /// Client and Auth services (and OperatorService unless it has its own listener).
    pub main: TcpListener,
    /// OperatorService only, when `--operator-grpc-addr` is given.
    pub operator: Option<TcpListener>,
    /// Whether the listeners speak TLS (the printed URLs are then `https://`).
    pub tls: bool,
}

impl Listeners {
    /// Binds the configured addresses.
    pub async fn bind(c: &NodeConfig) -> anyhow::Result<Self> {
        let main = TcpListener::bind(c.grpc_addr)
            .await
            .with_context(|| format!("binding gRPC {}", c.grpc_addr))?;
        let operator = match c.operator_grpc_addr {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("binding operator gRPC {addr}"))?,
            ),
            None => None,
        };
        Ok(Self {
            main,
            operator,
            tls: c.tls_cert.is_some(),
        })
    }

    /// `scheme://addr` of the main listener and, if any, of the operator one.
    pub fn urls(&self) -> anyhow::Result<(String, Option<String>)> {
        let scheme = if self.tls { "https" } else { "http" };
        let main = format!("{scheme}://{}", self.main.local_addr()?);
        let operator = match &self.operator {
            Some(l) => Some(format!("{scheme}://{}", l.local_addr()?)),
            None => None,
        };
        Ok((main, operator))
    }
}

/// The services a node serves.
pub struct Services {
    /// OperatorService.
    pub operator: OperatorServiceServer<OperatorApi>,
    /// ClientService.
    pub client: ClientServiceServer<ClientApi>,
    /// AuthService.
    pub auth: AuthServiceServer<AuthApi>,
    /// WorkflowService (when automation is enabled).
    pub workflow: Option<
        quorate_api::pb::workflow_service_server::WorkflowServiceServer<
            crate::automation::WorkflowApi,
        >,
    >,
    /// WalletService (when smart wallets are enabled).
    pub wallet: Option<
        quorate_api::pb::wallet_service_server::WalletServiceServer<crate::smart_wallet::WalletApi>,
    >,
}

fn read(path: &std::path::Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {what} {}", path.display()))
}

/// The TLS settings of a listener; `require_client_cert` asks for certificates signed by
/// `--tls-client-ca` (when one is configured).
fn tls_config(
    c: &NodeConfig,
    require_client_cert: bool,
) -> anyhow::Result<Option<ServerTlsConfig>> {
    let (Some(cert), Some(key)) = (&c.tls_cert, &c.tls_key) else {
        return Ok(None);
    };
    // Both rustls back ends are compiled in (alloy brings aws-lc): pick one for the process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let identity = Identity::from_pem(read(cert, "TLS certificate")?, read(key, "TLS key")?);
    let mut tls = ServerTlsConfig::new()
        .identity(identity)
        .timeout(Duration::from_millis(c.request_timeout_ms.max(1)));
    if let (true, Some(ca)) = (require_client_cert, &c.tls_client_ca) {
        tls = tls.client_ca_root(Certificate::from_pem(read(ca, "TLS client CA")?));
    }
    Ok(Some(tls))
}

fn builder(c: &NodeConfig, tls: Option<ServerTlsConfig>) -> anyhow::Result<Server> {
    let server = Server::builder()
        .timeout(Duration::from_millis(c.request_timeout_ms.max(1)))
        .concurrency_limit_per_connection(c.max_requests_per_connection.max(1))
        .max_concurrent_streams(c.max_concurrent_streams.max(1))
        .http2_max_pending_accept_reset_streams(Some(MAX_PENDING_RESETS));
    Ok(match tls {
        Some(tls) => server.tls_config(tls).context("TLS configuration")?,
        None => server,
    })
}

fn reflection() -> anyhow::Result<
    tonic_reflection::server::v1::ServerReflectionServer<
        impl tonic_reflection::server::v1::ServerReflection,
    >,
> {
    Ok(tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(quorate_api::FILE_DESCRIPTOR_SET)
        .build_v1()?)
}

/// Serves `services` on `listeners` until `stop`; returns the server tasks.
pub fn spawn(
    c: &NodeConfig,
    listeners: Listeners,
    services: Services,
    stop: &CancellationToken,
) -> anyhow::Result<Vec<JoinHandle<Result<(), tonic::transport::Error>>>> {
    let incoming = |l: TcpListener| tokio_stream::wrappers::TcpListenerStream::new(l);
    let mut tasks = Vec::new();
    let main = match listeners.operator {
        Some(operator_listener) => {
            let operator = builder(c, tls_config(c, true)?)?
                .add_service(services.operator)
                .add_service(reflection()?)
                .serve_with_incoming_shutdown(
                    incoming(operator_listener),
                    stop.clone().cancelled_owned(),
                );
            tasks.push(tokio::spawn(operator));
            builder(c, tls_config(c, false)?)?
                .add_service(services.client)
                .add_service(services.auth)
                .add_optional_service(services.workflow)
                .add_optional_service(services.wallet)
                .add_service(reflection()?)
        }
        None => builder(c, tls_config(c, true)?)?
            .add_service(services.operator)
            .add_service(services.client)
            .add_service(services.auth)
            .add_optional_service(services.workflow)
            .add_optional_service(services.wallet)
            .add_service(reflection()?),
    };
    let main =
        main.serve_with_incoming_shutdown(incoming(listeners.main), stop.clone().cancelled_owned());
    tasks.push(tokio::spawn(main));
    Ok(tasks)
}

/// The remote address of a request as a rate-limit key (its IP; every port of a host is one
/// peer).
pub fn peer_key<T>(request: &tonic::Request<T>) -> String {
    request
        .remote_addr()
        .map_or_else(|| "unknown".to_string(), |a: SocketAddr| a.ip().to_string())
}
