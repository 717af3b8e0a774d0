//! Counts JSON-RPC calls per method, as a tower layer under alloy's RPC client, so tests and
//! benches can report calls per task for any provider built on it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use alloy::rpc::json_rpc::{RequestPacket, ResponsePacket};
use alloy::transports::{TransportError, TransportFut};
use quorate_domain::sync::lock;
use tower::{Layer, Service};

/// Shared tallies; clone it to read while the provider runs.
#[derive(Clone, Debug, Default)]
pub struct CallCounter {
    by_method: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl CallCounter {
    /// A zeroed counter.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, u64>> {
        lock(&self.by_method)
    }

    /// Counts one call of `method`.
    pub fn record(&self, method: &str) {
        *self.lock().entry(method.to_owned()).or_default() += 1;
    }

    /// Calls so far, all methods (a batch counts each call in it).
    pub fn total(&self) -> u64 {
        self.lock().values().sum()
    }

    /// Calls so far per method.
    pub fn by_method(&self) -> BTreeMap<String, u64> {
        self.lock().clone()
    }

    /// Zeroes the tallies.
    pub fn reset(&self) {
        self.lock().clear();
    }
}

/// The layer to give `ClientBuilder::layer`.
#[derive(Clone, Debug)]
pub struct CountingLayer {
    counter: CallCounter,
}

impl CountingLayer {
    /// A layer recording into `counter`.
    pub fn new(counter: CallCounter) -> Self {
        Self { counter }
    }
}

impl<S> Layer<S> for CountingLayer {
    type Service = CountingService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CountingService {
            inner,
            counter: self.counter.clone(),
        }
    }
}

/// The transport wrapper the layer produces.
#[derive(Clone, Debug)]
pub struct CountingService<S> {
    inner: S,
    counter: CallCounter,
}

impl<S> Service<RequestPacket> for CountingService<S>
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
        match &req {
            RequestPacket::Single(r) => self.counter.record(r.method()),
            RequestPacket::Batch(rs) => rs.iter().for_each(|r| self.counter.record(r.method())),
        }
        let fut = self.inner.call(req);
        Box::pin(fut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_method() {
        let c = CallCounter::new();
        c.record("eth_call");
        c.record("eth_call");
        c.record("eth_getLogs");
        assert_eq!(c.total(), 3);
        assert_eq!(c.by_method().get("eth_call"), Some(&2));
        c.reset();
        assert_eq!(c.total(), 0);
    }
}
