//! Block triggers and the watcher that evaluates them per new block.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use serde::{Deserialize, Serialize};

use super::{TriggerError, TriggerReason};

/// Fires at every block whose number is a multiple of `interval` (block 0 included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockTrigger {
    /// Block spacing, at least 1 (1 = every block).
    pub interval: u64,
}

impl BlockTrigger {
    /// Refuses an interval of 0, which has no multiples to fire at.
    pub fn validate(&self) -> Result<(), TriggerError> {
        if self.interval == 0 {
            return Err(TriggerError::ZeroInterval);
        }
        Ok(())
    }

    /// Whether the trigger fires at block `number`; never for interval 0.
    pub fn fires_at(&self, number: u64) -> bool {
        number.checked_rem(self.interval) == Some(0)
    }
}

/// Block triggers keyed by workflow, grouped by interval so that a new block
/// costs O(distinct intervals + fired keys) rather than O(triggers).
///
/// Stateless per block: feed each new block once. A block replayed after a
/// reorg yields the same reasons again, which tallies by
/// [`TriggerReason::key`] absorb.
#[derive(Debug, Clone)]
pub struct BlockWatcher<K> {
    intervals: BTreeMap<K, u64>,
    by_interval: BTreeMap<u64, BTreeSet<K>>,
    capacity: usize,
}

impl<K: Ord + Clone + Debug> BlockWatcher<K> {
    /// An empty watcher holding at most `capacity` triggers.
    pub fn new(capacity: usize) -> Self {
        Self {
            intervals: BTreeMap::new(),
            by_interval: BTreeMap::new(),
            capacity,
        }
    }

    /// Registers (or replaces) the trigger for `key`.
    ///
    /// Fails on interval 0, or when full and `key` is new.
    pub fn insert(&mut self, key: K, trigger: BlockTrigger) -> Result<(), TriggerError> {
        trigger.validate()?;
        if !self.intervals.contains_key(&key) && self.intervals.len() >= self.capacity {
            return Err(TriggerError::CapacityExceeded {
                watcher: "block watcher",
                capacity: self.capacity,
            });
        }
        self.remove(&key);
        self.by_interval
            .entry(trigger.interval)
            .or_default()
            .insert(key.clone());
        self.intervals.insert(key, trigger.interval);
        Ok(())
    }

    /// Unregisters `key`; returns whether it was present.
    pub fn remove(&mut self, key: &K) -> bool {
        let Some(interval) = self.intervals.remove(key) else {
            return false;
        };
        if let Some(keys) = self.by_interval.get_mut(&interval) {
            keys.remove(key);
            if keys.is_empty() {
                self.by_interval.remove(&interval);
            }
        }
        true
    }

    /// Every key whose trigger fires at block `number`, sorted by key.
    pub fn on_block(&self, number: u64) -> Vec<(K, TriggerReason)> {
        let mut fired: Vec<K> = self
            .by_interval
            .iter()
            .filter(|(interval, _)| number.checked_rem(**interval) == Some(0))
            .flat_map(|(_, keys)| keys.iter().cloned())
            .collect();
        fired.sort();
        fired
            .into_iter()
            .map(|k| (k, TriggerReason::Block { number }))
            .collect()
    }

    /// Number of registered triggers.
    pub fn len(&self) -> usize {
        self.intervals.len()
    }

    /// Whether no trigger is registered.
    pub fn is_empty(&self) -> bool {
        self.intervals.is_empty()
    }

    /// Whether `key` is registered.
    pub fn contains(&self, key: &K) -> bool {
        self.intervals.contains_key(key)
    }
}
