//! Router steps: each change one transaction with its audit entry. Reading is open to all staff
//! (support sees whether a customer's router is online); changing needs `ManageRouters`.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::{
    audit::store::{Entry, record},
    auth::{identity::Staff, model::Permission, session::RequestMeta},
    db::TenantTx,
    error::AppError,
    network::model::{
        CommandRow, LatencyFigures, RouterDetail, RouterInput, RouterMode, RouterRow, is_online,
    },
    state::AppState,
};

/// Where a router's sealed secrets are bound (AES-GCM associated data).
pub fn secret_binding(tenant: Uuid, router: Uuid, what: &str) -> Vec<u8> {
    format!("router-{what}:{tenant}:{router}").into_bytes()
}

/// A new agent or RADIUS secret: 32 letters and digits (190 bits), safe to paste into a
/// RouterOS script, a form body or a RADIUS client without quoting.
pub fn generate_secret() -> Result<String, AppError> {
    crate::secrets::random_text(
        b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789",
        32,
    )
}

fn sealing(e: crate::secrets::SecretError) -> AppError {
    AppError::internal(&e)
}

pub async fn list(tx: &mut TenantTx, now: DateTime<Utc>) -> Result<Vec<RouterRow>, AppError> {
    let tenant = tx.tenant();
    let rows = sqlx::query!(
        r#"select r.id, r.name, r.site, r.mode, r.host, r.port, r.tls, r.api_username,
                  r.interval_secs, r.last_seen_at, r.routeros_version, r.last_error,
                  (select count(*) from services s
                    where s.tenant_id = r.tenant_id and s.router_id = r.id) as "services!",
                  (select count(*) from router_commands c
                    where c.tenant_id = r.tenant_id and c.router_id = r.id
                      and c.status in ('queued', 'delivered', 'executed')) as "waiting!",
                  (select count(*) from router_commands c
                    where c.tenant_id = r.tenant_id and c.router_id = r.id
                      and c.status = 'failed') as "failed!"
             from routers r where r.tenant_id = $1 order by r.name"#,
        tenant.0
    )
    .fetch_all(tx.conn())
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(RouterRow {
                id: r.id,
                name: r.name,
                site: r.site,
                mode: RouterMode::parse(&r.mode)?,
                host: r.host,
                port: r.port.and_then(|p| u16::try_from(p).ok()),
                tls: r.tls,
                api_username: r.api_username,
                interval_secs: r.interval_secs,
                online: is_online(r.last_seen_at, r.interval_secs, now),
                last_seen_at: r.last_seen_at,
                routeros_version: r.routeros_version,
                last_error: r.last_error,
                services: r.services,
                waiting: r.waiting,
                failed: r.failed,
            })
        })
        .collect()
}

/// Routers to put a service on: id and name.
pub async fn choices(tx: &mut TenantTx) -> Result<Vec<(Uuid, String)>, AppError> {
    let tenant = tx.tenant();
    Ok(sqlx::query!(
        "select id, name from routers where tenant_id = $1 order by name",
        tenant.0
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(|r| (r.id, r.name))
    .collect())
}

async fn find(tx: &mut TenantTx, id: Uuid, now: DateTime<Utc>) -> Result<RouterRow, AppError> {
    list(tx, now)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| AppError::NotFound {
            what: "That router".into(),
        })
}

