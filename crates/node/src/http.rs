//! `/metrics` (Prometheus text) and `/health` over HTTP. `/health` reads the database (one
//! cheap read transaction) and is 503 once a storage write has failed.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::state::NodeState;

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
    // Storage first: a node that cannot write must be restarted, whatever else holds. The
    // reason is fixed text; the error itself (paths, OS detail) goes to the log only.
    if s.node.store.failure().is_some() {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "{\"status\":\"storage_failed\",\"reason\":\"a database write failed; the node is stopping\"}".into(),
        );
    }
    let store = s.node.store.clone();
    let readable = tokio::task::spawn_blocking(move || store.check_readable()).await;
    if !matches!(readable, Ok(Ok(()))) {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "{\"status\":\"storage_unreadable\",\"reason\":\"the database did not answer a read\"}"
                .into(),
        );
    }
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
