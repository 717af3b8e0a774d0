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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Status, StoredResponse};
    use crate::store::tests::record;

    fn finish(s: &Store, i: u64) {
        s.update_task(&TaskId::from(i), |r| {
            r.status = Status::Submitted;
            true
        })
        .unwrap();
    }

    #[test]
    fn prunes_only_final_tasks_past_the_cutoff_in_batches_with_their_rows() {
        let dir = std::env::temp_dir().join(format!("quorate-prune-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = Store::open(&dir.join("p.redb")).unwrap();
        for i in 1..=5 {
            s.create_task(record(i)).unwrap();
            let resp = StoredResponse {
                operator_id: [i as u8; 32],
                digest: [8; 32],
                signature: "00".into(),
                response: "01".into(),
            };
            s.put_response(&TaskId::from(i), &resp).unwrap();
        }
        for i in 1..=3 {
            finish(&s, i);
            s.put_aggregate(&TaskId::from(i), b"{}").unwrap();
            s.mark_submitting(&TaskId::from(i), 5).unwrap();
            s.put_submission(&TaskId::from(i), b"{}").unwrap();
        }
        assert_eq!(s.submitting_since(&TaskId::from(1u64)).unwrap(), None);
        // Finished before the cutoff: tasks 1-3; 4 and 5 are open.
        let cutoff = crate::record::now_ms() + 1;
        assert_eq!(
            s.prune_finished(0, 10).unwrap(),
            0,
            "nothing finished before 0"
        );
        assert_eq!(s.prune_finished(cutoff, 2).unwrap(), 2, "one batch");
        assert_eq!(s.prune_finished(cutoff, 2).unwrap(), 1);
        assert_eq!(s.prune_finished(cutoff, 2).unwrap(), 0);
        for i in 1..=3u64 {
            let id = TaskId::from(i);
            assert!(s.task(&id).unwrap().is_none());
            assert!(s.responses(&id).unwrap().is_empty());
            assert!(s.aggregate(&id).unwrap().is_none());
            assert!(s.submission(&id).unwrap().is_none());
        }
        for i in 4..=5u64 {
            assert!(s.task(&TaskId::from(i)).unwrap().is_some());
            assert_eq!(s.responses(&TaskId::from(i)).unwrap().len(), 1);
        }
        assert!(s
            .tasks_in_status(Status::Submitted, 0, 10, |_| true)
            .unwrap()
            .is_empty());
        assert_eq!(s.tasks_after(0, 10, |_| true).unwrap().len(), 2);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_submission_marker_stays_until_the_receipt_is_stored() {
        let dir = std::env::temp_dir().join(format!("quorate-mark-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("m.redb");
        {
            let s = Store::open(&path).unwrap();
            s.mark_submitting(&TaskId::from(9u64), 77).unwrap();
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(s.submitting_since(&TaskId::from(9u64)).unwrap(), Some(77));
        s.put_submission(&TaskId::from(9u64), b"{}").unwrap();
        assert_eq!(s.submitting_since(&TaskId::from(9u64)).unwrap(), None);
        let _ = std::fs::remove_dir_all(dir);
    }
}
