//! Unit tests for the time scheduler and the block/event watchers.

use alloy_primitives::{Address, Bytes, B256};

use super::*;

const JAN1_2026: u64 = 1_767_225_600;

fn every_minute() -> Trigger {
    Trigger::Cron(CronTrigger {
        schedules: vec!["* * * * *".into()],
    })
}

fn fixed(epochs: &[u64]) -> Trigger {
    Trigger::FixedTime(FixedTimeTrigger {
        epochs: epochs.to_vec(),
    })
}

#[test]
fn scheduler_fires_each_due_time_once_across_steps() {
    let clock = ManualClock::new(JAN1_2026);
    let mut s = TimeScheduler::with_max_catch_up(10, 1000);
    s.insert("cron", &every_minute(), clock.now()).unwrap();
    s.insert(
        "fixed",
        &fixed(&[JAN1_2026 + 90, JAN1_2026 + 91, JAN1_2026 + 3000]),
        clock.now(),
    )
    .unwrap();
    assert_eq!(s.next_wake(), Some(JAN1_2026 + 60));
    let mut seen = Vec::new();
    for step in [1u64, 7, 13, 59, 60, 61, 3, 120, 29] {
        let now = clock.advance(step);
        seen.extend(s.due(now));
        assert!(s.next_wake().is_none_or(|w| w > now));
    }
    let end = clock.now(); // JAN1_2026 + 353
    let crons: Vec<u64> = seen
        .iter()
        .filter_map(|(k, r)| match (k, r) {
            (&"cron", TriggerReason::Cron { epoch }) => Some(*epoch),
            _ => None,
        })
        .collect();
    let expected: Vec<u64> = (1..=(end - JAN1_2026) / 60)
        .map(|m| JAN1_2026 + m * 60)
        .collect();
    assert_eq!(crons, expected);
    let fixeds: Vec<_> = seen
        .iter()
        .filter(|(k, _)| *k == "fixed")
        .map(|(_, r)| *r)
        .collect();
    assert_eq!(
        fixeds,
        vec![
            TriggerReason::FixedTime {
                epoch: JAN1_2026 + 90
            },
            TriggerReason::FixedTime {
                epoch: JAN1_2026 + 91
            }
        ]
    );
    // Same `now` again, and clock moved back: nothing re-fires.
    assert!(s.due(end).is_empty());
    assert!(s.due(JAN1_2026).is_empty());
}

