//! The Unmatched payments queue: money that arrived for an account nobody has. Staff see it and
//! assign each payment to the customer it was meant for, which applies it exactly as a matched
//! payment (ledger, allocation, renewal) in the same transaction, once.

use serde_json::json;
use uuid::Uuid;

use crate::{
    audit::store::{Entry, record},
    auth::{identity::Staff, model::Permission, session::RequestMeta},
    billing::{
        actions::{PaymentIn, apply_payment},
        invoices,
        model::Channel,
    },
    error::AppError,
    payments::model::UnmatchedRow,
    state::AppState,
};

/// The queue, newest first: open ones and those assigned in the last 30 days.
pub async fn list(state: &AppState, staff: &Staff) -> Result<Vec<UnmatchedRow>, AppError> {
    staff.require(Permission::ViewTransactions)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let rows = sqlx::query!(
        r#"select u.id, u.channel, u.reference, u.amount_minor, u.account_typed, u.payer_name,
                  u.received_at, u.assigned_at, c.name as "customer_name?",
                  c.account_number as "customer_account?"
             from unmatched_payments u
             left join customers c on c.tenant_id = u.tenant_id and c.id = u.assigned_customer_id
            where u.tenant_id = $1
              and (u.assigned_at is null or u.assigned_at > $2::timestamptz - interval '30 days')
            order by u.assigned_at is not null, u.received_at desc
            limit 200"#,
        staff.tenant.0,
        state.clock.now()
    )
    .fetch_all(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| UnmatchedRow {
            id: r.id,
            channel: r.channel,
            reference: r.reference,
            amount_minor: r.amount_minor,
            account_typed: r.account_typed,
            payer_name: r.payer_name,
            received_at: r.received_at,
            assigned_at: r.assigned_at,
            customer_name: r.customer_name,
            customer_account: r.customer_account,
        })
        .collect())
}

/// Assigns an unmatched payment to the customer with `account` and applies it. Owner and admin
/// only (it moves money); audited. A payment already assigned is refused, never applied twice.
pub async fn assign(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    account: &str,
    meta: &RequestMeta,
) -> Result<Uuid, AppError> {
    staff.require(Permission::ManageInvoices)?;
    let account = account.trim().to_uppercase();
    if account.is_empty() {
        return Err(AppError::invalid(
            "account",
            "type the customer's account number",
        ));
    }
    let now = state.clock.now();
    let mut tx = state.db.tenant(staff.tenant).await?;
    // Locked: two staff assigning the same payment at once apply it once.
    let row = sqlx::query!(
        r#"select channel, reference, amount_minor, received_at, event_id, payment_id
             from unmatched_payments where tenant_id = $1 and id = $2 for update"#,
        staff.tenant.0,
        id
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| AppError::NotFound {
        what: "That unmatched payment".into(),
    })?;
    if row.payment_id.is_some() {
        return Err(AppError::invalid(
            "account",
            "this payment was already assigned",
        ));
    }
    let customer = sqlx::query!(
        "select id, name from customers where tenant_id = $1 and account_number = $2",
        staff.tenant.0,
        account
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| AppError::invalid("account", "no customer has this account number"))?;
    let channel = if row.channel == "paystack" {
        Channel::Paystack
    } else {
        Channel::Mpesa
    };
    let terms = invoices::terms(&mut tx).await?;
    let payment = apply_payment(
        &mut tx,
        &terms,
        now,
        &PaymentIn {
            customer: customer.id,
            channel,
            amount: row.amount_minor,
            reference: row.reference.clone(),
            received_at: row.received_at,
            recorded_by: Some(staff.user_id),
            invoice: None,
        },
    )
    .await?;
    sqlx::query!(
        r#"update unmatched_payments
              set assigned_customer_id = $3, assigned_at = $4, assigned_by = $5, payment_id = $6
            where tenant_id = $1 and id = $2"#,
        staff.tenant.0,
        id,
        customer.id,
        now,
        staff.user_id,
        payment
    )
    .execute(tx.conn())
    .await?;
    sqlx::query!(
        "update provider_events set outcome = 'credited', payment_id = $3 where tenant_id = $1 and id = $2",
        staff.tenant.0,
        row.event_id,
        payment
    )
    .execute(tx.conn())
    .await?;
    record(
        &mut tx,
        Entry {
            at: now,
            actor_user_id: Some(staff.user_id),
            actor_label: &staff.email,
            action: "payment.unmatched_assigned",
            entity: Some(("payment", payment.to_string())),
            before: None,
            after: Some(json!({
                "reference": row.reference, "amount_minor": row.amount_minor,
                "customer": customer.id, "customer_name": customer.name,
            })),
            meta,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(payment)
}
