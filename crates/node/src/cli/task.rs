//! `quorate task create|get|list|watch|cancel|aggregate`: a client of a running node.
//! Prints one JSON object per task.

use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::Request;

use crate::record::Status;
use quorate_api::pb;
use quorate_api::pb::client_service_client::ClientServiceClient;

/// Arguments of `quorate task`.
#[derive(clap::Args, Debug, Clone)]
pub struct TaskArgs {
    /// The node's gRPC endpoint.
    #[arg(long, env = "QUORATE_NODE", default_value = "http://127.0.0.1:50051")]
    pub node: String,
    /// API key (sent as `x-api-key`). Prefer `QUORATE_API_KEY` or `--api-key-file`: a flag's
    /// value shows in `ps`.
    #[arg(long, env = "QUORATE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// File holding the API key.
    #[arg(long, env = "QUORATE_API_KEY_FILE", conflicts_with = "api_key")]
    pub api_key_file: Option<std::path::PathBuf>,
    /// TLS to the node.
    #[command(flatten)]
    pub tls: super::client_tls::ClientTlsArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: TaskCommand,
}

/// `quorate task` subcommands.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum TaskCommand {
    /// Create a task.
    Create {
        /// Payload operators compute on: UTF-8 text, or `0x` + hex for binary payloads (in
        /// chain mode, `abi.encode` of the AVS's task-created event parameters).
        #[arg(long, default_value = "")]
        payload: String,
        /// `quorum:threshold%`, repeatable.
        #[arg(long = "quorum", default_value = "0:67")]
        quorums: Vec<String>,
        /// Time to expiry in ms.
        #[arg(long, default_value_t = 30_000)]
        expiry_ms: u64,
        /// Window after the thresholds are met, in ms.
        #[arg(long, default_value_t = 0)]
        window_ms: u64,
        /// Reference block (0: the node's default).
        #[arg(long, default_value_t = 0)]
        reference_block: u64,
        /// Task id, 32 bytes hex (default: the node picks one).
        #[arg(long)]
        id: Option<String>,
        /// Then watch it until it is final.
        #[arg(long)]
        wait: bool,
    },
    /// Show a task.
    Get {
        /// Task id (hex).
        id: String,
    },
    /// List tasks, oldest first.
    List {
        /// Only this status (pending, collecting, aggregated, submitted, expired, failed, cancelled).
        #[arg(long)]
        status: Option<String>,
        /// Only this creator.
        #[arg(long, default_value = "")]
        creator: String,
        /// Page size.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Page token from a previous listing.
        #[arg(long, default_value = "")]
        page_token: String,
        /// Include payloads.
        #[arg(long)]
        full: bool,
    },
    /// Stream a task's status changes until it is final.
    Watch {
        /// Task id (hex).
        id: String,
    },
    /// Cancel a task.
    Cancel {
        /// Task id (hex).
        id: String,
    },
    /// Show a task's aggregate.
    Aggregate {
        /// Task id (hex).
        id: String,
    },
}

fn status_name(value: i32) -> String {
    Status::from_wire(value)
        .map_or_else(|| "unspecified".into(), |s| format!("{s:?}").to_lowercase())
}

fn parse_status(s: &str) -> anyhow::Result<i32> {
    Status::ALL
        .into_iter()
        .find(|st| format!("{st:?}").eq_ignore_ascii_case(s))
        .map(|st| st.to_wire() as i32)
        .with_context(|| format!("unknown status {s}"))
}

fn task_json(t: &pb::Task) -> serde_json::Value {
    json!({
        "task_id": format!("0x{}", hex::encode(&t.task_id)),
        "status": status_name(t.status),
        "creator": t.creator,
        "seq": t.seq,
        "signatures": t.signatures,
        "reference_block": t.reference_block,
        "quorums": t.quorums.iter().map(|q| format!("{}:{}", q.quorum, q.threshold_percent)).collect::<Vec<_>>(),
        "payload": match std::str::from_utf8(&t.payload) {
            Ok(text) => text.to_owned(),
            Err(_) => format!("0x{}", hex::encode(&t.payload)),
        },
        "error": t.error,
    })
}

fn parse_id(s: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = hex::decode(s.strip_prefix("0x").unwrap_or(s)).context("task id is not hex")?;
    anyhow::ensure!(bytes.len() == 32, "task id must be 32 bytes");
    Ok(bytes)
}

struct Client {
    inner: ClientServiceClient<Channel>,
    key: Option<MetadataValue<tonic::metadata::Ascii>>,
}

impl Client {
    fn req<T>(&self, msg: T) -> Request<T> {
        with_api_key(self.key.as_ref(), msg)
    }

    async fn watch(&mut self, task_id: Vec<u8>) -> anyhow::Result<()> {
        let req = self.req(pb::GetTaskRequest { task_id });
        let mut stream = self.inner.watch_task(req).await?.into_inner();
        while let Some(t) = stream.message().await? {
            println!("{}", task_json(&t));
        }
        Ok(())
    }
}

