//! Node configuration: a TOML file, overridden by environment variables and flags.

use crate::secret::Secret;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::auth::ApiKey;

/// Flags (and their `QUORATE_*` environment variables) of `quorate node`. Each overrides the
/// same key of the TOML file given with `--config`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct NodeArgs {
    /// TOML configuration file (keys as the long flags, with underscores; plus `api_keys`).
    #[arg(long, env = "QUORATE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Embedded defaults: in-memory registry of generated operators, a local database file
    /// and simulated operators.
    #[arg(long, env = "QUORATE_DEV")]
    pub dev: bool,
    /// gRPC listen address (port 0: any free port; the bound address is printed).
    #[arg(long, env = "QUORATE_GRPC_ADDR")]
    pub grpc_addr: Option<SocketAddr>,
    /// HTTP listen address for /metrics and /health.
    #[arg(long, env = "QUORATE_HTTP_ADDR")]
    pub http_addr: Option<SocketAddr>,
    /// Database file.
    #[arg(long, env = "QUORATE_DB")]
    pub db: Option<PathBuf>,
    /// Dev operators registered in the in-memory registry.
    #[arg(long, env = "QUORATE_DEV_OPERATORS")]
    pub dev_operators: Option<u32>,
    /// Seed of the dev operators' keys (`quorate operator run --dev-seed` must match).
    #[arg(long, env = "QUORATE_DEV_SEED")]
    pub dev_seed: Option<u64>,
    /// How many of the dev operators the node simulates itself (default: all of them).
    #[arg(long, env = "QUORATE_SIMULATED_OPERATORS")]
    pub simulated_operators: Option<u32>,
    /// Logs as JSON lines.
    #[arg(long, env = "QUORATE_LOG_JSON")]
    pub log_json: bool,
    /// Task creations per second per caller (0: unlimited).
    #[arg(long, env = "QUORATE_RATE_LIMIT")]
    pub rate_limit: Option<f64>,
    /// Task creations allowed in a burst per caller.
    #[arg(long, env = "QUORATE_RATE_BURST")]
    pub rate_burst: Option<u32>,
    /// Largest gRPC message accepted, in bytes.
    #[arg(long, env = "QUORATE_MAX_MESSAGE_BYTES")]
    pub max_message_bytes: Option<usize>,
    /// Largest task payload accepted, in bytes.
    #[arg(long, env = "QUORATE_MAX_PAYLOAD_BYTES")]
    pub max_payload_bytes: Option<usize>,
    /// Reference block of tasks that give none (and of the dev operator set).
    #[arg(long, env = "QUORATE_REFERENCE_BLOCK")]
    pub reference_block: Option<u64>,
    /// Chain RPC endpoint: chain mode instead of `--dev` (needs `--avs`).
    #[arg(
        long,
        env = "QUORATE_RPC_URL",
        conflicts_with = "dev",
        requires = "avs"
    )]
    pub rpc_url: Option<String>,
    /// AVS configuration for chain mode: contracts, task event, response and respond call
    /// (TOML, `docs/avs-integration.md`).
    #[arg(long, env = "QUORATE_AVS")]
    pub avs: Option<PathBuf>,
    /// Client access, transport, limits and secret files (see `access.rs`).
    #[command(flatten)]
    pub access: super::access::AccessArgs,
    /// Operator sign-in, stream and evidence limits (see `operator_config.rs`).
    #[command(flatten)]
    pub operators: super::operator_config::OperatorLimitArgs,
    /// Task retention and pruning (see `lifecycle.rs`).
    #[command(flatten)]
    pub storage: super::lifecycle::StorageArgs,
    /// The aggregator's verification mode, limits and threads (see `runtime_config.rs`).
    #[command(flatten)]
    pub runtime: crate::runtime_config::RuntimeArgs,
    /// Print the effective configuration (file, environment and flags merged, validated,
    /// secrets redacted) as TOML and exit.
    #[arg(long)]
    pub print_config: bool,
}

