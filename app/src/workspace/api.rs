//! Server functions for the workspace. Thin: authorise, call the store, return the DTO.

use leptos::prelude::*;

use crate::error::AppError;
use crate::workspace::model::{DatabaseCheck, Workspace};

/// The signed-in staff member's workspace (top bar, dashboard).
#[server(prefix = "/api", endpoint = "workspace")]
pub async fn current_workspace() -> Result<Workspace, AppError> {
    use crate::{auth::identity::current_staff, state::app_state, workspace::store};

    crate::error::respond(async move {
        let state = app_state()?;
        let staff = current_staff(&state).await?;
        let mut tx = state.db.tenant(staff.tenant).await?;
        let workspace = store::workspace(&mut tx, &staff).await?;
        tx.commit().await?;
        Ok(workspace)
    })
    .await
}

/// A live round trip to PostgreSQL inside the caller's tenant transaction.
#[server(prefix = "/api", endpoint = "check-database")]
pub async fn check_database() -> Result<DatabaseCheck, AppError> {
    use crate::{auth::identity::current_staff, state::app_state, workspace::store};

    crate::error::respond(async move {
        let state = app_state()?;
        let staff = current_staff(&state).await?;
        let mut tx = state.db.tenant(staff.tenant).await?;
        let check = store::check_database(&mut tx).await?;
        tx.commit().await?;
        Ok(check)
    })
    .await
}
