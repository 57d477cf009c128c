//! What the messages settings page shows.

use serde::{Deserialize, Serialize};

use crate::messaging::template::{Event, Language};

/// One event's words in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateRow {
    pub event: Event,
    pub language: Language,
    /// The words sent: the ISP's own, or the default.
    pub text: String,
    /// Whether the ISP wrote its own.
    pub custom: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplatesView {
    pub rows: Vec<TemplateRow>,
    /// Days before expiry a reminder goes, furthest first.
    pub reminder_days: Vec<i32>,
    /// Owner and admins may change them.
    pub editable: bool,
}

/// The most reminders before one expiry, and the furthest ahead one may go.
pub const MAX_REMINDERS: usize = 5;
pub const MAX_REMINDER_DAYS: i32 = 30;

/// "3, 1" as typed: the days before expiry a reminder goes, furthest first, each once. Blank:
/// no reminders.
pub fn parse_reminder_days(input: &str) -> Result<Vec<i32>, crate::error::AppError> {
    let field = "reminder_days";
    let mut days = Vec::new();
    for part in input.split([',', ' ']).filter(|p| !p.trim().is_empty()) {
        let day: i32 = part
            .trim()
            .parse()
            .map_err(|_| crate::error::AppError::invalid(field, "must be whole days, like 3, 1"))?;
        if !(1..=MAX_REMINDER_DAYS).contains(&day) {
            return Err(crate::error::AppError::invalid(
                field,
                format!("must each be between 1 and {MAX_REMINDER_DAYS} days"),
            ));
        }
        if !days.contains(&day) {
            days.push(day);
        }
    }
    if days.len() > MAX_REMINDERS {
        return Err(crate::error::AppError::invalid(
            field,
            format!("may be at most {MAX_REMINDERS} days"),
        ));
    }
    days.sort_unstable_by(|a, b| b.cmp(a));
    Ok(days)
}

/// One text message in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRow {
    pub id: uuid::Uuid,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// As stored: `2547…`.
    pub recipient: String,
    pub customer: Option<String>,
    /// What sent it (`portal_code`, `ticket_reply`, `voucher_sold`, …).
    pub kind: String,
    /// The text, with sign-in codes hidden (see [`shown_body`]).
    pub body: String,
    /// queued, sending, sent, delivered, failed or unknown.
    pub status: String,
    pub attempts: i32,
    /// The gateway's answer, or why it failed.
    pub error: Option<String>,
    pub cost: Option<String>,
    /// The gateway's last delivery report.
    pub delivery_status: Option<String>,
}

/// The messages page: the newest messages in a status, and how many each status has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageLog {
    pub rows: Vec<MessageRow>,
    /// (status, count) for every status that has messages.
    pub counts: Vec<(String, i64)>,
    pub utc_offset_seconds: i32,
    /// Whether the reader may send bulk messages (owner, admin).
    pub can_send_bulk: bool,
}

/// The statuses a message moves through, in order, with what staff read.
pub const STATUSES: [(&str, &str); 6] = [
    ("queued", "Waiting"),
    ("sending", "Sending"),
    ("sent", "Sent"),
    ("delivered", "Delivered"),
    ("failed", "Failed"),
    ("unknown", "Outcome unknown"),
];

pub fn status_label(status: &str) -> &'static str {
    STATUSES
        .iter()
        .find(|(s, _)| *s == status)
        .map_or("Unknown status", |(_, label)| label)
}

pub fn status_badge(status: &str) -> &'static str {
    match status {
        "delivered" | "sent" => "badge badge-success",
        "failed" => "badge badge-danger",
        "unknown" => "badge badge-warning",
        _ => "badge badge-neutral",
    }
}

/// A message as staff may read it: a subscriber's sign-in code is a key to their account, so its
/// digits are hidden (six in a row, as the code is written).
pub fn shown_body(kind: &str, body: &str) -> String {
    if kind != "portal_code" {
        return body.to_string();
    }
    let mut out = String::with_capacity(body.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.len() == 6 {
            out.push_str("••••••");
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in body.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminder_days_read_as_typed() {
        assert_eq!(parse_reminder_days("3, 1").unwrap(), vec![3, 1]);
        assert_eq!(parse_reminder_days("1 7 3 3").unwrap(), vec![7, 3, 1]);
        assert_eq!(parse_reminder_days("  ").unwrap(), Vec::<i32>::new());
        for bad in ["0", "31", "two", "1.5", "1,2,3,4,5,6"] {
            let err = parse_reminder_days(bad).unwrap_err();
            assert!(
                matches!(&err, crate::error::AppError::Invalid { field, .. } if field == "reminder_days"),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn sign_in_codes_are_hidden_and_nothing_else_is() {
        assert_eq!(
            shown_body(
                "portal_code",
                "482913 is your Alpha sign-in code. It expires in 5 minutes."
            ),
            "•••••• is your Alpha sign-in code. It expires in 5 minutes."
        );
        assert_eq!(
            shown_body("portal_code", "Nambari ya Alpha: 004213"),
            "Nambari ya Alpha: ••••••"
        );
        // Other numbers in a code message, and codes in other messages, stay.
        assert_eq!(
            shown_body("portal_code", "Call 0712345678"),
            "Call 0712345678"
        );
        assert_eq!(
            shown_body("voucher_sold", "Your WiFi code is 482913"),
            "Your WiFi code is 482913"
        );
    }
}
