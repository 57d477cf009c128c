//! The simulator's STK push and STK query, checking what Daraja checks (the bearer token, the
//! password built from the shortcode's passkey and a Nairobi-time timestamp, field formats and
//! lengths) and then playing a scenario: the payer pays, cancels, cannot be reached, lacks the
//! money or types the wrong PIN; the callback comes once, twice, late or never.

use std::time::Duration;

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Shared, bearer_ok, error, lock, post_json};

/// What the payer does with the prompt, and how the callback behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    #[default]
    Success,
    /// 1032: cancelled on the phone.
    Cancelled,
    /// 1037: the phone could not be reached.
    Timeout,
    /// 1: not enough money.
    InsufficientFunds,
    /// 2001: wrong PIN.
    WrongPin,
    /// Paid, and the callback delivered twice.
    Duplicate,
    /// Paid, and the callback delivered `late_ms` after the payment (queries see it first).
    Late,
    /// Paid, and no callback at all: only an STK query finds out.
    NoCallback,
}

impl Scenario {
    fn result(self) -> (i64, &'static str) {
        match self {
            Scenario::Success | Scenario::Duplicate | Scenario::Late | Scenario::NoCallback => {
                (0, "The service request is processed successfully.")
            }
            Scenario::Cancelled => (1032, "Request cancelled by user"),
            Scenario::Timeout => (1037, "DS timeout user cannot be reached"),
            Scenario::InsufficientFunds => (1, "The balance is insufficient for the transaction."),
            Scenario::WrongPin => (2001, "The initiator information is invalid."),
        }
    }
}

/// The control endpoint's choice for pushes to one phone (or every phone, without `phone`).
#[derive(Debug, Clone, Deserialize)]
pub struct ScenarioChoice {
    #[serde(default)]
    pub phone: Option<String>,
    pub scenario: Scenario,
}

/// Timing for every push: how long the payer takes, and how late a late callback is.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub answer_after: Duration,
    pub late_by: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            answer_after: Duration::from_millis(300),
            late_by: Duration::from_secs(3),
        }
    }
}

/// A push the simulator accepted, for tests to inspect.
#[derive(Debug, Clone, Serialize)]
pub struct Push {
    pub checkout_request_id: String,
    pub merchant_request_id: String,
    pub phone: String,
    pub amount: i64,
    pub account_reference: String,
    pub callback_url: String,
    pub scenario: Scenario,
    /// Set once the payer has answered.
    pub answered: bool,
    pub receipt: String,
    pub callbacks_delivered: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PushBody {
    business_short_code: String,
    password: String,
    timestamp: String,
    transaction_type: String,
    amount: Value,
    party_a: String,
    party_b: String,
    phone_number: String,
    #[serde(rename = "CallBackURL")]
    call_back_url: String,
    account_reference: String,
    transaction_desc: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct QueryBody {
    business_short_code: String,
    password: String,
    timestamp: String,
    #[serde(rename = "CheckoutRequestID")]
    checkout_request_id: String,
}

fn invalid(field: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "400.002.02",
        &format!("Bad Request - Invalid {field}"),
    )
}

fn is_msisdn(text: &str) -> bool {
    text.len() == 12
        && (text.starts_with("2547") || text.starts_with("2541"))
        && text.bytes().all(|b| b.is_ascii_digit())
}

/// The password Daraja expects, and a timestamp within ten minutes of Nairobi's clock (a
/// timestamp in UTC is three hours off and fails, as on Daraja).
fn password_ok(sim: &super::Sim, shortcode: &str, password: &str, stamp: &str) -> bool {
    let Some(passkey) = sim.passkeys.get(shortcode) else {
        return false;
    };
    let Ok(at) = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%d%H%M%S") else {
        return false;
    };
    // Nairobi is UTC+3 all year (no daylight saving).
    let nairobi = chrono::Utc::now().naive_utc() + chrono::Duration::hours(3);
    if (nairobi - at).num_minutes().abs() > 10 {
        return false;
    }
    STANDARD.encode(format!("{shortcode}{passkey}{stamp}")) == password
}

/// Daraja's refusal of a wrong password, if it is one.
fn check_password(
    sim: &super::Sim,
    shortcode: &str,
    password: &str,
    stamp: &str,
) -> Option<Response> {
    (!password_ok(sim, shortcode, password, stamp)).then(|| {
        error(
            StatusCode::BAD_REQUEST,
            "400.002.02",
            "Bad Request - Invalid Password",
        )
    })
}

