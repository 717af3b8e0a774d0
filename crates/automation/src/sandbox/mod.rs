//! Sandboxed evaluation of untrusted workflow JavaScript (custom code steps,
//! branch conditions and filter expressions) in QuickJS via `rquickjs`.
//!
//! Design (why it looks like this):
//! - Every call builds a fresh QuickJS `Runtime` + `Context`, so nothing an
//!   owner's code does (globals, prototype tampering, pending jobs) can be
//!   observed by the next execution. [`Sandbox`] itself only holds limits,
//!   which makes it trivially `Send + Sync`; callers run it via
//!   `spawn_blocking`.
//! - Limits are enforced inside QuickJS: wall-clock time through the runtime
//!   interrupt handler (also polled by the regex engine), heap through
//!   `JS_SetMemoryLimit`, native recursion through `JS_SetMaxStackSize`, and
//!   source size before anything is parsed.
//! - The context only has the ECMAScript intrinsics needed for data
//!   manipulation (no module loader, no std/os, no fetch, no timers,
//!   no `Performance`, no `WeakRef`/`FinalizationRegistry`).
//! - Values cross the boundary as JSON text parsed by `JSON.parse` inside JS;
//!   user values are never concatenated into source.
//!
//! Threading: QuickJS recursion is bounded by `max_stack_bytes` (at most
//! 1 MiB), so the calling thread needs a stack of at least 2 MiB (the default
//! for `std::thread` and tokio's blocking pool).

mod engine;
mod scripts;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::time::Duration;

/// Resource limits for one sandboxed execution.
///
/// Deserializes from TOML/JSON with millisecond/byte fields, e.g.
/// `timeout_ms = 1000`, `memory_bytes = 16777216`; missing fields take the
/// [`Default`] values and unknown fields are rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxLimits {
    /// Wall-clock budget for one call (parse + run + promise jobs + output
    /// conversion). Serialized as `timeout_ms`.
    #[serde(rename = "timeout_ms", with = "duration_ms")]
    pub timeout: Duration,
    /// QuickJS heap limit in bytes (includes the injected variables).
    pub memory_bytes: usize,
    /// Native stack QuickJS may use for recursion, in bytes.
    pub max_stack_bytes: usize,
    /// Maximum size of the source (code or expression) in bytes.
    pub max_code_bytes: usize,
    /// Maximum size of the JSON-serialized result in bytes.
    pub max_output_bytes: usize,
    /// Maximum captured console output in bytes; more is cut with a marker.
    pub max_log_bytes: usize,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(1),
            memory_bytes: 16 * MIB,
            max_stack_bytes: 512 * KIB,
            max_code_bytes: 64 * KIB,
            max_output_bytes: 256 * KIB,
            max_log_bytes: 16 * KIB,
        }
    }
}

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

impl SandboxLimits {
    /// Checks that every limit is nonzero and inside a sane range.
    ///
    /// Upper bounds exist so a config typo cannot turn the sandbox into a
    /// denial of service of the node itself; the stack cap keeps QuickJS well
    /// inside a 2 MiB thread stack.
    pub fn validate(&self) -> Result<(), SandboxError> {
        fn range(name: &str, v: usize, lo: usize, hi: usize) -> Result<(), SandboxError> {
            if v < lo || v > hi {
                return Err(SandboxError::BadLimits {
                    reason: format!("{name} = {v} is outside {lo}..={hi}"),
                });
            }
            Ok(())
        }
        let ms = self.timeout.as_millis();
        if !(1..=60_000).contains(&ms) {
            return Err(SandboxError::BadLimits {
                reason: format!("timeout_ms = {ms} is outside 1..=60000"),
            });
        }
        range("memory_bytes", self.memory_bytes, MIB, 1024 * MIB)?;
        range("max_stack_bytes", self.max_stack_bytes, 64 * KIB, MIB)?;
        range("max_code_bytes", self.max_code_bytes, 1, MIB)?;
        range("max_output_bytes", self.max_output_bytes, 1, 64 * MIB)?;
        range("max_log_bytes", self.max_log_bytes, 1, 16 * MIB)?;
        Ok(())
    }
}

