//! `AggregatorCore`: the entry point. Routes signatures to per-task actors, buffers early
//! ones, keeps finished results for late waiters, and owns the background loops.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashmap::DashMap;
use futures::FutureExt;
use quorate_domain::{
    AggregatedResponse, AggregationError, BlockNumber, LimitKind, OperatorRegistry,
    ResponseSubmitter, SignatureScheme, SignedTaskResponse, SubmissionReceipt, SubmissionRequest,
    TaskId, TaskMetadata,
};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info_span, warn, Instrument};

use crate::actor::{ErrorLog, QueuedRequest, SignatureRequest, TaskActor};
use crate::cached_registry::CachedRegistry;
use crate::config::{AggregatorConfig, VerificationMode};
use crate::evidence::EquivocationEvidence;
use crate::hold::Hold;
use crate::metrics::{Rejection, RuntimeMetrics, StatsSnapshot};
use crate::outcome::SignatureOutcome;
use crate::pending::{BufferOutcome, PendingBuffer};
use crate::quarantine::{Quarantine, QuarantinedOperator};
use crate::results::{ResultStore, TaskResult};
use crate::tally::TaskTally;
use crate::util::{lock, panic_message};
use crate::verifier::{PoolSizing, VerificationPool};

/// A finished task, as broadcast to [`AggregatorCore::subscribe`]rs.
#[derive(Clone, Debug)]
pub struct TaskEvent {
    /// The task.
    pub task_id: TaskId,
    /// Its final result.
    pub result: TaskResult,
}

struct TaskHandle<S: SignatureScheme> {
    signatures: mpsc::Sender<QueuedRequest<S>>,
    cancel: CancellationToken,
    result: watch::Receiver<Option<TaskResult>>,
    errors: ErrorLog,
}

struct Shared<S: SignatureScheme, R> {
    config: AggregatorConfig,
    scheme: Arc<S>,
    /// The registry behind the one operator-set cache.
    registry: Arc<CachedRegistry<S, Arc<R>>>,
    pool: Arc<VerificationPool<S>>,
    tasks: DashMap<TaskId, TaskHandle<S>>,
    pending: Mutex<PendingBuffer<S::Signature>>,
    results: Mutex<ResultStore>,
    /// The runtime's counters (shared with every task actor).
    metrics: Arc<RuntimeMetrics>,
    cancel: CancellationToken,
    tracker: TaskTracker,
    events: broadcast::Sender<TaskEvent>,
    /// Equivocation evidence for [`AggregatorCore::subscribe_evidence`]rs.
    evidence: broadcast::Sender<EquivocationEvidence>,
    /// Operators whose signatures are checked alone for a while.
    quarantine: Arc<Quarantine>,
}

/// The aggregator. Cheap to clone: clones share the same tasks and loops.
pub struct AggregatorCore<S: SignatureScheme, R> {
    shared: Arc<Shared<S, R>>,
}

impl<S: SignatureScheme, R> Clone for AggregatorCore<S, R> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

/// Why an aggregator could not start.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartError {
    /// [`AggregatorCore::new`] was called outside a tokio runtime.
    #[error(
        "the aggregator must start inside a tokio runtime: its verification pool and pending-buffer \
         cleanup run on it"
    )]
    NoTokioRuntime,
}

