//! Server functions for routers. Every one checks the caller on the server.

use leptos::prelude::*;
use uuid::Uuid;

use crate::{
    error::AppError,
    network::model::{RouterDetail, RouterForm, RouterList, RouterRow},
};

#[server(prefix = "/api", endpoint = "routers/list")]
pub async fn list_routers() -> Result<RouterList, AppError> {
    use crate::{auth::identity, auth::model::Permission, state::app_state};
    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::current_staff(&state).await?;
        let now = state.clock.now();
        let mut tx = state.db.tenant(staff.tenant).await?;
        let routers = crate::network::routers::list(&mut tx, now).await?;
        let zone = crate::customers::service::zone(&mut tx).await?;
        tx.commit().await?;
        Ok(RouterList {
            routers,
            utc_offset_seconds: crate::customers::service::offset_seconds(&zone, now),
            can_manage: staff.role.can(Permission::ManageRouters),
        })
    })
    .await
}

#[server(prefix = "/api", endpoint = "routers/detail")]
pub async fn get_router(id: Uuid) -> Result<RouterDetail, AppError> {
    use crate::{auth::identity, state::app_state};
    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::current_staff(&state).await?;
        crate::network::routers::detail(&state, &staff, id).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "routers/create")]
pub async fn create_router(form: RouterForm) -> Result<RouterRow, AppError> {
    use crate::{auth::identity, state::app_state};
    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::current_staff(&state).await?;
        let input = form.check(false)?;
        crate::network::routers::create(&state, &staff, &input, &identity::request_meta()).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "routers/update")]
pub async fn update_router(id: Uuid, form: RouterForm) -> Result<RouterRow, AppError> {
    use crate::{auth::identity, state::app_state};
    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::current_staff(&state).await?;
        let input = form.check(true)?;
        crate::network::routers::update(&state, &staff, id, &input, &identity::request_meta()).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "routers/delete")]
pub async fn delete_router(id: Uuid) -> Result<(), AppError> {
    use crate::{auth::identity, state::app_state};
    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::current_staff(&state).await?;
        crate::network::routers::delete(&state, &staff, id, &identity::request_meta()).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "routers/rotate-secret")]
pub async fn rotate_router_secret(id: Uuid) -> Result<(), AppError> {
    use crate::{auth::identity, state::app_state};
    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::current_staff(&state).await?;
        crate::network::routers::rotate_secret(&state, &staff, id, &identity::request_meta()).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "routers/retry-failed")]
pub async fn retry_router_commands(id: Uuid) -> Result<u64, AppError> {
    use crate::{auth::identity, state::app_state};
    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::current_staff(&state).await?;
        crate::network::routers::retry_failed(&state, &staff, id, &identity::request_meta()).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "routers/resync")]
pub async fn resync_router(id: Uuid) -> Result<u64, AppError> {
    use crate::{auth::identity, state::app_state};
    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::current_staff(&state).await?;
        crate::network::routers::resync(&state, &staff, id, &identity::request_meta()).await
    })
    .await
}
