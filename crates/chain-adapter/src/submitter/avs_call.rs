//! What is sent is AVS-specific: an [`AvsResponseCall`] turns the aggregate and the AVS's
//! payload into calldata for its contract. [`SquaringTaskCall`] does it for the Incredible
//! Squaring task manager (`respondToSquaringTask`).

use alloy::primitives::{Address, Bytes, B256};
use alloy::sol_types::{SolCall, SolValue};
use quorate_domain::SubmissionRequest;

use crate::contracts::{ISquaringTask, TaskManager};
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::Bytes as AlloyBytes;
    use quorate_domain::TaskId;

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
