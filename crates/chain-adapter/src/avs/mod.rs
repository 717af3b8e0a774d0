//! Any AVS by configuration: an [`AvsSpec`] names the task-created event and where a task's
//! id, reference block, quorums and thresholds are in it, the operators' response type, and
//! the respond call as a Solidity signature with an argument template. [`AvsProfile`]
//! compiles it once (every path and type checked at start-up) and then decodes tasks from logs
//! and payloads, checks responses, and builds the respond calldata with alloy's dynamic ABI —
//! so a node serves Incredible Squaring and any other AVS without code of its own.

mod call;
mod fields;
mod profile;
mod signature;
mod spec;
mod task;

pub use profile::{AvsProfile, ProfileError};
pub use spec::{
    AvsSpec, ContractsSpec, DigestSpec, IntakeSpec, RespondSpec, ResponseSpec, TaskSpec, ViewSpec,
};
pub use task::ChainTask;
