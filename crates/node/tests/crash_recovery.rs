//! SIGKILL mid-run: every acknowledged signature and task survives, and the tasks complete
//! after the restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;

const TASKS: u64 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_then_restart_loses_nothing_acknowledged() {
    let dir = Scratch::new("crash");
    let db = dir.0.join("node.redb");
    // 4 dev operators, tasks need 100%: three operators can sign but not complete them.
    let args = ["--dev-operators", "4", "--simulated-operators", "0"];
    let mut node = start_node(&db, &args);
    let mut c = client(&node.grpc).await;
    for i in 1..=TASKS {
        c.create_task(create_req(i, 100, 120_000))
            .await
            .expect("create");
    }
    let mut ops: Vec<Proc> = (0..3).map(|i| start_operator(&node.grpc, i)).collect();
    // Wait until every task holds the three acknowledged signatures.
    let deadline = Instant::now() + Duration::from_secs(60);
    let acknowledged = loop {
        let resp = c
            .list_tasks(pb::ListTasksRequest {
                status: 0,
                creator: String::new(),
                page_token: String::new(),
                limit: 1000,
                full: false,
            })
            .await
            .expect("list")
            .into_inner();
        let sigs: u32 = resp.tasks.iter().map(|t| t.signatures).sum();
        if sigs == 3 * TASKS as u32 || Instant::now() > deadline {
            break sigs;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(acknowledged, 3 * TASKS as u32);

    node.proc.kill9();
    for op in &mut ops {
        op.kill9();
    }
    drop(c);

    let node = start_node(&db, &args);
    eprintln!("after SIGKILL: {}", node.banner.trim());
    assert!(
        node.banner.contains(&format!("recovered_tasks={TASKS}")),
        "{}",
        node.banner
    );
    assert!(
        node.banner
            .contains(&format!("recovered_signatures={}", 3 * TASKS)),
        "{}",
        node.banner
    );
    let mut c = client(&node.grpc).await;
    let collecting = count_status(&mut c, pb::TaskStatus::Collecting).await;
    assert_eq!(
        collecting, TASKS as usize,
        "every task survived, still open"
    );
    // The fourth operator (never seen before) completes every task.
    let _last = start_operator(&node.grpc, 3);
    let done = wait_for_status(
        &node.grpc,
        pb::TaskStatus::Submitted,
        TASKS as usize,
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(done, TASKS as usize);
    // All four signed: the three signatures from before the crash counted.
    let mut id = [0u8; 32];
    id[31] = 1;
    let agg = c
        .get_aggregate(pb::GetTaskRequest {
            task_id: id.to_vec(),
        })
        .await
        .expect("aggregate")
        .into_inner();
    assert_eq!(agg.signer_ids.len(), 4);
}

/// The node's dev key derivation (see `compute::dev_key`).
fn dev_key(index: u32) -> quorate_bls::KeyPair {
    use rand::SeedableRng;
    let mut rng =
        rand_chacha::ChaCha20Rng::seed_from_u64(1u64.wrapping_mul(1_000_003) + u64::from(index));
    quorate_bls::KeyPair::random(&mut rng)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_signatures_stream_in_keeps_every_acknowledged_one() {
    use sha3::{Digest, Keccak256};
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    let dir = Scratch::new("crash-mid");
    let db = dir.0.join("node.redb");
    let args = ["--dev-operators", "4", "--simulated-operators", "0"];
    let mut node = start_node(&db, &args);
    let mut c = client(&node.grpc).await;
    const N: u64 = 30;
    for i in 1..=N {
        c.create_task(create_req(i, 100, 120_000))
            .await
            .expect("create");
    }
    let acked: Arc<Mutex<HashMap<u64, u32>>> = Arc::default();
    let keys: Vec<_> = (0..3).map(dev_key).collect();
    let mut jobs = Vec::new();
    for (k, key) in keys.into_iter().enumerate() {
        let (grpc, acked) = (node.grpc.clone(), Arc::clone(&acked));
        jobs.push(tokio::spawn(async move {
            let mut op = operator_client(&grpc).await;
            // Submissions need the operator's session (see hostile_operators.rs).
            let (token, _stream) = common::operator::sign_in(&mut op, &key, 0).await;
            for i in 1..=N {
                let response = format!("payload {i}").into_bytes();
                let digest: [u8; 32] = Keccak256::digest(&response).into();
                let mut id = [0u8; 32];
                id[24..].copy_from_slice(&i.to_be_bytes());
                let sent = op
                    .submit_signed_response(common::operator::with_session(
                        pb::SignedResponse {
                            task_id: id.to_vec(),
                            operator_id: key.operator_id().as_bytes().to_vec(),
                            digest: digest.to_vec(),
                            signature: key.sign(&digest).to_bytes().to_vec(),
                            response,
                        },
                        &token,
                    ))
                    .await;
                match sent {
                    Ok(_) => *acked.lock().unwrap().entry(i).or_default() += 1,
                    Err(_) => return k, // the node died
                }
            }
            k
        }));
    }
    // Kill the node mid-stream.
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().values().sum::<u32>() < 20 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    node.proc.kill9();
    for j in jobs {
        let _ = j.await;
    }
    let acked = acked.lock().unwrap().clone();
    let total: u32 = acked.values().sum();
    assert!(total >= 20, "acknowledged before the kill: {total}");

    let node = start_node(&db, &args);
    eprintln!(
        "killed with {total} acknowledged; restart: {}",
        node.banner.trim()
    );
    let mut c = client(&node.grpc).await;
    for (i, n) in &acked {
        let mut id = [0u8; 32];
        id[24..].copy_from_slice(&i.to_be_bytes());
        let t = c
            .get_task(pb::GetTaskRequest {
                task_id: id.to_vec(),
            })
            .await
            .expect("task survived")
            .into_inner();
        assert!(
            t.signatures >= *n,
            "task {i}: {} stored < {n} acknowledged",
            t.signatures
        );
    }
    // Every operator (re)signs: all tasks complete.
    let _ops: Vec<Proc> = (0..4).map(|i| start_operator(&node.grpc, i)).collect();
    let done = wait_for_status(
        &node.grpc,
        pb::TaskStatus::Submitted,
        N as usize,
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(done, N as usize);
}

// ---- Lifecycle points: the node dies (SIGKILL to itself, via the `--dev`-only hook
// `QUORATE_TEST_CRASH_AT`) at a chosen point; a restart finishes every task exactly once.

/// Starts a `--dev` node with extra environment variables; `None` if it died before listening.
fn start_node_env(db: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Option<Node> {
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(dev_node_args(db, args));
    for (k, v) in env {
        cmd.env(k, v);
    }
    spawn_node(&mut cmd)
}

/// Waits (bounded) for the node process to exit; its status.
fn wait_exit(node: &mut Node, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(Some(s)) = node.proc.0.try_wait() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// A gauge from `/metrics` (0 when absent).
fn gauge(node: &Node, name: &str) -> f64 {
    let (_, body) = http_get(&node.http, "/metrics");
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0.0)
}

fn task_id(i: u64) -> Vec<u8> {
    let mut id = [0u8; 32];
    id[24..].copy_from_slice(&i.to_be_bytes());
    id.to_vec()
}

async fn status_of(grpc: &str, i: u64) -> (i32, u32) {
    let mut c = client(grpc).await;
    let t = c
        .get_task(pb::GetTaskRequest {
            task_id: task_id(i),
        })
        .await
        .expect("task survived")
        .into_inner();
    (t.status, t.signatures)
}

async fn wait_final(grpc: &str, i: u64, within: Duration) -> (i32, u32) {
    let deadline = Instant::now() + within;
    loop {
        let (status, sigs) = status_of(grpc, i).await;
        let open = [
            pb::TaskStatus::Pending as i32,
            pb::TaskStatus::Collecting as i32,
            pb::TaskStatus::Aggregated as i32,
        ];
        if !open.contains(&status) || Instant::now() > deadline {
            return (status, sigs);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs one task into the crash point, restarts, and checks it was submitted exactly once
/// with every signature it had.
async fn crash_at_then_restart(point: &str) {
    let dir = Scratch::new(&format!("crash-at-{point}"));
    let db = dir.0.join("node.redb");
    let args = ["--dev-operators", "4"];
    let mut node =
        start_node_env(&db, &args, &[("QUORATE_TEST_CRASH_AT", point)]).expect("node listens");
    let mut c = client(&node.grpc).await;
    // The create may be answered or cut off by the crash (at `pending` it always is).
    let created = c.create_task(create_req(1, 67, 60_000)).await;
    let status = wait_exit(&mut node, Duration::from_secs(15)).expect("node died at the hook");
    assert!(!status.success(), "{point}: killed, not a clean exit");
    if point == "pending" {
        assert!(created.is_err(), "the crash cut the create off");
    }
    drop(c);

    let node = start_node_env(&db, &args, &[]).expect("restart");
    eprintln!("{point}: restart {}", node.banner.trim());
    let (status, signatures) = wait_final(&node.grpc, 1, Duration::from_secs(15)).await;
    assert_eq!(
        status,
        pb::TaskStatus::Submitted as i32,
        "{point}: the task ends submitted, not failed or expired"
    );
    assert!(signatures >= 3, "{point}: signatures kept: {signatures}");
    // The ledger (the dev chain) saw exactly one submission, across both processes.
    assert_eq!(gauge(&node, "quorate_node_dev_submissions"), 1.0, "{point}");
    assert_eq!(
        gauge(&node, "quorate_node_dev_tasks_submitted_twice"),
        0.0,
        "{point}"
    );
    let agg = client(&node.grpc)
        .await
        .get_aggregate(pb::GetTaskRequest {
            task_id: task_id(1),
        })
        .await
        .expect("aggregate stored")
        .into_inner();
    assert!(agg.signer_ids.len() >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_pending_starts_the_task_once_and_submits_it() {
    crash_at_then_restart("pending").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_aggregated_submits_once_after_restart() {
    crash_at_then_restart("aggregated").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_between_send_and_receipt_does_not_submit_twice() {
    crash_at_then_restart("submitting").await;
}

/// Collecting at the crash, and the stored responses are no longer valid at restart (the dev
/// operator set changed: another seed): every refused row is deleted, the task stays open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_refused_on_replay_are_deleted() {
    let dir = Scratch::new("crash-refused");
    let db = dir.0.join("node.redb");
    let mut node = start_node(&db, &["--dev-operators", "4", "--simulated-operators", "3"]);
    let mut c = client(&node.grpc).await;
    c.create_task(create_req(1, 100, 60_000))
        .await
        .expect("create");
    let deadline = Instant::now() + Duration::from_secs(15);
    while status_of(&node.grpc, 1).await.1 < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status_of(&node.grpc, 1).await.1, 3);
    node.proc.kill9();
    drop(c);
    let args = [
        "--dev-operators",
        "4",
        "--simulated-operators",
        "0",
        "--dev-seed",
        "2",
    ];
    let node = start_node(&db, &args);
    assert!(
        node.banner.contains("recovered_signatures=0"),
        "{}",
        node.banner
    );
    let (status, signatures) = status_of(&node.grpc, 1).await;
    assert_eq!(status, pb::TaskStatus::Collecting as i32);
    assert_eq!(
        signatures, 0,
        "refused rows are deleted, and the count with them"
    );
}

/// A registry that fails at restart (3 injected `Unavailable` reads) delays the open tasks
/// instead of failing them: they resume with their signatures and complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_registry_errors_at_restart_are_retried() {
    let dir = Scratch::new("crash-registry");
    let db = dir.0.join("node.redb");
    let args = ["--dev-operators", "4", "--simulated-operators", "3"];
    let mut node = start_node(&db, &args);
    let mut c = client(&node.grpc).await;
    const N: u64 = 5;
    for i in 1..=N {
        c.create_task(create_req(i, 100, 60_000))
            .await
            .expect("create");
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut total = 0;
        for i in 1..=N {
            total += status_of(&node.grpc, i).await.1;
        }
        if total == 3 * N as u32 || Instant::now() > deadline {
            assert_eq!(total, 3 * N as u32);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    node.proc.kill9();
    drop(c);
    let node = start_node_env(
        &db,
        &["--dev-operators", "4", "--simulated-operators", "0"],
        &[("QUORATE_TEST_REGISTRY_FAILURES", "3")],
    )
    .expect("restart");
    eprintln!("registry outage: restart {}", node.banner.trim());
    // The retried tasks come back with their stored signatures.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for i in 1..=N {
        let (status, signatures) = status_of(&node.grpc, i).await;
        assert_eq!(
            status,
            pb::TaskStatus::Collecting as i32,
            "task {i} kept open"
        );
        assert_eq!(signatures, 3, "task {i}");
    }
    let _last = start_operator(&node.grpc, 3);
    for i in 1..=N {
        let (status, _) = wait_final(&node.grpc, i, Duration::from_secs(20)).await;
        assert_eq!(status, pb::TaskStatus::Submitted as i32, "task {i}");
    }
}
