//! Skipping optimistic aggregate checks while most fail: with an invalid signature in every
//! task (from a different operator each time, so quarantine does not single one out), tasks
//! soon search their signers straight away; once the invalid signatures stop, aggregate
//! checks come back. Every answer leaves the forgeries out and passes the checker.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use quorate_runtime::{AggregatorConfig, VerificationMode};
use quorate_testkit::*;

/// Runs task `t` with 5 operators; `forger` sends a forgery first when given.
async fn run_task(f: &Fixture, t: u32, forger: Option<usize>) {
    // 80 %: every honest signature is needed, so each is checked (or summed) in every task.
    f.core.initialize_task(task(t, &[(0, 80)])).await.unwrap();
    if let Some(op) = forger {
        let _ = f.send_forged(op, t, digest(1)).await;
    }
    for op in (0..5).filter(|op| Some(*op) != forger) {
        let _ = f.send(op, t, digest(1)).await;
    }
    let agg = f.aggregated(t).await;
    if let Some(op) = forger {
        assert!(!agg.signer_ids.contains(&f.ids[op]), "task {t}");
    }
    f.submitter().check(&req(&agg)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn aggregate_checks_are_skipped_while_most_fail_and_come_back_after() {
    let ops: Vec<&[(u8, u64)]> = vec![&[(0, 10)]; 5];
    let f = fixture(
        &ops,
        AggregatorConfig {
            verification_mode: VerificationMode::Optimistic,
            ..config()
        },
    );
    for t in 1..=30u32 {
        run_task(&f, t, Some(t as usize % 5)).await;
    }
    let faulty = f.core.stats();
    assert!(
        f.core.quarantined().is_empty(),
        "{:?}",
        f.core.quarantined()
    );
    // Eleven failures in a row cross one half; every later task skips its check.
    assert!(
        faulty.aggregate_checks_failed <= 12,
        "{faulty:?}: failed aggregate checks kept being made"
    );
    assert!(faulty.aggregate_checks_skipped >= 18, "{faulty:?}");
    for t in 31..=50u32 {
        run_task(&f, t, None).await;
    }
    let honest = f.core.stats();
    // At most the first eleven honest tasks skip; the rest check their aggregate again.
    let skipped = honest.aggregate_checks_skipped - faulty.aggregate_checks_skipped;
    assert!(
        (1..=11).contains(&skipped),
        "{skipped} honest tasks skipped"
    );
    assert_eq!(honest.tasks_aggregated, 50);
    assert_eq!(
        honest.aggregate_checks_failed,
        faulty.aggregate_checks_failed
    );
}
