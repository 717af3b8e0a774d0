//! The HTTP port over reqwest, hardened for URLs written by workflow owners: private, loopback
//! and link-local destinations are refused by default (so a workflow cannot reach the node's
//! admin endpoints or a cloud metadata service), checked on every resolved address (so DNS
//! rebinding does not get around it), no redirects, no proxies from the environment, a timeout
//! and a response size cap.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::ports::{HttpClient, HttpError, HttpRequest, HttpResponse};

/// Settings of [`ReqwestHttpClient`] (`[automation.http]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpClientConfig {
    /// Whole-request timeout, in milliseconds.
    pub timeout_ms: u64,
    /// Largest response body read, in bytes; a larger one fails the step.
    pub max_response_bytes: usize,
    /// Lets steps reach loopback, private (RFC 1918, unique-local), link-local and CGNAT
    /// addresses. Off by default; turn on only for a node whose workflows are all trusted (the
    /// tests do, to reach their local server).
    pub allow_private_networks: bool,
}

impl Default for HttpClientConfig {
    fn default() -> Self {
        Self {
            timeout_ms: 10_000,
            max_response_bytes: 1024 * 1024,
            allow_private_networks: false,
        }
    }
}

/// The reqwest-backed [`HttpClient`].
#[derive(Debug, Clone)]
pub struct ReqwestHttpClient {
    /// The pooled client, built with the guarded resolver.
    client: reqwest::Client,
    /// Its settings.
    config: HttpClientConfig,
}

impl ReqwestHttpClient {
    /// A client with `config`.
    pub fn new(config: HttpClientConfig) -> Result<Self, HttpError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private: config.allow_private_networks,
            }))
            .build()
            .map_err(|e| HttpError::Transport {
                reason: e.to_string(),
            })?;
        Ok(Self { client, config })
    }
}

#[async_trait]
impl HttpClient for ReqwestHttpClient {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        // An IP literal never reaches the resolver, so it is checked here.
        if let Some(url::Host::Ipv4(ip)) = request.url.host() {
            check_ip(IpAddr::V4(ip), self.config.allow_private_networks)?;
        }
        if let Some(url::Host::Ipv6(ip)) = request.url.host() {
            check_ip(IpAddr::V6(ip), self.config.allow_private_networks)?;
        }
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|_| {
            HttpError::Transport {
                reason: format!("bad method {}", request.method),
            }
        })?;
        let mut builder = self.client.request(method, request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let mut response = builder.send().await.map_err(|e| self.classify(&e))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| {
                v.to_str()
                    .ok()
                    .map(|v| (k.as_str().to_owned(), v.to_owned()))
            })
            .collect();
        let limit = self.config.max_response_bytes;
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(HttpError::TooLarge { limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(&e))? {
            if body.len() + chunk.len() > limit {
                return Err(HttpError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

impl ReqwestHttpClient {
    /// Maps reqwest's error to ours, without the URL (it may carry secrets in its query).
    fn classify(&self, error: &reqwest::Error) -> HttpError {
        if error.is_timeout() {
            return HttpError::Timeout {
                millis: self.config.timeout_ms,
            };
        }
        let mut reason = error.without_url_ref().to_string();
        let mut source = std::error::Error::source(error);
        while let Some(inner) = source {
            if let Some(refused) = inner.downcast_ref::<RefusedAddress>() {
                return HttpError::Refused {
                    reason: refused.to_string(),
                };
            }
            reason = format!("{reason}: {inner}");
            source = inner.source();
        }
        HttpError::Transport { reason }
    }
}

trait WithoutUrlRef {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrlRef for reqwest::Error {
    fn without_url_ref(&self) -> String {
        // reqwest appends " for url (…)" to its message; drop it.
        let text = self.to_string();
        match text.find(" for url (") {
            Some(cut) => text[..cut].to_owned(),
            None => text,
        }
    }
}

/// A resolver that drops every address a workflow may not reach.
struct GuardedResolver {
    /// Whether private destinations are allowed.
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = resolved
                .iter()
                .copied()
                .filter(|a| check_ip(a.ip(), allow_private).is_ok())
                .collect();
            if allowed.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> = Box::new(RefusedAddress {
                    host,
                    count: resolved.len(),
                });
                return Err(refused);
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// A host whose every address is refused.
#[derive(Debug, thiserror::Error)]
#[error("host '{host}' resolves only to private, loopback or link-local addresses ({count})")]
struct RefusedAddress {
    host: String,
    count: usize,
}

/// Refuses addresses a workflow must not reach unless `allow_private`.
fn check_ip(ip: IpAddr, allow_private: bool) -> Result<(), HttpError> {
    if allow_private || is_public(ip) {
        return Ok(());
    }
    Err(HttpError::Refused {
        reason: format!("{ip} is not a public address"),
    })
}

/// Whether `ip` is a globally routable unicast address.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                // CGNAT 100.64.0.0/10
                || (a == 100 && (64..128).contains(&b))
                // benchmarking 198.18.0.0/15 and reserved 240.0.0.0/4
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // unique local fc00::/7, link-local fe80::/10
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} must be refused");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip} must be allowed");
        }
    }
}
