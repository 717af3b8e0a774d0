//! Small helpers shared by the runtime's modules.

use std::sync::{Mutex, MutexGuard};

/// Locks a mutex, recovering the data if a panicking holder poisoned it: every structure the
/// runtime guards stays consistent between statements, so poison carries no information here.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The message of a caught panic, for the error reported to the task's waiters.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}
