//! ABI values as JSON for step outputs: integers as decimal strings (they exceed JavaScript's
//! safe integers), addresses checksummed, bytes as 0x-hex, tuples as arrays.

use alloy_dyn_abi::DynSolValue;
use serde_json::Value;

/// One decoded value as JSON.
pub(super) fn to_json(value: &DynSolValue) -> Value {
    match value {
        DynSolValue::Bool(b) => Value::Bool(*b),
        DynSolValue::Int(n, _) => Value::String(n.to_string()),
        DynSolValue::Uint(n, _) => Value::String(n.to_string()),
        DynSolValue::FixedBytes(word, size) => Value::String(format!(
            "0x{}",
            alloy_primitives::hex::encode(&word[..(*size).min(32)])
        )),
        DynSolValue::Address(address) => Value::String(address.to_checksum(None)),
        DynSolValue::Function(function) => Value::String(function.to_string()),
        DynSolValue::Bytes(bytes) => {
            Value::String(format!("0x{}", alloy_primitives::hex::encode(bytes)))
        }
        DynSolValue::String(s) => Value::String(s.clone()),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) | DynSolValue::Tuple(items) => {
            Value::Array(items.iter().map(to_json).collect())
        }
    }
}
