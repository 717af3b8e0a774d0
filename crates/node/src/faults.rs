//! Hidden fault hooks for crash-recovery tests, read from the environment **only with
//! `--dev`** (chain mode ignores them):
//!
//! * `QUORATE_TEST_CRASH_AT=pending|aggregated|submitting` kills the process (SIGKILL to
//!   itself) the first time a task reaches that point: `pending` right after a new task is
//!   stored, `aggregated` right after its aggregate is stored, `submitting` after the
//!   submitter accepted the aggregate and before the receipt is stored.
//! * `QUORATE_TEST_REGISTRY_FAILURES=N` makes the first N registry reads fail with a
//!   retryable `Unavailable` error (a transient RPC outage at restart).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use quorate_bls::Bn254Scheme;
use quorate_domain::{
    BlockNumber, CheckSignaturesIndices, OperatorId, OperatorRegistry, QuorumNumber, RegistryError,
    SchemeOperatorState,
};

/// Where a test asked the node to die.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashPoint {
    /// A new task is stored, not yet started.
    Pending,
    /// An aggregate is stored and the task is `aggregated`, not yet submitted.
    Aggregated,
    /// The submitter accepted the aggregate; the receipt is not stored.
    Submitting,
}

/// The crash point named by `QUORATE_TEST_CRASH_AT`, when `dev` (never in chain mode).
pub fn crash_point_from_env(dev: bool) -> Option<CrashPoint> {
    if !dev {
        return None;
    }
    match std::env::var("QUORATE_TEST_CRASH_AT").ok()?.as_str() {
        "pending" => Some(CrashPoint::Pending),
        "aggregated" => Some(CrashPoint::Aggregated),
        "submitting" => Some(CrashPoint::Submitting),
        _ => None,
    }
}

/// Dies like a SIGKILL at `here` if it is the configured point: no destructor, no flush.
pub fn crash_if(configured: Option<CrashPoint>, here: CrashPoint) {
    if configured != Some(here) {
        return;
    }
    let pid = std::process::id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status();
    std::process::abort();
}

/// How many registry reads `QUORATE_TEST_REGISTRY_FAILURES` asks to fail, when `dev`.
pub fn registry_failures_from_env(dev: bool) -> u32 {
    if !dev {
        return 0;
    }
    std::env::var("QUORATE_TEST_REGISTRY_FAILURES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A registry whose first `failures` reads fail with a retryable error.
pub struct FlakyRegistry {
    /// The registry answering once the failures are used up.
    pub inner: Arc<dyn OperatorRegistry<Bn254Scheme>>,
    /// Failures left.
    pub failures: AtomicU32,
}

impl FlakyRegistry {
    fn fail(&self) -> Result<(), RegistryError> {
        let left = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        match left {
            Ok(_) => Err(RegistryError::Unavailable {
                reason: "injected registry outage (QUORATE_TEST_REGISTRY_FAILURES)".into(),
            }),
            Err(_) => Ok(()),
        }
    }
}

#[async_trait]
impl OperatorRegistry<Bn254Scheme> for FlakyRegistry {
    async fn operator_state(
        &self,
        block: BlockNumber,
        quorums: &[QuorumNumber],
    ) -> Result<Arc<SchemeOperatorState<Bn254Scheme>>, RegistryError> {
        self.fail()?;
        self.inner.operator_state(block, quorums).await
    }

    async fn check_signatures_indices(
        &self,
        block: BlockNumber,
        quorums: &[QuorumNumber],
        non_signer_ids: &[OperatorId],
    ) -> Result<CheckSignaturesIndices, RegistryError> {
        self.fail()?;
        self.inner
            .check_signatures_indices(block, quorums, non_signer_ids)
            .await
    }
}
