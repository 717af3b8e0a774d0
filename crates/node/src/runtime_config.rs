//! The aggregator's own configuration inside the node: every `AggregatorConfig` field as a
//! flag (`QUORATE_*` variable) and as a key of the TOML file's `[runtime]` table, validated at
//! start with an error that names the key. Durations are in milliseconds.

use std::time::Duration;

use quorate_runtime::{AggregatorConfig, VerificationMode};
use serde::{Deserialize, Serialize};

/// How signatures are verified (see `quorate_runtime::VerificationMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every signature verified as it arrives (batched): callers get a definite verdict.
    Eager,
    /// Signatures counted unverified, each digest's aggregate checked once at its threshold:
    /// the fast mode when operators are honest.
    Optimistic,
}

/// The `[runtime]` table: `AggregatorConfig` with durations in ms.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeSettings {
    /// `verification_mode` [default: eager].
    pub verification_mode: Mode,
    /// Tasks aggregating at once [default: 10000].
    pub max_active_tasks: usize,
    /// Not-yet-started tasks with buffered signatures [default: 1000].
    pub max_pending_tasks: usize,
    /// Buffered signatures per not-yet-started task [default: 1000].
    pub max_pending_signatures_per_task: usize,
    /// How long buffered signatures wait for their task, ms [default: 5000].
    pub pending_signature_timeout_ms: u64,
    /// Distinct response digests per task [default: 100].
    pub max_digests_per_task: usize,
    /// Finished results kept for late waiters [default: 10000].
    pub max_stored_responses: usize,
    /// Signatures queued per task [default: 4096].
    pub task_queue_capacity: usize,
    /// Signature errors remembered per task [default: 256].
    pub max_recorded_errors_per_task: usize,
    /// Operator sets cached per (block, quorums) [default: 64].
    pub operator_state_cache_size: usize,
    /// Signature verification threads [default: the number of cores].
    pub verification_threads: usize,
    /// Most signatures per verification batch [default: 1024].
    pub max_verification_batch: usize,
    /// Verification jobs queued before senders wait [default: 4096].
    pub verification_queue_capacity: usize,
    /// Merged work (aggregate checks, fresh signatures) queued that starts beside a running
    /// batch of it instead of joining the next one [default: 64].
    pub min_concurrent_merged_batch: usize,
    /// How often expired buffered signatures are dropped, ms [default: 1000].
    pub pending_cleanup_interval_ms: u64,
    /// Finished-task events kept for subscribers [default: 1024].
    pub event_buffer: usize,
    /// Longest wait for a fuller verification batch under load, ms; 0: none [default: 0].
    pub verification_linger_ms: u64,
    /// How long a failing operator is checked alone, ms; 0: no quarantine [default: 60000].
    pub quarantine_period_ms: u64,
    /// Clean checks that clear a failure: fewer between two failures quarantines the operator,
    /// this many in a row releases it; 0: quarantined at the first failure [default: 3].
    pub quarantine_clean_checks: u32,
    /// Operators tracked by the quarantine [default: 10000].
    pub max_quarantined_operators: usize,
    /// Operators with their own metric series; the rest share `other` [default: 1024].
    pub max_operator_labels: usize,
}

