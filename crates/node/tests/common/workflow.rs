//! WorkflowService helpers shared by the automation tests.

use tonic::transport::Channel;

use super::pb;

/// A WorkflowService client.
pub type Wf = pb::workflow_service_client::WorkflowServiceClient<Channel>;

/// Connects to a node's gRPC address.
pub async fn wf(grpc: &str) -> Wf {
    Wf::connect(grpc.to_string()).await.unwrap()
}

/// A manual workflow of one custom_code step running `source`.
pub fn code_workflow(name: &str, source: &str) -> String {
    serde_json::json!({
        "name": name,
        "trigger": { "type": "manual" },
        "nodes": [{ "id": "run", "name": "run", "type": "custom_code", "source": source }]
    })
    .to_string()
}
