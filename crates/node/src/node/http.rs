//! `/metrics` (Prometheus text) and `/health` over HTTP.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::node::state::NodeState;

#[derive(Clone)]
struct HttpState {
    node: NodeState,
    prometheus: Option<PrometheusHandle>,
}

async fn metrics(State(s): State<HttpState>) -> String {
    let stats = s.node.core.stats();
    let mut out = s
        .prometheus
        .as_ref()
        .map(|p| p.render())
        .unwrap_or_default();
    out.push_str(&format!(
        "# TYPE quorate_node_active_tasks gauge\nquorate_node_active_tasks {}\n\
         # TYPE quorate_node_tasks_aggregated gauge\nquorate_node_tasks_aggregated {}\n\
         # TYPE quorate_node_signatures_accepted gauge\nquorate_node_signatures_accepted {}\n",
        s.node.core.active_tasks(),
        stats.tasks_aggregated,
        stats.signatures_accepted
    ));
    out
}

async fn health(State(s): State<HttpState>) -> (axum::http::StatusCode, String) {
    if s.node.is_shutting_down() {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "{\"status\":\"shutting_down\"}".into(),
        );
    }
    (
        axum::http::StatusCode::OK,
        format!(
            "{{\"status\":\"ok\",\"active_tasks\":{}}}",
            s.node.core.active_tasks()
        ),
    )
}

/// The HTTP routes.
pub fn router(node: NodeState, prometheus: Option<PrometheusHandle>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .with_state(HttpState { node, prometheus })
}
