//! A workflow task: what its owner submits, and what the node keeps about it.

use serde::{Deserialize, Serialize};

use super::node::{Edge, Node};
use crate::trigger::Trigger;

/// What a client submits to create a workflow (the JSON of `quorate workflow create FILE.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSpec {
    /// 1 to 255 characters.
    pub name: String,
    /// Unix seconds before which the trigger is ignored (0 or absent: at once).
    #[serde(default)]
    pub start_at: u64,
    /// Unix seconds from which the workflow is completed (0 or absent: never).
    #[serde(default)]
    pub expired_at: u64,
    /// Executions after which the workflow is completed (0: unlimited).
    #[serde(default)]
    pub max_execution: u64,
    /// What sets an execution off.
    pub trigger: Trigger,
    /// The steps.
    pub nodes: Vec<Node>,
    /// The DAG's edges; a node without incoming edges runs first.
    #[serde(default)]
    pub edges: Vec<Edge>,
    /// The owner's smart wallet that `contract_write` and `eth_transfer` steps act from.
    /// Absent: the owner's wallet of salt 0 from the node's default factory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet: Option<WalletRef>,
}

/// Which of the owner's smart wallets a workflow uses: (factory, owner, salt) fix its address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletRef {
    /// The salt (decimal or 0x-hex string, or a number); 0 when absent.
    #[serde(default)]
    pub salt: alloy_primitives::U256,
    /// The account factory; the node's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factory: Option<alloy_primitives::Address>,
    /// The wallet's address, when the owner wants it checked: the node refuses a workflow whose
    /// address is not the owner's wallet of this salt and factory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<alloy_primitives::Address>,
}

/// Where a workflow is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowStatus {
    /// Waiting for its trigger.
    Active,
    /// An execution is running.
    Executing,
    /// Reached `max_execution` or `expired_at`.
    Completed,
    /// Stopped by an error outside any one execution.
    Failed,
    /// Cancelled by its owner.
    Cancelled,
}

impl WorkflowStatus {
    /// Whether the workflow can still be triggered.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Active | Self::Executing)
    }

    /// The status's name as stored and shown.
    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Executing => "executing",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// A stored workflow: the validated spec, who owns it and its counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workflow {
    /// Assigned by the node at creation.
    pub id: String,
    /// The owner's address (lower-case hex), the only caller who may see or change it.
    pub owner: String,
    /// The owner's Ethereum address, whose smart wallet the workflow's wallet steps act from
    /// (None: an owner without one, whose workflows cannot have wallet steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_address: Option<alloy_primitives::Address>,
    /// What the owner submitted, validated.
    pub spec: WorkflowSpec,
    /// Life-cycle status.
    pub status: WorkflowStatus,
    /// Executions started so far.
    pub total_execution: u64,
    /// Unix seconds of the last execution's start (0: never).
    pub last_ran_at: u64,
    /// Unix seconds of creation.
    pub created_at: u64,
}

/// Why a workflow refuses to run (now or ever).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotRunnable {
    /// Its status is not live.
    NotLive(WorkflowStatus),
    /// `start_at` is in the future.
    NotStarted,
    /// `expired_at` has passed.
    Expired,
    /// `max_execution` is reached.
    Exhausted,
}

impl Workflow {
    /// Whether a trigger at `now` (unix seconds) may start an execution.
    pub fn runnable_at(&self, now: u64) -> Result<(), NotRunnable> {
        if !self.status.is_live() {
            return Err(NotRunnable::NotLive(self.status));
        }
        if now < self.spec.start_at {
            return Err(NotRunnable::NotStarted);
        }
        if self.spec.expired_at != 0 && now >= self.spec.expired_at {
            return Err(NotRunnable::Expired);
        }
        if self.spec.max_execution != 0 && self.total_execution >= self.spec.max_execution {
            return Err(NotRunnable::Exhausted);
        }
        Ok(())
    }

    /// Counts an execution that starts at `now`, completing the workflow when it was the last
    /// one allowed.
    pub fn record_execution_start(&mut self, now: u64) {
        self.total_execution = self.total_execution.saturating_add(1);
        self.last_ran_at = now;
        if self.spec.max_execution != 0 && self.total_execution >= self.spec.max_execution {
            self.status = WorkflowStatus::Completed;
        }
    }

    /// Completes a live workflow whose expiry has passed; returns whether it changed.
    pub fn expire_if_due(&mut self, now: u64) -> bool {
        let due = self.status.is_live() && self.spec.expired_at != 0 && now >= self.spec.expired_at;
        if due {
            self.status = WorkflowStatus::Completed;
        }
        due
    }
}
