//! Property: whatever operators send (valid, forged, cancelling pairs, conflicting digests),
//! in either mode and with or without a window, a delivered aggregate meets every quorum's
//! threshold and passes the in-memory copy of `checkSignatures`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use proptest::prelude::*;
use quorate_bls::fake::FakePoint;
use quorate_domain::{AggregationError, Stake, TaskId};
use quorate_runtime::{AggregatorConfig, VerificationMode};
use quorate_testkit::*;

const FAKE_MODULUS: u64 = (1 << 61) - 1;
const OPERATORS: usize = 6;

#[derive(Clone, Debug)]
enum Step {
    Valid {
        op: usize,
        digest: u8,
    },
    Forged {
        op: usize,
        digest: u8,
    },
    /// σ + δ for even operators, σ − δ for odd ones (two of them cancel).
    Shifted {
        op: usize,
        digest: u8,
    },
    Advance {
        ms: u64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..OPERATORS, 0..3u8).prop_map(|(op, digest)| Step::Valid { op, digest }),
        (0..OPERATORS, 0..3u8).prop_map(|(op, digest)| Step::Forged { op, digest }),
        (0..OPERATORS, 0..3u8).prop_map(|(op, digest)| Step::Shifted { op, digest }),
        (0..1500u64).prop_map(|ms| Step::Advance { ms }),
    ]
}

async fn run(optimistic: bool, window_ms: u64, threshold: u8, steps: Vec<Step>) {
    let stakes: [&[(u8, u64)]; OPERATORS] = [
        &[(0, 10)],
        &[(0, 20), (1, 5)],
        &[(1, 30)],
        &[(0, 5), (1, 5)],
        &[(0, 40)],
        &[(1, 15)],
    ];
    let config = AggregatorConfig {
        verification_mode: if optimistic {
            VerificationMode::Optimistic
        } else {
            VerificationMode::Eager
        },
        max_digests_per_task: 2,
        ..config()
    };
    let f = fixture(&stakes, config);
    let meta =
        task(1, &[(0, threshold), (1, threshold)]).with_window(Duration::from_millis(window_ms));
    f.core.initialize_task(meta).await.unwrap();
    for s in steps {
        let signed = match s {
            Step::Advance { ms } => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                continue;
            }
            Step::Valid { op, digest: d } => f.signed(op, 1, digest(d)),
            Step::Forged { op, digest: d } => f.forged(op, 1, digest(d)),
            Step::Shifted { op, digest: d } => {
                let mut s = f.signed(op, 1, digest(d));
                let delta = 987_654_321;
                s.signature = FakePoint(if op % 2 == 0 {
                    (s.signature.0 + delta) % FAKE_MODULUS
                } else {
                    (s.signature.0 + FAKE_MODULUS - delta) % FAKE_MODULUS
                });
                s
            }
        };
        let _ = f.core.process_signed_response(signed).await;
    }
    match f
        .core
        .wait_for_aggregation(TaskId::from(1u32), Duration::from_secs(60))
        .await
    {
        Ok(agg) => {
            for (signed, total) in agg.signed_stake.iter().zip(&agg.total_stake) {
                assert!(
                    *signed * Stake::from(100u8) >= *total * Stake::from(threshold),
                    "below threshold: {agg:?}"
                );
            }
            f.submitter().check(&req(&agg)).await.unwrap();
        }
        Err(e) => assert!(
            matches!(e, AggregationError::TaskExpired { .. }),
            "unexpected end: {e:?}"
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn delivered_aggregates_always_meet_thresholds_and_verify(
        optimistic in any::<bool>(),
        window_ms in prop_oneof![Just(0u64), 1..2000u64],
        threshold in 1..=100u8,
        steps in proptest::collection::vec(step(), 0..40),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(run(optimistic, window_ms, threshold, steps));
    }
}
