//! Daraja's JSON as it really arrives, and the few values we compute for it.
//!
//! Safaricom's payloads are loose: `expires_in` is `"3599"` or `3599`, `ResultCode` is a number
//! in callbacks and a string in query answers, `Amount` is `1.00` or `"1.00"`, and an STK
//! callback's `Balance` item often has no `Value` at all. Everything here accepts each form it
//! has been seen in and turns amounts into integer minor units without floating point.

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, de::Error as _};
use serde_json::Value;

/// Daraja's limits on the two free-text fields of an STK push: a longer `AccountReference` is
/// the commonest cause of result 1025 ("push not sent").
pub const ACCOUNT_REFERENCE_MAX: usize = 12;
pub const TRANSACTION_DESC_MAX: usize = 13;

pub use super::WireError;

fn field(field: &'static str, reason: impl Into<String>) -> WireError {
    WireError::new(field, reason)
}

/// A whole number sent as a JSON number or a string.
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn de_integer<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let value = Value::deserialize(d)?;
    integer(&value).ok_or_else(|| D::Error::custom(format!("expected a whole number, got {value}")))
}

/// Shillings with at most two decimals ("5.00", 1.0, 10, "10") as cents. The number's own text
/// is parsed, never a float, so 0.1 + 0.2 problems cannot arise.
pub fn amount_minor(value: &Value) -> Option<i64> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => return None,
    };
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // More than two decimals are accepted only when the extra digits are zeros ("1.000").
    let (cents, rest) = frac.split_at(frac.len().min(2));
    if rest.bytes().any(|b| b != b'0') {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let cents: i64 = format!("{cents:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(cents)
}

fn de_amount<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let value = Value::deserialize(d)?;
    amount_minor(&value).ok_or_else(|| D::Error::custom(format!("expected an amount, got {value}")))
}

/// `GET /oauth/v1/generate?grant_type=client_credentials`.
#[derive(Debug, Clone, Deserialize)]
pub struct Token {
    pub access_token: String,
    #[serde(deserialize_with = "de_integer")]
    pub expires_in: i64,
}

/// Daraja's error body, e.g. `500.001.1001` "unable to lock subscriber" or `500.003.02` spike
/// arrest.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    #[serde(default)]
    pub request_id: String,
    pub error_code: String,
    pub error_message: String,
}

impl ApiError {
    /// The customer has not answered the push yet (STK query), or a push is already in
    /// progress for the phone: wait and ask again.
    pub fn is_pending(&self) -> bool {
        self.error_code == "500.001.1001"
            && self
                .error_message
                .to_ascii_lowercase()
                .contains("being processed")
    }

    /// Worth retrying after a pause: "unable to lock subscriber", spike arrest, quota.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.error_code.as_str(),
            "500.001.1001" | "500.003.02" | "500.003.03"
        )
    }
}

/// `Password` = base64(shortcode + passkey + timestamp).
pub fn stk_password(shortcode: &str, passkey: &str, timestamp: &str) -> String {
    STANDARD.encode(format!("{shortcode}{passkey}{timestamp}"))
}

/// `YYYYMMDDHHmmss` in Nairobi time, as Daraja checks the password against.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.with_timezone(&chrono_tz::Africa::Nairobi)
        .format("%Y%m%d%H%M%S")
        .to_string()
}

/// The first `max` characters (not bytes) of `text`.
pub fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// `POST /mpesa/stkpush/v1/processrequest`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct StkPush {
    pub business_short_code: String,
    pub password: String,
    pub timestamp: String,
    pub transaction_type: String,
    /// Whole shillings.
    pub amount: i64,
    pub party_a: String,
    pub party_b: String,
    pub phone_number: String,
    #[serde(rename = "CallBackURL")]
    pub call_back_url: String,
    pub account_reference: String,
    pub transaction_desc: String,
}

/// The push's acknowledgement; the result comes later by callback or query.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct StkAck {
    #[serde(rename = "MerchantRequestID")]
    pub merchant_request_id: String,
    #[serde(rename = "CheckoutRequestID")]
    pub checkout_request_id: String,
    #[serde(deserialize_with = "de_code")]
    pub response_code: String,
    #[serde(default)]
    pub response_description: String,
    #[serde(default)]
    pub customer_message: String,
}

