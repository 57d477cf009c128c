//! Billing rules both sides run: VAT per line, proration for a plan change mid-period, invoice
//! statuses, the chart of accounts, document numbers, and the shapes the pages show.
//!
//! Amounts are integer minor units (cents). Every division rounds half up (away from zero for
//! the non-negative amounts billing produces), once, at the end of an exact integer computation,
//! so each rounded figure is within half a minor unit of the exact rational amount.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{error::AppError, plans::model::PlanKind};

/// Kenya's standard VAT rate, in basis points (16%).
pub const VAT_RATE_BASIS_POINTS: i64 = 1600;

/// `numerator / denominator` rounded half up, for a non-negative numerator and a positive
/// denominator (callers guarantee both; a zero denominator yields 0 instead of panicking).
pub fn div_half_up(numerator: i128, denominator: i128) -> i64 {
    if denominator <= 0 || numerator <= 0 {
        return 0;
    }
    let rounded = (2 * numerator + denominator) / (2 * denominator);
    i64::try_from(rounded).unwrap_or(i64::MAX)
}

/// How a tenant charges VAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct VatMode {
    pub enabled: bool,
    /// Prices already include VAT (the line total is the price); otherwise VAT is added on top.
    pub inclusive: bool,
}

/// One line's money: net + VAT = total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineAmounts {
    pub net: i64,
    pub vat: i64,
    pub total: i64,
}

/// The amounts of a line of `quantity` at `unit_price`. VAT is computed per line and rounded
/// half up to the minor unit: exclusive prices add 16% of the net; inclusive prices hold
/// 16/116 of the total.
pub fn line_amounts(unit_price: i64, quantity: i64, vat: VatMode) -> LineAmounts {
    let gross = unit_price.max(0).saturating_mul(quantity.max(0));
    if !vat.enabled {
        return LineAmounts {
            net: gross,
            vat: 0,
            total: gross,
        };
    }
    let rate = i128::from(VAT_RATE_BASIS_POINTS);
    if vat.inclusive {
        let tax = div_half_up(i128::from(gross) * rate, 10_000 + rate);
        LineAmounts {
            net: gross - tax,
            vat: tax,
            total: gross,
        }
    } else {
        let tax = div_half_up(i128::from(gross) * rate, 10_000);
        LineAmounts {
            net: gross,
            vat: tax,
            total: gross.saturating_add(tax),
        }
    }
}

/// The VAT inside an amount that already includes it at the invoice's rate: used to split a
/// credit note the way the invoice was split (`invoice_vat / invoice_total` of it).
pub fn vat_share(amount: i64, invoice_vat: i64, invoice_total: i64) -> i64 {
    if invoice_total <= 0 {
        return 0;
    }
    div_half_up(
        i128::from(amount) * i128::from(invoice_vat),
        i128::from(invoice_total),
    )
    .min(amount)
}

/// A plan change at `at` inside the period `[start, end)`: credit for the old plan's unused
/// part and a charge for the new plan over the same remaining time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proration {
    pub credit: i64,
    pub charge: i64,
    /// Seconds left in the period and the period's length, for the preview's wording.
    pub remaining_seconds: i64,
    pub period_seconds: i64,
}

impl Proration {
    /// What the customer owes for the change (negative: the change leaves them in credit).
    pub fn net(&self) -> i64 {
        self.charge - self.credit
    }
}

