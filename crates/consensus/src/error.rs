//! Typed errors. Every failure about data names the field path and the operators involved.

use quorate_domain::OperatorId;
use thiserror::Error;

use crate::number::Decimal;
use crate::outcome::{Disagreement, Exclusion};
use crate::path::FieldPath;
use crate::policy::WeightMeasure;

/// A JSON number (or a configured decimal) that cannot be represented exactly.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NumberError {
    /// Not JSON-number syntax.
    #[error("`{text}` is not a number")]
    Syntax {
        /// The offending text (shortened).
        text: String,
    },
    /// More integer digits or fraction digits than the exact arithmetic accepts.
    #[error(
        "`{text}` is too large or too precise (at most {max_integer_digits} integer digits and \
         {max_scale} fraction digits)"
    )]
    TooLarge {
        /// The offending text (shortened).
        text: String,
        /// The integer-digit limit.
        max_integer_digits: usize,
        /// The fraction-digit limit.
        max_scale: u32,
    },
}

/// A document that a codec cannot encode.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodecError {
    /// A JSON number that is not exact-decimal representable.
    #[error("field {path}: {source}")]
    Number {
        /// Where the number is.
        path: FieldPath,
        /// Why it was refused.
        source: NumberError,
    },
    /// Nesting deeper than [`crate::path::MAX_DEPTH`].
    #[error("field {path}: nesting deeper than {max} levels")]
    TooDeep {
        /// Where the limit was hit.
        path: FieldPath,
        /// The limit.
        max: usize,
    },
    /// The ABI codec encodes flat objects only.
    #[error("the ABI codec encodes a flat JSON object, got {found}")]
    NotAnObject {
        /// What was found instead.
        found: &'static str,
    },
    /// A required ABI field is absent.
    #[error("ABI field `{name}` is missing")]
    MissingField {
        /// The declared field.
        name: String,
    },
    /// The document has a key the ABI layout does not declare (it would be silently dropped).
    #[error("field `{name}` is not declared in the ABI layout")]
    UndeclaredField {
        /// The undeclared key.
        name: String,
    },
    /// A value does not fit its declared ABI type.
    #[error("ABI field `{name}`: expected {expected}, {reason}")]
    AbiValue {
        /// The field.
        name: String,
        /// The declared ABI type.
        expected: String,
        /// What is wrong.
        reason: String,
    },
}

/// Why no consensus document could be produced.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConsensusError {
    /// No responses at all.
    #[error("no operator responses")]
    NoResponses,
    /// Two responses carry the same operator id.
    #[error("operator {operator} responded more than once")]
    DuplicateOperator {
        /// The repeated operator.
        operator: OperatorId,
    },
    /// The policy weighs by stake but a response carries none.
    #[error("the policy weighs agreement by stake, but operator {operator} has no stake")]
    MissingStake {
        /// The operator without stake.
        operator: OperatorId,
    },
    /// The configuration is unusable (negative tolerance, fraction outside 0..=1, …).
    #[error("invalid consensus configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
    /// An operator's document contains a number that cannot be handled exactly, or is too deep.
    #[error("operator {operator}: {source}")]
    InvalidDocument {
        /// The operator whose document is refused.
        operator: OperatorId,
        /// What is wrong, with the field path.
        source: CodecError,
    },
    /// `Strict` policy: some operator disagrees somewhere.
    #[error("no consensus: {}", summarize(.disagreements))]
    NoConsensus {
        /// Every disagreement, by field path, with the operators and what each sent.
        disagreements: Vec<Disagreement>,
    },
    /// `ExcludeOutliers` policy: too few operators (or too little stake) agree.
    #[error("{0}")]
    BelowMinimum(Box<Shortfall>),
    /// The codec could not encode the normalized document (e.g. it does not fit an ABI layout).
    #[error("cannot encode the normalized document: {0}")]
    Encode(CodecError),
}

/// The details of [`ConsensusError::BelowMinimum`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "no consensus: {agreeing} of {responders} operators agree ({measure} {agreeing_weight} of \
     {total_weight}), below the required fraction {required}; excluded: {}",
    summarize_exclusions(.excluded)
)]
pub struct Shortfall {
    /// How many operators agree.
    pub agreeing: usize,
    /// How many responded.
    pub responders: usize,
    /// Whether weights are operator counts or stake.
    pub measure: WeightMeasure,
    /// Agreeing weight (count or stake), in decimal.
    pub agreeing_weight: String,
    /// Weight of all responders, in decimal.
    pub total_weight: String,
    /// The required fraction.
    pub required: Decimal,
    /// The excluded operators and why.
    pub excluded: Vec<Exclusion>,
}

fn summarize(disagreements: &[Disagreement]) -> String {
    let parts: Vec<String> = disagreements.iter().map(ToString::to_string).collect();
    parts.join("; ")
}

fn summarize_exclusions(excluded: &[Exclusion]) -> String {
    if excluded.is_empty() {
        return "none".to_owned();
    }
    let parts: Vec<String> = excluded.iter().map(ToString::to_string).collect();
    parts.join("; ")
}
