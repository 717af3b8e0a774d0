//! Workflow triggers: what makes a task run, and the machinery that notices it.
//!
//! Every workflow task has exactly one [`Trigger`]. Operators watch wall-clock
//! time ([`TimeScheduler`]), new blocks ([`BlockWatcher`]) and chain logs
//! ([`EventWatcher`]) and report a fired trigger as a [`TriggerReason`], whose
//! [`TriggerReason::signing_bytes`] they BLS-sign together with the task id.
//!
//! Users write workflows as JSON, so every definition type is snake_case and
//! refuses unknown fields: a typo must fail loudly rather than silently
//! produce a trigger that never fires.

mod block;
mod clock;
mod cron;
mod error;
mod event;
mod fixed;
mod reason;
mod scheduler;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_prop;
#[cfg(test)]
mod tests_sched;

pub use block::{BlockTrigger, BlockWatcher};
pub use clock::{Clock, ManualClock, SystemClock};
pub use cron::{CompiledCron, CronTrigger};
pub use error::{TriggerError, TriggerLimits};
pub use event::{EventMatcher, EventTrigger, EventWatcher, LogEvent};
pub use fixed::FixedTimeTrigger;
pub use reason::TriggerReason;
pub use scheduler::TimeScheduler;

use serde::{Deserialize, Serialize};

/// The single trigger of a workflow task.
///
/// JSON form is internally tagged by `"type"`, e.g.
/// `{"type": "cron", "schedules": ["*/15 * * * *"]}` or `{"type": "manual"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// Fired only on explicit request (API call or CLI), never by a watcher.
    ///
    /// An empty struct variant rather than a unit variant because serde
    /// ignores extra fields on internally tagged unit variants, and
    /// `{"type": "manual", "at": 5}` must be refused like any other typo.
    Manual {},
    /// Fires once at each listed unix time.
    FixedTime(FixedTimeTrigger),
    /// Fires at every time matched by any of the cron schedules (UTC).
    Cron(CronTrigger),
    /// Fires at every block whose number is a multiple of the interval.
    Block(BlockTrigger),
    /// Fires for every chain log matched by any of the matchers.
    Event(EventTrigger),
}

impl Trigger {
    /// Checks the trigger against `limits`, returning the first problem found.
    ///
    /// Run this when a workflow is submitted: watchers re-check only what
    /// they need to stay safe (e.g. capacity, parseable cron), not the
    /// size limits, so an unvalidated trigger may cost more than intended.
    pub fn validate(&self, limits: &TriggerLimits) -> Result<(), TriggerError> {
        match self {
            Trigger::Manual {} => Ok(()),
            Trigger::FixedTime(t) => t.validate(limits),
            Trigger::Cron(t) => t.validate(limits),
            Trigger::Block(t) => t.validate(),
            Trigger::Event(t) => t.validate(limits),
        }
    }

    /// Short snake_case name of the trigger kind (same as the JSON `type`),
    /// for error messages and metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::Manual {} => "manual",
            Trigger::FixedTime(_) => "fixed_time",
            Trigger::Cron(_) => "cron",
            Trigger::Block(_) => "block",
            Trigger::Event(_) => "event",
        }
    }
}