impl<S: SignatureScheme, R: OperatorRegistry<S>> AggregatorCore<S, R> {
    /// Starts an aggregator and its background loops (pending-buffer cleanup, verification
    /// pool) on the current tokio runtime; [`StartError::NoTokioRuntime`] outside one.
    pub fn new(
        config: AggregatorConfig,
        registry: Arc<R>,
        scheme: Arc<S>,
    ) -> Result<Self, StartError> {
        // Checked first: spawning the loops outside a runtime would panic.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(StartError::NoTokioRuntime);
        }
        let pool = Arc::new(VerificationPool::start_with(
            Arc::clone(&scheme),
            PoolSizing {
                threads: config.verification_threads,
                queue_capacity: config.verification_queue_capacity,
                max_batch: config.max_verification_batch,
                min_concurrent_merged_batch: config.min_concurrent_merged_batch,
            },
        ));
        let (events, _) = broadcast::channel(config.event_buffer.max(1));
        let (evidence, _) = broadcast::channel(config.event_buffer.max(1));
        let quarantine = Arc::new(Quarantine::new(
            config.quarantine_period,
            config.quarantine_clean_checks,
            config.max_quarantined_operators,
        ));
        let shared = Arc::new(Shared {
            registry: Arc::new(CachedRegistry::new(
                registry,
                Arc::clone(&scheme),
                config.operator_state_cache_size,
            )),
            pending: Mutex::new(PendingBuffer::new(
                config.max_pending_tasks,
                config.max_pending_signatures_per_task,
            )),
            results: Mutex::new(ResultStore::new(config.max_stored_responses)),
            metrics: Arc::new(RuntimeMetrics::new(config.max_operator_labels)),
            config,
            scheme,
            pool,
            tasks: DashMap::new(),
            cancel: CancellationToken::new(),
            tracker: TaskTracker::new(),
            quarantine,
            events,
            evidence,
        });
        let weak = Arc::downgrade(&shared);
        let cancel = shared.cancel.clone();
        let interval = shared
            .config
            .pending_cleanup_interval
            .max(Duration::from_millis(1));
        shared.tracker.spawn(async move {
            let mut tick = tokio::time::interval(interval);
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tick.tick() => {
                        let Some(shared) = weak.upgrade() else { break };
                        shared.expire_pending();
                    }
                }
            }
        });
        Ok(Self { shared })
    }

    /// The scheme in use.
    pub fn scheme(&self) -> &Arc<S> {
        &self.shared.scheme
    }

    /// The configuration in use.
    pub fn config(&self) -> &AggregatorConfig {
        &self.shared.config
    }

    /// Counters so far.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.metrics.snapshot()
    }

    /// Tasks aggregating now.
    pub fn active_tasks(&self) -> usize {
        self.shared.tasks.len()
    }

    /// (tasks, signatures) held in the pending buffer.
    pub fn pending_sizes(&self) -> (usize, usize) {
        let p = lock(&self.shared.pending);
        (p.task_count(), p.signature_count())
    }

    /// Finished results held for late waiters.
    pub fn stored_results(&self) -> usize {
        lock(&self.shared.results).len()
    }

    /// A stream of finished tasks. A receiver that falls more than
    /// [`AggregatorConfig::event_buffer`] events behind loses the oldest (`RecvError::Lagged`);
    /// results stay available through `wait_for_aggregation`.
    pub fn subscribe(&self) -> broadcast::Receiver<TaskEvent> {
        self.shared.events.subscribe()
    }

    /// Operators quarantined now (their signatures are checked alone), with their strikes,
    /// the time left and the last failure's reason.
    pub fn quarantined(&self) -> Vec<QuarantinedOperator> {
        self.shared.quarantine.list()
    }

    /// A stream of equivocation evidence: an operator signed two different digests of one
    /// task and both signatures verify. The second signature is refused (one digest per
    /// operator per task); the pair is kept here. Bounded like [`Self::subscribe`].
    pub fn subscribe_evidence(&self) -> broadcast::Receiver<EquivocationEvidence> {
        self.shared.evidence.subscribe()
    }

    /// The registry this core reads, behind its one operator-set cache: read operator sets
    /// through it (it is an `OperatorRegistry`) to share the core's cache instead of
    /// fetching them again.
    pub fn registry(&self) -> &Arc<CachedRegistry<S, Arc<R>>> {
        &self.shared.registry
    }

    /// The indexed operator set of some quorums at a block, from the shared cache.
    pub async fn operator_set(
        &self,
        block: BlockNumber,
        quorums: &[quorate_domain::QuorumNumber],
    ) -> Result<Arc<crate::OperatorSet<S>>, quorate_domain::RegistryError> {
        self.shared.registry.operator_set(block, quorums).await
    }

    /// Starts aggregating a task: reads its operator set (shared by every task at the same
    /// block and quorums), spawns its actor and replays any signatures buffered for it.
    pub async fn initialize_task(&self, metadata: TaskMetadata) -> Result<(), AggregationError> {
        let shared = &self.shared;
        let task_id = metadata.task_id();
        shared.admit_new_task(task_id)?;
        let set = self.task_operator_set(&metadata).await?;
        let thresholds = metadata.quorums().iter().map(|q| q.threshold).collect();
        let (tx, rx) = mpsc::channel(shared.config.task_queue_capacity.max(1));
        let (result_tx, result_rx) = watch::channel(None);
        let errors: ErrorLog = Arc::default();
        let cancel = shared.cancel.child_token();
        let actor = TaskActor {
            tally: TaskTally::new(set, thresholds, shared.config.max_digests_per_task),
            metadata,
            scheme: Arc::clone(&shared.scheme),
            registry: Arc::clone(&shared.registry),
            pool: Arc::clone(&shared.pool),
            rx,
            cancel: cancel.clone(),
            errors: Arc::clone(&errors),
            max_errors: shared.config.max_recorded_errors_per_task,
            mode: shared.config.verification_mode,
            max_drain: shared.config.max_verification_batch.max(1),
            max_digests: shared.config.max_digests_per_task,
            metrics: Arc::clone(&shared.metrics),
            started: Instant::now(),
            evidence: shared.evidence.clone(),
            quarantine: Arc::clone(&shared.quarantine),
            hold: Hold::new(
                match shared.config.verification_mode {
                    VerificationMode::Eager => shared.config.verification_linger,
                    // Optimistic mode counts at once and checks once per task: nothing to hold.
                    VerificationMode::Optimistic => Duration::ZERO,
                },
                shared.config.max_verification_batch,
            ),
        };
        let handle = TaskHandle {
            signatures: tx.clone(),
            cancel,
            result: result_rx,
            errors,
        };
        let replay = shared.register_task(task_id, handle)?;
        shared.metrics.task_initialized(shared.tasks.len());
        self.spawn_actor(task_id, actor, result_tx);
        shared.replay(task_id, &tx, replay);
        Ok(())
    }

    /// The operator set of a task's reference block and quorums; refuses a task with a quorum
    /// that has no stake (0 ≥ 0 would "succeed" with nobody signing) instead of letting it
    /// expire.
    async fn task_operator_set(
        &self,
        metadata: &TaskMetadata,
    ) -> Result<Arc<crate::OperatorSet<S>>, AggregationError> {
        let task_id = metadata.task_id();
        let set = self
            .operator_set(metadata.reference_block(), &metadata.quorum_numbers())
            .await
            .map_err(|source| AggregationError::Registry { task_id, source })?;
        if let Some((quorum, _)) = set
            .quorums
            .iter()
            .zip(&set.total_stakes)
            .find(|(_, total)| total.is_zero())
        {
            return Err(AggregationError::QuorumWithoutStake {
                task_id,
                quorum: *quorum,
            });
        }
        Ok(set)
    }

    /// Runs the task's actor on the core's tracker; a panic inside it becomes the task's
    /// `Panicked` error instead of taking the runtime down.
    fn spawn_actor(
        &self,
        task_id: TaskId,
        actor: TaskActor<S, CachedRegistry<S, Arc<R>>>,
        result_tx: watch::Sender<Option<TaskResult>>,
    ) {
        let span = info_span!("task", %task_id);
        let weak = Arc::downgrade(&self.shared);
        self.shared.tracker.spawn(
            async move {
                let result = match std::panic::AssertUnwindSafe(actor.run())
                    .catch_unwind()
                    .await
                {
                    Ok(result) => result,
                    Err(p) => {
                        let message = panic_message(&*p);
                        tracing::error!(%message, "task aggregator panicked");
                        Err(AggregationError::Panicked { task_id, message })
                    }
                };
                if let Some(shared) = weak.upgrade() {
                    shared.finish(task_id, result, &result_tx);
                } else {
                    result_tx.send_replace(Some(result));
                }
            }
            .instrument(span),
        );
    }

    /// Hands in one operator's signed response and returns its verdict: counted, buffered
    /// (task not initialized yet), or a typed error naming task, operator and reason.
    pub async fn process_signed_response(
        &self,
        signed: SignedTaskResponse<S::Signature>,
    ) -> Result<SignatureOutcome, AggregationError> {
        let (task_id, operator_id) = (signed.task_id, signed.operator_id);
        let span = tracing::debug_span!("signature", %task_id, %operator_id);
        async move {
            let shared = &self.shared;
            if shared.cancel.is_cancelled() {
                return Err(AggregationError::Cancelled { task_id });
            }
            let sender = shared.tasks.get(&task_id).map(|h| h.signatures.clone());
            let Some(sender) = sender else {
                return shared.buffer_or_reject(signed);
            };
            let (reply, verdict) = oneshot::channel();
            match sender.try_send(Box::new(SignatureRequest {
                signed,
                reply: Some(reply),
            })) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    shared.metrics.signature_rejected(Rejection::LimitReached);
                    return Err(shared.limit(
                        task_id,
                        LimitKind::TaskQueue,
                        shared.config.task_queue_capacity,
                    ));
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    return Err(shared.late(task_id, operator_id));
                }
            }
            match verdict.await {
                Ok(v) => v,
                Err(_) => Err(shared.late(task_id, operator_id)),
            }
        }
        .instrument(span)
        .await
    }

    /// Stops aggregating one task: its actor ends with `Cancelled` (waiters are told), its
    /// slot is freed, and later signatures for it are late. Other tasks are not touched.
    pub fn cancel_task(&self, task_id: TaskId) -> Result<(), AggregationError> {
        let token = self.shared.tasks.get(&task_id).map(|h| h.cancel.clone());
        match token {
            Some(token) => {
                token.cancel();
                Ok(())
            }
            None if lock(&self.shared.results).contains(&task_id) => {
                Err(AggregationError::TaskFinished { task_id })
            }
            None => Err(AggregationError::TaskNotFound { task_id }),
        }
    }

    /// Waits for a task's final result: its aggregate, or the reason it has none.
    pub async fn wait_for_aggregation(
        &self,
        task_id: TaskId,
        timeout: Duration,
    ) -> Result<Arc<AggregatedResponse>, AggregationError> {
        let shared = &self.shared;
        let handle = shared
            .tasks
            .get(&task_id)
            .map(|h| (h.result.clone(), Arc::clone(&h.errors)));
        let Some((mut rx, errors)) = handle else {
            return match lock(&shared.results).get(&task_id) {
                Some(result) => result.clone(),
                None => Err(AggregationError::TaskNotFound { task_id }),
            };
        };
        let waited = match tokio::time::timeout(timeout, rx.wait_for(Option::is_some)).await {
            Ok(Ok(result)) => Ok(result.clone()),
            Ok(Err(_)) => Ok(None),
            Err(_) => Err(()),
        };
        match waited {
            Ok(Some(result)) => result,
            Ok(None) => match lock(&shared.results).get(&task_id) {
                Some(result) => result.clone(),
                None => Err(AggregationError::ChannelClosed { task_id }),
            },
            Err(()) => Err(AggregationError::Timeout {
                task_id,
                operator_errors: lock(&errors).clone(),
            }),
        }
    }

    /// Submits an aggregate with the AVS's response payload through a submitter.
    pub async fn submit_aggregated_response<T: ResponseSubmitter + ?Sized>(
        &self,
        submitter: &T,
        aggregate: &AggregatedResponse,
        payload: Vec<u8>,
    ) -> Result<SubmissionReceipt, AggregationError> {
        let request = SubmissionRequest {
            aggregate: aggregate.clone(),
            payload,
        };
        let span = info_span!("submit", task_id = %aggregate.task_id);
        let in_flight = self.shared.metrics.submission_started();
        let outcome = submitter.submit(&request).instrument(span).await;
        self.shared
            .metrics
            .submission_ended(in_flight, outcome.is_ok());
        match outcome {
            Ok(receipt) => Ok(receipt),
            Err(e) => {
                warn!(task_id = %aggregate.task_id, error = %e, "submission failed");
                Err(AggregationError::Submit(e))
            }
        }
    }

    /// Re-reads only the index arrays of an aggregate for a newer reference block, from its
    /// stored non-signer ids (no key matching, no signature work). Keys, apks and stakes are
    /// left as they were: use it when the operator set did not change between the blocks.
    pub async fn update_response_indices(
        &self,
        response: &AggregatedResponse,
        new_reference_block: BlockNumber,
    ) -> Result<AggregatedResponse, AggregationError> {
        let indices = self
            .shared
            .registry
            .check_signatures_indices(
                new_reference_block,
                &response.quorum_numbers,
                &response.non_signer_ids,
            )
            .await
            .map_err(|source| AggregationError::Registry {
                task_id: response.task_id,
                source,
            })?;
        let mut updated = response.clone();
        updated.indices = indices;
        updated.reference_block = new_reference_block;
        Ok(updated)
    }

    /// Stops everything: active tasks end with `Cancelled` (their waiters are told), the
    /// loops and the verification pool stop. Returns when all of it has finished.
    pub async fn shutdown(&self) {
        let shared = &self.shared;
        shared.cancel.cancel();
        shared.tracker.close();
        shared.tracker.wait().await;
        shared.pool.shutdown().await;
    }
}

