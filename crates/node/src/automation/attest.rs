//! Operators' trigger reports: checked against the workflow (live, reason fits the trigger,
//! fire time recent), then aggregated exactly like task responses, in a task per
//! (workflow, reason) whose payload is the claim they sign. The task's aggregate, once every
//! attestation quorum's threshold is met, comes back here and starts the execution.

use quorate_api::{pb, SignatureSubmission};
use quorate_automation::trigger::TriggerReason;
use quorate_automation::{
    attested_execution_id, check_reason, trigger_claim, ExecutionProof, ReasonWindow,
};
use quorate_domain::{AggregatedResponse, OperatorId, TaskId};
use quorate_runtime::SignatureOutcome;

use super::{new_execution, Automation, Job};
use crate::error::NodeError;
use crate::record::{now_ms, Status, TaskRecord, TriggerClaim};
use crate::state::{off_async, AttestationSink};

/// Longest workflow id accepted in a report (ids the node issues are 26 characters).
const MAX_WORKFLOW_ID: usize = 64;
/// Longest reason JSON accepted in a report.
const MAX_REASON_JSON: usize = 1024;

impl Automation {
    /// One operator's report, after its session was checked. Nothing is created or stored
    /// before the workflow, the reason and the report's shape pass; the signature is verified
    /// by the aggregator before it is acknowledged.
    pub(crate) async fn report(
        &self,
        operator_id: OperatorId,
        report: pb::TriggerReport,
    ) -> Result<SignatureOutcome, NodeError> {
        let workflow_id = report.workflow_id;
        if workflow_id.is_empty() || workflow_id.len() > MAX_WORKFLOW_ID {
            return Err(NodeError::InvalidArgument(format!(
                "operator {operator_id}: bad workflow id"
            )));
        }
        self.inner.pool.reported(&operator_id);
        if !self.inner.reporters.allow(&operator_id.to_string()) {
            return Err(NodeError::ResourceExhausted(format!(
                "operator {operator_id}: trigger report rate limit"
            )));
        }
        if report.reason_json.len() > MAX_REASON_JSON {
            return Err(NodeError::InvalidArgument(format!(
                "operator {operator_id}: reason longer than {MAX_REASON_JSON} bytes"
            )));
        }
        let reason: TriggerReason = serde_json::from_str(&report.reason_json).map_err(|e| {
            NodeError::InvalidArgument(format!(
                "workflow {workflow_id}: operator {operator_id}: reason: {e}"
            ))
        })?;
        let (store, id) = (self.inner.store.clone(), workflow_id.clone());
        let workflow = off_async(move || store.workflow(&id))
            .await?
            .ok_or_else(|| NodeError::NotFound(format!("workflow {workflow_id}")))?;
        let now = now_ms() / 1000;
        workflow.runnable_at(now).map_err(|why| {
            NodeError::FailedPrecondition(format!("workflow {workflow_id} cannot run: {why:?}"))
        })?;
        let window = ReasonWindow {
            max_age_secs: self.inner.config.max_reason_age_secs,
            max_skew_secs: self.inner.config.max_reason_skew_secs,
        };
        check_reason(&workflow.spec.trigger, &reason, now, window).map_err(|e| {
            NodeError::InvalidArgument(format!(
                "workflow {workflow_id}: operator {operator_id}: {e}"
            ))
        })?;
        let claim = trigger_claim(&workflow_id, &reason);
        // The digest operators signed (`claim_digest`), from the claim already built.
        let digest = alloy_primitives::keccak256(&claim);
        let task_id = TaskId::new(digest.0)
            .map_err(|e| NodeError::InvalidArgument(format!("workflow {workflow_id}: {e}")))?;
        self.open_attestation(task_id, &workflow.owner, &workflow_id, reason, &claim)
            .await?;
        let wire = pb::SignedResponse {
            task_id: digest.to_vec(),
            operator_id: operator_id.as_bytes().to_vec(),
            digest: digest.to_vec(),
            signature: report.signature,
            response: claim,
        };
        let submission = SignatureSubmission::decode(wire, usize::MAX).map_err(NodeError::from)?;
        self.inner.state.submit_signature(submission).await
    }

    /// Creates the attestation task of (workflow, reason) unless it exists.
    async fn open_attestation(
        &self,
        task_id: TaskId,
        owner: &str,
        workflow_id: &str,
        reason: TriggerReason,
        claim: &[u8],
    ) -> Result<(), NodeError> {
        let store = self.inner.store.clone();
        if off_async(move || store.task(&task_id)).await?.is_some() {
            return Ok(());
        }
        let now = now_ms();
        let record = TaskRecord {
            task_id,
            seq: 0,
            status: Status::Pending,
            creator: format!("automation:{owner}"),
            reference_block: *self.inner.reference_block.borrow(),
            quorums: self.inner.config.attestation_quorums.clone(),
            expiry_ms: self.inner.config.attestation_window_ms,
            window_ms: 0,
            payload: claim.to_vec(),
            created_at_ms: now,
            updated_at_ms: now,
            error: None,
            signatures: 0,
            trigger: Some(TriggerClaim {
                workflow_id: workflow_id.to_owned(),
                reason,
            }),
        };
        match self.inner.state.create_task(record).await {
            // Another operator's report created it first: fine.
            Ok(_) | Err(NodeError::AlreadyExists(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[tonic::async_trait]
impl AttestationSink for Automation {
    async fn attested(
        &self,
        claim: &TriggerClaim,
        aggregate: &AggregatedResponse,
    ) -> Result<String, NodeError> {
        let id = attested_execution_id(&claim.workflow_id, &claim.reason);
        let mut execution = new_execution(&claim.workflow_id, id.clone(), claim.reason);
        execution.proof = Some(ExecutionProof {
            digest: aggregate.digest.to_string(),
            reference_block: aggregate.reference_block,
            signers: aggregate
                .signer_ids
                .iter()
                .map(ToString::to_string)
                .collect(),
            non_signers: aggregate
                .non_signer_ids
                .iter()
                .map(ToString::to_string)
                .collect(),
            sigma: format!(
                "0x{:064x}{:064x}",
                aggregate.signers_agg_sig_g1.x, aggregate.signers_agg_sig_g1.y
            ),
        });
        if self
            .start_execution(&claim.workflow_id, execution)
            .await?
            .is_some()
        {
            let job = Job {
                workflow_id: claim.workflow_id.clone(),
                execution_id: id.clone(),
                done: None,
            };
            // A full queue leaves it stored as queued; the sweeper runs it later.
            let _ = self.inner.executor.enqueue(job);
        }
        Ok(id)
    }
}
