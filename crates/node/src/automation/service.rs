//! `quorate.v1.WorkflowService`. Every call authenticates its caller first (wallet JWT or API
//! key, failed attempts throttled per remote IP); owners see and change only their own
//! workflows, executions and secrets, and someone else's is reported as not found.

use std::sync::Arc;

use quorate_api::pb;
use quorate_api::pb::workflow_service_server::WorkflowService;
use quorate_automation::{Execution, ExecutionStatus, Workflow};
use tonic::{Request, Response, Status};

use super::Automation;
use crate::auth::{Authenticator, Caller};
use crate::client_svc::throttled_caller;
use crate::error::NodeError;
use crate::ratelimit::RateLimiter;
use crate::record::now_ms;
use crate::state::off_async;

/// Default and largest page of a listing.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1000;
/// Largest `trigger_data_json` of a manual run.
const MAX_TRIGGER_DATA: usize = 64 * 1024;

/// The workflow service.
pub(crate) struct WorkflowApi {
    /// The automation service.
    pub(crate) automation: Automation,
    /// Caller identification.
    pub(crate) auth: Arc<Authenticator>,
    /// Failed authentications, per remote IP.
    pub(crate) peers: Arc<RateLimiter>,
    /// The operator pool (`ListOperators`).
    pub(crate) pool: Arc<crate::operator_pool::OperatorPool>,
}

type Reply<T> = Result<Response<T>, Status>;

impl WorkflowApi {
    fn caller<T>(&self, request: &Request<T>) -> Result<Caller, NodeError> {
        throttled_caller(&self.auth, &self.peers, request)
    }

    /// A writer (client or admin), for calls that store something.
    fn writer<T>(&self, request: &Request<T>) -> Result<Caller, NodeError> {
        let caller = self.caller(request)?;
        caller.require_writer()?;
        Ok(caller)
    }
}

fn page_size(limit: u32) -> usize {
    match limit {
        0 => DEFAULT_PAGE,
        n => (n as usize).min(MAX_PAGE),
    }
}

fn cursor(token: &str) -> Result<Option<Vec<u8>>, NodeError> {
    if token.is_empty() {
        return Ok(None);
    }
    hex::decode(token)
        .map(Some)
        .map_err(|_| NodeError::InvalidArgument("bad cursor".into()))
}

fn workflow_wire(w: &Workflow) -> pb::Workflow {
    pb::Workflow {
        id: w.id.clone(),
        owner: w.owner.clone(),
        status: w.status.label().into(),
        total_execution: w.total_execution,
        last_ran_at: w.last_ran_at,
        created_at: w.created_at,
        spec_json: serde_json::to_string(&w.spec).unwrap_or_default(),
        name: w.spec.name.clone(),
    }
}

fn execution_wire(e: &Execution) -> pb::Execution {
    pb::Execution {
        id: e.id.clone(),
        workflow_id: e.workflow_id.clone(),
        status: e.status.label().into(),
        success: e.success,
        error: e.error.clone().unwrap_or_default(),
        started_at_ms: e.started_at_ms,
        ended_at_ms: e.ended_at_ms,
        reason_json: serde_json::to_string(&e.reason).unwrap_or_default(),
        steps_json: serde_json::to_string(&e.steps).unwrap_or_default(),
        proof_json: e
            .proof
            .as_ref()
            .and_then(|p| serde_json::to_string(p).ok())
            .unwrap_or_default(),
    }
}

impl Automation {
    /// Executions of one readable workflow, newest first.
    async fn executions(
        &self,
        caller: &Caller,
        workflow_id: &str,
        after: Option<Vec<u8>>,
        limit: usize,
    ) -> Result<(Vec<Execution>, Option<Vec<u8>>), NodeError> {
        self.readable(caller, workflow_id).await?;
        let (store, id) = (self.inner.store.clone(), workflow_id.to_owned());
        off_async(move || store.executions_of(&id, after.as_deref(), limit)).await
    }

