//! Prepare (collect unsigned responses, reach consensus) then commit (sign the consensus
//! digest, aggregate).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use quorate_consensus::{ConsensusConfig, Decimal, OutlierPolicy, Tolerance};
use quorate_domain::{AggregationError, SignatureVerificationError, SignedTaskResponse, TaskId};
use quorate_testkit::*;
use quorate_two_phase::{PrepareError, PrepareOutcome, PrepareRules, TwoPhaseAggregator};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);

fn tolerance(p: &str) -> ConsensusConfig {
    ConsensusConfig::new(Tolerance::percent(p.parse::<Decimal>().unwrap()).unwrap())
}

fn rules(min: usize) -> PrepareRules {
    PrepareRules {
        min_responses: min,
        min_stake_percent: None,
        deadline: Duration::from_secs(5),
    }
}

fn two_phase(
    ops: usize,
) -> (
    Fixture,
    TwoPhaseAggregator<
        quorate_bls::fake::FakeScheme,
        quorate_runtime::memory::InMemoryRegistry<quorate_bls::fake::FakeScheme>,
    >,
) {
    let stakes: Vec<&[(u8, u64)]> = vec![&[(0, 10)]; ops];
    let f = fixture(&stakes, config());
    let tp = TwoPhaseAggregator::new(f.core.clone(), 16);
    (f, tp)
}

