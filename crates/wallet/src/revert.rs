//! Revert data in words: `Error(string)`, `Panic(uint256)`, the EntryPoint's `FailedOp` /
//! `FailedOpWithRevert` (with their `AAxx` codes), or hex for anything else.

use alloy::primitives::Bytes;
use alloy::sol_types::{Panic, Revert, SolError};

use crate::contracts::IEntryPoint;

/// A readable reason for revert data.
pub fn decode_revert(data: &[u8]) -> String {
    if let Ok(revert) = Revert::abi_decode(data) {
        return revert.reason;
    }
    if let Ok(panic) = Panic::abi_decode(data) {
        return format!("panic 0x{:x}", panic.code);
    }
    if let Ok(failed) = IEntryPoint::FailedOp::abi_decode(data) {
        return failed.reason;
    }
    if let Ok(failed) = IEntryPoint::FailedOpWithRevert::abi_decode(data) {
        return format!("{} ({})", failed.reason, decode_revert(&failed.inner));
    }
    if data.is_empty() {
        return "reverted without data".into();
    }
    format!(
        "reverted with 0x{}",
        alloy::hex::encode(Bytes::copy_from_slice(data))
    )
}

#[cfg(test)]
mod tests {
    use alloy::primitives::U256;

    use super::*;

    #[test]
    fn reasons_decode() {
        let error = Revert::from("WalletTarget: refused").abi_encode();
        assert_eq!(decode_revert(&error), "WalletTarget: refused");
        let panic = Panic {
            code: U256::from(0x11u8),
        }
        .abi_encode();
        assert_eq!(decode_revert(&panic), "panic 0x11");
        let failed = IEntryPoint::FailedOp {
            opIndex: U256::ZERO,
            reason: "AA24 signature error".into(),
        }
        .abi_encode();
        assert_eq!(decode_revert(&failed), "AA24 signature error");
        let inner = IEntryPoint::FailedOpWithRevert {
            opIndex: U256::ZERO,
            reason: "AA23 reverted".into(),
            inner: error.into(),
        }
        .abi_encode();
        assert_eq!(
            decode_revert(&inner),
            "AA23 reverted (WalletTarget: refused)"
        );
        assert_eq!(decode_revert(&[]), "reverted without data");
        assert_eq!(decode_revert(&[0xde, 0xad]), "reverted with 0xdead");
    }
}
