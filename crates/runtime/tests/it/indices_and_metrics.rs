//! `update_response_indices` and the metrics the runtime reports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use quorate_domain::{QuorumNumber, Stake, TaskId};
use quorate_runtime::memory::InMemoryOperator;
use quorate_testkit::*;

const WAIT: Duration = Duration::from_secs(60);

type Snapshot = Vec<(
    metrics_util::CompositeKey,
    Option<metrics::Unit>,
    Option<metrics::SharedString>,
    DebugValue,
)>;

/// Runs `scenario` on a paused current-thread runtime with a local debugging recorder and
/// returns its output and everything recorded.
fn recorded<T, F: std::future::Future<Output = T>>(scenario: impl FnOnce() -> F) -> (T, Snapshot) {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let out = metrics::with_local_recorder(&recorder, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(scenario())
    });
    (out, snapshotter.snapshot().into_vec())
}

/// The sum of `name`'s counters (or histogram sample counts) whose labels include `label`.
fn total(snapshot: &Snapshot, name: &str, label: Option<(&str, &str)>) -> u64 {
    snapshot
        .iter()
        .filter(|(key, _, _, _)| key.key().name() == name)
        .filter(|(key, _, _, _)| {
            label.is_none_or(|(k, v)| key.key().labels().any(|l| l.key() == k && l.value() == v))
        })
        .map(|(_, _, _, value)| match value {
            DebugValue::Counter(c) => *c,
            DebugValue::Histogram(h) => h.len() as u64,
            _ => 0,
        })
        .sum()
}

#[tokio::test(start_paused = true)]
async fn update_response_indices_rereads_only_the_indices_for_the_new_block() {
    let f = fixture(&[&[(0, 100)], &[(0, 100)], &[(0, 100)]], config());
    f.core.initialize_task(task(1, &[(0, 60)])).await.unwrap();
    f.send(0, 1, digest(1)).await.unwrap();
    f.send(1, 1, digest(1)).await.unwrap();
    let agg = f.aggregated(1).await;
    assert_eq!(agg.indices.non_signer_quorum_bitmap_indices, vec![0]);
    // A later registry update (same operators) moves the update indices.
    let same: Vec<_> = f
        .keys
        .iter()
        .map(|k| InMemoryOperator {
            pubkey_g1: k.public_g1(),
            pubkey_g2: k.public_g2(),
            stakes: BTreeMap::from([(QuorumNumber(0), Stake::from(100u8))]),
            proof_of_possession: k.proof_of_possession(),
        })
        .collect();
    f.registry.set_operators(BLOCK + 5, same).unwrap();
    let calls = f.registry.index_calls();
    let updated = f
        .core
        .update_response_indices(&agg, BLOCK + 7)
        .await
        .unwrap();
    assert_eq!(f.registry.index_calls(), calls + 1);
    assert_eq!(updated.reference_block, BLOCK + 7);
    assert_eq!(updated.indices.non_signer_quorum_bitmap_indices, vec![1]);
    assert_eq!(updated.indices.quorum_apk_indices, vec![1]);
    // Everything but the indices and the block is untouched.
    assert_eq!(updated.signers_agg_sig_g1, agg.signers_agg_sig_g1);
    assert_eq!(updated.non_signer_ids, agg.non_signer_ids);
    // A block before any operator set is a registry error naming the task.
    assert!(matches!(
        f.core.update_response_indices(&agg, 1).await,
        Err(quorate_domain::AggregationError::Registry { task_id, .. }) if task_id == TaskId::from(1u32)
    ));
}

