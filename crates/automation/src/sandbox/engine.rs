//! QuickJS plumbing behind [`super::Sandbox`]: runtime setup, variable
//! injection, promise settling, result conversion and error classification.

use super::scripts::{BOOTSTRAP_JS, FILTER_JS, RESERVED};
use super::{CodeOutcome, SandboxError, SandboxLimits, LOG_TRUNCATED_MARKER};
use rquickjs::{
    context::intrinsic, Context, Ctx, Error as JsError, Function, Runtime, Type, Value as JsValue,
};
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What to evaluate.
pub(super) enum Task<'a> {
    /// A function body.
    Code(&'a str),
    /// A boolean expression.
    Bool(&'a str),
    /// A boolean expression over `value`/`index` for each item.
    Filter(&'a str, &'a [Value]),
}

/// Raw result of a [`Task`].
pub(super) enum TaskResult {
    Code(CodeOutcome),
    Bool(bool),
    Filter(Vec<bool>),
}

/// Intrinsics given to untrusted code: enough for data manipulation.
/// `Eval` is required for compiling at all (and backs `Function`); left out
/// on purpose: `Proxy` (would defeat the array length guard in
/// `BOOTSTRAP_JS`), `Performance` (high-resolution timer), `WeakRef` /
/// `FinalizationRegistry` (GC-dependent nondeterminism), `DOMException`.
type Intrinsics = (
    intrinsic::Date,
    intrinsic::Eval,
    intrinsic::RegExpCompiler,
    intrinsic::RegExp,
    intrinsic::Json,
    intrinsic::MapSet,
    intrinsic::TypedArrays,
    intrinsic::Promise,
);

const MAX_NAME_BYTES: usize = 128;
const MAX_MESSAGE_BYTES: usize = 1024;

/// Per-call state shared with the interrupt handler and console.
struct State<'l> {
    limits: &'l SandboxLimits,
    deadline: Instant,
    interrupted: Arc<AtomicBool>,
}

impl State<'_> {
    /// True once the deadline passed; latches the flag so every later check
    /// (including the interrupt handler) agrees.
    fn expired(&self) -> bool {
        if self.interrupted.load(Ordering::Relaxed) {
            return true;
        }
        if Instant::now() >= self.deadline {
            self.interrupted.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }

    fn timeout(&self) -> SandboxError {
        SandboxError::Timeout {
            limit: self.limits.timeout,
        }
    }
}

/// Captured console output with a hard byte cap.
struct LogBuf {
    text: String,
    limit: usize,
    truncated: bool,
}

impl LogBuf {
    fn push_line(&mut self, line: &str) {
        if self.truncated {
            return;
        }
        if !self.text.is_empty() {
            self.push_capped("\n");
        }
        self.push_capped(line);
    }

    fn push_capped(&mut self, s: &str) {
        if self.truncated {
            return;
        }
        let room = self.limit.saturating_sub(self.text.len());
        if s.len() <= room {
            self.text.push_str(s);
        } else {
            self.text.push_str(truncate_str(s, room));
            self.truncated = true;
        }
    }

    fn finish(self) -> String {
        let mut text = self.text;
        if self.truncated {
            text.push_str(LOG_TRUNCATED_MARKER);
        }
        text
    }
}

/// Longest prefix of `s` of at most `max` bytes on a char boundary.
fn truncate_str(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn truncate_owned(s: &str, max: usize) -> String {
    let t = truncate_str(s, max);
    if t.len() < s.len() {
        format!("{t}…")
    } else {
        t.to_owned()
    }
}

/// Rust-side name check: plain ASCII identifier, not reserved, and not
/// `value`/`index` when those are the filter's own bindings. Names that
/// collide with existing globals are refused later, inside JS.
fn check_name(name: &str, filter: bool) -> Result<(), SandboxError> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    let ok = first_ok
        && rest_ok
        && name.len() <= MAX_NAME_BYTES
        && !RESERVED.contains(&name)
        && !(filter && (name == "value" || name == "index"));
    if ok {
        Ok(())
    } else {
        Err(bad_name(name))
    }
}

fn bad_name(name: &str) -> SandboxError {
    SandboxError::BadVariableName {
        name: truncate_owned(name, MAX_NAME_BYTES),
    }
}

