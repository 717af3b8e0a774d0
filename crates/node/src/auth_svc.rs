//! `quorate.v1.AuthService`: wallet sign-in (EIP-4361 message → JWT). Both calls are
//! unauthenticated by nature, so each first spends a token of the caller's remote-IP budget
//! (`RESOURCE_EXHAUSTED` past it) before any work: issuing a message costs memory, checking
//! one an ECDSA recovery.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::error::NodeError;
use crate::ratelimit::RateLimiter;
use crate::transport::peer_key;
use crate::wallet::WalletAuth;
use quorate_api::pb;
use quorate_api::pb::auth_service_server::AuthService;

/// The auth service.
pub struct AuthApi {
    /// Message issuing and token signing.
    pub wallet: Arc<WalletAuth>,
    /// Unauthenticated calls, per remote IP.
    pub peers: Arc<RateLimiter>,
}

impl AuthApi {
    fn admit<T>(&self, request: &Request<T>) -> Result<(), NodeError> {
        if self.peers.allow(&peer_key(request)) {
            return Ok(());
        }
        crate::metrics::peer_rate_limited();
        Err(NodeError::ResourceExhausted(
            "too many sign-in calls from this address".into(),
        ))
    }
}

#[tonic::async_trait]
impl AuthService for AuthApi {
    async fn get_signing_message(
        &self,
        request: Request<pb::SigningMessageRequest>,
    ) -> Result<Response<pb::SigningMessage>, Status> {
        self.admit(&request)?;
        let req = request.into_inner();
        let (message, nonce, issued_at_ms, expires_at_ms) =
            self.wallet.signing_message(&req.address, req.chain_id)?;
        Ok(Response::new(pb::SigningMessage {
            message,
            nonce,
            issued_at_ms,
            expires_at_ms,
        }))
    }

    async fn exchange_token(
        &self,
        request: Request<pb::ExchangeTokenRequest>,
    ) -> Result<Response<pb::Token>, Status> {
        self.admit(&request)?;
        let req = request.into_inner();
        let (jwt, expires_at_ms) = self.wallet.exchange(&req.message, &req.signature)?;
        Ok(Response::new(pb::Token { jwt, expires_at_ms }))
    }
}
