//! TLS for the command-line clients (`quorate task`, `quorate operator run`): the CA that
//! signed the node's certificate and, for operator listeners that require one, a client
//! certificate.

use std::path::PathBuf;

use anyhow::Context;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

/// TLS flags of a client.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ClientTlsArgs {
    /// PEM CA certificate that signed the node's TLS certificate (for `https://` nodes).
    #[arg(long, env = "QUORATE_TLS_CA")]
    pub tls_ca: Option<PathBuf>,
    /// PEM client certificate, for a node that requires one (`--tls-client-ca`).
    #[arg(
        long = "tls-client-cert",
        env = "QUORATE_TLS_CLIENT_CERT",
        requires = "tls_client_key"
    )]
    pub tls_client_cert: Option<PathBuf>,
    /// PEM private key of `--tls-client-cert`.
    #[arg(
        long = "tls-client-key",
        env = "QUORATE_TLS_CLIENT_KEY",
        requires = "tls_client_cert"
    )]
    pub tls_client_key: Option<PathBuf>,
}

fn read(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

impl ClientTlsArgs {
    /// `endpoint` with these TLS settings (unchanged when none are given).
    pub fn apply(&self, endpoint: Endpoint) -> anyhow::Result<Endpoint> {
        if self.tls_ca.is_none() && self.tls_client_cert.is_none() {
            return Ok(endpoint);
        }
        let mut tls = ClientTlsConfig::new();
        if let Some(ca) = &self.tls_ca {
            tls = tls.ca_certificate(Certificate::from_pem(read(ca)?));
        }
        if let (Some(cert), Some(key)) = (&self.tls_client_cert, &self.tls_client_key) {
            tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
        }
        endpoint.tls_config(tls).context("TLS configuration")
    }
}
