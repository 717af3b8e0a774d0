//! Workflows, executions and sealed secrets in the node's database (key schema in
//! `docs/node-storage.md`). Every listing is bounded by the retention and quota limits the
//! caller enforces; writes go through [`Store::write`] like every other table.

use quorate_automation::{Execution, ExecutionStatus, Workflow};
use redb::{ReadableTable, TableDefinition};

use super::{Result, Store, META};

/// `workflow_id` → JSON [`Workflow`].
pub(super) const WORKFLOWS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("workflows");
/// `owner ‖ 0 ‖ created_at (u64 BE) ‖ workflow_id` → `()`: an owner's workflows by age.
pub(super) const WORKFLOWS_BY_OWNER: TableDefinition<&[u8], ()> =
    TableDefinition::new("workflows_by_owner");
/// `workflow_id ‖ 0 ‖ execution_id` → JSON [`Execution`].
pub(super) const EXECUTIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("executions");
/// `workflow_id ‖ 0 ‖ seq (u64 BE)` → `execution_id`: a workflow's executions by age.
pub(super) const EXECUTIONS_BY_WORKFLOW: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("executions_by_workflow");
/// `workflow_id ‖ 0 ‖ execution_id` → `()`: executions queued or running, resumed at start.
pub(super) const EXECUTIONS_OPEN: TableDefinition<&[u8], ()> =
    TableDefinition::new("executions_open");
/// `owner ‖ 0 ‖ workflow_id (empty: owner scope) ‖ 0 ‖ name` → JSON [`StoredSecret`].
pub(super) const SECRETS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("secrets");

/// A sealed secret as stored: the ciphertext never leaves the node and opens only under the
/// owner, scope and name it was sealed for.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct StoredSecret {
    /// `SealedSecret::to_bytes`, hex.
    pub sealed: String,
    /// Unix seconds of the last write.
    pub updated_at: u64,
}

/// A secret's address: owner, scope (a workflow id, or `None` for the owner's) and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretKey<'a> {
    /// The owner.
    pub owner: &'a str,
    /// `Some(workflow_id)` for a workflow-scoped secret.
    pub workflow_id: Option<&'a str>,
    /// The name.
    pub name: &'a str,
}

/// One listed secret (never its value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretEntry {
    /// The workflow it is scoped to (`None`: the owner's).
    pub workflow_id: Option<String>,
    /// The name.
    pub name: String,
    /// The record.
    pub updated_at: u64,
    /// The sealed bytes (hex), for opening.
    pub sealed: String,
}

fn join(parts: &[&[u8]]) -> Vec<u8> {
    let mut key = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            key.push(0);
        }
        key.extend_from_slice(part);
    }
    key
}

/// `prefix ‖ 0`, and the first key after every key starting with it.
fn prefix_range(prefix: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut start = prefix.to_vec();
    start.push(0);
    let mut end = prefix.to_vec();
    end.push(1);
    (start, end)
}

/// Where a newest-first page ends: just below the cursor when it lies in `(start, end]`,
/// else at `end` (a cursor from another range never reaches into it).
fn page_end(before: Option<&[u8]>, start: &[u8], end: Vec<u8>) -> Vec<u8> {
    match before {
        Some(cursor) if cursor > start && cursor <= end.as_slice() => cursor.to_vec(),
        _ => end,
    }
}

fn owner_key(workflow: &Workflow) -> Vec<u8> {
    join(&[
        workflow.owner.as_bytes(),
        &workflow.created_at.to_be_bytes(),
        workflow.id.as_bytes(),
    ])
}

fn secret_key(key: &SecretKey<'_>) -> Vec<u8> {
    join(&[
        key.owner.as_bytes(),
        key.workflow_id.unwrap_or("").as_bytes(),
        key.name.as_bytes(),
    ])
}

