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
