//! The `[wallets]` table: where the ERC-4337 contracts are, the node's session and bundler
//! keys, and the limits of wallets and grants (documented in `docs/wallets.md`).

use std::path::PathBuf;

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

/// Environment variable holding the session key (0x-hex secp256k1) when no file is given.
pub const SESSION_KEY_ENV: &str = "QUORATE_SESSION_KEY";
/// Environment variable holding the bundler key when no file is given.
pub const BUNDLER_KEY_ENV: &str = "QUORATE_BUNDLER_KEY";

/// Settings of smart wallets. Off unless `enabled`; then the node needs `rpc_url`, the
/// EntryPoint, a default factory and both keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WalletsConfig {
    /// Serve WalletService and run `contract_write` / `eth_transfer` steps.
    pub enabled: bool,
    /// The EntryPoint (v0.7).
    pub entry_point: Option<Address>,
    /// The factory of wallets that name none (a `SessionKeyAccountFactory`).
    pub default_factory: Option<Address>,
    /// Other factories workflows may name (same layout and account).
    pub factories: Vec<Address>,
    /// File holding the session key owners grant (mode 0600), else `QUORATE_SESSION_KEY`.
    pub session_key_file: Option<PathBuf>,
    /// File holding the key that sends `handleOps` and is paid the gas, else
    /// `QUORATE_BUNDLER_KEY`. Keep it apart from the submitter key: both send transactions and
    /// their nonces must not race.
    pub bundler_key_file: Option<PathBuf>,
    /// Most wallets recorded per owner (`GetWallet` beyond it is RESOURCE_EXHAUSTED).
    pub max_wallets_per_owner: usize,
    /// Longest grant accepted, in seconds from now.
    pub max_session_secs: u64,
    /// How long a wallet step waits for the `handleOps` receipt, in ms.
    pub receipt_timeout_ms: u64,
    /// Gas to validate an operation of a deployed wallet.
    pub verification_gas: u64,
    /// Gas to deploy a wallet and validate its first operation.
    pub deploy_verification_gas: u64,
    /// Gas paid to the bundler beyond execution.
    pub pre_verification_gas: u64,
    /// Gas added to a call's estimate for the account's `execute`.
    pub call_gas_overhead: u64,
}

impl Default for WalletsConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            entry_point: None,
            default_factory: None,
            factories: Vec::new(),
            session_key_file: None,
            bundler_key_file: None,
            max_wallets_per_owner: 100,
            max_session_secs: 30 * 24 * 3600,
            receipt_timeout_ms: 60_000,
            verification_gas: 150_000,
            deploy_verification_gas: 600_000,
            pre_verification_gas: 60_000,
            call_gas_overhead: 50_000,
        }
    }
}
