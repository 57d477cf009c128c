//! An Africa's Talking stand-in on 127.0.0.1: `POST /version1/messaging` behind the `apiKey`
//! header and the `username` form field, answering as Africa's Talking does (a plain-text 401
//! for bad credentials, per-recipient status codes), keeping every message it accepted so demo
//! mode can show them (`/dev/sms`) and tests can read the codes sent.
//!
//! Controls (for tests): the next answers, or every answer for a given number, can be a
//! recipient status code (403 invalid number, 405 insufficient balance, 406 blacklisted), an
//! HTTP 500, a slow success, or no answer at all (the request is read and the connection held
//! until the client gives up). Told where ([`SmsSim::report_to`]), it posts
//! a delivery report for each accepted message as Africa's Talking does (`Success`, or what
//! [`SmsSim::deliver_next`] lined up).

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use axum::{
    Form, Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::net::TcpListener;

/// A message the simulator accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentSms {
    pub id: String,
    /// As sent: `+2547…`.
    pub to: String,
    pub message: String,
    pub from: Option<String>,
}

/// What the next request gets instead of a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    /// A recipient status code other than success (403, 405, 406...).
    Status(u16),
    /// HTTP 500 with a plain body.
    ServerError,
    /// No answer: the request is read, then nothing is sent back for 30 s.
    Silence,
    /// A slow gateway: the answer (a success) comes after this long.
    Slow(Duration),
}

#[derive(Debug, Default)]
struct Sim {
    username: String,
    api_key: String,
    sent: Vec<SentSms>,
    /// Every request received, accepted or not.
    requests: u32,
    trouble: VecDeque<Trouble>,
    /// Numbers (`2547…`) that meet the same trouble every time.
    numbers: HashMap<String, Trouble>,
    next_id: u64,
    /// Where delivery reports go, if anywhere.
    report_to: Option<String>,
    /// The next messages' delivery statuses (then `Success`).
    deliveries: VecDeque<(String, Option<String>)>,
}

type Shared = Arc<Mutex<Sim>>;

fn lock(sim: &Shared) -> std::sync::MutexGuard<'_, Sim> {
    sim.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running simulator; clones share it.
#[derive(Debug, Clone)]
pub struct SmsSim {
    addr: SocketAddr,
    sim: Shared,
}

#[derive(Debug, Deserialize)]
struct SendForm {
    username: String,
    to: String,
    message: String,
    #[serde(default)]
    from: Option<String>,
}

impl SmsSim {
    /// Starts on a free loopback port, accepting `username` and `api_key`.
    pub async fn start(username: &str, api_key: &str) -> std::io::Result<Self> {
        let sim: Shared = Arc::new(Mutex::new(Sim {
            username: username.into(),
            api_key: api_key.into(),
            ..Sim::default()
        }));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route("/version1/messaging", post(send))
            .with_state(sim.clone());
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::error!(error = %err, "SMS simulator stopped");
            }
        });
        Ok(Self { addr, sim })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything accepted, oldest first.
    pub fn messages(&self) -> Vec<SentSms> {
        lock(&self.sim).sent.clone()
    }

    /// How many requests arrived (accepted or not).
    pub fn requests(&self) -> u32 {
        lock(&self.sim).requests
    }

    /// The next request meets `trouble` (queued: several calls line several up).
    pub fn trouble(&self, trouble: Trouble) {
        lock(&self.sim).trouble.push_back(trouble);
    }

    /// Every message to `phone` (`2547…`) meets `trouble` (403 invalid number, 405 no balance,
    /// 406 blacklisted, silence, slowness), whatever the order messages arrive in.
    pub fn number(&self, phone: &str, trouble: Trouble) {
        lock(&self.sim).numbers.insert(phone.to_string(), trouble);
    }

    /// Posts a delivery report to `url` for every message accepted from now on.
    pub fn report_to(&self, url: &str) {
        lock(&self.sim).report_to = Some(url.to_string());
    }

    /// The next accepted message's delivery report says `status` (and `failure_reason`).
    pub fn deliver_next(&self, status: &str, failure_reason: Option<&str>) {
        lock(&self.sim)
            .deliveries
            .push_back((status.to_string(), failure_reason.map(str::to_string)));
    }

    /// The last 6-digit code sent to `phone` (`2547…`), for tests.
    pub fn last_code(&self, phone: &str) -> Option<String> {
        let to = format!("+{phone}");
        lock(&self.sim)
            .sent
            .iter()
            .rev()
            .find(|m| m.to == to)
            .and_then(|m| {
                m.message
                    .split(|c: char| !c.is_ascii_digit())
                    .find(|w| w.len() == 6)
                    .map(str::to_owned)
            })
    }
}

async fn send(
    State(sim): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<SendForm>,
) -> Response {
    let key = headers
        .get("apikey")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let trouble = {
        let mut s = lock(&sim);
        s.requests += 1;
        if key != s.api_key || form.username != s.username {
            return (
                StatusCode::UNAUTHORIZED,
                "The supplied authentication is invalid",
            )
                .into_response();
        }
        let number = form.to.trim_start_matches('+');
        s.numbers
            .get(number)
            .copied()
            .or_else(|| s.trouble.pop_front())
    };
    match trouble {
        Some(Trouble::ServerError) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response();
        }
        Some(Trouble::Silence) => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        Some(Trouble::Slow(wait)) => tokio::time::sleep(wait).await,
        Some(Trouble::Status(code)) => {
            let status = match code {
                403 => "InvalidPhoneNumber",
                405 => "InsufficientBalance",
                406 => "UserInBlacklist",
                _ => "Failed",
            };
            return (
                StatusCode::CREATED,
                Json(json!({"SMSMessageData": {
                    "Message": "Sent to 0/1 Total Cost: 0",
                    "Recipients": [{"statusCode": code, "number": form.to, "status": status,
                                    "cost": "0", "messageId": "None"}]
                }})),
            )
                .into_response();
        }
        None => {}
    }
    let mut s = lock(&sim);
    s.next_id += 1;
    let id = format!("ATXid_sim{}", s.next_id);
    s.sent.push(SentSms {
        id: id.clone(),
        to: form.to.clone(),
        message: form.message,
        from: form.from,
    });
    if let Some(url) = s.report_to.clone() {
        let (status, reason) = s
            .deliveries
            .pop_front()
            .unwrap_or_else(|| ("Success".to_string(), None));
        tokio::spawn(report(url, id.clone(), form.to.clone(), status, reason));
    }
    (
        StatusCode::CREATED,
        Json(json!({"SMSMessageData": {
            "Message": "Sent to 1/1 Total Cost: KES 0.8000",
            "Recipients": [{"statusCode": 101, "number": form.to, "status": "Success",
                            "cost": "KES 0.8000", "messageId": id}]
        }})),
    )
        .into_response()
}

/// Posts one delivery report, a moment after the send (the gateway's answer comes first).
async fn report(url: String, id: String, to: String, status: String, reason: Option<String>) {
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut form = vec![
        ("id", id),
        ("status", status),
        ("phoneNumber", to),
        ("networkCode", "63902".to_string()),
        ("retryCount", "0".to_string()),
    ];
    if let Some(reason) = reason {
        form.push(("failureReason", reason));
    }
    let sent = reqwest::Client::new().post(&url).form(&form).send().await;
    if let Err(err) = sent {
        tracing::warn!(error = %err, "SMS simulator: delivery report not delivered");
    }
}
