//! `ResponseSubmitter` over alloy: check the task is not answered yet, simulate, send with
//! EIP-1559 fees at a locally assigned nonce, wait for the receipt, bump fees and resend when
//! stuck, and report typed errors.
//!
//! Submissions are pipelined: the [`NonceManager`] hands each one its nonce and is not held
//! while a transaction waits to be mined, so tasks that finish together land together (in
//! one or two blocks) instead of one per block.

mod avs_call;
mod nonce;
mod send_error;

pub use avs_call::AvsResponseCall;

use std::time::{Duration, Instant};

use alloy::eips::eip1559::Eip1559Estimation;
use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256};
use alloy::providers::Provider;
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::sol_types::{SolError, SolInterface, SolValue};
use alloy::transports::{RpcError, TransportErrorKind};
use async_trait::async_trait;
use quorate_domain::{
    ResponseSubmitter, SubmissionReceipt, SubmissionRequest, SubmitError, TaskId,
};
use tracing::{debug, warn};

use self::nonce::NonceManager;
use self::send_error::{classify, SendFailure};
use crate::contracts::IBLSSignatureChecker;

/// Fees, retries and timeouts of [`ChainSubmitter`].
#[derive(Clone, Debug)]
pub struct SubmitterConfig {
    /// How long to wait for a receipt before bumping the fees and resending.
    pub resend_after: Duration,
    /// Total time allowed for one submission.
    pub timeout: Duration,
    /// Fee levels to try (the first plus bumps).
    pub max_attempts: u32,
    /// Bump per attempt, in percent (nodes require ≥ 10% to replace).
    pub bump_percent: u64,
    /// Gas limit = estimate × (100 + headroom) / 100.
    pub gas_headroom_percent: u64,
    /// Receipt polling interval.
    pub poll_interval: Duration,
}

impl Default for SubmitterConfig {
    fn default() -> Self {
        Self {
            resend_after: Duration::from_secs(24),
            timeout: Duration::from_secs(120),
            max_attempts: 5,
            bump_percent: 25,
            gas_headroom_percent: 30,
            poll_interval: Duration::from_millis(200),
        }
    }
}

/// Sends aggregates from one account, many at a time.
pub struct ChainSubmitter<P, C> {
    /// Signing provider (its wallet holds the key of `from`).
    provider: P,
    /// The submitting account.
    from: Address,
    /// Builds the AVS's respond call.
    call: C,
    /// Fees, retries and timeouts.
    config: SubmitterConfig,
    /// The account's nonces, assigned locally.
    nonces: NonceManager,
}

/// A transaction ready to be sent at some nonce.
struct Prepared {
    /// The task.
    task_id: TaskId,
    /// From, to and calldata.
    base: TransactionRequest,
    /// Gas limit (estimate plus headroom).
    gas: u64,
    /// Fees of the first attempt.
    fees: Eip1559Estimation,
}

/// How sending at one nonce ended, when it did not end with a receipt.
enum NonceOutcome {
    /// The nonce was taken by someone else before anything of ours was accepted: worth
    /// another try at a fresh nonce.
    Taken,
    /// The submission failed.
    Failed(SubmitError),
}

fn rpc_down(task_id: TaskId, what: &str, e: impl std::fmt::Display) -> SubmitError {
    SubmitError::RpcUnavailable {
        task_id,
        reason: format!("{what}: {e}"),
    }
}

/// A readable revert reason: `Error(string)`, a `Panic(uint256)`, a checker error, one of
/// the AVS's own errors, or the raw data.
fn revert_reason(
    err: &RpcError<TransportErrorKind>,
    call: &impl AvsResponseCall,
) -> Option<String> {
    let payload = err.as_error_resp()?;
    let data = payload.as_revert_data();
    let Some(data) = data else {
        return Some(payload.message.to_string());
    };
    if let Ok(reason) = <alloy::sol_types::Revert as SolError>::abi_decode(&data) {
        return Some(reason.reason);
    }
    if let Ok(e) = IBLSSignatureChecker::IBLSSignatureCheckerErrors::abi_decode(&data) {
        return Some(format!("{e:?}"));
    }
    if let Ok(panic) = <alloy::sol_types::Panic as SolError>::abi_decode(&data) {
        return Some(panic.to_string());
    }
    if let Some(reason) = call.decode_revert(&data) {
        return Some(reason);
    }
    Some(format!("{}: {data}", payload.message))
}

/// The fee of attempt `attempt` (0: the estimate). Replacing a pending transaction needs
/// both fees at least 10% higher; `bump_percent` more each time, plus one wei for rounding.
fn bumped(fee: u128, bump_percent: u64, attempt: u32) -> u128 {
    (0..attempt).fold(fee, |v, _| {
        let pct = u128::from(bump_percent);
        // v × pct / 100 without overflowing for large v.
        let raise = (v / 100)
            .saturating_mul(pct)
            .saturating_add((v % 100) * pct / 100);
        v.saturating_add(raise).saturating_add(1)
    })
}

