//! Property tests against independent oracles.

use std::collections::BTreeSet;

use alloy_primitives::{Address, Bytes, B256};
use proptest::prelude::*;

use super::*;

/// Up to 2100-01-01, well inside the cron parser's range.
const MAX_T: u64 = 4_102_444_800;

/// Oracle for `*/n * * * *`: the first whole minute after `t` whose
/// minute-of-hour is a multiple of `n` (pure arithmetic, no cron crate).
fn every_n_minutes_oracle(n: u64, t: u64) -> u64 {
    let mut minute = t / 60 + 1;
    while (minute % 60) % n != 0 {
        minute += 1;
    }
    minute * 60
}

fn arb_reason() -> impl Strategy<Value = TriggerReason> {
    prop_oneof![
        any::<u64>().prop_map(|at| TriggerReason::Manual { at }),
        any::<u64>().prop_map(|epoch| TriggerReason::FixedTime { epoch }),
        any::<u64>().prop_map(|epoch| TriggerReason::Cron { epoch }),
        any::<u64>().prop_map(|number| TriggerReason::Block { number }),
        (any::<u64>(), any::<u64>(), any::<[u8; 32]>()).prop_map(|(b, i, h)| {
            TriggerReason::Event {
                block_number: b,
                log_index: i,
                transaction_hash: B256::from(h),
            }
        }),
    ]
}

// Small pools so that random matchers and logs collide often.
fn pool_addr() -> impl Strategy<Value = Address> {
    (0u8..3).prop_map(Address::repeat_byte)
}
fn pool_topic() -> impl Strategy<Value = B256> {
    (0u8..3).prop_map(B256::repeat_byte)
}
fn arb_matcher() -> impl Strategy<Value = EventMatcher> {
    (
        proptest::option::of(pool_addr()),
        proptest::collection::vec(proptest::option::of(pool_topic()), 0..4),
    )
        .prop_map(|(address, topics)| EventMatcher { address, topics })
        .prop_filter("all-wildcard is refused", |m| !m.is_all_wildcard())
}
fn arb_log() -> impl Strategy<Value = LogEvent> {
    (pool_addr(), proptest::collection::vec(pool_topic(), 0..5)).prop_map(|(address, topics)| {
        LogEvent {
            address,
            topics,
            data: Bytes::new(),
            block_number: 1,
            log_index: 0,
            transaction_hash: B256::ZERO,
        }
    })
}

/// Independent re-statement of the matching rule.
fn oracle_matches(m: &EventMatcher, log: &LogEvent) -> bool {
    if let Some(a) = m.address {
        if a != log.address {
            return false;
        }
    }
    for (i, want) in m.topics.iter().enumerate() {
        match (want, log.topics.get(i)) {
            (_, None) => return false,
            (Some(w), Some(g)) if w != g => return false,
            _ => {}
        }
    }
    true
}

