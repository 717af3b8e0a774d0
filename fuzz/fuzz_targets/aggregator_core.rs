//! A stateful target: arbitrary sequences of initialize / signature / wait / time / shutdown
//! calls against an `AggregatorCore` on the fake scheme, on a current-thread tokio runtime with
//! paused time (fast and nearly deterministic). After each step: no panic, every configured
//! memory bound holds, every answer names its own task. At the end: every waiter got exactly
//! one answer for its own task and every initialized task ended exactly once. Every delivered
//! aggregate meets every quorum's threshold of its task and passes the in-memory copy of
//! `checkSignatures`, even when operators send cancelling pairs (σ + δ, σ − δ) whose sum
//! verifies while each signature is invalid.
#![no_main]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use quorate_bls::fake::{FakePoint, FakeScheme};
use quorate_domain::{
    AggregationError, OperatorId, ResponseDigest, SignedTaskResponse, Stake, TaskId,
    TaskMetadata,
};
use quorate_runtime::memory::{InMemoryRegistry, InMemorySubmitter};
use quorate_testkit::{fixture_by, Fixture, BLOCK};
use quorate_runtime::{AggregatorConfig, AggregatorCore, SignatureOutcome, VerificationMode};

const OPERATORS: usize = 5;

#[derive(Arbitrary, Debug)]
enum Sig {
    Valid,
    Forged,
    /// σ + δ for even operators, σ − δ for odd ones: two of them cancel.
    Shifted(u16),
    OtherDigest,
    UnknownOperator,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Init {
        task: u8,
        quorums: u8,
        threshold: u8,
        expiry_ms: u16,
        window_ms: u16,
    },
    Sign {
        task: u8,
        operator: u8,
        digest: u8,
        sig: Sig,
    },
    Wait {
        task: u8,
        timeout_ms: u16,
    },
    WaitInline {
        task: u8,
        timeout_ms: u16,
    },
    Advance {
        ms: u16,
    },
    Yield,
    Shutdown,
}

#[derive(Arbitrary, Debug)]
struct Input {
    optimistic: bool,
    ops: Vec<Op>,
}

fn config(optimistic: bool) -> AggregatorConfig {
    AggregatorConfig {
        verification_mode: if optimistic {
            VerificationMode::Optimistic
        } else {
            VerificationMode::Eager
        },
        max_active_tasks: 4,
        max_pending_tasks: 3,
        max_pending_signatures_per_task: 3,
        pending_signature_timeout: Duration::from_millis(200),
        max_digests_per_task: 2,
        max_stored_responses: 4,
        task_queue_capacity: 4,
        max_recorded_errors_per_task: 4,
        operator_state_cache_size: 2,
        verification_threads: 1,
        max_verification_batch: 4,
        verification_queue_capacity: 8,
        min_concurrent_merged_batch: 2,
        pending_cleanup_interval: Duration::from_millis(50),
        event_buffer: 4,
        verification_linger: Duration::from_millis(1),
        quarantine_period: Duration::from_millis(300),
        // One clean check between failures clears them: relapses and releases both happen.
        quarantine_clean_checks: 1,
        max_quarantined_operators: 3,
        // Fewer labels than operators: the shared `other` series is exercised too.
        max_operator_labels: 2,
    }
}

fn task_id(t: u8) -> TaskId {
    // Few distinct ids so that duplicates, late and early signatures are common.
    TaskId::from(u32::from(t % 8) + 1)
}

fn digest(d: u8) -> ResponseDigest {
    ResponseDigest::new([d % 3; 32])
}

fn check_bounds(
    core: &AggregatorCore<FakeScheme, InMemoryRegistry<FakeScheme>>,
    c: &AggregatorConfig,
) {
    assert!(
        core.active_tasks() <= c.max_active_tasks,
        "active tasks over limit"
    );
    let (tasks, sigs) = core.pending_sizes();
    assert!(tasks <= c.max_pending_tasks, "pending tasks over limit");
    assert!(
        sigs <= c.max_pending_tasks * c.max_pending_signatures_per_task,
        "pending sigs over limit"
    );
    assert!(
        core.stored_results() <= c.max_stored_responses,
        "stored results over limit"
    );
}

/// A delivered aggregate meets every quorum's threshold of (one initialization of) its task
/// and passes the checker.
async fn check_delivered(
    agg: &quorate_domain::AggregatedResponse,
    thresholds: &BTreeMap<TaskId, Vec<Vec<(u8, u8)>>>,
    submitter: &InMemorySubmitter<FakeScheme, InMemoryRegistry<FakeScheme>>,
) {
    let quorums: Vec<u8> = agg.quorum_numbers.iter().map(|q| q.0).collect();
    let met = thresholds.get(&agg.task_id).is_some_and(|inits| {
        inits.iter().any(|qs| {
            qs.iter().map(|(q, _)| *q).collect::<Vec<_>>() == quorums
                && qs.iter().enumerate().all(|(i, (_, t))| {
                    let (Some(signed), Some(total)) =
                        (agg.signed_stake.get(i), agg.total_stake.get(i))
                    else {
                        return false;
                    };
                    !total.is_zero() && *signed * Stake::from(100u8) >= *total * Stake::from(*t)
                })
        })
    });
    assert!(met, "aggregate below threshold delivered: {agg:?}");
    let request = quorate_domain::SubmissionRequest {
        aggregate: agg.clone(),
        payload: Vec::new(),
    };
    assert!(
        submitter.check(&request).await.is_ok(),
        "delivered aggregate fails the checker: {agg:?}"
    );
}

fn names(err: &AggregationError, task: TaskId) {
    assert_eq!(err.task_id(), Some(task), "error for another task: {err:?}");
}