/// Runs one `quorate task` command.
pub fn run(args: TaskArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_async(args))?;
    Ok(ExitCode::SUCCESS)
}

/// `msg` as a request carrying `key` as `x-api-key` (none: no credentials). Shared by the
/// node's client commands so they authenticate alike.
pub(crate) fn with_api_key<T>(
    key: Option<&MetadataValue<tonic::metadata::Ascii>>,
    msg: T,
) -> Request<T> {
    let mut r = Request::new(msg);
    if let Some(k) = key {
        r.metadata_mut().insert("x-api-key", k.clone());
    }
    r
}

/// A channel to `node` with the TLS flags applied.
pub(crate) async fn connect(
    node: &str,
    tls: &super::client_tls::ClientTlsArgs,
) -> anyhow::Result<Channel> {
    let endpoint = tls.apply(Channel::from_shared(node.to_owned())?)?;
    endpoint
        .connect()
        .await
        .with_context(|| format!("connecting to {node}"))
}

/// The API key from `--api-key-file` or else `--api-key`/`QUORATE_API_KEY`, as metadata.
pub(crate) fn api_key_metadata(
    api_key: Option<&str>,
    api_key_file: Option<&std::path::Path>,
) -> anyhow::Result<Option<MetadataValue<tonic::metadata::Ascii>>> {
    let api_key = match api_key_file {
        Some(path) => Some(crate::secret::Secret::from_file(path)?.expose().to_string()),
        None => api_key.map(str::to_owned),
    };
    api_key
        .as_deref()
        .map(str::parse)
        .transpose()
        .context("API key is not valid metadata")
}

async fn run_async(args: TaskArgs) -> anyhow::Result<()> {
    let channel = connect(&args.node, &args.tls).await?;
    let key = api_key_metadata(args.api_key.as_deref(), args.api_key_file.as_deref())?;
    let mut c = Client {
        inner: ClientServiceClient::new(channel),
        key,
    };
    match args.command {
        TaskCommand::Create {
            payload,
            quorums,
            expiry_ms,
            window_ms,
            reference_block,
            id,
            wait,
        } => {
            let quorums = quorums
                .iter()
                .map(|q| {
                    let (a, b) = q.split_once(':').context("quorum must be q:threshold")?;
                    Ok(pb::QuorumThreshold {
                        quorum: a.parse()?,
                        threshold_percent: b.parse()?,
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let task_id = id.as_deref().map(parse_id).transpose()?.unwrap_or_default();
            let req = c.req(pb::CreateTaskRequest {
                task_id,
                reference_block,
                quorums,
                expiry_ms,
                window_ms,
                payload: payload_bytes(&payload)?,
            });
            let t = c.inner.create_task(req).await?.into_inner();
            println!("{}", task_json(&t));
            if wait {
                c.watch(t.task_id).await?;
            }
        }
        TaskCommand::Get { id } => {
            let req = c.req(pb::GetTaskRequest {
                task_id: parse_id(&id)?,
            });
            println!("{}", task_json(&c.inner.get_task(req).await?.into_inner()));
        }
        TaskCommand::List {
            status,
            creator,
            limit,
            page_token,
            full,
        } => {
            let status = status
                .as_deref()
                .map(parse_status)
                .transpose()?
                .unwrap_or(0);
            let req = c.req(pb::ListTasksRequest {
                status,
                creator,
                page_token,
                limit,
                full,
            });
            let resp = c.inner.list_tasks(req).await?.into_inner();
            for t in &resp.tasks {
                println!("{}", task_json(t));
            }
            if !resp.next_page_token.is_empty() {
                println!("{}", json!({ "next_page_token": resp.next_page_token }));
            }
        }
        TaskCommand::Watch { id } => c.watch(parse_id(&id)?).await?,
        TaskCommand::Cancel { id } => {
            let req = c.req(pb::CancelTaskRequest {
                task_id: parse_id(&id)?,
            });
            println!(
                "{}",
                task_json(&c.inner.cancel_task(req).await?.into_inner())
            );
        }
        TaskCommand::Aggregate { id } => {
            let req = c.req(pb::GetTaskRequest {
                task_id: parse_id(&id)?,
            });
            let a = c.inner.get_aggregate(req).await?.into_inner();
            println!(
                "{}",
                json!({
                    "task_id": format!("0x{}", hex::encode(&a.task_id)),
                    "digest": format!("0x{}", hex::encode(&a.digest)),
                    "signers": a.signer_ids.len(),
                    "non_signers": a.non_signer_ids.len(),
                    "sigma": format!("0x{}", hex::encode(&a.sigma)),
                    "receipt": a.receipt_json,
                })
            );
        }
    }
    Ok(())
}

/// `0x` + hex as the bytes it encodes; anything else as its UTF-8 text.
fn payload_bytes(payload: &str) -> anyhow::Result<Vec<u8>> {
    match payload.strip_prefix("0x") {
        Some(h) => hex::decode(h).map_err(|e| anyhow::anyhow!("--payload 0x…: {e}")),
        None => Ok(payload.as_bytes().to_vec()),
    }
}