impl<S: SignatureScheme, R> Shared<S, R> {
    /// Refuses a task the core cannot take now: shutting down, a known id, or no room.
    fn admit_new_task(&self, task_id: TaskId) -> Result<(), AggregationError> {
        if self.cancel.is_cancelled() {
            return Err(AggregationError::Cancelled { task_id });
        }
        if self.tasks.contains_key(&task_id) || lock(&self.results).contains(&task_id) {
            return Err(AggregationError::DuplicateTaskId { task_id });
        }
        if self.tasks.len() >= self.config.max_active_tasks {
            return Err(self.limit(
                task_id,
                LimitKind::ActiveTasks,
                self.config.max_active_tasks,
            ));
        }
        Ok(())
    }

    /// Inserts the task's handle and takes its buffered signatures, both under the buffer's
    /// lock, so a signature racing with initialization is either buffered before the drain or
    /// routed to the actor.
    fn register_task(
        &self,
        task_id: TaskId,
        handle: TaskHandle<S>,
    ) -> Result<Vec<SignedTaskResponse<S::Signature>>, AggregationError> {
        let mut pending = lock(&self.pending);
        match self.tasks.entry(task_id) {
            dashmap::Entry::Occupied(_) => Err(AggregationError::DuplicateTaskId { task_id }),
            dashmap::Entry::Vacant(v) => {
                v.insert(handle);
                Ok(pending.take(&task_id))
            }
        }
    }

