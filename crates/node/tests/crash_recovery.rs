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
