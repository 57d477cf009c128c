//! Vouchers as both sides see them, and the generate form's rules.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppError;

/// Letters and digits nobody misreads on paper: no 0/O, 1/I/L.
pub const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// The most vouchers one batch makes.
pub const MAX_BATCH: i32 = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoucherStatus {
    Available,
    Used,
    Expired,
}

impl VoucherStatus {
    pub const ALL: [VoucherStatus; 3] = [
        VoucherStatus::Available,
        VoucherStatus::Used,
        VoucherStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VoucherStatus::Available => "available",
            VoucherStatus::Used => "used",
            VoucherStatus::Expired => "expired",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            VoucherStatus::Available => "Available",
            VoucherStatus::Used => "Used",
            VoucherStatus::Expired => "Expired",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        VoucherStatus::ALL.into_iter().find(|s| s.as_str() == input)
    }
}

/// `X7K2P9MQ` or `x7k2-p9mq` as typed, made `X7K2-P9MQ`; `None` when it cannot be a code.
pub fn normalise_code(input: &str) -> Option<String> {
    let chars: Vec<char> = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = chars.len() == 8
        && chars
            .iter()
            .all(|c| c.is_ascii() && CODE_ALPHABET.contains(&(*c as u8)));
    valid.then(|| {
        let code: String = chars.into_iter().collect();
        format!("{}-{}", &code[..4], &code[4..])
    })
}

/// The generate form as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherForm {
    pub plan_id: String,
    #[serde(default)]
    pub router_id: String,
    pub count: String,
    /// Days an unused voucher stays good.
    #[serde(default)]
    pub valid_days: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherInput {
    pub plan_id: Uuid,
    pub router_id: Option<Uuid>,
    pub count: i32,
    pub valid_days: i32,
}

impl VoucherForm {
    pub fn check(&self) -> Result<VoucherInput, AppError> {
        let plan_id = Uuid::parse_str(self.plan_id.trim())
            .map_err(|_| AppError::invalid("plan_id", "choose a hotspot plan"))?;
        let router_id = match self.router_id.trim() {
            "" => None,
            r => Some(
                Uuid::parse_str(r)
                    .map_err(|_| AppError::invalid("router_id", "choose a router"))?,
            ),
        };
        let count = self
            .count
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|n| (1..=MAX_BATCH).contains(n))
            .ok_or_else(|| {
                AppError::invalid("count", format!("make from 1 to {MAX_BATCH} at a time"))
            })?;
        let valid_days = match self.valid_days.trim() {
            "" => 90,
            d => d
                .parse::<i32>()
                .ok()
                .filter(|d| (1..=730).contains(d))
                .ok_or_else(|| {
                    AppError::invalid("valid_days", "unused vouchers last 1 to 730 days")
                })?,
        };
        Ok(VoucherInput {
            plan_id,
            router_id,
            count,
            valid_days,
        })
    }
}

/// One voucher in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherRow {
    pub id: Uuid,
    pub code: String,
    pub plan_name: String,
    pub router_name: Option<String>,
    pub status: VoucherStatus,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub batch_id: Uuid,
}

/// One batch in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRow {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub plan_name: String,
    pub router_name: Option<String>,
    pub count: i32,
    pub available: i64,
    pub used: i64,
    pub expired: i64,
}

/// The vouchers page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherPage {
    pub batches: Vec<BatchRow>,
    pub vouchers: Vec<VoucherRow>,
    /// Vouchers the filter matches (the list shows the newest 200).
    pub total: i64,
    /// Hotspot plans on sale (id, name).
    pub plans: Vec<(Uuid, String)>,
    pub routers: Vec<(Uuid, String)>,
    pub utc_offset_seconds: i32,
    pub can_manage: bool,
}

/// What the printable sheet shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherSheet {
    pub business: String,
    pub plan_name: String,
    pub price_minor: i64,
    pub validity: String,
    pub speed: String,
    pub expires_on: String,
    pub codes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_normalised_as_typed() {
        assert_eq!(normalise_code("x7k2p9mq").as_deref(), Some("X7K2-P9MQ"));
        assert_eq!(normalise_code(" X7K2-P9MQ ").as_deref(), Some("X7K2-P9MQ"));
        assert_eq!(normalise_code("X7K2-P9M"), None, "too short");
        assert_eq!(
            normalise_code("O7K2-P9MQ"),
            None,
            "O is not in the alphabet"
        );
        assert_eq!(normalise_code("I7K2-P9MQ"), None);
    }

    #[test]
    fn the_alphabet_has_no_lookalikes() {
        for c in b"01OIL" {
            assert!(!CODE_ALPHABET.contains(c), "{}", *c as char);
        }
        assert_eq!(CODE_ALPHABET.len(), 31);
    }

    #[test]
    fn the_form_is_bounded() {
        let form = VoucherForm {
            plan_id: Uuid::nil().to_string(),
            count: "1001".into(),
            ..VoucherForm::default()
        };
        assert!(matches!(form.check(), Err(AppError::Invalid { field, .. }) if field == "count"));
        let form = VoucherForm {
            count: "50".into(),
            ..form
        };
        assert_eq!(form.check().unwrap().valid_days, 90);
    }
}
