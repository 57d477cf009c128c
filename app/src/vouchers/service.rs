//! Voucher steps: generating a batch (one transaction with its audit entry), listing, the
//! printable sheet, and the moments a voucher becomes used or ends. Reading is open to all staff
//! (support sells vouchers over the counter); generating needs `ManagePlans`.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::{
    audit::store::{Entry, record},
    auth::{identity::Staff, model::Permission, session::RequestMeta},
    db::TenantTx,
    error::AppError,
    plans::model::{ValidityUnit, rate_limit, validity_label},
    state::AppState,
    vouchers::model::{
        BatchRow, CODE_ALPHABET, VoucherInput, VoucherPage, VoucherRow, VoucherSheet, VoucherStatus,
    },
};

/// The newest vouchers a page lists.
const LIST_LIMIT: i64 = 200;

/// A fresh code, `X7K2-P9MQ`.
pub fn new_code() -> Result<String, AppError> {
    let raw = crate::secrets::random_text(CODE_ALPHABET, 8)?;
    Ok(format!("{}-{}", &raw[..4], &raw[4..]))
}

/// Makes a batch of `count` vouchers for a hotspot plan (and a router to put them on). Returns
/// the batch id.
pub async fn generate(
    state: &AppState,
    staff: &Staff,
    input: &VoucherInput,
    meta: &RequestMeta,
) -> Result<Uuid, AppError> {
    staff.require(Permission::ManagePlans)?;
    let tenant = staff.tenant;
    let now = state.clock.now();
    let mut tx = state.db.tenant(tenant).await?;
    let plan = sqlx::query!(
        "select kind, archived_at is not null as \"archived!\" from plans where tenant_id = $1 and id = $2",
        tenant.0,
        input.plan_id
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| AppError::invalid("plan_id", "choose one of your hotspot plans"))?;
    if plan.kind != "hotspot" {
        return Err(AppError::invalid(
            "plan_id",
            "vouchers are for hotspot plans",
        ));
    }
    if plan.archived {
        return Err(AppError::invalid(
            "plan_id",
            "this plan is archived; choose one on sale",
        ));
    }
    let batch = Uuid::new_v4();
    let expires_at = now + chrono::Duration::days(i64::from(input.valid_days));
    let inserted = sqlx::query!(
        r#"insert into voucher_batches (tenant_id, id, plan_id, router_id, count, expires_at,
                                        created_by, created_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8)"#,
        tenant.0,
        batch,
        input.plan_id,
        input.router_id,
        input.count,
        expires_at,
        staff.user_id,
        now
    )
    .execute(tx.conn())
    .await;
    match inserted {
        Ok(_) => {}
        Err(e)
            if crate::customers::service::constraint(&e)
                == Some("voucher_batches_tenant_id_router_id_fkey") =>
        {
            return Err(AppError::invalid("router_id", "choose one of your routers"));
        }
        Err(e) => return Err(e.into()),
    }
    insert_codes(
        &mut tx,
        &NewCodes {
            batch,
            plan: input.plan_id,
            router: input.router_id,
            expires_at,
            now,
            count: input.count,
        },
    )
    .await?;
    record(
        &mut tx,
        Entry {
            at: now,
            actor_user_id: Some(staff.user_id),
            actor_label: &staff.email,
            action: "vouchers.generated",
            entity: Some(("voucher_batch", batch.to_string())),
            before: None,
            after: Some(json!({
                "plan_id": input.plan_id, "router_id": input.router_id, "count": input.count,
                "expires_at": expires_at,
            })),
            meta,
        },
    )
    .await?;
    tx.commit().await?;
    state.network.nudge();
    Ok(batch)
}

/// Vouchers to add to a batch.
pub struct NewCodes {
    pub batch: Uuid,
    pub plan: Uuid,
    pub router: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub count: i32,
}

