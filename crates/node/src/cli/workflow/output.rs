//! The JSON the commands print. Fields the node sends as JSON text (spec, reason, steps, proof)
//! are embedded as JSON values, so the output can be piped straight into `jq`.

use quorate_api::pb;
use serde_json::{json, Value};

/// Prints one JSON object on stdout.
pub(in crate::cli) fn print(value: &Value, pretty: bool) -> anyhow::Result<()> {
    let text = if pretty {
        serde_json::to_string_pretty(value)?
    } else {
        value.to_string()
    };
    println!("{text}");
    Ok(())
}

/// `{"items":[…],"next_cursor":…}`; the cursor is `null` on the last page.
pub(in crate::cli) fn listing(items: impl Iterator<Item = Value>, next_cursor: &str) -> Value {
    json!({
        "items": items.collect::<Vec<_>>(),
        "next_cursor": non_empty(next_cursor),
    })
}

/// A workflow; `full` adds its spec (left out of listings to keep them short).
pub(super) fn workflow(w: &pb::Workflow, full: bool) -> Value {
    let mut value = json!({
        "id": w.id,
        "name": w.name,
        "owner": w.owner,
        "status": w.status,
        "total_execution": w.total_execution,
        "last_ran_at": w.last_ran_at,
        "created_at": w.created_at,
    });
    if full {
        value["spec"] = embedded(&w.spec_json);
    }
    value
}

/// An execution; `full` adds its steps and proof (left out of listings).
pub(super) fn execution(e: &pb::Execution, full: bool) -> Value {
    let mut value = json!({
        "id": e.id,
        "workflow_id": e.workflow_id,
        "status": e.status,
        "success": e.success,
        "error": non_empty(&e.error),
        "started_at_ms": e.started_at_ms,
        "ended_at_ms": e.ended_at_ms,
        "reason": embedded(&e.reason_json),
    });
    if full {
        value["steps"] = embedded(&e.steps_json);
        value["proof"] = embedded(&e.proof_json);
    }
    value
}

/// A secret's metadata (the API never returns a value).
pub(super) fn secret_info(s: &pb::SecretInfo) -> Value {
    json!({
        "name": s.name,
        "workflow_id": non_empty(&s.workflow_id),
        "updated_at": s.updated_at,
    })
}

fn non_empty(text: &str) -> Value {
    if text.is_empty() {
        Value::Null
    } else {
        Value::String(text.to_owned())
    }
}

/// JSON text as a value: `null` when empty, the text itself when it does not parse (shown
/// rather than failing the command over a field it only displays).
pub(super) fn embedded(text: &str) -> Value {
    if text.is_empty() {
        return Value::Null;
    }
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}
