//! Workflow automation on the node: wires the engine (`quorate-automation`) to the node's
//! storage, authentication, operator stream and BLS aggregation. Workflows and executions are
//! stored in the node's database; a fired trigger starts an execution only once operators'
//! signed reports meet every attestation quorum, and the execution keeps that aggregate as
//! its proof. Manual runs are the owner's and need no attestation.

mod attest;
pub(crate) mod config;
mod dev;
mod executor;
mod hub;
mod reader;
pub(crate) mod secrets;
mod service;

use std::sync::Arc;

use quorate_automation::sandbox::Sandbox;
use quorate_automation::trigger::TriggerReason;
use quorate_automation::{
    ContractReader, Execution, ExecutionStatus, Plan, ReqwestHttpClient, Runner, Workflow,
    WorkflowSpec, WorkflowStatus,
};
use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;

pub(crate) use config::AutomationConfig;
pub(crate) use dev::spawn_dev_triggers;
pub(crate) use reader::ProviderReader;
pub(crate) use service::WorkflowApi;

use crate::auth::{Caller, Role};
use crate::error::NodeError;
use crate::quota::WatcherLimit;
use crate::ratelimit::RateLimiter;
use crate::record::now_ms;
use crate::state::{off_async, NodeState};
use crate::store::Store;
use executor::{Executor, ExecutorParts, Job};
use hub::TriggerHub;
pub(crate) use hub::TriggerStream;
use secrets::SecretVault;

/// How often live workflows past their `expired_at` are completed.
const EXPIRY_SWEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// The automation service. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Automation {
    /// Shared parts.
    inner: Arc<Inner>,
}

/// What every clone shares.
struct Inner {
    /// The node: attestation tasks and their signatures go through it.
    state: NodeState,
    /// The node's database.
    store: Store,
    /// Limits and attestation settings.
    config: AutomationConfig,
    /// The execution actor.
    executor: Executor,
    /// Live triggers for operators.
    hub: TriggerHub,
    /// Secrets.
    vault: SecretVault,
    /// Attestation tasks are checked against the operator set at this block.
    reference_block: watch::Receiver<u64>,
    /// Trigger reports per operator.
    reporters: RateLimiter,
    /// `SyncTriggers` streams per operator.
    trigger_streams: Arc<WatcherLimit>,
    /// Who follows the triggers and reports them.
    pool: Arc<crate::operator_pool::OperatorPool>,
    /// Smart wallets (checked when a workflow with wallet steps is created).
    wallets: Option<Arc<crate::smart_wallet::SmartWallets>>,
}

/// What starting the service needs besides the node.
pub(crate) struct AutomationParts {
    /// Settings.
    pub(crate) config: AutomationConfig,
    /// The secrets' sealing key, if any.
    pub(crate) key: Option<quorate_automation::secrets::SecretKey>,
    /// The block attestation tasks use (the sign-in block).
    pub(crate) reference_block: watch::Receiver<u64>,
    /// Chain reads for contract-read steps (chain mode).
    pub(crate) chain: Option<Arc<dyn ContractReader>>,
    /// The node's operator pool.
    pub(crate) pool: Arc<crate::operator_pool::OperatorPool>,
    /// Smart wallets, for wallet steps (when `[wallets]` is enabled).
    pub(crate) wallets: Option<Arc<crate::smart_wallet::SmartWallets>>,
}

impl Automation {
    /// Starts the executor, publishes the live triggers and takes the node's attestation
    /// aggregates.
    pub(crate) async fn start(
        state: NodeState,
        parts: AutomationParts,
        stop: CancellationToken,
    ) -> anyhow::Result<Self> {
        let config = parts.config;
        config.validate()?;
        let http = ReqwestHttpClient::new(config.http.clone())?;
        let sandbox = Sandbox::new(config.sandbox.clone())?;
        let runner = Runner::new(
            Arc::new(http),
            parts.chain,
            Arc::new(sandbox),
            config.runner.clone(),
        );
        let store = state.store.clone();
        let vault = SecretVault::new(store.clone(), parts.key, config.max_secrets_per_owner);
        let executor = Executor::spawn(
            ExecutorParts {
                store: store.clone(),
                runner,
                vault: vault.clone(),
                limits: config.workflow.clone(),
                wallets: parts.wallets.clone(),
            },
            config.queue_capacity,
            config.concurrent_executions,
            stop.clone(),
        );
        let stop_expiry = stop;
        let hub = TriggerHub::new();
        let loaded = store.clone();
        for workflow in off_async(move || loaded.all_workflows()).await? {
            hub.track(&workflow);
        }
        let reporters = RateLimiter::new(
            config.reports_per_second,
            (config.reports_per_second * 4.0).ceil() as u32,
        );
        let trigger_streams = Arc::new(WatcherLimit::new(config.max_trigger_streams_per_operator));
        let automation = Self {
            inner: Arc::new(Inner {
                state: state.clone(),
                store,
                config,
                executor,
                hub,
                vault,
                reference_block: parts.reference_block,
                reporters,
                trigger_streams,
                pool: parts.pool,
                wallets: parts.wallets,
            }),
        };
        state.set_attestation_sink(Arc::new(automation.clone()));
        tokio::spawn(automation.clone().expire_workflows(stop_expiry));
        tracing::info!(
            live_triggers = automation.inner.hub.len(),
            "automation started"
        );
        Ok(automation)
    }

