//! EigenLayer contract adapters over alloy: the chain-backed [`ChainOperatorRegistry`]
//! (`OperatorStateRetriever` + an event-fed key cache), the [`ChainSubmitter`] that sends
//! aggregates to an AVS contract, conversions between domain and contract types, and an RPC
//! call counter for measuring calls per task, and a retry/timeout layer for flaky endpoints.

// Every dependency in Cargo.toml is used (CI: clippy -D warnings); dev-dependencies are
// exempt because each test binary uses only some of them.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod avs;
pub mod contracts;
pub mod convert;
mod error;
mod intake;
pub mod pubkeys;
pub mod registry;
pub mod rpc_counter;
pub mod rpc_retry;
pub mod submitter;

pub use avs::{
    AvsProfile, AvsSpec, ChainTask, ContractsSpec, DigestSpec, IntakeSpec, ProfileError,
    RespondSpec, ResponseSpec, TaskSpec, ViewSpec,
};
pub use intake::{FoundTask, IntakeCursor, IntakeError, IntakeStep, SkippedLog, TaskIntake};
pub use pubkeys::{OperatorKeys, PubkeyCache};
pub use registry::{ChainOperatorRegistry, ChainRegistryConfig, RegistryAddresses};
pub use rpc_counter::{CallCounter, CountingLayer};
pub use rpc_retry::{RetryTimeoutLayer, RpcRetryConfig};
pub use submitter::{AvsResponseCall, ChainSubmitter, SubmitterConfig};