/// Adds `count` vouchers with fresh codes to a batch. Returns their ids and codes.
pub async fn insert_codes(
    tx: &mut TenantTx,
    new: &NewCodes,
) -> Result<Vec<(Uuid, String)>, AppError> {
    let tenant = tx.tenant();
    // Codes are random; one already taken (or equal to a service's user name) is drawn again.
    let mut made: Vec<(Uuid, String)> = Vec::new();
    for _ in 0..5 {
        let wanted = usize::try_from(new.count)
            .unwrap_or(0)
            .saturating_sub(made.len());
        if wanted == 0 {
            break;
        }
        let codes = (0..wanted)
            .map(|_| new_code())
            .collect::<Result<Vec<_>, _>>()?;
        let ids: Vec<Uuid> = codes.iter().map(|_| Uuid::new_v4()).collect();
        let added = sqlx::query!(
            r#"insert into vouchers (tenant_id, id, batch_id, code, plan_id, router_id, expires_at,
                                     created_at, updated_at)
               select $1, t.id, $2, t.code, $3, $4, $5, $6, $6
                 from unnest($7::uuid[], $8::text[]) as t(id, code)
                where not exists (select 1 from services s
                                   where s.tenant_id = $1 and lower(s.username) = lower(t.code))
               on conflict (tenant_id, code) do nothing
               returning id, code"#,
            tenant.0,
            new.batch,
            new.plan,
            new.router,
            new.expires_at,
            new.now,
            &ids,
            &codes
        )
        .fetch_all(tx.conn())
        .await?;
        made.extend(added.into_iter().map(|r| (r.id, r.code)));
    }
    if made.len() != usize::try_from(new.count).unwrap_or(0) {
        return Err(AppError::internal(&std::io::Error::other(
            "could not draw enough unused voucher codes",
        )));
    }
    Ok(made)
}

