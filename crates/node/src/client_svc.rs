//! `quorate.v1.ClientService`: create, read, list, cancel and watch tasks; fetch aggregates.
//! Every call identifies its caller; clients see only their own tasks.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use quorate_api::{ListQuery, NewTask};
use quorate_domain::TaskId;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::auth::{Authenticator, Caller, Role};
use crate::error::NodeError;
use crate::quota::{OpenTaskQuota, WatcherLimit};
use crate::ratelimit::RateLimiter;
use crate::record::{now_ms, Status as TaskStatus, TaskRecord};
use crate::state::{parse_task_id, NodeState};
use crate::transport::peer_key;
use quorate_api::pb;
use quorate_api::pb::client_service_server::ClientService;

/// The client service over the node state.
pub struct ClientApi {
    /// The node.
    pub state: NodeState,
    /// Caller identification.
    pub auth: Arc<Authenticator>,
    /// Task-creation rate limit, per caller.
    pub limiter: Arc<RateLimiter>,
    /// Failed authentications, per remote IP.
    pub peers: Arc<RateLimiter>,
    /// Open tasks per creator.
    pub quota: Arc<OpenTaskQuota>,
    /// `WatchTask` streams per caller.
    pub watchers: Arc<WatcherLimit>,
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::Task, Status>> + Send>>;

impl ClientApi {
    /// The authenticated caller ([`throttled_caller`]).
    fn caller<T>(&self, request: &Request<T>) -> Result<Caller, NodeError> {
        throttled_caller(&self.auth, &self.peers, request)
    }

    fn readable(&self, caller: &Caller, task_id: &TaskId) -> Result<TaskRecord, NodeError> {
        let task = self
            .state
            .store
            .task(task_id)?
            .filter(|t| caller.can_read(t))
            // Someone else's task is reported as missing: its existence is not disclosed.
            .ok_or_else(|| NodeError::TaskNotFound(task_id.to_string()))?;
        Ok(task)
    }

    fn validate(
        &self,
        caller: &Caller,
        req: pb::CreateTaskRequest,
    ) -> Result<TaskRecord, NodeError> {
        let task = NewTask::decode(req, &self.state.limits, random_task_id)?;
        let now = now_ms();
        Ok(TaskRecord {
            task_id: task.task_id,
            seq: 0,
            status: TaskStatus::Pending,
            creator: caller.name.clone(),
            reference_block: task.reference_block,
            quorums: task.quorums,
            expiry_ms: task.expiry_ms,
            window_ms: task.window_ms,
            payload: task.payload,
            created_at_ms: now,
            updated_at_ms: now,
            error: None,
            signatures: 0,
            trigger: None,
        })
    }
}

/// The authenticated caller of a client call. Failed attempts spend the remote IP's budget
/// of unauthenticated calls; past it they are `RESOURCE_EXHAUSTED`, so guessing keys or
/// tokens is throttled while valid credentials from the same address still work.
pub(crate) fn throttled_caller<T>(
    auth: &Authenticator,
    peers: &RateLimiter,
    request: &Request<T>,
) -> Result<Caller, NodeError> {
    auth.caller(request.metadata()).map_err(|e| {
        if peers.allow(&peer_key(request)) {
            e
        } else {
            crate::metrics::peer_rate_limited();
            NodeError::ResourceExhausted("too many failed authentications from this address".into())
        }
    })
}

/// A fresh random task id.
fn random_task_id() -> TaskId {
    loop {
        let bytes: [u8; 32] = rand::random();
        if let Ok(id) = TaskId::new(bytes) {
            return id;
        }
    }
}

#[tonic::async_trait]
impl ClientService for ClientApi {
    async fn create_task(
        &self,
        request: Request<pb::CreateTaskRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let caller = self.caller(&request)?;
        caller.require_writer()?;
        if !self.limiter.allow(&caller.name) {
            crate::metrics::client_rate_limited();
            return Err(NodeError::ResourceExhausted(format!(
                "task creation rate limit reached for {}",
                caller.name
            ))
            .into());
        }
        let record = self.validate(&caller, request.into_inner())?;
        let task_id = record.task_id;
        let fresh = self.quota.reserve(&caller.name, task_id)?;
        match self.state.create_task(record).await {
            Ok(task) => {
                if task.status.is_final() {
                    self.quota.release(&caller.name, &task_id);
                }
                Ok(Response::new(task.to_wire(true)))
            }
            Err(e) => {
                // Nothing was stored under this reservation (an existing id is counted, or
                // not, as its own creation left it).
                if fresh {
                    self.quota.release(&caller.name, &task_id);
                }
                Err(e.into())
            }
        }
    }

    async fn get_task(
        &self,
        request: Request<pb::GetTaskRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let caller = self.caller(&request)?;
        let task_id = parse_task_id(&request.get_ref().task_id)?;
        Ok(Response::new(
            self.readable(&caller, &task_id)?.to_wire(true),
        ))
    }

