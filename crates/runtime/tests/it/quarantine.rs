//! Quarantine: one operator that sends garbage in every task makes only its first two tasks
//! search for the invalid signature (the second failure, with no clean check between, is a
//! relapse); afterwards its signatures are checked alone and its honest peers' aggregates
//! verify at once. An operator that fails now and then stays batched, and a clean run
//! releases a quarantined one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use quorate_runtime::{AggregatorConfig, VerificationMode};
use quorate_testkit::*;

/// Runs ten tasks in which operator 0 sends a forgery first in the tasks `forges` picks (an
/// honest signature otherwise); every aggregate must leave the forgeries out and pass the
/// checker.
async fn operator_run(
    mode: VerificationMode,
    quarantine_period: Duration,
    forges: impl Fn(u32) -> bool,
) -> Fixture {
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
        let forged = forges(t);
        if forged {
            let _ = f.send_forged(0, t, digest(1)).await;
        } else {
            f.send(0, t, digest(1)).await.unwrap();
        }
        for op in 1..5 {
            let _ = f.send(op, t, digest(1)).await;
        }
        let agg = f.aggregated(t).await;
        assert_eq!(agg.signer_ids.contains(&f.ids[0]), !forged, "task {t}");
        f.submitter().check(&req(&agg)).await.unwrap();
    }
    f
}

/// [`operator_run`] with operator 0 forging in every task.
async fn faulty_operator_run(mode: VerificationMode, quarantine_period: Duration) -> Fixture {
    operator_run(mode, quarantine_period, |_| true).await
}

#[tokio::test(start_paused = true)]
async fn a_faulty_operator_costs_two_failed_aggregate_checks_not_one_per_task() {
    let f = faulty_operator_run(VerificationMode::Optimistic, Duration::from_secs(60)).await;
    let stats = f.core.stats();
    assert_eq!(stats.tasks_aggregated, 10);
    // The first failure is remembered; the second, with no clean check between, quarantines.
    assert_eq!(stats.aggregate_checks_failed, 2, "{stats:?}");
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

/// An optimistic run of 10 tasks in which the operator forges where `forged` says, and is never
/// quarantined: each forgery costs its task one failed aggregate check (and a search), and its
/// honest signatures go into the aggregates unchecked alone, so every task is aggregated.
async fn stays_batched(forged: fn(u32) -> bool, forgeries: u64) {
    let f = operator_run(
        VerificationMode::Optimistic,
        Duration::from_secs(60),
        forged,
    )
    .await;
    let stats = f.core.stats();
    assert_eq!(stats.aggregate_checks_failed, forgeries, "{stats:?}");
    assert_eq!(stats.quarantine_strikes, forgeries);
    assert!(
        f.core.quarantined().is_empty(),
        "{:?}",
        f.core.quarantined()
    );
    assert_eq!(stats.tasks_aggregated, 10);
}

#[tokio::test(start_paused = true)]
async fn an_operator_that_fails_now_and_then_stays_batched() {
    // Forgeries in tasks 1, 5 and 9: three clean checks between them each time.
    stays_batched(|t| t % 4 == 1, 3).await;
}

#[tokio::test(start_paused = true)]
async fn an_operator_alternating_forgeries_with_valid_signatures_stays_batched() {
    // Forgeries in tasks 1, 3, 5, 7 and 9: one clean check between them, which clears each
    // failure at the default `quarantine_clean_checks` (1), never a single check for each of
    // the operator's signatures.
    stays_batched(|t| t % 2 == 1, 5).await;
}

#[tokio::test(start_paused = true)]
async fn a_clean_run_releases_a_quarantined_operator_before_its_period_ends() {
    // Forgeries in tasks 1 to 4 (quarantined at the second), honest from task 5 on: checked
    // alone, one pass (the default `quarantine_clean_checks`) releases it, long before its
    // period (60 s doubled) ends.
    let f = operator_run(VerificationMode::Eager, Duration::from_secs(60), |t| t <= 4).await;
    assert!(
        f.core.quarantined().is_empty(),
        "{:?}",
        f.core.quarantined()
    );
    assert_eq!(f.core.stats().quarantine_strikes, 4);
    // Without early release (0 clean checks), it would still be listed.
    let ops: Vec<&[(u8, u64)]> = vec![&[(0, 10)]; 5];
    let strict = fixture(
        &ops,
        AggregatorConfig {
            quarantine_clean_checks: 0,
            ..config()
        },
    );
    for t in 1..=6u32 {
        strict
            .core
            .initialize_task(task(t, &[(0, 60)]))
            .await
            .unwrap();
        if t <= 4 {
            let _ = strict.send_forged(0, t, digest(1)).await;
        } else {
            strict.send(0, t, digest(1)).await.unwrap();
        }
        for op in 1..5 {
            let _ = strict.send(op, t, digest(1)).await;
        }
        strict.aggregated(t).await;
    }
    assert_eq!(strict.core.quarantined().len(), 1);
}
