//! Small helpers shared by the runtime's modules.

pub(crate) use quorate_domain::sync::lock;

/// The message of a caught panic, for the error reported to the task's waiters.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}
