//! `quorate.v1.AuthService`: wallet sign-in (EIP-191 message → JWT).

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::node::wallet::WalletAuth;
use quorate_api::pb;
use quorate_api::pb::auth_service_server::AuthService;

/// The auth service.
pub struct AuthApi {
    /// Message issuing and token signing.
    pub wallet: Arc<WalletAuth>,
}

#[tonic::async_trait]
impl AuthService for AuthApi {
    async fn get_signing_message(
        &self,
        request: Request<pb::SigningMessageRequest>,
    ) -> Result<Response<pb::SigningMessage>, Status> {
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
        let req = request.into_inner();
        let (jwt, expires_at_ms) = self.wallet.exchange(&req.message, &req.signature)?;
        Ok(Response::new(pb::Token { jwt, expires_at_ms }))
    }
}
