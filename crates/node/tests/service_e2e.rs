//! End to end over loopback: a `--dev` node and several `quorate operator run` processes
//! complete 100 tasks; the task CLI reads them back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_and_operator_processes_complete_100_tasks() {
    let dir = Scratch::new("e2e");
    let node = start_node(
        &dir.0.join("node.redb"),
        &["--dev-operators", "4", "--simulated-operators", "0"],
    );
    let _ops: Vec<Proc> = (0..3).map(|i| start_operator(&node.grpc, i)).collect();
    let mut c = client(&node.grpc).await;
    for i in 1..=100u64 {
        let t = c
            .create_task(create_req(i, 67, 120_000))
            .await
            .expect("create")
            .into_inner();
        assert_eq!(t.seq, i);
    }
    let done = wait_for_status(
        &node.grpc,
        pb::TaskStatus::Submitted,
        100,
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(done, 100, "tasks submitted");

    // The aggregate of a task: 3 signers, one non-signer.
    let mut id = [0u8; 32];
    id[31] = 7;
    let agg = c
        .get_aggregate(pb::GetTaskRequest {
            task_id: id.to_vec(),
        })
        .await
        .expect("aggregate")
        .into_inner();
    assert_eq!(agg.signer_ids.len() + agg.non_signer_ids.len(), 4);
    assert!(agg.signer_ids.len() >= 3);
    assert!(!agg.receipt_json.is_empty());

    // The CLI client against the same node.
    let task_hex = format!("0x{}", hex::encode(id));
    let out = Command::new(BIN)
        .args(["task", "--node", &node.grpc, "get", &task_hex])
        .output()
        .expect("task get");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("\"status\":\"submitted\""), "{text}");
    let out = Command::new(BIN)
        .args([
            "task",
            "--node",
            &node.grpc,
            "list",
            "--status",
            "submitted",
            "--limit",
            "10",
        ])
        .output()
        .expect("task list");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.lines().filter(|l| l.contains("task_id")).count(),
        10,
        "{text}"
    );
    assert!(text.contains("next_page_token"), "{text}");
    let text = create_and_wait(
        &node.grpc,
        "hello",
        &["--expiry-ms", "500", "--quorum", "0:100"],
    );
    // Only 3 of 4 operators run: a 100% threshold cannot be met, so the task expires.
    assert!(
        text.lines().last().unwrap_or("").contains("expired"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_node_alone_completes_tasks_with_simulated_operators() {
    let dir = Scratch::new("dev");
    let node = start_node(&dir.0.join("node.redb"), &[]);
    let text = create_and_wait(&node.grpc, "12", &[]);
    let statuses: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split("\"status\":\"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(statuses.last(), Some(&"submitted"), "{text}");
    let (status, body) = http_get(&node.http, "/health");
    assert!(status.contains("200"), "{status}");
    assert!(body.contains("ok"));
    let (_, metrics) = http_get(&node.http, "/metrics");
    assert!(
        metrics.contains("quorate_node_tasks_created_total"),
        "{metrics}"
    );
    let mut node = node;
    let exit = node.proc.sigterm().expect("node stops on SIGTERM");
    assert!(exit.success(), "{exit:?}");
}

/// The aggregator inside the node is configured like the rest of it: file, environment and
/// flags merge, `--print-config` shows the result with secrets redacted, and a node in
/// optimistic mode completes tasks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_is_configurable_and_print_config_redacts_secrets() {
    let dir = Scratch::new("runtime-config");
    let file = dir.0.join("node.toml");
    std::fs::write(
        &file,
        "rpc_url = \"https://user:pw@rpc.example/v2/APIKEY123?token=t0k\"\n\
         submitter_key = \"0xfeedfacefeedface\"\n\
         [[api_keys]]\nname = \"ops\"\nkey = \"opskey-s3cret\"\nrole = \"admin\"\n\
         [runtime]\nverification_mode = \"optimistic\"\nmax_active_tasks = 5\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["node", "--config"])
        .arg(&file)
        .args(["--max-active-tasks", "6", "--print-config"])
        .env("QUORATE_VERIFICATION_LINGER_MS", "3")
        .output()
        .expect("print-config");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "verification_mode = \"optimistic\"",
        "max_active_tasks = 6",
        "verification_linger_ms = 3",
        "rpc_url = \"https://rpc.example/…\"",
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
    for secret in ["pw@", "APIKEY123", "t0k", "feedface", "opskey-s3cret"] {
        assert!(!text.contains(secret), "{secret} printed in\n{text}");
    }

    let node = start_node(
        &dir.0.join("node.redb"),
        &[
            "--verification-mode",
            "optimistic",
            "--verification-threads",
            "1",
        ],
    );
    let text = create_and_wait(&node.grpc, "5", &[]);
    assert!(text.contains("\"status\":\"submitted\""), "{text}");
}

/// A value out of range stops the node before it listens, naming the key and the flag.
#[test]
fn an_out_of_range_runtime_setting_stops_the_node_with_its_name() {
    let dir = Scratch::new("runtime-bad");
    let out = Command::new(BIN)
        .args(common::dev_node_args(
            &dir.0.join("node.redb"),
            &["--verification-threads", "0"],
        ))
        .output()
        .expect("node");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("runtime.verification_threads") && err.contains("--verification-threads"),
        "{err}"
    );
}

/// The node turns transparent huge pages off for its process: the kernel zeroing a fresh
/// 2 MiB page stalled answers for tens of milliseconds (`docs/performance-analysis.md`).
#[cfg(target_os = "linux")]
#[test]
fn the_node_runs_with_transparent_huge_pages_off() {
    let dir = Scratch::new("thp");
    let mut node = start_node(&dir.0.join("node.redb"), &[]);
    let status = std::fs::read_to_string(format!("/proc/{}/status", node.proc.0.id()))
        .expect("the node's /proc status");
    let thp = status
        .lines()
        .find_map(|l| l.strip_prefix("THP_enabled:"))
        .map(str::trim);
    assert_eq!(thp, Some("0"), "{status}");
    let exit = node.proc.sigterm().expect("node stops on SIGTERM");
    assert!(exit.success(), "{exit:?}");
}

/// `quorate task create --payload PAYLOAD [ARGS] --wait` against `grpc`; its output.
fn create_and_wait(grpc: &str, payload: &str, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(["task", "--node", grpc, "create", "--payload", payload])
        .args(args)
        .arg("--wait")
        .output()
        .expect("task create --wait");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    text
}