    /// Every execution of the caller's workflows (or of one), bounded by retention.
    async fn all_executions(
        &self,
        caller: &Caller,
        workflow_id: &str,
    ) -> Result<Vec<Execution>, NodeError> {
        let ids: Vec<String> = if workflow_id.is_empty() {
            self.workflows_of(&caller.name)
                .await?
                .into_iter()
                .map(|w| w.id)
                .collect()
        } else {
            vec![self.readable(caller, workflow_id).await?.id]
        };
        let mut out = Vec::new();
        for id in ids {
            let (store, retain) = (
                self.inner.store.clone(),
                self.inner.config.max_executions_per_workflow,
            );
            out.extend(
                off_async(move || store.executions_of(&id, None, retain))
                    .await?
                    .0,
            );
        }
        Ok(out)
    }

    async fn execution(
        &self,
        caller: &Caller,
        workflow_id: &str,
        id: &str,
    ) -> Result<Execution, NodeError> {
        self.readable(caller, workflow_id).await?;
        let (store, w, e) = (
            self.inner.store.clone(),
            workflow_id.to_owned(),
            id.to_owned(),
        );
        off_async(move || store.execution(&w, &e))
            .await?
            .ok_or_else(|| NodeError::NotFound(format!("execution {id} of workflow {workflow_id}")))
    }
}

#[tonic::async_trait]
impl WorkflowService for WorkflowApi {
    async fn create_workflow(
        &self,
        request: Request<pb::CreateWorkflowRequest>,
    ) -> Reply<pb::Workflow> {
        let caller = self.writer(&request)?;
        let workflow = self
            .automation
            .create_workflow(&caller.name, caller.address, &request.get_ref().spec_json)
            .await?;
        Ok(Response::new(workflow_wire(&workflow)))
    }

    async fn get_workflow(&self, request: Request<pb::WorkflowIdRequest>) -> Reply<pb::Workflow> {
        let caller = self.caller(&request)?;
        let workflow = self
            .automation
            .readable(&caller, &request.get_ref().id)
            .await?;
        Ok(Response::new(workflow_wire(&workflow)))
    }

    async fn list_workflows(
        &self,
        request: Request<pb::ListWorkflowsRequest>,
    ) -> Reply<pb::ListWorkflowsResponse> {
        let caller = self.caller(&request)?;
        let req = request.into_inner();
        let (after, limit) = (cursor(&req.cursor)?, page_size(req.limit));
        let store = self.automation.inner.store.clone();
        let (page, next) =
            off_async(move || store.workflows_of(&caller.name, after.as_deref(), limit)).await?;
        Ok(Response::new(pb::ListWorkflowsResponse {
            workflows: page.iter().map(workflow_wire).collect(),
            next_cursor: next.map(hex::encode).unwrap_or_default(),
        }))
    }

    async fn cancel_workflow(
        &self,
        request: Request<pb::WorkflowIdRequest>,
    ) -> Reply<pb::Workflow> {
        let caller = self.writer(&request)?;
        let workflow = self
            .automation
            .cancel(&caller, &request.get_ref().id)
            .await?;
        Ok(Response::new(workflow_wire(&workflow)))
    }

    async fn delete_workflow(
        &self,
        request: Request<pb::WorkflowIdRequest>,
    ) -> Reply<pb::DeleteWorkflowResponse> {
        let caller = self.writer(&request)?;
        let deleted = self
            .automation
            .delete(&caller, &request.get_ref().id)
            .await?;
        Ok(Response::new(pb::DeleteWorkflowResponse { deleted }))
    }