/// A result code as text, sent as a string or a number.
fn de_code<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s.trim().to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(D::Error::custom(format!("expected a code, got {other}"))),
    }
}

/// `POST /mpesa/stkpushquery/v1/query`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct StkQuery {
    pub business_short_code: String,
    pub password: String,
    pub timestamp: String,
    #[serde(rename = "CheckoutRequestID")]
    pub checkout_request_id: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct StkQueryAnswer {
    #[serde(deserialize_with = "de_code")]
    pub response_code: String,
    #[serde(deserialize_with = "de_integer")]
    pub result_code: i64,
    #[serde(default)]
    pub result_desc: String,
}

/// What an STK push came to, from its callback (or its query, which carries no metadata).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StkResult {
    pub merchant_request_id: String,
    pub checkout_request_id: String,
    pub result_code: i64,
    pub result_desc: String,
    /// Success only: the amount paid, the receipt, the payer, when.
    pub amount_minor: Option<i64>,
    pub receipt: Option<String>,
    pub phone: Option<String>,
    pub transaction_date: Option<String>,
}

#[derive(Deserialize)]
struct CallbackEnvelope {
    #[serde(rename = "Body")]
    body: CallbackBody,
}

#[derive(Deserialize)]
struct CallbackBody {
    #[serde(rename = "stkCallback")]
    stk_callback: RawCallback,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawCallback {
    #[serde(rename = "MerchantRequestID", default)]
    merchant_request_id: String,
    #[serde(rename = "CheckoutRequestID")]
    checkout_request_id: String,
    #[serde(deserialize_with = "de_integer")]
    result_code: i64,
    #[serde(default)]
    result_desc: String,
    callback_metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(rename = "Item", default)]
    item: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    #[serde(rename = "Name")]
    name: String,
    /// Missing on `Balance`, often.
    #[serde(rename = "Value", default)]
    value: Option<Value>,
}

/// Text of a JSON scalar: receipt numbers are strings, phone numbers and dates numbers.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl StkResult {
    /// Parses an STK callback body. A success must carry an amount and a receipt.
    pub fn from_callback(body: &[u8]) -> Result<Self, WireError> {
        let envelope: CallbackEnvelope =
            serde_json::from_slice(body).map_err(|e| field("Body.stkCallback", e.to_string()))?;
        let raw = envelope.body.stk_callback;
        if raw.checkout_request_id.trim().is_empty() {
            return Err(field("CheckoutRequestID", "is empty"));
        }
        let mut result = StkResult {
            merchant_request_id: raw.merchant_request_id,
            checkout_request_id: raw.checkout_request_id.trim().to_string(),
            result_code: raw.result_code,
            result_desc: raw.result_desc,
            amount_minor: None,
            receipt: None,
            phone: None,
            transaction_date: None,
        };
        for item in raw.callback_metadata.map(|m| m.item).unwrap_or_default() {
            let Some(value) = item.value else { continue };
            match item.name.as_str() {
                "Amount" => {
                    result.amount_minor = Some(
                        amount_minor(&value).ok_or_else(|| field("Amount", "is not an amount"))?,
                    )
                }
                "MpesaReceiptNumber" => result.receipt = scalar_text(&value),
                "PhoneNumber" => result.phone = scalar_text(&value),
                "TransactionDate" => result.transaction_date = scalar_text(&value),
                _ => {}
            }
        }
        if result.result_code == 0 {
            if result.amount_minor.is_none_or(|a| a <= 0) {
                return Err(field("Amount", "is missing from a successful payment"));
            }
            if result.receipt.as_deref().is_none_or(str::is_empty) {
                return Err(field(
                    "MpesaReceiptNumber",
                    "is missing from a successful payment",
                ));
            }
        }
        Ok(result)
    }
}

