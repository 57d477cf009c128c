//! Payment provider settings as the settings page sees them and sends them back, and the
//! checks both sides share. Secrets travel one way only: typed into the form, sealed by the
//! server, shown afterwards as their last four characters.

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What the settings page shows. No secret is ever in here, only whether it is set and its last
/// four characters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentSettingsView {
    pub mpesa_environment: String,
    pub mpesa_shortcode: String,
    pub mpesa_kind: String,
    pub mpesa_till: String,
    pub mpesa_consumer_key_last4: Option<String>,
    pub mpesa_consumer_secret_last4: Option<String>,
    pub mpesa_passkey_last4: Option<String>,
    pub paystack_secret_last4: Option<String>,
    pub stk_provider: String,
    pub c2b_reject_unknown: bool,
    /// Whether the viewer may change them (owner and admin).
    pub can_manage: bool,
}

/// The settings form as submitted. A secret left blank keeps the stored one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentSettingsForm {
    pub mpesa_environment: String,
    pub mpesa_shortcode: String,
    pub mpesa_kind: String,
    #[serde(default)]
    pub mpesa_till: String,
    #[serde(default)]
    pub mpesa_consumer_key: String,
    #[serde(default)]
    pub mpesa_consumer_secret: String,
    #[serde(default)]
    pub mpesa_passkey: String,
    #[serde(default)]
    pub paystack_secret: String,
    #[serde(default)]
    pub stk_provider: String,
    /// A checkbox: present ("on") when ticked.
    #[serde(default)]
    pub c2b_reject_unknown: Option<String>,
}

/// The form, checked: every field valid, secrets trimmed and present only when typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedPaymentSettings {
    pub mpesa_environment: &'static str,
    pub mpesa_shortcode: Option<String>,
    pub mpesa_kind: &'static str,
    pub mpesa_till: Option<String>,
    pub mpesa_consumer_key: Option<String>,
    pub mpesa_consumer_secret: Option<String>,
    pub mpesa_passkey: Option<String>,
    pub paystack_secret: Option<String>,
    pub stk_provider: Option<&'static str>,
    pub c2b_reject_unknown: bool,
}

fn digits(
    field: &'static str,
    value: &str,
    lengths: std::ops::RangeInclusive<usize>,
) -> Result<Option<String>, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if !value.bytes().all(|b| b.is_ascii_digit()) || !lengths.contains(&value.len()) {
        return Err(AppError::invalid(
            field,
            format!("must be {} to {} digits", lengths.start(), lengths.end()),
        ));
    }
    Ok(Some(value.to_string()))
}

/// A typed secret: blank keeps the stored one; otherwise printable and of a sane length.
fn secret(field: &'static str, value: &str) -> Result<Option<String>, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.len() < 8 || value.len() > 500 || value.chars().any(char::is_control) {
        return Err(AppError::invalid(
            field,
            "must be 8 to 500 characters, as the provider gave it",
        ));
    }
    Ok(Some(value.to_string()))
}

impl PaymentSettingsForm {
    pub fn check(&self) -> Result<CheckedPaymentSettings, AppError> {
        let mpesa_environment = match self.mpesa_environment.trim() {
            "" | "sandbox" => "sandbox",
            "production" => "production",
            _ => {
                return Err(AppError::invalid(
                    "mpesa_environment",
                    "must be sandbox or production",
                ));
            }
        };
        let mpesa_kind = match self.mpesa_kind.trim() {
            "" | "paybill" => "paybill",
            "till" => "till",
            _ => return Err(AppError::invalid("mpesa_kind", "must be paybill or till")),
        };
        let mpesa_shortcode = digits("mpesa_shortcode", &self.mpesa_shortcode, 5..=7)?;
        let mpesa_till = digits("mpesa_till", &self.mpesa_till, 5..=8)?;
        let mpesa_till = match (mpesa_kind, mpesa_till) {
            ("till", None) => {
                return Err(AppError::invalid(
                    "mpesa_till",
                    "is needed for buy goods (the till number payments go to)",
                ));
            }
            ("till", till) => till,
            // A till number only means something for buy goods.
            _ => None,
        };
        let paystack_secret = secret("paystack_secret", &self.paystack_secret)?;
        if let Some(key) = &paystack_secret
            && !(key.starts_with("sk_test_") || key.starts_with("sk_live_"))
        {
            return Err(AppError::invalid(
                "paystack_secret",
                "must be a secret key (sk_test_… or sk_live_…), not a public key",
            ));
        }
        let stk_provider = match self.stk_provider.trim() {
            "" => None,
            "mpesa" => Some("mpesa"),
            "paystack" => Some("paystack"),
            _ => {
                return Err(AppError::invalid(
                    "stk_provider",
                    "must be M-Pesa or Paystack",
                ));
            }
        };
        Ok(CheckedPaymentSettings {
            mpesa_environment,
            mpesa_shortcode,
            mpesa_kind,
            mpesa_till,
            mpesa_consumer_key: secret("mpesa_consumer_key", &self.mpesa_consumer_key)?,
            mpesa_consumer_secret: secret("mpesa_consumer_secret", &self.mpesa_consumer_secret)?,
            mpesa_passkey: secret("mpesa_passkey", &self.mpesa_passkey)?,
            paystack_secret,
            stk_provider,
            c2b_reject_unknown: self.c2b_reject_unknown.is_some(),
        })
    }
}