/// The receipt of a mined transaction, or why it reverted.
fn mined(
    task_id: TaskId,
    hash: B256,
    r: &TransactionReceipt,
) -> Result<SubmissionReceipt, SubmitError> {
    if !r.status() {
        return Err(SubmitError::Reverted {
            task_id,
            reason: format!(
                "transaction {hash} reverted on chain (gas used {})",
                r.gas_used
            ),
        });
    }
    Ok(SubmissionReceipt {
        task_id,
        tx_hash: Some(hash),
        block: r.block_number,
        gas_used: Some(r.gas_used),
    })
}

impl<P: Provider + Clone + 'static, C: AvsResponseCall> ChainSubmitter<P, C> {
    /// A submitter sending from `from` (the provider's wallet must hold its key).
    pub fn new(provider: P, from: Address, call: C, config: SubmitterConfig) -> Self {
        Self {
            provider,
            from,
            call,
            config,
            nonces: NonceManager::default(),
        }
    }

    /// Calldata, a simulation (a revert costs nothing and its reason is readable here), the
    /// gas limit and the fees.
    async fn prepare(&self, request: &SubmissionRequest) -> Result<Prepared, SubmitError> {
        let task_id = request.aggregate.task_id;
        let data = self
            .call
            .calldata(request)
            .map_err(|reason| SubmitError::Rejected { task_id, reason })?;
        let base = TransactionRequest::default()
            .from(self.from)
            .to(self.call.target())
            .input(data.into());
        let estimate = match self.provider.estimate_gas(base.clone()).await {
            Ok(gas) => gas,
            Err(e) if e.is_transport_error() => {
                return Err(rpc_down(task_id, "eth_estimateGas", e))
            }
            Err(e) => {
                let reason = revert_reason(&e, &self.call).unwrap_or_else(|| e.to_string());
                return Err(SubmitError::Reverted { task_id, reason });
            }
        };
        let fees = self
            .provider
            .estimate_eip1559_fees()
            .await
            .map_err(|e| rpc_down(task_id, "fee estimation", e))?;
        Ok(Prepared {
            task_id,
            base,
            gas: estimate.saturating_mul(100 + self.config.gas_headroom_percent) / 100,
            fees,
        })
    }

    /// The account's next nonce (read from the chain only when not known locally).
    async fn reserve_nonce(&self, task_id: TaskId) -> Result<u64, SubmitError> {
        let from = self.from;
        let pending = async {
            self.provider
                .get_transaction_count(from)
                .pending()
                .await
                .map_err(|e| rpc_down(task_id, "eth_getTransactionCount", e))
        };
        self.nonces.reserve(pending).await
    }

    /// Sends at `nonce` with rising fees until one of the transactions sent is mined or the
    /// submission times out, and keeps the nonce manager in step with what happened.
    async fn send_at(
        &self,
        tx: &Prepared,
        nonce: u64,
        started: Instant,
    ) -> Result<SubmissionReceipt, NonceOutcome> {
        let task_id = tx.task_id;
        let mut sent: Vec<B256> = Vec::new();
        let mut underpriced = 0u32;
        for attempt in 0..self.config.max_attempts.max(1) {
            let pct = self.config.bump_percent;
            let request = tx
                .base
                .clone()
                .with_nonce(nonce)
                .with_gas_limit(tx.gas)
                .with_max_fee_per_gas(bumped(tx.fees.max_fee_per_gas, pct, attempt))
                .with_max_priority_fee_per_gas(bumped(
                    tx.fees.max_priority_fee_per_gas,
                    pct,
                    attempt,
                ));
            match self.provider.send_transaction(request).await {
                Ok(pending) => {
                    debug!(%task_id, nonce, attempt, tx = %pending.tx_hash(), "response sent");
                    sent.push(*pending.tx_hash());
                }
                Err(e) => match classify(&e) {
                    SendFailure::Underpriced => {
                        underpriced += 1;
                        warn!(%task_id, nonce, attempt, "transaction underpriced; bumping fees");
                        continue;
                    }
                    // This transaction is in the pool already, or our earlier attempt was
                    // mined (nonce too low): wait for it below.
                    SendFailure::AlreadyKnown => {}
                    SendFailure::NonceTooLow if !sent.is_empty() => {}
                    SendFailure::NonceTooLow => {
                        self.nonces.resync().await;
                        return Err(NonceOutcome::Taken);
                    }
                    SendFailure::Transport(reason) => {
                        self.give_up(nonce, &sent).await;
                        let e = rpc_down(task_id, "eth_sendRawTransaction", reason);
                        return Err(NonceOutcome::Failed(e));
                    }
                    SendFailure::Refused(message) => {
                        self.give_up(nonce, &sent).await;
                        let reason = revert_reason(&e, &self.call).unwrap_or(message);
                        return Err(NonceOutcome::Failed(SubmitError::Reverted {
                            task_id,
                            reason,
                        }));
                    }
                },
            }
            let resend_at = Instant::now() + self.config.resend_after;
            let deadline = started + self.config.timeout;
            match self
                .await_receipt(task_id, &sent, resend_at.min(deadline))
                .await
            {
                Ok(Some(receipt)) => return Ok(receipt),
                Ok(None) if Instant::now() >= deadline => break,
                Ok(None) => {}
                Err(e) => {
                    // Mined or not is unknown now: the next submission reads the nonce again.
                    self.nonces.resync().await;
                    return Err(NonceOutcome::Failed(e));
                }
            }
        }
        self.give_up(nonce, &sent).await;
        if sent.is_empty() && underpriced > 0 {
            return Err(NonceOutcome::Failed(SubmitError::Underpriced {
                task_id,
                attempts: underpriced,
            }));
        }
        Err(NonceOutcome::Failed(SubmitError::Timeout {
            task_id,
            seconds: started.elapsed().as_secs(),
        }))
    }

    /// The submission stops using `nonce`: returned for reuse if nothing was sent with it,
    /// else its fate is unknown and the manager re-syncs from the chain.
    async fn give_up(&self, nonce: u64, sent: &[B256]) {
        if sent.is_empty() {
            self.nonces.release(nonce).await;
        } else {
            self.nonces.resync().await;
        }
    }

    /// Polls the receipts of `sent` until one is mined (`Some`) or `until` (`None`).
    async fn await_receipt(
        &self,
        task_id: TaskId,
        sent: &[B256],
        until: Instant,
    ) -> Result<Option<SubmissionReceipt>, SubmitError> {
        loop {
            for hash in sent {
                let receipt = self
                    .provider
                    .get_transaction_receipt(*hash)
                    .await
                    .map_err(|e| rpc_down(task_id, "eth_getTransactionReceipt", e))?;
                if let Some(r) = receipt {
                    return mined(task_id, *hash, &r).map(Some);
                }
            }
            if Instant::now() >= until {
                return Ok(None);
            }
            tokio::time::sleep(self.config.poll_interval).await;
        }
    }

    async fn submit_inner(
        &self,
        request: &SubmissionRequest,
    ) -> Result<SubmissionReceipt, SubmitError> {
        let started = Instant::now();
        // Whoever took our nonce may have answered this very task (another aggregator, or
        // our own transaction from before a crash): look again before every try.
        for _ in 0..self.config.max_attempts.max(1) {
            if let Some(receipt) = self.already_responded(request).await? {
                debug!(task_id = %request.aggregate.task_id, "task already answered on chain");
                return Ok(receipt);
            }
            let tx = self.prepare(request).await?;
            let nonce = self.reserve_nonce(tx.task_id).await?;
            match self.send_at(&tx, nonce, started).await {
                Ok(receipt) => return Ok(receipt),
                Err(NonceOutcome::Failed(e)) => return Err(e),
                Err(NonceOutcome::Taken) => {
                    warn!(task_id = %tx.task_id, nonce, "nonce used by another transaction; re-synced")
                }
            }
        }
        Err(SubmitError::Reverted {
            task_id: request.aggregate.task_id,
            reason: "every nonce tried was taken by another transaction of this account".into(),
        })
    }
}

