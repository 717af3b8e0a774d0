//! Hostile workflow runs against a real `quorate node --dev` process: scripts that never end or
//! eat memory, steps aimed at the node's own loopback endpoints, trigger reports without or
//! with someone else's session, reasons that do not fit the trigger, signatures by the wrong
//! key, and a single operator trying to fire a workflow below the attestation threshold. Also
//! `--dev` out of the box: the sample workflow runs, attested by the simulated operators.
//! Owners, refusals and secrets are in `hostile_workflows.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::operator::*;
use common::workflow::{code_workflow, wf, Wf};
use common::*;
use quorate_automation::claim_digest;
use quorate_automation::trigger::TriggerReason;
use quorate_bls::KeyPair;
use serde_json::{json, Value};
use tonic::{Code, Request};

const WINDOW_MS: u64 = 2000;

/// A `--dev` node without API keys (the anonymous caller is the `dev` admin), without the
/// sample workflow, nobody co-signing, and `[automation]` settings `extra_toml`.
fn start_quiet(dir: &Scratch, extra_toml: &str) -> Node {
    let config = dir.0.join("node.toml");
    std::fs::write(
        &config,
        format!("[automation]\ndev_sample_workflow = false\n{extra_toml}"),
    )
    .unwrap();
    start_node(
        &dir.0.join("node.redb"),
        &[
            "--config",
            config.to_str().unwrap(),
            "--dev-operators",
            "4",
            "--simulated-operators",
            "0",
            "--peer-rate-limit",
            "0",
        ],
    )
}

/// A manual workflow of one GET step to `url`.
fn get_spec(name: &str, url: &str) -> String {
    json!({
        "name": name,
        "trigger": { "type": "manual" },
        "nodes": [{ "id": "get", "name": "get", "type": "rest_api", "method": "GET", "url": url }]
    })
    .to_string()
}

async fn create(c: &mut Wf, spec: &str) -> pb::Workflow {
    c.create_workflow(pb::CreateWorkflowRequest {
        spec_json: spec.into(),
    })
    .await
    .expect("create workflow")
    .into_inner()
}

fn run_req(id: &str, blocking: bool) -> pb::TriggerWorkflowRequest {
    pb::TriggerWorkflowRequest {
        id: id.into(),
        blocking,
        trigger_data_json: String::new(),
    }
}

/// A blocking manual run; the finished execution.
async fn run(c: &mut Wf, id: &str) -> pb::Execution {
    let resp = c
        .trigger_workflow(run_req(id, true))
        .await
        .expect("trigger")
        .into_inner();
    assert_eq!(resp.status, "finished", "{resp:?}");
    resp.execution.expect("blocking run returns the execution")
}

fn steps(e: &pb::Execution) -> Vec<Value> {
    serde_json::from_str::<Vec<Value>>(&e.steps_json).unwrap()
}

fn block(number: u64) -> TriggerReason {
    TriggerReason::Block { number }
}

/// A report of `reason` on `workflow` naming `key`'s operator, signed by `signer`.
fn report(workflow: &str, reason_json: &str, key: &KeyPair, signer: &KeyPair) -> pb::TriggerReport {
    let reason: TriggerReason = serde_json::from_str(reason_json).unwrap();
    let digest = claim_digest(workflow, &reason);
    pb::TriggerReport {
        operator_id: key.operator_id().as_bytes().to_vec(),
        workflow_id: workflow.into(),
        reason_json: reason_json.into(),
        signature: signer.sign(&digest.0).to_bytes().to_vec(),
    }
}

fn reason_json(reason: &TriggerReason) -> String {
    serde_json::to_string(reason).unwrap()
}

/// Sends a report with `token`, retrying while the node says the task has not started.
async fn notify(
    op: &mut OpClient,
    msg: pb::TriggerReport,
    token: &str,
) -> Result<pb::SubmitVerdict, tonic::Status> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match op.notify_triggers(with_session(msg.clone(), token)).await {
            Err(s) if s.code() == Code::Unavailable && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other.map(tonic::Response::into_inner),
        }
    }
}

