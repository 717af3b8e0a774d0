//! The wallet one execution acts from: bound to its workflow's owner and wallet, so a step can
//! only send from that wallet, and only under the owner's grant in force.

use std::sync::Arc;

use alloy::primitives::Address;
use async_trait::async_trait;
use quorate_automation::{
    WalletCallOutcome, WalletCallRequest, WalletRef, WalletRefusal, WalletSendError, WalletSender,
};
use quorate_wallet::{WalletCall, WalletError, WalletReceipt};
use serde_json::json;
use tracing::{info, Instrument};

use super::SmartWallets;
use crate::error::NodeError;

/// The wallet of one execution.
pub(crate) struct ExecutionWallet {
    /// The node's wallets.
    pub(crate) wallets: Arc<SmartWallets>,
    /// The workflow (for logs).
    pub(crate) workflow_id: String,
    /// Its owner's address.
    pub(crate) owner: Option<Address>,
    /// The wallet it names.
    pub(crate) wallet: Option<WalletRef>,
}

fn refusal(kind: WalletRefusal, message: impl Into<String>) -> WalletSendError {
    WalletSendError {
        kind,
        message: message.into(),
    }
}

/// The wallet error as the step shows it.
fn from_wallet_error(error: WalletError) -> WalletSendError {
    let kind = match &error {
        WalletError::BadGrant { .. } => WalletRefusal::NoSession,
        WalletError::SessionExpired { .. } => WalletRefusal::SessionExpired,
        WalletError::SessionRevoked { .. } => WalletRefusal::SessionRevoked,
        WalletError::SpendingLimitExceeded { .. } => WalletRefusal::SpendingLimitExceeded,
        WalletError::InsufficientFunds { .. } => WalletRefusal::InsufficientFunds,
        WalletError::CallReverted { .. } => WalletRefusal::Reverted,
        WalletError::Rejected { .. } => WalletRefusal::Rejected,
        _ => WalletRefusal::Unavailable,
    };
    refusal(kind, error.to_string())
}

/// `userOp`, `userOpHash` and `receipt` for the step's record.
fn record(wallet: Address, receipt: &WalletReceipt) -> serde_json::Value {
    json!({
        "wallet": wallet.to_checksum(None),
        "userOp": receipt.user_op,
        "userOpHash": receipt.user_op_hash,
        "receipt": {
            "transactionHash": receipt.transaction_hash,
            "blockNumber": receipt.block_number,
            "success": receipt.success,
            "revertReason": receipt.revert_reason,
            "actualGasCost": receipt.actual_gas_cost.to_string(),
            "actualGasUsed": receipt.actual_gas_used.to_string(),
            "deployedWallet": receipt.deployed,
        },
    })
}

#[async_trait]
impl WalletSender for ExecutionWallet {
    async fn send(&self, call: WalletCallRequest) -> Result<WalletCallOutcome, WalletSendError> {
        let span = tracing::info_span!(
            "wallet_call",
            workflow_id = %self.workflow_id,
            node_id = %call.node_id,
            to = %call.to
        );
        let result = async move {
            let locator = self
                .wallets
                .workflow_wallet(self.owner, self.wallet.as_ref())
                .await
                .map_err(|e| match e {
                    NodeError::Unavailable(m) => refusal(WalletRefusal::Unavailable, m),
                    other => refusal(WalletRefusal::NotOwner, other.to_string()),
                })?;
            let wallet = locator
                .address()
                .map_err(|e| refusal(WalletRefusal::Unavailable, e.to_string()))?;
            let session = self
                .wallets
                .session(wallet)
                .await
                .map_err(|e| refusal(WalletRefusal::Unavailable, e.to_string()))?
                .filter(|s| s.owner == locator.owner)
                .ok_or_else(|| {
                    refusal(
                        WalletRefusal::NoSession,
                        format!("the owner has not authorized this node on wallet {wallet}"),
                    )
                })?;
            if session.revoked_at_ms.is_some() {
                return Err(refusal(
                    WalletRefusal::SessionRevoked,
                    format!("the owner revoked this node's session on wallet {wallet}"),
                ));
            }
            let receipt = self
                .wallets
                .bundler
                .send(WalletCall {
                    wallet: locator,
                    grant: session.grant,
                    to: call.to,
                    value: call.value,
                    data: call.data,
                })
                .await
                .map_err(from_wallet_error)?;
            info!(
                user_op_hash = %receipt.user_op_hash,
                tx = %receipt.transaction_hash,
                success = receipt.success,
                "user operation included"
            );
            Ok(WalletCallOutcome {
                success: receipt.success,
                record: record(wallet, &receipt),
                return_data: receipt.return_data.clone(),
                revert_reason: receipt.revert_reason.clone(),
            })
        }
        .instrument(span)
        .await;
        crate::metrics::wallet_call(result.is_ok());
        result
    }
}
