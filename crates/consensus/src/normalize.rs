//! The consensus run: fast path, structural agreement, medians, the outlier policy, and the
//! normalized document with its digests.
//!
//! # Algorithm
//! 1. Responses are ordered by operator id (so the result never depends on arrival order);
//!    duplicate ids are refused.
//! 2. **Fast path**: when every document has the same canonical JSON (attestations included),
//!    the lowest-id operator's document is the result as is; nothing is normalized.
//! 3. **Structure**: documents are flattened to leaves (see [`crate::path`]), attestation
//!    subtrees left out. At each path every operator falls in one class: absent, JSON number,
//!    numeric string, or one exact non-numeric value. When operators differ, the class with
//!    the strictly largest weight (one per operator, or stake under a stake-weighted policy)
//!    is the majority and everyone else gets an issue there (`Missing`, `Unexpected`,
//!    `Differs`); on a tie nobody has a majority and everyone there gets `NoMajority`.
//! 4. **Numbers**: for each numeric path the median is computed once, over the operators with
//!    no structural issue (see [`crate::median`](mod@crate::median)), and every value of the field's kind outside
//!    the tolerance gets `OutOfTolerance` (also for operators already failing elsewhere, so a
//!    report is complete). The median includes the numeric outliers (it is robust to them by
//!    construction) and is never recomputed, so every agreeing value is guaranteed to be
//!    within tolerance of the value written to the normalized document.
//! 5. **Policy**: `Strict` fails on any issue, listing them all by field; `ExcludeOutliers`
//!    drops every operator with an issue and succeeds when the rest reach the minimum share.
//! 6. **Output**: the lowest-id agreeing operator's document (the *reference*, also the source
//!    of the attestation subtrees) with each numeric leaf replaced by its field median —
//!    a JSON number stays a number and a numeric string a string, written with the field's
//!    scale (integers stay integers) — and its two digests under the codec.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use num_bigint::BigInt;
use quorate_domain::{OperatorId, Stake};
use serde_json::Value;

use crate::codec::{canonical_json_string, CanonicalJson, Codec};
use crate::digest::digests;
use crate::error::{CodecError, ConsensusError, NumberError, Shortfall};
use crate::median::{field_scale, median, Tolerance};
use crate::number::{truncate, Decimal};
use crate::outcome::{
    Adjustment, ConsensusOutcome, ConsensusStats, Disagreement, Exclusion, FieldIssue, Issue,
    OperatorIssue, OperatorValue,
};
use crate::path::{flatten, AttestationPaths, FieldPath, Leaf};
use crate::policy::{reaches, weight_of, OutlierPolicy, WeightMeasure};

/// One operator's response.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorResponse {
    /// Who sent it.
    pub operator: OperatorId,
    /// Its stake, needed when the policy weighs by stake.
    pub stake: Option<Stake>,
    /// The response document (parse it with serde_json's `arbitrary_precision`, as this crate
    /// enables, so no number is rounded before it gets here).
    pub document: Value,
}

impl OperatorResponse {
    /// A response without stake.
    pub fn new(operator: OperatorId, document: Value) -> Self {
        Self {
            operator,
            stake: None,
            document,
        }
    }

    /// Sets the operator's stake.
    pub fn with_stake(mut self, stake: Stake) -> Self {
        self.stake = Some(stake);
        self
    }
}

/// How consensus is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsensusConfig {
    /// How far numeric values may be from the median.
    pub tolerance: Tolerance,
    /// What happens to disagreeing operators.
    pub policy: OutlierPolicy,
    /// Subtrees that are neither compared nor part of the consensus digest.
    pub attestations: AttestationPaths,
}

impl ConsensusConfig {
    /// `Strict` policy, default attestation paths (keys named `attestation`).
    pub fn new(tolerance: Tolerance) -> Self {
        Self {
            tolerance,
            policy: OutlierPolicy::Strict,
            attestations: AttestationPaths::default(),
        }
    }

