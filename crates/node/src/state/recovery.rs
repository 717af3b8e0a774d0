//! Restart: every unfinished task is resumed exactly once. Open tasks go back to the
//! aggregator with what is left of their expiry and their stored signatures (a registry that
//! is briefly unreachable is retried with backoff until the task's expiry, not failed);
//! aggregated ones are submitted, asking the submitter first when a submission may already
//! have been sent.

use std::time::Duration;

use quorate_bls::Signature;
use quorate_domain::{AggregationError, OperatorId, ResponseDigest, SignedTaskResponse, TaskId};
use tracing::{info, warn};

use super::NodeState;
use crate::error::NodeError;
use crate::record::{now_ms, Status, StoredResponse, TaskRecord};

/// First wait before retrying a task whose operator set could not be read at restart.
const RETRY_FIRST: Duration = Duration::from_millis(200);
/// Longest wait between such retries (the delay doubles up to this).
const RETRY_MAX: Duration = Duration::from_secs(10);
/// Tasks read from the database per page while recovering.
const PAGE: usize = 256;

/// What a restart resumed.
#[derive(Debug, Default, Clone, Copy)]
pub struct RecoveryReport {
    /// Open tasks handed back to the aggregator.
    pub tasks: usize,
    /// Stored signatures the aggregator accepted again.
    pub signatures: usize,
    /// Stored signatures it refused on replay (their rows are deleted).
    pub refused: usize,
    /// Open tasks whose registry read failed transiently; retried in the background.
    pub retrying: usize,
    /// Aggregates submitted (or found already answered) that had no stored receipt.
    pub resubmitted: usize,
}

/// How one open task came back.
enum Resumed {
    /// Aggregating again; the replayed signatures were accepted / refused.
    Started { accepted: usize, refused: usize },
    /// The registry was unavailable: retried in the background.
    Retrying,
    /// It expired or failed instead.
    Ended,
}

/// Whether handing the task to the aggregator failed in a way worth retrying.
enum Init {
    /// Aggregating; the driver should wait this long.
    Started(Duration),
    /// The registry failed transiently.
    Retry(AggregationError),
    /// The task is now expired or failed.
    Ended,
}

impl NodeState {
    /// Resumes every unfinished task after a restart.
    pub async fn recover(&self) -> Result<RecoveryReport, NodeError> {
        let mut report = RecoveryReport::default();
        // Collecting before pending: a pending task becomes collecting when it starts and must
        // not be met again (and started twice) by a later collecting pass.
        for status in [Status::Collecting, Status::Pending] {
            let mut after = 0;
            loop {
                let page = self.store.tasks_in_status(status, after, PAGE, |_| true)?;
                let Some(last) = page.last() else { break };
                after = last.seq;
                for record in page {
                    match self.resume(record).await? {
                        Resumed::Started { accepted, refused } => {
                            report.tasks += 1;
                            report.signatures += accepted;
                            report.refused += refused;
                        }
                        Resumed::Retrying => report.retrying += 1,
                        Resumed::Ended => {}
                    }
                }
            }
        }
        let mut after = 0;
        loop {
            let page = self
                .store
                .tasks_in_status(Status::Aggregated, after, PAGE, |_| true)?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for record in page {
                report.resubmitted += 1;
                self.resubmit(record.task_id).await?;
            }
        }
        Ok(report)
    }

    async fn resubmit(&self, task_id: TaskId) -> Result<(), NodeError> {
        let stored = self.store.aggregate(&task_id)?;
        let decoded = stored.map(|json| serde_json::from_slice(&json));
        match decoded {
            Some(Ok(aggregate)) => self.submit(task_id, &aggregate).await,
            Some(Err(e)) => {
                let why = format!("task {task_id}: stored aggregate does not decode: {e}");
                self.finish(&task_id, Status::Failed, Some(why)).map(|_| ())
            }
            None => {
                let why = format!("task {task_id}: aggregated but no aggregate stored");
                self.finish(&task_id, Status::Failed, Some(why)).map(|_| ())
            }
        }
    }

    async fn resume(&self, record: TaskRecord) -> Result<Resumed, NodeError> {
        match self.initialize(&record).await? {
            Init::Started(wait) => {
                let (accepted, refused) = self.activate(&record, wait).await?;
                Ok(Resumed::Started { accepted, refused })
            }
            Init::Retry(e) => {
                warn!(task_id = %record.task_id, error = %e, "registry unavailable at restart; retrying until the task expires");
                self.spawn_retry(record);
                Ok(Resumed::Retrying)
            }
            Init::Ended => Ok(Resumed::Ended),
        }
    }

