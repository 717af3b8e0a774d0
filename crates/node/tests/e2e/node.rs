//! Chain mode of the `quorate` binary, from configuration alone: `quorate node --rpc-url …
//! --avs docs/examples/avs/<avs>.toml` over the devnet, three `quorate operator run` processes
//! with devnet BLS keys, and tasks created on the AVS's own contract. The node takes them
//! from the task-created event, and the contract itself must end up storing the answer. Run
//! for Incredible Squaring and for this repository's attestation AVS, with a node restart in
//! between tasks (the second task is created while the node is down: backfill, and the first
//! is not created again).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::sol_types::{SolCall, SolEvent};
use anyhow::{anyhow, bail, Context, Result};
use quorate_chain_adapter::contracts::ISquaringTask;
use quorate_devnet::IAttestationTaskManager;
use quorate_domain::{OperatorId, OperatorRegistry, QuorumNumber, U256 as Stake};

use super::env::Env;

/// Child processes killed (and reaped) when dropped, on every path.
#[derive(Default)]
pub struct Children(pub Vec<Child>);

impl Children {
    pub fn spawn(&mut self, cmd: &mut Command) -> Result<usize> {
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
pub fn quorate_bin() -> Result<PathBuf> {
    Ok(PathBuf::from(env!("CARGO_BIN_EXE_quorate")))
}

/// Name and key of the one client of the e2e node: chain mode refuses to start without client
/// authentication. An admin, since it lists the tasks the node took from the chain.
const CLIENT_NAME: &str = "e2e";

/// Writes the node's configuration (one client API key) into `dir`; returns its path and the
/// key.
pub fn write_client_config(dir: &Path) -> Result<(PathBuf, String)> {
    let key = format!("e2e-{}", alloy::hex::encode(rand::random::<[u8; 16]>()));
    let path = dir.join("node.toml");
    std::fs::write(
        &path,
        format!("[[api_keys]]\nname = \"{CLIENT_NAME}\"\nkey = \"{key}\"\nrole = \"admin\"\n"),
    )?;
    Ok((path, key))
}

/// Starts the node on `avs` with `db`; returns its gRPC URL once it prints its listening
/// line. The submitter key comes through the environment, as a deployment would pass it.
pub fn start_node(
    children: &mut Children,
    bin: &Path,
    env: &Env,
    avs: &Path,
    db: &Path,
    config: &Path,
) -> Result<(usize, String)> {
    let i = children.spawn(
        Command::new(bin)
            .args(["node", "--rpc-url", &env.devnet.info.rpc_url, "--avs"])
            .arg(avs)
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
            .env(
                "QUORATE_SUBMITTER_KEY",
                &env.devnet.info.aggregator.private_key,
            )
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
            return Ok((i, url.to_owned()));
        }
    }
}

/// The AVSs the node is run for.
#[derive(Clone, Copy, Debug)]
pub enum Avs {
    /// Incredible Squaring (`SquaringTask`).
    IncrediblySquaring,
    /// `contracts/src/AttestationTaskManager.sol`.
    Attestation,
}

impl Avs {
    pub fn name(self) -> &'static str {
        match self {
            Avs::IncrediblySquaring => "incredible-squaring",
            Avs::Attestation => "attestation",
        }
    }

