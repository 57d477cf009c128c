//! The per-router command queue: desired states become commands (collapsed while they wait),
//! commands are claimed for delivery, and what the router said is recorded. Shared by the
//! pushed APIs and the phone-home agent.
//!
//! Lifecycle: queued → delivered (handed to the router) → executed (the router ran it) →
//! confirmed (the user read back as desired). A router's refusal puts the command back with a
//! back-off, up to `MAX_ATTEMPTS`, then it is failed with the router's words and shown on the
//! router page. A router that cannot be reached costs no attempt: its commands wait.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::{
    db::{TenantId, TenantTx},
    error::AppError,
    network::command_spec::{CommandSpec, PlanLimits},
    state::AppState,
};

/// Refusals before a command is failed for good.
pub const MAX_ATTEMPTS: i32 = 5;

/// The most commands one delivery (or one agent script) carries.
pub const DELIVERY_BATCH: i64 = 200;

/// Waits after the n-th refusal: 5 s, 10 s, 20 s, 40 s…, at most 5 minutes.
pub fn backoff(attempts: i32) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 7) - 1).unwrap_or(0);
    Duration::seconds((5_i64 << exp).min(300))
}

/// Turns desired states newer than what was queued into commands, at most `limit` entries;
/// returns how many. A command still waiting for the same user name on the same router is
/// replaced (collapsed), so only the latest desired state is delivered.
pub async fn enqueue(
    state: &AppState,
    tenant: TenantId,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<usize, AppError> {
    let mut tx = state.db.tenant(tenant).await?;
    let rows = sqlx::query!(
        r#"with pending as (
               select e.router_id, e.username, e.service_id, e.kind, e.desired, e.plan_id,
                      e.reason, e.version, e.due_at, e.voucher_id
                 from network_entries e
                where e.tenant_id = $1 and e.version > e.queued_version
                order by e.changed_at
                limit $2
                for update skip locked)
           select pending.router_id, pending.username, pending.service_id, pending.kind,
                  pending.desired, pending.reason, pending.version, pending.due_at,
                  pending.voucher_id, r.mode,
                  p.download_kbps as "download_kbps?", p.upload_kbps as "upload_kbps?",
                  p.burst_download_kbps, p.burst_upload_kbps, p.shared_users, p.data_cap_bytes,
                  p.validity_unit as "validity_unit?", p.validity_count as "validity_count?"
             from pending
             join routers r on r.tenant_id = $1 and r.id = pending.router_id
             left join plans p on p.tenant_id = $1 and p.id = pending.plan_id"#,
        tenant.0,
        limit
    )
    .fetch_all(tx.conn())
    .await?;
    if rows.is_empty() {
        tx.commit().await?;
        return Ok(0);
    }
    let mut routers = Vec::new();
    let mut usernames = Vec::new();
    let mut versions = Vec::new();
    let (
        mut c_router,
        mut c_user,
        mut c_service,
        mut c_version,
        mut c_spec,
        mut c_reason,
        mut c_due,
    ) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for r in &rows {
        routers.push(r.router_id);
        usernames.push(r.username.clone());
        versions.push(r.version);
        // A RADIUS NAS asks at each log-in, so an enabled user needs no command; a cut-off is
        // a Disconnect-Request for the sessions it has open.
        if r.mode == "radius" && r.desired == "enabled" {
            continue;
        }
        let plan = r
            .download_kbps
            .zip(r.upload_kbps)
            .map(|(down, up)| PlanLimits {
                download_kbps: down,
                upload_kbps: up,
                burst: r.burst_download_kbps.zip(r.burst_upload_kbps),
                shared_users: r.shared_users,
                data_cap_bytes: r.data_cap_bytes,
            });
        let mut spec = CommandSpec::new(&r.kind, &r.desired, plan);
        if r.voucher_id.is_some() {
            let validity = r
                .validity_unit
                .as_deref()
                .zip(r.validity_count)
                .map(|(unit, count)| crate::network::command_spec::routeros_duration(unit, count))
                .unwrap_or_default();
            spec = spec.for_voucher(validity);
        }
        c_router.push(r.router_id);
        c_user.push(r.username.clone());
        c_service.push(r.service_id);
        c_version.push(r.version);
        c_spec.push(serde_json::to_value(&spec).map_err(|e| AppError::internal(&e))?);
        c_reason.push(r.reason.clone());
        c_due.push(r.due_at);
    }
    sqlx::query!(
        r#"insert into router_commands (tenant_id, router_id, username, service_id, version, spec,
                                        reason, status, next_attempt_at, due_at, created_at)
           select $1, t.router_id, t.username, t.service_id, t.version, t.spec, t.reason,
                  'queued', $9, t.due_at, $9
             from unnest($2::uuid[], $3::text[], $4::uuid[], $5::int8[], $6::jsonb[], $7::text[],
                         $8::timestamptz[])
                  as t(router_id, username, service_id, version, spec, reason, due_at)
           on conflict (tenant_id, router_id, username) where status = 'queued' do update
              set service_id = excluded.service_id, version = excluded.version,
                  spec = excluded.spec, reason = excluded.reason, attempts = 0,
                  next_attempt_at = excluded.next_attempt_at, last_error = null,
                  due_at = excluded.due_at"#,
        tenant.0,
        &c_router,
        &c_user,
        &c_service as &[Option<Uuid>],
        &c_version,
        &c_spec,
        &c_reason,
        &c_due,
        now
    )
    .execute(tx.conn())
    .await?;
    sqlx::query!(
        r#"update network_entries e set queued_version = t.version
             from unnest($2::uuid[], $3::text[], $4::int8[]) as t(router_id, username, version)
            where e.tenant_id = $1 and e.router_id = t.router_id and e.username = t.username"#,
        tenant.0,
        &routers,
        &usernames,
        &versions
    )
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(rows.len())
}