/// A C2B validation or confirmation (paybill or till payment made from the phone's menu).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct C2b {
    #[serde(default)]
    pub transaction_type: String,
    #[serde(rename = "TransID")]
    pub trans_id: String,
    #[serde(default)]
    pub trans_time: String,
    /// "10.00" as cents.
    #[serde(deserialize_with = "de_amount")]
    pub trans_amount: i64,
    #[serde(default)]
    pub business_short_code: String,
    #[serde(default)]
    pub bill_ref_number: String,
    #[serde(default)]
    pub invoice_number: String,
    /// Masked in current payloads ("2547 ***** 126"): kept for the record, never matched on.
    #[serde(rename = "MSISDN", default)]
    pub msisdn: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub middle_name: String,
    #[serde(default)]
    pub last_name: String,
}

impl C2b {
    pub fn parse(body: &[u8]) -> Result<Self, WireError> {
        let c2b: C2b =
            serde_json::from_slice(body).map_err(|e| field("C2B payload", e.to_string()))?;
        if c2b.trans_id.trim().is_empty() {
            return Err(field("TransID", "is empty"));
        }
        if c2b.trans_id.trim().chars().count() > 100 {
            return Err(field("TransID", "is longer than 100 characters"));
        }
        if c2b.trans_amount <= 0 {
            return Err(field("TransAmount", "must be more than zero"));
        }
        Ok(c2b)
    }