/// The resolved configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    /// See [`NodeArgs::dev`].
    pub dev: bool,
    /// See [`NodeArgs::grpc_addr`].
    pub grpc_addr: SocketAddr,
    /// See [`NodeArgs::http_addr`].
    pub http_addr: SocketAddr,
    /// See [`NodeArgs::db`].
    pub db: PathBuf,
    /// See [`NodeArgs::dev_operators`].
    pub dev_operators: u32,
    /// See [`NodeArgs::dev_seed`].
    pub dev_seed: u64,
    /// See [`NodeArgs::simulated_operators`].
    pub simulated_operators: Option<u32>,
    /// See [`NodeArgs::log_json`].
    pub log_json: bool,
    /// See [`NodeArgs::rate_limit`].
    pub rate_limit: f64,
    /// See [`NodeArgs::rate_burst`].
    pub rate_burst: u32,
    /// See [`NodeArgs::max_message_bytes`].
    pub max_message_bytes: usize,
    /// See [`NodeArgs::max_payload_bytes`].
    pub max_payload_bytes: usize,
    /// See [`NodeArgs::reference_block`].
    pub reference_block: u64,
    /// Longest task expiry accepted, in ms.
    pub max_expiry_ms: u64,
    /// See [`NodeArgs::rpc_url`] (printed without user info, path or query: providers put
    /// API keys there).
    #[serde(serialize_with = "serialize_redacted_url")]
    pub rpc_url: Option<String>,
    /// See [`NodeArgs::avs`].
    pub avs: Option<PathBuf>,
    /// Key that sends responses in chain mode: from `submitter_key_file`, else
    /// `QUORATE_SUBMITTER_KEY`, else this TOML key (never a flag: flags show in `ps`).
    pub submitter_key: Option<Secret>,
    /// API keys (`key` or `key_sha256`); none, on a `--dev` node on loopback only: callers
    /// without credentials are the admin `dev`.
    pub api_keys: Vec<ApiKey>,
    /// Chain id: the audience of wallet JWTs.
    pub chain_id: u64,
    /// HMAC secret of wallet JWTs, at least 32 bytes: from `jwt_secret_file`, else
    /// `QUORATE_JWT_SECRET`, else this TOML key (default: random per start, so tokens end with
    /// the process).
    pub jwt_secret: Option<Secret>,
    /// How long a sign-in message may be exchanged, in ms.
    pub sign_in_ttl_ms: u64,
    /// How long a wallet JWT is valid, in ms.
    pub token_ttl_ms: u64,
    /// See [`super::access::AccessArgs::submitter_key_file`].
    pub submitter_key_file: Option<PathBuf>,
    /// See [`super::access::AccessArgs::jwt_secret_file`].
    pub jwt_secret_file: Option<PathBuf>,
    /// See [`super::access::AccessArgs::wallet_sign_in`].
    pub wallet_sign_in: bool,
    /// Addresses that may sign in with a wallet (empty: any).
    pub wallet_allowlist: Vec<String>,
    /// See [`super::access::AccessArgs::siwe_domain`].
    pub siwe_domain: String,
    /// See [`super::access::AccessArgs::siwe_uri`].
    pub siwe_uri: String,
    /// See [`super::access::AccessArgs::max_sign_in_messages`].
    pub max_sign_in_messages: usize,
    /// See [`super::access::AccessArgs::max_open_tasks_per_client`].
    pub max_open_tasks_per_client: usize,
    /// See [`super::access::AccessArgs::max_watchers_per_caller`].
    pub max_watchers_per_caller: usize,
    /// See [`super::access::AccessArgs::peer_rate_limit`].
    pub peer_rate_limit: f64,
    /// See [`super::access::AccessArgs::peer_rate_burst`].
    pub peer_rate_burst: u32,
    /// See [`super::access::AccessArgs::tls_cert`].
    pub tls_cert: Option<PathBuf>,
    /// See [`super::access::AccessArgs::tls_key`].
    pub tls_key: Option<PathBuf>,
    /// See [`super::access::AccessArgs::tls_client_ca`].
    pub tls_client_ca: Option<PathBuf>,
    /// See [`super::access::AccessArgs::operator_grpc_addr`].
    pub operator_grpc_addr: Option<SocketAddr>,
    /// See [`super::access::AccessArgs::insecure`].
    pub insecure: bool,
    /// See [`super::access::AccessArgs::request_timeout_ms`].
    pub request_timeout_ms: u64,
    /// See [`super::access::AccessArgs::max_concurrent_streams`].
    pub max_concurrent_streams: u32,
    /// See [`super::access::AccessArgs::max_requests_per_connection`].
    pub max_requests_per_connection: usize,
    /// See [`super::operator_config::OperatorLimitArgs::operator_challenge_ttl_ms`].
    pub operator_challenge_ttl_ms: u64,
    /// See [`super::operator_config::OperatorLimitArgs::max_operator_challenges`].
    pub max_operator_challenges: usize,
    /// See [`super::operator_config::OperatorLimitArgs::max_challenges_per_operator`].
    pub max_challenges_per_operator: usize,
    /// See [`super::operator_config::OperatorLimitArgs::operator_session_ttl_ms`].
    pub operator_session_ttl_ms: u64,
    /// See [`super::operator_config::OperatorLimitArgs::max_streams_per_operator`].
    pub max_streams_per_operator: usize,
    /// See [`super::operator_config::OperatorLimitArgs::max_equivocations`].
    pub max_equivocations: u64,
    /// See [`super::lifecycle::StorageArgs::task_retention_secs`].
    pub task_retention_secs: u64,
    /// See [`super::lifecycle::StorageArgs::prune_interval_ms`].
    pub prune_interval_ms: u64,
    /// See [`super::lifecycle::StorageArgs::prune_batch`].
    pub prune_batch: usize,
    /// See [`super::lifecycle::StorageArgs::storage_failure_grace_ms`].
    pub storage_failure_grace_ms: u64,
    /// The aggregator's configuration (`[runtime]` table; see `runtime_config.rs`).
    pub runtime: crate::runtime_config::RuntimeSettings,
    /// Workflow automation (`[automation]` table; see `docs/automation.md`).
    pub automation: crate::automation::AutomationConfig,
    /// Smart wallets (`[wallets]` table; see `docs/wallets.md`).
    pub wallets: crate::smart_wallet::WalletsConfig,
}

