//! Handing a stored aggregate to the submitter, at most once per task even across crashes:
//! a `submitting` marker is stored before anything is sent, and a restart that finds one asks
//! the submitter whether the task is already answered before sending again.

use quorate_domain::{AggregatedResponse, SubmissionReceipt, SubmissionRequest, TaskId};
use tracing::{info, warn};

use super::{NodeState, SubmissionPayload};
use crate::error::NodeError;
use crate::faults::{crash_if, CrashPoint};
use crate::record::{now_ms, Status};
use quorate_chain_adapter::AvsProfile;

impl NodeState {
    /// Submits a stored aggregate with the response its signers signed.
    pub(super) async fn submit(
        &self,
        task_id: TaskId,
        aggregate: &AggregatedResponse,
    ) -> Result<(), NodeError> {
        if let Some(claim) = self.store.task(&task_id)?.and_then(|r| r.trigger) {
            return self.deliver_attestation(task_id, &claim, aggregate).await;
        }
        let Some(payload) = self.submission_payload(task_id, aggregate)? else {
            return Ok(());
        };
        if self.store.submitting_since(&task_id)?.is_some() {
            // An earlier run may have sent it and died before storing the receipt.
            let request = SubmissionRequest {
                aggregate: aggregate.clone(),
                payload: payload.clone(),
            };
            match self.submitter.already_responded(&request).await {
                Ok(Some(receipt)) => {
                    info!(%task_id, "already answered before the restart; not sending again");
                    return self.record_receipt(task_id, &receipt);
                }
                Ok(None) => {}
                Err(e) => {
                    // Unknown: sending could answer the task twice. Stay `aggregated`; the
                    // next start asks again.
                    warn!(%task_id, error = %e, "cannot tell whether the task is answered; left aggregated");
                    return Ok(());
                }
            }
        }
        self.store.mark_submitting(&task_id, now_ms())?;
        match self
            .core
            .submit_aggregated_response(&*self.submitter, aggregate, payload)
            .await
        {
            Ok(receipt) => {
                crash_if(self.crash_at, CrashPoint::Submitting);
                self.record_receipt(task_id, &receipt)
            }
            Err(e) => {
                self.finish(&task_id, Status::Failed, Some(e.to_string()))?;
                Ok(())
            }
        }
    }

    /// A trigger attestation's aggregate starts its workflow's execution instead of going to
    /// the chain. Queuing is idempotent, so a restart that finds the task aggregated queues
    /// nothing twice.
    async fn deliver_attestation(
        &self,
        task_id: TaskId,
        claim: &crate::record::TriggerClaim,
        aggregate: &AggregatedResponse,
    ) -> Result<(), NodeError> {
        let Some(sink) = self.attestations.get() else {
            let why = format!("task {task_id}: trigger attestation with automation disabled");
            self.finish(&task_id, Status::Failed, Some(why))?;
            return Ok(());
        };
        match sink.attested(claim, aggregate).await {
            Ok(execution_id) => {
                let json = serde_json::to_vec(&serde_json::json!({ "execution_id": execution_id }))
                    .map_err(|e| NodeError::InvalidArgument(format!("task {task_id}: {e}")))?;
                self.store.put_submission(&task_id, &json)?;
                self.set_status(&task_id, Status::Submitted, None)?;
                info!(%task_id, workflow_id = %claim.workflow_id, %execution_id, "trigger attested; execution queued");
                Ok(())
            }
            Err(e) => {
                self.finish(&task_id, Status::Failed, Some(e.to_string()))?;
                Ok(())
            }
        }
    }

    fn record_receipt(
        &self,
        task_id: TaskId,
        receipt: &SubmissionReceipt,
    ) -> Result<(), NodeError> {
        let json = serde_json::to_vec(receipt)
            .map_err(|e| NodeError::InvalidArgument(format!("task {task_id}: {e}")))?;
        self.store.put_submission(&task_id, &json)?;
        self.set_status(&task_id, Status::Submitted, None)?;
        info!(%task_id, "aggregate submitted");
        Ok(())
    }

    /// What the submitter is given for `aggregate`; `None` when the task cannot be submitted
    /// (it is then marked failed).
    fn submission_payload(
        &self,
        task_id: TaskId,
        aggregate: &AggregatedResponse,
    ) -> Result<Option<Vec<u8>>, NodeError> {
        let response = self
            .store
            .responses(&task_id)?
            .into_iter()
            .find(|r| r.digest == *aggregate.digest.as_bytes())
            .and_then(|r| hex::decode(r.response).ok())
            .unwrap_or_default();
        match &self.payload_mode {
            SubmissionPayload::Response => Ok(Some(response)),
            SubmissionPayload::Avs(profile) => {
                let task_payload = self
                    .store
                    .task(&task_id)?
                    .map(|r| r.payload)
                    .unwrap_or_default();
                if let Err(e) = profile.check_response(&task_payload, &response) {
                    let why = format!("task {task_id}: cannot be submitted: {e}");
                    self.finish(&task_id, Status::Failed, Some(why))?;
                    return Ok(None);
                }
                Ok(Some(AvsProfile::submission_payload(
                    &task_payload,
                    &response,
                )))
            }
        }
    }
}
