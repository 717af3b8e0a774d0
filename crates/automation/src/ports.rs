//! The engine's ports: HTTP and chain reads. The node plugs in real adapters
//! ([`crate::ReqwestHttpClient`], an alloy provider); tests plug in a local server or a devnet.

use std::fmt;

use alloy_primitives::{Address, Bytes};
use async_trait::async_trait;
use auto_impl::auto_impl;

/// An HTTP request a step sends. Its URL, headers and body may hold secrets, so `Debug` shows
/// only the method and the URL's scheme and host.
#[derive(Clone)]
pub struct HttpRequest {
    /// Upper-case method.
    pub method: String,
    /// Absolute `http`/`https` URL.
    pub url: url::Url,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Option<Vec<u8>>,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("scheme", &self.url.scheme())
            .field("host", &self.url.host_str())
            .finish_non_exhaustive()
    }
}

/// What came back.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Response headers (names lower-case).
    pub headers: Vec<(String, String)>,
    /// Body bytes, at most the client's response limit.
    pub body: Vec<u8>,
}

/// Why an HTTP request failed. Messages never include the URL's path or query, which may
/// carry secrets.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The destination is not allowed (a private, loopback or link-local address, when those are
    /// refused).
    #[error("destination refused: {reason}")]
    Refused {
        /// Which rule refused it.
        reason: String,
    },
    /// No answer within the timeout.
    #[error("timed out after {millis} ms")]
    Timeout {
        /// The limit.
        millis: u64,
    },
    /// The response body exceeded the limit.
    #[error("response larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// Connection or protocol failure.
    #[error("request failed: {reason}")]
    Transport {
        /// The client's description, without the URL.
        reason: String,
    },
}

/// Sends HTTP requests for REST and GraphQL steps.
#[async_trait]
#[auto_impl(&, Arc, Box)]
pub trait HttpClient: Send + Sync {
    /// Sends one request.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError>;
}

/// Why a contract read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The call reverted.
    #[error("reverted: 0x{}", alloy_primitives::hex::encode(.data))]
    Reverted {
        /// The revert data.
        data: Bytes,
    },
    /// The node could not be reached or answered with an error.
    #[error("rpc: {reason}")]
    Rpc {
        /// The provider's description.
        reason: String,
    },
}

/// `eth_call` for contract-read steps.
#[async_trait]
#[auto_impl(&, Arc, Box)]
pub trait ContractReader: Send + Sync {
    /// Calls `to` with `calldata` at the latest block.
    async fn call(&self, to: Address, calldata: Bytes) -> Result<Bytes, ReadError>;
}

/// A call a step makes from the workflow's smart wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletCallRequest {
    /// The step's node id (for logs and records).
    pub node_id: String,
    /// Destination.
    pub to: Address,
    /// Wei sent.
    pub value: alloy_primitives::U256,
    /// Calldata (empty for a plain transfer).
    pub data: Bytes,
}

/// A call that reached the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct WalletCallOutcome {
    /// Whether the wallet's call succeeded.
    pub success: bool,
    /// The UserOperation and the receipt, as the step's record shows them.
    pub record: serde_json::Value,
    /// What the call returned (when it succeeded).
    pub return_data: Bytes,
    /// The decoded revert reason (when it did not).
    pub revert_reason: Option<String>,
}

/// Why a wallet call was refused or failed before it reached the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WalletRefusal {
    /// The workflow's wallet is not the owner's, or the owner has no wallet address.
    NotOwner,
    /// The owner has not authorized the node on this wallet.
    NoSession,
    /// The authorization expired.
    SessionExpired,
    /// The owner revoked the authorization.
    SessionRevoked,
    /// The call would exceed the authorization's spending limit.
    SpendingLimitExceeded,
    /// The wallet cannot pay the value and gas.
    InsufficientFunds,
    /// The call reverts.
    Reverted,
    /// The EntryPoint refused the operation.
    Rejected,
    /// The node has no wallets configured, or the chain failed.
    Unavailable,
}

impl WalletRefusal {
    /// The refusal's name in records (`session_expired`, …).
    pub fn label(self) -> &'static str {
        match self {
            Self::NotOwner => "not_owner",
            Self::NoSession => "no_session",
            Self::SessionExpired => "session_expired",
            Self::SessionRevoked => "session_revoked",
            Self::SpendingLimitExceeded => "spending_limit_exceeded",
            Self::InsufficientFunds => "insufficient_funds",
            Self::Reverted => "reverted",
            Self::Rejected => "rejected",
            Self::Unavailable => "unavailable",
        }
    }
}

/// A refused wallet call: which rule, and the node's message (wallet, limits, reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} ({})", .message, .kind.label())]
pub struct WalletSendError {
    /// Which rule refused it.
    pub kind: WalletRefusal,
    /// What the owner reads.
    pub message: String,
}

/// Sends calls from one workflow's smart wallet. The node binds one to each execution (owner,
/// wallet, authorization), so a step can only act from its own workflow's wallet.
#[async_trait]
#[auto_impl(&, Arc, Box)]
pub trait WalletSender: Send + Sync {
    /// Sends one call as a UserOperation and waits for its receipt.
    async fn send(&self, call: WalletCallRequest) -> Result<WalletCallOutcome, WalletSendError>;
}
