//! The slices of the EntryPoint, the account factory and the session-key account the wallet
//! uses, declared by hand (a test checks every selector against the committed artifacts).

#![allow(missing_docs)]

alloy::sol! {
    /// EntryPoint v0.7's packed UserOperation.
    #[derive(Debug, PartialEq, Eq)]
    struct PackedUserOperation {
        address sender;
        uint256 nonce;
        bytes initCode;
        bytes callData;
        bytes32 accountGasLimits;
        uint256 preVerificationGas;
        bytes32 gasFees;
        bytes paymasterAndData;
        bytes signature;
    }

    /// The EntryPoint (v0.7).
    #[sol(rpc)]
    interface IEntryPoint {
        function handleOps(PackedUserOperation[] calldata ops, address payable beneficiary) external;
        function getUserOpHash(PackedUserOperation calldata userOp) external view returns (bytes32);
        function getNonce(address sender, uint192 key) external view returns (uint256 nonce);
        function balanceOf(address account) external view returns (uint256);
        function depositTo(address account) external payable;

        event UserOperationEvent(bytes32 indexed userOpHash, address indexed sender, address indexed paymaster, uint256 nonce, bool success, uint256 actualGasCost, uint256 actualGasUsed);
        event UserOperationRevertReason(bytes32 indexed userOpHash, address indexed sender, uint256 nonce, bytes revertReason);
        event AccountDeployed(bytes32 indexed userOpHash, address indexed sender, address factory, address paymaster);

        error FailedOp(uint256 opIndex, string reason);
        error FailedOpWithRevert(uint256 opIndex, string reason, bytes inner);
    }

    /// `SimpleAccountFactory` and `SessionKeyAccountFactory` share this interface and layout.
    #[sol(rpc)]
    interface IAccountFactory {
        function createAccount(address owner, uint256 salt) external returns (address ret);
        function getAddress(address owner, uint256 salt) external view returns (address);
        function accountImplementation() external view returns (address);
    }

    /// `SessionKeyAccount` (`contracts/src/aa`).
    #[sol(rpc)]
    interface ISessionKeyAccount {
        struct SessionGrant {
            address key;
            uint48 validUntil;
            uint256 spendLimit;
        }
        function execute(address dest, uint256 value, bytes calldata func) external;
        function initialize(address anOwner) external;
        function owner() external view returns (address);
        function grantHash(SessionGrant memory grant) external view returns (bytes32);
        function revokeSession(bytes32 hash) external;
        function sessionSpent(bytes32 hash) external view returns (uint256);
        function sessionRevoked(bytes32 hash) external view returns (bool);
    }
}

/// The committed artifact of the ERC-1967 proxy the factories deploy: its creation code is part
/// of every account address.
const ERC1967_PROXY_ARTIFACT: &str = include_str!("../../../contracts/out/ERC1967Proxy.json");

/// The proxy's creation code, parsed from the artifact once per process (every address
/// computation needs it). The artifact is committed and checked in CI, so failing to read it is
/// a build defect; it is still an error, not a panic.
pub(crate) fn proxy_creation_code() -> Result<&'static alloy::primitives::Bytes, String> {
    #[derive(serde::Deserialize)]
    struct Artifact {
        bytecode: alloy::primitives::Bytes,
    }
    static CODE: std::sync::OnceLock<Result<alloy::primitives::Bytes, String>> =
        std::sync::OnceLock::new();
    CODE.get_or_init(|| {
        serde_json::from_str::<Artifact>(ERC1967_PROXY_ARTIFACT)
            .map(|a| a.bytecode)
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    use alloy::json_abi::JsonAbi;
    use alloy::sol_types::{SolCall, SolError, SolEvent};

    use super::*;

    fn abi(name: &str) -> JsonAbi {
        let path = format!(
            "{}/../../contracts/out/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        serde_json::from_value(value["abi"].clone()).unwrap_or_default()
    }

    fn has_function(abi: &JsonAbi, selector: [u8; 4]) -> bool {
        abi.functions().any(|f| f.selector() == selector)
    }

    /// The hand-written declarations match the compiled contracts, selector for selector.
    #[test]
    fn declarations_match_the_artifacts() {
        let entry_point = abi("EntryPoint");
        for selector in [
            IEntryPoint::handleOpsCall::SELECTOR,
            IEntryPoint::getUserOpHashCall::SELECTOR,
            IEntryPoint::getNonceCall::SELECTOR,
            IEntryPoint::balanceOfCall::SELECTOR,
            IEntryPoint::depositToCall::SELECTOR,
        ] {
            assert!(has_function(&entry_point, selector), "{selector:?}");
        }
        let events: Vec<_> = entry_point.events().map(|e| e.selector()).collect();
        for topic in [
            IEntryPoint::UserOperationEvent::SIGNATURE_HASH,
            IEntryPoint::UserOperationRevertReason::SIGNATURE_HASH,
            IEntryPoint::AccountDeployed::SIGNATURE_HASH,
        ] {
            assert!(events.contains(&topic), "{topic}");
        }
        let errors: Vec<_> = entry_point.errors().map(|e| e.selector()).collect();
        assert!(errors.contains(&IEntryPoint::FailedOp::SELECTOR.into()));
        assert!(errors.contains(&IEntryPoint::FailedOpWithRevert::SELECTOR.into()));
        for factory in [abi("SessionKeyAccountFactory"), abi("SimpleAccountFactory")] {
            for selector in [
                IAccountFactory::createAccountCall::SELECTOR,
                IAccountFactory::getAddressCall::SELECTOR,
                IAccountFactory::accountImplementationCall::SELECTOR,
            ] {
                assert!(has_function(&factory, selector), "{selector:?}");
            }
        }
        let account = abi("SessionKeyAccount");
        for selector in [
            ISessionKeyAccount::executeCall::SELECTOR,
            ISessionKeyAccount::initializeCall::SELECTOR,
            ISessionKeyAccount::ownerCall::SELECTOR,
            ISessionKeyAccount::grantHashCall::SELECTOR,
            ISessionKeyAccount::revokeSessionCall::SELECTOR,
            ISessionKeyAccount::sessionSpentCall::SELECTOR,
            ISessionKeyAccount::sessionRevokedCall::SELECTOR,
        ] {
            assert!(has_function(&account, selector), "{selector:?}");
        }
    }

    #[test]
    fn proxy_creation_code_reads() {
        let code = proxy_creation_code().cloned().unwrap_or_default();
        assert!(code.len() > 500, "{} bytes", code.len());
    }
}
