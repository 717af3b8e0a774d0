//! The few contract interfaces the adapter calls, declared here rather than pulled from the
//! multi-megabyte generated bindings: they compile in seconds and pin exactly the ABI we rely on
//! (eigenlayer-middleware v1.3.1, the version `eigen-utils` 2.x describes).
#![allow(missing_docs, clippy::too_many_arguments)]

alloy::sol! {
    #![sol(all_derives)]
    /// `BN254` structs as the middleware encodes them (G2 imaginary part first).
    library BN254 {
        struct G1Point { uint256 X; uint256 Y; }
        struct G2Point { uint256[2] X; uint256[2] Y; }
    }

    /// Structs of `OperatorStateRetriever`.
    library OperatorStateRetrieverTypes {
        struct Operator { address operator; bytes32 operatorId; uint96 stake; }
        struct CheckSignaturesIndices {
            uint32[] nonSignerQuorumBitmapIndices;
            uint32[] quorumApkIndices;
            uint32[] totalStakeIndices;
            uint32[][] nonSignerStakeIndices;
        }
    }

    /// The read-side helper every BLS AVS deploys next to its registry coordinator.
    #[sol(rpc)]
    interface IOperatorStateRetriever {
        function getOperatorState(address registryCoordinator, bytes memory quorumNumbers, uint32 blockNumber)
            external view returns (OperatorStateRetrieverTypes.Operator[][] memory);
        function getCheckSignaturesIndices(address registryCoordinator, uint32 referenceBlockNumber, bytes memory quorumNumbers, bytes32[] memory nonSignerOperatorIds)
            external view returns (OperatorStateRetrieverTypes.CheckSignaturesIndices memory);
    }

    /// Key registration events of `BLSApkRegistry`.
    #[sol(rpc)]
    interface IBLSApkRegistry {
        event NewPubkeyRegistration(address indexed operator, BN254.G1Point pubkeyG1, BN254.G2Point pubkeyG2);
        function getApk(uint8 quorumNumber) external view returns (BN254.G1Point memory);
    }

    /// Structs of `BLSSignatureChecker`.
    library IBLSSignatureCheckerTypes {
        struct NonSignerStakesAndSignature {
            uint32[] nonSignerQuorumBitmapIndices;
            BN254.G1Point[] nonSignerPubkeys;
            BN254.G1Point[] quorumApks;
            BN254.G2Point apkG2;
            BN254.G1Point sigma;
            uint32[] quorumApkIndices;
            uint32[] totalStakeIndices;
            uint32[][] nonSignerStakeIndices;
        }
        struct QuorumStakeTotals { uint96[] signedStakeForQuorum; uint96[] totalStakeForQuorum; }
    }

    /// The on-chain oracle: any contract inheriting `BLSSignatureChecker`.
    #[sol(rpc)]
    interface IBLSSignatureChecker {
        function checkSignatures(bytes32 msgHash, bytes memory quorumNumbers, uint32 referenceBlockNumber, IBLSSignatureCheckerTypes.NonSignerStakesAndSignature memory params)
            external view returns (IBLSSignatureCheckerTypes.QuorumStakeTotals memory, bytes32);

        error InvalidBLSSignature();
        error InvalidBLSPairingKey();
        error InvalidQuorumApkHash();
        error InvalidReferenceBlocknumber();
        error NonSignerPubkeysNotSorted();
        error InputArrayLengthMismatch();
        error InputEmptyQuorumNumbers();
        error InputNonSignerLengthMismatch();
    }

    /// Structs of the Incredible Squaring `TaskManager`.
    library TaskManager {
        struct Task { uint32 taskCreatedBlock; uint32 quorumThresholdPercentage; bytes message; bytes quorumNumbers; }
        struct TaskResponse { uint32 referenceTaskIndex; bytes message; }
        struct TaskResponseMetadata { uint32 taskResponsedBlock; bytes32 hashOfNonSigners; }
    }

    /// The Incredible Squaring task manager shipped by `eigenlayer-contract-deployer`; its
    /// `respondToSquaringTask` runs `checkSignatures` and the threshold check. The adapter
    /// itself never uses it (AVSs are configured, see [`crate::AvsProfile`]): it is the typed
    /// binding the tests compare the configured path with, and the e2e creates tasks with.
    #[sol(rpc)]
    interface ISquaringTask {
        event NewTaskCreated(uint32 indexed taskIndex, TaskManager.Task task);
        event TaskResponded(TaskManager.TaskResponse taskResponse, TaskManager.TaskResponseMetadata taskResponseMetadata);
        function createSquaringTask(uint256 number, uint32 quorumThresholdPercentage, bytes calldata quorumNumbers) external;
        function respondToSquaringTask(TaskManager.Task calldata task, TaskManager.TaskResponse calldata taskResponse, IBLSSignatureCheckerTypes.NonSignerStakesAndSignature memory nonSignerStakesAndSignature) external;
        function latestTaskNum() external view returns (uint32);
        function allTaskHashes(uint32) external view returns (bytes32);
        function allTaskResponses(uint32) external view returns (bytes32);
        error IncorrectSquareResult(uint256 number, uint256 submittedResult, uint256 expectedResult);
    }
}
