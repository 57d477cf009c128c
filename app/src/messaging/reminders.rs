//! Reminders before a service expires, by SMS in the customer's language (template
//! `expiring_soon`): 3 days and 1 day before by default, the days set per ISP.
//!
//! Each reminder is keyed by service, expiry and day count (`sms_outbox.dedupe_key`, unique per
//! ISP) and queued with `ON CONFLICT DO NOTHING` in batches of one transaction each, so running
//! the job twice, or again after it died mid-way, texts each reminder exactly once. A service
//! first seen inside several windows gets the nearest one's reminder only (a plan bought for
//! two days is not told "3 days left" and "1 day left" at once). A renewal moves the expiry, so
//! the next period's reminders have keys of their own.

use chrono::{DateTime, Duration, Utc};

use crate::{
    customers::{
        pages::local_time,
        service::{offset_seconds, zone},
    },
    db::{TenantId, TenantTx},
    error::AppError,
    messaging::{
        sms::{self, Sms},
        template::{self, Event, Language, Placeholder, Values, render},
        templates,
    },
    money::format_kes,
    payments::links::link_code,
    state::AppState,
};

/// Reminders queued per transaction.
pub const BATCH: i64 = 200;

/// Runs the reminders of every ISP; how many were queued.
pub async fn run_all(state: &AppState) -> Result<usize, AppError> {
    let mut queued = 0;
    for tenant in state.db.billing_tenants().await? {
        queued += run_tenant(state, tenant, BATCH, None).await?;
    }
    Ok(queued)
}

/// The schedule the server runs, beside billing.
pub async fn run_forever(state: AppState, every: std::time::Duration) {
    sms::queue_every(state, every, "expiry reminders", |state| async move {
        run_all(&state).await
    })
    .await;
}

/// One ISP's due reminders, `size` to a transaction; `batches` stops after that many (a run cut
/// short, as a crash would).
pub async fn run_tenant(
    state: &AppState,
    tenant: TenantId,
    size: i64,
    batches: Option<usize>,
) -> Result<usize, AppError> {
    let mut queued = 0;
    let mut done = 0;
    loop {
        if batches.is_some_and(|max| done >= max) {
            return Ok(queued);
        }
        let mut tx = state.db.tenant(tenant).await?;
        let (batch, seen) = batch(&mut tx, state, size).await?;
        tx.commit().await?;
        queued += batch;
        done += 1;
        if seen < size {
            return Ok(queued);
        }
    }
}

/// The key that makes a reminder one message.
pub fn dedupe_key(service: uuid::Uuid, expires_at: DateTime<Utc>, days: i32) -> String {
    format!("expiring_soon:{service}:{}:{days}", expires_at.timestamp())
}

/// Queues the next batch of due reminders not yet queued; (queued, looked at).
async fn batch(tx: &mut TenantTx, state: &AppState, size: i64) -> Result<(usize, i64), AppError> {
    let now = state.clock.now();
    let isp = sqlx::query!(
        r#"select t.name, t.reminder_days,
                  case when p.mpesa_kind = 'till' then p.mpesa_till else p.mpesa_shortcode end
                      as paybill
             from tenants t left join payment_settings p on p.tenant_id = t.id
            where t.id = $1"#,
        tx.tenant().0
    )
    .fetch_one(tx.conn())
    .await?;
    let Some(&furthest) = isp.reminder_days.iter().max() else {
        return Ok((0, 0));
    };
    let due = sqlx::query!(
        r#"select id as "id!", expires_at as "expires_at!", customer_id as "customer_id!",
                  name as "name!", account_number as "account_number!", phone as "phone!",
                  language as "language!", plan as "plan!", price_minor as "price_minor!",
                  days as "days!"
             from (select s.id, s.expires_at, c.id as customer_id, c.name, c.account_number,
                          c.phone, c.language, p.name as plan, p.price_minor,
                          (select min(d) from unnest($3::int[]) d
                            where s.expires_at <= $1::timestamptz + make_interval(days => d)) as days
                     from services s
                     join customers c on c.tenant_id = s.tenant_id and c.id = s.customer_id
                     join plans p on p.tenant_id = s.tenant_id and p.id = s.plan_id
                    where s.status = 'active' and c.archived_at is null
                      and s.expires_at > $1 and s.expires_at <= $2) due
            where not exists (
                    select 1 from sms_outbox m
                     where m.dedupe_key = 'expiring_soon:' || due.id || ':'
                           || floor(extract(epoch from due.expires_at))::bigint || ':'
                           || due.days)
            order by expires_at
            limit $4"#,
        now,
        now + Duration::days(i64::from(furthest)),
        &isp.reminder_days,
        size
    )
    .fetch_all(tx.conn())
    .await?;
    let seen = due.len() as i64;
    if due.is_empty() {
        return Ok((0, 0));
    }
    let offset = offset_seconds(&zone(tx).await?, now);
    let public = state.mailer.public_url.trim_end_matches('/').to_string();
    let mut words: Vec<(Language, String)> = Vec::new();
    let mut queued = 0;
    for r in due {
        let language = Language::parse("language", &r.language).unwrap_or_default();
        let text = match words.iter().find(|(l, _)| *l == language) {
            Some((_, text)) => text.clone(),
            None => {
                let text = templates::text_for(tx, Event::ExpiringSoon, language).await?;
                words.push((language, text.clone()));
                text
            }
        };
        let code = link_code(tx, state, r.customer_id).await?;
        let mut values = Values::new()
            .set(Placeholder::Name, r.name)
            .set(Placeholder::Account, r.account_number)
            .set(Placeholder::Plan, r.plan)
            .set(Placeholder::Amount, format_kes(r.price_minor))
            .set(Placeholder::Expiry, local_time(r.expires_at, offset))
            .set(Placeholder::PaymentLink, format!("{public}/pay/{code}"))
            .set(Placeholder::Business, isp.name.clone());
        if let Some(paybill) = &isp.paybill {
            values = values.set(Placeholder::Paybill, paybill.clone());
        }
        let body = template::fit(render(&text, &values));
        let key = dedupe_key(r.id, r.expires_at, r.days);
        let sms = Sms {
            customer: Some(r.customer_id),
            kind: Event::ExpiringSoon.as_str(),
            recipient: &r.phone,
            body: &body,
            urgent: false,
        };
        if sms::enqueue_once(tx, now, &sms, &key).await? {
            queued += 1;
        }
    }
    Ok((queued, seen))
}
