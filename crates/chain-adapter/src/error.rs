//! The adapter's own errors, mapped onto the domain's registry and submission errors at the
//! port boundary.

use alloy::transports::{RpcError, TransportErrorKind};
use quorate_domain::{BlockNumber, RegistryError};

/// Why a contract read failed: the endpoint, or the contract.
pub(crate) fn registry_error(
    what: &str,
    block: BlockNumber,
    err: &alloy::contract::Error,
) -> RegistryError {
    match err {
        alloy::contract::Error::TransportError(RpcError::Transport(kind)) => {
            RegistryError::Unavailable {
                reason: format!("{what} at block {block}: {kind}"),
            }
        }
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