impl Store {
    /// Stores a new workflow; `false` if its id exists or its owner already has
    /// `max_per_owner` workflows (counted in the same write transaction, so concurrent
    /// creations cannot pass the limit together).
    pub fn create_workflow(&self, workflow: &Workflow, max_per_owner: usize) -> Result<bool> {
        self.write(|| {
            let tx = self.db.begin_write()?;
            {
                let mut workflows = tx.open_table(WORKFLOWS)?;
                if workflows.get(workflow.id.as_bytes())?.is_some() {
                    return Ok(false);
                }
                let (start, end) = prefix_range(workflow.owner.as_bytes());
                let owned = tx
                    .open_table(WORKFLOWS_BY_OWNER)?
                    .range(start.as_slice()..end.as_slice())?
                    .count();
                if owned >= max_per_owner {
                    return Ok(false);
                }
                workflows.insert(
                    workflow.id.as_bytes(),
                    serde_json::to_vec(workflow)?.as_slice(),
                )?;
                tx.open_table(WORKFLOWS_BY_OWNER)?
                    .insert(owner_key(workflow).as_slice(), ())?;
            }
            tx.commit()?;
            Ok(true)
        })
    }

    /// One workflow.
    pub fn workflow(&self, id: &str) -> Result<Option<Workflow>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(WORKFLOWS)?;
        let got = table.get(id.as_bytes())?;
        Ok(got.map(|v| serde_json::from_slice(v.value())).transpose()?)
    }

    /// Applies `change` to a stored workflow; returns the new record, `None` if absent or
    /// `change` declined.
    pub fn update_workflow(
        &self,
        id: &str,
        change: impl FnOnce(&mut Workflow) -> bool,
    ) -> Result<Option<Workflow>> {
        self.write(|| {
            let tx = self.db.begin_write()?;
            let updated = {
                let mut table = tx.open_table(WORKFLOWS)?;
                let current: Option<Workflow> = table
                    .get(id.as_bytes())?
                    .map(|v| serde_json::from_slice(v.value()))
                    .transpose()?;
                let Some(mut workflow) = current else {
                    return Ok(None);
                };
                if !change(&mut workflow) {
                    return Ok(None);
                }
                table.insert(id.as_bytes(), serde_json::to_vec(&workflow)?.as_slice())?;
                workflow
            };
            tx.commit()?;
            Ok(Some(updated))
        })
    }

    /// Every workflow (for loading live triggers at start); bounded by the per-owner quota
    /// times the number of owners.
    pub fn all_workflows(&self) -> Result<Vec<Workflow>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(WORKFLOWS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (_, v) = entry?;
            out.push(serde_json::from_slice(v.value())?);
        }
        Ok(out)
    }

    /// An owner's workflows, newest first, starting below `before` (an opaque cursor: the
    /// last key returned), at most `limit`. Returns the page and the next cursor.
    pub fn workflows_of(
        &self,
        owner: &str,
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<(Vec<Workflow>, Option<Vec<u8>>)> {
        let tx = self.db.begin_read()?;
        let index = tx.open_table(WORKFLOWS_BY_OWNER)?;
        let workflows = tx.open_table(WORKFLOWS)?;
        let (start, end) = prefix_range(owner.as_bytes());
        let upper = page_end(before, &start, end);
        let mut out = Vec::new();
        let mut last = None;
        for entry in index.range(start.as_slice()..upper.as_slice())?.rev() {
            let (key, _) = entry?;
            let key = key.value();
            // The id follows `owner ‖ 0 ‖ created_at (8) ‖ 0`.
            let id = &key[(owner.len() + 10).min(key.len())..];
            if let Some(v) = workflows.get(id)? {
                out.push(serde_json::from_slice(v.value())?);
                last = Some(key.to_vec());
            }
            if out.len() >= limit {
                return Ok((out, last));
            }
        }
        Ok((out, None))
    }

    /// How many workflows `owner` has.
    pub fn workflow_count(&self, owner: &str) -> Result<u64> {
        let tx = self.db.begin_read()?;
        let index = tx.open_table(WORKFLOWS_BY_OWNER)?;
        let (start, end) = prefix_range(owner.as_bytes());
        let mut count = 0;
        for entry in index.range(start.as_slice()..end.as_slice())? {
            entry?;
            count += 1;
        }
        Ok(count)
    }

    /// Deletes a workflow with its executions and its workflow-scoped secrets.
    pub fn delete_workflow(&self, workflow: &Workflow) -> Result<bool> {
        self.write(|| {
            let tx = self.db.begin_write()?;
            let removed = {
                let removed = tx
                    .open_table(WORKFLOWS)?
                    .remove(workflow.id.as_bytes())?
                    .is_some();
                tx.open_table(WORKFLOWS_BY_OWNER)?
                    .remove(owner_key(workflow).as_slice())?;
                let (start, end) = prefix_range(workflow.id.as_bytes());
                for table in [EXECUTIONS, EXECUTIONS_BY_WORKFLOW] {
                    tx.open_table(table)?
                        .retain_in(start.as_slice()..end.as_slice(), |_, _| false)?;
                }
                tx.open_table(EXECUTIONS_OPEN)?
                    .retain_in(start.as_slice()..end.as_slice(), |_, ()| false)?;
                let scope = join(&[workflow.owner.as_bytes(), workflow.id.as_bytes()]);
                let (start, end) = prefix_range(&scope);
                tx.open_table(SECRETS)?
                    .retain_in(start.as_slice()..end.as_slice(), |_, _| false)?;
                removed
            };
            tx.commit()?;
            Ok(removed)
        })
    }

    /// Stores a new execution (queued), unless one with its id exists (`false`): a proven
    /// trigger reason starts at most one execution. Beyond `retain` executions of the
    /// workflow, the oldest finished ones are deleted.
    pub fn create_execution(&self, execution: &Execution, retain: usize) -> Result<bool> {
        self.write(|| {
            let tx = self.db.begin_write()?;
            {
                let key = join(&[execution.workflow_id.as_bytes(), execution.id.as_bytes()]);
                let mut executions = tx.open_table(EXECUTIONS)?;
                if executions.get(key.as_slice())?.is_some() {
                    return Ok(false);
                }
                executions.insert(key.as_slice(), serde_json::to_vec(execution)?.as_slice())?;
                let mut meta = tx.open_table(META)?;
                let seq = meta.get("next_execution_seq")?.map_or(1, |v| v.value());
                meta.insert("next_execution_seq", seq + 1)?;
                let mut by_workflow = tx.open_table(EXECUTIONS_BY_WORKFLOW)?;
                let index_key = join(&[execution.workflow_id.as_bytes(), &seq.to_be_bytes()]);
                by_workflow.insert(index_key.as_slice(), execution.id.as_bytes())?;
                if execution.status != ExecutionStatus::Finished {
                    tx.open_table(EXECUTIONS_OPEN)?.insert(key.as_slice(), ())?;
                }
                prune_executions(
                    &mut by_workflow,
                    &mut executions,
                    &execution.workflow_id,
                    retain,
                )?;
            }
            tx.commit()?;
            Ok(true)
        })
    }

    /// Replaces a stored execution (keeping the open index in step).
    pub fn put_execution(&self, execution: &Execution) -> Result<()> {
        self.write(|| {
            let tx = self.db.begin_write()?;
            {
                let key = join(&[execution.workflow_id.as_bytes(), execution.id.as_bytes()]);
                tx.open_table(EXECUTIONS)?
                    .insert(key.as_slice(), serde_json::to_vec(execution)?.as_slice())?;
                let mut open = tx.open_table(EXECUTIONS_OPEN)?;
                match execution.status {
                    ExecutionStatus::Finished => open.remove(key.as_slice())?,
                    _ => open.insert(key.as_slice(), ())?,
                };
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// One execution.
    pub fn execution(&self, workflow_id: &str, execution_id: &str) -> Result<Option<Execution>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(EXECUTIONS)?;
        let got = table.get(join(&[workflow_id.as_bytes(), execution_id.as_bytes()]).as_slice())?;
        Ok(got.map(|v| serde_json::from_slice(v.value())).transpose()?)
    }

    /// Executions queued or running (resumed at start).
    pub fn open_executions(&self) -> Result<Vec<Execution>> {
        let tx = self.db.begin_read()?;
        let open = tx.open_table(EXECUTIONS_OPEN)?;
        let executions = tx.open_table(EXECUTIONS)?;
        let mut out = Vec::new();
        for entry in open.iter()? {
            let (key, _) = entry?;
            if let Some(v) = executions.get(key.value())? {
                out.push(serde_json::from_slice(v.value())?);
            }
        }
        Ok(out)
    }

    /// A workflow's executions, newest first, below the cursor, at most `limit`.
    pub fn executions_of(
        &self,
        workflow_id: &str,
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<(Vec<Execution>, Option<Vec<u8>>)> {
        let tx = self.db.begin_read()?;
        let index = tx.open_table(EXECUTIONS_BY_WORKFLOW)?;
        let executions = tx.open_table(EXECUTIONS)?;
        let (start, end) = prefix_range(workflow_id.as_bytes());
        let upper = page_end(before, &start, end);
        let mut out = Vec::new();
        for entry in index.range(start.as_slice()..upper.as_slice())?.rev() {
            let (key, id) = entry?;
            let record_key = join(&[workflow_id.as_bytes(), id.value()]);
            if let Some(v) = executions.get(record_key.as_slice())? {
                out.push(serde_json::from_slice(v.value())?);
            }
            if out.len() >= limit {
                return Ok((out, Some(key.value().to_vec())));
            }
        }
        Ok((out, None))
    }

    /// Stores (creates or replaces) a sealed secret; `Ok(false)` when `must_exist` /
    /// `must_be_new` does not hold, or the owner already has `max_per_owner` secrets.
    pub fn put_secret(
        &self,
        key: &SecretKey<'_>,
        secret: &StoredSecret,
        exists: Option<bool>,
        max_per_owner: usize,
    ) -> Result<bool> {
        self.write(|| {
            let tx = self.db.begin_write()?;
            {
                let mut table = tx.open_table(SECRETS)?;
                let k = secret_key(key);
                let present = table.get(k.as_slice())?.is_some();
                if exists.is_some_and(|want| want != present) {
                    return Ok(false);
                }
                if !present {
                    let (start, end) = prefix_range(key.owner.as_bytes());
                    if table.range(start.as_slice()..end.as_slice())?.count() >= max_per_owner {
                        return Ok(false);
                    }
                }
                table.insert(k.as_slice(), serde_json::to_vec(secret)?.as_slice())?;
            }
            tx.commit()?;
            Ok(true)
        })
    }

    /// Deletes a secret; whether it existed.
    pub fn delete_secret(&self, key: &SecretKey<'_>) -> Result<bool> {
        self.write(|| {
            let tx = self.db.begin_write()?;
            let removed = tx
                .open_table(SECRETS)?
                .remove(secret_key(key).as_slice())?
                .is_some();
            tx.commit()?;
            Ok(removed)
        })
    }

    /// An owner's secrets (sealed), every scope.
    pub fn secrets_of(&self, owner: &str) -> Result<Vec<SecretEntry>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(SECRETS)?;
        let (start, end) = prefix_range(owner.as_bytes());
        let mut out = Vec::new();
        for entry in table.range(start.as_slice()..end.as_slice())? {
            let (key, value) = entry?;
            let rest = key.value().get(owner.len() + 1..).unwrap_or_default();
            let mut parts = rest.splitn(2, |b| *b == 0);
            let scope = parts.next().unwrap_or_default();
            let name = parts.next().unwrap_or_default();
            let stored: StoredSecret = serde_json::from_slice(value.value())?;
            out.push(SecretEntry {
                workflow_id: (!scope.is_empty())
                    .then(|| String::from_utf8_lossy(scope).into_owned()),
                name: String::from_utf8_lossy(name).into_owned(),
                updated_at: stored.updated_at,
                sealed: stored.sealed,
            });
        }
        Ok(out)
    }
}

/// Keeps at most `retain` executions of a workflow: deletes the oldest finished ones.
fn prune_executions(
    by_workflow: &mut redb::Table<&[u8], &[u8]>,
    executions: &mut redb::Table<&[u8], &[u8]>,
    workflow_id: &str,
    retain: usize,
) -> Result<()> {
    let (start, end) = prefix_range(workflow_id.as_bytes());
    let total = by_workflow.range(start.as_slice()..end.as_slice())?.count();
    let mut excess = total.saturating_sub(retain.max(1));
    if excess == 0 {
        return Ok(());
    }
    let mut doomed = Vec::new();
    for entry in by_workflow.range(start.as_slice()..end.as_slice())? {
        if excess == 0 {
            break;
        }
        let (index_key, id) = entry?;
        let record_key = join(&[workflow_id.as_bytes(), id.value()]);
        let finished = match executions.get(record_key.as_slice())? {
            Some(v) => {
                serde_json::from_slice::<Execution>(v.value())?.status == ExecutionStatus::Finished
            }
            None => true,
        };
        if finished {
            doomed.push((index_key.value().to_vec(), record_key));
            excess -= 1;
        }
    }
    for (index_key, record_key) in doomed {
        by_workflow.remove(index_key.as_slice())?;
        executions.remove(record_key.as_slice())?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "automation_tests.rs"]
mod tests;
