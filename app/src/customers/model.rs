//! Customers and their services: the rules both sides run. The expiry arithmetic lives here so
//! the browser previews exactly the expiry the server will store.

use chrono::{DateTime, Days, Duration, LocalResult, Months, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    auth::model::{normalise_email, validate_name},
    error::AppError,
    messaging::template::Language,
    phone::normalise_phone,
    plans::model::ValidityUnit,
};

/// Adds `count` validity units to `start`, counting in the tenant's time zone `tz`:
/// minutes and hours are elapsed time; days and weeks keep the local time of day (a day can be
/// 23 or 25 hours where clocks change); months are calendar months, clamped to the last day of
/// a shorter month (31 Jan + 1 month = 28 or 29 Feb, 29 Feb 2028 + 12 months = 28 Feb 2029).
/// A local time that does not exist (a spring-forward gap) moves to the first instant after it;
/// an ambiguous one (autumn overlap) takes the earlier. `None` only beyond chrono's range.
pub fn add_validity<Tz: TimeZone>(
    start: DateTime<Utc>,
    unit: ValidityUnit,
    count: u32,
    tz: &Tz,
) -> Option<DateTime<Utc>> {
    let local = start.with_timezone(tz).naive_local();
    let target = match unit {
        ValidityUnit::Minutes => return start.checked_add_signed(Duration::minutes(count.into())),
        ValidityUnit::Hours => return start.checked_add_signed(Duration::hours(count.into())),
        ValidityUnit::Days => local.checked_add_days(Days::new(count.into()))?,
        ValidityUnit::Weeks => local.checked_add_days(Days::new(u64::from(count) * 7))?,
        ValidityUnit::Months => local.checked_add_months(Months::new(count))?,
    };
    resolve_local(target, tz)
}

/// The instant a local wall-clock time names in `tz` (see [`add_validity`] for gaps and overlaps).
pub fn resolve_local<Tz: TimeZone>(local: NaiveDateTime, tz: &Tz) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, _) => Some(earlier.with_timezone(&Utc)),
        // In a gap: step forward a minute at a time (gaps are at most a few hours long).
        LocalResult::None => (1..=24 * 60).find_map(|m| {
            match tz.from_local_datetime(&(local + Duration::minutes(m))) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                    Some(t.with_timezone(&Utc))
                }
                LocalResult::None => None,
            }
        }),
    }
}

/// "Access until the end of this local date": the next local midnight, as an instant.
pub fn end_of_local_day<Tz: TimeZone>(date: chrono::NaiveDate, tz: &Tz) -> Option<DateTime<Utc>> {
    resolve_local(date.succ_opt()?.and_hms_opt(0, 0, 0)?, tz)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceStatus {
    Active,
    Expired,
    Suspended,
}

impl ServiceStatus {
    pub const ALL: [ServiceStatus; 3] = [
        ServiceStatus::Active,
        ServiceStatus::Expired,
        ServiceStatus::Suspended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ServiceStatus::Active => "active",
            ServiceStatus::Expired => "expired",
            ServiceStatus::Suspended => "suspended",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ServiceStatus::Active => "Active",
            ServiceStatus::Expired => "Expired",
            ServiceStatus::Suspended => "Suspended",
        }
    }

    pub fn badge(self) -> &'static str {
        match self {
            ServiceStatus::Active => "badge badge-success",
            ServiceStatus::Expired => "badge badge-danger",
            ServiceStatus::Suspended => "badge badge-warning",
        }
    }

    pub fn parse(field: &str, input: &str) -> Result<Self, AppError> {
        let input = input.trim().to_ascii_lowercase();
        ServiceStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == input)
            .ok_or_else(|| AppError::invalid(field, "must be active, expired or suspended"))
    }

    /// What the status means now: an active service past its expiry is expired, even before the
    /// enforcement job has recorded it.
    pub fn effective(self, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        match self {
            ServiceStatus::Active if expires_at <= now => ServiceStatus::Expired,
            other => other,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingMode {
    /// Pays before use; a payment moves the expiry forward.
    Prepaid,
    /// Billed on a day of the month for the month ahead.
    Postpaid,
}

impl BillingMode {
    pub fn as_str(self) -> &'static str {
        match self {
            BillingMode::Prepaid => "prepaid",
            BillingMode::Postpaid => "postpaid",
        }
    }

    pub fn parse(field: &str, input: &str) -> Result<Self, AppError> {
        match input.trim() {
            "" | "prepaid" => Ok(BillingMode::Prepaid),
            "postpaid" => Ok(BillingMode::Postpaid),
            _ => Err(AppError::invalid(field, "must be prepaid or postpaid")),
        }
    }
}

fn optional(value: &str) -> Option<&str> {
    Some(value.trim()).filter(|v| !v.is_empty())
}

/// Account numbers: the paybill "account" a subscriber types, so letters and digits only, at
/// most 12 (M-Pesa's AccountReference limit), case-insensitive (stored upper-case).
pub fn normalise_account_number(field: &str, input: &str) -> Result<String, AppError> {
    let value: String = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if value.is_empty() || value.len() > 12 || !value.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(AppError::invalid(
            field,
            "use 1 to 12 letters and digits, like 1042 or KAS1042",
        ));
    }
    Ok(value)
}

