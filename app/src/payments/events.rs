//! Raw provider deliveries, stored before anything is applied: once per provider event (the C2B
//! TransID, the STK CheckoutRequestID, Paystack's event and data id). STK callbacks and Paystack
//! webhooks are stored in the transaction that applies them; C2B confirmations are stored on
//! their own and applied in batches (`payments::c2b`), their outcome null until then.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    db::{Db, TenantId, TenantTx},
    error::AppError,
};

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
    /// A hotspot package paid for and handed out as a voucher.
    Sold,
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
    set_outcomes(tx, &[(event, outcome)]).await
}

/// Records what each stored delivery came to, in one statement.
pub async fn set_outcomes(tx: &mut TenantTx, outcomes: &[(Uuid, Outcome)]) -> Result<(), AppError> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let tenant = tx.tenant();
    let mut ids = Vec::with_capacity(outcomes.len());
    let mut texts = Vec::with_capacity(outcomes.len());
    let mut payments = Vec::with_capacity(outcomes.len());
    for (event, outcome) in outcomes {
        let (text, payment) = match outcome {
            Outcome::Credited(payment) => ("credited", Some(*payment)),
            Outcome::Sold => ("sold", None),
            Outcome::Unmatched => ("unmatched", None),
            Outcome::Ignored => ("ignored", None),
        };
        ids.push(*event);
        texts.push(text);
        payments.push(payment);
    }
    sqlx::query!(
        // `e.id = any($2)` lets PostgreSQL find the rows by primary key whatever its row
        // estimates say (fresh rows are not in the statistics yet).
        r#"update provider_events e
              set outcome = u.outcome, payment_id = u.payment, applied_at = clock_timestamp()
             from unnest($2::uuid[], $3::text[], $4::uuid[]) as u(id, outcome, payment)
            where e.tenant_id = $1 and e.id = any($2) and e.id = u.id"#,
        tenant.0,
        &ids,
        &texts as &[&str],
        &payments as &[Option<Uuid>],
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
    queue_unmatched_all(tx, std::slice::from_ref(row)).await
}

/// Queues each of `rows` as unmatched and marks its delivery so, in two statements.
pub async fn queue_unmatched_all(
    tx: &mut TenantTx,
    rows: &[UnmatchedIn<'_>],
) -> Result<(), AppError> {
    if rows.is_empty() {
        return Ok(());
    }
    let tenant = tx.tenant();
    let ids: Vec<Uuid> = rows.iter().map(|_| Uuid::new_v4()).collect();
    let events: Vec<Uuid> = rows.iter().map(|r| r.event).collect();
    let channels: Vec<&str> = rows.iter().map(|r| r.channel).collect();
    let references: Vec<&str> = rows.iter().map(|r| r.reference).collect();
    let amounts: Vec<i64> = rows.iter().map(|r| r.amount_minor).collect();
    let typed: Vec<String> = rows
        .iter()
        .map(|r| r.account_typed.trim().chars().take(100).collect())
        .collect();
    let names: Vec<String> = rows
        .iter()
        .map(|r| r.payer_name.trim().chars().take(200).collect())
        .collect();
    let received: Vec<DateTime<Utc>> = rows.iter().map(|r| r.received_at).collect();
    sqlx::query!(
        r#"insert into unmatched_payments (tenant_id, id, event_id, channel, reference,
                                           amount_minor, account_typed, payer_name, received_at)
           select $1, u.id, u.event, u.channel, u.reference, u.amount, u.typed, u.name, u.received
             from unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::bigint[],
                         $7::text[], $8::text[], $9::timestamptz[])
                  as u(id, event, channel, reference, amount, typed, name, received)
           on conflict (tenant_id, channel, reference) do nothing"#,
        tenant.0,
        &ids,
        &events,
        &channels as &[&str],
        &references as &[&str],
        &amounts,
        &typed,
        &names,
        &received,
    )
    .execute(tx.conn())
    .await?;
    let outcomes: Vec<(Uuid, Outcome)> = events.iter().map(|e| (*e, Outcome::Unmatched)).collect();
    set_outcomes(tx, &outcomes).await
}

/// The payment already recorded on `channel` under `reference` (an M-Pesa receipt reaches us
/// through an STK callback and, for some paybills, a C2B confirmation too).
pub async fn payment_by_reference(
    tx: &mut TenantTx,
    channel: &str,
    reference: &str,
) -> Result<Option<Uuid>, AppError> {
    Ok(payments_by_reference(tx, channel, &[reference])
        .await?
        .remove(reference))
}

/// The M-Pesa receipts among `references` that already paid for hotspot sales (a paybill
/// confirmation of the same receipt must not be credited again, nor queued as unmatched).
pub async fn sold_receipts(
    tx: &mut TenantTx,
    references: &[&str],
) -> Result<std::collections::HashSet<String>, AppError> {
    let tenant = tx.tenant();
    let rows = sqlx::query_scalar!(
        r#"select receipt as "receipt!" from payment_requests
            where tenant_id = $1 and source = 'hotspot' and status = 'paid'
              and receipt = any($2)"#,
        tenant.0,
        references as &[&str]
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().collect())
}

/// The payments already recorded on `channel` under any of `references`, by reference.
pub async fn payments_by_reference(
    tx: &mut TenantTx,
    channel: &str,
    references: &[&str],
) -> Result<HashMap<String, Uuid>, AppError> {
    let tenant = tx.tenant();
    let rows = sqlx::query!(
        "select reference, id from payments where tenant_id = $1 and channel = $2 and reference = any($3)",
        tenant.0,
        channel,
        references as &[&str]
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().map(|r| (r.reference, r.id)).collect())
}

/// Marks a stored delivery refused for good, with the reason (shown among the provider events),
/// so it is neither applied nor retried.
pub async fn mark_failed(
    db: &Db,
    tenant: TenantId,
    event: Uuid,
    why: &str,
) -> Result<(), AppError> {
    let mut tx = db.tenant(tenant).await?;
    sqlx::query!(
        "update provider_events set outcome = 'failed', error = $3, applied_at = clock_timestamp()
          where tenant_id = $1 and id = $2 and outcome is null",
        tenant.0,
        event,
        why.chars().take(500).collect::<String>()
    )
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(())
}
