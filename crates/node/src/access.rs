//! Who may reach the node and how: client authentication, transport, per-caller and per-peer
//! limits, and where secrets come from. The flags here are flattened into `quorate node`'s;
//! each has a TOML key of the same name (underscores) and a `QUORATE_*` variable.
//!
//! The start-up rule ([`check_exposure`]): only `--dev` on a loopback gRPC address may run
//! without client authentication, and plaintext gRPC on a non-loopback address needs an
//! explicit `--insecure`.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use alloy_primitives::Address;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::auth::Authenticator;
use crate::auth_svc::AuthApi;
use crate::client_svc::ClientApi;
use crate::config::NodeConfig;
use crate::quota::{OpenTaskQuota, WatcherLimit};
use crate::ratelimit::RateLimiter;
use crate::secret::Secret;
use crate::state::NodeState;
use crate::wallet::{WalletAuth, WalletSettings, MIN_JWT_SECRET_BYTES};

/// Environment variable holding the submitter key itself (the value never goes on a flag).
pub const SUBMITTER_KEY_ENV: &str = "QUORATE_SUBMITTER_KEY";
/// Environment variable holding the JWT HMAC secret itself.
pub const JWT_SECRET_ENV: &str = "QUORATE_JWT_SECRET";

/// Flags of client access, transport, limits and secret files.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct AccessArgs {
    /// File holding the 0x-hex secp256k1 key that sends responses in chain mode (or the key
    /// itself in `QUORATE_SUBMITTER_KEY`; default: the address file's
    /// `aggregator.private_key`).
    #[arg(long, env = "QUORATE_SUBMITTER_KEY_FILE")]
    pub submitter_key_file: Option<PathBuf>,
    /// File holding the HMAC secret of wallet JWTs, at least 32 bytes (or the secret itself
    /// in `QUORATE_JWT_SECRET`; default: random per start).
    #[arg(long, env = "QUORATE_JWT_SECRET_FILE")]
    pub jwt_secret_file: Option<PathBuf>,
    /// Whether wallet sign-in (AuthService) is offered [default: true].
    #[arg(long, env = "QUORATE_WALLET_SIGN_IN")]
    pub wallet_sign_in: Option<bool>,
    /// Only these addresses may sign in with a wallet (repeatable; env: comma-separated).
    #[arg(
        long = "wallet-allow",
        env = "QUORATE_WALLET_ALLOW",
        value_delimiter = ','
    )]
    pub wallet_allowlist: Vec<String>,
    /// EIP-4361 domain of sign-in messages (the authority users reach the node at)
    /// [default: localhost].
    #[arg(long, env = "QUORATE_SIWE_DOMAIN")]
    pub siwe_domain: Option<String>,
    /// EIP-4361 URI of sign-in messages [default: http://localhost].
    #[arg(long, env = "QUORATE_SIWE_URI")]
    pub siwe_uri: Option<String>,
    /// Most sign-in messages outstanding at once [default: 100000].
    #[arg(long, env = "QUORATE_MAX_SIGN_IN_MESSAGES")]
    pub max_sign_in_messages: Option<usize>,
    /// Most open (non-final) tasks one client may have; 0: no limit [default: 1000].
    #[arg(long, env = "QUORATE_MAX_OPEN_TASKS_PER_CLIENT")]
    pub max_open_tasks_per_client: Option<usize>,
    /// Most `WatchTask` streams one caller may hold open [default: 16].
    #[arg(long, env = "QUORATE_MAX_WATCHERS_PER_CALLER")]
    pub max_watchers_per_caller: Option<usize>,
    /// Unauthenticated calls (sign-in, failed authentication) per second per remote IP;
    /// 0: unlimited [default: 10].
    #[arg(long, env = "QUORATE_PEER_RATE_LIMIT")]
    pub peer_rate_limit: Option<f64>,
    /// Unauthenticated calls allowed in a burst per remote IP [default: 20].
    #[arg(long, env = "QUORATE_PEER_RATE_BURST")]
    pub peer_rate_burst: Option<u32>,
    /// PEM certificate chain: serve gRPC over TLS (with `--tls-key`).
    #[arg(long, env = "QUORATE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `--tls-cert`.
    #[arg(long, env = "QUORATE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// PEM CA: the listener serving OperatorService requires client certificates it signed.
    #[arg(long, env = "QUORATE_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// Serve OperatorService on this address only (Client and Auth stay on `--grpc-addr`).
    #[arg(long, env = "QUORATE_OPERATOR_GRPC_ADDR")]
    pub operator_grpc_addr: Option<SocketAddr>,
    /// Allow plaintext gRPC on a non-loopback address (logs a warning).
    #[arg(long, env = "QUORATE_INSECURE")]
    pub insecure: bool,
    /// Longest time a unary request may take, in ms [default: 30000].
    #[arg(long, env = "QUORATE_REQUEST_TIMEOUT_MS")]
    pub request_timeout_ms: Option<u64>,
    /// HTTP/2 concurrent streams per connection [default: 128].
    #[arg(long, env = "QUORATE_MAX_CONCURRENT_STREAMS")]
    pub max_concurrent_streams: Option<u32>,
    /// Requests served at once per connection [default: 64].
    #[arg(long, env = "QUORATE_MAX_REQUESTS_PER_CONNECTION")]
    pub max_requests_per_connection: Option<usize>,
}

