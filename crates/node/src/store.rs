//! Durable node state in an embedded `redb` database. The key schema is documented in
//! `docs/node-storage.md`; every write commits durably before the caller is answered.

use std::path::Path;

use quorate_domain::TaskId;
use redb::{Database, ReadableTable, TableDefinition};

use crate::record::{Status, StoredResponse, TaskRecord};

mod automation;
mod evidence;
mod lifecycle;
mod wallets;
pub use wallets::{SessionRecord, WalletRecord};

pub use automation::{SecretKey, StoredSecret};

/// `task_id (32)` → JSON [`TaskRecord`].
const TASKS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tasks");
/// `seq (u64 BE)` → `task_id (32)`: creation order, the operators' cursor.
const TASK_SEQ: TableDefinition<&[u8], &[u8]> = TableDefinition::new("task_seq");
/// `status (u8) ‖ seq (u64 BE)` → `task_id (32)`: tasks by status.
const BY_STATUS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tasks_by_status");
/// `task_id (32) ‖ operator_id (32)` → JSON [`StoredResponse`].
const RESPONSES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("responses");
/// `task_id (32)` → JSON `AggregatedResponse`.
const AGGREGATES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("aggregates");
/// `task_id (32)` → JSON `SubmissionReceipt`.
const SUBMISSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("submissions");
/// `operator_id (32)` → acknowledged cursor (u64 BE).
const CURSORS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("operator_cursors");
/// `name` → u64 BE (`next_seq`).
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// `finished_at_ms (u64 BE) ‖ seq (u64 BE)` → `task_id (32)`: final tasks by finish time, so
/// the pruner reads only the expired head of the index instead of scanning every task.
const BY_FINISH: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tasks_by_finish");
/// `task_id (32)` → started-at (Unix ms, u64 BE): a submission may have been sent and its
/// receipt not stored yet; a restart asks the submitter before sending again.
const SUBMITTING: TableDefinition<&[u8], &[u8]> = TableDefinition::new("submitting");
/// `avs name` → the task intake's cursor (JSON `IntakeCursor`): the next block to read and
/// the recent blocks' hashes; one row per AVS, rewritten after each step.
const INTAKE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("intake_cursor");

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[error("storage: {0}")]
pub struct StoreError(pub String);

macro_rules! from_err {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError(e.to_string())
            }
        }
    )*};
}
from_err!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    serde_json::Error
);

type Result<T> = std::result::Result<T, StoreError>;

/// The node's database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: std::sync::Arc<Database>,
    /// Set by the first failed write: the node stops and exits non-zero (see [`Store::failed`]).
    failure: std::sync::Arc<FailureLatch>,
}

/// The first storage write failure. A write that failed half-way (disk full, I/O error) leaves
/// redb's in-memory state unknown, so no later write is attempted: the node reports unhealthy
/// and exits so a supervisor restarts it on the last committed state.
#[derive(Default)]
struct FailureLatch {
    /// Why the first failing write failed.
    reason: std::sync::OnceLock<String>,
    /// Cancelled when `reason` is set.
    tripped: tokio_util::sync::CancellationToken,
}

