//! `ResponseSubmitter` over alloy: simulate, send with EIP-1559 fees and a locally managed
//! nonce, wait for the receipt, bump fees and resend when stuck, and report typed errors.
//!
//! What is sent is AVS-specific: an [`AvsResponseCall`] turns the aggregate and the AVS's
//! payload into calldata for its contract. [`SquaringTaskCall`] does it for the Incredible
//! Squaring task manager (`respondToSquaringTask`).

use std::time::{Duration, Instant};

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, B256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolError, SolInterface, SolValue};
use alloy::transports::{RpcError, TransportErrorKind};
use async_trait::async_trait;
use quorate_domain::{
    ResponseSubmitter, SubmissionReceipt, SubmissionRequest, SubmitError, TaskId,
};
use tokio::sync::Mutex;
use tracing::{debug, warn};

use crate::contracts::{IBLSSignatureChecker, ISquaringTask, TaskManager};
use crate::convert::non_signer_stakes_and_signature;

/// Builds the AVS contract call for one aggregate.
pub trait AvsResponseCall: Send + Sync + 'static {
    /// The contract to call.
    fn target(&self) -> Address;
    /// The calldata, or why this request cannot be submitted.
    fn calldata(&self, request: &SubmissionRequest) -> Result<Bytes, String>;

    /// Calldata of a view call on [`Self::target`] returning a `bytes32` that is non-zero
    /// once the request's task is answered (used after a crash to avoid answering twice);
    /// `None`: the AVS has no such record.
    fn answered_check(&self, request: &SubmissionRequest) -> Option<Bytes> {
        let _ = request;
        None
    }
}

/// `SquaringTask.respondToSquaringTask(task, taskResponse, nonSignerStakesAndSignature)`.
///
/// The payload is `abi.encode(Task, TaskResponse)`; the signed digest is
/// `keccak256(abi.encode(TaskResponse))`, as the contract computes it.
#[derive(Clone, Copy, Debug)]
pub struct SquaringTaskCall {
    /// The task manager proxy.
    pub task_manager: Address,
}

impl SquaringTaskCall {
    /// The payload for `task` and `response`.
    pub fn payload(task: &TaskManager::Task, response: &TaskManager::TaskResponse) -> Vec<u8> {
        (task.clone(), response.clone()).abi_encode_params()
    }

    /// The digest operators sign for `response`.
    pub fn digest(response: &TaskManager::TaskResponse) -> B256 {
        alloy::primitives::keccak256(response.abi_encode())
    }
}

impl AvsResponseCall for SquaringTaskCall {
    fn target(&self) -> Address {
        self.task_manager
    }

    fn calldata(&self, request: &SubmissionRequest) -> Result<Bytes, String> {
        let (task, task_response) =
            <(TaskManager::Task, TaskManager::TaskResponse)>::abi_decode_params(&request.payload)
                .map_err(|e| format!("payload is not abi.encode(Task, TaskResponse): {e}"))?;
        if Self::digest(&task_response) != request.aggregate.digest.0 {
            return Err("aggregate digest is not keccak256(abi.encode(taskResponse))".into());
        }
        if task.quorumNumbers.as_ref() != request.aggregate.quorum_numbers_bytes().as_slice() {
            return Err("task quorums differ from the aggregate's".into());
        }
        if u64::from(task.taskCreatedBlock) != request.aggregate.reference_block {
            return Err("task creation block differs from the aggregate's reference block".into());
        }
        let call = ISquaringTask::respondToSquaringTaskCall {
            task,
            taskResponse: task_response,
            nonSignerStakesAndSignature: non_signer_stakes_and_signature(&request.aggregate),
        };
        Ok(call.abi_encode().into())
    }

    /// `allTaskResponses(referenceTaskIndex)`: the task manager stores a response hash there
    /// when the task is answered.
    fn answered_check(&self, request: &SubmissionRequest) -> Option<Bytes> {
        let (_, task_response) =
            <(TaskManager::Task, TaskManager::TaskResponse)>::abi_decode_params(&request.payload)
                .ok()?;
        let call = ISquaringTask::allTaskResponsesCall(task_response.referenceTaskIndex);
        Some(call.abi_encode().into())
    }
}

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

