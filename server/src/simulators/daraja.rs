//! A Daraja stand-in: a real HTTP server on 127.0.0.1 that checks what Safaricom checks and
//! answers as Safaricom answers, so our Daraja client is exercised for real in tests and demo
//! mode without reaching the internet.
//!
//! OAuth: Basic credentials of a registered app, `grant_type=client_credentials`; each new token
//! replaces the app's previous one (the old one stops working, as on Daraja); `expires_in` comes
//! back as a string. Bad credentials get Daraja's 400 error body.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
};

use axum::{
    Json, Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use base64::{Engine, engine::general_purpose::STANDARD};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;

#[derive(Debug, Default)]
struct App {
    secret: String,
    /// The one live token (a new one replaces it).
    token: Option<String>,
    tokens_issued: u32,
}

#[derive(Debug, Default)]
struct Sim {
    /// Registered apps by consumer key.
    apps: HashMap<String, App>,
}

/// A running simulator; clones share it.
#[derive(Debug, Clone)]
pub struct DarajaSim {
    addr: SocketAddr,
    sim: Arc<Mutex<Sim>>,
}

type Shared = Arc<Mutex<Sim>>;

fn lock(sim: &Shared) -> std::sync::MutexGuard<'_, Sim> {
    sim.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Daraja's error body.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    (
        status,
        Json(json!({"requestId": request_id, "errorCode": code, "errorMessage": message})),
    )
        .into_response()
}

#[derive(Deserialize)]
struct Grant {
    grant_type: Option<String>,
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (key, secret) = decoded.split_once(':')?;
    Some((key.to_string(), secret.to_string()))
}

async fn generate(
    State(sim): State<Shared>,
    Query(grant): Query<Grant>,
    headers: HeaderMap,
) -> Response {
    let mut sim = lock(&sim);
    if grant.grant_type.as_deref() != Some("client_credentials") {
        return error(
            StatusCode::BAD_REQUEST,
            "400.008.02",
            "Invalid grant type passed",
        );
    }
    let Some((key, secret)) = basic_credentials(&headers) else {
        return error(
            StatusCode::BAD_REQUEST,
            "400.008.01",
            "Invalid Authentication passed",
        );
    };
    let Some(app) = sim.apps.get_mut(&key).filter(|a| a.secret == secret) else {
        return error(
            StatusCode::BAD_REQUEST,
            "400.008.01",
            "Invalid Authentication passed",
        );
    };
    let token = uuid::Uuid::new_v4().simple().to_string();
    app.token = Some(token.clone());
    app.tokens_issued += 1;
    Json(json!({"access_token": token, "expires_in": "3599"})).into_response()
}

impl DarajaSim {
    /// Listens on 127.0.0.1 (port 0 picks a free one) until the process ends.
    pub async fn start(port: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let sim: Shared = Arc::default();
        let router = Router::new()
            .route("/oauth/v1/generate", get(generate))
            .with_state(sim.clone());
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, router).await {
                tracing::warn!(error = %err, "daraja simulator stopped");
            }
        });
        Ok(Self { addr, sim })
    }

    /// The base URL our client is pointed at.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Registers an app whose consumer key and secret Daraja accepts.
    pub fn add_app(&self, consumer_key: &str, consumer_secret: &str) {
        lock(&self.sim).apps.insert(
            consumer_key.to_string(),
            App {
                secret: consumer_secret.to_string(),
                ..App::default()
            },
        );
    }

    /// How many tokens an app has been issued.
    pub fn tokens_issued(&self, consumer_key: &str) -> u32 {
        lock(&self.sim)
            .apps
            .get(consumer_key)
            .map_or(0, |a| a.tokens_issued)
    }

    /// Whether `token` is the app's live token (an older one no longer is).
    pub fn token_is_live(&self, consumer_key: &str, token: &str) -> bool {
        lock(&self.sim)
            .apps
            .get(consumer_key)
            .and_then(|a| a.token.as_deref())
            == Some(token)
    }
}
