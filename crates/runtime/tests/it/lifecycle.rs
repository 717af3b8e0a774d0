//! Early, late, duplicate and invalid signatures, competing digests, windows, and expiry.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use quorate_domain::{AggregationError, SignatureVerificationError, TaskId};
use quorate_runtime::{AggregatorConfig, SignatureOutcome};
use quorate_testkit::*;

const WAIT: Duration = Duration::from_secs(60);

fn id(t: u32) -> TaskId {
    TaskId::from(t)
}

#[tokio::test(start_paused = true)]
async fn signature_before_init_is_buffered_then_aggregated() {
    let f = fixture(&[&[(0, 100)], &[(0, 100)]], config());
    let out = f.send(0, 1, digest(1)).await.unwrap();
    assert_eq!(
        out,
        SignatureOutcome::Buffered {
            task_id: id(1),
            operator_id: f.ids[0]
        }
    );
    assert_eq!(f.core.pending_sizes(), (1, 1));
    f.core.initialize_task(task(1, &[(0, 100)])).await.unwrap();
    assert_eq!(f.core.pending_sizes(), (0, 0));
    f.send(1, 1, digest(1)).await.unwrap();
    let agg = f.core.wait_for_aggregation(id(1), WAIT).await.unwrap();
    assert_eq!(agg.signer_ids, f.sorted_ids(&[0, 1]));
}

