use leptos::prelude::*;

use crate::{audit::model::AuditEntry, error::AppError};

/// The latest 200 audit entries, optionally only actions starting with `action` (e.g. `auth.`)
/// or by actors whose email contains `actor`. Owner and admin only.
#[server(prefix = "/api", endpoint = "audit/list")]
pub async fn list_audit(action: String, actor: String) -> Result<Vec<AuditEntry>, AppError> {
    use crate::auth::{identity, model::Permission};
    use crate::state::app_state;
    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::require(&state, Permission::ViewAuditLog).await?;
        let mut tx = state.db.tenant(staff.tenant).await?;
        let entries = crate::audit::store::list(&mut tx, action.trim(), actor.trim()).await?;
        tx.commit().await?;
        Ok(entries)
    })
    .await
}