impl AccessArgs {
    /// Puts the flags given over `c`, then reads the secrets (files first, then environment).
    pub fn apply(&self, c: &mut NodeConfig) -> anyhow::Result<()> {
        macro_rules! over {
            ($($f:ident),*) => {$( if let Some(v) = self.$f.clone() { c.$f = v; } )*};
        }
        over!(
            wallet_sign_in,
            siwe_domain,
            siwe_uri,
            max_sign_in_messages,
            max_open_tasks_per_client,
            max_watchers_per_caller,
            peer_rate_limit,
            peer_rate_burst,
            request_timeout_ms,
            max_concurrent_streams,
            max_requests_per_connection
        );
        macro_rules! some {
            ($($f:ident),*) => {$( if self.$f.is_some() { c.$f = self.$f.clone(); } )*};
        }
        some!(
            submitter_key_file,
            jwt_secret_file,
            tls_cert,
            tls_key,
            tls_client_ca,
            operator_grpc_addr
        );
        c.insecure |= self.insecure;
        if !self.wallet_allowlist.is_empty() {
            c.wallet_allowlist = self.wallet_allowlist.clone();
        }
        if let Some(path) = &c.submitter_key_file {
            c.submitter_key = Some(Secret::from_file(path)?);
        } else if let Some(key) = Secret::from_env(SUBMITTER_KEY_ENV) {
            c.submitter_key = Some(key);
        }
        if let Some(path) = &c.jwt_secret_file {
            c.jwt_secret = Some(Secret::from_file(path)?);
        } else if let Some(secret) = Secret::from_env(JWT_SECRET_ENV) {
            c.jwt_secret = Some(secret);
        }
        Ok(())
    }
}

/// Whether clients must authenticate: API keys, or wallet sign-in with a fixed JWT secret.
pub fn client_auth_configured(c: &NodeConfig) -> bool {
    !c.api_keys.is_empty() || (c.wallet_sign_in && c.jwt_secret.is_some())
}

/// Whether callers without credentials are the admin `dev`: a `--dev` node on loopback with
/// no client authentication configured, and nothing else.
pub fn anonymous_admin(c: &NodeConfig) -> bool {
    c.dev && c.grpc_addr.ip().is_loopback() && !client_auth_configured(c)
}

/// Refuses configurations that would expose the node: no client authentication outside
/// `--dev` on loopback, plaintext on a non-loopback address without `--insecure`, short JWT
/// secrets, a client CA without TLS.
pub fn check_exposure(c: &NodeConfig) -> anyhow::Result<()> {
    let dev_on_loopback = c.dev && c.grpc_addr.ip().is_loopback();
    if !(client_auth_configured(c) || dev_on_loopback) {
        anyhow::bail!(
            "refusing to start without client authentication: {} needs API keys \
             ([[api_keys]] in --config) or wallet sign-in with a JWT secret \
             (--jwt-secret-file or {JWT_SECRET_ENV}); only --dev on a loopback --grpc-addr \
             may run without",
            if c.dev {
                format!("--dev on non-loopback address {}", c.grpc_addr)
            } else {
                "chain mode".to_string()
            }
        );
    }
    if let Some(secret) = &c.jwt_secret {
        anyhow::ensure!(
            secret.expose().len() >= MIN_JWT_SECRET_BYTES,
            "the JWT secret has {} bytes; at least {MIN_JWT_SECRET_BYTES} are needed",
            secret.expose().len()
        );
    }
    anyhow::ensure!(
        c.tls_cert.is_some() == c.tls_key.is_some(),
        "--tls-cert and --tls-key go together"
    );
    anyhow::ensure!(
        c.tls_client_ca.is_none() || c.tls_cert.is_some(),
        "--tls-client-ca needs --tls-cert and --tls-key"
    );
    if c.tls_cert.is_none() {
        let exposed: Vec<SocketAddr> = std::iter::once(c.grpc_addr)
            .chain(c.operator_grpc_addr)
            .filter(|a| !a.ip().is_loopback())
            .collect();
        if let Some(addr) = exposed.first() {
            anyhow::ensure!(
                c.insecure,
                "refusing plaintext gRPC on non-loopback address {addr}: give --tls-cert and \
                 --tls-key, or --insecure to accept it"
            );
            warn!(%addr, "serving plaintext gRPC on a non-loopback address (--insecure)");
        }
    }
    Ok(())
}

/// Wallet sign-in settings from the configuration.
pub fn wallet_settings(c: &NodeConfig) -> anyhow::Result<WalletSettings> {
    let allowlist = c
        .wallet_allowlist
        .iter()
        .map(|a| {
            a.parse::<Address>()
                .map_err(|e| anyhow::anyhow!("wallet allow-list entry {a:?}: {e}"))
        })
        .collect::<anyhow::Result<HashSet<_>>>()?;
    Ok(WalletSettings {
        enabled: c.wallet_sign_in,
        chain_id: c.chain_id,
        domain: c.siwe_domain.clone(),
        uri: c.siwe_uri.clone(),
        allowlist,
        message_ttl_ms: c.sign_in_ttl_ms,
        token_ttl_ms: c.token_ttl_ms,
        max_challenges: c.max_sign_in_messages,
    })
}

