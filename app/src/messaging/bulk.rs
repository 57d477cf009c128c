//! Bulk SMS: one message to a segment of the ISP's subscribers (owner and admin).
//!
//! Consent decides: a subscriber whose SMS consent is not given is never written to, whatever
//! the segment; the preview counts them as left out. Sending writes the campaign and one outbox
//! row per recipient in one transaction (all or nothing), keyed by an id the compose form made,
//! so pressing Send twice sends once. The sender then works through the rows after anything
//! urgent, and the progress page counts them as they settle.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::{
    audit::store::{Entry, record},
    auth::{identity::Staff, model::Permission, session::RequestMeta},
    customers::service::{offset_seconds, zone},
    db::TenantTx,
    error::AppError,
    messaging::{
        bulk_model::{
            BulkForm, CampaignSummary, ComposeOptions, Preview, Progress, RecipientRow, Segment,
            check_text,
        },
        model::STATUSES,
        segments,
        template::{self, Placeholder, Values, render},
    },
    state::AppState,
};

/// Recipients listed on the progress page (failures first).
pub const LISTED: i64 = 500;

/// Campaigns listed under the compose form.
const RECENT: i64 = 20;

/// What `sms_outbox.kind` says of a bulk message.
pub const KIND: &str = "bulk";

/// The plans, routers and SMS price the compose form needs.
pub async fn options(state: &AppState, staff: &Staff) -> Result<ComposeOptions, AppError> {
    staff.require(Permission::SendBulkMessages)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let plans = sqlx::query!("select id, name from plans where archived_at is null order by name")
        .fetch_all(tx.conn())
        .await?;
    let routers = sqlx::query!("select id, name from routers order by name")
        .fetch_all(tx.conn())
        .await?;
    let price = part_price(&mut tx).await?;
    let recent = sqlx::query!(
        "select id, created_at, segment_label, recipients from sms_campaigns
          order by created_at desc limit $1",
        RECENT
    )
    .fetch_all(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(ComposeOptions {
        plans: plans.into_iter().map(|p| (p.id, p.name)).collect(),
        routers: routers.into_iter().map(|r| (r.id, r.name)).collect(),
        part_price_minor: price,
        recent: recent
            .into_iter()
            .map(|c| CampaignSummary {
                id: c.id,
                created_at: c.created_at,
                label: c.segment_label,
                recipients: c.recipients,
            })
            .collect(),
    })
}

/// Who the message in `form` would reach, and what it would cost.
pub async fn preview(state: &AppState, staff: &Staff, form: BulkForm) -> Result<Preview, AppError> {
    staff.require(Permission::SendBulkMessages)?;
    let segment = form.segment()?;
    check_text(&form.text)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let written = written(&mut tx, state.clock.now(), segment, &form.text).await?;
    tx.commit().await?;
    Ok(Preview {
        form,
        ..written.preview
    })
}

/// Sends the message in `form` as campaign `id`; `expected` is the recipient count the operator
/// was shown (a different count now is refused, to be looked at again). Sending the same `id`
/// again changes nothing and answers the same id.
pub async fn send(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    form: &BulkForm,
    expected: i64,
    meta: &RequestMeta,
) -> Result<Uuid, AppError> {
    staff.require(Permission::SendBulkMessages)?;
    let segment = form.segment()?;
    let text = form.text.as_str();
    check_text(text)?;
    let now = state.clock.now();
    let mut tx = state.db.tenant(staff.tenant).await?;
    // One campaign per id, however often the form is sent: the lock makes a second press wait
    // for the first and then find its campaign.
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended('sms_campaign:' || $1, 0))",
        id.to_string()
    )
    .execute(tx.conn())
    .await?;
    let exists = sqlx::query_scalar!("select 1 from sms_campaigns where id = $1", id)
        .fetch_optional(tx.conn())
        .await?;
    if exists.is_some() {
        return Ok(id);
    }
    let written = written(&mut tx, now, segment, text).await?;
    let preview = &written.preview;
    if preview.recipients == 0 {
        return Err(AppError::invalid(
            "segment",
            "has nobody with SMS consent to send to",
        ));
    }
    if preview.recipients != expected {
        return Err(AppError::invalid(
            "expected",
            format!(
                "the recipients changed to {} since they were counted; check and send again",
                preview.recipients
            ),
        ));
    }
    let (plan, router) = match segment {
        Segment::Plan(plan) => (Some(plan), None),
        Segment::Router(router) => (None, Some(router)),
        _ => (None, None),
    };
    let days = match segment {
        Segment::Expiring(days) => Some(days),
        _ => None,
    };
    sqlx::query!(
        "insert into sms_campaigns (tenant_id, id, segment, segment_days, plan_id, router_id,
                                    segment_label, body, recipients, left_out, parts,
                                    estimated_cost_minor, created_by, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        staff.tenant.0,
        id,
        segment.kind(),
        days,
        plan,
        router,
        preview.label,
        text,
        i32::try_from(preview.recipients).unwrap_or(i32::MAX),
        i32::try_from(preview.left_out).unwrap_or(i32::MAX),
        i32::try_from(preview.parts).unwrap_or(i32::MAX),
        preview.estimated_cost_minor,
        staff.user_id,
        now
    )
    .execute(tx.conn())
    .await?;
    sqlx::query!(
        "insert into sms_outbox (tenant_id, id, customer_id, kind, recipient, body, urgent,
                                 next_attempt_at, created_at, campaign_id)
         select $1, gen_random_uuid(), t.customer, $2, t.recipient, t.body, false, $3, $3, $4
           from unnest($5::uuid[], $6::text[], $7::text[]) as t(customer, recipient, body)",
        staff.tenant.0,
        KIND,
        now,
        id,
        &written.customers,
        &written.phones,
        &written.bodies
    )
    .execute(tx.conn())
    .await?;
    let entry = Entry::by_staff(
        staff,
        now,
        "message.bulk_sent",
        ("sms_campaign", id.to_string()),
        meta,
    );
    record(
        &mut tx,
        entry.with_after(json!({
            "segment": preview.label,
            "recipients": preview.recipients,
            "left_out_without_consent": preview.left_out,
            "sms_parts": preview.parts,
            "estimated_cost_minor": preview.estimated_cost_minor,
            "text": text,
        })),
    )
    .await?;
    tx.commit().await?;
    state.sms.nudge();
    Ok(id)
}

