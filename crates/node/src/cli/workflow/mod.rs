//! `quorate workflow|execution|secret …`: clients of a running node's `WorkflowService`.
//! Each command prints one JSON object on stdout; listings print
//! `{"items":[…],"next_cursor":…}`. Connection and API-key flags are those of `quorate task`.

mod client;
mod input;
mod output;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use quorate_api::pb;
use serde_json::json;
use tonic::Code;

pub(in crate::cli) use client::Client as ServiceClient;
use client::WorkflowClient as Client;
pub(in crate::cli) use output::{listing, print};
use quorate_api::pb::workflow_service_client::WorkflowServiceClient;

/// How to reach and authenticate to the node (the flags of `quorate task`, plus a wallet JWT).
#[derive(clap::Args, Debug, Clone)]
pub struct ConnArgs {
    /// The node's gRPC endpoint.
    #[arg(long, env = "QUORATE_NODE", default_value = "http://127.0.0.1:50051")]
    pub node: String,
    /// API key (sent as `x-api-key`). Prefer `QUORATE_API_KEY` or `--api-key-file`: a flag's
    /// value shows in `ps`.
    #[arg(long, env = "QUORATE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// File holding the API key.
    #[arg(long, env = "QUORATE_API_KEY_FILE", conflicts_with = "api_key")]
    pub api_key_file: Option<PathBuf>,
    /// File holding a wallet JWT (sent as `authorization: Bearer`), instead of an API key.
    /// A file rather than a flag because a flag's value shows in `ps`.
    #[arg(long, env = "QUORATE_TOKEN_FILE", conflicts_with_all = ["api_key", "api_key_file"])]
    pub token_file: Option<PathBuf>,
    /// TLS to the node.
    #[command(flatten)]
    pub tls: super::client_tls::ClientTlsArgs,
}

/// Arguments of `quorate workflow`.
#[derive(clap::Args, Debug, Clone)]
pub struct WorkflowArgs {
    /// The node to talk to.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: WorkflowCommand,
}

/// `quorate workflow` subcommands.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum WorkflowCommand {
    /// Create a workflow from a JSON file (checked locally before anything is sent).
    Create {
        /// The workflow's JSON (docs/automation.md).
        file: PathBuf,
        /// Skip the local check, for a node whose `[automation.workflow]` limits differ from
        /// the defaults; the node still checks everything.
        #[arg(long)]
        no_local_check: bool,
    },
    /// Show a workflow with its spec.
    Get {
        /// Workflow id.
        id: String,
    },
    /// List your workflows, newest first.
    List {
        /// `next_cursor` of a previous listing.
        #[arg(long, default_value = "")]
        cursor: String,
        /// Page size (default: the node's, 100).
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Stop a workflow's trigger; its executions are kept.
    Cancel {
        /// Workflow id.
        id: String,
    },
    /// Delete a workflow and its executions.
    Delete {
        /// Workflow id.
        id: String,
    },
    /// Run a workflow now (a manual run, without attestation).
    Trigger {
        /// Workflow id.
        id: String,
        /// Wait for the execution to finish and print it.
        #[arg(long)]
        blocking: bool,
        /// What the steps see as `trigger.data`: a JSON object.
        #[arg(long)]
        data: Option<String>,
    },
    /// Count your workflows.
    Count,
}

/// Arguments of `quorate execution`.
#[derive(clap::Args, Debug, Clone)]
pub struct ExecutionArgs {
    /// The node to talk to.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: ExecutionCommand,
}

/// `quorate execution` subcommands.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum ExecutionCommand {
    /// List a workflow's executions, newest first (without steps and proof).
    List {
        /// Workflow id.
        workflow_id: String,
        /// `next_cursor` of a previous listing.
        #[arg(long, default_value = "")]
        cursor: String,
        /// Page size (default: the node's, 100).
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Show an execution with its steps and proof (pretty JSON).
    Get {
        /// Workflow id.
        workflow_id: String,
        /// Execution id.
        execution_id: String,
    },
    /// Show an execution's status (queued, running or finished).
    Status {
        /// Workflow id.
        workflow_id: String,
        /// Execution id.
        execution_id: String,
    },
    /// Executions started in the last days: total, succeeded, failed.
    Stats {
        /// How many days back (default: the node's, 7; at most 365).
        #[arg(long)]
        days: Option<u32>,
        /// Only this workflow's.
        #[arg(long)]
        workflow: Option<String>,
    },
    /// Count executions of your workflows.
    Count {
        /// Only this workflow's.
        #[arg(long)]
        workflow: Option<String>,
    },
}

