//! The node's core: the aggregator, the database and the task lifecycle. Every status change
//! is stored, then published to watchers and operators.

use std::sync::Arc;
use std::time::Duration;

use quorate_bls::Bn254Scheme;
use quorate_chain_adapter::AvsProfile;
use quorate_domain::ResponseSubmitter;
use quorate_domain::{AggregationError, TaskId};
use quorate_runtime::AggregatorCore;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::warn;

use crate::chain::DynRegistry;
use crate::error::NodeError;
use crate::faults::{crash_if, CrashPoint};
use crate::record::{now_ms, Status, TaskRecord};
use crate::store::Store;

mod deliver;
mod recovery;
mod submit;
pub use submit::off_async;

/// The aggregator the node runs (over the in-memory or the chain registry).
pub type Core = AggregatorCore<Bn254Scheme, DynRegistry>;
/// The submitter the node hands aggregates to (in-memory or chain).
pub type Submitter = dyn ResponseSubmitter;

/// What the submitter is given as the AVS payload of an aggregate.
#[derive(Clone, Debug, Default)]
pub enum SubmissionPayload {
    /// The response the signers signed (`--dev`).
    #[default]
    Response,
    /// Chain mode: `abi.encode(bytes task, bytes response)` for the configured AVS, whose
    /// profile also checks task payloads and responses as they arrive.
    Avs(Arc<AvsProfile>),
}

/// Limits and defaults of the service: the ones requests are decoded against.
pub use quorate_api::RequestLimits as ServiceLimits;

/// Shared node state. Cheap to clone.
#[derive(Clone)]
pub struct NodeState {
    /// The aggregator.
    pub core: Core,
    /// The database.
    pub store: Store,
    submitter: Arc<Submitter>,
    updates: broadcast::Sender<TaskRecord>,
    /// Limits.
    pub limits: Arc<ServiceLimits>,
    payload_mode: SubmissionPayload,
    shutting_down: CancellationToken,
    drivers: TaskTracker,
    /// `--dev` test hook: where to die (see [`crate::faults`]).
    crash_at: Option<CrashPoint>,
    /// Where proven trigger attestations go (set once the automation service exists).
    attestations: Arc<std::sync::OnceLock<Arc<dyn AttestationSink>>>,
}

/// Takes the aggregate of a trigger attestation task: durably queues the execution it starts.
#[tonic::async_trait]
pub trait AttestationSink: Send + Sync {
    /// Queues the execution `claim` starts, with `aggregate` as its proof; returns its id.
    /// Idempotent: a claim already queued returns the same id and queues nothing.
    async fn attested(
        &self,
        claim: &crate::record::TriggerClaim,
        aggregate: &quorate_domain::AggregatedResponse,
    ) -> Result<String, NodeError>;
}

