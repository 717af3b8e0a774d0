//! Contract-write and ETH-transfer steps: the call is rendered and encoded here, then sent
//! from the workflow's smart wallet through the [`WalletSender`] the node bound to this
//! execution. Output: the UserOperation and receipt, and the decoded return values.
//!
//! No step timeout applies to the send: an operation that is already on its way may still land,
//! so the step waits for the bundler's verdict (which has its own receipt timeout).

use alloy_dyn_abi::FunctionExt;
use alloy_primitives::{Address, Bytes, U256};
use serde_json::{json, Map, Value};

use super::abi_json::to_json;
use super::contract_read::CallInput;
use super::{StepContext, StepError, StepFailure, StepOutput};
use crate::model::{ContractWriteNode, EthTransferNode};
use crate::ports::{WalletCallRequest, WalletRefusal, WalletSendError};

/// A contract call from the wallet.
pub(super) async fn contract_write(
    node: &ContractWriteNode,
    node_id: &str,
    context: &StepContext<'_>,
) -> Result<StepOutput, StepFailure> {
    let call = CallInput::render(node.method.as_deref(), &node.args, context)?;
    let value = match &node.value {
        Some(template) => Some(context.render(template)?),
        None => None,
    };
    let inputs = json!({
        "address": node.address.to_checksum(None),
        "method": node.method,
        "args": call.redacted_args(),
        "value": value.as_ref().map(|v| v.redacted.clone()),
    });
    let fail = |error: StepError| StepFailure::new(inputs.clone(), error);
    let wei = match &value {
        Some(v) => parse_wei(&v.value).map_err(fail)?,
        None => U256::ZERO,
    };
    let data = call.calldata(node.calldata.as_ref()).map_err(fail)?;
    let function = call.function;
    let request = WalletCallRequest {
        node_id: node_id.to_owned(),
        to: node.address,
        value: wei,
        data,
    };
    let (mut data, return_data) = send(request, context)
        .await
        .map_err(|f| f.with_inputs(&inputs))?;
    if let (Some(function), Some(map)) = (&function, data.as_object_mut()) {
        let values = function.abi_decode_output(&return_data).map_err(|e| {
            fail(StepError::Abi {
                reason: format!("the return data does not decode: {e}"),
            })
        })?;
        map.insert(
            "values".into(),
            Value::Array(values.iter().map(to_json).collect()),
        );
    }
    Ok(StepOutput {
        inputs,
        data,
        log: String::new(),
        chosen_condition: None,
    })
}

/// ETH from the wallet.
pub(super) async fn eth_transfer(
    node: &EthTransferNode,
    node_id: &str,
    context: &StepContext<'_>,
) -> Result<StepOutput, StepFailure> {
    let destination = context.render(&node.destination)?;
    let amount = context.render(&node.amount)?;
    let inputs = json!({
        "destination": destination.redacted,
        "amount": amount.redacted,
    });
    let fail = |error: StepError| StepFailure::new(inputs.clone(), error);
    let to: Address = destination.value.trim().parse().map_err(|e| {
        fail(StepError::Abi {
            reason: format!("destination is not an address: {e}"),
        })
    })?;
    let value = parse_wei(&amount.value).map_err(fail)?;
    let request = WalletCallRequest {
        node_id: node_id.to_owned(),
        to,
        value,
        data: Bytes::new(),
    };
    let (data, _) = send(request, context)
        .await
        .map_err(|f| f.with_inputs(&inputs))?;
    Ok(StepOutput {
        inputs,
        data,
        log: String::new(),
        chosen_condition: None,
    })
}

/// Sends through the execution's wallet: the record (`userOp`, `receipt`, `returnData`) and
/// the raw return data, or the failure (with the record, when the operation reached the
/// chain and reverted there).
async fn send(
    request: WalletCallRequest,
    context: &StepContext<'_>,
) -> Result<(Value, Bytes), StepFailure> {
    let wallet = context.wallet.ok_or_else(|| {
        StepFailure::from(StepError::Wallet(WalletSendError {
            kind: WalletRefusal::Unavailable,
            message: "this node has no smart wallets configured".into(),
        }))
    })?;
    let outcome = wallet.send(request).await.map_err(StepError::Wallet)?;
    let mut record = match outcome.record {
        Value::Object(map) => map,
        other => Map::from_iter([("record".to_owned(), other)]),
    };
    record.insert(
        "returnData".into(),
        Value::String(outcome.return_data.to_string()),
    );
    if !outcome.success {
        let reason = outcome
            .revert_reason
            .unwrap_or_else(|| "reverted without data".into());
        let mut failure = StepFailure::from(StepError::Wallet(WalletSendError {
            kind: WalletRefusal::Reverted,
            message: format!("the call reverted on chain: {reason}"),
        }));
        failure.data = Value::Object(record);
        return Err(failure);
    }
    Ok((Value::Object(record), outcome.return_data))
}

/// Wei from a rendered decimal or 0x-hex string.
fn parse_wei(text: &str) -> Result<U256, StepError> {
    let text = text.trim();
    let not_wei = |why: String| StepError::Abi {
        reason: format!("'{text}' is not an amount of wei: {why}"),
    };
    let (digits, radix) = match text.strip_prefix("0x") {
        Some(hex) => (hex, 16),
        None => (text, 10),
    };
    // ruint reads an empty string as zero; an empty amount is a mistake, not zero wei.
    if digits.is_empty() {
        return Err(not_wei("no digits".into()));
    }
    U256::from_str_radix(digits, radix).map_err(|e| not_wei(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wei_parses_decimal_and_hex_only() {
        assert_eq!(parse_wei(" 1000 ").ok(), Some(U256::from(1000u32)));
        assert_eq!(parse_wei("0x10").ok(), Some(U256::from(16u8)));
        assert!(parse_wei("1e18").is_err());
        assert!(parse_wei("-1").is_err());
        assert!(parse_wei("").is_err());
        assert!(parse_wei("0x").is_err());
    }
}