fn serialize_redacted_url<S: serde::Serializer>(
    url: &Option<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match url {
        Some(u) => serializer.serialize_some(&crate::secret::redact_url(u)),
        None => serializer.serialize_none(),
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            dev: false,
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 50051)),
            http_addr: SocketAddr::from(([127, 0, 0, 1], 9464)),
            db: PathBuf::from(".quorate/node.redb"),
            dev_operators: 4,
            dev_seed: 1,
            simulated_operators: None,
            log_json: false,
            rate_limit: 100.0,
            rate_burst: 200,
            max_message_bytes: 1 << 20,
            max_payload_bytes: 64 * 1024,
            reference_block: 100,
            max_expiry_ms: 24 * 3600 * 1000,
            rpc_url: None,
            avs: None,
            submitter_key: None,
            api_keys: Vec::new(),
            chain_id: 31337,
            jwt_secret: None,
            sign_in_ttl_ms: 5 * 60 * 1000,
            token_ttl_ms: 3600 * 1000,
            submitter_key_file: None,
            jwt_secret_file: None,
            wallet_sign_in: true,
            wallet_allowlist: Vec::new(),
            siwe_domain: "localhost".into(),
            siwe_uri: "http://localhost".into(),
            max_sign_in_messages: 100_000,
            max_open_tasks_per_client: 1000,
            max_watchers_per_caller: 16,
            peer_rate_limit: 10.0,
            peer_rate_burst: 20,
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
            operator_grpc_addr: None,
            insecure: false,
            request_timeout_ms: 30_000,
            max_concurrent_streams: 128,
            max_requests_per_connection: 64,
            operator_challenge_ttl_ms: 30_000,
            max_operator_challenges: 10_000,
            max_challenges_per_operator: 4,
            operator_session_ttl_ms: 3_600_000,
            max_streams_per_operator: 4,
            max_equivocations: 100_000,
            task_retention_secs: 7 * 24 * 3600,
            prune_interval_ms: 60_000,
            prune_batch: 256,
            storage_failure_grace_ms: 2_000,
            runtime: crate::runtime_config::RuntimeSettings::default(),
            automation: crate::automation::AutomationConfig::default(),
            wallets: crate::smart_wallet::WalletsConfig::default(),
        }
    }
}

impl NodeConfig {
    /// File (if any), then flags and environment on top.
    pub fn load(args: &NodeArgs) -> anyhow::Result<Self> {
        let mut c = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
                toml::from_str(&text)
                    .map_err(|e| anyhow::anyhow!("parsing {}: {e}", path.display()))?
            }
            None => NodeConfig::default(),
        };
        c.dev |= args.dev;
        c.log_json |= args.log_json;
        macro_rules! over {
            ($($f:ident),*) => {$( if let Some(v) = args.$f.clone() { c.$f = v; } )*};
        }
        over!(
            grpc_addr,
            http_addr,
            db,
            dev_operators,
            dev_seed,
            rate_limit,
            rate_burst,
            max_message_bytes,
            max_payload_bytes,
            reference_block
        );
        if args.simulated_operators.is_some() {
            c.simulated_operators = args.simulated_operators;
        }
        if args.rpc_url.is_some() {
            c.rpc_url = args.rpc_url.clone();
        }
        if args.avs.is_some() {
            c.avs = args.avs.clone();
        }
        args.access.apply(&mut c)?;
        args.operators.apply(&mut c);
        args.storage.apply(&mut c);
        args.runtime.apply(&mut c.runtime);
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file() {
        let dir = std::env::temp_dir().join(format!("quorate-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("node.toml");
        std::fs::write(
            &path,
            "dev_operators = 7\nrate_limit = 2.5\n[[api_keys]]\nname = \"a\"\nkey = \"k\"\nrole = \"admin\"\n",
        )
        .unwrap();
        let args = NodeArgs {
            config: Some(path),
            dev_operators: Some(9),
            ..NodeArgs::default()
        };
        let c = NodeConfig::load(&args).unwrap();
        assert_eq!(c.dev_operators, 9);
        assert_eq!(c.rate_limit, 2.5);
        assert_eq!(c.api_keys.len(), 1);
        let _ = std::fs::remove_dir_all(dir);
    }
}
