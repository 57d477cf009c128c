//! The outbox: what a change to money or service did that other work acts on later (the
//! receipt message, reconnecting a service that was cut off), written in the same transaction
//! as the change, so it is recorded exactly when the change is. Network enforcement and
//! messaging consume these rows.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::{billing::invoices::Extended, db::TenantTx, error::AppError};

/// A payment just recorded, for its `payment.received` row.
pub struct Received<'a> {
    pub payment: Uuid,
    pub customer: Uuid,
    pub channel: &'a str,
    pub amount_minor: i64,
    pub reference: &'a str,
}

/// One `payment.received` row per payment and one `service.extended` row per service moved into
/// a paid period, in one statement whatever their number.
pub async fn record(
    tx: &mut TenantTx,
    now: DateTime<Utc>,
    received: &[Received<'_>],
    extended: &[Extended],
) -> Result<(), AppError> {
    let count = received.len() + extended.len();
    if count == 0 {
        return Ok(());
    }
    let mut topics = Vec::with_capacity(count);
    let mut customers = Vec::with_capacity(count);
    let mut services = Vec::with_capacity(count);
    let mut payments = Vec::with_capacity(count);
    let mut bodies = Vec::with_capacity(count);
    for r in received {
        topics.push("payment.received");
        customers.push(r.customer);
        services.push(None);
        payments.push(Some(r.payment));
        bodies.push(json!({"channel": r.channel, "amount_minor": r.amount_minor,
                           "reference": r.reference}));
    }
    for e in extended {
        topics.push("service.extended");
        customers.push(e.customer);
        services.push(Some(e.service));
        payments.push(None);
        bodies.push(json!({"was": e.was, "expires_at": e.expires}));
    }
    let ids: Vec<Uuid> = topics.iter().map(|_| Uuid::new_v4()).collect();
    sqlx::query!(
        r#"insert into outbox_events (tenant_id, id, topic, customer_id, service_id, payment_id,
                                      body, created_at)
           select $1, u.id, u.topic, u.customer, u.service, u.payment, u.body, $8
             from unnest($2::uuid[], $3::text[], $4::uuid[], $5::uuid[], $6::uuid[], $7::jsonb[])
                  as u(id, topic, customer, service, payment, body)"#,
        tx.tenant().0,
        &ids,
        &topics as &[&str],
        &customers,
        &services as &[Option<Uuid>],
        &payments as &[Option<Uuid>],
        &bodies,
        now,
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}
