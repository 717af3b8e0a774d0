//! Runs a workflow's DAG once: each step in topological order, sees the trigger and earlier
//! steps' outputs by name, and is recorded with its inputs, output, log and error, secrets
//! replaced by `***`. A failed step ends the execution; steps behind a branch's unchosen edges
//! are skipped.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::model::{Node, StepRecord, WorkflowSpec};
use crate::ports::{ContractReader, HttpClient, WalletSender};
use crate::sandbox::Sandbox;
use crate::secrets::{Redactor, SecretSet};
use crate::steps::{self, StepContext, StepError, StepFailure, StepOutput};
use crate::validate::Plan;

/// Limits on one execution. Every one is a node setting (`[automation.runner]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunnerLimits {
    /// Largest output one step may produce (its JSON, in bytes); more fails the step, so a
    /// record and what later steps see stay bounded.
    pub max_output_bytes: usize,
    /// Longest log kept per step, in bytes; the rest is cut with a marker.
    pub max_log_bytes: usize,
    /// Longest rendered template (URL, header, body, code), in bytes.
    pub max_rendered_bytes: usize,
    /// Time one network step (HTTP, GraphQL, contract read) may take, in milliseconds.
    pub step_timeout_ms: u64,
}

impl Default for RunnerLimits {
    fn default() -> Self {
        Self {
            max_output_bytes: 256 * 1024,
            max_log_bytes: 16 * 1024,
            max_rendered_bytes: 256 * 1024,
            step_timeout_ms: 30_000,
        }
    }
}

impl RunnerLimits {
    /// The network step timeout.
    pub fn step_timeout(&self) -> Duration {
        Duration::from_millis(self.step_timeout_ms)
    }
}

/// What one run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// Whether every step that ran succeeded.
    pub success: bool,
    /// The first failure (`node 'id': reason`), secrets replaced by `***`.
    pub error: Option<String>,
    /// The steps that ran, in order.
    pub steps: Vec<StepRecord>,
}

/// Runs workflows against its ports. Cheap to clone; one serves every execution.
#[derive(Clone)]
pub struct Runner {
    /// HTTP for REST and GraphQL steps.
    http: Arc<dyn HttpClient>,
    /// `eth_call` for contract reads; without one, such steps fail with a clear error.
    chain: Option<Arc<dyn ContractReader>>,
    /// Where JavaScript runs.
    sandbox: Arc<Sandbox>,
    /// Per-execution limits.
    limits: RunnerLimits,
}

impl Runner {
    /// A runner over these ports.
    pub fn new(
        http: Arc<dyn HttpClient>,
        chain: Option<Arc<dyn ContractReader>>,
        sandbox: Arc<Sandbox>,
        limits: RunnerLimits,
    ) -> Self {
        Self {
            http,
            chain,
            sandbox,
            limits,
        }
    }

    /// Runs `workflow` (validated into `plan`) once. `trigger_data` is what the steps see as
    /// `trigger.data`; `secrets` are the owner's and the workflow's, opened for this run;
    /// `wallet` sends the wallet steps' calls from this workflow's wallet (without one, those
    /// steps fail as unavailable).
    pub async fn run(
        &self,
        workflow: &WorkflowSpec,
        plan: &Plan,
        trigger_data: Value,
        secrets: &SecretSet,
        wallet: Option<&dyn WalletSender>,
    ) -> RunOutcome {
        let redactor = Redactor::new(secrets.values());
        let mut values = Map::new();
        values.insert("trigger".into(), json!({ "data": trigger_data }));
        // Per node: None = not reached yet or skipped; Some(chosen) = ran, with the branch
        // condition it chose (None for other kinds).
        let mut ran: Vec<Option<Option<String>>> = vec![None; workflow.nodes.len()];
        let mut steps = Vec::new();
        for &index in &plan.order {
            let node = &workflow.nodes[index];
            if !is_active(&plan.incoming[index], &ran) {
                continue;
            }
            let (step, output) = self
                .run_step(node, &values, secrets, wallet, &redactor)
                .await;
            let failed = step
                .error
                .as_ref()
                .map(|error| format!("node '{}': {error}", node.id));
            steps.push(step);
            if let Some(error) = failed {
                return RunOutcome {
                    success: false,
                    error: Some(error),
                    steps,
                };
            }
            ran[index] = Some(output.chosen_condition.clone());
            values.insert(node.name.clone(), json!({ "data": output.data }));
        }
        RunOutcome {
            success: true,
            error: None,
            steps,
        }
    }

    /// Runs one step and builds its record. The record's inputs, log and error pass through
    /// the redactor; the output does too, since a step may echo a secret it was given.
    async fn run_step(
        &self,
        node: &Node,
        values: &Map<String, Value>,
        secrets: &SecretSet,
        wallet: Option<&dyn WalletSender>,
        redactor: &Redactor,
    ) -> (StepRecord, StepOutput) {
        let started_at_ms = now_ms();
        let context = StepContext {
            values,
            secrets,
            http: self.http.as_ref(),
            chain: self.chain.as_deref(),
            wallet,
            sandbox: &self.sandbox,
            limits: &self.limits,
        };
        let span = tracing::info_span!("step", node_id = %node.id, kind = node.kind.label());
        let result = tracing::Instrument::instrument(steps::run(node, &context), span).await;
        let (output, error) = match result {
            Ok(output) => match self.check_output_size(&output) {
                Ok(()) => (output, None),
                Err(error) => (StepOutput::failed(output.inputs), Some(error)),
            },
            Err(StepFailure {
                inputs,
                data,
                error,
            }) => (
                StepOutput {
                    data,
                    ..StepOutput::failed(inputs)
                },
                Some(error),
            ),
        };
        let record = StepRecord {
            node_id: node.id.clone(),
            name: node.name.clone(),
            kind: node.kind.label().to_owned(),
            success: error.is_none(),
            inputs: redact_value(&output.inputs, redactor),
            output: redact_value(&output.data, redactor),
            log: cap(&redactor.redact(&output.log), self.limits.max_log_bytes),
            error: error.map(|e| redactor.redact(&e.to_string())),
            started_at_ms,
            ended_at_ms: now_ms(),
        };
        (record, output)
    }

    fn check_output_size(&self, output: &StepOutput) -> Result<(), StepError> {
        let size = serde_json::to_vec(&output.data).map_or(usize::MAX, |bytes| bytes.len());
        if size > self.limits.max_output_bytes {
            return Err(StepError::OutputTooLarge {
                bytes: size,
                limit: self.limits.max_output_bytes,
            });
        }
        Ok(())
    }
}

/// A node runs when it has no incoming edges, or when one of its incoming edges comes from a
/// node that ran and (for a branch) chose that edge's condition. The plan's order guarantees
/// every source was decided first.
fn is_active(incoming: &[crate::validate::IncomingEdge], ran: &[Option<Option<String>>]) -> bool {
    incoming.is_empty()
        || incoming
            .iter()
            .any(|(source, condition)| match (&ran[*source], condition) {
                (Some(_), None) => true,
                (Some(chosen), Some(condition)) => chosen.as_ref() == Some(condition),
                (None, _) => false,
            })
}

/// Replaces secrets in every string of `value`.
fn redact_value(value: &Value, redactor: &Redactor) -> Value {
    match value {
        Value::String(s) => Value::String(redactor.redact(s)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| redact_value(v, redactor)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (redactor.redact(k), redact_value(v, redactor)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary, with a marker.
pub(crate) fn cap(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…[truncated {} bytes]", &text[..cut], text.len() - cut)
}

/// Unix milliseconds (0 if the clock is before 1970).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