/// PPPoE / hotspot user names, as routers accept them.
pub fn validate_username(field: &str, input: &str) -> Result<String, AppError> {
    let value = input.trim();
    let ok = (3..=64).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'));
    if !ok {
        return Err(AppError::invalid(
            field,
            "use 3 to 64 letters, digits, dots, dashes, underscores or @",
        ));
    }
    Ok(value.to_string())
}

/// Service passwords are typed into routers and phones: 4 to 64 visible ASCII characters.
pub fn validate_service_password(field: &str, input: &str) -> Result<String, AppError> {
    let ok = (4..=64).contains(&input.len()) && input.chars().all(|c| c.is_ascii_graphic());
    if !ok {
        return Err(AppError::invalid(
            field,
            "use 4 to 64 characters without spaces (letters, digits, symbols)",
        ));
    }
    Ok(input.to_string())
}

/// The customer form as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerForm {
    pub name: String,
    pub phone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub notes: String,
    /// Blank: the next free number is given.
    #[serde(default)]
    pub account_number: String,
    /// A checkbox: present ("on"/"true") when ticked.
    #[serde(default)]
    pub sms_consent: Option<String>,
    /// The language messages go in: "en" (or blank) or "sw".
    #[serde(default)]
    pub language: String,
}

/// A checked customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerInput {
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
    pub location: Option<String>,
    pub notes: Option<String>,
    pub account_number: Option<String>,
    pub sms_consent: bool,
    pub language: Language,
}

pub fn checkbox(value: Option<&str>) -> bool {
    matches!(
        value.map(|v| v.trim().to_ascii_lowercase()).as_deref(),
        Some("on" | "true" | "yes" | "y" | "1")
    )
}

impl CustomerForm {
    pub fn check(&self) -> Result<CustomerInput, AppError> {
        let limited = |field: &str, value: &str, max: usize| match optional(value) {
            Some(v) if v.chars().count() > max => Err(AppError::invalid(
                field,
                format!("must be at most {max} characters"),
            )),
            other => Ok(other.map(str::to_string)),
        };
        Ok(CustomerInput {
            name: validate_name("name", &self.name)?,
            phone: normalise_phone("phone", &self.phone)?,
            email: optional(&self.email)
                .map(normalise_email)
                .transpose()
                .map_err(|e| match e {
                    AppError::Invalid { reason, .. } => AppError::invalid("email", reason),
                    other => other,
                })?,
            location: limited("location", &self.location, 200)?,
            notes: limited("notes", &self.notes, 2000)?,
            account_number: optional(&self.account_number)
                .map(|a| normalise_account_number("account_number", a))
                .transpose()?,
            sms_consent: checkbox(self.sms_consent.as_deref()),
            language: Language::parse("language", &self.language)?,
        })
    }
}

