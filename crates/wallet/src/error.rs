//! Why a wallet operation failed, with what the owner needs to act on it.

use alloy::primitives::{Address, U256};

/// Why a wallet call was not made or did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WalletError {
    /// The grant is malformed or not the owner's.
    #[error("session grant refused: {reason}")]
    BadGrant {
        /// What is wrong.
        reason: String,
    },
    /// The grant's expiry has passed.
    #[error("the session of wallet {wallet} expired at {valid_until} (Unix seconds)")]
    SessionExpired {
        /// The wallet.
        wallet: Address,
        /// Its expiry.
        valid_until: u64,
    },
    /// The owner revoked the session (on chain, or at the node).
    #[error("the session of wallet {wallet} is revoked")]
    SessionRevoked {
        /// The wallet.
        wallet: Address,
    },
    /// The wallet cannot pay for the call's value and gas.
    #[error(
        "wallet {wallet} holds {balance} wei, the call needs up to {needed} wei (value and gas)"
    )]
    InsufficientFunds {
        /// The wallet.
        wallet: Address,
        /// Value plus the most gas the operation may cost.
        needed: U256,
        /// Its balance.
        balance: U256,
    },
    /// The call would take the session past its spending limit.
    #[error("wallet {wallet}: sending {value} wei would exceed the session's spending limit of {limit} wei ({spent} spent)")]
    SpendingLimitExceeded {
        /// The wallet.
        wallet: Address,
        /// Wei this call sends.
        value: U256,
        /// Wei already spent under the grant.
        spent: U256,
        /// The limit.
        limit: U256,
    },
    /// The call reverted (in simulation or on chain); `reason` is decoded.
    #[error("the call from wallet {wallet} reverted: {reason}")]
    CallReverted {
        /// The wallet.
        wallet: Address,
        /// Decoded reason.
        reason: String,
    },
    /// The EntryPoint refused the operation (`AAxx` reason: signature, expiry, funds, …).
    #[error("the EntryPoint refused the operation of wallet {wallet}: {reason}")]
    Rejected {
        /// The wallet.
        wallet: Address,
        /// Decoded reason (e.g. `AA24 signature error`).
        reason: String,
    },
    /// Something could not be built (artifact, signature).
    #[error("building the operation: {0}")]
    Build(String),
    /// The chain could not be reached, or answered with an error, or no receipt came in time.
    #[error("rpc: {0}")]
    Rpc(String),
}