async fn run(input: Input) {
    // Operator i has stake 10 + i in the quorums q < 2 with (i + q) % 3 != 0.
    let stake = |i: usize, q: u8| ((i + usize::from(q)) % 3 != 0).then_some(10 + i as u64);
    let cfg = config(input.optimistic);
    let Fixture {
        scheme,
        registry,
        keys,
        ids,
        core,
    } = fixture_by(OPERATORS, 2, stake, cfg.clone());
    let submitter = InMemorySubmitter::new(Arc::clone(&scheme), Arc::clone(&registry));
    let mut thresholds: BTreeMap<TaskId, Vec<Vec<(u8, u8)>>> = BTreeMap::new();
    let mut delivered = Vec::new();
    let mut waiters = Vec::new();
    let mut initialized = 0u64;
    let mut shut_down = false;

    for op in input.ops.into_iter().take(64) {
        match op {
            Op::Init {
                task,
                quorums,
                threshold,
                expiry_ms,
                window_ms,
            } => {
                let id = task_id(task);
                let qs: &[(u8, u8)] = match quorums % 3 {
                    0 => &[(0, 0)],
                    1 => &[(1, 0)],
                    _ => &[(0, 0), (1, 0)],
                };
                let qs: Vec<(u8, u8)> = qs.iter().map(|(q, _)| (*q, threshold % 101)).collect();
                let expiry = Duration::from_millis(u64::from(expiry_ms % 2000));
                let Ok(meta) = TaskMetadata::from_raw(id, BLOCK, &qs, expiry) else {
                    continue;
                };
                let meta = meta.with_window(Duration::from_millis(u64::from(window_ms % 1000)));
                thresholds.entry(id).or_default().push(qs);
                match core.initialize_task(meta).await {
                    Ok(()) => {
                        assert!(!shut_down, "initialized after shutdown");
                        initialized += 1;
                    }
                    Err(e) => names(&e, id),
                }
            }
            Op::Sign {
                task,
                operator,
                digest: d,
                sig,
            } => {
                let id = task_id(task);
                let op = usize::from(operator) % OPERATORS;
                let d = digest(d);
                let mut signed = SignedTaskResponse {
                    task_id: id,
                    digest: d,
                    signature: keys[op].sign(&d),
                    operator_id: ids[op],
                };
                match sig {
                    Sig::Valid => {}
                    Sig::Forged => signed.signature = FakePoint(signed.signature.0 ^ 0x11),
                    Sig::Shifted(delta) => {
                        let m = (1u64 << 61) - 1;
                        let delta = u64::from(delta) + 1;
                        signed.signature = FakePoint(if op % 2 == 0 {
                            (signed.signature.0 + delta) % m
                        } else {
                            (signed.signature.0 + m - delta) % m
                        });
                    }
                    Sig::OtherDigest => signed.digest = digest(d.as_bytes()[0] + 1),
                    Sig::UnknownOperator => {
                        signed.operator_id = OperatorId::new([0xab; 32]).unwrap();
                    }
                }
                let operator_id = signed.operator_id;
                match core.process_signed_response(signed).await {
                    Ok(SignatureOutcome::Accepted {
                        task_id: t,
                        operator_id: o,
                        ..
                    })
                    | Ok(SignatureOutcome::Buffered {
                        task_id: t,
                        operator_id: o,
                    }) => {
                        assert_eq!((t, o), (id, operator_id));
                    }
                    Err(e) => names(&e, id),
                }
            }
            Op::Wait { task, timeout_ms } => {
                let id = task_id(task);
                let c = core.clone();
                let timeout = Duration::from_millis(u64::from(timeout_ms));
                waiters.push((
                    id,
                    tokio::spawn(async move { c.wait_for_aggregation(id, timeout).await }),
                ));
            }
            Op::WaitInline { task, timeout_ms } => {
                let id = task_id(task);
                let timeout = Duration::from_millis(u64::from(timeout_ms % 3000));
                match core.wait_for_aggregation(id, timeout).await {
                    Ok(agg) => {
                        assert_eq!(agg.task_id, id);
                        delivered.push(agg);
                    }
                    Err(e) => names(&e, id),
                }
            }
            Op::Advance { ms } => {
                tokio::time::sleep(Duration::from_millis(u64::from(ms % 5000))).await
            }
            Op::Yield => tokio::task::yield_now().await,
            Op::Shutdown => {
                core.shutdown().await;
                shut_down = true;
                assert_eq!(core.active_tasks(), 0, "tasks left after shutdown");
            }
        }
        check_bounds(&core, &cfg);
    }

    core.shutdown().await;
    check_bounds(&core, &cfg);
    assert_eq!(core.active_tasks(), 0, "tasks left after shutdown");
    let stats = core.stats();
    assert_eq!(
        stats.tasks_initialized, initialized,
        "initialization miscounted"
    );
    assert_eq!(
        stats.tasks_finished(),
        initialized,
        "a task did not end exactly once: {stats:?}"
    );
    // Every waiter answers, once, about its own task (longest timeout is 65 s of paused time).
    for (id, handle) in waiters {
        let answer = tokio::time::timeout(Duration::from_secs(120), handle)
            .await
            .expect("a waiter never got an answer")
            .expect("a waiter panicked");
        match answer {
            Ok(agg) => {
                assert_eq!(agg.task_id, id);
                delivered.push(agg);
            }
            Err(e) => names(&e, id),
        }
    }
    for agg in delivered {
        check_delivered(&agg, &thresholds, &submitter).await;
    }
}

fuzz_target!(|input: Input| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(run(input));
});