/// Prorates by the second: credit = old price x remaining / period, charge = new price x
/// remaining / period, each rounded half up once, so each is within half a minor unit of the
/// exact amount. A change before the period starts is the whole period; at or after its end,
/// nothing.
pub fn prorate(
    old_price: i64,
    new_price: i64,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Proration {
    let period = (end - start).num_seconds().max(0);
    let remaining = (end - at.max(start)).num_seconds().clamp(0, period);
    let share = |price: i64| {
        div_half_up(
            i128::from(price.max(0)) * i128::from(remaining),
            i128::from(period),
        )
    };
    Proration {
        credit: share(old_price),
        charge: share(new_price),
        remaining_seconds: remaining,
        period_seconds: period,
    }
}

/// The next billing day after `now` (local midnight starting that day of the month): this
/// month's if it is still ahead, else next month's. Billing days are 1-28, so every month has one.
pub fn next_billing_date<Tz: chrono::TimeZone>(
    now: DateTime<Utc>,
    day: u32,
    tz: &Tz,
) -> Option<DateTime<Utc>> {
    use chrono::Datelike;
    let today = now.with_timezone(tz).date_naive();
    let this_month = today.with_day(day)?;
    let date = if this_month > today {
        this_month
    } else {
        this_month.checked_add_months(chrono::Months::new(1))?
    };
    crate::customers::model::resolve_local(date.and_hms_opt(0, 0, 0)?, tz)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Pending,
    Paid,
    Overdue,
    Waived,
    Cancelled,
}

impl InvoiceStatus {
    pub const ALL: [InvoiceStatus; 5] = [
        InvoiceStatus::Pending,
        InvoiceStatus::Paid,
        InvoiceStatus::Overdue,
        InvoiceStatus::Waived,
        InvoiceStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Pending => "pending",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Overdue => "overdue",
            InvoiceStatus::Waived => "waived",
            InvoiceStatus::Cancelled => "cancelled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            InvoiceStatus::Pending => "Pending",
            InvoiceStatus::Paid => "Paid",
            InvoiceStatus::Overdue => "Overdue",
            InvoiceStatus::Waived => "Waived",
            InvoiceStatus::Cancelled => "Cancelled",
        }
    }

    pub fn badge(self) -> &'static str {
        match self {
            InvoiceStatus::Pending => "badge badge-warning",
            InvoiceStatus::Paid => "badge badge-success",
            InvoiceStatus::Overdue => "badge badge-danger",
            InvoiceStatus::Waived | InvoiceStatus::Cancelled => "badge",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        InvoiceStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == input.trim())
    }

    /// Still owed: payments and credit go to these.
    pub fn is_open(self) -> bool {
        matches!(self, InvoiceStatus::Pending | InvoiceStatus::Overdue)
    }

    /// The status the ledger implies: a waiver or a cancellation closes the invoice for good;
    /// otherwise nothing left to pay is paid, and something left after the due date is overdue.
    pub fn derive(
        waived: bool,
        cancelled: bool,
        balance: i64,
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        if cancelled {
            InvoiceStatus::Cancelled
        } else if waived {
            InvoiceStatus::Waived
        } else if balance <= 0 {
            InvoiceStatus::Paid
        } else if due_at <= now {
            InvoiceStatus::Overdue
        } else {
            InvoiceStatus::Pending
        }
    }
}

/// What a journal transaction records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxKind {
    Invoice,
    Payment,
    Waiver,
    Cancellation,
    CreditNote,
    Refund,
    Adjustment,
    /// A hotspot package sold for cash to nobody in particular: revenue with no receivable.
    Sale,
}

impl TxKind {
    pub const ALL: [TxKind; 8] = [
        TxKind::Invoice,
        TxKind::Payment,
        TxKind::Waiver,
        TxKind::Cancellation,
        TxKind::CreditNote,
        TxKind::Refund,
        TxKind::Adjustment,
        TxKind::Sale,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TxKind::Invoice => "invoice",
            TxKind::Payment => "payment",
            TxKind::Waiver => "waiver",
            TxKind::Cancellation => "cancellation",
            TxKind::CreditNote => "credit_note",
            TxKind::Refund => "refund",
            TxKind::Adjustment => "adjustment",
            TxKind::Sale => "sale",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TxKind::Invoice => "Invoice",
            TxKind::Payment => "Payment",
            TxKind::Waiver => "Waiver",
            TxKind::Cancellation => "Cancellation",
            TxKind::CreditNote => "Credit note",
            TxKind::Refund => "Refund",
            TxKind::Adjustment => "Adjustment",
            TxKind::Sale => "Hotspot sale",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        TxKind::ALL.into_iter().find(|k| k.as_str() == input)
    }
}

/// How money arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Mpesa,
    Paystack,
    Cash,
    Bank,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Mpesa,
        Channel::Paystack,
        Channel::Cash,
        Channel::Bank,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Mpesa => "mpesa",
            Channel::Paystack => "paystack",
            Channel::Cash => "cash",
            Channel::Bank => "bank",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Channel::Mpesa => "M-Pesa",
            Channel::Paystack => "Paystack",
            Channel::Cash => "Cash",
            Channel::Bank => "Bank",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Channel::ALL.into_iter().find(|c| c.as_str() == input)
    }

    /// The channels staff record by hand (M-Pesa and Paystack arrive from the providers).
    pub fn recorded_by_staff(self) -> bool {
        matches!(self, Channel::Cash | Channel::Bank)
    }
}