    /// Hands a stored open task to the aggregator.
    async fn initialize(&self, record: &TaskRecord) -> Result<Init, NodeError> {
        let task_id = record.task_id;
        let meta = match record.metadata_at(now_ms()) {
            Ok(Some(meta)) => meta,
            Ok(None) => {
                let why = format!("task {task_id} expired before it could start");
                self.finish(&task_id, Status::Expired, Some(why))?;
                return Ok(Init::Ended);
            }
            Err(e) => {
                self.finish(&task_id, Status::Failed, Some(e.to_string()))?;
                return Ok(Init::Ended);
            }
        };
        let wait = meta.time_to_expiry() + meta.window() + Duration::from_secs(5);
        match self.core.initialize_task(meta).await {
            Ok(()) => Ok(Init::Started(wait)),
            Err(e @ AggregationError::Registry { .. }) if is_transient(&e) => Ok(Init::Retry(e)),
            Err(e) => {
                self.finish(&task_id, Status::Failed, Some(e.to_string()))?;
                Ok(Init::Ended)
            }
        }
    }

    /// Marks an initialized task collecting, starts its driver and replays its stored
    /// signatures, deleting the ones the aggregator now refuses. Returns (accepted, refused).
    async fn activate(
        &self,
        record: &TaskRecord,
        wait: Duration,
    ) -> Result<(usize, usize), NodeError> {
        let task_id = record.task_id;
        self.set_status(&task_id, Status::Collecting, None)?;
        let state = self.clone();
        self.drivers
            .spawn(async move { state.drive(task_id, wait).await });
        let (mut accepted, mut refused) = (0, 0);
        for r in self.store.responses(&task_id)? {
            match self.replay(task_id, &r).await {
                Ok(()) => accepted += 1,
                Err(NodeError::Aggregation(e)) if is_transient(&e) => {
                    // Shutting down or registry trouble: the row stays for the next start.
                    warn!(%task_id, error = %e, "stored response not replayed; kept");
                }
                Err(e) => {
                    refused += 1;
                    warn!(%task_id, error = %e, "stored response refused on replay; deleted");
                    self.store.delete_response(&task_id, &r.operator_id)?;
                }
            }
        }
        Ok((accepted, refused))
    }

    /// Retries [`Self::initialize`] with backoff until it starts, ends, or the node stops.
    fn spawn_retry(&self, record: TaskRecord) {
        let state = self.clone();
        self.drivers.spawn(async move {
            let task_id = record.task_id;
            let mut delay = RETRY_FIRST;
            loop {
                tokio::select! {
                    _ = state.shutting_down.cancelled() => return,
                    _ = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(RETRY_MAX);
                let outcome = match state.initialize(&record).await {
                    Ok(Init::Started(wait)) => state.activate(&record, wait).await.map(|_| true),
                    Ok(Init::Retry(e)) => {
                        warn!(%task_id, error = %e, ?delay, "registry still unavailable");
                        Ok(false)
                    }
                    Ok(Init::Ended) => Ok(true),
                    Err(e) => Err(e),
                };
                match outcome {
                    Ok(true) => {
                        info!(%task_id, "task resumed after registry retries");
                        return;
                    }
                    Ok(false) => {}
                    Err(e) => {
                        warn!(%task_id, error = %e, "could not resume the task");
                        return;
                    }
                }
            }
        });
    }

    async fn replay(&self, task_id: TaskId, r: &StoredResponse) -> Result<(), NodeError> {
        let operator_id = OperatorId::new(r.operator_id)
            .map_err(|e| NodeError::InvalidArgument(e.to_string()))?;
        let bytes =
            hex::decode(&r.signature).map_err(|e| NodeError::InvalidArgument(e.to_string()))?;
        let signature =
            Signature::from_bytes(&bytes).map_err(|e| NodeError::InvalidArgument(e.to_string()))?;
        let signed = SignedTaskResponse {
            task_id,
            digest: ResponseDigest::new(r.digest),
            signature,
            operator_id,
        };
        self.core.process_signed_response(signed).await?;
        Ok(())
    }
}

/// Errors after which a stored task or response is kept for a later try rather than given up.
fn is_transient(e: &AggregationError) -> bool {
    match e {
        AggregationError::Registry { source, .. } => source.is_retryable(),
        AggregationError::Cancelled { .. }
        | AggregationError::ChannelClosed { .. }
        | AggregationError::Timeout { .. } => true,
        _ => false,
    }
}