#[tokio::test(start_paused = true)]
async fn early_consensus_then_commit_on_the_consensus_digest() {
    let (f, tp) = two_phase(4);
    tp.open(task(1, &[(0, 75)]), rules(3), tolerance("1"))
        .await
        .unwrap();
    for (op, price) in [(0, "3001.5"), (1, "3000.25"), (2, "3002")] {
        let doc = serde_json::from_str(&format!(r#"{{"eth_usd": {price}, "round": 7}}"#)).unwrap();
        let out = tp
            .submit_response(TaskId::from(1u32), f.ids[op], doc)
            .await
            .unwrap();
        assert_eq!(matches!(out, PrepareOutcome::Decided), op == 2);
    }
    let outcome = tp
        .wait_for_consensus(TaskId::from(1u32), WAIT)
        .await
        .unwrap();
    assert_eq!(
        outcome.normalized,
        serde_json::from_str::<serde_json::Value>(r#"{"eth_usd": 3001.50, "round": 7}"#).unwrap()
    );
    let agreed = outcome.consensus_digest;
    // Commit: signatures over anything but the agreed digest are refused.
    let err = f.send(3, 1, digest(9)).await.unwrap_err();
    assert!(matches!(
        err,
        AggregationError::SignatureVerification {
            reason: SignatureVerificationError::UnexpectedDigest,
            ..
        }
    ));
    for op in 0..3 {
        let signed = SignedTaskResponse {
            task_id: TaskId::from(1u32),
            digest: agreed,
            signature: f.keys[op].sign(&agreed),
            operator_id: f.ids[op],
        };
        f.core.process_signed_response(signed).await.unwrap();
    }
    let agg = f
        .core
        .wait_for_aggregation(TaskId::from(1u32), WAIT)
        .await
        .unwrap();
    assert_eq!(agg.digest, agreed);
    assert_eq!(agg.signer_ids.len(), 3);
    // The round is decided: late responses are refused.
    assert!(matches!(
        tp.submit_response(TaskId::from(1u32), f.ids[3], json!({"eth_usd": 1}))
            .await,
        Err(PrepareError::Closed { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn the_deadline_decides_with_what_arrived() {
    let (f, tp) = two_phase(4);
    tp.open(task(1, &[(0, 25)]), rules(4), tolerance("1"))
        .await
        .unwrap();
    tp.submit_response(TaskId::from(1u32), f.ids[0], json!({"v": 10}))
        .await
        .unwrap();
    tp.submit_response(TaskId::from(1u32), f.ids[1], json!({"v": 10}))
        .await
        .unwrap();
    let outcome = tp
        .wait_for_consensus(TaskId::from(1u32), WAIT)
        .await
        .unwrap();
    assert!(outcome.stats.fast_path);
    assert_eq!(outcome.stats.responders, 2);
}

#[tokio::test(start_paused = true)]
async fn stake_share_triggers_early() {
    let stakes: Vec<&[(u8, u64)]> = vec![&[(0, 70)], &[(0, 10)], &[(0, 10)], &[(0, 10)]];
    let f = fixture(&stakes, config());
    let tp = TwoPhaseAggregator::new(f.core.clone(), 4);
    let r = PrepareRules {
        min_responses: 4,
        min_stake_percent: Some(70),
        deadline: WAIT,
    };
    tp.open(task(1, &[(0, 50)]), r, tolerance("1"))
        .await
        .unwrap();
    let out = tp
        .submit_response(TaskId::from(1u32), f.ids[0], json!({"v": 1}))
        .await
        .unwrap();
    assert!(matches!(out, PrepareOutcome::Decided));
}

#[tokio::test(start_paused = true)]
async fn disagreement_is_reported_and_no_commit_starts() {
    let (f, tp) = two_phase(3);
    tp.open(task(1, &[(0, 50)]), rules(3), tolerance("1"))
        .await
        .unwrap();
    for (op, v) in [(0, 100), (1, 100), (2, 150)] {
        tp.submit_response(TaskId::from(1u32), f.ids[op], json!({"v": v}))
            .await
            .unwrap();
    }
    let err = tp
        .wait_for_consensus(TaskId::from(1u32), WAIT)
        .await
        .unwrap_err();
    assert!(matches!(err, PrepareError::Consensus { .. }), "{err}");
    assert!(err.to_string().contains("/v"), "{err}");
    assert_eq!(f.core.active_tasks(), 0);
}

#[tokio::test(start_paused = true)]
async fn excluding_outliers_still_commits() {
    let (f, tp) = two_phase(4);
    let cfg = tolerance("1")
        .with_policy(OutlierPolicy::exclude_by_responders("0.5".parse().unwrap()).unwrap());
    tp.open(task(1, &[(0, 50)]), rules(4), cfg).await.unwrap();
    for (op, v) in [(0, 100), (1, 100), (2, 101), (3, 500)] {
        tp.submit_response(TaskId::from(1u32), f.ids[op], json!({"v": v}))
            .await
            .unwrap();
    }
    let outcome = tp
        .wait_for_consensus(TaskId::from(1u32), WAIT)
        .await
        .unwrap();
    assert_eq!(outcome.excluded.len(), 1);
    assert_eq!(outcome.excluded[0].operator, f.ids[3]);
    assert_eq!(f.core.active_tasks(), 1);
}

#[tokio::test(start_paused = true)]
async fn bad_prepare_input_gets_typed_errors() {
    let (f, tp) = two_phase(2);
    let id = TaskId::from(1u32);
    assert!(matches!(
        tp.submit_response(id, f.ids[0], json!({})).await,
        Err(PrepareError::UnknownTask { .. })
    ));
    tp.open(task(1, &[(0, 50)]), rules(2), tolerance("1"))
        .await
        .unwrap();
    assert!(matches!(
        tp.open(task(1, &[(0, 50)]), rules(2), tolerance("1")).await,
        Err(PrepareError::DuplicateTask { .. })
    ));
    tp.submit_response(id, f.ids[0], json!({"v": 1}))
        .await
        .unwrap();
    assert!(matches!(
        tp.submit_response(id, f.ids[0], json!({"v": 1})).await,
        Err(PrepareError::DuplicateResponse { .. })
    ));
    let stranger = quorate_domain::OperatorId::new([5; 32]).unwrap();
    assert!(matches!(
        tp.submit_response(id, stranger, json!({"v": 1})).await,
        Err(PrepareError::OperatorNotFound { .. })
    ));
}