pub(super) async fn process_request(
    State(sim): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let push = {
        let mut s = lock(&sim);
        if !bearer_ok(&s, &headers) {
            return error(StatusCode::NOT_FOUND, "404.001.03", "Invalid Access Token");
        }
        let Ok(req) = serde_json::from_slice::<PushBody>(&body) else {
            return invalid("Body");
        };
        if let Some(refused) =
            check_password(&s, &req.business_short_code, &req.password, &req.timestamp)
        {
            return refused;
        }
        if !matches!(
            req.transaction_type.as_str(),
            "CustomerPayBillOnline" | "CustomerBuyGoodsOnline"
        ) {
            return invalid("TransactionType");
        }
        let amount = match &req.amount {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        let Some(amount) = amount.filter(|a| *a >= 1) else {
            return invalid("Amount");
        };
        if !is_msisdn(&req.phone_number) || !is_msisdn(&req.party_a) {
            return invalid("PhoneNumber");
        }
        if req.party_b.is_empty() {
            return invalid("PartyB");
        }
        if req.account_reference.is_empty() || req.account_reference.chars().count() > 12 {
            return invalid("AccountReference");
        }
        if req.transaction_desc.is_empty() || req.transaction_desc.chars().count() > 13 {
            return invalid("TransactionDesc");
        }
        if !(req.call_back_url.starts_with("http://") || req.call_back_url.starts_with("https://"))
        {
            return invalid("CallBackURL");
        }
        s.next_receipt += 1;
        let n = s.next_receipt;
        let scenario = s
            .stk_scenarios
            .get(&req.phone_number)
            .copied()
            .unwrap_or(s.stk_default);
        let push = Push {
            checkout_request_id: format!(
                "ws_CO_{}{n:06}",
                chrono::Utc::now().format("%d%m%Y%H%M%S")
            ),
            merchant_request_id: format!("{n}-{}-1", 4_000_000 + n),
            phone: req.phone_number,
            amount,
            account_reference: req.account_reference,
            callback_url: req.call_back_url,
            scenario,
            answered: false,
            receipt: format!("SIM{n:07}K"),
            callbacks_delivered: 0,
        };
        s.pushes.push(push.clone());
        push
    };
    let ack = json!({
        "MerchantRequestID": push.merchant_request_id,
        "CheckoutRequestID": push.checkout_request_id,
        "ResponseCode": "0",
        "ResponseDescription": "Success. Request accepted for processing",
        "CustomerMessage": "Success. Request accepted for processing",
    });
    tokio::spawn(play(sim, push));
    Json(ack).into_response()
}

/// The callback Daraja posts for `push`.
pub fn callback_body(push: &Push) -> Value {
    let (code, desc) = push.scenario.result();
    let mut callback = json!({
        "MerchantRequestID": push.merchant_request_id,
        "CheckoutRequestID": push.checkout_request_id,
        "ResultCode": code,
        "ResultDesc": desc,
    });
    if code == 0 {
        let date = crate::simulators::daraja::nairobi_stamp();
        callback["CallbackMetadata"] = json!({"Item": [
            {"Name": "Amount", "Value": push.amount as f64},
            {"Name": "MpesaReceiptNumber", "Value": push.receipt},
            // Daraja often sends Balance with no Value at all.
            {"Name": "Balance"},
            {"Name": "TransactionDate", "Value": date.parse::<i64>().unwrap_or_default()},
            {"Name": "PhoneNumber", "Value": push.phone.parse::<i64>().unwrap_or_default()},
        ]});
    }
    json!({"Body": {"stkCallback": callback}})
}

/// The payer answers after a while; then the callback per the scenario.
async fn play(sim: Shared, push: Push) {
    let timing = lock(&sim).stk_timing;
    tokio::time::sleep(timing.answer_after).await;
    set_answered(&sim, &push.checkout_request_id);
    let deliveries = match push.scenario {
        Scenario::NoCallback => 0,
        Scenario::Duplicate => 2,
        _ => 1,
    };
    if push.scenario == Scenario::Late {
        tokio::time::sleep(timing.late_by).await;
    }
    let body = callback_body(&push);
    for _ in 0..deliveries {
        match post_json(&push.callback_url, &body).await {
            Ok((status, _)) => {
                let mut s = lock(&sim);
                if let Some(p) = s
                    .pushes
                    .iter_mut()
                    .find(|p| p.checkout_request_id == push.checkout_request_id)
                {
                    p.callbacks_delivered += 1;
                }
                tracing::debug!(status, checkout = %push.checkout_request_id, "STK callback delivered");
            }
            Err(err) => tracing::warn!(error = %err, "STK callback not delivered"),
        }
    }
}

fn set_answered(sim: &Shared, checkout: &str) {
    if let Some(p) = lock(sim)
        .pushes
        .iter_mut()
        .find(|p| p.checkout_request_id == checkout)
    {
        p.answered = true;
    }
}

pub(super) async fn query(State(sim): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let s = lock(&sim);
    if !bearer_ok(&s, &headers) {
        return error(StatusCode::NOT_FOUND, "404.001.03", "Invalid Access Token");
    }
    let Ok(req) = serde_json::from_slice::<QueryBody>(&body) else {
        return invalid("Body");
    };
    if let Some(refused) =
        check_password(&s, &req.business_short_code, &req.password, &req.timestamp)
    {
        return refused;
    }
    let Some(push) = s
        .pushes
        .iter()
        .find(|p| p.checkout_request_id == req.checkout_request_id)
    else {
        return invalid("CheckoutRequestID");
    };
    if !push.answered {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "500.001.1001",
            "The transaction is being processed",
        );
    }
    let (code, desc) = push.scenario.result();
    // A query answers with ResultCode as a string, unlike the callback.
    Json(json!({
        "ResponseCode": "0",
        "ResponseDescription": "The service request has been accepted successsfully",
        "MerchantRequestID": push.merchant_request_id,
        "CheckoutRequestID": push.checkout_request_id,
        "ResultCode": code.to_string(),
        "ResultDesc": desc,
    }))
    .into_response()
}

pub(super) async fn control(
    State(sim): State<Shared>,
    Json(choice): Json<ScenarioChoice>,
) -> Response {
    let mut s = lock(&sim);
    match choice.phone {
        Some(phone) => {
            s.stk_scenarios.insert(phone, choice.scenario);
        }
        None => s.stk_default = choice.scenario,
    }
    Json(json!({"ok": true})).into_response()
}
