//! `quorate demo`: the whole pipeline in memory, on real BN254 keys, with offline operators
//! and forged signatures, checked at the end by the in-memory copy of `checkSignatures`.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use quorate_bls::{Bn254Scheme, KeyPair, Signature};
use quorate_domain::{
    AggregationError, QuorumNumber, ResponseDigest, SignedTaskResponse, Stake, TaskId, TaskMetadata,
};
use quorate_runtime::memory::{InMemoryOperator, InMemoryRegistry, InMemorySubmitter};
use quorate_runtime::{AggregatorConfig, AggregatorCore, VerificationMode};
use rand::SeedableRng;
use sha3::{Digest, Keccak256};
use tokio::sync::Semaphore;

/// Arguments of `quorate demo`.
#[derive(clap::Args, Debug, Clone)]
pub struct DemoArgs {
    /// Registered operators.
    #[arg(long, default_value_t = 50)]
    pub operators: usize,
    /// Quorums (1..=8); operators are spread so that some are in several.
    #[arg(long, default_value_t = 2)]
    pub quorums: u8,
    /// Tasks to aggregate.
    #[arg(long, default_value_t = 1000)]
    pub tasks: u32,
    /// Tasks in flight at once.
    #[arg(long, default_value_t = 16)]
    pub in_flight: usize,
    /// Every n-th operator is offline (never signs); 0 = everyone online.
    #[arg(long, default_value_t = 10)]
    pub offline_every: usize,
    /// Every n-th task gets one forged signature; 0 = none.
    #[arg(long, default_value_t = 25)]
    pub forge_every: u32,
    /// Stake threshold per quorum, in percent.
    #[arg(long, default_value_t = 67)]
    pub threshold: u8,
    /// Verification mode.
    #[arg(long, value_enum, default_value_t = Mode::Eager)]
    pub mode: Mode,
    /// Seed for keys and workload, so runs are comparable.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Verification mode as a command-line value.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Mode {
    /// Verify every signature on arrival, batched.
    Eager,
    /// Verify each digest's aggregate once at threshold.
    Optimistic,
}

const BLOCK: u64 = 100;

type Core = AggregatorCore<Bn254Scheme, InMemoryRegistry<Bn254Scheme>>;

struct Workload {
    keys: Vec<KeyPair>,
    /// Per task: the digest and the signatures operators send (forged ones included).
    tasks: Vec<(TaskMetadata, Vec<SignedTaskResponse<Signature>>)>,
    forged: u64,
}

fn quorums_of(i: usize, quorums: u8) -> impl Iterator<Item = u8> {
    // Operator i is in quorum q unless (i + q) % 4 == 3; so most are in several quorums.
    (0..quorums).filter(move |q| (i + *q as usize) % 4 != 3)
}

fn build(args: &DemoArgs, registry: &InMemoryRegistry<Bn254Scheme>) -> anyhow::Result<Workload> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(args.seed);
    let keys: Vec<KeyPair> = (0..args.operators)
        .map(|_| KeyPair::random(&mut rng))
        .collect();
    let operators = keys
        .iter()
        .enumerate()
        .map(|(i, k)| InMemoryOperator {
            pubkey_g1: *k.public_g1(),
            pubkey_g2: k.public_g2().clone(),
            stakes: quorums_of(i, args.quorums)
                .map(|q| (QuorumNumber(q), Stake::from(1_000 + 37 * i as u64)))
                .collect::<BTreeMap<_, _>>(),
            proof_of_possession: k.proof_of_possession(),
        })
        .collect();
    let ids = registry.set_operators(BLOCK, operators)?;
    let quorums: Vec<(u8, u8)> = (0..args.quorums).map(|q| (q, args.threshold)).collect();
    let metas = (1..=args.tasks)
        .map(|t| TaskMetadata::from_raw(TaskId::from(t), BLOCK, &quorums, Duration::from_secs(30)))
        .collect::<Result<Vec<_>, _>>()?;
    // Operators sign in parallel: this is their work, not the aggregator's.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = metas.len().div_ceil(threads).max(1);
    let (keys_ref, ids_ref) = (&keys, &ids);
    let signed: Vec<(Vec<SignedTaskResponse<Signature>>, u64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = metas
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|m| sign_task(args, keys_ref, ids_ref, m))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    anyhow::ensure!(signed.len() == metas.len(), "a signing thread failed");
    let forged = signed.iter().map(|(_, f)| f).sum();
    let tasks = metas
        .into_iter()
        .zip(signed.into_iter().map(|(s, _)| s))
        .collect();
    Ok(Workload {
        keys,
        tasks,
        forged,
    })
}