#[tokio::test(start_paused = true)]
async fn buffered_signatures_expire_after_the_timeout() {
    let cfg = AggregatorConfig {
        pending_signature_timeout: Duration::from_secs(5),
        pending_cleanup_interval: Duration::from_millis(500),
        ..config()
    };
    let f = fixture(&[&[(0, 100)]], cfg);
    f.send(0, 1, digest(1)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(f.core.pending_sizes(), (1, 1));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(f.core.pending_sizes(), (0, 0));
    assert_eq!(f.core.stats().pending_dropped, 1);
    // The task initialized now never sees the dropped signature.
    f.core.initialize_task(task(1, &[(0, 100)])).await.unwrap();
    assert!(matches!(
        f.core.wait_for_aggregation(id(1), WAIT).await,
        Err(AggregationError::TaskExpired { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn late_signature_after_completion_is_a_clear_error() {
    let f = fixture(&[&[(0, 100)], &[(0, 100)]], config());
    f.core.initialize_task(task(1, &[(0, 50)])).await.unwrap();
    f.send(0, 1, digest(1)).await.unwrap();
    f.core.wait_for_aggregation(id(1), WAIT).await.unwrap();
    let err = f.send(1, 1, digest(1)).await.unwrap_err();
    assert_eq!(
        err,
        AggregationError::TaskCompleted {
            task_id: id(1),
            operator_id: f.ids[1]
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_second_signature_is_a_duplicate_or_an_equivocation() {
    let f = fixture(&[&[(0, 100)], &[(0, 100)]], config());
    f.core.initialize_task(task(1, &[(0, 100)])).await.unwrap();
    f.send(0, 1, digest(1)).await.unwrap();
    // One digest per operator per task: the same digest again is a duplicate; a valid
    // signature on another digest is equivocation (eigensdk-rs would count it for both).
    for (d, reason) in [
        (digest(1), SignatureVerificationError::DuplicateSignature),
        (digest(2), SignatureVerificationError::Equivocation),
    ] {
        let err = f.send(0, 1, d).await.unwrap_err();
        assert_eq!(
            err,
            AggregationError::SignatureVerification {
                task_id: id(1),
                operator_id: f.ids[0],
                reason,
            }
        );
    }
}

#[tokio::test(start_paused = true)]
async fn invalid_signature_does_not_block_a_retry() {
    let f = fixture(&[&[(0, 100)]], config());
    f.core.initialize_task(task(1, &[(0, 100)])).await.unwrap();
    let err = f.send_forged(0, 1, digest(1)).await.unwrap_err();
    assert!(matches!(
        err,
        AggregationError::SignatureVerification {
            reason: SignatureVerificationError::IncorrectSignature,
            ..
        }
    ));
    f.send(0, 1, digest(1)).await.unwrap();
    f.core.wait_for_aggregation(id(1), WAIT).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn unknown_and_out_of_quorum_operators_get_their_own_errors() {
    // op1 is registered only in quorum 2, the task uses quorum 0.
    let f = fixture(&[&[(0, 100)], &[(2, 100)]], config());
    f.core.initialize_task(task(1, &[(0, 100)])).await.unwrap();
    let err = f.send(1, 1, digest(1)).await.unwrap_err();
    assert!(matches!(
        err,
        AggregationError::SignatureVerification {
            reason: SignatureVerificationError::OperatorNotInQuorums,
            ..
        }
    ));
    let mut stranger = f.signed(0, 1, digest(1));
    stranger.operator_id = quorate_domain::OperatorId::new([9; 32]).unwrap();
    let err = f.core.process_signed_response(stranger).await.unwrap_err();
    assert!(matches!(
        err,
        AggregationError::SignatureVerification {
            reason: SignatureVerificationError::OperatorNotFound,
            ..
        }
    ));
}

#[tokio::test(start_paused = true)]
async fn invalid_signature_in_a_batch_of_valid_ones_is_the_only_one_rejected() {
    let ops: Vec<&[(u8, u64)]> = vec![&[(0, 10)]; 12];
    let f = fixture(&ops, config());
    f.core.initialize_task(task(1, &[(0, 100)])).await.unwrap();
    // Submit all at once so they share verification batches.
    let mut joins = Vec::new();
    for op in 0..12 {
        let signed = if op == 5 {
            f.forged(op, 1, digest(3))
        } else {
            f.signed(op, 1, digest(3))
        };
        let core = f.core.clone();
        joins.push(tokio::spawn(async move {
            core.process_signed_response(signed).await
        }));
    }
    let mut rejected = Vec::new();
    for (op, j) in joins.into_iter().enumerate() {
        if j.await.unwrap().is_err() {
            rejected.push(op);
        }
    }
    assert_eq!(rejected, vec![5]);
    // 11 of 12 signed: below 100%, so the task expires.
    assert!(f.core.wait_for_aggregation(id(1), WAIT).await.is_err());
    assert_eq!(f.core.stats().signatures_accepted, 11);
}

#[tokio::test(start_paused = true)]
async fn two_digests_racing_the_first_to_threshold_wins() {
    let ops: Vec<&[(u8, u64)]> = vec![&[(0, 10)]; 5];
    let f = fixture(&ops, config());
    f.core.initialize_task(task(1, &[(0, 40)])).await.unwrap();
    f.send(0, 1, digest(0xA)).await.unwrap();
    f.send(1, 1, digest(0xB)).await.unwrap();
    f.send(2, 1, digest(0xB)).await.unwrap();
    let agg = f.core.wait_for_aggregation(id(1), WAIT).await.unwrap();
    assert_eq!(agg.digest, digest(0xB));
    assert_eq!(agg.signer_ids, f.sorted_ids(&[1, 2]));
    assert_eq!(agg.non_signer_ids, f.sorted_ids(&[0, 3, 4]));
    f.submitter().check(&req(&agg)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn window_extends_the_signer_set() {
    let ops: Vec<&[(u8, u64)]> = vec![&[(0, 10)]; 4];
    let f = fixture(&ops, config());
    let meta = task(1, &[(0, 50)]).with_window(Duration::from_secs(2));
    f.core.initialize_task(meta).await.unwrap();
    f.send(0, 1, digest(1)).await.unwrap();
    f.send(1, 1, digest(1)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    f.send(2, 1, digest(1)).await.unwrap();
    let agg = f.core.wait_for_aggregation(id(1), WAIT).await.unwrap();
    assert_eq!(agg.signer_ids, f.sorted_ids(&[0, 1, 2]));
    // After the window closed, a signature is late.
    assert!(matches!(
        f.send(3, 1, digest(1)).await,
        Err(AggregationError::TaskCompleted { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn expiry_during_the_window_sends_the_best_response() {
    let ops: Vec<&[(u8, u64)]> = vec![&[(0, 10)]; 3];
    let f = fixture(&ops, config());
    let meta =
        quorate_domain::TaskMetadata::from_raw(id(1), BLOCK, &[(0, 60)], Duration::from_secs(3))
            .unwrap()
            .with_window(Duration::from_secs(30));
    f.core.initialize_task(meta).await.unwrap();
    f.send(0, 1, digest(1)).await.unwrap();
    f.send(1, 1, digest(1)).await.unwrap();
    let start = tokio::time::Instant::now();
    let agg = f.core.wait_for_aggregation(id(1), WAIT).await.unwrap();
    assert!(start.elapsed() <= Duration::from_secs(3));
    assert_eq!(agg.signer_ids.len(), 2);
}

#[test]
fn starting_outside_a_tokio_runtime_is_an_error_not_a_panic() {
    use std::sync::Arc;

    use quorate_bls::fake::FakeScheme;
    use quorate_runtime::memory::InMemoryRegistry;
    use quorate_runtime::{AggregatorCore, StartError};

    let scheme = Arc::new(FakeScheme);
    let registry = Arc::new(InMemoryRegistry::new(Arc::clone(&scheme), 4));
    let started = AggregatorCore::new(AggregatorConfig::default(), registry, scheme);
    assert_eq!(started.err(), Some(StartError::NoTokioRuntime));
}
