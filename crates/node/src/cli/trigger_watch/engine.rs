//! The watcher's pure state: which triggers are registered, what fires for a time, a block
//! range or a log, and what was already reported. No gRPC here, so unit tests drive it.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::ops::RangeInclusive;

use alloy_primitives::hex::encode_prefixed;
use alloy_primitives::{Address, B256};
use quorate_automation::sandbox::Sandbox;
use quorate_automation::trigger::{
    BlockWatcher, EventWatcher, LogEvent, TimeScheduler, Trigger, TriggerReason,
};
use serde_json::{json, Map, Value};
use tracing::{debug, warn};

use super::source::{BlockSource, LogScope, SourceError};

/// A fired trigger, to sign and report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    /// The workflow whose trigger fired.
    pub workflow_id: String,
    /// What fired it.
    pub reason: TriggerReason,
}

/// What applying one trigger update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// A new workflow's trigger is watched.
    Added,
    /// A known workflow's trigger changed and the new one replaced it.
    Replaced,
    /// The same trigger again (e.g. re-sent after a reconnect): kept as is, so a time
    /// trigger keeps its pending fire time.
    Unchanged,
    /// The workflow's trigger is no longer watched.
    Removed,
    /// A removal of a workflow that was not watched.
    NotPresent,
    /// A manual trigger: nothing to watch (any previous trigger is forgotten).
    Manual,
    /// The update could not be applied (bad JSON, capacity, a trigger no watcher accepts);
    /// any previous trigger of the workflow is forgotten, since it is no longer the
    /// workflow's and the node would refuse its reports.
    Refused(String),
}

/// Every registered trigger, keyed by workflow id, and the three watchers built from them.
///
/// `triggers` mirrors what the watchers hold so a changed trigger can be told from a
/// re-sent one and so the log filter can be computed; it never holds more than `capacity`.
#[derive(Debug)]
pub struct Watchers {
    triggers: BTreeMap<String, Trigger>,
    time: TimeScheduler<String>,
    blocks: BlockWatcher<String>,
    events: EventWatcher<String>,
    capacity: usize,
    /// During a resync: the keys the new stream has not re-sent yet.
    unconfirmed: Option<BTreeSet<String>>,
}

impl Watchers {
    /// Empty watchers holding at most `capacity` triggers in all.
    pub fn new(capacity: usize) -> Self {
        Self {
            triggers: BTreeMap::new(),
            time: TimeScheduler::new(capacity),
            blocks: BlockWatcher::new(capacity),
            events: EventWatcher::new(capacity),
            capacity,
            unconfirmed: None,
        }
    }

    /// Applies one update from the node; `now` (unix seconds) is where time triggers start.
    pub fn apply(
        &mut self,
        workflow_id: &str,
        trigger_json: &str,
        removed: bool,
        now: u64,
    ) -> Applied {
        if let Some(unconfirmed) = &mut self.unconfirmed {
            unconfirmed.remove(workflow_id);
        }
        if removed {
            return match self.forget(workflow_id) {
                true => Applied::Removed,
                false => Applied::NotPresent,
            };
        }
        let trigger: Trigger = match serde_json::from_str(trigger_json) {
            Ok(t) => t,
            Err(e) => {
                self.forget(workflow_id);
                return Applied::Refused(format!("bad trigger_json: {e}"));
            }
        };
        if self.triggers.get(workflow_id) == Some(&trigger) {
            return Applied::Unchanged;
        }
        // The kind may have changed, so the old registration goes from every watcher.
        let existed = self.forget(workflow_id);
        if matches!(trigger, Trigger::Manual {}) {
            return Applied::Manual;
        }
        if self.triggers.len() >= self.capacity {
            return Applied::Refused(format!(
                "trigger capacity {} reached (raise --trigger-capacity)",
                self.capacity
            ));
        }
        let key = workflow_id.to_owned();
        let inserted = match &trigger {
            Trigger::FixedTime(_) | Trigger::Cron(_) => {
                self.time.insert(key.clone(), &trigger, now)
            }
            Trigger::Block(t) => self.blocks.insert(key.clone(), *t),
            Trigger::Event(t) => self.events.insert(key.clone(), t.clone()),
            Trigger::Manual {} => Ok(()),
        };
        if let Err(e) = inserted {
            return Applied::Refused(e.to_string());
        }
        self.triggers.insert(key, trigger);
        match existed {
            true => Applied::Replaced,
            false => Applied::Added,
        }
    }

