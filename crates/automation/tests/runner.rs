//! The runner against a real local HTTP server (REST and GraphQL), the real reqwest client and
//! the real sandbox; the chain port is a fake that answers one call (the devnet e2e reads a real
//! contract).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alloy_primitives::{Address, Bytes, U256};
use async_trait::async_trait;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use quorate_automation::sandbox::{Sandbox, SandboxLimits};
use quorate_automation::secrets::{SecretName, SecretSet, SecretValue};
use quorate_automation::{
    ContractReader, HttpClientConfig, Plan, ReadError, ReqwestHttpClient, RunOutcome, Runner,
    RunnerLimits, WorkflowLimits, WorkflowSpec,
};
use serde_json::{json, Value};

const API_KEY: &str = "sk-live-7f3a9c2e11";

/// Counts authorized calls, so a test can tell the secret reached the server.
#[derive(Clone, Default)]
struct Server {
    authorized: Arc<AtomicUsize>,
}

async fn price(
    State(server): State<Server>,
    headers: HeaderMap,
) -> Result<Json<Value>, StatusCode> {
    let expected = format!("Bearer {API_KEY}");
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return Err(StatusCode::UNAUTHORIZED);
    }
    server.authorized.fetch_add(1, Ordering::SeqCst);
    Ok(Json(
        json!({ "price": 3000, "items": [{ "v": 1 }, { "v": 5 }, { "v": 9 }] }),
    ))
}

async fn graphql(Json(body): Json<Value>) -> Json<Value> {
    match body["variables"]["symbol"].as_str() {
        Some("ETH") if body["query"].as_str().is_some_and(|q| q.contains("token")) => {
            Json(json!({ "data": { "token": { "symbol": "ETH", "decimals": 18 } } }))
        }
        _ => Json(json!({ "data": null, "errors": [{ "message": "unknown token" }] })),
    }
}

