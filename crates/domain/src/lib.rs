//! Quorate's pure domain: ids, task and aggregate types, typed errors, and the ports
//! (signature scheme, operator registry, response submitter) the runtime is generic over.

// Every dependency in Cargo.toml is used (CI: clippy -D warnings); dev-dependencies are
// exempt because each test binary uses only some of them.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod error;
mod ids;
mod operators;
mod points;
pub mod ports;
mod response;
pub mod sync;
mod task;

pub use error::*;
pub use ids::*;
pub use operators::*;
pub use points::*;
pub use ports::*;
pub use response::*;
pub use task::*;

pub use alloy_primitives::{B256, U256};