/// The chart of accounts every tenant has. Receivable is one account per customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Account {
    Receivable,
    Revenue(PlanKind),
    VatPayable,
    Clearing(Channel),
    WriteOff,
}

impl Account {
    pub fn code(self) -> &'static str {
        match self {
            Account::Receivable => "receivable",
            Account::Revenue(PlanKind::Pppoe) => "revenue:pppoe",
            Account::Revenue(PlanKind::Hotspot) => "revenue:hotspot",
            Account::Revenue(PlanKind::StaticIp) => "revenue:static_ip",
            Account::VatPayable => "vat_payable",
            Account::Clearing(Channel::Mpesa) => "clearing:mpesa",
            Account::Clearing(Channel::Paystack) => "clearing:paystack",
            Account::Clearing(Channel::Cash) => "clearing:cash",
            Account::Clearing(Channel::Bank) => "clearing:bank",
            Account::WriteOff => "write_off",
        }
    }
}

pub fn invoice_number(number: i64) -> String {
    format!("INV-{number:06}")
}

pub fn credit_note_number(number: i64) -> String {
    format!("CN-{number:06}")
}

/// "INV-000123", "inv-123", "#123" or "123" as an invoice number.
pub fn parse_invoice_number(input: &str) -> Option<i64> {
    let trimmed = input.trim();
    let upper = trimmed.to_ascii_uppercase();
    let digits = upper
        .strip_prefix("INV-")
        .or_else(|| upper.strip_prefix("INV"))
        .or_else(|| upper.strip_prefix('#'))
        .unwrap_or(&upper);
    if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|n| *n > 0)
}

/// Kenya Revenue Authority PIN: A or P, nine digits, a letter ("P051234567X").
pub fn normalise_kra_pin(input: &str) -> Result<Option<String>, AppError> {
    let pin = input.trim().to_ascii_uppercase();
    if pin.is_empty() {
        return Ok(None);
    }
    let bytes = pin.as_bytes();
    let valid = bytes.len() == 11
        && matches!(bytes[0], b'A' | b'P')
        && bytes[1..10].iter().all(u8::is_ascii_digit)
        && bytes[10].is_ascii_uppercase();
    if valid {
        Ok(Some(pin))
    } else {
        Err(AppError::invalid(
            "kra_pin",
            "must be A or P, nine digits and a letter, like P051234567X",
        ))
    }
}

/// Days after issue a postpaid invoice is due; days before expiry a renewal is invoiced.
pub fn parse_days(field: &str, input: &str, max: i32) -> Result<i32, AppError> {
    match input.trim().parse::<i32>() {
        Ok(days) if (0..=max).contains(&days) => Ok(days),
        _ => Err(AppError::invalid(
            field,
            format!("must be a whole number of days from 0 to {max}"),
        )),
    }
}

/// Settings → Billing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingSettings {
    pub vat_enabled: bool,
    pub vat_inclusive: bool,
    pub kra_pin: Option<String>,
    pub invoice_due_days: i32,
    pub renewal_notice_days: i32,
    pub editable: bool,
}

/// A row of the invoices list (and of a customer's invoices).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceRow {
    pub id: Uuid,
    pub number: i64,
    pub customer_id: Uuid,
    pub customer_name: String,
    pub account_number: String,
    pub description: String,
    pub issued_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub total_minor: i64,
    pub balance_minor: i64,
    pub status: InvoiceStatus,
}

impl InvoiceRow {
    pub fn number_label(&self) -> String {
        invoice_number(self.number)
    }
}

/// The invoices page's question: a status tab, a search, a page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceQuery {
    pub status: Option<InvoiceStatus>,
    pub q: String,
    pub page: u32,
}

pub const INVOICE_PAGE_SIZE: u32 = 25;

/// How many invoices each tab holds, for the tab labels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    pub all: i64,
    pub pending: i64,
    pub paid: i64,
    pub overdue: i64,
    pub waived: i64,
    pub cancelled: i64,
}

