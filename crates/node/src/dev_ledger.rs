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
    /// Accepted submissions per task, as read from the file plus those since.
    accepted: Mutex<HashMap<TaskId, u32>>,
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
        let mut accepted: HashMap<TaskId, u32> = HashMap::new();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                // A torn last line (crash mid-append) is not a submission the node saw
                // acknowledged; skip anything that does not parse.
                for id in text.lines().filter_map(|l| TaskId::from_hex(l.trim()).ok()) {
                    *accepted.entry(id).or_default() += 1;
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
        let total: u64 = accepted.values().map(|n| u64::from(*n)).sum();
        let duplicates = accepted.values().filter(|n| **n > 1).count();
        crate::metrics::dev_ledger(total, duplicates);
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
            *accepted.entry(task_id).or_default() += 1;
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
            .map(|a| a.contains_key(&task_id))
            .unwrap_or(false);
        Ok(known.then(|| receipt(task_id)))
    }
}
