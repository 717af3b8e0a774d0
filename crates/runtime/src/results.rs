//! Finished task results kept for late waiters, bounded with FIFO eviction.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use quorate_domain::{AggregatedResponse, AggregationError, TaskId};

/// A task's final answer.
pub(crate) type TaskResult = Result<Arc<AggregatedResponse>, AggregationError>;

/// At most `capacity` results; inserting beyond it evicts the oldest.
pub(crate) struct ResultStore {
    results: HashMap<TaskId, TaskResult>,
    order: VecDeque<TaskId>,
    capacity: usize,
}

impl ResultStore {
    /// An empty store.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            results: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Stores a result; returns the evicted task, if any.
    pub(crate) fn insert(&mut self, task_id: TaskId, result: TaskResult) -> Option<TaskId> {
        if self.results.insert(task_id, result).is_some() {
            return None;
        }
        self.order.push_back(task_id);
        if self.order.len() > self.capacity {
            let old = self.order.pop_front()?;
            self.results.remove(&old);
            return Some(old);
        }
        None
    }

    /// The stored result.
    pub(crate) fn get(&self, task_id: &TaskId) -> Option<&TaskResult> {
        self.results.get(task_id)
    }

    /// Whether a result is stored.
    pub(crate) fn contains(&self, task_id: &TaskId) -> bool {
        self.results.contains_key(task_id)
    }

    /// Number of stored results.
    pub(crate) fn len(&self) -> usize {
        self.results.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_oldest_first() {
        let mut s = ResultStore::new(2);
        let id = |i: u32| TaskId::from(i);
        let err = |i: u32| Err(AggregationError::TaskExpired { task_id: id(i) });
        assert_eq!(s.insert(id(1), err(1)), None);
        assert_eq!(s.insert(id(2), err(2)), None);
        assert_eq!(s.insert(id(3), err(3)), Some(id(1)));
        assert!(!s.contains(&id(1)) && s.contains(&id(2)) && s.contains(&id(3)));
        assert_eq!(s.len(), 2);
    }
}
