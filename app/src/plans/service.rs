//! Plan steps: each change one transaction with its audit entry. Reading is open to all staff
//! (support assigns plans to customers); changing needs `ManagePlans`.

use serde_json::json;
use uuid::Uuid;

use crate::{
    audit::store::{Entry, record},
    auth::{identity::Staff, model::Permission, session::RequestMeta},
    db::TenantTx,
    error::AppError,
    plans::model::{Plan, PlanForm, PlanInput, PlanKind, ValidityUnit},
    state::AppState,
};

pub async fn list(tx: &mut TenantTx) -> Result<Vec<Plan>, AppError> {
    let tenant = tx.tenant();
    let rows = sqlx::query!(
        r#"select id, name, kind, price_minor, validity_unit, validity_count, download_kbps,
                  upload_kbps, burst_download_kbps, burst_upload_kbps, data_cap_bytes, shared_users,
                  archived_at is not null as "archived!"
             from plans where tenant_id = $1
            order by archived_at is not null, kind, price_minor, name"#,
        tenant.0
    )
    .fetch_all(tx.conn())
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Plan {
                id: r.id,
                name: r.name,
                kind: PlanKind::parse(&r.kind)?,
                price_minor: r.price_minor,
                validity_unit: ValidityUnit::parse(&r.validity_unit)?,
                validity_count: r.validity_count,
                download_kbps: r.download_kbps,
                upload_kbps: r.upload_kbps,
                burst_download_kbps: r.burst_download_kbps,
                burst_upload_kbps: r.burst_upload_kbps,
                data_cap_bytes: r.data_cap_bytes,
                shared_users: r.shared_users,
                archived: r.archived,
            })
        })
        .collect()
}

async fn find(tx: &mut TenantTx, id: Uuid) -> Result<Plan, AppError> {
    list(tx)
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| AppError::NotFound {
            what: "That plan".into(),
        })
}

fn name_taken(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(|e| e.constraint())
        .is_some_and(|c| c == "plans_tenant_name_key")
}

async fn audit(
    tx: &mut TenantTx,
    state: &AppState,
    staff: &Staff,
    action: &str,
    id: Uuid,
    (before, after): (Option<&Plan>, Option<&Plan>),
    meta: &RequestMeta,
) -> Result<(), AppError> {
    record(
        tx,
        Entry {
            at: state.clock.now(),
            actor_user_id: Some(staff.user_id),
            actor_label: &staff.email,
            action,
            entity: Some(("plan", id.to_string())),
            before: before.map(|p| json!(p)),
            after: after.map(|p| json!(p)),
            meta,
        },
    )
    .await
}

