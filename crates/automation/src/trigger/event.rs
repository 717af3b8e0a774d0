//! Event triggers: log matchers, and the indexed watcher that applies them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Debug;

use alloy_primitives::{Address, Bytes, B256};
use serde::{Deserialize, Serialize};

use super::{TriggerError, TriggerLimits};

/// One log filter: an optional emitting address and positional topics.
///
/// `None` (JSON `null`, or an omitted `address`) is a wildcard. Topics are
/// compared by position (topic0 = event signature, topic1…): a matcher with
/// fewer topics than the log ignores the log's extra topics; a matcher with
/// more topics than the log does not match it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventMatcher {
    /// Emitting contract, or `None` for any.
    #[serde(default)]
    pub address: Option<Address>,
    /// Positional topic filters, `None` for any value at that position.
    #[serde(default)]
    pub topics: Vec<Option<B256>>,
}

impl EventMatcher {
    /// Whether `log` passes this matcher.
    pub fn matches(&self, log: &LogEvent) -> bool {
        if self.address.is_some_and(|a| a != log.address) {
            return false;
        }
        if self.topics.len() > log.topics.len() {
            return false;
        }
        self.topics
            .iter()
            .zip(&log.topics)
            .all(|(want, got)| want.as_ref().is_none_or(|w| w == got))
    }

    /// Whether the matcher constrains nothing at all (refused by validation).
    pub fn is_all_wildcard(&self) -> bool {
        self.address.is_none() && self.topics.iter().all(Option::is_none)
    }
}

/// Fires for every log matched by any of its matchers.
///
/// `expression`, if present, is a further filter evaluated by the caller (the
/// JS sandbox) on logs this trigger matched; it is only carried here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventTrigger {
    /// The matchers, OR-ed.
    pub matchers: Vec<EventMatcher>,
    /// Optional sandboxed filter expression, evaluated outside this module.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
}

impl EventTrigger {
    /// Checks matcher/topic counts, expression size, and refuses all-wildcard
    /// matchers (see [`TriggerError::WildcardMatcher`]).
    ///
    /// The all-wildcard rule holds even with an expression: the expression
    /// runs only after matching, so the operator would still have to pull and
    /// evaluate every log on chain. A matcher needs an address or at least one
    /// concrete topic.
    pub fn validate(&self, limits: &TriggerLimits) -> Result<(), TriggerError> {
        if self.matchers.is_empty() {
            return Err(TriggerError::EmptyMatchers);
        }
        if self.matchers.len() > limits.max_matchers {
            return Err(TriggerError::TooManyMatchers {
                count: self.matchers.len(),
                max: limits.max_matchers,
            });
        }
        for (index, m) in self.matchers.iter().enumerate() {
            if m.topics.len() > limits.max_topics {
                return Err(TriggerError::TooManyTopics {
                    index,
                    count: m.topics.len(),
                    max: limits.max_topics,
                });
            }
            if m.is_all_wildcard() {
                return Err(TriggerError::WildcardMatcher { index });
            }
        }
        if let Some(expr) = &self.expression {
            if expr.len() > limits.max_expression_bytes {
                return Err(TriggerError::ExpressionTooLong {
                    len: expr.len(),
                    max: limits.max_expression_bytes,
                });
            }
            if expr.trim().is_empty() {
                return Err(TriggerError::EmptyExpression);
            }
        }
        Ok(())
    }

    /// Whether any matcher matches `log` (the expression is not evaluated).
    pub fn matches(&self, log: &LogEvent) -> bool {
        self.matchers.iter().any(|m| m.matches(log))
    }
}

/// A chain log as delivered by the chain adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEvent {
    /// Emitting contract.
    pub address: Address,
    /// Indexed topics, topic0 first.
    pub topics: Vec<B256>,
    /// Non-indexed data.
    pub data: Bytes,
    /// Block containing the log.
    pub block_number: u64,
    /// Index of the log within its block.
    pub log_index: u64,
    /// Transaction that emitted the log.
    pub transaction_hash: B256,
}

impl LogEvent {
    /// The [`super::TriggerReason`] reported when this log fires a trigger.
    pub fn reason(&self) -> super::TriggerReason {
        super::TriggerReason::Event {
            block_number: self.block_number,
            log_index: self.log_index,
            transaction_hash: self.transaction_hash,
        }
    }
}

/// Where a matcher is filed: by its most selective concrete field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IndexSlot {
    Address(Address),
    Topic0(B256),
    /// No address and no topic0 (only later topics): checked on every log.
    Scan,
}

