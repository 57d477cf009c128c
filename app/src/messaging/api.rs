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
