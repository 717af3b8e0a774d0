//! What the node keeps about a task and a signed response, and their wire conversions.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use quorate_domain::{TaskId, TaskMetadata, ValidationError};
use serde::{Deserialize, Serialize};

use quorate_api::pb;

/// A task's lifecycle state. Final states never change again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum Status {
    /// Stored, not yet handed to the aggregator.
    Pending = 1,
    /// Aggregating: signatures are accepted.
    Collecting = 2,
    /// An aggregate met every threshold; not yet submitted.
    Aggregated = 3,
    /// The aggregate was submitted (final).
    Submitted = 4,
    /// Thresholds not met before expiry (final).
    Expired = 5,
    /// Aggregation or submission failed (final).
    Failed = 6,
    /// Cancelled by its creator or an admin (final).
    Cancelled = 7,
}

impl Status {
    /// All states, in lifecycle order.
    pub const ALL: [Status; 7] = [
        Status::Pending,
        Status::Collecting,
        Status::Aggregated,
        Status::Submitted,
        Status::Expired,
        Status::Failed,
        Status::Cancelled,
    ];

    /// Whether the state can never change again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Submitted | Status::Expired | Status::Failed | Status::Cancelled
        )
    }

    /// Whether operators may still sign the task.
    pub fn is_open(self) -> bool {
        matches!(self, Status::Pending | Status::Collecting)
    }

    /// The byte used in storage keys.
    pub fn as_byte(self) -> u8 {
        self as u8
    }

    /// The state of a wire value (`None` for unspecified or unknown values).
    pub fn from_wire(value: i32) -> Option<Status> {
        Status::ALL.into_iter().find(|s| *s as i32 == value)
    }

    /// The wire enum.
    pub fn to_wire(self) -> pb::TaskStatus {
        match self {
            Status::Pending => pb::TaskStatus::Pending,
            Status::Collecting => pb::TaskStatus::Collecting,
            Status::Aggregated => pb::TaskStatus::Aggregated,
            Status::Submitted => pb::TaskStatus::Submitted,
            Status::Expired => pb::TaskStatus::Expired,
            Status::Failed => pb::TaskStatus::Failed,
            Status::Cancelled => pb::TaskStatus::Cancelled,
        }
    }
}

/// A task as stored (JSON value of the `tasks` table).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// The task.
    pub task_id: TaskId,
    /// Creation sequence number, node-wide, starting at 1.
    pub seq: u64,
    /// Lifecycle state.
    pub status: Status,
    /// Who created it (API key name or account).
    pub creator: String,
    /// Reference block of the operator state.
    pub reference_block: u64,
    /// `(quorum, threshold %)` pairs.
    pub quorums: Vec<(u8, u8)>,
    /// Time to expiry from creation, in ms.
    pub expiry_ms: u64,
    /// Window after the thresholds are met, in ms.
    pub window_ms: u64,
    /// Operators' input.
    pub payload: Vec<u8>,
    /// Creation time (Unix ms).
    pub created_at_ms: u64,
    /// Last change (Unix ms).
    pub updated_at_ms: u64,
    /// Why it failed or expired.
    pub error: Option<String>,
    /// Signed responses stored for it.
    pub signatures: u32,
    /// Set on a trigger attestation: the workflow and the reason its operators attest. Such a
    /// task's payload is the claim they sign; its aggregate starts an execution instead of
    /// going to the AVS's contract, and it is not streamed to operators as work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<TriggerClaim>,
}

/// What a trigger attestation task attests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerClaim {
    /// The workflow.
    pub workflow_id: String,
    /// What fired.
    pub reason: quorate_automation::trigger::TriggerReason,
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl TaskRecord {
    /// The aggregator's metadata, with the expiry shortened to what is left of it at `now`
    /// (`None` when it has already passed).
    pub fn metadata_at(&self, now: u64) -> Result<Option<TaskMetadata>, ValidationError> {
        let deadline = self.created_at_ms.saturating_add(self.expiry_ms);
        if now >= deadline {
            return Ok(None);
        }
        let left = Duration::from_millis(deadline - now);
        let meta = TaskMetadata::from_raw(self.task_id, self.reference_block, &self.quorums, left)?
            .with_window(Duration::from_millis(self.window_ms));
        Ok(Some(meta))
    }

    /// The wire form; `full` includes the payload.
    pub fn to_wire(&self, full: bool) -> pb::Task {
        pb::Task {
            task_id: self.task_id.as_bytes().to_vec(),
            status: self.status.to_wire() as i32,
            creator: self.creator.clone(),
            reference_block: self.reference_block,
            quorums: self
                .quorums
                .iter()
                .map(|&(q, t)| pb::QuorumThreshold {
                    quorum: u32::from(q),
                    threshold_percent: u32::from(t),
                })
                .collect(),
            expiry_ms: self.expiry_ms,
            window_ms: self.window_ms,
            payload: if full {
                self.payload.clone()
            } else {
                Vec::new()
            },
            created_at_ms: self.created_at_ms,
            updated_at_ms: self.updated_at_ms,
            error: self.error.clone().unwrap_or_default(),
            seq: self.seq,
            signatures: self.signatures,
        }
    }
}

/// One operator's signed response as stored (JSON value of the `responses` table).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    /// The signer (32 bytes).
    pub operator_id: [u8; 32],
    /// What it signed (32 bytes).
    pub digest: [u8; 32],
    /// The G1 signature (64 bytes, hex in JSON).
    pub signature: String,
    /// The operator's response bytes (hex in JSON).
    pub response: String,
}