/// Flags of the `[runtime]` table (each overrides its key).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RuntimeArgs {
    /// How signatures are verified [default: eager].
    #[arg(long, env = "QUORATE_VERIFICATION_MODE", value_enum)]
    pub verification_mode: Option<Mode>,
    /// Tasks aggregating at once [default: 10000].
    #[arg(long, env = "QUORATE_MAX_ACTIVE_TASKS")]
    pub max_active_tasks: Option<usize>,
    /// Not-yet-started tasks with buffered signatures [default: 1000].
    #[arg(long, env = "QUORATE_MAX_PENDING_TASKS")]
    pub max_pending_tasks: Option<usize>,
    /// Buffered signatures per not-yet-started task [default: 1000].
    #[arg(long, env = "QUORATE_MAX_PENDING_SIGNATURES_PER_TASK")]
    pub max_pending_signatures_per_task: Option<usize>,
    /// How long buffered signatures wait for their task, ms [default: 5000].
    #[arg(long, env = "QUORATE_PENDING_SIGNATURE_TIMEOUT_MS")]
    pub pending_signature_timeout_ms: Option<u64>,
    /// Distinct response digests per task [default: 100].
    #[arg(long, env = "QUORATE_MAX_DIGESTS_PER_TASK")]
    pub max_digests_per_task: Option<usize>,
    /// Finished results kept for late waiters [default: 10000].
    #[arg(long, env = "QUORATE_MAX_STORED_RESPONSES")]
    pub max_stored_responses: Option<usize>,
    /// Signatures queued per task [default: 4096].
    #[arg(long, env = "QUORATE_TASK_QUEUE_CAPACITY")]
    pub task_queue_capacity: Option<usize>,
    /// Signature errors remembered per task [default: 256].
    #[arg(long, env = "QUORATE_MAX_RECORDED_ERRORS_PER_TASK")]
    pub max_recorded_errors_per_task: Option<usize>,
    /// Operator sets cached per (block, quorums) [default: 64].
    #[arg(long, env = "QUORATE_OPERATOR_STATE_CACHE_SIZE")]
    pub operator_state_cache_size: Option<usize>,
    /// Signature verification threads [default: the number of cores].
    #[arg(long, env = "QUORATE_VERIFICATION_THREADS")]
    pub verification_threads: Option<usize>,
    /// Most signatures per verification batch [default: 1024].
    #[arg(long, env = "QUORATE_MAX_VERIFICATION_BATCH")]
    pub max_verification_batch: Option<usize>,
    /// Verification jobs queued before senders wait [default: 4096].
    #[arg(long, env = "QUORATE_VERIFICATION_QUEUE_CAPACITY")]
    pub verification_queue_capacity: Option<usize>,
    /// Merged work (aggregate checks, fresh signatures) queued that starts beside a running
    /// batch of it instead of joining the next one [default: 64].
    #[arg(long, env = "QUORATE_MIN_CONCURRENT_MERGED_BATCH")]
    pub min_concurrent_merged_batch: Option<usize>,
    /// How often expired buffered signatures are dropped, ms [default: 1000].
    #[arg(long, env = "QUORATE_PENDING_CLEANUP_INTERVAL_MS")]
    pub pending_cleanup_interval_ms: Option<u64>,
    /// Finished-task events kept for subscribers [default: 1024].
    #[arg(long, env = "QUORATE_EVENT_BUFFER")]
    pub event_buffer: Option<usize>,
    /// Longest wait for a fuller verification batch under load, ms; 0: none [default: 0].
    #[arg(long, env = "QUORATE_VERIFICATION_LINGER_MS")]
    pub verification_linger_ms: Option<u64>,
    /// How long a failing operator is checked alone, ms; 0: no quarantine [default: 60000].
    #[arg(long, env = "QUORATE_QUARANTINE_PERIOD_MS")]
    pub quarantine_period_ms: Option<u64>,
    /// Clean checks that clear a failure: fewer between two failures quarantines the operator,
    /// this many in a row releases it; 0: quarantined at the first failure [default: 3].
    #[arg(long, env = "QUORATE_QUARANTINE_CLEAN_CHECKS")]
    pub quarantine_clean_checks: Option<u32>,
    /// Operators tracked by the quarantine [default: 10000].
    #[arg(long, env = "QUORATE_MAX_QUARANTINED_OPERATORS")]
    pub max_quarantined_operators: Option<usize>,
    /// Operators with their own metric series; the rest share `other` [default: 1024].
    #[arg(long, env = "QUORATE_MAX_OPERATOR_LABELS")]
    pub max_operator_labels: Option<usize>,
}

