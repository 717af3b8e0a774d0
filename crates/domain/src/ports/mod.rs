//! The ports: traits the runtime is generic over, implemented by adapters.

mod registry;
mod scheme;
mod submitter;

pub use registry::*;
pub use scheme::*;
pub use submitter::*;
