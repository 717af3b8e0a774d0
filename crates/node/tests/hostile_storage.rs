//! Storage lifecycle against a real `quorate node`: finished tasks are pruned after their
//! retention while open ones and honest traffic are untouched; a full disk (a real file-size
//! limit, `prlimit --fsize`) gives typed errors, stops the node with a non-zero exit, and a
//! restart without the limit finds every acknowledged task intact.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use tonic::Code;

fn task_id(i: u64) -> Vec<u8> {
    let mut id = [0u8; 32];
    id[24..].copy_from_slice(&i.to_be_bytes());
    id.to_vec()
}

async fn get_task(grpc: &str, i: u64) -> Result<pb::Task, tonic::Status> {
    client(grpc)
        .await
        .get_task(pb::GetTaskRequest {
            task_id: task_id(i),
        })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_tasks_are_pruned_after_retention_and_open_ones_kept() {
    let dir = Scratch::new("prune");
    let db = dir.0.join("node.redb");
    // 3 of 4 simulated operators sign: 67% tasks finish, 100% tasks stay open.
    let node = start_node(
        &db,
        &[
            "--dev-operators",
            "4",
            "--simulated-operators",
            "3",
            "--task-retention-secs",
            "1",
            "--prune-interval-ms",
            "200",
            "--prune-batch",
            "2",
        ],
    );
    let mut c = client(&node.grpc).await;
    for i in 1..=5 {
        c.create_task(create_req(i, 67, 60_000))
            .await
            .expect("create");
    }
    c.create_task(create_req(100, 100, 60_000))
        .await
        .expect("create open");
    let done = wait_for_status(
        &node.grpc,
        pb::TaskStatus::Submitted,
        5,
        Duration::from_secs(15),
    )
    .await;
    assert_eq!(done, 5);
    assert!(c
        .get_aggregate(pb::GetTaskRequest {
            task_id: task_id(1)
        })
        .await
        .is_ok());
    // Honest traffic while the pruner runs: a task created now finishes and is readable.
    c.create_task(create_req(6, 67, 60_000))
        .await
        .expect("create during pruning");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut gone = 0;
    while Instant::now() < deadline {
        gone = 0;
        for i in 1..=5 {
            if get_task(&node.grpc, i).await.map_err(|s| s.code()) == Err(Code::NotFound) {
                gone += 1;
            }
        }
        if gone == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(gone, 5, "every finished task is pruned after its retention");
    let agg = c
        .get_aggregate(pb::GetTaskRequest {
            task_id: task_id(1),
        })
        .await
        .expect_err("the aggregate goes with its task");
    assert_eq!(agg.code(), Code::NotFound);
    // The open task and its signatures are untouched.
    let open = get_task(&node.grpc, 100).await.expect("open task kept");
    assert_eq!(open.status, pb::TaskStatus::Collecting as i32);
    assert_eq!(open.signatures, 3);
    let (_, metrics) = http_get(&node.http, "/metrics");
    let pruned: f64 = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix("quorate_node_tasks_pruned_total")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0);
    assert!(pruned >= 5.0, "pruned counter: {pruned}");
}

/// `quorate node --dev` under `prlimit --fsize=limit`.
fn start_limited(db: &std::path::Path, limit: u64) -> (Proc, String, String) {
    let extra = ["--dev-operators", "4", "--max-payload-bytes", "65536"];
    let node = spawn_node(
        Command::new("prlimit")
            .arg(format!("--fsize={limit}"))
            .arg("--")
            .arg(BIN)
            .args(dev_node_args(db, &extra)),
    )
    .expect("node listens under the limit");
    (node.proc, node.grpc, node.http)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_gives_typed_errors_exits_non_zero_and_corrupts_nothing() {
    let dir = Scratch::new("diskfull");
    let db = dir.0.join("node.redb");
    // Room for the empty database and a few dozen 60 KiB tasks, not for hundreds.
    let (mut proc, grpc, http) = start_limited(&db, 6 << 20);
    let (status, _) = http_get(&http, "/health");
    assert!(status.contains("200"), "healthy before: {status}");
    let mut c = client(&grpc).await;
    let mut acknowledged = Vec::new();
    let mut refusal = None;
    for i in 1..=400u64 {
        let mut req = create_req(i, 67, 60_000);
        req.payload = vec![b'x'; 60_000];
        match tokio::time::timeout(Duration::from_secs(10), c.create_task(req)).await {
            Ok(Ok(_)) => acknowledged.push(i),
            Ok(Err(status)) => {
                refusal = Some(status);
                break;
            }
            Err(_) => panic!("create {i} hung on a full disk"),
        }
    }
    let refusal = refusal.expect("the file-size limit was reached");
    eprintln!(
        "after {} tasks: {:?} {}",
        acknowledged.len(),
        refusal.code(),
        refusal.message()
    );
    assert_eq!(refusal.code(), Code::Internal, "{}", refusal.message());
    assert!(
        !refusal.message().contains(&*db.to_string_lossy()),
        "no path in the error: {}",
        refusal.message()
    );
    assert!(
        !acknowledged.is_empty(),
        "the limit leaves room for some tasks"
    );
    // Unhealthy, with a reason that names no path or OS detail.
    let (status, body) = http_get(&http, "/health");
    assert!(status.contains("503"), "{status} {body}");
    assert!(body.contains("storage_failed"), "{body}");
    assert!(!body.contains(&*db.to_string_lossy()), "{body}");
    // Writes after the failure are refused at once, typed, not hung.
    let mut late = create_req(10_000, 67, 60_000);
    late.payload = vec![b'y'; 16];
    let late = tokio::time::timeout(Duration::from_secs(5), c.create_task(late))
        .await
        .expect("no hang after the failure")
        .expect_err("refused after the failure");
    assert!(
        matches!(late.code(), Code::Internal | Code::Unavailable),
        "{late:?}"
    );
    // The node stops on its own, with a failure status (not killed by SIGXFSZ).
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Ok(Some(s)) = proc.0.try_wait() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "node did not exit after the storage failure"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        exit.code(),
        Some(1),
        "non-zero exit, not a signal: {exit:?}"
    );
    drop(c);

    // Restart without the limit: the database opens and every acknowledged task is there.
    let node = start_node(&db, &["--dev-operators", "4"]);
    let (status, _) = http_get(&node.http, "/health");
    assert!(status.contains("200"), "healthy after restart: {status}");
    for i in &acknowledged {
        let t = get_task(&node.grpc, *i)
            .await
            .expect("acknowledged task readable");
        assert_eq!(t.task_id, task_id(*i));
    }
    // And it works again: a new task completes.
    let mut c = client(&node.grpc).await;
    c.create_task(create_req(1000, 67, 60_000))
        .await
        .expect("create after restart");
    let (status, _) = {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let t = get_task(&node.grpc, 1000).await.expect("new task");
            if t.status == pb::TaskStatus::Submitted as i32 || Instant::now() > deadline {
                break (t.status, t.signatures);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    assert_eq!(status, pb::TaskStatus::Submitted as i32);
}