/// A new service as typed: plan, log-in and billing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceForm {
    pub plan_id: String,
    /// Blank: the account number, lower-cased.
    #[serde(default)]
    pub username: String,
    /// Blank: a random one is made.
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub billing_mode: String,
    #[serde(default)]
    pub billing_day: String,
    /// Blank: on no router yet.
    #[serde(default)]
    pub router_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInput {
    pub plan_id: Uuid,
    pub router_id: Option<Uuid>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub billing_mode: BillingMode,
    pub billing_day: Option<i16>,
}

impl ServiceForm {
    /// A form with no plan chosen adds no service.
    pub fn check_optional(&self) -> Result<Option<ServiceInput>, AppError> {
        if self.plan_id.trim().is_empty() {
            return Ok(None);
        }
        self.check().map(Some)
    }

    pub fn check(&self) -> Result<ServiceInput, AppError> {
        let plan_id = Uuid::parse_str(self.plan_id.trim())
            .map_err(|_| AppError::invalid("plan_id", "choose a plan"))?;
        let billing_mode = BillingMode::parse("billing_mode", &self.billing_mode)?;
        let billing_day = match (billing_mode, optional(&self.billing_day)) {
            (BillingMode::Prepaid, _) => None,
            (BillingMode::Postpaid, None) => Some(1),
            (BillingMode::Postpaid, Some(day)) => Some(
                day.parse::<i16>()
                    .ok()
                    .filter(|d| (1..=28).contains(d))
                    .ok_or_else(|| {
                        AppError::invalid("billing_day", "must be a day from 1 to 28")
                    })?,
            ),
        };
        let router_id = optional(&self.router_id)
            .map(|r| {
                Uuid::parse_str(r).map_err(|_| AppError::invalid("router_id", "choose a router"))
            })
            .transpose()?;
        Ok(ServiceInput {
            plan_id,
            router_id,
            username: optional(&self.username)
                .map(|u| validate_username("username", u))
                .transpose()?,
            password: optional(&self.password)
                .map(|p| validate_service_password("password", p))
                .transpose()?,
            billing_mode,
            billing_day,
        })
    }
}

/// One row of the customers table: the customer and their soonest-expiring service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRow {
    pub id: Uuid,
    pub account_number: String,
    pub name: String,
    pub phone: String,
    pub plan_name: Option<String>,
    pub status: Option<ServiceStatus>,
    pub expires_at: Option<DateTime<Utc>>,
    pub services: i64,
    /// What they owe (negative: in credit), from the ledger.
    pub balance_minor: i64,
}

/// Filters, sort and page of the customers table, as the address bar carries them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub plan: String,
    #[serde(default)]
    pub router: String,
    /// `name` (default), `expiry` (soonest first) or `newest`.
    #[serde(default)]
    pub sort: String,
    /// 1-based.
    #[serde(default)]
    pub page: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerSort {
    Name,
    Expiry,
    Newest,
}

/// A checked query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerFilter {
    pub search: Option<String>,
    pub status: Option<ServiceStatus>,
    pub plan: Option<Uuid>,
    pub router: Option<Uuid>,
    pub sort: CustomerSort,
    pub page: u32,
}

pub const PAGE_SIZE: u32 = 25;

