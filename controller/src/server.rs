//! The HTTP endpoints: `/metrics` (Prometheus text), `/healthz` (the process serves) and `/readyz`
//! (caches are synced and, with leader election, the replica knows its role).

use crate::metrics::METRICS;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What `/readyz` reports.
#[derive(Default, Debug)]
pub struct Readiness {
    /// A follower that knows it is one is ready (it serves, and takes over when the leader goes).
    pub role_known: AtomicBool,
    /// The leader's caches are synced (or this replica is a follower and runs no controllers).
    pub caches_synced: AtomicBool,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.role_known.load(Ordering::SeqCst) && self.caches_synced.load(Ordering::SeqCst)
    }
}

/// Serves on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, readiness: Arc<Readiness>) -> std::io::Result<()> {
    let app = Router::new()
        .route(
            "/metrics",
            get(|| async {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    METRICS.encode(),
                )
            }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move || {
                let readiness = readiness.clone();
                async move {
                    if readiness.ready() {
                        (StatusCode::OK, "ready").into_response()
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
                    }
                }
            }),
        );
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "serving /metrics, /healthz and /readyz");
    }
    axum::serve(listener, app).await
}
