//! Unit tests: JSON forms, validation refusals, cron/fixed next-fire times, reasons.

use alloy_primitives::{address, b256, hex, B256};

use super::*;

/// 2026-01-01T00:00:00Z.
const JAN1_2026: u64 = 1_767_225_600;
/// 2027-01-01T00:00:00Z.
const JAN1_2027: u64 = 1_798_761_600;

fn cron(s: &[&str]) -> CronTrigger {
    CronTrigger {
        schedules: s.iter().map(|s| s.to_string()).collect(),
    }
}

fn parse(json: &str) -> Result<Trigger, serde_json::Error> {
    serde_json::from_str(json)
}

fn roundtrip(t: &Trigger) {
    let json = serde_json::to_string(t).unwrap();
    assert_eq!(&parse(&json).unwrap(), t, "{json}");
}

#[test]
fn json_roundtrip_every_trigger() {
    roundtrip(&Trigger::Manual {});
    roundtrip(&Trigger::FixedTime(FixedTimeTrigger {
        epochs: vec![1, JAN1_2026],
    }));
    roundtrip(&Trigger::Cron(cron(&["*/15 * * * *", "30 0 0 * * *"])));
    roundtrip(&Trigger::Block(BlockTrigger { interval: 7 }));
    let m = EventMatcher {
        address: Some(address!("0x1111111111111111111111111111111111111111")),
        topics: vec![Some(B256::repeat_byte(0xdd)), None],
    };
    roundtrip(&Trigger::Event(EventTrigger {
        matchers: vec![m.clone()],
        expression: None,
    }));
    roundtrip(&Trigger::Event(EventTrigger {
        matchers: vec![m],
        expression: Some("x > 1".into()),
    }));
}

