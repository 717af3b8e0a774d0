//! `quorate.v1.WalletService`. Every call authenticates first and needs a caller with an owner
//! address; the wallet is always the caller's own (the owner is never taken from the request).

use std::collections::BTreeMap;
use std::sync::Arc;

use alloy::primitives::{Address, Bytes, U256};
use quorate_api::pb;
use quorate_api::pb::wallet_service_server::WalletService;
use quorate_wallet::{SessionGrant, SignedGrant, WalletLocator};
use tonic::{Request, Response, Status};

use super::{SmartWallets, WalletState};
use crate::auth::{Authenticator, Caller};
use crate::automation::Automation;
use crate::client_svc::throttled_caller;
use crate::error::NodeError;
use crate::ratelimit::RateLimiter;
use crate::store::SessionRecord;

/// The wallet service.
pub(crate) struct WalletApi {
    /// The node's wallets.
    pub(crate) wallets: Arc<SmartWallets>,
    /// Workflows (to count the ones using a wallet), when automation is on.
    pub(crate) automation: Option<Automation>,
    /// Caller identification.
    pub(crate) auth: Arc<Authenticator>,
    /// Failed authentications, per remote IP.
    pub(crate) peers: Arc<RateLimiter>,
}

type Reply<T> = Result<Response<T>, Status>;

/// Salt from decimal or 0x-hex (empty: 0).
fn parse_salt(text: &str) -> Result<U256, NodeError> {
    let text = text.trim();
    let parsed = match text.strip_prefix("0x") {
        _ if text.is_empty() => Ok(U256::ZERO),
        Some(hex) if !hex.is_empty() => U256::from_str_radix(hex, 16),
        Some(_) => return Err(NodeError::InvalidArgument("salt '0x' has no digits".into())),
        None => U256::from_str_radix(text, 10),
    };
    parsed.map_err(|e| NodeError::InvalidArgument(format!("salt: {e}")))
}

/// Factory from a 0x address (empty: the default).
fn parse_factory(text: &str) -> Result<Option<Address>, NodeError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|e| NodeError::InvalidArgument(format!("factory: {e}")))
}

fn session_wire(s: &SessionRecord) -> pb::SessionInfo {
    pb::SessionInfo {
        wallet: s.wallet.to_checksum(None),
        session_key: s.grant.grant.key.to_checksum(None),
        valid_until: s.grant.grant.valid_until,
        spend_limit: s.grant.grant.spend_limit.to_string(),
        authorized_at_ms: s.authorized_at_ms,
        revoked_at_ms: s.revoked_at_ms.unwrap_or(0),
    }
}

impl WalletApi {
    /// The caller and its owner address.
    fn owner<T>(&self, request: &Request<T>, write: bool) -> Result<(Caller, Address), NodeError> {
        let caller = throttled_caller(&self.auth, &self.peers, request)?;
        if write {
            caller.require_writer()?;
        }
        let address = caller.address.ok_or_else(|| {
            NodeError::FailedPrecondition(format!(
                "{} has no owner address: sign in with a wallet, or give the API key an `address`",
                caller.name
            ))
        })?;
        Ok((caller, address))
    }

    async fn locate(
        &self,
        owner: Address,
        salt: &str,
        factory: &str,
    ) -> Result<WalletLocator, NodeError> {
        self.wallets
            .locate(owner, parse_salt(salt)?, parse_factory(factory)?)
            .await
    }

    /// The wire form, with the caller's workflows that use the wallet counted by status.
    async fn wallet_wire(
        &self,
        caller: &Caller,
        state: WalletState,
    ) -> Result<pb::WalletInfo, NodeError> {
        let mut by_status = BTreeMap::new();
        if let Some(automation) = &self.automation {
            for workflow in automation.workflows_of(&caller.name).await? {
                let uses = workflow.spec.nodes.iter().any(|n| n.kind.uses_wallet())
                    && self.wallets.is_workflow_wallet(
                        workflow.owner_address,
                        workflow.spec.wallet.as_ref(),
                        &state.record,
                    );
                if uses {
                    *by_status
                        .entry(workflow.status.label().to_owned())
                        .or_insert(0u64) += 1;
                }
            }
        }
        Ok(pb::WalletInfo {
            address: state.record.address.to_checksum(None),
            salt: state.record.salt.to_string(),
            factory: state.record.factory.to_checksum(None),
            owner: state.record.owner.to_checksum(None),
            deployed: state.deployed,
            workflows_by_status: by_status.into_iter().collect(),
            session: state.session.as_ref().map(session_wire),
        })
    }

