//! Bulk SMS server functions (owner and admin).

use leptos::prelude::*;

use crate::{
    error::AppError,
    messaging::bulk_model::{ComposeOptions, Preview, Progress},
};

/// The plans, routers, SMS price and recent bulk messages the compose page shows.
#[server(prefix = "/api", endpoint = "messages/bulk/options")]
pub async fn bulk_sms_options() -> Result<ComposeOptions, AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        let staff = crate::auth::identity::current_staff(&state).await?;
        crate::messaging::bulk::options(&state, &staff).await
    })
    .await
}

/// Counts who a message would reach and what it would cost; sends nothing.
#[server(prefix = "/api", endpoint = "messages/bulk/preview")]
pub async fn preview_bulk_sms(
    #[server(default)] segment: String,
    #[server(default)] days: String,
    #[server(default)] plan: String,
    #[server(default)] router: String,
    #[server(default)] text: String,
) -> Result<Preview, AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        let staff = crate::auth::identity::current_staff(&state).await?;
        let form = crate::messaging::bulk_model::BulkForm {
            segment,
            days,
            plan,
            router,
            text,
        };
        crate::messaging::bulk::preview(&state, &staff, form).await
    })
    .await
}

/// Sends a counted message as campaign `id`, then shows its progress. `expected` is the count
/// that was shown.
#[server(prefix = "/api", endpoint = "messages/bulk/send")]
pub async fn send_bulk_sms(
    id: uuid::Uuid,
    #[server(default)] segment: String,
    #[server(default)] days: String,
    #[server(default)] plan: String,
    #[server(default)] router: String,
    #[server(default)] text: String,
    expected: i64,
) -> Result<uuid::Uuid, AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        let staff = crate::auth::identity::current_staff(&state).await?;
        let meta = crate::auth::identity::request_meta();
        let form = crate::messaging::bulk_model::BulkForm {
            segment,
            days,
            plan,
            router,
            text,
        };
        let id = crate::messaging::bulk::send(&state, &staff, id, &form, expected, &meta).await?;
        leptos_axum::redirect(&format!("/app/messages/bulk/{id}"));
        Ok(id)
    })
    .await
}

/// A bulk message's progress and its recipients.
#[server(prefix = "/api", endpoint = "messages/bulk/progress")]
pub async fn bulk_sms_progress(id: uuid::Uuid) -> Result<Progress, AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        let staff = crate::auth::identity::current_staff(&state).await?;
        crate::messaging::bulk::progress(&state, &staff, id).await
    })
    .await
}
