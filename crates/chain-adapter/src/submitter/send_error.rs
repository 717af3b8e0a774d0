//! What a failed `eth_sendRawTransaction` means for the submission. Nodes report pool
//! refusals as JSON-RPC errors whose code is not standardised (geth, anvil, reth and Erigon
//! all use `-32000` or `-32003` with different wording), so the refusal is read from the error
//! message; this is the one place that does it.

use alloy::transports::{RpcError, TransportErrorKind};

/// Why a transaction was not accepted by the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SendFailure {
    /// The fees are below what the pool accepts or below what replacing our earlier
    /// transaction at the same nonce needs: bump and send again.
    Underpriced,
    /// The nonce is used already (by our earlier attempt or by another sender).
    NonceTooLow,
    /// The node has this exact transaction already: it was sent.
    AlreadyKnown,
    /// The request did not get an answer: whether it reached the node is unknown.
    Transport(String),
    /// Refused for another reason (revert in the node's pre-check, insufficient funds, ...).
    Refused(String),
}

/// Pool refusals by the phrases nodes use for them (lower case).
const UNDERPRICED: &[&str] = &[
    "underpriced",
    "fee too low",
    "tip too low",
    "less than block base fee",
];
const NONCE_TOO_LOW: &[&str] = &["nonce too low", "nonce is too low", "already been used"];
const ALREADY_KNOWN: &[&str] = &["already known", "known transaction", "already imported"];

/// Classifies a send error.
pub(crate) fn classify(err: &RpcError<TransportErrorKind>) -> SendFailure {
    let Some(payload) = err.as_error_resp() else {
        // No JSON-RPC error object: the transport failed (or the answer did not parse).
        return SendFailure::Transport(err.to_string());
    };
    let message = payload.message.to_lowercase();
    let says = |phrases: &[&str]| phrases.iter().any(|p| message.contains(p));
    if says(UNDERPRICED) {
        SendFailure::Underpriced
    } else if says(NONCE_TOO_LOW) {
        SendFailure::NonceTooLow
    } else if says(ALREADY_KNOWN) {
        SendFailure::AlreadyKnown
    } else {
        SendFailure::Refused(payload.message.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::rpc::json_rpc::ErrorPayload;

    fn rpc(code: i64, message: &str) -> RpcError<TransportErrorKind> {
        RpcError::ErrorResp(ErrorPayload {
            code,
            message: message.to_string().into(),
            data: None,
        })
    }

    #[test]
    fn pool_refusals_of_the_common_nodes_are_told_apart() {
        let cases = [
            (
                "replacement transaction underpriced",
                SendFailure::Underpriced,
            ),
            (
                "transaction underpriced: tip needed 1, tip permitted 0",
                SendFailure::Underpriced,
            ),
            (
                "max fee per gas less than block base fee",
                SendFailure::Underpriced,
            ),
            (
                "nonce too low: next nonce 5, tx nonce 4",
                SendFailure::NonceTooLow,
            ),
            ("Nonce too low", SendFailure::NonceTooLow),
            ("already known", SendFailure::AlreadyKnown),
            (
                "insufficient funds for gas * price + value",
                SendFailure::Refused("insufficient funds for gas * price + value".into()),
            ),
        ];
        for (message, expected) in cases {
            assert_eq!(classify(&rpc(-32000, message)), expected, "{message}");
        }
    }

    #[test]
    fn a_failed_transport_is_not_a_refusal() {
        let err = TransportErrorKind::custom_str("connection reset");
        assert!(
            matches!(classify(&err), SendFailure::Transport(m) if m.contains("connection reset"))
        );
    }
}