    /// Removes `workflow_id` everywhere; returns whether it was registered.
    fn forget(&mut self, workflow_id: &str) -> bool {
        let key = workflow_id.to_owned();
        self.time.remove(&key);
        self.blocks.remove(&key);
        self.events.remove(&key);
        self.triggers.remove(workflow_id).is_some()
    }

    /// A new sync stream opened: the node re-sends every live trigger but not the removals
    /// missed while disconnected, so the keys it does not re-send are dropped at
    /// [`Watchers::finish_resync`].
    pub fn begin_resync(&mut self) {
        self.unconfirmed = Some(self.triggers.keys().cloned().collect());
    }

    /// The node's snapshot is complete: forgets the triggers it did not re-send; returns them.
    pub fn finish_resync(&mut self) -> Vec<String> {
        let stale: Vec<String> = self.unconfirmed.take().into_iter().flatten().collect();
        for key in &stale {
            self.forget(key);
        }
        stale
    }

    /// Time triggers due at `now` (each fire time once).
    pub fn due(&mut self, now: u64) -> Vec<Fired> {
        fired(self.time.due(now))
    }

    /// The earliest pending fire time of any time trigger.
    pub fn next_wake(&self) -> Option<u64> {
        self.time.next_wake()
    }

    /// Block triggers firing at any block of `range`.
    pub fn on_blocks(&self, range: RangeInclusive<u64>) -> Vec<Fired> {
        if self.blocks.is_empty() {
            return Vec::new();
        }
        range.flat_map(|n| fired(self.blocks.on_block(n))).collect()
    }

    /// Which logs to fetch: `None` when no event trigger is registered.
    pub fn log_scope(&self) -> Option<LogScope> {
        let matchers: Vec<_> = self
            .triggers
            .values()
            .filter_map(|t| match t {
                Trigger::Event(e) => Some(&e.matchers),
                _ => None,
            })
            .flatten()
            .collect();
        if matchers.is_empty() {
            return None;
        }
        // An eth_getLogs filter ANDs address and topics, so it can only narrow the query
        // when every matcher is constrained by the same field.
        let addresses: Option<BTreeSet<Address>> = matchers.iter().map(|m| m.address).collect();
        if let Some(addresses) = addresses {
            return Some(LogScope::Addresses(addresses));
        }
        let topics: Option<BTreeSet<B256>> = matchers
            .iter()
            .map(|m| m.topics.first().copied().flatten())
            .collect();
        Some(match topics {
            Some(topics) => LogScope::Topic0(topics),
            None => LogScope::Any,
        })
    }

    /// Workflows whose event trigger matches `log`, each with its expression (if any), which
    /// must still hold for the trigger to fire.
    pub fn on_log(&self, log: &LogEvent) -> Vec<(String, Option<String>)> {
        self.events
            .on_log(log)
            .into_iter()
            .map(|key| {
                let expression = self.events.get(&key).and_then(|t| t.expression.clone());
                (key, expression)
            })
            .collect()
    }

    /// Number of registered triggers.
    pub fn len(&self) -> usize {
        self.triggers.len()
    }

    /// Whether `workflow_id` has a watched trigger.
    #[cfg(test)]
    pub fn contains(&self, workflow_id: &str) -> bool {
        self.triggers.contains_key(workflow_id)
    }
}

fn fired(pairs: Vec<(String, TriggerReason)>) -> Vec<Fired> {
    pairs
        .into_iter()
        .map(|(workflow_id, reason)| Fired {
            workflow_id,
            reason,
        })
        .collect()
}

