//! Eager mode's linger: a task holds a stream of signatures for up to `verification_linger`
//! so that they are checked together, but the signature that could complete the task releases
//! the hold at once, and a lone signature is never held.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use quorate_bls::fake::FakePoint;
use quorate_domain::{AggregationError, SignatureVerificationError, SignedTaskResponse};
use quorate_runtime::{AggregatorConfig, SignatureOutcome, VerificationMode};
use quorate_testkit::*;
use tokio::task::JoinHandle;

const LINGER: Duration = Duration::from_secs(2);

type Verdict = Result<SignatureOutcome, AggregationError>;

/// Ten operators of stake 10 in quorum 0, eager mode with the linger.
fn lingering() -> Fixture {
    let ops: Vec<&[(u8, u64)]> = vec![&[(0, 10)]; 10];
    fixture(
        &ops,
        AggregatorConfig {
            verification_mode: VerificationMode::Eager,
            verification_linger: LINGER,
            ..config()
        },
    )
}

fn spawn_send(f: &Fixture, signed: SignedTaskResponse<FakePoint>) -> JoinHandle<Verdict> {
    let core = f.core.clone();
    tokio::spawn(async move { core.process_signed_response(signed).await })
}

/// Whether the verdict arrives within `within` (virtual time: the clock is paused).
async fn answered(handle: &mut JoinHandle<Verdict>, within: Duration) -> Option<Verdict> {
    tokio::time::timeout(within, handle)
        .await
        .ok()
        .map(|r| r.unwrap())
}

fn verified(v: Option<Verdict>) -> bool {
    matches!(
        v,
        Some(Ok(SignatureOutcome::Accepted { verified: true, .. }))
    )
}

/// Opens task 1 (`threshold` % of quorum 0) and sends operator 0's signature: the first of a
/// quiet task, checked at once.
async fn open_with_first_signature(f: &Fixture, threshold: u8) {
    f.core
        .initialize_task(task(1, &[(0, threshold)]))
        .await
        .unwrap();
    let mut first = spawn_send(f, f.signed(0, 1, digest(1)));
    assert!(verified(
        answered(&mut first, Duration::from_millis(10)).await
    ));
}

#[tokio::test(start_paused = true)]
async fn held_signatures_wait_for_the_one_that_completes_the_task() {
    let f = lingering();
    open_with_first_signature(&f, 100).await;
    // The next ones stream in and are held: no verdict yet.
    let mut held: Vec<_> = (1..9)
        .map(|op| spawn_send(&f, f.signed(op, 1, digest(1))))
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    for h in &mut held {
        assert!(answered(h, Duration::from_millis(100)).await.is_none());
    }
    // The tenth could complete the task: everything goes at once, long before the linger.
    let mut last = spawn_send(&f, f.signed(9, 1, digest(1)));
    assert!(verified(
        answered(&mut last, Duration::from_millis(10)).await
    ));
    for h in &mut held {
        assert!(verified(answered(h, Duration::from_millis(10)).await));
    }
    let agg = f.aggregated(1).await;
    assert_eq!(agg.signer_ids, f.sorted_ids(&(0..10).collect::<Vec<_>>()));
    f.submitter().check(&req(&agg)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_held_signature_is_checked_when_the_linger_ends() {
    let f = lingering();
    open_with_first_signature(&f, 100).await;
    let mut second = spawn_send(&f, f.signed(1, 1, digest(1)));
    let started = tokio::time::Instant::now();
    assert!(answered(&mut second, LINGER - Duration::from_millis(100))
        .await
        .is_none());
    assert!(verified(
        answered(&mut second, Duration::from_millis(200)).await
    ));
    let waited = started.elapsed();
    assert!(
        waited >= LINGER - Duration::from_millis(10)
            && waited <= LINGER + Duration::from_millis(100),
        "{waited:?}"
    );
    // A signature after a quiet spell longer than the linger is not held.
    tokio::time::sleep(LINGER * 2).await;
    let mut late = spawn_send(&f, f.signed(2, 1, digest(1)));
    assert!(verified(
        answered(&mut late, Duration::from_millis(10)).await
    ));
}

#[tokio::test(start_paused = true)]
async fn a_forgery_in_a_hold_is_refused_and_the_rest_count() {
    let f = lingering();
    open_with_first_signature(&f, 90).await;
    // Operators 1..=8 stream in, 3 with a forgery: with its (claimed) stake the hold could
    // complete the task at operator 8, so it is released and checked.
    let mut held: Vec<_> = (1..9)
        .map(|op| {
            let signed = if op == 3 {
                f.forged(op, 1, digest(1))
            } else {
                f.signed(op, 1, digest(1))
            };
            spawn_send(&f, signed)
        })
        .collect();
    for (i, h) in held.iter_mut().enumerate() {
        let verdict = answered(h, Duration::from_millis(100)).await;
        if i + 1 == 3 {
            assert!(
                matches!(
                    verdict,
                    Some(Err(AggregationError::SignatureVerification {
                        reason: SignatureVerificationError::IncorrectSignature,
                        ..
                    }))
                ),
                "{verdict:?}"
            );
        } else {
            assert!(verified(verdict), "operator {}", i + 1);
        }
    }
    // 80 of 100 counted: operator 9 completes the task without the forger.
    let mut last = spawn_send(&f, f.signed(9, 1, digest(1)));
    assert!(verified(
        answered(&mut last, Duration::from_millis(10)).await
    ));
    let agg = f.aggregated(1).await;
    assert!(!agg.signer_ids.contains(&f.ids[3]));
    assert_eq!(agg.signer_ids.len(), 9);
    f.submitter().check(&req(&agg)).await.unwrap();
}