    async fn trigger_workflow(
        &self,
        request: Request<pb::TriggerWorkflowRequest>,
    ) -> Reply<pb::TriggerWorkflowResponse> {
        let caller = self.writer(&request)?;
        let req = request.into_inner();
        if req.trigger_data_json.len() > MAX_TRIGGER_DATA {
            return Err(NodeError::InvalidArgument(format!(
                "trigger_data_json is over {MAX_TRIGGER_DATA} bytes"
            ))
            .into());
        }
        let data = match req.trigger_data_json.trim() {
            "" => serde_json::Value::Null,
            text => serde_json::from_str(text)
                .map_err(|e| NodeError::InvalidArgument(format!("trigger_data_json: {e}")))?,
        };
        let execution = self
            .automation
            .trigger_manual(&caller, &req.id, data, req.blocking)
            .await?;
        Ok(Response::new(pb::TriggerWorkflowResponse {
            execution_id: execution.id.clone(),
            status: execution.status.label().into(),
            execution: (execution.status == ExecutionStatus::Finished)
                .then(|| execution_wire(&execution)),
        }))
    }

    async fn list_executions(
        &self,
        request: Request<pb::ListExecutionsRequest>,
    ) -> Reply<pb::ListExecutionsResponse> {
        let caller = self.caller(&request)?;
        let req = request.into_inner();
        let (page, next) = self
            .automation
            .executions(
                &caller,
                &req.workflow_id,
                cursor(&req.cursor)?,
                page_size(req.limit),
            )
            .await?;
        Ok(Response::new(pb::ListExecutionsResponse {
            executions: page.iter().map(execution_wire).collect(),
            next_cursor: next.map(hex::encode).unwrap_or_default(),
        }))
    }

    async fn get_execution(
        &self,
        request: Request<pb::ExecutionIdRequest>,
    ) -> Reply<pb::Execution> {
        let caller = self.caller(&request)?;
        let req = request.get_ref();
        let execution = self
            .automation
            .execution(&caller, &req.workflow_id, &req.execution_id)
            .await?;
        Ok(Response::new(execution_wire(&execution)))
    }

    async fn get_execution_status(
        &self,
        request: Request<pb::ExecutionIdRequest>,
    ) -> Reply<pb::ExecutionStatusResponse> {
        let caller = self.caller(&request)?;
        let req = request.get_ref();
        let execution = self
            .automation
            .execution(&caller, &req.workflow_id, &req.execution_id)
            .await?;
        Ok(Response::new(pb::ExecutionStatusResponse {
            status: execution.status.label().into(),
        }))
    }

    async fn get_execution_count(
        &self,
        request: Request<pb::CountRequest>,
    ) -> Reply<pb::CountResponse> {
        let caller = self.caller(&request)?;
        let all = self
            .automation
            .all_executions(&caller, &request.get_ref().workflow_id)
            .await?;
        Ok(Response::new(pb::CountResponse {
            count: all.len() as u64,
        }))
    }

    async fn get_workflow_count(
        &self,
        request: Request<pb::CountRequest>,
    ) -> Reply<pb::CountResponse> {
        let caller = self.caller(&request)?;
        let store = self.automation.inner.store.clone();
        let count = off_async(move || store.workflow_count(&caller.name)).await?;
        Ok(Response::new(pb::CountResponse { count }))
    }

    async fn get_execution_stats(
        &self,
        request: Request<pb::ExecutionStatsRequest>,
    ) -> Reply<pb::ExecutionStats> {
        let caller = self.caller(&request)?;
        let req = request.into_inner();
        let days = u64::from(match req.days {
            0 => 7,
            d => d.min(365),
        });
        let since = now_ms().saturating_sub(days * 24 * 3600 * 1000);
        let all = self
            .automation
            .all_executions(&caller, &req.workflow_id)
            .await?;
        let recent: Vec<&Execution> = all.iter().filter(|e| e.started_at_ms >= since).collect();
        let finished = |ok: bool| {
            recent
                .iter()
                .filter(|e| e.status == ExecutionStatus::Finished && e.success == ok)
                .count() as u64
        };
        Ok(Response::new(pb::ExecutionStats {
            total: recent.len() as u64,
            succeeded: finished(true),
            failed: finished(false),
        }))
    }