pub async fn create(
    state: &AppState,
    staff: &Staff,
    form: &PlanForm,
    meta: &RequestMeta,
) -> Result<Plan, AppError> {
    staff.require(Permission::ManagePlans)?;
    let input = form.check()?;
    let id = Uuid::new_v4();
    let mut tx = state.db.tenant(staff.tenant).await?;
    write(&mut tx, state, id, &input, true).await?;
    let plan = find(&mut tx, id).await?;
    audit(
        &mut tx,
        state,
        staff,
        "plan.created",
        id,
        (None, Some(&plan)),
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok(plan)
}

pub async fn update(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    form: &PlanForm,
    meta: &RequestMeta,
) -> Result<Plan, AppError> {
    staff.require(Permission::ManagePlans)?;
    let input = form.check()?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let before = find(&mut tx, id).await?;
    write(&mut tx, state, id, &input, false).await?;
    let after = find(&mut tx, id).await?;
    audit(
        &mut tx,
        state,
        staff,
        "plan.updated",
        id,
        (Some(&before), Some(&after)),
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

async fn write(
    tx: &mut TenantTx,
    state: &AppState,
    id: Uuid,
    p: &PlanInput,
    new: bool,
) -> Result<(), AppError> {
    let taken = || AppError::invalid("name", "another plan already has this name");
    if new {
        return match insert(tx, id, p, state.clock.now()).await? {
            true => Ok(()),
            false => Err(taken()),
        };
    }
    let tenant = tx.tenant();
    let (burst_down, burst_up) = p.burst.unzip();
    let result = sqlx::query!(
        r#"update plans set name = $3, kind = $4, price_minor = $5, validity_unit = $6,
                  validity_count = $7, download_kbps = $8, upload_kbps = $9,
                  burst_download_kbps = $10, burst_upload_kbps = $11, data_cap_bytes = $12,
                  shared_users = $13, updated_at = $14
            where tenant_id = $1 and id = $2"#,
        tenant.0,
        id,
        p.name,
        p.kind.as_str(),
        p.price_minor,
        p.validity_unit.as_str(),
        p.validity_count,
        p.download_kbps,
        p.upload_kbps,
        burst_down,
        burst_up,
        p.data_cap_bytes,
        p.shared_users,
        state.clock.now()
    )
    .execute(tx.conn())
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(err) if name_taken(&err) => Err(taken()),
        Err(err) => Err(err.into()),
    }
}

/// Inserts a plan unless the tenant has one with its name; returns whether it was inserted.
async fn insert(
    tx: &mut TenantTx,
    id: Uuid,
    p: &PlanInput,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, AppError> {
    let tenant = tx.tenant();
    let (burst_down, burst_up) = p.burst.unzip();
    let done = sqlx::query!(
        r#"insert into plans (tenant_id, id, name, kind, price_minor, validity_unit, validity_count,
                              download_kbps, upload_kbps, burst_download_kbps, burst_upload_kbps,
                              data_cap_bytes, shared_users, created_at, updated_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
           on conflict (tenant_id, name) do nothing"#,
        tenant.0,
        id,
        p.name,
        p.kind.as_str(),
        p.price_minor,
        p.validity_unit.as_str(),
        p.validity_count,
        p.download_kbps,
        p.upload_kbps,
        burst_down,
        burst_up,
        p.data_cap_bytes,
        p.shared_users,
        now
    )
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Archives (hidden from new sales, kept for existing services) or restores a plan.
pub async fn set_archived(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    archived: bool,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    staff.require(Permission::ManagePlans)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let before = find(&mut tx, id).await?;
    sqlx::query!(
        r#"update plans set archived_at = case when $3::boolean then $4::timestamptz end, updated_at = $4
            where tenant_id = $1 and id = $2"#,
        staff.tenant.0,
        id,
        archived,
        state.clock.now()
    )
    .execute(tx.conn())
    .await?;
    let after = find(&mut tx, id).await?;
    let action = if archived {
        "plan.archived"
    } else {
        "plan.restored"
    };
    audit(
        &mut tx,
        state,
        staff,
        action,
        id,
        (Some(&before), Some(&after)),
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes a plan nobody uses; a plan with services is refused and must be archived instead.
pub async fn delete(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    staff.require(Permission::ManagePlans)?;
    let mut tx = state.db.tenant(staff.tenant).await?;
    let before = find(&mut tx, id).await?;
    let deleted = sqlx::query!(
        "delete from plans where tenant_id = $1 and id = $2",
        staff.tenant.0,
        id
    )
    .execute(tx.conn())
    .await;
    match deleted {
        Ok(_) => {}
        // Services keep their plan (restrict): a plan in use can only be archived.
        Err(e)
            if e.as_database_error().and_then(|d| d.constraint()) == Some("services_plan_fkey") =>
        {
            return Err(AppError::invalid(
                "id",
                "customers are on this plan, so it cannot be deleted; archive it to stop selling it",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    audit(
        &mut tx,
        state,
        staff,
        "plan.deleted",
        id,
        (Some(&before), None),
        meta,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Adds a plan unless one with its name exists (the demo seed). Returns whether it was added.
pub async fn insert_if_missing(
    tx: &mut TenantTx,
    form: &PlanForm,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, AppError> {
    insert(tx, Uuid::new_v4(), &form.check()?, now).await
}
