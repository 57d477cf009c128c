//! Resolves the staff member behind a server-function call.

use uuid::Uuid;

use crate::{
    auth::model::Role,
    db::{TenantId, TenantTx},
    error::AppError,
    state::AppState,
};

/// A signed-in ISP staff member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub tenant: TenantId,
    pub user_id: Uuid,
    pub name: String,
    pub role: Role,
}

/// The staff member making this request, or `Unauthenticated`.
///
/// Demo mode only, for now: the demo tenant's owner. Real sessions replace this body.
#[tracing::instrument(level = "debug", skip(state))]
pub async fn current_staff(state: &AppState) -> Result<Staff, AppError> {
    let slug = state
        .demo_tenant
        .as_deref()
        .ok_or(AppError::Unauthenticated)?;
    let tenant = state
        .db
        .tenant_by_slug(slug)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let mut tx = state.db.tenant(tenant).await?;
    let staff = owner_of(&mut tx).await?.ok_or(AppError::Unauthenticated)?;
    tx.commit().await?;
    Ok(staff)
}

async fn owner_of(tx: &mut TenantTx) -> Result<Option<Staff>, sqlx::Error> {
    let tenant = tx.tenant();
    let row = sqlx::query!(
        r#"select id, name, role as "role: Role"
           from users
           where tenant_id = $1 and role = 'owner' and disabled_at is null
           order by created_at
           limit 1"#,
        tenant.0
    )
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|r| Staff {
        tenant,
        user_id: r.id,
        name: r.name,
        role: r.role,
    }))
}
