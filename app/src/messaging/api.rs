//! The messages settings' server functions.

use leptos::prelude::*;

use crate::{error::AppError, messaging::model::TemplatesView};

/// Every event's message in English and Swahili; every staff member may read them.
#[server(prefix = "/api", endpoint = "messages/templates")]
pub async fn get_message_templates() -> Result<TemplatesView, AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        let staff = crate::auth::identity::current_staff(&state).await?;
        crate::messaging::templates::list(&state, &staff).await
    })
    .await
}

/// Saves an event's message in a language (`reset` set: back to the default). Owner and admin.
#[server(prefix = "/api", endpoint = "messages/templates/save")]
pub async fn save_message_template(
    event: String,
    language: String,
    #[server(default)] text: String,
    #[server(default)] reset: Option<String>,
) -> Result<(), AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        let staff = crate::auth::identity::current_staff(&state).await?;
        let text = reset.is_none().then_some(text.as_str());
        crate::messaging::templates::save(
            &state,
            &staff,
            &event,
            &language,
            text,
            &crate::auth::identity::request_meta(),
        )
        .await
    })
    .await
}

/// The newest text messages, by status and number. Every role that manages customers.
#[server(prefix = "/api", endpoint = "messages/list")]
pub async fn list_messages(
    #[server(default)] status: String,
    #[server(default)] number: String,
) -> Result<crate::messaging::model::MessageLog, AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        let staff = crate::auth::identity::current_staff(&state).await?;
        crate::messaging::log::list(&state, &staff, &status, &number).await
    })
    .await
}

/// Sends a failed message again (an unknown one only with `confirm`).
#[server(prefix = "/api", endpoint = "messages/resend")]
pub async fn resend_message(
    id: uuid::Uuid,
    #[server(default)] confirm: Option<String>,
) -> Result<(), AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        let staff = crate::auth::identity::current_staff(&state).await?;
        let meta = crate::auth::identity::request_meta();
        crate::messaging::log::resend(&state, &staff, id, confirm.is_some(), &meta)
            .await
            .map(|_| ())
    })
    .await
}

/// Sets the days before expiry reminders go ("3, 1"; blank: none). Owner and admin.
#[server(prefix = "/api", endpoint = "messages/reminder-days")]
pub async fn save_reminder_days(#[server(default)] days: String) -> Result<Vec<i32>, AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        let staff = crate::auth::identity::current_staff(&state).await?;
        let meta = crate::auth::identity::request_meta();
        crate::messaging::templates::set_reminder_days(&state, &staff, &days, &meta).await
    })
    .await
}