/// Arguments of `quorate secret`.
#[derive(clap::Args, Debug, Clone)]
pub struct SecretArgs {
    /// The node to talk to.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: SecretCommand,
}

/// `quorate secret` subcommands. Values are write-only: nothing ever prints one.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum SecretCommand {
    /// Create or replace a secret. The value is read from stdin (or `--value-file`), never
    /// from the command line, which `ps` shows; one trailing newline is stripped.
    Set {
        /// `[A-Za-z0-9_]{1,64}`; steps read it as `{{secrets.NAME}}`.
        name: String,
        /// Only this workflow sees it (default: all of yours).
        #[arg(long)]
        workflow: Option<String>,
        /// Read the value from this file instead of stdin.
        #[arg(long)]
        value_file: Option<PathBuf>,
    },
    /// List secret names (never values).
    List {
        /// Only this workflow's scope (default: every scope).
        #[arg(long)]
        workflow: Option<String>,
    },
    /// Delete a secret.
    Delete {
        /// The secret's name.
        name: String,
        /// The workflow scope it was set in (default: the owner scope).
        #[arg(long)]
        workflow: Option<String>,
    },
}

/// Runs one `quorate workflow` command.
pub fn run_workflow(args: WorkflowArgs) -> anyhow::Result<ExitCode> {
    // A bad file fails before any connection is attempted.
    let spec_json = match &args.command {
        WorkflowCommand::Create {
            file,
            no_local_check,
        } => Some(input::load_spec(file, !no_local_check)?),
        _ => None,
    };
    block_on(async move {
        let mut c = Client::connect(&args.conn, WorkflowServiceClient::new).await?;
        workflow(&mut c, args.command, spec_json).await
    })
}

/// Runs one `quorate execution` command.
pub fn run_execution(args: ExecutionArgs) -> anyhow::Result<ExitCode> {
    block_on(async move {
        let mut c = Client::connect(&args.conn, WorkflowServiceClient::new).await?;
        execution(&mut c, args.command).await
    })
}

/// Runs one `quorate secret` command.
pub fn run_secret(args: SecretArgs) -> anyhow::Result<ExitCode> {
    // Read the value first: a missing file or an empty value fails without a connection.
    let value = match &args.command {
        SecretCommand::Set {
            name, value_file, ..
        } => {
            input::check_secret_name(name)?;
            Some(input::read_secret_value(value_file.as_deref())?)
        }
        _ => None,
    };
    block_on(async move {
        let mut c = Client::connect(&args.conn, WorkflowServiceClient::new).await?;
        secret(&mut c, args.command, value).await
    })
}

/// Runs one command's future on a single-threaded runtime; success is exit code 0.
pub(in crate::cli) fn block_on(
    fut: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(fut)?;
    Ok(ExitCode::SUCCESS)
}

async fn workflow(
    c: &mut Client,
    command: WorkflowCommand,
    spec_json: Option<String>,
) -> anyhow::Result<()> {
    let value = match command {
        WorkflowCommand::Create { .. } => {
            let spec_json = spec_json.context("no workflow file was read")?;
            let req = c.req(pb::CreateWorkflowRequest { spec_json });
            output::workflow(&c.inner.create_workflow(req).await?.into_inner(), true)
        }
        WorkflowCommand::Get { id } => {
            let req = c.req(pb::WorkflowIdRequest { id });
            output::workflow(&c.inner.get_workflow(req).await?.into_inner(), true)
        }
        WorkflowCommand::List { cursor, limit } => {
            let req = c.req(pb::ListWorkflowsRequest {
                cursor,
                limit: limit.unwrap_or(0),
            });
            let resp = c.inner.list_workflows(req).await?.into_inner();
            let items = resp.workflows.iter().map(|w| output::workflow(w, false));
            output::listing(items, &resp.next_cursor)
        }
        WorkflowCommand::Cancel { id } => {
            let req = c.req(pb::WorkflowIdRequest { id });
            output::workflow(&c.inner.cancel_workflow(req).await?.into_inner(), true)
        }
        WorkflowCommand::Delete { id } => {
            let req = c.req(pb::WorkflowIdRequest { id: id.clone() });
            let resp = c.inner.delete_workflow(req).await?.into_inner();
            json!({ "id": id, "deleted": resp.deleted })
        }
        WorkflowCommand::Trigger { id, blocking, data } => {
            let trigger_data_json = data
                .as_deref()
                .map(input::check_trigger_data)
                .transpose()?
                .unwrap_or_default();
            let req = c.req(pb::TriggerWorkflowRequest {
                id,
                blocking,
                trigger_data_json,
            });
            let resp = c.inner.trigger_workflow(req).await?.into_inner();
            json!({
                "execution_id": resp.execution_id,
                "status": resp.status,
                "execution": resp.execution.as_ref().map(|e| output::execution(e, true)),
            })
        }
        WorkflowCommand::Count => {
            let req = c.req(pb::CountRequest {
                workflow_id: String::new(),
            });
            json!({ "count": c.inner.get_workflow_count(req).await?.into_inner().count })
        }
    };
    output::print(&value, false)
}

