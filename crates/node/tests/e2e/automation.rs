//! Workflow automation on the devnet, with real operator processes: a chain-mode node with an
//! `[automation]` table, `quorate operator run --rpc-url` watchers, and a local HTTP server
//! (a REST endpoint behind `authorization: Bearer <secret>` and a GraphQL endpoint). A
//! block-trigger workflow runs every step kind against the server and the chain, with an owner
//! secret that must reach the server but no record; an event-trigger workflow fires on the
//! task manager's task-created event; reports below the attestation threshold start nothing;
//! and a node killed mid-schedule resumes without running any reason twice.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::sol_types::{SolCall, SolEvent};
use anyhow::{anyhow, bail, ensure, Context, Result};
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use quorate_api::pb;
use quorate_api::pb::client_service_client::ClientServiceClient;
use quorate_api::pb::workflow_service_client::WorkflowServiceClient;
use quorate_automation::claim_digest;
use quorate_automation::trigger::TriggerReason;
use quorate_bls::KeyPair;
use quorate_chain_adapter::contracts::ISquaringTask;
use quorate_domain::{OperatorId, OperatorRegistry, QuorumNumber, U256 as Stake};
use serde_json::{json, Value};
use tonic::transport::Channel;

use super::env::Env;
use super::node::{self, Avs, Children};

/// The block workflow fires on block numbers divisible by this.
const INTERVAL: u64 = 3;
/// `automation.attestation_window_ms`: short, so part 4 waits little.
const WINDOW_MS: u64 = 4000;

// ----- the local HTTP server -----

/// What the server saw.
#[derive(Clone)]
struct Server {
    secret: Arc<String>,
    authorized: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
    events: Arc<Mutex<Vec<String>>>,
    /// How long `/price` takes (part 5 slows it so an execution is caught running).
    delay_ms: Arc<AtomicU64>,
}

impl Server {
    fn check(&self, headers: &HeaderMap) -> Result<(), StatusCode> {
        let want = format!("Bearer {}", self.secret);
        if headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(want.as_str()) {
            self.authorized.fetch_add(1, Ordering::SeqCst);
            Ok(())
        } else {
            self.refused.fetch_add(1, Ordering::SeqCst);
            Err(StatusCode::UNAUTHORIZED)
        }
    }
}

