//! Validation limits and the module's error type.

use thiserror::Error;

/// Upper bounds on the size of a trigger definition.
///
/// They exist because every operator evaluates every trigger: one oversized
/// workflow would cost the whole operator set CPU and memory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TriggerLimits {
    /// Maximum number of cron schedules in one [`super::CronTrigger`] (default 16).
    pub max_schedules: usize,
    /// Maximum length in bytes of one cron schedule string (default 256);
    /// bounds parser work on hostile input.
    pub max_schedule_len: usize,
    /// Maximum number of epochs in one [`super::FixedTimeTrigger`] (default 1024).
    pub max_epochs: usize,
    /// Maximum number of matchers in one [`super::EventTrigger`] (default 16).
    pub max_matchers: usize,
    /// Maximum topics per matcher (default 4, the EVM's maximum per log).
    pub max_topics: usize,
    /// Maximum length in bytes of an event filter expression (default 4 KiB).
    pub max_expression_bytes: usize,
}

impl Default for TriggerLimits {
    fn default() -> Self {
        Self {
            max_schedules: 16,
            max_schedule_len: 256,
            max_epochs: 1024,
            max_matchers: 16,
            max_topics: 4,
            max_expression_bytes: 4096,
        }
    }
}

/// Why a trigger was refused or could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TriggerError {
    /// A cron schedule did not parse; `reason` is the parser's message.
    #[error("cron schedule #{index} {schedule:?} is invalid: {reason}")]
    InvalidCron {
        /// Position of the schedule in `schedules`.
        index: usize,
        /// The schedule as written.
        schedule: String,
        /// Why it was refused.
        reason: String,
    },
    /// A cron schedule parsed but matches no time after 1970 (e.g. 30 Feb).
    #[error("cron schedule #{index} {schedule:?} never fires")]
    CronNeverFires {
        /// Position of the schedule in `schedules`.
        index: usize,
        /// The schedule as written.
        schedule: String,
    },
    /// A cron schedule string is longer than allowed.
    #[error("cron schedule #{index} is {len} bytes long, limit is {max}")]
    ScheduleTooLong {
        /// Position of the schedule in `schedules`.
        index: usize,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A cron trigger without schedules would never fire.
    #[error("cron trigger has no schedules")]
    EmptySchedules,
    /// A fixed-time trigger without epochs would never fire.
    #[error("fixed-time trigger has no epochs")]
    EmptyEpochs,
    /// An event trigger without matchers would never fire.
    #[error("event trigger has no matchers")]
    EmptyMatchers,
    /// More schedules than [`TriggerLimits::max_schedules`].
    #[error("cron trigger has {count} schedules, limit is {max}")]
    TooManySchedules {
        /// Number given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// More epochs than [`TriggerLimits::max_epochs`].
    #[error("fixed-time trigger has {count} epochs, limit is {max}")]
    TooManyEpochs {
        /// Number given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// More matchers than [`TriggerLimits::max_matchers`].
    #[error("event trigger has {count} matchers, limit is {max}")]
    TooManyMatchers {
        /// Number given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A matcher lists more topics than [`TriggerLimits::max_topics`].
    #[error("event matcher #{index} has {count} topics, limit is {max}")]
    TooManyTopics {
        /// Position of the matcher in `matchers`.
        index: usize,
        /// Number given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A matcher with no address and only wildcard topics: it would make every
    /// operator report every log on chain, so it is refused even when an
    /// expression would filter afterwards.
    #[error("event matcher #{index} matches every log (no address and no topic)")]
    WildcardMatcher {
        /// Position of the matcher in `matchers`.
        index: usize,
    },
    /// The expression is longer than [`TriggerLimits::max_expression_bytes`].
    #[error("event expression is {len} bytes long, limit is {max}")]
    ExpressionTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// `expression` is present but blank; omit it instead.
    #[error("event expression is empty; omit the field instead")]
    EmptyExpression,
    /// A block interval of 0 has no multiples to fire at.
    #[error("block interval must be at least 1")]
    ZeroInterval,
    /// A time trigger has no fire time after `now` (e.g. every epoch is past).
    #[error("trigger has no fire time after {now}")]
    Exhausted {
        /// The registration time.
        now: u64,
    },
    /// A watcher was given a trigger kind it does not handle.
    #[error("{watcher} does not handle {kind} triggers")]
    WrongKind {
        /// The watcher refusing it.
        watcher: &'static str,
        /// The trigger's kind (see [`super::Trigger::kind`]).
        kind: &'static str,
    },
    /// The watcher already holds its maximum number of keys.
    #[error("{watcher} is full ({capacity} triggers)")]
    CapacityExceeded {
        /// The watcher refusing it.
        watcher: &'static str,
        /// Its capacity.
        capacity: usize,
    },
}