/// The chain position: which block range a poll covers.
///
/// The first poll covers only the head seen at start; each later one the blocks after the
/// last covered, at most `max_blocks` of them. After a longer gap (RPC outage) the older
/// blocks are skipped, newest kept, like [`TimeScheduler`]'s catch-up: operators that stayed
/// up reported the recent ones, so this one still joins their quorums, while blocks long past
/// would be late for everyone.
#[derive(Debug, Clone)]
pub struct ChainCursor {
    last: Option<u64>,
    max_blocks: u64,
    skipped: u64,
}

impl ChainCursor {
    /// A cursor covering at most `max_blocks` (at least 1) blocks per poll.
    pub fn new(max_blocks: u64) -> Self {
        Self {
            last: None,
            max_blocks: max_blocks.max(1),
            skipped: 0,
        }
    }

    /// The range to cover given the chain's `head`, or `None` when nothing is new (also
    /// when the head moved back after a reorg: the blocks are covered once it passes again).
    pub fn plan(&self, head: u64) -> Option<RangeInclusive<u64>> {
        let from = match self.last {
            None => head,
            Some(last) if head <= last => return None,
            Some(last) => last.saturating_add(1),
        };
        let newest_from = head.saturating_sub(self.max_blocks - 1);
        Some(from.max(newest_from)..=head)
    }

    /// Records that `range` (from [`ChainCursor::plan`]) was covered.
    pub fn commit(&mut self, range: &RangeInclusive<u64>) {
        if let Some(last) = self.last {
            let gap = range.start().saturating_sub(last.saturating_add(1));
            self.skipped = self.skipped.saturating_add(gap);
        }
        self.last = Some(*range.end());
    }

    /// Blocks skipped so far to honour the per-poll bound.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }
}

/// The last `capacity` reported (workflow, reason) pairs, so none is reported twice (e.g.
/// across overlapping polls or a re-sent trigger) while memory stays bounded.
#[derive(Debug)]
pub struct Reported {
    order: VecDeque<(String, TriggerReason)>,
    set: HashSet<(String, TriggerReason)>,
    capacity: usize,
}

impl Reported {
    /// A set remembering at most `capacity` (at least 1) pairs, oldest forgotten first.
    pub fn new(capacity: usize) -> Self {
        Self {
            order: VecDeque::new(),
            set: HashSet::new(),
            capacity: capacity.max(1),
        }
    }

    /// Records `fired`; `false` if it was already recorded.
    pub fn first_time(&mut self, fired: &Fired) -> bool {
        let pair = (fired.workflow_id.clone(), fired.reason);
        if self.set.contains(&pair) {
            return false;
        }
        if self.order.len() >= self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.set.remove(&oldest);
            }
        }
        self.order.push_back(pair.clone());
        self.set.insert(pair);
        true
    }

    /// Number of remembered pairs.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.order.len()
    }
}

/// Bounds the expression evaluations of one poll: each may take the sandbox's full timeout.
pub const MAX_EVALS_PER_POLL: usize = 1024;

/// Blocks covered per poll at most.
pub const MAX_BLOCKS_PER_POLL: u64 = 256;

/// Pairs remembered by the dedupe set.
pub const REPORTED_CAPACITY: usize = 10_000;

/// The watchers, the chain cursor and the dedupe set: everything that decides what to report.
#[derive(Debug)]
pub struct Engine {
    /// The registered triggers.
    pub watchers: Watchers,
    cursor: ChainCursor,
    reported: Reported,
    sandbox: Sandbox,
}

impl Engine {
    /// An engine over `watchers`, covering `max_blocks` per poll, remembering `reported`
    /// reports, evaluating expressions in `sandbox`.
    pub fn new(watchers: Watchers, max_blocks: u64, reported: usize, sandbox: Sandbox) -> Self {
        Self {
            watchers,
            cursor: ChainCursor::new(max_blocks),
            reported: Reported::new(reported),
            sandbox,
        }
    }

