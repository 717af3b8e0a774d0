//! Optimistic verification, and the whole pipeline on real BN254 keys checked by the
//! in-memory copy of the on-chain checker.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use quorate_bls::{Bn254Scheme, KeyPair};
use quorate_domain::{
    AggregationError, QuorumNumber, ResponseDigest, SignatureVerificationError, SignedTaskResponse,
    Stake, TaskId, TaskMetadata,
};
use quorate_runtime::memory::{InMemoryOperator, InMemoryRegistry, InMemorySubmitter};
use quorate_runtime::{AggregatorConfig, AggregatorCore, SignatureOutcome, VerificationMode};
use quorate_testkit::*;
use rand::SeedableRng;

const WAIT: Duration = Duration::from_secs(60);

fn optimistic() -> AggregatorConfig {
    AggregatorConfig {
        verification_mode: VerificationMode::Optimistic,
        ..config()
    }
}

#[tokio::test(start_paused = true)]
async fn optimistic_mode_accepts_unverified_and_aggregates() {
    let ops: Vec<&[(u8, u64)]> = vec![&[(0, 10)]; 3];
    let f = fixture(&ops, optimistic());
    f.core.initialize_task(task(1, &[(0, 100)])).await.unwrap();
    for op in 0..3 {
        let out = f.send(op, 1, digest(1)).await.unwrap();
        assert!(matches!(
            out,
            SignatureOutcome::Accepted {
                verified: false,
                ..
            }
        ));
    }
    let agg = f.aggregated(1).await;
    assert_eq!(agg.signer_ids.len(), 3);
    f.submitter().check(&req(&agg)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn optimistic_mode_checks_signatures_counted_during_the_window() {
    let ops: Vec<&[(u8, u64)]> = vec![&[(0, 10)]; 4];
    let f = fixture(&ops, optimistic());
    let meta = task(1, &[(0, 50)]).with_window(Duration::from_secs(1));
    f.core.initialize_task(meta).await.unwrap();
    // Two honest signatures meet 50% and pass the aggregate check; the window opens. A forged
    // and an honest one arrive inside it: the answer must hold the honest ones only.
    for (op, forged) in [(0, false), (1, false), (2, true), (3, false)] {
        let s = if forged {
            f.forged(op, 1, digest(1))
        } else {
            f.signed(op, 1, digest(1))
        };
        f.core.process_signed_response(s).await.unwrap();
    }
    let agg = f.aggregated(1).await;
    assert_eq!(agg.signer_ids, f.sorted_ids(&[0, 1, 3]));
    f.submitter().check(&req(&agg)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn optimistic_mode_bisects_out_bad_signatures_and_keeps_going() {
    let ops: Vec<&[(u8, u64)]> = vec![&[(0, 10)]; 6];
    let f = fixture(&ops, optimistic());
    f.core.initialize_task(task(1, &[(0, 50)])).await.unwrap();
    // Three signatures reach 50%, but one is forged: the aggregate fails, bisection drops it,
    // and the fourth honest signature completes the task.
    f.send(0, 1, digest(1)).await.unwrap();
    f.send_forged(1, 1, digest(1)).await.unwrap();
    f.send(2, 1, digest(1)).await.unwrap();
    f.send(3, 1, digest(1)).await.unwrap();
    let agg = f.aggregated(1).await;
    assert_eq!(agg.signer_ids, f.sorted_ids(&[0, 2, 3]));
    f.submitter().check(&req(&agg)).await.unwrap();
    match f.core.wait_for_aggregation(TaskId::from(1u32), WAIT).await {
        Ok(a) => assert!(!a.signer_ids.contains(&f.ids[1])),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(start_paused = true)]
async fn optimistic_mode_reports_dropped_signatures_on_timeout() {
    let ops: Vec<&[(u8, u64)]> = vec![&[(0, 10)]; 2];
    let f = fixture(&ops, optimistic());
    f.core.initialize_task(task(1, &[(0, 100)])).await.unwrap();
    f.send(0, 1, digest(1)).await.unwrap();
    f.send_forged(1, 1, digest(1)).await.unwrap();
    match f
        .core
        .wait_for_aggregation(TaskId::from(1u32), Duration::from_secs(1))
        .await
    {
        Err(AggregationError::Timeout {
            operator_errors, ..
        }) => assert_eq!(
            operator_errors,
            vec![(f.ids[1], SignatureVerificationError::IncorrectSignature)]
        ),
        other => panic!("unexpected {other:?}"),
    }
}

/// Real BN254 keys: operators in one, two or three quorums, some offline, one forger.
async fn real_bls_run(mode: VerificationMode) {
    let scheme = Arc::new(Bn254Scheme);
    let registry = Arc::new(InMemoryRegistry::new(Arc::clone(&scheme), 3));
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let keys: Vec<KeyPair> = (0..9).map(|_| KeyPair::random(&mut rng)).collect();
    let ops = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let mut stakes = BTreeMap::new();
            for q in 0..3u8 {
                if (i + q as usize) % 3 != 0 || i % 4 == 0 {
                    stakes.insert(QuorumNumber(q), Stake::from(100 + 10 * i as u64));
                }
            }
            InMemoryOperator {
                pubkey_g1: *k.public_g1(),
                pubkey_g2: k.public_g2().clone(),
                stakes,
                proof_of_possession: k.proof_of_possession(),
            }
        })
        .collect();
    let ids = registry.set_operators(5, ops).unwrap();
    let core = AggregatorCore::new(
        AggregatorConfig {
            verification_mode: mode,
            ..AggregatorConfig::default()
        },
        Arc::clone(&registry),
        Arc::clone(&scheme),
    )
    .unwrap();
    // It keeps two accepted submissions of the three (the oldest is dropped) and counts all.
    let submitter =
        InMemorySubmitter::new(Arc::clone(&scheme), Arc::clone(&registry)).with_retention(2);
    for t in 1..=3u32 {
        let meta =
            TaskMetadata::from_raw(TaskId::from(t), 5, &[(0, 50), (1, 50), (2, 40)], WAIT).unwrap();
        core.initialize_task(meta).await.unwrap();
        let digest = ResponseDigest::new([t as u8; 32]);
        for (i, k) in keys.iter().enumerate() {
            if i == 2 || i == 7 {
                continue; // offline
            }
            let mut signature = k.sign_digest(&digest);
            if i == 4 {
                signature = keys[0].sign_digest(&digest); // forged: someone else's key
            }
            let signed = SignedTaskResponse {
                task_id: TaskId::from(t),
                digest,
                signature,
                operator_id: ids[i],
            };
            let _ = core.process_signed_response(signed).await;
        }
        let agg = core
            .wait_for_aggregation(TaskId::from(t), WAIT)
            .await
            .unwrap();
        assert!(!agg.signer_ids.contains(&ids[4]));
        assert!(agg.non_signer_ids.windows(2).all(|w| w[0] < w[1]));
        core.submit_aggregated_response(&submitter, &agg, vec![t as u8])
            .await
            .unwrap();
    }
    assert_eq!(submitter.accepted_total(), 3);
    let kept: Vec<TaskId> = submitter
        .accepted()
        .iter()
        .map(|r| r.aggregate.task_id)
        .collect();
    assert_eq!(kept, [TaskId::from(2u32), TaskId::from(3u32)]);
    core.shutdown().await;
}

#[tokio::test]
async fn real_bls_eager_aggregates_pass_the_checker() {
    real_bls_run(VerificationMode::Eager).await;
}

#[tokio::test]
async fn real_bls_optimistic_aggregates_pass_the_checker() {
    real_bls_run(VerificationMode::Optimistic).await;
}

#[tokio::test]
async fn the_checker_rejects_a_tampered_aggregate() {
    let f = fixture(&[&[(0, 10)], &[(0, 10)], &[(0, 10)]], config());
    f.core.initialize_task(task(1, &[(0, 60)])).await.unwrap();
    f.send(0, 1, digest(1)).await.unwrap();
    f.send(1, 1, digest(1)).await.unwrap();
    let agg = f.aggregated(1).await;
    let submitter = f.submitter();
    let mut dropped = (*agg).clone();
    dropped.non_signer_ids.clear();
    dropped.non_signer_pubkeys_g1.clear();
    dropped.indices.non_signer_quorum_bitmap_indices.clear();
    assert!(submitter.check(&req(&dropped)).await.is_err());
    let mut flipped = (*agg).clone();
    flipped.signers_agg_sig_g1.x ^= quorate_domain::U256::from(1u8);
    assert!(submitter.check(&req(&flipped)).await.is_err());
    let mut reordered = (*agg).clone();
    reordered
        .non_signer_pubkeys_g1
        .push(reordered.non_signer_pubkeys_g1[0]);
    reordered.indices.non_signer_quorum_bitmap_indices.push(0);
    assert!(submitter.check(&req(&reordered)).await.is_err());
}
