//! A Daraja stand-in: a real HTTP server on 127.0.0.1 that checks what Safaricom checks and
//! answers as Safaricom answers, so our Daraja client is exercised for real in tests and demo
//! mode without reaching the internet.
//!
//! OAuth: Basic credentials of a registered app, `grant_type=client_credentials`; each new token
//! replaces the app's previous one (the old one stops working, as on Daraja); `expires_in` comes
//! back as a string. Bad credentials get Daraja's 400 error body. C2B: URL registration and
//! paybill payments made through the control endpoint `POST /simulator/c2b`. STK push and
//! query: see [`stk`]; the scenario per phone is chosen through `POST /simulator/stk`.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
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

pub mod stk;

pub use stk::{Push, Scenario, Timing};

#[derive(Debug, Default)]
struct Sim {
    /// Registered apps by consumer key.
    apps: HashMap<String, App>,
    /// Lipa na M-Pesa Online passkeys by shortcode.
    passkeys: HashMap<String, String>,
    /// STK scenario per phone number, and for every other phone.
    stk_scenarios: HashMap<String, Scenario>,
    stk_default: Scenario,
    stk_timing: Timing,
    pushes: Vec<Push>,
    /// C2B URLs by shortcode: (validation, confirmation).
    c2b_urls: HashMap<String, (String, String)>,
    next_receipt: u64,
}

/// A paybill payment made from a phone, as the control endpoint describes it.
#[derive(Debug, Clone, Deserialize)]
pub struct C2bPayment {
    pub shortcode: String,
    /// What the payer typed as the account number.
    pub bill_ref: String,
    /// Shillings with cents, as Daraja sends them ("1500.00").
    pub amount: String,
    /// How many times the confirmation is delivered (Daraja retries; 1 is normal).
    #[serde(default = "one")]
    pub deliveries: u32,
}

fn one() -> u32 {
    1
}

/// What the app answered.
#[derive(Debug, Clone, serde::Serialize)]
pub struct C2bOutcome {
    pub trans_id: String,
    pub validation: Option<serde_json::Value>,
    /// One (status, body) per confirmation delivered; none when validation refused it.
    pub confirmations: Vec<(u16, serde_json::Value)>,
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

/// The app's token check for Bearer calls: the app's live token, or Daraja's 404.001.03.
fn bearer_ok(sim: &Sim, headers: &HeaderMap) -> bool {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    sim.apps
        .values()
        .any(|a| a.token.as_deref() == Some(token.trim()))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RegisterUrls {
    short_code: String,
    response_type: String,
    #[serde(rename = "ConfirmationURL")]
    confirmation_url: String,
    #[serde(rename = "ValidationURL")]
    validation_url: String,
}

async fn register_urls(State(sim): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut sim = lock(&sim);
    if !bearer_ok(&sim, &headers) {
        return error(StatusCode::NOT_FOUND, "404.001.03", "Invalid Access Token");
    }
    let Ok(req) = serde_json::from_slice::<RegisterUrls>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "400.002.02",
            "Bad Request - Invalid Body",
        );
    };
    if !matches!(req.response_type.as_str(), "Completed" | "Cancelled") {
        return error(
            StatusCode::BAD_REQUEST,
            "400.002.02",
            "Bad Request - Invalid ResponseType",
        );
    }
    sim.c2b_urls
        .insert(req.short_code, (req.validation_url, req.confirmation_url));
    Json(json!({
        "OriginatorCoversationID": uuid::Uuid::new_v4().to_string(),
        "ResponseCode": "0",
        "ResponseDescription": "Success",
    }))
    .into_response()
}

async fn control_c2b(State(sim): State<Shared>, Json(payment): Json<C2bPayment>) -> Response {
    match pay(&sim, &payment).await {
        Ok(outcome) => Json(outcome).into_response(),
        Err(message) => (StatusCode::BAD_REQUEST, Json(json!({"error": message}))).into_response(),
    }
}

/// Now, as Daraja writes times (`YYYYMMDDHHmmss`, Nairobi).
pub fn nairobi_stamp() -> String {
    app::payments::daraja_wire::timestamp(chrono::Utc::now())
}

