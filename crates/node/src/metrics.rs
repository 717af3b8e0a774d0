//! The node's own metrics, declared once (the aggregator's are in `quorate_runtime::metrics`):
//! each event has one function here, label values come from one place, and
//! `docs/metrics.md` lists them all (a test keeps it in step).

use crate::record::Status;

/// Counter: calls refused because the caller's address sent too many (sign-in, failed
/// authentication or unauthenticated operator calls).
pub const PEER_RATE_LIMITED: &str = "quorate_node_peer_rate_limited_total";
/// Counter: task creations refused by the per-client rate limit.
pub const CLIENT_RATE_LIMITED: &str = "quorate_node_rate_limited_total";
/// Counter: tasks stored by `CreateTask`.
pub const TASKS_CREATED: &str = "quorate_node_tasks_created_total";
/// Counter: task status changes, label `to` ([`STATUSES`]).
pub const TASK_TRANSITIONS: &str = "quorate_node_task_transitions_total";
/// Counter: task creations refused by the per-client open-task quota.
pub const OPEN_TASK_QUOTA_REFUSED: &str = "quorate_node_open_task_quota_refused_total";
/// Gauge (`--dev`): responses the dev ledger accepted.
pub const DEV_SUBMISSIONS: &str = "quorate_node_dev_submissions";
/// Gauge (`--dev`): tasks the dev ledger saw answered more than once (must stay 0).
pub const DEV_TASKS_SUBMITTED_TWICE: &str = "quorate_node_dev_tasks_submitted_twice";
/// Gauge: operator sign-in challenges outstanding.
pub const OPERATOR_CHALLENGES: &str = "quorate_node_operator_challenges";
/// Counter: operator authentications refused, label `reason` ([`AUTH_REFUSALS`]).
pub const OPERATOR_AUTH_REFUSED: &str = "quorate_node_operator_auth_refused_total";
/// Counter: operator task streams refused (the operator has the most open already).
pub const OPERATOR_STREAMS_REFUSED: &str = "quorate_node_operator_streams_refused_total";
/// Counter: finished tasks deleted after their retention.
pub const TASKS_PRUNED: &str = "quorate_node_tasks_pruned_total";
/// Counter: equivocation evidence records stored (the runtime's `quorate_equivocations_total`
/// counts them when detected).
pub const EQUIVOCATIONS_STORED: &str = "quorate_node_equivocations_total";
/// Counter: equivocation evidence lost because it arrived faster than it was stored.
pub const EQUIVOCATIONS_LOST: &str = "quorate_node_equivocations_lost_total";
/// Counter: tasks created from the AVS's task-created event (chain intake).
pub const INTAKE_TASKS: &str = "quorate_node_intake_tasks_total";
/// Counter: task-created logs that were not valid tasks, or tasks refused at creation.
pub const INTAKE_SKIPPED: &str = "quorate_node_intake_skipped_total";
/// Counter: intake steps that failed (RPC or storage) and were retried.
pub const INTAKE_ERRORS: &str = "quorate_node_intake_errors_total";
/// Counter: workflows stored by `CreateWorkflow`.
pub const WORKFLOWS_CREATED: &str = "quorate_node_workflows_created_total";
/// Counter: executions queued because operators attested a fired trigger.
pub const EXECUTIONS_ATTESTED: &str = "quorate_node_executions_attested_total";
/// Counter: executions queued by their owner (`TriggerWorkflow`).
pub const EXECUTIONS_MANUAL: &str = "quorate_node_executions_manual_total";
/// Counter: executions that finished with every step successful.
pub const EXECUTIONS_SUCCEEDED: &str = "quorate_node_executions_succeeded_total";
/// Counter: executions that finished with a failed step (or were interrupted).
pub const EXECUTIONS_FAILED: &str = "quorate_node_executions_failed_total";
/// Counter: UserOperations the node bundled that reached the chain (successful or reverted).
pub const WALLET_OPERATIONS: &str = "quorate_node_wallet_operations_total";
/// Counter: wallet calls refused before anything was sent (grant, limit, revert, funds).
pub const WALLET_CALLS_REFUSED: &str = "quorate_node_wallet_calls_refused_total";