proptest! {
    #[test]
    fn cron_every_n_minutes_matches_arithmetic(n in 1u64..60, t in 0u64..MAX_T) {
        let c = CronTrigger { schedules: vec![format!("*/{n} * * * *")] };
        let next = c.next_after(t);
        prop_assert_eq!(next, Some(every_n_minutes_oracle(n, t)));
        // Strictly after, and nothing skipped: no oracle fire time in (t, next).
        let next = next.unwrap_or(0);
        prop_assert!(next > t);
        let compiled = c.compile().unwrap();
        prop_assert_eq!(compiled.next_after(t), Some(next));
        let (between, _) = compiled.fires_between(t.saturating_add(1), next, 1000);
        prop_assert_eq!(between, vec![next]);
    }

    #[test]
    fn cron_six_field_every_n_seconds_matches_arithmetic(n in 1u64..60, t in 0u64..MAX_T) {
        let c = CronTrigger { schedules: vec![format!("*/{n} * * * * *")] };
        // Oracle: first second after t whose second-of-minute is a multiple of n.
        let mut s = t + 1;
        while (s % 60) % n != 0 {
            s += 1;
        }
        prop_assert_eq!(c.next_after(t), Some(s));
    }

    #[test]
    fn scheduler_fires_each_cron_minute_exactly_once(
        start in 0u64..MAX_T,
        steps in proptest::collection::vec(0u64..400, 1..30),
    ) {
        let clock = ManualClock::new(start);
        let mut s = TimeScheduler::with_max_catch_up(1, 1000);
        let trig = Trigger::Cron(CronTrigger { schedules: vec!["*/2 * * * *".into()] });
        s.insert((), &trig, start).unwrap();
        let mut fired = Vec::new();
        for step in steps {
            fired.extend(s.due(clock.advance(step)).into_iter().map(|(_, r)| r));
        }
        let end = clock.now();
        let expected: Vec<TriggerReason> = (start / 120 + 1..=end / 120)
            .map(|k| TriggerReason::Cron { epoch: k * 120 })
            .collect();
        prop_assert_eq!(fired, expected);
    }

    #[test]
    fn fixed_next_after_is_min_greater(epochs in proptest::collection::vec(0u64..1000, 1..20), t in 0u64..1100) {
        let f = FixedTimeTrigger { epochs: epochs.clone() };
        prop_assert_eq!(f.next_after(t), epochs.iter().copied().filter(|&e| e > t).min());
    }

    #[test]
    fn scheduler_fires_each_fixed_epoch_exactly_once(
        epochs in proptest::collection::btree_set(1u64..500, 1..40),
        steps in proptest::collection::vec(0u64..60, 1..40),
    ) {
        let clock = ManualClock::new(0);
        let mut s = TimeScheduler::with_max_catch_up(1, 1000);
        let trig = Trigger::FixedTime(FixedTimeTrigger { epochs: epochs.iter().copied().collect() });
        s.insert(0u8, &trig, clock.now()).unwrap();
        let mut fired = Vec::new();
        for step in steps {
            fired.extend(s.due(clock.advance(step)).into_iter().map(|(_, r)| r));
        }
        let end = clock.now();
        let expected: Vec<TriggerReason> = epochs
            .iter()
            .filter(|&&e| e <= end)
            .map(|&epoch| TriggerReason::FixedTime { epoch })
            .collect();
        prop_assert_eq!(fired, expected);
    }

    #[test]
    fn event_watcher_agrees_with_naive_oracle(
        triggers in proptest::collection::vec(proptest::collection::vec(arb_matcher(), 1..4), 0..12),
        removed in proptest::collection::btree_set(0usize..12, 0..4),
        logs in proptest::collection::vec(arb_log(), 1..8),
    ) {
        let mut w = EventWatcher::new(64);
        for (k, ms) in triggers.iter().enumerate() {
            w.insert(k, EventTrigger { matchers: ms.clone(), expression: None }).unwrap();
        }
        for k in &removed {
            w.remove(k);
        }
        for log in &logs {
            let expected: Vec<usize> = triggers
                .iter()
                .enumerate()
                .filter(|(k, ms)| !removed.contains(k) && ms.iter().any(|m| oracle_matches(m, log)))
                .map(|(k, _)| k)
                .collect();
            prop_assert_eq!(w.on_log(log), expected);
        }
    }

    #[test]
    fn block_watcher_agrees_with_modulo(
        intervals in proptest::collection::vec(1u64..20, 0..10),
        number in any::<u64>(),
    ) {
        let mut w = BlockWatcher::new(16);
        for (k, &interval) in intervals.iter().enumerate() {
            w.insert(k, BlockTrigger { interval }).unwrap();
        }
        let expected: Vec<(usize, TriggerReason)> = intervals
            .iter()
            .enumerate()
            .filter(|(_, &i)| number % i == 0)
            .map(|(k, _)| (k, TriggerReason::Block { number }))
            .collect();
        prop_assert_eq!(w.on_block(number), expected);
    }

    #[test]
    fn signing_bytes_and_keys_are_injective(a in arb_reason(), b in arb_reason()) {
        prop_assert_eq!(a == b, a.signing_bytes() == b.signing_bytes());
        prop_assert_eq!(a == b, a.key() == b.key());
    }

    #[test]
    fn signing_bytes_injective_on_near_collisions(v in any::<u64>(), w in any::<u64>()) {
        // Same numeric payload across kinds must still differ.
        let kinds = [
            TriggerReason::Manual { at: v },
            TriggerReason::FixedTime { epoch: v },
            TriggerReason::Cron { epoch: v },
            TriggerReason::Block { number: v },
            TriggerReason::Event { block_number: v, log_index: w, transaction_hash: B256::ZERO },
        ];
        let bytes: BTreeSet<Vec<u8>> = kinds.iter().map(TriggerReason::signing_bytes).collect();
        prop_assert_eq!(bytes.len(), kinds.len());
    }

    #[test]
    fn cron_validate_never_panics(s in "[0-9*/,LW#?A-Z -]{0,40}") {
        let c = CronTrigger { schedules: vec![s] };
        let _ = c.validate(&TriggerLimits::default());
    }
}
