//! `quorate operator run`: a real operator process. Subscribes to the node's tasks (resuming
//! from its cursor), computes a response with a pluggable function, signs it with its BLS key,
//! submits it and acknowledges the cursor.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use quorate_bls::KeyPair;
use tonic::transport::{Channel, Endpoint};
use tonic::Code;
use tracing::{info, warn};

use crate::compute::{dev_key, sign_response, ComputeFn};
use quorate_api::pb;
use quorate_api::pb::operator_service_client::OperatorServiceClient;

/// Arguments of `quorate operator`.
#[derive(clap::Args, Debug, Clone)]
pub struct OperatorArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: OperatorCommand,
}

/// `quorate operator` subcommands.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum OperatorCommand {
    /// Sign the node's tasks until stopped.
    Run(RunArgs),
}

/// Arguments of `quorate operator run`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// The node's gRPC endpoint.
    #[arg(long, env = "QUORATE_NODE", default_value = "http://127.0.0.1:50051")]
    pub node: String,
    /// File holding the BLS secret key (decimal or 0x-hex scalar), or the key itself in
    /// `QUORATE_BLS_KEY`; never a flag value, which would show in `ps`.
    #[arg(long, env = "QUORATE_BLS_KEY_FILE", conflicts_with = "dev_index")]
    pub bls_key_file: Option<std::path::PathBuf>,
    /// Use the node's `index`-th dev operator key (with `--dev-seed`).
    #[arg(long)]
    pub dev_index: Option<u32>,
    /// Seed of the dev keys; must match the node's.
    #[arg(long, default_value_t = 1)]
    pub dev_seed: u64,
    /// How the response is computed from the payload.
    #[arg(long, value_enum, default_value_t = ComputeFn::Echo)]
    pub compute: ComputeFn,
    /// Start after this task sequence number (0: where this operator last acknowledged).
    #[arg(long, default_value_t = 0)]
    pub cursor: u64,
}

/// Runs an operator until SIGTERM / Ctrl-C.
pub fn run(args: OperatorArgs) -> anyhow::Result<ExitCode> {
    let OperatorCommand::Run(args) = args.command;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let bls_key = match &args.bls_key_file {
        Some(path) => Some(crate::node::secret::Secret::from_file(path)?),
        None => crate::node::secret::Secret::from_env("QUORATE_BLS_KEY"),
    };
    let key = match (&bls_key, args.dev_index) {
        (Some(secret), _) => KeyPair::from_secret_str(secret.expose())
            .map_err(|e| anyhow::anyhow!("invalid BLS key: {e}"))?,
        (None, Some(i)) => dev_key(args.dev_seed, i),
        (None, None) => anyhow::bail!("give --bls-key-file, QUORATE_BLS_KEY or --dev-index"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        tokio::select! {
            r = operate(&args, &key) => r,
            _ = crate::node::shutdown_signal() => Ok(()),
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn operate(args: &RunArgs, key: &KeyPair) -> anyhow::Result<()> {
    let operator_id = key.operator_id();
    println!("quorate operator {operator_id} serving {}", args.node);
    let endpoint = Endpoint::from_shared(args.node.clone()).context("bad --node")?;
    let mut cursor = args.cursor;
    loop {
        match session(&endpoint, args, key, &mut cursor).await {
            Ok(()) => info!("task stream ended; reconnecting"),
            Err(e) => warn!(error = %e, "node unreachable; retrying"),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// One connection: subscribe from `cursor`, handle tasks, ack each.
async fn session(
    endpoint: &Endpoint,
    args: &RunArgs,
    key: &KeyPair,
    cursor: &mut u64,
) -> anyhow::Result<()> {
    let channel: Channel = endpoint.connect().await?;
    let mut client = OperatorServiceClient::new(channel);
    let operator_id = key.operator_id().as_bytes().to_vec();
    let mut stream = client
        .subscribe_tasks({
            let (issued_at_ms, auth_signature) = proof(key);
            pb::SubscribeTasksRequest {
                operator_id: operator_id.clone(),
                cursor: *cursor,
                issued_at_ms,
                auth_signature,
            }
        })
        .await?
        .into_inner();
    while let Some(task) = stream.message().await? {
        let response = args.compute.apply(&task.payload);
        let (digest, signature) = sign_response(key, &response);
        let sent = client
            .submit_signed_response(pb::SignedResponse {
                task_id: task.task_id.clone(),
                operator_id: operator_id.clone(),
                digest: digest.to_vec(),
                signature: signature.to_vec(),
                response,
            })
            .await;
        match sent {
            Ok(_) => {}
            // Final verdicts: the task is handled either way.
            Err(s)
                if matches!(
                    s.code(),
                    Code::AlreadyExists
                        | Code::FailedPrecondition
                        | Code::NotFound
                        | Code::PermissionDenied
                        | Code::InvalidArgument
                ) =>
            {
                warn!(task = %hex::encode(&task.task_id), status = %s.message(), "response refused");
            }
            Err(s) => return Err(s.into()),
        }
        *cursor = (*cursor).max(task.seq);
        client
            .ack({
                let (issued_at_ms, auth_signature) = proof(key);
                pb::AckRequest {
                    operator_id: operator_id.clone(),
                    cursor: *cursor,
                    issued_at_ms,
                    auth_signature,
                }
            })
            .await?;
    }
    Ok(())
}

/// A fresh proof of the operator's key: `(issued_at_ms, BLS signature of the challenge)`.
fn proof(key: &KeyPair) -> (u64, Vec<u8>) {
    let now = crate::node::record::now_ms();
    let digest = crate::node::operator_auth::challenge(&key.operator_id(), now);
    (now, key.sign(&digest).to_bytes().to_vec())
}