    /// The payer's name as M-Pesa gives it.
    pub fn payer_name(&self) -> String {
        [&self.first_name, &self.middle_name, &self.last_name]
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The answers Daraja expects from our C2B endpoints.
pub fn c2b_accept() -> Value {
    serde_json::json!({"ResultCode": "0", "ResultDesc": "Accepted"})
}

/// Rejects a validation: `C2B00012` is "invalid account number".
pub fn c2b_reject(code: &str) -> Value {
    serde_json::json!({"ResultCode": code, "ResultDesc": "Rejected"})
}

pub fn c2b_confirmed() -> Value {
    serde_json::json!({"ResultCode": 0, "ResultDesc": "Success"})
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts_become_cents_without_floats() {
        for (value, cents) in [
            (json!("5.00"), Some(500)),
            (json!(1.0), Some(100)),
            (json!(10), Some(1000)),
            (json!("10"), Some(1000)),
            (json!("0.1"), Some(10)),
            (json!("1499.99"), Some(149_999)),
            (json!("1.000"), Some(100)),
            (json!("1.005"), None),
            (json!("-1"), None),
            (json!("1e3"), None),
            (json!(""), None),
            (json!(null), None),
        ] {
            assert_eq!(amount_minor(&value), cents, "{value}");
        }
    }

    #[test]
    fn tokens_take_expires_in_as_text_or_number() {
        for body in [
            r#"{"access_token":"abc","expires_in":"3599"}"#,
            r#"{"access_token":"abc","expires_in":3599}"#,
        ] {
            let token: Token = serde_json::from_str(body).unwrap();
            assert_eq!(
                (token.access_token.as_str(), token.expires_in),
                ("abc", 3599)
            );
        }
        assert!(
            serde_json::from_str::<Token>(r#"{"access_token":"a","expires_in":"soon"}"#).is_err()
        );
    }

    #[test]
    fn the_password_and_timestamp_follow_darajas_rules() {
        let at = DateTime::parse_from_rfc3339("2026-11-28T21:30:05Z")
            .unwrap()
            .with_timezone(&Utc);
        // Nairobi is UTC+3: already the next day there.
        assert_eq!(timestamp(at), "20261129003005");
        assert_eq!(
            stk_password("174379", "passkey", "20261129003005"),
            STANDARD.encode("174379passkey20261129003005")
        );
        assert_eq!(
            clip("ACCOUNT-NUMBER-1234", ACCOUNT_REFERENCE_MAX),
            "ACCOUNT-NUMB"
        );
        assert_eq!(
            clip("Jasiyo: Wi-Fi ✓ ok", TRANSACTION_DESC_MAX)
                .chars()
                .count(),
            13
        );
    }

    #[test]
    fn a_successful_callback_gives_amount_receipt_and_phone_even_without_a_balance_value() {
        let body = json!({"Body": {"stkCallback": {
            "MerchantRequestID": "29115-34620561-1",
            "CheckoutRequestID": "ws_CO_191220191020363925",
            "ResultCode": 0,
            "ResultDesc": "The service request is processed successfully.",
            "CallbackMetadata": {"Item": [
                {"Name": "Amount", "Value": 1.00},
                {"Name": "MpesaReceiptNumber", "Value": "NLJ7RT61SV"},
                {"Name": "Balance"},
                {"Name": "TransactionDate", "Value": 20191219102115u64},
                {"Name": "PhoneNumber", "Value": 254708374149u64}
            ]}
        }}});
        let result = StkResult::from_callback(body.to_string().as_bytes()).unwrap();
        assert_eq!(result.checkout_request_id, "ws_CO_191220191020363925");
        assert_eq!(result.result_code, 0);
        assert_eq!(result.amount_minor, Some(100));
        assert_eq!(result.receipt.as_deref(), Some("NLJ7RT61SV"));
        assert_eq!(result.phone.as_deref(), Some("254708374149"));
        assert_eq!(result.transaction_date.as_deref(), Some("20191219102115"));
    }

    #[test]
    fn a_cancelled_callback_has_no_metadata_and_a_string_code_is_accepted() {
        let body = json!({"Body": {"stkCallback": {
            "MerchantRequestID": "1", "CheckoutRequestID": "ws_CO_1",
            "ResultCode": "1032", "ResultDesc": "Request cancelled by user"
        }}});
        let result = StkResult::from_callback(body.to_string().as_bytes()).unwrap();
        assert_eq!((result.result_code, result.amount_minor), (1032, None));
    }

    #[test]
    fn malformed_callbacks_name_what_is_wrong() {
        for (body, what) in [
            ("not json".to_string(), "Body.stkCallback"),
            (json!({"Body": {}}).to_string(), "Body.stkCallback"),
            (
                json!({"Body": {"stkCallback": {"CheckoutRequestID": " ", "ResultCode": 0}}})
                    .to_string(),
                "CheckoutRequestID",
            ),
            (
                json!({"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1", "ResultCode": 0,
                    "CallbackMetadata": {"Item": [{"Name": "Amount", "Value": 5}]}}}})
                .to_string(),
                "MpesaReceiptNumber",
            ),
        ] {
            let err = StkResult::from_callback(body.as_bytes()).unwrap_err();
            assert!(err.to_string().starts_with(what), "{body}: {err}");
        }
    }

    #[test]
    fn c2b_payloads_parse_string_amounts_and_keep_the_masked_number_as_text() {
        let body = json!({
            "TransactionType": "Pay Bill", "TransID": "RKTQDM7W6S", "TransTime": "20191122063845",
            "TransAmount": "10.00", "BusinessShortCode": "600638", "BillRefNumber": " a1001 ",
            "InvoiceNumber": "", "OrgAccountBalance": "49197.00", "ThirdPartyTransID": "",
            "MSISDN": "2547 ***** 126", "FirstName": "John", "MiddleName": "", "LastName": "Doe"
        });
        let c2b = C2b::parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(c2b.trans_amount, 1000);
        assert_eq!(c2b.bill_ref_number, " a1001 ");
        assert_eq!(c2b.msisdn, "2547 ***** 126");
        assert_eq!(c2b.payer_name(), "John Doe");
        let zero = json!({"TransID": "X", "TransAmount": "0.00"});
        assert!(C2b::parse(zero.to_string().as_bytes()).is_err());
    }

    #[test]
    fn api_errors_say_whether_to_wait() {
        let err: ApiError = serde_json::from_value(json!({
            "requestId": "1", "errorCode": "500.001.1001",
            "errorMessage": "The transaction is being processed"
        }))
        .unwrap();
        assert!(err.is_pending() && err.is_transient());
        let spike: ApiError = serde_json::from_value(
            json!({"requestId": "2", "errorCode": "500.003.02", "errorMessage": "Spike arrest"}),
        )
        .unwrap();
        assert!(!spike.is_pending() && spike.is_transient());
    }
}
