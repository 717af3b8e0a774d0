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
            for i in 1..=N {
                let response = format!("payload {i}").into_bytes();
                let digest: [u8; 32] = Keccak256::digest(&response).into();
                let mut id = [0u8; 32];
                id[24..].copy_from_slice(&i.to_be_bytes());
                let sent = op
                    .submit_signed_response(pb::SignedResponse {
                        task_id: id.to_vec(),
                        operator_id: key.operator_id().as_bytes().to_vec(),
                        digest: digest.to_vec(),
                        signature: key.sign(&digest).to_bytes().to_vec(),
                        response,
                    })
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
