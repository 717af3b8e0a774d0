//! Median normalization of operators' numeric responses, and the two-digest scheme.
//!
//! Operators that fetch time-sensitive data (prices, rates) return slightly different numbers,
//! but BLS aggregation needs every signer to sign the same bytes. [`normalize()`] takes one JSON
//! document per operator and reaches agreement exactly and explicitly:
//!
//! - every numeric leaf at any depth (JSON numbers and numeric strings; paths through object
//!   keys and array indices) is compared in exact decimal arithmetic ([`Decimal`]; 256-bit
//!   integers and long decimals keep every digit);
//! - each numeric field's median ([`median()`]) must be within a [`Tolerance`] of every value.
//!   A string in numeric syntax (`"42"`, `"-1.50"`) is a number too; a field that merely looks
//!   numeric (a version, an id) must then agree within the tolerance — give such fields a
//!   non-numeric form (`"v42"`, hex) if they must match exactly;
//! - non-numeric leaves must be identical, and a field missing from some responses is a
//!   structural mismatch; every failure names the [`FieldPath`] and the operators;
//! - an [`OutlierPolicy`] decides whether any disagreement fails (`Strict`) or disagreeing
//!   operators are dropped while enough responders or stake remain (`ExcludeOutliers`);
//! - the result ([`ConsensusOutcome`]) is the normalized document (types preserved), the
//!   adjustments, the exclusions, counters for metrics, and two keccak256 digests under a
//!   pluggable [`Codec`] — the consensus digest without [attestations](AttestationPaths)
//!   (what operators sign) and the full digest with them. [`CanonicalJson`] (RFC 8785 with
//!   exact numbers) is the default, [`AbiCodec`] an `abi.encode` example;
//! - when all responses are identical after canonicalization, a fast path skips normalization
//!   and says so in [`ConsensusStats::fast_path`].
//!
//! The crate is pure and synchronous: no I/O, no async runtime, no panics on any input.
//!
//! ```
//! use quorate_consensus::{normalize, ConsensusConfig, Decimal, OperatorResponse, Tolerance};
//! use quorate_domain::OperatorId;
//!
//! let op = |i: u8| OperatorId::new([i; 32]).unwrap();
//! let doc = |p: &str| serde_json::from_str(&format!(r#"{{"eth_usd": {p}, "source": "x"}}"#)).unwrap();
//! let responses = vec![
//!     OperatorResponse::new(op(1), doc("3001.5")),
//!     OperatorResponse::new(op(2), doc("3000.25")),
//!     OperatorResponse::new(op(3), doc("3002")),
//! ];
//! let config = ConsensusConfig::new(Tolerance::percent("1".parse::<Decimal>().unwrap()).unwrap());
//! let outcome = normalize(&responses, &config).unwrap();
//! assert_eq!(outcome.normalized["eth_usd"].to_string(), "3001.50");
//! assert_eq!(outcome.stats.fields_normalized, 1);
//! ```

// Every dependency in Cargo.toml is used (CI: clippy -D warnings); dev-dependencies are
// exempt because each test binary uses only some of them.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]
// The public API is what lib.rs re-exports, each item once.
#![warn(unreachable_pub)]

mod abi;
mod codec;
mod digest;
mod error;
mod median;
mod normalize;
mod number;
mod outcome;
mod path;
mod policy;

pub use abi::{AbiCodec, AbiField, AbiType};
pub use codec::{canonical_json_string, CanonicalJson, Codec};
pub use digest::{consensus_digest, digests, full_digest, keccak256, Digests};
pub use error::{CodecError, ConsensusError, NumberError, Shortfall};
pub use median::{median, Tolerance};
pub use normalize::{normalize, normalize_with_codec, ConsensusConfig, OperatorResponse};
pub use number::{Decimal, MAX_INTEGER_DIGITS, MAX_SCALE};
pub use outcome::{
    Adjustment, ConsensusOutcome, ConsensusStats, Disagreement, Exclusion, FieldIssue, Issue,
    OperatorIssue, OperatorValue,
};
pub use path::{AttestationPaths, FieldPath, Segment, MAX_DEPTH};
pub use policy::{MinAgreeing, OutlierPolicy, WeightMeasure};