impl CustomerQuery {
    pub fn check(&self) -> Result<CustomerFilter, AppError> {
        let uuid = |field: &str, value: &str| {
            optional(value)
                .map(|v| {
                    Uuid::parse_str(v).map_err(|_| AppError::invalid(field, "is not a known id"))
                })
                .transpose()
        };
        let search = optional(&self.q).map(|q| q.to_lowercase());
        if search.as_ref().is_some_and(|q| q.chars().count() > 100) {
            return Err(AppError::invalid("q", "search for at most 100 characters"));
        }
        Ok(CustomerFilter {
            search,
            status: optional(&self.status)
                .map(|s| ServiceStatus::parse("status", s))
                .transpose()?,
            plan: uuid("plan", &self.plan)?,
            router: uuid("router", &self.router)?,
            sort: match self.sort.trim() {
                "" | "name" => CustomerSort::Name,
                "expiry" => CustomerSort::Expiry,
                "newest" => CustomerSort::Newest,
                _ => return Err(AppError::invalid("sort", "sort by name, expiry or newest")),
            },
            page: match optional(&self.page) {
                None => 1,
                Some(p) => p
                    .parse::<u32>()
                    .ok()
                    .filter(|p| (1..=100_000).contains(p))
                    .ok_or_else(|| AppError::invalid("page", "must be a page number"))?,
            },
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerPage {
    pub rows: Vec<CustomerRow>,
    pub page: u32,
    pub has_next: bool,
    /// The tenant's offset from UTC, for showing times in its zone.
    pub utc_offset_seconds: i32,
    /// The ISP's plans, for the page's filters and forms (fetched with the page, not apart).
    pub plans: Vec<crate::plans::model::Plan>,
    /// The ISP's routers (id, name), for the service forms.
    pub routers: Vec<(Uuid, String)>,
}

/// A service as the detail panel shows it (never the password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceView {
    pub id: Uuid,
    pub plan_id: Uuid,
    pub plan_name: String,
    pub plan_price_minor: i64,
    pub validity_unit: ValidityUnit,
    pub validity_count: i32,
    pub router_id: Option<Uuid>,
    pub router_name: Option<String>,
    pub username: String,
    pub status: ServiceStatus,
    pub billing_mode: BillingMode,
    pub billing_day: Option<i16>,
    pub starts_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The period in use now as it was invoiced (start, end, total charged), which a plan
    /// change prorates; none when it was never invoiced.
    pub invoiced_period: Option<(DateTime<Utc>, DateTime<Utc>, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerDetail {
    pub id: Uuid,
    pub account_number: String,
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
    pub location: Option<String>,
    pub notes: Option<String>,
    pub sms_consent: bool,
    pub sms_consent_at: Option<DateTime<Utc>>,
    /// The language messages go in.
    pub language: Language,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub services: Vec<ServiceView>,
    /// The tenant's offset from UTC now, in seconds, for previews in the browser (East African
    /// zones have no daylight saving, so a fixed offset previews exactly what the server stores).
    pub utc_offset_seconds: i32,
    /// The server's time when this was read, the base for the browser's previews.
    pub now: DateTime<Utc>,
    /// How the tenant charges VAT, for the plan-change preview.
    pub vat: crate::billing::model::VatMode,
}

/// The dashboard's "Needs attention" figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attention {
    pub utc_offset_seconds: i32,
    pub active: i64,
    pub expired: i64,
    pub suspended: i64,
    pub customers: i64,
    pub grace_period_days: i32,
    /// Expired within the grace period (still to be cut off, or cut off at once when it is 0).
    pub in_grace: Vec<CustomerRow>,
    pub in_grace_count: i64,
    pub suspended_rows: Vec<CustomerRow>,
    pub expiring_soon: Vec<CustomerRow>,
    pub expiring_soon_count: i64,
}

/// One problem in an import file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportError {
    /// The file's line (1 is the header).
    pub line: u64,
    /// The column at fault ("" for the whole line).
    pub column: String,
    pub message: String,
}

/// What an import did: everything, or nothing with every problem listed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub imported: usize,
    /// Rows that matched an existing customer (by account number, else phone) and were skipped.
    pub skipped: usize,
    /// Problems found in all (the list may be cut short).
    pub error_count: usize,
    pub errors: Vec<ImportError>,
    /// Columns the file has that the import does not use.
    pub ignored_columns: Vec<String>,
}

/// How a delete ended: customers with money history are archived, others removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Removal {
    Deleted,
    Archived,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::{FixedOffset, NaiveDate};

    fn eat() -> FixedOffset {
        FixedOffset::east_opt(3 * 3600).unwrap()
    }

    fn at(tz: &FixedOffset, y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        tz.with_ymd_and_hms(y, m, d, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn months_clamp_to_the_end_of_a_shorter_month() {
        let tz = eat();
        let jan31 = at(&tz, 2027, 1, 31, 10);
        assert_eq!(
            add_validity(jan31, ValidityUnit::Months, 1, &tz),
            Some(at(&tz, 2027, 2, 28, 10))
        );
        let leap = at(&tz, 2028, 1, 31, 10);
        assert_eq!(
            add_validity(leap, ValidityUnit::Months, 1, &tz),
            Some(at(&tz, 2028, 2, 29, 10))
        );
        let feb29 = at(&tz, 2028, 2, 29, 10);
        assert_eq!(
            add_validity(feb29, ValidityUnit::Months, 12, &tz),
            Some(at(&tz, 2029, 2, 28, 10))
        );
    }

    #[test]
    fn months_count_in_the_tenant_zone_not_utc() {
        // 1 Mar 01:00 in Nairobi is 28 Feb 22:00 UTC; a month later is 1 Apr 01:00 Nairobi,
        // where counting in UTC would give 28 Mar.
        let tz = eat();
        let start = at(&tz, 2027, 3, 1, 1);
        assert_eq!(
            add_validity(start, ValidityUnit::Months, 1, &tz),
            Some(at(&tz, 2027, 4, 1, 1))
        );
    }

    #[test]
    fn short_units_are_elapsed_time() {
        let tz = eat();
        let start = at(&tz, 2027, 5, 5, 23);
        assert_eq!(
            add_validity(start, ValidityUnit::Hours, 2, &tz),
            Some(start + Duration::hours(2))
        );
        assert_eq!(
            add_validity(start, ValidityUnit::Minutes, 90, &tz),
            Some(start + Duration::minutes(90))
        );
        assert_eq!(
            add_validity(start, ValidityUnit::Weeks, 2, &tz),
            Some(start + Duration::days(14))
        );
    }

    #[test]
    fn end_of_day_is_the_next_local_midnight() {
        let tz = eat();
        let date = NaiveDate::from_ymd_opt(2027, 12, 31).unwrap();
        assert_eq!(end_of_local_day(date, &tz), Some(at(&tz, 2028, 1, 1, 0)));
    }

    #[test]
    fn account_numbers_are_short_and_typable() {
        assert_eq!(
            normalise_account_number("a", " kas 1042 ").unwrap(),
            "KAS1042"
        );
        assert!(normalise_account_number("a", "").is_err());
        assert!(normalise_account_number("a", "ABCDEFGHIJKLM").is_err());
        assert!(normalise_account_number("a", "12-34").is_err());
    }

    #[test]
    fn an_active_service_past_expiry_reads_as_expired() {
        let now = Utc::now();
        assert_eq!(
            ServiceStatus::Active.effective(now - Duration::seconds(1), now),
            ServiceStatus::Expired
        );
        assert_eq!(
            ServiceStatus::Active.effective(now + Duration::seconds(1), now),
            ServiceStatus::Active
        );
        assert_eq!(
            ServiceStatus::Suspended.effective(now - Duration::days(1), now),
            ServiceStatus::Suspended
        );
    }

    #[test]
    fn forms_report_the_field_at_fault() {
        let mut form = CustomerForm {
            name: "Achieng Odhiambo".into(),
            phone: "0712 345 678".into(),
            ..CustomerForm::default()
        };
        let ok = form.check().unwrap();
        assert_eq!(ok.phone, "254712345678");
        assert!(!ok.sms_consent);
        assert_eq!(ok.language, Language::En);
        form.language = "sw".into();
        assert_eq!(form.check().unwrap().language, Language::Sw);
        form.language = "fr".into();
        assert!(
            matches!(form.check(), Err(AppError::Invalid { field, .. }) if field == "language")
        );
        form.language.clear();
        form.email = "not-an-email".into();
        assert!(matches!(form.check(), Err(AppError::Invalid { field, .. }) if field == "email"));
        form.email.clear();
        form.phone = "0812345678".into();
        assert!(matches!(form.check(), Err(AppError::Invalid { field, .. }) if field == "phone"));

        let service = ServiceForm {
            plan_id: Uuid::nil().to_string(),
            billing_mode: "postpaid".into(),
            billing_day: "31".into(),
            ..ServiceForm::default()
        };
        assert!(
            matches!(service.check(), Err(AppError::Invalid { field, .. }) if field == "billing_day")
        );
    }
}

/// Property tests over real time zones (chrono-tz is compiled on the server and host only).
#[cfg(all(test, feature = "ssr", not(target_arch = "wasm32")))]
mod properties {
    use super::*;
    use chrono::{Datelike, Timelike};
    use proptest::prelude::*;

    fn zones() -> impl Strategy<Value = chrono_tz::Tz> {
        prop_oneof![
            Just(chrono_tz::Africa::Nairobi),
            Just(chrono_tz::Africa::Kampala),
            Just(chrono_tz::Europe::London),
            Just(chrono_tz::America::New_York),
            Just(chrono_tz::Australia::Lord_Howe),
        ]
    }

    /// Instants from 2000 to 2100.
    fn instants() -> impl Strategy<Value = DateTime<Utc>> {
        (946_684_800i64..4_102_444_800i64)
            .prop_map(|s| DateTime::from_timestamp(s, 0).unwrap_or_default())
    }

    fn days_in_month(year: i32, month: u32) -> u32 {
        let first = chrono::NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default();
        let next = first.checked_add_months(Months::new(1)).unwrap_or_default();
        (next - first).num_days() as u32
    }

    proptest! {
        #[test]
        fn a_month_later_is_the_same_day_or_the_last_of_the_month(
            start in instants(), count in 1u32..=36, tz in zones()
        ) {
            let end = add_validity(start, ValidityUnit::Months, count, &tz).unwrap();
            let (s, e) = (start.with_timezone(&tz), end.with_timezone(&tz));
            let months = (e.year() - s.year()) * 12 + e.month() as i32 - s.month() as i32;
            prop_assert_eq!(months, count as i32);
            prop_assert_eq!(e.day(), s.day().min(days_in_month(e.year(), e.month())));
            prop_assert!(end > start);
        }

        #[test]
        fn days_keep_the_local_time_unless_a_clock_change_swallowed_it(
            start in instants(), count in 1u32..=400, tz in zones()
        ) {
            let end = add_validity(start, ValidityUnit::Days, count, &tz).unwrap();
            let (s, e) = (start.with_timezone(&tz), end.with_timezone(&tz));
            prop_assert_eq!(
                e.date_naive().signed_duration_since(s.date_naive()).num_days(),
                i64::from(count)
            );
            // Same wall time, or moved forward by a gap of at most 3 hours.
            let drift = e.time().num_seconds_from_midnight() as i64
                - s.time().num_seconds_from_midnight() as i64;
            prop_assert!((0..=3 * 3600).contains(&drift) || drift == 0, "drift {drift}");
        }

        #[test]
        fn nairobi_days_are_exactly_24_hours(start in instants(), count in 1u32..=400) {
            let end = add_validity(start, ValidityUnit::Days, count, &chrono_tz::Africa::Nairobi).unwrap();
            prop_assert_eq!(end - start, Duration::days(i64::from(count)));
        }

        #[test]
        fn longer_validity_never_ends_sooner(
            start in instants(), count in 1u32..=60, tz in zones(),
            unit in prop_oneof![
                Just(ValidityUnit::Minutes), Just(ValidityUnit::Hours), Just(ValidityUnit::Days),
                Just(ValidityUnit::Weeks), Just(ValidityUnit::Months)
            ]
        ) {
            let shorter = add_validity(start, unit, count, &tz).unwrap();
            let longer = add_validity(start, unit, count + 1, &tz).unwrap();
            prop_assert!(longer > shorter);
        }

        #[test]
        fn the_browser_preview_with_a_fixed_offset_matches_nairobi(
            start in instants(), count in 1u32..=24,
            unit in prop_oneof![Just(ValidityUnit::Days), Just(ValidityUnit::Months)]
        ) {
            let eat = chrono::FixedOffset::east_opt(3 * 3600).unwrap();
            prop_assert_eq!(
                add_validity(start, unit, count, &eat),
                add_validity(start, unit, count, &chrono_tz::Africa::Nairobi)
            );
        }
    }
}
