//! Checks a submitted workflow once, at creation, and compiles its DAG into a [`Plan`]: a
//! refused workflow is never stored, and a stored one cannot fail on its own shape later.

mod nodes;

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::model::{Edge, Node, NodeKind, WorkflowSpec};
use crate::trigger::{TriggerError, TriggerLimits};
pub(crate) use nodes::parse_function;
use nodes::{check_nodes, check_references};

/// Limits on a workflow's shape. Every one is a node setting (`[automation.workflow]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkflowLimits {
    /// Longest name, in characters (255, as Ava).
    pub max_name_chars: usize,
    /// Most steps in one workflow.
    pub max_nodes: usize,
    /// Most edges in one workflow.
    pub max_edges: usize,
    /// Longest URL template, in bytes.
    pub max_url_bytes: usize,
    /// Most headers on one request.
    pub max_headers: usize,
    /// Longest request body or GraphQL query template, in bytes.
    pub max_body_bytes: usize,
    /// Longest custom-code source, in bytes.
    pub max_code_bytes: usize,
    /// Longest branch or filter expression, in bytes.
    pub max_expression_bytes: usize,
    /// Most conditions in one branch.
    pub max_conditions: usize,
    /// Limits on the trigger.
    pub trigger: TriggerLimits,
}

impl Default for WorkflowLimits {
    fn default() -> Self {
        Self {
            max_name_chars: 255,
            max_nodes: 64,
            max_edges: 128,
            max_url_bytes: 2048,
            max_headers: 32,
            max_body_bytes: 64 * 1024,
            max_code_bytes: 64 * 1024,
            max_expression_bytes: 4096,
            max_conditions: 16,
            trigger: TriggerLimits::default(),
        }
    }
}

/// Why a workflow was refused at creation. Each variant names the part at fault.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// The name is empty or too long.
    #[error("workflow name must be 1 to {max} characters, got {got}")]
    Name {
        /// The limit.
        max: usize,
        /// The name's length in characters.
        got: usize,
    },
    /// `expired_at` is not after `start_at`, or has already passed.
    #[error("expired_at {expired_at} must be after start_at {start_at} and after now ({now})")]
    Window {
        /// As submitted.
        start_at: u64,
        /// As submitted.
        expired_at: u64,
        /// The node's clock.
        now: u64,
    },
    /// No steps, or more than allowed.
    #[error("a workflow has 1 to {max} nodes, got {got}")]
    NodeCount {
        /// The limit.
        max: usize,
        /// Submitted.
        got: usize,
    },
    /// More edges than allowed.
    #[error("a workflow has at most {max} edges, got {got}")]
    EdgeCount {
        /// The limit.
        max: usize,
        /// Submitted.
        got: usize,
    },
    /// A node id or name is malformed or used twice.
    #[error("node '{node}': {reason}")]
    NodeName {
        /// The node's id (or the offending id).
        node: String,
        /// What is wrong.
        reason: String,
    },
    /// An edge names a node that does not exist.
    #[error("edge {from} -> {to}: unknown node '{missing}'")]
    DanglingEdge {
        /// Source id as written.
        from: String,
        /// Target id as written.
        to: String,
        /// The id that matches no node.
        missing: String,
    },
    /// An edge is malformed (self-loop, duplicate, or a condition that does not fit its source).
    #[error("edge {from} -> {to}: {reason}")]
    BadEdge {
        /// Source id.
        from: String,
        /// Target id.
        to: String,
        /// What is wrong.
        reason: String,
    },
    /// The edges form a cycle through this node.
    #[error("the edges form a cycle through node '{node}'")]
    Cycle {
        /// A node on the cycle.
        node: String,
    },
    /// A step's settings are invalid.
    #[error("node '{node}' ({kind}): {reason}")]
    BadNode {
        /// The node's id.
        node: String,
        /// Its kind.
        kind: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A contract-read method signature does not parse or does not fit its arguments.
    #[error("node '{node}': bad ABI: {reason}")]
    BadAbi {
        /// The node's id.
        node: String,
        /// What is wrong.
        reason: String,
    },
    /// A `{{…}}` reference does not parse or names no step.
    #[error("node '{node}': bad reference: {reason}")]
    Reference {
        /// The node's id.
        node: String,
        /// What is wrong.
        reason: String,
    },
    /// The trigger is invalid.
    #[error("trigger: {0}")]
    Trigger(#[from] TriggerError),
}

/// An edge into a node: the source's index and the branch condition it follows.
pub(crate) type IncomingEdge = (usize, Option<String>);

/// A validated workflow's DAG, ready to run: nodes in a topological order and each node's
/// incoming edges.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Node indices (into `WorkflowSpec::nodes`) in an order where every edge goes forward.
    pub(crate) order: Vec<usize>,
    /// For each node index, its incoming edges as (source index, branch condition).
    pub(crate) incoming: Vec<Vec<IncomingEdge>>,
}