/// The signatures operators send for one task; one of them forged on every n-th task.
fn sign_task(
    args: &DemoArgs,
    keys: &[KeyPair],
    ids: &[quorate_domain::OperatorId],
    meta: &TaskMetadata,
) -> (Vec<SignedTaskResponse<Signature>>, u64) {
    let task_id = meta.task_id();
    let t = u32::from_be_bytes(task_id.as_bytes()[28..].try_into().unwrap_or([0; 4]));
    let digest = ResponseDigest::new(Keccak256::digest(format!("demo response {t}")).into());
    let message = quorate_bls::MessagePoint::hash(digest.as_bytes());
    let forger = (args.forge_every > 0 && t % args.forge_every == 0)
        .then(|| (t as usize * 7) % keys.len().max(1));
    let mut forged = 0;
    let mut signed = Vec::with_capacity(keys.len());
    for (i, (k, id)) in keys.iter().zip(ids).enumerate() {
        if args.offline_every > 0 && i % args.offline_every == args.offline_every - 1 {
            continue;
        }
        let signature = if Some(i) == forger {
            forged += 1;
            // A valid signature, but of a different message: must be rejected.
            k.sign(&[0xEE; 32])
        } else {
            k.sign_hashed_point(&message)
        };
        signed.push(SignedTaskResponse {
            task_id,
            digest,
            signature,
            operator_id: *id,
        });
    }
    (signed, forged)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs the demo; fails (non-zero exit) if any aggregate is refused by the checker.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!((1..=8).contains(&args.quorums), "--quorums must be 1..=8");
    anyhow::ensure!(args.operators > 0, "--operators must be positive");
    anyhow::ensure!(
        (1..=100).contains(&args.threshold),
        "--threshold must be 1..=100"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let scheme = Arc::new(Bn254Scheme);
    let registry = Arc::new(InMemoryRegistry::new(Arc::clone(&scheme), args.quorums));
    println!(
        "quorate demo: {} operators in {} quorums, {} tasks ({} in flight), every {}th operator offline, mode {:?}",
        args.operators, args.quorums, args.tasks, args.in_flight, args.offline_every, args.mode
    );
    let prep = Instant::now();
    let work = build(&args, &registry)?;
    let signatures: usize = work.tasks.iter().map(|(_, s)| s.len()).sum();
    println!(
        "prepared {} keys and {} operator signatures in {:.1}s (operator-side work, not timed below)",
        work.keys.len(),
        signatures,
        prep.elapsed().as_secs_f64()
    );
    let mode = match args.mode {
        Mode::Eager => VerificationMode::Eager,
        Mode::Optimistic => VerificationMode::Optimistic,
    };
    let core: Core = AggregatorCore::new(
        AggregatorConfig {
            verification_mode: mode,
            ..AggregatorConfig::default()
        },
        Arc::clone(&registry),
        Arc::clone(&scheme),
    )?;
    let submitter = Arc::new(InMemorySubmitter::new(
        Arc::clone(&scheme),
        Arc::clone(&registry),
    ));
    let slots = Arc::new(Semaphore::new(args.in_flight.max(1)));
    let started = Instant::now();
    let total = work.tasks.len();
    let ticker = {
        let core = core.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            loop {
                tick.tick().await;
                let s = core.stats();
                println!(
                    "  {:>6}/{total} tasks done, {} signatures counted ({:.0}s)",
                    s.tasks_finished(),
                    s.signatures_accepted,
                    started.elapsed().as_secs_f64()
                );
            }
        })
    };
    let mut joins = Vec::with_capacity(total);
    for (meta, signed) in work.tasks {
        let permit = Arc::clone(&slots)
            .acquire_owned()
            .await
            .context("semaphore closed")?;
        let (core, submitter) = (core.clone(), Arc::clone(&submitter));
        joins.push(tokio::spawn(async move {
            let _permit = permit;
            drive_task(core, submitter, meta, signed).await
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    let (mut failed, mut invalid, mut late) = (0u32, 0u64, 0u64);
    for j in joins {
        match j.await {
            Ok(Ok(v)) => {
                latencies.push(v.latency);
                invalid += v.invalid;
                late += v.late;
            }
            Ok(Err(e)) => {
                failed += 1;
                eprintln!("task failed: {e:#}");
            }
            Err(e) => {
                failed += 1;
                eprintln!("task driver crashed: {e}");
            }
        }
    }
    ticker.abort();
    let elapsed = started.elapsed();
    let stats = core.stats();
    core.shutdown().await;
    latencies.sort();
    let accepted_on_check = submitter.accepted_total();
    let verified = stats.signatures_accepted + stats.signatures_rejected;
    println!("\nsummary");
    println!(
        "  tasks aggregated        {} / {}",
        stats.tasks_aggregated, stats.tasks_initialized
    );
    println!(
        "  tasks expired / failed  {} / {}",
        stats.tasks_expired, stats.tasks_failed
    );
    println!("  signatures accepted     {}", stats.signatures_accepted);
    println!(
        "  signatures rejected     {} ({invalid} invalid of {} forged, {late} late after their task completed)",
        stats.signatures_rejected, work.forged
    );
    println!("  checker (checkSignatures in memory) accepted {accepted_on_check} aggregates");
    println!("  wall time               {:.2}s", elapsed.as_secs_f64());
    println!(
        "  throughput              {:.0} signatures/s, {:.0} tasks/s",
        verified as f64 / elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  latency (init→aggregate) p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default())
    );
    let ok = failed == 0
        && accepted_on_check == total as u64
        && stats.tasks_aggregated as usize == total
        && invalid == work.forged;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn drive_task(
    core: Core,
    submitter: Arc<InMemorySubmitter<Bn254Scheme, InMemoryRegistry<Bn254Scheme>>>,
    meta: TaskMetadata,
    signed: Vec<SignedTaskResponse<Signature>>,
) -> anyhow::Result<Verdicts> {
    let task_id = meta.task_id();
    let start = Instant::now();
    core.initialize_task(meta).await?;
    let mut sends = Vec::with_capacity(signed.len());
    for s in signed {
        let core = core.clone();
        sends.push(tokio::spawn(async move {
            core.process_signed_response(s).await
        }));
    }
    let aggregate = core
        .wait_for_aggregation(task_id, Duration::from_secs(60))
        .await?;
    let latency = start.elapsed();
    let mut verdicts = Verdicts::default();
    for s in sends {
        match s.await {
            Ok(Ok(_)) => {}
            Ok(Err(AggregationError::SignatureVerification { .. })) => verdicts.invalid += 1,
            Ok(Err(AggregationError::TaskCompleted { .. })) => verdicts.late += 1,
            Ok(Err(e)) => anyhow::bail!("unexpected verdict: {e}"),
            Err(e) => anyhow::bail!("signature sender crashed: {e}"),
        }
    }
    core.submit_aggregated_response(&*submitter, &aggregate, Vec::new())
        .await?;
    verdicts.latency = latency;
    Ok(verdicts)
}

/// What one task's run saw.
#[derive(Default)]
struct Verdicts {
    latency: Duration,
    invalid: u64,
    late: u64,
}
