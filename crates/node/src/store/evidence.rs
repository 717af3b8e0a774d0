//! Stored equivocation evidence: a bounded log, oldest deleted first.

use redb::{ReadableTable, ReadableTableMetadata, TableDefinition, TableError};

use super::{Result, Store, META};

/// `seq (u64 BE)` → JSON `EquivocationRecord` (see `crate::equivocation`), in arrival order.
const EQUIVOCATIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("equivocations");

impl Store {
    /// Appends one evidence record (JSON) and deletes the oldest while more than `max` are
    /// kept; returns the record's sequence number (from 1).
    pub fn put_equivocation(&self, json: &[u8], max: u64) -> Result<u64> {
        self.write(|| {
            let tx = self.db.begin_write()?;
            let seq = {
                let mut meta = tx.open_table(META)?;
                let seq = meta.get("next_equivocation_seq")?.map_or(1, |v| v.value());
                meta.insert("next_equivocation_seq", seq + 1)?;
                let mut log = tx.open_table(EQUIVOCATIONS)?;
                log.insert(seq.to_be_bytes().as_slice(), json)?;
                while log.len()? > max.max(1) {
                    if log.pop_first()?.is_none() {
                        break;
                    }
                }
                seq
            };
            tx.commit()?;
            Ok(seq)
        })
    }

    /// Up to `limit` records with `seq > after`, oldest first, as `(seq, JSON)`.
    pub fn equivocations_after(&self, after: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>> {
        let tx = self.db.begin_read()?;
        let log = match tx.open_table(EQUIVOCATIONS) {
            Ok(log) => log,
            // Never written: no evidence yet.
            Err(TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let start = after.saturating_add(1).to_be_bytes();
        let mut out = Vec::new();
        for entry in log.range(start.as_slice()..)?.take(limit) {
            let (k, v) = entry?;
            out.push((super::be_u64(k.value()), v.value().to_vec()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_the_newest_records_and_pages_in_order() {
        let dir = std::env::temp_dir().join(format!("quorate-evidence-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = Store::open(&dir.join("e.redb")).unwrap();
        assert!(s.equivocations_after(0, 10).unwrap().is_empty(), "none yet");
        for i in 1..=5u8 {
            assert_eq!(s.put_equivocation(&[i], 3).unwrap(), u64::from(i));
        }
        let all = s.equivocations_after(0, 10).unwrap();
        let seqs: Vec<u64> = all.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(seqs, vec![3, 4, 5], "the two oldest were deleted");
        assert_eq!(all[0].1, vec![3]);
        let page = s.equivocations_after(3, 1).unwrap();
        assert_eq!(page, vec![(4, vec![4])]);
        let _ = std::fs::remove_dir_all(dir);
    }
}