/// Serde helper: `Duration` as integer milliseconds.
mod duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// Why a sandboxed evaluation failed.
#[derive(thiserror::Error, Debug)]
pub enum SandboxError {
    /// The wall-clock budget ran out (interrupt handler fired).
    #[error("script exceeded the time limit of {limit:?}")]
    Timeout {
        /// The configured limit.
        limit: Duration,
    },
    /// QuickJS hit the heap limit ("out of memory").
    #[error("script exceeded the memory limit of {limit_bytes} bytes")]
    OutOfMemory {
        /// The configured limit.
        limit_bytes: usize,
    },
    /// Recursion exceeded the native stack budget.
    #[error("script exceeded the stack limit of {limit_bytes} bytes")]
    StackOverflow {
        /// The configured limit.
        limit_bytes: usize,
    },
    /// The script threw (or a returned promise rejected), including syntax
    /// errors. Message is `Name: message` plus the first stack line, truncated.
    #[error("script error: {message}")]
    Exception {
        /// Error text from JavaScript.
        message: String,
    },
    /// The code returned a promise that can never settle (job queue empty).
    #[error("returned promise never settled")]
    UnsettledPromise,
    /// Source larger than `max_code_bytes`.
    #[error("code is {actual_bytes} bytes, limit is {limit_bytes}")]
    CodeTooLarge {
        /// Size of the submitted source.
        actual_bytes: usize,
        /// The configured limit.
        limit_bytes: usize,
    },
    /// JSON result larger than `max_output_bytes`.
    #[error("output is {actual_bytes} bytes, limit is {limit_bytes}")]
    OutputTooLarge {
        /// Size of the serialized result.
        actual_bytes: usize,
        /// The configured limit.
        limit_bytes: usize,
    },
    /// The result cannot be represented as JSON (function, symbol, BigInt,
    /// cycle, nesting deeper than serde_json accepts).
    #[error("result is not JSON: {reason}")]
    NotJson {
        /// What went wrong.
        reason: String,
    },
    /// A condition or filter expression produced a non-boolean.
    #[error("expected a boolean, got {got}{}", index.map(|i| format!(" (item {i})")).unwrap_or_default())]
    NotBoolean {
        /// JS type of the value that was produced (`null`, `array`, `number`, ...).
        got: String,
        /// For [`Sandbox::filter`], the index of the offending item.
        index: Option<usize>,
    },
    /// A variable name is not a plain identifier, is reserved, or would
    /// shadow an existing global (builtins, `console`, `value`/`index` in
    /// filters).
    #[error("variable name {name:?} is not allowed")]
    BadVariableName {
        /// The refused name (truncated).
        name: String,
    },
    /// Limits failed [`SandboxLimits::validate`].
    #[error("bad sandbox limits: {reason}")]
    BadLimits {
        /// Which limit and why.
        reason: String,
    },
    /// An engine failure not attributable to the script.
    #[error("sandbox engine error: {reason}")]
    Engine {
        /// Description from rquickjs.
        reason: String,
    },
}

/// Result of [`Sandbox::run_code`].
#[derive(Debug, Clone, PartialEq)]
pub struct CodeOutcome {
    /// The returned value after `JSON.stringify` (`undefined` becomes `null`).
    pub value: Value,
    /// Captured `console.*` output, one line per call, cut at
    /// `max_log_bytes` with [`LOG_TRUNCATED_MARKER`] appended.
    pub log: String,
}

/// Appended to [`CodeOutcome::log`] when the log limit was reached.
pub const LOG_TRUNCATED_MARKER: &str = "\n[log truncated]";

/// Evaluates untrusted JavaScript under [`SandboxLimits`]. Cheap to share.
#[derive(Debug, Clone)]
pub struct Sandbox {
    limits: SandboxLimits,
}

impl Sandbox {
    /// Creates a sandbox after validating `limits`.
    pub fn new(limits: SandboxLimits) -> Result<Self, SandboxError> {
        limits.validate()?;
        Ok(Self { limits })
    }

    /// The limits this sandbox enforces.
    pub fn limits(&self) -> &SandboxLimits {
        &self.limits
    }

    /// Runs `code` as the body of a function (`return` allowed) with each
    /// entry of `vars` bound as a global. A returned promise is driven to
    /// completion (within the time limit); rejection is an
    /// [`SandboxError::Exception`].
    ///
    /// Output: `JSON.stringify` semantics — `undefined` becomes `null`;
    /// a top-level function/symbol/BigInt is [`SandboxError::NotJson`];
    /// nested functions are dropped as `JSON.stringify` does.
    pub fn run_code(
        &self,
        code: &str,
        vars: &Map<String, Value>,
    ) -> Result<CodeOutcome, SandboxError> {
        engine::run(&self.limits, engine::Task::Code(code), vars).and_then(|r| match r {
            engine::TaskResult::Code(outcome) => Ok(outcome),
            _ => Err(internal_mismatch()),
        })
    }

    /// Evaluates a branch condition: `expr` must produce exactly `true` or
    /// `false` (no truthiness); anything else is [`SandboxError::NotBoolean`].
    pub fn eval_bool(&self, expr: &str, vars: &Map<String, Value>) -> Result<bool, SandboxError> {
        engine::run(&self.limits, engine::Task::Bool(expr), vars).and_then(|r| match r {
            engine::TaskResult::Bool(b) => Ok(b),
            _ => Err(internal_mismatch()),
        })
    }

    /// Keeps the items for which `expr` (with `value` and `index` bound per
    /// item, plus `vars`) is `true`, in one runtime invocation. Returned
    /// items are the caller's originals, not round-tripped through JS.
    pub fn filter(
        &self,
        expr: &str,
        items: &[Value],
        vars: &Map<String, Value>,
    ) -> Result<Vec<Value>, SandboxError> {
        match engine::run(&self.limits, engine::Task::Filter(expr, items), vars)? {
            engine::TaskResult::Filter(keep) => Ok(items
                .iter()
                .zip(keep)
                .filter(|(_, k)| *k)
                .map(|(item, _)| item.clone())
                .collect()),
            _ => Err(internal_mismatch()),
        }
    }
}

fn internal_mismatch() -> SandboxError {
    SandboxError::Engine {
        reason: "internal: task/result mismatch".into(),
    }
}
