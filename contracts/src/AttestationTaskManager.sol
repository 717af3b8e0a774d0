// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.27;

import {BLSSignatureChecker} from "eigenlayer-middleware/src/BLSSignatureChecker.sol";
import {ISlashingRegistryCoordinator} from
    "eigenlayer-middleware/src/interfaces/ISlashingRegistryCoordinator.sol";

/// @title AttestationTaskManager
/// @notice Requests for an attestation about a `subject`, answered by a BLS-signed `Verdict` that
/// must meet a per-quorum stake threshold. The aggregate signature is checked by the inherited
/// EigenLayer middleware `BLSSignatureChecker` against the registries of `registryCoordinator`.
contract AttestationTaskManager is BLSSignatureChecker {
    /// @notice What the operators are asked to attest to.
    /// @dev `thresholds` has one byte per quorum in `quorumNumbers`: the percentage (1..100) of
    /// that quorum's stake at `referenceBlock` that must sign the verdict.
    struct Request {
        uint64 requestId;
        bytes32 subject;
        uint32 referenceBlock;
        bytes quorumNumbers;
        bytes thresholds;
    }

    /// @notice The signed answer; the operators sign `keccak256(abi.encode(verdict))`.
    struct Verdict {
        uint64 requestId;
        bytes32 subject;
        uint256 score;
    }

    /// @notice A request was opened; its hash is `requestHashes[requestId]`.
    event RequestOpened(uint64 indexed requestId, bytes32 indexed subject, Request request);
    /// @notice A verdict met every threshold and was recorded.
    event VerdictRecorded(uint64 indexed requestId, Verdict verdict, bytes32 signatoryRecordHash);

    /// @notice Only the aggregator may submit verdicts.
    error NotAggregator(address caller);
    /// @notice The passed request does not hash to the stored one (or was never opened).
    error UnknownRequest(uint64 requestId);
    /// @notice The request already has a verdict.
    error AlreadyAnswered(uint64 requestId);
    /// @notice The verdict's requestId or subject differ from the request's.
    error VerdictMismatch(uint64 requestId);
    /// @notice Less than `thresholdPercent` of a quorum's stake signed.
    error ThresholdNotMet(
        uint8 quorumNumber, uint96 signedStake, uint96 totalStake, uint8 thresholdPercent
    );
    /// @notice `thresholds` is not one byte in 1..100 per quorum number.
    error BadThresholds();

    /// @notice The only account allowed to call `submitVerdict`.
    address public immutable aggregator;
    /// @notice The id the last opened request got (the first request gets id 1).
    uint64 public nextRequestId;
    /// @notice `keccak256(abi.encode(request))` by request id.
    mapping(uint64 => bytes32) public requestHashes;
    /// @notice Non-zero once answered: `keccak256(abi.encode(verdict, signatoryRecordHash))`.
    mapping(uint64 => bytes32) public verdictHashes;

    constructor(ISlashingRegistryCoordinator registryCoordinator_, address aggregator_)
        BLSSignatureChecker(registryCoordinator_)
    {
        aggregator = aggregator_;
    }

    /// @notice Opens a request about `subject` for `quorumNumbers`, referencing the previous
    /// block's stakes, with one threshold percentage per quorum.
    function openRequest(bytes32 subject, bytes calldata quorumNumbers, bytes calldata thresholds)
        external
        returns (uint64 requestId)
    {
        if (thresholds.length != quorumNumbers.length) revert BadThresholds();
        for (uint256 i = 0; i < thresholds.length; i++) {
            uint8 t = uint8(thresholds[i]);
            if (t == 0 || t > 100) revert BadThresholds();
        }
        requestId = ++nextRequestId;
        Request memory request = Request({
            requestId: requestId,
            subject: subject,
            referenceBlock: uint32(block.number - 1),
            quorumNumbers: quorumNumbers,
            thresholds: thresholds
        });
        requestHashes[requestId] = keccak256(abi.encode(request));
        emit RequestOpened(requestId, subject, request);
    }

    /// @notice Records `verdict` for `request` if the aggregate signature over
    /// `keccak256(abi.encode(verdict))` carries every quorum's threshold.
    function submitVerdict(
        Request calldata request,
        Verdict calldata verdict,
        NonSignerStakesAndSignature memory nonSignerStakesAndSignature
    ) external {
        if (msg.sender != aggregator) revert NotAggregator(msg.sender);
        uint64 id = request.requestId;
        bytes32 stored = requestHashes[id];
        if (stored == bytes32(0) || stored != keccak256(abi.encode(request))) {
            revert UnknownRequest(id);
        }
        if (verdictHashes[id] != bytes32(0)) revert AlreadyAnswered(id);
        if (verdict.requestId != id || verdict.subject != request.subject) {
            revert VerdictMismatch(id);
        }

        bytes32 digest = keccak256(abi.encode(verdict));
        (QuorumStakeTotals memory totals, bytes32 signatoryRecordHash) = checkSignatures(
            digest, request.quorumNumbers, request.referenceBlock, nonSignerStakesAndSignature
        );
        for (uint256 i = 0; i < request.quorumNumbers.length; i++) {
            uint8 threshold = uint8(request.thresholds[i]);
            uint96 signed = totals.signedStakeForQuorum[i];
            uint96 total = totals.totalStakeForQuorum[i];
            if (uint256(signed) * 100 < uint256(total) * threshold) {
                revert ThresholdNotMet(uint8(request.quorumNumbers[i]), signed, total, threshold);
            }
        }

        verdictHashes[id] = keccak256(abi.encode(verdict, signatoryRecordHash));
        emit VerdictRecorded(id, verdict, signatoryRecordHash);
    }
}
