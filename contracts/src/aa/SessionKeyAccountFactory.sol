// SPDX-License-Identifier: MIT
pragma solidity ^0.8.23;

/// Deploys `SessionKeyAccount`s as ERC-1967 proxies at CREATE2 addresses fixed by (owner,
/// salt), the layout of the eth-infinitism `SimpleAccountFactory`, so an account's address is
/// known (and can be funded) before it exists; the EntryPoint deploys it through the first
/// UserOperation's initCode.

import "@openzeppelin/contracts/utils/Create2.sol";
import "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";

import "./SessionKeyAccount.sol";

contract SessionKeyAccountFactory {
    SessionKeyAccount public immutable accountImplementation;

    constructor(IEntryPoint entryPoint) {
        accountImplementation = new SessionKeyAccount(entryPoint);
    }

    /// Deploys the account of (owner, salt), or returns it if it exists (so a repeated initCode
    /// does not fail).
    function createAccount(address owner, uint256 salt) public returns (SessionKeyAccount ret) {
        address addr = getAddress(owner, salt);
        if (addr.code.length > 0) {
            return SessionKeyAccount(payable(addr));
        }
        ret = SessionKeyAccount(
            payable(
                new ERC1967Proxy{salt: bytes32(salt)}(
                    address(accountImplementation), abi.encodeCall(SimpleAccount.initialize, (owner))
                )
            )
        );
    }

    /// The counterfactual address of (owner, salt).
    function getAddress(address owner, uint256 salt) public view returns (address) {
        return Create2.computeAddress(
            bytes32(salt),
            keccak256(
                abi.encodePacked(
                    type(ERC1967Proxy).creationCode,
                    abi.encode(address(accountImplementation), abi.encodeCall(SimpleAccount.initialize, (owner)))
                )
            )
        );
    }
}