/// The last four characters of a secret, for showing that it is set and which one it is.
pub fn last4(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

/// A payment in the Unmatched payments queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmatchedRow {
    pub id: uuid::Uuid,
    pub channel: String,
    pub reference: String,
    pub amount_minor: i64,
    /// What the payer typed as the account.
    pub account_typed: String,
    pub payer_name: String,
    pub received_at: chrono::DateTime<chrono::Utc>,
    pub assigned_at: Option<chrono::DateTime<chrono::Utc>>,
    pub customer_name: Option<String>,
    pub customer_account: Option<String>,
}

/// The outcome of "Test connection".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionTest {
    pub ok: bool,
    pub message: String,
}

/// Where a payment we asked for stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Written, the provider not yet answered.
    Sending,
    /// The payer has the prompt (or the checkout page).
    Pending,
    Paid,
    Failed,
    /// No result within the time we wait.
    Expired,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Sending => "sending",
            RequestStatus::Pending => "pending",
            RequestStatus::Paid => "paid",
            RequestStatus::Failed => "failed",
            RequestStatus::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "sending" => RequestStatus::Sending,
            "pending" => RequestStatus::Pending,
            "paid" => RequestStatus::Paid,
            "failed" => RequestStatus::Failed,
            "expired" => RequestStatus::Expired,
            _ => return None,
        })
    }

    /// Still waiting on the payer or the provider.
    pub fn is_open(self) -> bool {
        matches!(self, RequestStatus::Sending | RequestStatus::Pending)
    }
}

/// A payment request as its page shows it while it runs and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRequestView {
    pub id: uuid::Uuid,
    pub status: RequestStatus,
    /// What happened, in words for the payer or staff.
    pub message: String,
    pub amount_minor: i64,
    pub currency: String,
    /// The phone the prompt went to (2547…), or the payer's email.
    pub payer: String,
    pub receipt: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Once paid: the latest expiry among the customer's services.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A service as the payment page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayLinkService {
    pub plan: String,
    pub status: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// The public payment page, `/pay/{code}`: what a payer needs and nothing more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayLinkView {
    pub business: String,
    pub customer_name: String,
    pub account_number: String,
    pub services: Vec<PayLinkService>,
    /// What they owe (negative: in credit).
    pub owed_minor: i64,
    /// What "Pay now" asks for: what is owed, or a period of their plan when nothing is.
    pub amount_due_minor: i64,
    /// The customer's phone, as Kenyans write it, to pre-fill.
    pub phone: String,
    /// M-Pesa is set up for STK pushes.
    pub mpesa: bool,
    /// Paystack (card) is set up.
    pub paystack: bool,
    /// The ISP chose Paystack for "Pay now" (Payment settings): its checkout comes first.
    pub paystack_first: bool,
    /// The customer's email, to pre-fill for a Paystack receipt.
    pub email: String,
    /// A push already on the phone, to follow instead of sending another.
    pub open_request: Option<uuid::Uuid>,
    pub utc_offset_seconds: i32,
}

/// The Transactions page's question: a channel, a search (receipt, customer name or account),
/// a local date range, a page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionQuery {
    #[serde(default)]
    pub channel: Option<crate::billing::model::Channel>,
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub from: Option<chrono::NaiveDate>,
    #[serde(default)]
    pub to: Option<chrono::NaiveDate>,
    #[serde(default)]
    pub page: u32,
}

pub const TRANSACTION_PAGE_SIZE: u32 = 50;

impl TransactionQuery {
    /// The query as an address's query string (for links and the CSV download).
    pub fn to_query_string(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = self.channel {
            parts.push(format!("channel={}", c.as_str()));
        }
        if !self.q.trim().is_empty() {
            parts.push(format!(
                "q={}",
                crate::customers::pages::encode(self.q.trim())
            ));
        }
        if let Some(d) = self.from {
            parts.push(format!("from={d}"));
        }
        if let Some(d) = self.to {
            parts.push(format!("to={d}"));
        }
        if self.page > 0 {
            parts.push(format!("page={}", self.page));
        }
        parts.join("&")
    }
}

/// A payment on the Transactions page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionRow {
    pub id: uuid::Uuid,
    pub received_at: chrono::DateTime<chrono::Utc>,
    pub channel: crate::billing::model::Channel,
    /// The M-Pesa receipt, Paystack reference, or what staff typed for cash and bank.
    pub reference: String,
    pub amount_minor: i64,
    pub customer_id: uuid::Uuid,
    pub customer_name: String,
    pub account_number: String,
    /// The invoices it paid (numbers, "INV-000123").
    pub invoices: Vec<String>,
    /// How much of it went to invoices; the rest is the customer's credit.
    pub allocated_minor: i64,
    /// Who recorded it, for cash and bank payments.
    pub recorded_by: Option<String>,
}

