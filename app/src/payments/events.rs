//! Raw provider deliveries, stored before anything is applied: once per provider event (the C2B
//! TransID, the STK CheckoutRequestID, Paystack's event and data id), in the same transaction
//! that applies them, so a delivery is either stored and applied or neither.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::{db::TenantTx, error::AppError};

/// The kinds of delivery we store, each unique per its own event id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    C2bConfirmation,
    StkCallback,
    PaystackWebhook,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::C2bConfirmation => "c2b_confirmation",
            EventKind::StkCallback => "stk_callback",
            EventKind::PaystackWebhook => "paystack_webhook",
        }
    }

    pub fn provider(self) -> &'static str {
        match self {
            EventKind::PaystackWebhook => "paystack",
            EventKind::C2bConfirmation | EventKind::StkCallback => "mpesa",
        }
    }
}

/// What a stored delivery came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Credited(Uuid),
    Unmatched,
    /// Nothing to apply: a failed result, an event we do not use, a payment already credited.
    Ignored,
}

/// Stores a delivery under its event id. `None` when it was delivered before: the replay is
/// counted and nothing else changes.
pub async fn claim(
    tx: &mut TenantTx,
    kind: EventKind,
    event_id: &str,
    payload: &Value,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, AppError> {
    let tenant = tx.tenant();
    let id = sqlx::query_scalar!(
        r#"insert into provider_events (tenant_id, id, provider, kind, event_id, payload, received_at)
           values ($1, $2, $3, $4, $5, $6, $7)
           on conflict (tenant_id, provider, kind, event_id) do nothing
           returning id"#,
        tenant.0,
        Uuid::new_v4(),
        kind.provider(),
        kind.as_str(),
        event_id,
        payload,
        now
    )
    .fetch_optional(tx.conn())
    .await?;
    if id.is_none() {
        sqlx::query!(
            "update provider_events set replays = replays + 1
              where tenant_id = $1 and provider = $2 and kind = $3 and event_id = $4",
            tenant.0,
            kind.provider(),
            kind.as_str(),
            event_id
        )
        .execute(tx.conn())
        .await?;
    }
    Ok(id)
}

/// Records what a stored delivery came to.
pub async fn set_outcome(tx: &mut TenantTx, event: Uuid, outcome: Outcome) -> Result<(), AppError> {
    let tenant = tx.tenant();
    let (text, payment) = match outcome {
        Outcome::Credited(payment) => ("credited", Some(payment)),
        Outcome::Unmatched => ("unmatched", None),
        Outcome::Ignored => ("ignored", None),
    };
    sqlx::query!(
        "update provider_events set outcome = $3, payment_id = $4 where tenant_id = $1 and id = $2",
        tenant.0,
        event,
        text,
        payment
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A payment arrived that nobody could be matched to: it waits for staff in the Unmatched
/// payments queue.
pub struct UnmatchedIn<'a> {
    pub event: Uuid,
    pub channel: &'a str,
    pub reference: &'a str,
    pub amount_minor: i64,
    pub account_typed: &'a str,
    pub payer_name: &'a str,
    pub received_at: DateTime<Utc>,
}

pub async fn queue_unmatched(tx: &mut TenantTx, row: &UnmatchedIn<'_>) -> Result<(), AppError> {
    let tenant = tx.tenant();
    sqlx::query!(
        r#"insert into unmatched_payments (tenant_id, id, event_id, channel, reference,
                                           amount_minor, account_typed, payer_name, received_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           on conflict (tenant_id, channel, reference) do nothing"#,
        tenant.0,
        Uuid::new_v4(),
        row.event,
        row.channel,
        row.reference,
        row.amount_minor,
        row.account_typed
            .trim()
            .chars()
            .take(100)
            .collect::<String>(),
        row.payer_name.trim().chars().take(200).collect::<String>(),
        row.received_at
    )
    .execute(tx.conn())
    .await?;
    set_outcome(tx, row.event, Outcome::Unmatched).await
}

/// The payment already recorded on `channel` under `reference` (an M-Pesa receipt reaches us
/// through an STK callback and, for some paybills, a C2B confirmation too).
pub async fn payment_by_reference(
    tx: &mut TenantTx,
    channel: &str,
    reference: &str,
) -> Result<Option<Uuid>, AppError> {
    let tenant = tx.tenant();
    Ok(sqlx::query_scalar!(
        "select id from payments where tenant_id = $1 and channel = $2 and reference = $3",
        tenant.0,
        channel,
        reference
    )
    .fetch_optional(tx.conn())
    .await?)
}