/// A command handed to a router, with what it needs to run.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub username: String,
    pub version: i64,
    pub spec: CommandSpec,
    /// The service's password, opened (enabling needs it).
    pub password: Option<String>,
}

/// Claims up to `limit` of the router's due commands for delivery (`delivered`, one more
/// attempt), oldest first, and opens the passwords they need. Commands another server is
/// delivering are skipped.
pub async fn claim(
    tx: &mut TenantTx,
    state: &AppState,
    router: Uuid,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Claimed>, AppError> {
    let tenant = tx.tenant();
    let rows = sqlx::query!(
        r#"update router_commands c
              set status = 'delivered', delivered_at = $3, attempts = attempts + 1
            where c.tenant_id = $1
              and c.id in (select id from router_commands
                            where tenant_id = $1 and router_id = $2 and status = 'queued'
                              and next_attempt_at <= $3
                            order by id
                            limit $4
                            for update skip locked)
        returning c.id, c.username, c.version, c.spec, c.service_id"#,
        tenant.0,
        router,
        now,
        limit
    )
    .fetch_all(tx.conn())
    .await?;
    let services: Vec<Uuid> = rows.iter().filter_map(|r| r.service_id).collect();
    let sealed: HashMap<Uuid, Vec<u8>> = sqlx::query!(
        "select id, password_enc from services where tenant_id = $1 and id = any($2)",
        tenant.0,
        &services
    )
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .map(|r| (r.id, r.password_enc))
    .collect();
    let mut claimed = Vec::with_capacity(rows.len());
    for r in rows {
        let spec: CommandSpec =
            serde_json::from_value(r.spec).map_err(|e| AppError::internal(&e))?;
        let password = r
            .service_id
            .and_then(|s| sealed.get(&s).map(|enc| (s, enc)))
            .and_then(|(s, enc)| {
                state
                    .secrets
                    .open(
                        enc,
                        &crate::customers::service::password_binding(tenant.0, s),
                    )
                    .ok()
                    .and_then(|p| String::from_utf8(p).ok())
            });
        let mut r_claimed = Claimed {
            id: r.id,
            username: r.username,
            version: r.version,
            spec,
            password,
        };
        if r_claimed.spec.voucher {
            // A voucher's code is its password.
            r_claimed.password = Some(r_claimed.username.clone());
        }
        if r_claimed.spec.desired != "enabled" {
            r_claimed.password = None;
        }
        claimed.push(r_claimed);
    }
    Ok(claimed)
}

/// Hands claimed commands straight back (they did not fit this delivery), costing no attempt.
pub async fn unclaim(tx: &mut TenantTx, ids: &[i64]) -> Result<(), AppError> {
    if ids.is_empty() {
        return Ok(());
    }
    let tenant = tx.tenant();
    sqlx::query!(
        r#"update router_commands
              set status = 'queued', attempts = attempts - 1, delivered_at = null
            where tenant_id = $1 and id = any($2) and status = 'delivered'"#,
        tenant.0,
        ids
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// What became of one delivered command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Ran, and the user reads back as desired.
    Confirmed,
    /// Confirmed, with what the router answered (a RADIUS NAS's ACK).
    ConfirmedWith(String),
    /// Ran, but the user does not read back as desired.
    Unconfirmed(String),
    /// The router refused it; its words.
    Refused(String),
    /// The connection went before the command's answer: not the command's fault.
    Lost(String),
}

/// Records outcomes of delivered commands, in the caller's transaction.
pub async fn record(
    tx: &mut TenantTx,
    now: DateTime<Utc>,
    retry_after_loss: Duration,
    outcomes: &[(i64, Outcome)],
) -> Result<(), AppError> {
    let tenant = tx.tenant();
    for (id, outcome) in outcomes {
        match outcome {
            Outcome::Confirmed | Outcome::ConfirmedWith(_) => {
                let answer = match outcome {
                    Outcome::ConfirmedWith(answer) => {
                        Some(answer.chars().take(500).collect::<String>())
                    }
                    _ => None,
                };
                let row = sqlx::query!(
                    r#"update router_commands
                          set status = 'confirmed', executed_at = coalesce(executed_at, $3),
                              confirmed_at = $3, last_error = null, result = $4
                        where tenant_id = $1 and id = $2 and status in ('delivered', 'executed')
                    returning router_id, username, version"#,
                    tenant.0,
                    id,
                    now,
                    answer
                )
                .fetch_optional(tx.conn())
                .await?;
                if let Some(row) = row {
                    sqlx::query!(
                        r#"update network_entries
                              set confirmed_version = greatest(confirmed_version, $4),
                                  confirmed_at = $5
                            where tenant_id = $1 and router_id = $2 and username = $3"#,
                        tenant.0,
                        row.router_id,
                        row.username,
                        row.version,
                        now
                    )
                    .execute(tx.conn())
                    .await?;
                }
            }
            Outcome::Unconfirmed(why) | Outcome::Refused(why) => {
                let executed = matches!(outcome, Outcome::Unconfirmed(_));
                retry_or_fail(tx, *id, now, why, executed, None).await?;
            }
            Outcome::Lost(why) => {
                retry_or_fail(tx, *id, now, why, false, Some(retry_after_loss)).await?;
            }
        }
    }
    Ok(())
}

/// Puts a command back in the queue after a back-off (or `wait`, costing no attempt), fails it
/// after `MAX_ATTEMPTS`, or supersedes it when a newer one is queued for its user name.
async fn retry_or_fail(
    tx: &mut TenantTx,
    id: i64,
    now: DateTime<Utc>,
    why: &str,
    executed: bool,
    wait: Option<Duration>,
) -> Result<(), AppError> {
    let tenant = tx.tenant();
    let why: String = why.chars().take(500).collect();
    let Some(row) = sqlx::query!(
        r#"select c.attempts,
                  exists (select 1 from router_commands q
                           where q.tenant_id = c.tenant_id and q.router_id = c.router_id
                             and q.username = c.username and q.status = 'queued') as "newer!"
             from router_commands c
            where c.tenant_id = $1 and c.id = $2 and c.status in ('delivered', 'executed')
            for update"#,
        tenant.0,
        id
    )
    .fetch_optional(tx.conn())
    .await?
    else {
        return Ok(());
    };
    let attempts = if wait.is_some() {
        (row.attempts - 1).max(0)
    } else {
        row.attempts
    };
    let (status, next) = if row.newer {
        ("superseded", now)
    } else if wait.is_none() && attempts >= MAX_ATTEMPTS {
        ("failed", now)
    } else {
        ("queued", now + wait.unwrap_or_else(|| backoff(attempts)))
    };
    sqlx::query!(
        r#"update router_commands
              set status = $3, attempts = $4, next_attempt_at = $5, last_error = $6,
                  executed_at = case when $7 then coalesce(executed_at, $8) else executed_at end,
                  failed_at = case when $3 = 'failed' then $8 end
            where tenant_id = $1 and id = $2"#,
        tenant.0,
        id,
        status,
        attempts,
        next,
        why,
        executed,
        now
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Commands handed out but never answered for (the server stopped mid-delivery, an agent's
/// script died) go back to the queue after `stale`.
pub async fn requeue_stale(
    tx: &mut TenantTx,
    router: Uuid,
    now: DateTime<Utc>,
    stale: Duration,
) -> Result<(), AppError> {
    let tenant = tx.tenant();
    let ids = sqlx::query_scalar!(
        r#"select id from router_commands
            where tenant_id = $1 and router_id = $2 and status in ('delivered', 'executed')
              and delivered_at <= $3"#,
        tenant.0,
        router,
        now - stale
    )
    .fetch_all(tx.conn())
    .await?;
    let outcomes: Vec<(i64, Outcome)> = ids
        .into_iter()
        .map(|id| (id, Outcome::Lost("no answer from the router".into())))
        .collect();
    record(tx, now, Duration::zero(), &outcomes).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::seconds(5));
        assert_eq!(backoff(2), Duration::seconds(10));
        assert_eq!(backoff(4), Duration::seconds(40));
        assert_eq!(backoff(20), Duration::seconds(300));
        assert_eq!(backoff(0), Duration::seconds(5));
    }
}