fn slot_of(m: &EventMatcher) -> IndexSlot {
    match (m.address, m.topics.first().copied().flatten()) {
        (Some(a), _) => IndexSlot::Address(a),
        (None, Some(t)) => IndexSlot::Topic0(t),
        (None, None) => IndexSlot::Scan,
    }
}

/// Event triggers keyed by workflow, indexed by matcher address (or topic0
/// when a matcher has no address), so a log only costs the triggers that can
/// plausibly match it.
#[derive(Debug, Clone)]
pub struct EventWatcher<K> {
    triggers: BTreeMap<K, EventTrigger>,
    by_address: HashMap<Address, BTreeSet<K>>,
    by_topic0: HashMap<B256, BTreeSet<K>>,
    scan: BTreeSet<K>,
    capacity: usize,
}

impl<K: Ord + Clone + Debug> EventWatcher<K> {
    /// An empty watcher holding at most `capacity` triggers.
    pub fn new(capacity: usize) -> Self {
        Self {
            triggers: BTreeMap::new(),
            by_address: HashMap::new(),
            by_topic0: HashMap::new(),
            scan: BTreeSet::new(),
            capacity,
        }
    }

    /// Registers (or replaces) the trigger for `key`.
    ///
    /// Fails when full and `key` is new, on no matchers, and on an
    /// all-wildcard matcher (it would make this watcher match every log).
    /// Size limits are [`EventTrigger::validate`]'s job.
    pub fn insert(&mut self, key: K, trigger: EventTrigger) -> Result<(), TriggerError> {
        if trigger.matchers.is_empty() {
            return Err(TriggerError::EmptyMatchers);
        }
        if let Some(index) = trigger
            .matchers
            .iter()
            .position(EventMatcher::is_all_wildcard)
        {
            return Err(TriggerError::WildcardMatcher { index });
        }
        if !self.triggers.contains_key(&key) && self.triggers.len() >= self.capacity {
            return Err(TriggerError::CapacityExceeded {
                watcher: "event watcher",
                capacity: self.capacity,
            });
        }
        self.remove(&key);
        for m in &trigger.matchers {
            match slot_of(m) {
                IndexSlot::Address(a) => self.by_address.entry(a).or_default().insert(key.clone()),
                IndexSlot::Topic0(t) => self.by_topic0.entry(t).or_default().insert(key.clone()),
                IndexSlot::Scan => self.scan.insert(key.clone()),
            };
        }
        self.triggers.insert(key, trigger);
        Ok(())
    }

    /// Unregisters `key`; returns whether it was present.
    pub fn remove(&mut self, key: &K) -> bool {
        let Some(trigger) = self.triggers.remove(key) else {
            return false;
        };
        for m in &trigger.matchers {
            match slot_of(m) {
                IndexSlot::Address(a) => remove_from(&mut self.by_address, &a, key),
                IndexSlot::Topic0(t) => remove_from(&mut self.by_topic0, &t, key),
                IndexSlot::Scan => {
                    self.scan.remove(key);
                }
            }
        }
        true
    }

    /// Keys whose trigger matches `log`, sorted and without duplicates.
    /// Expressions are not evaluated: the caller runs them on these keys.
    pub fn on_log(&self, log: &LogEvent) -> Vec<K> {
        let mut candidates: BTreeSet<&K> = self.scan.iter().collect();
        if let Some(keys) = self.by_address.get(&log.address) {
            candidates.extend(keys);
        }
        if let Some(keys) = log.topics.first().and_then(|t| self.by_topic0.get(t)) {
            candidates.extend(keys);
        }
        candidates
            .into_iter()
            .filter(|k| self.triggers.get(*k).is_some_and(|t| t.matches(log)))
            .cloned()
            .collect()
    }

    /// The registered trigger for `key` (e.g. to fetch its expression).
    pub fn get(&self, key: &K) -> Option<&EventTrigger> {
        self.triggers.get(key)
    }

    /// Number of registered triggers.
    pub fn len(&self) -> usize {
        self.triggers.len()
    }

    /// Whether no trigger is registered.
    pub fn is_empty(&self) -> bool {
        self.triggers.is_empty()
    }
}

fn remove_from<I: std::hash::Hash + Eq, K: Ord>(
    index: &mut HashMap<I, BTreeSet<K>>,
    slot: &I,
    key: &K,
) {
    if let Some(keys) = index.get_mut(slot) {
        keys.remove(key);
        if keys.is_empty() {
            index.remove(slot);
        }
    }
}