impl StatusCounts {
    pub fn of(&self, status: Option<InvoiceStatus>) -> i64 {
        match status {
            None => self.all,
            Some(InvoiceStatus::Pending) => self.pending,
            Some(InvoiceStatus::Paid) => self.paid,
            Some(InvoiceStatus::Overdue) => self.overdue,
            Some(InvoiceStatus::Waived) => self.waived,
            Some(InvoiceStatus::Cancelled) => self.cancelled,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoicePage {
    pub rows: Vec<InvoiceRow>,
    pub page: u32,
    pub has_next: bool,
    pub counts: StatusCounts,
    /// Whether the viewer may mark paid, waive, cancel and credit.
    pub can_manage: bool,
    /// The ISP's zone offset now, for showing dates as its staff read them.
    pub utc_offset_seconds: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLineView {
    pub description: String,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub quantity: i32,
    pub unit_price_minor: i64,
    pub net_minor: i64,
    pub vat_minor: i64,
    pub total_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditNoteView {
    pub id: Uuid,
    pub number: i64,
    pub amount_minor: i64,
    pub reason: String,
    pub issued_at: DateTime<Utc>,
}

/// One ledger transaction as it touched a customer's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerLine {
    pub transaction_id: Uuid,
    pub posted_at: DateTime<Utc>,
    pub kind: TxKind,
    pub memo: String,
    /// Change to what the customer owes: positive charges, negative payments and credits.
    pub amount_minor: i64,
    /// What they owe after it (negative: in credit).
    pub balance_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceDetail {
    pub row: InvoiceRow,
    pub subtotal_minor: i64,
    pub vat_minor: i64,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub closed_reason: Option<String>,
    pub lines: Vec<InvoiceLineView>,
    pub credit_notes: Vec<CreditNoteView>,
    /// Most a new credit note may take back: the total less earlier credit notes.
    pub creditable_minor: i64,
    /// The ISP's zone offset when the invoice was issued, for its dates.
    pub utc_offset_seconds: i32,
}

/// A customer's money at a glance: for the customer panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerAccount {
    /// What they owe (negative: in credit).
    pub balance_minor: i64,
    pub invoices: Vec<InvoiceRow>,
    /// Newest first.
    pub history: Vec<LedgerLine>,
    pub can_manage: bool,
    /// The ISP's zone offset now, for showing dates as its staff read them.
    pub utc_offset_seconds: i32,
}

/// Invoiced, collected, waived, credited and outstanding over a period: the report's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingSummary {
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
    pub invoiced_minor: i64,
    pub vat_minor: i64,
    pub collected_minor: i64,
    pub collected_by_channel: Vec<(Channel, i64)>,
    pub waived_minor: i64,
    pub credited_minor: i64,
    pub cancelled_minor: i64,
    /// Hotspot packages sold (VAT included): collected without an invoice.
    pub sold_minor: i64,
    /// Owed on all open invoices at the end of the period.
    pub outstanding_minor: i64,
    /// Unallocated customer credit at the end of the period.
    pub customer_credit_minor: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Done,
    Failed,
}

/// A "Run billing now" run and how far it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingRunView {
    pub id: Uuid,
    pub status: RunStatus,
    pub due: i32,
    pub processed: i32,
    pub invoices: i32,
    pub requested_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

impl BillingRunView {
    /// 0 to 100 for the progress bar.
    pub fn percent(&self) -> i32 {
        match self.status {
            RunStatus::Done => 100,
            _ if self.due <= 0 => 0,
            _ => (i64::from(self.processed.min(self.due)) * 100 / i64::from(self.due)) as i32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const OFF: VatMode = VatMode {
        enabled: false,
        inclusive: true,
    };
    const INCL: VatMode = VatMode {
        enabled: true,
        inclusive: true,
    };
    const EXCL: VatMode = VatMode {
        enabled: true,
        inclusive: false,
    };

    #[test]
    fn vat_is_off_by_default_and_16_percent_when_on() {
        assert!(!VatMode::default().enabled);
        assert_eq!(
            line_amounts(250_000, 1, OFF),
            LineAmounts {
                net: 250_000,
                vat: 0,
                total: 250_000
            }
        );
        // Exclusive: KES 2,500 + 16% = KES 2,900.
        assert_eq!(
            line_amounts(250_000, 1, EXCL),
            LineAmounts {
                net: 250_000,
                vat: 40_000,
                total: 290_000
            }
        );
        // Inclusive: KES 2,900 holds KES 400 of VAT.
        assert_eq!(
            line_amounts(290_000, 1, INCL),
            LineAmounts {
                net: 250_000,
                vat: 40_000,
                total: 290_000
            }
        );
    }

    #[test]
    fn vat_rounds_half_up_to_the_cent() {
        // 16% of 3 cents is 0.48 -> 0; of 5 cents 0.8 -> 1; of 25 cents 4.0; of 28 cents 4.48.
        assert_eq!(line_amounts(3, 1, EXCL).vat, 0);
        assert_eq!(line_amounts(5, 1, EXCL).vat, 1);
        assert_eq!(line_amounts(28, 1, EXCL).vat, 4);
        // 16/116 of 29 cents is exactly 4: no rounding; of 58 cents exactly 8.
        assert_eq!(line_amounts(29, 1, INCL).vat, 4);
        assert_eq!(line_amounts(58, 1, INCL).vat, 8);
        // 16/116 of 145 cents is 20.0; of 1 cent 0.1379 -> 0; of 4 cents 0.5517 -> 1.
        assert_eq!(line_amounts(145, 1, INCL).vat, 20);
        assert_eq!(line_amounts(1, 1, INCL).vat, 0);
        assert_eq!(line_amounts(4, 1, INCL).vat, 1);
        // Exactly half rounds up.
        assert_eq!(div_half_up(5, 2), 3);
        assert_eq!(div_half_up(3, 2), 2);
        assert_eq!(div_half_up(1, 4), 0);
    }

    #[test]
    fn proration_at_the_edges_is_all_or_nothing() {
        let start = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        let end = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let before = prorate(
            300_000,
            500_000,
            start,
            end,
            start - chrono::Duration::days(1),
        );
        assert_eq!((before.credit, before.charge), (300_000, 500_000));
        let after = prorate(300_000, 500_000, start, end, end);
        assert_eq!((after.credit, after.charge), (0, 0));
        // Half-way through a 30-day month: half of each price.
        let mid = prorate(
            300_000,
            500_000,
            start,
            end,
            start + chrono::Duration::days(15),
        );
        assert_eq!((mid.credit, mid.charge), (150_000, 250_000));
        assert_eq!(mid.net(), 100_000);
    }

    #[test]
    fn the_next_billing_day_is_this_months_if_still_ahead() {
        let nairobi = chrono::FixedOffset::east_opt(3 * 3600).unwrap();
        // 10 Nov 2026, 14:00 in Nairobi.
        let now = Utc.with_ymd_and_hms(2026, 11, 10, 11, 0, 0).unwrap();
        let on_15 = next_billing_date(now, 15, &nairobi).unwrap();
        assert_eq!(on_15, Utc.with_ymd_and_hms(2026, 11, 14, 21, 0, 0).unwrap());
        // The 10th is today: the next is in December; the 1st rolls over the year end too.
        let on_10 = next_billing_date(now, 10, &nairobi).unwrap();
        assert_eq!(on_10, Utc.with_ymd_and_hms(2026, 12, 9, 21, 0, 0).unwrap());
        let dec = Utc.with_ymd_and_hms(2026, 12, 20, 11, 0, 0).unwrap();
        let on_1 = next_billing_date(dec, 1, &nairobi).unwrap();
        assert_eq!(on_1, Utc.with_ymd_and_hms(2026, 12, 31, 21, 0, 0).unwrap());
    }

    #[test]
    fn document_numbers_print_and_parse() {
        assert_eq!(invoice_number(123), "INV-000123");
        assert_eq!(credit_note_number(7), "CN-000007");
        for (input, want) in [
            ("INV-000123", Some(123)),
            ("inv-123", Some(123)),
            ("#123", Some(123)),
            (" 123 ", Some(123)),
            ("INV-", None),
            ("12a", None),
            ("0", None),
            ("", None),
        ] {
            assert_eq!(parse_invoice_number(input), want, "{input:?}");
        }
    }

    #[test]
    fn kra_pins_are_checked() {
        assert_eq!(
            normalise_kra_pin(" p051234567x ").unwrap().as_deref(),
            Some("P051234567X")
        );
        assert_eq!(normalise_kra_pin("").unwrap(), None);
        for bad in ["P05123456X", "B051234567X", "P0512345678", "P051234567XX"] {
            assert!(normalise_kra_pin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn statuses_follow_the_ledger() {
        let due = Utc.with_ymd_and_hms(2026, 11, 10, 0, 0, 0).unwrap();
        let before = due - chrono::Duration::days(1);
        let after = due + chrono::Duration::days(1);
        assert_eq!(
            InvoiceStatus::derive(false, false, 100, due, before),
            InvoiceStatus::Pending
        );
        assert_eq!(
            InvoiceStatus::derive(false, false, 100, due, after),
            InvoiceStatus::Overdue
        );
        assert_eq!(
            InvoiceStatus::derive(false, false, 0, due, after),
            InvoiceStatus::Paid
        );
        assert_eq!(
            InvoiceStatus::derive(true, false, 0, due, after),
            InvoiceStatus::Waived
        );
        assert_eq!(
            InvoiceStatus::derive(false, true, 0, due, before),
            InvoiceStatus::Cancelled
        );
        for s in InvoiceStatus::ALL {
            assert_eq!(InvoiceStatus::parse(s.as_str()), Some(s));
        }
        for k in TxKind::ALL {
            assert_eq!(TxKind::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn run_progress_is_a_percentage() {
        let mut run = BillingRunView {
            id: Uuid::nil(),
            status: RunStatus::Running,
            due: 200,
            processed: 50,
            invoices: 50,
            requested_at: Utc::now(),
            finished_at: None,
            error: None,
        };
        assert_eq!(run.percent(), 25);
        run.due = 0;
        assert_eq!(run.percent(), 0);
        run.status = RunStatus::Done;
        assert_eq!(run.percent(), 100);
    }
}

// proptest's RNG does not build for wasm32: the property tests run on the host.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    proptest! {
        /// Each rounded figure is within half a minor unit (so within one) of the exact
        /// rational amount, and neither exceeds the full price.
        #[test]
        fn proration_stays_within_a_minor_unit_of_exact(
            old in 0i64..10_000_000,
            new in 0i64..10_000_000,
            period in 1i64..(400 * 86_400),
            offset in -86_400i64..(401 * 86_400),
        ) {
            let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
            let end = start + chrono::Duration::seconds(period);
            let at = start + chrono::Duration::seconds(offset);
            let p = prorate(old, new, start, end, at);
            let remaining = i128::from((period - offset.max(0)).clamp(0, period));
            for (price, got) in [(old, p.credit), (new, p.charge)] {
                // |got - price*remaining/period| <= 1/2  <=>  |2*got*period - 2*price*remaining| <= period
                let exact2 = 2 * i128::from(price) * remaining;
                let diff = (2 * i128::from(got) * i128::from(period) - exact2).abs();
                prop_assert!(diff <= i128::from(period), "price {price} got {got}");
                prop_assert!(got <= price && got >= 0);
            }
        }

        /// Net plus VAT is the total; VAT is within half a cent of the exact 16%.
        #[test]
        fn line_vat_is_exact_to_half_a_cent(price in 0i64..100_000_000, qty in 1i64..100, inclusive: bool) {
            let mode = VatMode { enabled: true, inclusive };
            let line = line_amounts(price, qty, mode);
            prop_assert_eq!(line.net + line.vat, line.total);
            let gross = i128::from(price * qty);
            if inclusive {
                // vat = gross * 16/116: |116*vat - 16*gross| <= 58
                prop_assert!((116 * i128::from(line.vat) - 16 * gross).abs() <= 58);
            } else {
                prop_assert!((100 * i128::from(line.vat) - 16 * gross).abs() <= 50);
            }
        }

        #[test]
        fn a_credit_notes_vat_share_never_exceeds_it(amount in 1i64..10_000_000, total in 1i64..10_000_000, vat_pct in 0i64..=16) {
            let vat = total * vat_pct / 116;
            let share = vat_share(amount, vat, total);
            prop_assert!(share >= 0 && share <= amount);
        }
    }
}
