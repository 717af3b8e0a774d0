//! Attacks by operators (or anyone using their public ids): a cancelling pair that would let
//! optimistic mode deliver an aggregate below threshold, forgeries that try to take an honest
//! operator's capacity, equivocation, rogue keys and quorums without stake.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use quorate_bls::fake::FakePoint;
use quorate_bls::{Bn254Scheme, G1PublicKey, G2PublicKey, KeyPair};
use quorate_domain::{
    AggregationError, QuorumNumber, RegistryError, SignatureVerificationError, Stake, TaskId,
};
use quorate_runtime::memory::{InMemoryOperator, InMemoryRegistry};
use quorate_runtime::{AggregatorConfig, VerificationMode};
use quorate_testkit::*;
use rand::SeedableRng;

const WAIT: Duration = Duration::from_secs(60);
/// The fake scheme's group order (2^61 − 1).
const FAKE_MODULUS: u64 = (1 << 61) - 1;

fn mode(verification_mode: VerificationMode) -> AggregatorConfig {
    AggregatorConfig {
        verification_mode,
        ..config()
    }
}

const MODES: [VerificationMode; 2] = [VerificationMode::Eager, VerificationMode::Optimistic];

/// Operators 0 and 1 send σ0 + δ and σ1 − δ: each is invalid, their sum verifies.
fn cancelling_pair(f: &Fixture, task: u32) -> [quorate_domain::SignedTaskResponse<FakePoint>; 2] {
    let delta = 123_456_789;
    let mut a = f.signed(0, task, digest(1));
    let mut b = f.signed(1, task, digest(1));
    a.signature = FakePoint((a.signature.0 + delta) % FAKE_MODULUS);
    b.signature = FakePoint((b.signature.0 + FAKE_MODULUS - delta) % FAKE_MODULUS);
    [a, b]
}

/// Four operators of stake 10, optimistic mode, 50 % with a 1 s window: the cancelling pair
/// meets 50 % and its sum verifies, so the window opens; a forgery arrives in it.
async fn pair_then_forgery_in_the_window() -> Fixture {
    let ops: Vec<&[(u8, u64)]> = vec![&[(0, 10)]; 4];
    let f = fixture(&ops, mode(VerificationMode::Optimistic));
    let meta = task(1, &[(0, 50)]).with_window(Duration::from_secs(1));
    f.core.initialize_task(meta).await.unwrap();
    for s in cancelling_pair(&f, 1) {
        f.core.process_signed_response(s).await.unwrap();
    }
    f.send_forged(2, 1, digest(1)).await.unwrap();
    f
}

