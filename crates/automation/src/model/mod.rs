//! The workflow model: workflows, their steps and edges, and execution records.

mod execution;
mod node;
mod workflow;

pub use execution::{Execution, ExecutionProof, ExecutionStatus, StepRecord};
pub use node::{
    BranchCondition, BranchNode, ContractReadNode, ContractWriteNode, CustomCodeNode, Edge,
    EthTransferNode, FilterNode, GraphqlNode, Node, NodeKind, RestApiNode,
};
pub use workflow::{NotRunnable, WalletRef, Workflow, WorkflowSpec, WorkflowStatus};