fn status_key(status: Status, seq: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = status.as_byte();
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn response_key(task_id: &TaskId, operator_id: &[u8; 32]) -> [u8; 64] {
    let mut k = [0u8; 64];
    k[..32].copy_from_slice(task_id.as_bytes());
    k[32..].copy_from_slice(operator_id);
    k
}

fn finish_key(finished_at_ms: u64, seq: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&finished_at_ms.to_be_bytes());
    k[8..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// The schema this node writes, in `meta["schema_version"]`. 1: tasks, responses, evidence
/// and intake (databases from before the version was stored); 2: workflows, executions and
/// secrets; 3: smart wallets and session grants.
pub const SCHEMA_VERSION: u64 = 3;

/// Brings an older database up to [`SCHEMA_VERSION`] inside the opening transaction, one step
/// at a time; refuses a database written by a newer node, whose rows this one cannot read.
fn migrate(tx: &redb::WriteTransaction) -> Result<()> {
    let mut meta = tx.open_table(META)?;
    let found = meta.get("schema_version")?.map_or(1, |v| v.value());
    if found > SCHEMA_VERSION {
        return Err(StoreError(format!(
            "the database has schema version {found}, newer than this node's {SCHEMA_VERSION}; \
             run a newer quorate or restore a backup"
        )));
    }
    for from in found..SCHEMA_VERSION {
        // 1 → 2: the automation tables (new, empty). Later steps add their own arm here.
        if from == 1 {
            tx.open_table(automation::WORKFLOWS)?;
            tx.open_table(automation::WORKFLOWS_BY_OWNER)?;
            tx.open_table(automation::EXECUTIONS)?;
            tx.open_table(automation::EXECUTIONS_BY_WORKFLOW)?;
            tx.open_table(automation::EXECUTIONS_OPEN)?;
            tx.open_table(automation::SECRETS)?;
        }
        // 2 → 3: the smart-wallet tables (new, empty).
        if from == 2 {
            tx.open_table(wallets::WALLETS)?;
            tx.open_table(wallets::WALLET_SESSIONS)?;
        }
        tracing::info!(from, to = from + 1, "database schema migrated");
    }
    meta.insert("schema_version", SCHEMA_VERSION)?;
    Ok(())
}

fn decode_task(bytes: &[u8]) -> Result<TaskRecord> {
    Ok(serde_json::from_slice(bytes)?)
}

impl Store {
    /// Opens (or creates) the database file and its tables.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| StoreError(e.to_string()))?;
            }
        }
        let db = Database::create(path)?;
        // Owner-only: tasks, responses and receipts are not for other local users.
        crate::secret::restrict_to_owner(path).map_err(|e| StoreError(e.to_string()))?;
        let tx = db.begin_write()?;
        {
            tx.open_table(TASKS)?;
            tx.open_table(TASK_SEQ)?;
            tx.open_table(BY_STATUS)?;
            tx.open_table(RESPONSES)?;
            tx.open_table(AGGREGATES)?;
            tx.open_table(SUBMISSIONS)?;
            tx.open_table(CURSORS)?;
            tx.open_table(META)?;
            tx.open_table(BY_FINISH)?;
            tx.open_table(SUBMITTING)?;
            tx.open_table(INTAKE)?;
        }
        migrate(&tx)?;
        tx.commit()?;
        Ok(Self {
            db: std::sync::Arc::new(db),
            failure: std::sync::Arc::default(),
        })
    }

    /// Why storage failed, once a write has failed.
    pub fn failure(&self) -> Option<String> {
        self.failure.reason.get().cloned()
    }

    /// Cancelled on the first failed write.
    pub fn failed(&self) -> tokio_util::sync::CancellationToken {
        self.failure.tripped.clone()
    }

    /// A cheap read transaction: whether the database still answers (for `/health`).
    pub fn check_readable(&self) -> Result<()> {
        let tx = self.db.begin_read()?;
        tx.open_table(META)?;
        Ok(())
    }

    /// Runs one write, refusing it once storage has failed and latching its failure.
    fn write<T>(&self, body: impl FnOnce() -> Result<T>) -> Result<T> {
        if let Some(reason) = self.failure.reason.get() {
            return Err(StoreError(format!(
                "refused: an earlier write failed ({reason})"
            )));
        }
        let result = body();
        if let Err(e) = &result {
            if self.failure.reason.set(e.0.clone()).is_ok() {
                tracing::error!(error = %e.0, "storage write failed; the node stops");
                self.failure.tripped.cancel();
            }
        }
        result
    }

    /// Stores a new task, assigning its sequence number. `None` if the id exists.
    pub fn create_task(&self, record: TaskRecord) -> Result<Option<TaskRecord>> {
        self.write(|| self.create_task_tx(record))
    }

    fn create_task_tx(&self, mut record: TaskRecord) -> Result<Option<TaskRecord>> {
        let tx = self.db.begin_write()?;
        {
            let mut tasks = tx.open_table(TASKS)?;
            if tasks.get(record.task_id.as_bytes().as_slice())?.is_some() {
                return Ok(None);
            }
            let mut meta = tx.open_table(META)?;
            let seq = meta.get("next_seq")?.map_or(1, |v| v.value());
            meta.insert("next_seq", seq + 1)?;
            record.seq = seq;
            let id = record.task_id.as_bytes().as_slice();
            tasks.insert(id, serde_json::to_vec(&record)?.as_slice())?;
            tx.open_table(TASK_SEQ)?
                .insert(seq.to_be_bytes().as_slice(), id)?;
            tx.open_table(BY_STATUS)?
                .insert(status_key(record.status, seq).as_slice(), id)?;
        }
        tx.commit()?;
        Ok(Some(record))
    }

    /// Applies `change` to a stored task (keeping the status index in step) and returns the
    /// new record; `None` if the task does not exist or `change` declined (returned false).
    /// A task that becomes final is entered in the finish-time index the pruner reads.
    pub fn update_task(
        &self,
        task_id: &TaskId,
        change: impl FnOnce(&mut TaskRecord) -> bool,
    ) -> Result<Option<TaskRecord>> {
        self.write(|| self.update_task_tx(task_id, change))
    }

    fn update_task_tx(
        &self,
        task_id: &TaskId,
        change: impl FnOnce(&mut TaskRecord) -> bool,
    ) -> Result<Option<TaskRecord>> {
        let tx = self.db.begin_write()?;
        let updated = {
            let mut tasks = tx.open_table(TASKS)?;
            let id = task_id.as_bytes().as_slice();
            let Some(mut record) = tasks.get(id)?.map(|v| decode_task(v.value())).transpose()?
            else {
                return Ok(None);
            };
            let before = record.status;
            if !change(&mut record) {
                return Ok(None);
            }
            record.updated_at_ms = crate::record::now_ms();
            tasks.insert(id, serde_json::to_vec(&record)?.as_slice())?;
            if before != record.status {
                let mut by_status = tx.open_table(BY_STATUS)?;
                by_status.remove(status_key(before, record.seq).as_slice())?;
                by_status.insert(status_key(record.status, record.seq).as_slice(), id)?;
                if record.status.is_final() && !before.is_final() {
                    tx.open_table(BY_FINISH)?
                        .insert(finish_key(record.updated_at_ms, record.seq).as_slice(), id)?;
                }
            }
            record
        };
        tx.commit()?;
        Ok(Some(updated))
    }

    /// One task.
    pub fn task(&self, task_id: &TaskId) -> Result<Option<TaskRecord>> {
        let tx = self.db.begin_read()?;
        let tasks = tx.open_table(TASKS)?;
        let got = tasks.get(task_id.as_bytes().as_slice())?;
        got.map(|v| decode_task(v.value())).transpose()
    }

    /// Tasks in creation order with `seq > after`, filtered, at most `limit`.
    pub fn tasks_after(
        &self,
        after: u64,
        limit: usize,
        filter: impl Fn(&TaskRecord) -> bool,
    ) -> Result<Vec<TaskRecord>> {
        let tx = self.db.begin_read()?;
        let seqs = tx.open_table(TASK_SEQ)?;
        let tasks = tx.open_table(TASKS)?;
        let start = after.saturating_add(1).to_be_bytes();
        let mut out = Vec::new();
        for entry in seqs.range(start.as_slice()..)? {
            let (_, id) = entry?;
            if let Some(v) = tasks.get(id.value())? {
                let record = decode_task(v.value())?;
                if filter(&record) {
                    out.push(record);
                    if out.len() >= limit {
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Tasks in one status with `seq > after`, in creation order, at most `limit`.
    pub fn tasks_in_status(
        &self,
        status: Status,
        after: u64,
        limit: usize,
        filter: impl Fn(&TaskRecord) -> bool,
    ) -> Result<Vec<TaskRecord>> {
        let tx = self.db.begin_read()?;
        let by_status = tx.open_table(BY_STATUS)?;
        let tasks = tx.open_table(TASKS)?;
        let start = status_key(status, after.saturating_add(1));
        let end = status_key(status, u64::MAX);
        let mut out = Vec::new();
        for entry in by_status.range(start.as_slice()..=end.as_slice())? {
            let (_, id) = entry?;
            if let Some(v) = tasks.get(id.value())? {
                let record = decode_task(v.value())?;
                if filter(&record) {
                    out.push(record);
                    if out.len() >= limit {
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Stores a signed response and bumps the task's count, durably. `Ok(false)`: this
    /// operator's response for the task was already stored.
    pub fn put_response(&self, task_id: &TaskId, response: &StoredResponse) -> Result<bool> {
        self.write(|| self.put_response_tx(task_id, response))
    }

    fn put_response_tx(&self, task_id: &TaskId, response: &StoredResponse) -> Result<bool> {
        let tx = self.db.begin_write()?;
        {
            let mut responses = tx.open_table(RESPONSES)?;
            let key = response_key(task_id, &response.operator_id);
            if responses.get(key.as_slice())?.is_some() {
                return Ok(false);
            }
            responses.insert(key.as_slice(), serde_json::to_vec(response)?.as_slice())?;
            let mut tasks = tx.open_table(TASKS)?;
            let id = task_id.as_bytes().as_slice();
            let record = tasks.get(id)?.map(|v| decode_task(v.value())).transpose()?;
            if let Some(mut record) = record {
                record.signatures = record.signatures.saturating_add(1);
                tasks.insert(id, serde_json::to_vec(&record)?.as_slice())?;
            }
        }
        tx.commit()?;
        Ok(true)
    }

    /// Removes a response the aggregator refused.
    pub fn delete_response(&self, task_id: &TaskId, operator_id: &[u8; 32]) -> Result<()> {
        self.write(|| self.delete_response_tx(task_id, operator_id))
    }

    fn delete_response_tx(&self, task_id: &TaskId, operator_id: &[u8; 32]) -> Result<()> {
        let tx = self.db.begin_write()?;
        {
            let mut responses = tx.open_table(RESPONSES)?;
            let removed = responses
                .remove(response_key(task_id, operator_id).as_slice())?
                .is_some();
            if removed {
                let mut tasks = tx.open_table(TASKS)?;
                let id = task_id.as_bytes().as_slice();
                let record = tasks.get(id)?.map(|v| decode_task(v.value())).transpose()?;
                if let Some(mut record) = record {
                    record.signatures = record.signatures.saturating_sub(1);
                    tasks.insert(id, serde_json::to_vec(&record)?.as_slice())?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Every stored response of a task.
    pub fn responses(&self, task_id: &TaskId) -> Result<Vec<StoredResponse>> {
        let tx = self.db.begin_read()?;
        let responses = tx.open_table(RESPONSES)?;
        let start = response_key(task_id, &[0u8; 32]);
        let end = response_key(task_id, &[0xffu8; 32]);
        let mut out = Vec::new();
        for entry in responses.range(start.as_slice()..=end.as_slice())? {
            let (_, v) = entry?;
            out.push(serde_json::from_slice(v.value())?);
        }
        Ok(out)
    }

    fn put_json(
        &self,
        table: TableDefinition<&[u8], &[u8]>,
        key: &[u8],
        json: &[u8],
    ) -> Result<()> {
        self.write(|| {
            let tx = self.db.begin_write()?;
            tx.open_table(table)?.insert(key, json)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn get_json(
        &self,
        table: TableDefinition<&[u8], &[u8]>,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(table)?;
        let got = t.get(key)?.map(|v| v.value().to_vec());
        Ok(got)
    }

    /// Stores a task's aggregate (JSON).
    pub fn put_aggregate(&self, task_id: &TaskId, json: &[u8]) -> Result<()> {
        self.put_json(AGGREGATES, task_id.as_bytes(), json)
    }

    /// A task's aggregate (JSON).
    pub fn aggregate(&self, task_id: &TaskId) -> Result<Option<Vec<u8>>> {
        self.get_json(AGGREGATES, task_id.as_bytes())
    }

    /// Stores the task intake's cursor (JSON) for the AVS `name`.
    pub fn put_intake_cursor(&self, name: &str, json: &[u8]) -> Result<()> {
        self.put_json(INTAKE, name.as_bytes(), json)
    }

    /// The task intake's stored cursor (JSON) for the AVS `name`.
    pub fn intake_cursor(&self, name: &str) -> Result<Option<Vec<u8>>> {
        self.get_json(INTAKE, name.as_bytes())
    }

    /// A task's submission receipt (JSON).
    pub fn submission(&self, task_id: &TaskId) -> Result<Option<Vec<u8>>> {
        self.get_json(SUBMISSIONS, task_id.as_bytes())
    }

    /// Records an operator's acknowledged cursor (never moves it backwards).
    pub fn set_cursor(&self, operator_id: &[u8; 32], cursor: u64) -> Result<u64> {
        self.write(|| self.set_cursor_tx(operator_id, cursor))
    }

    fn set_cursor_tx(&self, operator_id: &[u8; 32], cursor: u64) -> Result<u64> {
        let tx = self.db.begin_write()?;
        let stored = {
            let mut t = tx.open_table(CURSORS)?;
            let old = t
                .get(operator_id.as_slice())?
                .map_or(0, |v| be_u64(v.value()));
            let new = old.max(cursor);
            t.insert(operator_id.as_slice(), new.to_be_bytes().as_slice())?;
            new
        };
        tx.commit()?;
        Ok(stored)
    }

    /// The highest task sequence number issued (0 before the first task): acks never pass it.
    pub fn last_seq(&self) -> Result<u64> {
        let tx = self.db.begin_read()?;
        let meta = tx.open_table(META)?;
        let next = meta.get("next_seq")?.map_or(1, |v| v.value());
        Ok(next.saturating_sub(1))
    }

    /// An operator's acknowledged cursor (0 if none).
    pub fn cursor(&self, operator_id: &[u8; 32]) -> Result<u64> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(CURSORS)?;
        let got = t
            .get(operator_id.as_slice())?
            .map_or(0, |v| be_u64(v.value()));
        Ok(got)
    }
}

fn be_u64(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    if bytes.len() == 8 {
        b.copy_from_slice(bytes);
    }
    u64::from_be_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pending task of `alice` (shared with the lifecycle tests).
    pub(super) fn record(i: u64) -> TaskRecord {
        TaskRecord {
            task_id: TaskId::from(i),
            seq: 0,
            status: Status::Pending,
            creator: "alice".into(),
            reference_block: 1,
            quorums: vec![(0, 67)],
            expiry_ms: 1000,
            window_ms: 0,
            payload: vec![1],
            created_at_ms: 1,
            updated_at_ms: 1,
            error: None,
            signatures: 0,
            trigger: None,
        }
    }

    #[test]
    fn tasks_responses_and_cursors_survive_reopen() {
        let dir = std::env::temp_dir().join(format!("quorate-store-{}", std::process::id()));
        let path = dir.join("t.redb");
        let _ = std::fs::remove_file(&path);
        {
            let s = Store::open(&path).unwrap();
            assert_eq!(s.create_task(record(1)).unwrap().unwrap().seq, 1);
            assert_eq!(s.create_task(record(2)).unwrap().unwrap().seq, 2);
            assert!(s.create_task(record(1)).unwrap().is_none());
            s.update_task(&TaskId::from(2u64), |r| {
                r.status = Status::Collecting;
                true
            })
            .unwrap();
            let resp = StoredResponse {
                operator_id: [7; 32],
                digest: [8; 32],
                signature: "00".into(),
                response: "01".into(),
            };
            assert!(s.put_response(&TaskId::from(2u64), &resp).unwrap());
            assert!(!s.put_response(&TaskId::from(2u64), &resp).unwrap());
            assert_eq!(s.set_cursor(&[7; 32], 5).unwrap(), 5);
            assert_eq!(s.set_cursor(&[7; 32], 3).unwrap(), 5);
        }
        let s = Store::open(&path).unwrap();
        let pending = s.tasks_in_status(Status::Pending, 0, 10, |_| true).unwrap();
        assert_eq!(pending.len(), 1);
        let collecting = s
            .tasks_in_status(Status::Collecting, 0, 10, |_| true)
            .unwrap();
        assert_eq!(collecting[0].signatures, 1);
        assert_eq!(s.responses(&TaskId::from(2u64)).unwrap().len(), 1);
        assert_eq!(s.tasks_after(1, 10, |_| true).unwrap().len(), 1);
        assert_eq!(s.cursor(&[7; 32]).unwrap(), 5);
        let _ = std::fs::remove_dir_all(dir);
    }
}
