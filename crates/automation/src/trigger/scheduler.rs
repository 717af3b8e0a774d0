//! Time scheduler for fixed-time and cron triggers.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use super::{CompiledCron, Trigger, TriggerError, TriggerReason};

/// A compiled time trigger.
#[derive(Debug, Clone)]
enum Schedule {
    /// Sorted, de-duplicated epochs.
    Fixed(Vec<u64>),
    Cron(CompiledCron),
}

impl Schedule {
    fn next_after(&self, after: u64) -> Option<u64> {
        match self {
            Schedule::Fixed(epochs) => {
                let i = epochs.partition_point(|&e| e <= after);
                epochs.get(i).copied()
            }
            Schedule::Cron(c) => c.next_after(after),
        }
    }

    /// Newest `cap` fire times in `[from, to]`, ascending, and whether any were dropped.
    fn fires_between(&self, from: u64, to: u64, cap: usize) -> (Vec<u64>, bool) {
        match self {
            Schedule::Fixed(epochs) => {
                let lo = epochs.partition_point(|&e| e < from);
                let hi = epochs.partition_point(|&e| e <= to);
                let window = epochs.get(lo..hi).unwrap_or(&[]);
                let keep = window.len().min(cap.max(1));
                let start = window.len().saturating_sub(keep);
                (window.get(start..).unwrap_or(&[]).to_vec(), start > 0)
            }
            Schedule::Cron(c) => c.fires_between(from, to, cap),
        }
    }

    fn reason(&self, epoch: u64) -> TriggerReason {
        match self {
            Schedule::Fixed(_) => TriggerReason::FixedTime { epoch },
            Schedule::Cron(_) => TriggerReason::Cron { epoch },
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    schedule: Schedule,
    /// Next pending fire time; always mirrored by `(next, key)` in the queue.
    next: u64,
}

/// Fixed-time and cron triggers keyed by workflow id, ordered by next fire time.
///
/// Each key has exactly one pending fire time, stored both in its entry and
/// in an ordered queue of `(time, key)`; replacing or removing a key removes
/// its queue item, so re-insertion can never yield duplicate fires.
///
/// Fire times are reported once: [`TimeScheduler::due`] returns those in
/// `(last, now]` and moves each key past `now`.
///
/// **Catch-up policy.** After an outage a key may owe many fires (10 000 cron
/// minutes). `due` returns at most `max_catch_up` of them per key per call,
/// the *newest* ones, and drops the older ones for good; each such truncation
/// is counted in [`TimeScheduler::truncated_catch_ups`]. Newest-first is
/// chosen because operators that stayed up reported exactly those recent
/// reasons, so the restarted node still joins their quorums, while stale
/// fires from long ago would be late for everyone anyway.
///
/// A key whose schedule is exhausted (last fixed epoch fired, or a cron
/// schedule past year 5000) is dropped automatically after its last fire.
#[derive(Debug, Clone)]
pub struct TimeScheduler<K> {
    entries: BTreeMap<K, Entry>,
    queue: BTreeSet<(u64, K)>,
    capacity: usize,
    max_catch_up: usize,
    truncated: u64,
}

impl<K: Ord + Clone + Debug> TimeScheduler<K> {
    /// Default per-key catch-up cap of [`TimeScheduler::new`].
    pub const DEFAULT_MAX_CATCH_UP: usize = 16;

    /// A scheduler holding at most `capacity` keys, with the default catch-up cap.
    pub fn new(capacity: usize) -> Self {
        Self::with_max_catch_up(capacity, Self::DEFAULT_MAX_CATCH_UP)
    }

    /// A scheduler with an explicit per-key, per-call catch-up cap (0 is treated as 1).
    pub fn with_max_catch_up(capacity: usize, max_catch_up: usize) -> Self {
        Self {
            entries: BTreeMap::new(),
            queue: BTreeSet::new(),
            capacity,
            max_catch_up: max_catch_up.max(1),
            truncated: 0,
        }
    }

    /// Registers (or replaces) `key`'s trigger, firing at times strictly after `now`.
    ///
    /// Accepts only fixed-time and cron triggers. Fails on an unparseable
    /// cron, an empty epoch list, when full and `key` is new, or when the
    /// trigger has no fire time after `now` ([`TriggerError::Exhausted`],
    /// e.g. all epochs past: the caller may mark the workflow done). On error an existing
    /// registration of `key` is left unchanged.
    pub fn insert(&mut self, key: K, trigger: &Trigger, now: u64) -> Result<(), TriggerError> {
        let schedule = match trigger {
            Trigger::FixedTime(t) => {
                if t.epochs.is_empty() {
                    return Err(TriggerError::EmptyEpochs);
                }
                Schedule::Fixed(t.sorted_epochs())
            }
            Trigger::Cron(t) => Schedule::Cron(t.compile()?),
            other => {
                return Err(TriggerError::WrongKind {
                    watcher: "time scheduler",
                    kind: other.kind(),
                })
            }
        };
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            return Err(TriggerError::CapacityExceeded {
                watcher: "time scheduler",
                capacity: self.capacity,
            });
        }
        let Some(next) = schedule.next_after(now) else {
            return Err(TriggerError::Exhausted { now });
        };
        self.remove(&key);
        self.queue.insert((next, key.clone()));
        self.entries.insert(key, Entry { schedule, next });
        Ok(())
    }

    /// Unregisters `key`; it will not fire again. Returns whether it was present.
    pub fn remove(&mut self, key: &K) -> bool {
        match self.entries.remove(key) {
            Some(entry) => {
                self.queue.remove(&(entry.next, key.clone()));
                true
            }
            None => false,
        }
    }

    /// Every fire time in `(last, now]` of every key, as `(key, reason)`,
    /// ordered by key then time (at most `max_catch_up` per key, newest
    /// kept; see the type's doc). A `now` earlier than a previous call's
    /// (clock moved back) fires nothing and re-fires nothing.
    pub fn due(&mut self, now: u64) -> Vec<(K, TriggerReason)> {
        let mut fired = Vec::new();
        while let Some((next, _)) = self.queue.first() {
            if *next > now {
                break;
            }
            let Some((next, key)) = self.queue.pop_first() else {
                break;
            };
            let Some(entry) = self.entries.get_mut(&key) else {
                continue;
            };
            let (times, truncated) = entry.schedule.fires_between(next, now, self.max_catch_up);
            if truncated {
                self.truncated = self.truncated.saturating_add(1);
            }
            fired.extend(
                times
                    .into_iter()
                    .map(|t| (key.clone(), entry.schedule.reason(t))),
            );
            match entry.schedule.next_after(now) {
                Some(following) => {
                    entry.next = following;
                    self.queue.insert((following, key));
                }
                None => {
                    self.entries.remove(&key);
                }
            }
        }
        fired.sort();
        fired
    }

    /// The earliest pending fire time, so a loop can sleep until then.
    pub fn next_wake(&self) -> Option<u64> {
        self.queue.first().map(|(t, _)| *t)
    }

    /// The pending fire time of `key`.
    pub fn next_fire(&self, key: &K) -> Option<u64> {
        self.entries.get(key).map(|e| e.next)
    }

    /// How many times `due` dropped older fires of a key to honour the catch-up cap.
    pub fn truncated_catch_ups(&self) -> u64 {
        self.truncated
    }

    /// Number of registered keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key is registered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `key` is registered.
    pub fn contains(&self, key: &K) -> bool {
        self.entries.contains_key(key)
    }

    /// Maximum number of keys.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}
