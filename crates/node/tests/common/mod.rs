//! Helpers for tests that run `quorate node` and `quorate operator run` processes on loopback.
#![allow(dead_code, missing_docs)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use quorate_api::pb;

/// Operator sign-in helpers.
pub mod operator;
/// WorkflowService helpers.
pub mod workflow;

pub const BIN: &str = env!("CARGO_BIN_EXE_quorate");

/// A scratch directory removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "quorate-{name}-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed on drop.
pub struct Proc(pub Child);

impl Proc {
    pub fn kill9(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    pub fn sigterm(&mut self) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.0.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running node and its addresses.
pub struct Node {
    pub proc: Proc,
    pub grpc: String,
    pub http: String,
    pub banner: String,
}

/// The arguments of `quorate node --dev` on loopback ports (0: any free one) over `db`.
pub fn dev_node_args(db: &Path, extra: &[&str]) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = [
        "node",
        "--dev",
        "--grpc-addr",
        "127.0.0.1:0",
        "--http-addr",
        "127.0.0.1:0",
        "--db",
    ]
    .iter()
    .map(Into::into)
    .collect();
    args.push(db.into());
    args.extend(extra.iter().map(Into::into));
    args
}

/// Spawns a node command, reads its listening banner and keeps draining its stdout (so it
/// never blocks on a full pipe); `None` if it exited before listening.
pub fn spawn_node(cmd: &mut Command) -> Option<Node> {
    cmd.env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().expect("spawn node");
    let stdout = child.stdout.take().expect("stdout");
    let proc = Proc(child);
    let mut line = String::new();
    let mut reader = BufReader::new(stdout);
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return None;
    }
    std::thread::spawn(move || {
        let mut sink = String::new();
        while reader.read_line(&mut sink).unwrap_or(0) > 0 {
            sink.clear();
        }
    });
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {line:?}"))
            .to_string()
    };
    Some(Node {
        grpc: field("grpc="),
        http: field("http="),
        banner: line.clone(),
        proc,
    })
}

pub fn start_node(db: &Path, extra: &[&str]) -> Node {
    spawn_node(Command::new(BIN).args(dev_node_args(db, extra)))
        .expect("node exited before listening")
}

pub fn start_operator(node: &str, index: u32) -> Proc {
    let child = Command::new(BIN)
        .args([
            "operator",
            "run",
            "--node",
            node,
            "--dev-index",
            &index.to_string(),
        ])
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn operator");
    Proc(child)
}

pub async fn client(
    grpc: &str,
) -> pb::client_service_client::ClientServiceClient<tonic::transport::Channel> {
    pb::client_service_client::ClientServiceClient::connect(grpc.to_string())
        .await
        .expect("connect")
}

pub async fn operator_client(
    grpc: &str,
) -> pb::operator_service_client::OperatorServiceClient<tonic::transport::Channel> {
    pb::operator_service_client::OperatorServiceClient::connect(grpc.to_string())
        .await
        .expect("connect")
}

pub fn create_req(i: u64, threshold: u32, expiry_ms: u64) -> pb::CreateTaskRequest {
    let mut id = [0u8; 32];
    id[24..].copy_from_slice(&i.to_be_bytes());
    pb::CreateTaskRequest {
        task_id: id.to_vec(),
        reference_block: 0,
        quorums: vec![pb::QuorumThreshold {
            quorum: 0,
            threshold_percent: threshold,
        }],
        expiry_ms,
        window_ms: 0,
        payload: format!("payload {i}").into_bytes(),
    }
}

/// Counts tasks per status across every page.
pub async fn count_status(
    c: &mut pb::client_service_client::ClientServiceClient<tonic::transport::Channel>,
    status: pb::TaskStatus,
) -> usize {
    let mut token = String::new();
    let mut n = 0;
    loop {
        let resp = c
            .list_tasks(pb::ListTasksRequest {
                status: status as i32,
                creator: String::new(),
                page_token: token.clone(),
                limit: 1000,
                full: false,
            })
            .await
            .expect("list")
            .into_inner();
        n += resp.tasks.len();
        if resp.next_page_token.is_empty() {
            return n;
        }
        token = resp.next_page_token;
    }
}

/// Polls until `count_status(status) >= want` or the deadline; returns the last count.
pub async fn wait_for_status(
    grpc: &str,
    status: pb::TaskStatus,
    want: usize,
    within: Duration,
) -> usize {
    let mut c = client(grpc).await;
    let deadline = Instant::now() + within;
    loop {
        let n = count_status(&mut c, status).await;
        if n >= want || Instant::now() > deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A raw HTTP/1.0 GET on loopback; returns (status line, body).
pub fn http_get(base: &str, path: &str) -> (String, String) {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("http connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    )
}
