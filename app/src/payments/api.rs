//! Server functions for Settings → Payments. Owner and admin only; every change audited.
// One server-function argument per form field: the plain HTML form posts them as they are.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::{
    error::AppError,
    payments::model::{
        ConnectionTest, PayLinkView, PaymentRequestView, PaymentSettingsView, ProviderEventRow,
        ReconciliationRow, TransactionPage, TransactionQuery, UnmatchedRow,
    },
};

#[cfg(feature = "ssr")]
use crate::{
    auth::identity::{self, caller},
    auth::model::Permission,
    payments::{
        daraja, links, model::PaymentSettingsForm, requests, settings, stk, transactions, unmatched,
    },
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

/// The customer's public payment link, to copy or send.
#[server(prefix = "/api", endpoint = "payments/link")]
pub async fn customer_payment_link(customer: uuid::Uuid) -> Result<String, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        links::staff_link(&state, &staff, customer).await
    })
    .await
}

/// "Send M-Pesa request": an STK push to the customer's phone, for what they owe or `amount`.
#[server(prefix = "/api", endpoint = "payments/stk/send")]
pub async fn send_stk_push(
    customer: uuid::Uuid,
    phone: String,
    #[server(default)] amount: String,
) -> Result<PaymentRequestView, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        staff.require(Permission::ManageCustomers)?;
        let amount = match amount.trim() {
            "" => None,
            text => Some(crate::money::parse_kes("amount", text)?),
        };
        let request = stk::push(
            &state,
            staff.tenant,
            &stk::PushIn {
                customer,
                phone,
                amount,
                invoice: None,
                source: stk::Source::Staff,
                requested_by: Some(staff.user_id),
            },
        )
        .await?;
        let mut tx = state.db.tenant(staff.tenant).await?;
        let view = requests::view(&mut tx, request, Some(customer)).await?;
        tx.commit().await?;
        Ok(view)
    })
    .await
}

/// Where a payment request stands (staff).
#[server(prefix = "/api", endpoint = "payments/request")]
pub async fn payment_request_status(id: uuid::Uuid) -> Result<PaymentRequestView, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        staff.require(Permission::ManageCustomers)?;
        let mut tx = state.db.tenant(staff.tenant).await?;
        let view = requests::view(&mut tx, id, None).await?;
        tx.commit().await?;
        Ok(view)
    })
    .await
}

/// The public payment page's facts. No sign-in: the code is the key.
#[server(prefix = "/api", endpoint = "pay/page", output = crate::wire::Json)]
pub async fn pay_link_page(code: String) -> Result<PayLinkView, AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        links::page(&state, &code).await
    })
    .await
}

/// "Pay now" on the public payment page.
#[server(prefix = "/api", endpoint = "pay/now", output = crate::wire::Json)]
pub async fn pay_link_pay(code: String, phone: String) -> Result<PaymentRequestView, AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        links::pay(&state, &code, &phone).await
    })
    .await
}

/// The public payment page's live status.
#[server(prefix = "/api", endpoint = "pay/status", output = crate::wire::Json)]
pub async fn pay_link_status(
    code: String,
    request: uuid::Uuid,
) -> Result<PaymentRequestView, AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        links::status(&state, &code, request).await
    })
    .await
}

/// "Pay by card" on the public payment page: off to Paystack's checkout.
#[server(prefix = "/api", endpoint = "pay/card", output = crate::wire::Json)]
pub async fn pay_link_card(code: String, email: String) -> Result<(), AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        let url = links::pay_paystack(&state, &code, &email).await?;
        leptos_axum::redirect(&url);
        Ok(())
    })
    .await
}

/// Back from Paystack: the payment verified by its reference.
#[server(prefix = "/api", endpoint = "pay/return")]
pub async fn pay_link_return(
    code: String,
    reference: String,
) -> Result<PaymentRequestView, AppError> {
    crate::error::respond(async move {
        let state = crate::state::app_state()?;
        links::paystack_return(&state, &code, &reference).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "payments/list")]
pub async fn list_transactions(query: TransactionQuery) -> Result<TransactionPage, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        transactions::list(&state, &staff, &query).await
    })
    .await
}

/// Count and sum per channel per day, `from`/`to` as YYYY-MM-DD (either may be empty).
#[server(prefix = "/api", endpoint = "payments/reconciliation")]
pub async fn payment_reconciliation(
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
) -> Result<Vec<ReconciliationRow>, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        transactions::reconciliation(&state, &staff, from, to).await
    })
    .await
}

/// The raw provider deliveries (owner and admin).
#[server(prefix = "/api", endpoint = "payments/events")]
pub async fn provider_events(search: String) -> Result<Vec<ProviderEventRow>, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        transactions::events(&state, &staff, &search).await
    })
    .await
}