/// Every node metric name.
// Read by the tests that keep docs/metrics.md complete.
#[cfg_attr(not(test), allow(dead_code))]
pub const ALL: &[&str] = &[
    PEER_RATE_LIMITED,
    CLIENT_RATE_LIMITED,
    TASKS_CREATED,
    TASK_TRANSITIONS,
    OPEN_TASK_QUOTA_REFUSED,
    DEV_SUBMISSIONS,
    DEV_TASKS_SUBMITTED_TWICE,
    OPERATOR_CHALLENGES,
    OPERATOR_AUTH_REFUSED,
    OPERATOR_STREAMS_REFUSED,
    TASKS_PRUNED,
    EQUIVOCATIONS_STORED,
    EQUIVOCATIONS_LOST,
    INTAKE_TASKS,
    INTAKE_SKIPPED,
    INTAKE_ERRORS,
    WORKFLOWS_CREATED,
    EXECUTIONS_ATTESTED,
    EXECUTIONS_MANUAL,
    EXECUTIONS_SUCCEEDED,
    EXECUTIONS_FAILED,
    WALLET_OPERATIONS,
    WALLET_CALLS_REFUSED,
];

/// Values of the `to` label of [`TASK_TRANSITIONS`].
// Read by the tests that keep docs/metrics.md complete.
#[cfg_attr(not(test), allow(dead_code))]
pub const STATUSES: &[&str] = &[
    "pending",
    "collecting",
    "aggregated",
    "submitted",
    "expired",
    "failed",
    "cancelled",
];

/// Why an operator's authentication was refused.
#[derive(Clone, Copy, Debug)]
pub enum AuthRefusal {
    /// The nonce was not issued to it, is used or expired.
    Nonce,
    /// The proof's signature does not verify.
    Signature,
    /// No valid session.
    Session,
}

/// Values of the `reason` label of [`OPERATOR_AUTH_REFUSED`].
// Read by the tests that keep docs/metrics.md complete.
#[cfg_attr(not(test), allow(dead_code))]
pub const AUTH_REFUSALS: &[&str] = &["nonce", "signature", "session"];

impl AuthRefusal {
    fn label(self) -> &'static str {
        match self {
            Self::Nonce => "nonce",
            Self::Signature => "signature",
            Self::Session => "session",
        }
    }
}

/// The `to` label of a status ([`STATUSES`]).
fn status_label(status: Status) -> &'static str {
    match status {
        Status::Pending => "pending",
        Status::Collecting => "collecting",
        Status::Aggregated => "aggregated",
        Status::Submitted => "submitted",
        Status::Expired => "expired",
        Status::Failed => "failed",
        Status::Cancelled => "cancelled",
    }
}

/// A call was refused for its peer address's rate.
pub fn peer_rate_limited() {
    metrics::counter!(PEER_RATE_LIMITED).increment(1);
}

/// A task creation was refused by the client's rate limit.
pub fn client_rate_limited() {
    metrics::counter!(CLIENT_RATE_LIMITED).increment(1);
}

/// A task was stored.
pub fn task_created() {
    metrics::counter!(TASKS_CREATED).increment(1);
}

/// A task moved to `status`.
pub fn task_transition(status: Status) {
    metrics::counter!(TASK_TRANSITIONS, "to" => status_label(status)).increment(1);
}

/// A task creation was refused by the open-task quota.
pub fn open_task_quota_refused() {
    metrics::counter!(OPEN_TASK_QUOTA_REFUSED).increment(1);
}

/// The dev ledger holds `total` responses, `twice` tasks answered more than once.
pub fn dev_ledger(total: u64, twice: usize) {
    metrics::gauge!(DEV_SUBMISSIONS).set(total as f64);
    metrics::gauge!(DEV_TASKS_SUBMITTED_TWICE).set(twice as f64);
}

/// `n` sign-in challenges are outstanding.
pub fn operator_challenges(n: usize) {
    metrics::gauge!(OPERATOR_CHALLENGES).set(n as f64);
}

