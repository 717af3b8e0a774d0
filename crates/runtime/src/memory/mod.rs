//! In-memory adapters: an operator registry changeable per block, and a submitter that checks
//! every aggregate exactly as `BLSSignatureChecker.checkSignatures` would.

mod registry;
mod submitter;

pub use registry::{InMemoryOperator, InMemoryRegistry};
pub use submitter::{InMemorySubmitter, DEFAULT_SUBMISSION_RETENTION};