impl Plan {
    /// Checks everything about `spec` that does not need the network, at `now` (unix seconds).
    pub fn new(
        spec: &WorkflowSpec,
        limits: &WorkflowLimits,
        now: u64,
    ) -> Result<Self, WorkflowError> {
        check_header(spec, limits, now)?;
        spec.trigger.validate(&limits.trigger)?;
        let index = check_nodes(&spec.nodes, limits)?;
        let incoming = check_edges(&spec.nodes, &spec.edges, &index)?;
        let order = topological_order(&spec.nodes, &incoming)?;
        check_references(&spec.nodes)?;
        Ok(Self { order, incoming })
    }

    /// Node indices (into the spec's `nodes`) in the order they run: every edge goes forward.
    pub fn order(&self) -> &[usize] {
        &self.order
    }
}

fn check_header(
    spec: &WorkflowSpec,
    limits: &WorkflowLimits,
    now: u64,
) -> Result<(), WorkflowError> {
    let chars = spec.name.chars().count();
    if chars == 0 || chars > limits.max_name_chars {
        return Err(WorkflowError::Name {
            max: limits.max_name_chars,
            got: chars,
        });
    }
    if spec.expired_at != 0 && (spec.expired_at <= spec.start_at || spec.expired_at <= now) {
        return Err(WorkflowError::Window {
            start_at: spec.start_at,
            expired_at: spec.expired_at,
            now,
        });
    }
    if spec.nodes.is_empty() || spec.nodes.len() > limits.max_nodes {
        return Err(WorkflowError::NodeCount {
            max: limits.max_nodes,
            got: spec.nodes.len(),
        });
    }
    if spec.edges.len() > limits.max_edges {
        return Err(WorkflowError::EdgeCount {
            max: limits.max_edges,
            got: spec.edges.len(),
        });
    }
    Ok(())
}

/// Checks the edges; returns each node's incoming edges.
fn check_edges(
    nodes: &[Node],
    edges: &[Edge],
    index: &HashMap<&str, usize>,
) -> Result<Vec<Vec<IncomingEdge>>, WorkflowError> {
    let mut incoming: Vec<Vec<IncomingEdge>> = vec![Vec::new(); nodes.len()];
    let mut seen = BTreeSet::new();
    for edge in edges {
        let lookup = |id: &str| {
            index
                .get(id)
                .copied()
                .ok_or_else(|| WorkflowError::DanglingEdge {
                    from: edge.source.clone(),
                    to: edge.target.clone(),
                    missing: id.to_owned(),
                })
        };
        let (source, target) = (lookup(&edge.source)?, lookup(&edge.target)?);
        let bad = |reason: &str| WorkflowError::BadEdge {
            from: edge.source.clone(),
            to: edge.target.clone(),
            reason: reason.to_owned(),
        };
        if source == target {
            return Err(bad("a node cannot follow itself"));
        }
        if !seen.insert((source, target, edge.condition.clone())) {
            return Err(bad("duplicate edge"));
        }
        match (&nodes[source].kind, &edge.condition) {
            (NodeKind::Branch(branch), Some(condition)) => {
                if !branch.conditions.iter().any(|c| &c.id == condition) {
                    return Err(bad(&format!("the branch has no condition '{condition}'")));
                }
            }
            (NodeKind::Branch(_), None) => {
                return Err(bad("an edge from a branch names its condition"))
            }
            (_, Some(_)) => return Err(bad("only edges from a branch name a condition")),
            (_, None) => {}
        }
        incoming[target].push((source, edge.condition.clone()));
    }
    Ok(incoming)
}

/// Kahn's algorithm; a node left over sits on a cycle.
fn topological_order(
    nodes: &[Node],
    incoming: &[Vec<IncomingEdge>],
) -> Result<Vec<usize>, WorkflowError> {
    let mut pending: Vec<usize> = incoming.iter().map(Vec::len).collect();
    let mut outgoing = vec![Vec::new(); nodes.len()];
    for (target, edges) in incoming.iter().enumerate() {
        for (source, _) in edges {
            outgoing[*source].push(target);
        }
    }
    // Ready nodes in declaration order, so independent steps run in the order the owner wrote.
    let mut ready: BTreeSet<usize> = (0..nodes.len()).filter(|&i| pending[i] == 0).collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(next) = ready.pop_first() {
        order.push(next);
        for &target in &outgoing[next] {
            pending[target] -= 1;
            if pending[target] == 0 {
                ready.insert(target);
            }
        }
    }
    match (0..nodes.len()).find(|&i| pending[i] > 0) {
        Some(stuck) => Err(WorkflowError::Cycle {
            node: nodes[stuck].id.clone(),
        }),
        None => Ok(order),
    }
}

/// The first 64 characters of user text, for error messages.
pub(crate) fn preview(text: &str) -> String {
    const MAX: usize = 64;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
