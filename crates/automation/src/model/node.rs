//! The steps of a workflow (its DAG's nodes) and the edges between them.

use std::collections::BTreeMap;

use alloy_primitives::{Address, Bytes};
use serde::{Deserialize, Serialize};

/// One step of a workflow: an id the edges name, a name later steps use to read its output
/// (`{{name.data…}}`), and what it does.
// No `deny_unknown_fields` here: serde does not support it beside `flatten`; the kind's own
// struct refuses unknown fields instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Unique within the workflow; edges refer to it.
    pub id: String,
    /// Unique within the workflow; the variable later steps read this step's output under. A
    /// JavaScript identifier, because code steps see it as a global.
    pub name: String,
    /// What the step does.
    #[serde(flatten)]
    pub kind: NodeKind,
}

/// What a step does. New kinds (contract writes and ETH transfers from a smart wallet) are added
/// as variants; a stored workflow names its kind by the `type` tag, so adding one never changes
/// how older workflows decode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum NodeKind {
    /// An HTTP request.
    RestApi(RestApiNode),
    /// A GraphQL query over HTTP POST.
    Graphql(GraphqlNode),
    /// An `eth_call` against a contract, its result decoded by an ABI.
    ContractRead(ContractReadNode),
    /// Ordered conditions; the first true one picks the outgoing edge.
    Branch(BranchNode),
    /// Keeps the items of an array for which an expression is true.
    Filter(FilterNode),
    /// JavaScript run in the sandbox.
    CustomCode(CustomCodeNode),
    /// A contract call from the workflow's smart wallet, as an ERC-4337 UserOperation.
    ContractWrite(ContractWriteNode),
    /// ETH sent from the workflow's smart wallet, as an ERC-4337 UserOperation.
    EthTransfer(EthTransferNode),
}

impl NodeKind {
    /// The kind's name as written in workflow files and execution records.
    pub fn label(&self) -> &'static str {
        match self {
            Self::RestApi(_) => "rest_api",
            Self::Graphql(_) => "graphql",
            Self::ContractRead(_) => "contract_read",
            Self::Branch(_) => "branch",
            Self::Filter(_) => "filter",
            Self::CustomCode(_) => "custom_code",
            Self::ContractWrite(_) => "contract_write",
            Self::EthTransfer(_) => "eth_transfer",
        }
    }

    /// Whether the step acts on chain from the workflow's wallet.
    pub fn uses_wallet(&self) -> bool {
        matches!(self, Self::ContractWrite(_) | Self::EthTransfer(_))
    }
}

/// An HTTP request. `url`, header values and `body` are templates (`{{…}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestApiNode {
    /// GET, POST, PUT, PATCH, DELETE or HEAD.
    pub method: String,
    /// `http` or `https` URL.
    pub url: String,
    /// Request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Request body, sent as is.
    #[serde(default)]
    pub body: Option<String>,
}

/// A GraphQL query, POSTed as `{"query": …, "variables": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphqlNode {
    /// `http` or `https` URL (a template).
    pub url: String,
    /// The query document.
    pub query: String,
    /// Variables; every string in them is a template.
    #[serde(default)]
    pub variables: serde_json::Map<String, serde_json::Value>,
    /// Request headers (values are templates).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// A read-only contract call.
///
/// Either `method` (a Solidity function signature with its return types, e.g.
/// `function balanceOf(address owner) view returns (uint256)`) and `args` (one template per
/// parameter, rendered then parsed as that parameter's type), or raw `calldata` with an optional
/// `method` used only to decode the result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractReadNode {
    /// The contract.
    pub address: Address,
    /// Raw calldata; when absent, it is encoded from `method` and `args`.
    #[serde(default)]
    pub calldata: Option<Bytes>,
    /// The function's signature, with return types to decode the result.
    #[serde(default)]
    pub method: Option<String>,
    /// One template per parameter of `method`.
    #[serde(default)]
    pub args: Vec<String>,
}

/// A contract call sent from the workflow's smart wallet (a UserOperation through the
/// EntryPoint). The call is encoded as for [`ContractReadNode`]; `method`'s return types, when
/// given, decode what the call returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractWriteNode {
    /// The contract.
    pub address: Address,
    /// Raw calldata; when absent, it is encoded from `method` and `args`.
    #[serde(default)]
    pub calldata: Option<Bytes>,
    /// The function's signature (with return types to decode the result).
    #[serde(default)]
    pub method: Option<String>,
    /// One template per parameter of `method`.
    #[serde(default)]
    pub args: Vec<String>,
    /// Wei sent with the call (a template; decimal or 0x-hex). Absent: none.
    #[serde(default)]
    pub value: Option<String>,
}

/// ETH sent from the workflow's smart wallet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EthTransferNode {
    /// The recipient (a template rendering to a 0x address).
    pub destination: String,
    /// Wei to send (a template; decimal or 0x-hex).
    pub amount: String,
}

/// Ordered conditions. Each outgoing edge names the condition it follows (`Edge::condition`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchNode {
    /// Tried in order; the first whose expression is `true` wins.
    pub conditions: Vec<BranchCondition>,
}

/// One condition of a branch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchCondition {
    /// Unique within the branch; edges name it.
    pub id: String,
    /// A JavaScript expression that must evaluate to a boolean. Empty means `else`: always true,
    /// and only allowed last.
    #[serde(default)]
    pub expression: String,
}

/// Keeps the items of an array for which `expression` (with `value` and `index` bound) is true.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterNode {
    /// A template that must render to a JSON array, e.g. `{{prices.data.items}}`.
    pub input: String,
    /// A JavaScript expression evaluated per item.
    pub expression: String,
}

/// JavaScript run in the sandbox: a function body whose `return` value is the step's output.
/// The trigger and earlier steps are visible as globals by name; `{{secrets.NAME}}` in the
/// source is substituted before it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomCodeNode {
    /// The function body.
    pub source: String,
}

/// A directed edge. From a branch, `condition` names the condition the edge follows; from any
/// other node it must be absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edge {
    /// Source node id.
    pub source: String,
    /// Target node id.
    pub target: String,
    /// The branch condition this edge follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}