#[test]
fn metrics_count_tasks_and_rejections_by_reason() {
    let ((), snapshot) = recorded(|| async {
        let f = fixture(&[&[(0, 100)], &[(0, 100)]], config());
        f.core.initialize_task(task(1, &[(0, 100)])).await.unwrap();
        let _ = f.send_forged(0, 1, digest(1)).await;
        f.send(0, 1, digest(1)).await.unwrap();
        let _ = f.send(0, 1, digest(1)).await;
        f.send(1, 1, digest(1)).await.unwrap();
        f.aggregated(1).await;
    });
    let counter = |name: &str, label: Option<(&str, &str)>| total(&snapshot, name, label);
    use quorate_runtime::metrics as m;
    assert_eq!(counter(m::TASKS_INITIALIZED, None), 1);
    assert_eq!(counter(m::TASKS_AGGREGATED, None), 1);
    assert_eq!(counter(m::SIGNATURES_ACCEPTED, None), 2);
    assert_eq!(
        counter(
            m::SIGNATURES_REJECTED,
            Some(("reason", "incorrect_signature"))
        ),
        1
    );
    assert_eq!(
        counter(
            m::SIGNATURES_REJECTED,
            Some(("reason", "duplicate_signature"))
        ),
        1
    );
}

/// Every event is counted once: what `stats()` reports equals what the metrics facade
/// recorded, and every label value recorded is one the crate declares (and documents).
#[test]
fn stats_and_facade_metrics_agree_and_labels_are_declared() {
    use quorate_runtime::metrics as m;
    let (stats, snapshot) = recorded(|| async {
        let mut cfg = config();
        cfg.max_pending_signatures_per_task = 1;
        cfg.max_digests_per_task = 1;
        let f = fixture(&[&[(0, 100)], &[(0, 100)], &[(0, 100)]], cfg);
        // Buffered before its task exists, one refused by the per-task buffer limit.
        f.send(0, 1, digest(1)).await.unwrap();
        assert!(f.send(1, 1, digest(1)).await.is_err());
        f.core.initialize_task(task(1, &[(0, 60)])).await.unwrap();
        let _ = f.send_forged(1, 1, digest(1)).await;
        // A second digest is over the per-task digest limit.
        assert!(f.send(2, 1, digest(2)).await.is_err());
        f.send(1, 1, digest(1)).await.unwrap();
        f.aggregated(1).await;
        // Late for a finished task.
        assert!(f.send(2, 1, digest(1)).await.is_err());
        // Cancelled: a failed task with its reason.
        f.core.initialize_task(task(2, &[(0, 100)])).await.unwrap();
        f.core.cancel_task(TaskId::from(2u32)).unwrap();
        let _ = f.core.wait_for_aggregation(TaskId::from(2u32), WAIT).await;
        f.core.stats()
    });
    let counter = |name: &str| total(&snapshot, name, None);
    let pairs = [
        (m::TASKS_INITIALIZED, stats.tasks_initialized),
        (m::TASKS_AGGREGATED, stats.tasks_aggregated),
        (m::TASKS_EXPIRED, stats.tasks_expired),
        (m::TASKS_FAILED, stats.tasks_failed),
        (m::SIGNATURES_ACCEPTED, stats.signatures_accepted),
        (m::SIGNATURES_REJECTED, stats.signatures_rejected),
        (m::SIGNATURES_BUFFERED, stats.signatures_buffered),
        (m::PENDING_DROPPED, stats.pending_dropped),
        (m::LIMITS_REACHED, stats.limits_reached),
        (m::EQUIVOCATIONS, stats.equivocations),
        (m::QUARANTINE_STRIKES, stats.quarantine_strikes),
        (m::AGGREGATE_CHECKS_FAILED, stats.aggregate_checks_failed),
        (m::AGGREGATE_CHECKS_SKIPPED, stats.aggregate_checks_skipped),
    ];
    for (name, stat) in pairs {
        assert_eq!(counter(name), stat, "{name}: facade and stats() differ");
    }
    // The scenario reached the counters it is about.
    assert_eq!(stats.tasks_failed, 1);
    assert_eq!(stats.signatures_buffered, 1);
    assert!(stats.limits_reached >= 2, "{stats:?}");
    assert!(stats.signatures_rejected >= 4, "{stats:?}");
    let mut seen = BTreeMap::new();
    for (key, _, _, _) in &snapshot {
        let name = key.key().name();
        assert!(
            m::ALL.contains(&name),
            "{name} is not declared in metrics::ALL"
        );
        for label in key.key().labels() {
            let declared = match (name, label.key()) {
                (n, "reason") if n == m::TASKS_FAILED => m::FAILURE_REASONS,
                (_, "reason") => m::REJECTION_REASONS,
                (_, "limit") => m::LIMITS,
                (_, "outcome") => &["ok", "error"][..],
                // Operator ids (bounded by `max_operator_labels`) or `other`.
                (_, "operator") => continue,
                (n, k) => panic!("{n} has an undeclared label {k}"),
            };
            assert!(
                declared.contains(&label.value()),
                "{name}{{{}={}}} is not a declared value",
                label.key(),
                label.value()
            );
            seen.insert((name.to_string(), label.value().to_string()), ());
        }
    }
    for expected in [
        (m::TASKS_FAILED, "cancelled"),
        (m::SIGNATURES_REJECTED, "incorrect_signature"),
        (m::SIGNATURES_REJECTED, "task_completed"),
        (m::SIGNATURES_REJECTED, "limit_reached"),
        (m::LIMITS_REACHED, "digests_per_task"),
        (m::LIMITS_REACHED, "pending_signatures_per_task"),
    ] {
        assert!(
            seen.contains_key(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} not recorded; seen {seen:?}"
        );
    }
}

