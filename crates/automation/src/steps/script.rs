//! Steps that run JavaScript in the sandbox: branch conditions, filters and custom code. The
//! sandbox is synchronous and enforces its own time and memory limits; it runs on the blocking
//! pool so a slow script never stalls the async workers.

use serde_json::{json, Map, Value};

use super::{StepContext, StepError, StepFailure, StepOutput};
use crate::model::{BranchNode, CustomCodeNode, FilterNode};
use crate::sandbox::{Sandbox, SandboxError};

/// Tries the conditions in order; the first that is `true` (or an empty `else`) is chosen.
/// Output: `{ "condition_id": <id or null> }`. None true: no outgoing edge is followed.
pub(super) async fn branch(
    node: &BranchNode,
    context: &StepContext<'_>,
) -> Result<StepOutput, StepFailure> {
    let mut tried = Vec::new();
    for condition in &node.conditions {
        if condition.expression.trim().is_empty() {
            return Ok(chosen(tried, Some(condition.id.clone())));
        }
        let expression = context.render(&condition.expression)?;
        tried.push(json!({ "id": condition.id, "expression": expression.redacted }));
        let code = expression.value.as_str().to_owned();
        let outcome = blocking(context, move |sandbox, vars| {
            sandbox.eval_bool(&code, &vars)
        })
        .await;
        let inputs = Value::Array(tried.clone());
        match outcome {
            Ok(true) => return Ok(chosen(tried, Some(condition.id.clone()))),
            Ok(false) => {}
            Err(error) => return Err(StepFailure::new(inputs, error)),
        }
    }
    Ok(chosen(tried, None))
}

fn chosen(tried: Vec<Value>, condition: Option<String>) -> StepOutput {
    StepOutput {
        inputs: Value::Array(tried),
        data: json!({ "condition_id": condition }),
        log: String::new(),
        chosen_condition: condition,
    }
}

/// Keeps the items of the rendered input array for which the expression is `true`.
pub(super) async fn filter(
    node: &FilterNode,
    context: &StepContext<'_>,
) -> Result<StepOutput, StepFailure> {
    let input = context.render(&node.input)?;
    let expression = context.render(&node.expression)?;
    let inputs = json!({ "input": input.redacted, "expression": expression.redacted });
    let fail = |error: StepError| StepFailure::new(inputs.clone(), error);
    let items = match serde_json::from_str::<Value>(input.value.as_str()) {
        Ok(Value::Array(items)) => items,
        Ok(other) => {
            return Err(fail(StepError::NotArray {
                reason: format!("got {}", type_name(&other)),
            }))
        }
        Err(e) => {
            return Err(fail(StepError::NotArray {
                reason: e.to_string(),
            }))
        }
    };
    let code = expression.value.as_str().to_owned();
    let kept = blocking(context, move |sandbox, vars| {
        sandbox.filter(&code, &items, &vars)
    })
    .await
    .map_err(fail)?;
    Ok(StepOutput {
        inputs,
        data: Value::Array(kept),
        log: String::new(),
        chosen_condition: None,
    })
}

/// Runs the source (templates rendered first) as a function body; its return value is the
/// output and what it printed is the log.
pub(super) async fn custom_code(
    node: &CustomCodeNode,
    context: &StepContext<'_>,
) -> Result<StepOutput, StepFailure> {
    let source = context.render(&node.source)?;
    let inputs = json!({ "source": source.redacted });
    let code = source.value.as_str().to_owned();
    let outcome = blocking(context, move |sandbox, vars| sandbox.run_code(&code, &vars))
        .await
        .map_err(|error| StepFailure::new(inputs.clone(), error))?;
    Ok(StepOutput {
        inputs,
        data: outcome.value,
        log: outcome.log,
        chosen_condition: None,
    })
}

/// Runs `job` on the blocking pool with the sandbox and the step's variables.
async fn blocking<T, F>(context: &StepContext<'_>, job: F) -> Result<T, StepError>
where
    T: Send + 'static,
    F: FnOnce(&Sandbox, Map<String, Value>) -> Result<T, SandboxError> + Send + 'static,
{
    let sandbox = context.sandbox.clone();
    let vars = context.values.clone();
    match tokio::task::spawn_blocking(move || job(&sandbox, vars)).await {
        Ok(result) => Ok(result?),
        // The sandbox does not panic on any input; a join error means the runtime is shutting
        // down, and the step reports it rather than propagating a panic.
        Err(e) => Err(StepError::Sandbox(SandboxError::Engine {
            reason: e.to_string(),
        })),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
