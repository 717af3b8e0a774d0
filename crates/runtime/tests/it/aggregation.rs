//! Aggregation scenarios (eigensdk-rs's service tests written anew, and more), on the fake
//! scheme with tokio's clock paused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use quorate_domain::{AggregationError, SignatureVerificationError, Stake, TaskId};
use quorate_runtime::SignatureOutcome;
use quorate_testkit::*;

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(start_paused = true)]
async fn one_quorum_one_operator() {
    let f = fixture(&[&[(0, 100)]], config());
    f.core.initialize_task(task(1, &[(0, 100)])).await.unwrap();
    let out = f.send(0, 1, digest(7)).await.unwrap();
    assert!(matches!(
        out,
        SignatureOutcome::Accepted { verified: true, .. }
    ));
    let agg = f.aggregated(1).await;
    assert_eq!(agg.digest, digest(7));
    assert!(agg.non_signer_ids.is_empty());
    assert_eq!(agg.signed_stake, vec![Stake::from(100u8)]);
    assert_eq!(agg.signers_agg_sig_g1, f.expected_sigma(&[(0, 1)], 7));
    f.submitter().check(&req(&agg)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn three_operators_one_quorum_all_sign() {
    let f = fixture(&[&[(0, 100)], &[(0, 200)], &[(0, 300)]], config());
    f.core.initialize_task(task(1, &[(0, 100)])).await.unwrap();
    for op in 0..3 {
        f.send(op, 1, digest(1)).await.unwrap();
    }
    let agg = f.aggregated(1).await;
    assert_eq!(agg.signer_ids, f.sorted_ids(&[0, 1, 2]));
    assert_eq!(agg.total_stake, vec![Stake::from(600u16)]);
    assert!(f.submitter().check(&req(&agg)).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn threshold_not_met_expires_with_task_id() {
    let f = fixture(&[&[(0, 100)], &[(0, 100)]], config());
    f.core.initialize_task(task(5, &[(0, 60)])).await.unwrap();
    f.send(0, 5, digest(1)).await.unwrap();
    let err = f
        .core
        .wait_for_aggregation(TaskId::from(5u32), WAIT)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        AggregationError::TaskExpired {
            task_id: TaskId::from(5u32)
        }
    );
}

#[tokio::test(start_paused = true)]
async fn threshold_exactly_met_aggregates_with_non_signer() {
    let f = fixture(&[&[(0, 100)], &[(0, 100)]], config());
    f.core.initialize_task(task(5, &[(0, 50)])).await.unwrap();
    f.send(1, 5, digest(1)).await.unwrap();
    let agg = f.aggregated(5).await;
    assert_eq!(agg.non_signer_ids, vec![f.ids[0]]);
    assert_eq!(agg.non_signer_pubkeys_g1.len(), 1);
    assert_eq!(agg.indices.non_signer_stake_indices, vec![vec![0]]);
    assert!(f.submitter().check(&req(&agg)).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn no_signature_expires() {
    let f = fixture(&[&[(0, 100)]], config());
    f.core.initialize_task(task(2, &[(0, 100)])).await.unwrap();
    let err = f
        .core
        .wait_for_aggregation(TaskId::from(2u32), WAIT)
        .await
        .unwrap_err();
    assert!(matches!(err, AggregationError::TaskExpired { .. }));
}

#[tokio::test(start_paused = true)]
async fn wait_timeout_reports_operator_errors() {
    let f = fixture(&[&[(0, 100)], &[(0, 100)]], config());
    f.core.initialize_task(task(2, &[(0, 100)])).await.unwrap();
    let _ = f.send_forged(0, 2, digest(1)).await;
    let err = f
        .core
        .wait_for_aggregation(TaskId::from(2u32), Duration::from_secs(1))
        .await
        .unwrap_err();
    match err {
        AggregationError::Timeout {
            task_id,
            operator_errors,
        } => {
            assert_eq!(task_id, TaskId::from(2u32));
            assert_eq!(
                operator_errors,
                vec![(f.ids[0], SignatureVerificationError::IncorrectSignature)]
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn two_quorums_operator_in_both_counts_twice() {
    // op0 in both quorums, op1 only in quorum 0, op2 only in quorum 1 (does not sign).
    let f = fixture(&[&[(0, 100), (1, 100)], &[(0, 50)], &[(1, 50)]], config());
    f.core
        .initialize_task(task(3, &[(0, 100), (1, 60)]))
        .await
        .unwrap();
    f.send(0, 3, digest(9)).await.unwrap();
    f.send(1, 3, digest(9)).await.unwrap();
    let agg = f.aggregated(3).await;
    assert_eq!(
        agg.signed_stake,
        vec![Stake::from(150u8), Stake::from(100u8)]
    );
    assert_eq!(agg.non_signer_ids, vec![f.ids[2]]);
    // sigma = 2·σ0 + 1·σ1 (op0 is in both quorums).
    assert_eq!(
        agg.signers_agg_sig_g1,
        f.expected_sigma(&[(0, 2), (1, 1)], 9)
    );
    assert_ne!(
        agg.signers_agg_sig_g1,
        f.expected_sigma(&[(0, 1), (1, 1)], 9)
    );
    f.submitter().check(&req(&agg)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn concurrent_tasks_are_isolated() {
    let f = fixture(&[&[(0, 100)], &[(0, 100)]], config());
    for t in 1..=20u32 {
        f.core.initialize_task(task(t, &[(0, 100)])).await.unwrap();
    }
    let mut joins = Vec::new();
    for t in 1..=20u32 {
        let core = f.core.clone();
        let (a, b) = if t % 2 == 0 {
            (
                f.signed(0, t, digest(t as u8)),
                f.signed(1, t, digest(t as u8)),
            )
        } else {
            // Odd tasks get one forged signature: they expire, even tasks must not notice.
            (
                f.signed(0, t, digest(t as u8)),
                f.forged(1, t, digest(t as u8)),
            )
        };
        joins.push(tokio::spawn(async move {
            let _ = core.process_signed_response(a).await;
            let _ = core.process_signed_response(b).await;
        }));
    }
    for j in joins {
        j.await.unwrap();
    }
    for t in 1..=20u32 {
        let r = f.core.wait_for_aggregation(TaskId::from(t), WAIT).await;
        if t % 2 == 0 {
            assert_eq!(r.unwrap().digest, digest(t as u8));
        } else {
            assert_eq!(
                r.unwrap_err(),
                AggregationError::TaskExpired {
                    task_id: TaskId::from(t)
                }
            );
        }
    }
    let s = f.core.stats();
    assert_eq!((s.tasks_aggregated, s.tasks_expired), (10, 10));
}

#[tokio::test(start_paused = true)]
async fn duplicate_task_id_is_rejected() {
    let f = fixture(&[&[(0, 100)]], config());
    f.core.initialize_task(task(1, &[(0, 100)])).await.unwrap();
    let err = f
        .core
        .initialize_task(task(1, &[(0, 100)]))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        AggregationError::DuplicateTaskId {
            task_id: TaskId::from(1u32)
        }
    );
}

#[tokio::test(start_paused = true)]
async fn unknown_task_wait_is_not_found() {
    let f = fixture(&[&[(0, 100)]], config());
    let err = f
        .core
        .wait_for_aggregation(TaskId::from(77u32), WAIT)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        AggregationError::TaskNotFound {
            task_id: TaskId::from(77u32)
        }
    );
}

#[tokio::test(start_paused = true)]
async fn registry_error_is_reported_at_initialization() {
    let f = fixture(&[&[(0, 100)]], config());
    let bad =
        quorate_domain::TaskMetadata::from_raw(TaskId::from(1u32), 3, &[(0, 50)], WAIT).unwrap();
    let err = f.core.initialize_task(bad).await.unwrap_err();
    assert!(
        matches!(err, AggregationError::Registry { task_id, .. } if task_id == TaskId::from(1u32))
    );
    let missing_quorum = task(2, &[(3, 50), (9, 50)]);
    assert!(matches!(
        f.core.initialize_task(missing_quorum).await.unwrap_err(),
        AggregationError::Registry {
            source: quorate_domain::RegistryError::QuorumNotFound { .. },
            ..
        }
    ));
}

#[tokio::test(start_paused = true)]
async fn operator_state_is_fetched_once_per_block_and_quorums() {
    let f = fixture(&[&[(0, 100)]], config());
    for t in 1..=50u32 {
        f.core.initialize_task(task(t, &[(0, 100)])).await.unwrap();
    }
    assert_eq!(f.registry.operator_state_calls(), 1);
}
