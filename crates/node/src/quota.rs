//! Per-caller quotas: open (non-final) tasks per creator, so one client cannot take every
//! task slot of the aggregator, and `WatchTask` streams per caller.
//!
//! Open tasks are counted by task id per creator: rebuilt from the store at start, a slot is
//! reserved before a task is stored, and released when the task reaches a final status (seen
//! on [`NodeState::subscribe`]) or its creation fails. Ids make releases idempotent.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use quorate_domain::TaskId;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::error::NodeError;
use crate::record::Status;
use crate::state::NodeState;
use crate::store::Store;
use quorate_domain::sync::lock;

/// Open tasks per creator.
pub struct OpenTaskQuota {
    /// Most open tasks per creator; 0: no limit.
    limit: usize,
    open: Mutex<HashMap<String, HashSet<TaskId>>>,
}

/// Page size of the start-up scan.
const SCAN_PAGE: usize = 1000;

impl OpenTaskQuota {
    /// Counts the open tasks in `store`.
    pub fn load(limit: usize, store: &Store) -> Result<Self, NodeError> {
        let mut open: HashMap<String, HashSet<TaskId>> = HashMap::new();
        for status in Status::ALL.into_iter().filter(|s| !s.is_final()) {
            let mut after = 0;
            loop {
                let page = store.tasks_in_status(status, after, SCAN_PAGE, |_| true)?;
                for t in &page {
                    open.entry(t.creator.clone()).or_default().insert(t.task_id);
                }
                match page.last() {
                    Some(last) if page.len() == SCAN_PAGE => after = last.seq,
                    _ => break,
                }
            }
        }
        Ok(Self {
            limit,
            open: Mutex::new(open),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashSet<TaskId>>> {
        lock(&self.open)
    }

    /// Takes a slot for `creator`'s new task, or `RESOURCE_EXHAUSTED` at the limit. True when
    /// the slot is new (false: the task was already counted).
    pub fn reserve(&self, creator: &str, task_id: TaskId) -> Result<bool, NodeError> {
        let mut open = self.lock();
        let tasks = open.entry(creator.to_string()).or_default();
        if self.limit > 0 && tasks.len() >= self.limit && !tasks.contains(&task_id) {
            crate::metrics::open_task_quota_refused();
            return Err(NodeError::ResourceExhausted(format!(
                "{creator} has {} open tasks, the most allowed per client",
                tasks.len()
            )));
        }
        Ok(tasks.insert(task_id))
    }

    /// Gives back `creator`'s slot of `task_id` (final, or never created).
    pub fn release(&self, creator: &str, task_id: &TaskId) {
        let mut open = self.lock();
        if let Some(tasks) = open.get_mut(creator) {
            tasks.remove(task_id);
            if tasks.is_empty() {
                open.remove(creator);
            }
        }
    }

    /// Open tasks of `creator`.
    #[cfg(test)]
    pub fn open_tasks(&self, creator: &str) -> usize {
        self.lock().get(creator).map_or(0, HashSet::len)
    }

    /// Drops every counted task that the store no longer holds open (after missed updates).
    fn resync(&self, store: &Store) {
        let counted: Vec<(String, TaskId)> = self
            .lock()
            .iter()
            .flat_map(|(c, ids)| ids.iter().map(move |id| (c.clone(), *id)))
            .collect();
        for (creator, id) in counted {
            let closed = match store.task(&id) {
                Ok(Some(t)) => t.status.is_final(),
                Ok(None) => true,
                Err(_) => false,
            };
            if closed {
                self.release(&creator, &id);
            }
        }
    }

    /// Releases slots as tasks end, until `stop`.
    pub fn track(self: Arc<Self>, state: NodeState, stop: CancellationToken) {
        let mut updates = state.subscribe();
        tokio::spawn(async move {
            loop {
                let update = tokio::select! {
                    u = updates.recv() => u,
                    () = stop.cancelled() => return,
                };
                match update {
                    Ok(r) if r.status.is_final() => self.release(&r.creator, &r.task_id),
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => {
                        let (quota, state) = (Arc::clone(&self), state.clone());
                        let _ =
                            tokio::task::spawn_blocking(move || quota.resync(&state.store)).await;
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        });
    }
}

/// Open `WatchTask` streams per caller.
pub struct WatcherLimit {
    max: usize,
    counts: Arc<Mutex<HashMap<String, usize>>>,
}

/// One open watch stream; its slot is given back on drop.
pub struct WatchSlot {
    caller: String,
    counts: Arc<Mutex<HashMap<String, usize>>>,
}

impl WatcherLimit {
    /// At most `max` streams per caller (0: no limit).
    pub fn new(max: usize) -> Self {
        Self {
            max,
            counts: Arc::default(),
        }
    }

    /// A slot for one more stream of `caller`, or `RESOURCE_EXHAUSTED`.
    pub fn acquire(&self, caller: &str) -> Result<WatchSlot, NodeError> {
        let mut counts = lock(&self.counts);
        let n = counts.entry(caller.to_string()).or_default();
        if self.max > 0 && *n >= self.max {
            return Err(NodeError::ResourceExhausted(format!(
                "{caller} already watches {n} tasks, the most allowed per caller"
            )));
        }
        *n += 1;
        Ok(WatchSlot {
            caller: caller.to_string(),
            counts: Arc::clone(&self.counts),
        })
    }
}

impl Drop for WatchSlot {
    fn drop(&mut self) {
        let mut counts = lock(&self.counts);
        if let Some(n) = counts.get_mut(&self.caller) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.caller);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_slots_are_bounded_per_caller_and_given_back() {
        let limit = WatcherLimit::new(2);
        let a1 = limit.acquire("a").unwrap();
        let _a2 = limit.acquire("a").unwrap();
        assert!(matches!(
            limit.acquire("a"),
            Err(NodeError::ResourceExhausted(_))
        ));
        let _b = limit.acquire("b").unwrap();
        drop(a1);
        assert!(limit.acquire("a").is_ok());
    }

    #[test]
    fn open_tasks_are_bounded_per_creator_and_released_once() {
        let quota = OpenTaskQuota {
            limit: 2,
            open: Mutex::default(),
        };
        let (t1, t2, t3) = (TaskId::from(1u32), TaskId::from(2u32), TaskId::from(3u32));
        quota.reserve("alice", t1).unwrap();
        quota.reserve("alice", t2).unwrap();
        assert!(matches!(
            quota.reserve("alice", t3),
            Err(NodeError::ResourceExhausted(_))
        ));
        quota.reserve("bob", t3).unwrap();
        quota.release("alice", &t1);
        quota.release("alice", &t1);
        assert_eq!(quota.open_tasks("alice"), 1);
        quota.reserve("alice", t3).unwrap();
        assert_eq!(quota.open_tasks("alice"), 2);
    }
}