/// The router page: the router, its latest commands and its latency figures.
pub async fn detail(state: &AppState, staff: &Staff, id: Uuid) -> Result<RouterDetail, AppError> {
    let now = state.clock.now();
    let mut tx = state.db.tenant(staff.tenant).await?;
    let router = find(&mut tx, id, now).await?;
    let commands = sqlx::query!(
        r#"select id, username, spec->>'desired' as "desired!", reason, status, attempts,
                  last_error, created_at, next_attempt_at, confirmed_at,
                  (extract(epoch from confirmed_at - due_at) * 1000)::bigint as latency_ms
             from router_commands where tenant_id = $1 and router_id = $2
            order by id desc limit 100"#,
        staff.tenant.0,
        id
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(|r| CommandRow {
        id: r.id,
        username: r.username,
        desired: r.desired,
        reason: r.reason,
        status: r.status,
        attempts: r.attempts,
        last_error: r.last_error,
        created_at: r.created_at,
        next_attempt_at: r.next_attempt_at,
        confirmed_at: r.confirmed_at,
        latency_ms: r.latency_ms,
    })
    .collect();
    let zone = crate::customers::service::zone(&mut tx).await?;
    let cut_off = latency(&mut tx, id, &["cut_off", "suspended"], now).await?;
    let reconnect = latency(&mut tx, id, &["reconnected"], now).await?;
    let install_script = match router.mode {
        _ if !staff.role.can(Permission::ManageRouters) => None,
        RouterMode::Agent => {
            let secret = open_secret(&mut tx, state, id).await?;
            Some(crate::network::agent::install_script(
                &public_url(state),
                id,
                &secret,
                router.interval_secs,
            ))
        }
        RouterMode::Radius => {
            let secret = open_secret(&mut tx, state, id).await?;
            Some(crate::network::radius_server::router_script(
                &public_host(state),
                &state.radius,
                &secret,
                router.port.unwrap_or(3799),
            ))
        }
        RouterMode::Rest | RouterMode::Api => None,
    };
    let hotspot_setup = staff
        .role
        .can(Permission::ManageRouters)
        .then(|| crate::hotspot::model::walled_garden_lines(&public_url(state)));
    tx.commit().await?;
    Ok(RouterDetail {
        router,
        utc_offset_seconds: crate::customers::service::offset_seconds(&zone, now),
        can_manage: staff.role.can(Permission::ManageRouters),
        commands,
        cut_off,
        reconnect,
        install_script,
        hotspot_setup,
    })
}

/// Where routers reach this server.
pub fn public_url(state: &AppState) -> String {
    state
        .providers
        .public_url
        .clone()
        .unwrap_or_else(|| state.mailer.public_url.clone())
}

/// The host name in the public URL (where routers send RADIUS packets).
fn public_host(state: &AppState) -> String {
    let url = public_url(state);
    let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6).to_string();
    }
    authority.split(':').next().unwrap_or(authority).to_string()
}

/// Due-to-confirmed latencies over the last 7 days for commands with one of `reasons`.
async fn latency(
    tx: &mut TenantTx,
    router: Uuid,
    reasons: &[&str],
    now: DateTime<Utc>,
) -> Result<LatencyFigures, AppError> {
    let tenant = tx.tenant();
    let reasons: Vec<String> = reasons.iter().map(|r| r.to_string()).collect();
    let row = sqlx::query!(
        r#"with l as (
               select extract(epoch from confirmed_at - due_at) * 1000 as ms
                 from router_commands
                where tenant_id = $1 and router_id = $2 and status = 'confirmed'
                  and reason = any($3) and confirmed_at > $4::timestamptz - interval '7 days')
           select count(*) as "count!",
                  (percentile_disc(0.5) within group (order by ms))::bigint as p50,
                  (percentile_disc(0.95) within group (order by ms))::bigint as p95,
                  max(ms)::bigint as max
             from l"#,
        tenant.0,
        router,
        &reasons,
        now
    )
    .fetch_one(tx.conn())
    .await?;
    Ok(LatencyFigures {
        count: row.count,
        p50_ms: row.p50,
        p95_ms: row.p95,
        max_ms: row.max,
    })
}

/// The router's agent or RADIUS secret, opened.
pub async fn open_secret(
    tx: &mut TenantTx,
    state: &AppState,
    id: Uuid,
) -> Result<String, AppError> {
    let tenant = tx.tenant();
    let sealed = sqlx::query_scalar!(
        "select secret_enc from routers where tenant_id = $1 and id = $2",
        tenant.0,
        id
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| AppError::NotFound {
        what: "That router".into(),
    })?;
    let plain = state
        .secrets
        .open(&sealed, &secret_binding(tenant.0, id, "secret"))
        .map_err(sealing)?;
    String::from_utf8(plain).map_err(|e| AppError::internal(&e))
}

fn name_taken(err: &sqlx::Error) -> bool {
    crate::customers::service::constraint(err) == Some("routers_tenant_name_key")
}

