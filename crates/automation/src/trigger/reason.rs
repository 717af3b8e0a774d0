//! What fired: the value operators sign and tally.

use alloy_primitives::B256;
use serde::{Deserialize, Serialize};

/// The concrete occurrence that fired a trigger.
///
/// Two operators that saw the same occurrence produce equal reasons, so
/// reports can be tallied per [`TriggerReason::key`] and aggregated per
/// [`TriggerReason::signing_bytes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TriggerReason {
    /// A manual run requested at unix time `at`.
    Manual {
        /// Unix seconds of the request.
        at: u64,
    },
    /// A fixed-time trigger reached one of its epochs.
    FixedTime {
        /// The epoch (unix seconds) that fired.
        epoch: u64,
    },
    /// A cron schedule matched.
    Cron {
        /// The scheduled fire time (unix seconds), not the time it was noticed,
        /// so late operators still agree.
        epoch: u64,
    },
    /// A block interval matched.
    Block {
        /// The block number.
        number: u64,
    },
    /// A chain log matched an event trigger.
    Event {
        /// Block containing the log.
        block_number: u64,
        /// Index of the log within its block.
        log_index: u64,
        /// Transaction that emitted it; pins the log across reorgs that keep
        /// the same height.
        transaction_hash: B256,
    },
}

/// Type tags of [`TriggerReason::signing_bytes`]; never renumber them.
mod tag {
    pub(super) const MANUAL: u8 = 0x00;
    pub(super) const FIXED_TIME: u8 = 0x01;
    pub(super) const CRON: u8 = 0x02;
    pub(super) const BLOCK: u8 = 0x03;
    pub(super) const EVENT: u8 = 0x04;
}

impl TriggerReason {
    /// Canonical byte encoding, signed by operators next to the task id.
    ///
    /// Layout: one type-tag byte, then fixed-width big-endian fields.
    ///
    /// | variant    | tag  | fields                                             | len |
    /// |------------|------|----------------------------------------------------|-----|
    /// | Manual     | 0x00 | `at` u64                                           | 9   |
    /// | FixedTime  | 0x01 | `epoch` u64                                        | 9   |
    /// | Cron       | 0x02 | `epoch` u64                                        | 9   |
    /// | Block      | 0x03 | `number` u64                                       | 9   |
    /// | Event      | 0x04 | `block_number` u64, `log_index` u64, tx hash 32 B  | 49  |
    ///
    /// Every field is fixed width and the tag fixes the layout, so the
    /// encoding is injective and prefix-free: distinct reasons never share
    /// bytes, and the bytes may be concatenated after other fixed-width data.
    /// FixedTime and Cron carry the same field but different tags, so a cron
    /// report can never be replayed as a fixed-time one.
    pub fn signing_bytes(&self) -> Vec<u8> {
        match self {
            TriggerReason::Manual { at } => tagged_u64(tag::MANUAL, *at),
            TriggerReason::FixedTime { epoch } => tagged_u64(tag::FIXED_TIME, *epoch),
            TriggerReason::Cron { epoch } => tagged_u64(tag::CRON, *epoch),
            TriggerReason::Block { number } => tagged_u64(tag::BLOCK, *number),
            TriggerReason::Event {
                block_number,
                log_index,
                transaction_hash,
            } => {
                let mut out = Vec::with_capacity(49);
                out.push(tag::EVENT);
                out.extend_from_slice(&block_number.to_be_bytes());
                out.extend_from_slice(&log_index.to_be_bytes());
                out.extend_from_slice(transaction_hash.as_slice());
                out
            }
        }
    }

    /// Stable, human-readable key used to tally reports per reason, e.g.
    /// `cron:1767225600` or `event:19000000:3:0xab…`.
    ///
    /// Distinct reasons give distinct keys (kind prefix + all fields, the
    /// hash as full lowercase hex).
    pub fn key(&self) -> String {
        match self {
            TriggerReason::Manual { at } => format!("manual:{at}"),
            TriggerReason::FixedTime { epoch } => format!("fixed_time:{epoch}"),
            TriggerReason::Cron { epoch } => format!("cron:{epoch}"),
            TriggerReason::Block { number } => format!("block:{number}"),
            TriggerReason::Event {
                block_number,
                log_index,
                transaction_hash,
            } => format!(
                "event:{block_number}:{log_index}:{}",
                alloy_primitives::hex::encode_prefixed(transaction_hash)
            ),
        }
    }
}

fn tagged_u64(tag: u8, value: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(9);
    out.push(tag);
    out.extend_from_slice(&value.to_be_bytes());
    out
}