/// A campaign's progress: its messages by status and its recipients, failures first.
pub async fn progress(state: &AppState, staff: &Staff, id: Uuid) -> Result<Progress, AppError> {
    staff.require(Permission::SendBulkMessages)?;
    let now = state.clock.now();
    let mut tx = state.db.tenant(staff.tenant).await?;
    let Some(c) = sqlx::query!(
        r#"select c.created_at, c.segment_label, c.body, c.recipients, c.left_out,
                  c.estimated_cost_minor, coalesce(u.name, 'a former member of staff') as "by!"
             from sms_campaigns c
             left join users u on u.tenant_id = c.tenant_id and u.id = c.created_by
            where c.id = $1"#,
        id
    )
    .fetch_optional(tx.conn())
    .await?
    else {
        return Err(AppError::NotFound {
            what: "That bulk message".into(),
        });
    };
    let counts = sqlx::query!(
        r#"select status, count(*) as "count!" from sms_outbox where campaign_id = $1
            group by status"#,
        id
    )
    .fetch_all(tx.conn())
    .await?;
    let rows = sqlx::query!(
        r#"select cu.name as "name?", m.recipient, m.status, m.error
             from sms_outbox m
             left join customers cu on cu.tenant_id = m.tenant_id and cu.id = m.customer_id
            where m.campaign_id = $1
            order by m.status in ('failed', 'unknown') desc, cu.name, m.recipient
            limit $2"#,
        id,
        LISTED
    )
    .fetch_all(tx.conn())
    .await?;
    let zone = zone(&mut tx).await?;
    tx.commit().await?;
    Ok(Progress {
        id,
        created_at: c.created_at,
        created_by: c.by,
        label: c.segment_label,
        body: c.body,
        recipients: i64::from(c.recipients),
        left_out: c.left_out,
        estimated_cost_minor: c.estimated_cost_minor,
        counts: STATUSES
            .iter()
            .filter_map(|(s, _)| {
                counts
                    .iter()
                    .find(|r| r.status == *s)
                    .map(|r| (s.to_string(), r.count))
            })
            .collect(),
        rows: rows
            .into_iter()
            .map(|r| RecipientRow {
                name: r.name,
                recipient: r.recipient,
                status: r.status,
                error: r.error,
            })
            .collect(),
        utc_offset_seconds: offset_seconds(&zone, now),
    })
}

