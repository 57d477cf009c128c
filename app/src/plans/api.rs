//! Server functions for plans. Every one checks the caller on the server.

use leptos::prelude::*;
use uuid::Uuid;

use crate::{
    error::AppError,
    plans::model::{Plan, PlanForm},
};

#[server(prefix = "/api", endpoint = "plans/list")]
pub async fn list_plans() -> Result<Vec<Plan>, AppError> {
    use crate::{auth::identity, state::app_state};
    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::current_staff(&state).await?;
        let mut tx = state.db.tenant(staff.tenant).await?;
        let plans = crate::plans::service::list(&mut tx).await?;
        tx.commit().await?;
        Ok(plans)
    })
    .await
}

#[server(prefix = "/api", endpoint = "plans/create")]
pub async fn create_plan(form: PlanForm) -> Result<Plan, AppError> {
    use crate::{auth::identity, state::app_state};
    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::current_staff(&state).await?;
        crate::plans::service::create(&state, &staff, &form, &identity::request_meta()).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "plans/update")]
pub async fn update_plan(id: Uuid, form: PlanForm) -> Result<Plan, AppError> {
    use crate::{auth::identity, state::app_state};
    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::current_staff(&state).await?;
        crate::plans::service::update(&state, &staff, id, &form, &identity::request_meta()).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "plans/archive")]
pub async fn archive_plan(id: Uuid, archived: bool) -> Result<(), AppError> {
    use crate::{auth::identity, state::app_state};
    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::current_staff(&state).await?;
        crate::plans::service::set_archived(&state, &staff, id, archived, &identity::request_meta())
            .await
    })
    .await
}

#[server(prefix = "/api", endpoint = "plans/delete")]
pub async fn delete_plan(id: Uuid) -> Result<(), AppError> {
    use crate::{auth::identity, state::app_state};
    crate::error::respond(async move {
        let state = app_state()?;
        let staff = identity::current_staff(&state).await?;
        crate::plans::service::delete(&state, &staff, id, &identity::request_meta()).await
    })
    .await
}
