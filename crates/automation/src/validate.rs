//! Checks a submitted workflow once, at creation, and compiles its DAG into a [`Plan`]: a
//! refused workflow is never stored, and a stored one cannot fail on its own shape later.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use alloy_json_abi::Function;
use serde::{Deserialize, Serialize};

use crate::model::{Edge, Node, NodeKind, WorkflowSpec};
use crate::trigger::{TriggerError, TriggerLimits};

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

/// Names a step may not take: the globals code steps rely on.
const RESERVED_NAMES: &[&str] = &[
    "trigger",
    "secrets",
    "value",
    "index",
    "console",
    "JSON",
    "Math",
    "Object",
    "Array",
    "String",
    "Number",
    "Boolean",
    "Date",
    "undefined",
    "null",
    "true",
    "false",
    "this",
    "function",
    "return",
    "var",
    "let",
    "const",
    "new",
    "delete",
    "typeof",
    "class",
];

/// Longest node id or name.
const MAX_ID_CHARS: usize = 64;

/// HTTP methods a REST step may use.
const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

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

/// Checks ids, names and each node's settings; returns id → index.
fn check_nodes<'a>(
    nodes: &'a [Node],
    limits: &WorkflowLimits,
) -> Result<HashMap<&'a str, usize>, WorkflowError> {
    let mut ids = HashMap::with_capacity(nodes.len());
    let mut names = BTreeSet::new();
    for (i, node) in nodes.iter().enumerate() {
        let bad = |reason: String| WorkflowError::NodeName {
            node: node.id.clone(),
            reason,
        };
        if node.id.is_empty()
            || node.id.len() > MAX_ID_CHARS
            || !node
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(bad(format!(
                "an id is 1 to {MAX_ID_CHARS} of [A-Za-z0-9_-]"
            )));
        }
        if ids.insert(node.id.as_str(), i).is_some() {
            return Err(bad("id used twice".into()));
        }
        if !is_identifier(&node.name) || node.name.len() > MAX_ID_CHARS {
            return Err(bad(format!(
                "name '{}' must be a JavaScript identifier of at most {MAX_ID_CHARS} characters",
                node.name
            )));
        }
        if RESERVED_NAMES.contains(&node.name.as_str()) {
            return Err(bad(format!("name '{}' is reserved", node.name)));
        }
        if !names.insert(node.name.as_str()) {
            return Err(bad(format!("name '{}' used twice", node.name)));
        }
        check_kind(node, limits)?;
    }
    Ok(ids)
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    // No `$`: template paths (`{{name.data}}`) take only these characters.
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_kind(node: &Node, limits: &WorkflowLimits) -> Result<(), WorkflowError> {
    let kind = node.kind.label();
    let bad = |reason: String| WorkflowError::BadNode {
        node: node.id.clone(),
        kind,
        reason,
    };
    let too_long = |what: &str, len: usize, max: usize| {
        (len > max).then(|| bad(format!("{what} is {len} bytes, at most {max}")))
    };
    let check_url = |url: &str| -> Result<(), WorkflowError> {
        if let Some(e) = too_long("url", url.len(), limits.max_url_bytes) {
            return Err(e);
        }
        // A URL may be a template (`{{base.data.url}}/x`); its scheme is checked again once
        // rendered, before any request.
        let lower = url.trim_start().to_ascii_lowercase();
        if !(lower.starts_with("http://")
            || lower.starts_with("https://")
            || lower.starts_with("{{"))
        {
            return Err(bad(format!("url must be http(s), got '{}'", preview(url))));
        }
        Ok(())
    };
    let check_headers =
        |headers: &BTreeMap<String, String>| match headers.len() > limits.max_headers {
            true => Err(bad(format!(
                "{} headers, at most {}",
                headers.len(),
                limits.max_headers
            ))),
            false => Ok(()),
        };
    match &node.kind {
        NodeKind::RestApi(rest) => {
            if !METHODS.contains(&rest.method.to_ascii_uppercase().as_str()) {
                return Err(bad(format!(
                    "method '{}' is not one of {METHODS:?}",
                    preview(&rest.method)
                )));
            }
            check_url(&rest.url)?;
            check_headers(&rest.headers)?;
            let body = rest.body.as_deref().map_or(0, str::len);
            too_long("body", body, limits.max_body_bytes).map_or(Ok(()), Err)
        }
        NodeKind::Graphql(graphql) => {
            check_url(&graphql.url)?;
            check_headers(&graphql.headers)?;
            if graphql.query.trim().is_empty() {
                return Err(bad("the query is empty".into()));
            }
            let size = graphql.query.len()
                + serde_json::to_string(&graphql.variables).map_or(usize::MAX, |s| s.len());
            too_long("query and variables", size, limits.max_body_bytes).map_or(Ok(()), Err)
        }
        NodeKind::ContractRead(read) => check_contract_read(node, read),
        NodeKind::Branch(branch) => {
            if branch.conditions.is_empty() || branch.conditions.len() > limits.max_conditions {
                return Err(bad(format!("1 to {} conditions", limits.max_conditions)));
            }
            let mut seen = BTreeSet::new();
            let last = branch.conditions.len() - 1;
            for (i, condition) in branch.conditions.iter().enumerate() {
                if condition.id.is_empty() || !seen.insert(condition.id.as_str()) {
                    return Err(bad(format!(
                        "condition id '{}' empty or used twice",
                        condition.id
                    )));
                }
                if condition.expression.trim().is_empty() && i != last {
                    return Err(bad(format!(
                        "condition '{}': only the last may be an else",
                        condition.id
                    )));
                }
                if let Some(e) = too_long(
                    "expression",
                    condition.expression.len(),
                    limits.max_expression_bytes,
                ) {
                    return Err(e);
                }
            }
            Ok(())
        }
        NodeKind::Filter(filter) => {
            if filter.expression.trim().is_empty() || filter.input.trim().is_empty() {
                return Err(bad("input and expression are required".into()));
            }
            too_long(
                "expression",
                filter.expression.len(),
                limits.max_expression_bytes,
            )
            .map_or(Ok(()), Err)
        }
        NodeKind::CustomCode(code) => {
            if code.source.trim().is_empty() {
                return Err(bad("the source is empty".into()));
            }
            too_long("source", code.source.len(), limits.max_code_bytes).map_or(Ok(()), Err)
        }
    }
}