    /// Sets the outlier policy.
    pub fn with_policy(mut self, policy: OutlierPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the attestation paths.
    pub fn with_attestations(mut self, attestations: AttestationPaths) -> Self {
        self.attestations = attestations;
        self
    }

    /// Checks tolerances and the policy's fraction.
    pub fn validate(&self) -> Result<(), ConsensusError> {
        self.tolerance.validate()?;
        self.policy.validate()
    }
}

/// Reaches consensus with the default [`CanonicalJson`] codec. See the module docs.
pub fn normalize(
    responses: &[OperatorResponse],
    config: &ConsensusConfig,
) -> Result<ConsensusOutcome, ConsensusError> {
    normalize_with_codec(responses, config, &CanonicalJson)
}

/// Reaches consensus, computing the digests with `codec`. See the module docs.
pub fn normalize_with_codec<C: Codec + ?Sized>(
    responses: &[OperatorResponse],
    config: &ConsensusConfig,
    codec: &C,
) -> Result<ConsensusOutcome, ConsensusError> {
    config.validate()?;
    let sorted = sorted_unique(responses)?;
    let weights = weights(config, &sorted)?;
    let decision = if identical(&sorted)? {
        let all: Vec<usize> = (0..sorted.len()).collect();
        check_minimum(config, &sorted, &weights, &all, &[])?;
        Decision::unanimous(all)
    } else {
        normalize_fields(config, &sorted, &weights)?
    };
    decision.into_outcome(&sorted, config, codec)
}

/// The responses sorted by operator; an error for none or for an operator answering twice.
fn sorted_unique(responses: &[OperatorResponse]) -> Result<Vec<&OperatorResponse>, ConsensusError> {
    let mut sorted: Vec<&OperatorResponse> = responses.iter().collect();
    sorted.sort_by_key(|r| r.operator);
    if let Some(pair) = sorted.windows(2).find(|p| p[0].operator == p[1].operator) {
        return Err(ConsensusError::DuplicateOperator {
            operator: pair[0].operator,
        });
    }
    if sorted.is_empty() {
        return Err(ConsensusError::NoResponses);
    }
    Ok(sorted)
}

/// Each response's weight under the policy's measure; stake-weighted policies need every stake.
fn weights(
    config: &ConsensusConfig,
    sorted: &[&OperatorResponse],
) -> Result<Vec<BigInt>, ConsensusError> {
    let measure = config.policy.measure();
    if measure == WeightMeasure::Stake {
        if let Some(r) = sorted.iter().find(|r| r.stake.is_none()) {
            return Err(ConsensusError::MissingStake {
                operator: r.operator,
            });
        }
    }
    Ok(sorted.iter().map(|r| weight_of(measure, r.stake)).collect())
}

/// Whether every document has the same canonical form (the fast path: nothing to normalize).
fn identical(sorted: &[&OperatorResponse]) -> Result<bool, ConsensusError> {
    let canonical = sorted
        .iter()
        .map(|r| {
            canonical_json_string(&r.document).map_err(|source| ConsensusError::InvalidDocument {
                operator: r.operator,
                source,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(canonical.windows(2).all(|w| w.first() == w.last()))
}

/// What consensus decided, before the digests: built by the fast path or by normalization,
/// turned into the one [`ConsensusOutcome`] by [`Decision::into_outcome`].
struct Decision {
    /// The normalized document, or `None` for the reference's own document (fast path).
    normalized: Option<Value>,
    /// Positions (in the sorted responses) of the agreeing operators; the first is the reference.
    agreeing: Vec<usize>,
    /// Fields changed by normalization.
    adjustments: Vec<Adjustment>,
    /// Operators left out, with why.
    excluded: Vec<Exclusion>,
    /// Numeric fields compared.
    numeric_fields: usize,
    /// Whether the documents were identical.
    fast_path: bool,
}

impl Decision {
    /// Every response agrees as it is.
    fn unanimous(agreeing: Vec<usize>) -> Self {
        Self {
            normalized: None,
            agreeing,
            adjustments: Vec::new(),
            excluded: Vec::new(),
            numeric_fields: 0,
            fast_path: true,
        }
    }

    /// The outcome: the reference's document (normalized or as it is), its digests, the stats.
    fn into_outcome<C: Codec + ?Sized>(
        self,
        sorted: &[&OperatorResponse],
        config: &ConsensusConfig,
        codec: &C,
    ) -> Result<ConsensusOutcome, ConsensusError> {
        let Some(reference) = self.agreeing.first().and_then(|&i| sorted.get(i)) else {
            // Unreachable: `check_minimum` refuses an empty agreeing set.
            return Err(ConsensusError::NoResponses);
        };
        let normalized = self
            .normalized
            .unwrap_or_else(|| reference.document.clone());
        let d =
            digests(&normalized, &config.attestations, codec).map_err(ConsensusError::Encode)?;
        let stats = ConsensusStats {
            fast_path: self.fast_path,
            responders: sorted.len(),
            agreeing: self.agreeing.len(),
            excluded: self.excluded.len(),
            numeric_fields: self.numeric_fields,
            fields_normalized: self.adjustments.len(),
        };
        Ok(ConsensusOutcome {
            normalized,
            consensus_digest: d.consensus,
            full_digest: d.full,
            codec: codec.name().to_owned(),
            agreeing: self
                .agreeing
                .iter()
                .filter_map(|&i| sorted.get(i).map(|r| r.operator))
                .collect(),
            reference_operator: reference.operator,
            adjustments: self.adjustments,
            excluded: self.excluded,
            stats,
        })
    }
}

/// The slow path: structural and numeric passes, exclusions under the policy, the median of
/// each numeric field written into the reference's document.
fn normalize_fields(
    config: &ConsensusConfig,
    sorted: &[&OperatorResponse],
    weights: &[BigInt],
) -> Result<Decision, ConsensusError> {
    let leaves = sorted
        .iter()
        .map(|r| {
            flatten(&r.document, &config.attestations).map_err(|source| {
                ConsensusError::InvalidDocument {
                    operator: r.operator,
                    source,
                }
            })
        })
        .collect::<Result<Vec<_>, _>>()?;

    let mut issues: Vec<Vec<(FieldPath, Issue)>> = vec![Vec::new(); sorted.len()];
    let numeric_paths = structural_pass(&leaves, weights, &mut issues);
    let structurally_ok: Vec<bool> = issues.iter().map(Vec::is_empty).collect();
    let fields = numeric_pass(
        &numeric_paths,
        &leaves,
        &structurally_ok,
        &config.tolerance,
        &mut issues,
    )?;

    let agreeing: Vec<usize> = (0..sorted.len())
        .filter(|&i| issues.get(i).is_some_and(Vec::is_empty))
        .collect();
    let excluded = exclusions(sorted, &issues);
    if config.policy == OutlierPolicy::Strict && !excluded.is_empty() {
        return Err(ConsensusError::NoConsensus {
            disagreements: by_field(sorted, &issues),
        });
    }
    check_minimum(config, sorted, weights, &agreeing, &excluded)?;
    let Some(reference) = agreeing.first().and_then(|&i| sorted.get(i)) else {
        // Unreachable: `check_minimum` refuses an empty agreeing set.
        return Err(ConsensusError::NoResponses);
    };

    let mut normalized = reference.document.clone();
    let mut adjustments = Vec::new();
    for field in &fields {
        if let Some(slot) = field.path.get_mut(&mut normalized) {
            *slot = field.rendered.clone();
        }
        let changed: Vec<OperatorValue> = agreeing
            .iter()
            .filter_map(|&i| {
                let text = leaf_text(leaves.get(i)?.get(&field.path)?)?;
                let operator = sorted.get(i)?.operator;
                (text != field.text).then(|| OperatorValue {
                    operator,
                    value: text.to_owned(),
                })
            })
            .collect();
        if !changed.is_empty() {
            adjustments.push(Adjustment {
                path: field.path.clone(),
                median: field.median.clone(),
                normalized: field.text.clone(),
                changed,
            });
        }
    }
    Ok(Decision {
        normalized: Some(normalized),
        agreeing,
        adjustments,
        excluded,
        numeric_fields: fields.len(),
        fast_path: false,
    })
}

/// The operators with issues, each with its issues sorted by field.
fn exclusions(sorted: &[&OperatorResponse], issues: &[Vec<(FieldPath, Issue)>]) -> Vec<Exclusion> {
    sorted
        .iter()
        .zip(issues)
        .filter(|(_, list)| !list.is_empty())
        .map(|(r, list)| {
            let mut list: Vec<FieldIssue> = list
                .iter()
                .map(|(path, issue)| FieldIssue {
                    path: path.clone(),
                    issue: issue.clone(),
                })
                .collect();
            list.sort_by(|a, b| a.path.cmp(&b.path));
            Exclusion {
                operator: r.operator,
                issues: list,
            }
        })
        .collect()
}

/// The class of an operator's leaf at one path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Missing,
    Number,
    NumericString,
    Opaque(String),
}

impl Class {
    fn of(leaf: Option<&Leaf>) -> Self {
        match leaf {
            None => Self::Missing,
            Some(Leaf::Number { .. }) => Self::Number,
            Some(Leaf::NumericString { .. }) => Self::NumericString,
            Some(Leaf::Opaque(s)) => Self::Opaque(s.clone()),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Missing => "no value".to_owned(),
            Self::Number => "a JSON number".to_owned(),
            Self::NumericString => "a numeric string".to_owned(),
            Self::Opaque(s) => truncate(s, 64),
        }
    }

    fn is_numeric(&self) -> bool {
        matches!(self, Self::Number | Self::NumericString)
    }
}

/// Step 3: records structural issues; returns the paths whose majority class is numeric, with
/// that class.
fn structural_pass(
    leaves: &[BTreeMap<FieldPath, Leaf>],
    weights: &[BigInt],
    issues: &mut [Vec<(FieldPath, Issue)>],
) -> Vec<(FieldPath, Class)> {
    let paths: BTreeSet<&FieldPath> = leaves.iter().flat_map(BTreeMap::keys).collect();
    let mut numeric = Vec::new();
    for path in paths {
        let mut classes: BTreeMap<Class, (BigInt, Vec<usize>)> = BTreeMap::new();
        for (i, (map, w)) in leaves.iter().zip(weights).enumerate() {
            let entry = classes.entry(Class::of(map.get(path))).or_default();
            entry.0 += w;
            entry.1.push(i);
        }
        let Some(max) = classes.values().map(|(w, _)| w).max().cloned() else {
            continue;
        };
        let mut top = classes
            .iter()
            .filter(|(_, (w, _))| *w == max)
            .map(|(c, _)| c);
        let winner = match (top.next(), top.next()) {
            (Some(c), None) => Some(c.clone()),
            _ => None,
        };
        for (class, (_, ops)) in &classes {
            let issue = match &winner {
                Some(w) if w == class => continue,
                None => Issue::NoMajority {
                    found: class.describe(),
                },
                Some(_) if *class == Class::Missing => Issue::Missing,
                Some(Class::Missing) => Issue::Unexpected,
                Some(w) => Issue::Differs {
                    found: class.describe(),
                    expected: w.describe(),
                },
            };
            for &i in ops {
                if let Some(list) = issues.get_mut(i) {
                    list.push((path.clone(), issue.clone()));
                }
            }
        }
        if let Some(w) = winner.filter(Class::is_numeric) {
            numeric.push((path.clone(), w));
        }
    }
    numeric
}

/// A numeric field's outcome.
struct FieldMedian {
    path: FieldPath,
    median: Decimal,
    /// The text written (number text or string content).
    text: String,
    rendered: Value,
}

/// Step 4: medians over structurally sound operators, and tolerance issues for every operator
/// holding a value of the field's kind (so a `Strict` error also reports the numeric outliers
/// among operators that have structural issues elsewhere).
fn numeric_pass(
    paths: &[(FieldPath, Class)],
    leaves: &[BTreeMap<FieldPath, Leaf>],
    structurally_ok: &[bool],
    tolerance: &Tolerance,
    issues: &mut [Vec<(FieldPath, Issue)>],
) -> Result<Vec<FieldMedian>, ConsensusError> {
    let mut fields = Vec::with_capacity(paths.len());
    for (path, class) in paths {
        let is_string = *class == Class::NumericString;
        // Every operator with a value of the field's kind, and whether it is structurally sound.
        let mut checked: Vec<(usize, &Decimal, bool)> = Vec::new();
        for (i, map) in leaves.iter().enumerate() {
            let sound = structurally_ok.get(i).copied().unwrap_or(false);
            match (map.get(path), is_string) {
                (Some(Leaf::Number { value, .. }), false)
                | (Some(Leaf::NumericString { value, .. }), true) => {
                    checked.push((i, value, sound))
                }
                _ => {}
            }
        }
        // The median is over the sound operators; when there are none (no consensus anyway),
        // over all of them, so the report still names the numeric outliers.
        let any_sound = checked.iter().any(|(_, _, sound)| *sound);
        let holders: Vec<&Decimal> = checked
            .iter()
            .filter(|(_, _, sound)| *sound || !any_sound)
            .map(|(_, v, _)| *v)
            .collect();
        let scale = field_scale(holders.iter().copied());
        let mut values: Vec<Decimal> = holders.into_iter().cloned().collect();
        let Some(m) = median(&mut values, scale) else {
            continue;
        };
        for &(i, v, _) in &checked {
            if !tolerance.accepts(v, &m) {
                if let Some(list) = issues.get_mut(i) {
                    list.push((
                        path.clone(),
                        Issue::OutOfTolerance {
                            value: v.clone(),
                            median: m.clone(),
                        },
                    ));
                }
            }
        }
        let text = m.to_plain_string();
        let rendered = if is_string {
            Value::String(text.clone())
        } else {
            let n = serde_json::Number::from_str(&text).map_err(|_| {
                ConsensusError::Encode(CodecError::Number {
                    path: path.clone(),
                    source: NumberError::Syntax { text: text.clone() },
                })
            })?;
            Value::Number(n)
        };
        fields.push(FieldMedian {
            path: path.clone(),
            median: m,
            text,
            rendered,
        });
    }
    Ok(fields)
}

fn leaf_text(leaf: &Leaf) -> Option<&str> {
    match leaf {
        Leaf::Number { text, .. } | Leaf::NumericString { text, .. } => Some(text),
        Leaf::Opaque(_) => None,
    }
}

/// Issues regrouped by field, operators ascending.
fn by_field(sorted: &[&OperatorResponse], issues: &[Vec<(FieldPath, Issue)>]) -> Vec<Disagreement> {
    let mut map: BTreeMap<FieldPath, Vec<OperatorIssue>> = BTreeMap::new();
    for (r, list) in sorted.iter().zip(issues) {
        for (path, issue) in list {
            map.entry(path.clone()).or_default().push(OperatorIssue {
                operator: r.operator,
                issue: issue.clone(),
            });
        }
    }
    map.into_iter()
        .map(|(path, operators)| Disagreement { path, operators })
        .collect()
}

/// Step 5 for `ExcludeOutliers` (and a no-op for `Strict`, which has no exclusions here).
fn check_minimum(
    config: &ConsensusConfig,
    sorted: &[&OperatorResponse],
    weights: &[BigInt],
    agreeing: &[usize],
    excluded: &[Exclusion],
) -> Result<(), ConsensusError> {
    let (fraction, measure) = match &config.policy {
        OutlierPolicy::Strict => (Decimal::from(1u64), WeightMeasure::Responders),
        OutlierPolicy::ExcludeOutliers { min_agreeing } => {
            (min_agreeing.fraction().clone(), min_agreeing.measure())
        }
    };
    let total: BigInt = weights.iter().sum();
    let agreeing_weight: BigInt = agreeing.iter().filter_map(|&i| weights.get(i)).sum();
    let ok = !agreeing.is_empty()
        && (config.policy == OutlierPolicy::Strict || reaches(&agreeing_weight, &total, &fraction));
    if ok {
        return Ok(());
    }
    Err(ConsensusError::BelowMinimum(Box::new(Shortfall {
        agreeing: agreeing.len(),
        responders: sorted.len(),
        measure,
        agreeing_weight: agreeing_weight.to_string(),
        total_weight: total.to_string(),
        required: fraction,
        excluded: excluded.to_vec(),
    })))
}
