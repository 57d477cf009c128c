//! `GET /healthz`: 200 when the server can reach PostgreSQL, 503 when it cannot.

use std::time::Duration;

use app::db::Db;
use axum::{Json, http::StatusCode, response::IntoResponse};
use serde::Serialize;

/// A load balancer should not wait long for an answer; a slow database counts as down.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
    database: &'static str,
}

pub async fn healthz(db: Db) -> impl IntoResponse {
    let database = match tokio::time::timeout(DATABASE_TIMEOUT, db.ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "health check: database query failed");
            "error"
        }
        Err(_) => {
            tracing::warn!("health check: database did not answer in time");
            "timeout"
        }
    };
    let (code, status) = if database == "ok" {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    (code, Json(Health { status, database }))
}
