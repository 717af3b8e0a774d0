//! The adapter's own errors, mapped onto the domain's registry and submission errors at the
//! port boundary.

use alloy::transports::{RpcError, TransportErrorKind};
use quorate_domain::{BlockNumber, QuorumNumber, RegistryError};

/// Why a contract read failed: the endpoint, or the contract. The reason names the call, the
/// block and the quorums, since `RegistryError` has no fields for them and a log line without
/// them cannot be matched to a task.
pub(crate) fn registry_error(
    what: &str,
    block: BlockNumber,
    quorums: &[QuorumNumber],
    err: &alloy::contract::Error,
) -> RegistryError {
    let qs: Vec<u8> = quorums.iter().map(|q| q.0).collect();
    let what = format!("{what}(quorums {qs:?})");
    match err {
        // Connection failures, timeouts, 5xx, corrupted bodies (after the retry layer gave
        // up, if the provider has one): the endpoint, not the question.
        alloy::contract::Error::TransportError(
            e @ (RpcError::Transport(_) | RpcError::DeserError { .. } | RpcError::NullResp),
        ) => RegistryError::Unavailable {
            reason: format!("{what} at block {block}: {e}"),
        },
        alloy::contract::Error::TransportError(RpcError::ErrorResp(resp)) => {
            let reason = format!("{what} at block {block}: {resp}");
            // A reverted history lookup usually means the block is not (yet) known.
            if resp.message.contains("revert") {
                RegistryError::BlockUnavailable { block, reason }
            } else {
                RegistryError::Unavailable { reason }
            }
        }
        other => RegistryError::InvalidData {
            reason: format!("{what} at block {block}: {other}"),
        },
    }
}

/// Transport failures of raw provider calls (logs, block number).
pub(crate) fn transport_error(what: &str, err: &RpcError<TransportErrorKind>) -> RegistryError {
    RegistryError::Unavailable {
        reason: format!("{what}: {err}"),
    }
}
