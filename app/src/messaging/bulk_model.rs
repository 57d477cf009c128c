//! Bulk SMS, shared by the server and the compose page: who a message goes to (a segment of the
//! ISP's subscribers), what may be written in it, and what the progress page shows.
//!
//! Bulk messages are marketing: they only ever go to subscribers whose SMS consent is given.
//! Everyone else in the segment is counted as left out, so the operator sees the difference
//! before sending.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{error::AppError, messaging::template::Placeholder};

/// What a bulk message may be personalised with: per subscriber, never per service (a
/// subscriber with two services gets one message).
pub const PLACEHOLDERS: [Placeholder; 4] = [
    Placeholder::Name,
    Placeholder::Account,
    Placeholder::Paybill,
    Placeholder::Business,
];

/// The longest window "expiring within" may look ahead.
pub const MAX_EXPIRING_DAYS: i32 = 90;

/// Who a bulk message goes to. A subscriber is in it when one of their services is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Segment {
    /// With an active service.
    Active,
    /// With an active service that expires within this many days.
    Expiring(i32),
    /// With a service on this plan, whatever its state.
    Plan(Uuid),
    /// With a service on this router, whatever its state.
    Router(Uuid),
    /// With an expired or suspended service: cut off until they pay.
    Expired,
}

impl Segment {
    /// The segment a compose form names: `segment` is one of active, expiring, plan, router,
    /// expired; `days`, `plan` and `router` complete the ones that need them.
    pub fn parse(segment: &str, days: &str, plan: &str, router: &str) -> Result<Self, AppError> {
        let id = |field: &str, value: &str, what: &str| {
            Uuid::parse_str(value.trim())
                .map_err(|_| AppError::invalid(field, format!("choose {what}")))
        };
        match segment.trim() {
            "active" => Ok(Segment::Active),
            "expired" => Ok(Segment::Expired),
            "expiring" => {
                let days: i32 = days
                    .trim()
                    .parse()
                    .map_err(|_| AppError::invalid("days", "must be a whole number of days"))?;
                if !(1..=MAX_EXPIRING_DAYS).contains(&days) {
                    return Err(AppError::invalid(
                        "days",
                        format!("must be between 1 and {MAX_EXPIRING_DAYS}"),
                    ));
                }
                Ok(Segment::Expiring(days))
            }
            "plan" => Ok(Segment::Plan(id("plan", plan, "a plan")?)),
            "router" => Ok(Segment::Router(id("router", router, "a router")?)),
            _ => Err(AppError::invalid(
                "segment",
                "choose who the message goes to",
            )),
        }
    }

    /// As stored (`sms_campaigns.segment`).
    pub fn kind(self) -> &'static str {
        match self {
            Segment::Active => "active",
            Segment::Expiring(_) => "expiring",
            Segment::Plan(_) => "plan",
            Segment::Router(_) => "router",
            Segment::Expired => "expired",
        }
    }

    /// In words; `name` is the plan's or router's name where the segment has one.
    pub fn label(self, name: Option<&str>) -> String {
        let name = name.unwrap_or("?");
        match self {
            Segment::Active => "Everyone with an active service".into(),
            Segment::Expiring(1) => "Active, expiring within 1 day".into(),
            Segment::Expiring(days) => format!("Active, expiring within {days} days"),
            Segment::Plan(_) => format!("On the plan {name}"),
            Segment::Router(_) => format!("On the router {name}"),
            Segment::Expired => "Expired or suspended".into(),
        }
    }
}

/// Checks a bulk message: the same rules as a template, with the placeholders a bulk message
/// can fill.
pub fn check_text(text: &str) -> Result<(), AppError> {
    crate::messaging::template::check_placeholders(&PLACEHOLDERS, "a bulk message", text)
}

/// What composing needs: the plans and routers to choose from, and the price of one SMS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComposeOptions {
    pub plans: Vec<(Uuid, String)>,
    pub routers: Vec<(Uuid, String)>,
    /// What one SMS part costs the ISP, in cents (for the estimate).
    pub part_price_minor: i64,
    pub recent: Vec<CampaignSummary>,
}

/// The compose form as it was counted, so the send form sends exactly that.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkForm {
    pub segment: String,
    pub days: String,
    pub plan: String,
    pub router: String,
    pub text: String,
}

impl BulkForm {
    pub fn segment(&self) -> Result<Segment, AppError> {
        Segment::parse(&self.segment, &self.days, &self.plan, &self.router)
    }
}

