//! Support tickets as both sides show them, and the rules for what a ticket may hold.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppError;

pub const CATEGORIES: [(&str, &str); 4] = [
    ("no_internet", "No internet"),
    ("slow", "Slow internet"),
    ("billing", "Billing"),
    ("other", "Something else"),
];

pub fn category_label(category: &str) -> &'static str {
    CATEGORIES
        .iter()
        .find(|(key, _)| *key == category)
        .map_or("Something else", |(_, label)| label)
}

pub fn status_label(status: &str) -> &'static str {
    match status {
        "open" => "Waiting for us",
        "answered" => "Answered",
        _ => "Closed",
    }
}

/// The portal's words for a status: the same states, seen from the other side.
pub fn status_label_for_subscriber(status: &str) -> &'static str {
    match status {
        "open" => "Waiting for your provider",
        "answered" => "Answered",
        _ => "Closed",
    }
}

pub fn status_badge(status: &str) -> &'static str {
    match status {
        "open" => "badge badge-warning",
        "answered" => "badge badge-info",
        _ => "badge badge-neutral",
    }
}

/// A ticket message as typed: trimmed, 1 to 4,000 characters.
pub fn check_message(message: &str) -> Result<String, AppError> {
    let message = message.trim();
    match message.chars().count() {
        0 => Err(AppError::invalid("message", "is empty: say what is wrong")),
        n if n > 4000 => Err(AppError::invalid(
            "message",
            "must be at most 4,000 characters",
        )),
        _ => Ok(message.to_string()),
    }
}

/// A new ticket as typed on the portal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketForm {
    pub subject: String,
    pub category: String,
    pub message: String,
}

/// A checked [`TicketForm`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketInput {
    pub subject: String,
    pub category: &'static str,
    pub message: String,
}

impl TicketForm {
    pub fn check(&self) -> Result<TicketInput, AppError> {
        let subject = self.subject.trim();
        let count = subject.chars().count();
        if count < 3 {
            return Err(AppError::invalid("subject", "needs at least 3 characters"));
        }
        if count > 120 {
            return Err(AppError::invalid(
                "subject",
                "must be at most 120 characters",
            ));
        }
        let category = CATEGORIES
            .iter()
            .find(|(key, _)| *key == self.category.trim())
            .map(|(key, _)| *key)
            .ok_or_else(|| AppError::invalid("category", "choose what the problem is about"))?;
        Ok(TicketInput {
            subject: subject.to_string(),
            category,
            message: check_message(&self.message)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketMessage {
    /// `None`: the subscriber wrote it.
    pub staff_name: Option<String>,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// One ticket with its conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: Uuid,
    pub number: i64,
    pub subject: String,
    pub category: String,
    pub status: String,
    pub customer_id: Uuid,
    pub customer_name: String,
    pub account_number: String,
    pub assigned_to: Option<Uuid>,
    pub assigned_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_message_at: DateTime<Utc>,
    pub messages: Vec<TicketMessage>,
}

/// The operator's Tickets page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketList {
    /// Without their messages.
    pub tickets: Vec<Ticket>,
    pub open: i64,
    pub answered: i64,
    pub closed: i64,
    pub utc_offset_seconds: i32,
}

/// One ticket on the operator side, with whom it may be assigned to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketPage {
    pub ticket: Ticket,
    pub staff: Vec<(Uuid, String)>,
    pub utc_offset_seconds: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_needs_a_subject_a_known_category_and_a_message() {
        let form = |subject: &str, category: &str, message: &str| TicketForm {
            subject: subject.into(),
            category: category.into(),
            message: message.into(),
        };
        let ok = form(
            "  No internet since morning ",
            "no_internet",
            " Red light on the router ",
        )
        .check()
        .unwrap();
        assert_eq!(
            (ok.subject.as_str(), ok.category, ok.message.as_str()),
            (
                "No internet since morning",
                "no_internet",
                "Red light on the router"
            )
        );
        let field = |f: TicketForm| match f.check() {
            Err(AppError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(form("Hi", "slow", "x")), "subject");
        assert_eq!(field(form(&"x".repeat(121), "slow", "x")), "subject");
        assert_eq!(field(form("Slow again", "router", "x")), "category");
        assert_eq!(field(form("Slow again", "slow", "   ")), "message");
        assert_eq!(
            field(form("Slow again", "slow", &"x".repeat(4001))),
            "message"
        );
    }
}