/// The messages a campaign would send, each written for its recipient, and the preview of them.
struct Written {
    preview: Preview,
    customers: Vec<Uuid>,
    phones: Vec<String>,
    bodies: Vec<String>,
}

async fn written(
    tx: &mut TenantTx,
    now: DateTime<Utc>,
    segment: Segment,
    text: &str,
) -> Result<Written, AppError> {
    let isp = sqlx::query!(
        r#"select t.name, t.sms_part_price_minor,
                  case when p.mpesa_kind = 'till' then p.mpesa_till else p.mpesa_shortcode end
                      as paybill
             from tenants t left join payment_settings p on p.tenant_id = t.id
            where t.id = $1"#,
        tx.tenant().0
    )
    .fetch_one(tx.conn())
    .await?;
    let name = match segment {
        Segment::Plan(plan) => Some(
            sqlx::query_scalar!("select name from plans where id = $1", plan)
                .fetch_optional(tx.conn())
                .await?
                .ok_or_else(|| AppError::invalid("plan", "is not one of your plans"))?,
        ),
        Segment::Router(router) => Some(
            sqlx::query_scalar!("select name from routers where id = $1", router)
                .fetch_optional(tx.conn())
                .await?
                .ok_or_else(|| AppError::invalid("router", "is not one of your routers"))?,
        ),
        _ => None,
    };
    let (plan, router) = match segment {
        Segment::Plan(plan) => (Some(plan), None),
        Segment::Router(router) => (None, Some(router)),
        _ => (None, None),
    };
    let until = match segment {
        Segment::Expiring(days) => Some(now + Duration::days(i64::from(days))),
        _ => None,
    };
    let people = sqlx::query!(
        r#"select c.id, c.name, c.account_number, c.phone, c.sms_consent
             from customers c
            where c.archived_at is null
              and exists (
                    select 1 from services s
                     where s.tenant_id = c.tenant_id and s.customer_id = c.id
                       and case $1::text
                             when 'active' then s.status = 'active'
                             when 'expiring' then s.status = 'active' and s.expires_at <= $2
                             when 'plan' then s.plan_id = $3
                             when 'router' then s.router_id = $4
                             when 'expired' then s.status in ('expired', 'suspended')
                             else false
                           end)
            order by c.name, c.id"#,
        segment.kind(),
        until,
        plan,
        router
    )
    .fetch_all(tx.conn())
    .await?;
    let mut out = Written {
        preview: Preview {
            key: Uuid::new_v4(),
            form: BulkForm::default(),
            label: segment.label(name.as_deref()),
            recipients: 0,
            left_out: 0,
            parts: 0,
            estimated_cost_minor: 0,
            sample: None,
        },
        customers: Vec::new(),
        phones: Vec::new(),
        bodies: Vec::new(),
    };
    let mut base = Values::new().set(Placeholder::Business, isp.name);
    if let Some(paybill) = isp.paybill {
        base = base.set(Placeholder::Paybill, paybill);
    }
    for p in people {
        if !p.sms_consent {
            out.preview.left_out += 1;
            continue;
        }
        let values = base
            .clone()
            .set(Placeholder::Name, p.name)
            .set(Placeholder::Account, p.account_number);
        let body = template::fit(render(text, &values));
        out.preview.parts += segments::count(&body).segments as i64;
        out.preview.recipients += 1;
        if out.preview.sample.is_none() {
            out.preview.sample = Some(body.clone());
        }
        out.customers.push(p.id);
        out.phones.push(p.phone);
        out.bodies.push(body);
    }
    out.preview.estimated_cost_minor = out.preview.parts * i64::from(isp.sms_part_price_minor);
    Ok(out)
}

async fn part_price(tx: &mut TenantTx) -> Result<i64, AppError> {
    let price = sqlx::query_scalar!(
        "select sms_part_price_minor from tenants where id = $1",
        tx.tenant().0
    )
    .fetch_one(tx.conn())
    .await?;
    Ok(i64::from(price))
}
