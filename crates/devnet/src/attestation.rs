//! Bindings of our own AVS contract, `AttestationTaskManager` (`contracts/src`), generated from
//! its committed build artifact `contracts/out/AttestationTaskManager.json` (ABI and creation
//! bytecode; rebuild with `node contracts/build.mjs`). The devnet deploys it last in
//! [`crate::deploy::deploy_all`]; its address is `Contracts::attestation_task_manager`.
//!
//! The macro names the ABI's structs after the Solidity scope that declares them: `Request` and
//! `Verdict` are in [`AttestationTaskManager`], `NonSignerStakesAndSignature` and
//! `QuorumStakeTotals` in [`IBLSSignatureCheckerTypes`], `G1Point` and `G2Point` in [`BN254`].

#![allow(missing_docs)]

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    IAttestationTaskManager,
    "../../contracts/out/AttestationTaskManager.json"
);