/// An operator's authentication was refused.
pub fn operator_auth_refused(why: AuthRefusal) {
    metrics::counter!(OPERATOR_AUTH_REFUSED, "reason" => why.label()).increment(1);
}

/// An operator task stream was refused.
pub fn operator_stream_refused() {
    metrics::counter!(OPERATOR_STREAMS_REFUSED).increment(1);
}

/// `n` finished tasks were pruned.
pub fn tasks_pruned(n: u64) {
    metrics::counter!(TASKS_PRUNED).increment(n);
}

/// An equivocation evidence record was stored.
pub fn equivocation_stored() {
    metrics::counter!(EQUIVOCATIONS_STORED).increment(1);
}

/// `n` pieces of equivocation evidence were lost.
pub fn equivocations_lost(n: u64) {
    metrics::counter!(EQUIVOCATIONS_LOST).increment(n);
}

/// A task was created from the chain.
pub fn intake_task() {
    metrics::counter!(INTAKE_TASKS).increment(1);
}

/// A task-created log was skipped.
pub fn intake_skipped() {
    metrics::counter!(INTAKE_SKIPPED).increment(1);
}

/// An intake step failed.
pub fn intake_error() {
    metrics::counter!(INTAKE_ERRORS).increment(1);
}

/// A workflow was created.
pub fn workflow_created() {
    metrics::counter!(WORKFLOWS_CREATED).increment(1);
}

/// An execution was queued; `attested`: by the operators' aggregate, else by its owner.
pub fn execution_queued(attested: bool) {
    metrics::counter!(if attested {
        EXECUTIONS_ATTESTED
    } else {
        EXECUTIONS_MANUAL
    })
    .increment(1);
}

/// An execution finished.
pub fn execution_finished(success: bool) {
    metrics::counter!(if success {
        EXECUTIONS_SUCCEEDED
    } else {
        EXECUTIONS_FAILED
    })
    .increment(1);
}

/// A wallet call ended: `sent` when its UserOperation reached the chain, else refused first.
pub fn wallet_call(sent: bool) {
    metrics::counter!(if sent {
        WALLET_OPERATIONS
    } else {
        WALLET_CALLS_REFUSED
    })
    .increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_and_refusal_label_is_declared() {
        for s in Status::ALL {
            assert!(STATUSES.contains(&status_label(s)), "{s:?}");
        }
        for r in [
            AuthRefusal::Nonce,
            AuthRefusal::Signature,
            AuthRefusal::Session,
        ] {
            assert!(AUTH_REFUSALS.contains(&r.label()), "{r:?}");
        }
    }

    #[test]
    fn the_metrics_reference_lists_every_node_metric_and_label_value() {
        let doc = include_str!("../../../docs/metrics.md");
        for name in ALL {
            assert!(
                doc.contains(&format!("`{name}`")),
                "docs/metrics.md misses {name}"
            );
        }
        for value in STATUSES.iter().chain(AUTH_REFUSALS) {
            assert!(
                doc.contains(&format!("`{value}`")),
                "docs/metrics.md misses {value}"
            );
        }
    }

    #[test]
    fn the_dashboard_queries_only_declared_metrics_and_shows_every_one() {
        let text = include_str!("../../../docs/grafana-dashboard.json");
        let dashboard: serde_json::Value = serde_json::from_str(text).expect("dashboard is JSON");
        let declared: Vec<&str> = ALL
            .iter()
            .chain(quorate_runtime::metrics::ALL)
            .copied()
            .collect();
        let mut shown = std::collections::BTreeSet::new();
        let panels = dashboard["panels"].as_array().expect("panels");
        for target in panels
            .iter()
            .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        {
            let expr = target["expr"].as_str().expect("expr");
            // Metric names are the `quorate_…` identifiers in the query.
            for name in expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("quorate_"))
            {
                assert!(
                    declared.contains(&name),
                    "dashboard queries undeclared {name}"
                );
                shown.insert(name);
            }
        }
        for name in &declared {
            assert!(shown.contains(name), "dashboard does not show {name}");
        }
    }
}
