//! The async aggregation pipeline: `AggregatorCore`, per-task actors, the pending buffer,
//! the verification pool, in-memory adapters and metrics.

// Every dependency in Cargo.toml is used (CI: clippy -D warnings); dev-dependencies are
// exempt because each test binary uses only some of them.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod actor;
mod admission;
mod config;
mod core;
mod evidence;
pub mod memory;
pub mod metrics;
mod operator_set;
mod outcome;
mod pending;
mod quarantine;
mod results;
mod stats;
mod tally;
pub mod two_phase;
mod util;
mod verifier;

pub use crate::config::{AggregatorConfig, VerificationMode};
pub use crate::core::{AggregatorCore, TaskEvent};
pub use crate::evidence::EquivocationEvidence;
pub use crate::operator_set::{OperatorEntry, OperatorSet, OperatorSetCache};
pub use crate::outcome::SignatureOutcome;
pub use crate::pending::{BufferOutcome, PendingBuffer};
pub use crate::quarantine::QuarantinedOperator;
pub use crate::results::{ResultStore, TaskResult};
pub use crate::stats::StatsSnapshot;
pub use crate::tally::{AggregateParts, TaskTally};
pub use crate::two_phase::{PrepareError, PrepareOutcome, PrepareRules, TwoPhaseAggregator};
pub use crate::verifier::{PoolError, PoolSizing, VerificationPool, VerifyItem};