    /// Completes live workflows whose `expired_at` has passed, withdrawing their triggers from
    /// operators; runs until `stop`.
    async fn expire_workflows(self, stop: CancellationToken) {
        let mut tick = tokio::time::interval(EXPIRY_SWEEP);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let now = now_ms() / 1000;
            let store = self.inner.store.clone();
            let expired = off_async(move || {
                let mut done = Vec::new();
                for workflow in store.all_workflows()? {
                    let due = workflow.status.is_live()
                        && workflow.spec.expired_at != 0
                        && now >= workflow.spec.expired_at;
                    if due {
                        done.extend(store.update_workflow(&workflow.id, |w| w.expire_if_due(now))?);
                    }
                }
                Ok(done)
            })
            .await;
            match expired {
                Ok(done) => done.iter().for_each(|w| self.inner.hub.track(w)),
                Err(e) => tracing::warn!(error = %e, "workflow expiry sweep failed"),
            }
        }
    }

    /// Validates and stores a new workflow of `owner` (whose Ethereum address, if any, is
    /// `owner_address`); nothing is stored when it is refused. A workflow with wallet steps
    /// must name a wallet of its owner.
    pub(crate) async fn create_workflow(
        &self,
        owner: &str,
        owner_address: Option<alloy_primitives::Address>,
        spec_json: &str,
    ) -> Result<Workflow, NodeError> {
        let spec: WorkflowSpec = serde_json::from_str(spec_json)
            .map_err(|e| NodeError::InvalidArgument(format!("workflow JSON: {e}")))?;
        let now = now_ms() / 1000;
        // Validation parses cron schedules and ABIs: CPU work, kept off the async workers.
        let (checked, limits) = (spec.clone(), self.inner.config.workflow.clone());
        tokio::task::spawn_blocking(move || Plan::new(&checked, &limits, now).map(|_| ()))
            .await
            .map_err(|e| NodeError::Unavailable(format!("validation did not finish: {e}")))?
            .map_err(|e| {
                NodeError::InvalidArgument(format!("workflow '{}': {e}", preview(&spec.name)))
            })?;
        if spec.nodes.iter().any(|n| n.kind.uses_wallet()) || spec.wallet.is_some() {
            let wallets = self.inner.wallets.as_ref().ok_or_else(|| {
                NodeError::InvalidArgument(
                    "this node has no smart wallets: contract_write and eth_transfer steps \
                     cannot run"
                        .into(),
                )
            })?;
            wallets
                .workflow_wallet(owner_address, spec.wallet.as_ref())
                .await?;
        }
        let workflow = Workflow {
            id: format!("wf{}", hex::encode(rand::random::<[u8; 12]>())),
            owner: owner.to_owned(),
            owner_address,
            spec,
            status: WorkflowStatus::Active,
            total_execution: 0,
            last_ran_at: 0,
            created_at: now,
        };
        let (store, record, max) = (
            self.inner.store.clone(),
            workflow.clone(),
            self.inner.config.max_workflows_per_owner,
        );
        let created = off_async(move || store.create_workflow(&record, max)).await?;
        if !created {
            // Ids are 96 random bits: a refusal is the owner's quota.
            return Err(NodeError::ResourceExhausted(format!(
                "at most {max} workflows per owner"
            )));
        }
        self.inner.hub.track(&workflow);
        crate::metrics::workflow_created();
        Ok(workflow)
    }

    /// The workflows of `owner` (at most the per-owner quota exist).
    pub(crate) async fn workflows_of(&self, owner: &str) -> Result<Vec<Workflow>, NodeError> {
        let (store, owner) = (self.inner.store.clone(), owner.to_owned());
        let max = self.inner.config.max_workflows_per_owner;
        Ok(off_async(move || store.workflows_of(&owner, None, max))
            .await?
            .0)
    }

    /// A workflow the caller may read; someone else's is reported as missing.
    pub(crate) async fn readable(&self, caller: &Caller, id: &str) -> Result<Workflow, NodeError> {
        let (store, key) = (self.inner.store.clone(), id.to_owned());
        off_async(move || store.workflow(&key))
            .await?
            .filter(|w| {
                matches!(caller.role, Role::Admin | Role::Readonly) || w.owner == caller.name
            })
            .ok_or_else(|| NodeError::NotFound(format!("workflow {id}")))
    }

    /// A workflow the caller may change.
    pub(crate) async fn writable(&self, caller: &Caller, id: &str) -> Result<Workflow, NodeError> {
        let workflow = self.readable(caller, id).await?;
        let allowed = caller.role == Role::Admin
            || (caller.role == Role::Client && workflow.owner == caller.name);
        if !allowed {
            return Err(NodeError::PermissionDenied(format!(
                "{} may not change workflow {id}",
                caller.name
            )));
        }
        Ok(workflow)
    }

    /// Cancels a live workflow: its trigger is withdrawn; executions already queued still run.
    pub(crate) async fn cancel(&self, caller: &Caller, id: &str) -> Result<Workflow, NodeError> {
        self.writable(caller, id).await?;
        let (store, key) = (self.inner.store.clone(), id.to_owned());
        let updated = off_async(move || {
            store.update_workflow(&key, |w| {
                let live = w.status.is_live();
                if live {
                    w.status = WorkflowStatus::Cancelled;
                }
                live
            })
        })
        .await?;
        let workflow = match updated {
            Some(w) => w,
            None => self.readable(caller, id).await?,
        };
        self.inner.hub.track(&workflow);
        Ok(workflow)
    }

    /// Deletes a workflow, its executions and its workflow-scoped secrets.
    pub(crate) async fn delete(&self, caller: &Caller, id: &str) -> Result<bool, NodeError> {
        let workflow = self.writable(caller, id).await?;
        let store = self.inner.store.clone();
        let deleted = off_async(move || store.delete_workflow(&workflow)).await?;
        self.inner.hub.forget(id);
        Ok(deleted)
    }

    /// Stores an execution of `workflow` for `reason` and counts it against the workflow's
    /// limits; `Ok(None)` when one exists for that id already (nothing counted twice).
    async fn start_execution(
        &self,
        workflow_id: &str,
        execution: Execution,
    ) -> Result<Option<Execution>, NodeError> {
        let (store, id, record, retain) = (
            self.inner.store.clone(),
            workflow_id.to_owned(),
            execution.clone(),
            self.inner.config.max_executions_per_workflow,
        );
        let now = now_ms() / 1000;
        let outcome = off_async(move || {
            let Some(workflow) = store.workflow(&id)? else {
                return Ok(Err(NodeError::NotFound(format!("workflow {id}"))));
            };
            if let Err(why) = workflow.runnable_at(now) {
                return Ok(Err(NodeError::FailedPrecondition(format!(
                    "workflow {id} cannot run: {why:?}"
                ))));
            }
            if !store.create_execution(&record, retain)? {
                return Ok(Ok(None));
            }
            let updated = store.update_workflow(&id, |w| {
                w.record_execution_start(now);
                true
            })?;
            Ok(Ok(updated))
        })
        .await??;
        let Some(workflow) = outcome else {
            return Ok(None);
        };
        self.inner.hub.track(&workflow);
        crate::metrics::execution_queued(execution.proof.is_some());
        Ok(Some(execution))
    }

    /// A manual run by a writer of the workflow. Blocking waits for the execution to end.
    pub(crate) async fn trigger_manual(
        &self,
        caller: &Caller,
        id: &str,
        data: serde_json::Value,
        blocking: bool,
    ) -> Result<Execution, NodeError> {
        self.writable(caller, id).await?;
        let now = now_ms();
        let mut execution = new_execution(
            id,
            format!("manual{}", hex::encode(rand::random::<[u8; 12]>())),
            TriggerReason::Manual { at: now / 1000 },
        );
        execution.input = (!data.is_null()).then_some(data);
        let Some(execution) = self.start_execution(id, execution).await? else {
            return Err(NodeError::AlreadyExists(
                "execution id collision; retry".into(),
            ));
        };
        let (done_tx, done_rx) = oneshot::channel();
        let job = Job {
            workflow_id: id.to_owned(),
            execution_id: execution.id.clone(),
            done: blocking.then_some(done_tx),
        };
        if self.inner.executor.enqueue(job).is_err() {
            // Stored as queued: the sweeper runs it when the queue has room.
            return Ok(execution);
        }
        if !blocking {
            return Ok(execution);
        }
        done_rx.await.map_err(|_| {
            NodeError::Unavailable("the node stopped before the execution ended".into())
        })
    }
}

/// A queued execution record.
fn new_execution(workflow_id: &str, id: String, reason: TriggerReason) -> Execution {
    Execution {
        id,
        workflow_id: workflow_id.to_owned(),
        reason,
        status: ExecutionStatus::Queued,
        started_at_ms: 0,
        ended_at_ms: 0,
        success: false,
        error: None,
        steps: Vec::new(),
        proof: None,
        input: None,
    }
}

/// The first 64 characters of user text, for messages.
fn preview(text: &str) -> String {
    text.chars().take(64).collect()
}
