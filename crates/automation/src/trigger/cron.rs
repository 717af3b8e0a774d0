//! Cron triggers: parsing (5- and 6-field) and next-fire computation, all UTC.

use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use serde::{Deserialize, Serialize};

use super::{TriggerError, TriggerLimits};

/// Fires at every time matched by any of its cron schedules, in UTC.
///
/// Each schedule is either standard 5-field `min hour dom mon dow` (fires at
/// second 0) or 6-field with seconds first. Besides `* , - /` the parser
/// accepts croner's extensions (`L`, `W`, `#`, month/day names). Nicknames
/// such as `@daily` are refused so that every schedule is explicit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CronTrigger {
    /// The schedules; the trigger fires when any of them matches.
    pub schedules: Vec<String>,
}

/// A [`CronTrigger`] with its schedules parsed once, for repeated evaluation.
#[derive(Debug, Clone)]
pub struct CompiledCron {
    crons: Vec<Cron>,
}

/// The parser configuration: seconds optional (5 fields get second 0),
/// no year field, day-of-month/day-of-week OR-ed like Vixie cron.
fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .build()
}

/// Parses one schedule, refusing anything but 5 or 6 fields.
fn parse_schedule(index: usize, schedule: &str) -> Result<Cron, TriggerError> {
    let invalid = |reason: String| TriggerError::InvalidCron {
        index,
        schedule: schedule.to_owned(),
        reason,
    };
    if schedule.contains('@') {
        return Err(invalid("nicknames (@daily, …) are not supported".into()));
    }
    let fields = schedule.split_whitespace().count();
    if fields != 5 && fields != 6 {
        return Err(invalid(format!("expected 5 or 6 fields, got {fields}")));
    }
    parser().parse(schedule).map_err(|e| invalid(e.to_string()))
}

/// Converts unix seconds to a UTC date-time; `None` past chrono's range.
fn to_datetime(secs: u64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(i64::try_from(secs).ok()?, 0)
}

/// Converts a UTC date-time back to unix seconds; `None` before 1970.
fn to_secs(dt: &DateTime<Utc>) -> Option<u64> {
    u64::try_from(dt.timestamp()).ok()
}

impl CronTrigger {
    /// Checks schedule count, length, syntax, and that each schedule fires
    /// at least once after 1970 (refusing e.g. `0 0 30 2 *`).
    pub fn validate(&self, limits: &TriggerLimits) -> Result<(), TriggerError> {
        if self.schedules.is_empty() {
            return Err(TriggerError::EmptySchedules);
        }
        if self.schedules.len() > limits.max_schedules {
            return Err(TriggerError::TooManySchedules {
                count: self.schedules.len(),
                max: limits.max_schedules,
            });
        }
        for (index, schedule) in self.schedules.iter().enumerate() {
            if schedule.len() > limits.max_schedule_len {
                return Err(TriggerError::ScheduleTooLong {
                    index,
                    len: schedule.len(),
                    max: limits.max_schedule_len,
                });
            }
        }
        self.compile().map(|_| ())
    }

    /// Parses every schedule; fails on the first bad or never-firing one.
    ///
    /// Does not apply [`TriggerLimits`]; call [`CronTrigger::validate`] for that.
    pub fn compile(&self) -> Result<CompiledCron, TriggerError> {
        if self.schedules.is_empty() {
            return Err(TriggerError::EmptySchedules);
        }
        let mut crons = Vec::with_capacity(self.schedules.len());
        for (index, schedule) in self.schedules.iter().enumerate() {
            let cron = parse_schedule(index, schedule)?;
            if next_of(&cron, 0).is_none() {
                return Err(TriggerError::CronNeverFires {
                    index,
                    schedule: schedule.clone(),
                });
            }
            crons.push(cron);
        }
        Ok(CompiledCron { crons })
    }

    /// Earliest fire time over all schedules strictly after `after`.
    ///
    /// Parses on every call and skips schedules that do not parse (validated
    /// triggers have none); use [`CronTrigger::compile`] when evaluating often.
    pub fn next_after(&self, after: u64) -> Option<u64> {
        self.schedules
            .iter()
            .enumerate()
            .filter_map(|(i, s)| parse_schedule(i, s).ok())
            .filter_map(|c| next_of(&c, after))
            .min()
    }
}

/// Next match of one schedule strictly after `after`.
fn next_of(cron: &Cron, after: u64) -> Option<u64> {
    let start = to_datetime(after)?;
    let next = cron.find_next_occurrence(&start, false).ok()?;
    to_secs(&next)
}

impl CompiledCron {
    /// Earliest fire time over all schedules strictly after `after`; `None`
    /// when no schedule fires again within the parser's range (year 5000).
    pub fn next_after(&self, after: u64) -> Option<u64> {
        self.crons.iter().filter_map(|c| next_of(c, after)).min()
    }

    /// Fire times in `[from, to]`, ascending and de-duplicated across
    /// schedules, keeping only the newest `cap` (at least 1). Also returns whether older
    /// fire times were dropped.
    ///
    /// Walks backwards from `to`, so the cost is O(cap) per schedule however
    /// long the window is (an outage of months costs no more than a minute).
    pub fn fires_between(&self, from: u64, to: u64, cap: usize) -> (Vec<u64>, bool) {
        // A cap of 0 would silently swallow fires; treat it as 1.
        let cap = cap.max(1);
        let mut all: Vec<u64> = Vec::new();
        let mut truncated = false;
        if from > to {
            return (all, false);
        }
        for cron in &self.crons {
            let Some(mut cursor) = to_datetime(to) else {
                continue;
            };
            let mut inclusive = true;
            let mut taken = 0usize;
            while let Ok(prev) = cron.find_previous_occurrence(&cursor, inclusive) {
                let Some(secs) = to_secs(&prev) else { break };
                if secs < from {
                    break;
                }
                if taken == cap {
                    truncated = true;
                    break;
                }
                all.push(secs);
                taken = taken.saturating_add(1);
                cursor = prev;
                inclusive = false;
            }
        }
        all.sort_unstable();
        all.dedup();
        if all.len() > cap {
            truncated = true;
            all.drain(..all.len().saturating_sub(cap));
        }
        (all, truncated)
    }
}
