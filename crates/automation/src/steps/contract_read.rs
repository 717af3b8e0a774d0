//! Contract-read steps: calldata from the step (raw, or encoded from the method and its rendered
//! arguments), one `eth_call`, and the result decoded by the method's return types.

use alloy_dyn_abi::{DynSolValue, FunctionExt, JsonAbiExt, Specifier};
use alloy_primitives::Bytes;
use serde_json::{json, Map, Value};

use super::abi_json::to_json;
use super::{StepContext, StepError, StepFailure, StepOutput};
use crate::model::ContractReadNode;
use crate::validate::parse_function;

/// Output: `{ "raw": 0x…, "values": [..] }`, and `"named": {..}` for named return values. With
/// raw calldata and no method, only `raw`.
pub(super) async fn run(
    node: &ContractReadNode,
    context: &StepContext<'_>,
) -> Result<StepOutput, StepFailure> {
    let call = CallInput::render(node.method.as_deref(), &node.args, context)?;
    let inputs = json!({
        "address": node.address.to_checksum(None),
        "method": node.method,
        "args": call.redacted_args(),
    });
    let fail = |error: StepError| StepFailure::new(inputs.clone(), error);
    let calldata = call.calldata(node.calldata.as_ref()).map_err(fail)?;
    let function = call.function;
    let chain = context.chain.ok_or(StepError::NoChain).map_err(fail)?;
    let timeout = context.limits.step_timeout();
    let result = match tokio::time::timeout(timeout, chain.call(node.address, calldata)).await {
        Ok(result) => result.map_err(|e| fail(e.into()))?,
        Err(_) => {
            return Err(fail(StepError::Timeout {
                millis: context.limits.step_timeout_ms,
            }))
        }
    };
    let mut data = Map::new();
    data.insert("raw".into(), Value::String(result.to_string()));
    if let Some(function) = &function {
        let values = function.abi_decode_output(&result).map_err(|e| {
            fail(StepError::Abi {
                reason: format!("result does not decode: {e}"),
            })
        })?;
        let named: Map<String, Value> = function
            .outputs
            .iter()
            .zip(&values)
            .filter(|(param, _)| !param.name.is_empty())
            .map(|(param, value)| (param.name.clone(), to_json(value)))
            .collect();
        data.insert(
            "values".into(),
            Value::Array(values.iter().map(to_json).collect()),
        );
        if !named.is_empty() {
            data.insert("named".into(), Value::Object(named));
        }
    }
    Ok(StepOutput {
        inputs,
        data: Value::Object(data),
        log: String::new(),
        chosen_condition: None,
    })
}

/// A contract call's rendered parts: the parsed method and its rendered arguments.
pub(super) struct CallInput {
    /// The method, when the step gives one.
    pub(super) function: Option<alloy_json_abi::Function>,
    /// Each argument rendered (sending and redacted forms).
    rendered: Vec<crate::template::Rendered>,
}

impl CallInput {
    /// Parses `method` and renders `args` (shared by contract reads and writes).
    pub(super) fn render(
        method: Option<&str>,
        args: &[String],
        context: &StepContext<'_>,
    ) -> Result<Self, StepError> {
        let function = method
            .map(parse_function)
            .transpose()
            .map_err(|reason| StepError::Abi { reason })?;
        let mut rendered = Vec::with_capacity(args.len());
        for arg in args {
            rendered.push(context.render(arg)?);
        }
        Ok(Self { function, rendered })
    }

    /// The arguments as the record shows them (secrets as `***`).
    pub(super) fn redacted_args(&self) -> Vec<String> {
        self.rendered.iter().map(|a| a.redacted.clone()).collect()
    }

    /// `raw` when given, else the method's call with the arguments.
    pub(super) fn calldata(&self, raw: Option<&Bytes>) -> Result<Bytes, StepError> {
        match (raw, &self.function) {
            (Some(raw), _) => Ok(raw.clone()),
            (None, Some(function)) => {
                let args: Vec<&str> = self.rendered.iter().map(|a| a.value.as_str()).collect();
                encode_call(function, &args)
            }
            (None, None) => Err(StepError::Abi {
                reason: "no calldata and no method".into(),
            }),
        }
    }
}

/// Parses each rendered argument as its parameter's type and encodes the call.
fn encode_call(function: &alloy_json_abi::Function, args: &[&str]) -> Result<Bytes, StepError> {
    let mut values: Vec<DynSolValue> = Vec::with_capacity(args.len());
    for (param, arg) in function.inputs.iter().zip(args) {
        let ty = param.resolve().map_err(|e| StepError::Abi {
            reason: format!("{}: {e}", param.ty),
        })?;
        let value = ty.coerce_str(arg.trim()).map_err(|e| StepError::Abi {
            reason: format!("argument '{}' is not a {}: {e}", param.name, param.ty),
        })?;
        values.push(value);
    }
    function
        .abi_encode_input(&values)
        .map(Bytes::from)
        .map_err(|e| StepError::Abi {
            reason: e.to_string(),
        })
}
