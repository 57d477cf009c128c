//! Payments we asked for (an STK push, a Paystack checkout), and settling them exactly once.
//!
//! Settling locks the request's row: a callback, a duplicate or late callback, a webhook, a
//! verification on return and the STK query poller can each try, and only the first credits.
//! A request already paid only learns its receipt; a success that follows a failure or an
//! expiry still credits, because the money was taken.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    billing::{
        actions::{PaymentIn, apply_payment},
        invoices,
        model::Channel,
    },
    db::TenantTx,
    error::AppError,
    payments::{
        daraja_wire::clip,
        events,
        model::{PaymentRequestView, RequestStatus, stk_result_message},
    },
    state::AppState,
};

/// The account number of a current (not archived) customer: who a request is for.
pub async fn customer_account(tx: &mut TenantTx, customer: Uuid) -> Result<String, AppError> {
    let tenant = tx.tenant();
    sqlx::query_scalar!(
        "select account_number from customers where tenant_id = $1 and id = $2 and archived_at is null",
        tenant.0,
        customer
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| AppError::NotFound {
        what: "That customer".into(),
    })
}

/// Marks a request failed (declined, refused, or reported with the wrong amount), unless it was
/// paid: a payment is never undone by a later failure.
pub async fn fail(
    tx: &mut TenantTx,
    id: Uuid,
    code: &str,
    desc: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let tenant = tx.tenant();
    sqlx::query!(
        "update payment_requests
            set status = 'failed', result_code = $3, result_desc = $4, settled_at = $5,
                next_query_at = null
          where tenant_id = $1 and id = $2 and status in ('sending', 'pending', 'expired')",
        tenant.0,
        id,
        clip(code, 40),
        clip(desc, 500),
        now
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// When the poller next asks about a request.
pub async fn reschedule(tx: &mut TenantTx, id: Uuid, at: DateTime<Utc>) -> Result<(), AppError> {
    let tenant = tx.tenant();
    sqlx::query!(
        "update payment_requests set next_query_at = $3, query_attempts = query_attempts + 1
          where tenant_id = $1 and id = $2",
        tenant.0,
        id,
        at
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// No result within the time we wait (a later success still credits).
pub async fn expire(
    tx: &mut TenantTx,
    id: Uuid,
    desc: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let tenant = tx.tenant();
    sqlx::query!(
        "update payment_requests
            set status = 'expired', result_desc = $3, settled_at = $4, next_query_at = null
          where tenant_id = $1 and id = $2 and status in ('sending', 'pending')",
        tenant.0,
        id,
        desc,
        now
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A request as `settle` needs it, read under its row lock.
pub struct Locked {
    pub id: Uuid,
    pub provider: String,
    /// None for a hotspot sale, which is for `plan` (on `router`) and nobody.
    pub customer: Option<Uuid>,
    pub plan: Option<Uuid>,
    pub router: Option<Uuid>,
    pub payer: String,
    pub invoice: Option<Uuid>,
    pub amount: i64,
    pub currency: String,
    pub status: RequestStatus,
    pub payment: Option<Uuid>,
    pub provider_ref: Option<String>,
}

/// A locked request as the database has it.
struct LockedRow {
    id: Uuid,
    provider: String,
    customer_id: Option<Uuid>,
    plan_id: Option<Uuid>,
    router_id: Option<Uuid>,
    payer: String,
    invoice_id: Option<Uuid>,
    amount_minor: i64,
    currency: String,
    status: String,
    payment_id: Option<Uuid>,
    provider_ref: Option<String>,
}

impl From<LockedRow> for Locked {
    fn from(r: LockedRow) -> Self {
        Locked {
            id: r.id,
            provider: r.provider,
            customer: r.customer_id,
            plan: r.plan_id,
            router: r.router_id,
            payer: r.payer,
            invoice: r.invoice_id,
            amount: r.amount_minor,
            currency: r.currency,
            status: RequestStatus::parse(&r.status).unwrap_or(RequestStatus::Failed),
            payment: r.payment_id,
            provider_ref: r.provider_ref,
        }
    }
}

/// The request a provider knows by `reference` (CheckoutRequestID, Paystack reference), locked.
pub async fn lock_by_ref(
    tx: &mut TenantTx,
    provider: &str,
    reference: &str,
) -> Result<Option<Locked>, AppError> {
    let tenant = tx.tenant();
    let row = sqlx::query_as!(
        LockedRow,
        r#"select id, provider, customer_id, plan_id, router_id, payer, invoice_id, amount_minor, currency as "currency!", status,
                  payment_id, provider_ref
           from payment_requests
          where tenant_id = $1 and provider = $2 and provider_ref = $3
          for update"#,
        tenant.0,
        provider,
        reference
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(Locked::from))
}

/// A request by id, locked.
pub async fn lock_by_id(tx: &mut TenantTx, id: Uuid) -> Result<Option<Locked>, AppError> {
    let tenant = tx.tenant();
    let row = sqlx::query_as!(
        LockedRow,
        r#"select id, provider, customer_id, plan_id, router_id, payer, invoice_id, amount_minor, currency as "currency!", status,
                  payment_id, provider_ref
           from payment_requests where tenant_id = $1 and id = $2 for update"#,
        tenant.0,
        id
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(Locked::from))
}

/// What a request came to.
pub enum Settlement<'a> {
    Paid {
        amount: i64,
        receipt: Option<&'a str>,
        at: DateTime<Utc>,
    },
    Failed {
        code: String,
        desc: &'a str,
    },
}

/// A request already paid learns the receipt a later callback brings (the query that settled it
/// had none).
pub async fn learn_receipt(
    tx: &mut TenantTx,
    id: Uuid,
    receipt: Option<&str>,
) -> Result<(), AppError> {
    let Some(receipt) = receipt else {
        return Ok(());
    };
    let tenant = tx.tenant();
    sqlx::query!(
        "update payment_requests set receipt = coalesce(receipt, $3)
          where tenant_id = $1 and id = $2",
        tenant.0,
        id,
        receipt
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// What a paid request became.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// A customer's payment.
    Payment(Uuid),
    /// A hotspot package sold: the voucher.
    Sale(Uuid),
}

impl Settled {
    pub fn payment(self) -> Option<Uuid> {
        match self {
            Settled::Payment(id) => Some(id),
            Settled::Sale(_) => None,
        }
    }
}

/// Applies a result to a locked request, once: a request already paid only learns its receipt.
/// Returns what the request became when this result is (or was) a payment.
pub async fn settle(
    tx: &mut TenantTx,
    state: &AppState,
    request: &Locked,
    result: Settlement<'_>,
) -> Result<Option<Settled>, AppError> {
    let tenant = tx.tenant();
    let now = state.clock.now();
    let Some(customer) = request.customer else {
        return crate::hotspot::sale::settle(tx, state, request, result).await;
    };
    match result {
        Settlement::Paid { receipt, .. } if request.status == RequestStatus::Paid => {
            learn_receipt(tx, request.id, receipt).await?;
            Ok(request.payment.map(Settled::Payment))
        }
        Settlement::Paid {
            amount,
            receipt,
            at,
        } => {
            let reference = receipt
                .or(request.provider_ref.as_deref())
                .unwrap_or_default()
                .to_string();
            let channel = if request.provider == "paystack" {
                Channel::Paystack
            } else {
                Channel::Mpesa
            };
            // An M-Pesa receipt may have been credited already by a paybill confirmation.
            let payment =
                match events::payment_by_reference(tx, channel.as_str(), &reference).await? {
                    Some(existing) => existing,
                    None => {
                        let terms = invoices::terms(tx).await?;
                        apply_payment(
                            tx,
                            &terms,
                            now,
                            &PaymentIn {
                                customer,
                                channel,
                                amount,
                                reference,
                                received_at: at,
                                recorded_by: None,
                                invoice: request.invoice,
                            },
                        )
                        .await?
                    }
                };
            sqlx::query!(
                "update payment_requests
                    set status = 'paid', result_code = '0', result_desc = 'Paid', receipt = $3,
                        payment_id = $4, settled_at = $5, next_query_at = null
                  where tenant_id = $1 and id = $2",
                tenant.0,
                request.id,
                receipt,
                payment,
                now
            )
            .execute(tx.conn())
            .await?;
            Ok(Some(Settled::Payment(payment)))
        }
        Settlement::Failed { .. } if request.status == RequestStatus::Paid => {
            Ok(request.payment.map(Settled::Payment))
        }
        Settlement::Failed { code, desc } => {
            fail(tx, request.id, &code, desc, now).await?;
            Ok(None)
        }
    }
}

/// A request as its page shows it, for a customer of `tenant` (the caller has already decided
/// who may see it).
pub async fn view(
    tx: &mut TenantTx,
    id: Uuid,
    customer: Option<Uuid>,
) -> Result<PaymentRequestView, AppError> {
    let tenant = tx.tenant();
    let row = sqlx::query!(
        r#"select r.id, r.customer_id, r.provider, r.status, r.result_code, r.result_desc, r.amount_minor,
                  r.currency as "currency!", r.payer, r.receipt, r.created_at,
                  (select max(s.expires_at) from services s
                    where s.tenant_id = r.tenant_id and s.customer_id = r.customer_id) as expires_at
             from payment_requests r where r.tenant_id = $1 and r.id = $2"#,
        tenant.0,
        id
    )
    .fetch_optional(tx.conn())
    .await?
    .filter(|r| customer.is_none_or(|c| Some(c) == r.customer_id))
    .ok_or_else(|| AppError::NotFound {
        what: "That payment request".into(),
    })?;
    let status = RequestStatus::parse(&row.status).unwrap_or(RequestStatus::Failed);
    let message = match status {
        RequestStatus::Sending => "Sending the M-Pesa prompt…".to_string(),
        RequestStatus::Pending if row.provider == "paystack" => {
            "Waiting for the card payment to complete…".to_string()
        }
        RequestStatus::Pending => "Check your phone and enter your M-Pesa PIN.".to_string(),
        RequestStatus::Paid => "Paid. Thank you!".to_string(),
        RequestStatus::Failed if row.provider == "paystack" => row.result_desc.clone(),
        RequestStatus::Failed => {
            stk_result_message(row.result_code.as_deref().unwrap_or(""), &row.result_desc)
        }
        RequestStatus::Expired => row.result_desc.clone(),
    };
    Ok(PaymentRequestView {
        id: row.id,
        status,
        message,
        amount_minor: row.amount_minor,
        currency: row.currency,
        payer: row.payer,
        receipt: row.receipt,
        created_at: row.created_at,
        expires_at: (status == RequestStatus::Paid)
            .then_some(row.expires_at)
            .flatten(),
    })
}
