//! The record of one run of a workflow: why it ran, each step, and the operators' proof.

use serde::{Deserialize, Serialize};

use crate::trigger::TriggerReason;

/// Where an execution is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionStatus {
    /// Accepted, waiting for a runner.
    Queued,
    /// Steps are running.
    Running,
    /// Done, successfully or not (`Execution::success`).
    Finished,
}

impl ExecutionStatus {
    /// The status's name as stored and shown.
    pub fn label(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Finished => "finished",
        }
    }
}

/// The operators' attestation that a trigger fired: the BLS aggregate over
/// (workflow id, trigger reason) that met every quorum's threshold. Absent for manual runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionProof {
    /// The 32-byte digest the operators signed (hex).
    pub digest: String,
    /// The block whose operator set and stakes the signatures were checked against.
    pub reference_block: u64,
    /// Operator ids (hex) whose signatures are in the aggregate.
    pub signers: Vec<String>,
    /// Operator ids (hex) of the quorums' members that did not sign.
    pub non_signers: Vec<String>,
    /// The aggregate signature, a G1 point (hex of its 64-byte uncompressed encoding).
    pub sigma: String,
}

/// One step's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The node's id.
    pub node_id: String,
    /// The node's name.
    pub name: String,
    /// The node's kind (`rest_api`, `branch`, …).
    pub kind: String,
    /// Whether the step succeeded.
    pub success: bool,
    /// The rendered inputs with every secret replaced by `***`.
    pub inputs: serde_json::Value,
    /// The step's output (capped; see `RunnerLimits::max_output_bytes`).
    pub output: serde_json::Value,
    /// What the step logged (capped), secrets replaced by `***`.
    pub log: String,
    /// Why it failed, secrets replaced by `***`.
    pub error: Option<String>,
    /// Unix milliseconds.
    pub started_at_ms: u64,
    /// Unix milliseconds.
    pub ended_at_ms: u64,
}

/// One run of a workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    /// Unique per workflow and trigger reason, so a reason never runs twice.
    pub id: String,
    /// The workflow it ran.
    pub workflow_id: String,
    /// What fired.
    pub reason: TriggerReason,
    /// Queued, running or finished.
    pub status: ExecutionStatus,
    /// Unix milliseconds (0 until it starts).
    pub started_at_ms: u64,
    /// Unix milliseconds (0 until it ends).
    pub ended_at_ms: u64,
    /// Whether every step that ran succeeded.
    pub success: bool,
    /// The first failure, secrets replaced by `***`.
    pub error: Option<String>,
    /// The steps that ran, in order.
    pub steps: Vec<StepRecord>,
    /// The operators' attestation of the trigger (none for manual runs).
    pub proof: Option<ExecutionProof>,
    /// What the owner passed to a manual run; steps see it under `trigger.data.input`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<serde_json::Value>,
}
