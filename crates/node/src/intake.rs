//! The task intake actor (chain mode, when the AVS configures `[intake]`): steps the chain
//! adapter's [`TaskIntake`], creates each confirmed task, cancels tasks whose block a reorg
//! removed, and stores the cursor after acting, so a restart resumes (backfilling in bounded
//! ranges) and creates every task exactly once.

use std::time::Duration;

use alloy::providers::DynProvider;
use quorate_chain_adapter::{FoundTask, IntakeCursor, IntakeStep, TaskIntake};
use tokio_util::sync::CancellationToken;
use tracing::{info, info_span, warn, Instrument};

use crate::error::NodeError;
use crate::record::{now_ms, Status, TaskRecord};
use crate::state::{off_async, NodeState};

/// Pause after a failed step (RPC or storage), before trying again.
const RETRY_AFTER: Duration = Duration::from_secs(2);

/// Runs the intake until `stop`.
pub fn spawn(state: NodeState, intake: TaskIntake<DynProvider>, stop: CancellationToken) {
    let name = state.avs_name().unwrap_or_default();
    let span = info_span!("intake", avs = %name);
    tokio::spawn(
        async move {
            let idle = Duration::from_millis(intake.config().poll_interval_ms.max(10));
            let mut cursor = None;
            loop {
                let pause = match step(&state, &intake, &name, &mut cursor).await {
                    Ok(true) => Duration::ZERO,
                    Ok(false) => idle,
                    Err(e) => {
                        warn!(error = %e, "task intake step failed; retrying");
                        crate::metrics::intake_error();
                        // Re-read the stored cursor: a half-done step is redone from it.
                        cursor = None;
                        RETRY_AFTER
                    }
                };
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(pause) => {}
                }
            }
        }
        .instrument(span),
    );
}

/// Loads the stored cursor, or the first one.
async fn load_cursor(
    state: &NodeState,
    intake: &TaskIntake<DynProvider>,
    name: &str,
) -> Result<IntakeCursor, NodeError> {
    let store = state.store.clone();
    let key = name.to_owned();
    if let Some(json) = off_async(move || store.intake_cursor(&key)).await? {
        return serde_json::from_slice(&json)
            .map_err(|e| NodeError::Unavailable(format!("stored intake cursor: {e}")));
    }
    let cursor = intake
        .first_cursor()
        .await
        .map_err(|e| NodeError::Unavailable(e.to_string()))?;
    info!(from_block = cursor.next_block, "task intake starts");
    Ok(cursor)
}

/// One step; `Ok(true)` when there may be more to read at once.
async fn step(
    state: &NodeState,
    intake: &TaskIntake<DynProvider>,
    name: &str,
    cursor: &mut Option<IntakeCursor>,
) -> Result<bool, NodeError> {
    let mut next = match cursor.take() {
        Some(c) => c,
        None => load_cursor(state, intake, name).await?,
    };
    let outcome = intake
        .step(&mut next)
        .await
        .map_err(|e| NodeError::Unavailable(e.to_string()));
    let more = match outcome? {
        IntakeStep::Idle => {
            *cursor = Some(next);
            return Ok(false);
        }
        IntakeStep::Read {
            tasks,
            skipped,
            caught_up,
            ..
        } => {
            for s in &skipped {
                warn!(block = s.block, log_index = s.log_index, reason = %s.reason, "task-created log skipped");
                crate::metrics::intake_skipped();
            }
            for found in &tasks {
                create(state, name, intake, found).await?;
            }
            !caught_up
        }
        IntakeStep::Reorg {
            from_block,
            removed,
        } => {
            warn!(
                from_block,
                tasks = removed.len(),
                "reorg: cancelling tasks of removed blocks"
            );
            for task_id in &removed {
                let reason = format!(
                    "task {task_id}: its block was removed by a reorg (from block {from_block})"
                );
                state.cancel_because(task_id, reason)?;
            }
            true
        }
    };
    // Stored only after acting: a crash before this re-reads the same logs, and their tasks
    // already exist.
    let json = serde_json::to_vec(&next)
        .map_err(|e| NodeError::Unavailable(format!("intake cursor: {e}")))?;
    let store = state.store.clone();
    let key = name.to_owned();
    off_async(move || store.put_intake_cursor(&key, &json)).await?;
    *cursor = Some(next);
    Ok(more)
}

/// Creates one found task (an existing one is left as it is).
async fn create(
    state: &NodeState,
    name: &str,
    intake: &TaskIntake<DynProvider>,
    found: &FoundTask,
) -> Result<(), NodeError> {
    let t = &found.task;
    let now = now_ms();
    let record = TaskRecord {
        task_id: t.task_id,
        seq: 0,
        status: Status::Pending,
        creator: format!("chain:{name}"),
        reference_block: t.reference_block,
        quorums: t.quorums.clone(),
        expiry_ms: intake.config().task_expiry_ms,
        window_ms: intake.config().window_ms,
        payload: t.payload.clone(),
        created_at_ms: now,
        updated_at_ms: now,
        error: None,
        signatures: 0,
        trigger: None,
    };
    match state.create_task(record).await {
        Ok(_) => {
            info!(
                task_id = %t.task_id,
                chain_task = %t.chain_id,
                block = found.block,
                log_index = found.log_index,
                tx = %found.tx_hash,
                "task created from chain"
            );
            crate::metrics::intake_task();
            Ok(())
        }
        Err(NodeError::AlreadyExists(_)) => Ok(()),
        // A task the aggregator refuses (bad quorums, thresholds) is stored as failed by
        // `create_task`; one the payload check refuses cannot be created at all.
        Err(NodeError::InvalidArgument(reason)) => {
            warn!(chain_task = %t.chain_id, block = found.block, %reason, "task refused");
            crate::metrics::intake_skipped();
            Ok(())
        }
        Err(e) => Err(e),
    }
}