/// What a message to a segment would cost, before it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    /// The id sending it will have: made when counted, so pressing Send twice sends once.
    pub key: Uuid,
    pub form: BulkForm,
    pub label: String,
    /// Subscribers it goes to: in the segment, with consent.
    pub recipients: i64,
    /// In the segment without SMS consent: never sent to.
    pub left_out: i64,
    /// SMS parts over every recipient (each written with their own values).
    pub parts: i64,
    pub estimated_cost_minor: i64,
    /// The first recipient's message as it will read.
    pub sample: Option<String>,
}

/// A bulk message sent earlier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignSummary {
    pub id: Uuid,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub label: String,
    pub recipients: i32,
}

/// One recipient's message in a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientRow {
    pub name: Option<String>,
    pub recipient: String,
    pub status: String,
    pub error: Option<String>,
}

/// A campaign as it is being sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub id: Uuid,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub created_by: String,
    pub label: String,
    pub body: String,
    pub recipients: i64,
    pub left_out: i32,
    pub estimated_cost_minor: i64,
    /// Messages by status.
    pub counts: Vec<(String, i64)>,
    pub rows: Vec<RecipientRow>,
    pub utc_offset_seconds: i32,
}

impl Progress {
    /// Messages whose sending is over, one way or another (sent, delivered, failed, unknown).
    pub fn settled(&self) -> i64 {
        self.counts
            .iter()
            .filter(|(s, _)| !matches!(s.as_str(), "queued" | "sending"))
            .map(|(_, n)| n)
            .sum()
    }

    /// How far sending is, 0–100 (100 when there was nobody to send to).
    pub fn percent(&self) -> i64 {
        if self.recipients == 0 {
            100
        } else {
            (self.settled() * 100 / self.recipients).clamp(0, 100)
        }
    }

    pub fn count(&self, status: &str) -> i64 {
        self.counts
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_read_from_the_form_with_clear_errors() {
        assert_eq!(
            Segment::parse("active", "", "", "").unwrap(),
            Segment::Active
        );
        assert_eq!(
            Segment::parse("expiring", " 7 ", "", "").unwrap(),
            Segment::Expiring(7)
        );
        let plan = Uuid::from_u128(7);
        assert_eq!(
            Segment::parse("plan", "", &plan.to_string(), "").unwrap(),
            Segment::Plan(plan)
        );
        for (segment, days, field) in [
            ("expiring", "0", "days"),
            ("expiring", "91", "days"),
            ("expiring", "soon", "days"),
            ("plan", "", "plan"),
            ("router", "x", "router"),
            ("everyone", "", "segment"),
        ] {
            match Segment::parse(segment, days, "", "x") {
                Err(AppError::Invalid { field: f, .. }) => assert_eq!(f, field, "{segment} {days}"),
                other => panic!("{segment} {days}: {other:?}"),
            }
        }
        assert_eq!(
            Segment::Expiring(1).label(None),
            "Active, expiring within 1 day"
        );
        assert_eq!(
            Segment::Plan(plan).label(Some("Home 10")),
            "On the plan Home 10"
        );
    }

    #[test]
    fn a_bulk_message_may_use_only_subscriber_placeholders() {
        assert!(check_text("Hi {name} ({account}), {business} paybill {paybill}").is_ok());
        let err = check_text("Your code {code}").unwrap_err();
        assert!(err.to_string().contains("{code}"), "{err}");
        assert!(check_text("  ").is_err());
    }

    #[test]
    fn progress_counts_what_is_settled() {
        let mut p = Progress {
            id: Uuid::nil(),
            created_at: chrono::DateTime::UNIX_EPOCH,
            created_by: "owner".into(),
            label: "All".into(),
            body: "Hi".into(),
            recipients: 4,
            left_out: 0,
            estimated_cost_minor: 0,
            counts: vec![
                ("queued".into(), 2),
                ("sent".into(), 1),
                ("failed".into(), 1),
            ],
            rows: vec![],
            utc_offset_seconds: 0,
        };
        assert_eq!((p.settled(), p.percent()), (2, 50));
        p.counts = vec![("delivered".into(), 3), ("unknown".into(), 1)];
        assert_eq!(p.percent(), 100);
        p.recipients = 0;
        p.counts.clear();
        assert_eq!(p.percent(), 100);
    }
}
