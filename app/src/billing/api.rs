//! Server functions for invoices, customer accounts, the money summary and billing settings.
//! Each checks the caller's role on the server and runs in one transaction (see `actions`).
// One server-function argument per form field: the plain HTML forms post them as they are.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
use uuid::Uuid;

use crate::{
    billing::model::{
        BillingRunView, BillingSettings, BillingSummary, CustomerAccount, InvoiceDetail,
        InvoicePage, InvoiceQuery,
    },
    error::AppError,
};

#[cfg(feature = "ssr")]
use crate::{
    auth::identity::{self, caller},
    billing::{actions, job, queries},
};

/// An optional amount in shillings ("" means "what is owed").
#[cfg(feature = "ssr")]
fn optional_amount(field: &str, input: &str) -> Result<Option<i64>, AppError> {
    match input.trim() {
        "" => Ok(None),
        text => crate::money::parse_kes(field, text).map(Some),
    }
}

#[server(prefix = "/api", endpoint = "invoices/list")]
pub async fn list_invoices(query: InvoiceQuery) -> Result<InvoicePage, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        queries::list(&state, &staff, &query).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "invoices/get")]
pub async fn get_invoice(id: Uuid) -> Result<InvoiceDetail, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        queries::detail(&state, &staff, id).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "invoices/mark-paid")]
pub async fn mark_invoice_paid(
    id: Uuid,
    channel: String,
    amount: String,
    reference: String,
) -> Result<(), AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        let channel = crate::billing::model::Channel::parse(channel.trim())
            .ok_or_else(|| AppError::invalid("channel", "choose cash or bank"))?;
        let amount = optional_amount("amount", &amount)?;
        actions::mark_paid(
            &state,
            &staff,
            id,
            channel,
            amount,
            &reference,
            &identity::request_meta(),
        )
        .await
    })
    .await
}

#[server(prefix = "/api", endpoint = "invoices/waive")]
pub async fn waive_invoice(id: Uuid, reason: String) -> Result<(), AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        actions::waive(&state, &staff, id, &reason, &identity::request_meta()).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "invoices/cancel")]
pub async fn cancel_invoice(id: Uuid, reason: String) -> Result<(), AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        actions::cancel(&state, &staff, id, &reason, &identity::request_meta()).await
    })
    .await
}

/// Issues a credit note; returns its number.
#[server(prefix = "/api", endpoint = "invoices/credit")]
pub async fn credit_invoice(id: Uuid, amount: String, reason: String) -> Result<String, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        let amount = crate::money::parse_kes("amount", &amount)?;
        actions::credit_note(
            &state,
            &staff,
            id,
            amount,
            &reason,
            &identity::request_meta(),
        )
        .await
    })
    .await
}

#[server(prefix = "/api", endpoint = "billing/account")]
pub async fn get_customer_account(customer: Uuid) -> Result<CustomerAccount, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        queries::account(&state, &staff, customer).await
    })
    .await
}

/// Dates are `YYYY-MM-DD` in the ISP's zone; empty means open-ended.
#[cfg(feature = "ssr")]
fn optional_date(field: &str, input: &str) -> Result<Option<chrono::NaiveDate>, AppError> {
    match input.trim() {
        "" => Ok(None),
        text => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AppError::invalid(field, "must be a date like 2026-11-30")),
    }
}

#[server(prefix = "/api", endpoint = "billing/summary")]
pub async fn get_billing_summary(from: String, to: String) -> Result<BillingSummary, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        let from = optional_date("from", &from)?;
        let to = optional_date("to", &to)?;
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(AppError::invalid(
                "from",
                "must be on or before the end date",
            ));
        }
        queries::summary(&state, &staff, from, to).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "billing/settings")]
pub async fn get_billing_settings() -> Result<BillingSettings, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        queries::settings(&state, &staff).await
    })
    .await
}

#[server(prefix = "/api", endpoint = "billing/settings/update")]
pub async fn update_billing_settings(
    vat_enabled: Option<String>,
    vat_inclusive: String,
    kra_pin: String,
    invoice_due_days: String,
    renewal_notice_days: String,
) -> Result<BillingSettings, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        let form = queries::SettingsForm {
            vat_enabled: vat_enabled.as_deref() == Some("on"),
            vat_inclusive: vat_inclusive.trim() != "exclusive",
            kra_pin: &kra_pin,
            invoice_due_days: &invoice_due_days,
            renewal_notice_days: &renewal_notice_days,
        };
        queries::update_settings(&state, &staff, form, &identity::request_meta()).await
    })
    .await
}

/// Starts "Run billing now" in the background; returns the run to follow.
#[server(prefix = "/api", endpoint = "billing/run")]
pub async fn run_billing_now() -> Result<Uuid, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        staff.require(crate::auth::model::Permission::ManageInvoices)?;
        job::start_run(&state, staff.tenant, staff.user_id).await
    })
    .await
}

/// A run's progress (`None`: the latest run).
#[server(prefix = "/api", endpoint = "billing/run-status")]
pub async fn billing_run_status(id: Option<Uuid>) -> Result<Option<BillingRunView>, AppError> {
    crate::error::respond(async move {
        let (state, staff) = caller().await?;
        queries::run_view(&state, &staff, id).await
    })
    .await
}