#[test]
fn json_user_written_forms() {
    assert_eq!(parse(r#"{"type":"manual"}"#).unwrap(), Trigger::Manual {});
    assert_eq!(
        parse(r#"{"type":"block","interval":10}"#).unwrap(),
        Trigger::Block(BlockTrigger { interval: 10 })
    );
    let t = parse(
        r#"{"type":"event","matchers":[{"topics":[null,"0x00000000000000000000000000000000000000000000000000000000000000aa"]}]}"#,
    )
    .unwrap();
    let Trigger::Event(e) = t else {
        panic!("not event")
    };
    assert_eq!(e.matchers[0].address, None);
    assert_eq!(e.matchers[0].topics[0], None);
    assert_eq!(e.expression, None);
}

#[test]
fn json_refuses_unknown_fields_and_types() {
    assert!(parse(r#"{"type":"block","interval":10,"intervall":3}"#).is_err());
    assert!(parse(r#"{"type":"cron","schedules":[],"tz":"UTC"}"#).is_err());
    assert!(parse(r#"{"type":"event","matchers":[{"adress":null}]}"#).is_err());
    assert!(parse(r#"{"type":"fixedtime","epochs":[1]}"#).is_err());
    assert!(parse(r#"{"type":"manual","at":1}"#).is_err());
    assert!(parse(r#"{"type":"block"}"#).is_err());
    assert!(parse(r#"{"type":"block","interval":-1}"#).is_err());
}

#[test]
fn validation_refusals() {
    let l = TriggerLimits::default();
    let v = |t: Trigger| t.validate(&l);
    assert_eq!(
        v(Trigger::Cron(cron(&[]))),
        Err(TriggerError::EmptySchedules)
    );
    assert_eq!(
        v(Trigger::FixedTime(FixedTimeTrigger { epochs: vec![] })),
        Err(TriggerError::EmptyEpochs)
    );
    assert_eq!(
        v(Trigger::Event(EventTrigger {
            matchers: vec![],
            expression: None
        })),
        Err(TriggerError::EmptyMatchers)
    );
    assert_eq!(
        v(Trigger::Block(BlockTrigger { interval: 0 })),
        Err(TriggerError::ZeroInterval)
    );
    assert_eq!(
        v(Trigger::Cron(cron(&["* * * * *"; 17]))),
        Err(TriggerError::TooManySchedules { count: 17, max: 16 })
    );
    assert_eq!(
        v(Trigger::FixedTime(FixedTimeTrigger {
            epochs: vec![1; 1025]
        })),
        Err(TriggerError::TooManyEpochs {
            count: 1025,
            max: 1024
        })
    );
    let long = format!("0 0 * * {}", "1,".repeat(200) + "1");
    assert!(matches!(
        v(Trigger::Cron(cron(&[&long]))),
        Err(TriggerError::ScheduleTooLong { index: 0, .. })
    ));
    // Valid triggers pass.
    assert_eq!(v(Trigger::Manual {}), Ok(()));
    assert_eq!(
        v(Trigger::Cron(cron(&["*/5 * * * *", "0 30 9 * * MON-FRI"]))),
        Ok(())
    );
}

#[test]
fn bad_cron_names_schedule_and_reason() {
    let l = TriggerLimits::default();
    for (bad, needle) in [
        ("61 * * * *", ""),
        ("* * * *", "5 or 6 fields"),
        ("0 0 0 * * * 2030", "5 or 6 fields"),
        ("@daily", "nicknames"),
        ("*/0 * * * *", ""),
        ("a b c d e", ""),
    ] {
        let err = cron(&["* * * * *", bad]).validate(&l).unwrap_err();
        match &err {
            TriggerError::InvalidCron {
                index,
                schedule,
                reason,
            } => {
                assert_eq!((*index, schedule.as_str()), (1, bad));
                assert!(reason.contains(needle), "{reason}");
                assert!(!reason.is_empty());
            }
            other => panic!("{bad}: unexpected {other:?}"),
        }
        assert!(err.to_string().contains(bad));
    }
    assert_eq!(
        cron(&["0 0 30 2 *"]).validate(&l),
        Err(TriggerError::CronNeverFires {
            index: 0,
            schedule: "0 0 30 2 *".into()
        })
    );
}

#[test]
fn event_validation_refusals() {
    let l = TriggerLimits::default();
    let addr = Some(address!("0x2222222222222222222222222222222222222222"));
    let ok = EventMatcher {
        address: addr,
        topics: vec![],
    };
    let wild = EventMatcher {
        address: None,
        topics: vec![None, None],
    };
    let ev = |matchers: Vec<EventMatcher>, expression: Option<&str>| {
        EventTrigger {
            matchers,
            expression: expression.map(str::to_owned),
        }
        .validate(&l)
    };
    assert_eq!(
        ev(vec![ok.clone(), wild.clone()], None),
        Err(TriggerError::WildcardMatcher { index: 1 })
    );
    assert_eq!(
        ev(vec![wild], Some("true")),
        Err(TriggerError::WildcardMatcher { index: 0 })
    );
    assert_eq!(
        ev(vec![ok.clone(); 17], None),
        Err(TriggerError::TooManyMatchers { count: 17, max: 16 })
    );
    let many = EventMatcher {
        address: addr,
        topics: vec![None; 5],
    };
    assert_eq!(
        ev(vec![many], None),
        Err(TriggerError::TooManyTopics {
            index: 0,
            count: 5,
            max: 4
        })
    );
    let big = "x".repeat(4097);
    assert_eq!(
        ev(vec![ok.clone()], Some(&big)),
        Err(TriggerError::ExpressionTooLong {
            len: 4097,
            max: 4096
        })
    );
    assert_eq!(
        ev(vec![ok.clone()], Some("  ")),
        Err(TriggerError::EmptyExpression)
    );
    // Topic-only (no address) matchers are allowed.
    let topic_only = EventMatcher {
        address: None,
        topics: vec![None, Some(B256::ZERO)],
    };
    assert_eq!(ev(vec![ok, topic_only], Some("true")), Ok(()));
}

#[test]
fn cron_five_field_known_times() {
    let at = |h: u64, m: u64, s: u64| JAN1_2026 + h * 3600 + m * 60 + s;
    let c = cron(&["*/15 * * * *"]);
    assert_eq!(c.next_after(at(0, 7, 0)), Some(at(0, 15, 0)));
    assert_eq!(
        c.next_after(at(0, 15, 0)),
        Some(at(0, 30, 0)),
        "strictly after"
    );
    assert_eq!(c.next_after(at(0, 59, 59)), Some(at(1, 0, 0)));
    // Yearly: midnight 1 Jan.
    let y = cron(&["0 0 1 1 *"]);
    assert_eq!(y.next_after(JAN1_2026 - 1), Some(JAN1_2026));
    assert_eq!(y.next_after(JAN1_2026), Some(JAN1_2027));
    // 2026-01-01 is a Thursday; Mondays at 09:30 -> 2026-01-05T09:30:00Z.
    let mon = cron(&["30 9 * * MON"]);
    assert_eq!(
        mon.next_after(JAN1_2026),
        Some(JAN1_2026 + 4 * 86_400 + 9 * 3600 + 30 * 60)
    );
}

#[test]
fn cron_six_field_and_multiple_schedules() {
    // Seconds first: every 10 s.
    let c = cron(&["*/10 * * * * *"]);
    assert_eq!(c.next_after(JAN1_2026 + 3), Some(JAN1_2026 + 10));
    // 6-field at 12:00:45 daily.
    let d = cron(&["45 0 12 * * *"]);
    assert_eq!(d.next_after(JAN1_2026), Some(JAN1_2026 + 12 * 3600 + 45));
    // Earliest over both schedules.
    let both = cron(&["0 0 1 1 *", "45 0 12 * * *"]);
    assert_eq!(both.next_after(JAN1_2026), Some(JAN1_2026 + 12 * 3600 + 45));
    assert_eq!(
        both.compile().unwrap().next_after(JAN1_2026),
        Some(JAN1_2026 + 12 * 3600 + 45)
    );
    // Out of chrono's range: no next, no panic.
    assert_eq!(c.next_after(u64::MAX), None);
}

#[test]
fn cron_fires_between_is_capped_newest() {
    let c = cron(&["* * * * *"]).compile().unwrap();
    let (all, trunc) = c.fires_between(JAN1_2026, JAN1_2026 + 600, 100);
    assert_eq!(all.len(), 11);
    assert!(!trunc);
    let (newest, trunc) = c.fires_between(JAN1_2026, JAN1_2026 + 600, 3);
    assert_eq!(
        newest,
        vec![JAN1_2026 + 480, JAN1_2026 + 540, JAN1_2026 + 600]
    );
    assert!(trunc);
}

#[test]
fn fixed_time_next_after() {
    let f = FixedTimeTrigger {
        epochs: vec![30, 10, 20, 20],
    };
    assert_eq!(f.next_after(0), Some(10));
    assert_eq!(f.next_after(10), Some(20));
    assert_eq!(f.next_after(29), Some(30));
    assert_eq!(f.next_after(30), None);
}

#[test]
fn block_fires_at() {
    let b = BlockTrigger { interval: 5 };
    assert!(b.fires_at(0) && b.fires_at(5) && b.fires_at(u64::MAX));
    let b7 = BlockTrigger { interval: 7 };
    assert!(b7.fires_at(u64::MAX - u64::MAX % 7) && !b7.fires_at(u64::MAX));
    assert!(!b.fires_at(6));
    assert!(!BlockTrigger { interval: 0 }.fires_at(0));
    assert!(BlockTrigger { interval: 1 }.fires_at(123));
}

#[test]
fn reason_signing_bytes_known_answer() {
    let r = TriggerReason::Event {
        block_number: 0x0102,
        log_index: 3,
        transaction_hash: b256!(
            "0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        ),
    };
    assert_eq!(
        hex::encode(r.signing_bytes()),
        concat!(
            "04",
            "0000000000000102",
            "0000000000000003",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        )
    );
    assert_eq!(
        hex::encode(TriggerReason::Cron { epoch: JAN1_2026 }.signing_bytes()),
        "02000000006955b900"
    );
    assert_eq!(
        hex::encode(TriggerReason::Manual { at: 1 }.signing_bytes()),
        "000000000000000001"
    );
    assert_eq!(
        TriggerReason::Cron { epoch: JAN1_2026 }.key(),
        "cron:1767225600"
    );
    assert_eq!(r.key(), format!("event:258:3:0x{}", "aa".repeat(32)));
}

#[test]
fn reason_json_roundtrip() {
    let r = TriggerReason::Block { number: 9 };
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(json, r#"{"type":"block","number":9}"#);
    assert_eq!(serde_json::from_str::<TriggerReason>(&json).unwrap(), r);
}

#[test]
fn manual_clock_shared_and_saturating() {
    let c = ManualClock::new(10);
    let other = c.clone();
    assert_eq!(other.advance(5), 15);
    assert_eq!(c.now(), 15);
    c.set(u64::MAX - 1);
    assert_eq!(c.advance(10), u64::MAX);
    let dynamic: std::sync::Arc<dyn Clock> = std::sync::Arc::new(other);
    assert_eq!(dynamic.now(), u64::MAX);
    assert!(SystemClock.now() > JAN1_2026 - 365 * 86_400);
}
