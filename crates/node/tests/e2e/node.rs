//! Chain mode of the `quorate` binary: `quorate node --rpc-url … --addresses …` over the
//! devnet, three `quorate operator run` processes with devnet BLS keys, and a task created on
//! the Incredible Squaring task manager and then through `quorate task create --wait`, which
//! must end `submitted` with the response stored on chain by `respondToSquaringTask`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::primitives::{B256, U256};
use alloy::providers::Provider;
use alloy::sol_types::{SolCall, SolEvent, SolValue};
use anyhow::{anyhow, bail, Context, Result};
use quorate_chain_adapter::contracts::ISquaringTask;
use quorate_domain::{OperatorId, OperatorRegistry, QuorumNumber, U256 as Stake};

use super::env::Env;

/// Child processes killed (and reaped) when dropped, on every path.
#[derive(Default)]
struct Children(Vec<Child>);

impl Children {
    fn spawn(&mut self, cmd: &mut Command) -> Result<usize> {
        let child = cmd.spawn().with_context(|| format!("starting {cmd:?}"))?;
        self.0.push(child);
        Ok(self.0.len() - 1)
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        // Newest first: the operators and the client before the node they talk to.
        for c in self.0.iter_mut().rev() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The `quorate` binary cargo built for this test target (same profile and features as the
/// workspace's tests, so nothing is rebuilt for the e2e).
fn quorate_bin() -> Result<PathBuf> {
    Ok(PathBuf::from(env!("CARGO_BIN_EXE_quorate")))
}

/// Name and key of the one client of the e2e node: chain mode refuses to start without client
/// authentication.
const CLIENT_NAME: &str = "e2e";

/// Writes the node's configuration (one client API key) into `dir`; returns its path and the
/// key.
fn write_client_config(dir: &Path) -> Result<(PathBuf, String)> {
    let key = format!("e2e-{}", alloy::hex::encode(rand::random::<[u8; 16]>()));
    let path = dir.join("node.toml");
    std::fs::write(
        &path,
        format!("[[api_keys]]\nname = \"{CLIENT_NAME}\"\nkey = \"{key}\"\nrole = \"client\"\n"),
    )?;
    Ok((path, key))
}

/// Starts the node; returns its gRPC URL once it prints its listening line.
fn start_node(
    children: &mut Children,
    bin: &Path,
    rpc_url: &str,
    addresses: &Path,
    db: &Path,
    config: &Path,
) -> Result<String> {
    let i = children.spawn(
        Command::new(bin)
            .args(["node", "--rpc-url", rpc_url, "--addresses"])
            .arg(addresses)
            .arg("--config")
            .arg(config)
            .args([
                "--grpc-addr",
                "127.0.0.1:0",
                "--http-addr",
                "127.0.0.1:0",
                "--db",
            ])
            .arg(db)
            .env("RUST_LOG", "warn,quorate=info")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit()),
    )?;
    let stdout = children.0[i]
        .stdout
        .take()
        .ok_or_else(|| anyhow!("node stdout not piped"))?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .map_err(|_| anyhow!("node printed no listening line within 60 s"))?;
        if let Some(rest) = line.strip_prefix("quorate node listening grpc=") {
            let url = rest.split_whitespace().next().unwrap_or_default();
            return Ok(url.to_owned());
        }
    }
}

/// Runs the scenario; returns a log line.
pub async fn node_chain_mode(env: &Env, addresses: &Path) -> Result<String> {
    let bin = tokio::task::spawn_blocking(quorate_bin).await??;
    let info = &env.devnet.info;
    let chain = &env.devnet.chain;
    let quorum = 0u8;

    // The three largest members of quorum 0 sign; the threshold is what they hold.
    chain.mine(1).await?;
    let head = chain.provider.get_block_number().await?;
    let state = env
        .core
        .registry()
        .operator_state(head - 1, &[QuorumNumber(quorum)])
        .await
        .map_err(|e| anyhow!("operator state: {e}"))?;
    let total = state
        .quorum(QuorumNumber(quorum))
        .map(|q| q.total_stake)
        .ok_or_else(|| anyhow!("quorum {quorum} missing"))?;
    let mut members: Vec<(Stake, OperatorId)> = state
        .operators
        .values()
        .filter_map(|o| o.stakes.get(&QuorumNumber(quorum)).map(|s| (*s, o.id)))
        .collect();
    members.sort_unstable_by(|a, b| b.cmp(a));
    members.truncate(3);
    let signed: Stake = members.iter().map(|(s, _)| *s).sum();
    let percent =
        (signed * Stake::from(100u8) / total.max(Stake::from(1u8))).saturating_to::<u64>();
    let threshold = percent.clamp(1, 100) as u32;
    let keys: Vec<String> = members
        .iter()
        .map(|(_, id)| {
            info.operators
                .iter()
                .find(|o| OperatorId::from_hex(&o.operator_id).ok() == Some(*id))
                .map(|o| o.bls_private_key.clone())
                .ok_or_else(|| anyhow!("no devnet key for operator {id}"))
        })
        .collect::<Result<_>>()?;

    let dir = std::env::temp_dir().join(format!("quorate-e2e-node-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let mut children = Children::default();
    let (config, api_key) = write_client_config(&dir)?;
    let grpc = start_node(
        &mut children,
        &bin,
        &info.rpc_url,
        addresses,
        &dir.join("node.redb"),
        &config,
    )?;
    for key in &keys {
        children.spawn(
            Command::new(&bin)
                .args([
                    "operator",
                    "run",
                    "--node",
                    &grpc,
                    "--compute",
                    "squaring-task",
                ])
                .env("QUORATE_BLS_KEY", key)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::inherit()),
        )?;
    }

    // The task on chain; its creation block is the reference block, mined past.
    let number = U256::from(4242u64);
    let create = ISquaringTask::createSquaringTaskCall {
        number,
        quorumThresholdPercentage: threshold,
        quorumNumbers: vec![quorum].into(),
    };
    let receipt = chain
        .call(
            info.owner.address,
            info.contracts.task_manager,
            create.abi_encode().into(),
            "createSquaringTask",
        )
        .await?;
    let created = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| ISquaringTask::NewTaskCreated::decode_log(&l.inner).ok())
        .ok_or_else(|| anyhow!("no NewTaskCreated event"))?;
    let (index, task) = (created.data.taskIndex, created.data.task.clone());
    chain.mine(1).await?;
    let payload = format!(
        "0x{}",
        alloy::hex::encode((task.clone(), index).abi_encode_params())
    );

    let i = children.spawn(
        Command::new(&bin)
            .args(["task", "--node", &grpc, "create", "--payload", &payload])
            .args(["--quorum", &format!("{quorum}:{threshold}")])
            .args(["--reference-block", &task.taskCreatedBlock.to_string()])
            .args(["--expiry-ms", "60000", "--wait"])
            // The key through the environment: a flag's value would show in `ps`.
            .env("QUORATE_API_KEY", &api_key)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit()),
    )?;
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = children.0[i].try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            bail!("quorate task create --wait did not finish within 90 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut out = String::new();
    if let Some(mut s) = children.0[i].stdout.take() {
        s.read_to_string(&mut out)?;
    }
    if !status.success() {
        bail!("quorate task create exited with {status}: {out}");
    }
    let last = out
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .ok_or_else(|| anyhow!("no task JSON from quorate task create: {out}"))?;
    let final_status = last["status"].as_str().unwrap_or_default().to_owned();
    if final_status != "submitted" {
        bail!("task ended {final_status}: {last}");
    }
    let tm = ISquaringTask::new(info.contracts.task_manager, chain.provider.clone());
    let stored = tm.allTaskResponses(index).call().await?;
    if stored == B256::ZERO {
        bail!("task {index}: node reported submitted but no response is stored on chain");
    }
    drop(children);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(format!(
        "node chain mode: task {index} quorum {quorum} threshold {threshold}% with {} operator processes -> submitted, response {stored} stored on chain",
        keys.len()
    ))
}