    async fn list_tasks(
        &self,
        request: Request<pb::ListTasksRequest>,
    ) -> Result<Response<pb::ListTasksResponse>, Status> {
        let caller = self.caller(&request)?;
        let req = request.into_inner();
        let creator = match (caller.role, req.creator.is_empty()) {
            (Role::Client, _) => {
                if !req.creator.is_empty() && req.creator != caller.name {
                    return Err(NodeError::PermissionDenied(format!(
                        "{} may list only its own tasks",
                        caller.name
                    ))
                    .into());
                }
                Some(caller.name.clone())
            }
            (_, true) => None,
            (_, false) => Some(req.creator.clone()),
        };
        let query = ListQuery::decode(req).map_err(NodeError::from)?;
        let (after, limit) = (query.after, query.limit as usize);
        let filter = |r: &TaskRecord| creator.as_ref().is_none_or(|c| &r.creator == c);
        let tasks = match query.status {
            None => self.state.store.tasks_after(after, limit, filter),
            Some(wire) => {
                let status = TaskStatus::from_wire(wire as i32).ok_or_else(|| {
                    NodeError::InvalidArgument(format!("unknown status {}", wire as i32))
                })?;
                self.state
                    .store
                    .tasks_in_status(status, after, limit, filter)
            }
        }
        .map_err(NodeError::from)?;
        let next_page_token = if tasks.len() == limit {
            tasks.last().map(|t| t.seq.to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListTasksResponse {
            tasks: tasks.iter().map(|t| t.to_wire(query.full)).collect(),
            next_page_token,
        }))
    }

    async fn cancel_task(
        &self,
        request: Request<pb::CancelTaskRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let caller = self.caller(&request)?;
        let task_id = parse_task_id(&request.get_ref().task_id)?;
        let task = self.readable(&caller, &task_id)?;
        if !caller.can_write(&task) {
            return Err(NodeError::PermissionDenied(format!(
                "{} may not cancel task {task_id}",
                caller.name
            ))
            .into());
        }
        if task.status.is_final() {
            return Err(NodeError::FailedPrecondition(format!(
                "task {task_id} is already {:?}",
                task.status
            ))
            .into());
        }
        let task = self.state.cancel(&task_id)?.unwrap_or(task);
        Ok(Response::new(task.to_wire(true)))
    }

    type WatchTaskStream = WatchStream;

    async fn watch_task(
        &self,
        request: Request<pb::GetTaskRequest>,
    ) -> Result<Response<Self::WatchTaskStream>, Status> {
        let caller = self.caller(&request)?;
        let task_id = parse_task_id(&request.get_ref().task_id)?;
        let slot = self.watchers.acquire(&caller.name)?;
        let mut updates = self.state.subscribe();
        let current = self.readable(&caller, &task_id)?;
        let (tx, rx) = mpsc::channel(16);
        let state = self.state.clone();
        tokio::spawn(async move {
            // Held until the stream ends or the client goes away.
            let _slot = slot;
            let mut last = current.status;
            if tx.send(Ok(current.to_wire(false))).await.is_err() || last.is_final() {
                return;
            }
            loop {
                let update = tokio::select! {
                    u = updates.recv() => u,
                    () = tx.closed() => return,
                };
                let record = match update {
                    Ok(r) if r.task_id == task_id => r,
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        match state.store.task(&task_id) {
                            Ok(Some(r)) => r,
                            _ => return,
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if record.status == last {
                    continue;
                }
                last = record.status;
                if tx.send(Ok(record.to_wire(false))).await.is_err() || last.is_final() {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn get_aggregate(
        &self,
        request: Request<pb::GetTaskRequest>,
    ) -> Result<Response<pb::Aggregate>, Status> {
        let caller = self.caller(&request)?;
        let task_id = parse_task_id(&request.get_ref().task_id)?;
        let task = self.readable(&caller, &task_id)?;
        let store = &self.state.store;
        let json = store
            .aggregate(&task_id)
            .map_err(NodeError::from)?
            .ok_or_else(|| {
                NodeError::FailedPrecondition(format!(
                    "task {task_id} has no aggregate ({:?})",
                    task.status
                ))
            })?;
        let agg: quorate_domain::AggregatedResponse = serde_json::from_slice(&json)
            .map_err(|e| NodeError::FailedPrecondition(format!("task {task_id}: {e}")))?;
        let receipt = store.submission(&task_id).map_err(NodeError::from)?;
        Ok(Response::new(pb::Aggregate {
            task_id: task_id.as_bytes().to_vec(),
            digest: agg.digest.as_bytes().to_vec(),
            signer_ids: agg
                .signer_ids
                .iter()
                .map(|i| i.as_bytes().to_vec())
                .collect(),
            non_signer_ids: agg
                .non_signer_ids
                .iter()
                .map(|i| i.as_bytes().to_vec())
                .collect(),
            sigma: agg.signers_agg_sig_g1.to_bytes().to_vec(),
            apk_g2: agg.signers_apk_g2.to_bytes().to_vec(),
            json: String::from_utf8_lossy(&json).into_owned(),
            receipt_json: receipt
                .map(|r| String::from_utf8_lossy(&r).into_owned())
                .unwrap_or_default(),
        }))
    }

    async fn list_equivocations(
        &self,
        request: Request<pb::ListEquivocationsRequest>,
    ) -> Result<Response<pb::ListEquivocationsResponse>, Status> {
        let caller = self.caller(&request)?;
        let page = crate::equivocation::list(&self.state, &caller, request.get_ref()).await?;
        Ok(Response::new(page))
    }
}
