//! `quorate operator run`: a real operator process. Signs in with a node-issued challenge,
//! subscribes to the node's tasks (resuming from its cursor), computes a response with a
//! pluggable function, signs it with its BLS key, submits it with its session token and
//! acknowledges the cursor.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use quorate_api::{operator_auth_digest, ProofMethod};
use quorate_bls::KeyPair;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use tonic::Code;
use tracing::{info, warn};

use crate::compute::{dev_key, sign_response, ComputeFn};
use crate::operator_auth::SESSION_HEADER;
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
    /// TLS to the node (its CA, and a client certificate if the node requires one).
    #[command(flatten)]
    pub tls: super::client_tls::ClientTlsArgs,
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
    /// The workflow trigger watcher.
    #[command(flatten)]
    pub triggers: super::trigger_watch::TriggerWatchArgs,
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
        Some(path) => Some(crate::secret::Secret::from_file(path)?),
        None => crate::secret::Secret::from_env("QUORATE_BLS_KEY"),
    };
    let key = match (&bls_key, args.dev_index) {
        (Some(secret), _) => KeyPair::from_secret_str(secret.expose())
            .map_err(|e| anyhow::anyhow!("invalid BLS key: {e}"))?,
        (None, Some(i)) => dev_key(args.dev_seed, i),
        (None, None) => anyhow::bail!("give --bls-key-file, QUORATE_BLS_KEY or --dev-index"),
    };
    let key = Arc::new(key);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        tokio::select! {
            r = operate(&args, &key) => r,
            _ = crate::lifecycle::shutdown_signal() => Ok(()),
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn operate(args: &RunArgs, key: &Arc<KeyPair>) -> anyhow::Result<()> {
    let operator_id = key.operator_id();
    println!("quorate operator {operator_id} serving {}", args.node);
    let endpoint = args
        .tls
        .apply(Endpoint::from_shared(args.node.clone()).context("bad --node")?)?;
    // The trigger watcher reports with the session token each sign-in of this loop renews.
    let (tokens, watched) = tokio::sync::watch::channel(None);
    super::trigger_watch::spawn(&args.triggers, &endpoint, Arc::clone(key), watched)?;
    let mut cursor = args.cursor;
    loop {
        match session(&endpoint, args, key, &mut cursor, &tokens).await {
            Ok(()) => info!("task stream ended; reconnecting"),
            Err(e) => warn!(error = %e, "node unreachable; retrying"),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// One connection: sign in and subscribe from `cursor`, handle tasks, ack each (each ack is
/// a fresh sign-in that also renews the session token submissions carry).
async fn session(
    endpoint: &Endpoint,
    args: &RunArgs,
    key: &KeyPair,
    cursor: &mut u64,
    tokens: &tokio::sync::watch::Sender<Option<MetadataValue<Ascii>>>,
) -> anyhow::Result<()> {
    let channel: Channel = endpoint.connect().await?;
    let mut client = OperatorServiceClient::new(channel);
    let operator_id = key.operator_id().as_bytes().to_vec();
    let (nonce, auth_signature) =
        prove(&mut client, key, ProofMethod::SubscribeTasks, *cursor).await?;
    let subscribed = client
        .subscribe_tasks(pb::SubscribeTasksRequest {
            operator_id: operator_id.clone(),
            cursor: *cursor,
            nonce,
            auth_signature,
        })
        .await?;
    let mut token = session_token(subscribed.metadata())?;
    tokens.send_replace(Some(token.clone()));
    let mut stream = subscribed.into_inner();
    while let Some(task) = stream.message().await? {
        let response = args.compute.apply(&task.payload);
        let (digest, signature) = sign_response(key, &response);
        let signed = pb::SignedResponse {
            task_id: task.task_id.clone(),
            operator_id: operator_id.clone(),
            digest: digest.to_vec(),
            signature: signature.to_vec(),
            response,
        };
        match submit(&mut client, &token, signed).await {
            Ok(()) => {}
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
        let (nonce, auth_signature) = prove(&mut client, key, ProofMethod::Ack, *cursor).await?;
        let acked = client
            .ack(pb::AckRequest {
                operator_id: operator_id.clone(),
                cursor: *cursor,
                nonce,
                auth_signature,
            })
            .await?;
        token = session_token(acked.metadata())?;
        tokens.send_replace(Some(token.clone()));
    }
    Ok(())
}

/// Submits with the session token; a task the node has not started yet (`UNAVAILABLE`) is
/// retried for a while, since the node refuses rather than risk losing the signature.
async fn submit(
    client: &mut OperatorServiceClient<Channel>,
    token: &MetadataValue<Ascii>,
    signed: pb::SignedResponse,
) -> Result<(), tonic::Status> {
    let mut attempts = 0;
    loop {
        let mut request = tonic::Request::new(signed.clone());
        request.metadata_mut().insert(SESSION_HEADER, token.clone());
        match client.submit_signed_response(request).await {
            Ok(_) => return Ok(()),
            Err(s) if s.code() == Code::Unavailable && attempts < 50 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(s) => return Err(s),
        }
    }
}

/// The session token a sign-in answered with.
fn session_token(metadata: &tonic::metadata::MetadataMap) -> anyhow::Result<MetadataValue<Ascii>> {
    metadata
        .get(SESSION_HEADER)
        .cloned()
        .with_context(|| format!("the node sent no {SESSION_HEADER} header"))
}

/// A proof of the operator's key for one call: a fresh challenge's nonce and the BLS
/// signature of the proof digest over it.
async fn prove(
    client: &mut OperatorServiceClient<Channel>,
    key: &KeyPair,
    method: ProofMethod,
    cursor: u64,
) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let operator_id = key.operator_id();
    let challenge = client
        .get_operator_challenge(pb::OperatorChallengeRequest {
            operator_id: operator_id.as_bytes().to_vec(),
        })
        .await?
        .into_inner();
    let node_id: [u8; 32] = challenge
        .node_id
        .as_slice()
        .try_into()
        .context("the node's id is not 32 bytes")?;
    let nonce: [u8; 32] = challenge
        .nonce
        .as_slice()
        .try_into()
        .context("the challenge nonce is not 32 bytes")?;
    let digest = operator_auth_digest(&node_id, method, &operator_id, &nonce, cursor);
    Ok((nonce.to_vec(), key.sign(&digest).to_bytes().to_vec()))
}