/// A JSON response (the node's axum is built without its `json` feature).
type JsonReply = ([(axum::http::HeaderName, &'static str); 1], String);

fn json_reply(v: &Value) -> JsonReply {
    ([(CONTENT_TYPE, "application/json")], v.to_string())
}

async fn price(State(s): State<Server>, headers: HeaderMap) -> Result<JsonReply, StatusCode> {
    s.check(&headers)?;
    let delay = s.delay_ms.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(delay)).await;
    Ok(json_reply(&json!({ "price": 3000 })))
}

async fn graphql(body: String) -> JsonReply {
    let body: Value = serde_json::from_str(&body).unwrap_or_default();
    json_reply(&match body["variables"]["symbol"].as_str() {
        Some("ETH") if body["query"].as_str().is_some_and(|q| q.contains("token")) => {
            json!({ "data": { "token": { "symbol": "ETH", "decimals": 18 } } })
        }
        _ => json!({ "data": null, "errors": [{ "message": "unknown token" }] }),
    })
}

async fn event(
    State(s): State<Server>,
    headers: HeaderMap,
    body: String,
) -> Result<JsonReply, StatusCode> {
    s.check(&headers)?;
    s.events
        .lock()
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
        .push(body);
    Ok(json_reply(&json!({ "stored": true })))
}

async fn start_server(secret: &str) -> Result<(String, Server)> {
    let server = Server {
        secret: Arc::new(secret.to_owned()),
        authorized: Arc::default(),
        refused: Arc::default(),
        events: Arc::default(),
        delay_ms: Arc::default(),
    };
    let app = Router::new()
        .route("/price", get(price))
        .route("/graphql", post(graphql))
        .route("/event", post(event))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((format!("http://{address}"), server))
}

// ----- the workflows -----

fn block_workflow(base: &str, task_manager: Address) -> Value {
    json!({
        "name": "e2e every step",
        "trigger": { "type": "block", "interval": INTERVAL },
        "nodes": [
            { "id": "fetch", "name": "fetch", "type": "rest_api", "method": "GET",
              "url": format!("{base}/price"),
              "headers": { "authorization": "Bearer {{secrets.API_KEY}}" } },
            { "id": "gql", "name": "token", "type": "graphql", "url": format!("{base}/graphql"),
              "query": "query($symbol: String!) { token(symbol: $symbol) { symbol decimals } }",
              "variables": { "symbol": "ETH" } },
            { "id": "read", "name": "tasks", "type": "contract_read",
              "address": format!("{task_manager:#x}"),
              "method": "function latestTaskNum() view returns (uint32 num)" },
            { "id": "decide", "name": "decide", "type": "branch", "conditions": [
                { "id": "high", "expression": "fetch.data.body.price > 2000 && token.data.token.decimals === 18" },
                { "id": "low" } ] },
            { "id": "high", "name": "high", "type": "custom_code",
              "source": "return { key_len: '{{secrets.API_KEY}}'.length, block: trigger.data.number, tasks: tasks.data.named.num };" },
            { "id": "low", "name": "low", "type": "custom_code", "source": "return 'low';" }
        ],
        "edges": [
            { "source": "fetch", "target": "gql" },
            { "source": "gql", "target": "read" },
            { "source": "read", "target": "decide" },
            { "source": "decide", "target": "high", "condition": "high" },
            { "source": "decide", "target": "low", "condition": "low" }
        ]
    })
}

fn event_workflow(base: &str, task_manager: Address) -> Value {
    json!({
        "name": "e2e task created",
        "trigger": { "type": "event", "matchers": [{
            "address": format!("{task_manager:#x}"),
            "topics": [format!("{:#x}", ISquaringTask::NewTaskCreated::SIGNATURE_HASH)]
        }] },
        "nodes": [
            { "id": "note", "name": "note", "type": "rest_api", "method": "POST",
              "url": format!("{base}/event"),
              "headers": { "authorization": "Bearer {{secrets.API_KEY}}" },
              "body": "{\"tx\":\"{{trigger.data.transaction_hash}}\",\"block\":{{trigger.data.block_number}}}" },
            { "id": "summary", "name": "summary", "type": "custom_code",
              "source": "return { tx: trigger.data.transaction_hash, stored: note.data.body.stored };" }
        ],
        "edges": [{ "source": "note", "target": "summary" }]
    })
}

// ----- the node's API -----

/// WorkflowService and ClientService as the e2e client.
#[derive(Clone)]
struct Api {
    wf: WorkflowServiceClient<Channel>,
    tasks: ClientServiceClient<Channel>,
    key: String,
}

impl Api {
    async fn connect(grpc: &str, key: &str) -> Result<Self> {
        let channel = tonic::transport::Endpoint::from_shared(grpc.to_owned())?
            .connect()
            .await
            .with_context(|| format!("connecting to {grpc}"))?;
        Ok(Self {
            wf: WorkflowServiceClient::new(channel.clone()),
            tasks: ClientServiceClient::new(channel),
            key: key.to_owned(),
        })
    }

    fn req<T>(&self, msg: T) -> Result<tonic::Request<T>> {
        let mut r = tonic::Request::new(msg);
        r.metadata_mut().insert("x-api-key", self.key.parse()?);
        Ok(r)
    }

    async fn create(&mut self, spec: &Value) -> Result<String> {
        let r = self.req(pb::CreateWorkflowRequest {
            spec_json: spec.to_string(),
        })?;
        Ok(self.wf.create_workflow(r).await?.into_inner().id)
    }

    /// Every execution of `wf` (all pages; without steps).
    async fn executions(&mut self, wf: &str) -> Result<Vec<pb::Execution>> {
        let mut all = Vec::new();
        let mut cursor = String::new();
        loop {
            let r = self.req(pb::ListExecutionsRequest {
                workflow_id: wf.to_owned(),
                cursor: cursor.clone(),
                limit: 1000,
            })?;
            let page = self.wf.list_executions(r).await?.into_inner();
            all.extend(page.executions);
            if page.next_cursor.is_empty() {
                return Ok(all);
            }
            cursor = page.next_cursor;
        }
    }

    /// One execution with steps and proof; `None` when the node has none by that id.
    async fn execution(&mut self, wf: &str, id: &str) -> Result<Option<pb::Execution>> {
        let r = self.req(pb::ExecutionIdRequest {
            workflow_id: wf.to_owned(),
            execution_id: id.to_owned(),
        })?;
        match self.wf.get_execution(r).await {
            Ok(e) => Ok(Some(e.into_inner())),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
            Err(s) => Err(anyhow!("GetExecution {id}: {s}")),
        }
    }

    /// The node task (here: the attestation task) with id `id`.
    async fn task(&mut self, id: B256) -> Result<Option<pb::Task>> {
        let r = self.req(pb::GetTaskRequest {
            task_id: id.to_vec(),
        })?;
        match self.tasks.get_task(r).await {
            Ok(t) => Ok(Some(t.into_inner())),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
            Err(s) => Err(anyhow!("GetTask {id}: {s}")),
        }
    }
}

fn reason(e: &pb::Execution) -> Result<TriggerReason> {
    serde_json::from_str(&e.reason_json).with_context(|| format!("reason of {}", e.id))
}

fn block_of(e: &pb::Execution) -> Option<u64> {
    match reason(e).ok()? {
        TriggerReason::Block { number } => Some(number),
        _ => None,
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(10)]
}

/// Mines (a block per round) until `wf` has a finished execution that `pick` accepts.
async fn finished_where(
    env: &Env,
    api: &Api,
    wf: &str,
    what: &str,
    within: Duration,
    pick: impl Fn(&pb::Execution) -> bool,
) -> Result<pb::Execution> {
    let pick = &pick;
    node::mine_until(env, within, what, || {
        let mut api = api.clone();
        async move {
            Ok(api
                .executions(wf)
                .await?
                .into_iter()
                .find(|e| e.status == "finished" && pick(e)))
        }
    })
    .await
}

// ----- operators -----

/// `quorate operator run` with the trigger watcher on the devnet.
fn spawn_watcher(
    children: &mut Children,
    bin: &Path,
    grpc: &str,
    rpc: &str,
    key: &str,
) -> Result<()> {
    children.spawn(
        Command::new(bin)
            .args(["operator", "run", "--node", grpc, "--compute"])
            .arg(Avs::IncrediblySquaring.compute())
            .args(["--rpc-url", rpc, "--block-poll-ms", "200"])
            .env("QUORATE_BLS_KEY", key)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit()),
    )?;
    Ok(())
}

/// Quorum 0's stakes at `block`: (member → stake, total).
async fn stakes(env: &Env, block: u64) -> Result<(Vec<(OperatorId, Stake)>, Stake)> {
    let state = env
        .core
        .registry()
        .operator_state(block, &[QuorumNumber(0)])
        .await
        .map_err(|e| anyhow!("operator state at {block}: {e}"))?;
    let total = state
        .quorum(QuorumNumber(0))
        .map(|q| q.total_stake)
        .ok_or_else(|| anyhow!("quorum 0 missing at {block}"))?;
    let members = state
        .operators
        .values()
        .filter_map(|o| o.stakes.get(&QuorumNumber(0)).map(|s| (o.id, *s)))
        .collect();
    Ok((members, total))
}

/// Checks an attested execution's proof: its digest is the claim digest (and its id), its
/// signers are devnet operators we run whose stake at the reference block meets the
/// configured threshold, and signers plus non-signers are quorum 0. Returns the signer count.
async fn check_proof(
    env: &Env,
    ours: &[OperatorId],
    threshold: u32,
    wf: &str,
    e: &pb::Execution,
) -> Result<usize> {
    let digest = claim_digest(wf, &reason(e)?);
    ensure!(
        e.id == digest.to_string(),
        "execution id {} is not the claim digest {digest}",
        e.id
    );
    let proof: Value = serde_json::from_str(&e.proof_json)
        .with_context(|| format!("proof of {}: {:?}", e.id, e.proof_json))?;
    let hex = |v: &Value| {
        v.as_str()
            .map(|s| s.trim_start_matches("0x").to_ascii_lowercase())
    };
    ensure!(
        hex(&proof["digest"]) == Some(alloy::hex::encode(digest)),
        "proof digest {} is not claim_digest(workflow, reason) {digest}",
        proof["digest"]
    );
    let block = proof["reference_block"]
        .as_u64()
        .ok_or_else(|| anyhow!("proof without reference block: {proof}"))?;
    let ids = |key: &str| -> Result<Vec<OperatorId>> {
        proof[key]
            .as_array()
            .ok_or_else(|| anyhow!("proof without {key}: {proof}"))?
            .iter()
            .map(|v| {
                OperatorId::from_hex(v.as_str().unwrap_or_default())
                    .map_err(|e| anyhow!("proof {key}: {e}"))
            })
            .collect()
    };
    let (signers, non_signers) = (ids("signers")?, ids("non_signers")?);
    let (members, total) = stakes(env, block).await?;
    let mut signed = Stake::ZERO;
    for id in &signers {
        ensure!(
            ours.contains(id),
            "signer {id} is none of our operator processes"
        );
        signed += members
            .iter()
            .find(|(m, _)| m == id)
            .map(|(_, s)| *s)
            .ok_or_else(|| anyhow!("signer {id} is not in quorum 0 at block {block}"))?;
    }
    ensure!(
        signed * Stake::from(100u8) >= Stake::from(threshold) * total,
        "signers' stake {signed} of {total} is below {threshold}%"
    );
    let mut all: Vec<OperatorId> = signers.iter().chain(&non_signers).copied().collect();
    all.sort_unstable();
    let mut want: Vec<OperatorId> = members.iter().map(|(m, _)| *m).collect();
    want.sort_unstable();
    ensure!(
        all == want,
        "signers and non-signers are not quorum 0 at block {block}"
    );
    Ok(signers.len())
}

fn steps(e: &pb::Execution) -> Result<Vec<Value>> {
    serde_json::from_str(&e.steps_json).with_context(|| format!("steps of {}", e.id))
}

// ----- the scenario -----

/// Runs the four parts; prints an `ok   automation …` line per part and returns how many
/// passed (all of them, or an error naming the first failure).
pub async fn run(env: &Env) -> Result<u32> {
    let started = Instant::now();
    let info = &env.devnet.info;
    let chain = &env.devnet.chain;
    let provider = &chain.provider;
    let task_manager = info.contracts.task_manager;
    let bin = node::quorate_bin()?;
    let dir = std::env::temp_dir().join(format!("quorate-e2e-automation-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;

    // The three largest members of quorum 0 and the threshold they meet together; one of
    // them alone is below it.
    let (keys, threshold) = node::signers(env).await?;
    let ids: Vec<OperatorId> = keys
        .iter()
        .map(|k| KeyPair::from_secret_str(k).map(|kp| kp.operator_id()))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow!("devnet key: {e}"))?;
    let head = provider.get_block_number().await?;
    let (members, total) = stakes(env, head - 1).await?;
    let stake_of = |id: &OperatorId| {
        members
            .iter()
            .find(|(m, _)| m == id)
            .map(|(_, s)| *s)
            .unwrap_or_default()
    };
    let lone = (0..ids.len())
        .filter(|&i| stake_of(&ids[i]) * Stake::from(100u8) < Stake::from(threshold) * total)
        .min_by_key(|&i| stake_of(&ids[i]))
        .ok_or_else(|| {
            anyhow!("precondition: each of the three signers alone meets {threshold}%")
        })?;

    // The node: chain mode, with the automation table and a sealing key for secrets.
    let (config, api_key) = node::write_client_config(&dir)?;
    let key_file = dir.join("automation.key");
    std::fs::write(&key_file, alloy::hex::encode(rand::random::<[u8; 32]>()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600))?;
    }
    let table = format!(
        "\n[automation]\nattestation_quorums = [[0, {threshold}]]\nattestation_window_ms = {WINDOW_MS}\nsecrets_key_file = {:?}\n\n[automation.http]\nallow_private_networks = true\n",
        key_file.display().to_string()
    );
    let mut toml = std::fs::read_to_string(&config)?;
    toml.push_str(&table);
    std::fs::write(&config, toml)?;
    let secret = format!("sk-e2e-{}", alloy::hex::encode(rand::random::<[u8; 12]>()));
    let (base, server) = start_server(&secret).await?;
    let avs_file = super::env::example_avs_path(Avs::IncrediblySquaring.name());
    let db = dir.join("node.redb");
    let mut node_proc = Children::default();
    let (_, grpc) = node::start_node(&mut node_proc, &bin, env, &avs_file, &db, &config)?;
    let rpc = info.rpc_url.clone();
    let mut ops: Vec<Children> = Vec::new();
    for key in &keys {
        let mut c = Children::default();
        spawn_watcher(&mut c, &bin, &grpc, &rpc, key)?;
        ops.push(c);
    }
    let mut api = Api::connect(&grpc, &api_key).await?;

    // ---- 1 + 2: a secret, and a block workflow with every step kind ----
    let r = api.req(pb::SecretRequest {
        name: "API_KEY".into(),
        value: secret.clone(),
        workflow_id: String::new(),
    })?;
    api.wf.create_secret(r).await.context("CreateSecret")?;
    let block_wf = api.create(&block_workflow(&base, task_manager)).await?;
    let event_wf = api.create(&event_workflow(&base, task_manager)).await?;
    let part = Instant::now();
    let first = finished_where(
        env,
        &api,
        &block_wf,
        "a finished block-trigger execution",
        Duration::from_secs(60),
        |_| true,
    )
    .await?;
    let e = api
        .execution(&block_wf, &first.id)
        .await?
        .ok_or_else(|| anyhow!("execution {} listed but not found", first.id))?;
    ensure!(e.success, "block execution {} failed: {}", e.id, e.error);
    let number = block_of(&e).ok_or_else(|| anyhow!("not a block reason: {}", e.reason_json))?;
    let recorded = steps(&e)?;
    let shape: Vec<(&str, &str)> = recorded
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or(""),
                s["kind"].as_str().unwrap_or(""),
            )
        })
        .collect();
    ensure!(
        shape
            == [
                ("fetch", "rest_api"),
                ("token", "graphql"),
                ("tasks", "contract_read"),
                ("decide", "branch"),
                ("high", "custom_code")
            ],
        "steps {shape:?}"
    );
    let step = |name: &str| {
        recorded
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
            .unwrap_or_default()
    };
    let on_chain = ISquaringTask::new(task_manager, provider.clone())
        .latestTaskNum()
        .call()
        .await?;
    ensure!(
        step("tasks")["output"]["named"]["num"] == json!(on_chain.to_string()),
        "contract read {} != latestTaskNum() {on_chain} read by the test",
        step("tasks")["output"]
    );
    ensure!(
        step("decide")["output"] == json!({ "condition_id": "high" }),
        "branch chose {}",
        step("decide")["output"]
    );
    ensure!(
        step("high")["output"]
            == json!({ "key_len": secret.len(), "block": number, "tasks": on_chain.to_string() }),
        "custom code returned {}",
        step("high")["output"]
    );
    ensure!(
        step("fetch")["inputs"]["headers"]["authorization"] == "Bearer ***",
        "fetch inputs {}",
        step("fetch")["inputs"]
    );
    ensure!(
        step("high")["inputs"].to_string().contains("***"),
        "custom code inputs {}",
        step("high")["inputs"]
    );
    let seen = server.authorized.load(Ordering::SeqCst);
    ensure!(
        seen >= 1 && server.refused.load(Ordering::SeqCst) == 0,
        "server: {seen} authorized, {} refused calls",
        server.refused.load(Ordering::SeqCst)
    );
    let whole = format!(
        "{}{}{}{}{}{:?}",
        e.steps_json, e.reason_json, e.proof_json, e.error, e.id, e
    );
    ensure!(
        !whole.contains(&secret),
        "the secret is in GetExecution's answer"
    );
    let signed = check_proof(env, &ids, threshold, &block_wf, &e).await?;
    println!(
        "ok   automation block trigger (every {INTERVAL} blocks): execution {} for block {number} in {:.1?}: fetch/token/tasks/decide/high succeeded; contract read latestTaskNum = {on_chain} as on chain; secret reached the server ({seen} authorized calls), recorded as *** only; proof: {signed} signers of quorum 0 meeting {threshold}%, digest = claim_digest",
        short(&e.id),
        part.elapsed()
    );

    // ---- 3: an event workflow on the task manager's task-created event ----
    let part = Instant::now();
    let call = ISquaringTask::createSquaringTaskCall {
        number: U256::from(31337u64),
        quorumThresholdPercentage: threshold,
        quorumNumbers: vec![0u8].into(),
    };
    let receipt = chain
        .call(
            info.owner.address,
            task_manager,
            call.abi_encode().into(),
            "createSquaringTask",
        )
        .await?;
    let tx = receipt.transaction_hash;
    let found = finished_where(
        env,
        &api,
        &event_wf,
        "an event execution for the task's transaction",
        Duration::from_secs(60),
        |e| matches!(reason(e), Ok(TriggerReason::Event { transaction_hash, .. }) if transaction_hash == tx),
    )
    .await?;
    let e = api
        .execution(&event_wf, &found.id)
        .await?
        .ok_or_else(|| anyhow!("event execution {} not found", found.id))?;
    ensure!(e.success, "event execution {} failed: {}", e.id, e.error);
    let Ok(TriggerReason::Event {
        block_number,
        log_index,
        ..
    }) = reason(&e)
    else {
        bail!("not an event reason: {}", e.reason_json);
    };
    ensure!(
        Some(block_number) == receipt.block_number,
        "event reason block {block_number}, receipt block {:?}",
        receipt.block_number
    );
    let recorded = steps(&e)?;
    let names: Vec<&str> = recorded.iter().filter_map(|s| s["name"].as_str()).collect();
    ensure!(names == ["note", "summary"], "event steps {names:?}");
    let tx_hex = format!("{tx:#x}");
    ensure!(
        recorded[1]["output"] == json!({ "tx": tx_hex, "stored": true }),
        "summary output {}",
        recorded[1]["output"]
    );
    ensure!(
        server
            .events
            .lock()
            .map_err(|_| anyhow!("poisoned"))?
            .iter()
            .any(|b| b.contains(&tx_hex)),
        "the server never got the event's transaction hash"
    );
    let signed = check_proof(env, &ids, threshold, &event_wf, &e).await?;
    println!(
        "ok   automation event trigger (NewTaskCreated on the task manager): tx {} (block {block_number}, log {log_index}) -> execution {} in {:.1?}, note/summary ran with the tx hash; proof {signed} signers",
        short(&tx_hex),
        short(&e.id),
        part.elapsed()
    );

    // ---- 4: below the threshold nothing starts; the full set attests again ----
    let part = Instant::now();
    for (i, c) in ops.iter_mut().enumerate() {
        if i != lone {
            drop(std::mem::take(c));
        }
    }
    let from = provider.get_block_number().await? + 1;
    chain.mine(2 * INTERVAL).await?;
    let to = provider.get_block_number().await?;
    let fired: Vec<u64> = (from..=to).filter(|n| n % INTERVAL == 0).collect();
    // The lone operator reports each (its attestation task holds one signature).
    let deadline = Instant::now() + Duration::from_secs(15);
    for &n in &fired {
        let digest = claim_digest(&block_wf, &TriggerReason::Block { number: n });
        loop {
            if api.task(digest).await?.is_some_and(|t| t.signatures >= 1) {
                break;
            }
            ensure!(
                Instant::now() < deadline,
                "the lone operator's report for block {n} never reached the node"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(WINDOW_MS + 1500)).await;
    let mut statuses = Vec::new();
    for &n in &fired {
        let digest = claim_digest(&block_wf, &TriggerReason::Block { number: n });
        ensure!(
            api.execution(&block_wf, &digest.to_string())
                .await?
                .is_none(),
            "block {n}: an execution started below the threshold"
        );
        let task = api
            .task(digest)
            .await?
            .ok_or_else(|| anyhow!("task of block {n} gone"))?;
        ensure!(
            task.signatures == 1
                && !matches!(
                    pb::TaskStatus::try_from(task.status),
                    Ok(pb::TaskStatus::Aggregated | pb::TaskStatus::Submitted)
                ),
            "block {n}: attestation task {} with {} signatures",
            task.status,
            task.signatures
        );
        statuses.push(
            pb::TaskStatus::try_from(task.status)
                .map(|s| {
                    s.as_str_name()
                        .trim_start_matches("TASK_STATUS_")
                        .to_ascii_lowercase()
                })
                .unwrap_or_default(),
        );
    }
    ensure!(
        !api.executions(&block_wf)
            .await?
            .iter()
            .any(|e| block_of(e).is_some_and(|n| fired.contains(&n))),
        "an execution for {fired:?} is listed"
    );
    for (i, c) in ops.iter_mut().enumerate() {
        if i != lone {
            spawn_watcher(c, &bin, &grpc, &rpc, &keys[i])?;
        }
    }
    let resumed = finished_where(
        env,
        &api,
        &block_wf,
        "an execution after the full set is back",
        Duration::from_secs(60),
        |e| block_of(e).is_some_and(|n| n > to),
    )
    .await?;
    let e = api
        .execution(&block_wf, &resumed.id)
        .await?
        .ok_or_else(|| anyhow!("execution {} not found", resumed.id))?;
    ensure!(e.success, "execution {} failed: {}", e.id, e.error);
    let signed = check_proof(env, &ids, threshold, &block_wf, &e).await?;
    println!(
        "ok   automation below threshold: operator {} alone ({} of {total} stake, threshold {threshold}%) reported blocks {fired:?} -> attestation tasks {statuses:?} with 1 signature, no execution after the {WINDOW_MS} ms window; full set back -> block {} executed ({}, {signed} signers) in {:.1?}",
        short(&ids[lone].to_string()),
        stake_of(&ids[lone]),
        block_of(&e).unwrap_or_default(),
        short(&e.id),
        part.elapsed()
    );

    // ---- 5: kill -9 the node mid-schedule, restart it on the same database ----
    let part = Instant::now();
    let before = api.executions(&block_wf).await?.len();
    // A slow REST endpoint keeps executions running for a while: kill the node once one is
    // caught unfinished (queued or running), while blocks keep coming.
    server.delay_ms.store(1500, Ordering::SeqCst);
    let mut caught = None;
    for _ in 0..40 {
        chain.mine(1).await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Some(e) = api
            .executions(&block_wf)
            .await?
            .into_iter()
            .find(|e| e.status != "finished")
        {
            caught = Some(e);
            break;
        }
    }
    let caught = caught.ok_or_else(|| anyhow!("no execution caught unfinished in 40 blocks"))?;
    if let Some(n) = node_proc.0.first_mut() {
        n.kill()?; // SIGKILL
        n.wait()?;
    }
    let killed_at = provider.get_block_number().await?;
    for c in &mut ops {
        drop(std::mem::take(c));
    }
    server.delay_ms.store(0, Ordering::SeqCst);
    chain.mine(INTERVAL).await?;
    drop(node_proc);
    let mut node_proc = Children::default();
    let (_, grpc) = node::start_node(&mut node_proc, &bin, env, &avs_file, &db, &config)?;
    let restarted_at = provider.get_block_number().await?;
    for (c, key) in ops.iter_mut().zip(&keys) {
        spawn_watcher(c, &bin, &grpc, &rpc, key)?;
    }
    let mut api = Api::connect(&grpc, &api_key).await?;
    let after = finished_where(
        env,
        &api,
        &block_wf,
        "an execution for a block after the restart",
        Duration::from_secs(60),
        |e| e.success && block_of(e).is_some_and(|n| n > restarted_at),
    )
    .await?;
    // Everything the restart left (queued, replayed reports) ends.
    let deadline = Instant::now() + Duration::from_secs(30);
    let all = loop {
        let all = api.executions(&block_wf).await?;
        if all.iter().all(|e| e.status == "finished") {
            break all;
        }
        ensure!(
            Instant::now() < deadline,
            "executions not finished 30 s after the restart: {:?}",
            all.iter()
                .filter(|e| e.status != "finished")
                .map(|e| (short(&e.id), e.status.as_str()))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let mut ids_seen = HashSet::new();
    let mut reasons_seen = HashSet::new();
    let mut interrupted = 0;
    for e in &all {
        let r = reason(e)?;
        ensure!(
            ids_seen.insert(e.id.clone()),
            "execution {} listed twice",
            e.id
        );
        ensure!(
            reasons_seen.insert(r),
            "reason {} executed twice",
            e.reason_json
        );
        ensure!(
            e.id == claim_digest(&block_wf, &r).to_string(),
            "execution {} is not its reason's claim digest",
            e.id
        );
        if !e.success {
            ensure!(
                e.error.contains("interrupted"),
                "execution {} ({}) failed: {}",
                short(&e.id),
                e.reason_json,
                e.error
            );
            interrupted += 1;
        }
    }
    // The caught execution ended: failed as interrupted if it was running, else it ran once.
    let ended = all
        .iter()
        .find(|e| e.id == caught.id)
        .ok_or_else(|| anyhow!("the execution caught {} is gone", caught.status))?;
    ensure!(
        ended.success || ended.error.contains("interrupted"),
        "caught execution {}: {}",
        short(&ended.id),
        ended.error
    );
    let caught_as = format!(
        "{} {} while {} -> {}",
        short(&caught.id),
        block_of(&caught).unwrap_or_default(),
        caught.status,
        if ended.success {
            "ran after the restart"
        } else {
            "finished as interrupted"
        }
    );
    let new_after = all
        .iter()
        .filter(|e| block_of(e).is_some_and(|n| n > restarted_at))
        .count();
    println!(
        "ok   automation restart: node killed (SIGKILL) at block {killed_at} with execution {caught_as} ({before} executions before), restarted at block {restarted_at} on the same db; {} executions, all finished, ids and reasons unique, {interrupted} interrupted; {new_after} new after the restart (first {} for block {}) in {:.1?}; step {:.1?}",
        all.len(),
        short(&after.id),
        block_of(&after).unwrap_or_default(),
        part.elapsed(),
        started.elapsed()
    );
    drop(ops);
    drop(node_proc);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(4)
}
