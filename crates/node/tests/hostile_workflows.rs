//! Hostile workflow owners against a real `quorate node` process: reading and changing another
//! owner's workflows, refused workflows, quota races, leaking secrets through steps, logs and
//! errors. Each attack is refused with its exact gRPC status. Runaway scripts, SSRF and trigger
//! reports are in `hostile_workflow_runs.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::workflow::{code_workflow, wf, Wf};
use common::*;
use serde_json::{json, Value};
use tonic::{Code, Request};

const KEYS: &str = r#"
[[api_keys]]
name = "alice"
key = "alice-key"
role = "client"
[[api_keys]]
name = "bob"
key = "bob-key"
role = "client"
[[api_keys]]
name = "ops"
key = "ops-key"
role = "readonly"
"#;

fn as_key<T>(msg: T, key: &str) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("x-api-key", key.parse().unwrap());
    r
}

fn code<T>(r: Result<tonic::Response<T>, tonic::Status>) -> Code {
    match r {
        Ok(_) => Code::Ok,
        Err(s) => s.code(),
    }
}

/// A node with the API keys above plus `extra_toml`, and `extra` flags.
fn start(dir: &Scratch, extra_toml: &str, extra: &[&str]) -> Node {
    let config = dir.0.join("node.toml");
    std::fs::write(&config, format!("{KEYS}\n{extra_toml}")).unwrap();
    let mut args = vec![
        "--config",
        config.to_str().unwrap(),
        "--simulated-operators",
        "0",
        "--peer-rate-limit",
        "0",
    ];
    args.extend_from_slice(extra);
    start_node(&dir.0.join("node.redb"), &args)
}

async fn create(c: &mut Wf, key: &str, spec: &str) -> pb::Workflow {
    c.create_workflow(as_key(
        pb::CreateWorkflowRequest {
            spec_json: spec.into(),
        },
        key,
    ))
    .await
    .expect("create workflow")
    .into_inner()
}

fn create_req(spec: &str) -> pb::CreateWorkflowRequest {
    pb::CreateWorkflowRequest {
        spec_json: spec.into(),
    }
}

fn id_req(id: &str) -> pb::WorkflowIdRequest {
    pb::WorkflowIdRequest { id: id.into() }
}

fn run_req(id: &str, blocking: bool) -> pb::TriggerWorkflowRequest {
    pb::TriggerWorkflowRequest {
        id: id.into(),
        blocking,
        trigger_data_json: String::new(),
    }
}

/// A blocking manual run; the finished execution.
async fn run(c: &mut Wf, key: &str, id: &str) -> pb::Execution {
    let resp = c
        .trigger_workflow(as_key(run_req(id, true), key))
        .await
        .expect("trigger")
        .into_inner();
    assert_eq!(resp.status, "finished", "{resp:?}");
    resp.execution.expect("blocking run returns the execution")
}

async fn count(c: &mut Wf, key: &str) -> u64 {
    c.get_workflow_count(as_key(pb::CountRequest::default(), key))
        .await
        .unwrap()
        .into_inner()
        .count
}

async fn list_ids(c: &mut Wf, key: &str) -> Vec<String> {
    c.list_workflows(as_key(pb::ListWorkflowsRequest::default(), key))
        .await
        .unwrap()
        .into_inner()
        .workflows
        .into_iter()
        .map(|w| w.id)
        .collect()
}

async fn executions(c: &mut Wf, key: &str, id: &str) -> Vec<pb::Execution> {
    c.list_executions(as_key(
        pb::ListExecutionsRequest {
            workflow_id: id.into(),
            ..Default::default()
        },
        key,
    ))
    .await
    .unwrap()
    .into_inner()
    .executions
}

