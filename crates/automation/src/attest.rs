//! What operators sign when a trigger fires, and the node's check that a reported reason fits
//! the workflow's trigger before any signature work.

use alloy_primitives::{keccak256, B256};

use crate::trigger::{Trigger, TriggerReason};

/// Domain tag of trigger claims, so a claim can never be mistaken for a task response.
pub const CLAIM_DOMAIN: &[u8] = b"quorate-trigger-v1";

/// The bytes operators sign (as `keccak256(claim)`, like task responses):
/// `"quorate-trigger-v1" ‖ u32 BE length of workflow_id ‖ workflow_id ‖ reason's signing bytes`.
pub fn trigger_claim(workflow_id: &str, reason: &TriggerReason) -> Vec<u8> {
    let id = workflow_id.as_bytes();
    let mut claim = Vec::with_capacity(CLAIM_DOMAIN.len() + 4 + id.len() + 49);
    claim.extend_from_slice(CLAIM_DOMAIN);
    // Workflow ids are at most a few dozen bytes; saturating keeps the encoding total.
    claim.extend_from_slice(&u32::try_from(id.len()).unwrap_or(u32::MAX).to_be_bytes());
    claim.extend_from_slice(id);
    claim.extend_from_slice(&reason.signing_bytes());
    claim
}

/// The digest operators sign: `keccak256(trigger_claim(..))`.
pub fn claim_digest(workflow_id: &str, reason: &TriggerReason) -> B256 {
    keccak256(trigger_claim(workflow_id, reason))
}

/// The id of the execution a proven reason starts: the claim digest, so one reason can start
/// at most one execution, across restarts.
pub fn attested_execution_id(workflow_id: &str, reason: &TriggerReason) -> String {
    claim_digest(workflow_id, reason).to_string()
}

/// Why a reported reason does not fit the workflow's trigger.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReasonError {
    /// The reason's type is not the trigger's (or the trigger is manual).
    #[error("a {reason} reason does not fit a {trigger} trigger")]
    WrongType {
        /// The reason's type.
        reason: &'static str,
        /// The trigger's type.
        trigger: &'static str,
    },
    /// The time is not one of the trigger's fire times.
    #[error("{epoch} is not a fire time of this trigger")]
    NotAFireTime {
        /// As reported.
        epoch: u64,
    },
    /// The block number is not a multiple of the interval.
    #[error("block {number} is not a multiple of {interval}")]
    NotAnIntervalBlock {
        /// As reported.
        number: u64,
        /// The trigger's interval.
        interval: u64,
    },
    /// The fire time is in the future or older than the node accepts.
    #[error("fire time {epoch} is outside [{oldest}, {newest}]")]
    OutOfWindow {
        /// As reported.
        epoch: u64,
        /// Oldest accepted.
        oldest: u64,
        /// Newest accepted (now plus the allowed clock skew).
        newest: u64,
    },
}

/// How far reported fire times may be from the node's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReasonWindow {
    /// Oldest accepted fire time, in seconds before now: bounds replays of old reasons.
    pub max_age_secs: u64,
    /// Newest accepted fire time, in seconds after now: operators' clocks differ.
    pub max_skew_secs: u64,
}

/// Checks that `reason` is something `trigger` could have fired at `now` (unix seconds).
/// Events and blocks are not checked against the chain here: the operators' quorum is what
/// proves them.
pub fn check_reason(
    trigger: &Trigger,
    reason: &TriggerReason,
    now: u64,
    window: ReasonWindow,
) -> Result<(), ReasonError> {
    let in_window = |epoch: u64| {
        let oldest = now.saturating_sub(window.max_age_secs);
        let newest = now.saturating_add(window.max_skew_secs);
        match (oldest..=newest).contains(&epoch) {
            true => Ok(()),
            false => Err(ReasonError::OutOfWindow {
                epoch,
                oldest,
                newest,
            }),
        }
    };
    match (trigger, reason) {
        (Trigger::FixedTime(fixed), TriggerReason::FixedTime { epoch }) => {
            in_window(*epoch)?;
            match fixed.epochs.contains(epoch) {
                true => Ok(()),
                false => Err(ReasonError::NotAFireTime { epoch: *epoch }),
            }
        }
        (Trigger::Cron(cron), TriggerReason::Cron { epoch }) => {
            in_window(*epoch)?;
            // A fire time is the first one after the second before it.
            match cron.next_after(epoch.saturating_sub(1)) == Some(*epoch) {
                true => Ok(()),
                false => Err(ReasonError::NotAFireTime { epoch: *epoch }),
            }
        }
        (Trigger::Block(block), TriggerReason::Block { number }) => match block.fires_at(*number) {
            true => Ok(()),
            false => Err(ReasonError::NotAnIntervalBlock {
                number: *number,
                interval: block.interval,
            }),
        },
        (Trigger::Event(_), TriggerReason::Event { .. }) => Ok(()),
        _ => Err(ReasonError::WrongType {
            reason: reason_type(reason),
            trigger: trigger.kind(),
        }),
    }
}

