//! SQL for the workspace area.

use std::time::Instant;

use uuid::Uuid;

use crate::{
    auth::{identity::Staff, model::Role},
    db::TenantTx,
    workspace::model::{DatabaseCheck, Workspace},
};

pub async fn workspace(tx: &mut TenantTx, staff: &Staff) -> Result<Workspace, sqlx::Error> {
    let tenant = tx.tenant();
    let row = sqlx::query!(
        r#"select t.name as isp_name,
                  (select count(*) from users u
                    where u.tenant_id = t.id and u.disabled_at is null) as "staff_count!",
                  (select (extract(epoch from l.updated_at) * 1000)::bigint from tenant_logos l
                    where l.tenant_id = t.id) as logo_version
           from tenants t
           where t.id = $1"#,
        tenant.0
    )
    .fetch_one(tx.conn())
    .await?;
    Ok(Workspace {
        isp_name: row.isp_name,
        user_name: staff.name.clone(),
        role: staff.role,
        staff_count: row.staff_count,
        logo_version: row.logo_version,
    })
}

pub async fn check_database(tx: &mut TenantTx) -> Result<DatabaseCheck, sqlx::Error> {
    let started = Instant::now();
    let row = sqlx::query!(
        r#"select now() as "checked_at!",
                  'PostgreSQL ' || current_setting('server_version') as "server_version!""#
    )
    .fetch_one(tx.conn())
    .await?;
    let round_trip_micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    Ok(DatabaseCheck {
        checked_at: row.checked_at,
        server_version: row.server_version,
        round_trip_micros,
    })
}

/// Creates the tenant row for the transaction's tenant, unless it exists. Returns whether it
/// was created.
pub async fn create_tenant(tx: &mut TenantTx, slug: &str, name: &str) -> Result<bool, sqlx::Error> {
    let tenant = tx.tenant();
    let done = sqlx::query!(
        "insert into tenants (id, slug, name) values ($1, $2, $3) on conflict (id) do nothing",
        tenant.0,
        slug,
        name
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Adds a staff member whose email is already known to be theirs (the demo seed, tests), unless
/// one with that email exists in the tenant. Returns whether added. Sign-up and invitations
/// verify the address by email instead.
pub async fn add_staff(
    tx: &mut TenantTx,
    name: &str,
    email: &str,
    role: Role,
    password_hash: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let tenant = tx.tenant();
    // An existing member keeps their data; one without a password (seeded before passwords
    // existed) gets this one, so the printed demo logins always work.
    let inserted = sqlx::query_scalar!(
        r#"insert into users (tenant_id, id, email, name, role, password_hash, email_verified_at)
           values ($1, $2, $3, $4, $5, $6, now())
           on conflict (tenant_id, email) do update
             set password_hash = coalesce(users.password_hash, excluded.password_hash),
                 email_verified_at = coalesce(users.email_verified_at, excluded.email_verified_at)
           returning (xmax = 0) as "inserted!""#,
        tenant.0,
        Uuid::new_v4(),
        email,
        name,
        role as Role,
        password_hash
    )
    .fetch_one(tx.conn())
    .await?;
    Ok(inserted)
}

/// Sets the grace period (days between expiry and cut-off); the demo seed uses it on creation.
pub async fn set_grace_period(tx: &mut TenantTx, days: i32) -> Result<(), sqlx::Error> {
    let tenant = tx.tenant();
    sqlx::query!(
        "update tenants set grace_period_days = $2 where id = $1",
        tenant.0,
        days
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}
