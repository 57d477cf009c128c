//! The JSON API many Kenyan bulk-SMS resellers share: `POST {base}/api/services/sendsms/` with
//! `{apikey, partnerID, message, shortcode, mobile}`, answered with
//! `{"responses": [{"respose-code": 200, "response-description": "Success", "mobile",
//! "messageid", "networkid"}]}` (the field really is spelled `respose-code`; some resellers
//! fixed it to `response-code`, so both are read).
//!
//! The outcome follows the same rule as Africa's Talking ([`Outcome`]): another try only when
//! the answer says nothing was sent; an answer that did not come means `unknown`.
//! Codes beside 200, as the resellers document them: 1001 invalid sender id, 1002 network not
//! allowed, 1003 invalid mobile number, 1004 low bulk credits, 1005 and 1007 system error,
//! 1006 invalid credentials, 4090 internal error (try again later), 4091 no partner id,
//! 4092 no API key, 4093 details not found.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

pub use crate::messaging::africastalking::Outcome;

/// Where and as whom messages are sent.
#[derive(Clone)]
pub struct GenericConfig {
    /// The reseller's address, e.g. `https://sms.example.co.ke` (or the simulator).
    pub base_url: String,
    pub api_key: String,
    pub partner_id: String,
    /// The sender id ("shortcode") messages go out as.
    pub shortcode: String,
}

impl std::fmt::Debug for GenericConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenericConfig")
            .field("base_url", &self.base_url)
            .field("partner_id", &self.partner_id)
            .field("shortcode", &self.shortcode)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    responses: Vec<Response>,
}

#[derive(Deserialize)]
struct Response {
    #[serde(rename = "respose-code", alias = "response-code")]
    code: serde_json::Value,
    #[serde(rename = "response-description", default)]
    description: String,
    #[serde(default)]
    messageid: Option<serde_json::Value>,
}

/// The code as a number: resellers send it as a number or as a string.
fn code_of(value: &serde_json::Value) -> Option<u32> {
    match value {
        serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// What a response code means for the outbox.
pub fn code_outcome(code: u32, description: &str, message_id: Option<String>) -> Outcome {
    let reason = format!("{code} {}", description.trim());
    match code {
        200 => Outcome::Sent {
            message_id: message_id.unwrap_or_default(),
            cost: None,
        },
        // Credits, credentials or the reseller's own trouble: nothing went out.
        1004 | 1005 | 1006 | 1007 | 4090 | 4091 | 4092 | 4093 => Outcome::Retry { reason },
        // Sender id, network or number refused: it would be refused again.
        _ => Outcome::Rejected { reason },
    }
}

/// Reads an HTTP answer: status and body.
pub fn answer_outcome(http_status: u16, body: &str) -> Outcome {
    if http_status >= 500 {
        return Outcome::Unknown {
            reason: format!("the gateway answered HTTP {http_status}: {}", clip(body)),
        };
    }
    if !(200..300).contains(&http_status) {
        return Outcome::Retry {
            reason: format!("the gateway answered HTTP {http_status}: {}", clip(body)),
        };
    }
    let Ok(answer) = serde_json::from_str::<Answer>(body) else {
        return Outcome::Unknown {
            reason: format!("an answer that could not be read: {}", clip(body)),
        };
    };
    let Some(first) = answer.responses.into_iter().next() else {
        return Outcome::Unknown {
            reason: format!("an answer without a response: {}", clip(body)),
        };
    };
    let Some(code) = code_of(&first.code) else {
        return Outcome::Unknown {
            reason: format!("an answer without a code: {}", clip(body)),
        };
    };
    let id = first.messageid.map(|id| match id {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    });
    code_outcome(code, &first.description, id)
}

fn clip(text: &str) -> String {
    text.chars().take(200).collect()
}

/// Sends `message` to `to` (`2547…`, as stored).
pub async fn send(
    client: &reqwest::Client,
    config: &GenericConfig,
    to: &str,
    message: &str,
) -> Outcome {
    let url = format!(
        "{}/api/services/sendsms/",
        config.base_url.trim_end_matches('/')
    );
    let body = json!({
        "apikey": config.api_key,
        "partnerID": config.partner_id,
        "message": message,
        "shortcode": config.shortcode,
        "mobile": to,
    });
    let response = client
        .post(url)
        .header("Accept", "application/json")
        .timeout(Duration::from_secs(15))
        .json(&body)
        .send()
        .await;
    crate::messaging::africastalking::outcome_of(response, answer_outcome).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_misspelt_code_is_read_and_decides_what_happens_next() {
        let sent = answer_outcome(
            200,
            r#"{"responses":[{"respose-code":200,"response-description":"Success","mobile":254712000001,"messageid":8290842,"networkid":"1"}]}"#,
        );
        assert_eq!(
            sent,
            Outcome::Sent {
                message_id: "8290842".into(),
                cost: None
            }
        );
        // Some resellers send the code as a string, or fixed the spelling.
        let fixed = answer_outcome(
            200,
            r#"{"responses":[{"response-code":"200","response-description":"Success","messageid":"abc"}]}"#,
        );
        assert!(matches!(fixed, Outcome::Sent { message_id, .. } if message_id == "abc"));
        for (code, retry) in [
            (1003, false),
            (1001, false),
            (1004, true),
            (1006, true),
            (4090, true),
        ] {
            let body = format!(
                r#"{{"responses":[{{"respose-code":{code},"response-description":"No"}}]}}"#
            );
            let outcome = answer_outcome(200, &body);
            assert_eq!(
                matches!(outcome, Outcome::Retry { .. }),
                retry,
                "{code}: {outcome:?}"
            );
            assert!(
                matches!(outcome, Outcome::Retry { .. } | Outcome::Rejected { .. }),
                "{code}: {outcome:?}"
            );
        }
        assert!(matches!(
            answer_outcome(502, "Bad gateway"),
            Outcome::Unknown { .. }
        ));
        assert!(matches!(
            answer_outcome(200, "<html>"),
            Outcome::Unknown { .. }
        ));
        assert!(matches!(
            answer_outcome(200, r#"{"responses":[]}"#),
            Outcome::Unknown { .. }
        ));
        assert!(matches!(
            answer_outcome(404, "Not found"),
            Outcome::Retry { .. }
        ));
    }
}
