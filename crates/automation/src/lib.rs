//! Quorate's workflow engine (the automation half of an Ava-style aggregator): a workflow is a
//! trigger and a DAG of steps. This crate validates workflows ([`Plan`]), computes when time and
//! block triggers fire and which logs match event triggers ([`trigger`]), runs a workflow's
//! steps ([`Runner`]: REST and GraphQL calls, contract reads, branches, filters, JavaScript in a
//! limited sandbox), renders `{{…}}` templates and keeps secrets encrypted at rest.
//!
//! It knows nothing of storage, gRPC or BLS: the node stores workflows and executions, has
//! operators attest fired triggers, and calls [`Runner::run`] once a trigger is proven. HTTP and
//! chain reads go through the [`HttpClient`] and [`ContractReader`] ports, so the engine is
//! tested with a local server and a devnet.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]
#![warn(unreachable_pub)]

mod attest;
mod http_client;
mod model;
mod ports;
mod runner;
pub mod sandbox;
pub mod secrets;
mod steps;
pub mod template;
pub mod trigger;
mod validate;

pub use attest::{
    attested_execution_id, check_reason, claim_digest, trigger_claim, ReasonError, ReasonWindow,
    CLAIM_DOMAIN,
};
pub use http_client::{HttpClientConfig, ReqwestHttpClient};
pub use model::{
    BranchCondition, BranchNode, ContractReadNode, ContractWriteNode, CustomCodeNode, Edge,
    EthTransferNode, Execution, ExecutionProof, ExecutionStatus, FilterNode, GraphqlNode, Node,
    NodeKind, NotRunnable, RestApiNode, StepRecord, WalletRef, Workflow, WorkflowSpec,
    WorkflowStatus,
};
pub use ports::{
    ContractReader, HttpClient, HttpError, HttpRequest, HttpResponse, ReadError, WalletCallOutcome,
    WalletCallRequest, WalletRefusal, WalletSendError, WalletSender,
};
pub use runner::{RunOutcome, Runner, RunnerLimits};
pub use steps::StepError;
pub use validate::{Plan, WorkflowError, WorkflowLimits};