impl TransactionRow {
    pub fn status(&self) -> &'static str {
        if self.allocated_minor >= self.amount_minor {
            "Applied"
        } else if self.allocated_minor == 0 {
            "Credit"
        } else {
            "Applied, part credit"
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionPage {
    pub rows: Vec<TransactionRow>,
    pub total: i64,
    pub total_minor: i64,
    pub page: u32,
    pub utc_offset_seconds: i32,
    /// Owner and admin may read the raw provider events.
    pub can_view_events: bool,
}

/// One line of the daily reconciliation: a channel's payments on one (local) day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconciliationRow {
    pub day: chrono::NaiveDate,
    pub channel: crate::billing::model::Channel,
    pub count: i64,
    pub total_minor: i64,
}

/// A raw provider delivery, for troubleshooting (owner and admin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderEventRow {
    pub id: uuid::Uuid,
    pub provider: String,
    pub kind: String,
    pub event_id: String,
    pub received_at: chrono::DateTime<chrono::Utc>,
    /// credited, unmatched, ignored or failed; `None` while a paybill confirmation waits for
    /// the applier.
    pub outcome: Option<String>,
    /// Why a failed one was refused.
    pub error: Option<String>,
    pub replays: i32,
    /// The body as received, pretty-printed.
    pub payload: String,
}

impl ProviderEventRow {
    /// What came of it, for the Provider events table.
    pub fn outcome_label(&self) -> String {
        match (self.outcome.as_deref(), self.error.as_deref()) {
            (None, _) => "waiting to be applied".into(),
            (Some("failed"), Some(why)) => format!("failed: {why}"),
            (Some(outcome), _) => outcome.to_string(),
        }
    }
}

/// What an M-Pesa STK result code means, for the payer.
pub fn stk_result_message(code: &str, desc: &str) -> String {
    match code {
        "0" => "Paid.".into(),
        "1032" => "The payment was cancelled on the phone.".into(),
        "1037" => "The phone could not be reached: it may be off or out of coverage.".into(),
        "1" => "There is not enough money in M-Pesa for this payment.".into(),
        "2001" => "The M-Pesa PIN entered was wrong.".into(),
        "1001" => {
            "Another M-Pesa payment is in progress on this phone; try again in a minute.".into()
        }
        "1019" => "The payment was not completed in time.".into(),
        "1025" | "9999" => "M-Pesa could not send the prompt; try again.".into(),
        _ if desc.trim().is_empty() => format!("M-Pesa declined the payment (code {code})."),
        _ => desc.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> PaymentSettingsForm {
        PaymentSettingsForm {
            mpesa_environment: "sandbox".into(),
            mpesa_shortcode: "174379".into(),
            mpesa_kind: "paybill".into(),
            ..PaymentSettingsForm::default()
        }
    }

    fn field_of(err: AppError) -> String {
        match err {
            AppError::Invalid { field, .. } => field.to_string(),
            other => panic!("not a field error: {other}"),
        }
    }

    #[test]
    fn blank_secrets_keep_the_stored_ones_and_typed_ones_are_trimmed() {
        let mut f = form();
        f.mpesa_passkey =
            "  bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919 ".into();
        let checked = f.check().unwrap();
        assert_eq!(checked.mpesa_consumer_key, None);
        assert_eq!(
            checked.mpesa_passkey.as_deref(),
            Some("bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919")
        );
        assert_eq!(checked.mpesa_till, None);
        assert!(!checked.c2b_reject_unknown);
    }

    type Change = fn(&mut PaymentSettingsForm);

    #[test]
    fn bad_fields_are_named() {
        let cases: [(Change, &str); 7] = [
            (|f| f.mpesa_environment = "live".into(), "mpesa_environment"),
            (|f| f.mpesa_shortcode = "17a379".into(), "mpesa_shortcode"),
            (|f| f.mpesa_shortcode = "1234".into(), "mpesa_shortcode"),
            (|f| f.mpesa_kind = "till".into(), "mpesa_till"),
            (
                |f| f.paystack_secret = "pk_test_abcdefgh".into(),
                "paystack_secret",
            ),
            (
                |f| f.mpesa_consumer_key = "short".into(),
                "mpesa_consumer_key",
            ),
            (|f| f.stk_provider = "airtel".into(), "stk_provider"),
        ];
        for (change, field) in cases {
            let mut f = form();
            change(&mut f);
            assert_eq!(field_of(f.check().unwrap_err()), field);
        }
    }

    #[test]
    fn a_till_number_is_kept_only_for_buy_goods() {
        let mut f = form();
        f.mpesa_till = "5123456".into();
        assert_eq!(f.check().unwrap().mpesa_till, None);
        f.mpesa_kind = "till".into();
        assert_eq!(f.check().unwrap().mpesa_till.as_deref(), Some("5123456"));
    }

    #[test]
    fn last4_counts_characters() {
        assert_eq!(last4("sk_test_abcdef1234"), "1234");
        assert_eq!(last4("abc"), "abc");
        assert_eq!(last4("ключ-секрет"), "крет");
    }
}