/// docs/metrics.md lists every metric and every label value the crate declares.
#[test]
fn the_metrics_reference_lists_every_metric_and_label_value() {
    use quorate_runtime::metrics as m;
    let doc = include_str!("../../../../docs/metrics.md");
    for name in m::ALL {
        assert!(
            doc.contains(&format!("`{name}`")),
            "docs/metrics.md misses {name}"
        );
    }
    for value in m::REJECTION_REASONS
        .iter()
        .chain(m::LIMITS)
        .chain(m::FAILURE_REASONS)
    {
        assert!(
            doc.contains(&format!("`{value}`")),
            "docs/metrics.md misses label value {value}"
        );
    }
}

/// Per-operator series: counted signatures with their latency, invalid, late and missed, one
/// series per operator up to `max_operator_labels`, the rest under `other`.
#[test]
fn per_operator_metrics_are_bounded_by_the_label_cap() {
    use quorate_runtime::metrics as m;
    let (ids, snapshot) = recorded(|| async {
        let mut cfg = config();
        cfg.max_operator_labels = 2;
        let f = fixture(&[&[(0, 100)], &[(0, 100)], &[(0, 100)], &[(0, 100)]], cfg);
        // Task 1: operators 0 and 1 sign (50 % is enough), 2 sends a forgery, 3 is silent.
        f.core.initialize_task(task(1, &[(0, 50)])).await.unwrap();
        f.send(0, 1, digest(1)).await.unwrap();
        let _ = f.send_forged(2, 1, digest(1)).await;
        f.send(1, 1, digest(1)).await.unwrap();
        f.aggregated(1).await;
        // Operator 3 comes late.
        assert!(f.send(3, 1, digest(1)).await.is_err());
        f.ids.clone()
    });
    let value = |name: &str, operator: &str| total(&snapshot, name, Some(("operator", operator)));
    let (first, second) = (ids[0].to_string(), ids[2].to_string());
    // The first two operators seen (0, then 2 with its forgery) have their own series.
    assert_eq!(value(m::OPERATOR_SIGNATURES, &first), 1);
    assert_eq!(value(m::OPERATOR_SIGNING_LATENCY, &first), 1);
    assert_eq!(value(m::OPERATOR_MISSED, &first), 0);
    assert_eq!(value(m::OPERATOR_INVALID, &second), 1);
    assert_eq!(
        value(m::OPERATOR_MISSED, &second),
        1,
        "its forgery is not a signature"
    );
    // Operators 1 and 3 came after the cap: 1's signature, 3's miss and lateness are `other`.
    assert_eq!(value(m::OPERATOR_SIGNATURES, m::OTHER_OPERATORS), 1);
    assert_eq!(value(m::OPERATOR_MISSED, m::OTHER_OPERATORS), 1);
    assert_eq!(value(m::OPERATOR_LATE, m::OTHER_OPERATORS), 1);
    let labels: std::collections::BTreeSet<String> = snapshot
        .iter()
        .flat_map(|(key, _, _, _)| {
            key.key()
                .labels()
                .filter(|l| l.key() == "operator")
                .map(|l| l.value().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(labels.len(), 3, "two operators and other: {labels:?}");
}
