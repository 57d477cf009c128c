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

/// The ISP's SMS gateway (keys only as their last four characters).
#[server(prefix = "/api", endpoint = "messages/provider")]
pub async fn get_sms_provider()
-> Result<crate::messaging::provider_model::SmsProviderView, AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        let staff = crate::auth::identity::current_staff(&state).await?;
        crate::messaging::providers::view(&state, &staff).await
    })
    .await
}

/// Chooses the ISP's SMS gateway. Owner and admin.
#[server(prefix = "/api", endpoint = "messages/provider/save")]
pub async fn save_sms_provider(
    #[server(default)] provider: String,
    #[server(default)] at_username: String,
    #[server(default)] at_sender_id: String,
    #[server(default)] generic_url: String,
    #[server(default)] generic_partner_id: String,
    #[server(default)] generic_shortcode: String,
    #[server(default)] api_key: String,
) -> Result<(), AppError> {
    crate::error::respond(async move {
        let form = crate::messaging::provider_model::SmsProviderForm {
            provider,
            at_username,
            at_sender_id,
            generic_url,
            generic_partner_id,
            generic_shortcode,
            api_key,
        };
        let state = crate::state::app_state()?;
        let staff = crate::auth::identity::current_staff(&state).await?;
        let meta = crate::auth::identity::request_meta();
        crate::messaging::providers::save(&state, &staff, &form, &meta).await
    })
    .await
}

/// Sends a test message through the ISP's gateway now. Owner and admin.
#[server(prefix = "/api", endpoint = "messages/provider/test")]
pub async fn test_sms_provider(
    #[server(default)] phone: String,
) -> Result<crate::messaging::provider_model::TestSend, AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        let staff = crate::auth::identity::current_staff(&state).await?;
        let meta = crate::auth::identity::request_meta();
        crate::messaging::providers::test_send(&state, &staff, &phone, &meta).await
    })
    .await
}

/// The ISP's own mail server for customer email, if any (never the password).
#[server(prefix = "/api", endpoint = "messages/mail-server")]
pub async fn get_mail_server() -> Result<crate::messaging::provider_model::SmtpView, AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        let staff = crate::auth::identity::current_staff(&state).await?;
        crate::messaging::email::view(&state, &staff).await
    })
    .await
}

/// Sets (or, `own` unticked, removes) the ISP's own mail server. Owner and admin.
#[server(prefix = "/api", endpoint = "messages/mail-server/save")]
pub async fn save_mail_server(
    #[server(default)] own: Option<String>,
    #[server(default)] host: String,
    #[server(default)] port: String,
    #[server(default)] security: String,
    #[server(default)] username: String,
    #[server(default)] password: String,
    #[server(default)] from_address: String,
) -> Result<(), AppError> {
    crate::error::respond(async move {
        let form = crate::messaging::provider_model::SmtpForm {
            own,
            host,
            port,
            security,
            username,
            password,
            from_address,
        };
        let state = crate::state::app_state()?;
        let staff = crate::auth::identity::current_staff(&state).await?;
        let meta = crate::auth::identity::request_meta();
        crate::messaging::email::save(&state, &staff, &form, &meta).await
    })
    .await
}

/// Sends a test email through the ISP's mail server now. Owner and admin.
#[server(prefix = "/api", endpoint = "messages/mail-server/test")]
pub async fn test_mail_server(
    #[server(default)] to: String,
) -> Result<crate::messaging::provider_model::TestSend, AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        let staff = crate::auth::identity::current_staff(&state).await?;
        let meta = crate::auth::identity::request_meta();
        crate::messaging::email::test_send(&state, &staff, &to, &meta).await
    })
    .await
}
