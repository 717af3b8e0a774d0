// SPDX-License-Identifier: MIT
pragma solidity ^0.8.23;

/// An ERC-4337 account (the sample `SimpleAccount` of eth-infinitism 0.7) that an owner can
/// let a session key drive within limits: the owner signs a grant (key, expiry, spending limit)
/// once, off chain; every UserOperation the key signs carries the grant, so the account checks
/// it even on the operation that deploys the account. The account itself enforces:
/// - the grant is signed by the owner for this account on this chain and is not revoked;
/// - the key signed this UserOperation;
/// - the expiry, returned as `validUntil` so the EntryPoint refuses a late operation;
/// - the spending limit, as the sum of ETH values the key's operations sent;
/// - the key only calls `execute`, and never the account or the EntryPoint, so it cannot
///   upgrade the account, revoke grants, change the owner or withdraw the deposit.
/// A 65-byte signature is the owner's own, as in `SimpleAccount`.

import "@account-abstraction/contracts/samples/SimpleAccount.sol";

contract SessionKeyAccount is SimpleAccount {
    /// What an owner lets a session key do.
    struct SessionGrant {
        /// The session key's address.
        address key;
        /// Last second (Unix time) the key may act; zero is refused (no open-ended grants).
        uint48 validUntil;
        /// Most wei the key's operations may send in total.
        uint256 spendLimit;
    }

    /// Domain tag of the grant hash, so a grant signature means nothing elsewhere.
    bytes32 public constant GRANT_TAG = keccak256("quorate-session-grant-v1");

    /// Wei sent so far under each grant (by grant hash).
    mapping(bytes32 => uint256) public sessionSpent;
    /// Grants the owner revoked (by grant hash).
    mapping(bytes32 => bool) public sessionRevoked;

    event SessionRevoked(bytes32 indexed grantHash);
    event SessionSpent(bytes32 indexed grantHash, uint256 value, uint256 total);

    constructor(IEntryPoint anEntryPoint) SimpleAccount(anEntryPoint) {}

    /// The hash the owner signs (EIP-191 personal message) to grant a session.
    function grantHash(SessionGrant memory grant) public view returns (bytes32) {
        return keccak256(
            abi.encode(GRANT_TAG, block.chainid, address(this), grant.key, grant.validUntil, grant.spendLimit)
        );
    }

    /// Revokes a grant for good. Only the owner (directly or through the account itself).
    function revokeSession(bytes32 hash) external onlyOwner {
        sessionRevoked[hash] = true;
        emit SessionRevoked(hash);
    }

    function _validateSignature(PackedUserOperation calldata userOp, bytes32 userOpHash)
        internal
        override
        returns (uint256 validationData)
    {
        // The owner's own signature: the plain SimpleAccount rule.
        if (userOp.signature.length == 65) {
            return super._validateSignature(userOp, userOpHash);
        }
        (SessionGrant memory grant, bytes memory ownerSig, bytes memory keySig) =
            abi.decode(userOp.signature, (SessionGrant, bytes, bytes));
        bytes32 hash = grantHash(grant);
        // An open-ended grant is never valid: every session expires.
        if (grant.validUntil == 0) return SIG_VALIDATION_FAILED;
        // The owner revoked this grant.
        if (sessionRevoked[hash]) return SIG_VALIDATION_FAILED;
        // The grant is not the owner's.
        if (!_signedBy(hash, ownerSig, owner)) return SIG_VALIDATION_FAILED;
        // The session key did not sign this operation.
        if (!_signedBy(userOpHash, keySig, grant.key)) return SIG_VALIDATION_FAILED;
        (bool allowed, uint256 value) = _sessionCallValue(userOp.callData);
        // The key may only `execute` calls to other contracts.
        if (!allowed) return SIG_VALIDATION_FAILED;
        uint256 total = sessionSpent[hash] + value;
        // Over the spending limit.
        if (total > grant.spendLimit) return SIG_VALIDATION_FAILED;
        sessionSpent[hash] = total;
        emit SessionSpent(hash, value, total);
        return _packValidationData(false, grant.validUntil, 0);
    }

    /// Whether `signature` is `signer`'s EIP-191 signature of `hash` (malformed is false).
    function _signedBy(bytes32 hash, bytes memory signature, address signer) internal pure returns (bool) {
        (address recovered, ECDSA.RecoverError err,) =
            ECDSA.tryRecover(MessageHashUtils.toEthSignedMessageHash(hash), signature);
        return err == ECDSA.RecoverError.NoError && recovered == signer;
    }

    /// The ETH value of a session key's call, and whether the call is one a key may make.
    function _sessionCallValue(bytes calldata callData) internal view returns (bool, uint256) {
        // Not even a selector.
        if (callData.length < 4) return (false, 0);
        // Only `execute(dest, value, data)`: no batches, upgrades or owner functions.
        if (bytes4(callData[:4]) != this.execute.selector) return (false, 0);
        (address dest, uint256 value,) = abi.decode(callData[4:], (address, uint256, bytes));
        // Calls to the account itself or the EntryPoint (deposit withdrawal) stay the owner's.
        if (dest == address(this) || dest == address(entryPoint())) return (false, 0);
        return (true, value);
    }
}
