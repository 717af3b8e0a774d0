//! Task intake from the chain: the configured task-created event, read in bounded
//! `eth_getLogs` ranges once its block has the configured confirmations, with the hashes of
//! recent blocks kept so a reorg is noticed and the tasks of removed blocks can be cancelled.
//!
//! [`TaskIntake::step`] advances an [`IntakeCursor`] the caller owns and persists after it has
//! acted on the step's tasks: a crash in between re-reads the same logs, and since a task's id
//! is derived from its log (contract, on-chain id, block hash), creating it again is a no-op.
//! That gives exactly-once creation without a transaction spanning the chain and the store.

use std::sync::Arc;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::B256;
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};
use quorate_domain::TaskId;
use serde::{Deserialize, Serialize};

use crate::avs::{AvsProfile, ChainTask, IntakeSpec};

/// How far the intake has read; stored by the caller between steps and across restarts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntakeCursor {
    /// The next block to read.
    pub next_block: u64,
    /// `(number, hash)` of recently read blocks, ascending; at most `reorg_depth` + 1 of them.
    pub recent_blocks: Vec<(u64, B256)>,
    /// `(block, task)` of tasks created from recent blocks, ascending: cancelled if a reorg
    /// removes their block.
    pub recent_tasks: Vec<(u64, TaskId)>,
}

/// A task found in a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundTask {
    /// The task.
    pub task: ChainTask,
    /// The block of its log.
    pub block: u64,
    /// The log's index in that block.
    pub log_index: u64,
    /// The transaction that emitted it.
    pub tx_hash: B256,
}

/// A log of the task-created event that is not a valid task (skipped, reported).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedLog {
    /// Its block.
    pub block: u64,
    /// Its index in the block.
    pub log_index: u64,
    /// Why it was skipped.
    pub reason: String,
}

/// What one step found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IntakeStep {
    /// Nothing new is confirmed yet.
    Idle,
    /// Blocks up to `to` were read.
    Read {
        /// The last block read.
        to: u64,
        /// Tasks found, in log order.
        tasks: Vec<FoundTask>,
        /// Logs that were not tasks.
        skipped: Vec<SkippedLog>,
        /// Whether `to` is the confirmed head (else more can be read at once).
        caught_up: bool,
    },
    /// A reorg replaced blocks from `from_block` on: they will be read again.
    Reorg {
        /// The first block that changed.
        from_block: u64,
        /// Tasks created from removed blocks (to be cancelled).
        removed: Vec<TaskId>,
    },
}

/// Why a step failed (the cursor is unchanged; the step can be retried).
#[derive(Debug, Clone, thiserror::Error)]
#[error("task intake: {what}: {reason}")]
pub struct IntakeError {
    /// The call that failed.
    pub what: &'static str,
    /// Why.
    pub reason: String,
}

fn rpc(what: &'static str) -> impl FnOnce(alloy::transports::TransportError) -> IntakeError {
    move |e| IntakeError {
        what,
        reason: e.to_string(),
    }
}

/// Follows one AVS's task-created event.
pub struct TaskIntake<P> {
    /// Reads the chain.
    provider: P,
    /// The AVS.
    profile: Arc<AvsProfile>,
    /// Confirmations, ranges, retention.
    config: IntakeSpec,
}

