//! Bounded retries with backoff and a per-attempt timeout, as a tower layer under alloy's RPC
//! client, so every read of the registry and the submitter survives a flaky endpoint and a
//! dead one is reported within a known time.
//!
//! Why our own layer rather than alloy's `RetryBackoffLayer`: that one only retries rate-limit
//! answers (429, `-32005`, …) and has no timeout, so a dropped connection, a 502 from a load
//! balancer, a truncated body or an endpoint that never answers would either fail at once or
//! hang forever. Here every failure is classified ([`classify_transport`],
//! [`classify_payload`]): transient ones are retried up to [`RpcRetryConfig::max_attempts`]
//! with capped exponential backoff, permanent ones (a revert, invalid params, a 4xx) are passed
//! through untouched at once, since asking again gives the same answer.
//!
//! Sending a transaction is not retried here ([`RpcRetryConfig::no_retry_methods`]): whether
//! it reached the node is unknown after a failure, and the submitter owns that decision (it
//! resyncs its nonce and resends at the same nonce).
//!
//! Worst case for one request: `max_attempts × request_timeout` plus the backoffs in between
//! ([`RpcRetryConfig::worst_case`]).

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use alloy::rpc::json_rpc::{ErrorPayload, RequestPacket, ResponsePacket};
use alloy::transports::{RpcError, TransportError, TransportErrorKind, TransportFut};
use tower::{Layer, Service, ServiceExt};
use tracing::{debug, warn, Instrument};

/// Limits of [`RetryTimeoutLayer`]. Every field has a documented default (`Default`).
#[derive(Clone, Debug)]
pub struct RpcRetryConfig {
    /// Time allowed for one attempt (request sent, response read). Default 10 s: a
    /// `getOperatorState` over hundreds of operators takes well under a second on a healthy
    /// node, so anything slower is a stuck connection.
    pub request_timeout: Duration,
    /// Attempts per request, the first included (≥ 1). Default 4.
    pub max_attempts: u32,
    /// Wait before the second attempt; doubled before each further one. Default 100 ms.
    pub initial_backoff: Duration,
    /// Upper bound of one wait between attempts. Default 2 s.
    pub max_backoff: Duration,
    /// Methods attempted once only (not idempotent from the client's point of view).
    /// Default `eth_sendRawTransaction`, `eth_sendTransaction`.
    pub no_retry_methods: Vec<String>,
}

impl Default for RpcRetryConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(10),
            max_attempts: 4,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            no_retry_methods: vec![
                "eth_sendRawTransaction".into(),
                "eth_sendTransaction".into(),
            ],
        }
    }
}

impl RpcRetryConfig {
    /// The wait before attempt `attempt + 1` (1-based `attempt` that just failed).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    /// The longest one request can take before its error is returned.
    pub fn worst_case(&self) -> Duration {
        let attempts = self.max_attempts.max(1);
        let waits: Duration = (1..attempts).map(|a| self.backoff(a)).sum();
        self.request_timeout.saturating_mul(attempts) + waits
    }

    fn retries(&self, methods: &str) -> bool {
        !self
            .no_retry_methods
            .iter()
            .any(|m| methods.split(',').any(|x| x == m))
    }
}

/// Whether asking again can give a different answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultClass {
    /// The endpoint or the path to it failed; worth another attempt.
    Transient,
    /// An answer about the request itself (a revert, bad params); retrying repeats it.
    Permanent,
}

/// An attempt got no complete response within [`RpcRetryConfig::request_timeout`].
#[derive(Clone, Debug, thiserror::Error)]
#[error("{method}: no response within {timeout:?}")]
pub struct RequestTimedOut {
    /// The JSON-RPC method(s).
    pub method: String,
    /// The per-attempt limit.
    pub timeout: Duration,
}

/// Every attempt failed transiently.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{method}: gave up after {attempts} attempts in {elapsed:?}; last error: {last}")]
pub struct RetriesExhausted {
    /// The JSON-RPC method(s).
    pub method: String,
    /// Attempts made.
    pub attempts: u32,
    /// Time from the first attempt to giving up.
    pub elapsed: Duration,
    /// The last attempt's error.
    pub last: String,
}