    /// Hands the signatures that arrived before the task to its actor; a full queue drops
    /// them (counted), as it would have refused them live.
    fn replay(
        &self,
        task_id: TaskId,
        tx: &mpsc::Sender<QueuedRequest<S>>,
        replay: Vec<SignedTaskResponse<S::Signature>>,
    ) {
        for signed in replay {
            if tx
                .try_send(Box::new(SignatureRequest {
                    signed,
                    reply: None,
                }))
                .is_err()
            {
                warn!(%task_id, "task queue full while replaying buffered signatures");
                self.metrics.pending_dropped(1);
            }
        }
    }

    fn limit(&self, task_id: TaskId, limit: LimitKind, max: usize) -> AggregationError {
        warn!(%task_id, %limit, max, "limit reached");
        self.metrics.limit_reached(limit);
        AggregationError::LimitReached {
            task_id,
            limit,
            max,
        }
    }

    fn late(&self, task_id: TaskId, operator_id: quorate_domain::OperatorId) -> AggregationError {
        self.metrics.signature_rejected(Rejection::TaskCompleted);
        self.metrics.operators.late(&operator_id);
        AggregationError::TaskCompleted {
            task_id,
            operator_id,
        }
    }

    fn buffer_or_reject(
        &self,
        signed: SignedTaskResponse<S::Signature>,
    ) -> Result<SignatureOutcome, AggregationError> {
        let (task_id, operator_id) = (signed.task_id, signed.operator_id);
        let mut pending = lock(&self.pending);
        // Re-check under the buffer lock: initialization inserts the task under it.
        if self.tasks.contains_key(&task_id) || lock(&self.results).contains(&task_id) {
            drop(pending);
            return Err(self.late(task_id, operator_id));
        }
        match pending.push(signed, Instant::now()) {
            BufferOutcome::Buffered { evicted } => {
                if let Some((old, lost)) = evicted {
                    warn!(evicted_task = %old, lost, "pending buffer full: evicted oldest task");
                    self.metrics.limit_reached(LimitKind::PendingTasks);
                    self.metrics.pending_dropped(lost as u64);
                }
                self.metrics.signature_buffered();
                debug!("task not initialized yet: signature buffered");
                Ok(SignatureOutcome::Buffered {
                    task_id,
                    operator_id,
                })
            }
            BufferOutcome::TaskFull => {
                drop(pending);
                self.metrics.signature_rejected(Rejection::LimitReached);
                Err(self.limit(
                    task_id,
                    LimitKind::PendingSignaturesPerTask,
                    self.config.max_pending_signatures_per_task,
                ))
            }
        }
    }

