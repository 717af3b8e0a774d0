//! The async aggregation pipeline around [`AggregatorCore`]: per-task actors, the pending
//! buffer, the verification pool and the result store stay inside; an embedder sees the core,
//! its [`AggregatorConfig`], the outcomes, events and stats it reports, the in-memory adapters
//! ([`memory`]) and the metric names ([`metrics`]).

// Every dependency in Cargo.toml is used (CI: clippy -D warnings); dev-dependencies are
// exempt because each test binary uses only some of them.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]
// The public API is what lib.rs re-exports; everything else stays crate-private.
#![warn(unreachable_pub)]

mod actor;
mod admission;
mod aggregate_odds;
mod cached_registry;
mod config;
mod core;
mod evidence;
mod ewma;
mod hold;
mod invalid_share;
pub mod memory;
pub mod metrics;
mod operator_metrics;
mod operator_set;
mod outcome;
mod pending;
mod quarantine;
mod results;
mod tally;
#[cfg(test)]
mod tally_property;
mod util;
mod verifier;

pub use crate::cached_registry::CachedRegistry;
pub use crate::config::{AggregatorConfig, VerificationMode};
pub use crate::core::{AggregatorCore, StartError, TaskEvent};
pub use crate::evidence::EquivocationEvidence;
pub use crate::metrics::StatsSnapshot;
pub use crate::operator_set::{OperatorEntry, OperatorSet};
pub use crate::outcome::SignatureOutcome;
pub use crate::quarantine::QuarantinedOperator;
