//! The operator signature path: an authenticated operator's signed response is checked against
//! the task (open, started, payload rules of the mode), stored durably, then handed to the
//! aggregator; a refused one is removed again before the refusal is answered.
//!
//! Authentication happens before this (the operator service requires the session of the
//! operator named in the submission; simulated `--dev` operators are in-process), so a
//! response stored here is always its operator's own: a forgery under someone else's id never
//! reaches the database and cannot block the real operator's response.

use quorate_api::SignatureSubmission;
use quorate_domain::{AggregationError, SignedTaskResponse};
use quorate_runtime::SignatureOutcome;

use super::{hex_of, NodeState, SubmissionPayload};
use crate::error::NodeError;
use crate::record::{Status, StoredResponse};
use crate::store::StoreError;

/// Runs a blocking database call on tokio's blocking pool, so redb's fsyncs never hold an
/// async worker.
pub async fn off_async<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, NodeError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| NodeError::Unavailable(format!("database call did not finish: {e}")))?
        .map_err(NodeError::from)
}

impl NodeState {
    /// Stores an authenticated operator's signed response, then hands it to the aggregator.
    /// The response is acknowledged only once stored and accepted; a refused one is removed
    /// again. `submission` was decoded with [`SignatureSubmission::decode`] against
    /// `self.limits` (non-empty response, `digest = keccak256(response)`).
    pub async fn submit_signature(
        &self,
        submission: SignatureSubmission,
    ) -> Result<SignatureOutcome, NodeError> {
        let SignatureSubmission {
            task_id,
            operator_id,
            digest,
            signature: sig,
            response,
        } = submission;
        if self.is_shutting_down() {
            return Err(NodeError::Unavailable("node is shutting down".into()));
        }
        let store = self.store.clone();
        let Some(task) = off_async(move || store.task(&task_id)).await? else {
            return Err(NodeError::TaskNotFound(task_id.to_string()));
        };
        if task.status == Status::Pending {
            // Not yet handed to the aggregator: a signature would only be buffered in memory
            // and could be lost, so the operator is asked to retry.
            return Err(NodeError::Unavailable(format!(
                "task {task_id} has not started yet; retry the response of operator {operator_id}"
            )));
        }
        if !task.status.is_open() {
            return Err(NodeError::FailedPrecondition(format!(
                "task {task_id} is {:?}; response of operator {operator_id} not accepted",
                task.status
            )));
        }
        if let (SubmissionPayload::Avs(profile), None) = (&self.payload_mode, &task.trigger) {
            profile
                .check_response(&task.payload, &response)
                .map_err(|e| {
                    NodeError::InvalidArgument(format!(
                        "task {task_id}: response of operator {operator_id}: {e}"
                    ))
                })?;
        }
        let stored = StoredResponse {
            operator_id: *operator_id.as_bytes(),
            digest: *digest.as_bytes(),
            signature: hex_of(&sig.to_bytes()),
            response: hex_of(&response),
        };
        let store = self.store.clone();
        let fresh = off_async(move || store.put_response(&task_id, &stored)).await?;
        let signed = SignedTaskResponse {
            task_id,
            digest,
            signature: sig,
            operator_id,
        };
        if !fresh {
            return Err(self.second_response(signed).await);
        }
        match self.core.process_signed_response(signed).await {
            // Buffered (the task is stored as collecting, so only in a race with its start):
            // the stored response is replayed on restart, so it cannot be lost.
            Ok(outcome) => Ok(outcome),
            Err(AggregationError::Cancelled { .. }) if self.is_shutting_down() => {
                // Stored: replayed on restart.
                Err(NodeError::Unavailable(format!(
                    "task {task_id}: node shutting down; response of operator {operator_id} is stored"
                )))
            }
            Err(e) => {
                let store = self.store.clone();
                off_async(move || store.delete_response(&task_id, operator_id.as_bytes())).await?;
                Err(e.into())
            }
        }
    }
}

impl NodeState {
    /// An operator's second response to a task (its first is stored; one per task). Nothing
    /// more is stored; the aggregator still sees it, so two valid signatures on different
    /// responses are recorded as equivocation evidence.
    async fn second_response(
        &self,
        signed: SignedTaskResponse<quorate_bls::Signature>,
    ) -> NodeError {
        let (task_id, operator_id) = (signed.task_id, signed.operator_id);
        match self.core.process_signed_response(signed).await {
            Err(e @ AggregationError::SignatureVerification { .. }) => e.into(),
            _ => NodeError::AlreadyExists(format!(
                "task {task_id}: operator {operator_id} already responded"
            )),
        }
    }
}