    /// Time triggers due at `now`, not reported before.
    pub fn time_fires(&mut self, now: u64) -> Vec<Fired> {
        let due = self.watchers.due(now);
        self.fresh(due)
    }

    /// One chain poll: the new blocks' block triggers and the matching logs' event triggers
    /// (expressions evaluated on the blocking pool), not reported before. On an RPC error
    /// nothing is committed, so the next poll covers the range again.
    pub async fn poll_chain<S: BlockSource + ?Sized>(
        &mut self,
        source: &S,
    ) -> Result<Vec<Fired>, SourceError> {
        let head = source.head().await?;
        let Some(range) = self.cursor.plan(head) else {
            return Ok(Vec::new());
        };
        let logs = match self.watchers.log_scope() {
            Some(scope) => source.logs(*range.start(), *range.end(), &scope).await?,
            None => Vec::new(),
        };
        let mut fired = self.watchers.on_blocks(range.clone());
        let mut to_eval = Vec::new();
        for log in logs.iter().filter(|l| range.contains(&l.block_number)) {
            for (workflow_id, expression) in self.watchers.on_log(log) {
                match expression {
                    None => fired.push(Fired {
                        workflow_id,
                        reason: log.reason(),
                    }),
                    Some(_) if to_eval.len() >= MAX_EVALS_PER_POLL => {
                        warn!(%workflow_id, reason = %log.reason().key(),
                            "too many expressions to evaluate in one poll; log skipped");
                    }
                    Some(expr) => to_eval.push((workflow_id, expr, log.clone())),
                }
            }
        }
        fired.extend(evaluate(self.sandbox.clone(), to_eval).await);
        let before = self.cursor.skipped();
        self.cursor.commit(&range);
        if self.cursor.skipped() > before {
            warn!(
                skipped = self.cursor.skipped() - before,
                from = *range.start(),
                "chain fell behind by more than one poll's bound; older blocks skipped"
            );
        }
        Ok(self.fresh(fired))
    }

    fn fresh(&mut self, fired: Vec<Fired>) -> Vec<Fired> {
        fired
            .into_iter()
            .filter(|f| self.reported.first_time(f))
            .collect()
    }
}

/// Evaluates each expression against its log on the blocking pool; keeps those that hold.
/// A failing expression (error, timeout, not a boolean) does not fire: the node cannot tell
/// it from `false` either.
async fn evaluate(sandbox: Sandbox, items: Vec<(String, String, LogEvent)>) -> Vec<Fired> {
    if items.is_empty() {
        return Vec::new();
    }
    let work = tokio::task::spawn_blocking(move || {
        items
            .into_iter()
            .filter_map(|(workflow_id, expr, log)| {
                let reason = log.reason();
                let _span =
                    tracing::info_span!("trigger_expression", %workflow_id, reason = %reason.key())
                        .entered();
                match sandbox.eval_bool(&expr, &event_vars(&log)) {
                    Ok(true) => Some(Fired {
                        workflow_id,
                        reason,
                    }),
                    Ok(false) => {
                        debug!("expression false; not fired");
                        None
                    }
                    Err(e) => {
                        warn!(error = %e, "expression failed; not fired");
                        None
                    }
                }
            })
            .collect::<Vec<_>>()
    });
    match work.await {
        Ok(fired) => fired,
        Err(e) => {
            warn!(error = %e, "expression evaluation task failed; its logs do not fire");
            Vec::new()
        }
    }
}

/// The sandbox variables of an event expression: `event` with the log's fields, byte
/// fields as lowercase `0x` hex (not checksummed, so string comparisons are predictable).
pub fn event_vars(log: &LogEvent) -> Map<String, Value> {
    let mut vars = Map::new();
    vars.insert(
        "event".to_owned(),
        json!({
            "address": encode_prefixed(log.address),
            "topics": log.topics.iter().map(encode_prefixed).collect::<Vec<_>>(),
            "data": encode_prefixed(&log.data),
            "block_number": log.block_number,
            "log_index": log.log_index,
            "transaction_hash": encode_prefixed(log.transaction_hash),
        }),
    );
    vars
}