async fn post_json(
    url: &str,
    body: &serde_json::Value,
) -> Result<(u16, serde_json::Value), String> {
    let client = app::payments::daraja::http().map_err(|e| e.to_string())?;
    let response = client
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    Ok((status, body))
}

/// Makes a C2B payment: validation first (its answer decides), then the confirmation, as many
/// times as asked, to the URLs the shortcode registered.
async fn pay(sim: &Shared, payment: &C2bPayment) -> Result<C2bOutcome, String> {
    let (urls, trans_id) = {
        let mut sim = lock(sim);
        sim.next_receipt += 1;
        let urls = sim
            .c2b_urls
            .get(&payment.shortcode)
            .cloned()
            .ok_or_else(|| format!("no URLs registered for shortcode {}", payment.shortcode))?;
        (urls, format!("SIM{:07}X", sim.next_receipt))
    };
    let body = json!({
        "TransactionType": "Pay Bill",
        "TransID": trans_id,
        "TransTime": nairobi_stamp(),
        "TransAmount": payment.amount,
        "BusinessShortCode": payment.shortcode,
        "BillRefNumber": payment.bill_ref,
        "InvoiceNumber": "",
        "OrgAccountBalance": "10000.00",
        "ThirdPartyTransID": "",
        "MSISDN": "2547 ***** 126",
        "FirstName": "Simulated",
        "MiddleName": "",
        "LastName": "Payer",
    });
    let (validation_url, confirmation_url) = urls;
    let (_, validation) = post_json(&validation_url, &body).await?;
    let accepted = validation["ResultCode"] == json!("0") || validation["ResultCode"] == json!(0);
    let mut confirmations = Vec::new();
    if accepted {
        for _ in 0..payment.deliveries.max(1) {
            confirmations.push(post_json(&confirmation_url, &body).await?);
        }
    }
    Ok(C2bOutcome {
        trans_id,
        validation: Some(validation),
        confirmations,
    })
}

impl DarajaSim {
    /// Listens on 127.0.0.1 (port 0 picks a free one) until the process ends.
    pub async fn start(port: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let sim: Shared = Arc::default();
        let router = Router::new()
            .route("/oauth/v1/generate", get(generate))
            .route("/mpesa/c2b/v2/registerurl", post(register_urls))
            .route(
                "/mpesa/stkpush/v1/processrequest",
                post(stk::process_request),
            )
            .route("/mpesa/stkpushquery/v1/query", post(stk::query))
            .route("/simulator/c2b", post(control_c2b))
            .route("/simulator/stk", post(stk::control))
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

    /// A C2B payment, as the control endpoint `POST /simulator/c2b` makes one.
    pub async fn pay_c2b(&self, payment: &C2bPayment) -> Result<C2bOutcome, String> {
        pay(&self.sim, payment).await
    }

    /// The URLs a shortcode registered: (validation, confirmation).
    pub fn c2b_urls(&self, shortcode: &str) -> Option<(String, String)> {
        lock(&self.sim).c2b_urls.get(shortcode).cloned()
    }

    /// Whether `token` is the app's live token (an older one no longer is).
    pub fn token_is_live(&self, consumer_key: &str, token: &str) -> bool {
        lock(&self.sim)
            .apps
            .get(consumer_key)
            .and_then(|a| a.token.as_deref())
            == Some(token)
    }

    /// Lets a shortcode take STK pushes signed with `passkey`.
    pub fn add_shortcode(&self, shortcode: &str, passkey: &str) {
        lock(&self.sim)
            .passkeys
            .insert(shortcode.to_string(), passkey.to_string());
    }

    /// What payers do with prompts: for one phone (2547…), or for every phone without one.
    pub fn set_stk_scenario(&self, phone: Option<&str>, scenario: Scenario) {
        let mut sim = lock(&self.sim);
        match phone {
            Some(phone) => {
                sim.stk_scenarios.insert(phone.to_string(), scenario);
            }
            None => sim.stk_default = scenario,
        }
    }

    pub fn set_stk_timing(&self, timing: Timing) {
        lock(&self.sim).stk_timing = timing;
    }

    /// Every STK push accepted so far.
    pub fn pushes(&self) -> Vec<Push> {
        lock(&self.sim).pushes.clone()
    }
}
