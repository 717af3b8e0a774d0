//! The execution actor: owns the queue of stored executions and runs at most
//! `concurrent_executions` at once. An execution is always stored (queued) before it is
//! queued here, so a restart loses none: queued ones are run at start, and one found running
//! is finished as interrupted rather than run again (its steps may have had effects).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quorate_automation::{Execution, ExecutionStatus, Plan, Runner, WorkflowStatus};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn, Instrument};

use super::secrets::SecretVault;
use crate::record::now_ms;
use crate::state::off_async;
use crate::store::Store;

/// How often stored queued executions that are not in the queue (it was full) are picked up.
const SWEEP_INTERVAL: Duration = Duration::from_secs(2);

/// One execution to run; `done` hears the finished record (blocking manual runs).
pub(crate) struct Job {
    /// The workflow.
    pub(crate) workflow_id: String,
    /// The stored execution.
    pub(crate) execution_id: String,
    /// Told the finished record.
    pub(crate) done: Option<oneshot::Sender<Execution>>,
}

/// Handle to the actor.
#[derive(Clone)]
pub(crate) struct Executor {
    /// The bounded queue.
    tx: mpsc::Sender<Job>,
    /// Executions queued or running in this process, so the sweeper never runs one twice.
    in_flight: Arc<Mutex<HashSet<String>>>,
}

/// What a job needs besides the queue.
#[derive(Clone)]
pub(crate) struct ExecutorParts {
    /// The database.
    pub(crate) store: Store,
    /// Runs steps.
    pub(crate) runner: Runner,
    /// Opens secrets.
    pub(crate) vault: SecretVault,
    /// Shape limits the workflows were validated with.
    pub(crate) limits: quorate_automation::WorkflowLimits,
    /// Smart wallets, bound to each execution's workflow for its wallet steps.
    pub(crate) wallets: Option<Arc<crate::smart_wallet::SmartWallets>>,
}

impl Executor {
    /// Starts the actor: recovers what a previous run left, then serves the queue until `stop`.
    pub(crate) fn spawn(
        parts: ExecutorParts,
        capacity: usize,
        concurrency: usize,
        stop: CancellationToken,
    ) -> Self {
        let (tx, rx) = mpsc::channel(capacity);
        let executor = Self {
            tx,
            in_flight: Arc::default(),
        };
        tokio::spawn(executor.clone().serve(parts, rx, concurrency, stop));
        executor
    }

