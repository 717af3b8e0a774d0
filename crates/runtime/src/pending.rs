//! Signatures that arrive before their task is initialized, held for a bounded time.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use quorate_domain::{SignedTaskResponse, TaskId};
use tokio::time::Instant;

struct PendingTask<Sig> {
    signatures: Vec<(Instant, SignedTaskResponse<Sig>)>,
}

/// What happened when a signature was buffered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BufferOutcome {
    /// Buffered; if the task limit was hit, the oldest task's buffer was evicted.
    Buffered {
        /// The evicted task and how many signatures it lost.
        evicted: Option<(TaskId, usize)>,
    },
    /// The task already holds the maximum number of buffered signatures.
    TaskFull,
}

/// A bounded buffer: at most `max_tasks` tasks (oldest evicted first) and `max_per_task`
/// signatures each.
pub(crate) struct PendingBuffer<Sig> {
    tasks: HashMap<TaskId, PendingTask<Sig>>,
    order: VecDeque<TaskId>,
    max_tasks: usize,
    max_per_task: usize,
    signatures: usize,
}

impl<Sig> PendingBuffer<Sig> {
    /// An empty buffer with the given bounds.
    pub(crate) fn new(max_tasks: usize, max_per_task: usize) -> Self {
        Self {
            tasks: HashMap::new(),
            order: VecDeque::new(),
            max_tasks: max_tasks.max(1),
            max_per_task: max_per_task.max(1),
            signatures: 0,
        }
    }

    /// Buffers a signature received at `now`.
    pub(crate) fn push(&mut self, signed: SignedTaskResponse<Sig>, now: Instant) -> BufferOutcome {
        let task_id = signed.task_id;
        let mut evicted = None;
        if !self.tasks.contains_key(&task_id) {
            if self.tasks.len() >= self.max_tasks {
                if let Some(old) = self.order.pop_front() {
                    let lost = self.tasks.remove(&old).map_or(0, |t| t.signatures.len());
                    self.signatures -= lost;
                    evicted = Some((old, lost));
                }
            }
            self.order.push_back(task_id);
        }
        let entry = self.tasks.entry(task_id).or_insert_with(|| PendingTask {
            signatures: Vec::new(),
        });
        if entry.signatures.len() >= self.max_per_task {
            return BufferOutcome::TaskFull;
        }
        entry.signatures.push((now, signed));
        self.signatures += 1;
        BufferOutcome::Buffered { evicted }
    }

    /// Removes and returns the task's buffered signatures, oldest first.
    pub(crate) fn take(&mut self, task_id: &TaskId) -> Vec<SignedTaskResponse<Sig>> {
        let Some(task) = self.tasks.remove(task_id) else {
            return Vec::new();
        };
        self.order.retain(|t| t != task_id);
        self.signatures -= task.signatures.len();
        task.signatures.into_iter().map(|(_, s)| s).collect()
    }

    /// Drops signatures older than `timeout`; returns how many were dropped.
    pub(crate) fn expire(&mut self, now: Instant, timeout: Duration) -> usize {
        let mut dropped = 0;
        self.tasks.retain(|_, task| {
            let before = task.signatures.len();
            task.signatures
                .retain(|(at, _)| now.saturating_duration_since(*at) < timeout);
            dropped += before - task.signatures.len();
            !task.signatures.is_empty()
        });
        let tasks = &self.tasks;
        self.order.retain(|t| tasks.contains_key(t));
        self.signatures -= dropped;
        dropped
    }

    /// Tasks with buffered signatures.
    pub(crate) fn task_count(&self) -> usize {
        self.tasks.len()
    }

    /// Buffered signatures in all.
    pub(crate) fn signature_count(&self) -> usize {
        self.signatures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quorate_domain::{OperatorId, ResponseDigest};

    fn sig(task: u32, op: u8) -> SignedTaskResponse<u8> {
        SignedTaskResponse {
            task_id: TaskId::from(task),
            digest: ResponseDigest::new([1; 32]),
            signature: op,
            operator_id: OperatorId::new([op; 32]).unwrap(),
        }
    }

    #[test]
    fn bounds_evict_the_oldest_task_and_cap_each_task() {
        let now = Instant::now();
        let mut b = PendingBuffer::new(2, 2);
        assert_eq!(
            b.push(sig(1, 1), now),
            BufferOutcome::Buffered { evicted: None }
        );
        assert_eq!(
            b.push(sig(1, 2), now),
            BufferOutcome::Buffered { evicted: None }
        );
        assert_eq!(b.push(sig(1, 3), now), BufferOutcome::TaskFull);
        b.push(sig(2, 1), now);
        assert_eq!(
            b.push(sig(3, 1), now),
            BufferOutcome::Buffered {
                evicted: Some((TaskId::from(1u32), 2))
            }
        );
        assert_eq!((b.task_count(), b.signature_count()), (2, 2));
        assert_eq!(b.take(&TaskId::from(2u32)).len(), 1);
        assert_eq!((b.task_count(), b.signature_count()), (1, 1));
    }

    #[test]
    fn expiry_drops_only_old_signatures() {
        let t0 = Instant::now();
        let mut b = PendingBuffer::new(10, 10);
        b.push(sig(1, 1), t0);
        b.push(sig(1, 2), t0 + Duration::from_secs(4));
        b.push(sig(2, 1), t0);
        assert_eq!(
            b.expire(t0 + Duration::from_secs(5), Duration::from_secs(5)),
            2
        );
        assert_eq!((b.task_count(), b.signature_count()), (1, 1));
        assert_eq!(b.take(&TaskId::from(1u32))[0].signature, 2);
    }
}