    fn expire_pending(&self) {
        let mut pending = lock(&self.pending);
        let dropped = pending.expire(Instant::now(), self.config.pending_signature_timeout);
        if dropped > 0 {
            debug!(dropped, "expired buffered signatures");
            self.metrics.pending_dropped(dropped as u64);
        }
        self.metrics
            .pending_size(pending.task_count(), pending.signature_count());
    }

    /// Publishes a task's result exactly once: to its waiters, the result store and the
    /// event stream, then forgets the active task.
    fn finish(
        &self,
        task_id: TaskId,
        result: TaskResult,
        result_tx: &watch::Sender<Option<TaskResult>>,
    ) {
        if let Err(e) = &result {
            if !matches!(e, AggregationError::TaskExpired { .. }) {
                warn!(%task_id, error = %e, "task failed");
            }
        }
        // Counted before the result is visible, so a waiter that sees it sees it counted.
        self.metrics.task_finished(&result);
        result_tx.send_replace(Some(result.clone()));
        if let Some(evicted) = lock(&self.results).insert(task_id, result.clone()) {
            debug!(%evicted, "result store full: evicted oldest result");
        }
        self.tasks.remove(&task_id);
        self.metrics.active_tasks(self.tasks.len());
        let _ = self.events.send(TaskEvent { task_id, result });
    }
}
