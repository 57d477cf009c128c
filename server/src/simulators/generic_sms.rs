//! A stand-in on 127.0.0.1 for the JSON API many Kenyan bulk-SMS resellers share:
//! `POST /api/services/sendsms/` with `{apikey, partnerID, message, shortcode, mobile}`,
//! answered with `{"responses": [{"respose-code": …, "response-description", "mobile",
//! "messageid", "networkid"}]}` (the misspelling is the real API's).
//!
//! Wrong credentials get 1006; per number, a test can have every message meet a response code
//! (1003 invalid mobile, 1004 low credits…), a slow answer, or no answer at all.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;

pub use crate::simulators::sms::SentSms;

/// What messages to a number meet instead of a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    /// A response code other than 200.
    Code(u32),
    /// The answer (a success) comes after this long.
    Slow(Duration),
    /// The request is read, then nothing comes back for 30 s.
    Silence,
}

#[derive(Debug, Default)]
struct Sim {
    api_key: String,
    partner_id: String,
    sent: Vec<SentSms>,
    requests: u32,
    numbers: HashMap<String, Trouble>,
    next_id: u64,
}

type Shared = Arc<Mutex<Sim>>;

fn lock(sim: &Shared) -> std::sync::MutexGuard<'_, Sim> {
    sim.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running simulator; clones share it.
#[derive(Debug, Clone)]
pub struct GenericSmsSim {
    addr: SocketAddr,
    sim: Shared,
}

#[derive(Debug, Deserialize)]
struct SendBody {
    #[serde(default)]
    apikey: String,
    #[serde(rename = "partnerID", default)]
    partner_id: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    shortcode: Option<String>,
    #[serde(default)]
    mobile: String,
}

impl GenericSmsSim {
    /// Starts on a free loopback port, accepting `api_key` for `partner_id`.
    pub async fn start(api_key: &str, partner_id: &str) -> std::io::Result<Self> {
        let sim: Shared = Arc::new(Mutex::new(Sim {
            api_key: api_key.into(),
            partner_id: partner_id.into(),
            ..Sim::default()
        }));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route("/api/services/sendsms/", post(send))
            .with_state(sim.clone());
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::error!(error = %err, "bulk-SMS reseller simulator stopped");
            }
        });
        Ok(Self { addr, sim })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything accepted, oldest first (`to` as sent: `2547…`).
    pub fn messages(&self) -> Vec<SentSms> {
        lock(&self.sim).sent.clone()
    }

    /// How many requests arrived (accepted or not).
    pub fn requests(&self) -> u32 {
        lock(&self.sim).requests
    }

    /// Every message to `phone` (`2547…`) meets `trouble`.
    pub fn number(&self, phone: &str, trouble: Trouble) {
        lock(&self.sim).numbers.insert(phone.to_string(), trouble);
    }
}

fn answer(code: u32, description: &str, mobile: &str, id: Option<String>) -> Response {
    let mut response = json!({
        "respose-code": code,
        "response-description": description,
        "mobile": mobile.parse::<u64>().map_or_else(|_| json!(mobile), |n| json!(n)),
        "networkid": "1",
    });
    if let Some(id) = id {
        response["messageid"] = json!(id);
    }
    (StatusCode::OK, Json(json!({ "responses": [response] }))).into_response()
}

async fn send(State(sim): State<Shared>, Json(body): Json<SendBody>) -> Response {
    let trouble = {
        let mut s = lock(&sim);
        s.requests += 1;
        if body.apikey != s.api_key || body.partner_id != s.partner_id {
            return answer(1006, "Invalid credentials", &body.mobile, None);
        }
        s.numbers.get(&body.mobile).copied()
    };
    match trouble {
        Some(Trouble::Code(code)) => {
            let description = match code {
                1001 => "Invalid sender id",
                1002 => "Network not allowed",
                1003 => "Invalid mobile number",
                1004 => "Low bulk credits",
                _ => "Failed. System error",
            };
            return answer(code, description, &body.mobile, None);
        }
        Some(Trouble::Silence) => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        Some(Trouble::Slow(wait)) => tokio::time::sleep(wait).await,
        None => {}
    }
    let mut s = lock(&sim);
    s.next_id += 1;
    let id = format!("{}", 8_290_000 + s.next_id);
    s.sent.push(SentSms {
        id: id.clone(),
        to: body.mobile.clone(),
        message: body.message,
        from: body.shortcode,
    });
    answer(200, "Success", &body.mobile, Some(id))
}
