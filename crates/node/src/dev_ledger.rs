//! `--dev`: the stand-in for the chain's record of answered tasks. The in-memory submitter
//! forgets everything when the process dies, but a real task manager does not; this ledger
//! appends (and fsyncs) every accepted submission to a file next to the database, so a
//! restarted node can ask "is this task already answered?" exactly as it would ask the chain,
//! and tests can count submissions per task across crashes.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use quorate_domain::{
    ResponseSubmitter, SubmissionReceipt, SubmissionRequest, SubmitError, TaskId,
};

/// Wraps a submitter; remembers in `path` (one hex task id per line) what it accepted.
pub struct LedgerSubmitter {
    /// The submitter that checks and accepts aggregates.
    inner: Arc<dyn ResponseSubmitter>,
    /// The ledger file.
    path: PathBuf,
    /// Accepted submissions, as read from the file plus those since.
    accepted: Mutex<Tally>,
}

/// Accepted submissions per task, with the gauges' totals kept up to date as they come (so a
/// submission costs the same however long the ledger is).
#[derive(Debug, Default)]
struct Tally {
    /// Accepted submissions per task.
    per_task: HashMap<TaskId, u32>,
    /// All accepted submissions.
    total: u64,
    /// Tasks accepted more than once.
    duplicates: usize,
}

impl Tally {
    /// Counts one accepted submission for `task_id`.
    fn add(&mut self, task_id: TaskId) {
        let n = self.per_task.entry(task_id).or_default();
        *n += 1;
        if *n == 2 {
            self.duplicates += 1;
        }
        self.total += 1;
    }
}

/// The ledger file of a database at `db`.
pub fn ledger_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".dev-ledger");
    db.with_file_name(name)
}

impl LedgerSubmitter {
    /// Loads the ledger at `path` (missing: empty) over `inner`.
    pub fn open(inner: Arc<dyn ResponseSubmitter>, path: PathBuf) -> std::io::Result<Self> {
        let mut accepted = Tally::default();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                // A torn last line (crash mid-append) is not a submission the node saw
                // acknowledged; skip anything that does not parse.
                for id in text.lines().filter_map(|l| TaskId::from_hex(l.trim()).ok()) {
                    accepted.add(id);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let ledger = Self {
            inner,
            path,
            accepted: Mutex::new(accepted),
        };
        ledger.publish();
        Ok(ledger)
    }

    /// Sets the dev-only gauges: submissions accepted, and tasks answered more than once.
    fn publish(&self) {
        let Ok(accepted) = self.accepted.lock() else {
            return;
        };
        crate::metrics::dev_ledger(accepted.total, accepted.duplicates);
    }

    fn append(&self, task_id: TaskId) -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        writeln!(file, "{task_id}")?;
        file.sync_data()
    }
}

fn receipt(task_id: TaskId) -> SubmissionReceipt {
    SubmissionReceipt {
        task_id,
        tx_hash: None,
        block: None,
        gas_used: None,
    }
}

#[async_trait]
impl ResponseSubmitter for LedgerSubmitter {
    async fn submit(&self, request: &SubmissionRequest) -> Result<SubmissionReceipt, SubmitError> {
        let task_id = request.aggregate.task_id;
        let landed = self.inner.submit(request).await?;
        // Like a mined transaction: on record before the node hears back.
        self.append(task_id)
            .map_err(|e| SubmitError::RpcUnavailable {
                task_id,
                reason: format!("dev ledger: {e}"),
            })?;
        if let Ok(mut accepted) = self.accepted.lock() {
            accepted.add(task_id);
        }
        self.publish();
        Ok(landed)
    }

    async fn already_responded(
        &self,
        request: &SubmissionRequest,
    ) -> Result<Option<SubmissionReceipt>, SubmitError> {
        let task_id = request.aggregate.task_id;
        let known = self
            .accepted
            .lock()
            .map(|a| a.per_task.contains_key(&task_id))
            .unwrap_or(false);
        Ok(known.then(|| receipt(task_id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tally_counts_submissions_and_tasks_answered_twice() {
        let mut tally = Tally::default();
        let (a, b) = (TaskId::from(1u32), TaskId::from(2u32));
        for id in [a, b, a, a] {
            tally.add(id);
        }
        assert_eq!((tally.total, tally.duplicates), (4, 1));
        assert_eq!(tally.per_task.get(&a), Some(&3));
    }
}