/// Classifies a transport-level failure (no JSON-RPC answer was decoded).
pub fn classify_transport(err: &TransportError) -> FaultClass {
    match err {
        RpcError::Transport(kind) => match kind {
            TransportErrorKind::HttpError(http) => match http.status {
                // Request timeout, rate limit, and every server-side status: gateways (502,
                // 504), overload (503) and crashes (500) are all about the endpoint.
                408 | 429 | 500..=599 => FaultClass::Transient,
                _ => FaultClass::Permanent,
            },
            TransportErrorKind::PubsubUnavailable => FaultClass::Permanent,
            // Connection refused/reset/closed, incomplete bodies, our own timeout, missing
            // batch entries, a backend that went away.
            _ => FaultClass::Transient,
        },
        // Undecodable body at the transport level: the body is not JSON-RPC at all (a proxy's
        // error page, a truncated or corrupted body), unless it decodes as an error payload.
        RpcError::DeserError { text, .. } => match serde_json::from_str::<ErrorPayload>(text) {
            Ok(payload) => classify_payload(&payload),
            Err(_) => FaultClass::Transient,
        },
        RpcError::ErrorResp(payload) => classify_payload(payload),
        RpcError::NullResp => FaultClass::Transient,
        // Our own request could not be serialized, or an unsupported feature.
        _ => FaultClass::Permanent,
    }
}

/// Classifies a JSON-RPC error answer.
pub fn classify_payload(payload: &ErrorPayload) -> FaultClass {
    // Rate limits and provider overload (alloy's list), and -32603 "internal error", which is
    // the server failing rather than a verdict on the request. Reverts (code 3, or
    // "execution reverted") and invalid requests (-32600..-32602) are final.
    if payload.is_retry_err() || payload.code == -32603 {
        FaultClass::Transient
    } else {
        FaultClass::Permanent
    }
}

/// The layer to give alloy's `ClientBuilder::layer`.
#[derive(Clone, Debug, Default)]
pub struct RetryTimeoutLayer {
    config: Arc<RpcRetryConfig>,
}

impl RetryTimeoutLayer {
    /// A layer with these limits.
    pub fn new(config: RpcRetryConfig) -> Self {
        Self {
            config: Arc::new(config),
        }
    }
}

impl<S> Layer<S> for RetryTimeoutLayer {
    type Service = RetryTimeoutService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RetryTimeoutService {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The transport wrapper the layer produces.
#[derive(Clone, Debug)]
pub struct RetryTimeoutService<S> {
    inner: S,
    config: Arc<RpcRetryConfig>,
}

impl<S> Service<RequestPacket> for RetryTimeoutService<S>
where
    S: Service<RequestPacket, Response = ResponsePacket, Error = TransportError>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: RequestPacket) -> Self::Future {
        // The service that was polled ready serves the first attempt; clones serve the rest.
        let fresh = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, fresh);
        let config = Arc::clone(&self.config);
        let method = req.method_names().collect::<Vec<_>>().join(",");
        let span = tracing::debug_span!("rpc", method = %method);
        Box::pin(call_with_retries(inner, config, req, method).instrument(span))
    }
}

enum Outcome {
    Done(ResponsePacket),
    Failed(TransportError),
}

async fn call_with_retries<S>(
    mut inner: S,
    config: Arc<RpcRetryConfig>,
    req: RequestPacket,
    method: String,
) -> Result<ResponsePacket, TransportError>
where
    S: Service<RequestPacket, Response = ResponsePacket, Error = TransportError> + Clone,
{
    let max_attempts = if config.retries(&method) {
        config.max_attempts.max(1)
    } else {
        1
    };
    let started = Instant::now();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let outcome = match inner.ready().await {
            Err(e) => Outcome::Failed(e),
            Ok(svc) => {
                match tokio::time::timeout(config.request_timeout, svc.call(req.clone())).await {
                    Ok(Ok(resp)) => Outcome::Done(resp),
                    Ok(Err(e)) => Outcome::Failed(e),
                    Err(_) => Outcome::Failed(TransportErrorKind::custom(RequestTimedOut {
                        method: method.clone(),
                        timeout: config.request_timeout,
                    })),
                }
            }
        };
        let (class, last) = match outcome {
            Outcome::Done(resp) => {
                // A transient error anywhere in a batch retries the whole batch: the entries
                // cannot be retried one by one under one request.
                let transient = resp
                    .iter_errors()
                    .find(|p| classify_payload(p) == FaultClass::Transient)
                    .map(|p| format!("JSON-RPC error {}: {}", p.code, p.message));
                let Some(last) = transient else {
                    return Ok(resp);
                };
                if attempt >= max_attempts {
                    // Out of attempts: hand back the endpoint's own answer unless we retried,
                    // in which case say so (and make it a transport error, so callers do not
                    // mistake "overloaded" for a verdict on the request).
                    if attempt == 1 {
                        return Ok(resp);
                    }
                    return Err(exhausted(&method, attempt, started, last));
                }
                (FaultClass::Transient, last)
            }
            Outcome::Failed(e) => {
                let class = classify_transport(&e);
                if class == FaultClass::Permanent || attempt >= max_attempts {
                    if class == FaultClass::Permanent || attempt == 1 {
                        return Err(e);
                    }
                    return Err(exhausted(&method, attempt, started, e.to_string()));
                }
                (class, e.to_string())
            }
        };
        let wait = config.backoff(attempt);
        warn!(attempt, ?class, error = %last, ?wait, "RPC attempt failed; retrying");
        tokio::time::sleep(wait).await;
        debug!(attempt = attempt + 1, "retrying");
    }
}

