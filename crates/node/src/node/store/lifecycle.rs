//! The end of a task's storage life: the submission marker that makes a resend after a crash
//! safe, the receipt that clears it, and pruning of finished tasks after their retention.

use quorate_domain::TaskId;
use redb::ReadableTable;

use super::{
    be_u64, decode_task, finish_key, status_key, Result, Store, StoreError, AGGREGATES, BY_FINISH,
    BY_STATUS, RESPONSES, SUBMISSIONS, SUBMITTING, TASKS, TASK_SEQ,
};

impl Store {
    /// Records, durably, that `task_id`'s aggregate is about to be sent. Written before the
    /// submitter is called, so a restart knows a transaction may already be out.
    pub fn mark_submitting(&self, task_id: &TaskId, now_ms: u64) -> Result<()> {
        self.write(|| {
            let tx = self.db.begin_write()?;
            tx.open_table(SUBMITTING)?.insert(
                task_id.as_bytes().as_slice(),
                now_ms.to_be_bytes().as_slice(),
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    /// When the last submission of `task_id` was started, if its receipt was never stored.
    pub fn submitting_since(&self, task_id: &TaskId) -> Result<Option<u64>> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(SUBMITTING)?;
        let got = t
            .get(task_id.as_bytes().as_slice())?
            .map(|v| be_u64(v.value()));
        Ok(got)
    }

    /// Stores a task's submission receipt (JSON) and clears its submission marker, in one
    /// transaction.
    pub fn put_submission(&self, task_id: &TaskId, json: &[u8]) -> Result<()> {
        self.write(|| {
            let tx = self.db.begin_write()?;
            let id = task_id.as_bytes().as_slice();
            tx.open_table(SUBMISSIONS)?.insert(id, json)?;
            tx.open_table(SUBMITTING)?.remove(id)?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Deletes up to `batch` tasks that became final before `cutoff_ms`, with every row they
    /// own (responses, aggregate, submission, marker, indexes), in one transaction. Reads only
    /// the head of the finish-time index. Returns how many tasks were deleted.
    pub fn prune_finished(&self, cutoff_ms: u64, batch: usize) -> Result<usize> {
        self.write(|| {
            let tx = self.db.begin_write()?;
            let deleted = {
                let mut by_finish = tx.open_table(BY_FINISH)?;
                let end = finish_key(cutoff_ms, 0);
                let mut due: Vec<(Vec<u8>, [u8; 32])> = Vec::new();
                for entry in by_finish.range(..end.as_slice())?.take(batch) {
                    let (k, id) = entry?;
                    let id: [u8; 32] = id.value().try_into().map_err(|_| {
                        StoreError("tasks_by_finish holds a task id that is not 32 bytes".into())
                    })?;
                    due.push((k.value().to_vec(), id));
                }
                let mut tasks = tx.open_table(TASKS)?;
                let mut seqs = tx.open_table(TASK_SEQ)?;
                let mut by_status = tx.open_table(BY_STATUS)?;
                let mut responses = tx.open_table(RESPONSES)?;
                let mut aggregates = tx.open_table(AGGREGATES)?;
                let mut submissions = tx.open_table(SUBMISSIONS)?;
                let mut submitting = tx.open_table(SUBMITTING)?;
                for (key, id) in &due {
                    by_finish.remove(key.as_slice())?;
                    let record = tasks
                        .remove(id.as_slice())?
                        .map(|v| decode_task(v.value()))
                        .transpose()?;
                    if let Some(record) = record {
                        seqs.remove(record.seq.to_be_bytes().as_slice())?;
                        by_status.remove(status_key(record.status, record.seq).as_slice())?;
                    }
                    let (mut start, mut end) = ([0u8; 64], [0xffu8; 64]);
                    start[..32].copy_from_slice(id);
                    end[..32].copy_from_slice(id);
                    let keys: Vec<Vec<u8>> = responses
                        .range(start.as_slice()..=end.as_slice())?
                        .map(|e| e.map(|(k, _)| k.value().to_vec()))
                        .collect::<std::result::Result<_, _>>()?;
                    for k in keys {
                        responses.remove(k.as_slice())?;
                    }
                    aggregates.remove(id.as_slice())?;
                    submissions.remove(id.as_slice())?;
                    submitting.remove(id.as_slice())?;
                }
                due.len()
            };
            tx.commit()?;
            Ok(deleted)
        })
    }
}