#[tokio::test(start_paused = true)]
async fn optimistic_window_never_delivers_an_aggregate_below_threshold() {
    let f = pair_then_forgery_in_the_window().await;
    // At the window's end the sum fails and all three are dropped: 0 % signed. The task must
    // go back to collecting, not answer.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        f.core.stats().tasks_aggregated,
        0,
        "no answer below threshold"
    );
    // The dropped operators may sign again; with operator 3 they meet 50 % honestly.
    for op in [0, 3] {
        f.send(op, 1, digest(1)).await.unwrap();
    }
    let agg = f.aggregated(1).await;
    assert_eq!(agg.signer_ids, f.sorted_ids(&[0, 3]));
    f.submitter().check(&req(&agg)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn optimistic_task_whose_winner_falls_short_expires() {
    let f = pair_then_forgery_in_the_window().await;
    let out = f.core.wait_for_aggregation(TaskId::from(1u32), WAIT).await;
    assert!(
        matches!(out, Err(AggregationError::TaskExpired { .. })),
        "{out:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn forged_digests_under_honest_ids_do_not_keep_honest_signatures_out() {
    for m in MODES {
        let ops: Vec<&[(u8, u64)]> = vec![&[(0, 10)]; 10];
        let f = fixture(
            &ops,
            AggregatorConfig {
                max_digests_per_task: 5,
                ..mode(m)
            },
        );
        f.core.initialize_task(task(1, &[(0, 100)])).await.unwrap();
        // 100 forged digests under the honest operators' public ids.
        for i in 0..100u8 {
            let _ = f
                .core
                .process_signed_response(f.forged(usize::from(i % 10), 1, digest(100 + i)))
                .await;
        }
        for op in 0..10 {
            let out = f.send(op, 1, digest(1)).await;
            assert!(out.is_ok(), "{m:?}: honest operator {op} refused: {out:?}");
        }
        let agg = f.aggregated(1).await;
        assert_eq!(
            agg.signer_ids,
            f.sorted_ids(&(0..10).collect::<Vec<_>>()),
            "{m:?}"
        );
        f.submitter().check(&req(&agg)).await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn a_forgery_racing_the_honest_signature_in_one_batch_does_not_block_it() {
    for m in MODES {
        let ops: Vec<&[(u8, u64)]> = vec![&[(0, 10)]; 2];
        let f = fixture(&ops, mode(m));
        f.core.initialize_task(task(1, &[(0, 100)])).await.unwrap();
        // Queued together, so the actor drains them in one batch.
        let (forged, honest, other) = tokio::join!(
            f.send_forged(0, 1, digest(1)),
            f.send(0, 1, digest(1)),
            f.send(1, 1, digest(1)),
        );
        if m == VerificationMode::Eager {
            assert!(matches!(
                forged,
                Err(AggregationError::SignatureVerification {
                    reason: SignatureVerificationError::IncorrectSignature,
                    ..
                })
            ));
        }
        assert!(honest.is_ok(), "{m:?}: {honest:?}");
        assert!(other.is_ok(), "{m:?}: {other:?}");
        let agg = f.aggregated(1).await;
        assert_eq!(agg.signer_ids, f.sorted_ids(&[0, 1]), "{m:?}");
        f.submitter().check(&req(&agg)).await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn equivocation_is_refused_and_kept_as_evidence_once() {
    for m in MODES {
        let ops: Vec<&[(u8, u64)]> = vec![&[(0, 10)]; 4];
        let f = fixture(&ops, mode(m));
        let mut evidence = f.core.subscribe_evidence();
        f.core.initialize_task(task(1, &[(0, 75)])).await.unwrap();
        f.send(0, 1, digest(1)).await.unwrap();
        let second = f.send(0, 1, digest(2)).await;
        assert!(
            matches!(
                second,
                Err(AggregationError::SignatureVerification {
                    reason: SignatureVerificationError::Equivocation,
                    ..
                })
            ),
            "{m:?}: {second:?}"
        );
        let e = evidence.try_recv().expect("evidence");
        assert_eq!(e.operator_id, f.ids[0]);
        assert_eq!((e.first_digest, e.second_digest), (digest(1), digest(2)));
        assert_eq!(
            e.second_signature,
            quorate_domain::SignatureScheme::encode_signature(
                &*f.scheme,
                &f.keys[0].sign(&digest(2))
            )
        );
        // A third digest costs no further check: plain duplicate, no more evidence.
        let third = f.send(0, 1, digest(3)).await;
        assert!(matches!(
            third,
            Err(AggregationError::SignatureVerification {
                reason: SignatureVerificationError::DuplicateSignature,
                ..
            })
        ));
        assert!(evidence.try_recv().is_err());
        // A forged conflicting signature is no evidence.
        f.send(1, 1, digest(1)).await.unwrap();
        let forged = f.send_forged(1, 1, digest(2)).await;
        assert!(matches!(
            forged,
            Err(AggregationError::SignatureVerification {
                reason: SignatureVerificationError::IncorrectSignature,
                ..
            })
        ));
        assert!(evidence.try_recv().is_err());
        assert_eq!(f.core.stats().equivocations, 1, "{m:?}");
        // The first signatures still count.
        f.send(2, 1, digest(1)).await.unwrap();
        let agg = f.aggregated(1).await;
        assert_eq!(agg.signer_ids, f.sorted_ids(&[0, 1, 2]), "{m:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_quorum_without_stake_is_refused_at_initialization() {
    // Every operator is in quorum 0 only; quorum 1 exists but has no members.
    let ops: Vec<&[(u8, u64)]> = vec![&[(0, 10)]; 3];
    let f = fixture(&ops, config());
    for (id, quorums) in [(1u32, vec![(1u8, 50u8)]), (2, vec![(0, 50), (1, 50)])] {
        let out = f.core.initialize_task(task(id, &quorums)).await;
        assert_eq!(
            out,
            Err(AggregationError::QuorumWithoutStake {
                task_id: TaskId::from(id),
                quorum: QuorumNumber(1),
            })
        );
    }
    assert_eq!(f.core.active_tasks(), 0);
    f.core.initialize_task(task(3, &[(0, 50)])).await.unwrap();
}

#[test]
fn a_rogue_key_is_refused_by_the_registry() {
    use ark_ec::{AffineRepr, CurveGroup};
    let scheme = Arc::new(Bn254Scheme);
    let registry = InMemoryRegistry::new(Arc::clone(&scheme), 1);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let honest: Vec<KeyPair> = (0..3).map(|_| KeyPair::random(&mut rng)).collect();
    let attacker = KeyPair::random(&mut rng);
    let stakes = || BTreeMap::from([(QuorumNumber(0), Stake::from(10u8))]);
    let op = |k: &KeyPair| InMemoryOperator {
        pubkey_g1: *k.public_g1(),
        pubkey_g2: k.public_g2().clone(),
        stakes: stakes(),
        proof_of_possession: k.proof_of_possession(),
    };
    // pk* = pk_attacker − Σ honest, in both groups: the G1 and G2 keys still match, so only a
    // proof of possession tells it apart (the attacker cannot sign for pk*).
    let g1 = honest
        .iter()
        .fold(attacker.public_g1().as_affine().into_group(), |acc, k| {
            acc - k.public_g1().as_affine()
        });
    let g2 = honest
        .iter()
        .fold(attacker.public_g2().as_affine().into_group(), |acc, k| {
            acc - k.public_g2().as_affine()
        });
    let rogue_g1 = G1PublicKey::from_affine(g1.into_affine()).unwrap();
    let rogue_g2 = G2PublicKey::from_affine(g2.into_affine()).unwrap();
    // With the rogue key in the set, the honest keys plus pk* sum to the attacker's key.
    let mut ops: Vec<_> = honest.iter().map(op).collect();
    for proof in [
        attacker.proof_of_possession(),
        attacker.sign_digest(&quorate_domain::proof_of_possession_digest(
            &rogue_g1.to_point(),
        )),
    ] {
        ops.push(InMemoryOperator {
            pubkey_g1: rogue_g1,
            pubkey_g2: rogue_g2.clone(),
            stakes: stakes(),
            proof_of_possession: proof,
        });
        let out = registry.set_operators(1, ops.clone());
        assert!(
            matches!(&out, Err(RegistryError::InvalidData { reason }) if reason.contains("proof of possession")),
            "{out:?}"
        );
        ops.pop();
    }
    // A mismatched pair (G1 of one key, G2 of another) is refused too.
    let mut mixed = op(&honest[0]);
    mixed.pubkey_g2 = honest[1].public_g2().clone();
    assert!(registry.set_operators(1, vec![mixed]).is_err());
    // Honest keys with their proofs register.
    assert_eq!(registry.set_operators(1, ops).unwrap().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_task_every_operator_signed_finishes_without_waiting_out_its_window() {
    for m in MODES {
        let ops: Vec<&[(u8, u64)]> = vec![&[(0, 10)]; 3];
        let f = fixture(&ops, mode(m));
        let meta = task(1, &[(0, 50)]).with_window(Duration::from_secs(5));
        f.core.initialize_task(meta).await.unwrap();
        let start = tokio::time::Instant::now();
        for op in 0..3 {
            f.send(op, 1, digest(1)).await.unwrap();
        }
        let agg = f.aggregated(1).await;
        // Paused time only moves when every task sleeps: an early finish takes none of it.
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{m:?}: waited out the window"
        );
        assert_eq!(agg.signer_ids, f.sorted_ids(&[0, 1, 2]), "{m:?}");
    }
}
