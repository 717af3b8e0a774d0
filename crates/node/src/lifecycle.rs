//! Storage lifecycle of `quorate node`: finished tasks are pruned after their retention, and
//! a storage failure stops the node (non-zero exit) instead of leaving it half-working.
//!
//! Flags have a TOML key of the same name (underscores) and a `QUORATE_*` variable; defaults
//! are in `NodeConfig::default`.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::NodeConfig;
use crate::record::now_ms;
use crate::store::Store;

/// Flags of the storage lifecycle.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct StorageArgs {
    /// How long a finished (submitted, expired, failed, cancelled) task and its rows are
    /// kept, in seconds; 0: forever [default: 604800 (7 days)].
    #[arg(long, env = "QUORATE_TASK_RETENTION_SECS")]
    pub task_retention_secs: Option<u64>,
    /// How often the pruner looks for finished tasks past their retention, in ms
    /// [default: 60000].
    #[arg(long, env = "QUORATE_PRUNE_INTERVAL_MS")]
    pub prune_interval_ms: Option<u64>,
    /// Tasks deleted per pruning transaction [default: 256].
    #[arg(long, env = "QUORATE_PRUNE_BATCH")]
    pub prune_batch: Option<usize>,
    /// After a storage write fails: how long the node keeps answering (writes refused with a
    /// typed error, `/health` 503) before it stops and exits non-zero, in ms [default: 2000].
    #[arg(long, env = "QUORATE_STORAGE_FAILURE_GRACE_MS")]
    pub storage_failure_grace_ms: Option<u64>,
}

impl StorageArgs {
    /// Puts the flags given over `c`.
    pub fn apply(&self, c: &mut NodeConfig) {
        macro_rules! over {
            ($($f:ident),*) => {$( if let Some(v) = self.$f { c.$f = v; } )*};
        }
        over!(
            task_retention_secs,
            prune_interval_ms,
            prune_batch,
            storage_failure_grace_ms
        );
    }
}

/// Deletes finished tasks older than the retention, in batches, every interval, until `stop`.
pub fn spawn_pruner(store: Store, config: &NodeConfig, stop: CancellationToken) {
    if config.task_retention_secs == 0 {
        return;
    }
    let retention_ms = config.task_retention_secs.saturating_mul(1000);
    let interval = Duration::from_millis(config.prune_interval_ms.max(10));
    let batch = config.prune_batch.max(1);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
            }
            let cutoff = now_ms().saturating_sub(retention_ms);
            // Batch after batch until the expired head is gone; each batch is one short write
            // transaction on the blocking pool, so requests interleave with pruning.
            loop {
                let store = store.clone();
                let pruned =
                    tokio::task::spawn_blocking(move || store.prune_finished(cutoff, batch)).await;
                match pruned {
                    Ok(Ok(0)) => break,
                    Ok(Ok(n)) => {
                        crate::metrics::tasks_pruned(n as u64);
                        info!(tasks = n, "pruned finished tasks past their retention");
                        if stop.is_cancelled() {
                            return;
                        }
                    }
                    Ok(Err(e)) => {
                        // The store latched the failure; the node is stopping.
                        warn!(error = %e, "pruning failed");
                        return;
                    }
                    Err(e) => {
                        warn!(error = %e, "pruning task did not finish");
                        return;
                    }
                }
            }
        }
    });
}

/// Ignores SIGXFSZ. Its default action kills the process when a write passes the file-size
/// limit (`ulimit -f`, `prlimit --fsize`); ignored, the write fails with `EFBIG` instead, the
/// store latches the failure and the node exits cleanly with an error. Handled by tokio's
/// signal driver, so no `libc` dependency is needed; must run inside the runtime.
pub fn ignore_file_size_signal() {
    #[cfg(target_os = "linux")]
    {
        use tokio::signal::unix::{signal, SignalKind};
        const SIGXFSZ: i32 = 25;
        match signal(SignalKind::from_raw(SIGXFSZ)) {
            Ok(mut sig) => {
                tokio::spawn(async move {
                    while sig.recv().await.is_some() {
                        warn!("file size limit reached (SIGXFSZ); the write fails with EFBIG");
                    }
                });
            }
            Err(e) => warn!(error = %e, "cannot handle SIGXFSZ; a file size limit kills the node"),
        }
    }
}

/// Resolves on SIGTERM/Ctrl-C (`Ok`), or `grace` after the first storage write failure
/// (`Err` with why). During the grace, requests in flight get their typed error and `/health`
/// reports the failure to whoever watches it.
pub async fn stop_or_storage_failure(store: &Store, grace: Duration) -> Result<(), String> {
    let failed = store.failed();
    tokio::select! {
        _ = shutdown_signal() => return Ok(()),
        _ = failed.cancelled() => {}
    }
    tokio::select! {
        _ = shutdown_signal() => {}
        _ = tokio::time::sleep(grace) => {}
    }
    Err(store.failure().unwrap_or_default())
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