fn reason_type(reason: &TriggerReason) -> &'static str {
    match reason {
        TriggerReason::Manual { .. } => "manual",
        TriggerReason::FixedTime { .. } => "fixed_time",
        TriggerReason::Cron { .. } => "cron",
        TriggerReason::Block { .. } => "block",
        TriggerReason::Event { .. } => "event",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trigger::{BlockTrigger, CronTrigger, FixedTimeTrigger};

    const WINDOW: ReasonWindow = ReasonWindow {
        max_age_secs: 3600,
        max_skew_secs: 30,
    };

    #[test]
    fn claims_separate_workflows_and_reasons() {
        let block = TriggerReason::Block { number: 10 };
        assert_ne!(trigger_claim("a", &block), trigger_claim("b", &block));
        assert_ne!(
            trigger_claim("a", &block),
            trigger_claim("a", &TriggerReason::Block { number: 11 })
        );
        // The length prefix keeps ("ab", x) and ("a", "b"‖x) apart.
        assert!(trigger_claim("ab", &block).starts_with(b"quorate-trigger-v1\x00\x00\x00\x02ab"));
    }

    #[test]
    fn reasons_must_fit_their_trigger() {
        let now = 1_800_000_000;
        let block = Trigger::Block(BlockTrigger { interval: 5 });
        assert_eq!(
            check_reason(&block, &TriggerReason::Block { number: 10 }, now, WINDOW),
            Ok(())
        );
        assert!(check_reason(&block, &TriggerReason::Block { number: 11 }, now, WINDOW).is_err());
        assert!(matches!(
            check_reason(&block, &TriggerReason::Cron { epoch: now }, now, WINDOW),
            Err(ReasonError::WrongType { .. })
        ));
        let fixed = Trigger::FixedTime(FixedTimeTrigger {
            epochs: vec![now - 10, now + 1000],
        });
        assert_eq!(
            check_reason(
                &fixed,
                &TriggerReason::FixedTime { epoch: now - 10 },
                now,
                WINDOW
            ),
            Ok(())
        );
        assert!(matches!(
            check_reason(
                &fixed,
                &TriggerReason::FixedTime { epoch: now + 1000 },
                now,
                WINDOW
            ),
            Err(ReasonError::OutOfWindow { .. })
        ));
        assert!(check_reason(
            &fixed,
            &TriggerReason::FixedTime { epoch: now - 9 },
            now,
            WINDOW
        )
        .is_err());
        let cron = Trigger::Cron(CronTrigger {
            schedules: vec!["*/5 * * * *".into()],
        });
        let on_the_minute = now - now % 300;
        assert_eq!(
            check_reason(
                &cron,
                &TriggerReason::Cron {
                    epoch: on_the_minute
                },
                now,
                WINDOW
            ),
            Ok(())
        );
        assert!(check_reason(
            &cron,
            &TriggerReason::Cron {
                epoch: on_the_minute + 60
            },
            now,
            WINDOW
        )
        .is_err());
        assert!(check_reason(
            &cron,
            &TriggerReason::Cron {
                epoch: on_the_minute - 7200
            },
            now,
            WINDOW
        )
        .is_err());
        let manual = Trigger::Manual {};
        assert!(check_reason(&manual, &TriggerReason::Manual { at: now }, now, WINDOW).is_err());
    }
}
