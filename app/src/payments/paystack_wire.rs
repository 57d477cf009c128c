//! Paystack's JSON and its webhook signature.
//!
//! Amounts are integer subunits already (KES 100 = 10000). `metadata` arrives as `""` or as an
//! object, so it is kept as a JSON value. A webhook is genuine only when `x-paystack-signature`
//! is the lowercase hex HMAC-SHA512 of the raw body under the ISP's secret key; the comparison
//! is constant-time.

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha512;

pub use super::WireError;

fn field(field: &'static str, reason: impl Into<String>) -> WireError {
    WireError::new(field, reason)
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Whether `signature` (the header's value) signs `body` under `secret`.
pub fn signature_valid(secret: &str, body: &[u8], signature: &str) -> bool {
    let Some(expected) = hex_decode(signature) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha512>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The signature Paystack would send for `body` (the simulator signs with it).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha512>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm cannot run.
        Err(_) => return String::new(),
    };
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `POST /transaction/initialize`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Initialize {
    pub email: String,
    /// Subunits.
    pub amount: i64,
    pub currency: String,
    pub reference: String,
    pub callback_url: String,
    pub metadata: Value,
}

/// Paystack's envelope: `{status, message, data}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Envelope<T> {
    pub status: bool,
    #[serde(default)]
    pub message: String,
    pub data: Option<T>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Authorization {
    pub authorization_url: String,
    pub access_code: String,
    pub reference: String,
}

/// A transaction as `GET /transaction/verify/{reference}` and `charge.success` give it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Transaction {
    pub id: i64,
    pub status: String,
    pub reference: String,
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub paid_at: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
    /// `""` or an object.
    #[serde(default)]
    pub metadata: Value,
}

impl Transaction {
    pub fn succeeded(&self) -> bool {
        self.status == "success"
    }

    /// A value we put in `metadata` at initialize, whichever shape it came back in.
    pub fn metadata_str(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).and_then(Value::as_str)
    }
}

/// A webhook delivery.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Event {
    pub event: String,
    pub data: Value,
}

impl Event {
    pub fn parse(body: &[u8]) -> Result<Self, WireError> {
        let event: Event =
            serde_json::from_slice(body).map_err(|e| field("body", e.to_string()))?;
        if event.event.trim().is_empty() {
            return Err(field("event", "is empty"));
        }
        Ok(event)
    }

    /// The delivery's identity: event name and `data.id` (Paystack retries for hours).
    pub fn key(&self) -> Result<String, WireError> {
        let id = match self.data.get("id") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            _ => return Err(field("data.id", "is missing")),
        };
        Ok(format!("{}:{id}", self.event))
    }

    /// The charge in a `charge.success`.
    pub fn transaction(&self) -> Result<Transaction, WireError> {
        serde_json::from_value(self.data.clone()).map_err(|e| field("data", e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn signatures_verify_only_for_the_same_key_and_body() {
        let body = br#"{"event":"charge.success","data":{"id":1}}"#;
        let signature = sign("sk_test_abc", body);
        assert_eq!(signature.len(), 128);
        assert!(
            signature
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert!(signature_valid("sk_test_abc", body, &signature));
        assert!(!signature_valid("sk_test_abd", body, &signature));
        assert!(!signature_valid("sk_test_abc", b"{}", &signature));
        assert!(!signature_valid("sk_test_abc", body, "zz"));
        assert!(!signature_valid("sk_test_abc", body, ""));
        assert!(!signature_valid("sk_test_abc", body, &signature[..126]));
    }

    #[test]
    fn metadata_comes_as_an_empty_string_or_an_object() {
        let base = json!({"id": 7, "status": "success", "reference": "r1", "amount": 150000,
                          "currency": "KES", "channel": "mobile_money"});
        let mut empty = base.clone();
        empty["metadata"] = json!("");
        let mut object = base;
        object["metadata"] = json!({"customer": "abc"});
        let t: Transaction = serde_json::from_value(empty).unwrap();
        assert_eq!(t.metadata_str("customer"), None);
        assert!(t.succeeded());
        let t: Transaction = serde_json::from_value(object).unwrap();
        assert_eq!(t.metadata_str("customer"), Some("abc"));
    }

    #[test]
    fn events_are_keyed_by_name_and_data_id() {
        let e = Event::parse(br#"{"event":"charge.success","data":{"id":302961}}"#).unwrap();
        assert_eq!(e.key().unwrap(), "charge.success:302961");
        let e = Event::parse(br#"{"event":"charge.success","data":{}}"#).unwrap();
        assert!(e.key().unwrap_err().to_string().starts_with("data.id"));
        assert!(Event::parse(b"[]").is_err());
    }
}