async fn execution(c: &mut Client, command: ExecutionCommand) -> anyhow::Result<()> {
    let (value, pretty) = match command {
        ExecutionCommand::List {
            workflow_id,
            cursor,
            limit,
        } => {
            let req = c.req(pb::ListExecutionsRequest {
                workflow_id,
                cursor,
                limit: limit.unwrap_or(0),
            });
            let resp = c.inner.list_executions(req).await?.into_inner();
            let items = resp.executions.iter().map(|e| output::execution(e, false));
            (output::listing(items, &resp.next_cursor), false)
        }
        ExecutionCommand::Get {
            workflow_id,
            execution_id,
        } => {
            let req = c.req(pb::ExecutionIdRequest {
                workflow_id,
                execution_id,
            });
            let e = c.inner.get_execution(req).await?.into_inner();
            (output::execution(&e, true), true)
        }
        ExecutionCommand::Status {
            workflow_id,
            execution_id,
        } => {
            let req = c.req(pb::ExecutionIdRequest {
                workflow_id,
                execution_id: execution_id.clone(),
            });
            let resp = c.inner.get_execution_status(req).await?.into_inner();
            (
                json!({ "execution_id": execution_id, "status": resp.status }),
                false,
            )
        }
        ExecutionCommand::Stats { days, workflow } => {
            let req = c.req(pb::ExecutionStatsRequest {
                days: days.unwrap_or(0),
                workflow_id: workflow.unwrap_or_default(),
            });
            let s = c.inner.get_execution_stats(req).await?.into_inner();
            (
                json!({ "total": s.total, "succeeded": s.succeeded, "failed": s.failed }),
                false,
            )
        }
        ExecutionCommand::Count { workflow } => {
            let req = c.req(pb::CountRequest {
                workflow_id: workflow.unwrap_or_default(),
            });
            let count = c.inner.get_execution_count(req).await?.into_inner().count;
            (json!({ "count": count }), false)
        }
    };
    output::print(&value, pretty)
}

async fn secret(
    c: &mut Client,
    command: SecretCommand,
    value: Option<quorate_automation::secrets::SecretValue>,
) -> anyhow::Result<()> {
    let out = match command {
        SecretCommand::Set { name, workflow, .. } => {
            let value = value.context("no secret value was read")?;
            let workflow_id = workflow.unwrap_or_default();
            // Built per call so the plaintext lives only inside the request being sent.
            let request = |value: &quorate_automation::secrets::SecretValue| pb::SecretRequest {
                name: name.clone(),
                value: value.expose().to_owned(),
                workflow_id: workflow_id.clone(),
            };
            // `set` is an upsert: create, and replace only when the name is taken.
            let info = match c.inner.create_secret(c.req(request(&value))).await {
                Ok(resp) => resp.into_inner(),
                Err(status) if status.code() == Code::AlreadyExists => c
                    .inner
                    .update_secret(c.req(request(&value)))
                    .await?
                    .into_inner(),
                Err(status) => return Err(status.into()),
            };
            output::secret_info(&info)
        }
        SecretCommand::List { workflow } => {
            let req = c.req(pb::ListSecretsRequest {
                workflow_id: workflow.unwrap_or_default(),
            });
            let resp = c.inner.list_secrets(req).await?.into_inner();
            output::listing(resp.secrets.iter().map(output::secret_info), "")
        }
        SecretCommand::Delete { name, workflow } => {
            let workflow_id = workflow.unwrap_or_default();
            let req = c.req(pb::DeleteSecretRequest {
                name: name.clone(),
                workflow_id: workflow_id.clone(),
            });
            let resp = c.inner.delete_secret(req).await?.into_inner();
            json!({ "name": name, "workflow_id": workflow_id, "deleted": resp.deleted })
        }
    };
    output::print(&out, false)
}