fn audit_view(r: &RouterRow) -> serde_json::Value {
    // Never the secrets: the audit log is read by people who may not see them.
    json!({
        "name": r.name, "site": r.site, "mode": r.mode.as_str(), "host": r.host, "port": r.port,
        "tls": r.tls, "api_username": r.api_username, "interval_secs": r.interval_secs,
    })
}

async fn audit(
    tx: &mut TenantTx,
    state: &AppState,
    staff: &Staff,
    action: &str,
    id: Uuid,
    (before, after): (Option<&RouterRow>, Option<&RouterRow>),
    meta: &RequestMeta,
) -> Result<(), AppError> {
    record(
        tx,
        Entry {
            at: state.clock.now(),
            actor_user_id: Some(staff.user_id),
            actor_label: &staff.email,
            action,
            entity: Some(("router", id.to_string())),
            before: before.map(audit_view),
            after: after.map(audit_view),
            meta,
        },
    )
    .await
}

pub async fn create(
    state: &AppState,
    staff: &Staff,
    input: &RouterInput,
    meta: &RequestMeta,
) -> Result<RouterRow, AppError> {
    staff.require(Permission::ManageRouters)?;
    let tenant = staff.tenant;
    let id = Uuid::new_v4();
    let now = state.clock.now();
    let secret = generate_secret()?;
    let secret_enc = state
        .secrets
        .seal(secret.as_bytes(), &secret_binding(tenant.0, id, "secret"))
        .map_err(sealing)?;
    let password_enc = input
        .api_password
        .as_ref()
        .map(|p| {
            state
                .secrets
                .seal(p.as_bytes(), &secret_binding(tenant.0, id, "api-password"))
        })
        .transpose()
        .map_err(sealing)?;
    let mut tx = state.db.tenant(tenant).await?;
    let inserted = sqlx::query!(
        r#"insert into routers (tenant_id, id, name, site, mode, host, port, tls, api_username,
                                api_password_enc, secret_enc, interval_secs, created_at, updated_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)"#,
        tenant.0,
        id,
        input.name,
        input.site,
        input.mode.as_str(),
        input.host,
        input.port.map(i32::from),
        input.tls,
        input.api_username,
        password_enc,
        secret_enc,
        input.interval_secs,
        now
    )
    .execute(tx.conn())
    .await;
    match inserted {
        Ok(_) => {}
        Err(e) if name_taken(&e) => {
            return Err(AppError::invalid("name", "another router has this name"));
        }
        Err(e) => return Err(e.into()),
    }
    let row = find(&mut tx, id, now).await?;
    audit(
        &mut tx,
        state,
        staff,
        "router.created",
        id,
        (None, Some(&row)),
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn update(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    input: &RouterInput,
    meta: &RequestMeta,
) -> Result<RouterRow, AppError> {
    staff.require(Permission::ManageRouters)?;
    let tenant = staff.tenant;
    let now = state.clock.now();
    let mut tx = state.db.tenant(tenant).await?;
    let before = find(&mut tx, id, now).await?;
    let password_enc = input
        .api_password
        .as_ref()
        .map(|p| {
            state
                .secrets
                .seal(p.as_bytes(), &secret_binding(tenant.0, id, "api-password"))
        })
        .transpose()
        .map_err(sealing)?;
    let updated = sqlx::query!(
        r#"update routers
              set name = $3, site = $4, mode = $5, host = $6, port = $7, tls = $8,
                  api_username = $9,
                  api_password_enc = case when $5 in ('rest', 'api')
                                          then coalesce($10, api_password_enc) end,
                  interval_secs = $11, updated_at = $12
            where tenant_id = $1 and id = $2"#,
        tenant.0,
        id,
        input.name,
        input.site,
        input.mode.as_str(),
        input.host,
        input.port.map(i32::from),
        input.tls,
        input.api_username,
        password_enc,
        input.interval_secs,
        now
    )
    .execute(tx.conn())
    .await;
    match updated {
        Ok(_) => {}
        Err(e) if name_taken(&e) => {
            return Err(AppError::invalid("name", "another router has this name"));
        }
        Err(e)
            if crate::customers::service::constraint(&e)
                .is_some_and(|c| c.starts_with("routers_check")) =>
        {
            return Err(AppError::invalid(
                "api_password",
                "enter the password of the RouterOS user the server signs in as",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let after = find(&mut tx, id, now).await?;
    audit(
        &mut tx,
        state,
        staff,
        "router.updated",
        id,
        (Some(&before), Some(&after)),
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// A new agent/RADIUS secret: the old install script stops working at once.
pub async fn rotate_secret(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    staff.require(Permission::ManageRouters)?;
    let tenant = staff.tenant;
    let now = state.clock.now();
    let secret = generate_secret()?;
    let sealed = state
        .secrets
        .seal(secret.as_bytes(), &secret_binding(tenant.0, id, "secret"))
        .map_err(sealing)?;
    let mut tx = state.db.tenant(tenant).await?;
    let row = find(&mut tx, id, now).await?;
    sqlx::query!(
        "update routers set secret_enc = $3, agent_nonce_hash = null, updated_at = $4
          where tenant_id = $1 and id = $2",
        tenant.0,
        id,
        sealed,
        now
    )
    .execute(tx.conn())
    .await?;
    audit(
        &mut tx,
        state,
        staff,
        "router.secret_rotated",
        id,
        (Some(&row), Some(&row)),
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes a router with no services (move them first; their users would be left on it).
pub async fn delete(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    staff.require(Permission::ManageRouters)?;
    let tenant = staff.tenant;
    let mut tx = state.db.tenant(tenant).await?;
    let before = find(&mut tx, id, state.clock.now()).await?;
    if before.services > 0 {
        return Err(AppError::invalid(
            "router",
            format!(
                "{} service(s) are on this router: move them to another router first",
                before.services
            ),
        ));
    }
    sqlx::query!(
        "delete from routers where tenant_id = $1 and id = $2",
        tenant.0,
        id
    )
    .execute(tx.conn())
    .await?;
    audit(
        &mut tx,
        state,
        staff,
        "router.deleted",
        id,
        (Some(&before), None),
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Puts a router's failed commands back in the queue (a person fixed what made them fail).
pub async fn retry_failed(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    meta: &RequestMeta,
) -> Result<u64, AppError> {
    staff.require(Permission::ManageRouters)?;
    let tenant = staff.tenant;
    let now = state.clock.now();
    let mut tx = state.db.tenant(tenant).await?;
    let row = find(&mut tx, id, now).await?;
    // The newest failed command per user name goes back, unless a newer one is queued already.
    let retried = sqlx::query!(
        r#"update router_commands c
              set status = 'queued', attempts = 0, next_attempt_at = $3, failed_at = null
            where c.tenant_id = $1 and c.router_id = $2 and c.status = 'failed'
              and c.id = (select max(l.id) from router_commands l
                           where l.tenant_id = c.tenant_id and l.router_id = c.router_id
                             and l.username = c.username)"#,
        tenant.0,
        id,
        now
    )
    .execute(tx.conn())
    .await?
    .rows_affected();
    audit(
        &mut tx,
        state,
        staff,
        "router.commands_retried",
        id,
        (Some(&row), Some(&row)),
        meta,
    )
    .await?;
    tx.commit().await?;
    state.network.nudge();
    Ok(retried)
}

/// Sends the router every user's desired state again (a router replaced, reset or edited by
/// hand): each entry is queued anew, and delivery makes the router match whatever it holds.
pub async fn resync(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    meta: &RequestMeta,
) -> Result<u64, AppError> {
    staff.require(Permission::ManageRouters)?;
    let tenant = staff.tenant;
    let mut tx = state.db.tenant(tenant).await?;
    let row = find(&mut tx, id, state.clock.now()).await?;
    let queued = requeue_all(&mut tx, id).await?;
    audit(
        &mut tx,
        state,
        staff,
        "router.resynced",
        id,
        (Some(&row), Some(&row)),
        meta,
    )
    .await?;
    tx.commit().await?;
    state.network.nudge();
    Ok(queued)
}

/// Marks every entry of `router` as not yet queued, so the reconciler queues them all.
pub async fn requeue_all(tx: &mut TenantTx, router: Uuid) -> Result<u64, AppError> {
    let tenant = tx.tenant();
    Ok(sqlx::query!(
        "update network_entries set queued_version = 0 where tenant_id = $1 and router_id = $2",
        tenant.0,
        router
    )
    .execute(tx.conn())
    .await?
    .rows_affected())
}
