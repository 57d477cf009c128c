//! Server functions for staff management. Each checks the caller's role on the server.

use leptos::prelude::*;
use uuid::Uuid;

use crate::{error::AppError, staff::model::StaffMember};

#[server(prefix = "/api", endpoint = "staff/list")]
pub async fn list_staff() -> Result<Vec<StaffMember>, AppError> {
    use crate::auth::{identity, model::Permission};
    use crate::state::app_state;
    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::require(&state, Permission::ManageStaff).await?;
        let mut tx = state.db.tenant(staff.tenant).await?;
        let list = crate::staff::service::list(&mut tx).await?;
        tx.commit().await?;
        Ok(list)
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/invite")]
pub async fn invite_staff(
    name: String,
    email: String,
    role: String,
) -> Result<StaffMember, AppError> {
    use crate::auth::identity;
    use crate::state::app_state;
    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::current_staff(&state).await?;
        crate::staff::service::invite(
            &state,
            &staff,
            &name,
            &email,
            &role,
            &identity::request_meta(),
        )
        .await
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/role")]
pub async fn change_staff_role(user_id: Uuid, role: String) -> Result<(), AppError> {
    use crate::auth::identity;
    use crate::state::app_state;
    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::current_staff(&state).await?;
        crate::staff::service::change_role(
            &state,
            &staff,
            user_id,
            &role,
            &identity::request_meta(),
        )
        .await
    })
    .await
}

#[server(prefix = "/api", endpoint = "staff/disabled")]
pub async fn set_staff_disabled(user_id: Uuid, disabled: bool) -> Result<(), AppError> {
    use crate::auth::identity;
    use crate::state::app_state;
    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::current_staff(&state).await?;
        crate::staff::service::set_disabled(
            &state,
            &staff,
            user_id,
            disabled,
            &identity::request_meta(),
        )
        .await
    })
    .await
}

/// The invitee chooses a password from the emailed link.
#[server(prefix = "/api", endpoint = "staff/accept")]
pub async fn accept_invitation(token: String, new_password: String) -> Result<(), AppError> {
    use crate::auth::identity;
    use crate::state::app_state;
    crate::error::respond(async move {
        let state = app_state()?;
        crate::staff::service::accept(&state, &token, &new_password, &identity::request_meta())
            .await
    })
    .await
}
