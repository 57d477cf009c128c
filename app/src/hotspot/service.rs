//! The hotspot page's steps: the packages on sale, buying one by M-Pesa, following the
//! purchase to its code, and redeeming a printed voucher. Nobody signs in: a purchase is
//! followed by its request id (random, known only to the page that made it), and a voucher code
//! is itself the secret.
//!
//! Every device behind a hotspot router reaches us from the router's one public address, so
//! the per-address limits are generous and count afresh each hour; the real limits are per
//! phone (one prompt waiting at a time, a few an hour).

use chrono::Duration;
use uuid::Uuid;

use crate::{
    auth::{identity::Staff, session::RequestMeta, throttle},
    db::{TenantId, TenantTx},
    error::AppError,
    hotspot::model::{HotspotPlan, HotspotView, Purchase, Redeemed, router_login_html},
    payments::{
        requests,
        stk::{self, SaleIn},
    },
    phone::normalise_phone,
    plans::model::{ValidityUnit, rate_limit, validity_label},
    portal::model::bytes_label,
    state::AppState,
    vouchers::model::normalise_code,
};

/// Prompts one phone may be sent from hotspot pages in an hour.
pub const PROMPTS_PER_PHONE_HOUR: i64 = 5;
/// Prompts from one address (a whole hotspot's visitors) in an hour before it is slowed down.
pub const PROMPTS_PER_ADDRESS_HOUR: i32 = 300;
/// Wrong voucher codes from one address in an hour before it is slowed down.
pub const WRONG_CODES_PER_ADDRESS_HOUR: i32 = 100;

/// The ISP behind a hotspot address (the same slug as its portal).
async fn tenant(state: &AppState, slug: &str) -> Result<TenantId, AppError> {
    crate::portal::service::tenant(state, slug)
        .await
        .map_err(|e| match e {
            AppError::NotFound { .. } => AppError::NotFound {
                what: "That hotspot".into(),
            },
            other => other,
        })
}

/// The hotspot page: the ISP and its packages on sale, cheapest first.
pub async fn page(state: &AppState, slug: &str) -> Result<HotspotView, AppError> {
    let tenant = tenant(state, slug).await?;
    let mut tx = state.db.tenant(tenant).await?;
    let business = sqlx::query_scalar!("select name from tenants where id = $1", tenant.0)
        .fetch_one(tx.conn())
        .await?;
    let plans = sqlx::query!(
        "select id, name, price_minor, validity_unit, validity_count, download_kbps, upload_kbps,
                burst_download_kbps, burst_upload_kbps, data_cap_bytes, shared_users
           from plans
          where tenant_id = $1 and kind = 'hotspot' and archived_at is null and price_minor > 0
          order by price_minor, name",
        tenant.0
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(|p| HotspotPlan {
        id: p.id,
        name: p.name,
        price_minor: p.price_minor,
        validity: ValidityUnit::parse(&p.validity_unit)
            .map(|unit| validity_label(p.validity_count, unit))
            .unwrap_or_default(),
        speed: rate_limit(
            p.download_kbps,
            p.upload_kbps,
            p.burst_download_kbps.zip(p.burst_upload_kbps),
        ),
        data_cap: p.data_cap_bytes.map(bytes_label),
        shared_users: p.shared_users,
    })
    .collect();
    let mpesa = mpesa_ready(&mut tx).await?;
    let has_logo = crate::portal::service::has_logo(&mut tx).await?;
    tx.commit().await?;
    Ok(HotspotView {
        business,
        slug: slug.trim().to_string(),
        has_logo,
        plans,
        mpesa,
    })
}

/// Whether the ISP has set M-Pesa up far enough to send prompts.
async fn mpesa_ready(tx: &mut TenantTx) -> Result<bool, AppError> {
    let tenant = tx.tenant();
    Ok(sqlx::query_scalar!(
        r#"select (mpesa_consumer_key_enc is not null and mpesa_passkey_enc is not null
                   and mpesa_shortcode is not null) as "ready!"
             from payment_settings where tenant_id = $1"#,
        tenant.0
    )
    .fetch_optional(tx.conn())
    .await?
    .unwrap_or(false))
}

/// "Buy": an M-Pesa prompt for the package's price to `phone`. Returns the purchase to follow.
#[tracing::instrument(skip(state, meta))]
pub async fn buy(
    state: &AppState,
    slug: &str,
    plan: Uuid,
    phone: &str,
    router: Option<Uuid>,
    meta: &RequestMeta,
) -> Result<Purchase, AppError> {
    let tenant = tenant(state, slug).await?;
    let phone = normalise_phone("phone", phone)?;
    let now = state.clock.now();
    let address = throttle::hourly_ip_keys(meta.ip, "hotspot-buy", PROMPTS_PER_ADDRESS_HOUR, now);
    throttle::check(&state.db, &address, now).await?;
    let mut tx = state.db.tenant(tenant).await?;
    let recent = sqlx::query!(
        r#"select count(*) as "n!",
                  count(*) filter (where status in ('sending', 'pending')) as "open!"
             from payment_requests
            where tenant_id = $1 and source = 'hotspot' and payer = $2 and created_at > $3"#,
        tenant.0,
        phone,
        now - Duration::hours(1)
    )
    .fetch_one(tx.conn())
    .await?;
    tx.commit().await?;
    // A prompt already waiting is found again below rather than refused.
    if recent.open == 0 && recent.n >= PROMPTS_PER_PHONE_HOUR {
        return Err(AppError::invalid(
            "phone",
            "has had too many prompts this hour: try again later, or use a voucher",
        ));
    }
    throttle::record_failure(&state.db, &address, now).await?;
    let id = stk::push_sale(
        state,
        tenant,
        &SaleIn {
            plan,
            router,
            phone,
        },
    )
    .await?;
    status_in(state, tenant, id).await
}

