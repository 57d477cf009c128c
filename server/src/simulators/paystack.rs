//! A Paystack stand-in on 127.0.0.1: `POST /transaction/initialize` and
//! `GET /transaction/verify/{reference}` behind the secret key, a checkout page the payer (or a
//! browser test) pays on, and `charge.success` webhooks signed as Paystack signs them
//! (HMAC-SHA512 of the body under the secret key, lowercase hex).
//!
//! Control: `POST /simulator/paystack/charge` pays a transaction with a correct or a bad
//! signature, with `metadata` as `""` or as an object, and optionally a different amount (to
//! prove a mismatch is not credited).

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
};

use axum::{
    Form, Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
struct Txn {
    id: i64,
    secret: String,
    reference: String,
    access_code: String,
    email: String,
    amount: i64,
    currency: String,
    callback_url: String,
    metadata: Value,
    status: &'static str,
    paid_at: Option<String>,
    /// An amount to report instead of `amount` (a mismatch, on purpose).
    reported_amount: Option<i64>,
}

#[derive(Debug, Default)]
struct Sim {
    /// Secret keys we accept, each with the webhook URL its "dashboard" names.
    keys: HashMap<String, Option<String>>,
    txns: Vec<Txn>,
    next_id: i64,
    webhooks_sent: u32,
}

type Shared = Arc<Mutex<Sim>>;

fn lock(sim: &Shared) -> std::sync::MutexGuard<'_, Sim> {
    sim.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running simulator; clones share it.
#[derive(Debug, Clone)]
pub struct PaystackSim {
    addr: SocketAddr,
    sim: Shared,
}

/// How the control endpoint pays.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Charge {
    pub reference: String,
    /// "good" (default) or "bad".
    #[serde(default)]
    pub signature: Option<String>,
    /// "object" (default) or "empty" (`metadata: ""`).
    #[serde(default)]
    pub metadata: Option<String>,
    /// Report this amount instead of the one initialized.
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default = "one")]
    pub deliveries: u32,
}

fn one() -> u32 {
    1
}

fn refused(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"status": false, "message": message}))).into_response()
}

fn secret_of(sim: &Sim, headers: &HeaderMap) -> Option<String> {
    let key = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?
        .trim()
        .to_string();
    sim.keys.contains_key(&key).then_some(key)
}

#[derive(Deserialize)]
struct InitBody {
    email: String,
    amount: Value,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    callback_url: Option<String>,
    #[serde(default)]
    metadata: Value,
}

async fn initialize(State(sim): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let base = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| format!("http://{h}"))
        .unwrap_or_default();
    let mut s = lock(&sim);
    let Some(secret) = secret_of(&s, &headers) else {
        return refused(StatusCode::UNAUTHORIZED, "Invalid key");
    };
    let Ok(req) = serde_json::from_slice::<InitBody>(&body) else {
        return refused(StatusCode::BAD_REQUEST, "Invalid request body");
    };
    if !req.email.contains('@') {
        return refused(StatusCode::BAD_REQUEST, "Invalid Email Address Passed");
    }
    // Paystack takes the amount in subunits, as a number or a numeric string.
    let amount = match &req.amount {
        Value::Number(n) => n.as_i64(),
        Value::String(t) => t.trim().parse().ok(),
        _ => None,
    };
    let Some(amount) = amount.filter(|a| *a > 0) else {
        return refused(StatusCode::BAD_REQUEST, "Invalid Amount Sent");
    };
    s.next_id += 1;
    let id = 3_000_000 + s.next_id;
    let reference = req.reference.clone().unwrap_or_else(|| format!("sim{id}"));
    if s.txns.iter().any(|t| t.reference == reference) {
        return refused(StatusCode::BAD_REQUEST, "Duplicate Transaction Reference");
    }
    let access_code = format!("acc{id}x");
    s.txns.push(Txn {
        id,
        secret,
        reference: reference.clone(),
        access_code: access_code.clone(),
        email: req.email,
        amount,
        currency: req.currency.unwrap_or_else(|| "KES".into()),
        callback_url: req.callback_url.unwrap_or_default(),
        metadata: req.metadata,
        status: "abandoned",
        paid_at: None,
        reported_amount: None,
    });
    Json(json!({
        "status": true,
        "message": "Authorization URL created",
        "data": {
            "authorization_url": format!("{base}/checkout/{access_code}"),
            "access_code": access_code,
            "reference": reference,
        }
    }))
    .into_response()
}

