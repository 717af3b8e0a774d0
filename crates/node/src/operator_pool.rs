//! The operator pool: which operators this node has seen, when each last made an
//! authenticated call (its heartbeat), whether it follows the live triggers and how many, and
//! how many triggers it reported. Bounded: beyond `capacity` operators the longest-silent one
//! is forgotten.

use std::collections::HashMap;
use std::sync::Mutex;

use quorate_domain::OperatorId;

use crate::record::now_ms;

/// One operator's entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolEntry {
    /// First authenticated call seen (Unix ms).
    pub first_seen_ms: u64,
    /// Last authenticated call (Unix ms).
    pub last_seen_ms: u64,
    /// `SyncTriggers` streams open now.
    pub trigger_streams: u32,
    /// Triggers sent on its open streams and not withdrawn.
    pub triggers_watched: u32,
    /// Trigger reports received.
    pub trigger_reports: u64,
}

/// Operators by id.
pub struct OperatorPool {
    /// The entries.
    entries: Mutex<HashMap<OperatorId, PoolEntry>>,
    /// Most operators kept.
    capacity: usize,
}

impl OperatorPool {
    /// An empty pool of at most `capacity` operators.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::default(),
            capacity: capacity.max(1),
        }
    }

    fn update(&self, operator_id: &OperatorId, change: impl FnOnce(&mut PoolEntry)) {
        let now = now_ms();
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !entries.contains_key(operator_id) && entries.len() >= self.capacity {
            // Only authenticated operators get here, so the set is bounded by the registry;
            // the cap keeps memory fixed even so.
            let stalest = entries
                .iter()
                .filter(|(_, e)| e.trigger_streams == 0)
                .min_by_key(|(_, e)| e.last_seen_ms)
                .map(|(id, _)| *id);
            match stalest {
                Some(id) => {
                    entries.remove(&id);
                }
                None => return,
            }
        }
        let entry = entries.entry(*operator_id).or_insert_with(|| PoolEntry {
            first_seen_ms: now,
            ..PoolEntry::default()
        });
        entry.last_seen_ms = now;
        change(entry);
    }

    /// An authenticated call from `operator_id`.
    pub fn seen(&self, operator_id: &OperatorId) {
        self.update(operator_id, |_| {});
    }

    /// A trigger stream opened (`delta` 1) or closed (-1).
    pub fn trigger_stream(&self, operator_id: &OperatorId, opened: bool) {
        self.update(operator_id, |e| {
            e.trigger_streams = match opened {
                true => e.trigger_streams.saturating_add(1),
                false => e.trigger_streams.saturating_sub(1),
            };
            if e.trigger_streams == 0 {
                e.triggers_watched = 0;
            }
        });
    }

    /// A trigger was sent to the operator (`added`) or withdrawn.
    pub fn watching(&self, operator_id: &OperatorId, added: bool) {
        self.update(operator_id, |e| {
            e.triggers_watched = match added {
                true => e.triggers_watched.saturating_add(1),
                false => e.triggers_watched.saturating_sub(1),
            };
        });
    }

    /// A trigger report arrived.
    pub fn reported(&self, operator_id: &OperatorId) {
        self.update(operator_id, |e| {
            e.trigger_reports = e.trigger_reports.saturating_add(1)
        });
    }

    /// Every entry, most recently seen first.
    pub fn snapshot(&self) -> Vec<(OperatorId, PoolEntry)> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut all: Vec<_> = entries.iter().map(|(id, e)| (*id, e.clone())).collect();
        all.sort_by_key(|(_, e)| std::cmp::Reverse(e.last_seen_ms));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> OperatorId {
        let mut bytes = [0u8; 32];
        bytes[24..].copy_from_slice(&n.to_be_bytes());
        OperatorId::new(bytes).unwrap()
    }

    #[test]
    fn tracks_streams_triggers_and_reports_within_its_capacity() {
        let pool = OperatorPool::new(2);
        pool.trigger_stream(&id(1), true);
        pool.watching(&id(1), true);
        pool.watching(&id(1), true);
        pool.watching(&id(1), false);
        pool.reported(&id(1));
        pool.seen(&id(2));
        let one = pool
            .snapshot()
            .into_iter()
            .find(|(i, _)| *i == id(1))
            .unwrap()
            .1;
        assert_eq!(
            (
                one.trigger_streams,
                one.triggers_watched,
                one.trigger_reports
            ),
            (1, 1, 1)
        );
        // Full: the silent operator without a stream makes room, the streaming one stays.
        pool.seen(&id(3));
        let ids: Vec<OperatorId> = pool.snapshot().into_iter().map(|(i, _)| i).collect();
        assert!(
            ids.contains(&id(1)) && ids.contains(&id(3)) && !ids.contains(&id(2)),
            "{ids:?}"
        );
        pool.trigger_stream(&id(1), false);
        let one = pool
            .snapshot()
            .into_iter()
            .find(|(i, _)| *i == id(1))
            .unwrap()
            .1;
        assert_eq!((one.trigger_streams, one.triggers_watched), (0, 0));
    }
}