#[async_trait]
impl<P, C> ResponseSubmitter for ChainSubmitter<P, C>
where
    P: Provider + Clone + Send + Sync + 'static,
    C: AvsResponseCall,
{
    async fn submit(&self, request: &SubmissionRequest) -> Result<SubmissionReceipt, SubmitError> {
        self.submit_inner(request).await
    }

    /// Reads the AVS's per-task response record ([`AvsResponseCall::answered_check`]); the
    /// receipt of an answered task carries no transaction hash (the call does not know it).
    async fn already_responded(
        &self,
        request: &SubmissionRequest,
    ) -> Result<Option<SubmissionReceipt>, SubmitError> {
        let task_id = request.aggregate.task_id;
        let Some(data) = self.call.answered_check(request) else {
            return Ok(None);
        };
        let tx = TransactionRequest::default()
            .to(self.call.target())
            .input(data.into());
        let out = self
            .provider
            .call(tx)
            .await
            .map_err(|e| rpc_down(task_id, "eth_call (task response record)", e))?;
        let record = B256::abi_decode(&out).map_err(|e| SubmitError::RpcUnavailable {
            task_id,
            reason: format!("task response record does not decode: {e}"),
        })?;
        Ok((!record.is_zero()).then_some(SubmissionReceipt {
            task_id,
            tx_hash: None,
            block: None,
            gas_used: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_attempt_raises_both_fees_by_more_than_the_replacement_minimum() {
        assert_eq!(bumped(1000, 25, 0), 1000);
        assert_eq!(bumped(1000, 25, 1), 1251);
        assert_eq!(bumped(1000, 25, 2), 1564);
        for attempt in 1..6 {
            let (a, b) = (bumped(7, 10, attempt - 1), bumped(7, 10, attempt));
            assert!(b * 100 >= a * 110, "attempt {attempt}: {a} -> {b}");
        }
        // Absurd fees saturate instead of wrapping to a lower fee.
        assert_eq!(bumped(u128::MAX / 2, 25, 4), u128::MAX);
    }
}