fn steps(e: &pb::Execution) -> Vec<Value> {
    serde_json::from_str::<Vec<Value>>(&e.steps_json).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_are_isolated_and_roles_are_enforced() {
    let dir = Scratch::new("wf-isolation");
    let node = start(&dir, "", &[]);
    let mut c = wf(&node.grpc).await;
    let alice_wf = create(&mut c, "alice-key", &code_workflow("alice's", "return 1;")).await;
    assert_eq!(alice_wf.owner, "alice");
    let alice_run = run(&mut c, "alice-key", &alice_wf.id).await;
    assert!(alice_run.success, "{alice_run:?}");
    let bob_wf = create(&mut c, "bob-key", &code_workflow("bob's", "return 2;")).await;
    let id = alice_wf.id.as_str();

    // Everything bob tries on alice's workflow reads as "no such workflow".
    let exec_req = pb::ExecutionIdRequest {
        workflow_id: id.into(),
        execution_id: alice_run.id.clone(),
    };
    let codes = [
        code(c.get_workflow(as_key(id_req(id), "bob-key")).await),
        code(c.cancel_workflow(as_key(id_req(id), "bob-key")).await),
        code(c.delete_workflow(as_key(id_req(id), "bob-key")).await),
        code(
            c.trigger_workflow(as_key(run_req(id, true), "bob-key"))
                .await,
        ),
        code(
            c.list_executions(as_key(
                pb::ListExecutionsRequest {
                    workflow_id: id.into(),
                    ..Default::default()
                },
                "bob-key",
            ))
            .await,
        ),
        code(c.get_execution(as_key(exec_req.clone(), "bob-key")).await),
        code(c.get_execution_status(as_key(exec_req, "bob-key")).await),
        code(
            c.get_execution_count(as_key(
                pb::CountRequest {
                    workflow_id: id.into(),
                },
                "bob-key",
            ))
            .await,
        ),
        code(
            c.create_secret(as_key(
                pb::SecretRequest {
                    name: "STOLEN".into(),
                    value: "x".into(),
                    workflow_id: id.into(),
                },
                "bob-key",
            ))
            .await,
        ),
    ];
    assert_eq!(codes, [Code::NotFound; 9]);
    // bob sees only his own.
    assert_eq!(list_ids(&mut c, "bob-key").await, [bob_wf.id.as_str()]);
    assert_eq!(count(&mut c, "bob-key").await, 1);
    let bob_stats = c
        .get_execution_stats(as_key(pb::ExecutionStatsRequest::default(), "bob-key"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(bob_stats.total, 0, "alice's run counted for bob");

    // A read-only key reads but cannot create, run or stop anything.
    let ops = [
        code(
            c.create_workflow(as_key(create_req(&code_workflow("ops", "1")), "ops-key"))
                .await,
        ),
        code(c.cancel_workflow(as_key(id_req(id), "ops-key")).await),
        code(
            c.trigger_workflow(as_key(run_req(id, true), "ops-key"))
                .await,
        ),
        code(c.delete_workflow(as_key(id_req(id), "ops-key")).await),
    ];
    assert_eq!(ops, [Code::PermissionDenied; 4]);
    // The operator pool is for admins only.
    for key in ["ops-key", "alice-key"] {
        let pool = c
            .list_operators(as_key(pb::ListOperatorsRequest {}, key))
            .await;
        assert_eq!(code(pool), Code::PermissionDenied, "{key}");
    }
    assert_eq!(count(&mut c, "ops-key").await, 0);

    // No credentials on a node with API keys.
    let anonymous = [
        code(
            c.create_workflow(create_req(&code_workflow("anon", "1")))
                .await,
        ),
        code(c.list_workflows(pb::ListWorkflowsRequest::default()).await),
        code(c.get_workflow(id_req(id)).await),
    ];
    assert_eq!(anonymous, [Code::Unauthenticated; 3]);

    // None of it touched alice's workflow, its executions or her secrets.
    let after = c
        .get_workflow(as_key(id_req(id), "alice-key"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.status, "active");
    assert_eq!(after.total_execution, 1);
    assert_eq!(executions(&mut c, "alice-key", id).await.len(), 1);
    let secrets = c
        .list_secrets(as_key(pb::ListSecretsRequest::default(), "alice-key"))
        .await
        .unwrap()
        .into_inner()
        .secrets;
    assert!(secrets.is_empty(), "{secrets:?}");
    assert_eq!(list_ids(&mut c, "alice-key").await, [alice_wf.id.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_workflows_store_nothing_and_the_quota_holds() {
    let dir = Scratch::new("wf-refused");
    let node = start(&dir, "[automation]\nmax_workflows_per_owner = 2\n", &[]);
    let mut c = wf(&node.grpc).await;
    let manual = json!({ "type": "manual" });
    let one =
        |source: &str| json!([{ "id": "a", "name": "a", "type": "custom_code", "source": source }]);
    let bad: Vec<(&str, Value, &str)> = vec![
        (
            "cycle",
            json!({ "name": "cycle", "trigger": manual, "nodes": [
                { "id": "a", "name": "a", "type": "custom_code", "source": "1" },
                { "id": "b", "name": "b", "type": "custom_code", "source": "2" }],
                "edges": [{ "source": "a", "target": "b" }, { "source": "b", "target": "a" }] }),
            "cycle",
        ),
        (
            "dangling edge",
            json!({ "name": "dangling", "trigger": manual, "nodes": one("1"),
                "edges": [{ "source": "a", "target": "ghost" }] }),
            "unknown node 'ghost'",
        ),
        (
            "bad cron",
            json!({ "name": "cron", "trigger": { "type": "cron", "schedules": ["61 * * * *"] },
                "nodes": one("1") }),
            "cron schedule #0",
        ),
        (
            "bad ABI",
            json!({ "name": "abi", "trigger": manual, "nodes": [{ "id": "r", "name": "r",
                "type": "contract_read", "address": "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
                "method": "function balanceOf(address", "args": ["0x01"] }] }),
            "bad ABI",
        ),
        (
            "oversize code",
            json!({ "name": "big", "trigger": manual, "nodes": one(&"1;".repeat(32 * 1024 + 1)) }),
            "65538 bytes",
        ),
        (
            "256-char name",
            json!({ "name": "n".repeat(256), "trigger": manual, "nodes": one("1") }),
            "got 256",
        ),
        (
            "unknown top-level field",
            json!({ "name": "x", "trigger": manual, "nodes": one("1"), "colour": "red" }),
            "unknown field `colour`",
        ),
        (
            "unknown node field",
            json!({ "name": "x", "trigger": manual, "nodes": [{ "id": "a", "name": "a",
                "type": "custom_code", "source": "1", "timeout_ms": 99999 }] }),
            "timeout_ms",
        ),
        (
            "unknown trigger field",
            json!({ "name": "x", "trigger": { "type": "manual", "at": 5 }, "nodes": one("1") }),
            "unknown field `at`",
        ),
    ];
    for (what, spec, needle) in &bad {
        let err = c
            .create_workflow(as_key(create_req(&spec.to_string()), "alice-key"))
            .await
            .expect_err(what);
        assert_eq!(err.code(), Code::InvalidArgument, "{what}: {err:?}");
        assert!(
            err.message().contains(needle),
            "{what}: message {:?} does not name {needle:?}",
            err.message()
        );
    }
    assert_eq!(count(&mut c, "alice-key").await, 0);
    assert!(list_ids(&mut c, "alice-key").await.is_empty());

    // Sequentially: the third is refused, naming the limit; a deleted one frees its slot.
    let first = create(&mut c, "alice-key", &code_workflow("one", "1")).await;
    create(&mut c, "alice-key", &code_workflow("two", "2")).await;
    let err = c
        .create_workflow(as_key(
            create_req(&code_workflow("three", "3")),
            "alice-key",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(err.message().contains("at most 2"), "{err:?}");
    assert_eq!(count(&mut c, "alice-key").await, 2);
    let deleted = c
        .delete_workflow(as_key(id_req(&first.id), "alice-key"))
        .await
        .unwrap()
        .into_inner();
    assert!(deleted.deleted);
    create(&mut c, "alice-key", &code_workflow("three", "3")).await;
    assert_eq!(count(&mut c, "alice-key").await, 2);
}

/// Spawns a node whose stdout and stderr go to files in `dir` (read after the test); waits
/// for its listening banner.
fn start_logged(dir: &Scratch, extra: &[&str]) -> (Node, std::path::PathBuf, std::path::PathBuf) {
    let config = dir.0.join("node.toml");
    std::fs::write(&config, KEYS).unwrap();
    let (out, err) = (dir.0.join("node.out"), dir.0.join("node.err"));
    let mut args = vec![
        "--config",
        config.to_str().unwrap(),
        "--peer-rate-limit",
        "0",
    ];
    args.extend_from_slice(extra);
    let child = Command::new(BIN)
        .args(dev_node_args(&dir.0.join("node.redb"), &args))
        // Verbose on purpose: more log lines are more places a secret could leak to.
        .env(
            "RUST_LOG",
            "info,quorate_node=debug,quorate_automation=debug,quorate=debug",
        )
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let proc = Proc(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    let line = loop {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains("listening grpc=")) {
            break line.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no banner; stderr: {:?}",
            std::fs::read_to_string(&err)
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .unwrap()
            .to_string()
    };
    let node = Node {
        grpc: field("grpc="),
        http: field("http="),
        banner: line.clone(),
        proc,
    };
    (node, out, err)
}

fn file_contains(path: &Path, needle: &str) -> bool {
    let bytes = std::fs::read(path).unwrap_or_default();
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_come_back_from_any_call_log_or_file() {
    let dir = Scratch::new("wf-secrets");
    let (node, out, err) = start_logged(&dir, &["--simulated-operators", "0"]);
    let mut c = wf(&node.grpc).await;
    let value = format!("sk-test-{}", hex::encode(rand::random::<[u8; 16]>()));
    let put = |name: &str, value: &str| pb::SecretRequest {
        name: name.into(),
        value: value.into(),
        workflow_id: String::new(),
    };
    let info = c
        .create_secret(as_key(put("API_KEY", &value), "alice-key"))
        .await
        .unwrap()
        .into_inner();
    let mut seen = format!("{info:?}");
    // Refusals, with their exact codes.
    let dup = c
        .create_secret(as_key(put("API_KEY", "other"), "alice-key"))
        .await;
    assert_eq!(code(dup), Code::AlreadyExists);
    let missing = c.update_secret(as_key(put("NOPE", "v"), "alice-key")).await;
    assert_eq!(code(missing), Code::NotFound);
    let bad_name = c.create_secret(as_key(put("a-b", "v"), "alice-key")).await;
    assert_eq!(code(bad_name), Code::InvalidArgument);
    let ro = c.create_secret(as_key(put("RO", "v"), "ops-key")).await;
    assert_eq!(code(ro), Code::PermissionDenied);
    // Names only, and only the owner's.
    let listed = c
        .list_secrets(as_key(pb::ListSecretsRequest::default(), "alice-key"))
        .await
        .unwrap()
        .into_inner();
    let names: Vec<&str> = listed.secrets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["API_KEY"]);
    seen += &format!("{listed:?}");
    let bob_list = c
        .list_secrets(as_key(pb::ListSecretsRequest::default(), "bob-key"))
        .await
        .unwrap()
        .into_inner();
    assert!(bob_list.secrets.is_empty(), "{bob_list:?}");

    // A step that logs and returns the secret, and one that throws it in an error.
    let echo = create(
        &mut c,
        "alice-key",
        &code_workflow(
            "echo",
            "const k = \"{{secrets.API_KEY}}\"; console.log('key is ' + k); \
             return { key: k, twice: k + k, len: k.length };",
        ),
    )
    .await;
    let thrower = create(
        &mut c,
        "alice-key",
        &code_workflow("thrower", "throw new Error('leaked {{secrets.API_KEY}}');"),
    )
    .await;
    // bob's workflow using a secret of the same name does not get alice's.
    let bob_echo = create(
        &mut c,
        "bob-key",
        &code_workflow("bob echo", "return \"{{secrets.API_KEY}}\";"),
    )
    .await;
    let ran = run(&mut c, "alice-key", &echo.id).await;
    assert!(ran.success, "{ran:?}");
    let step = &steps(&ran)[0];
    assert_eq!(step["output"]["key"], "***", "{step}");
    // The secret ran for real: its length reached the script.
    assert_eq!(step["output"]["len"], value.len(), "{step}");
    assert!(
        step["log"].as_str().unwrap().contains("key is ***"),
        "{step}"
    );
    assert!(step["inputs"].to_string().contains("***"), "{step}");
    let thrown = run(&mut c, "alice-key", &thrower.id).await;
    assert!(!thrown.success);
    assert!(thrown.error.contains("leaked ***"), "{thrown:?}");
    let bob_run = c
        .trigger_workflow(as_key(run_req(&bob_echo.id, true), "bob-key"))
        .await;
    seen += &format!("{bob_run:?}");

    for (wid, eid) in [(&echo.id, &ran.id), (&thrower.id, &thrown.id)] {
        let got = c
            .get_execution(as_key(
                pb::ExecutionIdRequest {
                    workflow_id: wid.clone(),
                    execution_id: eid.clone(),
                },
                "alice-key",
            ))
            .await
            .unwrap()
            .into_inner();
        let want = if eid == &ran.id { &ran } else { &thrown };
        assert_eq!(got.steps_json, want.steps_json);
        seen += &format!("{got:?}");
        seen += &format!("{:?}", executions(&mut c, "alice-key", wid).await);
        seen += &format!(
            "{:?}",
            c.get_workflow(as_key(id_req(wid), "alice-key"))
                .await
                .unwrap()
        );
    }
    seen += &format!("{ran:?}{thrown:?}");
    assert!(!seen.contains(&value), "the secret came back from a call");
    assert!(
        !seen.contains(&value[8..]),
        "part of the secret came back from a call"
    );

    // Nothing written by the node holds it: not its output, not its database.
    drop(c);
    let mut node = node;
    node.proc.sigterm();
    for file in [&out, &err, &dir.0.join("node.redb")] {
        assert!(file.exists(), "{file:?}");
        assert!(
            !file_contains(file, &value[8..]),
            "the secret is in {file:?}"
        );
    }
    // The captures hold what the runs did (so the checks above could have failed): the runs'
    // log lines, and the secret's name in the database.
    assert!(file_contains(&out, "listening grpc="));
    assert!(file_contains(&out, "execution finished") || file_contains(&err, "execution finished"));
    assert!(file_contains(&dir.0.join("node.redb"), "API_KEY"));
}

/// Concurrent creates of one owner cannot pass the quota together (the count is taken inside
/// the write transaction that inserts; found by this test when it was two transactions).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workflow_quota_holds_under_concurrent_creates() {
    let dir = Scratch::new("wf-quota-race");
    let node = start(&dir, "[automation]\nmax_workflows_per_owner = 2\n", &[]);
    let mut c = wf(&node.grpc).await;
    let spec = code_workflow("racer", "return 1;");
    let racers: Vec<_> = (0..12)
        .map(|_| {
            let (mut c, spec) = (c.clone(), spec.clone());
            tokio::spawn(async move {
                code(
                    c.create_workflow(as_key(create_req(&spec), "bob-key"))
                        .await,
                )
            })
        })
        .collect();
    let mut codes = Vec::new();
    for r in racers {
        codes.push(r.await.unwrap());
    }
    let created = codes.iter().filter(|c| **c == Code::Ok).count();
    let bob_count = count(&mut c, "bob-key").await;
    assert_eq!(
        (created, bob_count),
        (2, 2),
        "concurrent creates exceeded max_workflows_per_owner = 2: {codes:?}"
    );
    assert!(codes
        .iter()
        .all(|c| matches!(c, Code::Ok | Code::ResourceExhausted)));
}