    /// Queues a stored execution; `Err(job)` when the queue is full (it stays stored as
    /// queued and the sweeper picks it up later).
    pub(crate) fn enqueue(&self, job: Job) -> Result<(), Job> {
        if !self.lock().insert(job.execution_id.clone()) {
            return Ok(()); // already queued or running
        }
        let id = job.execution_id.clone();
        self.tx.try_send(job).map_err(|e| {
            self.lock().remove(&id);
            match e {
                mpsc::error::TrySendError::Full(job) | mpsc::error::TrySendError::Closed(job) => {
                    job
                }
            }
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // A poisoned set only means a panic elsewhere; its contents are still right.
        self.in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn serve(
        self,
        parts: ExecutorParts,
        mut rx: mpsc::Receiver<Job>,
        concurrency: usize,
        stop: CancellationToken,
    ) {
        self.recover(&parts).await;
        let permits = Arc::new(Semaphore::new(concurrency));
        let mut sweep = tokio::time::interval(SWEEP_INTERVAL);
        loop {
            let job = tokio::select! {
                _ = stop.cancelled() => return,
                _ = sweep.tick() => { self.sweep(&parts).await; continue; }
                job = rx.recv() => match job { Some(job) => job, None => return },
            };
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            let (this, parts) = (self.clone(), parts.clone());
            let span = tracing::info_span!("execution", workflow_id = %job.workflow_id, execution_id = %job.execution_id);
            tokio::spawn(
                async move {
                    let id = job.execution_id.clone();
                    run_job(&parts, job).await;
                    this.lock().remove(&id);
                    drop(permit);
                }
                .instrument(span),
            );
        }
    }

    /// At start: runs queued executions; finishes running ones as interrupted.
    async fn recover(&self, parts: &ExecutorParts) {
        let store = parts.store.clone();
        let open = match off_async(move || store.open_executions()).await {
            Ok(open) => open,
            Err(e) => return warn!(error = %e, "cannot read open executions"),
        };
        for mut execution in open {
            if execution.status == ExecutionStatus::Running {
                execution.status = ExecutionStatus::Finished;
                execution.success = false;
                execution.ended_at_ms = now_ms();
                execution.error = Some(
                    "interrupted by a node restart; not run again, since its steps may already have had effects"
                        .into(),
                );
                let store = parts.store.clone();
                if let Err(e) = off_async(move || store.put_execution(&execution)).await {
                    warn!(error = %e, "cannot finish an interrupted execution");
                }
                continue;
            }
            info!(workflow_id = %execution.workflow_id, execution_id = %execution.id, "resuming a queued execution");
            let job = Job {
                workflow_id: execution.workflow_id,
                execution_id: execution.id,
                done: None,
            };
            let _ = self.enqueue(job);
        }
    }

    /// Queues stored queued executions the queue had no room for.
    async fn sweep(&self, parts: &ExecutorParts) {
        let store = parts.store.clone();
        let Ok(open) = off_async(move || store.open_executions()).await else {
            return;
        };
        for execution in open
            .into_iter()
            .filter(|e| e.status == ExecutionStatus::Queued)
        {
            let job = Job {
                workflow_id: execution.workflow_id,
                execution_id: execution.id,
                done: None,
            };
            if self.enqueue(job).is_err() {
                return; // full again: the next sweep goes on
            }
        }
    }
}

/// Runs one stored execution to its end and stores every state change.
async fn run_job(parts: &ExecutorParts, job: Job) {
    let store = parts.store.clone();
    let (workflow_id, execution_id) = (job.workflow_id.clone(), job.execution_id.clone());
    let loaded = off_async(move || {
        Ok((
            store.workflow(&workflow_id)?,
            store.execution(&workflow_id, &execution_id)?,
        ))
    })
    .await;
    let (workflow, mut execution) = match loaded {
        Ok((Some(w), Some(e))) if e.status == ExecutionStatus::Queued => (w, e),
        Ok(_) => return, // deleted, or already run
        Err(e) => return warn!(error = %e, "cannot load the execution"),
    };
    execution.status = ExecutionStatus::Running;
    execution.started_at_ms = now_ms();
    if !put(parts, &execution).await {
        return;
    }
    set_executing(parts, &workflow.id, true).await;
    let outcome =
        match Plan::new(&workflow.spec, &parts.limits, 0) {
            Ok(plan) => match parts.vault.open_for(&workflow.owner, &workflow.id).await {
                Ok(secrets) => {
                    let data = trigger_data(&execution);
                    let wallet = parts.wallets.as_ref().map(|wallets| {
                        crate::smart_wallet::ExecutionWallet {
                            wallets: Arc::clone(wallets),
                            workflow_id: workflow.id.clone(),
                            owner: workflow.owner_address,
                            wallet: workflow.spec.wallet.clone(),
                        }
                    });
                    let wallet = wallet
                        .as_ref()
                        .map(|w| w as &dyn quorate_automation::WalletSender);
                    Some(
                        parts
                            .runner
                            .run(&workflow.spec, &plan, data, &secrets, wallet)
                            .await,
                    )
                }
                Err(e) => {
                    execution.error = Some(format!("secrets: {e}"));
                    None
                }
            },
            Err(e) => {
                execution.error = Some(format!("workflow no longer valid: {e}"));
                None
            }
        };
    if let Some(outcome) = outcome {
        execution.success = outcome.success;
        execution.error = outcome.error;
        execution.steps = outcome.steps;
    }
    execution.status = ExecutionStatus::Finished;
    execution.ended_at_ms = now_ms();
    put(parts, &execution).await;
    set_executing(parts, &workflow.id, false).await;
    crate::metrics::execution_finished(execution.success);
    info!(
        success = execution.success,
        steps = execution.steps.len(),
        "execution finished"
    );
    if let Some(done) = job.done {
        let _ = done.send(execution);
    }
}

/// What steps see as `trigger.data`: the reason's fields, plus the owner's data of a manual run.
fn trigger_data(execution: &Execution) -> Value {
    let mut data = serde_json::to_value(execution.reason).unwrap_or_else(|_| json!({}));
    if let Some(map) = data.as_object_mut() {
        if let Some(proof) = &execution.proof {
            map.insert("reference_block".into(), json!(proof.reference_block));
        }
        if let Some(input) = &execution.input {
            map.insert("input".into(), input.clone());
        }
    }
    data
}

async fn put(parts: &ExecutorParts, execution: &Execution) -> bool {
    let (store, record) = (parts.store.clone(), execution.clone());
    match off_async(move || store.put_execution(&record)).await {
        Ok(()) => true,
        Err(e) => {
            warn!(error = %e, "cannot store the execution");
            false
        }
    }
}

/// `executing` while a run is in progress; back to `active` after it, unless the workflow
/// ended meanwhile (completed, cancelled).
async fn set_executing(parts: &ExecutorParts, workflow_id: &str, executing: bool) {
    let (store, id) = (parts.store.clone(), workflow_id.to_owned());
    let result = off_async(move || {
        store.update_workflow(&id, |w| {
            let (from, to) = match executing {
                true => (WorkflowStatus::Active, WorkflowStatus::Executing),
                false => (WorkflowStatus::Executing, WorkflowStatus::Active),
            };
            if w.status != from {
                return false;
            }
            w.status = to;
            true
        })
    })
    .await;
    if let Err(e) = result {
        warn!(error = %e, "cannot update the workflow's status");
    }
}