fn hex_of(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Parses a 32-byte task id from the wire ([`quorate_api::parse_task_id`]).
pub fn parse_task_id(bytes: &[u8]) -> Result<TaskId, NodeError> {
    Ok(quorate_api::parse_task_id(bytes)?)
}

impl NodeState {
    /// Builds the state over a started aggregator and an open store.
    pub fn new(core: Core, store: Store, submitter: Arc<Submitter>, limits: ServiceLimits) -> Self {
        let (updates, _) = broadcast::channel(4096);
        Self {
            core,
            store,
            submitter,
            updates,
            limits: Arc::new(limits),
            payload_mode: SubmissionPayload::Response,
            shutting_down: CancellationToken::new(),
            drivers: TaskTracker::new(),
            crash_at: None,
            attestations: Arc::default(),
        }
    }

    /// Routes trigger attestations' aggregates to `sink` (once; later calls are ignored).
    pub fn set_attestation_sink(&self, sink: Arc<dyn AttestationSink>) {
        let _ = self.attestations.set(sink);
    }

    /// `--dev` test hook: die at `point` (see [`crate::faults`]).
    pub fn with_crash_point(mut self, point: Option<CrashPoint>) -> Self {
        self.crash_at = point;
        self
    }

    /// Sets what the submitter is given as payload (default: the signed response).
    pub fn with_submission_payload(mut self, mode: SubmissionPayload) -> Self {
        self.payload_mode = mode;
        self
    }

    /// Every stored task change, live.
    pub fn subscribe(&self) -> broadcast::Receiver<TaskRecord> {
        self.updates.subscribe()
    }

    /// The configured AVS's name (chain mode).
    pub fn avs_name(&self) -> Option<String> {
        match &self.payload_mode {
            SubmissionPayload::Avs(p) => Some(p.spec().name.clone()),
            SubmissionPayload::Response => None,
        }
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.is_cancelled()
    }

    fn publish(&self, record: &TaskRecord) {
        let _ = self.updates.send(record.clone());
    }

    /// Stores a new task and starts aggregating it.
    pub async fn create_task(&self, record: TaskRecord) -> Result<TaskRecord, NodeError> {
        if self.is_shutting_down() {
            return Err(NodeError::Unavailable("node is shutting down".into()));
        }
        let task_id = record.task_id;
        self.check_task_payload(&record)?;
        let Some(record) = self.store.create_task(record)? else {
            return Err(NodeError::AlreadyExists(format!(
                "task {task_id} already exists"
            )));
        };
        crate::metrics::task_created();
        self.publish(&record);
        crash_if(self.crash_at, CrashPoint::Pending);
        let fallback = record.clone();
        Ok(self.start(record).await?.unwrap_or(fallback))
    }

    /// Chain mode: the payload must be a task of the configured AVS, with the reference
    /// block and quorums the request names (else the aggregate could never be submitted).
    fn check_task_payload(&self, record: &TaskRecord) -> Result<(), NodeError> {
        let SubmissionPayload::Avs(profile) = &self.payload_mode else {
            return Ok(());
        };
        if record.trigger.is_some() {
            // A trigger attestation's payload is the claim operators sign, not an AVS task.
            return Ok(());
        }
        let task_id = record.task_id;
        let task = profile
            .task_from_payload(&record.payload)
            .map_err(|e| NodeError::InvalidArgument(format!("task {task_id}: {e}")))?;
        if task.reference_block != record.reference_block || task.quorums != record.quorums {
            return Err(NodeError::InvalidArgument(format!(
                "task {task_id}: the payload names reference block {} and quorums {:?}, the request {} and {:?}",
                task.reference_block, task.quorums, record.reference_block, record.quorums
            )));
        }
        Ok(())
    }

    /// Hands a stored open task to the aggregator and spawns its driver. Returns the task as
    /// it now is (collecting, or expired/failed if it could not start).
    async fn start(&self, record: TaskRecord) -> Result<Option<TaskRecord>, NodeError> {
        let task_id = record.task_id;
        let meta = match record.metadata_at(now_ms()) {
            Ok(Some(meta)) => meta,
            Ok(None) => {
                let why = format!("task {task_id} expired before it could start");
                return self.finish(&task_id, Status::Expired, Some(why));
            }
            Err(e) => return self.finish(&task_id, Status::Failed, Some(e.to_string())),
        };
        let wait = meta.time_to_expiry() + meta.window() + Duration::from_secs(5);
        if let Err(e) = self.core.initialize_task(meta).await {
            return self.finish(&task_id, Status::Failed, Some(e.to_string()));
        }
        let collecting = match self.set_status(&task_id, Status::Collecting, None)? {
            Some(r) => Some(r),
            // Already collecting (a restart): as stored.
            None => self.store.task(&task_id)?,
        };
        let state = self.clone();
        self.drivers
            .spawn(async move { state.drive(task_id, wait).await });
        Ok(collecting)
    }

    /// Moves a non-final task to `status`; `None` if it is missing or already final.
    pub fn set_status(
        &self,
        task_id: &TaskId,
        status: Status,
        error: Option<String>,
    ) -> Result<Option<TaskRecord>, NodeError> {
        let updated = self.store.update_task(task_id, |r| {
            if r.status.is_final() || r.status == status {
                return false;
            }
            r.status = status;
            if error.is_some() {
                r.error = error;
            }
            true
        })?;
        if let Some(r) = &updated {
            crate::metrics::task_transition(status);
            self.publish(r);
        }
        Ok(updated)
    }

    fn finish(
        &self,
        task_id: &TaskId,
        status: Status,
        error: Option<String>,
    ) -> Result<Option<TaskRecord>, NodeError> {
        if let Some(e) = &error {
            warn!(%task_id, ?status, error = %e, "task ended without an aggregate");
        }
        self.set_status(task_id, status, error)
    }

    /// Waits for the task's aggregate, stores it, submits it and stores the receipt.
    async fn drive(&self, task_id: TaskId, wait: Duration) {
        let result = self.core.wait_for_aggregation(task_id, wait).await;
        if self.is_shutting_down() {
            // Left open on purpose: the next start resumes it from the stored signatures.
            return;
        }
        let outcome = match result {
            Ok(aggregate) => self.store_and_submit(task_id, &aggregate).await,
            Err(AggregationError::TaskExpired { .. }) => self
                .finish(
                    &task_id,
                    Status::Expired,
                    Some(format!(
                        "task {task_id} expired before reaching its thresholds"
                    )),
                )
                .map(|_| ()),
            Err(e) => self
                .finish(&task_id, Status::Failed, Some(e.to_string()))
                .map(|_| ()),
        };
        if let Err(e) = outcome {
            warn!(%task_id, error = %e, "could not record the task's outcome");
        }
    }

    async fn store_and_submit(
        &self,
        task_id: TaskId,
        aggregate: &quorate_domain::AggregatedResponse,
    ) -> Result<(), NodeError> {
        let json = serde_json::to_vec(aggregate)
            .map_err(|e| NodeError::InvalidArgument(format!("task {task_id}: {e}")))?;
        self.store.put_aggregate(&task_id, &json)?;
        if self
            .set_status(&task_id, Status::Aggregated, None)?
            .is_none()
        {
            return Ok(()); // cancelled meanwhile: keep the aggregate, do not submit
        }
        crash_if(self.crash_at, CrashPoint::Aggregated);
        self.submit(task_id, aggregate).await
    }

    /// Marks a task cancelled and stops its aggregation, freeing its slot in the aggregator.
    pub fn cancel(&self, task_id: &TaskId) -> Result<Option<TaskRecord>, NodeError> {
        self.cancel_because(task_id, format!("task {task_id} cancelled"))
    }

    /// [`Self::cancel`] with the reason stored as the task's error.
    pub fn cancel_because(
        &self,
        task_id: &TaskId,
        reason: String,
    ) -> Result<Option<TaskRecord>, NodeError> {
        let record = self.set_status(task_id, Status::Cancelled, Some(reason))?;
        if record.is_some() {
            // Not aggregating (never started, or already finished) is fine: the stored status
            // is what clients see.
            let _ = self.core.cancel_task(*task_id);
        }
        Ok(record)
    }

    /// Stops the aggregator (open tasks stay open in the database) and waits for every
    /// driver's writes to finish.
    pub async fn shutdown(&self) {
        self.shutting_down.cancel();
        self.core.shutdown().await;
        self.drivers.close();
        self.drivers.wait().await;
    }
}