/// Field lists written once: (name, lower bound, upper bound) checks and flag overrides.
macro_rules! runtime_fields {
    ($m:ident) => {
        $m!(
            max_active_tasks,
            max_pending_tasks,
            max_pending_signatures_per_task,
            pending_signature_timeout_ms,
            max_digests_per_task,
            max_stored_responses,
            task_queue_capacity,
            max_recorded_errors_per_task,
            operator_state_cache_size,
            verification_threads,
            max_verification_batch,
            verification_queue_capacity,
            min_concurrent_merged_batch,
            pending_cleanup_interval_ms,
            event_buffer,
            verification_linger_ms,
            quarantine_period_ms,
            quarantine_clean_checks,
            max_quarantined_operators,
            max_operator_labels
        )
    };
}

impl RuntimeArgs {
    /// Puts the flags given over `s`.
    pub fn apply(&self, s: &mut RuntimeSettings) {
        if let Some(mode) = self.verification_mode {
            s.verification_mode = mode;
        }
        macro_rules! over {
            ($($f:ident),*) => {$( if let Some(v) = self.$f { s.$f = v; } )*};
        }
        runtime_fields!(over);
    }
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        let d = AggregatorConfig::default();
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Self {
            verification_mode: match d.verification_mode {
                VerificationMode::Eager => Mode::Eager,
                VerificationMode::Optimistic => Mode::Optimistic,
            },
            max_active_tasks: d.max_active_tasks,
            max_pending_tasks: d.max_pending_tasks,
            max_pending_signatures_per_task: d.max_pending_signatures_per_task,
            pending_signature_timeout_ms: ms(d.pending_signature_timeout),
            max_digests_per_task: d.max_digests_per_task,
            max_stored_responses: d.max_stored_responses,
            task_queue_capacity: d.task_queue_capacity,
            max_recorded_errors_per_task: d.max_recorded_errors_per_task,
            operator_state_cache_size: d.operator_state_cache_size,
            verification_threads: d.verification_threads,
            max_verification_batch: d.max_verification_batch,
            verification_queue_capacity: d.verification_queue_capacity,
            min_concurrent_merged_batch: d.min_concurrent_merged_batch,
            pending_cleanup_interval_ms: ms(d.pending_cleanup_interval),
            event_buffer: d.event_buffer,
            verification_linger_ms: ms(d.verification_linger),
            quarantine_period_ms: ms(d.quarantine_period),
            quarantine_clean_checks: d.quarantine_clean_checks,
            max_quarantined_operators: d.max_quarantined_operators,
            max_operator_labels: d.max_operator_labels,
        }
    }
}

/// The accepted range of each key: `(least, most)`. Bounds on memory stay below what would
/// let a configuration typo allocate gigabytes up front (event buffers and queues are
/// allocated at start).
fn bounds(name: &str) -> (u64, u64) {
    match name {
        "verification_threads" => (1, 256),
        "verification_linger_ms" => (0, 1_000),
        "max_operator_labels" => (0, 100_000),
        "quarantine_period_ms" | "max_recorded_errors_per_task" => (0, 86_400_000),
        "quarantine_clean_checks" => (0, 1_000),
        "event_buffer" | "task_queue_capacity" | "verification_queue_capacity" => (1, 1 << 20),
        "pending_signature_timeout_ms" | "pending_cleanup_interval_ms" => (1, 86_400_000),
        _ => (1, 100_000_000),
    }
}

/// A `[runtime]` key out of its range.
#[derive(Debug, thiserror::Error)]
#[error("runtime.{key} (flag --{flag}) must be in {least}..={most}, got {value}")]
pub struct InvalidRuntimeSetting {
    /// The TOML key.
    pub key: &'static str,
    /// The flag.
    pub flag: String,
    /// The value given.
    pub value: u64,
    /// Least accepted.
    pub least: u64,
    /// Most accepted.
    pub most: u64,
}