impl<P: Provider> TaskIntake<P> {
    /// An intake over `provider` with `config`.
    pub fn new(provider: P, profile: Arc<AvsProfile>, config: IntakeSpec) -> Self {
        Self {
            provider,
            profile,
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &IntakeSpec {
        &self.config
    }

    /// The highest block with the configured confirmations.
    async fn confirmed_head(&self) -> Result<Option<u64>, IntakeError> {
        let head = self
            .provider
            .get_block_number()
            .await
            .map_err(rpc("eth_blockNumber"))?;
        Ok(head.checked_sub(self.config.confirmations))
    }

    async fn block_hash(&self, number: u64) -> Result<Option<B256>, IntakeError> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map_err(rpc("eth_getBlockByNumber"))?;
        Ok(block.map(|b| b.header.hash))
    }

    /// The cursor of a first start: `start_block`, or the block after the confirmed head.
    pub async fn first_cursor(&self) -> Result<IntakeCursor, IntakeError> {
        let next_block = match self.config.start_block {
            Some(b) => b,
            None => self.confirmed_head().await?.map_or(0, |h| h + 1),
        };
        Ok(IntakeCursor {
            next_block,
            ..IntakeCursor::default()
        })
    }

    /// Where the recorded blocks leave the canonical chain: `None` when the newest recorded
    /// block is still canonical, else the first block to read again.
    async fn fork_point(&self, cursor: &IntakeCursor) -> Result<Option<u64>, IntakeError> {
        let Some(&(newest, hash)) = cursor.recent_blocks.last() else {
            return Ok(None);
        };
        if self.block_hash(newest).await? == Some(hash) {
            return Ok(None);
        }
        // A changed block changes every later one, so walk back to the newest unchanged.
        for &(number, hash) in cursor.recent_blocks.iter().rev().skip(1) {
            if self.block_hash(number).await? == Some(hash) {
                return Ok(Some(number + 1));
            }
        }
        // Deeper than what is kept: everything recorded is re-read.
        Ok(Some(cursor.recent_blocks[0].0))
    }

    /// Logs of the event in `from..=to`, the range halved while an answer holds more than
    /// `max_logs_per_request` logs; returns the logs and the last block they cover.
    async fn logs(&self, from: u64, mut to: u64) -> Result<(Vec<Log>, u64), IntakeError> {
        loop {
            let filter = Filter::new()
                .address(self.profile.task_manager())
                .event_signature(self.profile.event_topic())
                .from_block(from)
                .to_block(to);
            let logs = self
                .provider
                .get_logs(&filter)
                .await
                .map_err(rpc("eth_getLogs"))?;
            if logs.len() <= self.config.max_logs_per_request || to == from {
                return Ok((logs, to));
            }
            to = from + (to - from) / 2;
        }
    }

    /// One step: a reorg check, then the next confirmed range.
    pub async fn step(&self, cursor: &mut IntakeCursor) -> Result<IntakeStep, IntakeError> {
        if let Some(from_block) = self.fork_point(cursor).await? {
            let removed = cursor
                .recent_tasks
                .iter()
                .filter(|(b, _)| *b >= from_block)
                .map(|(_, t)| *t)
                .collect();
            cursor.recent_tasks.retain(|(b, _)| *b < from_block);
            cursor.recent_blocks.retain(|(b, _)| *b < from_block);
            cursor.next_block = cursor.next_block.min(from_block);
            return Ok(IntakeStep::Reorg {
                from_block,
                removed,
            });
        }
        let Some(safe) = self.confirmed_head().await? else {
            return Ok(IntakeStep::Idle);
        };
        if cursor.next_block > safe {
            return Ok(IntakeStep::Idle);
        }
        let span = self.config.max_block_range.max(1) - 1;
        let (logs, to) = self
            .logs(
                cursor.next_block,
                safe.min(cursor.next_block.saturating_add(span)),
            )
            .await?;
        let Some(to_hash) = self.block_hash(to).await? else {
            return Ok(IntakeStep::Idle);
        };
        let (mut tasks, mut skipped) = (Vec::new(), Vec::new());
        for log in logs.into_iter().filter(|l| !l.removed) {
            let (block, log_index) = (
                log.block_number.unwrap_or_default(),
                log.log_index.unwrap_or_default(),
            );
            let block_hash = log.block_hash.unwrap_or_default();
            match self.profile.task_from_log(log.data(), block_hash) {
                Ok(task) => {
                    cursor.recent_blocks.push((block, block_hash));
                    cursor.recent_tasks.push((block, task.task_id));
                    tasks.push(FoundTask {
                        task,
                        block,
                        log_index,
                        tx_hash: log.transaction_hash.unwrap_or_default(),
                    });
                }
                Err(e) => skipped.push(SkippedLog {
                    block,
                    log_index,
                    reason: e.to_string(),
                }),
            }
        }
        cursor.recent_blocks.push((to, to_hash));
        cursor.recent_blocks.sort_unstable();
        cursor.recent_blocks.dedup();
        let keep_from = to.saturating_sub(self.config.reorg_depth);
        cursor.recent_blocks.retain(|(b, _)| *b >= keep_from);
        cursor.recent_tasks.retain(|(b, _)| *b >= keep_from);
        cursor.next_block = to + 1;
        Ok(IntakeStep::Read {
            to,
            tasks,
            skipped,
            caught_up: to >= safe,
        })
    }
}
