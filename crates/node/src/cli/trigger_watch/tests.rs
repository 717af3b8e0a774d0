//! The watcher's decisions, driven without gRPC through a fake chain.

use std::collections::BTreeSet;
use std::sync::Mutex;

use alloy_primitives::{Address, Bytes, B256};
use quorate_automation::sandbox::{Sandbox, SandboxLimits};
use quorate_automation::trigger::{LogEvent, TriggerReason};

use super::engine::{
    event_vars, Applied, ChainCursor, Engine, Fired, Reported, Watchers, MAX_BLOCKS_PER_POLL,
};
use super::source::{BlockSource, LogScope, SourceError};
use super::time_wake_delay;

/// A chain whose head and logs the test sets; records the scopes it was asked for.
#[derive(Default)]
struct FakeChain {
    head: Mutex<u64>,
    logs: Mutex<Vec<LogEvent>>,
    scopes: Mutex<Vec<(u64, u64, LogScope)>>,
    fail: Mutex<bool>,
}

impl FakeChain {
    fn at(head: u64) -> Self {
        let chain = Self::default();
        chain.set_head(head);
        chain
    }

    fn set_head(&self, head: u64) {
        *self.head.lock().unwrap() = head;
    }

    fn push_log(&self, log: LogEvent) {
        self.logs.lock().unwrap().push(log);
    }
}

#[async_trait::async_trait]
impl BlockSource for FakeChain {
    async fn head(&self) -> Result<u64, SourceError> {
        Ok(*self.head.lock().unwrap())
    }

    async fn logs(
        &self,
        from: u64,
        to: u64,
        scope: &LogScope,
    ) -> Result<Vec<LogEvent>, SourceError> {
        if *self.fail.lock().unwrap() {
            return Err(SourceError::Rpc {
                call: "eth_getLogs",
                reason: "down".into(),
            });
        }
        self.scopes.lock().unwrap().push((from, to, scope.clone()));
        Ok(self
            .logs
            .lock()
            .unwrap()
            .iter()
            .filter(|l| (from..=to).contains(&l.block_number))
            .cloned()
            .collect())
    }
}

const TOKEN: Address = Address::repeat_byte(0x11);
const TRANSFER: B256 = B256::repeat_byte(0xdd);

fn engine(capacity: usize) -> Engine {
    let sandbox = Sandbox::new(SandboxLimits::default()).unwrap();
    Engine::new(
        Watchers::new(capacity),
        MAX_BLOCKS_PER_POLL,
        10_000,
        sandbox,
    )
}

fn log(block: u64, index: u64, address: Address, data: &[u8]) -> LogEvent {
    LogEvent {
        address,
        topics: vec![TRANSFER, B256::repeat_byte(0x01)],
        data: Bytes::copy_from_slice(data),
        block_number: block,
        log_index: index,
        transaction_hash: B256::repeat_byte(u8::try_from(block % 256).unwrap()),
    }
}

fn event_json(expression: Option<&str>) -> String {
    let mut trigger = serde_json::json!({
        "type": "event",
        "matchers": [{ "address": TOKEN.to_string(), "topics": [TRANSFER.to_string()] }],
    });
    if let Some(expr) = expression {
        trigger["expression"] = expr.into();
    }
    trigger.to_string()
}

fn ids(fired: &[Fired]) -> Vec<(&str, TriggerReason)> {
    fired
        .iter()
        .map(|f| (f.workflow_id.as_str(), f.reason))
        .collect()
}

fn blocks(fired: &[Fired]) -> Vec<u64> {
    fired
        .iter()
        .filter_map(|f| match f.reason {
            TriggerReason::Block { number } => Some(number),
            _ => None,
        })
        .collect()
}