/// The client and auth services with their authentication and quotas. The API keys are
/// hashed and their plaintext dropped from `c`; the open-task quota is counted from the store
/// and tracked until `stop`.
pub fn client_apis(
    c: &mut NodeConfig,
    state: &NodeState,
    stop: &CancellationToken,
) -> anyhow::Result<(ClientApi, AuthApi)> {
    let secret = match &c.jwt_secret {
        Some(s) => s.expose().as_bytes().to_vec(),
        // No fixed secret: tokens end with the process.
        None => rand::random::<[u8; 32]>().to_vec(),
    };
    let wallet = Arc::new(WalletAuth::new(secret, wallet_settings(c)?)?);
    // Decided before the keys are taken out of the configuration below.
    let anonymous = anonymous_admin(c);
    let mut auth =
        Authenticator::new(&std::mem::take(&mut c.api_keys))?.with_wallet(Arc::clone(&wallet));
    if anonymous {
        auth = auth.allow_anonymous_admin();
    }
    let peers = Arc::new(RateLimiter::new(c.peer_rate_limit, c.peer_rate_burst));
    let quota = Arc::new(OpenTaskQuota::load(
        c.max_open_tasks_per_client,
        &state.store,
    )?);
    Arc::clone(&quota).track(state.clone(), stop.clone());
    let client = ClientApi {
        state: state.clone(),
        auth: Arc::new(auth),
        limiter: Arc::new(RateLimiter::new(c.rate_limit, c.rate_burst)),
        peers: Arc::clone(&peers),
        quota,
        watchers: Arc::new(WatcherLimit::new(c.max_watchers_per_caller)),
    };
    Ok((client, AuthApi { wallet, peers }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev() -> NodeConfig {
        NodeConfig {
            dev: true,
            ..NodeConfig::default()
        }
    }

    #[test]
    fn only_dev_on_loopback_runs_without_client_auth() {
        assert!(check_exposure(&dev()).is_ok());
        assert!(anonymous_admin(&dev()));
        let chain = NodeConfig::default();
        let err = check_exposure(&chain).unwrap_err().to_string();
        assert!(err.contains("chain mode"), "{err}");
        let public_dev = NodeConfig {
            grpc_addr: "0.0.0.0:0".parse().unwrap(),
            insecure: true,
            ..dev()
        };
        assert!(check_exposure(&public_dev).is_err());
        assert!(!anonymous_admin(&public_dev));
        let with_secret = NodeConfig {
            jwt_secret: Some(Secret::from("x".repeat(32).as_str())),
            ..NodeConfig::default()
        };
        assert!(check_exposure(&with_secret).is_ok());
        let short = NodeConfig {
            jwt_secret: Some(Secret::from("short")),
            ..NodeConfig::default()
        };
        assert!(check_exposure(&short)
            .unwrap_err()
            .to_string()
            .contains("32"));
    }

    #[test]
    fn secrets_come_from_files_and_flags_override_the_file() {
        let dir = std::env::temp_dir().join(format!("quorate-access-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = dir.join("jwt");
        std::fs::write(&secret, "0123456789abcdef0123456789abcdef\n").unwrap();
        let mut c = NodeConfig {
            max_watchers_per_caller: 3,
            ..NodeConfig::default()
        };
        let args = AccessArgs {
            jwt_secret_file: Some(secret),
            max_open_tasks_per_client: Some(7),
            wallet_allowlist: vec!["0x00000000000000000000000000000000000000aa".into()],
            ..AccessArgs::default()
        };
        args.apply(&mut c).unwrap();
        assert_eq!(
            c.jwt_secret.as_ref().map(Secret::expose),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(
            (c.max_open_tasks_per_client, c.max_watchers_per_caller),
            (7, 3)
        );
        assert_eq!(wallet_settings(&c).unwrap().allowlist.len(), 1);
        let missing = AccessArgs {
            submitter_key_file: Some(dir.join("absent")),
            ..AccessArgs::default()
        };
        assert!(missing
            .apply(&mut c)
            .unwrap_err()
            .to_string()
            .contains("absent"));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn plaintext_off_loopback_needs_insecure() {
        let public = NodeConfig {
            grpc_addr: "0.0.0.0:0".parse().unwrap(),
            jwt_secret: Some(Secret::from("x".repeat(32).as_str())),
            ..NodeConfig::default()
        };
        let err = check_exposure(&public).unwrap_err().to_string();
        assert!(err.contains("--insecure"), "{err}");
        assert!(check_exposure(&NodeConfig {
            insecure: true,
            ..public.clone()
        })
        .is_ok());
        let operator_public = NodeConfig {
            operator_grpc_addr: Some("0.0.0.0:0".parse().unwrap()),
            grpc_addr: "127.0.0.1:0".parse().unwrap(),
            ..public
        };
        assert!(check_exposure(&operator_public).is_err());
    }
}
