//! What the portal's pages show, shared by the server and the browser.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::payments::model::PayLinkView;

/// The sign-in page of an ISP's portal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalStart {
    pub business: String,
    pub slug: String,
    pub has_logo: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalService {
    pub id: Uuid,
    pub plan: String,
    pub kind: String,
    pub username: String,
    pub status: String,
    pub expires_at: DateTime<Utc>,
    pub speed: String,
    pub plan_id: Uuid,
    pub price_minor: i64,
    /// Bytes up and down since the period began (or in the last 30 days), from RADIUS
    /// accounting; `None` where the router sends none.
    pub data_used_bytes: Option<i64>,
    /// The period in use as invoiced (start, end, charged): what a plan change prorates.
    pub invoiced_period: Option<(DateTime<Utc>, DateTime<Utc>, i64)>,
    /// The ISP's other plans of the same kind, on sale.
    pub choices: Vec<PortalPlanChoice>,
}

/// A plan a service may move to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalPlanChoice {
    pub id: Uuid,
    pub name: String,
    pub price_minor: i64,
    /// "1 month", "7 days".
    pub validity: String,
    pub speed: String,
}

/// What changing to `choice` bills now, in words: the same proration and VAT the server posts.
pub fn plan_change_preview(
    service: &PortalService,
    choice: &PortalPlanChoice,
    vat: crate::billing::model::VatMode,
    now: DateTime<Utc>,
) -> String {
    use crate::{
        billing::model::{line_amounts, prorate},
        money::format_kes,
    };
    let now_part = match service.invoiced_period {
        Some((start, end, charged)) => {
            let share = prorate(charged, choice.price_minor, start, end, now);
            let charge = line_amounts(share.charge, 1, vat).total;
            let net = charge - share.credit;
            let due = if net > 0 {
                format!("{} to pay now", format_kes(net))
            } else if net < 0 {
                format!("{} back as credit", format_kes(-net))
            } else {
                "nothing to pay now".to_string()
            };
            format!(
                "For the rest of this period: {} credit for your current plan, {} for the new one ({due}). ",
                format_kes(share.credit),
                format_kes(charge)
            )
        }
        None => String::new(),
    };
    format!(
        "{now_part}Then {} for {}.",
        format_kes(choice.price_minor),
        choice.validity
    )
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalInvoice {
    pub id: Uuid,
    pub number: String,
    pub status: String,
    pub total_minor: i64,
    /// Still to pay.
    pub balance_minor: i64,
    pub issued_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

/// The portal's home for a signed-in subscriber.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalHome {
    pub slug: String,
    /// The subscriber's payment link code: paying here is the payment page's own flow.
    pub pay_code: String,
    pub pay: PayLinkView,
    pub services: Vec<PortalService>,
    pub invoices: Vec<PortalInvoice>,
    /// Whether they set a password (for signing in with the account number).
    pub has_password: bool,
    /// The server's now, so the countdowns read the same rendered and hydrated.
    pub now: DateTime<Utc>,
    pub vat: crate::billing::model::VatMode,
    /// Their support tickets with the conversations.
    pub tickets: Vec<crate::tickets::model::Ticket>,
    pub has_logo: bool,
}

/// The portal's page: the home when signed in, the sign-in page otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)] // one value per page load
pub enum PortalView {
    Home(PortalHome),
    SignIn(PortalStart),
}

/// How long until `expires_at`, in words ("3 days 4 h", "45 min", "expired").
pub fn countdown(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let left = expires_at - now;
    if left <= chrono::Duration::zero() {
        return "expired".into();
    }
    let (days, hours, minutes) = (
        left.num_days(),
        left.num_hours() % 24,
        left.num_minutes() % 60,
    );
    match (days, hours) {
        (0, 0) => format!("{} min", minutes.max(1)),
        (0, h) => format!("{h} h {minutes} min"),
        (1, h) => format!("1 day {h} h"),
        (d, h) => format!("{d} days {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_countdown_reads_as_people_say_it() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let at = |s: i64| now + chrono::Duration::seconds(s);
        assert_eq!(countdown(at(-1), now), "expired");
        assert_eq!(countdown(at(30), now), "1 min");
        assert_eq!(countdown(at(45 * 60), now), "45 min");
        assert_eq!(countdown(at(3 * 3600 + 60), now), "3 h 1 min");
        assert_eq!(countdown(at(86_400 + 7200), now), "1 day 2 h");
        assert_eq!(countdown(at(3 * 86_400 + 4 * 3600), now), "3 days 4 h");
    }
}

/// A byte count as people read it: "512 MB", "12.3 GB".
pub fn bytes_label(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    let mut value = bytes.max(0) as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    match unit {
        0 => format!("{} bytes", bytes.max(0)),
        _ if value >= 100.0 => format!("{value:.0} {}", UNITS[unit]),
        _ => format!("{value:.1} {}", UNITS[unit]),
    }
}

#[cfg(test)]
mod byte_tests {
    use super::bytes_label;

    #[test]
    fn byte_counts_read_in_decimal_units() {
        assert_eq!(bytes_label(0), "0 bytes");
        assert_eq!(bytes_label(999), "999 bytes");
        assert_eq!(bytes_label(1_500), "1.5 KB");
        assert_eq!(bytes_label(512_000_000), "512 MB");
        assert_eq!(bytes_label(12_345_678_901), "12.3 GB");
    }
}