#[test]
fn updates_add_replace_and_remove_triggers() {
    let mut w = Watchers::new(10);
    let block = r#"{"type": "block", "interval": 5}"#;
    assert_eq!(w.apply("wf", block, false, 0), Applied::Added);
    assert_eq!(w.apply("wf", block, false, 0), Applied::Unchanged);
    assert_eq!(w.on_blocks(10..=10).len(), 1);

    let fixed = r#"{"type": "fixed_time", "epochs": [100]}"#;
    assert_eq!(w.apply("wf", fixed, false, 50), Applied::Replaced);
    assert!(
        w.on_blocks(10..=10).is_empty(),
        "the old block trigger is gone"
    );
    assert_eq!(w.next_wake(), Some(100));

    assert_eq!(w.apply("wf", "", true, 60), Applied::Removed);
    assert_eq!(w.next_wake(), None);
    assert_eq!(w.apply("wf", "", true, 60), Applied::NotPresent);
    assert_eq!(
        w.apply("m", r#"{"type": "manual"}"#, false, 0),
        Applied::Manual
    );
    assert_eq!(w.len(), 0);
}

#[test]
fn bad_trigger_json_is_skipped() {
    let mut w = Watchers::new(10);
    for bad in [
        "not json",
        r#"{"type": "bogus"}"#,
        r#"{"type": "block", "interval": 0}"#,
        r#"{"type": "block", "interval": 5, "typo": 1}"#,
        r#"{"type": "cron", "schedules": ["every day"]}"#,
        r#"{"type": "fixed_time", "epochs": [10]}"#, // already past: exhausted
        r#"{"type": "event", "matchers": [{}]}"#,
    ] {
        assert!(
            matches!(w.apply("wf", bad, false, 100), Applied::Refused(_)),
            "{bad}"
        );
    }
    assert_eq!(w.len(), 0);
    // A bad update for a watched workflow forgets its old trigger, which the node dropped.
    w.apply("wf", r#"{"type": "block", "interval": 1}"#, false, 0);
    assert!(matches!(w.apply("wf", "{", false, 0), Applied::Refused(_)));
    assert!(!w.contains("wf"));
}

#[test]
fn capacity_refuses_new_triggers_but_allows_replacing() {
    let mut w = Watchers::new(2);
    let block = |i: u64| format!(r#"{{"type": "block", "interval": {i}}}"#);
    assert_eq!(w.apply("a", &block(1), false, 0), Applied::Added);
    assert_eq!(w.apply("b", &block(2), false, 0), Applied::Added);
    assert!(matches!(
        w.apply("c", &block(3), false, 0),
        Applied::Refused(_)
    ));
    assert_eq!(w.apply("b", &block(4), false, 0), Applied::Replaced);
    assert_eq!(w.len(), 2);
}

#[test]
fn resync_drops_triggers_the_node_did_not_resend() {
    let mut w = Watchers::new(10);
    let block = r#"{"type": "block", "interval": 1}"#;
    w.apply("kept", block, false, 0);
    w.apply("gone", block, false, 0);
    w.begin_resync();
    assert_eq!(w.apply("kept", block, false, 0), Applied::Unchanged);
    assert_eq!(w.finish_resync(), vec!["gone".to_owned()]);
    assert!(w.contains("kept") && !w.contains("gone"));
    assert!(w.finish_resync().is_empty());
}

#[tokio::test]
async fn block_trigger_fires_on_multiples_exactly_once_across_overlapping_polls() {
    let mut e = engine(10);
    e.watchers
        .apply("wf", r#"{"type": "block", "interval": 5}"#, false, 0);
    let chain = FakeChain::at(10);
    assert_eq!(blocks(&e.poll_chain(&chain).await.unwrap()), [10]);
    assert!(e.poll_chain(&chain).await.unwrap().is_empty(), "same head");
    chain.set_head(12);
    assert!(e.poll_chain(&chain).await.unwrap().is_empty());
    chain.set_head(21);
    assert_eq!(blocks(&e.poll_chain(&chain).await.unwrap()), [15, 20]);
    chain.set_head(18); // reorg: the head moved back
    assert!(e.poll_chain(&chain).await.unwrap().is_empty());
    chain.set_head(25);
    assert_eq!(blocks(&e.poll_chain(&chain).await.unwrap()), [25]);
    // Re-sending the trigger (e.g. after a reconnect) does not re-report anything.
    e.watchers.begin_resync();
    e.watchers
        .apply("wf", r#"{"type": "block", "interval": 5}"#, false, 0);
    assert!(e.poll_chain(&chain).await.unwrap().is_empty());
    assert!(
        chain.scopes.lock().unwrap().is_empty(),
        "no getLogs without event triggers"
    );
}

#[test]
fn chain_cursor_catch_up_is_bounded_to_the_newest_blocks() {
    let mut cursor = ChainCursor::new(256);
    let first = cursor.plan(1000).unwrap();
    assert_eq!(first, 1000..=1000, "starts at the head seen at start");
    cursor.commit(&first);
    let next = cursor.plan(2000).unwrap();
    assert_eq!(next, 1745..=2000);
    cursor.commit(&next);
    assert_eq!(cursor.skipped(), 744);
    assert_eq!(cursor.plan(2000), None);
    assert_eq!(cursor.plan(2001), Some(2001..=2001));
}

#[tokio::test]
async fn catch_up_bound_holds_through_the_engine() {
    let mut e = engine(10);
    e.watchers
        .apply("wf", r#"{"type": "block", "interval": 1}"#, false, 0);
    let chain = FakeChain::at(5);
    assert_eq!(e.poll_chain(&chain).await.unwrap().len(), 1);
    chain.set_head(100_000);
    let fired = blocks(&e.poll_chain(&chain).await.unwrap());
    assert_eq!(fired.len(), usize::try_from(MAX_BLOCKS_PER_POLL).unwrap());
    assert_eq!(fired.first(), Some(&(100_000 - MAX_BLOCKS_PER_POLL + 1)));
    assert_eq!(fired.last(), Some(&100_000));
}

#[tokio::test]
async fn event_trigger_fires_with_and_without_expression() {
    let mut e = engine(10);
    e.watchers.apply("plain", &event_json(None), false, 0);
    e.watchers
        .apply("big", &event_json(Some("event.data == '0x0100'")), false, 0);
    e.watchers.apply(
        "never",
        &event_json(Some("event.block_number > 1000")),
        false,
        0,
    );
    e.watchers
        .apply("broken", &event_json(Some("nope(")), false, 0);
    let chain = FakeChain::at(10);
    assert!(e.poll_chain(&chain).await.unwrap().is_empty());
    let small = log(11, 0, TOKEN, &[0x00]);
    let big = log(12, 3, TOKEN, &[0x01, 0x00]);
    chain.push_log(small.clone());
    chain.push_log(big.clone());
    chain.push_log(log(12, 4, Address::repeat_byte(0x22), &[0x01, 0x00]));
    chain.set_head(12);
    let fired = e.poll_chain(&chain).await.unwrap();
    let mut fired = ids(&fired);
    fired.sort();
    assert_eq!(
        fired,
        [
            ("big", big.reason()),
            ("plain", small.reason()),
            ("plain", big.reason()),
        ]
    );
    // The log query was narrowed to the matchers' one address.
    let scopes = chain.scopes.lock().unwrap().clone();
    assert_eq!(
        scopes.last(),
        Some(&(11, 12, LogScope::Addresses(BTreeSet::from([TOKEN]))))
    );
    // The same logs again (overlapping query) are not reported twice.
    chain.set_head(13);
    chain.push_log(big.clone());
    assert!(e.poll_chain(&chain).await.unwrap().is_empty());
}

#[tokio::test]
async fn failed_log_query_is_retried_without_losing_blocks() {
    let mut e = engine(10);
    e.watchers.apply("ev", &event_json(None), false, 0);
    let chain = FakeChain::at(10);
    e.poll_chain(&chain).await.unwrap();
    chain.push_log(log(11, 0, TOKEN, &[]));
    chain.set_head(11);
    *chain.fail.lock().unwrap() = true;
    assert!(e.poll_chain(&chain).await.is_err());
    *chain.fail.lock().unwrap() = false;
    assert_eq!(e.poll_chain(&chain).await.unwrap().len(), 1);
}

#[test]
fn log_scope_narrows_only_when_every_matcher_allows_it() {
    let mut w = Watchers::new(10);
    assert_eq!(w.log_scope(), None);
    w.apply("a", &event_json(None), false, 0);
    assert_eq!(
        w.log_scope(),
        Some(LogScope::Addresses(BTreeSet::from([TOKEN])))
    );
    let by_topic = format!(r#"{{"type": "event", "matchers": [{{"topics": ["{TRANSFER}"]}}]}}"#);
    w.apply("b", &by_topic, false, 0);
    assert_eq!(
        w.log_scope(),
        Some(LogScope::Topic0(BTreeSet::from([TRANSFER])))
    );
    let by_topic1 =
        format!(r#"{{"type": "event", "matchers": [{{"topics": [null, "{TRANSFER}"]}}]}}"#);
    w.apply("c", &by_topic1, false, 0);
    assert_eq!(w.log_scope(), Some(LogScope::Any));
}

#[test]
fn time_trigger_fires_each_due_time_once() {
    let mut e = engine(10);
    let fixed = r#"{"type": "fixed_time", "epochs": [100, 105, 110]}"#;
    assert_eq!(e.watchers.apply("wf", fixed, false, 90), Applied::Added);
    assert!(e.time_fires(99).is_empty());
    assert_eq!(
        ids(&e.time_fires(100)),
        [("wf", TriggerReason::FixedTime { epoch: 100 })]
    );
    assert!(e.time_fires(100).is_empty());
    assert!(e.time_fires(104).is_empty());
    // Re-sent unchanged: keeps its place, no repeat.
    assert_eq!(
        e.watchers.apply("wf", fixed, false, 104),
        Applied::Unchanged
    );
    assert_eq!(
        ids(&e.time_fires(107)),
        [("wf", TriggerReason::FixedTime { epoch: 105 })]
    );
    assert!(e.time_fires(107).is_empty());

    let cron = r#"{"type": "cron", "schedules": ["* * * * *"]}"#;
    e.watchers.apply("cron", cron, false, 59);
    assert_eq!(
        ids(&e.time_fires(60)),
        [("cron", TriggerReason::Cron { epoch: 60 })]
    );
    assert!(e.time_fires(61).is_empty());
    let fired = e.time_fires(120);
    let fired = ids(&fired);
    assert!(fired.contains(&("cron", TriggerReason::Cron { epoch: 120 })));
    assert!(fired.contains(&("wf", TriggerReason::FixedTime { epoch: 110 })));
}

#[test]
fn reported_set_is_bounded_and_forgets_the_oldest() {
    let mut reported = Reported::new(3);
    let f = |n: u64| Fired {
        workflow_id: "wf".into(),
        reason: TriggerReason::Block { number: n },
    };
    for n in 0..5 {
        assert!(reported.first_time(&f(n)));
    }
    assert_eq!(reported.len(), 3);
    assert!(!reported.first_time(&f(4)));
    assert!(!reported.first_time(&f(2)));
    assert!(reported.first_time(&f(0)), "the oldest was forgotten");
    assert_eq!(reported.len(), 3);
}

#[test]
fn event_vars_are_lowercase_hex_and_numbers() {
    let vars = event_vars(&log(7, 2, TOKEN, &[0xab]));
    let event = &vars["event"];
    assert_eq!(
        event["address"],
        "0x1111111111111111111111111111111111111111"
    );
    assert_eq!(event["data"], "0xab");
    assert_eq!(event["block_number"], 7);
    assert_eq!(event["log_index"], 2);
    assert_eq!(event["topics"][0], format!("{TRANSFER}"));
}

#[test]
fn time_wake_delay_is_at_most_a_second() {
    assert_eq!(time_wake_delay(None, 10_000).as_millis(), 1005);
    assert_eq!(time_wake_delay(None, 10_400).as_millis(), 605);
    assert_eq!(time_wake_delay(Some(11), 10_400).as_millis(), 605);
    assert_eq!(time_wake_delay(Some(500), 10_999).as_millis(), 6);
}