fn exhausted(method: &str, attempts: u32, started: Instant, last: String) -> TransportError {
    warn!(method, attempts, error = %last, "RPC request failed after every attempt");
    TransportErrorKind::custom(RetriesExhausted {
        method: method.to_owned(),
        attempts,
        elapsed: started.elapsed(),
        last,
    })
}

/// The [`RetriesExhausted`] or [`RequestTimedOut`] inside a transport error, if any.
pub fn retry_failure(
    err: &TransportError,
) -> Option<(Option<&RetriesExhausted>, Option<&RequestTimedOut>)> {
    let custom = match err {
        RpcError::Transport(kind) => kind.as_custom()?,
        _ => return None,
    };
    let exhausted = custom.downcast_ref::<RetriesExhausted>();
    let timed_out = custom.downcast_ref::<RequestTimedOut>();
    (exhausted.is_some() || timed_out.is_some()).then_some((exhausted, timed_out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::rpc::json_rpc::{Id, Request};
    use std::sync::atomic::{AtomicU32, Ordering};

    fn request(method: &'static str) -> RequestPacket {
        let req = Request::new(method, Id::Number(1), ());
        RequestPacket::Single(req.serialize().expect("static request serializes"))
    }

    fn ok_response() -> ResponsePacket {
        serde_json::from_str(r#"{"jsonrpc":"2.0","id":1,"result":"0x1"}"#).expect("valid")
    }

    fn error_response(code: i64, message: &str) -> ResponsePacket {
        serde_json::from_str(&format!(
            r#"{{"jsonrpc":"2.0","id":1,"error":{{"code":{code},"message":"{message}"}}}}"#
        ))
        .expect("valid")
    }

    fn config(attempts: u32) -> RpcRetryConfig {
        RpcRetryConfig {
            request_timeout: Duration::from_millis(500),
            max_attempts: attempts,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
            ..RpcRetryConfig::default()
        }
    }

    /// A transport answering from `script(call_number)`; counts calls.
    fn scripted<F>(
        calls: Arc<AtomicU32>,
        script: F,
    ) -> impl Service<
        RequestPacket,
        Response = ResponsePacket,
        Error = TransportError,
        Future = TransportFut<'static>,
    > + Clone
           + Send
           + Sync
           + 'static
    where
        F: Fn(u32) -> Option<Result<ResponsePacket, TransportError>>
            + Clone
            + Send
            + Sync
            + 'static,
    {
        tower::service_fn(move |_req: RequestPacket| {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            let script = script.clone();
            let fut: TransportFut<'static> = Box::pin(async move {
                match script(n) {
                    Some(r) => r,
                    // `None`: never answer (a stalled endpoint).
                    None => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        Ok(ok_response())
                    }
                }
            });
            fut
        })
    }

    async fn run<S>(
        svc: S,
        cfg: RpcRetryConfig,
        method: &'static str,
    ) -> Result<ResponsePacket, TransportError>
    where
        S: Service<
                RequestPacket,
                Response = ResponsePacket,
                Error = TransportError,
                Future = TransportFut<'static>,
            > + Clone
            + Send
            + Sync
            + 'static,
    {
        let mut layered = RetryTimeoutLayer::new(cfg).layer(svc);
        layered.ready().await?.call(request(method)).await
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_until_success() {
        let calls = Arc::new(AtomicU32::new(0));
        let svc = scripted(Arc::clone(&calls), |n| match n {
            1 => Some(Err(TransportErrorKind::http_error(503, "busy".into()))),
            2 => Some(Err(TransportErrorKind::custom_str("connection reset"))),
            3 => Some(Ok(error_response(-32603, "internal error"))),
            _ => Some(Ok(ok_response())),
        });
        let resp = run(svc, config(4), "eth_call")
            .await
            .expect("fourth attempt succeeds");
        assert!(resp.is_success());
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_endpoint_times_out_every_attempt_within_the_worst_case() {
        let calls = Arc::new(AtomicU32::new(0));
        let svc = scripted(Arc::clone(&calls), |_| None);
        let cfg = config(3);
        let bound = cfg.worst_case();
        let started = tokio::time::Instant::now();
        let err = run(svc, cfg, "eth_call").await.expect_err("never answers");
        assert!(
            started.elapsed() <= bound,
            "{:?} > {bound:?}",
            started.elapsed()
        );
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let (exhausted, _) = retry_failure(&err).expect("typed retry failure");
        let exhausted = exhausted.expect("retries exhausted");
        assert_eq!(exhausted.attempts, 3);
        assert!(
            exhausted.last.contains("no response within"),
            "{}",
            exhausted.last
        );
    }

    #[tokio::test(start_paused = true)]
    async fn reverts_and_client_errors_are_not_retried() {
        let calls = Arc::new(AtomicU32::new(0));
        let svc = scripted(Arc::clone(&calls), |_| {
            Some(Ok(error_response(3, "execution reverted")))
        });
        let resp = run(svc, config(4), "eth_call")
            .await
            .expect("answer passes through");
        assert_eq!(resp.as_error().map(|e| e.code), Some(3));
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let calls = Arc::new(AtomicU32::new(0));
        let svc = scripted(Arc::clone(&calls), |_| {
            Some(Err(TransportErrorKind::http_error(401, "no".into())))
        });
        let err = run(svc, config(4), "eth_call")
            .await
            .expect_err("401 is final");
        assert!(retry_failure(&err).is_none());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn persistent_server_errors_become_retries_exhausted() {
        let calls = Arc::new(AtomicU32::new(0));
        let svc = scripted(Arc::clone(&calls), |_| {
            Some(Ok(error_response(-32005, "limit exceeded")))
        });
        let err = run(svc, config(3), "eth_call")
            .await
            .expect_err("never succeeds");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let (exhausted, _) = retry_failure(&err).expect("typed");
        assert!(exhausted.is_some_and(|e| e.last.contains("-32005")));
    }

    #[tokio::test(start_paused = true)]
    async fn a_transient_error_inside_a_batch_retries_the_batch() {
        let calls = Arc::new(AtomicU32::new(0));
        let svc = scripted(Arc::clone(&calls), |n| {
            let body = if n == 1 {
                r#"[{"jsonrpc":"2.0","id":1,"result":"0x1"},{"jsonrpc":"2.0","id":2,"error":{"code":-32603,"message":"internal"}}]"#
            } else {
                r#"[{"jsonrpc":"2.0","id":1,"result":"0x1"},{"jsonrpc":"2.0","id":2,"result":"0x2"}]"#
            };
            Some(serde_json::from_str(body).map_err(|e| TransportError::deser_err(e, body)))
        });
        let resp = run(svc, config(3), "eth_call")
            .await
            .expect("second attempt");
        assert!(resp.iter_errors().next().is_none());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn transactions_are_sent_once() {
        let calls = Arc::new(AtomicU32::new(0));
        let svc = scripted(Arc::clone(&calls), |_| {
            Some(Err(TransportErrorKind::custom_str("connection closed")))
        });
        let err = run(svc, config(4), "eth_sendRawTransaction")
            .await
            .expect_err("fails");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(err.is_transport_error());
    }

    #[test]
    fn classification() {
        use FaultClass::*;
        for status in [408, 429, 500, 502, 503, 504] {
            let e = TransportErrorKind::http_error(status, String::new());
            assert_eq!(classify_transport(&e), Transient, "{status}");
        }
        for status in [400, 401, 404, 413] {
            let e = TransportErrorKind::http_error(status, String::new());
            assert_eq!(classify_transport(&e), Permanent, "{status}");
        }
        let bad_json = serde_json::from_str::<serde_json::Value>("{\"jsonrpc\":").unwrap_err();
        let truncated = TransportError::deser_err(bad_json, "{\"jsonrpc\":");
        assert_eq!(classify_transport(&truncated), Transient);
        assert_eq!(
            classify_transport(&TransportErrorKind::backend_gone()),
            Transient
        );
        assert_eq!(classify_transport(&RpcError::NullResp), Transient);
        let revert: ErrorPayload =
            serde_json::from_str(r#"{"code":3,"message":"execution reverted","data":"0x"}"#)
                .expect("valid");
        assert_eq!(classify_payload(&revert), Permanent);
        let invalid: ErrorPayload =
            serde_json::from_str(r#"{"code":-32602,"message":"invalid params"}"#).expect("valid");
        assert_eq!(classify_payload(&invalid), Permanent);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let cfg = RpcRetryConfig::default();
        assert_eq!(cfg.backoff(1), Duration::from_millis(100));
        assert_eq!(cfg.backoff(2), Duration::from_millis(200));
        assert_eq!(cfg.backoff(5), Duration::from_millis(1600));
        assert_eq!(cfg.backoff(6), Duration::from_secs(2));
        assert_eq!(cfg.backoff(64), Duration::from_secs(2));
        // 4 × 10 s + 100 + 200 + 400 ms.
        assert_eq!(cfg.worst_case(), Duration::from_millis(40_700));
    }
}
