// SPDX-License-Identifier: MIT
pragma solidity ^0.8.23;

/// A contract for wallet tests and examples: a write that leaves visible state, and one that
/// always reverts with a reason.
contract WalletTarget {
    /// The last value written.
    uint256 public value;
    /// Who wrote it.
    address public writer;
    /// How many writes there were.
    uint256 public writes;

    event Written(address indexed writer, uint256 value);

    /// Stores `newValue`, returns the previous one.
    function write(uint256 newValue) external payable returns (uint256 previous) {
        previous = value;
        value = newValue;
        writer = msg.sender;
        writes += 1;
        emit Written(msg.sender, newValue);
    }

    /// Always reverts with a reason.
    function refuse(uint256 code) external pure {
        revert(string.concat("WalletTarget: refused ", code == 0 ? "zero" : "nonzero"));
    }
}