/// The transaction as verify and the webhook report it.
fn txn_json(t: &Txn, metadata_empty: bool) -> Value {
    json!({
        "id": t.id,
        "domain": "test",
        "status": t.status,
        "reference": t.reference,
        "amount": t.reported_amount.unwrap_or(t.amount),
        "message": null,
        "gateway_response": if t.status == "success" { "Approved" } else { "" },
        "paid_at": t.paid_at,
        "created_at": t.paid_at,
        "channel": "card",
        "currency": t.currency,
        "metadata": if metadata_empty { json!("") } else { t.metadata.clone() },
        "customer": {"email": t.email},
    })
}

async fn verify(
    State(sim): State<Shared>,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Response {
    let s = lock(&sim);
    let Some(secret) = secret_of(&s, &headers) else {
        return refused(StatusCode::UNAUTHORIZED, "Invalid key");
    };
    match s
        .txns
        .iter()
        .find(|t| t.reference == reference && t.secret == secret)
    {
        Some(t) => Json(json!({
            "status": true,
            "message": "Verification successful",
            "data": txn_json(t, false),
        }))
        .into_response(),
        None => refused(StatusCode::BAD_REQUEST, "Transaction reference not found"),
    }
}

async fn checkout_page(State(sim): State<Shared>, Path(access_code): Path<String>) -> Response {
    let s = lock(&sim);
    let Some(t) = s.txns.iter().find(|t| t.access_code == access_code) else {
        return (StatusCode::NOT_FOUND, "Unknown checkout").into_response();
    };
    let amount = format!("{} {}.{:02}", t.currency, t.amount / 100, t.amount % 100);
    Html(format!(
        "<!doctype html><html><head><meta name=viewport content='width=device-width'>\
         <title>Paystack checkout (simulator)</title><link rel=icon href='data:,'></head><body style='font-family:sans-serif'>\
         <h1>Paystack (simulator)</h1><p>{email} pays <strong>{amount}</strong>.</p>\
         <form method=post><button type=submit name=outcome value=success>Pay {amount}</button> \
         <button type=submit name=outcome value=failed>Decline</button></form></body></html>",
        email = t.email
    ))
    .into_response()
}

#[derive(Deserialize)]
struct CheckoutForm {
    outcome: String,
}

async fn checkout_pay(
    State(sim): State<Shared>,
    Path(access_code): Path<String>,
    Form(form): Form<CheckoutForm>,
) -> Response {
    let reference = {
        let s = lock(&sim);
        match s.txns.iter().find(|t| t.access_code == access_code) {
            Some(t) => t.reference.clone(),
            None => return (StatusCode::NOT_FOUND, "Unknown checkout").into_response(),
        }
    };
    let charge = Charge {
        reference: reference.clone(),
        signature: None,
        metadata: None,
        amount: None,
        deliveries: 1,
    };
    let result = if form.outcome == "failed" {
        settle(&sim, &reference, "failed", None).map(|_| ())
    } else {
        pay(&sim, &charge).await.map(|_| ())
    };
    if let Err(message) = result {
        return (StatusCode::BAD_REQUEST, message).into_response();
    }
    let callback = lock(&sim)
        .txns
        .iter()
        .find(|t| t.reference == reference)
        .map(|t| t.callback_url.clone())
        .unwrap_or_default();
    let sep = if callback.contains('?') { '&' } else { '?' };
    Redirect::to(&format!(
        "{callback}{sep}trxref={reference}&reference={reference}"
    ))
    .into_response()
}

/// Marks a transaction settled; returns it and the webhook URL of its key.
fn settle(
    sim: &Shared,
    reference: &str,
    status: &'static str,
    reported_amount: Option<i64>,
) -> Result<(Txn, Option<String>), String> {
    let mut s = lock(sim);
    let keys = s.keys.clone();
    let t = s
        .txns
        .iter_mut()
        .find(|t| t.reference == reference)
        .ok_or_else(|| format!("no transaction {reference}"))?;
    t.status = status;
    t.paid_at = Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    // Verify then reports the same altered amount as the webhook.
    t.reported_amount = reported_amount.or(t.reported_amount);
    let hook = keys.get(&t.secret).cloned().flatten();
    Ok((t.clone(), hook))
}

/// Pays `charge.reference` and delivers `charge.success` to the key's webhook URL.
async fn pay(sim: &Shared, charge: &Charge) -> Result<Vec<u16>, String> {
    let (txn, hook) = settle(sim, &charge.reference, "success", charge.amount)?;
    let Some(hook) = hook else {
        return Ok(Vec::new());
    };
    let empty = charge.metadata.as_deref() == Some("empty");
    let body = json!({"event": "charge.success", "data": txn_json(&txn, empty)});
    let raw = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
    let signature = if charge.signature.as_deref() == Some("bad") {
        app::payments::paystack_wire::sign("sk_wrong_key", &raw)
    } else {
        app::payments::paystack_wire::sign(&txn.secret, &raw)
    };
    let client = app::payments::daraja::http().map_err(|e| e.to_string())?;
    let mut statuses = Vec::new();
    for _ in 0..charge.deliveries.max(1) {
        let response = client
            .post(&hook)
            .header("content-type", "application/json")
            .header(app::payments::paystack::SIGNATURE_HEADER, &signature)
            .body(raw.clone())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        statuses.push(response.status().as_u16());
        lock(sim).webhooks_sent += 1;
    }
    Ok(statuses)
}

async fn control_charge(State(sim): State<Shared>, Json(charge): Json<Charge>) -> Response {
    match pay(&sim, &charge).await {
        Ok(statuses) => Json(json!({"webhook_statuses": statuses})).into_response(),
        Err(message) => (StatusCode::BAD_REQUEST, Json(json!({"error": message}))).into_response(),
    }
}

impl PaystackSim {
    /// Listens on 127.0.0.1 (port 0 picks a free one) until the process ends.
    pub async fn start(port: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let sim: Shared = Arc::default();
        let router = Router::new()
            .route("/transaction/initialize", post(initialize))
            .route("/transaction/verify/{reference}", get(verify))
            .route(
                "/checkout/{access_code}",
                get(checkout_page).post(checkout_pay),
            )
            .route("/simulator/paystack/charge", post(control_charge))
            .with_state(sim.clone());
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, router).await {
                tracing::warn!(error = %err, "paystack simulator stopped");
            }
        });
        Ok(Self { addr, sim })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Accepts `secret` and sends its webhooks to `webhook_url`.
    pub fn add_key(&self, secret: &str, webhook_url: Option<&str>) {
        lock(&self.sim)
            .keys
            .insert(secret.to_string(), webhook_url.map(str::to_string));
    }

    /// Pays a transaction, as the control endpoint does; the webhook answers' statuses.
    pub async fn charge(&self, charge: &Charge) -> Result<Vec<u16>, String> {
        pay(&self.sim, charge).await
    }

    /// The references initialized so far.
    pub fn references(&self) -> Vec<String> {
        lock(&self.sim)
            .txns
            .iter()
            .map(|t| t.reference.clone())
            .collect()
    }

    /// The payer pays, and no webhook is sent (a lost delivery): only a verify finds out.
    pub fn pay_without_webhook(&self, reference: &str) -> Result<(), String> {
        settle(&self.sim, reference, "success", None).map(|_| ())
    }

    pub fn webhooks_sent(&self) -> u32 {
        lock(&self.sim).webhooks_sent
    }
}
