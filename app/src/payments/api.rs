//! Server functions for Settings → Payments. Owner and admin only; every change audited.
// One server-function argument per form field: the plain HTML form posts them as they are.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::{
    error::AppError,
    payments::model::{ConnectionTest, PaymentSettingsView, UnmatchedRow},
};

#[cfg(feature = "ssr")]
use crate::{
    auth::identity::{self, caller},
    payments::{daraja, model::PaymentSettingsForm, settings, unmatched},
};

#[server(prefix = "/api", endpoint = "payments/settings")]
pub async fn get_payment_settings() -> Result<PaymentSettingsView, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        settings::view(&state, &staff).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "payments/settings/update")]
pub async fn update_payment_settings(
    mpesa_environment: String,
    mpesa_shortcode: String,
    mpesa_kind: String,
    #[server(default)] mpesa_till: String,
    #[server(default)] mpesa_consumer_key: String,
    #[server(default)] mpesa_consumer_secret: String,
    #[server(default)] mpesa_passkey: String,
    #[server(default)] paystack_secret: String,
    #[server(default)] stk_provider: String,
    #[server(default)] c2b_reject_unknown: Option<String>,
) -> Result<PaymentSettingsView, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        let form = PaymentSettingsForm {
            mpesa_environment,
            mpesa_shortcode,
            mpesa_kind,
            mpesa_till,
            mpesa_consumer_key,
            mpesa_consumer_secret,
            mpesa_passkey,
            paystack_secret,
            stk_provider,
            c2b_reject_unknown,
        };
        settings::update(&state, &staff, &form, &identity::request_meta()).await
    })
    .await
}

/// "Test connection": fetches an M-Pesa token with the saved credentials.
#[server(prefix = "/api", endpoint = "payments/settings/test-mpesa")]
pub async fn test_mpesa_connection() -> Result<ConnectionTest, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        daraja::test_connection(&state, &staff).await
    })
    .await
}

/// Registers the ISP's paybill/till confirmation and validation URLs with M-Pesa.
#[server(prefix = "/api", endpoint = "payments/settings/register-c2b")]
pub async fn register_mpesa_urls() -> Result<ConnectionTest, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        let shortcode = daraja::register_c2b_urls(&state, &staff).await?;
        Ok(ConnectionTest {
            ok: true,
            message: format!(
                "M-Pesa will now send payments to {shortcode} here: they are matched to customers by account number."
            ),
        })
    })
    .await
}

#[server(prefix = "/api", endpoint = "payments/unmatched")]
pub async fn list_unmatched() -> Result<Vec<UnmatchedRow>, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        unmatched::list(&state, &staff).await
    })
    .await
}

/// Assigns an unmatched payment to the customer with this account number, applying it.
#[server(prefix = "/api", endpoint = "payments/unmatched/assign")]
pub async fn assign_unmatched(id: uuid::Uuid, account: String) -> Result<(), AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        unmatched::assign(&state, &staff, id, &account, &identity::request_meta()).await?;
        Ok(())
    })
    .await
}