impl RuntimeSettings {
    /// Checks every key's range and builds the aggregator's configuration.
    pub fn to_aggregator_config(&self) -> Result<AggregatorConfig, InvalidRuntimeSetting> {
        macro_rules! check {
            ($($f:ident),*) => {$({
                let key = stringify!($f);
                let value = u64::try_from(self.$f).unwrap_or(u64::MAX);
                let (least, most) = bounds(key);
                if value < least || value > most {
                    return Err(InvalidRuntimeSetting {
                        key,
                        flag: key.replace('_', "-"),
                        value,
                        least,
                        most,
                    });
                }
            })*};
        }
        runtime_fields!(check);
        let ms = Duration::from_millis;
        Ok(AggregatorConfig {
            verification_mode: match self.verification_mode {
                Mode::Eager => VerificationMode::Eager,
                Mode::Optimistic => VerificationMode::Optimistic,
            },
            max_active_tasks: self.max_active_tasks,
            max_pending_tasks: self.max_pending_tasks,
            max_pending_signatures_per_task: self.max_pending_signatures_per_task,
            pending_signature_timeout: ms(self.pending_signature_timeout_ms),
            max_digests_per_task: self.max_digests_per_task,
            max_stored_responses: self.max_stored_responses,
            task_queue_capacity: self.task_queue_capacity,
            max_recorded_errors_per_task: self.max_recorded_errors_per_task,
            operator_state_cache_size: self.operator_state_cache_size,
            verification_threads: self.verification_threads,
            max_verification_batch: self.max_verification_batch,
            verification_queue_capacity: self.verification_queue_capacity,
            min_concurrent_merged_batch: self.min_concurrent_merged_batch,
            pending_cleanup_interval: ms(self.pending_cleanup_interval_ms),
            event_buffer: self.event_buffer,
            verification_linger: ms(self.verification_linger_ms),
            quarantine_period: ms(self.quarantine_period_ms),
            quarantine_clean_checks: self.quarantine_clean_checks,
            max_quarantined_operators: self.max_quarantined_operators,
            max_operator_labels: self.max_operator_labels,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_aggregators_and_pass_validation() {
        let built = RuntimeSettings::default().to_aggregator_config().unwrap();
        let d = AggregatorConfig::default();
        assert_eq!(built.verification_mode, d.verification_mode);
        assert_eq!(built.max_active_tasks, d.max_active_tasks);
        assert_eq!(built.pending_signature_timeout, d.pending_signature_timeout);
        assert_eq!(built.quarantine_period, d.quarantine_period);
        assert_eq!(built.verification_threads, d.verification_threads);
    }

    #[test]
    fn flags_override_and_out_of_range_values_name_their_key() {
        let mut s: RuntimeSettings = toml::from_str(
            "verification_mode = \"optimistic\"\nmax_active_tasks = 7\nverification_linger_ms = 2",
        )
        .unwrap();
        RuntimeArgs {
            max_active_tasks: Some(9),
            quarantine_period_ms: Some(0),
            ..RuntimeArgs::default()
        }
        .apply(&mut s);
        let c = s.to_aggregator_config().unwrap();
        assert_eq!(c.verification_mode, VerificationMode::Optimistic);
        assert_eq!(c.max_active_tasks, 9);
        assert_eq!(c.verification_linger, Duration::from_millis(2));
        assert_eq!(c.quarantine_period, Duration::ZERO);

        s.verification_threads = 0;
        let e = s.to_aggregator_config().unwrap_err().to_string();
        assert!(
            e.contains("runtime.verification_threads")
                && e.contains("--verification-threads")
                && e.contains("got 0"),
            "{e}"
        );
        s.verification_threads = 2;
        s.event_buffer = 1 << 30;
        let e = s.to_aggregator_config().unwrap_err().to_string();
        assert!(e.contains("runtime.event_buffer"), "{e}");
    }

    #[test]
    fn unknown_runtime_keys_are_refused() {
        let e = toml::from_str::<RuntimeSettings>("max_active_task = 3").unwrap_err();
        assert!(e.to_string().contains("max_active_task"), "{e}");
    }
}