    pub fn compute(self) -> &'static str {
        match self {
            Avs::IncrediblySquaring => "squaring-task",
            Avs::Attestation => "attestation-verdict",
        }
    }

    fn task_manager(self, env: &Env) -> Address {
        let c = &env.devnet.info.contracts;
        match self {
            Avs::IncrediblySquaring => c.task_manager,
            Avs::Attestation => c.attestation_task_manager,
        }
    }

    /// Creates a task on the AVS's contract for quorum 0 at `threshold`%; returns its
    /// on-chain id.
    pub async fn create(self, env: &Env, threshold: u32, seed: u64) -> Result<u64> {
        self.create_via(env, &env.devnet.chain, threshold, seed)
            .await
    }

    /// [`Self::create`], sent through `chain` (whose wallet holds the owner's key).
    pub async fn create_via(
        self,
        env: &Env,
        chain: &quorate_devnet::tx::Chain,
        threshold: u32,
        seed: u64,
    ) -> Result<u64> {
        let info = &env.devnet.info;
        let (data, what) = match self {
            Avs::IncrediblySquaring => (
                ISquaringTask::createSquaringTaskCall {
                    number: U256::from(4242u64 + seed),
                    quorumThresholdPercentage: threshold,
                    quorumNumbers: vec![0u8].into(),
                }
                .abi_encode(),
                "createSquaringTask",
            ),
            Avs::Attestation => (
                IAttestationTaskManager::openRequestCall {
                    subject: alloy::primitives::keccak256(seed.to_be_bytes()),
                    quorumNumbers: vec![0u8].into(),
                    thresholds: vec![u8::try_from(threshold)?].into(),
                }
                .abi_encode(),
                "openRequest",
            ),
        };
        let receipt = chain
            .call(
                info.owner.address,
                self.task_manager(env),
                data.into(),
                what,
            )
            .await?;
        let logs = receipt.inner.logs();
        let id = match self {
            Avs::IncrediblySquaring => logs
                .iter()
                .find_map(|l| ISquaringTask::NewTaskCreated::decode_log(&l.inner).ok())
                .map(|e| u64::from(e.data.taskIndex)),
            Avs::Attestation => logs
                .iter()
                .find_map(|l| IAttestationTaskManager::RequestOpened::decode_log(&l.inner).ok())
                .map(|e| e.data.requestId),
        };
        id.ok_or_else(|| anyhow!("{what}: no task-created event"))
    }

    /// The contract's record of the task's answer (zero until answered).
    async fn answer(self, env: &Env, id: u64) -> Result<B256> {
        let provider = env.devnet.chain.provider.clone();
        Ok(match self {
            Avs::IncrediblySquaring => {
                ISquaringTask::new(self.task_manager(env), provider)
                    .allTaskResponses(u32::try_from(id)?)
                    .call()
                    .await?
            }
            Avs::Attestation => {
                IAttestationTaskManager::new(self.task_manager(env), provider)
                    .verdictHashes(id)
                    .call()
                    .await?
            }
        })
    }

    /// Waits until the contract records an answer to task `id`.
    pub async fn answered(self, env: &Env, id: u64, within: Duration) -> Result<B256> {
        let deadline = Instant::now() + within;
        loop {
            let answer = self.answer(env, id).await?;
            if answer != B256::ZERO {
                return Ok(answer);
            }
            if Instant::now() > deadline {
                bail!(
                    "{}: task {id} not answered on chain within {within:?}",
                    self.name()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The three largest members of quorum 0 at the head, their keys, and the threshold (%) they
/// meet together.
pub async fn signers(env: &Env) -> Result<(Vec<String>, u32)> {
    let info = &env.devnet.info;
    let chain = &env.devnet.chain;
    chain.mine(1).await?;
    let head = chain.provider.get_block_number().await?;
    let state = env
        .core
        .registry()
        .operator_state(head - 1, &[QuorumNumber(0)])
        .await
        .map_err(|e| anyhow!("operator state: {e}"))?;
    let total = state
        .quorum(QuorumNumber(0))
        .map(|q| q.total_stake)
        .ok_or_else(|| anyhow!("quorum 0 missing"))?;
    let mut members: Vec<(Stake, OperatorId)> = state
        .operators
        .values()
        .filter_map(|o| o.stakes.get(&QuorumNumber(0)).map(|s| (*s, o.id)))
        .collect();
    members.sort_unstable_by(|a, b| b.cmp(a));
    members.truncate(3);
    let signed: Stake = members.iter().map(|(s, _)| *s).sum();
    let percent =
        (signed * Stake::from(100u8) / total.max(Stake::from(1u8))).saturating_to::<u64>();
    let keys = members
        .iter()
        .map(|(_, id)| {
            info.operators
                .iter()
                .find(|o| OperatorId::from_hex(&o.operator_id).ok() == Some(*id))
                .map(|o| o.bls_private_key.clone())
                .ok_or_else(|| anyhow!("no devnet key for operator {id}"))
        })
        .collect::<Result<_>>()?;
    Ok((keys, percent.clamp(1, 100) as u32))
}

/// Starts one `quorate operator run` process per BLS key, computing `avs`'s responses.
pub fn spawn_operators(
    children: &mut Children,
    bin: &Path,
    grpc: &str,
    keys: &[String],
    avs: Avs,
) -> Result<()> {
    for key in keys {
        children.spawn(
            Command::new(bin)
                .args([
                    "operator",
                    "run",
                    "--node",
                    grpc,
                    "--compute",
                    avs.compute(),
                ])
                .env("QUORATE_BLS_KEY", key)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::inherit()),
        )?;
    }
    Ok(())
}

/// Polls `probe` until it yields a value (up to `within`), mining a block each round so the
/// node's head follower and intake keep moving; `what` names the awaited state in the error.
pub async fn mine_until<T, F, Fut>(
    env: &Env,
    within: Duration,
    what: &str,
    mut probe: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let started = Instant::now();
    while started.elapsed() < within {
        if let Some(v) = probe().await? {
            return Ok(v);
        }
        env.devnet.chain.mine(1).await?;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bail!("{what}: not reached within {within:?}")
}

/// Runs `quorate task list --creator chain:<avs>`; returns the tasks' JSON.
pub fn chain_tasks(
    bin: &Path,
    grpc: &str,
    api_key: &str,
    avs: Avs,
) -> Result<Vec<serde_json::Value>> {
    let out = Command::new(bin)
        .args(["task", "--node", grpc, "list", "--creator"])
        .arg(format!("chain:{}", avs.name()))
        .env("QUORATE_API_KEY", api_key)
        .output()?;
    if !out.status.success() {
        bail!(
            "quorate task list: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

/// Runs the scenario for `avs`; returns a log line.
pub async fn node_chain_mode(env: &Env, avs: Avs) -> Result<String> {
    let bin = tokio::task::spawn_blocking(quorate_bin).await??;
    let config_file = super::env::example_avs_path(avs.name());
    // The committed file must name this devnet's contracts (it is used as is).
    super::env::example_avs(avs.name(), avs.task_manager(env), &env.devnet)?;
    let confirmations =
        toml::from_str::<quorate_chain_adapter::AvsSpec>(&std::fs::read_to_string(&config_file)?)?
            .intake
            .map(|i| i.confirmations)
            .ok_or_else(|| anyhow!("{} has no [intake]", config_file.display()))?;
    let (keys, threshold) = signers(env).await?;
    let chain = &env.devnet.chain;

    let dir = std::env::temp_dir().join(format!(
        "quorate-e2e-node-{}-{}",
        avs.name(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("node.redb");
    let mut children = Children::default();
    let (config, api_key) = write_client_config(&dir)?;
    let (node, grpc) = start_node(&mut children, &bin, env, &config_file, &db, &config)?;
    spawn_operators(&mut children, &bin, &grpc, &keys, avs)?;

    // Task 1 on the contract; the node acts once it has its confirmations.
    let first = avs.create(env, threshold, 1).await?;
    chain.mine(confirmations + 1).await?;
    let first_answer = avs.answered(env, first, Duration::from_secs(90)).await?;

    // The node dies (no clean shutdown); task 2 is created while it is down.
    drop(children);
    let second = avs.create(env, threshold, 2).await?;
    chain.mine(confirmations + 1).await?;
    let mut children = Children::default();
    let (_, grpc) = start_node(&mut children, &bin, env, &config_file, &db, &config)?;
    spawn_operators(&mut children, &bin, &grpc, &keys, avs)?;
    let second_answer = avs.answered(env, second, Duration::from_secs(90)).await?;
    let _ = node;

    // Each on-chain task became exactly one node task, both submitted (the receipt is stored
    // a moment after the chain shows the answer).
    let deadline = Instant::now() + Duration::from_secs(20);
    let statuses = loop {
        let tasks = chain_tasks(&bin, &grpc, &api_key, avs)?;
        let statuses: Vec<String> = tasks
            .iter()
            .filter_map(|t| t["status"].as_str().map(str::to_owned))
            .collect();
        if statuses == ["submitted", "submitted"] {
            break statuses;
        }
        if Instant::now() > deadline {
            bail!(
                "{}: node tasks from chain are {statuses:?}, expected two submitted",
                avs.name()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // CreateTask payloads must be tasks of this AVS: anything else is refused before storing.
    let refused = Command::new(&bin)
        .args(["task", "--node", &grpc, "create", "--payload", "0xdeadbeef"])
        .args(["--quorum", "0:50", "--reference-block", "5"])
        .env("QUORATE_API_KEY", &api_key)
        .output()?;
    let why = String::from_utf8_lossy(&refused.stderr);
    if refused.status.success() || !why.contains("not a task of this AVS") {
        bail!(
            "a payload that is no task of {} was not refused: {why}",
            avs.name()
        );
    }
    drop(children);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(format!(
        "node chain mode, {} from {} alone: task {first} -> answered on chain ({first_answer}); node killed, task {second} created while down, backfilled after restart -> answered ({second_answer}); node tasks {statuses:?}; a foreign CreateTask payload refused; quorum 0 threshold {threshold}% with {} operator processes",
        avs.name(),
        config_file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
        keys.len()
    ))
}