async fn executions(c: &mut Wf, id: &str) -> Vec<pb::Execution> {
    c.list_executions(pb::ListExecutionsRequest {
        workflow_id: id.into(),
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
    .executions
}

async fn task_status(grpc: &str, task_id: &[u8]) -> pb::TaskStatus {
    let t = client(grpc)
        .await
        .get_task(pb::GetTaskRequest {
            task_id: task_id.to_vec(),
        })
        .await
        .unwrap()
        .into_inner();
    pb::TaskStatus::try_from(t.status).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_reports_need_the_session_a_fitting_reason_and_the_quorum() {
    let dir = Scratch::new("wf-reports");
    let node = start_quiet(
        &dir,
        &format!(
            "dev_block_time_ms = 600000\nattestation_quorums = [[0, 67]]\n\
             attestation_window_ms = {WINDOW_MS}\n"
        ),
    );
    // The anonymous dev caller owns the workflow (no API keys configured).
    let mut c = wf(&node.grpc).await;
    let spec = json!({
        "name": "every 5 blocks",
        "trigger": { "type": "block", "interval": 5 },
        "nodes": [{ "id": "n", "name": "n", "type": "custom_code",
                    "source": "return trigger.data.number * 2;" }]
    });
    let w = create(&mut c, &spec.to_string()).await;
    let keys: Vec<KeyPair> = (0..4).map(|i| dev_key(1, i)).collect();
    let mut op = operator_client(&node.grpc).await;
    let mut tokens = Vec::new();
    let mut streams = Vec::new();
    for key in &keys {
        let (token, stream) = sign_in(&mut op, key, 0).await;
        tokens.push(token);
        streams.push(stream);
    }
    let b10 = reason_json(&block(10));

    // No session at all; someone else's session; a malformed one.
    let plain = op
        .notify_triggers(Request::new(report(&w.id, &b10, &keys[0], &keys[0])))
        .await
        .unwrap_err();
    assert_eq!(plain.code(), Code::Unauthenticated, "{plain:?}");
    let redirected = notify(&mut op, report(&w.id, &b10, &keys[1], &keys[1]), &tokens[0]).await;
    assert_eq!(redirected.unwrap_err().code(), Code::PermissionDenied);
    let forged = notify(&mut op, report(&w.id, &b10, &keys[0], &keys[0]), "00ff").await;
    assert_eq!(forged.unwrap_err().code(), Code::Unauthenticated);

    // Reasons that do not fit, and a workflow that does not exist.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let cron = reason_json(&TriggerReason::Cron {
        epoch: now - now % 60,
    });
    let misfits = [
        (report(&w.id, &cron, &keys[0], &keys[0]), "does not fit"),
        (
            report(&w.id, &reason_json(&block(7)), &keys[0], &keys[0]),
            "not a multiple of 5",
        ),
        (
            report(
                &w.id,
                &reason_json(&TriggerReason::Manual { at: now }),
                &keys[0],
                &keys[0],
            ),
            "does not fit",
        ),
    ];
    for (msg, needle) in misfits {
        let err = notify(&mut op, msg, &tokens[0]).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert!(err.message().contains(needle), "{err:?}");
    }
    let mut junk = report(&w.id, &b10, &keys[0], &keys[0]);
    junk.reason_json = r#"{"type":"block","number":10,"extra":1}"#.into();
    let err = notify(&mut op, junk, &tokens[0]).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    let ghost = notify(
        &mut op,
        report("wf000000000000000000000000", &b10, &keys[0], &keys[0]),
        &tokens[0],
    )
    .await;
    assert_eq!(ghost.unwrap_err().code(), Code::NotFound);

    // A signature by another key, or not a signature at all.
    let b20 = reason_json(&block(20));
    let wrong = notify(&mut op, report(&w.id, &b20, &keys[0], &keys[1]), &tokens[0]).await;
    assert_eq!(wrong.unwrap_err().code(), Code::InvalidArgument);
    let mut short = report(&w.id, &b20, &keys[0], &keys[0]);
    short.signature.truncate(63);
    let err = notify(&mut op, short, &tokens[0]).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");

    // One operator (1 000 of 4 006 stake, under 67 %) cannot fire a trigger.
    let alone = notify(&mut op, report(&w.id, &b10, &keys[0], &keys[0]), &tokens[0])
        .await
        .unwrap();
    assert_eq!(alone.verdict(), pb::Verdict::Accepted, "{alone:?}");
    assert!(alone.verified);
    let task10 = claim_digest(&w.id, &block(10)).0;
    let deadline = Instant::now() + Duration::from_millis(WINDOW_MS + 10_000);
    let ended = loop {
        let s = task_status(&node.grpc, &task10).await;
        if !matches!(s, pb::TaskStatus::Pending | pb::TaskStatus::Collecting)
            || Instant::now() > deadline
        {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        matches!(ended, pb::TaskStatus::Expired | pb::TaskStatus::Failed),
        "a lone operator's attestation ended {ended:?}"
    );
    // Late co-signers do not revive it.
    for i in 1..4 {
        let late = notify(&mut op, report(&w.id, &b10, &keys[i], &keys[i]), &tokens[i]).await;
        assert_eq!(late.unwrap_err().code(), Code::FailedPrecondition);
    }
    assert!(executions(&mut c, &w.id).await.is_empty());

    // Three of four operators (3 003 of 4 006) fire block 15 exactly once.
    let b15 = reason_json(&block(15));
    for i in 0..3 {
        notify(&mut op, report(&w.id, &b15, &keys[i], &keys[i]), &tokens[i])
            .await
            .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    let fired = loop {
        let all = executions(&mut c, &w.id).await;
        if all.iter().any(|e| e.status == "finished") || Instant::now() > deadline {
            break all;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(fired.len(), 1, "{fired:?}");
    let e = &fired[0];
    assert_eq!(e.status, "finished", "{e:?}");
    assert!(e.success, "{e:?}");
    let reason: Value = serde_json::from_str(&e.reason_json).unwrap();
    assert_eq!(reason, json!({ "type": "block", "number": 15 }));
    let steps: Vec<Value> = serde_json::from_str(&e.steps_json).unwrap();
    assert_eq!(steps[0]["output"], 30, "{steps:?}");
    let proof: Value = serde_json::from_str(&e.proof_json).unwrap();
    let signers: BTreeSet<String> = proof["signers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_lowercase())
        .collect();
    let reporters: BTreeSet<String> = keys[..3]
        .iter()
        .map(|k| k.operator_id().to_string().to_lowercase())
        .collect();
    assert_eq!(signers, reporters, "{proof}");
    let non_signers: Vec<String> = proof["non_signers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_lowercase())
        .collect();
    assert_eq!(
        non_signers,
        [keys[3].operator_id().to_string().to_lowercase()]
    );

    // The same reason again, from the fourth operator and from a first reporter: no new run.
    let _ = notify(&mut op, report(&w.id, &b15, &keys[3], &keys[3]), &tokens[3]).await;
    let again = notify(&mut op, report(&w.id, &b15, &keys[0], &keys[0]), &tokens[0]).await;
    assert!(again.is_err(), "a repeated report was accepted: {again:?}");
    // The window of the fired task passes too; still one execution, and block 20 (bad
    // signatures only) never ran.
    tokio::time::sleep(Duration::from_millis(WINDOW_MS + 500)).await;
    let after = executions(&mut c, &w.id).await;
    assert_eq!(after.len(), 1, "{after:?}");
    let wf = c
        .get_workflow(pb::WorkflowIdRequest { id: w.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(wf.total_execution, 1);

    // The operator pool (admin: the anonymous dev caller) saw every reporter, with their
    // reports and their open trigger streams... once they open one.
    let mut watchers = Vec::new();
    for (key, token) in keys.iter().zip(&tokens).take(2) {
        let request = with_session(
            pb::SyncTriggersRequest {
                operator_id: key.operator_id().as_bytes().to_vec(),
            },
            token,
        );
        watchers.push(op.sync_triggers(request).await.unwrap().into_inner());
    }
    let first = watchers[0].message().await.unwrap().unwrap();
    assert_eq!(first.workflow_id, w.id, "the live trigger is streamed");
    let pool = c
        .list_operators(pb::ListOperatorsRequest {})
        .await
        .unwrap()
        .into_inner()
        .operators;
    let entry = |key: &KeyPair| {
        pool.iter()
            .find(|o| o.operator_id == key.operator_id().as_bytes().to_vec())
            .cloned()
    };
    for (i, key) in keys.iter().enumerate() {
        let e = entry(key).unwrap_or_else(|| panic!("operator {i} missing from the pool"));
        assert!(
            e.trigger_reports >= 1 && e.last_seen_ms >= e.first_seen_ms,
            "{i}: {e:?}"
        );
        assert_eq!(e.connected, i < 2, "{i}: {e:?}");
    }
    assert_eq!(entry(&keys[0]).unwrap().triggers_watched, 1);
    drop(watchers);

    // A cancelled workflow takes no reports.
    c.cancel_workflow(pb::WorkflowIdRequest { id: w.id.clone() })
        .await
        .unwrap();
    let b25 = reason_json(&block(25));
    let stopped = notify(&mut op, report(&w.id, &b25, &keys[0], &keys[0]), &tokens[0]).await;
    assert_eq!(stopped.unwrap_err().code(), Code::FailedPrecondition);
    drop(streams);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_node_runs_the_attested_sample_workflow_out_of_the_box() {
    let dir = Scratch::new("wf-dev");
    let node = start_node(&dir.0.join("node.redb"), &[]);
    let mut c = Wf::connect(node.grpc.clone()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let (sample, done) = loop {
        let listed = c
            .list_workflows(pb::ListWorkflowsRequest::default())
            .await
            .unwrap()
            .into_inner()
            .workflows;
        let sample = listed
            .into_iter()
            .find(|w| w.name == "dev sample: every 5 blocks");
        if let Some(sample) = sample {
            let done: Vec<pb::Execution> = executions(&mut c, &sample.id)
                .await
                .into_iter()
                .filter(|e| e.status == "finished")
                .collect();
            if !done.is_empty() || Instant::now() > deadline {
                break (sample, done);
            }
        }
        assert!(Instant::now() < deadline, "no sample workflow within 60 s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(sample.owner, "dev");
    let e = done.first().expect("a finished execution within 60 s");
    assert!(e.success, "{e:?}");
    let reason: Value = serde_json::from_str(&e.reason_json).unwrap();
    assert_eq!(reason["type"], "block");
    let number = reason["number"].as_u64().unwrap();
    assert_eq!(number % 5, 0, "{reason}");
    let proof: Value = serde_json::from_str(&e.proof_json).unwrap();
    assert!(!proof["signers"].as_array().unwrap().is_empty(), "{proof}");
    let steps: Vec<Value> = serde_json::from_str(&e.steps_json).unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s["name"].as_str().unwrap()).collect();
    let taken = if number % 2 == 0 { "onEven" } else { "onOdd" };
    assert_eq!(names, ["compute", "check", taken], "{steps:?}");
    assert_eq!(steps[0]["output"]["square"], number * number);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runaway_scripts_time_out_and_steps_cannot_reach_loopback() {
    let dir = Scratch::new("wf-sandbox");
    let node = start_quiet(&dir, "");
    let mut c = wf(&node.grpc).await;
    let spin = create(&mut c, &code_workflow("spin", "while (true) {}")).await;
    let hog = create(
        &mut c,
        &code_workflow(
            "hog",
            "const a = []; while (true) { a.push('x'.repeat(1 << 20)); }",
        ),
    )
    .await;
    let good = create(&mut c, &code_workflow("good", "return 6 * 7;")).await;
    // Fill every runner with scripts that never end, then run a good one.
    let mut queued = Vec::new();
    for id in [&spin.id, &spin.id, &spin.id, &hog.id] {
        let resp = c
            .trigger_workflow(run_req(id, false))
            .await
            .unwrap()
            .into_inner();
        queued.push((id.clone(), resp.execution_id));
    }
    let started = Instant::now();
    let ok = run(&mut c, &good.id).await;
    assert!(ok.success, "{ok:?}");
    assert_eq!(steps(&ok)[0]["output"], 42);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    for (wid, eid) in &queued {
        let finished = loop {
            let e = c
                .get_execution(pb::ExecutionIdRequest {
                    workflow_id: wid.clone(),
                    execution_id: eid.clone(),
                })
                .await
                .unwrap()
                .into_inner();
            if e.status == "finished" {
                break e;
            }
            assert!(Instant::now() < deadline, "{e:?} never finished");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(!finished.success, "{finished:?}");
        let want = if wid == &spin.id {
            "time limit"
        } else {
            "limit"
        };
        assert!(finished.error.contains(want), "{finished:?}");
    }

    // SSRF: the node's own metrics, and a listener of ours under other spellings of loopback.
    let trap = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let port = trap.local_addr().unwrap().port();
    let targets = [
        format!("{}/metrics", node.http),
        format!("http://localhost:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("http://0x7f000001:{port}/"),
        format!("http://127.1:{port}/"),
        format!("http://0.0.0.0:{port}/"),
    ];
    for (i, url) in targets.iter().enumerate() {
        let w = create(&mut c, &get_spec(&format!("ssrf {i}"), url)).await;
        let e = run(&mut c, &w.id).await;
        assert!(!e.success, "{url}: {e:?}");
        assert!(e.error.contains("destination refused"), "{url}: {e:?}");
        let step = &steps(&e)[0];
        assert_eq!(step["output"], Value::Null, "{url}: {step}");
    }
    assert!(
        trap.accept().is_err(),
        "a step connected to the loopback listener"
    );
    // Still serving after all of it.
    let again = run(&mut c, &good.id).await;
    assert!(again.success);
}

/// A workflow past its `expired_at` is completed by the node on its own: its trigger is
/// withdrawn from operators' streams and it takes no more runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_workflow_is_completed_and_its_trigger_withdrawn() {
    let dir = Scratch::new("wf-expiry");
    let node = start_quiet(&dir, "dev_block_time_ms = 600000\n");
    let mut c = wf(&node.grpc).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let spec = json!({
        "name": "short-lived",
        "expired_at": now + 2,
        "trigger": { "type": "block", "interval": 5 },
        "nodes": [{ "id": "n", "name": "n", "type": "custom_code", "source": "return 1;" }]
    });
    let w = create(&mut c, &spec.to_string()).await;
    assert_eq!(w.status, "active");
    let key = dev_key(1, 0);
    let mut op = operator_client(&node.grpc).await;
    let (token, _tasks) = sign_in(&mut op, &key, 0).await;
    let request = with_session(
        pb::SyncTriggersRequest {
            operator_id: key.operator_id().as_bytes().to_vec(),
        },
        &token,
    );
    let mut stream = op.sync_triggers(request).await.unwrap().into_inner();
    let live = stream.message().await.unwrap().unwrap();
    assert_eq!(
        (live.workflow_id.as_str(), live.removed),
        (w.id.as_str(), false)
    );
    // The sweep runs every 5 s: within 15 s the trigger is withdrawn and the status final.
    let withdrawn = tokio::time::timeout(Duration::from_secs(15), stream.message())
        .await
        .expect("the expired trigger was never withdrawn")
        .unwrap()
        .unwrap();
    assert_eq!(
        (withdrawn.workflow_id.as_str(), withdrawn.removed),
        (w.id.as_str(), true)
    );
    let got = c
        .get_workflow(pb::WorkflowIdRequest { id: w.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.status, "completed");
    let run = c
        .trigger_workflow(pb::TriggerWorkflowRequest {
            id: w.id.clone(),
            blocking: true,
            trigger_data_json: String::new(),
        })
        .await;
    assert_eq!(run.unwrap_err().code(), Code::FailedPrecondition);
}