fn engine_err(e: impl std::fmt::Display) -> SandboxError {
    SandboxError::Engine {
        reason: truncate_owned(&e.to_string(), MAX_MESSAGE_BYTES),
    }
}

/// Entry point: validates inputs, builds a fresh runtime with limits, runs
/// the task and tears everything down.
pub(super) fn run(
    limits: &SandboxLimits,
    task: Task<'_>,
    vars: &Map<String, Value>,
) -> Result<TaskResult, SandboxError> {
    let (source, items) = match task {
        Task::Code(s) | Task::Bool(s) => (s, None),
        Task::Filter(s, items) => (s, Some(items)),
    };
    if source.len() > limits.max_code_bytes {
        return Err(SandboxError::CodeTooLarge {
            actual_bytes: source.len(),
            limit_bytes: limits.max_code_bytes,
        });
    }
    for name in vars.keys() {
        check_name(name, items.is_some())?;
    }
    let vars_json = serde_json::to_string(vars).map_err(engine_err)?;
    let items_json = items
        .map(serde_json::to_string)
        .transpose()
        .map_err(engine_err)?;

    let start = Instant::now();
    let deadline = start.checked_add(limits.timeout).unwrap_or(start);
    let state = State {
        limits,
        deadline,
        interrupted: Arc::new(AtomicBool::new(false)),
    };

    let rt = Runtime::new().map_err(engine_err)?;
    rt.set_memory_limit(limits.memory_bytes);
    rt.set_max_stack_size(limits.max_stack_bytes);
    let flag = Arc::clone(&state.interrupted);
    rt.set_interrupt_handler(Some(Box::new(move || {
        // Latching: once fired, keep firing so a caught error cannot resume.
        if flag.load(Ordering::Relaxed) || Instant::now() >= deadline {
            flag.store(true, Ordering::Relaxed);
            return true;
        }
        false
    })));
    let ctx = Context::custom::<Intrinsics>(&rt).map_err(|e| match e {
        JsError::Allocation => SandboxError::OutOfMemory {
            limit_bytes: limits.memory_bytes,
        },
        other => engine_err(other),
    })?;

    let log = Arc::new(Mutex::new(LogBuf {
        text: String::new(),
        limit: limits.max_log_bytes,
        truncated: false,
    }));
    let result = ctx.with(|ctx| {
        let inner = (|| -> Result<TaskResult, Failure> {
            install(&ctx, &vars_json, &log, limits)?;
            match (task, items_json.as_deref()) {
                (Task::Code(code), _) => {
                    let v = call_body(&ctx, &[], code)?;
                    let v = settle(&ctx, v, &state)?;
                    let value = to_json(&ctx, v, &state)?;
                    Ok(TaskResult::Code(CodeOutcome {
                        value,
                        log: String::new(),
                    }))
                }
                (Task::Bool(expr), _) => {
                    let v = call_body(&ctx, &[], &expr_body(expr))?;
                    match v.as_bool() {
                        Some(b) => Ok(TaskResult::Bool(b)),
                        None => Err(Failure::Sandbox(SandboxError::NotBoolean {
                            got: js_type_name(&v).to_owned(),
                            index: None,
                        })),
                    }
                }
                (Task::Filter(expr, items), Some(items_json)) => {
                    let pred = compile_body(&ctx, &["value", "index"], &expr_body(expr))?;
                    let driver: Function = ctx.eval(FILTER_JS)?;
                    let verdict: String = driver.call((pred, items_json))?;
                    parse_verdict(&verdict, items.len())
                        .map(TaskResult::Filter)
                        .map_err(Failure::Sandbox)
                }
                (Task::Filter(..), None) => {
                    Err(Failure::Sandbox(engine_err("filter without items")))
                }
            }
        })();
        inner.map_err(|f| match f {
            Failure::Sandbox(e) => e,
            Failure::Js(e) => classify(&ctx, e, &state),
        })
    });
    let log_text = {
        let mut guard = log.lock().unwrap_or_else(|p| p.into_inner());
        let buf = std::mem::replace(
            &mut *guard,
            LogBuf {
                text: String::new(),
                limit: 0,
                truncated: false,
            },
        );
        buf.finish()
    };
    // Drop order matters to rquickjs: context before runtime.
    drop(ctx);
    drop(rt);
    match result {
        Ok(TaskResult::Code(mut outcome)) => {
            outcome.log = log_text;
            Ok(TaskResult::Code(outcome))
        }
        other => other,
    }
}

