//! Africa's Talking bulk SMS (`POST /version1/messaging`): one message to one number per call,
//! and what its answer means for the outbox.
//!
//! The outcome decides whether a message may be sent again. Only an answer that says nothing
//! was sent (bad credentials, a refusal for this recipient that may pass later, a connection that
//! never opened) allows another try; once the request may have left without an answer coming
//! back, a resend could bill and deliver twice, so the message becomes `unknown`.

use std::time::Duration;

use serde::Deserialize;

/// Where and as whom messages are sent.
#[derive(Clone)]
pub struct AtConfig {
    /// `https://api.africastalking.com` (or the simulator).
    pub base_url: String,
    pub username: String,
    pub api_key: String,
    /// The registered sender id or short code, if any.
    pub sender_id: Option<String>,
}

impl std::fmt::Debug for AtConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtConfig")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// What became of one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted (status 100, 101 or 102).
    Sent {
        message_id: String,
        cost: Option<String>,
    },
    /// Refused for good (invalid number, blacklisted, do-not-disturb...): not tried again.
    Rejected { reason: String },
    /// Nothing was sent and another try may work (credentials, balance, gateway refusal).
    Retry { reason: String },
    /// The request may have been sent but no answer came: never resent automatically.
    Unknown { reason: String },
}

#[derive(Deserialize)]
struct Answer {
    #[serde(rename = "SMSMessageData")]
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "Message", default)]
    message: String,
    #[serde(rename = "Recipients", default)]
    recipients: Vec<Recipient>,
}

#[derive(Deserialize)]
struct Recipient {
    #[serde(rename = "statusCode")]
    status_code: u16,
    #[serde(default)]
    status: String,
    #[serde(default)]
    cost: Option<String>,
    #[serde(rename = "messageId", default)]
    message_id: String,
}

/// What a recipient status code means (the per-recipient codes of the messaging API).
pub fn recipient_outcome(
    code: u16,
    status: &str,
    message_id: String,
    cost: Option<String>,
) -> Outcome {
    match code {
        100..=102 => Outcome::Sent { message_id, cost },
        // Insufficient balance, and the gateway's own failures: nothing went out.
        405 | 500..=599 => Outcome::Retry {
            reason: format!("{code} {status}"),
        },
        // Risk hold, invalid sender id, invalid or unsupported number, blacklisted, could not
        // route, do-not-disturb: sending again would be refused again.
        _ => Outcome::Rejected {
            reason: format!("{code} {status}"),
        },
    }
}

/// Reads an HTTP answer: status and body.
pub fn answer_outcome(http_status: u16, body: &str) -> Outcome {
    if http_status == 401 || http_status == 403 {
        return Outcome::Retry {
            reason: format!(
                "Africa's Talking refused the credentials (HTTP {http_status}): {}",
                clip(body)
            ),
        };
    }
    if http_status >= 500 {
        // The gateway may have queued it before failing: not safe to send again.
        return Outcome::Unknown {
            reason: format!(
                "Africa's Talking answered HTTP {http_status}: {}",
                clip(body)
            ),
        };
    }
    if !(200..300).contains(&http_status) {
        return Outcome::Retry {
            reason: format!(
                "Africa's Talking answered HTTP {http_status}: {}",
                clip(body)
            ),
        };
    }
    match serde_json::from_str::<Answer>(body) {
        Ok(answer) => match answer.data.recipients.into_iter().next() {
            Some(r) => recipient_outcome(r.status_code, &r.status, r.message_id, r.cost),
            // No recipient listed: the message was refused as a whole (e.g. "InvalidPhoneNumber").
            None => Outcome::Rejected {
                reason: clip(&answer.data.message),
            },
        },
        Err(_) => Outcome::Unknown {
            reason: format!("an answer that could not be read: {}", clip(body)),
        },
    }
}

fn clip(text: &str) -> String {
    text.chars().take(200).collect()
}

/// Sends `message` to `to` (E.164 digits without the plus, as stored).
pub async fn send(client: &reqwest::Client, config: &AtConfig, to: &str, message: &str) -> Outcome {
    let url = format!(
        "{}/version1/messaging",
        config.base_url.trim_end_matches('/')
    );
    let recipient = format!("+{to}");
    let mut form = vec![
        ("username", config.username.as_str()),
        ("to", recipient.as_str()),
        ("message", message),
    ];
    if let Some(from) = config.sender_id.as_deref() {
        form.push(("from", from));
    }
    let response = client
        .post(url)
        .header("apiKey", &config.api_key)
        .header("Accept", "application/json")
        .timeout(Duration::from_secs(15))
        .form(&form)
        .send()
        .await;
    outcome_of(response, answer_outcome).await
}

/// What a gateway request came to: its answer as `read` reads it (HTTP status, body), or,
/// without one, whether the request can have left (a refused connection cannot have).
pub async fn outcome_of(
    response: Result<reqwest::Response, reqwest::Error>,
    read: fn(u16, &str) -> Outcome,
) -> Outcome {
    match response {
        Ok(response) => {
            let status = response.status().as_u16();
            match response.text().await {
                Ok(body) => read(status, &body),
                Err(err) => Outcome::Unknown {
                    reason: format!("the answer was cut off: {err}"),
                },
            }
        }
        // Refused or unreachable before anything was written: safe to try again.
        Err(err) if err.is_connect() => Outcome::Retry {
            reason: format!("could not connect: {err}"),
        },
        Err(err) => Outcome::Unknown {
            reason: format!("no answer: {err}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipient_codes_decide_whether_a_message_may_go_again() {
        let sent = answer_outcome(
            201,
            r#"{"SMSMessageData":{"Message":"Sent to 1/1 Total Cost: KES 0.8000","Recipients":[{"statusCode":101,"number":"+254712000001","status":"Success","cost":"KES 0.8000","messageId":"ATXid_1"}]}}"#,
        );
        assert_eq!(
            sent,
            Outcome::Sent {
                message_id: "ATXid_1".into(),
                cost: Some("KES 0.8000".into())
            }
        );
        for code in [401, 402, 403, 404, 406, 407, 409] {
            assert!(
                matches!(
                    recipient_outcome(code, "x", String::new(), None),
                    Outcome::Rejected { .. }
                ),
                "{code}"
            );
        }
        for code in [405, 500, 501] {
            assert!(
                matches!(
                    recipient_outcome(code, "x", String::new(), None),
                    Outcome::Retry { .. }
                ),
                "{code}"
            );
        }
    }

    #[test]
    fn an_answer_that_does_not_say_what_happened_is_unknown() {
        assert!(matches!(
            answer_outcome(401, "The supplied authentication is invalid"),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            answer_outcome(502, "Bad gateway"),
            Outcome::Unknown { .. }
        ));
        assert!(matches!(
            answer_outcome(200, "<html>"),
            Outcome::Unknown { .. }
        ));
        assert!(matches!(
            answer_outcome(
                200,
                r#"{"SMSMessageData":{"Message":"InvalidPhoneNumber","Recipients":[]}}"#
            ),
            Outcome::Rejected { .. }
        ));
    }
}
