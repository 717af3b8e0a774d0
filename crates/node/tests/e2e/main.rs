//! The end-to-end suite (`cargo xtask e2e`, which runs `cargo test --workspace --test e2e`):
//! against a fresh devnet, seeded random tasks aggregated by the runtime through the chain
//! adapter must be accepted by EigenLayer's own `checkSignatures` (with the runtime's signed
//! stakes), tampered aggregates must be rejected, full responses must land in the Incredible
//! Squaring task manager, and RPC calls per task are compared with eigensdk-rs.
//!
//! A test target of `quorate-node` (so it runs the `quorate` binary cargo built for the tests)
//! with its own `main` (`harness = false`) and `test = false`: a plain `cargo test` or `cargo
//! nextest run` does not start a devnet; `--test e2e` does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod automation;
mod eigensdk;
mod env;
mod faults;
mod intake_reorg;
mod live_operators;
mod node;
mod proxy;
mod scenarios;
mod submit;
mod wallets;

use std::time::Instant;

use alloy::providers::Provider;
use anyhow::{bail, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use env::Env;
use quorate_devnet::{self as devnet, DevnetArgs};

/// Options of `cargo xtask e2e`.
#[derive(clap::Parser, Clone, Debug)]
#[command(name = "e2e")]
pub struct E2eArgs {
    /// Operators on the devnet (the RPC comparison uses tasks with all of them).
    #[arg(long, default_value_t = 50)]
    pub operators: usize,
    /// Quorums on the devnet (the last is slashable-stake).
    #[arg(long, default_value_t = 3)]
    pub quorums: u8,
    /// Seed of the devnet and the scenarios.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Reference blocks to run tasks at (1–3 tasks each).
    #[arg(long, default_value_t = 12)]
    pub blocks: usize,
    /// Full submissions through SquaringTask.respondToSquaringTask.
    #[arg(long, default_value_t = 3)]
    pub submissions: usize,
    /// Aggregates submitted at once while anvil mines every 2 s (pipelined nonces: they must
    /// land in one or two blocks); 0 skips the step.
    #[arg(long, default_value_t = 50)]
    pub together: usize,
    /// Also submit `--together` aggregates one after another, the way submissions went before
    /// they were pipelined (takes a block each: slow, not run by default).
    #[arg(long)]
    pub sequential_baseline: bool,
    /// Also run the built `quorate node` in chain mode with operator processes.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub node: bool,
    /// Then run the fault-injection step on the same devnet (proxy faults, anvil restart,
    /// reorg, reverting submissions).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub faults: bool,
    /// Workflow automation on a chain-mode node with operator trigger watchers (block and
    /// event triggers, secrets, attestation threshold, restart); after the node steps.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub automation: bool,
    /// Smart wallets on a chain-mode node: a workflow deploys a fresh ERC-4337 wallet, writes
    /// and sends ETH from it; then every refusal (other owner, grants, revert, limit, revoked,
    /// expired).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub wallets: bool,
    /// Then register and deregister operators while a node runs (live operator sets).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub live_operators: bool,
}

fn main() -> Result<()> {
    let args = <E2eArgs as clap::Parser>::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run_async(args))
}