/// Where a purchase from this hotspot stands.
pub async fn status(state: &AppState, slug: &str, request: Uuid) -> Result<Purchase, AppError> {
    let tenant = tenant(state, slug).await?;
    status_in(state, tenant, request).await
}

async fn status_in(
    state: &AppState,
    tenant: TenantId,
    request: Uuid,
) -> Result<Purchase, AppError> {
    let mut tx = state.db.tenant(tenant).await?;
    let voucher = sqlx::query!(
        "select voucher_id from payment_requests
          where tenant_id = $1 and id = $2 and source = 'hotspot'",
        tenant.0,
        request
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| AppError::NotFound {
        what: "That purchase".into(),
    })?
    .voucher_id;
    let view = requests::view(&mut tx, request, None).await?;
    let (code, ready) = match voucher {
        Some(voucher) => {
            let (code, ready) = voucher_state(&mut tx, voucher).await?;
            (Some(code), ready)
        }
        None => (None, false),
    };
    tx.commit().await?;
    Ok(Purchase {
        request: view,
        code,
        ready,
    })
}

/// A voucher's code, and whether logging in with it works now: it is on its router (the
/// router confirmed the command), or its router asks RADIUS, or it has no router (RADIUS
/// answers for it anywhere).
async fn voucher_state(tx: &mut TenantTx, voucher: Uuid) -> Result<(String, bool), AppError> {
    let tenant = tx.tenant();
    let row = sqlx::query!(
        r#"select v.code, r.mode as "mode?",
                  e.confirmed_version >= e.version as confirmed
             from vouchers v
             left join routers r on r.tenant_id = v.tenant_id and r.id = v.router_id
             left join network_entries e on e.tenant_id = v.tenant_id
                                        and e.router_id = v.router_id and e.username = v.code
            where v.tenant_id = $1 and v.id = $2"#,
        tenant.0,
        voucher
    )
    .fetch_one(tx.conn())
    .await?;
    let ready = match row.mode.as_deref() {
        None | Some("radius") => true,
        Some(_) => row.confirmed.unwrap_or(false),
    };
    Ok((row.code, ready))
}

/// "Use voucher": a code that can still be used here. A wrong code counts against the address.
#[tracing::instrument(skip(state, code, meta))]
pub async fn redeem(
    state: &AppState,
    slug: &str,
    code: &str,
    meta: &RequestMeta,
) -> Result<Redeemed, AppError> {
    let tenant = tenant(state, slug).await?;
    let now = state.clock.now();
    let address = throttle::hourly_ip_keys(
        meta.ip,
        "hotspot-voucher",
        WRONG_CODES_PER_ADDRESS_HOUR,
        now,
    );
    throttle::check(&state.db, &address, now).await?;
    let Some(code) = normalise_code(code) else {
        return Err(AppError::invalid(
            "code",
            "is the 8 letters and digits on your voucher, like X7K2-P9MQ",
        ));
    };
    let mut tx = state.db.tenant(tenant).await?;
    let found = sqlx::query!(
        r#"select v.id, p.name as plan,
                  (v.status = 'available' and v.expires_at > $3)
                  or (v.status = 'used' and v.ends_at > $3) as "usable!"
             from vouchers v join plans p on p.tenant_id = v.tenant_id and p.id = v.plan_id
            where v.tenant_id = $1 and v.code = $2"#,
        tenant.0,
        code,
        now
    )
    .fetch_optional(tx.conn())
    .await?;
    let Some(found) = found else {
        tx.commit().await?;
        throttle::record_failure(&state.db, &address, now).await?;
        return Err(AppError::invalid(
            "code",
            "is not a voucher of this hotspot",
        ));
    };
    if !found.usable {
        tx.commit().await?;
        return Err(AppError::invalid("code", "has expired or been used up"));
    }
    let (code, ready) = voucher_state(&mut tx, found.id).await?;
    tx.commit().await?;
    Ok(Redeemed {
        code,
        plan: found.plan,
        ready,
    })
}

/// The `login.html` for a router's hotspot directory (staff who manage routers).
pub async fn login_html(state: &AppState, staff: &Staff, router: Uuid) -> Result<String, AppError> {
    staff.require(crate::auth::model::Permission::ManageRouters)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let row = sqlx::query!(
        "select t.slug, t.name from routers r join tenants t on t.id = r.tenant_id
          where r.tenant_id = $1 and r.id = $2",
        staff.tenant.0,
        router
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| AppError::NotFound {
        what: "That router".into(),
    })?;
    tx.commit().await?;
    Ok(router_login_html(
        &crate::network::routers::public_url(state),
        &row.slug,
        router,
        &row.name,
    ))
}