/// Internal error: either already typed, or a raw rquickjs error that still
/// needs classifying against the pending JS exception.
enum Failure {
    Sandbox(SandboxError),
    Js(JsError),
}

impl From<JsError> for Failure {
    fn from(e: JsError) -> Self {
        Failure::Js(e)
    }
}

/// Wraps an expression so it is the function's return value; the newline
/// before `)` keeps a trailing `//` comment from swallowing the paren.
fn expr_body(expr: &str) -> String {
    format!("return (\n{expr}\n);")
}

fn install(
    ctx: &Ctx<'_>,
    vars_json: &str,
    log: &Arc<Mutex<LogBuf>>,
    limits: &SandboxLimits,
) -> Result<(), Failure> {
    let bootstrap: Function = ctx.eval(BOOTSTRAP_JS)?;
    let sink = Arc::clone(log);
    let native_log = Function::new(
        ctx.clone(),
        move |line: rquickjs::String<'_>| -> rquickjs::Result<()> {
            let mut buf = sink.lock().unwrap_or_else(|p| p.into_inner());
            // Skip the UTF-8 conversion entirely once the cap was reached.
            if !buf.truncated {
                buf.push_line(&line.to_string()?);
            }
            Ok(())
        },
    )?;
    // A JSValue is 16 bytes, so no dense array can be longer than this.
    let max_len = f64::from(u32::try_from(limits.memory_bytes / 16).unwrap_or(u32::MAX));
    let refused: Option<String> = bootstrap.call((native_log, vars_json, max_len))?;
    match refused {
        Some(name) => Err(Failure::Sandbox(bad_name(&name))),
        None => Ok(()),
    }
}

/// Compiles `body` with the `Function` constructor (a true function body,
/// not source concatenation into our own wrapper) and returns the function.
fn compile_body<'js>(
    ctx: &Ctx<'js>,
    params: &[&str],
    body: &str,
) -> Result<Function<'js>, Failure> {
    let ctor: Function = ctx.globals().get("Function")?;
    let mut args = rquickjs::function::Args::new(ctx.clone(), params.len() + 1);
    for p in params {
        args.push_arg(*p)?;
    }
    args.push_arg(body)?;
    let f: JsValue = ctor.call_arg(args)?;
    f.into_function().ok_or_else(|| {
        Failure::Sandbox(SandboxError::Exception {
            message: "code did not compile to a function".into(),
        })
    })
}

fn call_body<'js>(ctx: &Ctx<'js>, params: &[&str], body: &str) -> Result<JsValue<'js>, Failure> {
    let f = compile_body(ctx, params, body)?;
    Ok(f.call(())?)
}

/// If `v` is a promise, runs the job queue until it settles (checking the
/// deadline between jobs, the interrupt handler covers time inside them).
fn settle<'js>(
    ctx: &Ctx<'js>,
    v: JsValue<'js>,
    state: &State<'_>,
) -> Result<JsValue<'js>, Failure> {
    let Some(promise) = v.as_promise().cloned() else {
        return Ok(v);
    };
    loop {
        if let Some(res) = promise.result::<JsValue>() {
            return Ok(res?);
        }
        if state.expired() {
            return Err(Failure::Sandbox(state.timeout()));
        }
        if !ctx.execute_pending_job() {
            return Err(Failure::Sandbox(SandboxError::UnsettledPromise));
        }
    }
}

/// Converts through `JSON.stringify` (the C API, so user code cannot replace
/// it; `toJSON` methods still run, under the same limits).
fn to_json<'js>(ctx: &Ctx<'js>, v: JsValue<'js>, state: &State<'_>) -> Result<Value, Failure> {
    let type_name = js_type_name(&v);
    let is_undefined = v.is_undefined();
    let text = match ctx.json_stringify(v) {
        Ok(Some(s)) => s.to_string()?,
        Ok(None) if is_undefined => return Ok(Value::Null),
        Ok(None) => {
            return Err(Failure::Sandbox(SandboxError::NotJson {
                reason: format!("{type_name} cannot be serialized"),
            }))
        }
        Err(e) => {
            return Err(Failure::Sandbox(match classify(ctx, e, state) {
                SandboxError::Exception { message } => SandboxError::NotJson { reason: message },
                other => other,
            }))
        }
    };
    if text.len() > state.limits.max_output_bytes {
        return Err(Failure::Sandbox(SandboxError::OutputTooLarge {
            actual_bytes: text.len(),
            limit_bytes: state.limits.max_output_bytes,
        }));
    }
    serde_json::from_str(&text).map_err(|e| {
        Failure::Sandbox(SandboxError::NotJson {
            reason: truncate_owned(&e.to_string(), MAX_MESSAGE_BYTES),
        })
    })
}