/// Sends aggregates from one account. Submissions are serialized: the account's nonce is
/// managed here, so concurrent tasks never race for it.
pub struct ChainSubmitter<P, C> {
    provider: P,
    from: Address,
    call: C,
    config: SubmitterConfig,
    /// Next nonce to use; `None` until read from the chain (and after a failure, to resync).
    nonce: Mutex<Option<u64>>,
}

fn rpc_down(task_id: TaskId, what: &str, e: impl std::fmt::Display) -> SubmitError {
    SubmitError::RpcUnavailable {
        task_id,
        reason: format!("{what}: {e}"),
    }
}

/// A readable revert reason: `Error(string)`, a known checker error, or the raw data.
fn revert_reason(err: &RpcError<TransportErrorKind>) -> Option<String> {
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
    if let Ok(e) = ISquaringTask::ISquaringTaskErrors::abi_decode(&data) {
        return Some(format!("{e:?}"));
    }
    Some(format!("{}: {data}", payload.message))
}

impl<P: Provider + Clone + 'static, C: AvsResponseCall> ChainSubmitter<P, C> {
    /// A submitter sending from `from` (the provider's wallet must hold its key).
    pub fn new(provider: P, from: Address, call: C, config: SubmitterConfig) -> Self {
        Self {
            provider,
            from,
            call,
            config,
            nonce: Mutex::new(None),
        }
    }

    async fn submit_inner(
        &self,
        request: &SubmissionRequest,
    ) -> Result<SubmissionReceipt, SubmitError> {
        let task_id = request.aggregate.task_id;
        let data = self
            .call
            .calldata(request)
            .map_err(|reason| SubmitError::Rejected { task_id, reason })?;
        let base = TransactionRequest::default()
            .from(self.from)
            .to(self.call.target())
            .input(data.into());
        // Simulate first: a revert costs nothing and its reason is readable here.
        let estimate = match self.provider.estimate_gas(base.clone()).await {
            Ok(gas) => gas,
            Err(e) if e.is_transport_error() => {
                return Err(rpc_down(task_id, "eth_estimateGas", e))
            }
            Err(e) => {
                let reason = revert_reason(&e).unwrap_or_else(|| e.to_string());
                return Err(SubmitError::Reverted { task_id, reason });
            }
        };
        let gas = estimate.saturating_mul(100 + self.config.gas_headroom_percent) / 100;
        let fees = self
            .provider
            .estimate_eip1559_fees()
            .await
            .map_err(|e| rpc_down(task_id, "fee estimation", e))?;

        let mut nonce_slot = self.nonce.lock().await;
        let nonce = match *nonce_slot {
            Some(n) => n,
            None => self
                .provider
                .get_transaction_count(self.from)
                .pending()
                .await
                .map_err(|e| rpc_down(task_id, "eth_getTransactionCount", e))?,
        };
        let started = Instant::now();
        let mut sent: Vec<B256> = Vec::new();
        let (mut max_fee, mut tip) = (fees.max_fee_per_gas, fees.max_priority_fee_per_gas);
        let mut underpriced = 0u32;
        for attempt in 0..self.config.max_attempts.max(1) {
            if attempt > 0 {
                // Replacement rule: both fees must rise by at least 10%.
                let bump = |v: u128| {
                    v.saturating_mul(100 + u128::from(self.config.bump_percent)) / 100 + 1
                };
                max_fee = bump(max_fee);
                tip = bump(tip);
            }
            let tx = base
                .clone()
                .with_nonce(nonce)
                .with_gas_limit(gas)
                .with_max_fee_per_gas(max_fee)
                .with_max_priority_fee_per_gas(tip);
            match self.provider.send_transaction(tx).await {
                Ok(pending) => {
                    sent.push(*pending.tx_hash());
                    debug!(%task_id, nonce, attempt, tx = %pending.tx_hash(), "response sent");
                }
                Err(e) if e.to_string().to_lowercase().contains("underpriced") => {
                    underpriced += 1;
                    warn!(%task_id, attempt, "transaction underpriced; bumping fees");
                    continue;
                }
                Err(e) if e.to_string().to_lowercase().contains("nonce too low") => {
                    // An earlier attempt (or another sender) already used the nonce: wait for
                    // whatever we sent, and resync the nonce for the next submission.
                    *nonce_slot = None;
                    if sent.is_empty() {
                        return Err(SubmitError::Reverted {
                            task_id,
                            reason: format!("nonce {nonce} already used: {e}"),
                        });
                    }
                }
                Err(e) if e.is_transport_error() => {
                    *nonce_slot = None;
                    return Err(rpc_down(task_id, "eth_sendRawTransaction", e));
                }
                Err(e) => {
                    *nonce_slot = None;
                    let reason = revert_reason(&e).unwrap_or_else(|| e.to_string());
                    return Err(SubmitError::Reverted { task_id, reason });
                }
            }
            let resend_at = Instant::now() + self.config.resend_after;
            while Instant::now() < resend_at && started.elapsed() < self.config.timeout {
                for hash in &sent {
                    let receipt = match self.provider.get_transaction_receipt(*hash).await {
                        Ok(r) => r,
                        Err(e) => {
                            // The transaction may be mined or not: the nonce is unknown now,
                            // so the next submission reads it from the chain again.
                            *nonce_slot = None;
                            return Err(rpc_down(task_id, "eth_getTransactionReceipt", e));
                        }
                    };
                    if let Some(r) = receipt {
                        *nonce_slot = Some(nonce + 1);
                        if !r.status() {
                            return Err(SubmitError::Reverted {
                                task_id,
                                reason: format!(
                                    "transaction {hash} reverted on chain (gas used {})",
                                    r.gas_used
                                ),
                            });
                        }
                        return Ok(SubmissionReceipt {
                            task_id,
                            tx_hash: Some(*hash),
                            block: r.block_number,
                            gas_used: Some(r.gas_used),
                        });
                    }
                }
                tokio::time::sleep(self.config.poll_interval).await;
            }
            if started.elapsed() >= self.config.timeout {
                break;
            }
        }
        // Unknown outcome: the nonce may or may not be used; read it again next time.
        *nonce_slot = None;
        if sent.is_empty() && underpriced > 0 {
            return Err(SubmitError::Underpriced {
                task_id,
                attempts: underpriced,
            });
        }
        Err(SubmitError::Timeout {
            task_id,
            seconds: started.elapsed().as_secs(),
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
    use alloy::primitives::Bytes as AlloyBytes;

    #[test]
    fn squaring_answered_check_reads_the_response_record_of_the_payloads_task() {
        let call = SquaringTaskCall {
            task_manager: Address::repeat_byte(7),
        };
        let task = TaskManager::Task {
            taskCreatedBlock: 10,
            quorumThresholdPercentage: 67,
            message: AlloyBytes::from(vec![1, 2]),
            quorumNumbers: AlloyBytes::from(vec![0]),
        };
        let response = TaskManager::TaskResponse {
            referenceTaskIndex: 42,
            message: AlloyBytes::from(vec![3]),
        };
        let aggregate = quorate_domain::AggregatedResponse {
            task_id: TaskId::from(1u64),
            digest: quorate_domain::ResponseDigest::new([1; 32]),
            reference_block: 10,
            quorum_numbers: vec![quorate_domain::QuorumNumber(0)],
            signer_ids: Vec::new(),
            non_signer_ids: Vec::new(),
            non_signer_pubkeys_g1: Vec::new(),
            quorum_apks_g1: Vec::new(),
            signers_apk_g2: Default::default(),
            signers_agg_sig_g1: Default::default(),
            indices: Default::default(),
            signed_stake: Vec::new(),
            total_stake: Vec::new(),
        };
        let request = SubmissionRequest {
            aggregate,
            payload: SquaringTaskCall::payload(&task, &response),
        };
        let data = call
            .answered_check(&request)
            .expect("a squaring payload has a record");
        let decoded = ISquaringTask::allTaskResponsesCall::abi_decode(&data).expect("decodes");
        assert_eq!(decoded.0, 42);
        let garbage = SubmissionRequest {
            payload: vec![1, 2, 3],
            ..request
        };
        assert!(call.answered_check(&garbage).is_none());
    }
}