    async fn create_secret(&self, request: Request<pb::SecretRequest>) -> Reply<pb::SecretInfo> {
        self.put_secret(request, Some(false)).await
    }

    async fn update_secret(&self, request: Request<pb::SecretRequest>) -> Reply<pb::SecretInfo> {
        self.put_secret(request, Some(true)).await
    }

    async fn list_secrets(
        &self,
        request: Request<pb::ListSecretsRequest>,
    ) -> Reply<pb::ListSecretsResponse> {
        let caller = self.caller(&request)?;
        let scope = request.into_inner().workflow_id;
        let store = self.automation.inner.store.clone();
        let entries = off_async(move || store.secrets_of(&caller.name)).await?;
        let secrets = entries
            .into_iter()
            .filter(|e| scope.is_empty() || e.workflow_id.as_deref() == Some(scope.as_str()))
            .map(|e| pb::SecretInfo {
                name: e.name,
                workflow_id: e.workflow_id.unwrap_or_default(),
                updated_at: e.updated_at,
            })
            .collect();
        Ok(Response::new(pb::ListSecretsResponse { secrets }))
    }

    async fn list_operators(
        &self,
        request: Request<pb::ListOperatorsRequest>,
    ) -> Reply<pb::ListOperatorsResponse> {
        let caller = self.caller(&request)?;
        Ok(Response::new(self.operators(&caller)?))
    }

    async fn delete_secret(
        &self,
        request: Request<pb::DeleteSecretRequest>,
    ) -> Reply<pb::DeleteSecretResponse> {
        let caller = self.writer(&request)?;
        let req = request.into_inner();
        let store = self.automation.inner.store.clone();
        let deleted = off_async(move || {
            let workflow_id = (!req.workflow_id.is_empty()).then_some(req.workflow_id.as_str());
            store.delete_secret(&crate::store::SecretKey {
                owner: &caller.name,
                workflow_id,
                name: &req.name,
            })
        })
        .await?;
        Ok(Response::new(pb::DeleteSecretResponse { deleted }))
    }
}

impl WorkflowApi {
    /// The operator pool, for admins.
    fn operators(&self, caller: &Caller) -> Result<pb::ListOperatorsResponse, NodeError> {
        if caller.role != crate::auth::Role::Admin {
            return Err(NodeError::PermissionDenied(format!(
                "{} is not an admin",
                caller.name
            )));
        }
        let operators = self
            .pool
            .snapshot()
            .into_iter()
            .map(|(id, e)| pb::OperatorInfo {
                operator_id: id.as_bytes().to_vec(),
                connected: e.trigger_streams > 0,
                first_seen_ms: e.first_seen_ms,
                last_seen_ms: e.last_seen_ms,
                triggers_watched: e.triggers_watched,
                trigger_reports: e.trigger_reports,
            })
            .collect();
        Ok(pb::ListOperatorsResponse { operators })
    }

    /// Creates or updates a secret of the caller (a workflow-scoped one needs a workflow the
    /// caller may change). The value is sealed before it is stored and never echoed.
    async fn put_secret(
        &self,
        request: Request<pb::SecretRequest>,
        exists: Option<bool>,
    ) -> Reply<pb::SecretInfo> {
        let caller = self.writer(&request)?;
        let req = request.into_inner();
        let workflow_id = (!req.workflow_id.is_empty()).then_some(req.workflow_id.as_str());
        if let Some(id) = workflow_id {
            let workflow = self.automation.writable(&caller, id).await?;
            if workflow.owner != caller.name {
                return Err(NodeError::NotFound(format!("workflow {id}")).into());
            }
        }
        let updated_at = self
            .automation
            .inner
            .vault
            .put(&caller.name, workflow_id, &req.name, req.value, exists)
            .await?;
        Ok(Response::new(pb::SecretInfo {
            name: req.name,
            workflow_id: req.workflow_id,
            updated_at,
        }))
    }
}