fn parse_verdict(verdict: &str, n: usize) -> Result<Vec<bool>, SandboxError> {
    if let Some(rest) = verdict.strip_prefix('!') {
        let (idx, got) = rest.split_once(':').unwrap_or((rest, "unknown"));
        return Err(SandboxError::NotBoolean {
            got: got.to_owned(),
            index: idx.parse().ok(),
        });
    }
    if verdict.len() != n {
        return Err(engine_err("filter verdict length mismatch"));
    }
    Ok(verdict.bytes().map(|b| b == b'1').collect())
}

/// Names JS types the way users think of them (arrays and null separately).
fn js_type_name(v: &JsValue<'_>) -> &'static str {
    match v.type_of() {
        Type::Uninitialized | Type::Undefined => "undefined",
        Type::Null => "null",
        Type::Bool => "boolean",
        Type::Int | Type::Float => "number",
        Type::String => "string",
        Type::Symbol => "symbol",
        Type::BigInt => "bigint",
        Type::Array => "array",
        Type::Function | Type::Constructor => "function",
        Type::Promise => "promise",
        _ => "object",
    }
}

/// Maps an rquickjs error (and the pending exception, which it clears) to a
/// typed error. The interrupt flag wins over the message because user code
/// could otherwise mislabel a timeout.
fn classify(ctx: &Ctx<'_>, err: JsError, state: &State<'_>) -> SandboxError {
    let exception = matches!(err, JsError::Exception).then(|| ctx.catch());
    if state.interrupted.load(Ordering::Relaxed) {
        return state.timeout();
    }
    let limits = state.limits;
    let Some(exc) = exception else {
        return match err {
            JsError::Allocation => SandboxError::OutOfMemory {
                limit_bytes: limits.memory_bytes,
            },
            other => engine_err(other),
        };
    };
    if let Some(e) = exc.as_exception() {
        let name: String = e.get("name").unwrap_or_default();
        let message = e.message().unwrap_or_default();
        match (name.as_str(), message.as_str()) {
            ("InternalError", "out of memory") => {
                return SandboxError::OutOfMemory {
                    limit_bytes: limits.memory_bytes,
                }
            }
            ("RangeError", "Maximum call stack size exceeded")
            | ("InternalError", "stack overflow") => {
                return SandboxError::StackOverflow {
                    limit_bytes: limits.max_stack_bytes,
                }
            }
            ("InternalError", "interrupted") => return state.timeout(),
            _ => {}
        }
        let stack_line = e.stack().and_then(|s| {
            s.lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(str::to_owned)
        });
        let mut text = format!("{name}: {message}");
        if let Some(line) = stack_line {
            text.push_str(" (");
            text.push_str(&line);
            text.push(')');
        }
        return SandboxError::Exception {
            message: truncate_owned(&text, MAX_MESSAGE_BYTES),
        };
    }
    // QuickJS throws `null` when it cannot even allocate the InternalError
    // for "out of memory" (typical when the heap is filled with small
    // objects). A script that literally throws `null` is reported as OOM too;
    // that mislabels only its own failure.
    if exc.is_null() {
        return SandboxError::OutOfMemory {
            limit_bytes: limits.memory_bytes,
        };
    }
    let type_name = js_type_name(&exc);
    let shown = match ctx.json_stringify(exc) {
        Ok(Some(s)) => s.to_string().ok(),
        Ok(None) => None,
        Err(_) => {
            let _ = ctx.catch();
            None
        }
    };
    SandboxError::Exception {
        message: truncate_owned(
            &format!(
                "uncaught {type_name}: {}",
                shown.unwrap_or_else(|| "?".into())
            ),
            MAX_MESSAGE_BYTES,
        ),
    }
}
