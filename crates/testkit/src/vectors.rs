//! Known-answer vectors of the on-chain `BLSSignatureChecker`, recorded on the local devnet: an
//! oracle that is not the code under test. See `crates/testkit/vectors/README.md` for how they
//! are made and regenerated.

pub mod schema;

pub use schema::*;

/// `crates/testkit/vectors/check_signatures.json`, compiled in.
pub const CHECK_SIGNATURES_JSON: &str = include_str!("../vectors/check_signatures.json");

/// The parsed `check_signatures.json` (panics if the committed file does not parse).
pub fn check_signatures() -> VectorFile {
    let file = parse(CHECK_SIGNATURES_JSON).expect("check_signatures.json does not parse");
    assert_eq!(file.format, FORMAT, "check_signatures.json format");
    file
}
