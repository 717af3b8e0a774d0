//! Checks of each step: ids and names, each kind's settings, method signatures, and the
//! `{{…}}` references in its templates.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use alloy_json_abi::Function;

use super::{preview, WorkflowError, WorkflowLimits};
use crate::model::{Node, NodeKind};

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

/// Checks ids, names and each node's settings; returns id → index.
pub(super) fn check_nodes<'a>(
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
        NodeKind::ContractRead(read) => check_call(
            node,
            read.calldata.is_some(),
            read.method.as_deref(),
            &read.args,
        ),
        NodeKind::ContractWrite(write) => {
            if write.address == alloy_primitives::Address::ZERO {
                return Err(bad("the contract address is zero".into()));
            }
            if let Some(e) = write
                .value
                .as_deref()
                .and_then(|v| too_long("value", v.len(), limits.max_expression_bytes))
            {
                return Err(e);
            }
            check_call(
                node,
                write.calldata.is_some(),
                write.method.as_deref(),
                &write.args,
            )
        }
        NodeKind::EthTransfer(transfer) => {
            if transfer.destination.trim().is_empty() || transfer.amount.trim().is_empty() {
                return Err(bad("destination and amount are required".into()));
            }
            let size = transfer.destination.len() + transfer.amount.len();
            too_long("destination and amount", size, limits.max_expression_bytes)
                .map_or(Ok(()), Err)
        }
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

/// A contract call (read or write): raw calldata, or a method with one argument per parameter.
fn check_call(
    node: &Node,
    has_calldata: bool,
    method: Option<&str>,
    args: &[String],
) -> Result<(), WorkflowError> {
    let bad_abi = |reason: String| WorkflowError::BadAbi {
        node: node.id.clone(),
        reason,
    };
    let function = match method {
        Some(signature) => Some(parse_function(signature).map_err(bad_abi)?),
        None => None,
    };
    match (has_calldata, &function) {
        (false, None) => Err(bad_abi("give calldata, or a method and its args".into())),
        (false, Some(f)) if f.inputs.len() != args.len() => Err(bad_abi(format!(
            "{} takes {} arguments, {} given",
            f.name,
            f.inputs.len(),
            args.len()
        ))),
        (true, _) if !args.is_empty() => Err(bad_abi(
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
pub(super) fn check_references(nodes: &[Node]) -> Result<(), WorkflowError> {
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
        NodeKind::ContractWrite(n) => {
            out.extend(n.args.iter().map(String::as_str));
            out.extend(n.value.as_deref());
        }
        NodeKind::EthTransfer(n) => out.extend([n.destination.as_str(), n.amount.as_str()]),
    }
    out
}
