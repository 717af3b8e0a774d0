//! Quarantine: one operator that sends garbage in every task makes only the first task fall
//! back to per-signature checks; afterwards its signatures are checked alone and its honest
//! peers' aggregates verify at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use quorate_domain::TaskId;
use quorate_runtime::{AggregatorConfig, VerificationMode};
use quorate_testkit::*;

const WAIT: Duration = Duration::from_secs(60);

/// Runs ten tasks in which operator 0 always sends a forgery first; every aggregate must
/// leave it out and pass the checker.
async fn faulty_operator_run(mode: VerificationMode, quarantine_period: Duration) -> Fixture {
    let ops: Vec<&[(u8, u64)]> = vec![&[(0, 10)]; 5];
    let f = fixture(
        &ops,
        AggregatorConfig {
            verification_mode: mode,
            quarantine_period,
            ..config()
        },
    );
    for t in 1..=10u32 {
        f.core.initialize_task(task(t, &[(0, 60)])).await.unwrap();
        let _ = f.send_forged(0, t, digest(1)).await;
        for op in 1..5 {
            let _ = f.send(op, t, digest(1)).await;
        }
        let agg = f
            .core
            .wait_for_aggregation(TaskId::from(t), WAIT)
            .await
            .unwrap();
        assert!(!agg.signer_ids.contains(&f.ids[0]), "task {t}");
        f.submitter().check(&req(&agg)).await.unwrap();
    }
    f
}

#[tokio::test(start_paused = true)]
async fn a_faulty_operator_costs_one_failed_aggregate_check_not_one_per_task() {
    let f = faulty_operator_run(VerificationMode::Optimistic, Duration::from_secs(60)).await;
    let stats = f.core.stats();
    assert_eq!(stats.tasks_aggregated, 10);
    assert_eq!(stats.aggregate_checks_failed, 1, "{stats:?}");
    let q = f.core.quarantined();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].operator_id, f.ids[0]);
    assert_eq!(q[0].reason, "incorrect_signature");
    assert_eq!(q[0].strikes, 10, "every forgery is a strike");
    // Without quarantine every task pays a failed aggregate check.
    let off = faulty_operator_run(VerificationMode::Optimistic, Duration::ZERO).await;
    assert_eq!(off.core.stats().aggregate_checks_failed, 10);
    assert!(off.core.quarantined().is_empty());
}

#[tokio::test(start_paused = true)]
async fn quarantine_lists_the_faulty_operator_in_eager_mode_and_expires() {
    let f = faulty_operator_run(VerificationMode::Eager, Duration::from_secs(1)).await;
    let q = f.core.quarantined();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].operator_id, f.ids[0]);
    // Its period doubled with each strike, up to 16 s.
    assert!(q[0].remaining > Duration::from_secs(8), "{q:?}");
    tokio::time::sleep(Duration::from_secs(17)).await;
    assert!(f.core.quarantined().is_empty());
    // Released, an honest signature of the same operator counts again.
    f.core.initialize_task(task(99, &[(0, 100)])).await.unwrap();
    for op in 0..5 {
        f.send(op, 99, digest(1)).await.unwrap();
    }
    let agg = f.aggregated(99).await;
    assert_eq!(agg.signer_ids.len(), 5);
}