#[test]
fn scheduler_catch_up_cap_keeps_newest() {
    let mut s = TimeScheduler::with_max_catch_up(4, 5);
    s.insert(1u32, &every_minute(), JAN1_2026).unwrap();
    // 10 000-minute outage.
    let now = JAN1_2026 + 10_000 * 60;
    let fired = s.due(now);
    let epochs: Vec<u64> = fired
        .iter()
        .map(|(_, r)| match r {
            TriggerReason::Cron { epoch } => *epoch,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        epochs,
        (9_996..=10_000)
            .map(|m| JAN1_2026 + m * 60)
            .collect::<Vec<_>>()
    );
    assert_eq!(s.truncated_catch_ups(), 1);
    assert_eq!(s.next_wake(), Some(now + 60));
    // Fixed epochs obey the same cap.
    let epochs: Vec<u64> = (1..=20).collect();
    s.insert(2, &fixed(&epochs), 0).unwrap();
    let fired = s.due(100);
    assert_eq!(fired.len(), 5);
    assert_eq!(fired[0], (2, TriggerReason::FixedTime { epoch: 16 }));
    assert!(!s.contains(&2), "exhausted fixed trigger is dropped");
}

#[test]
fn scheduler_remove_and_reinsert_never_duplicates() {
    let mut s = TimeScheduler::new(4);
    s.insert("a", &every_minute(), JAN1_2026).unwrap();
    assert!(s.remove(&"a"));
    assert!(!s.remove(&"a"));
    assert!(s.due(JAN1_2026 + 3600).is_empty());
    assert_eq!(s.next_wake(), None);
    // Re-insert twice at the same time: one queue item, one fire per minute.
    s.insert("a", &every_minute(), JAN1_2026).unwrap();
    s.insert("a", &every_minute(), JAN1_2026).unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(
        s.due(JAN1_2026 + 60),
        vec![(
            "a",
            TriggerReason::Cron {
                epoch: JAN1_2026 + 60
            }
        )]
    );
    // Replacing with another kind of time trigger takes effect immediately.
    s.insert("a", &fixed(&[JAN1_2026 + 100]), JAN1_2026 + 60)
        .unwrap();
    assert_eq!(
        s.due(JAN1_2026 + 200),
        vec![(
            "a",
            TriggerReason::FixedTime {
                epoch: JAN1_2026 + 100
            }
        )]
    );
    assert!(s.is_empty());
}

#[test]
fn scheduler_refusals() {
    let mut s = TimeScheduler::new(1);
    assert_eq!(
        s.insert(1, &Trigger::Manual {}, 0),
        Err(TriggerError::WrongKind {
            watcher: "time scheduler",
            kind: "manual"
        })
    );
    assert!(matches!(
        s.insert(
            1,
            &Trigger::Cron(CronTrigger {
                schedules: vec!["nope".into()]
            }),
            0
        ),
        Err(TriggerError::InvalidCron { .. })
    ));
    assert_eq!(s.insert(1, &fixed(&[]), 0), Err(TriggerError::EmptyEpochs));
    assert_eq!(
        s.insert(1, &fixed(&[5]), 5),
        Err(TriggerError::Exhausted { now: 5 })
    );
    s.insert(1, &fixed(&[10]), 0).unwrap();
    assert_eq!(
        s.insert(2, &fixed(&[10]), 0),
        Err(TriggerError::CapacityExceeded {
            watcher: "time scheduler",
            capacity: 1
        })
    );
    // Replacing an existing key at capacity is fine; a failed replace keeps the old one.
    s.insert(1, &fixed(&[20]), 0).unwrap();
    assert!(s.insert(1, &fixed(&[1]), 5).is_err());
    assert_eq!(s.next_fire(&1), Some(20));
}

fn keys(w: &BlockWatcher<&'static str>, n: u64) -> Vec<&'static str> {
    w.on_block(n).into_iter().map(|(k, _)| k).collect()
}

#[test]
fn block_watcher_intervals_and_capacity() {
    let mut w = BlockWatcher::new(3);
    w.insert("two", BlockTrigger { interval: 2 }).unwrap();
    w.insert("three", BlockTrigger { interval: 3 }).unwrap();
    w.insert("one", BlockTrigger { interval: 1 }).unwrap();
    assert_eq!(
        w.insert("four", BlockTrigger { interval: 4 }),
        Err(TriggerError::CapacityExceeded {
            watcher: "block watcher",
            capacity: 3
        })
    );
    assert_eq!(
        w.insert("one", BlockTrigger { interval: 0 }),
        Err(TriggerError::ZeroInterval)
    );
    assert_eq!(keys(&w, 6), vec!["one", "three", "two"]);
    assert_eq!(keys(&w, 7), vec!["one"]);
    assert_eq!(w.on_block(4)[0].1, TriggerReason::Block { number: 4 });
    assert!(w.remove(&"one"));
    assert!(keys(&w, 7).is_empty());
    w.insert("two", BlockTrigger { interval: 7 }).unwrap();
    assert_eq!(keys(&w, 7), vec!["two"]);
    assert_eq!(w.len(), 2);
}

fn log(address: Address, topics: &[B256]) -> LogEvent {
    LogEvent {
        address,
        topics: topics.to_vec(),
        data: Bytes::new(),
        block_number: 10,
        log_index: 2,
        transaction_hash: B256::repeat_byte(7),
    }
}

#[test]
fn event_matching_wildcards_positional_any_of() {
    let a = Address::repeat_byte(1);
    let b = Address::repeat_byte(2);
    let (t0, t1, t2) = (
        B256::repeat_byte(0x10),
        B256::repeat_byte(0x11),
        B256::repeat_byte(0x12),
    );
    let m = |address, topics: Vec<Option<B256>>| EventMatcher { address, topics };
    // Fewer topics than the log: the rest is ignored.
    assert!(m(Some(a), vec![Some(t0)]).matches(&log(a, &[t0, t1, t2])));
    // Wildcard position.
    assert!(m(Some(a), vec![None, Some(t1)]).matches(&log(a, &[t0, t1])));
    assert!(!m(Some(a), vec![None, Some(t1)]).matches(&log(a, &[t0, t2])));
    // Positional: right topic, wrong position.
    assert!(!m(Some(a), vec![Some(t1)]).matches(&log(a, &[t0, t1])));
    // More topics than the log: no match, even if all wildcards.
    assert!(!m(Some(a), vec![None, None]).matches(&log(a, &[t0])));
    // Address mismatch.
    assert!(!m(Some(a), vec![]).matches(&log(b, &[])));
    // Any-of.
    let e = EventTrigger {
        matchers: vec![m(Some(b), vec![]), m(None, vec![Some(t2)])],
        expression: None,
    };
    assert!(e.matches(&log(b, &[t0])));
    assert!(e.matches(&log(a, &[t2])));
    assert!(!e.matches(&log(a, &[t0])));
    assert_eq!(
        log(a, &[]).reason(),
        TriggerReason::Event {
            block_number: 10,
            log_index: 2,
            transaction_hash: B256::repeat_byte(7)
        }
    );
}

#[test]
fn event_watcher_index_and_refusals() {
    let a = Address::repeat_byte(1);
    let b = Address::repeat_byte(2);
    let (t0, t1) = (B256::repeat_byte(0x10), B256::repeat_byte(0x11));
    let m = |address, topics: Vec<Option<B256>>| EventMatcher { address, topics };
    let ev = |ms: Vec<EventMatcher>| EventTrigger {
        matchers: ms,
        expression: None,
    };
    let mut w = EventWatcher::new(3);
    w.insert(1, ev(vec![m(Some(a), vec![])])).unwrap();
    w.insert(
        2,
        ev(vec![m(None, vec![Some(t0)]), m(Some(a), vec![Some(t1)])]),
    )
    .unwrap();
    w.insert(3, ev(vec![m(None, vec![None, Some(t1)])]))
        .unwrap();
    assert_eq!(
        w.insert(4, ev(vec![m(Some(b), vec![])])),
        Err(TriggerError::CapacityExceeded {
            watcher: "event watcher",
            capacity: 3
        })
    );
    assert_eq!(
        w.insert(3, ev(vec![m(None, vec![None])])),
        Err(TriggerError::WildcardMatcher { index: 0 })
    );
    assert_eq!(w.on_log(&log(a, &[t0])), vec![1, 2]);
    assert_eq!(w.on_log(&log(b, &[t0, t1])), vec![2, 3]);
    assert_eq!(w.on_log(&log(a, &[t1])), vec![1, 2]);
    assert_eq!(w.on_log(&log(b, &[t1, t1])), vec![3]);
    assert!(w.remove(&2));
    assert_eq!(w.on_log(&log(a, &[t0])), vec![1]);
    // Replace 1 with a matcher elsewhere: the old address slot is cleared.
    w.insert(1, ev(vec![m(Some(b), vec![])])).unwrap();
    assert!(w.on_log(&log(a, &[t0])).is_empty());
    assert_eq!(w.on_log(&log(b, &[])), vec![1]);
    assert!(w.get(&1).is_some());
}