/// The vouchers page: recent batches with their counts, and the newest vouchers matching the
/// filters.
pub async fn page(
    state: &AppState,
    staff: &Staff,
    status: Option<VoucherStatus>,
    batch: Option<Uuid>,
) -> Result<VoucherPage, AppError> {
    let tenant = staff.tenant;
    let now = state.clock.now();
    let mut tx = state.db.tenant(tenant).await?;
    let batches = sqlx::query!(
        r#"select b.id, b.created_at, p.name as plan_name, r.name as "router_name?", b.count,
                  count(*) filter (where v.status = 'available') as "available!",
                  count(*) filter (where v.status = 'used') as "used!",
                  count(*) filter (where v.status = 'expired') as "expired!"
             from voucher_batches b
             join plans p on p.tenant_id = b.tenant_id and p.id = b.plan_id
             left join routers r on r.tenant_id = b.tenant_id and r.id = b.router_id
             left join vouchers v on v.tenant_id = b.tenant_id and v.batch_id = b.id
            where b.tenant_id = $1 and not b.sold
            group by b.id, b.created_at, p.name, r.name, b.count
            order by b.created_at desc
            limit 50"#,
        tenant.0
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(|b| BatchRow {
        id: b.id,
        created_at: b.created_at,
        plan_name: b.plan_name,
        router_name: b.router_name,
        count: b.count,
        available: b.available,
        used: b.used,
        expired: b.expired,
    })
    .collect();
    let status_text = status.map(VoucherStatus::as_str);
    let rows = sqlx::query!(
        r#"select v.id, v.code, p.name as plan_name, r.name as "router_name?", v.status,
                  v.expires_at, v.used_at, v.batch_id, count(*) over () as "total!"
             from vouchers v
             join plans p on p.tenant_id = v.tenant_id and p.id = v.plan_id
             left join routers r on r.tenant_id = v.tenant_id and r.id = v.router_id
            where v.tenant_id = $1 and ($2::text is null or v.status = $2)
              and ($3::uuid is null or v.batch_id = $3)
            order by v.created_at desc, v.code
            limit $4"#,
        tenant.0,
        status_text,
        batch,
        LIST_LIMIT
    )
    .fetch_all(tx.conn())
    .await?;
    let total = rows.first().map_or(0, |r| r.total);
    let vouchers = rows
        .into_iter()
        .map(|r| VoucherRow {
            id: r.id,
            code: r.code,
            plan_name: r.plan_name,
            router_name: r.router_name,
            status: VoucherStatus::parse(&r.status).unwrap_or(VoucherStatus::Expired),
            expires_at: r.expires_at,
            used_at: r.used_at,
            batch_id: r.batch_id,
        })
        .collect();
    let plans = sqlx::query!(
        "select id, name from plans where tenant_id = $1 and kind = 'hotspot' and archived_at is null order by price_minor, name",
        tenant.0
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(|p| (p.id, p.name))
    .collect();
    let routers = crate::network::routers::choices(&mut tx).await?;
    let zone = crate::customers::service::zone(&mut tx).await?;
    tx.commit().await?;
    Ok(VoucherPage {
        batches,
        vouchers,
        total,
        plans,
        routers,
        utc_offset_seconds: crate::customers::service::offset_seconds(&zone, now),
        can_manage: staff.role.can(Permission::ManagePlans),
    })
}

/// The printable sheet of a batch's vouchers still available.
pub async fn sheet(state: &AppState, staff: &Staff, batch: Uuid) -> Result<VoucherSheet, AppError> {
    let tenant = staff.tenant;
    let mut tx = state.db.tenant(tenant).await?;
    let head = sqlx::query!(
        r#"select t.name as business, p.name as plan_name, p.price_minor, p.validity_unit,
                  p.validity_count, p.download_kbps, p.upload_kbps, p.burst_download_kbps,
                  p.burst_upload_kbps, b.expires_at
             from voucher_batches b
             join plans p on p.tenant_id = b.tenant_id and p.id = b.plan_id
             join tenants t on t.id = b.tenant_id
            where b.tenant_id = $1 and b.id = $2"#,
        tenant.0,
        batch
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| AppError::NotFound {
        what: "That voucher batch".into(),
    })?;
    let codes = sqlx::query_scalar!(
        "select code from vouchers where tenant_id = $1 and batch_id = $2 and status = 'available' order by code",
        tenant.0,
        batch
    )
    .fetch_all(tx.conn())
    .await?;
    let zone = crate::customers::service::zone(&mut tx).await?;
    tx.commit().await?;
    let unit = ValidityUnit::parse(&head.validity_unit)?;
    Ok(VoucherSheet {
        business: head.business,
        plan_name: head.plan_name,
        price_minor: head.price_minor,
        validity: validity_label(head.validity_count, unit),
        speed: rate_limit(
            head.download_kbps,
            head.upload_kbps,
            head.burst_download_kbps.zip(head.burst_upload_kbps),
        ),
        expires_on: head
            .expires_at
            .with_timezone(&zone.tz)
            .format("%-d %b %Y")
            .to_string(),
        codes,
    })
}

/// Marks vouchers used the first time they are seen (a RADIUS session, a router's active list);
/// their plan's validity runs from now.
pub async fn mark_used(
    tx: &mut TenantTx,
    codes: &[String],
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    if codes.is_empty() {
        return Ok(0);
    }
    let tenant = tx.tenant();
    Ok(sqlx::query!(
        r#"update vouchers v
              set status = 'used', used_at = $3::timestamptz, updated_at = $3::timestamptz,
                  ends_at = $3::timestamptz + case p.validity_unit
                                     when 'minutes' then make_interval(mins => p.validity_count)
                                     when 'hours' then make_interval(hours => p.validity_count)
                                     when 'days' then make_interval(days => p.validity_count)
                                     when 'weeks' then make_interval(weeks => p.validity_count)
                                     else make_interval(months => p.validity_count) end
             from plans p
            where v.tenant_id = $1 and v.code = any($2) and v.status = 'available'
              and p.tenant_id = v.tenant_id and p.id = v.plan_id"#,
        tenant.0,
        codes,
        now
    )
    .execute(tx.conn())
    .await?
    .rows_affected())
}

/// Ends vouchers whose time is up: unused past their shelf life, used past their plan's
/// validity. Their router entries become absent in the same transaction (the vouchers trigger).
pub async fn expire_due(tx: &mut TenantTx, now: DateTime<Utc>) -> Result<u64, AppError> {
    let tenant = tx.tenant();
    Ok(sqlx::query!(
        r#"update vouchers set status = 'expired', ended_at = $2, updated_at = $2
            where tenant_id = $1
              and ((status = 'available' and expires_at <= $2)
                or (status = 'used' and ends_at <= $2))"#,
        tenant.0,
        now
    )
    .execute(tx.conn())
    .await?
    .rows_affected())
}