fn check_contract_read(
    node: &Node,
    read: &crate::model::ContractReadNode,
) -> Result<(), WorkflowError> {
    let bad_abi = |reason: String| WorkflowError::BadAbi {
        node: node.id.clone(),
        reason,
    };
    let function = match &read.method {
        Some(signature) => Some(parse_function(signature).map_err(bad_abi)?),
        None => None,
    };
    match (&read.calldata, &function) {
        (None, None) => Err(bad_abi("give calldata, or a method and its args".into())),
        (None, Some(f)) if f.inputs.len() != read.args.len() => Err(bad_abi(format!(
            "{} takes {} arguments, {} given",
            f.name,
            f.inputs.len(),
            read.args.len()
        ))),
        (Some(_), _) if !read.args.is_empty() => Err(bad_abi(
            "args are encoded from a method; with raw calldata give none".into(),
        )),
        _ => Ok(()),
    }
}

/// Parses a human-readable Solidity function signature (`function f(uint256 a) returns (bool)`;
/// the `function` keyword is optional).
pub(crate) fn parse_function(signature: &str) -> Result<Function, String> {
    let trimmed = signature.trim();
    let text = if trimmed.starts_with("function ") {
        trimmed.to_owned()
    } else {
        format!("function {trimmed}")
    };
    Function::parse(&text).map_err(|e| format!("'{}': {e}", preview(signature)))
}

/// Every `{{…}}` in a step must parse and name `trigger`, `secrets` or another step.
fn check_references(nodes: &[Node]) -> Result<(), WorkflowError> {
    let names: BTreeSet<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    for node in nodes {
        for template in templates(&node.kind) {
            let bad = |reason: String| WorkflowError::Reference {
                node: node.id.clone(),
                reason,
            };
            let roots =
                crate::template::reference_roots(template).map_err(|e| bad(e.to_string()))?;
            for root in roots {
                let known = root == "trigger"
                    || root == "secrets"
                    || (names.contains(root.as_str()) && root != node.name);
                if !known {
                    return Err(bad(format!(
                        "'{{{{{root}…}}}}' names no earlier step, 'trigger' or 'secrets'"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The strings of a step that are rendered as templates.
fn templates(kind: &NodeKind) -> Vec<&str> {
    fn json_strings<'a>(value: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match value {
            serde_json::Value::String(s) => out.push(s),
            serde_json::Value::Array(items) => items.iter().for_each(|v| json_strings(v, out)),
            serde_json::Value::Object(map) => map.values().for_each(|v| json_strings(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    match kind {
        NodeKind::RestApi(n) => {
            out.push(n.url.as_str());
            out.extend(n.headers.values().map(String::as_str));
            out.extend(n.body.as_deref());
        }
        NodeKind::Graphql(n) => {
            out.extend([n.url.as_str(), n.query.as_str()]);
            out.extend(n.headers.values().map(String::as_str));
            n.variables.values().for_each(|v| json_strings(v, &mut out));
        }
        NodeKind::ContractRead(n) => out.extend(n.args.iter().map(String::as_str)),
        NodeKind::Branch(n) => out.extend(n.conditions.iter().map(|c| c.expression.as_str())),
        NodeKind::Filter(n) => out.extend([n.input.as_str(), n.expression.as_str()]),
        NodeKind::CustomCode(n) => out.push(n.source.as_str()),
    }
    out
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