    async fn get_wallet_inner(
        &self,
        request: Request<pb::GetWalletRequest>,
    ) -> Result<pb::WalletInfo, NodeError> {
        let (caller, owner) = self.owner(&request, true)?;
        let r = request.into_inner();
        let locator = self.locate(owner, &r.salt, &r.factory).await?;
        let state = self.wallets.wallet(&locator).await?;
        self.wallet_wire(&caller, state).await
    }

    async fn list_wallets_inner(
        &self,
        request: Request<pb::ListWalletsRequest>,
    ) -> Result<pb::ListWalletsResponse, NodeError> {
        let (caller, owner) = self.owner(&request, false)?;
        let r = request.into_inner();
        let factory = parse_factory(&r.factory)?;
        let salt = (!r.salt.trim().is_empty())
            .then(|| parse_salt(&r.salt))
            .transpose()?;
        let mut wallets = Vec::new();
        for record in self.wallets.wallets_of(owner).await? {
            if factory.is_some_and(|f| f != record.factory)
                || salt.is_some_and(|s| s != record.salt)
            {
                continue;
            }
            let state = self.wallets.state_of(record).await?;
            wallets.push(self.wallet_wire(&caller, state).await?);
        }
        Ok(pb::ListWalletsResponse { wallets })
    }

    async fn authorize_inner(
        &self,
        request: Request<pb::AuthorizeSessionRequest>,
    ) -> Result<pb::SessionInfo, NodeError> {
        let (_, owner) = self.owner(&request, true)?;
        let r = request.into_inner();
        let locator = self.locate(owner, &r.salt, &r.factory).await?;
        let bad = |what: &str| NodeError::InvalidArgument(format!("{what} does not parse"));
        let key: Address = r
            .session_key
            .trim()
            .parse()
            .map_err(|_| bad("session_key"))?;
        let spend_limit = parse_salt(&r.spend_limit).map_err(|_| bad("spend_limit"))?;
        let signature: Bytes = r
            .owner_signature
            .trim()
            .parse()
            .map_err(|_| bad("owner_signature"))?;
        let grant = SignedGrant {
            grant: SessionGrant {
                key,
                valid_until: r.valid_until,
                spend_limit,
            },
            owner_signature: signature,
        };
        let session = self.wallets.authorize(&locator, grant).await?;
        Ok(session_wire(&session))
    }
}

#[tonic::async_trait]
impl WalletService for WalletApi {
    async fn get_wallet(&self, request: Request<pb::GetWalletRequest>) -> Reply<pb::WalletInfo> {
        Ok(Response::new(self.get_wallet_inner(request).await?))
    }

    async fn list_wallets(
        &self,
        request: Request<pb::ListWalletsRequest>,
    ) -> Reply<pb::ListWalletsResponse> {
        Ok(Response::new(self.list_wallets_inner(request).await?))
    }

    async fn get_nonce(&self, request: Request<pb::GetWalletRequest>) -> Reply<pb::NonceResponse> {
        let (_, owner) = self.owner(&request, false)?;
        let r = request.into_inner();
        let locator = self.locate(owner, &r.salt, &r.factory).await?;
        let wallet = locator
            .address()
            .map_err(|e| NodeError::Internal(e.to_string()))?;
        let nonce = self.wallets.nonce(wallet).await?;
        Ok(Response::new(pb::NonceResponse {
            wallet: wallet.to_checksum(None),
            nonce: nonce.to_string(),
        }))
    }

    async fn get_session_key(
        &self,
        request: Request<pb::GetSessionKeyRequest>,
    ) -> Reply<pb::SessionKeyResponse> {
        throttled_caller(&self.auth, &self.peers, &request)?;
        Ok(Response::new(pb::SessionKeyResponse {
            session_key: self.wallets.session_key().to_checksum(None),
            chain_id: self.wallets.chain_id,
            entry_point: self.wallets.entry_point.to_checksum(None),
            default_factory: self.wallets.default_factory.to_checksum(None),
            max_session_secs: self.wallets.config.max_session_secs,
        }))
    }

    async fn authorize_session(
        &self,
        request: Request<pb::AuthorizeSessionRequest>,
    ) -> Reply<pb::SessionInfo> {
        Ok(Response::new(self.authorize_inner(request).await?))
    }

    async fn revoke_session(
        &self,
        request: Request<pb::GetWalletRequest>,
    ) -> Reply<pb::SessionInfo> {
        let (_, owner) = self.owner(&request, true)?;
        let r = request.into_inner();
        let locator = self.locate(owner, &r.salt, &r.factory).await?;
        let session = self.wallets.revoke(&locator).await?;
        Ok(Response::new(session_wire(&session)))
    }
}
