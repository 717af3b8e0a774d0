//! What a consensus run reports: the normalized document, its digests, what was adjusted,
//! who was excluded and why, and counters for metrics.

use std::fmt;

use quorate_domain::{OperatorId, ResponseDigest};
use serde::Serialize;
use serde_json::Value;

use crate::number::Decimal;
use crate::path::FieldPath;

/// A reached consensus.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsensusOutcome {
    /// The document every agreeing operator should sign: numeric leaves replaced by the field
    /// medians (types and the field's scale kept), everything else as the agreeing operators
    /// sent it, attestations taken from the reference operator.
    pub normalized: Value,
    /// keccak256 of the codec encoding of `normalized` without attestations: what is signed.
    pub consensus_digest: ResponseDigest,
    /// keccak256 of the codec encoding of `normalized` with attestations.
    pub full_digest: ResponseDigest,
    /// The codec that produced both digests.
    pub codec: String,
    /// The agreeing operators, ascending by id.
    pub agreeing: Vec<OperatorId>,
    /// The agreeing operator whose document is the template of `normalized` (and whose
    /// attestation subtrees it carries): the lowest id among the agreeing operators.
    pub reference_operator: OperatorId,
    /// Numeric fields where at least one agreeing operator's value was changed, by path.
    pub adjustments: Vec<Adjustment>,
    /// Operators dropped by [`crate::OutlierPolicy::ExcludeOutliers`], ascending by id.
    pub excluded: Vec<Exclusion>,
    /// Counters for metrics.
    pub stats: ConsensusStats,
}

/// Counters a runtime turns into metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ConsensusStats {
    /// Every response was byte-identical after canonicalization: nothing was normalized.
    pub fast_path: bool,
    /// Number of responses.
    pub responders: usize,
    /// Number of agreeing operators.
    pub agreeing: usize,
    /// Number of excluded operators.
    pub excluded: usize,
    /// Numeric fields examined (0 on the fast path).
    pub numeric_fields: usize,
    /// Numeric fields whose value changed for at least one agreeing operator.
    pub fields_normalized: usize,
}

/// One numeric field that normalization changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Adjustment {
    /// The field.
    pub path: FieldPath,
    /// The median over the field's values.
    pub median: Decimal,
    /// The text written to the normalized document (the median at the field's scale; a JSON
    /// number or a string, as the field was).
    pub normalized: String,
    /// The agreeing operators whose value differs from `normalized`, with their original text.
    pub changed: Vec<OperatorValue>,
}

/// An operator's original value of a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperatorValue {
    /// The operator.
    pub operator: OperatorId,
    /// Its value as it sent it.
    pub value: String,
}

/// What is wrong with one operator's value of one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Issue {
    /// The numeric value is outside the tolerance around the median.
    OutOfTolerance {
        /// The operator's value.
        value: Decimal,
        /// The field's median.
        median: Decimal,
    },
    /// The field is present in the (weighted) majority of responses but not in this one.
    Missing,
    /// The field is absent from the (weighted) majority of responses but present in this one.
    Unexpected,
    /// The value differs from the majority's: another text, boolean, null, structure, or
    /// another number kind (JSON number vs numeric string).
    Differs {
        /// This operator's value (canonical JSON, or its kind for numbers; shortened).
        found: String,
        /// The majority's value, same form.
        expected: String,
    },
    /// The responses split evenly, with no (weighted) majority to agree with.
    NoMajority {
        /// This operator's value (canonical JSON, or its kind for numbers; shortened).
        found: String,
    },
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfTolerance { value, median } => {
                write!(
                    f,
                    "value {value} is outside the tolerance around median {median}"
                )
            }
            Self::Missing => f.write_str("field is missing"),
            Self::Unexpected => f.write_str("field is not in the majority's responses"),
            Self::Differs { found, expected } => write!(f, "has {found}, majority has {expected}"),
            Self::NoMajority { found } => write!(f, "has {found}, and no value has a majority"),
        }
    }
}

/// One operator's issue at one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperatorIssue {
    /// The operator.
    pub operator: OperatorId,
    /// What is wrong.
    pub issue: Issue,
}

/// All the issues at one field (used by `Strict` errors).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disagreement {
    /// The field.
    pub path: FieldPath,
    /// The operators that disagree there, ascending by id.
    pub operators: Vec<OperatorIssue>,
}

impl fmt::Display for Disagreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "field {}: ", display_path(&self.path))?;
        for (i, o) in self.operators.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "operator {} {}", o.operator, o.issue)?;
        }
        Ok(())
    }
}

/// One issue of an excluded operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldIssue {
    /// The field.
    pub path: FieldPath,
    /// What is wrong.
    pub issue: Issue,
}

/// An operator dropped by `ExcludeOutliers`, with every field it disagreed on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exclusion {
    /// The operator.
    pub operator: OperatorId,
    /// Why, by field.
    pub issues: Vec<FieldIssue>,
}

impl fmt::Display for Exclusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "operator {}: ", self.operator)?;
        for (i, x) in self.issues.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "field {} {}", display_path(&x.path), x.issue)?;
        }
        Ok(())
    }
}

fn display_path(p: &FieldPath) -> String {
    if p.segments().is_empty() {
        "(root)".to_owned()
    } else {
        p.to_string()
    }
}
