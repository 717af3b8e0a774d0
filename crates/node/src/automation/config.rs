//! The `[automation]` table: limits of workflows, executions, the sandbox and HTTP steps,
//! and how trigger attestations are aggregated. Every limit is documented in
//! `docs/automation.md` and has a default that suits a shared node.

use std::path::PathBuf;

use quorate_automation::sandbox::SandboxLimits;
use quorate_automation::{HttpClientConfig, RunnerLimits, WorkflowLimits};
use serde::{Deserialize, Serialize};

/// Settings of the workflow engine on the node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutomationConfig {
    /// Serve WorkflowService and accept trigger reports.
    pub enabled: bool,
    /// Most workflows one owner may have (deleted ones do not count).
    pub max_workflows_per_owner: usize,
    /// Executions kept per workflow; beyond it the oldest finished ones are deleted.
    pub max_executions_per_workflow: usize,
    /// Most secrets one owner may store, every scope together.
    pub max_secrets_per_owner: usize,
    /// Executions waiting for a runner; a full queue refuses manual runs (RESOURCE_EXHAUSTED)
    /// and leaves attested ones stored as queued, picked up as runners free.
    pub queue_capacity: usize,
    /// Executions running at once.
    pub concurrent_executions: usize,
    /// `(quorum, threshold %)` every trigger attestation must meet.
    pub attestation_quorums: Vec<(u8, u8)>,
    /// How long operators have to report one fired trigger, in ms.
    pub attestation_window_ms: u64,
    /// Oldest reported fire time accepted, in seconds before now.
    pub max_reason_age_secs: u64,
    /// Newest reported fire time accepted, in seconds after now (clock skew).
    pub max_reason_skew_secs: u64,
    /// Trigger reports per second per operator (a burst of 4× is allowed).
    pub reports_per_second: f64,
    /// Most trigger-update streams one operator may hold open.
    pub max_trigger_streams_per_operator: usize,
    /// File holding the 32-byte key secrets are sealed with (hex or base64, mode 0600), or the
    /// key itself in `QUORATE_AUTOMATION_KEY`. Without one, secret calls are refused, except in
    /// `--dev`, where a key file is created beside the database.
    pub secrets_key_file: Option<PathBuf>,
    /// Shape limits of a workflow.
    pub workflow: WorkflowLimits,
    /// Per-execution limits.
    pub runner: RunnerLimits,
    /// JavaScript limits.
    pub sandbox: SandboxLimits,
    /// HTTP steps' client.
    pub http: HttpClientConfig,
    /// `--dev` only: the dev block source's block time, in ms (blocks for block triggers).
    pub dev_block_time_ms: u64,
    /// `--dev` only: create the sample workflow at start (owner `dev`).
    pub dev_sample_workflow: bool,
}

impl Default for AutomationConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_workflows_per_owner: 100,
            max_executions_per_workflow: 1000,
            max_secrets_per_owner: 100,
            queue_capacity: 1024,
            concurrent_executions: 4,
            attestation_quorums: vec![(0, 67)],
            attestation_window_ms: 120_000,
            max_reason_age_secs: 3600,
            max_reason_skew_secs: 60,
            reports_per_second: 20.0,
            max_trigger_streams_per_operator: 2,
            secrets_key_file: None,
            workflow: WorkflowLimits::default(),
            runner: RunnerLimits::default(),
            sandbox: SandboxLimits::default(),
            http: HttpClientConfig::default(),
            dev_block_time_ms: 1000,
            dev_sample_workflow: true,
        }
    }
}

impl AutomationConfig {
    /// Refuses values the node cannot run with, naming the key.
    pub fn validate(&self) -> anyhow::Result<()> {
        let positive = [
            ("max_workflows_per_owner", self.max_workflows_per_owner),
            (
                "max_executions_per_workflow",
                self.max_executions_per_workflow,
            ),
            ("max_secrets_per_owner", self.max_secrets_per_owner),
            ("queue_capacity", self.queue_capacity),
            ("concurrent_executions", self.concurrent_executions),
            (
                "max_trigger_streams_per_operator",
                self.max_trigger_streams_per_operator,
            ),
        ];
        for (key, value) in positive {
            anyhow::ensure!(value > 0, "automation.{key} must be at least 1");
        }
        anyhow::ensure!(
            !self.attestation_quorums.is_empty()
                && self
                    .attestation_quorums
                    .iter()
                    .all(|&(_, t)| (1..=100).contains(&t)),
            "automation.attestation_quorums needs at least one (quorum, threshold 1..=100)"
        );
        anyhow::ensure!(
            (1_000..=86_400_000).contains(&self.attestation_window_ms),
            "automation.attestation_window_ms must be 1000..=86400000"
        );
        anyhow::ensure!(
            self.reports_per_second > 0.0,
            "automation.reports_per_second must be positive"
        );
        anyhow::ensure!(
            (100..=600_000).contains(&self.dev_block_time_ms),
            "automation.dev_block_time_ms must be 100..=600000"
        );
        self.sandbox
            .validate()
            .map_err(|e| anyhow::anyhow!("automation.sandbox: {e}"))?;
        Ok(())
    }
}