async fn run_async(args: E2eArgs) -> Result<()> {
    let started = Instant::now();
    let devnet_args = DevnetArgs {
        operators: args.operators,
        quorums: args.quorums,
        seed: args.seed,
        out: None,
    };
    let devnet = devnet::up(&devnet_args).await?;
    let out = devnet::repo_root().join(".devnet").join("e2e-devnet.json");
    std::fs::write(&out, serde_json::to_string_pretty(&devnet.info)?)?;
    let mut env = Env::new(devnet).await?;
    let mut rng = ChaCha20Rng::seed_from_u64(args.seed ^ 0x5eed);
    let (mut passed, mut failed) = (0u32, 0u32);
    let (mut tampered, mut tamper_rejected) = (0u32, 0u32);
    let mut calls_all_ops: Vec<u64> = Vec::new();
    let mut calls_any: Vec<u64> = Vec::new();

    // Registration blocks, for reference blocks older than the latest registration change.
    let mut reg_blocks: Vec<u64> = env
        .devnet
        .info
        .operators
        .iter()
        .map(|o| o.registered_block)
        .collect();
    reg_blocks.sort_unstable();
    for g in 0..args.blocks {
        let block = if g % 3 == 2 && reg_blocks.len() >= 4 {
            reg_blocks[rng.gen_range(reg_blocks.len() / 4..reg_blocks.len() * 3 / 4)]
        } else {
            // A new block whose state equals the head's: a fresh (block, quorums) cache key.
            env.devnet.chain.mine(1).await?;
            env.devnet.chain.provider.get_block_number().await? - 1
        };
        let live = scenarios::live_quorums(&env, block);
        if live.is_empty() {
            continue;
        }
        for _ in 0..rng.gen_range(1..=3) {
            let quorums = scenarios::pick_quorums(&mut rng, &live);
            match scenarios::run_task(&env, &mut rng, block, &quorums).await {
                Ok(r) => {
                    tampered += r.tampered.0;
                    tamper_rejected += r.tampered.1;
                    calls_any.push(r.rpc_calls);
                    if r.operators == args.operators {
                        calls_all_ops.push(r.rpc_calls);
                    }
                    if r.accepted && r.tampered.0 == r.tampered.1 {
                        passed += 1;
                        println!(
                            "ok   {} | rpc {} | tampered rejected {}/{}",
                            r.shape, r.rpc_calls, r.tampered.1, r.tampered.0
                        );
                    } else {
                        failed += 1;
                        println!(
                            "FAIL {} | {} | tampered rejected {}/{}",
                            r.shape,
                            r.failure.unwrap_or_default(),
                            r.tampered.1,
                            r.tampered.0
                        );
                    }
                }
                Err(e) => {
                    failed += 1;
                    println!("FAIL block {block} quorums {quorums:?}: {e:#}");
                }
            }
        }
    }
    let scenario_count = passed + failed;
    let scenario_accepted = passed;

    let mut submitted = 0u32;
    for _ in 0..args.submissions {
        match submit::submit_one(&env, &mut rng).await {
            Ok(line) => {
                submitted += 1;
                passed += 1;
                println!("ok   submit {line}");
            }
            Err(e) => {
                failed += 1;
                println!("FAIL submit: {e:#}");
            }
        }
    }

    let mut modes = vec![false];
    if args.sequential_baseline {
        modes.insert(0, true);
    }
    for sequential in modes.into_iter().filter(|_| args.together > 0) {
        match submit::submit_together(&env, &mut rng, args.together, 2, sequential).await {
            Ok(line) => {
                passed += 1;
                println!("ok   {line}");
            }
            Err(e) => {
                failed += 1;
                println!("FAIL submissions together: {e:#}");
            }
        }
    }

    // The quorate binary in chain mode: node, operator processes and the task CLI.
    if args.node {
        for avs in [node::Avs::IncrediblySquaring, node::Avs::Attestation] {
            match node::node_chain_mode(&env, avs).await {
                Ok(line) => {
                    passed += 1;
                    println!("ok   {line}");
                }
                Err(e) => {
                    failed += 1;
                    println!("FAIL node chain mode ({avs:?}): {e:#}");
                }
            }
        }
        match intake_reorg::run(&env).await {
            Ok(line) => {
                passed += 1;
                println!("ok   {line}");
            }
            Err(e) => {
                failed += 1;
                println!("FAIL intake reorg: {e:#}");
            }
        }
    }

    // Workflow automation: a node with operator trigger watchers, against a local server.
    if args.automation {
        match automation::run(&env).await {
            Ok(n) => passed += n,
            Err(e) => {
                failed += 1;
                println!("FAIL automation: {e:#}");
            }
        }
    }

    // Smart wallets: a node with the wallet table, two owners and their workflows.
    if args.wallets {
        match wallets::run(&env).await {
            Ok(n) => passed += n,
            Err(e) => {
                failed += 1;
                println!("FAIL wallets: {e:#}");
            }
        }
    }

    // RPC comparison on one task over every quorum (all operators) at a fresh block.
    env.devnet.chain.mine(1).await?;
    let block = env.devnet.chain.provider.get_block_number().await? - 1;
    let all: Vec<u8> = scenarios::live_quorums(&env, block);
    let before = env.registry_calls.total();
    let ours = scenarios::run_task(&env, &mut rng, block, &all).await;
    let ours_first = env.registry_calls.total() - before;
    let before = env.registry_calls.total();
    let ours_second = scenarios::run_task(&env, &mut rng, block, &all).await;
    let ours_repeat = env.registry_calls.total() - before;
    for r in [ours, ours_second] {
        match r {
            Ok(r) if r.accepted => passed += 1,
            Ok(r) => {
                failed += 1;
                println!("FAIL comparison task: {}", r.failure.unwrap_or_default());
            }
            Err(e) => {
                failed += 1;
                println!("FAIL comparison task: {e:#}");
            }
        }
    }
    let non_signers: Vec<[u8; 32]> = env
        .devnet
        .info
        .operators
        .iter()
        .take(3)
        .filter_map(|o| quorate_domain::OperatorId::from_hex(&o.operator_id).ok())
        .map(|id| *id.as_bytes())
        .collect();
    let mut sorted_ns = non_signers.clone();
    sorted_ns.sort_unstable();
    let eigensdk = eigensdk::calls_per_task(&env, block, &all, &sorted_ns).await;

    let mean = |v: &[u64]| {
        if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<u64>() as f64 / v.len() as f64
        }
    };
    println!();
    println!(
        "scenarios: {scenario_count} run, {} accepted by checkSignatures; tampered aggregates rejected {tamper_rejected}/{tampered}; submissions {submitted}/{}",
        scenario_accepted,
        args.submissions
    );
    println!(
        "rpc calls per task (quorate): mean {:.2} over {} tasks, {:.2} over tasks with all {} operators; one fresh block, all quorums: first task {ours_first}, second task {ours_repeat}",
        mean(&calls_any),
        calls_any.len(),
        mean(&calls_all_ops),
        args.operators
    );
    match eigensdk {
        Ok((calls, ops)) => println!(
            "rpc calls per task (eigensdk-rs AvsRegistryServiceChainCaller, same block/quorums, {ops} operators): {calls}  => {:.0}x fewer for quorate (first task at a block)",
            calls as f64 / ours_first.max(1) as f64
        ),
        Err(e) => println!("eigensdk comparison failed: {e:#}"),
    }
    println!(
        "e2e: {passed} passed, {failed} failed ({:.0?})",
        started.elapsed()
    );
    env.core.shutdown().await;
    // Last, since it restarts anvil and deregisters an operator in a reorg.
    let faults_failed = if args.faults {
        match faults::run(&mut env).await {
            Ok((_, f)) => f,
            Err(e) => {
                println!("FAIL faults: setup: {e:#}");
                println!("faults: 0 passed, 1 failed");
                1
            }
        }
    } else {
        0
    };
    // Last: it registers and deregisters operators, which the steps above do not expect.
    let live_failed = if args.live_operators {
        match live_operators::run(&env).await {
            Ok(line) => {
                println!("ok   {line}");
                0
            }
            Err(e) => {
                println!("FAIL live operator set: {e:#}");
                1
            }
        }
    } else {
        0
    };
    let faults_failed = faults_failed + live_failed;
    if failed > 0 || faults_failed > 0 {
        bail!("{failed} e2e checks and {faults_failed} fault checks failed");
    }
    Ok(())
}