async fn start_server() -> (String, Server) {
    let server = Server::default();
    let app = Router::new()
        .route("/price", get(price))
        .route("/graphql", post(graphql))
        .route("/big", get(|| async { "x".repeat(4096) }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}"), server)
}

/// `balanceOf(owner)` returns 7e18 for any owner; anything else reverts.
struct FakeToken;

#[async_trait]
impl ContractReader for FakeToken {
    async fn call(&self, _to: Address, calldata: Bytes) -> Result<Bytes, ReadError> {
        // balanceOf(address) selector
        if calldata.len() == 36 && calldata[..4] == [0x70, 0xa0, 0x82, 0x31] {
            let value = U256::from(7u64) * U256::from(10u64).pow(U256::from(18u64));
            return Ok(Bytes::from(value.to_be_bytes::<32>().to_vec()));
        }
        Err(ReadError::Reverted { data: Bytes::new() })
    }
}

fn runner(allow_private: bool, limits: RunnerLimits) -> Runner {
    let http = ReqwestHttpClient::new(HttpClientConfig {
        allow_private_networks: allow_private,
        max_response_bytes: 2048,
        ..HttpClientConfig::default()
    })
    .unwrap();
    let sandbox = Sandbox::new(SandboxLimits {
        timeout: Duration::from_millis(300),
        ..SandboxLimits::default()
    })
    .unwrap();
    Runner::new(
        Arc::new(http),
        Some(Arc::new(FakeToken)),
        Arc::new(sandbox),
        limits,
    )
}

fn secrets() -> SecretSet {
    let mut set = SecretSet::new();
    set.insert(
        SecretName::parse("API_KEY").unwrap(),
        SecretValue::new(API_KEY.into()).unwrap(),
    );
    set
}

async fn run(runner: &Runner, workflow: Value) -> RunOutcome {
    let spec: WorkflowSpec = serde_json::from_value(workflow).unwrap();
    let plan = Plan::new(&spec, &WorkflowLimits::default(), 0).unwrap();
    let trigger = json!({ "number": 42, "owner": "0x00000000000000000000000000000000000000aa" });
    runner.run(&spec, &plan, trigger, &secrets(), None).await
}

fn workflow(base: &str) -> Value {
    json!({
        "name": "every step",
        "trigger": { "type": "block", "interval": 2 },
        "nodes": [
            { "id": "fetch", "name": "fetch", "type": "rest_api", "method": "GET",
              "url": format!("{base}/price"), "headers": { "authorization": "Bearer {{secrets.API_KEY}}" } },
            { "id": "gql", "name": "token", "type": "graphql", "url": format!("{base}/graphql"),
              "query": "query($symbol: String!) { token(symbol: $symbol) { symbol decimals } }",
              "variables": { "symbol": "ETH" } },
            { "id": "read", "name": "balance", "type": "contract_read",
              "address": "0x00000000000000000000000000000000000000bb",
              "method": "function balanceOf(address owner) view returns (uint256 amount)",
              "args": ["{{trigger.data.owner}}"] },
            { "id": "decide", "name": "decide", "type": "branch", "conditions": [
                { "id": "high", "expression": "fetch.data.body.price > 2000 && trigger.data.number === 42" },
                { "id": "low" } ] },
            { "id": "high", "name": "high", "type": "custom_code",
              "source": "console.log('key', '{{secrets.API_KEY}}'); return { total: fetch.data.body.price * 2, symbol: token.data.token.symbol, balance: balance.data.named.amount };" },
            { "id": "low", "name": "low", "type": "custom_code", "source": "return 'low';" },
            { "id": "keep", "name": "keep", "type": "filter", "input": "{{fetch.data.body.items}}", "expression": "value.v > 3 && index > 0" }
        ],
        "edges": [
            { "source": "fetch", "target": "gql" },
            { "source": "gql", "target": "read" },
            { "source": "read", "target": "decide" },
            { "source": "decide", "target": "high", "condition": "high" },
            { "source": "decide", "target": "low", "condition": "low" },
            { "source": "high", "target": "keep" }
        ]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_step_runs_and_no_secret_is_recorded() {
    let (base, server) = start_server().await;
    let outcome = run(&runner(true, RunnerLimits::default()), workflow(&base)).await;
    assert!(outcome.success, "{:?}", outcome.error);
    let names: Vec<&str> = outcome.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["fetch", "token", "balance", "decide", "high", "keep"],
        "low is skipped"
    );
    assert_eq!(
        server.authorized.load(Ordering::SeqCst),
        1,
        "the secret reached the server"
    );
    let step = |name: &str| outcome.steps.iter().find(|s| s.name == name).unwrap();
    assert_eq!(
        step("balance").output["named"]["amount"],
        "7000000000000000000"
    );
    assert_eq!(step("decide").output, json!({ "condition_id": "high" }));
    assert_eq!(
        step("high").output,
        json!({ "total": 6000, "symbol": "ETH", "balance": "7000000000000000000" })
    );
    assert_eq!(step("keep").output, json!([{ "v": 5 }, { "v": 9 }]));
    assert!(step("high").log.contains("key ***"), "{}", step("high").log);
    assert_eq!(
        step("fetch").inputs["headers"]["authorization"],
        "Bearer ***"
    );
    let recorded = serde_json::to_string(&outcome.steps).unwrap();
    assert!(
        !recorded.contains(API_KEY),
        "a secret reached the execution record"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_step_ends_the_execution_with_its_reason() {
    let (base, _) = start_server().await;
    let mut w = workflow(&base);
    w["nodes"][1]["variables"]["symbol"] = json!("DOGE");
    let outcome = run(&runner(true, RunnerLimits::default()), w).await;
    assert!(!outcome.success);
    assert_eq!(outcome.steps.len(), 2, "steps after the failure do not run");
    let error = outcome.error.unwrap();
    assert!(
        error.contains("node 'gql'") && error.contains("unknown token"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_destinations_are_refused_by_default() {
    let (base, _) = start_server().await;
    let port = base.rsplit(':').next().unwrap().to_owned();
    for url in [
        format!("{base}/price"),
        format!("http://localhost:{port}/price"),
        "http://169.254.169.254/latest/meta-data".into(),
    ] {
        let w = json!({ "name": "ssrf", "trigger": { "type": "manual" },
            "nodes": [{ "id": "a", "name": "a", "type": "rest_api", "method": "GET", "url": url }] });
        let outcome = run(&runner(false, RunnerLimits::default()), w).await;
        let error = outcome.error.unwrap_or_default();
        assert!(
            error.contains("destination refused") || error.contains("not a public address"),
            "{url}: {error}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_end_steps_with_typed_errors_and_the_runner_keeps_serving() {
    let (base, _) = start_server().await;
    let limits = RunnerLimits {
        step_timeout_ms: 500,
        max_output_bytes: 1024,
        ..RunnerLimits::default()
    };
    let runner = runner(true, limits);
    let one = |kind: Value| {
        let mut node = kind;
        node["id"] = json!("a");
        node["name"] = json!("a");
        json!({ "name": "limits", "trigger": { "type": "manual" }, "nodes": [node] })
    };
    let cases = [
        (
            json!({ "type": "custom_code", "source": "while (true) {}" }),
            "time limit",
        ),
        (
            json!({ "type": "custom_code", "source": "let a = []; while (true) a.push('x'.repeat(1000));" }),
            "memory",
        ),
        (
            json!({ "type": "custom_code", "source": "return 'y'.repeat(5000);" }),
            "output is",
        ),
        (
            json!({ "type": "rest_api", "method": "GET", "url": format!("{base}/slow") }),
            "timed out",
        ),
        (
            json!({ "type": "rest_api", "method": "GET", "url": format!("{base}/big") }),
            "larger than",
        ),
        (
            json!({ "type": "filter", "input": "{{trigger.data.number}}", "expression": "true" }),
            "not a json array",
        ),
        (
            json!({ "type": "rest_api", "method": "GET", "url": "{{trigger.data.missing_url}}" }),
            "missing_url",
        ),
    ];
    for (node, expected) in cases {
        let outcome = run(&runner, one(node.clone())).await;
        let error = outcome.error.unwrap_or_default();
        assert!(error.to_lowercase().contains(expected), "{node}: {error}");
    }
    let fine = run(
        &runner,
        one(json!({ "type": "custom_code", "source": "return trigger.data.number + 1;" })),
    )
    .await;
    assert_eq!(fine.steps[0].output, json!(43), "{:?}", fine.error);
}
